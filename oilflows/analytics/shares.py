"""Supplier shares: each partner's share of the WORLD total and of the disclosed volume, per period."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..errors import AnalysisError
from ..schema import WORLD
from ._panel import UNDISCLOSED, Panel, build_panel, check_measure, display, native_freq
from ._plot import pyplot


@dataclass
class SharesResult:
    """The result of :func:`supplier_shares`.

    ``table`` has one row per period and partner (plus ``undisclosed``): ``quantity`` (base unit of
    the measure), ``share_of_world`` (quantity / WORLD) and ``share_of_disclosed`` (quantity / sum of
    disclosed partners; null for ``undisclosed``), and ``months`` (months summed, for annual
    aggregates of monthly data).
    """

    reporter: str
    measure: str
    freq: str
    source: str
    dataset: str
    table: pd.DataFrame
    panel: Panel

    def to_frame(self) -> pd.DataFrame:
        """The long table of quantities and shares."""
        return self.table.copy()

    def wide(self, share: str = "share_of_world") -> pd.DataFrame:
        """Periods x partners of one share column."""
        return self.table.pivot(index="period", columns="partner", values=share)

    def summary(self, top: int = 8) -> str:
        """Shares of the largest partners in the last complete period, with the undisclosed share."""
        complete = self.table[self.table["months"] >= (12 if self.freq == "A" else 1)]
        if complete.empty:
            return "no complete period"
        last = complete["period"].max()
        rows = complete[complete["period"] == last].set_index("partner")
        undisclosed = rows.loc[UNDISCLOSED, "share_of_world"] if UNDISCLOSED in rows.index else 0.0
        biggest = rows.drop(index=UNDISCLOSED, errors="ignore").nlargest(top, "quantity")
        unit, div = display(self.measure)
        label = f"{last:%Y}" if self.freq == "A" else f"{last:%Y-%m}"
        lines = [f"{self.reporter} supplier shares, {label} ({self.source}/{self.dataset}, "
                 f"{self.measure}); undisclosed {undisclosed:.1%} of {WORLD}",
                 f"{'partner':<10}{unit:>18}{'of WORLD':>10}{'of disclosed':>14}"]
        for partner, row in biggest.iterrows():
            lines.append(f"{partner:<10}{row['quantity'] / div:>18,.0f}{row['share_of_world']:>10.1%}"
                         f"{row['share_of_disclosed']:>14.1%}")
        return "\n".join(lines)

    def plot(self, partners: list[str] | None = None, ax=None, top: int = 6):
        """Lines of the share of WORLD over time for `partners` (default: the `top` largest).

        The undisclosed share is always drawn (dashed grey); periods without any disclosed
        partner are left out.
        """
        plt = pyplot()
        wide = self.wide("share_of_world")
        # Periods with no disclosed partner at all (e.g. nrg_ti_coifpm before 2020: TOTAL only) say
        # nothing about shares; leave them out.
        disclosed = self.panel.values.sum(axis=1)
        if self.freq == "M":
            wide = wide.loc[wide.index.isin(disclosed.index[disclosed > 0])]
        if partners is None:
            totals = self.table[self.table["partner"] != UNDISCLOSED].groupby("partner")["quantity"].sum()
            partners = list(totals.nlargest(top).index)
        columns = [p for p in dict.fromkeys(partners) if p in wide.columns and p != UNDISCLOSED]
        columns.append(UNDISCLOSED)
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 4))
        for column in columns:
            style = {"linestyle": "--", "color": "grey"} if column == UNDISCLOSED else {}
            ax.plot(wide.index, 100 * wide[column], label=column, **style)
        ax.set_ylabel(f"share of {WORLD} imports, % ({self.measure})")
        ax.set_title(f"{self.reporter}: crude import shares by origin ({self.dataset})")
        ax.legend(loc="upper left", ncol=2, fontsize="small")
        return ax


def supplier_shares(
    frame: pd.DataFrame,
    reporter: str = "DE",
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

    The ``undisclosed`` row is WORLD minus the disclosed partners: confidential cells and partners
    a source does not list. Shares of disclosed volume exclude it; shares of WORLD include it.
    """
    check_measure(measure)
    if freq not in ("M", "A"):
        raise AnalysisError(f"freq must be 'M' or 'A', got {freq!r}")
    native = native_freq(frame, reporter, measure, freq, dataset)
    panel = build_panel(frame, reporter, measure, native, dataset)
    values = panel.values.copy()
    values[UNDISCLOSED] = panel.undisclosed
    values[WORLD] = panel.world
    values["months"] = 1
    if freq == "A" and native == "M":
        values = values.groupby(values.index.to_period("Y").to_timestamp()).sum()
    if freq == "A" and native == "A":
        values["months"] = 12
    months = values.pop("months")
    world = values.pop(WORLD)
    disclosed = values.drop(columns=UNDISCLOSED).sum(axis=1)
    long = values.stack().rename("quantity").reset_index()
    long.columns = ["period", "partner", "quantity"]
    long["share_of_world"] = long["quantity"] / long["period"].map(world)
    long["share_of_disclosed"] = long["quantity"] / long["period"].map(disclosed)
    long.loc[long["partner"] == UNDISCLOSED, "share_of_disclosed"] = float("nan")
    long["months"] = long["period"].map(months).astype(int)
    long = long.sort_values(["period", "partner"]).reset_index(drop=True)
    return SharesResult(reporter, measure, freq, panel.source, panel.dataset, long, panel)
