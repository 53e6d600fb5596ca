"""Supplier shares: each partner's share of the WORLD total and of the disclosed volume, per period.

Missing is never zero. A partner-period with a confidential (or valueless) cell has no ``quantity``;
it carries its ``disclosed`` part and bounds on its share of WORLD from the accounting identity
(WORLD = sum of all grade cells, confidential cells >= 0). A period without any partner detail
(e.g. nrg_ti_coifpm before 2020: TOTAL only) has no partner rows at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import AnalysisError
from ..schema import WORLD
from ._panel import UNDISCLOSED, Panel, build_panel, check_measure, display, native_freq
from ._plot import pyplot
from ._result import Result, legacy_ax, summary_method
from ._signature import call_forms

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: The columns of :meth:`SharesResult.to_frame`, in order.
COLUMNS = ("period", "partner", "quantity", "disclosed", "confidential", "exact", "share_of_world",
           "share_of_world_lower", "share_of_world_upper", "share_of_disclosed", "months")


@dataclass
class SharesResult(Result):
    """The result of :func:`supplier_shares`.

    ``table`` has one row per period and partner, for periods with partner detail only, plus one
    ``undisclosed`` row per period (every period with a WORLD total):

    - ``quantity``: the partner's quantity (base unit of the measure); null when any of its cells in
      the period is confidential or has no value (never 0 for an unknown);
    - ``disclosed``: the sum of its disclosed cells (a lower bound where ``quantity`` is null);
    - ``confidential``: its number of confidential (or valueless) cells in the period;
    - ``exact``: ``quantity`` is known;
    - ``share_of_world`` (quantity / WORLD) and ``share_of_disclosed`` (quantity / sum of the
      disclosed cells of all partners): for exact rows only, null otherwise;
    - ``share_of_world_lower`` / ``share_of_world_upper``: bounds on the share of WORLD, equal to
      ``share_of_world`` for exact rows;
    - ``months``: months summed (annual aggregates of monthly data).

    The ``undisclosed`` row: ``quantity`` = WORLD minus all disclosed cells (share 100 % in a period
    without partner detail), ``confidential`` = the period's confidential cells, ``disclosed`` null.
    """

    reporter: str
    measure: str
    freq: str
    source: str
    dataset: str
    table: pd.DataFrame
    panel: Panel

    def _repr_fields(self) -> dict:
        return {n: getattr(self, n) for n in ("reporter", "measure", "freq", "dataset", "table")}

    @property
    def caveats(self) -> list[str]:
        """None recorded for this result."""
        return []

    def to_frame(self) -> pd.DataFrame:
        """The long table of quantities, shares and share bounds."""
        return self.table.copy()

    def wide(self, share: str = "share_of_world") -> pd.DataFrame:
        """Periods x partners of one column (null where unknown or without partner detail)."""
        return self.table.pivot(index="period", columns="partner", values=share)

    @summary_method
    def summary(self, top: int = 8) -> str:
        """Shares of the largest partners in the last complete period, with the undisclosed share.

        A partner with a confidential cell is shown with its share bounds (``lower-upper %``), its
        disclosed quantity as ``>=`` and ``conf.`` as its share of disclosed volume, never as 0 %.
        """
        complete = self.table[self.table["months"] >= (12 if self.freq == "A" else 1)]
        detail = complete[complete["partner"] != UNDISCLOSED]
        if complete.empty:
            return "no complete period"
        unit, div = display(self.measure)
        last = (detail if not detail.empty else complete)["period"].max()
        rows = complete[complete["period"] == last].set_index("partner")
        undisclosed = rows.loc[UNDISCLOSED, "share_of_world"] if UNDISCLOSED in rows.index else 0.0
        label = f"{last:%Y}" if self.freq == "A" else f"{last:%Y-%m}"
        lines = [f"{self.reporter} supplier shares, {label} ({self.source}/{self.dataset}, "
                 f"{self.measure}); undisclosed {undisclosed:.1%} of {WORLD}"]
        partners = rows.drop(index=UNDISCLOSED, errors="ignore")
        if partners.empty:
            lines.append("no partner detail in this period (WORLD total only)")
            return "\n".join(lines)
        biggest = partners.sort_values(["share_of_world_lower", "share_of_world_upper"],
                                       ascending=False).head(top)
        lines.append(f"{'partner':<10}{unit:>20}{'of WORLD':>14}{'of disclosed':>14}")
        for partner, row in biggest.iterrows():
            if row["exact"]:
                quantity = f"{row['quantity'] / div:,.0f}"
                world = f"{row['share_of_world']:.1%}"
                disclosed = f"{row['share_of_disclosed']:.1%}"
            else:
                quantity = f">={row['disclosed'] / div:,.0f}"
                world = _bounds(row["share_of_world_lower"], row["share_of_world_upper"])
                disclosed = "conf."
            lines.append(f"{partner:<10}{quantity:>20}{world:>14}{disclosed:>14}")
        hidden = partners[~partners["exact"]]
        if not hidden.empty:
            lines.append(f"{len(hidden)} partner(s) with confidential cells: share of {WORLD} given as "
                         "bounds (lower = disclosed cells; upper = plus the whole undisclosed residual)")
        return "\n".join(lines)

    def plot(self, ax: Axes | None = None, partners: list[str] | None = None, top: int = 6) -> Axes:
        """Lines of the share of WORLD over time for `partners` (default: the `top` largest by
        disclosed volume), with the undisclosed share dashed grey.

        Lines break (gaps) where a share is unknown: a confidential partner-period is drawn as a
        hatched translucent band between its share bounds (a flat bar where the bounds coincide);
        periods without partner detail are left empty and outside the x range at either end.
        ``ax`` comes first since issue 14; the old ``plot(partners, ax)`` still works (deprecated).
        """
        ax, partners = legacy_ax(ax, partners, "partners")
        plt = pyplot()
        table = self.table
        details = table.loc[table["partner"] != UNDISCLOSED, "period"]
        periods = pd.DatetimeIndex(sorted(table["period"].unique()), name="period")
        with_detail = periods.isin(details.unique())
        shown = periods[with_detail.argmax():len(periods) - with_detail[::-1].argmax()] \
            if with_detail.any() else periods[:0]
        exact = self.wide("share_of_world").reindex(shown)
        lower = self.wide("share_of_world_lower").reindex(shown)
        upper = self.wide("share_of_world_upper").reindex(shown)
        if partners is None:
            totals = table[table["partner"] != UNDISCLOSED].groupby("partner")["disclosed"].sum()
            partners = list(totals.nlargest(top).index)
        columns = [p for p in dict.fromkeys(partners) if p in exact.columns and p != UNDISCLOSED]
        if ax is None:
            _, ax = plt.subplots(figsize=(9.5, 4))
        # Bands side by side within each period (days), so that overlapping bounds stay readable.
        slot = (300.0 if self.freq == "A" else 25.0) / max(len(columns), 1)
        banded = False
        for i, column in enumerate(columns):
            (line,) = ax.plot(shown, 100 * exact[column], marker=".", markersize=3, label=column)
            band = exact[column].isna() & lower[column].notna() & upper[column].notna()
            if band.any():
                banded = True
                lo, hi = 100 * lower.loc[band, column], 100 * upper.loc[band, column]
                x = lo.index + pd.Timedelta(days=(i - (len(columns) - 1) / 2) * slot)
                ax.bar(x, (hi - lo).to_numpy(), bottom=lo.to_numpy(), width=slot,
                       color=line.get_color(), alpha=0.3, hatch="////", edgecolor=line.get_color(),
                       linewidth=0.8)
        if UNDISCLOSED in exact.columns:
            undisclosed = exact[UNDISCLOSED].where(with_detail[periods.isin(shown)])
            ax.plot(shown, 100 * undisclosed, linestyle="--", color="grey", label=UNDISCLOSED)
        if banded:
            from matplotlib.patches import Patch

            handles, labels = ax.get_legend_handles_labels()
            handles.append(Patch(facecolor="grey", alpha=0.25, hatch="///", edgecolor="grey"))
            labels.append("confidential: share bounds")
            ax.legend(handles, labels, **_LEGEND)
        elif columns or UNDISCLOSED in exact.columns:
            ax.legend(**_LEGEND)
        notes = []
        if len(shown) and shown[0] > periods[0]:
            notes.append(f"no partner detail before {shown[0]:%Y-%m}")
        if len(shown) and shown[-1] < periods[-1]:
            notes.append(f"none after {shown[-1]:%Y-%m}")
        if not len(shown):
            notes.append("no partner detail in any period")
        if notes:
            ax.text(0.99, 0.98, "; ".join(notes), transform=ax.transAxes, ha="right", va="top",
                    fontsize="x-small", color="grey")
        ax.set_ylabel(f"share of {WORLD} imports, % ({self.measure})")
        ax.set_title(f"{self.reporter}: crude import shares by origin ({self.dataset})")
        return ax


_LEGEND: dict[str, Any] = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "fontsize": "small"}


def _bounds(lo: float, hi: float) -> str:
    if np.isclose(lo, hi, rtol=0, atol=5e-5):
        return f"={lo:.1%}"
    return f"{100 * lo:.1f}-{hi:.1%}"


@call_forms(old_positional=("measure", "freq", "dataset"), deprecated_defaults={"reporter": "DE"})
def supplier_shares(
    frame: pd.DataFrame,
    reporter: str,
    *,
    measure: str = "volume_bbl",
    freq: str = "M",
    dataset: str | None = None,
) -> SharesResult:
    """Shares of each partner in `reporter`'s crude imports, of WORLD and of disclosed volume.

    Parameters
    ----------
    frame : pandas.DataFrame
        A canonical frame.
    reporter : str
        ISO alpha-2 code of the importer.
    measure : {"volume_bbl", "mass_t", "value"}
        The quantity shared out.
    freq : {"M", "A"}
        Monthly, or annual: native annual data if a dataset has it, else monthly data summed per
        year (``months`` tells how many months a year has; shares of an incomplete year are shown
        but :meth:`SharesResult.summary` skips it).
    dataset : str, optional
        Choose the dataset when several qualify.

    Notes
    -----
    Per native period t, with WORLD ``W``, residual ``U = max(W - all disclosed cells, 0)`` and a
    partner's disclosed cells ``d``: a partner without confidential cell is exact (``d``); one of
    several holders of confidential cells has a share of WORLD in ``[d / W, (d + U) / W]``; the only
    holder gets ``(d + U) / W`` as both bounds (the identity pins it) but ``quantity`` stays null,
    since the source does not publish it. A partner absent from a period that has partner detail
    counts as an exact 0 (the source lists the cells it has). Annual aggregates of monthly data sum
    the monthly quantities and bounds (months are separable, so the summed bounds are sharp); a
    year's quantity is null if any month is unknown, including months of the year without partner
    detail (bounds 0 to that month's WORLD). The ``undisclosed`` row is WORLD minus the disclosed
    cells: confidential cells and partners a source does not list.
    """
    check_measure(measure)
    if freq not in ("M", "A"):
        raise AnalysisError(f"freq must be 'M' or 'A', got {freq!r}")
    native = native_freq(frame, reporter, measure, freq, dataset)
    return shares_on_panel(build_panel(frame, reporter, measure, native, dataset), freq)


def shares_on_panel(panel: Panel, freq: str = "M") -> SharesResult:
    """:func:`supplier_shares` on an already built panel (not part of the public API).

    Used where the caller holds the reporter's panel (the report, after its substitution
    analysis) so that it is built once (issue 14). `freq` is the result's frequency (``"M"`` or
    ``"A"``); the panel's own frequency is the native one (``"A"`` only for native annual data).
    Equals ``supplier_shares(frame, panel.reporter, measure=panel.measure, freq=freq,
    dataset=f"{panel.source}/{panel.dataset}")`` on the frame the panel came from.
    """
    if freq not in ("M", "A") or (freq == "M" and panel.freq != "M"):
        raise AnalysisError(f"freq must be 'M' or 'A' (and the panel monthly for 'M'), got "
                            f"{freq!r} on a panel at freq {panel.freq!r}")
    reporter, measure, native = panel.reporter, panel.measure, panel.freq
    world = panel.world.astype(float)
    cells = panel.grades[panel.grades["period"].isin(world.index)]
    grouped = (cells.assign(_d=cells[measure].fillna(0.0), _h=cells[measure].isna().astype(int))
               .groupby(["period", "partner"], observed=True)[["_d", "_h"]].sum())
    disclosed = grouped["_d"].unstack("partner", fill_value=0.0).reindex(world.index)
    hidden = grouped["_h"].unstack("partner", fill_value=0).reindex(world.index)
    detail = pd.Series(world.index.isin(cells["period"].unique()), index=world.index)
    disclosed = disclosed.fillna(0.0)
    hidden = hidden.fillna(0).astype(int)
    residual = world - disclosed.sum(axis=1)  # the undisclosed row, as published
    room = residual.clip(lower=0.0)  # a negative residual (rounding) leaves no room for hidden cells
    holds = hidden > 0
    sole = holds.sum(axis=1) == 1
    lower = disclosed + holds.mul(sole & detail, axis=0).mul(room, axis=0)
    upper = disclosed + holds.mul(room, axis=0)
    exact = ~holds
    # A month without partner detail inside an aggregated year: any partner may hold 0..WORLD.
    upper = upper.where(detail, 0.0).add(world.where(~detail, 0.0), axis=0)
    exact = exact & detail.to_numpy()[:, None]
    months = pd.Series(1, index=world.index)
    if freq == "A" and native == "M":
        year = world.index.to_period("Y").to_timestamp().astype(world.index.dtype)
        disclosed, hidden = disclosed.groupby(year).sum(), hidden.groupby(year).sum()
        lower, upper = lower.groupby(year).sum(), upper.groupby(year).sum()
        exact, detail = exact.groupby(year).all(), detail.groupby(year).any()
        world, residual, months = world.groupby(year).sum(), residual.groupby(year).sum(), \
            months.groupby(year).sum()
    elif freq == "A":
        months = months * 12
    long = pd.DataFrame({
        "disclosed": disclosed.stack(), "confidential": hidden.stack(), "lower": lower.stack(),
        "upper": upper.stack(), "exact": exact.stack()}).reset_index()
    long.columns = ["period", "partner", *long.columns[2:]]
    long = long[long["period"].map(detail).astype(bool)]
    total_disclosed = disclosed.sum(axis=1)
    w = long["period"].map(world)
    long["quantity"] = long["disclosed"].where(long["exact"])
    long["share_of_world"] = long["quantity"] / w
    long["share_of_world_lower"] = long["lower"] / w
    long["share_of_world_upper"] = long["upper"] / w
    long["share_of_disclosed"] = long["quantity"] / long["period"].map(
        total_disclosed.where(total_disclosed > 0))
    share_u = residual / world
    undisclosed = pd.DataFrame({
        "period": world.index, "partner": UNDISCLOSED, "quantity": residual.to_numpy(),
        "disclosed": np.nan, "confidential": hidden.sum(axis=1).to_numpy(), "exact": True,
        "share_of_world": share_u.to_numpy(), "share_of_world_lower": share_u.to_numpy(),
        "share_of_world_upper": share_u.to_numpy(), "share_of_disclosed": np.nan})
    long = pd.concat([long.drop(columns=["lower", "upper"]), undisclosed], ignore_index=True)
    long["months"] = long["period"].map(months).astype(int)
    long["confidential"] = long["confidential"].astype(int)
    long["exact"] = long["exact"].astype(bool)
    long = long[list(COLUMNS)].sort_values(["period", "partner"]).reset_index(drop=True)
    return SharesResult(reporter, measure, freq, panel.source, panel.dataset, long, panel)

__all__ = ["COLUMNS", "SharesResult", "supplier_shares"]
