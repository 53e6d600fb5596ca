"""Comext bulk files (``full_v2_YYYYMM.7z`` or the CSV inside): :func:`read_bulk` and :func:`iter_bulk`,
over the bounded-memory streaming of :mod:`oilflows.sources._comext_stream`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from .._io import (
    compression_ratio_limit,
)
from ..errors import QueryError, SourceFormatError
from ._comext_api import _flows
from ._comext_parse import _to_canonical, sum_cn8
from ._comext_stream import (
    BULK_COLUMNS,
    DEFAULT_CHUNK_ROWS,
    MAX_UNCOMPRESSED_BYTES,
    BulkFilters,
    bulk_schema,
    stream_batches,
)

#: ``PERIOD`` month ``52`` is the annual total.
ANNUAL_MONTH = "52"


def read_bulk(
    path: str | os.PathLike,
    chapters: Sequence[str] | None = ("27",),
    products: Sequence[str] | None = None,
    *,
    reporters: Sequence[str] | None = None,
    partners: Sequence[str] | None = None,
    flows: Sequence[str | int] | None = None,
    stat_procedures: Sequence[str | int] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    combine_cn8: bool = False,
    vintage: str | pd.Timestamp | None = None,
    max_uncompressed_bytes: int | None = MAX_UNCOMPRESSED_BYTES,
    max_compression_ratio: float | None = None,
) -> pd.DataFrame:
    """Read a Comext bulk file into the canonical frame, streaming and keeping only the wanted rows.

    Memory stays bounded whatever the file size: the file is read in blocks of about
    ``chunk_rows * BULK_ROW_BYTES`` bytes (25 MB by default), rows are selected on the raw bytes of
    their product code, and only the rows kept are parsed; only those are held until the end (so memory
    grows with the rows kept: chapter 27 is about 1 % of a month). Every line's field count is checked;
    the other columns only of the rows kept.

    Parameters
    ----------
    path : path
        ``full_v2_YYYYMM.7z`` (needs ``py7zr``: ``pip install 'oilflows[comext]'``; the data member is
        decompressed as a stream, never written to disk), or the CSV inside it (``full_YYYYMM.dat`` or
        ``.csv``), plain or gzip.
    chapters : sequence of str, optional
        Keep product codes starting with one of these (CN chapters ``"27"``, headings ``"2709"``);
        None keeps every chapter.
    products : sequence of str, optional
        Keep only these exact product codes (e.g. :data:`CRUDE_CN8`); each must lie in `chapters`.
    reporters, partners : sequence of str, optional
        Keep only these ISO-2 codes (``EL``/``UK`` are also matched as ``GR``/``GB`` and back).
    flows : sequence, optional
        ``"import"``/``"export"`` or ``1``/``2``.
    stat_procedures : sequence, optional
        Keep only these statistical procedures (``1`` normal, ``2`` inward, ``3`` outward processing,
        ``9`` not from customs); by default all are summed, as in DS-045409 [U].
    chunk_rows : int
        Most lines examined, and rows parsed, at a time (rows); sets the read block to about
        ``chunk_rows * BULK_ROW_BYTES`` bytes.
    combine_cn8 : bool
        Sum the crude-oil CN8 codes into one row per key (:func:`sum_cn8`).
    vintage : str or Timestamp, optional
        The release stamp to record (the files carry none); null by default.
    max_uncompressed_bytes : int or None
        Decompression limit, bytes (default :data:`MAX_UNCOMPRESSED_BYTES`, 8 GiB): a ``.7z`` whose
        member declares more is refused before decompressing, and a ``.7z`` or gzip stream that produces
        more is stopped (:class:`DecompressionLimitError`). None disables the limit.
    max_compression_ratio : float, optional
        Most times a ``.7z`` member or gzip stream may be larger than its file (above 1 MiB); default
        ``$OILFLOWS_MAX_COMPRESSION_RATIO`` or :data:`oilflows._io.MAX_COMPRESSION_RATIO` (200; a month
        is about 9 times its archive), ``math.inf`` turns it off. Checked like the limit above.

    Returns
    -------
    pandas.DataFrame
        The canonical frame: one row per reporter, partner, product, flow and period (trade types and
        statistical procedures summed); ``value`` in EUR, ``mass_t`` in tonnes (the file's kg / 1000);
        no flags.

    Raises
    ------
    SourceFormatError
        Naming the file (``archive!member`` for a 7z) and, where one is at fault, the column: an HTML
        page, an empty file or one with a header and no data line, a header without the bulk columns (or
        not comma-separated), a line longer than :data:`MAX_LINE_BYTES` or without the product field, a
        truncated last line or archive, a non-numeric measure, an impossible period, an unknown flow.
        :class:`DecompressionLimitError` (a subclass) for the limits above.
    QueryError
        Bad arguments (checked before the file is opened).
    """
    batches = list(iter_bulk(path, chapters, products, reporters=reporters, partners=partners, flows=flows,
                             stat_procedures=stat_procedures, chunk_rows=chunk_rows,
                             max_uncompressed_bytes=max_uncompressed_bytes,
                             max_compression_ratio=max_compression_ratio))
    schema = bulk_schema()
    table = pa.Table.from_batches(batches, schema=schema) if batches else schema.empty_table()
    name = str(path)
    canonical = _to_canonical(_bulk_to_frame(table, name), None if vintage is None else pd.Timestamp(vintage),
                              name)
    return sum_cn8(canonical) if combine_cn8 else canonical


def iter_bulk(
    path: str | os.PathLike,
    chapters: Sequence[str] | None = ("27",),
    products: Sequence[str] | None = None,
    *,
    reporters: Sequence[str] | None = None,
    partners: Sequence[str] | None = None,
    flows: Sequence[str | int] | None = None,
    stat_procedures: Sequence[str | int] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    max_uncompressed_bytes: int | None = MAX_UNCOMPRESSED_BYTES,
    max_compression_ratio: float | None = None,
) -> Iterator[pa.RecordBatch]:
    """Stream a bulk file: filtered record batches, each parsed from at most `chunk_rows` kept lines.

    Arguments as in :func:`read_bulk` (checked at once: :class:`QueryError`; the file is opened at the
    first ``next``). The batches have the columns named by the roles of :data:`BULK_COLUMNS`
    (``reporter``, ``partner``, ``trade_type``, ``product``, ``flow``, ``stat_procedure``, ``period`` as
    text; ``value_eur`` in EUR and ``quantity_kg`` in kg as float64, empty cells null) with the file's
    raw codes, whatever the layout (v1 or v2). Kept lines of successive blocks are gathered until
    `chunk_rows` would be exceeded, so a batch never holds more than `chunk_rows` rows; blocks without a
    wanted row yield nothing. Closing the iterator early stops a 7z decompression thread.

    The checksum of a 7z member (and of a gzip stream) is verified when its end is reached: a damaged
    archive raises :class:`SourceFormatError` then, possibly after some batches were yielded;
    :func:`read_bulk` returns nothing in that case.
    """
    if chunk_rows < 1:
        raise QueryError(f"comext bulk: chunk_rows must be >= 1, got {chunk_rows}")
    if max_uncompressed_bytes is not None and max_uncompressed_bytes < 1:
        raise QueryError(f"comext bulk: max_uncompressed_bytes must be >= 1 or None, got "
                         f"{max_uncompressed_bytes}")
    try:
        compression_ratio_limit(max_compression_ratio)
    except ValueError as exc:
        raise QueryError(f"comext bulk: max_compression_ratio: {exc}") from None
    chapters = None if chapters is None else tuple(str(c) for c in chapters)
    products = None if products is None else tuple(str(p) for p in products)
    if chapters is not None and products is not None:
        outside = [p for p in products if not p.startswith(chapters)]
        if outside:
            raise QueryError(f"comext bulk: products {outside} are not in chapters {list(chapters)}")
    filters = BulkFilters(
        chapters=chapters, products=products,
        reporters=_with_eurostat_spellings(reporters), partners=_with_eurostat_spellings(partners),
        flows=None if flows is None else _flows(flows),
        stat_procedures=None if stat_procedures is None else tuple(str(s) for s in stat_procedures),
    )
    return stream_batches(Path(path), filters, chunk_rows, max_uncompressed_bytes, max_compression_ratio)


def _with_eurostat_spellings(values: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if values is None:
        return None
    values = [values] if isinstance(values, str) else list(values)
    spelled = {v.upper() for v in values}
    other = {"GR": "EL", "GB": "UK", "EL": "GR", "UK": "GB"}
    spelled |= {other[v] for v in spelled if v in other}
    return tuple(sorted(spelled))


def _bulk_to_frame(table: pa.Table, name: str) -> pd.DataFrame:
    """Filtered raw bulk rows -> freq, reporter, partner, product, flow, period, value, mass_t, flag,
    summed over trade types and statistical procedures."""
    frame = table.to_pandas()
    if frame.empty:
        return pd.DataFrame(columns=["freq", "reporter", "partner", "product", "flow", "period", "value",
                                     "mass_t", "flag"])
    keys = ["reporter", "partner", "product", "flow", "period"]
    for key in keys:
        frame[key] = frame[key].astype(str).str.strip()
    grouped = frame.groupby(keys, sort=True)
    summed = grouped[["value_eur", "quantity_kg"]].sum(min_count=1).reset_index()
    freq, period = _bulk_periods(summed["period"], name)
    return pd.DataFrame({
        "freq": freq, "reporter": summed["reporter"], "partner": summed["partner"],
        "product": summed["product"], "flow": summed["flow"], "period": period,
        "value": summed["value_eur"], "mass_t": summed["quantity_kg"] / 1000.0, "flag": None,
    })


def _bulk_periods(period: pd.Series, name: str) -> tuple[np.ndarray, pd.Series]:
    """``YYYYMM`` -> ("M", first of month); ``YYYY52`` -> ("A", 1 January)."""
    uniques, inverse = np.unique(period.to_numpy(dtype=str), return_inverse=True)
    freqs, stamps, bad = [], [], []
    for text in uniques:
        month = text[4:]
        if re.fullmatch(r"\d{6}", text) and month == ANNUAL_MONTH:
            freqs.append("A")
            stamps.append(pd.Timestamp(year=int(text[:4]), month=1, day=1))
        elif re.fullmatch(r"\d{6}", text) and 1 <= int(month) <= 12:
            freqs.append("M")
            stamps.append(pd.Timestamp(year=int(text[:4]), month=int(month), day=1))
        else:
            bad.append(text)
    if bad:
        raise SourceFormatError(name, f"unreadable periods {bad[:5]}; expected YYYYMM (or YYYY52)",
                                BULK_COLUMNS["period"])
    freq = np.array(freqs, dtype=object)[inverse]
    stamp = pd.Series(pd.DatetimeIndex(stamps)[inverse], index=period.index).astype("datetime64[s]")
    return freq, stamp


__all__ = ["ANNUAL_MONTH", "iter_bulk", "read_bulk"]
