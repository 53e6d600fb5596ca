"""Eurostat Comext (international trade in goods, CN8): dataset DS-045409 via SDMX 2.1, and the bulk files.

Three entry points, all returning the canonical frame (source ``"comext"``, dataset ``"ds-045409"``):

- :func:`read` parses SDMX-CSV 1.0 of DS-045409 (plain or gzip), as :func:`fetch` downloads it;
- :func:`fetch` downloads from the Comext SDMX 2.1 API (its own host, not Eurostat's main one), with the
  fetch signature of every source (docs/fetching.md): ``fetch("DS-045409", *, reporter=None,
  partner=None, product=None, start=None, end=None, base_url=None, flow="import", ...)``;
- :func:`read_bulk` streams a bulk file ``full_v2_YYYYMM.7z`` (or the CSV inside it, plain or gzip),
  keeping only the rows of the chosen CN chapters; :func:`iter_bulk` yields the filtered raw rows.

Comext quirks handled here and nowhere else (sources.md section 2):

- **Host and key.** DS-045409 exists only under ``/api/comext/dissemination``. The SDMX key is
  ``freq.reporter.partner.product.flow.indicators`` [3P]; reporter and partner are ISO-2 codes, and the
  old numeric Comext codes (``1A``, ``004``) silently give an empty set, so :func:`request_url` rejects
  them.
- **Indicators arrive as rows** and are pivoted into measure columns (:data:`INDICATORS`):
  ``VALUE_IN_EUROS`` -> ``value`` (EUR), ``QUANTITY_IN_100KG`` -> ``mass_t`` (divided by 10).
  ``SUPPLEMENTARY_QUANTITY`` is dropped: its unit depends on the CN8 code (litres, pieces, ...) and
  the crude-oil codes have none. The bulk files' quantity is in **kg** (divided by 1000).
- **Products.** CN8 ``27090010`` is "natural gas condensates", ``27090090`` "other" (crude oil proper)
  (:data:`CN8_LABELS`). Both are HS 2709 ("petroleum oils ..., crude"), so both map to ``crude_oil``
  and the CN8 code is kept in ``grade``: one row per CN8 code, the key stays unique, and a user who
  does not count condensates as crude can drop ``grade == "27090010"``. :func:`sum_cn8` (or
  ``combine_cn8=True``) sums them into one HS-2709 row per key with ``grade`` null. Heading-level codes
  (``2709``, ``270900``) also map to ``crude_oil`` with ``grade`` null; a file that holds crude at both
  levels is refused (the levels overlap). A masked bulk code such as ``2709XXXX`` is ``crude_oil`` with
  that code as ``grade``. Every other code becomes ``cn_<code>`` (``cn_27101943``, ``cn_27XXXXXX``).
  Beware: other national nomenclatures reuse the digits with other meanings (Brazil's NCM 27090010 is
  crude oil); these are EU CN codes.
- **Partners** (:data:`PARTNER_CODES`): ``EL`` -> ``GR``, ``UK`` -> ``GB``, ``WORLD``/``TOTAL`` ->
  ``WORLD``; extra/intra-EU aggregates keep one spelling (``EXT_EU27_2020`` -> ``EU27_2020_EXTRA``);
  the geonomenclature's pseudo-partners ``QP``-``QZ`` (high seas, stores and provisions, "not
  specified", and "not specified for commercial or military reasons", i.e. secret) get descriptive
  non-ISO codes (``QZ`` -> ``CONFIDENTIAL_EXTRA_EU``); an unlisted two-letter code in the ISO
  user-assigned range ``QM``-``QZ`` becomes ``COMEXT_Q?``. ``QA`` is Qatar and stays ``QA``.
  ``XC``/``XL`` (Ceuta, Melilla) -> ``CEUTA``/``MELILLA``, ``XS`` (Serbia) -> ``RS``, ``XK`` (Kosovo)
  stays; ``XI``/``XU`` (UK: Northern Ireland / excluding it) -> ``UK_NORTHERN_IRELAND``/``UK_EXCL_NI``.
  An empty partner cell (seen live by a third party) -> ``UNKNOWN``. Other codes pass through.
  A partner being secret is not a confidential *cell*: those rows carry their quantity and no flag.
- **Flows**: ``1`` import, ``2`` export (:data:`FLOWS`); any other code is refused.
- **Flags**: ``OBS_FLAG`` and ``CONF_STATUS`` may be absent (Comext answers seen by third parties have
  neither). When present they are read as for Eurostat: ``C``/``N``/``P`` or ``c`` -> a flag containing
  ``c`` and a null quantity. ``flag`` is the flag of the mass (of the value when there is no mass).
- **Vintage**: ``LAST UPDATE`` (``DD/MM/YY HH:MM:SS``; a date alone is accepted), Luxembourg wall-clock
  time. The bulk files carry no stamp: pass ``vintage=`` to :func:`read_bulk`.
- **Size limits**: a query above 5,000,000 cells gets 413 ``EXTRACTION_TOO_BIG``; :func:`fetch` then
  splits the query (period halves, then partners, then products, then reporters) and retries. A queued
  (asynchronous) extraction is polled on the Comext host's ``/1.0/async/`` endpoints.
- **Bulk files** (:data:`BULK_LAYOUTS`): one CSV per archive (``full_YYYYMM.dat``, about 400 MB a
  month), with rows split by ``TRADE_TYPE`` and ``STAT_PROCEDURE`` (normal, inward/outward processing,
  not from customs). :func:`read_bulk` sums them per key (or keeps only ``stat_procedures=``).
  ``PERIOD`` ``YYYY52`` is the annual total (``full_v2_YYYY52.7z``). Reading needs ``py7zr`` for the
  ``.7z`` (optional extra ``oilflows[comext]``). Files are streamed with bounded memory whatever their
  size (:mod:`oilflows.sources._comext_stream`): blocks of bytes (the 7z member decompressed in a
  worker thread, no temporary file), rows selected on the raw bytes of their product code, only the
  kept rows parsed; a 7z member or gzip stream larger than ``max_uncompressed_bytes`` is refused
  (:class:`DecompressionLimitError`).
"""

from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from .. import codes
from .._io import (
    Source,
    body_head,
    compression_ratio_limit,
    gunzip_if_needed,
    markup_title,
    read_bytes,
    sniff_text_kind,
)
from ..errors import FetchError, QueryError, SchemaError, SourceFormatError
from ..formats import sdmx_csv

# Reused from the Eurostat module (same SDMX-CSV flags, periods and async messages); see its docstrings.
from ..formats.sdmx_csv import check_flags, merge_conf_status, parse_periods
from ..schema import COLUMNS, CONFIDENTIAL, OBSERVATION_KEY, conform, empty_frame
from ._comext_stream import (  # noqa: F401  (re-exported: the bulk layout is part of this module's API)
    BULK_COLUMNS,
    BULK_COLUMNS_V1,
    BULK_LAYOUTS,
    BULK_NUMERIC,
    BULK_ROW_BYTES,
    DEFAULT_CHUNK_ROWS,
    MAX_LINE_BYTES,
    MAX_UNCOMPRESSED_BYTES,
    BulkFilters,
    DecompressionLimitError,
    bulk_schema,
    stream_batches,
)
from ._eurostat_api import get_data
from ._fetch import Budget, TooBig, call_text, check_periods, deprecated, fetch_split, halve_periods

SOURCE = "comext"
#: The canonical ``dataset`` of every row (API and bulk files hold the same statistics).
DATASET = "ds-045409"
#: The dataflow id in URLs and in SDMX-CSV ``DATAFLOW`` (``ESTAT:DS-045409(1.0)``).
DATAFLOW = "DS-045409"
#: Comext's own API host (DS-045409 is not on the main Eurostat host).
BASE_URL = "https://ec.europa.eu/eurostat/api/comext/dissemination"
#: DS-045409 dimensions in SDMX key order (without time) [3P, read off the DSD by third parties].
DIMS: tuple[str, ...] = ("freq", "reporter", "partner", "product", "flow", "indicators")

#: Indicators kept -> (canonical column, divisor to base units).
INDICATORS: dict[str, tuple[str, float]] = {
    "VALUE_IN_EUROS": ("value", 1.0),  # EUR
    "QUANTITY_IN_100KG": ("mass_t", 10.0),  # 100 kg -> t: divide by 10
}
#: Indicators read but not kept (unit depends on the CN8 code; none for crude oil).
DROPPED_INDICATORS: tuple[str, ...] = ("SUPPLEMENTARY_QUANTITY",)
DEFAULT_INDICATORS: tuple[str, ...] = ("VALUE_IN_EUROS", "QUANTITY_IN_100KG")

#: Comext flow codes -> canonical flow.
FLOWS: dict[str, str] = {"1": "import", "2": "export"}
FLOW_CODES: dict[str, str] = {v: k for k, v in FLOWS.items()}

#: HS heading -> canonical product, for every code that starts with the heading (2709, 270900, CN8).
PRODUCT_HEADINGS: dict[str, str] = {"2709": "crude_oil"}
#: The CN8 codes of HS 2709 (stable since 1988 [3P]; check CN8-PRED-SUCC for others).
CN8_LABELS: dict[str, str] = {
    "27090010": "natural gas condensates",
    "27090090": "other crude petroleum oils (crude oil proper, excluding condensates)",
}
CRUDE_CN8: tuple[str, ...] = tuple(CN8_LABELS)

#: Reporter codes -> canonical (aggregates such as EU27_2020 pass through).
REPORTER_CODES: dict[str, str] = {"EL": "GR", "UK": "GB"}

#: Comext partner codes -> canonical partner codes (codes not listed pass through; see the docstring).
PARTNER_CODES: dict[str, str] = {
    **codes.EUROSTAT_COUNTRY,  # EL -> GR, UK -> GB, TOTAL -> WORLD
    "WORLD": "WORLD",
    "": "UNKNOWN",
    # Aggregates: spelled two ways by different clients [3P, conflicting]; one canonical spelling.
    "EXT_EU27_2020": "EU27_2020_EXTRA",
    "EXTRA_EU27_2020": "EU27_2020_EXTRA",
    "INT_EU27_2020": "EU27_2020_INTRA",
    "INTRA_EU27_2020": "EU27_2020_INTRA",
    "EXT_EU28": "EU28_EXTRA",
    "INT_EU28": "EU28_INTRA",
    # Geonomenclature pseudo-partners (ISO user-assigned range QM-QZ).
    "QP": "HIGH_SEAS",
    "QQ": "STORES_PROVISIONS",
    "QR": "STORES_PROVISIONS_INTRA_EU",
    "QS": "STORES_PROVISIONS_EXTRA_EU",
    "QU": "NOT_SPECIFIED",
    "QV": "NOT_SPECIFIED_INTRA_EU",
    "QW": "NOT_SPECIFIED_EXTRA_EU",
    "QX": "CONFIDENTIAL",
    "QY": "CONFIDENTIAL_INTRA_EU",
    "QZ": "CONFIDENTIAL_EXTRA_EU",
    # Geonomenclature codes that are not ISO 3166-1 country codes.
    "XC": "CEUTA",
    "XL": "MELILLA",
    "XS": "RS",
    "XI": "UK_NORTHERN_IRELAND",
    "XU": "UK_EXCL_NI",
}
#: The non-country partner codes this module produces, with their meaning: a view of the vocabulary
#: (:data:`oilflows.codes.NON_COUNTRY`, source ``comext``; issue 13).
PARTNER_REGIONS: dict[str, str] = {code: codes.NON_COUNTRY[code].meaning
                                   for code in sorted(codes.non_country_codes("comext"))}

#: Columns an SDMX-CSV file of DS-045409 may have besides its dimensions.
SDMX_EXTRA_COLUMNS = ("DATAFLOW", "LAST UPDATE", "TIME_PERIOD", "OBS_VALUE", "OBS_FLAG", "CONF_STATUS")

_DATAFLOW_ID = re.compile(r"^(?:[A-Z0-9_]+:)?([A-Za-z0-9_\-]+)(?:\(.*\))?$")
_PSEUDO_Q = re.compile(r"^Q[M-Z]$")


# -- code maps ------------------------------------------------------------------------------------


def partner_code(code: str) -> str:
    """The canonical partner of one Comext partner code (see :data:`PARTNER_CODES`)."""
    code = code.strip()
    if code in PARTNER_CODES:
        return PARTNER_CODES[code]
    if _PSEUDO_Q.match(code):
        return f"COMEXT_{code}"
    return code


def product_and_grade(code: str) -> tuple[str, str | None]:
    """Canonical ``(product, grade)`` of a Comext product code.

    ``27090090`` -> ``("crude_oil", "27090090")``; ``2709`` -> ``("crude_oil", None)``;
    ``27101943`` -> ``("cn_27101943", None)``.
    """
    for heading, product in PRODUCT_HEADINGS.items():
        if code.startswith(heading):
            return product, (code if len(code) == 8 else None)
    return f"cn_{code}", None


def _map_unique(series: pd.Series, function) -> pd.Series:
    uniques = pd.unique(series.astype(str))
    return codes.map_codes(series.astype(str), {u: function(u) for u in uniques})


# -- read: SDMX-CSV -------------------------------------------------------------------------------


def read(src: Source, *, combine_cn8: bool = False, name: str | None = None) -> pd.DataFrame:
    """Read an SDMX-CSV 1.0 file of DS-045409 (plain or gzip) into the canonical frame.

    Parameters
    ----------
    src : path, bytes or binary file object
        The body :func:`fetch` downloads (``format=SDMX-CSV``), header
        ``DATAFLOW,LAST UPDATE,freq,reporter,partner,product,flow,indicators,TIME_PERIOD,OBS_VALUE``
        optionally followed by ``OBS_FLAG`` and ``CONF_STATUS``.
    combine_cn8 : bool
        Sum the crude-oil CN8 codes into one row per key (``grade`` null); see :func:`sum_cn8`.
    name : str, optional
        Name used in error messages (defaults to the path).

    Returns
    -------
    pandas.DataFrame
        The canonical frame: ``value`` in EUR, ``mass_t`` in tonnes, one row per CN8 code.

    Raises
    ------
    SourceFormatError
        Empty file, HTML/XML/JSON instead of CSV, another dataflow, missing or unexpected columns,
        unknown indicator or flow codes, duplicate observations, overlapping product levels.
    """
    data, name = read_bytes(src, name)
    data = gunzip_if_needed(data, name)
    if not data.strip():
        raise SourceFormatError(name, "the file is empty")
    kind = sniff_text_kind(data)
    if kind == "markup":
        raise SourceFormatError(name, f"expected SDMX-CSV, found an HTML/XML page: {markup_title(data)!r}")
    if kind == "json":
        excerpt = " ".join(data[:300].decode("utf-8", "replace").split())
        raise SourceFormatError(name, f"expected SDMX-CSV, found JSON: {excerpt}")
    table = sdmx_csv.parse(data, name)
    _check_sdmx_columns(table.column_names, name)
    if table.num_rows == 0:
        raise SourceFormatError(name, "SDMX-CSV file has a header but no observations")
    _check_dataflow(table, name)
    check_flags(table["OBS_FLAG"].unique().to_pylist(), name)  # letters only, as in eurostat.read
    vintage = _vintage(table, name)
    long = _long_frame(table)
    _check_freq(long, name)
    wide = _pivot_indicators(long, name)
    wide["period"] = parse_periods(wide["period"], wide["freq"], name)
    frame = _to_canonical(wide, vintage, name)
    return sum_cn8(frame) if combine_cn8 else frame


def _check_sdmx_columns(columns: list[str], name: str) -> None:
    missing = [d for d in DIMS if d not in columns]
    if missing:
        raise SourceFormatError(
            name, f"DS-045409 needs dimension columns {list(DIMS)}; missing {missing} (found {columns})",
            missing[0],
        )
    unexpected = [c for c in columns if c not in DIMS and c not in SDMX_EXTRA_COLUMNS]
    if unexpected:
        raise SourceFormatError(
            name, f"unexpected columns {unexpected}: the layout of DS-045409 changed (expected "
            f"{list(DIMS)} plus {list(SDMX_EXTRA_COLUMNS)})", unexpected[0],
        )


def _check_dataflow(table: pa.Table, name: str) -> None:
    dataflows = table["DATAFLOW"].unique().to_pylist()
    if len(dataflows) != 1:
        raise SourceFormatError(name, f"expected one dataflow, found {dataflows[:5]}", "DATAFLOW")
    match = _DATAFLOW_ID.match(dataflows[0])
    if not match or match.group(1).upper() != DATAFLOW:
        raise SourceFormatError(name, f"file holds dataflow {dataflows[0]!r}, not {DATAFLOW}", "DATAFLOW")


def _vintage(table: pa.Table, name: str) -> pd.Timestamp | None:
    if "LAST UPDATE" not in table.column_names:
        return None
    stamps = table["LAST UPDATE"].unique().to_pylist()
    if len(stamps) != 1:
        raise SourceFormatError(name, f"expected one LAST UPDATE, found {stamps[:5]}", "LAST UPDATE")
    for pattern in ("%d/%m/%y %H:%M:%S", "%d/%m/%y"):
        try:
            return pd.to_datetime(stamps[0].strip(), format=pattern)
        except ValueError:
            continue
    raise SourceFormatError(name, f"LAST UPDATE {stamps[0]!r} is not DD/MM/YY HH:MM:SS", "LAST UPDATE")


def _long_frame(table: pa.Table) -> pd.DataFrame:
    flag = table["OBS_FLAG"]
    if "CONF_STATUS" in table.column_names:
        flag = merge_conf_status(flag, table["CONF_STATUS"])
    frame = pd.DataFrame({d: table[d].to_pandas().astype(object) for d in DIMS})
    frame["period"] = table["TIME_PERIOD"].to_pandas().astype(object)
    frame["obs"] = table["OBS_VALUE"].to_numpy(zero_copy_only=False)
    frame["flag"] = pd.Series(flag.to_pandas(), dtype=object).to_numpy()
    return frame


def _pivot_indicators(long: pd.DataFrame, name: str) -> pd.DataFrame:
    """Indicator rows -> one row per observation with ``value`` (EUR), ``mass_t`` (t) and ``flag``."""
    unknown = set(long["indicators"].unique()) - set(INDICATORS) - set(DROPPED_INDICATORS)
    if unknown:
        raise SourceFormatError(
            name, f"unknown indicators {sorted(unknown)}; expected {sorted(INDICATORS)}", "indicators"
        )
    index = ["freq", "reporter", "partner", "product", "flow", "period"]
    dup = long.duplicated(index + ["indicators"])
    if dup.any():
        example = long.loc[dup, index + ["indicators"]].iloc[0].to_dict()
        raise SourceFormatError(name, f"{int(dup.sum())} duplicate observations, e.g. {example}", "OBS_VALUE")
    long = long[long["indicators"].isin(list(INDICATORS))]
    if long.empty:
        raise SourceFormatError(name, f"no observations of {sorted(INDICATORS)}", "indicators")
    stacked = long.assign(present=True).set_index(index + ["indicators"])
    values = stacked["obs"].unstack("indicators")
    flags = stacked["flag"].unstack("indicators")
    present = stacked["present"].unstack("indicators", fill_value=False)
    wide = pd.DataFrame(index=values.index)
    for indicator, (column, divisor) in INDICATORS.items():
        wide[column] = values[indicator] / divisor if indicator in values else np.nan
    # The row's flag is the flag of the mass if the file has a mass row, else the flag of the value.
    none = pd.Series(None, index=values.index, dtype=object)
    mass_flag = flags["QUANTITY_IN_100KG"].astype(object) if "QUANTITY_IN_100KG" in flags else none
    value_flag = flags["VALUE_IN_EUROS"].astype(object) if "VALUE_IN_EUROS" in flags else none
    has_mass = present["QUANTITY_IN_100KG"] if "QUANTITY_IN_100KG" in present else none.notna()
    flag = mass_flag.where(has_mass.astype(bool), value_flag)
    wide["flag"] = flag.where(flag.notna(), None)
    confidential = wide["flag"].fillna("").str.contains(CONFIDENTIAL, regex=False)
    wide.loc[confidential, "mass_t"] = np.nan
    wide = wide.dropna(subset=["value", "mass_t", "flag"], how="all")
    return wide.reset_index()


# -- canonical ------------------------------------------------------------------------------------


def _to_canonical(frame: pd.DataFrame, vintage: pd.Timestamp | None, name: str) -> pd.DataFrame:
    """Columns freq, reporter, partner, product, flow (Comext codes), period, value, mass_t, flag ->
    the canonical frame."""
    if frame.empty:
        return empty_frame()
    _check_freq(frame, name)
    bad_flow = set(frame["flow"].astype(str).unique()) - set(FLOWS)
    if bad_flow:
        raise SourceFormatError(
            name, f"unknown flow codes {sorted(bad_flow)}; expected 1 (import) or 2 (export)", "flow"
        )
    frame = frame.copy()
    frame["flow"] = codes.map_codes(frame["flow"].astype(str), FLOWS)
    frame["reporter"] = codes.map_codes(frame["reporter"].astype(str), REPORTER_CODES)
    frame["partner"] = _map_unique(frame["partner"], partner_code)
    raw_product = frame["product"].astype(str)
    pairs = {u: product_and_grade(u) for u in pd.unique(raw_product)}
    frame["product"] = codes.map_codes(raw_product, {k: p for k, (p, _) in pairs.items()})
    frame["grade"] = raw_product.map({k: g for k, (_, g) in pairs.items()}).astype(object)
    frame["grade"] = frame["grade"].where(frame["grade"].notna(), None)
    frame["source"] = SOURCE
    frame["dataset"] = DATASET
    frame["vintage"] = pd.Timestamp(vintage) if vintage is not None else pd.NaT
    frame["currency"] = np.where(frame["value"].notna(), "EUR", None)
    for column in COLUMNS:
        if column not in frame.columns:
            frame[column] = None
    _check_levels(frame, name)
    dup = frame.duplicated(list(OBSERVATION_KEY), keep=False)
    if dup.any():
        example = frame.loc[dup, ["reporter", "partner", "product", "grade", "flow", "period"]].head(2)
        raise SourceFormatError(
            name, f"{int(dup.sum())} rows share a key after mapping codes (e.g. two spellings of one "
            f"aggregate): {example.to_dict('records')}", "partner",
        )
    return _sorted(conform(frame[list(COLUMNS)]))


def _check_freq(frame: pd.DataFrame, name: str) -> None:
    bad = set(frame["freq"].unique()) - {"M", "A"}
    if bad:
        raise SourceFormatError(name, f"unsupported frequencies {sorted(bad)}; expected M or A", "freq")


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    order = ["reporter", "partner", "product", "grade", "flow", "freq", "period"]
    return frame.sort_values(order, kind="stable", na_position="first").reset_index(drop=True)


def _check_levels(frame: pd.DataFrame, name: str) -> None:
    """Refuse crude oil given both at heading level (2709/270900) and CN8 level: they overlap."""
    crude = frame[frame["product"] == "crude_oil"]
    if crude.empty:
        return
    keys = ["reporter", "partner", "flow", "freq", "period"]
    levels = crude.assign(cn8=crude["grade"].notna()).groupby(keys, dropna=False)["cn8"].nunique()
    if (levels > 1).any():
        raise SourceFormatError(
            name, "crude oil is given both as HS heading (2709/270900) and as CN8 codes for the same "
            "key; they overlap: request one level", "product",
        )


def sum_cn8(frame: pd.DataFrame) -> pd.DataFrame:
    """Sum Comext crude-oil CN8 rows (condensates 27090010 + other 27090090) into one row per key.

    Only rows with ``source == "comext"``, ``product == "crude_oil"`` and a grade are combined; the result
    has ``grade`` null. A sum is null when any of its parts is null (a confidential or missing part
    makes the total unknown, never understated); flags are the union of the parts' flags.
    """
    parts_mask = (frame["source"] == SOURCE) & (frame["product"] == "crude_oil") & frame["grade"].notna()
    if not parts_mask.any():
        return frame
    parts = frame[parts_mask]
    keys = [k for k in OBSERVATION_KEY if k != "grade"] + ["vintage"]
    grouped = parts.groupby(keys, dropna=False, sort=False)
    measures = ["value", "mass_t"]
    sums = grouped[measures].sum(min_count=1)
    complete = grouped[measures].count().eq(grouped.size(), axis=0)
    sums = sums.where(complete)
    sums["flag"] = grouped["flag"].agg(lambda s: "".join(sorted(set("".join(s.dropna())))) or None)
    combined = sums.reset_index()
    combined["currency"] = np.where(combined["value"].notna(), "EUR", None)
    combined["grade"] = None
    for column in COLUMNS:
        if column not in combined.columns:
            combined[column] = None
    out = pd.concat([frame[~parts_mask], conform(combined[list(COLUMNS)])], ignore_index=True)
    dup = out.duplicated(list(OBSERVATION_KEY) + ["vintage"], keep=False)
    if dup.any():
        raise SchemaError(f"sum_cn8: {int(dup.sum())} summed rows collide with heading-level rows")
    return _sorted(conform(out))


# -- fetch ----------------------------------------------------------------------------------------

#: Seconds between polls of an asynchronous extraction, and the most to wait for it.
ASYNC_POLL_SECONDS = 10.0
ASYNC_MAX_WAIT_SECONDS = 1800.0
#: The most data requests one :func:`fetch` sends while splitting a too-big query.
MAX_REQUESTS = 64

_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_PRODUCT = re.compile(r"^(\d{2}|\d{4}|\d{6}|\d{8}|TOTAL)$")
_PERIOD = re.compile(r"^(\d{4})(?:-(\d{2}))?$")


@dataclass(frozen=True)
class Query:
    """One DS-045409 request: codes per dimension (``None`` = wildcard) and a period range."""

    freq: str
    reporter: tuple[str, ...] | None
    partner: tuple[str, ...] | None
    product: tuple[str, ...] | None
    flow: tuple[str, ...]
    indicators: tuple[str, ...]
    start: str | None = None
    end: str | None = None

    def key(self) -> str:
        """The SDMX 2.1 key ``freq.reporter.partner.product.flow.indicators``."""
        positions = [(self.freq,), self.reporter, self.partner, self.product, self.flow, self.indicators]
        return ".".join("+".join(p) if p else "" for p in positions)

    def params(self) -> dict[str, str]:
        """Query parameters in the documented order: startPeriod, endPeriod, format."""
        params = {}
        if self.start is not None:
            params["startPeriod"] = self.start
        if self.end is not None:
            params["endPeriod"] = self.end
        params["format"] = "SDMX-CSV"
        return params


def _codes(value: str | Iterable[str] | None, dim: str, pattern: re.Pattern, hint: str = "") -> tuple | None:
    if value is None:
        return None
    values = [value] if isinstance(value, str) else [str(v) for v in value]
    bad = [v for v in values if not pattern.match(v)]
    if not values or bad:
        raise QueryError(f"comext DS-045409: bad {dim} codes {bad or values!r}{hint}")
    return tuple(v.upper() for v in values)


def _flows(flow: str | int | Iterable[str | int]) -> tuple[str, ...]:
    values = [flow] if isinstance(flow, str | int) else list(flow)
    out = []
    for v in values:
        code = FLOW_CODES.get(str(v).lower(), str(v))
        if code not in FLOWS:
            raise QueryError(f"comext DS-045409: flow {v!r} is not import/export (1/2)")
        out.append(code)
    if not out:
        raise QueryError("comext DS-045409: no flow given")
    return tuple(out)


def build_query(
    reporter: str | Sequence[str] | None = "DE",
    partner: str | Sequence[str] | None = ("KZ", "RU"),
    product: str | Sequence[str] | None = CRUDE_CN8,
    flow: str | int | Sequence[str | int] = "import",
    *,
    start: str | None = None,
    end: str | None = None,
    freq: str = "M",
    indicators: str | Sequence[str] = DEFAULT_INDICATORS,
) -> Query:
    """Validate the arguments of :func:`fetch` into a :class:`Query` (:class:`QueryError` if bad)."""
    freq = str(freq).upper()
    if freq not in ("M", "A"):
        raise QueryError(f"comext DS-045409: freq {freq!r} is not M or A")
    numeric = " (reporter and partner are ISO-2 codes; old numeric Comext codes give an empty answer)"
    query = Query(
        freq=freq,
        reporter=_codes(reporter, "reporter", _CODE, numeric),
        partner=_codes(partner, "partner", _CODE, numeric),
        product=_codes(product, "product", _PRODUCT, " (2, 4, 6 or 8 digits; CN8 is the finest level)"),
        flow=_flows(flow),
        indicators=_codes(indicators, "indicators", re.compile(r"^[A-Z_0-9]+$"), "") or (),
    )
    unknown = set(query.indicators) - set(INDICATORS) - set(DROPPED_INDICATORS)
    if unknown or not query.indicators:
        raise QueryError(f"comext DS-045409: unknown indicators {sorted(unknown)}; known: "
                         f"{sorted(INDICATORS) + list(DROPPED_INDICATORS)}")
    for label, period in (("startPeriod", start), ("endPeriod", end)):
        if period is not None and not _period_ok(str(period), freq):
            raise QueryError(f"comext DS-045409: {label} {period!r} is not YYYY or YYYY-MM"
                             + (" (freq A takes YYYY)" if freq == "A" else ""))
    return replace(query, start=None if start is None else str(start), end=None if end is None else str(end))


def _period_ok(period: str, freq: str) -> bool:
    match = _PERIOD.match(period)
    if not match:
        return False
    if match.group(2) is None:
        return True
    return freq == "M" and 1 <= int(match.group(2)) <= 12


def request_url(
    reporter: str | Sequence[str] | None = "DE",
    partner: str | Sequence[str] | None = ("KZ", "RU"),
    product: str | Sequence[str] | None = CRUDE_CN8,
    flow: str | int | Sequence[str | int] = "import",
    *,
    start: str | None = None,
    end: str | None = None,
    freq: str = "M",
    indicators: str | Sequence[str] = DEFAULT_INDICATORS,
) -> tuple[str, dict[str, str]]:
    """The SDMX 2.1 data URL and query parameters of a DS-045409 request.

    ``None`` for reporter, partner or product is a wildcard (an empty key position). Codes keep the order
    given. Example: ``request_url("DE", ("KZ", "RU"), ("27090090", "27090010"), start="2020-01")`` gives
    ``{BASE_URL}/sdmx/2.1/data/DS-045409/M.DE.KZ+RU.27090090+27090010.1.VALUE_IN_EUROS+QUANTITY_IN_100KG``
    with ``{"startPeriod": "2020-01", "format": "SDMX-CSV"}``.
    """
    query = build_query(reporter, partner, product, flow, start=start, end=end, freq=freq,
                        indicators=indicators)
    return _url(query), query.params()


def _url(query: Query, base_url: str | None = None) -> str:
    return f"{(base_url or BASE_URL).rstrip('/')}/sdmx/2.1/data/{DATAFLOW}/{query.key()}"


#: The defaults of the deprecated call form ``fetch(reporter, partner, product, flow, ...)``.
_OLD_DEFAULTS = {"reporter": "DE", "partner": ("KZ", "RU"), "product": CRUDE_CN8, "flow": "import"}
_UNSET = object()


def fetch(
    dataset: str | None = None,
    *old_args: object,
    reporter: str | Sequence[str] | None = _UNSET,  # type: ignore[assignment]
    partner: str | Sequence[str] | None = _UNSET,  # type: ignore[assignment]
    product: str | Sequence[str] | None = _UNSET,  # type: ignore[assignment]
    start: str | None = None,
    end: str | None = None,
    base_url: str | None = None,
    flow: str | int | Sequence[str | int] = _UNSET,  # type: ignore[assignment]
    freq: str = "M",
    indicators: str | Sequence[str] = DEFAULT_INDICATORS,
    combine_cn8: bool = False,
    poll_seconds: float = ASYNC_POLL_SECONDS,
    max_wait_seconds: float = ASYNC_MAX_WAIT_SECONDS,
    max_requests: int = MAX_REQUESTS,
) -> pd.DataFrame:
    """Download DS-045409 from the Comext SDMX 2.1 API and return the canonical frame.

    The fetch signature of every source (docs/fetching.md)::

        fetch("DS-045409", reporter="DE", partner=["KZ", "RU"], product=CRUDE_CN8, start="2020-01",
              end="2023-12", flow="import")

    `dataset` is the dataflow id ``"DS-045409"`` (the only one; ``"ds-045409"`` too). `reporter`,
    `partner` are ISO-2 codes and `product` CN codes (2, 4, 6 or 8 digits), one or a list; ``None`` (the
    default) is a wildcard for `reporter` and `partner`, and crude oil (:data:`CRUDE_CN8`) for `product`
    (as for Comtrade and GENESIS: all of CN is always too big). `start`/`end` are ``YYYY`` or
    ``YYYY-MM`` (QueryError before any request for a malformed period, a start after the end, or a month
    with ``freq="A"``). `base_url` replaces
    :data:`BASE_URL`. No credential is needed. Source-specific: `flow` (import/export or 1/2, default
    import), `freq` (M or A), `indicators`, `combine_cn8` (see :func:`sum_cn8`), the asynchronous-extraction
    polling interval and limit (seconds), and `max_requests`, the most data requests sent while
    splitting a too-big query.

    Deprecated (until the next release, with a DeprecationWarning): the old form
    ``fetch(reporter="DE", partner=("KZ", "RU"), product=CRUDE_CN8, flow="import", *, start, end, ...)``,
    positional or keyword, without `dataset`; its defaults (DE, KZ+RU, the crude CN8 codes) apply there.

    Handles (:func:`oilflows.sources._eurostat_api.classify`, shared with Eurostat): retries of 429/5xx
    honouring Retry-After (:mod:`oilflows.http`); 413 EXTRACTION_TOO_BIG, "too large" and "exceeds" (the
    query is split: period halves first, then partners, products, reporters, and each part fetched;
    :class:`FetchError` if it cannot be split further or `max_requests` is exceeded); a queued extraction
    (polled at ``/1.0/async/status/{key}``, then downloaded); 404 "No results found" or a header-only
    body (an empty frame and a warning: wrong codes also answer so); an HTML outage page
    (:class:`FetchError`). Bodies that do not parse raise :class:`SourceFormatError` naming the URL.
    """
    given = {"reporter": reporter, "partner": partner, "product": product, "flow": flow}
    if dataset is not None and str(dataset).upper() == DATAFLOW:
        if old_args:
            raise TypeError("comext.fetch() takes only the dataset as a positional argument")
        given = {k: (None if v is _UNSET else v) for k, v in given.items()}
        given["flow"] = "import" if flow is _UNSET else flow
        given["product"] = CRUDE_CN8 if product is _UNSET or product is None else product
    else:
        if dataset is not None and str(dataset).upper().startswith("DS-"):
            from ..errors import UnknownDatasetError

            raise UnknownDatasetError(str(dataset), (DATAFLOW,), source=SOURCE)
        positional = ([] if dataset is None else [dataset]) + list(old_args)
        if len(positional) > 4:
            raise TypeError(f"comext.fetch() takes at most 4 positional arguments in its old form "
                            f"({len(positional)} given)")
        for name, value in zip(_OLD_DEFAULTS, positional, strict=False):
            if given[name] is not _UNSET:
                raise TypeError(f"comext.fetch() got multiple values for argument {name!r}")
            given[name] = value
        given = {k: (_OLD_DEFAULTS[k] if v is _UNSET else v) for k, v in given.items()}
        deprecated(SOURCE, "reporter, partner, product, flow, ...", call_text(
            SOURCE, DATAFLOW, **{k: v for k, v in given.items() if k != "flow"}, start=start, end=end,
            flow=given["flow"]))
    check_periods(start, end, f"comext {DATAFLOW}", ("startPeriod", "endPeriod"))
    query = build_query(given["reporter"], given["partner"], given["product"], given["flow"], start=start,
                        end=end, freq=freq, indicators=indicators)
    base = (base_url or BASE_URL).rstrip("/")

    def fetch_one(part: Query) -> pd.DataFrame | None:
        return get_data(_url(part, base), part.params(), _frame, base_url=base, poll_seconds=poll_seconds,
                        max_wait_seconds=max_wait_seconds)

    def cannot_split(part: Query, too_big: TooBig) -> FetchError:
        return FetchError(too_big.where, f"extraction too big for Comext ({too_big.detail}) and the query "
                          "cannot be split further (one period, partner, product and reporter); "
                          "pass start= and end=, or name the partners", status=too_big.status)

    budget = Budget(max_requests, lambda sent: FetchError(
        _url(query, base), f"gave up splitting a too-big query after {sent} requests (max_requests); "
        "narrow the query"))
    frames = [f for f in fetch_split([query], fetch_one, split_query, cannot_split, budget=budget)
              if f is not None]
    if not frames:
        warnings.warn(f"comext: no observations for {_url(query, base)} {query.params()}; check the codes "
                      "(wrong or numeric codes also give an empty answer)", UserWarning, stacklevel=2)
        return empty_frame()
    frame = frames[0] if len(frames) == 1 else _sorted(conform(pd.concat(frames, ignore_index=True)))
    return sum_cn8(frame) if combine_cn8 else frame


def _frame(body: bytes, url: str) -> pd.DataFrame | None:
    """The frame of a data body, None for a header-only body (how an empty selection may answer)."""
    return None if _header_only(body) else read(body, name=url)


def _header_only(body: bytes, name: str | None = None) -> bool:
    """True for an SDMX-CSV body with a header and no rows (how an empty selection may answer); looks
    at the first 64 KiB of the text only (:func:`oilflows._io.body_head`)."""
    head, complete = body_head(body, 1 << 16)
    if not complete:
        return False
    lines = [line for line in head.splitlines() if line.strip()]
    return len(lines) == 1 and lines[0].lstrip(b"\xef\xbb\xbf").startswith(b"DATAFLOW")


def split_query(query: Query) -> list[Query]:
    """Two smaller queries covering `query`, or [] if it cannot be split.

    Splits the period range in halves when both ``start`` and ``end`` are given and span more than one
    period (:func:`oilflows.sources._fetch.halve_periods`); otherwise halves the partners, then the
    products, then the reporters.
    """
    halves = halve_periods(query.start, query.end, query.freq)
    if halves:
        return [replace(query, start=s, end=e) for s, e in halves]
    for dim in ("partner", "product", "reporter"):
        values = getattr(query, dim)
        if values and len(values) > 1:
            half = math.ceil(len(values) / 2)
            return [replace(query, **{dim: values[:half]}), replace(query, **{dim: values[half:]})]
    return []


# -- bulk files -----------------------------------------------------------------------------------

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

__all__ = ["BASE_URL", "CRUDE_CN8", "DATASET", "DEFAULT_INDICATORS", "FLOWS", "INDICATORS",
           "SOURCE", "Query", "build_query", "fetch", "iter_bulk", "partner_code",
           "product_and_grade", "read", "read_bulk", "request_url", "split_query", "sum_cn8"]
