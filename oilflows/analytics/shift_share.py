"""Shift-share (constant-market-share) split of each supplier's change into scale and share effects.

With window means ``M_i0``, ``M_i1`` of partner i (the undisclosed residual is its own row), totals
``M_tot0``, ``M_tot1`` (WORLD) and shares of WORLD ``s_it = M_it / M_tot,t`` (methods note section 2):

- scale effect ``s_i0 * (M_tot1 - M_tot0)``: what i would have gained or lost keeping its base share;
- share effect ``(s_i1 - s_i0) * M_tot1``: what i gained or lost through its change of share;
- scale + share = ``M_i1 - M_i0`` exactly. Over all rows (undisclosed included) the scale effects sum to
  the change in WORLD and the share effects to zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import AnalysisError
from ..schema import WORLD
from ._panel import UNDISCLOSED, Panel, build_panel, display, fmt, window
from ._plot import pyplot
from ._result import Result, renamed, summary_method
from ._signature import call_forms

if TYPE_CHECKING:
    from matplotlib.axes import Axes


@dataclass
class ShiftShareResult(Result):
    """The result of :func:`shift_share`; quantities are monthly means in the measure's base unit.

    Attributes
    ----------
    table : pandas.DataFrame
        Index ``partner`` (partners, ``undisclosed``, and ``WORLD`` last): ``base_mean``,
        ``comparison_mean``, ``base_share`` and ``comparison_share`` (of WORLD), ``change``
        (``comparison_mean - base_mean``), ``scale_effect``, ``share_effect``, and confidential cell
        counts per window. For the WORLD row the scale effect is the change and the share effect 0.
    identity_residual : float
        ``max |scale + share - change|`` over the rows, relative to ``max |change|`` (should be ~1e-16).
    undisclosed_share : dict
        Undisclosed share of WORLD over each window (``"base"``, ``"comparison"``).

    The fields ``baseline``, ``post``, ``baseline_months`` and ``post_months`` were ``base``,
    ``comparison``, ``base_months`` and ``comparison_months``; the old names still read (deprecated).
    """

    reporter: str
    baseline: tuple[pd.Timestamp, pd.Timestamp]
    post: tuple[pd.Timestamp, pd.Timestamp]
    measure: str
    source: str
    dataset: str
    table: pd.DataFrame
    baseline_months: int
    post_months: int
    undisclosed_share: dict[str, float]
    identity_residual: float
    caveats: list[str] = field(default_factory=list)
    panel: Panel | None = field(default=None, repr=False)

    def _repr_fields(self) -> dict:
        names = ("reporter", "baseline", "post", "measure", "identity_residual")
        return {n: getattr(self, n) for n in names}

    base = renamed("baseline")
    comparison = renamed("post")
    base_months = renamed("baseline_months")
    comparison_months = renamed("post_months")

    def to_frame(self) -> pd.DataFrame:
        """The decomposition table in base units per month, one row per ``partner`` (a column;
        partners, undisclosed, WORLD)."""
        return self.table.rename_axis("partner").reset_index()

    def top(self, n: int = 10) -> pd.DataFrame:
        """The `n` partners with the largest |change|, then ``undisclosed`` and ``WORLD``."""
        special = [UNDISCLOSED, WORLD]
        others = self.table.drop(index=[s for s in special if s in self.table.index])
        order = list(others["change"].abs().sort_values(ascending=False).index[:n])
        return self.table.loc[[p for p in [*order, *special] if p in self.table.index]]

    @summary_method
    def summary(self, top: int = 10) -> str:
        """A plain-text decomposition table with the windows, the undisclosed share and caveats."""
        unit, div = display(self.measure, "USD" if self.measure == "value" else None)
        b0, b1 = (p.strftime("%Y-%m") for p in self.baseline)
        c0, c1 = (p.strftime("%Y-%m") for p in self.post)
        lines = [
            f"Shift-share split of {self.reporter}'s crude imports by partner",
            f"data: {self.source}/{self.dataset}; measure: {self.measure} (monthly means, {unit})",
            f"base {b0}..{b1} ({self.baseline_months} months), comparison {c0}..{c1} "
            f"({self.post_months} months); shares are of {WORLD}",
            f"undisclosed share of {WORLD}: base {self.undisclosed_share['base']:.1%}, comparison "
            f"{self.undisclosed_share['comparison']:.1%} (shown as its own row)",
            "",
            f"{'partner':<12}{'base':>11}{'comp.':>11}{'share0':>8}{'share1':>8}{'change':>11}"
            f"{'scale':>11}{'share eff.':>11}",
        ]
        for partner, row in self.top(top).iterrows():
            lines.append(
                f"{partner!s:<12}{fmt(row['base_mean'], div):>11}{fmt(row['comparison_mean'], div):>11}"
                f"{row['base_share']:>8.1%}{row['comparison_share']:>8.1%}{fmt(row['change'], div):>11}"
                f"{fmt(row['scale_effect'], div):>11}{fmt(row['share_effect'], div):>11}")
        lines += ["", f"identity check: max |scale + share - change| / max |change| = "
                      f"{self.identity_residual:.2g}"]
        if self.caveats:
            lines += ["", "Caveats:"] + [f"- {c}" for c in self.caveats]
        return "\n".join(lines)

    def plot(self, ax: Axes | None = None, top: int = 10) -> Axes:
        """Stacked horizontal bars of scale and share effects per partner, with the change as a dot."""
        plt = pyplot()
        unit, div = display(self.measure)
        data = self.top(top).drop(index=WORLD) / div
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 0.35 * len(data) + 1.5))
        names = list(data.index[::-1])
        scale, share = data["scale_effect"].to_numpy()[::-1], data["share_effect"].to_numpy()[::-1]
        ax.barh(names, scale, color="#999999", label="scale effect")
        # Stack the share effect on the scale effect when both have the same sign, else from zero.
        left = np.where(np.sign(scale) == np.sign(share), scale, 0.0)
        ax.barh(names, share, left=left, color="#2166ac", label="share effect")
        ax.plot(data["change"].to_numpy()[::-1], names, "o", color="black", label="change")
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_xlabel(f"change in monthly mean, {unit}")
        ax.set_title(f"{self.reporter}: shift-share ({self.baseline[0]:%Y-%m}..{self.baseline[1]:%Y-%m} vs "
                     f"{self.post[0]:%Y-%m}..{self.post[1]:%Y-%m})")
        ax.legend(loc="lower right", fontsize="small")
        return ax


@call_forms(old_positional=("baseline", "post", "measure", "dataset"),
            renamed={"base": "baseline", "comparison": "post"})
def shift_share(
    frame: pd.DataFrame,
    reporter: str,
    *,
    baseline: tuple[str, str] = ("2021-01", "2021-12"),
    post: tuple[str, str] = ("2023-01", "2023-12"),
    measure: str = "volume_bbl",
    dataset: str | None = None,
) -> ShiftShareResult:
    """Split each partner's change in `reporter`'s imports into a scale and a share effect.

    Parameters
    ----------
    frame : pandas.DataFrame
        A canonical frame.
    reporter : str
        The importer.
    baseline, post : tuple of str
        Inclusive windows of months ``("YYYY-MM", "YYYY-MM")``; `post` starts after `baseline` ends
        (were ``base=``/``comparison=``, deprecated). The result's fields have the same names
        (``ShiftShareResult.base``/``.comparison`` are deprecated aliases).
    measure : {"volume_bbl", "mass_t", "value"}
        Barrels, tonnes, or value in the source's currency.
    dataset : str, optional
        ``"dataset"`` or ``"source/dataset"``; needed when several datasets cover the windows.

    Returns
    -------
    ShiftShareResult

    Notes
    -----
    Window means as in :func:`oilflows.analytics.substitution`: only months with a WORLD total count; in
    such a month a partner with no disclosed value counts as 0; confidential cells go to ``undisclosed``
    (WORLD minus the disclosed partners), which is decomposed like a partner. A partner's share effect
    is therefore partly an artefact when its cells switch between disclosed and confidential.
    """
    base, comparison = baseline, post
    lo_b, hi_b = window(base)
    lo_c, hi_c = window(comparison)
    if lo_c <= hi_b:
        raise AnalysisError(f"comparison window {comparison} must start after the base window {base} ends")
    panel = build_panel(frame, reporter, measure, "M", dataset, [(lo_b, hi_b), (lo_c, hi_c)])
    table = panel.values.copy()
    table[UNDISCLOSED] = panel.undisclosed
    in_base = (table.index >= lo_b) & (table.index <= hi_b)
    in_comp = (table.index >= lo_c) & (table.index <= hi_c)
    world0 = float(panel.world.loc[in_base].mean())
    world1 = float(panel.world.loc[in_comp].mean())
    if world0 == 0 or world1 == 0:
        raise AnalysisError(f"{reporter}'s {WORLD} total is 0 in a window; shares are undefined")
    conf = panel.confidential.reindex(columns=table.columns, fill_value=0)
    out = pd.DataFrame({"base_mean": table.loc[in_base].mean(),
                        "comparison_mean": table.loc[in_comp].mean()})
    out["base_share"] = out["base_mean"] / world0
    out["comparison_share"] = out["comparison_mean"] / world1
    out["change"] = out["comparison_mean"] - out["base_mean"]
    out["scale_effect"] = out["base_share"] * (world1 - world0)
    out["share_effect"] = (out["comparison_share"] - out["base_share"]) * world1
    out["confidential_base"] = conf.loc[in_base].sum()
    out["confidential_comparison"] = conf.loc[in_comp].sum()
    keep = (out[["base_mean", "comparison_mean"]].abs().sum(axis=1) > 0) | (out.index == UNDISCLOSED)
    out = out.loc[keep]
    out.loc[WORLD] = {"base_mean": world0, "comparison_mean": world1, "base_share": 1.0,
                      "comparison_share": 1.0, "change": world1 - world0, "scale_effect": world1 - world0,
                      "share_effect": 0.0, "confidential_base": int(conf.loc[in_base].to_numpy().sum()),
                      "confidential_comparison": int(conf.loc[in_comp].to_numpy().sum())}
    out[["confidential_base", "confidential_comparison"]] = out[
        ["confidential_base", "confidential_comparison"]].astype(int)
    out.index.name = "partner"
    gap = (out["scale_effect"] + out["share_effect"] - out["change"]).abs().max()
    residual = float(gap / max(out["change"].abs().max(), np.finfo(float).tiny))
    result = ShiftShareResult(
        reporter=reporter, baseline=(lo_b, hi_b), post=(lo_c, hi_c), measure=measure,
        source=panel.source, dataset=panel.dataset, table=out, baseline_months=int(in_base.sum()),
        post_months=int(in_comp.sum()),
        undisclosed_share={"base": float(out.loc[UNDISCLOSED, "base_share"]),
                           "comparison": float(out.loc[UNDISCLOSED, "comparison_share"])},
        identity_residual=residual, panel=panel)
    result.caveats = _caveats(result)
    return result


def _caveats(result: ShiftShareResult) -> list[str]:
    notes = []
    expected_b = len(pd.period_range(*result.baseline, freq="M"))
    expected_c = len(pd.period_range(*result.post, freq="M"))
    if result.baseline_months < expected_b or result.post_months < expected_c:
        notes.append(f"{WORLD} totals cover {result.baseline_months}/{expected_b} base and "
                     f"{result.post_months}/{expected_c} comparison months; means use those only.")
    if max(result.undisclosed_share.values()) > 0:
        notes.append(f"{result.undisclosed_share['comparison']:.0%} of the comparison window's imports are "
                     "undisclosed (confidential cells): every partner's disclosed figures are lower "
                     "bounds, and the undisclosed row carries the rest of the change.")
    switching = result.table.drop(index=[UNDISCLOSED, WORLD], errors="ignore")
    switching = switching[(switching["confidential_base"] > 0) | (switching["confidential_comparison"] > 0)]
    if not switching.empty:
        listing = ", ".join(f"{p} ({int(r['confidential_base'])}/{int(r['confidential_comparison'])})"
                            for p, r in switching.iterrows())
        notes.append(f"Partners with confidential cells (base/comparison months): {listing}; their "
                     "share effects mix real change with cells moving in or out of confidentiality.")
    notes.append("Compare whole years or the same months (seasonality); the base year matters "
                 "(2021 vs 2019; 2020 is the COVID year).")
    return notes

__all__ = ["ShiftShareResult", "shift_share"]
