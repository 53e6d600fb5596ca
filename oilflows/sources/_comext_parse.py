"""Comext SDMX-CSV of DS-045409 -> the canonical frame: column and dataflow checks, the vintage, the
indicator pivot, the canonical conversion shared with the bulk reader, and :func:`sum_cn8`. No network.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa

from .. import codes
from ..errors import SchemaError, SourceFormatError
from ..formats.sdmx_csv import merge_conf_status
from ..schema import COLUMNS, CONFIDENTIAL, OBSERVATION_KEY, conform, empty_frame
from ._comext_codes import (
    DATAFLOW,
    DATASET,
    DIMS,
    DROPPED_INDICATORS,
    FLOWS,
    INDICATORS,
    REPORTER_CODES,
    SOURCE,
    _map_unique,
    partner_code,
    product_and_grade,
)

#: Columns an SDMX-CSV file of DS-045409 may have besides its dimensions.
SDMX_EXTRA_COLUMNS = ("DATAFLOW", "LAST UPDATE", "TIME_PERIOD", "OBS_VALUE", "OBS_FLAG", "CONF_STATUS")
_DATAFLOW_ID = re.compile(r"^(?:[A-Z0-9_]+:)?([A-Za-z0-9_\-]+)(?:\(.*\))?$")


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
    frame["currency"] = np.where(frame["value"].notna(), "EUR", None)  # type: ignore[call-overload]  # numpy's stubs leave out None (an object array)
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
    combined["currency"] = np.where(combined["value"].notna(), "EUR", None)  # type: ignore[call-overload]  # as above
    combined["grade"] = None
    for column in COLUMNS:
        if column not in combined.columns:
            combined[column] = None
    out = pd.concat([frame[~parts_mask], conform(combined[list(COLUMNS)])], ignore_index=True)
    dup = out.duplicated(list(OBSERVATION_KEY) + ["vintage"], keep=False)
    if dup.any():
        raise SchemaError(f"sum_cn8: {int(dup.sum())} summed rows collide with heading-level rows")
    return _sorted(conform(out))


__all__ = ["SDMX_EXTRA_COLUMNS", "sum_cn8"]
