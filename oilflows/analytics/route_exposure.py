"""How much of an origin's crude depends on Russian ports and pipelines: sharp bounds by route class.

Eurostat ``nrg_ti_coifpm`` names the route in the grade: ``KZ_CPC_BLN`` is loaded at the CPC terminal
near Novorossiysk, KEBCO is piped through Druzhba, ``KZ_URL``/``KZ_SIB_LGHT`` travel inside Russian
export blends. The route table (:mod:`oilflows.routes`) maps each grade, per reporter and period where
it differs, to a route class. Many of these cells are confidential, so each class's volume is an
interval: the accounting identity of :func:`~oilflows.analytics.volume_bounds` applied to the set of
grade cells of the class. The share that depends on Russian infrastructure is a ratio of two such
sums, bounded jointly (Charnes-Cooper), with classes of unknown route counted out for the lower end
and in for the upper end.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import AnalysisError
from ._accounting import Accounts, accounts, month_range
from ._panel import display, fmt, pct
from ._plot import pyplot
from ._result import Result, renamed, summary_method
from ._signature import call_forms
from .bounds import SLICE_GRADES, Total, _program_with_totals, partner_totals

if TYPE_CHECKING:
    from matplotlib.axes import Axes


@dataclass
class RouteExposureResult(Result):
    """The result of :func:`route_exposure`: window totals in the measure's base unit.

    ``table``: one row per route class with ``route``, ``lower``, ``upper``, ``disclosed``,
    ``depends_on_russia`` (True, False or None for unknown) and ``meaning``; ``total``: the origin's
    (lower, upper, disclosed); ``russian_share``: (lower, upper) of the share of the origin's volume
    that depends on Russian infrastructure; ``russian_share_disclosed``: the same on disclosed cells.
    """

    reporter: str
    partner: str
    start: pd.Timestamp
    end: pd.Timestamp
    measure: str
    source: str
    dataset: str
    table: pd.DataFrame
    total: tuple[float, float, float]
    russian_share: tuple[float, float]
    russian_share_disclosed: float
    note: str | None = None
    caveats: list[str] = field(default_factory=list)

    origin = renamed("partner")

    def _repr_fields(self) -> dict:
        names = ("reporter", "partner", "start", "end", "total", "russian_share")
        return {n: getattr(self, n) for n in names}

    def to_frame(self) -> pd.DataFrame:
        """One row per route class: route, lower, upper, disclosed, depends_on_russia, meaning."""
        return self.table.copy()

    def route(self, route_id: str) -> pd.Series:
        """The row of one route class; :class:`AnalysisError` for an unknown route id."""
        from ..routes import ROUTES

        if route_id not in ROUTES:
            raise AnalysisError(f"unknown route id {route_id!r}; route ids are: {', '.join(ROUTES)}")
        rows = self.table[self.table["route"] == route_id]
        if rows.empty:
            return pd.Series({"route": route_id, "lower": 0.0, "upper": 0.0, "disclosed": 0.0,
                              "depends_on_russia": None, "meaning": ROUTES[route_id]})
        return rows.iloc[0]

    @summary_method
    def summary(self) -> str:
        unit, div = display(self.measure)
        lo, hi, disclosed = self.total
        lines = [
            f"{self.reporter} imports of {self.partner} crude by route, {self.start:%Y-%m}..{self.end:%Y-%m} "
            f"({self.source}/{self.dataset}, {unit})",
            f"total: {fmt(lo, div)} .. {fmt(hi, div)} (disclosed {fmt(disclosed, div)})",
            f"share depending on Russian infrastructure: {pct(self.russian_share[0])} .. "
            f"{pct(self.russian_share[1])} (disclosed cells alone: {pct(self.russian_share_disclosed)})",
        ]
        if self.note:
            lines.append(self.note)
        lines.append(f"{'route':<18}{'disclosed':>12}{'lower':>12}{'upper':>12}  Russian?")
        for r in self.table.itertuples(index=False):
            dep = {True: "yes", False: "no"}.get(r.depends_on_russia, "unknown")
            lines.append(f"{r.route:<18}{fmt(r.disclosed, div):>12}{fmt(r.lower, div):>12}"
                         f"{fmt(r.upper, div):>12}  {dep}")
        if self.caveats:
            lines += ["", "Caveats:"] + [f"- {c}" for c in self.caveats]
        return "\n".join(lines)

    def plot(self, ax: Axes | None = None) -> Axes:
        """One bar per route: the identified interval, with the disclosed volume marked."""
        plt = pyplot()
        unit, div = display(self.measure)
        t = self.table
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 0.5 * len(t) + 1.5))
        finite = t["upper"].replace(np.inf, np.nan)
        cap = float(np.nanmax([finite.max(), t["lower"].max(), 1.0])) * 1.1
        colors = ["#b2182b" if d is True else "#2166ac" if d is False else "grey"
                  for d in t["depends_on_russia"]]
        upper = t["upper"].where(np.isfinite(t["upper"]), cap)
        ax.barh(t["route"], (upper - t["lower"]) / div, left=t["lower"] / div, color=colors, alpha=0.5,
                hatch=["//" if not np.isfinite(u) else "" for u in t["upper"]])
        ax.scatter(t["disclosed"] / div, t["route"], color="black", zorder=3, label="disclosed cells")
        ax.set_xlabel(f"{self.measure}, {unit} over the window (red: through Russia; grey: unknown)")
        ax.set_title(f"{self.reporter} <- {self.partner}: volume by route "
                     f"({pct(self.russian_share[0])}-{pct(self.russian_share[1])} via Russia)")
        ax.legend(loc="lower right", fontsize="small")
        return ax


@call_forms(old_positional=("partner", "start", "end"), renamed={"origin": "partner"})
def route_exposure(
    frame: pd.DataFrame,
    reporter: str,
    *,
    partner: str,
    start: str,
    end: str,
    measure: str = "volume_bbl",
    dataset: str = "nrg_ti_coifpm",
    routes: pd.DataFrame | None = None,
    totals: list[str] | None = None,
) -> RouteExposureResult:
    """`partner`'s crude in `reporter`'s imports over `start`..`end`, by route class, with sharp bounds.

    Parameters
    ----------
    frame : pandas.DataFrame
        A canonical frame holding the grade-level `dataset`.
    reporter, partner : str
        ISO alpha-2 codes; `partner` is the origin as the grade codes' prefix maps it, e.g. ``KZ``
        for ``KZ_CPC_BLN`` (was ``origin=``, deprecated).
    start, end : str
        First and last month (``"2023-01"``, ``"2023-12"``).
    measure : {"volume_bbl", "mass_t", "value"}
    dataset : str
        The monthly grade-level dataset.
    routes : pandas.DataFrame, optional
        A route table (default :func:`oilflows.routes.route_table`).
    totals : list of str, optional
        Datasets with the origin's totals (as in :func:`~oilflows.analytics.volume_bounds`); a
        published figure for one grade (KEBCO) bounds the routes of the cells that can hold it.

    Returns
    -------
    RouteExposureResult
        Per route class the window total's (lower, upper) and disclosed part; the origin's total;
        the share that depends on Russian infrastructure as an interval.

    Raises
    ------
    AnalysisError
        For an origin without cells in the dataset, a reporter without grade detail in the window.
    """
    from ..routes import DEPENDS_ON_RUSSIA, ROUTES, route_column, route_table

    origin = partner
    table = route_table() if routes is None else routes
    months = month_range(start, end)
    acc = accounts(frame, reporter, measure, dataset, months)
    if not acc.has_detail.any():
        raise AnalysisError(f"{reporter} has no grade detail in {acc.source}/{acc.dataset} for "
                            f"{months[0]:%Y-%m}..{months[-1]:%Y-%m}: nothing to split by route")
    if not (acc.cells["partner"] == origin).any():
        raise AnalysisError(f"{reporter} has no {origin} cells in {acc.source}/{acc.dataset} for "
                            f"{months[0]:%Y-%m}..{months[-1]:%Y-%m}")
    caveats: list[str] = []
    found: list[Total] = []
    if totals:
        found, _, notes = partner_totals(frame, acc, [origin], totals, months)
        caveats += notes

    def grouping(acc: Accounts) -> tuple[dict[str, pd.Series], Callable[[Total], dict[tuple, float]]]:
        cells = acc.cells
        mine = cells["partner"] == origin
        route = route_column(table, cells["grade"], cells["period"], reporter).where(mine)
        hidden = acc.cell_hidden
        groups = {r: mine & (route == r) for r in ROUTES if (mine & (route == r)).any()}

        def keys_of(tot: Total) -> dict[tuple, float]:
            if tot.slice is None:  # a partner total: every route's hidden part
                return {(r, t): 1.0 for r in groups for t in tot.months}
            holders = cells["grade"].isin(SLICE_GRADES.get(tot.slice, ())) & mine & hidden
            return {(r, t): 1.0 for r, t in zip(route[holders], cells.loc[holders, "period"], strict=True)
                    if t in tot.months}
        return groups, keys_of

    program, used = _program_with_totals(frame, acc, [origin], months, found, caveats, grouping)
    in_window = program.accounts.cells["period"].isin(months)
    classes = [r for r in program.groups if (program.groups[r] & in_window).any()]
    rows = []
    for r in classes:
        c = program.vector({(r, t): 1.0 for t in months})
        lo, hi = program.extremes(c)
        d = float(program.boxes[r].loc[months, "disclosed"].sum())
        rows.append({"route": r, "lower": d + lo, "upper": d + hi, "disclosed": d,
                     "depends_on_russia": DEPENDS_ON_RUSSIA[r], "meaning": ROUTES[r]})
    out = pd.DataFrame(rows, columns=["route", "lower", "upper", "disclosed", "depends_on_russia",
                                      "meaning"])
    every = {(r, t): 1.0 for r in classes for t in months}
    all_c = program.vector(every)
    disclosed_total = float(out["disclosed"].sum())
    t_lo, t_hi = program.extremes(all_c)
    russian = [r for r in classes if DEPENDS_ON_RUSSIA[r] is True]
    unknown = [r for r in classes if DEPENDS_ON_RUSSIA[r] is None]
    dep_c = program.vector({(r, t): 1.0 for r in russian for t in months})
    dep0 = float(out.loc[out["route"].isin(russian), "disclosed"].sum())
    wide_c = program.vector({(r, t): 1.0 for r in russian + unknown for t in months})
    wide0 = dep0 + float(out.loc[out["route"].isin(unknown), "disclosed"].sum())
    names = (f"{origin}'s total", "the share")
    share_lo, _, note = program.ratio_extremes(dep_c, dep0, all_c, disclosed_total, names)
    _, share_hi, note_hi = program.ratio_extremes(wide_c, wide0, all_c, disclosed_total, names)
    note = note or note_hi
    if unknown:
        share = out.loc[out["route"].isin(unknown), ["disclosed", "upper"]].sum()
        caveats.append(f"{', '.join(unknown)}: route not known for {fmt(share['disclosed'], 1e6, 1)} M "
                       f"disclosed (up to {fmt(share['upper'], 1e6, 1)} M); counted out of the Russian "
                       "share for its lower end and in for its upper end.")
    hidden_any = out["upper"] > out["lower"]
    if hidden_any.any():
        caveats.append("Route classes with confidential cells: "
                       + ", ".join(out.loc[hidden_any, "route"]) + ".")
    caveats.append("Routes come from the grade code and oilflows' route table (data_sources/routes.md), "
                   "not from shipping records; a grade's route can change without its code changing.")
    used_labels = sorted({t.label for t in used if t.status == "used"})
    if used_labels:
        caveats.append(f"Narrowed by totals from {', '.join(used_labels)}.")
    return RouteExposureResult(
        reporter=reporter, partner=origin, start=months[0], end=months[-1], measure=measure,
        source=acc.source, dataset=acc.dataset, table=out,
        total=(disclosed_total + t_lo, disclosed_total + t_hi, disclosed_total),
        russian_share=(share_lo, share_hi),
        russian_share_disclosed=dep0 / disclosed_total if disclosed_total > 0 else math.nan,
        note=note, caveats=caveats)

__all__ = ["RouteExposureResult", "route_exposure"]
