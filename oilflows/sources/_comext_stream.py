"""Streaming reader of Comext bulk files: byte blocks from a ``.dat``/``.csv`` (plain, gzip or 7z), a product
prefilter on the raw bytes, and typed record batches of the rows kept.

Used by :func:`oilflows.sources.comext.iter_bulk` and ``read_bulk``; see their docstrings for the public
contract. How a file is read, whatever its size:

1. **Bytes.** A plain file is read in blocks of about ``chunk_rows * BULK_ROW_BYTES`` bytes; a gzip file
   is decompressed block by block; the one data member of a ``.7z`` is decompressed by ``py7zr`` in a
   worker thread that hands blocks over a queue of :data:`QUEUE_BLOCKS` entries (no temporary file). A
   7z member whose declared uncompressed size exceeds ``max_uncompressed_bytes``, or the compression-ratio
   limit of :mod:`oilflows._io` (200 times the archive's size above 1 MiB by default), is refused before
   decompression, and any compressed stream (7z or gzip) is stopped once it has produced more than
   either (:class:`DecompressionLimitError`).
2. **Lines.** Blocks are cut at line ends (a partial last line is carried to the next block), at most
   ``chunk_rows`` lines at a time. A line longer than :data:`MAX_LINE_BYTES` is refused (naming its
   number) before anything parses it, and a file without a single data line is an error.
3. **Prefilter on bytes.** The commas of the block are counted once (every non-blank line must have
   one field per header column; a mismatch is then located line by line to name it). The start of the
   product field of every line is located with numpy (eight bytes at a time where a line's first commas
   sit where the first data line has them, a search over all commas otherwise), and only lines whose
   product starts with a wanted prefix (chapter, heading or code) are kept.
4. **Parse the kept lines only** with ``pyarrow.csv`` (all needed columns as text, then the two measures
   cast to float64), gathered over blocks up to ``chunk_rows`` lines, so a batch never holds more rows
   than ``chunk_rows``.

Every line is checked for its field count; a kept row is also checked for UTF-8 and numeric measures.
The last line of the file may lack its line end but not a field (a truncated file).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .._io import FileRatio as _Ratio
from .._io import iter_gzip_file, markup_title
from ..errors import DecompressionLimitError, SourceFormatError  # noqa: F401 - re-exported

#: Bulk v2 layout (``full_v2_YYYYMM.7z``): role -> column. The full header is
#: REPORTER,PARTNER,TRADE_TYPE,PRODUCT_NC,PRODUCT_SITC,PRODUCT_CPA21,PRODUCT_CPA22,PRODUCT_BEC,
#: PRODUCT_BEC5,PRODUCT_SECTION,FLOW,STAT_PROCEDURE,SUPPL_UNIT,PERIOD,VALUE_EUR,VALUE_NAC,QUANTITY_KG,
#: QUANTITY_SUPPL_UNIT [V in sources.md 2.3 from a third party's acquisition record and real rows].
BULK_COLUMNS: dict[str, str] = {
    "reporter": "REPORTER",
    "partner": "PARTNER",
    "trade_type": "TRADE_TYPE",
    "product": "PRODUCT_NC",
    "flow": "FLOW",
    "stat_procedure": "STAT_PROCEDURE",
    "period": "PERIOD",
    "value_eur": "VALUE_EUR",
    "quantity_kg": "QUANTITY_KG",
}
#: Legacy v1 layout (``fullYYYYMM.7z``) [3P, column names only; not tested on real bytes].
BULK_COLUMNS_V1: dict[str, str] = {
    "reporter": "DECLARANT_ISO",
    "partner": "PARTNER_ISO",
    "trade_type": "TRADE_TYPE",
    "product": "PRODUCT_NC",
    "flow": "FLOW",
    "stat_procedure": "STAT_REGIME",
    "period": "PERIOD",
    "value_eur": "VALUE_IN_EUROS",
    "quantity_kg": "QUANTITY_IN_KG",
}
BULK_LAYOUTS: dict[str, dict[str, str]] = {"v2": BULK_COLUMNS, "v1": BULK_COLUMNS_V1}
#: Numeric roles (float64); every other column is read as text (codes such as ``39XXXXXX``, ``06``).
BULK_NUMERIC = ("value_eur", "quantity_kg")
#: Lines examined (and rows parsed) at a time by default, and the bytes per line assumed to size the
#: read blocks (real v2 rows average 82 bytes: 402,759,246 bytes / 4,902,194 rows).
DEFAULT_CHUNK_ROWS = 250_000
BULK_ROW_BYTES = 100
MIN_BLOCK_BYTES = 4096
#: The longest line accepted (bytes, 16 KiB): real v2 rows average 82 bytes (18 short codes and numbers),
#: so a longer line (a 10 MB cell, a file without line ends) is no bulk CSV and is refused before parsing.
MAX_LINE_BYTES = 1 << 14
#: Default decompression limit (bytes, 8 GiB): a month is about 0.4 GB uncompressed, a year a few GB.
MAX_UNCOMPRESSED_BYTES = 8 << 30
#: Blocks the 7z worker thread may decompress ahead of the parser.
QUEUE_BLOCKS = 2

SEVEN_ZIP_MAGIC = b"7z\xbc\xaf\x27\x1c"
GZIP_MAGIC = b"\x1f\x8b"
_NEWLINE, _COMMA = 10, 44


@dataclass(frozen=True)
class BulkFilters:
    """Row filters of a bulk read (None = keep all); values are the file's raw codes."""

    chapters: tuple[str, ...] | None
    products: tuple[str, ...] | None
    reporters: tuple[str, ...] | None
    partners: tuple[str, ...] | None
    flows: tuple[str, ...] | None
    stat_procedures: tuple[str, ...] | None

    def prefixes(self) -> tuple[bytes, ...] | None:
        """The product prefixes of the byte prefilter (chapters, else the exact codes), or None."""
        codes = self.chapters if self.chapters is not None else self.products
        return None if codes is None else tuple(c.encode("ascii", "replace") for c in codes)


def bulk_schema() -> pa.Schema:
    """The schema of the batches :func:`stream_batches` yields: roles as text, measures as float64."""
    return pa.schema([(role, pa.float64() if role in BULK_NUMERIC else pa.string()) for role in BULK_COLUMNS])


def stream_batches(
    path: str | Path, filters: BulkFilters, chunk_rows: int, max_uncompressed_bytes: int | None,
    max_ratio: float | None = None,
) -> Iterator[pa.RecordBatch]:
    """Filtered record batches (:func:`bulk_schema`) of a bulk file, each from at most `chunk_rows` lines.

    `max_ratio` is the compression-ratio limit (None: :func:`oilflows._io.compression_ratio_limit`)."""
    path = Path(path)
    block_bytes = max(chunk_rows * BULK_ROW_BYTES, MIN_BLOCK_BYTES)
    magic = _magic(path)
    ratio = _Ratio(path, max_ratio)
    if magic == SEVEN_ZIP_MAGIC:
        name, chunks = _seven_zip_chunks(path, max_uncompressed_bytes, block_bytes, ratio)
    elif magic.startswith(GZIP_MAGIC):
        name, chunks = str(path), iter_gzip_file(path, max_uncompressed_bytes, block_bytes, ratio)
    else:
        name, chunks = str(path), _file_chunks(path, block_bytes)
    try:
        yield from _batches(_line_blocks(chunks, chunk_rows, name), name, filters, chunk_rows)
    finally:
        if isinstance(chunks, Generator):  # every producer above is one: closing stops a 7z worker
            chunks.close()


# -- bytes ----------------------------------------------------------------------------------------


def _magic(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(6)
    except OSError as exc:
        raise SourceFormatError(str(path), f"cannot read file: {exc.strerror or exc}") from exc


def _file_chunks(path: Path, block_bytes: int) -> Iterator[bytes]:
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(block_bytes):
                yield chunk
    except OSError as exc:
        raise SourceFormatError(str(path), f"cannot read file: {exc.strerror or exc}") from exc


def _import_py7zr() -> ModuleType:
    try:
        import py7zr
    except ImportError as exc:
        raise ImportError(
            "reading Comext .7z bulk files needs py7zr: pip install 'oilflows[comext]' (or pip install "
            "py7zr), or pass the extracted .dat/.csv file"
        ) from exc
    return py7zr


def _corrupt(path: Path | str, exc: BaseException) -> SourceFormatError:
    return SourceFormatError(str(path), f"7z archive is truncated or corrupt ({type(exc).__name__}: {exc})")


def _seven_zip_chunks(path: Path, limit: int | None, block_bytes: int,
                      ratio: _Ratio) -> tuple[str, Iterator[bytes]]:
    """The name ``archive!member`` and the decompressed blocks of the archive's one data member."""
    py7zr = _import_py7zr()
    try:
        with py7zr.SevenZipFile(path, mode="r") as archive:
            infos = [info for info in archive.list() if not info.is_directory]
    except Exception as exc:  # py7zr raises many types on damaged headers; all mean a bad archive
        raise _corrupt(path, exc) from exc
    names = [info.filename for info in infos]
    data = [i for i in infos if i.filename.lower().endswith((".dat", ".csv", ".txt"))] or infos
    if len(data) != 1:
        raise SourceFormatError(str(path), f"expected one data file in the archive, found {names}")
    member = data[0].filename
    declared = declared_size(data[0])
    if limit is not None and declared > limit:
        raise DecompressionLimitError(
            str(path), f"member {member} declares {declared:,} bytes uncompressed, more than "
            f"max_uncompressed_bytes={limit:,}; raise the limit if the archive is genuine", member)
    if declared > ratio.cap:
        raise ratio.error(str(path), f"member {member} declares", declared, member)
    return f"{path}!{member}", _seven_zip_stream(py7zr, path, member, limit, block_bytes, ratio)


def declared_size(info: Any) -> int:
    """The uncompressed size (bytes) a 7z member's header declares."""
    return int(info.uncompressed or 0)


_END = object()


def _seven_zip_stream(py7zr: Any, path: Path, member: str, limit: int | None, block_bytes: int,
                      ratio: _Ratio) -> Iterator[bytes]:
    """Decompress `member` in a worker thread; yield its bytes in blocks of at most `block_bytes`."""
    if not hasattr(getattr(py7zr, "io", None), "WriterFactory"):  # py7zr < 1.0: no streaming writers
        yield from _seven_zip_via_tempfile(py7zr, path, member, limit, block_bytes, ratio)
        return
    blocks: queue.Queue = queue.Queue(maxsize=QUEUE_BLOCKS)
    cancel = threading.Event()

    def put(item: object) -> None:
        while not cancel.is_set():
            try:
                blocks.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        raise _Cancelled

    class Writer(py7zr.io.Py7zIO):
        total = 0

        def write(self, data: bytes | bytearray) -> int:
            Writer.total += len(data)
            if limit is not None and Writer.total > limit:
                raise DecompressionLimitError(
                    f"{path}!{member}", f"decompressed more than max_uncompressed_bytes={limit:,} bytes "
                    "(more than the member declares); refusing the rest", member)
            if Writer.total > ratio.cap:
                raise ratio.error(f"{path}!{member}", "decompressed more than", int(ratio.cap), member)
            view = memoryview(data)
            for start in range(0, len(view), block_bytes):
                put(bytes(view[start:start + block_bytes]))
            return len(data)

        def read(self, size: int | None = None) -> bytes:
            return b""

        def seek(self, offset: int, whence: int = 0) -> int:
            return 0

        def flush(self) -> None:
            return None

        def size(self) -> int:
            return Writer.total

    class Factory(py7zr.io.WriterFactory):
        def create(self, filename: str) -> Writer:
            return Writer()

    def work() -> None:
        try:
            with py7zr.SevenZipFile(path, mode="r") as archive:
                archive.extract(targets=[member], factory=Factory())
            put(_END)
        except _Cancelled:
            return
        except BaseException as exc:  # handed to the reading thread, which raises it
            try:
                put(exc)
            except _Cancelled:
                return

    worker = threading.Thread(target=work, name="oilflows-comext-7z", daemon=True)
    worker.start()
    try:
        while True:
            item = blocks.get()
            if item is _END:
                return
            if isinstance(item, SourceFormatError):
                raise item
            if isinstance(item, BaseException):
                raise _corrupt(path, item) from item
            yield item
    finally:
        cancel.set()
        while worker.is_alive():
            with contextlib.suppress(queue.Empty):
                blocks.get(timeout=0.1)
        worker.join()


class _Cancelled(Exception):
    """The reader stopped: the 7z worker thread ends its extraction."""


def _seven_zip_via_tempfile(py7zr: Any, path: Path, member: str, limit: int | None, block_bytes: int,
                            ratio: _Ratio) -> Iterator[bytes]:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="oilflows-comext-") as tmp:
        try:
            with py7zr.SevenZipFile(path, mode="r") as archive:
                archive.extract(path=tmp, targets=[member])
        except Exception as exc:
            raise _corrupt(path, exc) from exc
        extracted = Path(tmp) / member
        if not extracted.is_file():
            raise SourceFormatError(str(path), f"7z archive is truncated or corrupt: {member} missing")
        if limit is not None and extracted.stat().st_size > limit:
            raise DecompressionLimitError(str(path), f"{member} holds more than max_uncompressed_bytes="
                                          f"{limit:,} bytes", member)
        if extracted.stat().st_size > ratio.cap:
            raise ratio.error(str(path), f"member {member} holds", extracted.stat().st_size, member)
        yield from _file_chunks(extracted, block_bytes)


# -- lines ----------------------------------------------------------------------------------------


@dataclass
class _Block:
    """Complete lines of the file: `view` bytes, line `starts`/`ends` (end excludes the line end),
    the 1-based number of the first line, and whether the last line lacks its line end."""

    view: memoryview
    starts: np.ndarray
    ends: np.ndarray
    first_line: int
    unterminated: bool = False


def _line_blocks(chunks: Iterator[bytes], chunk_rows: int, name: str) -> Iterator:
    """``(header line, first bytes of the file)`` first, then blocks of at most `chunk_rows` complete lines.

    A chunk is not copied: its lines are viewed in place, and the line cut by the chunk's end is completed
    from the next chunk as a one-line block.
    """
    rest = b""
    header_done = False
    line_no = 2  # the header is line 1
    for chunk in chunks:
        if not header_done:
            data = rest + chunk
            end = data.find(b"\n")
            if end < 0:
                if len(data) > MAX_LINE_BYTES:
                    raise SourceFormatError(name, f"no line end in the first {len(data):,} bytes: not a "
                                            "Comext bulk CSV")
                rest = data
                continue
            if end > MAX_LINE_BYTES:
                raise SourceFormatError(name, f"line 1 (the header) is longer than {MAX_LINE_BYTES:,} bytes: "
                                        "not a Comext bulk CSV")
            yield data[:end], data[:4000]
            header_done, rest, chunk = True, b"", data[end + 1:]
        view = memoryview(chunk)
        if rest:
            end = chunk.find(b"\n")
            if len(rest) + (len(chunk) if end < 0 else end) > MAX_LINE_BYTES:
                raise SourceFormatError(name, f"line {line_no} is longer than {MAX_LINE_BYTES:,} bytes: "
                                        "not a Comext bulk CSV")
            if end < 0:
                rest += chunk
                continue
            bridge = rest + chunk[:end + 1]
            yield _Block(memoryview(bridge), np.array([0]), np.array([len(bridge) - 1]), line_no)
            line_no += 1
            view = view[end + 1:]
        cut = chunk.rfind(b"\n") + 1 - (len(chunk) - len(view))
        rest = bytes(view[max(cut, 0):])
        if cut <= 0:
            _check_length(len(rest), line_no, name)
            continue
        view = view[:cut]
        ends = np.flatnonzero(np.frombuffer(view, np.uint8) == _NEWLINE)
        lengths = np.diff(ends, prepend=-1) - 1  # every line of the chunk, before anything parses it
        if len(lengths) and lengths.max() > MAX_LINE_BYTES:
            _check_length(MAX_LINE_BYTES + 1, line_no + int(np.argmax(lengths > MAX_LINE_BYTES)), name)
        for lo in range(0, len(ends), chunk_rows):
            part = ends[lo:lo + chunk_rows]
            starts = np.empty_like(part)
            starts[0] = ends[lo - 1] + 1 if lo else 0
            starts[1:] = part[:-1] + 1
            yield _Block(view, starts, part, line_no)
            line_no += len(part)
        _check_length(len(rest), line_no, name)
    if not header_done:
        if rest.strip():
            _check_length(len(rest), 1, name)
            yield rest, rest[:4000]
        return
    if rest:
        yield _Block(memoryview(rest), np.array([0]), np.array([len(rest)]), line_no, unterminated=True)


def _check_length(length: int, line_no: int, name: str) -> None:
    """Raise for a line of more than :data:`MAX_LINE_BYTES` bytes (`length`; at least, if it goes on)."""
    if length > MAX_LINE_BYTES:
        raise SourceFormatError(name, f"line {line_no} is longer than {MAX_LINE_BYTES:,} bytes: not a "
                                "Comext bulk CSV (real lines have about 80)")


# -- parse ----------------------------------------------------------------------------------------


@dataclass
class _Plan:
    """How to read one file: its header, layout, product field index and fast-path comma offsets."""

    name: str
    header: list[str]
    layout: dict[str, str]
    product_field: int
    offsets: np.ndarray | None = None  # comma offsets from a line start up to the product field


def _batches(blocks: Iterator, name: str, filters: BulkFilters, chunk_rows: int) -> Iterator[pa.RecordBatch]:
    """Kept lines of successive blocks, gathered up to `chunk_rows` lines, parsed and filtered."""
    first = next(blocks, None)
    if first is None:
        raise SourceFormatError(name, "the file is empty")
    header_line, head = first
    plan = _plan(header_line, head, name)
    prefixes = filters.prefixes()
    pending: list[bytes] = []
    pending_lines: list[np.ndarray] = []
    count = 0
    data_seen = False  # a line that is not blank (an empty or blank file is an error, not an empty frame)
    for block in blocks:
        if not data_seen:
            data_seen = not _blank(np.frombuffer(block.view, np.uint8), block.starts, block.ends).all()
        kept, lines = _prefilter(block, plan, prefixes)
        if not len(lines):
            continue
        if count + len(lines) > chunk_rows:
            yield from _flush(pending, pending_lines, plan, filters)
            pending, pending_lines, count = [], [], 0
        pending.append(kept)
        pending_lines.append(lines)
        count += len(lines)
    if not data_seen:
        raise SourceFormatError(name, "the file has a header but no data line (nothing, or only blank lines, "
                                "follows it)")
    yield from _flush(pending, pending_lines, plan, filters)


def _flush(pending: list[bytes], lines: list[np.ndarray], plan: _Plan,
           filters: BulkFilters) -> Iterator[pa.RecordBatch]:
    if not pending:
        return
    batch = _parse(b"".join(pending), np.concatenate(lines), plan)
    mask = bulk_mask(batch, filters)
    yield batch if mask is None else batch.filter(mask)


def _plan(header_line: bytes, head: bytes, name: str) -> _Plan:
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        raise SourceFormatError(name, f"expected a Comext bulk file (.7z or CSV), found an HTML/XML page: "
                                f"{markup_title(head.lstrip())!r}")
    if not header_line.strip(b"\xef\xbb\xbf \t\r\n"):
        raise SourceFormatError(name, "the first line (the header) is empty: not a Comext bulk CSV")
    try:
        text = header_line.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceFormatError(name, f"the header is not UTF-8 text ({exc}): not a Comext bulk CSV") from exc
    header = [c.strip() for c in text.strip().split(",")]
    layout = bulk_layout(header, name)
    return _Plan(name, header, layout, header.index(layout["product"]))


def bulk_layout(header: Sequence[str], name: str) -> dict[str, str]:
    """The layout (:data:`BULK_LAYOUTS`) whose columns the header has, else :class:`SourceFormatError`."""
    for layout in BULK_LAYOUTS.values():
        if all(column in header for column in layout.values()):
            return layout
    missing = [c for c in BULK_COLUMNS.values() if c not in header]
    hint = " (the file is not comma-separated)" if len(header) == 1 else ""
    raise SourceFormatError(
        name, f"not a Comext bulk file: header lacks {missing} (found {list(header)[:20]}){hint}", missing[0]
    )


def _product_starts(arr: np.ndarray, block: _Block, plan: _Plan) -> np.ndarray:
    """Byte offset of the product field in each line of `block`; -1 where the line has no such field.

    Fast path: lines whose first bytes have commas exactly where the first data line of the file has them
    (``AT,AD,E,`` in v2), tested eight bytes at a time. Other lines: the k-th comma found by a search over
    all commas of the block.
    """
    starts, ends, k = block.starts, block.ends, plan.product_field
    if k == 0:
        return np.where(ends > starts, starts, -1)
    if plan.offsets is None and len(starts):
        first = bytes(block.view[starts[0]:ends[0]])
        first_commas = [i for i, b in enumerate(first) if b == _COMMA][:k]
        plan.offsets = (np.array(first_commas, dtype=np.int64) if len(first_commas) == k
                        else np.zeros(0, np.int64))
    # still None only for a block without lines, where there is nothing to locate
    offsets = plan.offsets if plan.offsets is not None else np.zeros(0, np.int64)
    out = np.full(len(starts), -1, dtype=np.int64)
    fast = _fast_layout(arr, starts, ends, offsets)
    out[fast] = starts[fast] + int(offsets[-1]) + 1 if len(offsets) else -1
    slow = ~fast
    if slow.any():
        commas = np.flatnonzero(arr == _COMMA)
        if len(commas):
            nth = np.searchsorted(commas, starts[slow]) + (k - 1)
            position = commas[np.minimum(nth, len(commas) - 1)]
            found = (nth < len(commas)) & (position < ends[slow])
            out[np.flatnonzero(slow)[found]] = position[found] + 1
    return out


_ONES = np.uint64(0x7F7F7F7F7F7F7F7F)
_HIGH = np.uint64(0x8080808080808080)
_COMMAS = np.uint64(0x2C2C2C2C2C2C2C2C)


def _fast_layout(arr: np.ndarray, starts: np.ndarray, ends: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Lines with commas at `offsets` from their start and no other comma before the last of them.

    Reads each line's first bytes as little-endian 64-bit words and finds comma bytes with the
    "has zero byte" bit trick (exact form: ``((v & 0x7F..) + 0x7F..) | v`` sets bit 7 of each non-zero
    byte of ``v = word ^ 0x2C..``).
    """
    fast = np.zeros(len(starts), dtype=bool)
    if not len(offsets):
        return fast
    width = int(offsets[-1]) + 1
    words = (width + 7) // 8
    if len(arr) < 8 * words:
        return fast
    fast = (ends >= starts + width) & (starts + 8 * words <= len(arr))
    at = np.where(fast, starts, 0)
    view = np.ndarray((len(arr) - 7,), dtype="<u8", buffer=arr, strides=(1,))
    commas = set(offsets.tolist())
    for w in range(words):
        care = expected = 0
        for byte in range(8):
            position = 8 * w + byte
            if position < width:
                care |= 0x80 << (8 * byte)
                expected |= (0 if position in commas else 0x80) << (8 * byte)
        value = view[at + 8 * w] ^ _COMMAS
        nonzero = ((value & _ONES) + _ONES) | value
        fast &= (nonzero & np.uint64(care)) == np.uint64(expected)
    return fast


def _prefilter(block: _Block, plan: _Plan, prefixes: tuple[bytes, ...] | None) -> tuple[bytes, np.ndarray]:
    """The kept lines of `block` (newline-terminated bytes) and their 1-based line numbers.

    Every line of the block is checked for its field count (commas counted per line, so a line with
    one field too few cannot hide behind another with one too many); only kept lines are parsed
    further.
    """
    arr = np.frombuffer(block.view, np.uint8)
    blank = _blank(arr, block.starts, block.ends)
    first = block.starts[0]
    commas = np.flatnonzero(arr[first:block.ends[-1]] == _COMMA) + first
    per_line = np.searchsorted(commas, block.ends) - np.searchsorted(commas, block.starts)
    if ((per_line != len(plan.header) - 1) & ~blank).any():
        _field_count_error(arr, block, plan, blank)
    product = _product_starts(arr, block, plan)
    missing = product < 0
    if (missing & ~blank).any():
        _field_count_error(arr, block, plan, blank, missing & ~blank)
    keep = ~missing
    if prefixes is not None:
        top = len(arr) - 1
        match = np.zeros(len(product), dtype=bool)
        for prefix in prefixes:
            hit = keep & (product + len(prefix) <= block.ends)
            for j, byte in enumerate(prefix):
                hit &= arr[np.minimum(product + j, top)] == byte
            match |= hit
        keep = match
    index = np.flatnonzero(keep)
    lines = block.first_line + index
    if not len(index):
        return b"", lines
    if len(index) * 8 < len(keep):
        view, starts, ends = block.view, block.starts, block.ends
        kept = b"\n".join([view[s:e] for s, e in zip(starts[index].tolist(), ends[index].tolist(),
                                                        strict=True)]) + b"\n"
        return kept, lines
    region = arr[block.starts[0]:block.ends[-1] + (0 if block.unterminated else 1)]
    lengths = block.ends - block.starts + 1
    bytemask = np.repeat(keep, lengths)[:len(region)]
    kept = region[bytemask].tobytes()
    return (kept + b"\n" if block.unterminated and keep[-1] else kept), lines


def _blank(arr: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Lines that are empty or a lone carriage return."""
    length = ends - starts
    top = len(arr) - 1
    return (length == 0) | ((length == 1) & (arr[np.minimum(starts, top)] == 13))


def _field_count_error(arr: np.ndarray, block: _Block, plan: _Plan, blank: np.ndarray,
                       bad: np.ndarray | None = None) -> None:
    """Raise :class:`SourceFormatError` for the first non-blank line without exactly one field per column."""
    commas = np.flatnonzero(arr == _COMMA)
    counts = np.searchsorted(commas, block.ends) - np.searchsorted(commas, block.starts)
    wrong = (counts != len(plan.header) - 1) & ~blank
    if bad is not None:
        wrong |= bad
    rows = np.flatnonzero(wrong)
    if not len(rows):
        return
    i = int(rows[0])
    fields = int(counts[i]) + 1
    line = bytes(block.view[block.starts[i]:block.ends[i]])
    number = block.first_line + i
    column = plan.header[fields] if fields < len(plan.header) else plan.header[-1]
    ends = f"ends before {column}" if fields < len(plan.header) else "runs past the last column"
    if block.unterminated and i == len(block.starts) - 1 and fields < len(plan.header):
        problem = (f"the last line (line {number}) has {fields} of {len(plan.header)} fields, {ends}: the "
                   "file is truncated")
    else:
        problem = (f"line {number} has {fields} of {len(plan.header)} fields, {ends} (wrong delimiter or "
                   f"truncated line?): {line[:80]!r}")
    raise SourceFormatError(plan.name, f"malformed bulk CSV: {problem}", column)


def _parse(kept: bytes, lines: np.ndarray, plan: _Plan) -> pa.RecordBatch:
    """Parse the kept lines into a batch of :func:`bulk_schema` (measures float64, empty -> null)."""
    columns = list(plan.layout.values())
    try:
        table = pacsv.read_csv(
            pa.py_buffer(kept),
            read_options=pacsv.ReadOptions(column_names=plan.header, use_threads=False,
                                           block_size=max(len(kept) + 1, MIN_BLOCK_BYTES)),
            parse_options=pacsv.ParseOptions(quote_char=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(include_columns=columns,
                                                 column_types={c: pa.string() for c in columns},
                                                 strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise _locate(kept, lines, plan, exc) from exc
    arrays = []
    for role, column in plan.layout.items():
        array = table.column(column).combine_chunks()
        if role in BULK_NUMERIC:
            array = _to_float(array, column, lines, plan)
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, schema=bulk_schema())


def _to_float(array: pa.Array, column: str, lines: np.ndarray, plan: _Plan) -> pa.Array:
    text = pc.utf8_trim_whitespace(array)
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    try:
        numbers = pc.cast(text, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        numbers = None
    if numbers is not None:
        finite = pc.fill_null(pc.is_finite(numbers), True)
        if pc.all(finite).as_py():
            return numbers
        i = int(np.flatnonzero(~finite.to_numpy(zero_copy_only=False))[0])
        raise SourceFormatError(
            plan.name, f"malformed bulk CSV: {column} {text[i].as_py()!r} on line {int(lines[i])} is not "
            "a finite number", column)
    for i, value in enumerate(text.to_pylist()):
        try:
            float(value) if value is not None else None
        except ValueError:
            raise SourceFormatError(
                plan.name, f"malformed bulk CSV: non-numeric {column} {value!r} on line {int(lines[i])}",
                column) from None
    raise SourceFormatError(plan.name, f"malformed bulk CSV: {column} does not read as numbers", column)


def _locate(kept: bytes, lines: np.ndarray, plan: _Plan, exc: Exception) -> SourceFormatError:
    """A :class:`SourceFormatError` naming the first kept line that does not parse."""
    for i, line in enumerate(kept.split(b"\n")[: len(lines)]):
        fields = line.rstrip(b"\r").count(b",") + 1
        if fields != len(plan.header):
            column = plan.header[fields] if fields < len(plan.header) else plan.header[-1]
            return SourceFormatError(plan.name, f"malformed bulk CSV: line {int(lines[i])} has {fields} of "
                                     f"{len(plan.header)} fields", column)
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            return SourceFormatError(plan.name, f"malformed bulk CSV: line {int(lines[i])} is not UTF-8 text")
    return SourceFormatError(plan.name, f"malformed bulk CSV: {exc}")


# -- filters --------------------------------------------------------------------------------------


def bulk_mask(batch: pa.RecordBatch, filters: BulkFilters) -> pa.Array | None:
    """The rows of `batch` every filter keeps (None when there is no filter)."""
    conditions = []
    product = batch.column("product")
    if filters.chapters is not None:
        starts = [pc.starts_with(product, chapter) for chapter in filters.chapters]
        conditions.append(_or_all(starts))
    for role, values in (("product", filters.products), ("reporter", filters.reporters),
                         ("partner", filters.partners), ("flow", filters.flows),
                         ("stat_procedure", filters.stat_procedures)):
        if values is not None:
            conditions.append(pc.is_in(batch.column(role), value_set=pa.array(values, pa.string())))
    if not conditions:
        return None
    return _and_all(conditions)


def _or_all(arrays: list[pa.Array]) -> pa.Array:
    mask = arrays[0]
    for array in arrays[1:]:
        mask = pc.or_(mask, array)
    return mask


def _and_all(arrays: list[pa.Array]) -> pa.Array:
    mask = arrays[0]
    for array in arrays[1:]:
        mask = pc.and_(mask, array)
    return mask
