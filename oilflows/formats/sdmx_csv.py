"""SDMX-CSV 1.0 (as Eurostat serves it) -> long tables of dimension codes, values and flags; SDMX periods.

Two readers of the same format:

- :func:`parse` gives a pyarrow table of strings plus a float ``OBS_VALUE`` (used by the Comext reader);
- :func:`parse_coded` gives a :class:`Coded` table: every string column as integer codes into its few
  distinct values, so that no work downstream is done per row on strings (used by the Eurostat
  reader, which must keep up with 5-million-row files). gzip input is inflated in bounded chunks while
  pyarrow parses, instead of being inflated whole first.

Both refuse what is not SDMX-CSV 1.0 with a :class:`~oilflows.errors.SourceFormatError` naming the file
and, where one is to blame, the column.
"""

from __future__ import annotations

import csv
import functools
import io
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .._io import (
    FAST_INFLATE,
    GZIP_MAGIC,
    check_gzip,
    gunzip_if_needed,
    gzip_chunks,
    gzip_limit_error,
    gzip_limits,
)
from ..errors import SourceFormatError
from ..schema import CONFIDENTIAL

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

#: Columns every SDMX-CSV 1.0 data file has besides its dimensions.
REQUIRED = ("DATAFLOW", "TIME_PERIOD", "OBS_VALUE")
#: ``CONF_STATUS`` codes meaning "not disclosed" (sources.md 1.8); ``F`` (free) and empty mean disclosed.
UNDISCLOSED = ("C", "N", "P")
CONF_STATUS_CODES = ("", "F", *UNDISCLOSED)

#: An SDMX code (the IDType of SDMX-ML: letters, digits, ``_``, ``-``, ``@``, ``$``).
_CODE = re.compile(r"[A-Za-z0-9_@$\-]+")
#: An observation status: letters only (``c``, ``b``, ``bc``, ``p``, ``e`` ...).
_FLAG = re.compile(r"[A-Za-z]+")
_PERIOD = re.compile(r"([0-9]{4})(?:-([0-9]{2}))?")
_COLUMN_NO = re.compile(r"In CSV column #(\d+)")
_DICT = pa.dictionary(pa.int32(), pa.string())
#: How much decompressed text is looked at to find the header and sniff the kind of file.
HEAD_BYTES = 1 << 16
#: pyarrow CSV block sizes: about 32 blocks per file (parsed in parallel), each of 1 to 16 MiB (large
#: blocks mean less per-block work on big files; small files need small blocks to be parsed in parallel).
MIN_BLOCK_BYTES, MAX_BLOCK_BYTES, BLOCKS = 1 << 20, 1 << 24, 32


# -- header and head ------------------------------------------------------------------------------


def head(data: bytes, name: str, size: int = HEAD_BYTES) -> bytes:
    """The first `size` bytes of the text, inflating only that much of a gzip stream.

    A stream too damaged to give even its beginning raises the :class:`SourceFormatError` of
    :func:`oilflows._io.gunzip_if_needed`.
    """
    if not data.startswith(GZIP_MAGIC):
        return data[:size]
    given = data[: max(size, 1 << 16)]
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        text = inflater.decompress(given, size)
    except zlib.error:
        text = None
    if text is None or (len(text) < size and not inflater.eof and len(given) == len(data)):
        return gunzip_if_needed(data, name)[:size]  # corrupt or cut short: raises the typed error
    return text


def header_columns(text: bytes, name: str) -> list[str]:
    """The column names of the header line (the first line of `text`), checked for SDMX-CSV 1.0.

    Raises :class:`SourceFormatError` for a header that is not UTF-8, lacks a column of
    :data:`REQUIRED` or names a column twice.
    """
    end = text.find(b"\n")
    line = text if end < 0 else text[:end]
    try:
        decoded = line.decode("utf-8-sig").rstrip("\r")
    except UnicodeDecodeError as exc:
        raise SourceFormatError(name, f"header is not UTF-8 text ({exc})", "header") from exc
    try:
        header = next(csv.reader([decoded]), [])
    except csv.Error as exc:
        raise SourceFormatError(name, f"unreadable header line ({exc})", "header") from exc
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise SourceFormatError(
            name, f"not SDMX-CSV 1.0: header lacks {missing}; found {header[:12]}", field=missing[0]
        )
    seen: set[str] = set()
    for column in header:
        if column.lower() in seen:
            raise SourceFormatError(name, "the header names this column twice", column)
        seen.add(column.lower())
    return header


def _csv_error(name: str, exc: Exception, header: list[str]) -> SourceFormatError:
    """A pyarrow CSV error as a SourceFormatError naming the column it mentions (if any)."""
    text = str(exc)
    match = _COLUMN_NO.search(text)
    column = None
    if match and int(match.group(1)) < len(header):
        column = header[int(match.group(1))]
    if len(text) > 300:
        text = text[:300] + " ..."
    return SourceFormatError(name, f"malformed SDMX-CSV: {text}", column)


def _check_finite(values: pa.ChunkedArray, name: str) -> None:
    """OBS_VALUE must be a number: refuse ``nan``, ``inf`` and overflowing numbers (``1e999``)."""
    bad = pc.invert(pc.is_finite(values))
    if pc.any(bad).as_py():
        example = values.filter(bad)[0].as_py()
        raise SourceFormatError(name, f"OBS_VALUE must be a finite number, found {example!r}", "OBS_VALUE")


# -- string table (Comext) ----------------------------------------------------------------------------


def parse(data: bytes, name: str) -> pa.Table:
    """Parse SDMX-CSV 1.0 bytes (already decompressed) into a table of strings plus float ``OBS_VALUE``.

    All columns are read as strings except ``OBS_VALUE`` (float64; an empty cell is null, a ``0`` stays
    0). ``OBS_FLAG`` and ``CONF_STATUS`` (post-2025 files) are kept when present; a missing ``OBS_FLAG``
    column becomes all-null.
    """
    header = header_columns(data[:HEAD_BYTES], name)
    types = {c: pa.string() for c in header}
    types["OBS_VALUE"] = pa.float64()
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(use_threads=True, block_size=1 << 22),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                strings_can_be_null=False,
                null_values=[""],
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise _csv_error(name, exc, header) from exc
    if table.num_rows == 0:
        return table
    _check_finite(table["OBS_VALUE"], name)
    if "OBS_FLAG" not in table.column_names:
        table = table.append_column("OBS_FLAG", pa.nulls(table.num_rows, pa.string()))
    # An empty flag is "no flag": null, not "".
    flag = table["OBS_FLAG"]
    table = table.set_column(
        table.column_names.index("OBS_FLAG"), "OBS_FLAG", pc.if_else(pc.equal(flag, ""), None, flag)
    )
    return table


def merge_conf_status(obs_flag: pa.ChunkedArray, conf_status: pa.ChunkedArray) -> pa.Array:
    """Fold the post-2025 CONF_STATUS (C/N/P = not disclosed) into the flag as ``c``."""
    obs = pd.Series(obs_flag.to_pandas(), dtype=object).fillna("")
    conf = pd.Series(conf_status.to_pandas(), dtype=object).fillna("").str.strip()
    undisclosed = conf.isin(list(UNDISCLOSED)) & ~obs.str.contains(CONFIDENTIAL, regex=False)
    merged = obs.where(~undisclosed, obs + CONFIDENTIAL)
    return pa.array(merged.where(merged != "", None), type=pa.string())


# -- periods ----------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _period_start(text: str) -> tuple[np.datetime64, bool] | None:
    """(first day, monthly?) of one SDMX period, or None if it is not YYYY / YYYY-MM of a real month."""
    match = _PERIOD.fullmatch(text)
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2) or 1)
    if year == 0 or not 1 <= month <= 12:
        return None
    return np.datetime64(f"{year:04d}-{month:02d}-01", "s"), match.group(2) is not None


def period_starts(values: Iterable, name: str, field: str = "TIME_PERIOD") -> tuple[np.ndarray, np.ndarray]:
    """First day (``datetime64[s]``) and monthly shape (bool) of each distinct SDMX period string.

    ``YYYY-MM`` is monthly, ``YYYY`` annual; the year must be 0001..9999 and the month 01..12.
    Anything else (``2021-13``, ``2021-02-30``, ``0000-01``, ``2023M03``) raises
    :class:`SourceFormatError` naming `field` and up to five of the offending values.
    """
    values = list(values)
    parsed = [_period_start(v) if isinstance(v, str) else None for v in values]
    bad = [v for v, p in zip(values, parsed, strict=True) if p is None]
    if bad:
        raise SourceFormatError(name, f"unreadable periods {bad[:5]}; expected YYYY or YYYY-MM", field)
    checked = [p for p in parsed if p is not None]  # all of them: none is bad
    starts = np.array([p[0] for p in checked], dtype="datetime64[s]")
    monthly = np.array([p[1] for p in checked], dtype=bool)
    return starts, monthly


def check_period_shape(monthly: np.ndarray, freq: np.ndarray, periods: Sequence, name: str) -> None:
    """Refuse a monthly period under freq ``A`` or an annual one under ``M`` (one entry per row).

    `monthly` is the shape of each row's period, `freq` its frequency code, `periods` its period text
    (for the message).
    """
    mismatch = np.flatnonzero((freq == "M") != monthly)
    if mismatch.size:
        i = mismatch[0]
        raise SourceFormatError(
            name, f"{mismatch.size} periods do not match their freq, e.g. {periods[i]!r} with freq "
            f"{freq[i]!r} (M needs YYYY-MM, A needs YYYY)", "TIME_PERIOD")


def parse_periods(period: pd.Series, freq: pd.Series, name: str) -> pd.Series:
    """Parse SDMX periods (``2023-07`` monthly, ``2021`` annual) to the first day, vectorized."""
    uniques, inverse = np.unique(period.astype(str).to_numpy(), return_inverse=True)
    starts, monthly = period_starts(uniques, name)
    check_period_shape(monthly[inverse], freq.astype(str).to_numpy(), period.to_numpy(), name)
    return pd.Series(starts[inverse], index=period.index)


# -- coded table (Eurostat) ---------------------------------------------------------------------------


@dataclass
class Coded:
    """A long table of observations with every string column as codes into its distinct values.

    ``columns[c] = (codes, values)``: ``values`` is an object array of distinct strings, ``codes`` an
    integer array with one entry per row (``values[codes]`` is the column; -1 is a missing cell).
    ``value`` is the float observation (NaN where missing). Keys of ``columns`` are the source's column
    names (``TIME_PERIOD``, ``OBS_FLAG`` ... and the dimensions).
    """

    rows: int
    columns: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    value: np.ndarray = field(default_factory=lambda: np.empty(0))
    #: Columns kept only as their distinct values (``DATAFLOW``, ``LAST UPDATE``: one value each).
    distinct: dict[str, list] = field(default_factory=dict)

    def used(self, column: str) -> list:
        """The distinct values of `column` (each occurs at least once: the readers keep no others)."""
        if column in self.distinct:
            return list(self.distinct[column])
        return list(self.columns[column][1])

    def strings(self, column: str, at: np.ndarray | None = None) -> np.ndarray:
        """The column as an object array of strings (None where missing), at rows `at` (all if None)."""
        codes, values = self.columns[column]
        if at is not None:
            codes = codes[at]
        out = np.append(values.astype(object), [None])  # index -1 -> None
        return out[codes]


class _Inflated(io.RawIOBase):
    """The text of a gzip stream (concatenated members allowed), inflated as pyarrow's CSV reader asks
    for it (by ISA-L through :func:`oilflows._io.gzip_chunks` when package isal is installed, else
    by pyarrow's zlib, which is faster than Python's), and counted against the decompression limit.

    Any problem (corrupt or truncated stream, trailing bytes, output past `limit`) raises
    :class:`_StreamProblem`; the caller then lets :func:`oilflows._io.gunzip_if_needed` name it.
    With a `needle`, :attr:`found` counts its occurrences in the text as it passes, until a ``"`` at
    or after offset `after` is seen (:attr:`quoted`; the count is then abandoned).
    """

    def __init__(self, data: bytes, limit: int, needle: bytes | None = None, after: int = 0):
        self._stream = None if FAST_INFLATE else pa.CompressedInputStream(pa.BufferReader(data), "gzip")
        self._chunks = gzip_chunks(data, "") if FAST_INFLATE else None
        self._chunk, self._at = b"", 0  # the last chunk inflated (ISA-L: 1 MiB) and how much is returned
        self._total = 0
        self._limit = limit
        self._needle = needle
        self._tail = b""  # the last len(needle) - 1 bytes read: an occurrence may straddle two reads
        self.found = 0
        self.quoted = False
        self._after = after

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        """Up to `size` bytes; fewer only at the end (pyarrow takes a short read as the end)."""
        size = (1 << 62) if size is None or size < 0 else size
        parts = []
        got = 0
        while got < size:
            chunk = self._next(min(size - got, 1 << 26))
            if not chunk:
                break
            self._total += len(chunk)
            if self._total > self._limit:
                raise _OverLimit(self._total)
            if self._needle:
                keep = len(self._needle) - 1
                self.found += (self._tail + chunk[:keep]).count(self._needle) + chunk.count(self._needle)
                self._tail = (self._tail + chunk[-keep:])[-keep:]
                if chunk.find(b'"', max(self._after - self._total + len(chunk), 0)) >= 0:
                    self.quoted, self._needle = True, None
            parts.append(chunk)
            got += len(chunk)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _next(self, size: int) -> bytes:
        """Up to `size` bytes of text (none at the end): :class:`_StreamProblem` for a bad stream."""
        if self._stream is not None:
            try:
                return self._stream.read(size)
            except OSError as exc:  # pyarrow's zlib: "Truncated compressed stream", "incorrect data check"
                raise _StreamProblem from exc
        assert self._chunks is not None
        if self._at >= len(self._chunk):
            try:
                self._chunk, self._at = next(self._chunks, b""), 0
            except SourceFormatError as exc:  # truncated, corrupt, trailing bytes
                raise _StreamProblem from exc
        start, self._at = self._at, min(self._at + size, len(self._chunk))
        if start == 0 and self._at == len(self._chunk):
            return self._chunk  # the usual case (pyarrow asks for blocks of MiBs): no copy
        return self._chunk[start:self._at]

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)


class _StreamProblem(Exception):
    """Internal: the gzip stream could not be inflated as it was read."""


class _OverLimit(_StreamProblem):
    """Internal: the gzip stream inflates past the limit (args: the bytes produced so far)."""


def _block_size(data: bytes) -> int:
    """A pyarrow block size for `data` (see :data:`BLOCKS`), from its (estimated) decompressed size."""
    size = len(data)
    if data.startswith(GZIP_MAGIC):  # ISIZE, the size modulo 2**32, estimates the text's size
        isize = int.from_bytes(data[-4:], "little")
        size = isize if isize >= size else 17 * size
    return int(min(max(size // BLOCKS, MIN_BLOCK_BYTES), MAX_BLOCK_BYTES))


def _read_table(source: pa.NativeFile | io.RawIOBase, header: list[str], name: str, block_size: int,
                skip: int = 0) -> pa.Table:
    """pyarrow's parse of the CSV text `source` (every column but OBS_VALUE dictionary-encoded),
    without the first `skip` columns of `header` (their cells are still counted, not converted)."""
    types = {c: _DICT for c in header}
    types["OBS_VALUE"] = pa.float64()
    try:
        return pacsv.read_csv(
            source,
            read_options=pacsv.ReadOptions(use_threads=True, block_size=block_size),
            convert_options=pacsv.ConvertOptions(
                column_types=types, strings_can_be_null=False, null_values=[""],
                quoted_strings_can_be_null=False, include_columns=header[skip:] if skip else None,
            ),
        )
    except pa.ArrowException as exc:
        if isinstance(exc, OSError) and not isinstance(source, pa.BufferReader):
            raise _StreamProblem from exc
        raise _csv_error(name, exc, header) from exc


def parse_coded(data: bytes, name: str) -> Coded:
    """Parse SDMX-CSV 1.0 bytes (plain or gzip) into a :class:`Coded` table.

    Every column except ``OBS_VALUE`` is read dictionary-encoded (the file's few distinct codes, and
    one integer per row); ``OBS_VALUE`` as float64 (empty -> NaN; ``nan``/``inf`` are refused). gzip
    is inflated once, block by block while pyarrow parses, within both decompression limits of
    :mod:`oilflows._io` (absolute and compression ratio). Leading columns of
    :data:`CONSTANT_LEADERS` that every record repeats are read once, from the first record (the
    result is the same as a full parse's). An empty ``OBS_FLAG`` or ``CONF_STATUS`` cell is missing
    (code -1), and a file without ``OBS_FLAG`` gets an all-missing one.

    Raises
    ------
    SourceFormatError
        Corrupt or truncated gzip, a header that is not SDMX-CSV 1.0, a row with the wrong number of
        fields, text that is not UTF-8, a non-numeric ``OBS_VALUE`` (naming the column).
    DecompressionLimitError
        gzip that inflates past either limit (also when its header or rows are unreadable).
    """
    compressed = data.startswith(GZIP_MAGIC)
    try:
        text = head(data, name)
        header = header_columns(text, name)
    except SourceFormatError:
        if compressed:  # a bomb (or a corrupt stream) is named as such, not by its unreadable header
            check_gzip(data, name)
        raise
    leading = _leading_constants(header, text)
    table, found, data = _parse(data, header, name, leading)
    if leading and found != table.num_rows:  # a record differs in a leading column (or has a quoted
        leading = None  # cell, which may hold a line break): read them all
        table, found, data = _parse(data, header, name, None)
    coded = Coded(rows=table.num_rows)
    if table.num_rows == 0:
        return coded
    coded.value = table["OBS_VALUE"].to_numpy()
    # an empty cell is null (NaN here): a NaN or infinity that is not one is a bad cell
    if np.count_nonzero(~np.isfinite(coded.value)) != table["OBS_VALUE"].null_count:
        _check_finite(table["OBS_VALUE"], name)
    # pyarrow builds each block's dictionary from the values it saw: combined (one chunk, the
    # dictionaries unified) every value of a column's dictionary occurs in it.
    table = table.drop_columns(["OBS_VALUE"]).combine_chunks()
    for column, value in zip(header, leading[1] if leading else [], strict=False):
        if column in ("DATAFLOW", "LAST UPDATE"):
            coded.distinct[column] = [value]
        else:
            coded.columns[column] = (np.zeros(table.num_rows, dtype=np.int32), np.array([value], object))
    for column in table.column_names:
        (chunk,) = table[column].chunks
        values = chunk.dictionary.to_numpy(zero_copy_only=False).astype(object)
        if column in ("DATAFLOW", "LAST UPDATE"):
            coded.distinct[column] = list(values)
            continue
        codes = chunk.indices.to_numpy(zero_copy_only=False)
        if column in ("OBS_FLAG", "CONF_STATUS"):
            codes, values = _empty_is_missing(codes, values)
        coded.columns[column] = (codes, values)
    if "OBS_FLAG" not in coded.columns:
        coded.columns["OBS_FLAG"] = (np.full(table.num_rows, -1, dtype=np.int32), np.empty(0, object))
    return coded


#: Columns that may lead the header and hold one value in every record (Eurostat: ``DATAFLOW``,
#: ``LAST UPDATE`` and ``freq``): when every record starts with the first record's cells of these,
#: they are read once, from the first record, and pyarrow skips them (about 15 % of its work).
CONSTANT_LEADERS = ("DATAFLOW", "LAST UPDATE", "freq", "FREQ")


def _leading_constants(header: list[str], text: bytes) -> tuple[bytes, list[str], int] | None:
    """``(b"\\n" + the first record's leading cells with their commas, [those cells], the offset of
    the first record)`` for the header's leading columns of :data:`CONSTANT_LEADERS`, from the
    head `text`; None when there is none or the first record does not give them plainly (quoted, not
    UTF-8, not complete in `text`).

    A record starts with these bytes exactly when its leading cells are the first record's. Where no
    record has a quoted cell, pyarrow ends a record at every ``\\n`` (and nowhere else but at ``\\r``),
    so the needle occurs exactly once per record when every record repeats the leading cells, and
    fewer times otherwise. :func:`_parse` counts both.
    """
    count = 0
    while count < len(header) and header[count] in CONSTANT_LEADERS:
        count += 1
    lines = text.split(b"\n", 2)
    if count == 0 or len(lines) < 3:  # no leading constants, or no complete first record in the head
        return None
    cells = lines[1].split(b",", count)
    if len(cells) <= count:
        return None
    prefix = b",".join(cells[:count]) + b","
    if b'"' in prefix or b"\r" in prefix:
        return None
    try:
        values = [cell.decode("utf-8") for cell in cells[:count]]
    except UnicodeDecodeError:
        return None
    return b"\n" + prefix, values, len(lines[0]) + 1


def _parse(data: bytes, header: list[str], name: str,
           leading: tuple[bytes, list[str], int] | None) -> tuple[pa.Table, int, bytes]:
    """pyarrow's table of `data` (plain or gzip, inflated once as it is parsed, within both limits of
    :mod:`oilflows._io`) without the `leading` columns; the number of records that start with the
    leading cells (-1 if a record has a quote character: then it is not known); and the data
    (inflated here if the stream could not be read as it went)."""
    block = _block_size(data)
    needle, skip, after = (leading[0], len(leading[1]), leading[2]) if leading else (None, 0, 0)
    if not data.startswith(GZIP_MAGIC):
        table = _read_table(pa.BufferReader(data), header, name, block, skip)
        if not needle:
            return table, 0, data
        return table, data.count(needle) if data.find(b'"', after) < 0 else -1, data
    stream = _Inflated(data, gzip_limits(len(data)), needle, after)
    try:
        table = _read_table(stream, header, name, block, skip)
        return table, -1 if stream.quoted else stream.found, data
    except _OverLimit as exc:  # said at once: inflating it again to name the problem is the bomb
        raise gzip_limit_error(name, exc.args[0], len(data)) from None
    except _StreamProblem:
        text = gunzip_if_needed(data, name)  # raises the typed error (truncation, CRC ...)
        return _parse(text, header, name, leading)
    except SourceFormatError:  # pyarrow stopped at a bad row: a bomb or corrupt stream comes first
        check_gzip(data, name)
        raise


def _empty_is_missing(codes: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Recode the empty string (after stripping blanks) as missing (-1)."""
    empty = np.array([not str(v).strip() for v in values], dtype=bool)
    if not empty.any():
        return codes, values
    recode = np.where(empty, -1, np.cumsum(~empty) - 1).astype(codes.dtype)
    return np.take(recode, codes), values[~empty]


def coded_from_frame(frame: pd.DataFrame, value: str = "value") -> Coded:
    """A :class:`Coded` table from a long pandas frame (strings; `value` float): factorized columns."""
    coded = Coded(rows=len(frame))
    coded.value = pd.to_numeric(frame[value], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    for column in frame.columns:
        if column == value:
            continue
        series = frame[column].astype(object)
        series = series.where(series.notna() & (series.astype(str).str.strip() != ""), None)
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        coded.columns[column] = (codes.astype(np.int64), np.asarray(uniques, dtype=object))
    return coded


def check_codes(coded: Coded, columns: Iterable[str], name: str) -> None:
    """Every cell of `columns` is an SDMX code (letters, digits, ``_-@$``); else SourceFormatError."""
    for column in columns:
        codes, values = coded.columns[column]
        if (codes < 0).any():
            raise SourceFormatError(name, "a cell is empty; every observation needs a code here", column)
        bad = [v for v in values if not isinstance(v, str) or not _CODE.fullmatch(v)]
        if bad:
            raise SourceFormatError(name, f"not SDMX codes: {bad[:5]}", column)


def check_flags(values: Iterable, name: str, column: str = "OBS_FLAG") -> None:
    """Every observation status is letters only (``c``, ``b``, ``bc``, ``p``); else SourceFormatError."""
    bad = [v for v in values if v is not None and not _FLAG.fullmatch(str(v))]
    if bad:
        raise SourceFormatError(name, f"unreadable observation status {bad[:5]}; expected letters",
                                column)


def merged_flags(flag_codes: np.ndarray, flag_values: np.ndarray, conf_codes: np.ndarray | None,
                 conf_values: np.ndarray | None, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Fold CONF_STATUS into the flag, on codes: (flag codes, flag values) with ``c`` where undisclosed.

    Without CONF_STATUS (`conf_codes` None) the flag is returned unchanged. A CONF_STATUS that is not
    one of :data:`CONF_STATUS_CODES` raises SourceFormatError.
    """
    if conf_codes is None:
        return flag_codes, flag_values
    assert conf_values is not None  # CONF_STATUS has both its codes and its values
    conf = [str(v).strip() for v in conf_values]
    unknown = sorted(set(conf) - set(CONF_STATUS_CODES))
    if unknown:
        raise SourceFormatError(name, f"unknown confidentiality status {unknown[:5]}; expected "
                                f"{list(CONF_STATUS_CODES[1:])} or empty", "CONF_STATUS")
    n_flag, n_conf = len(flag_values) + 1, len(conf) + 1  # +1: the missing code -1, stored last
    combo = (flag_codes % n_flag).astype(np.int64) * n_conf + conf_codes % n_conf
    table = []
    for f in range(n_flag):
        obs = "" if f == n_flag - 1 else str(flag_values[f])
        for c in range(n_conf):
            undisclosed = c < n_conf - 1 and conf[c] in UNDISCLOSED
            table.append(obs + CONFIDENTIAL if undisclosed and CONFIDENTIAL not in obs else obs)
    values, inverse = np.unique(np.array(table, dtype=object), return_inverse=True)
    lut = inverse.astype(np.int64)
    empty = values == ""
    if empty.any():
        keep = np.cumsum(~empty) - 1
        lut = np.where(empty[lut], -1, keep[lut])
        values = values[~empty]
    return lut[combo], values

__all__ = ["CONF_STATUS_CODES", "HEAD_BYTES", "REQUIRED", "UNDISCLOSED", "Coded", "check_codes",
           "check_flags", "check_period_shape", "coded_from_frame", "head", "header_columns",
           "merge_conf_status", "merged_flags", "parse", "parse_coded", "parse_periods",
           "period_starts"]
