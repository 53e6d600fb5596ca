"""GENESIS long frame of table 51000-0017/51000-0010 -> the canonical frame: periods, partners, products,
units and flags (the mapping is documented in :mod:`oilflows.sources.genesis`, used by its ``read``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import SourceFormatError
from ..schema import COLUMNS, PERIOD_YEARS, conform, empty_frame
from ._genesis_codes import (
    _MONTH,
    _WA4,
    _WA8,
    CONTENTS,
    COUNTRIES_FILE,
    CRUDE_HEADINGS,
    CURRENCY,
    DROPPED_CONTENTS,
    SOURCE,
    STLAH_ISO,
    STLAH_LABELS,
    STLAH_PARTNER,
    UNITS,
    _name_key,
    country_iso,
)
from ._genesis_parse import (
    CANONICAL_FLAG,
    QUALITY_MARKS,
)


def _check_statistic(long: pd.DataFrame, name: str) -> None:
    statistics = sorted(long["statistics_code"].unique())
    if statistics != ["51000"]:
        raise SourceFormatError(name, f"expected the foreign-trade statistic 51000, found {statistics}",
                                "statistics_code")
    times = sorted(long["time_code"].unique())
    if times != ["JAHR"]:
        raise SourceFormatError(name, f"expected time_code JAHR (years), found {times}", "time_code")


def _attribute(long: pd.DataFrame, n: int) -> tuple[pd.Series, pd.Series]:
    return long[f"{n}_variable_attribute_code"].astype(str), long[f"{n}_variable_attribute_label"].astype(str)


def _cells(long: pd.DataFrame, dims: Mapping[str, int], name: str) -> pd.DataFrame:
    """One row per kept value cell: flow, measure, partner, stlah, product, grade, period, v, flag."""
    marks = sorted(set(long["value_q"].dropna().unique()) - set(QUALITY_MARKS))
    if marks:
        known = ", ".join(f"{k} ({v})" for k, v in QUALITY_MARKS.items())
        raise SourceFormatError(name, f"unknown quality marks {[m[:20] for m in marks[:5]]}; known: {known}",
                                "value_q")
    content = long["value_variable_code"].astype(str)
    unknown = sorted(set(content.unique()) - set(CONTENTS) - set(DROPPED_CONTENTS))
    if unknown:
        raise SourceFormatError(name, f"unknown contents {unknown}; known: {sorted(CONTENTS)} "
                                      f"(and {sorted(DROPPED_CONTENTS)}, dropped)", "value_variable_code")
    long = long.loc[content.isin(list(CONTENTS)).to_numpy()]
    content = long["value_variable_code"].astype(str)
    cells = pd.DataFrame(index=long.index)
    cells["flow"] = content.map(lambda c: CONTENTS[c][0])
    cells["measure"] = content.map(lambda c: CONTENTS[c][1])
    cells["v"] = long["value"] * _unit_factors(cells["measure"], long["value_unit"], name)
    months = _attribute(long, dims["MONAT"])[0] if "MONAT" in dims else pd.Series("MONAT01", index=long.index)
    cells["period"] = _periods(long["time"], months, name)
    cells["partner"], cells["stlah"] = _partners(*_attribute(long, dims["STLAH"]), name)
    goods = "WAM8" if "WAM8" in dims else "WAM4"
    cells["product"], cells["grade"] = _products(_attribute(long, dims[goods])[0], name)
    flag = long["special"].map(lambda s: CANONICAL_FLAG.get(s, "") if isinstance(s, str) else "")
    cells["flag"] = flag + long["value_q"].fillna("")
    return cells


def _unit_factors(measure: pd.Series, unit: pd.Series, name: str) -> np.ndarray:
    pairs = pd.DataFrame({"measure": measure, "unit": unit.fillna("").astype(str)})
    factors = np.full(len(pairs), np.nan)
    for (kind, text), index in pairs.groupby(["measure", "unit"], sort=True).indices.items():
        if text not in UNITS[kind]:
            raise SourceFormatError(name, f"unit {text!r} for {kind}: expected one of {sorted(UNITS[kind])}",
                                    "value_unit")
        factors[index] = UNITS[kind][text]
    return factors


def _periods(year: pd.Series, month: pd.Series, name: str) -> pd.Series:
    """First day of the month from the year (``time``) and the ``MONATnn`` attribute code."""
    bad_years = sorted({str(y) for y in year.unique() if not re.fullmatch(r"\d{4}", str(y))
                        or not PERIOD_YEARS[0] <= int(y) <= PERIOD_YEARS[1]})
    if bad_years:
        raise SourceFormatError(name, f"unreadable years {bad_years[:5]}; expected YYYY in "
                                      f"{PERIOD_YEARS[0]}-{PERIOD_YEARS[1]}", "time")
    bad_months = sorted({m for m in month.unique() if not _MONTH.match(m)})
    if bad_months:
        raise SourceFormatError(name, f"unreadable months {bad_months[:5]}; expected MONAT01..MONAT12",
                                "MONAT")
    text = year.astype(str) + "-" + month.str[5:7] + "-01"
    return pd.to_datetime(text, format="%Y-%m-%d").astype("datetime64[s]")


def _partners(code: pd.Series, label: pd.Series, name: str) -> tuple[pd.Series, pd.Series]:
    """Partner ISO codes from the country labels, cross-checked against :data:`STLAH_ISO`."""
    pairs = pd.DataFrame({"code": code, "label": label}).drop_duplicates()
    iso_of: dict[tuple[str, str], str] = {}
    unknown, conflicts = [], []
    for stlah, text in pairs.itertuples(index=False):
        if _name_key(text) in STLAH_LABELS.get(stlah, ()):  # the code's own label in the country list
            iso_of[(stlah, text)] = STLAH_PARTNER[stlah]
            continue
        iso = country_iso(text)
        if iso is None:
            unknown.append(f"{stlah} {text!r}")
            continue
        listed = STLAH_ISO.get(stlah) or STLAH_PARTNER.get(stlah)
        if listed is not None and listed != iso:
            where = "STLAH_ISO" if stlah in STLAH_ISO else COUNTRIES_FILE
            conflicts.append(f"{stlah} is {listed} in {where} but labelled {text!r} ({iso})")
        iso_of[(stlah, text)] = iso
    if unknown:
        raise SourceFormatError(name, f"unknown country labels {unknown[:10]}; add them to "
                                      f"{COUNTRIES_FILE} or COUNTRY_NAMES_BY_ISO", "STLAH")
    if conflicts:
        raise SourceFormatError(name, "; ".join(conflicts[:5]), "STLAH")
    iso = pd.Series([iso_of[p] for p in zip(code, label, strict=True)], index=code.index, dtype=object)
    shared = pd.DataFrame({"iso": iso, "code": code}).drop_duplicates().groupby("iso")["code"].unique()
    shared = shared[shared.map(len) > 1]
    if len(shared):
        raise SourceFormatError(name, f"several STLAH codes map to one partner: "
                                      f"{ {k: sorted(v) for k, v in shared.items()} }", "STLAH")
    return iso, code.astype(object)


def _products(goods: pd.Series, name: str) -> tuple[pd.Series, pd.Series]:
    """(product, grade) of ``WA`` + CN8 codes: crude_oil with grade ``CN<code>`` for CN 2709. The
    4-digit codes of 51000-0010 (``WA2709``): crude_oil without grade; others ``cn4_<code>``."""
    if len(goods) and goods.iloc[0].startswith("WA") and len(goods.iloc[0]) == 6:
        cn4 = goods.str.extract(_WA4, expand=False)
        if cn4.isna().any():
            bad = sorted(goods[cn4.isna()].unique())[:5]
            raise SourceFormatError(name, f"unreadable goods codes {bad}; expected WA + 4 digits", "WAM4")
        crude = cn4.isin(list(CRUDE_HEADINGS))
        return ("cn4_" + cn4).where(~crude, "crude_oil").astype(object), pd.Series(None, index=goods.index,
                                                                                   dtype=object)
    cn8 = goods.str.extract(_WA8, expand=False)
    if cn8.isna().any():
        bad = sorted(goods[cn8.isna()].unique())[:5]
        raise SourceFormatError(name, f"unreadable goods codes {bad}; expected WA + 8 digits", "WAM8")
    crude = cn8.str[:4].isin(list(CRUDE_HEADINGS))
    product = ("cn8_" + cn8).where(~crude, "crude_oil").astype(object)
    grade = ("CN" + cn8).where(crude, None).astype(object)
    return product, grade


def _canonical(
    cells: pd.DataFrame, name: str, vintage: pd.Timestamp | str | None, dataset: str = "51000-0017",
    freq: str = "M",
) -> pd.DataFrame:
    """Pivot the cells to one row per (flow, partner, product, grade, period)."""
    if cells.empty:
        return empty_frame()
    keys = ["flow", "partner", "product", "grade", "period"]
    cells = cells.assign(grade=cells["grade"].fillna(""))
    duplicated = cells.duplicated(keys + ["measure"], keep=False)
    if duplicated.any():
        example = cells.loc[duplicated, keys + ["measure"]].head(2).astype(str).to_dict("records")
        raise SourceFormatError(name, f"{int(duplicated.sum())} cells occur twice, e.g. {example}", "value")
    values = cells.pivot(index=keys, columns="measure", values="v")
    flags = cells.pivot(index=keys, columns="measure", values="flag")  # NaN where no cell exists
    frame = values.index.to_frame(index=False)
    eur_flows = set(cells.loc[cells["measure"] == "value_eur", "flow"])
    measure = np.where(frame["flow"].isin(eur_flows), "value_eur", "value_usd")

    def column(table: pd.DataFrame, key: str) -> np.ndarray:
        return table[key].to_numpy() if key in table else np.full(len(table), np.nan, dtype=object)

    has_value = np.where(measure == "value_eur", pd.notna(column(flags, "value_eur")),
                         pd.notna(column(flags, "value_usd")))
    frame["value"] = np.where(measure == "value_eur", column(values, "value_eur"),
                              column(values, "value_usd")).astype(float)
    frame["mass_t"] = column(values, "mass").astype(float)
    mass_flag = column(flags, "mass")
    value_flag = np.where(measure == "value_eur", column(flags, "value_eur"), column(flags, "value_usd"))
    has_mass = pd.notna(mass_flag)
    flag = pd.Series(np.where(has_mass, mass_flag, value_flag), dtype=object).fillna("")
    frame["flag"] = flag.where(flag != "", None)
    frame["currency"] = np.where(pd.notna(frame["value"]), pd.Series(measure).map(CURRENCY), None)
    frame = frame.loc[has_mass | has_value].reset_index(drop=True)
    frame["grade"] = frame["grade"].where(frame["grade"] != "", None)
    frame["source"] = SOURCE
    frame["dataset"] = dataset
    frame["vintage"] = pd.Timestamp(vintage) if vintage is not None else pd.NaT
    frame["freq"] = freq
    frame["reporter"] = "DE"
    for column_name in COLUMNS:
        if column_name not in frame.columns:
            frame[column_name] = None
    return conform(frame[list(COLUMNS)])
