"""Input helpers shared by the readers: bytes and a name from any source, bounded gzip and ZIP unpacking.

Decompression is bounded (against gzip and ZIP bombs) twice over:

- an absolute limit: no helper here produces more than :data:`MAX_DECOMPRESSED_BYTES` (default 4 GiB;
  environment variable ``OILFLOWS_MAX_DECOMPRESSED_BYTES``; the ``limit=`` argument of each helper);
- a limit relative to the compressed size: no input may expand more than :data:`MAX_COMPRESSION_RATIO`
  times (default 200; environment variable ``OILFLOWS_MAX_COMPRESSION_RATIO``, ``inf`` turns it off;
  the ``max_ratio=`` argument), except that any input may decompress to :data:`RATIO_MIN_BYTES` (1 MiB),
  so small legitimate files are never refused. Real inputs expand 2-23 times (docs/reliability.md);
  a bomb of zeros about 1000 times, so 1 MB of gzip cannot take a reader to gigabytes.

Output is produced in chunks of at most :data:`CHUNK_BYTES`, so a bomb is stopped before it is
allocated. A ZIP archive is checked before anything extracts it (:func:`check_zip`): the declared
sizes against both limits (the whole archive and every large member), and then each member is
inflated once, incrementally, to check that its actual size and CRC are the declared ones.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from .errors import ConfigError, DecompressionLimitError, SourceFormatError  # noqa: F401 - re-exported

Source = str | os.PathLike | bytes | bytearray | BinaryIO

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")

#: Most bytes one gzip stream or one ZIP archive (all members together) may decompress to (4 GiB).
MAX_DECOMPRESSED_BYTES = 4 * 1024**3
#: Environment variable overriding :data:`MAX_DECOMPRESSED_BYTES` (a number of bytes, e.g. ``1e9``).
LIMIT_ENV = "OILFLOWS_MAX_DECOMPRESSED_BYTES"
#: Most any compressed input (a gzip stream, a ZIP archive and each of its members, a 7z member) may
#: expand: uncompressed / compressed size. Real inputs expand 2-23 times (nrg_ti_coifpm.csv.gz 23.0,
#: the COIR workbooks 4.5-5.0 with members up to 9.3, GENESIS flat-file ZIPs 1.6-13.1 with members up
#: to 16.8; a Comext month 9); a bomb of zeros about 1000 times. Read at call time.
MAX_COMPRESSION_RATIO = 200.0
#: Environment variable overriding :data:`MAX_COMPRESSION_RATIO` (a number; ``inf`` turns the check off).
RATIO_ENV = "OILFLOWS_MAX_COMPRESSION_RATIO"
#: The floor of the ratio limit: any input may decompress to this many bytes (1 MiB) whatever its ratio.
RATIO_MIN_BYTES = 1024**2
#: Largest piece of output one decompression step produces (1 MiB).
CHUNK_BYTES = 1024**2

# ISA-L's inflate (package isal, a dependency where it has wheels): zlib's output, 2-5 times faster.
_ZLIB_FAST: Any
try:
    from isal import isal_zlib as _ZLIB_FAST
except ImportError:  # pragma: no cover - a machine without isal's wheels
    _ZLIB_FAST = None
#: Whether gzip is inflated with ISA-L (package ``isal``, a dependency on x86-64 and ARM64) instead of zlib.
FAST_INFLATE = _ZLIB_FAST is not None
_ZLIB: Any = _ZLIB_FAST if _ZLIB_FAST is not None else zlib
_INFLATE_ERRORS: tuple[type[Exception], ...] = (
    (zlib.error,) if _ZLIB_FAST is None else (zlib.error, _ZLIB_FAST.error))


def decompressed_limit(limit: int | None = None) -> int:
    """The decompressed-size limit in bytes: `limit` if given, else ``$OILFLOWS_MAX_DECOMPRESSED_BYTES``,
    else :data:`MAX_DECOMPRESSED_BYTES` (read at call time, so it can be changed at run time).

    Raises
    ------
    oilflows.errors.ConfigError
        The argument or the environment variable is not a positive number (a ``ValueError`` too).
    """
    if limit is None:
        text = os.environ.get(LIMIT_ENV, "").strip()
        if not text:
            return int(MAX_DECOMPRESSED_BYTES)
        try:
            limit = int(float(text))
        except ValueError:
            raise ConfigError(f"${LIMIT_ENV} must be a number of bytes, not {text!r}") from None
    if isinstance(limit, bool) or int(limit) <= 0:
        raise ConfigError(f"the decompressed-size limit must be a positive number of bytes, not {limit!r}")
    return int(limit)


def compression_ratio_limit(max_ratio: float | None = None) -> float:
    """The ratio limit: `max_ratio` if given, else ``$OILFLOWS_MAX_COMPRESSION_RATIO``, else
    :data:`MAX_COMPRESSION_RATIO` (read at call time). ``inf`` turns the check off.

    Raises
    ------
    oilflows.errors.ConfigError
        The argument or the environment variable is not a number of at least 1 (a ``ValueError`` too).
    """
    if max_ratio is None:
        text = os.environ.get(RATIO_ENV, "").strip()
        if not text:
            return float(MAX_COMPRESSION_RATIO)
        try:
            max_ratio = float(text)
        except ValueError:
            raise ConfigError(f"${RATIO_ENV} must be a number (a ratio such as 200), not {text!r}") from None
    if isinstance(max_ratio, bool) or not float(max_ratio) >= 1:
        raise ConfigError(f"the compression-ratio limit must be a number of at least 1, not {max_ratio!r}")
    return float(max_ratio)


def ratio_cap(compressed: int, max_ratio: float | None = None) -> float:
    """Most bytes `compressed` bytes of input may decompress to under the ratio limit:
    ``max(RATIO_MIN_BYTES, ratio * compressed)`` (``inf`` when the check is off)."""
    ratio = compression_ratio_limit(max_ratio)
    return max(float(RATIO_MIN_BYTES), ratio * max(int(compressed), 1))


def ratio_problem(what: str, produced: int, compressed: int, max_ratio: float | None = None) -> str:
    """The message of a :class:`DecompressionLimitError` raised for the ratio limit: `what` (e.g.
    ``"gzip stream expands to more than"``) `produced` bytes from `compressed` bytes."""
    ratio = compression_ratio_limit(max_ratio)
    return (f"{what} {produced:,} bytes from {compressed:,} compressed bytes "
            f"({produced / max(compressed, 1):,.0f} times), more than the compression-ratio limit of "
            f"{ratio:g} (and the floor of {RATIO_MIN_BYTES:,} bytes): a compression bomb? (set "
            f"${RATIO_ENV} to allow more)")


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


def gunzip_if_needed(
    data: bytes, name: str, *, limit: int | None = None, max_ratio: float | None = None
) -> bytes:
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
    max_ratio : float, optional
        Most times the output may be larger than `data`, above :data:`RATIO_MIN_BYTES` (default
        :func:`compression_ratio_limit`).

    Raises
    ------
    DecompressionLimitError
        The output would exceed `limit` bytes or `max_ratio` times the input (raised before more than
        the limit + 1 MiB is produced).
    SourceFormatError
        A truncated or corrupt stream, or trailing data that is not another gzip member.
    """
    if not data.startswith(GZIP_MAGIC):
        return data
    return b"".join(_gunzip(data, name, limit, max_ratio, keep=True)[0])


def check_gzip(data: bytes, name: str, *, limit: int | None = None, max_ratio: float | None = None) -> int:
    """Inflate gzip bytes once, counting and dropping the output, and return its size: the checks of
    :func:`gunzip_if_needed` (both limits, truncation, corruption) for a reader that inflates the
    stream itself. Bytes without the gzip magic number return their own length."""
    if not data.startswith(GZIP_MAGIC):
        return len(data)
    return _gunzip(data, name, limit, max_ratio, keep=False)[1]


#: Input fed to zlib in one step at the start of each gzip member (bytes), growing 4 times per step up
#: to :data:`CHUNK_BYTES`: zlib copies the input left after a member's end, so a file of many tiny
#: members must not hand the whole rest of the file to every member (that was quadratic).
_FIRST_INPUT_BYTES = 64


def _gunzip(data: bytes, name: str, limit: int | None, max_ratio: float | None, *,
            keep: bool) -> tuple[list[bytes], int]:
    """(output chunks if `keep`, output size) of a gzip stream; see :func:`gunzip_if_needed`."""
    cap = decompressed_limit(limit)
    soft = ratio_cap(len(data), max_ratio)
    out: list[bytes] = []
    total = 0
    for chunk in gzip_chunks(data, name):
        total += len(chunk)
        if total > min(cap, soft):
            raise _limit_error(name, total, len(data), cap, soft, max_ratio)
        if keep:
            out.append(chunk)
    return out, total


def gzip_chunks(data: bytes, name: str) -> Iterator[bytes]:
    """The text of the gzip stream `data`, in chunks of at most :data:`CHUNK_BYTES` (none empty),
    member after member (concatenated members, as :func:`gzip.decompress` reads them); trailing zero
    bytes are ignored. Inflated with ISA-L when :data:`FAST_INFLATE`, else zlib.
    No limit is applied here: the caller counts the output (:func:`gunzip_if_needed` does).

    Raises :class:`SourceFormatError` (field ``gzip``) for a truncated or corrupt stream and for
    trailing bytes that are not another member, when the iteration reaches them."""
    view = memoryview(data)
    offset = 0  # start of the input not yet handed to the inflater
    while True:  # one gzip member per turn
        inflater = _ZLIB.decompressobj(16 + zlib.MAX_WBITS)
        step = _FIRST_INPUT_BYTES
        try:
            while not inflater.eof and offset < len(view):
                pending: memoryview | bytes = view[offset : offset + step]
                offset += len(pending)
                step = min(step * 4, CHUNK_BYTES)
                while True:  # the inflater may hold output after the last input byte is read
                    chunk = inflater.decompress(pending, CHUNK_BYTES)
                    pending = inflater.unconsumed_tail
                    if chunk:
                        yield chunk
                    if inflater.eof or (not chunk and not pending):
                        break
        except _INFLATE_ERRORS as exc:
            raise SourceFormatError(name, f"gzip stream is truncated or corrupt ({exc})", "gzip") from exc
        if not inflater.eof:
            raise SourceFormatError(name, "gzip stream is truncated or corrupt (it ends before the "
                                          "end-of-stream marker)", "gzip")
        offset -= len(inflater.unused_data)  # the input after this member's end
        if bytes(view[offset : offset + 2]) == GZIP_MAGIC:
            continue  # another member
        if offset >= len(view) or data.count(b"\0", offset) == len(view) - offset:
            return  # the end, or zero padding
        raise SourceFormatError(name, f"gzip stream is followed by {len(view) - offset} bytes that are "
                                      "not another gzip member", "gzip")


def gzip_limits(compressed: int, *, limit: int | None = None, max_ratio: float | None = None) -> int:
    """Most bytes a gzip stream of `compressed` bytes may inflate to: the smaller of the absolute limit
    (:func:`decompressed_limit`) and the ratio limit (:func:`ratio_cap`), for a reader that inflates
    the stream itself as it parses (and names a breach with :func:`gzip_limit_error`)."""
    soft = ratio_cap(compressed, max_ratio)
    cap = decompressed_limit(limit)
    return cap if cap <= soft else int(soft)


def gzip_limit_error(name: str, produced: int, compressed: int, *, limit: int | None = None,
                     max_ratio: float | None = None) -> DecompressionLimitError:
    """The error :func:`gunzip_if_needed` raises when a gzip stream of `compressed` bytes has produced
    `produced` bytes, more than :func:`gzip_limits` allows (the same message, naming the limit hit)."""
    cap = decompressed_limit(limit)
    return _limit_error(name, produced, compressed, cap, ratio_cap(compressed, max_ratio), max_ratio)


def _limit_error(name: str, total: int, compressed: int, cap: int, soft: float,
                 max_ratio: float | None) -> DecompressionLimitError:
    """The error for a gzip stream past the absolute limit `cap` or the ratio limit `soft`."""
    if cap <= soft:
        return DecompressionLimitError(name, f"gzip stream decompresses to more than the limit of {cap:,} "
                                             f"bytes (set ${LIMIT_ENV} to allow more)", "gzip")
    problem = ratio_problem("gzip stream expands to more than", int(soft), compressed, max_ratio)
    return DecompressionLimitError(name, problem, "gzip")


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


#: Bytes of a body :func:`body_head` looks at by default (enough for an error message or a header line).
HEAD_BYTES = 4000


def body_head(data: bytes, size: int = HEAD_BYTES) -> tuple[bytes, bool]:
    """The first `size` bytes of a body's text, inflating only that much of a gzip body, and whether
    they are the whole text. Never raises: a gzip stream too damaged to give its beginning gives
    ``(b"", False)``, so the reader (which calls :func:`gunzip_if_needed`) raises the typed error.

    The one place a fetcher looks inside a (possibly gzip) body to classify an answer: an error page,
    a queued-extraction notice, a header-only CSV. At most ``size + 1`` bytes are produced, whatever
    the body holds, so a bomb costs nothing here.
    """
    if not data.startswith(GZIP_MAGIC):
        return data[:size], len(data) <= size
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        text = inflater.decompress(data[: max(size * 4, 1 << 16)], size + 1)
    except zlib.error:
        return b"", False
    complete = (len(text) <= size and inflater.eof
                and not inflater.unused_data.strip(b"\0") and len(data) <= max(size * 4, 1 << 16))
    return text[:size], complete


def text_head(data: bytes, size: int = HEAD_BYTES) -> str:
    """:func:`body_head` decoded as UTF-8 (undecodable bytes replaced): the text an answer is
    classified by."""
    return body_head(data, size)[0].decode("utf-8", "replace")


# -- ZIP archives ---------------------------------------------------------------------------------

_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # zipfile.structFileHeader: 30 bytes
_LOCAL_HEADER_MAGIC = b"PK\003\004"  # zipfile.stringFileHeader (left out of zipfile's stubs)
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError, OSError,
               KeyError, IndexError, OverflowError, RuntimeError, struct.error, UnicodeDecodeError)


def check_zip(
    data: bytes, name: str, *, limit: int | None = None, max_ratio: float | None = None
) -> list[zipfile.ZipInfo]:
    """Check a ZIP archive (e.g. an xlsx workbook) before anything extracts it; return its members.

    Checks, in this order: the central directory is readable; every member is stored or deflated
    (other methods cannot be inflated in bounded steps) and not encrypted; the declared sizes add up
    to at most `limit` bytes and to at most `max_ratio` times the archive (above
    :data:`RATIO_MIN_BYTES`); no member larger than :data:`RATIO_MIN_BYTES` expands more than
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
        Largest uncompressed/compressed size ratio of the archive and of a member (default
        :func:`compression_ratio_limit`: ``$OILFLOWS_MAX_COMPRESSION_RATIO`` or
        :data:`MAX_COMPRESSION_RATIO`).

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
    ratio = compression_ratio_limit(max_ratio)
    soft = ratio_cap(len(data), ratio)
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
                f"({info.compress_size:,} -> {info.file_size:,} bytes), more than the compression-ratio "
                f"limit of {ratio:g}: a zip bomb? (set ${RATIO_ENV} to allow more)", info.filename)
        if declared > soft:  # many members, each under the floor, can add up to a bomb
            raise DecompressionLimitError(
                name, ratio_problem("the archive declares at least", declared, len(data), ratio),
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
    if header[0] != _LOCAL_HEADER_MAGIC:
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


#: Most digits a JSON integer may have. More cannot be a statistic (no float holds 10**309) and Python
#: refuses to convert more than 4,300 with an untyped ValueError; :func:`strict_json` names the key.
MAX_JSON_INT_DIGITS = 320
_LONG_DIGITS = re.compile(rb"[0-9]{%d}" % (MAX_JSON_INT_DIGITS + 1))


class _LongInteger:
    """Stands in for a JSON integer of too many digits until the object holding it names its key."""

    __slots__ = ("digits",)

    def __init__(self, digits: int):
        self.digits = digits


def _long_integer_in(value: Any) -> _LongInteger | None:
    """The first :class:`_LongInteger` in `value` or in the lists it holds (not in nested objects:
    their own hook has looked at them)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _LongInteger):
            return item
        if isinstance(item, list):
            stack.extend(item)
    return None


def strict_json(data: bytes, name: str, what: str = "JSON") -> Any:
    """Decode UTF-8 JSON strictly: a key given twice in one object, ``NaN``/``Infinity`` literals,
    an integer of more than :data:`MAX_JSON_INT_DIGITS` digits, invalid UTF-8 or JSON, and absurd
    nesting raise :class:`SourceFormatError` naming `name` (and the key, where there is one;
    ``json.loads`` would keep the last key silently, accept the literals and raise an untyped
    ValueError past 4,300 digits). `what` names the expected document in the messages (e.g.
    ``"Comtrade body"``)."""
    long_integers: list[_LongInteger] = []  # made by parse_int, not yet found in an object

    def too_long(found: _LongInteger, key: str | None) -> SourceFormatError:
        where = f" in {key!r}" if key is not None else ""
        return SourceFormatError(name, f"an integer of {found.digits:,} digits{where}: more than "
                                       f"{MAX_JSON_INT_DIGITS} digits is no number of a statistic", key)

    def unique(pairs: list[tuple[str, Any]]) -> dict:
        out: dict = {}
        for key, value in pairs:
            if key in out:
                raise SourceFormatError(name, f"duplicate JSON key {key!r} in one object", key)
            out[key] = value
        if long_integers:
            for key, value in pairs:
                found = _long_integer_in(value)
                if found is not None:
                    raise too_long(found, key)
        return out

    def constant(literal: str) -> Any:
        raise SourceFormatError(name, f"{literal} is not a JSON number")

    def parse_int(text: str) -> Any:
        digits = len(text) - text.startswith("-")
        if digits > MAX_JSON_INT_DIGITS:
            long_integers.append(_LongInteger(digits))
            return long_integers[-1]
        return int(text)

    # parse_int costs a Python call per integer: used only if the bytes hold a run of that many digits
    numbers: dict[str, Any] = {"parse_int": parse_int} if _LONG_DIGITS.search(data) else {}
    try:
        document = json.loads(data.decode("utf-8-sig"), object_pairs_hook=unique, parse_constant=constant,
                              **numbers)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceFormatError(name, f"not valid JSON, the body may be truncated ({exc})") from exc
    except RecursionError as exc:
        raise SourceFormatError(name, f"not a {what}: JSON nested too deeply") from exc
    if long_integers:  # outside every object: the document itself, or in a top-level array
        raise too_long(long_integers[0], None)
    return document


# -- streaming a compressed file ------------------------------------------------------------------


class FileRatio:
    """The compression-ratio limit of one compressed file: at most `cap` bytes from its `size` bytes."""

    def __init__(self, path: Path, max_ratio: float | None):
        self.size = max(path.stat().st_size, 1)
        self.ratio = compression_ratio_limit(max_ratio)
        self.cap = ratio_cap(self.size, self.ratio)

    def error(self, name: str, what: str, produced: int, field: str | None = None) -> DecompressionLimitError:
        return DecompressionLimitError(
            name, f"{what} {produced:,} bytes from a {self.size:,}-byte file ({produced / self.size:,.0f} "
            f"times its size), more than the compression-ratio limit of {self.ratio:g} (above "
            f"{RATIO_MIN_BYTES:,} bytes): a compression bomb? (pass max_compression_ratio= or set "
            f"${RATIO_ENV} to allow more)", field)


def iter_gzip_file(path: Path, limit: int | None, block_bytes: int, ratio: FileRatio) -> Iterator[bytes]:
    """Stream the decompressed bytes of the gzip file `path` in blocks of `block_bytes`, never holding
    more: at most `limit` bytes in all (None: no absolute limit) and at most ``ratio.cap``
    (:class:`FileRatio`); a truncated or corrupt stream is a :class:`SourceFormatError`."""
    total = 0
    try:
        with gzip.open(path, "rb") as handle:
            while chunk := handle.read(block_bytes):
                total += len(chunk)
                if limit is not None and total > limit:
                    raise DecompressionLimitError(
                        str(path), f"gzip stream decompresses to more than max_uncompressed_bytes={limit:,} "
                        "bytes; raise the limit if the file is genuine")
                if total > ratio.cap:
                    raise ratio.error(str(path), "gzip stream decompresses to more than", int(ratio.cap))
                yield chunk
    except (OSError, EOFError, zlib.error) as exc:
        raise SourceFormatError(str(path), f"gzip stream is truncated or corrupt ({exc})") from exc
