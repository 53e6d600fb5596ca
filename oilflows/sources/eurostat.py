"""Eurostat energy statistics (nrg_ti_coifpm, nrg_ti_oilm, nrg_ti_oil): ``read`` files, ``fetch`` the API.

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
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from .. import codes
from .._io import Source, gunzip_if_needed, markup_title, read_bytes, sniff_text_kind
from ..errors import SourceFormatError, UnknownDatasetError
from ..formats import jsonstat, sdmx_csv
from ..schema import COLUMNS, CONFIDENTIAL, conform
from ._eurostat_api import async_key, await_async


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
        values in USD; confidential cells null with flag ``c``.
    """
    data, name = read_bytes(src, name)
    data = gunzip_if_needed(data, name)
    kind = sniff_text_kind(data)
    if kind == "markup":
        raise SourceFormatError(
            name, f"expected SDMX-CSV or JSON-stat, found an HTML/XML page: {markup_title(data)!r}"
        )
    if not data.strip():
        raise SourceFormatError(name, "the file is empty")
    if kind == "json":
        long, found, vintage = _long_from_jsonstat(data, name)
    else:
        long, found, vintage = _long_from_sdmx_csv(data, name)
    if dataset is not None and found is not None and found != dataset.lower():
        raise SourceFormatError(name, f"file holds dataset {found!r}, not {dataset!r}", "DATAFLOW")
    code = found or (dataset.lower() if dataset else None)
    if code is None:
        raise SourceFormatError(name, "the file does not name its dataset; pass dataset=")
    info = dataset_info(code, source=name)
    missing = [d for d in info.dims if d not in long.columns]
    if missing:
        raise SourceFormatError(
            name, f"{info.code} needs dimension columns {list(info.dims)}; missing {missing}", missing[0]
        )
    if info.code == "nrg_ti_coifpm":
        return _canonical_coifpm(long, vintage, name)
    return _canonical_oil(long, info, vintage, name)


# -- format -> long frame (columns: dims..., period, value, flag) ---------------------------------


def _long_from_sdmx_csv(data: bytes, name: str) -> tuple[pd.DataFrame, str | None, pd.Timestamp]:
    table = sdmx_csv.parse(data, name)
    if table.num_rows == 0:
        raise SourceFormatError(name, "SDMX-CSV file has a header but no observations")
    dataflows = table["DATAFLOW"].unique().to_pylist()
    if len(dataflows) != 1:
        raise SourceFormatError(name, f"expected one dataflow, found {dataflows[:5]}", "DATAFLOW")
    match = _DATAFLOW.match(dataflows[0])
    if not match:
        raise SourceFormatError(name, f"unreadable dataflow {dataflows[0]!r}", "DATAFLOW")
    vintage = _vintage_from_last_update(table, name)
    flag = table["OBS_FLAG"]
    if "CONF_STATUS" in table.column_names:
        flag = sdmx_csv.merge_conf_status(flag, table["CONF_STATUS"])
    frame = pd.DataFrame(
        {
            col.lower(): table[col].to_pandas()
            for col in table.column_names
            if col not in ("DATAFLOW", "LAST UPDATE", "OBS_VALUE", "OBS_FLAG", "CONF_STATUS")
        }
    ).rename(columns={"time_period": "period"})
    frame["value"] = table["OBS_VALUE"].to_numpy(zero_copy_only=False)
    frame["flag"] = flag.to_pandas()
    return frame, match.group(1).lower(), vintage


def _vintage_from_last_update(table: pa.Table, name: str) -> pd.Timestamp | None:
    if "LAST UPDATE" not in table.column_names:
        return None
    stamps = table["LAST UPDATE"].unique().to_pylist()
    if len(stamps) != 1:
        raise SourceFormatError(name, f"expected one LAST UPDATE, found {stamps[:5]}", "LAST UPDATE")
    try:
        return pd.to_datetime(stamps[0], format="%d/%m/%y %H:%M:%S")
    except ValueError as exc:
        raise SourceFormatError(
            name, f"LAST UPDATE {stamps[0]!r} is not DD/MM/YY HH:MM:SS", "LAST UPDATE"
        ) from exc


def _long_from_jsonstat(data: bytes, name: str) -> tuple[pd.DataFrame, str | None, pd.Timestamp]:
    frame, meta = jsonstat.parse(data, name)
    if frame.empty:
        raise SourceFormatError(name, "JSON-stat dataset has no observations (empty 'value')", "value")
    extension = meta.get("extension") or {}
    found = extension.get("id")
    vintage = None
    if meta.get("updated"):
        try:
            vintage = pd.Timestamp(meta["updated"]).tz_localize(None)
        except ValueError as exc:
            raise SourceFormatError(name, f"unreadable timestamp {meta['updated']!r}", "updated") from exc
    frame = frame.rename(columns={"time": "period", "status": "flag"})
    frame.columns = [c.lower() for c in frame.columns]
    # After 2025 Eurostat may send the confidentiality status "C" in place of the old "c".
    flag = frame["flag"].astype(object)
    frame["flag"] = flag.where(~flag.isin(["C", "N", "P"]), CONFIDENTIAL)
    return frame, found.lower() if found else None, vintage


# -- long frame -> canonical frame ----------------------------------------------------------------


def _check_freq(long: pd.DataFrame, name: str) -> None:
    bad = set(long["freq"].unique()) - {"M", "A"}
    if bad:
        raise SourceFormatError(name, f"unsupported frequencies {sorted(bad)}", "freq")


def _finish(frame: pd.DataFrame, source_dataset: str, vintage: pd.Timestamp | None) -> pd.DataFrame:
    frame["source"] = "eurostat"
    frame["dataset"] = source_dataset
    frame["vintage"] = pd.Timestamp(vintage) if vintage is not None else pd.NaT
    frame["flow"] = "import"
    for column in COLUMNS:
        if column not in frame.columns:
            frame[column] = None
    return conform(frame[list(COLUMNS)])


def _canonical_coifpm(long: pd.DataFrame, vintage, name: str) -> pd.DataFrame:
    _check_freq(long, name)
    unknown = set(long["indic_nrg"].unique()) - set(COIFPM_INDICATORS) - set(COIFPM_DROPPED)
    if unknown:
        raise SourceFormatError(name, f"unknown indicators {sorted(unknown)}", "indic_nrg")
    long = long[long["indic_nrg"].isin(list(COIFPM_INDICATORS))]
    index = ["freq", "crudeoil", "geo", "period"]
    dup = long.duplicated(index + ["indic_nrg"])
    if dup.any():
        raise SourceFormatError(name, f"{int(dup.sum())} duplicate observations", "OBS_VALUE")
    scale = long["indic_nrg"].map({k: f for k, (_, f) in COIFPM_INDICATORS.items()})
    # One row per observed (crudeoil, geo, period): unstack creates only the keys that occur, the
    # indicator's value and the volume's flag side by side.
    long = long.assign(value=long["value"] * scale).set_index(index + ["indic_nrg"])
    wide = long["value"].unstack("indic_nrg")
    wide = wide.rename(columns={k: c for k, (c, _) in COIFPM_INDICATORS.items()})
    wide["flag"] = long["flag"].unstack("indic_nrg").get("VOL_THS_BBL")
    frame = wide.reset_index()
    frame.columns.name = None
    frame = frame.dropna(subset=[c for c, _ in COIFPM_INDICATORS.values() if c in frame] + ["flag"],
                         how="all")
    frame["period"] = sdmx_csv.parse_periods(frame["period"], frame["freq"], name)
    frame["reporter"] = codes.map_codes(frame["geo"], codes.EUROSTAT_COUNTRY)
    frame["partner"] = codes.coifpm_partner(frame["crudeoil"])
    frame["grade"] = frame["crudeoil"].astype(object).where(frame["crudeoil"] != "TOTAL", None)
    frame["product"] = "crude_oil"
    nothing = pd.Series(np.nan, index=frame.index)  # an indicator absent from the file
    frame["currency"] = np.where(frame.get("value", nothing).notna()
                                 | frame.get("price_per_bbl", nothing).notna(), "USD", None)
    return _finish(frame, "nrg_ti_coifpm", vintage)


def _canonical_oil(long: pd.DataFrame, info: Dataset, vintage, name: str) -> pd.DataFrame:
    _check_freq(long, name)
    unknown = set(long["unit"].unique()) - set(OIL_UNITS)
    if unknown:
        raise SourceFormatError(name, f"unsupported units {sorted(unknown)}; expected THS_T", "unit")
    dup = long.duplicated(list(info.dims) + ["period"])
    if dup.any():
        raise SourceFormatError(name, f"{int(dup.sum())} duplicate observations", "OBS_VALUE")
    frame = long.copy()
    for unit, (column, factor) in OIL_UNITS.items():
        frame[column] = np.where(frame["unit"] == unit, frame["value"] * factor, np.nan)
    frame["period"] = sdmx_csv.parse_periods(frame["period"], frame["freq"], name)
    frame["reporter"] = codes.map_codes(frame["geo"], codes.EUROSTAT_COUNTRY)
    frame["partner"] = codes.map_codes(frame["partner"], codes.EUROSTAT_COUNTRY)
    frame["product"] = codes.map_codes(
        frame["siec"], {**codes.SIEC_PRODUCT, **{s: f"siec_{s}" for s in frame["siec"].unique()
                                                 if s not in codes.SIEC_PRODUCT}}
    )
    frame["grade"] = None
    frame = frame.drop(columns=["value"])
    return _finish(frame, info.code, vintage)


# -- fetch ----------------------------------------------------------------------------------------

#: Eurostat's dissemination API (no key, no authentication).
BASE_URL = "https://ec.europa.eu/eurostat/api/dissemination"
#: Seconds between polls of an asynchronous extraction, and the most to wait for it.
ASYNC_POLL_SECONDS = 10.0
ASYNC_MAX_WAIT_SECONDS = 1800.0

_PERIOD = re.compile(r"^\d{4}(-\d{2})?$")


def request_url(
    dataset: str, *, start: str | None = None, end: str | None = None, **filters: str | list[str]
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
    params = {"format": "SDMX-CSV", "compressed": "true"}
    for label, period in (("startPeriod", start), ("endPeriod", end)):
        if period is not None:
            if not _PERIOD.match(str(period)):
                raise QueryError(f"eurostat: {label} {period!r} is not YYYY or YYYY-MM")
            params[label] = str(period)
    return f"{BASE_URL}/sdmx/2.1/data/{info.code}/{'.'.join(positions)}", params


def fetch(
    dataset: str,
    *,
    start: str | None = None,
    end: str | None = None,
    poll_seconds: float = ASYNC_POLL_SECONDS,
    max_wait_seconds: float = ASYNC_MAX_WAIT_SECONDS,
    **filters: str | list[str],
) -> pd.DataFrame:
    """Download `dataset` from Eurostat's SDMX 2.1 API as SDMX-CSV and return the canonical frame.

    Handles: the synchronous answer; a queued (asynchronous) extraction, announced by an XML message
    with a key, polled at ``/1.0/async/status/{key}`` every `poll_seconds` until AVAILABLE and then
    downloaded from ``/1.0/async/data/{key}``; 413 EXTRACTION_TOO_BIG (raised as FetchError asking
    for narrower filters); 404 "No results found" (an empty canonical frame); an HTML outage page
    (FetchError). Retries and Retry-After are handled by :mod:`oilflows.http`.

    Parameters are those of :func:`request_url`. Network errors raise :class:`FetchError`.
    """
    from .. import http
    from ..errors import FetchError
    from ..schema import empty_frame

    url, params = request_url(dataset, start=start, end=end, **filters)
    response = http.get(url, params=params, ok=(200, 404, 413))
    body = response.content
    text_head = body[:4000].decode("utf-8", "replace") if not body.startswith(b"\x1f\x8b") else ""
    if response.status_code == 404:
        if "No results found" in text_head or "NO_RESULTS" in text_head.upper():
            return empty_frame()
        raise FetchError(response.url, " ".join(text_head.split())[:300], status=404)
    if "EXTRACTION_TOO_BIG" in text_head:
        raise FetchError(response.url, "extraction too big for Eurostat (max 5,000,000 cells); "
                         "narrow the filters or the period", status=response.status_code)
    key = async_key(text_head)
    if key is not None:
        body = await_async(BASE_URL, key, poll_seconds, max_wait_seconds)
    elif response.status_code == 413:
        raise FetchError(response.url, " ".join(text_head.split())[:300], status=413)
    elif sniff_text_kind(body) == "markup":
        raise FetchError(response.url, f"the service sent an HTML/XML page instead of data: "
                         f"{markup_title(body)!r}", status=response.status_code)
    return read(body, dataset=dataset, name=response.url)


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
    response = http.get(TOC_URL, params={"lang": "en"})
    toc = read_toc(response.content, name=response.url)
    rows = toc[(toc["code"] == info.code) & toc["last_update"].notna()]
    return None if rows.empty else rows["last_update"].max()
