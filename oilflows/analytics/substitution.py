"""Substitution accounting: who replaced a displaced supplier, with the undisclosed volume counted.

Gap-filling identity (methods note section 2): with the displaced partner's shortfall
``S = mean_baseline(D) - mean_post(D)`` and every other partner's change ``dM_i`` (the undisclosed
residual counted as a partner), ``S = sum_i dM_i - dWORLD`` holds exactly. ``share_of_shortfall`` of
partner i is ``dM_i / S``; the WORLD row's share is the demand-reduction part ``-dWORLD / S``; the
shares of all other partners plus that part sum to 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import AnalysisError
from ..routes import grade_caveats
from ..schema import WORLD
from ._panel import UNDISCLOSED, Panel, build_panel, display, fmt, pct, window
from ._plot import pyplot
from ._result import Result, summary_method
from ._signature import call_forms
from .bounds import SubstitutionBounds, partner_change_bounds, substitution_bounds

if TYPE_CHECKING:
    from matplotlib.axes import Axes


@dataclass
class SubstitutionResult(Result):
    """The result of :func:`substitution`; quantities are monthly means in the measure's base unit.

    Attributes
    ----------
    shortfall : float
        Displaced partner's mean monthly quantity over the baseline minus over the post window.
    gain : float
        Substitute's post-window mean minus its baseline mean.
    coverage : float
        ``gain / shortfall`` (NaN if the shortfall is not positive), on disclosed cells only.
    gain_bounds, shortfall_bounds, coverage_bounds : tuple of float
        (lower, upper): what the data identify when confidential cells may hold anything the
        accounting identity allows, computed jointly for both partners (and narrowed by the
        ``totals`` datasets if given); ``inf`` where nothing bounds them. See :attr:`bounds`.
    replacement : pandas.DataFrame
        One row per partner, plus ``WORLD`` and ``undisclosed``: baseline/post means and totals,
        change, share of the shortfall, confidential cells per window (all on disclosed cells), and
        ``change_lower``/``change_upper``: the partner's own identified bounds on its change
        (equal to ``change`` when it has no confidential cell; null for WORLD and undisclosed).
    caveats : list of str
        What the figures cannot show (confidential cells, routes, grades vs countries).
    """

    reporter: str
    displaced: str
    substitute: str
    baseline: tuple[pd.Timestamp, pd.Timestamp]
    post: tuple[pd.Timestamp, pd.Timestamp]
    measure: str
    source: str
    dataset: str
    shortfall: float
    gain: float
    coverage: float
    replacement: pd.DataFrame
    baseline_months: int
    post_months: int
    undisclosed_share: dict[str, float]
    identity_residual: float
    caveats: list[str] = field(default_factory=list)
    panel: Panel | None = field(default=None, repr=False)
    bounds: SubstitutionBounds | None = field(default=None, repr=False)

    def _repr_fields(self) -> dict:
        names = ("reporter", "displaced", "substitute", "baseline", "post", "shortfall", "gain", "coverage")
        return {n: getattr(self, n) for n in names}

    @property
    def gain_bounds(self) -> tuple[float, float]:
        return self.bounds.gain if self.bounds else (np.nan, np.nan)

    @property
    def shortfall_bounds(self) -> tuple[float, float]:
        return self.bounds.shortfall if self.bounds else (np.nan, np.nan)

    @property
    def coverage_bounds(self) -> tuple[float, float]:
        return self.bounds.coverage if self.bounds else (np.nan, np.nan)

    def to_frame(self) -> pd.DataFrame:
        """The replacement table in base units, one row per ``partner`` (a column; partners, WORLD and
        undisclosed)."""
        return self.replacement.rename_axis("partner").reset_index()

    @summary_method
    def summary(self, top: int = 10) -> str:
        """A plain-text report of shortfall, gain, coverage, the replacement table and caveats."""
        unit, div = display(self.measure, "USD" if self.measure == "value" else None)
        b0, b1 = (p.strftime("%Y-%m") for p in self.baseline)
        p0, p1 = (p.strftime("%Y-%m") for p in self.post)
        table = self.replacement
        lines = [
            f"Substitution of {self.displaced} by {self.substitute} in {self.reporter}'s crude imports",
            f"data: {self.source}/{self.dataset}; measure: {self.measure} (shown in {unit})",
            f"baseline {b0}..{b1} ({self.baseline_months} months), post {p0}..{p1} "
            f"({self.post_months} months); monthly means",
            "",
            f"{self.displaced} shortfall: {fmt(self.shortfall, div)} per month "
            f"({fmt(table.loc[self.displaced, 'baseline_total'], div)} -> "
            f"{fmt(table.loc[self.displaced, 'post_total'], div)} over the windows)",
            f"{self.substitute} gain:      {fmt(self.gain, div)} per month "
            f"({fmt(table.loc[self.substitute, 'baseline_total'], div)} -> "
            f"{fmt(table.loc[self.substitute, 'post_total'], div)})",
            *self._bounds_lines(div, unit),
            f"coverage on disclosed cells alone ({self.substitute} gain / {self.displaced} shortfall): "
            + ("n/a" if np.isnan(self.coverage) else f"{self.coverage:.1%}"),
            f"undisclosed share of {WORLD}: baseline {self.undisclosed_share['baseline']:.1%}, "
            f"post {self.undisclosed_share['post']:.1%}",
            "",
            f"Who replaced {self.displaced} (monthly means, {unit}; share of the shortfall; disclosed "
            "cells, then each partner's own identified range of its change):",
            _format_table(self.top_replacements(top), div),
            "",
            f"identity check: sum of other changes - change in {WORLD} - shortfall = "
            f"{self.identity_residual:.3g}",
        ]
        if self.caveats:
            lines += ["", "Caveats:"] + [f"- {c}" for c in self.caveats]
        return "\n".join(lines)

    def _bounds_lines(self, div: float, unit: str) -> list[str]:
        if self.bounds is None:
            return ["coverage identified by the data: not available"]
        b = self.bounds
        used = sorted({t.label for t in b.totals if t.status == "used"})
        return [
            f"coverage identified by the data: {pct(b.coverage[0])} .. {pct(b.coverage[1])}"
            + (f" (with partner totals from {', '.join(used)})" if used else " (grade detail alone)"),
            f"  {self.substitute} gain between {fmt(b.gain[0], div)} and {fmt(b.gain[1], div)}, "
            f"{self.displaced} shortfall between {fmt(b.shortfall[0], div)} and "
            f"{fmt(b.shortfall[1], div)} per month ({unit})" + (f"; {b.note}" if b.note else ""),
        ]

    def top_replacements(self, top: int = 10) -> pd.DataFrame:
        """The displaced partner, the `top` other partners by |change|, undisclosed and WORLD."""
        table = self.replacement
        special = [self.displaced, UNDISCLOSED, WORLD]
        others = table.drop(index=[s for s in special if s in table.index])
        order = others["change"].abs().sort_values(ascending=False).index[:top]
        keep = [self.displaced, *order, UNDISCLOSED, WORLD]
        return table.loc[[k for k in dict.fromkeys(keep) if k in table.index]]

    def plot(self, ax: Axes | None = None, top: int = 10) -> Axes:
        """Horizontal bars of each partner's change (monthly mean), undisclosed and WORLD included."""
        plt = pyplot()
        unit, div = display(self.measure)
        data = self.top_replacements(top)["change"] / div
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 0.35 * len(data) + 1.5))
        colors = ["#b2182b" if v < 0 else "#2166ac" for v in data]
        ax.barh(data.index[::-1], data.to_numpy()[::-1], color=colors[::-1])
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_xlabel(f"change in monthly mean, {unit}")
        ax.set_title(f"{self.reporter}: who replaced {self.displaced} "
                     f"({self.baseline[0]:%Y-%m}..{self.baseline[1]:%Y-%m} vs "
                     f"{self.post[0]:%Y-%m}..{self.post[1]:%Y-%m})")
        return ax


@call_forms(old_positional=("displaced", "substitute", "baseline", "post", "measure", "dataset", "totals"))
def substitution(
    frame: pd.DataFrame,
    reporter: str,
    *,
    displaced: str,
    substitute: str,
    baseline: tuple[str, str] = ("2021-01", "2021-12"),
    post: tuple[str, str] = ("2023-01", "2023-12"),
    measure: str = "volume_bbl",
    dataset: str | None = None,
    totals: list[str] | None = None,
) -> SubstitutionResult:
    """How far `substitute` replaced `displaced` in `reporter`'s crude imports.

    Parameters
    ----------
    frame : pandas.DataFrame
        A canonical frame (e.g. :func:`oilflows.load_default` or :meth:`oilflows.Store.read`).
    reporter, displaced, substitute : str
        ISO alpha-2 codes.
    baseline, post : tuple of str
        Inclusive windows of months, ``("YYYY-MM", "YYYY-MM")``.
    measure : {"volume_bbl", "mass_t", "value"}
        Quantity compared (barrels, tonnes, or value in the source's currency).
    dataset : str, optional
        ``"dataset"`` or ``"source/dataset"``; needed only if several datasets cover the windows.
    totals : list of str, optional
        Datasets in `frame` with the partners' totals without grade detail (``"nrg_ti_oil"``,
        ``"published"``...) that narrow the bounds (see :func:`oilflows.analytics.volume_bounds`).

    Notes
    -----
    Monthly means use only months in which the reporter has a WORLD total; in such a month a
    partner with no disclosed value counts as 0; confidential cells are left out of the partner's
    sum and end up in ``undisclosed`` (WORLD minus the disclosed partners).
    """
    lo_b, hi_b = window(baseline)
    lo_p, hi_p = window(post)
    if lo_p <= hi_b:
        raise AnalysisError(f"post window {post} must start after the baseline {baseline} ends")
    panel = build_panel(frame, reporter, measure, "M", dataset, [(lo_b, hi_b), (lo_p, hi_p)])
    table = panel.values.copy()
    table[UNDISCLOSED] = panel.undisclosed
    table[WORLD] = panel.world
    in_base = (table.index >= lo_b) & (table.index <= hi_b)
    in_post = (table.index >= lo_p) & (table.index <= hi_p)
    for name in (displaced, substitute):
        if name not in table.columns:
            table[name] = 0.0
    base, after = table.loc[in_base], table.loc[in_post]
    conf = panel.confidential.reindex(columns=table.columns, fill_value=0)
    replacement = pd.DataFrame({
        "baseline_mean": base.mean(), "post_mean": after.mean(),
        "baseline_total": base.sum(), "post_total": after.sum(),
        "confidential_baseline": conf.loc[in_base].sum(),
        "confidential_post": conf.loc[in_post].sum(),
    })
    replacement["change"] = replacement["post_mean"] - replacement["baseline_mean"]
    shortfall = float(-replacement.loc[displaced, "change"])
    gain = float(replacement.loc[substitute, "change"])
    share = replacement["change"] / shortfall if shortfall > 0 else np.nan
    replacement["share_of_shortfall"] = share
    if shortfall > 0:
        replacement.loc[WORLD, "share_of_shortfall"] = -replacement.loc[WORLD, "change"] / shortfall
        replacement.loc[displaced, "share_of_shortfall"] = np.nan
    keep = (replacement[["baseline_mean", "post_mean"]].abs().sum(axis=1) > 0) | replacement.index.isin(
        [displaced, substitute, UNDISCLOSED, WORLD])
    replacement = replacement.loc[keep]
    replacement.index.name = "partner"
    others = replacement.drop(index=[displaced, WORLD])["change"].sum()
    residual = float(others - replacement.loc[WORLD, "change"] - shortfall)
    undisclosed_share = {
        "baseline": float(base[UNDISCLOSED].sum() / base[WORLD].sum()),
        "post": float(after[UNDISCLOSED].sum() / after[WORLD].sum()),
    }
    result = SubstitutionResult(
        reporter=reporter, displaced=displaced, substitute=substitute, baseline=(lo_b, hi_b),
        post=(lo_p, hi_p), measure=measure, source=panel.source, dataset=panel.dataset,
        shortfall=shortfall, gain=gain, coverage=gain / shortfall if shortfall > 0 else np.nan,
        replacement=replacement, baseline_months=int(in_base.sum()), post_months=int(in_post.sum()),
        undisclosed_share=undisclosed_share, identity_residual=residual, panel=panel,
    )
    bounds_error: str | None = None
    try:
        own = partner_change_bounds(
            frame, reporter, [p for p in replacement.index if p not in (WORLD, UNDISCLOSED)],
            baseline, post, measure=measure, dataset=f"{panel.source}/{panel.dataset}")
        replacement[["change_lower", "change_upper"]] = own[["change_lower", "change_upper"]]
        result.bounds = substitution_bounds(
            frame, reporter, displaced=displaced, substitute=substitute, baseline=baseline, post=post,
            measure=measure,
            dataset=f"{panel.source}/{panel.dataset}", totals=totals)
    except AnalysisError as exc:
        if totals:
            raise
        bounds_error = str(exc)
    result.caveats = _caveats(result, panel, lo_b, hi_b, lo_p, hi_p, baseline, post)
    if bounds_error:
        result.caveats.insert(0, f"bounds not available: {bounds_error}")
    elif result.bounds is not None and result.bounds.caveats:  # set when there is no bounds_error
        result.caveats[:0] = result.bounds.caveats
    return result


def _caveats(result: SubstitutionResult, panel: Panel, lo_b: pd.Timestamp, hi_b: pd.Timestamp,
             lo_p: pd.Timestamp, hi_p: pd.Timestamp, baseline: tuple[str, str],
             post: tuple[str, str]) -> list[str]:
    """Data-driven caveats: confidential cells of the two partners, window coverage, routes."""
    notes: list[str] = []
    expected_b = len(pd.period_range(lo_b, hi_b, freq="M"))
    expected_p = len(pd.period_range(lo_p, hi_p, freq="M"))
    if result.baseline_months < expected_b or result.post_months < expected_p:
        notes.append(f"{WORLD} totals cover {result.baseline_months}/{expected_b} baseline and "
                     f"{result.post_months}/{expected_p} post months; means use those months only.")
    notes.append(f"{result.undisclosed_share['post']:.0%} of {result.reporter}'s post-window "
                 f"imports sit in confidential cells (undisclosed): disclosed figures are lower "
                 f"bounds for every partner; the identified intervals (coverage_bounds) take "
                 f"every split of the confidential volume into account.")
    grades = panel.grades
    conf = grades[grades["flag"].fillna("").str.contains("c", regex=False)]
    for who, role in ((result.displaced, "displaced"), (result.substitute, "substitute")):
        for name, lo, hi in (("baseline", lo_b, hi_b), ("post", lo_p, hi_p)):
            cells = conf[(conf["partner"] == who) & (conf["period"] >= lo) & (conf["period"] <= hi)]
            if cells.empty:
                continue
            by_grade = cells.groupby("grade", dropna=False).size()
            listing = ", ".join(f"{g} ({n} months)" for g, n in by_grade.items())
            effect = ("the shortfall may be overstated" if role == "displaced" and name == "post"
                      else "the gain may be understated" if role == "substitute" and name == "post"
                      else "the baseline is understated")
            notes.append(f"{who} has confidential cells in the {name} window: {listing}; their "
                         f"volume is in 'undisclosed', so {effect}.")
    present = set(grades.loc[grades["partner"] == result.substitute, "grade"].dropna())
    notes.extend(grade_caveats(present, partner=result.substitute, reporter=result.reporter))
    notes.append("Partners are countries of origin (where the crude was produced), not the "
                 "country of loading or consignment; a country groups several grades with "
                 "different routes and qualities.")
    return notes






def _format_table(table: pd.DataFrame, divisor: float) -> str:
    header = (f"{'partner':<12}{'baseline':>12}{'post':>12}{'change':>12}{'share':>9}{'conf.post':>10}"
              f"  identified change")
    rows = [header]
    for partner, row in table.iterrows():
        share = row["share_of_shortfall"]
        share_text = "" if pd.isna(share) else f"{share:.1%}"
        lo, hi = row.get("change_lower", np.nan), row.get("change_upper", np.nan)
        span = ("" if pd.isna(lo) else "exact" if lo == hi
                else f"{fmt(lo, divisor)} .. {fmt(hi, divisor)}")
        rows.append(f"{partner!s:<12}{fmt(row['baseline_mean'], divisor):>12}"
                    f"{fmt(row['post_mean'], divisor):>12}{fmt(row['change'], divisor):>12}"
                    f"{share_text:>9}{int(row['confidential_post']):>10}  {span}")
    return "\n".join(rows)

__all__ = ["SubstitutionResult", "substitution"]
