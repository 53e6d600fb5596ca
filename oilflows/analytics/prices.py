"""Unit values (value per barrel) by grade or partner, and the monthly price spread between two grades.

Methods note section 10. A unit value is value / volume in the source's currency per barrel (Eurostat
nrg_ti_coifpm and the EU register: CIF US dollars per barrel). Where a cell's value is confidential but
the source publishes its average price, that price is used (``basis`` says so) and, to weight it, its
value is taken as price x barrels. Prices of several grades or months are **never** averaged unweighted:
a group's unit value is sum(value) / sum(barrels) over its priced cells. A cell whose volume is
confidential cannot be weighted; its published price is shown only on its own (grade, month) row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import AnalysisError
from ..routes import grade_caveats
from ..schema import CONFIDENTIAL, WORLD
from ._panel import Panel, build_panel, window
from ._plot import pyplot
from ._result import Result, legacy_ax, summary_method
from ._signature import call_forms

if TYPE_CHECKING:
    from matplotlib.axes import Axes

VALUE_BASIS = "value/volume"
PRICE_BASIS = "source average price (value confidential)"
PRICE_ONLY_BASIS = "source average price (volume confidential; not weighted)"
MIXED_BASIS = "value/volume and source prices x volume"


# -- unit values ------------------------------------------------------------------------------------


@dataclass
class UnitValuesResult(Result):
    """The result of :func:`unit_values`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per period and key (``partner`` and, for ``by="grade"``, ``grade``), plus ``WORLD`` rows
        (the source's total, confidential cells included): ``volume_bbl`` (disclosed barrels;
        NaN where every cell is confidential),
        ``priced_bbl`` (barrels with a value or a price), ``value`` (currency units, price x barrels
        where the value is confidential), ``unit_value`` (currency per barrel), ``basis``, ``cells``
        (source cells), ``confidential_cells``, ``unpriced_bbl`` (barrels without value or price).
    currency : str
        The source's currency (e.g. ``"USD"``).
    """

    reporter: str
    by: str
    freq: str
    source: str
    dataset: str
    currency: str
    table: pd.DataFrame
    caveats: list[str] = field(default_factory=list)
    panel: Panel | None = field(default=None, repr=False)

    def _repr_fields(self) -> dict:
        return {n: getattr(self, n) for n in ("reporter", "by", "freq", "currency", "dataset", "table")}

    def to_frame(self) -> pd.DataFrame:
        """The long table of unit values."""
        return self.table.copy()

    def wide(self) -> pd.DataFrame:
        """Periods x keys (grade codes, or partners) of unit values."""
        key = "grade" if self.by == "grade" else "partner"
        table = self.table.assign(key=self.table[key].fillna(self.table["partner"]))
        return table.pivot(index="period", columns="key", values="unit_value")

    @summary_method
    def summary(self, top: int = 10) -> str:
        """Unit values of the largest keys in the last period with prices, and WORLD."""
        priced = self.table[self.table["unit_value"].notna() & (self.table["partner"] != WORLD)]
        if priced.empty:
            return f"no priced cells for {self.reporter} in {self.source}/{self.dataset}"
        last = priced["period"].max()
        rows = self.table[self.table["period"] == last]
        world = rows[rows["partner"] == WORLD]
        biggest = rows[rows["partner"] != WORLD].sort_values("priced_bbl", ascending=False).head(top)
        label = f"{last:%Y}" if self.freq == "A" else f"{last:%Y-%m}"
        lines = [f"Unit values of {self.reporter}'s crude imports by {self.by}, {label} "
                 f"({self.source}/{self.dataset}; {self.currency} per barrel, weighted by barrels)",
                 f"{'key':<24}{'kbbl priced':>12}{'unit value':>11}  basis"]
        for _, row in pd.concat([biggest, world]).iterrows():
            key = row["grade"] if self.by == "grade" and pd.notna(row.get("grade")) else row["partner"]
            lines.append(f"{key!s:<24}{row['priced_bbl'] / 1e3:>12,.0f}"
                         f"{_num(row['unit_value']):>11}  {row['basis'] or ''}")
        if self.caveats:
            lines += ["", "Caveats:"] + [f"- {c}" for c in self.caveats]
        return "\n".join(lines)

    def plot(self, ax: Axes | None = None, keys: list[str] | None = None, top: int = 5) -> Axes:
        """Unit value over time for `keys` (default: the `top` keys by priced barrels) and WORLD.

        ``ax`` comes first since issue 14; the old ``plot(keys, ax)`` still works (deprecated)."""
        ax, keys = legacy_ax(ax, keys, "keys")
        plt = pyplot()
        wide = self.wide()
        if keys is None:
            key = "grade" if self.by == "grade" else "partner"
            volumes = (self.table[self.table["partner"] != WORLD].groupby(key)["priced_bbl"].sum())
            keys = list(volumes.nlargest(top).index)
        columns = [k for k in dict.fromkeys([*keys, WORLD]) if k in wide.columns]
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 4))
        for column in columns:
            style: dict[str, Any] = {"linestyle": "--", "color": "black"} if column == WORLD else {}
            ax.plot(wide.index, wide[column], label=column, **style)
        ax.set_ylabel(f"{self.currency} per barrel")
        ax.set_title(f"{self.reporter}: unit values by {self.by} ({self.dataset})")
        ax.legend(loc="upper left", fontsize="small", ncol=2)
        return ax


@call_forms(old_positional=("by", "freq", "dataset", "start", "end"))
def unit_values(
    frame: pd.DataFrame,
    reporter: str,
    *,
    by: str = "grade",
    freq: str = "M",
    dataset: str | None = None,
    start: str | None = None,
    end: str | None = None,
) -> UnitValuesResult:
    """Unit values (currency per barrel) of `reporter`'s crude imports by grade or by partner.

    Parameters
    ----------
    frame : pandas.DataFrame
        A canonical frame with ``value`` and/or ``price_per_bbl``.
    reporter : str
        The importer.
    by : {"grade", "partner"}
        One row per (partner, grade) or per partner (its grades weighted by barrels).
    freq : {"M", "A"}
        Monthly, or calendar years (months weighted by barrels).
    dataset : str, optional
        ``"dataset"`` or ``"source/dataset"``; needed when several datasets qualify (e.g. Germany
        2013-2019: the EU register and nrg_ti_coifpm) unless `start`/`end` leave only one.
    start, end : str, optional
        Inclusive months ``"YYYY-MM"``.

    Returns
    -------
    UnitValuesResult
    """
    if by not in ("grade", "partner"):
        raise AnalysisError(f"by must be 'grade' or 'partner', got {by!r}")
    if freq not in ("M", "A"):
        raise AnalysisError(f"freq must be 'M' or 'A', got {freq!r}")
    periods = None
    if start or end:
        lo, hi = window((start or "1900-01", end or "2200-12"))
        periods = [(lo, hi)]
    panel = build_panel(frame, reporter, "volume_bbl", "M", dataset, periods)
    world = _world_rows(frame, panel)
    rows = pd.concat([panel.grades, world], ignore_index=True)
    if periods:
        rows = rows[(rows["period"] >= lo) & (rows["period"] <= hi)]
    currency = _currency(rows, panel)
    cells = _price_cells(rows)
    keys = ["partner", "grade"] if by == "grade" else ["partner"]
    if by == "grade":
        cells["grade"] = cells["grade"].astype(object).where(cells["partner"] != WORLD, None)
    table = _aggregate(cells, keys, freq)
    table.insert(len(keys) + 1, "currency", currency)
    result = UnitValuesResult(reporter, by, freq, panel.source, panel.dataset, currency, table, panel=panel)
    result.caveats = _unit_value_caveats(result, cells)
    return result


def _world_rows(frame: pd.DataFrame, panel: Panel) -> pd.DataFrame:
    return frame[(frame["source"] == panel.source) & (frame["dataset"] == panel.dataset)
                 & (frame["reporter"] == panel.reporter) & (frame["partner"] == WORLD)
                 & (frame["freq"] == "M") & (frame["flow"] == "import")
                 & (frame["product"] == "crude_oil")]


def _currency(rows: pd.DataFrame, panel: Panel) -> str:
    currencies = sorted(set(rows["currency"].dropna()))
    if len(currencies) > 1:
        raise AnalysisError(f"{panel.source}/{panel.dataset} mixes currencies {currencies} for "
                            f"{panel.reporter}; unit values in different currencies cannot be pooled")
    return currencies[0] if currencies else "unknown currency"


def _price_cells(rows: pd.DataFrame) -> pd.DataFrame:
    """Per source cell: priced barrels, value (price x barrels where the value is confidential), basis."""
    volume = rows["volume_bbl"]
    price = rows["price_per_bbl"].where(rows["price_per_bbl"] > 0)
    has_volume = volume > 0
    by_value = has_volume & rows["value"].notna()
    by_price = has_volume & rows["value"].isna() & price.notna()
    price_only = ~has_volume & volume.isna() & price.notna()
    cells = rows[["period", "partner", "grade"]].copy()
    cells["volume_bbl"] = volume.where(has_volume, 0.0).fillna(0.0)
    cells["priced_bbl"] = volume.where(by_value | by_price, 0.0)
    cells["value"] = rows["value"].where(by_value, (price * volume).where(by_price, 0.0))
    cells["price_only"] = price.where(price_only)
    cells["basis"] = np.select([by_value, by_price, price_only],
                               [VALUE_BASIS, PRICE_BASIS, PRICE_ONLY_BASIS], default="")
    cells["confidential"] = rows["flag"].fillna("").str.contains(CONFIDENTIAL, regex=False)
    cells["unpriced_bbl"] = volume.where(has_volume & ~(by_value | by_price), 0.0).fillna(0.0)
    return cells


def _aggregate(cells: pd.DataFrame, keys: list[str], freq: str) -> pd.DataFrame:
    period = cells["period"] if freq == "M" else cells["period"].dt.to_period("Y").dt.to_timestamp()
    cells = cells.assign(period=period)
    group = cells.groupby(["period", *keys], dropna=False, sort=True)
    table = group.agg(volume_bbl=("volume_bbl", "sum"), priced_bbl=("priced_bbl", "sum"),
                      value=("value", "sum"), cells=("basis", "size"),
                      confidential_cells=("confidential", "sum"), unpriced_bbl=("unpriced_bbl", "sum"),
                      price_only_cells=("price_only", "count"),
                      price_only=("price_only", "first"))
    bases = group["basis"].agg(lambda b: sorted({x for x in b if x}))
    table["unit_value"] = table["value"] / table["priced_bbl"].where(table["priced_bbl"] > 0)
    table["basis"] = [_basis(b) for b in bases]
    # A lone cell with a confidential volume and a published price: show that price, unweighted.
    lone = table["unit_value"].isna() & (table["cells"] == 1) & (table["price_only_cells"] == 1)
    table.loc[lone, "unit_value"] = table.loc[lone, "price_only"]
    table.loc[lone, "basis"] = PRICE_ONLY_BASIS
    table.loc[table["unit_value"].isna(), "basis"] = None
    # Barrels are unknown (not zero) where every cell of the group is confidential.
    hidden = (table["volume_bbl"] == 0) & (table["confidential_cells"] == table["cells"])
    table.loc[hidden, ["volume_bbl", "priced_bbl", "value"]] = np.nan
    table = table.drop(columns=["price_only", "price_only_cells"]).reset_index()
    order = ["period", *keys, "unit_value", "volume_bbl", "priced_bbl", "value", "basis", "cells",
             "confidential_cells", "unpriced_bbl"]
    table = table[order]
    # Keep groups that had imports, a price, or a confidential cell; drop all-zero placeholders.
    keep = (table["volume_bbl"] > 0) | table["unit_value"].notna() | (table["confidential_cells"] > 0)
    return table.loc[keep].reset_index(drop=True)


def _basis(bases: list[str]) -> str | None:
    weighted = [b for b in bases if b != PRICE_ONLY_BASIS]
    if not weighted:
        return None
    return weighted[0] if len(weighted) == 1 else MIXED_BASIS


def _unit_value_caveats(result: UnitValuesResult, cells: pd.DataFrame) -> list[str]:
    notes = [f"Unit values are {result.currency} per barrel as the source reports them "
             f"({'CIF' if result.dataset in ('nrg_ti_coifpm', 'coir') else 'basis as published'}); "
             "they average over contracts, and lagged pricing formulas shift timing."]
    n_price = int((cells["basis"] == PRICE_BASIS).sum())
    if n_price:
        notes.append(f"{n_price} cells have a confidential value but a published average price: the "
                     "price is used, weighted by the cell's barrels.")
    n_only = int((cells["basis"] == PRICE_ONLY_BASIS).sum())
    if n_only:
        notes.append(f"{n_only} cells have a confidential volume but a published price: shown only on "
                     "their own monthly grade row, left out of any weighted average.")
    unpriced = cells.loc[cells["partner"] != WORLD, "unpriced_bbl"].sum()
    if unpriced > 0:
        notes.append(f"{unpriced / 1e3:,.0f} kbbl have neither a value nor a price and are left out.")
    n_conf = int(cells.loc[cells["partner"] != WORLD, "confidential"].sum())
    if n_conf:
        notes.append(f"{n_conf} confidential cells have no price: a partner's or a year's unit value "
                     "covers only its disclosed cells; WORLD's includes them.")
    return notes


# -- the spread between two grades ------------------------------------------------------------------


@dataclass
class PriceSpreadResult(Result):
    """The result of :func:`price_spread`: monthly unit values of two grades and their difference.

    Attributes
    ----------
    table : pandas.DataFrame
        Index ``period`` (months): ``substitute`` and ``displaced`` unit values (currency per barrel),
        ``spread`` = substitute - displaced (NaN unless both are priced, never 0 for a missing price),
        ``substitute_status``/``displaced_status`` (``priced``, ``confidential``, ``no imports``,
        ``no price``, ``not reported``), ``substitute_bbl``/``displaced_bbl``, and the price bases.
    """

    reporter: str
    substitute_grade: str
    displaced_grade: str
    source: str
    dataset: str
    currency: str
    table: pd.DataFrame
    caveats: list[str] = field(default_factory=list)

    def _repr_fields(self) -> dict:
        names = ("reporter", "substitute_grade", "displaced_grade", "currency", "table")
        return {n: getattr(self, n) for n in names}

    def to_frame(self) -> pd.DataFrame:
        """The monthly table (period as a column)."""
        return self.table.reset_index()

    @summary_method
    def summary(self) -> str:
        """Monthly prices and spread, with each grade's status where it is not priced."""
        lines = [f"Price spread {self.substitute_grade} - {self.displaced_grade} in {self.reporter}'s "
                 f"imports ({self.source}/{self.dataset}; {self.currency} per barrel, unit values)",
                 f"{'month':<9}{self.substitute_grade:>14}{self.displaced_grade:>14}{'spread':>9}  status"]
        for period, row in self.table.iterrows():
            status = "" if row["substitute_status"] == row["displaced_status"] == "priced" else (
                f"{self.substitute_grade}: {row['substitute_status']}, "
                f"{self.displaced_grade}: {row['displaced_status']}")
            lines.append(f"{period:%Y-%m}  {_num(row['substitute']):>14}{_num(row['displaced']):>14}"
                         f"{_num(row['spread'], signed=True):>9}  {status}")
        if self.caveats:
            lines += ["", "Caveats:"] + [f"- {c}" for c in self.caveats]
        return "\n".join(lines)

    def plot(self, ax: Axes | None = None) -> Axes:
        """Both grades' unit values (lines) and the spread (bars)."""
        plt = pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 4))
        t = self.table
        ax.bar(t.index, t["spread"], width=20, color="#bbbbbb", label="spread")
        ax.plot(t.index, t["substitute"], color="#2166ac", marker=".", label=self.substitute_grade)
        ax.plot(t.index, t["displaced"], color="#b2182b", marker=".", label=self.displaced_grade)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_ylabel(f"{self.currency} per barrel")
        ax.set_title(f"{self.reporter}: {self.substitute_grade} vs {self.displaced_grade}")
        ax.legend(loc="upper left", fontsize="small")
        return ax


@call_forms(old_positional=("substitute_grade", "displaced_grade", "dataset", "start", "end"))
def price_spread(
    frame: pd.DataFrame,
    reporter: str,
    *,
    substitute_grade: str,
    displaced_grade: str,
    dataset: str | None = None,
    start: str | None = None,
    end: str | None = None,
) -> PriceSpreadResult:
    """Monthly unit value of a substitute grade minus that of a displaced grade, in one reporter.

    Parameters
    ----------
    frame : pandas.DataFrame
        A canonical frame.
    reporter : str
        The importer.
    substitute_grade, displaced_grade : str
        The source's grade codes (e.g. Eurostat ``KZ_CPC_BLN`` CPC Blend, ``RU_EXP_BLN`` Russian Export
        Blend via Druzhba).
    dataset : str, optional
        Choose the dataset when several carry the grades.
    start, end : str, optional
        Inclusive months ``"YYYY-MM"``; by default the months in which either grade has a row.

    Returns
    -------
    PriceSpreadResult
        The spread is NaN (never 0) in months where either grade is confidential, has no imports or no
        price; the status columns say which.
    """
    if substitute_grade == displaced_grade:
        raise AnalysisError("substitute_grade and displaced_grade must differ")
    wanted = {substitute_grade, displaced_grade}
    rows = frame[(frame["reporter"] == reporter) & frame["grade"].isin(wanted)]
    if rows.empty:
        raise AnalysisError(f"no rows for grades {sorted(wanted)} of reporter {reporter}")
    sources = set(zip(rows["source"], rows["dataset"], strict=True))
    scoped = frame[pd.Series(list(zip(frame["source"], frame["dataset"], strict=True)),
                             index=frame.index).isin(sources)]
    values = unit_values(scoped, reporter, by="grade", freq="M", dataset=dataset, start=start, end=end)
    panel = values.panel
    assert panel is not None  # unit_values keeps the panel it built
    grade_rows = panel.grades
    table = values.table
    columns = {}
    for role, grade in (("substitute", substitute_grade), ("displaced", displaced_grade)):
        partners = sorted(set(grade_rows.loc[grade_rows["grade"] == grade, "partner"]))
        if not partners:
            raise AnalysisError(f"grade {grade!r} has no rows for {reporter} in "
                                f"{values.source}/{values.dataset}")
        if len(partners) > 1:
            raise AnalysisError(f"grade {grade!r} appears under several partners {partners}; the spread "
                                "needs one grade of one origin")
        columns[role] = table[table["grade"] == grade].set_index("period")
        columns[f"{role}_rows"] = grade_rows[grade_rows["grade"] == grade].set_index("period")
    lo = min(columns["substitute_rows"].index.min(), columns["displaced_rows"].index.min())
    hi = max(columns["substitute_rows"].index.max(), columns["displaced_rows"].index.max())
    months = panel.world.index
    months = months[(months >= (pd.Timestamp(start) if start else lo))
                    & (months <= (pd.Timestamp(end) if end else hi))]
    out = pd.DataFrame(index=pd.DatetimeIndex(months, name="period"))
    for role in ("substitute", "displaced"):
        priced = columns[role].reindex(out.index)
        out[role] = priced["unit_value"]
        out[f"{role}_bbl"] = priced["volume_bbl"]
        out[f"{role}_basis"] = priced["basis"]
        out[f"{role}_status"] = _status(columns[f"{role}_rows"].reindex(out.index), out[role])
        out.loc[out[f"{role}_status"] == "no imports", f"{role}_bbl"] = 0.0
    out["spread"] = out["substitute"] - out["displaced"]
    out = out[["substitute", "displaced", "spread", "substitute_status", "displaced_status",
               "substitute_bbl", "displaced_bbl", "substitute_basis", "displaced_basis"]]
    result = PriceSpreadResult(reporter, substitute_grade, displaced_grade, values.source, values.dataset,
                               values.currency, out)
    result.caveats = _spread_caveats(result)
    return result


def _status(rows: pd.DataFrame, price: pd.Series) -> pd.Series:
    flag = rows["flag"].fillna("").astype(str)
    conditions = [price.notna(), flag.str.contains(CONFIDENTIAL, regex=False), rows["volume_bbl"] == 0,
                  rows["volume_bbl"] > 0]
    return pd.Series(np.select(conditions, ["priced", "confidential", "no imports", "no price"],
                               default="not reported"), index=rows.index)


def _spread_caveats(result: PriceSpreadResult) -> list[str]:
    t, notes = result.table, []
    for role, grade in (("substitute", result.substitute_grade), ("displaced", result.displaced_grade)):
        confidential = t.index[t[f"{role}_status"] == "confidential"]
        if len(confidential):
            notes.append(f"{grade} is confidential in {len(confidential)} months "
                         f"({_months(confidential)}): spread NaN there, not zero.")
        absent = t.index[t[f"{role}_status"].isin(["no imports", "not reported"])]
        if len(absent):
            notes.append(f"{grade} has no imports in {len(absent)} months ({_months(absent)}).")
    notes.append("Unit values are CIF averages over cargoes and contracts: freight (doubled for Urals after "
                 "the embargo) and lagged pricing formulas move them without a change in the crude's value.")
    notes.extend(grade_caveats((result.substitute_grade, result.displaced_grade), reporter=result.reporter))
    return notes


def _months(index: pd.DatetimeIndex) -> str:
    spans, start, previous = [], index[0], index[0]
    for month in list(index[1:]) + [None]:
        if month is not None and month == previous + pd.offsets.MonthBegin(1):
            previous = month
            continue
        spans.append(f"{start:%Y-%m}" if start == previous else f"{start:%Y-%m}..{previous:%Y-%m}")
        if month is not None:
            start = previous = month
    return ", ".join(spans)


def _num(x: float, signed: bool = False) -> str:
    if pd.isna(x):
        return "n/a"
    return f"{x:+.2f}" if signed else f"{x:.2f}"

__all__ = ["MIXED_BASIS", "PRICE_BASIS", "PRICE_ONLY_BASIS", "VALUE_BASIS", "PriceSpreadResult",
           "UnitValuesResult", "price_spread", "unit_values"]
