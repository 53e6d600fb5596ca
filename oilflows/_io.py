"""Input helpers shared by the readers: bytes and a name from any source, bounded gzip and ZIP unpacking.

Decompression is bounded (against gzip and ZIP bombs): no helper here produces more than
:data:`MAX_DECOMPRESSED_BYTES` (default 4 GiB; environment variable ``OILFLOWS_MAX_DECOMPRESSED_BYTES``;
the ``limit=`` argument of each helper), and output is produced in chunks of at most
:data:`CHUNK_BYTES`, so a bomb is stopped before it is allocated. A ZIP archive is checked before
anything extracts it (:func:`check_zip`): the declared sizes against the limit, the compression ratio
of every large member against :data:`MAX_COMPRESSION_RATIO`, and then each member is inflated once,
incrementally, to check that its actual size and CRC are the declared ones.
"""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any, BinaryIO

from .errors import DecompressionLimitError, SourceFormatError  # noqa: F401 - re-exported

Source = str | os.PathLike | bytes | bytearray | BinaryIO

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")

#: Most bytes one gzip stream or one ZIP archive (all members together) may decompress to (4 GiB).
MAX_DECOMPRESSED_BYTES = 4 * 1024**3
#: Environment variable overriding :data:`MAX_DECOMPRESSED_BYTES` (a number of bytes, e.g. ``1e9``).
LIMIT_ENV = "OILFLOWS_MAX_DECOMPRESSED_BYTES"
#: Most a ZIP member larger than :data:`RATIO_MIN_BYTES` may expand (uncompressed / compressed size).
#: Real xlsx sheets and GENESIS flat files expand 5-30 times; a zip bomb of zeros about 1000 times.
MAX_COMPRESSION_RATIO = 200.0
#: Members up to this size (1 MiB) are not ratio-checked: they cannot be a bomb whatever their ratio.
RATIO_MIN_BYTES = 1024**2
#: Largest piece of output one decompression step produces (1 MiB).
CHUNK_BYTES = 1024**2


def decompressed_limit(limit: int | None = None) -> int:
    """The decompressed-size limit in bytes: `limit` if given, else ``$OILFLOWS_MAX_DECOMPRESSED_BYTES``,
    else :data:`MAX_DECOMPRESSED_BYTES` (read at call time, so it can be changed at run time).

    Raises
    ------
    ValueError
        The argument or the environment variable is not a positive number.
    """
    if limit is None:
        text = os.environ.get(LIMIT_ENV, "").strip()
        if not text:
            return int(MAX_DECOMPRESSED_BYTES)
        try:
            limit = int(float(text))
        except ValueError:
            raise ValueError(f"${LIMIT_ENV} must be a number of bytes, not {text!r}") from None
    if isinstance(limit, bool) or int(limit) <= 0:
        raise ValueError(f"the decompressed-size limit must be a positive number of bytes, not {limit!r}")
    return int(limit)


def read_bytes(src: Source, name: str | None = None) -> tuple[bytes, str]:
    """Return the bytes of `src` (a path, bytes, or a binary file object) and a name for error messages."""
    if isinstance(src, bytes | bytearray):
        return bytes(src), name or "<bytes>"
    if isinstance(src, str | os.PathLike):
        path = Path(src)
        try:
            return path.read_bytes(), name or str(path)
        except OSError as exc:
            raise SourceFormatError(str(path), f"cannot read file: {exc.strerror or exc}") from exc
    if hasattr(src, "read"):
        data = src.read()
        if isinstance(data, str):
            data = data.encode("utf-8")
        return data, name or str(getattr(src, "name", "<file object>"))
    raise TypeError(f"expected a path, bytes or a binary file object, got {type(src).__name__}")


def gunzip_if_needed(data: bytes, name: str, *, limit: int | None = None) -> bytes:
    """Decompress gzip bytes (detected by the magic number), incrementally and bounded.

    Several concatenated gzip members are decompressed one after another (as :func:`gzip.decompress`
    does); trailing zero bytes are ignored.

    Parameters
    ----------
    data : bytes
        The bytes; returned unchanged unless they start with the gzip magic number.
    name : str
        The file name for error messages.
    limit : int, optional
        Most bytes the output may have (default :func:`decompressed_limit`).

    Raises
    ------
    DecompressionLimitError
        The output would exceed `limit` bytes (raised before more than `limit` + 1 MiB is produced).
    SourceFormatError
        A truncated or corrupt stream, or trailing data that is not another gzip member.
    """
    if not data.startswith(GZIP_MAGIC):
        return data
    cap = decompressed_limit(limit)
    out: list[bytes] = []
    total = 0
    rest = memoryview(data)
    while True:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        pending: bytes | memoryview = rest
        try:
            while not inflater.eof:  # zlib may hold output after the last input byte is read
                chunk = inflater.decompress(pending, CHUNK_BYTES)
                pending = inflater.unconsumed_tail
                if not chunk and not pending:
                    break
                total += len(chunk)
                if total > cap:
                    raise DecompressionLimitError(
                        name, f"gzip stream decompresses to more than the limit of {cap:,} bytes "
                        f"(set ${LIMIT_ENV} to allow more)", "gzip")
                out.append(chunk)
        except zlib.error as exc:
            raise SourceFormatError(name, f"gzip stream is truncated or corrupt ({exc})", "gzip") from exc
        if not inflater.eof:
            raise SourceFormatError(name, "gzip stream is truncated or corrupt (it ends before the "
                                          "end-of-stream marker)", "gzip")
        rest = memoryview(inflater.unused_data)
        if not bytes(rest).strip(b"\0"):
            return b"".join(out)
        if not bytes(rest[:2]) == GZIP_MAGIC:
            raise SourceFormatError(name, f"gzip stream is followed by {len(rest)} bytes that are not "
                                          "another gzip member", "gzip")


def sniff_text_kind(data: bytes) -> str:
    """Classify a text body by its first non-blank characters: 'json', 'markup' (HTML/XML) or 'text'."""
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"{", b"[")):
        return "json"
    if head.startswith(b"<"):
        return "markup"
    return "text"


def markup_title(data: bytes) -> str:
    """A short description of an HTML/XML body for an error message (its <title> or first 120 chars)."""
    text = data[:4000].decode("utf-8", "replace")
    lower = text.lower()
    start = lower.find("<title>")
    if start >= 0:
        end = lower.find("</title>", start)
        return text[start + 7 : end if end > 0 else start + 127].strip()
    return " ".join(text.split())[:120]


# -- ZIP archives ---------------------------------------------------------------------------------

_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # zipfile.structFileHeader: 30 bytes
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError, OSError,
               KeyError, IndexError, OverflowError, RuntimeError, struct.error, UnicodeDecodeError)


def check_zip(
    data: bytes, name: str, *, limit: int | None = None, max_ratio: float | None = None
) -> list[zipfile.ZipInfo]:
    """Check a ZIP archive (e.g. an xlsx workbook) before anything extracts it; return its members.

    Checks, in this order: the central directory is readable; every member is stored or deflated
    (other methods cannot be inflated in bounded steps) and not encrypted; the declared sizes add up
    to at most `limit` bytes; no member larger than :data:`RATIO_MIN_BYTES` expands more than
    `max_ratio` times; then every member is inflated once, in chunks of :data:`CHUNK_BYTES` that are
    counted and dropped, and must give exactly its declared size and CRC (a member that inflates
    past its declared size is stopped there). After this, any ZIP reader (openpyxl, :mod:`zipfile`)
    extracts at most the declared sizes.

    Parameters
    ----------
    data : bytes
        The archive.
    name : str
        The file name for error messages.
    limit : int, optional
        Most bytes all members together may decompress to (default :func:`decompressed_limit`).
    max_ratio : float, optional
        Largest uncompressed/compressed size ratio of a member (default :data:`MAX_COMPRESSION_RATIO`).

    Returns
    -------
    list of zipfile.ZipInfo
        The members (directories included), in archive order.

    Raises
    ------
    DecompressionLimitError
        A declared size over the limit, a ratio over `max_ratio`, or a member that inflates past its
        declared size; ``field`` names the member.
    SourceFormatError
        Not a ZIP archive, a truncated or corrupt archive, an unsupported or encrypted member.
    """
    cap = decompressed_limit(limit)
    ratio = MAX_COMPRESSION_RATIO if max_ratio is None else float(max_ratio)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except _ZIP_ERRORS as exc:
        raise SourceFormatError(name, f"ZIP archive is truncated or corrupt ({type(exc).__name__}: "
                                      f"{exc})") from exc
    declared = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise SourceFormatError(name, "encrypted ZIP member", info.filename)
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise SourceFormatError(name, f"ZIP member compressed with method {info.compress_type}; only "
                                          "stored and deflated members are read", info.filename)
        declared += info.file_size
        if declared > cap:
            raise DecompressionLimitError(
                name, f"the archive declares at least {declared:,} bytes uncompressed, more than the "
                f"limit of {cap:,} (set ${LIMIT_ENV} to allow more)", info.filename)
        if info.file_size > RATIO_MIN_BYTES and info.file_size > ratio * max(info.compress_size, 1):
            raise DecompressionLimitError(
                name, f"member expands {info.file_size / max(info.compress_size, 1):,.0f} times "
                f"({info.compress_size:,} -> {info.file_size:,} bytes), more than {ratio:g}: a zip bomb?",
                info.filename)
    for info in infos:
        _inflate(data, info, name, keep=False)
    return infos


def read_zip_member(data: bytes, info: zipfile.ZipInfo, name: str) -> bytes:
    """The bytes of one member of an archive checked by :func:`check_zip`, inflated in bounded steps.

    Raises :class:`SourceFormatError` (or :class:`DecompressionLimitError`) as :func:`check_zip` does.
    """
    return _inflate(data, info, name, keep=True)


def _inflate(data: bytes, info: zipfile.ZipInfo, name: str, *, keep: bool) -> bytes:
    """Inflate one member from the raw archive bytes, checking its actual size and CRC as it goes."""
    member = info.filename

    def broken(problem: str) -> SourceFormatError:
        return SourceFormatError(name, f"ZIP archive is truncated or corrupt: {problem}", member)

    start = info.header_offset
    try:
        header = _LOCAL_HEADER.unpack_from(data, start)
    except struct.error as exc:
        raise broken("a local header lies past the end of the data") from exc
    if header[0] != zipfile.stringFileHeader:
        raise broken("no local header where the central directory points")
    local_name = bytes(data[start + _LOCAL_HEADER.size : start + _LOCAL_HEADER.size + header[10]])
    if local_name.decode("utf-8" if header[3] & 0x800 else "cp437", "replace") != info.orig_filename:
        raise broken(f"the local header names {local_name[:80]!r}, the central directory {member!r}")
    begin = start + _LOCAL_HEADER.size + header[10] + header[11]
    raw = memoryview(data)[begin : begin + info.compress_size]
    if len(raw) < info.compress_size:
        raise broken(f"the member needs {info.compress_size:,} compressed bytes, {len(raw):,} are left")
    out: list[bytes] = []
    total = 0
    crc = 0
    if info.compress_type == zipfile.ZIP_STORED:
        for i in range(0, len(raw), CHUNK_BYTES):
            piece = bytes(raw[i : i + CHUNK_BYTES])
            total += len(piece)
            crc = zlib.crc32(piece, crc)
            if keep:
                out.append(piece)
        finished = True
    else:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        pending: bytes | memoryview = raw
        try:
            while not inflater.eof:  # zlib may hold output after the last input byte is read
                chunk = inflater.decompress(pending, CHUNK_BYTES)
                pending = inflater.unconsumed_tail
                if not chunk and not pending:
                    break
                total += len(chunk)
                if total > info.file_size:
                    raise DecompressionLimitError(
                        name, f"member inflates past its declared size of {info.file_size:,} bytes",
                        member)
                crc = zlib.crc32(chunk, crc)
                if keep:
                    out.append(chunk)
        except zlib.error as exc:
            raise broken(f"the member does not inflate ({exc})") from exc
        finished = inflater.eof
    if not finished:
        raise broken("the member's deflate stream does not end")
    if total != info.file_size:
        raise broken(f"the member has {total:,} bytes, the archive declares {info.file_size:,}")
    if crc != info.CRC:
        raise broken("the member's CRC does not match")
    return b"".join(out)


def strict_json(data: bytes, name: str, what: str = "JSON") -> Any:
    """Decode UTF-8 JSON strictly: a key given twice in one object, ``NaN``/``Infinity`` literals,
    invalid UTF-8 or JSON, and absurd nesting raise :class:`SourceFormatError` naming `name`
    (``json.loads`` would keep the last key silently and accept the literals). `what` names the
    expected document in the messages (e.g. ``"Comtrade body"``)."""

    def unique(pairs: list[tuple[str, Any]]) -> dict:
        out: dict = {}
        for key, value in pairs:
            if key in out:
                raise SourceFormatError(name, f"duplicate JSON key {key!r} in one object", key)
            out[key] = value
        return out

    def constant(literal: str) -> Any:
        raise SourceFormatError(name, f"{literal} is not a JSON number")

    try:
        return json.loads(data.decode("utf-8-sig"), object_pairs_hook=unique, parse_constant=constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceFormatError(name, f"not valid JSON, the body may be truncated ({exc})") from exc
    except RecursionError as exc:
        raise SourceFormatError(name, f"not a {what}: JSON nested too deeply") from exc
