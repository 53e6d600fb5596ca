"""Eurostat energy statistics (nrg_ti_coifpm, nrg_ti_oilm, nrg_ti_oil): ``read`` files, ``fetch`` the API.

``fetch(dataset, *, reporter=None, partner=None, product=None, start=None, end=None, base_url=None,
**dimensions)`` is the fetch signature of every source (docs/fetching.md): `dataset` is the dataset code,
reporter/partner/product map to ``geo``/``partner``/``siec``, too-big queries are split.

Formats: SDMX-CSV 1.0 (plain or gzip; with or without the ``CONF_STATUS`` column Eurostat added in
January 2025) and JSON-stat 2.0 (the statistics API). Both become the canonical frame.

Eurostat quirks handled here and nowhere else:
- ``EL`` is Greece (GR) and ``UK`` the United Kingdom (GB); ``TOTAL`` is the total over all partners
  (WORLD).
- nrg_ti_coifpm has no partner dimension: the partner is the prefix of the ``crudeoil`` code, which is
  not always ISO (see :data:`oilflows.codes.COIFPM_PREFIX`); the full code is kept as ``grade``.
- nrg_ti_coifpm is long in indicators (``indic_nrg``); they become measure columns of one row
  (thousands multiplied out). ``COMP_NR`` (number of importing companies) is not kept.
- Flags: before 27 Jan 2025 ``c`` in ``OBS_FLAG`` marks a confidential cell; from then on
  ``CONF_STATUS`` (``C``, ``N``, ``P``) does. Either way the canonical ``flag`` contains ``c`` and the
  value is null, never 0. Other flags are kept as the source wrote them (``b``, ``e``, ``p``, ...).
  ``flag`` is the flag of the row's quantity (volume for nrg_ti_coifpm, mass for nrg_ti_oil(m)).
- ``vintage`` is the release stamp (``LAST UPDATE`` in SDMX-CSV, ``updated`` in JSON-stat), as
  Luxembourg wall-clock time without a time zone, so both formats give the same stamp for one release.

Speed: both formats become a :class:`~oilflows.formats.sdmx_csv.Coded` table (integer codes into each
column's few distinct values); codes are mapped, checked and parsed once per distinct value, and the
indicators are pivoted with numpy group numbers (no sort of the rows), so no Python work is done per
row. gzip is inflated once, as pyarrow parses; constant leading columns (``DATAFLOW``, ``LAST UPDATE``,
``freq``) are read from the first record; the text columns are built in a second thread while the
measures are computed. Timings against pyarrow's bare parse of the same file are in
``benchmarks/bench_ingest.py`` (``docs/performance.md``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NoReturn

import numpy as np
import pandas as pd
import pyarrow as pa

from .. import codes
from .._io import Source, gunzip_if_needed, markup_title, read_bytes, sniff_text_kind
from ..errors import FetchError, SourceFormatError, UnknownDatasetError
from ..formats import jsonstat, sdmx_csv
from ..schema import CONFIDENTIAL, SCHEMA
from ._eurostat_api import get_data
from ._fetch import Budget, TooBig, check_periods, fetch_split, halve_periods


@dataclass(frozen=True)
class Dataset:
    """What oilflows knows of one Eurostat dataset."""

    code: str
    dims: tuple[str, ...]  # dimension ids in DSD order, without time
    freq: str
    title: str


#: The datasets oilflows reads, with their dimensions in DSD order (SDMX key order).
DATASETS: dict[str, Dataset] = {
    "nrg_ti_coifpm": Dataset(
        "nrg_ti_coifpm", ("freq", "crudeoil", "indic_nrg", "geo"), "M",
        "Crude oil imports and prices by field of origin - monthly data",
    ),
    "nrg_ti_oilm": Dataset(
        "nrg_ti_oilm", ("freq", "siec", "partner", "unit", "geo"), "M",
        "Imports of oil and petroleum products by partner country - monthly data",
    ),
    "nrg_ti_oil": Dataset(
        "nrg_ti_oil", ("freq", "siec", "partner", "unit", "geo"), "A",
        "Imports of oil and petroleum products by partner country - annual data",
    ),
}

#: nrg_ti_coifpm indicators -> (canonical column, factor to base units). COMP_NR is dropped.
COIFPM_INDICATORS: dict[str, tuple[str, float]] = {
    "VOL_THS_BBL": ("volume_bbl", 1000.0),
    "VAL_THS_USD": ("value", 1000.0),
    "AVGPRC_USD_BBL": ("price_per_bbl", 1.0),
    "API_DEG": ("api_gravity", 1.0),
    "SULPH_PC": ("sulphur_pct", 1.0),
}
COIFPM_DROPPED = ("COMP_NR",)

#: nrg_ti_oil(m) units -> (canonical column, factor to base units).
OIL_UNITS: dict[str, tuple[str, float]] = {"THS_T": ("mass_t", 1000.0)}

_DATAFLOW = re.compile(r"^(?:[A-Z0-9_]+:)?([A-Za-z0-9_]+)(?:\(.*\))?$")


def dataset_info(dataset: str, source: str = "eurostat") -> Dataset:
    """The :class:`Dataset` for a code (case-insensitive); :class:`UnknownDatasetError` otherwise.

    `source` names where the code came from in the error message (e.g. the file being read).
    """
    info = DATASETS.get(dataset.lower())
    if info is None:
        raise UnknownDatasetError(dataset, sorted(DATASETS), source=source)
    return info


def read(src: Source, *, dataset: str | None = None, name: str | None = None) -> pd.DataFrame:
    """Read a Eurostat SDMX-CSV 1.0 file (plain or gzip) or JSON-stat 2.0 document.

    Parameters
    ----------
    src : path, bytes or binary file object
        The file as Eurostat serves it (e.g. ``nrg_ti_coifpm.csv.gz``).
    dataset : str, optional
        Dataset code; needed only if the file does not name it (JSON-stat without ``extension.id``).
        If given and the file names another dataset, :class:`SourceFormatError` is raised.
    name : str, optional
        Name used in error messages (defaults to the path).

    Returns
    -------
    pandas.DataFrame
        The canonical frame (:data:`oilflows.schema.SCHEMA`): volumes in barrels, masses in tonnes,
        values in USD; confidential cells null with flag ``c``. nrg_ti_coifpm rows are sorted by
        freq, crudeoil, geo and period (as codes); nrg_ti_oil(m) rows keep the file's order.

    Raises
    ------
    SourceFormatError
        The bytes are not a readable file of a known dataset: an HTML page, corrupt gzip, a header
        or rows that are not SDMX-CSV 1.0, text that is not UTF-8, a missing dimension, an extra
        column with more than one value, a non-numeric value, a cell that is not an SDMX code,
        an impossible period, a period that does not fit its freq, duplicate observations, two
        codes that mean the same country, a confidential cell with a quantity. The message names
        the file and, where one is to blame, the column.
    UnknownDatasetError
        The file holds a dataset oilflows does not read.
    """
    data, name = read_bytes(src, name)
    start = sdmx_csv.head(data, name)
    kind = sniff_text_kind(start)
    if kind == "markup":
        raise SourceFormatError(
            name, f"expected SDMX-CSV or JSON-stat, found an HTML/XML page: {markup_title(start)!r}"
        )
    if not start.strip():
        data = gunzip_if_needed(data, name)
        if not data.strip():
            raise SourceFormatError(name, "the file is empty")
    if kind == "json":
        long, found, vintage = _long_from_jsonstat(gunzip_if_needed(data, name), name)
    else:
        long, found, vintage = _long_from_sdmx_csv(data, name)
    if dataset is not None and found is not None and found != dataset.lower():
        raise SourceFormatError(name, f"file holds dataset {found!r}, not {dataset!r}", "DATAFLOW")
    code = found or (dataset.lower() if dataset else None)
    if code is None:
        raise SourceFormatError(name, "the file does not name its dataset; pass dataset=")
    info = dataset_info(code, source=name)
    _check_long(long, info, name)
    if info.code == "nrg_ti_coifpm":
        return _canonical_coifpm(long, vintage, name)
    return _canonical_oil(long, info, vintage, name)


# -- format -> long coded table (columns: dims..., period, flag[, conf_status]) ----------------------


def _long_from_sdmx_csv(data: bytes, name: str) -> tuple[sdmx_csv.Coded, str | None, pd.Timestamp | None]:
    # sdmx_csv inflates gzip itself, once, as pyarrow parses, within both limits of oilflows._io
    table = sdmx_csv.parse_coded(data, name)
    if table.rows == 0:
        raise SourceFormatError(name, "SDMX-CSV file has a header but no observations")
    dataflows = table.used("DATAFLOW")
    if len(dataflows) != 1:
        raise SourceFormatError(name, f"expected one dataflow, found {dataflows[:5]}", "DATAFLOW")
    match = _DATAFLOW.match(dataflows[0])
    if not match:
        raise SourceFormatError(name, f"unreadable dataflow {dataflows[0]!r}", "DATAFLOW")
    vintage = _vintage_from_last_update(table, name)
    renamed = {"TIME_PERIOD": "period", "OBS_FLAG": "flag", "CONF_STATUS": "conf_status"}
    long = sdmx_csv.Coded(rows=table.rows, value=table.value, distinct=table.distinct)
    for column, coded in table.columns.items():
        if column not in ("DATAFLOW", "LAST UPDATE"):
            long.columns[renamed.get(column, column.lower())] = coded
    return long, match.group(1).lower(), vintage


def _vintage_from_last_update(table: sdmx_csv.Coded, name: str) -> pd.Timestamp | None:
    if "LAST UPDATE" not in table.distinct:
        return None
    stamps = table.used("LAST UPDATE")
    if len(stamps) != 1:
        raise SourceFormatError(name, f"expected one LAST UPDATE, found {stamps[:5]}", "LAST UPDATE")
    try:
        return pd.to_datetime(stamps[0], format="%d/%m/%y %H:%M:%S")
    except ValueError as exc:
        raise SourceFormatError(
            name, f"LAST UPDATE {stamps[0]!r} is not DD/MM/YY HH:MM:SS", "LAST UPDATE"
        ) from exc


def _long_from_jsonstat(data: bytes, name: str) -> tuple[sdmx_csv.Coded, str | None, pd.Timestamp]:
    frame, meta = jsonstat.parse(data, name)
    if frame.empty:
        raise SourceFormatError(name, "JSON-stat dataset has no observations (empty 'value')", "value")
    extension = meta.get("extension") or {}
    found = extension.get("id")
    vintage = None
    if meta.get("updated"):
        try:
            vintage = pd.Timestamp(meta["updated"]).tz_localize(None)
        except (ValueError, TypeError) as exc:
            raise SourceFormatError(name, f"unreadable timestamp {meta['updated']!r}", "updated") from exc
    frame = frame.rename(columns={"time": "period", "status": "flag"})
    frame.columns = [c.lower() for c in frame.columns]
    if "flag" not in frame.columns:
        frame["flag"] = None
    # After 2025 Eurostat may send the confidentiality status "C" in place of the old "c".
    flag = frame["flag"].astype(object)
    frame["flag"] = flag.where(~flag.isin(list(sdmx_csv.UNDISCLOSED)), CONFIDENTIAL)
    found = str(found).lower() if found else None
    return sdmx_csv.coded_from_frame(frame, "value"), found, vintage


# -- long coded table -> canonical frame -----------------------------------------------------------


def _check_long(long: sdmx_csv.Coded, info: Dataset, name: str) -> None:
    """Columns, codes, flags, freq and periods of the long table, before any reshaping."""
    missing = [d for d in info.dims if d not in long.columns]
    if missing:
        raise SourceFormatError(
            name, f"{info.code} needs dimension columns {list(info.dims)}; missing {missing}", missing[0]
        )
    if "period" not in long.columns:
        raise SourceFormatError(name, f"{info.code} needs a time column", "TIME_PERIOD")
    for column in [*long.columns, *long.distinct]:
        if column in info.dims or column in ("period", "flag", "conf_status", "DATAFLOW", "LAST UPDATE"):
            continue
        used = long.used(column)
        if len(used) > 1:  # a dimension oilflows does not know would make keys ambiguous
            raise SourceFormatError(
                name, f"unexpected column with {len(used)} distinct values (e.g. {used[:3]}): the "
                f"layout of {info.code} changed (expected dimensions {list(info.dims)})", column)
    sdmx_csv.check_codes(long, info.dims, name)
    if (long.columns["period"][0] < 0).any():
        raise SourceFormatError(name, "a period is empty", "TIME_PERIOD")
    sdmx_csv.check_flags(long.used("flag"), name)
    bad = sorted(set(long.used("freq")) - {"M", "A"})
    if bad:
        raise SourceFormatError(name, f"unsupported frequencies {bad}", "freq")


def _ranks(values: np.ndarray) -> np.ndarray:
    """Position of each value in the sorted values (codes -> sort order of their strings)."""
    dtype = np.int32 if len(values) < 2**31 else np.int64
    ranks = np.empty(len(values), dtype=dtype)
    ranks[np.argsort(values.astype(str), kind="stable")] = np.arange(len(values), dtype=dtype)
    return ranks


def _group_ids(long: sdmx_csv.Coded, columns: tuple[str, ...]) -> tuple[np.ndarray, int]:
    """Group number of each row by `columns`, numbered in the sort order of the columns' strings.

    Works on codes only, column by column: the group number by the columns so far times the next
    column's number of values, plus the rank of the row's string in that column, is a key in sort
    order; it is renumbered densely (:func:`_renumber`) whenever the next product would be larger
    than a dense presence table may be, and at the end. So no sort of the rows is needed.
    """
    dense = max(2 * long.rows, 1 << 20)  # largest presence table: at most 10 bytes per row
    key: np.ndarray | None = None
    size = 1  # keys are 0 .. size-1
    for column in columns:
        codes, values = long.columns[column]
        radix = max(len(values), 1)
        if radix == 1:  # one value (freq "M"): adds nothing to the key
            continue
        ranks = _ranks(values)
        if key is None:
            key, size = np.take(ranks, codes), radix
            continue
        if size * radix > dense:
            key, size = _renumber(key, size, dense)
        if size * radix >= 2**31 and key.dtype != np.int64:
            key = key.astype(np.int64)
        key *= radix  # key is this function's own array
        key += np.take(ranks, codes)
        size *= radix
    if key is None:  # every column has one value
        return np.zeros(long.rows, dtype=np.int32), min(long.rows, 1)
    return _renumber(key, size, dense)


def _renumber(key: np.ndarray, size: int, dense: int) -> tuple[np.ndarray, int]:
    """Keys in ``0 .. size-1`` renumbered ``0 .. n-1`` in the same order (n distinct keys): with a
    presence table if `size` is at most `dense`, else with :func:`numpy.unique`."""
    if size > dense:
        uniques, inverse = np.unique(key, return_inverse=True)
        return inverse.reshape(-1).astype(np.int64 if len(uniques) >= 2**31 else np.int32), len(uniques)
    dtype = np.int32 if size < 2**31 else np.int64
    index = key.astype(np.intp, copy=False)  # numpy scatters and gathers with intp indices fastest
    present = np.zeros(size, dtype=bool)
    present[index] = True
    number: np.ndarray = np.cumsum(present, dtype=dtype)
    number -= 1
    out = key if key.dtype == number.dtype else None  # the caller's key is not used again
    return np.take(number, index, out=out, mode="clip"), int(number[-1]) + 1 if size else 0


def _duplicates(long: sdmx_csv.Coded, slots: np.ndarray, columns: tuple[str, ...], name: str) -> NoReturn:
    """Raise SourceFormatError for rows that share a slot (the same observation twice)."""
    counts = np.bincount(slots)
    twice = np.flatnonzero(counts[slots] > 1)
    example = {c: long.strings(c, twice[:1])[0] for c in columns}
    values = long.value[twice[:2]].tolist()
    raise SourceFormatError(
        name, f"{int((counts > 1).sum())} duplicate observations, e.g. {example} (values {values})",
        "OBS_VALUE")


def _mapped(long: sdmx_csv.Coded, column: str, table: dict[str, str], name: str) -> list[str]:
    """The column's distinct codes mapped through `table`; two used codes with one meaning raise."""
    _, values = long.columns[column]
    mapped = [table.get(v, v) for v in values]
    seen: dict[str, str] = {}
    for source in long.used(column):
        target = table.get(source, source)
        if target in seen:
            raise SourceFormatError(name, f"codes {seen[target]!r} and {source!r} both mean {target!r}",
                                    column)
        seen[target] = source
    return mapped


def _periods(long: sdmx_csv.Coded, at: np.ndarray, name: str) -> np.ndarray:
    """Period start (datetime64[s]) of rows `at`, checked against their freq."""
    period_codes, period_values = long.columns["period"]
    freq_codes, freq_values = long.columns["freq"]
    starts, monthly = sdmx_csv.period_starts(period_values, name)
    rows_period = period_codes[at]
    if len(freq_values) == 1 and (monthly == (freq_values[0] == "M")).all():
        return starts[rows_period]  # one freq, and every period (each is some row's) of its shape
    rows_freq = freq_codes[at]
    shape_ok = monthly[rows_period] == (freq_values == "M")[rows_freq]
    if not shape_ok.all():
        i = np.flatnonzero(~shape_ok)
        sdmx_csv.check_period_shape(monthly[rows_period[i]], freq_values[rows_freq[i]],
                                    period_values[rows_period[i]], name)
    return starts[rows_period]


def _strings(values: Iterable[str | None], codes: np.ndarray) -> pa.Array:
    """A string array: ``values[codes]``, null where the code is -1 (``large_string``, the storage of
    pandas' ``str`` dtype, so that the conversion to pandas copies nothing)."""
    values = list(values)
    if len(values) == 1 and values[0] is not None and not (codes < 0).any():
        return _constant(values[0], len(codes))
    dictionary = pa.array(values, type=pa.large_string())
    missing = codes < 0
    indices = pa.array(codes, mask=missing) if missing.any() else pa.array(codes)
    return dictionary.take(indices)


def _codes_at(long: sdmx_csv.Coded, column: str, at: np.ndarray) -> np.ndarray:
    """The column's codes at rows `at` (zeros, without a look, for a column of one value and no gap)."""
    codes, values = long.columns[column]
    if len(values) == 1 and not (codes < 0).any():
        return np.zeros(len(at), dtype=codes.dtype)
    return np.take(codes, at)


def _constant(text: str, rows: int, valid: np.ndarray | None = None) -> pa.Array:
    """`text` `rows` times (``large_string``, as :func:`_strings`), built from its buffers; null
    where `valid` (a boolean per row) is false."""
    encoded = text.encode("utf-8")
    offsets = np.arange(rows + 1, dtype=np.int64) * len(encoded)
    if valid is None or valid.all():
        bitmap, nulls = None, 0
    else:
        bitmap, nulls = pa.py_buffer(np.packbits(valid, bitorder="little")), rows - int(valid.sum())
    return pa.LargeStringArray.from_buffers(rows, pa.py_buffer(offsets), pa.py_buffer(encoded * rows),
                                            bitmap, nulls)


def _canonical_table(columns: dict[str, pa.Array | np.ndarray], rows: int, dataset: str,
                     vintage: pd.Timestamp | None) -> pd.DataFrame:
    """The canonical frame from string arrays (arrow) and numbers (numpy); constants and absent
    columns are filled in. Strings go through pyarrow's conversion to pandas as in
    :func:`oilflows.schema.from_table`; numbers (NaN = missing, ``datetime64[s]``) are used as they are.
    """
    constants = {"source": "eurostat", "dataset": dataset, "flow": "import"}
    strings = {}
    for schema_field in SCHEMA:
        if pa.types.is_string(schema_field.type):
            array = columns.get(schema_field.name)
            if array is None and schema_field.name in constants:
                array = _constant(constants[schema_field.name], rows)
            strings[schema_field.name] = pa.nulls(rows, pa.large_string()) if array is None else array
    text = pa.table(strings).to_pandas()
    stamp = np.datetime64(pd.Timestamp(vintage).as_unit("s")) if vintage is not None else np.datetime64("NaT")
    data = {}
    for schema_field in SCHEMA:
        name = schema_field.name
        if pa.types.is_string(schema_field.type):
            data[name] = text[name]
        elif name == "vintage":
            data[name] = np.full(rows, stamp, dtype="datetime64[s]")
        elif pa.types.is_timestamp(schema_field.type):
            data[name] = np.asarray(columns[name], dtype="datetime64[s]")
        else:
            data[name] = np.asarray(columns[name], dtype=float) if name in columns else np.full(rows, np.nan)
    return pd.DataFrame(data, copy=False)


def _leaked(flag_values: np.ndarray, flag_codes: np.ndarray, quantity: np.ndarray, name: str) -> None:
    """A confidential cell (flag with ``c``) must have no quantity: refuse the file otherwise."""
    secret = np.array([CONFIDENTIAL in str(v) for v in flag_values] + [False], dtype=bool)
    leaked = secret[flag_codes] & ~np.isnan(quantity)
    if leaked.any():
        raise SourceFormatError(name, f"{int(leaked.sum())} confidential cells (flag 'c') carry a value",
                                "OBS_VALUE")


_PARTNER_OF_CRUDE: dict[str, str] = {}  # memo of codes.coifpm_partner (a few hundred codes)


def _coifpm_partners(crude_values: np.ndarray) -> list[str]:
    """:func:`oilflows.codes.coifpm_partner` of each distinct crudeoil code, remembered across reads."""
    new = [c for c in crude_values if c not in _PARTNER_OF_CRUDE]
    if new:
        _PARTNER_OF_CRUDE.update(zip(new, codes.coifpm_partner(pd.Series(new, dtype=object)), strict=True))
    return [_PARTNER_OF_CRUDE[c] for c in crude_values]


def _canonical_coifpm(long: sdmx_csv.Coded, vintage: pd.Timestamp | None, name: str) -> pd.DataFrame:
    names = [*COIFPM_INDICATORS, *COIFPM_DROPPED]
    unknown = sorted(set(long.used("indic_nrg")) - set(names))
    if unknown:
        raise SourceFormatError(name, f"unknown indicators {unknown}", "indic_nrg")
    ind_codes, ind_values = long.columns["indic_nrg"]
    index = ("freq", "crudeoil", "geo", "period")
    group, n_groups = _group_ids(long, index)
    # One row per observed (freq, crudeoil, geo, period): the row of each indicator in a table of
    # indicators x groups (-1: absent). Rows sharing a cell are duplicates.
    # slots are intp: numpy scatters with intp indices several times faster than with int32 ones
    slots = np.take(np.array([names.index(v) if v in names else 0 for v in ind_values], np.intp),
                    ind_codes)  # the indicator of each row
    slots *= n_groups
    slots += group
    row_type = np.int32 if long.rows < 2**31 else np.int64
    row_of: np.ndarray = np.full(n_groups * len(names), -1, dtype=row_type)
    row_of[slots] = np.arange(long.rows, dtype=row_type)
    if int(np.count_nonzero(row_of >= 0)) != long.rows:
        _duplicates(long, slots, (*index, "indic_nrg"), name)
    row_of = row_of.reshape(len(names), n_groups)
    first = row_of.max(axis=0)  # a row of each group, for its codes
    with ThreadPoolExecutor(1) as pool:  # the text columns are built while the measures are
        text = pool.submit(_coifpm_text, long, first, name)
        columns, keep = _coifpm_measures(long, row_of, slots, first, name)
        text_columns = text.result()
    if keep is not None:  # a key whose every cell is empty and unflagged is no observation
        kept = pa.array(keep)
        text_columns = {c: a.take(kept) for c, a in text_columns.items()}
    return _canonical_table({**text_columns, **columns}, len(columns["period"]), "nrg_ti_coifpm", vintage)


def _coifpm_text(long: sdmx_csv.Coded, first: np.ndarray, name: str) -> dict[str, pa.Array]:
    """The text columns of nrg_ti_coifpm's canonical rows, one per group (its row `first`)."""
    crude_codes, crude_values = long.columns["crudeoil"]
    partners = _coifpm_partners(crude_values)
    if any(not p for p in partners):
        raise SourceFormatError(name, "a crude oil code without an origin prefix", "crudeoil")
    geo_codes = np.take(long.columns["geo"][0], first)
    crude = np.take(crude_codes, first)
    rows = len(first)
    return {
        "freq": _strings(long.columns["freq"][1], _codes_at(long, "freq", first)),
        "reporter": _strings(_mapped(long, "geo", codes.EUROSTAT_COUNTRY, name), geo_codes),
        "partner": _strings(partners, crude),
        "product": _constant("crude_oil", rows),
        "grade": _strings([None if c == "TOTAL" else c for c in crude_values], crude),
        "source": _constant("eurostat", rows), "dataset": _constant("nrg_ti_coifpm", rows),
        "flow": _constant("import", rows),
    }


def _coifpm_measures(long: sdmx_csv.Coded, row_of: np.ndarray, slots: np.ndarray, first: np.ndarray,
                     name: str) -> tuple[dict[str, pa.Array | np.ndarray], np.ndarray | None]:
    """Period, measures, flag and currency of nrg_ti_coifpm's canonical rows from the row of each
    indicator of each group (`row_of`, -1: absent) and the cell of each row (`slots`, distinct), and
    the groups kept (None: all)."""
    names = [*COIFPM_INDICATORS, *COIFPM_DROPPED]
    period = _periods(long, first, name)  # every period readable and of its freq's shape
    # The values scattered to their cells in file order (one sequential pass), not gathered per
    # indicator in group order (random reads); an absent indicator's cell stays NaN.
    # Only the measures' cells (COMP_NR's rows all go to one spare cell at the end): the table stays
    # smaller, and so is less often fresh memory to fault in.
    n_cells = len(COIFPM_INDICATORS) * row_of.shape[1]
    cells = np.full(n_cells + 1, np.nan)
    cells[np.minimum(slots, n_cells)] = long.value
    cells = cells[:n_cells].reshape(len(COIFPM_INDICATORS), row_of.shape[1])
    measures = {}
    for j, (column, factor) in enumerate(COIFPM_INDICATORS.values()):
        measure = cells[j]
        if factor != 1.0:
            measure *= factor
        measures[column] = measure
    volume_rows = row_of[names.index("VOL_THS_BBL")]
    has_volume = volume_rows >= 0
    flag_codes, flag_values = long.columns["flag"]
    conf = long.columns.get("conf_status")
    flags, flag_values = sdmx_csv.merged_flags(
        np.where(has_volume, flag_codes[volume_rows], -1), flag_values,
        None if conf is None else np.where(has_volume, conf[0][volume_rows], -1),
        None if conf is None else conf[1], name)
    keep = flags >= 0
    keep |= ~np.isnan(measures["volume_bbl"])
    empty = np.flatnonzero(~keep)  # few: the other measures are looked at only here
    if empty.size:
        keep[empty] = np.any([~np.isnan(m.take(empty)) for m in measures.values()], axis=0)
    kept = None
    if not keep.all():
        kept = np.flatnonzero(keep)
        flags, period = flags.take(kept), period.take(kept)
        measures = {c: m.take(kept) for c, m in measures.items()}
    _leaked(flag_values, flags, measures["volume_bbl"], name)
    has_price = ~np.isnan(measures["value"]) | ~np.isnan(measures["price_per_bbl"])
    return {"period": period, "currency": _constant("USD", len(period), valid=has_price),
            "flag": _strings(flag_values, flags), **measures}, kept


def _canonical_oil(long: sdmx_csv.Coded, info: Dataset, vintage: pd.Timestamp | None,
                   name: str) -> pd.DataFrame:
    unknown = sorted(set(long.used("unit")) - set(OIL_UNITS))
    if unknown:
        raise SourceFormatError(name, f"unsupported units {unknown}; expected THS_T", "unit")
    index = (*info.dims, "period")
    group, n_groups = _group_ids(long, index)
    if n_groups != long.rows:
        _duplicates(long, group, index, name)
    every = np.arange(long.rows)
    period = _periods(long, every, name)
    unit_codes, unit_values = long.columns["unit"]
    measures: dict[str, np.ndarray] = {}
    for unit, (column, factor) in OIL_UNITS.items():
        is_unit = (unit_values == unit)[unit_codes]
        measures[column] = np.where(is_unit, long.value * factor, np.nan)
    flag_codes, flag_values = long.columns["flag"]
    conf = long.columns.get("conf_status")
    conf_codes, conf_values = conf if conf is not None else (None, None)
    flags, flag_values = sdmx_csv.merged_flags(flag_codes, flag_values, conf_codes, conf_values, name)
    _leaked(flag_values, flags, measures["mass_t"], name)
    siec_values = long.columns["siec"][1]
    products = {**codes.SIEC_PRODUCT, **{s: f"siec_{s}" for s in siec_values if s not in codes.SIEC_PRODUCT}}
    columns = {
        "freq": _strings(long.columns["freq"][1], long.columns["freq"][0]),
        "period": period,
        "reporter": _strings(_mapped(long, "geo", codes.EUROSTAT_COUNTRY, name), long.columns["geo"][0]),
        "partner": _strings(_mapped(long, "partner", codes.EUROSTAT_COUNTRY, name),
                            long.columns["partner"][0]),
        "product": _strings(_mapped(long, "siec", products, name), long.columns["siec"][0]),
        "flag": _strings(flag_values, flags),
        **measures,
    }
    return _canonical_table(columns, long.rows, info.code, vintage)


# -- fetch ----------------------------------------------------------------------------------------

#: Eurostat's dissemination API (no key, no authentication).
BASE_URL = "https://ec.europa.eu/eurostat/api/dissemination"
#: Seconds between polls of an asynchronous extraction, and the most to wait for it.
ASYNC_POLL_SECONDS = 10.0
ASYNC_MAX_WAIT_SECONDS = 1800.0
#: The most data requests one :func:`fetch` sends while splitting a too-big query.
MAX_REQUESTS = 64
#: Where the common arguments of the fetch signature go: ``reporter`` -> ``geo``, ``partner`` ->
#: ``partner`` (nrg_ti_oil(m); nrg_ti_coifpm has none: filter ``crudeoil=`` codes), ``product`` ->
#: ``siec`` (a SIEC code or a canonical product such as ``crude_oil``; nrg_ti_coifpm is crude only).
COMMON_DIMS = {"reporter": "geo", "partner": "partner", "product": "siec"}
#: Dimensions halved first when a too-big query is split (after the period).
SPLIT_ORDER = ("partner", "crudeoil", "siec", "geo", "indic_nrg", "unit")

_PERIOD = re.compile(r"^\d{4}(-\d{2})?$")


def request_url(
    dataset: str, *, start: str | None = None, end: str | None = None, base_url: str | None = None,
    **filters: str | list[str],
) -> tuple[str, dict[str, str]]:
    """The SDMX 2.1 data URL and query parameters for `dataset` with dimension `filters`.

    ``filters`` name dimensions of the dataset (``geo="DE"``, ``crudeoil=["KZ_CPC_BLN", "RU_EXP_BLN"]``);
    an absent dimension is a wildcard. ``start``/``end`` are periods (``YYYY`` or ``YYYY-MM``).
    Example: ``request_url("nrg_ti_coifpm", geo="DE", indic_nrg="VOL_THS_BBL", start="2020-01")``
    gives ``.../sdmx/2.1/data/nrg_ti_coifpm/..VOL_THS_BBL.DE`` with
    ``startPeriod=2020-01&format=SDMX-CSV&compressed=true``.
    """
    from ..errors import QueryError

    info = dataset_info(dataset)
    unknown = set(filters) - set(info.dims)
    if unknown:
        raise QueryError(f"eurostat {info.code}: unknown dimensions {sorted(unknown)}; "
                         f"its dimensions are {list(info.dims)}")
    positions = []
    for dim in info.dims:
        value = filters.get(dim)
        if value is None:
            positions.append("")
            continue
        values = [value] if isinstance(value, str) else list(value)
        if not values or any(not re.fullmatch(r"[A-Za-z0-9_\-]+", v) for v in values):
            raise QueryError(f"eurostat {info.code}: bad codes for {dim}: {values!r}")
        positions.append("+".join(v.upper() for v in values))
    start, end = check_periods(start, end, f"eurostat {info.code}", ("startPeriod", "endPeriod"))
    params = {"format": "SDMX-CSV", "compressed": "true"}
    for label, period in (("startPeriod", start), ("endPeriod", end)):
        if period is not None:
            params[label] = period
    base = (base_url or BASE_URL).rstrip("/")
    return f"{base}/sdmx/2.1/data/{info.code}/{'.'.join(positions)}", params


def dimension_filters(
    dataset: str, *, reporter: str | Sequence[str] | None = None, partner: str | Sequence[str] | None = None,
    product: str | Sequence[str] | None = None, **filters: str | list[str]
) -> dict[str, str | list[str]]:
    """The dimension filters of a fetch: `filters` plus the common arguments mapped to `dataset`'s
    dimensions (:data:`COMMON_DIMS`; ISO codes become Eurostat's, ``GR`` -> ``EL``, ``GB`` -> ``UK``,
    ``WORLD`` -> ``TOTAL``; a canonical product becomes its SIEC code). QueryError for a common
    argument the dataset has no dimension for, or one given twice."""
    from ..errors import QueryError

    info = dataset_info(dataset)
    to_eurostat = {iso: code for code, iso in codes.EUROSTAT_COUNTRY.items()}
    to_siec = {product: siec for siec, product in codes.SIEC_PRODUCT.items()}
    out = dict(filters)
    for name, value in (("reporter", reporter), ("partner", partner), ("product", product)):
        if value is None:
            continue
        values = [value] if isinstance(value, str) else [str(v) for v in value]
        dim = COMMON_DIMS[name]
        if name == "product" and dim not in info.dims:
            if all(v.lower() in ("crude_oil", "o4100_tot") for v in values):
                continue  # nrg_ti_coifpm is crude oil only
            raise QueryError(f"eurostat {info.code}: only product='crude_oil' is available")
        if dim not in info.dims:
            raise QueryError(f"eurostat {info.code}: no {name} dimension; filter its dimensions "
                             f"{list(info.dims)} instead (nrg_ti_coifpm: crudeoil= codes such as KZ_CPC_BLN)")
        if dim in out:
            raise QueryError(f"eurostat {info.code}: {name}= and {dim}= both given")
        if name == "product":
            mapped = [to_siec.get(v.lower(), v) for v in values]
        else:
            mapped = [to_eurostat.get(v.upper(), v) for v in values]
        out[dim] = mapped[0] if isinstance(value, str) else mapped
    return out


def fetch(
    dataset: str,
    *,
    reporter: str | list[str] | None = None,
    partner: str | list[str] | None = None,
    product: str | list[str] | None = None,
    start: str | None = None,
    end: str | None = None,
    base_url: str | None = None,
    poll_seconds: float = ASYNC_POLL_SECONDS,
    max_wait_seconds: float = ASYNC_MAX_WAIT_SECONDS,
    max_requests: int = MAX_REQUESTS,
    **filters: str | list[str],
) -> pd.DataFrame:
    """Download `dataset` from Eurostat's SDMX 2.1 API as SDMX-CSV and return the canonical frame.

    The fetch signature of every source (docs/fetching.md): `dataset` is the Eurostat dataset code
    (``nrg_ti_coifpm``, ``nrg_ti_oilm``, ``nrg_ti_oil``); `reporter`/`partner` are ISO alpha-2 codes
    (``geo``/``partner`` dimensions), `product` a canonical product or SIEC code (``siec``); `start`/`end`
    are ``YYYY`` or ``YYYY-MM`` (QueryError before any request for a malformed period or a start after
    the end); `base_url` replaces :data:`BASE_URL`. Source-specific: any dimension of the dataset as a
    keyword (``crudeoil=[...]``, ``indic_nrg=...``, ``geo=...``), `poll_seconds`/`max_wait_seconds` of
    a queued extraction, and `max_requests`, the most data requests sent while splitting a too-big query.
    No credential is needed.

    Handles (:func:`oilflows.sources._eurostat_api.classify`, shared with Comext): the synchronous
    answer; a queued (asynchronous) extraction, polled at ``/1.0/async/status/{key}`` every
    `poll_seconds` until AVAILABLE and then downloaded from ``/1.0/async/data/{key}``; a too-big answer
    (413 EXTRACTION_TOO_BIG, "too large", "exceeds service limit": the query is split, period halves
    first, then the codes of :data:`SPLIT_ORDER`, and the parts fetched; FetchError if it cannot be split
    further); 404 "No results found" (an empty canonical frame); an HTML outage page (FetchError).
    Retries, Retry-After and pacing are handled by :mod:`oilflows.http`.
    """
    from ..schema import conform, empty_frame

    info = dataset_info(dataset)
    dims = dimension_filters(dataset, reporter=reporter, partner=partner, product=product, **filters)
    url, params = request_url(dataset, start=start, end=end, base_url=base_url, **dims)  # checks first
    start, end = params.get("startPeriod"), params.get("endPeriod")
    base = (base_url or BASE_URL).rstrip("/")

    def fetch_one(part: tuple[dict, str | None, str | None]) -> pd.DataFrame | None:
        part_dims, part_start, part_end = part
        part_url, part_params = request_url(dataset, start=part_start, end=part_end, base_url=base_url,
                                            **part_dims)
        return get_data(part_url, part_params, lambda body, where: read(body, dataset=dataset, name=where),
                        base_url=base, poll_seconds=poll_seconds, max_wait_seconds=max_wait_seconds)

    def split(part: tuple[dict, str | None, str | None]) -> list[tuple[dict, str | None, str | None]]:
        part_dims, part_start, part_end = part
        halves = halve_periods(part_start, part_end, info.freq)
        if halves:
            return [(part_dims, s, e) for s, e in halves]
        for dim in (*SPLIT_ORDER, *info.dims):
            value = part_dims.get(dim)
            if value is not None and not isinstance(value, str) and len(value) > 1:
                values = list(value)
                half = (len(values) + 1) // 2
                return [({**part_dims, dim: values[:half]}, part_start, part_end),
                        ({**part_dims, dim: values[half:]}, part_start, part_end)]
        return []

    def cannot_split(part: tuple[dict, str | None, str | None], too_big: TooBig) -> FetchError:
        return FetchError(too_big.where, f"extraction too big for Eurostat (max 5,000,000 cells: "
                          f"{too_big.detail}) and the query cannot be split further (one period and one "
                          "code per dimension); narrow the filters or the period", status=too_big.status)

    budget = Budget(max_requests, lambda sent: FetchError(
        url, f"gave up splitting a too-big query after {sent} requests (max_requests); narrow the query"))
    frames = fetch_split([(dims, start, end)], fetch_one, split, cannot_split, budget=budget)
    frames = [frame for frame in frames if frame is not None]
    if not frames:
        return empty_frame()
    if len(frames) == 1:
        return frames[0]
    order = ["reporter", "partner", "product", "grade", "flow", "freq", "period"]
    frame = conform(pd.concat(frames, ignore_index=True))
    return frame.sort_values(order, kind="stable", na_position="first").reset_index(drop=True)


# -- release metadata ---------------------------------------------------------------------------

#: Eurostat's table of contents (tab-separated text; one row per dataset and table).
TOC_URL = f"{BASE_URL}/catalogue/toc/txt"


def read_toc(src: Source, name: str | None = None) -> pd.DataFrame:
    """Parse Eurostat's TOC text file: columns ``code``, ``type``, ``last_update`` (Timestamp) ...

    The file is tab-separated with quoted cells and the header ``"title" "code" "type" "last update
    of data" "last table structure change" "data start" "data end" "values"``; dates are
    ``DD.MM.YYYY``. Codes are lower-cased; titles keep their indentation stripped.
    """
    import io

    data, name = read_bytes(src, name)
    data = gunzip_if_needed(data, name)
    if sniff_text_kind(data) == "markup":
        raise SourceFormatError(name, f"expected the TOC text file, found a page: {markup_title(data)!r}")
    try:
        toc = pd.read_csv(io.BytesIO(data), sep="\t", dtype=str, keep_default_na=False)
    except (ValueError, pd.errors.ParserError) as exc:
        raise SourceFormatError(name, f"unreadable TOC: {exc}") from exc
    toc.columns = [c.strip().strip('"') for c in toc.columns]
    for column in ("code", "last update of data"):
        if column not in toc.columns:
            raise SourceFormatError(name, f"TOC lacks the column {column!r}; found {list(toc.columns)}",
                                    column)
    toc["code"] = toc["code"].str.strip().str.lower()
    toc["title"] = toc.get("title", pd.Series("", index=toc.index)).str.strip()
    toc["last_update"] = pd.to_datetime(toc["last update of data"].str.strip(), format="%d.%m.%Y",
                                        errors="coerce")
    return toc


def last_update(dataset: str) -> pd.Timestamp | None:
    """The TOC's "last update of data" of `dataset` (a date), or None if the TOC does not list it."""
    from .. import http

    info = dataset_info(dataset)
    # Cached only if it reads as the TOC (never an error page).
    response = http.get(TOC_URL, params={"lang": "en"},
                        validate=lambda answer: read_toc(answer.content, name=answer.url))
    toc = response.validated  # type: ignore[attr-defined]  # set by http.get(validate=...)
    rows = toc[(toc["code"] == info.code) & toc["last_update"].notna()]
    return None if rows.empty else rows["last_update"].max()

__all__ = ["BASE_URL", "DATASETS", "TOC_URL", "Dataset", "dataset_info", "dimension_filters",
           "fetch", "last_update", "read", "read_toc", "request_url"]
