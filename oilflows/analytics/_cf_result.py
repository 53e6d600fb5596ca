"""Counterfactual forecasts, part 2: the result class (split from
:mod:`oilflows.analytics.counterfactual`, issue 14)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..schema import WORLD
from ._panel import Panel, display, fmt
from ._plot import pyplot
from ._result import Result, summary_method

if TYPE_CHECKING:
    from matplotlib.axes import Axes


# -- the result -----------------------------------------------------------------------------------


@dataclass
class CounterfactualResult(Result):
    """The result of :func:`counterfactual`.

    Quantities are in the measure's base unit (barrels, tonnes or currency units) per month for
    ``target="volume"``, and fractions of the WORLD total for ``target="share"``.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per forecast month (``window`` is ``"gap"`` between the pre window and the post
        window, ``"post"`` inside it): actual, counterfactual mean, its prediction interval, the
        excess and its interval, and the excess cumulated over the post window with its interval.
    cumulative_excess, cumulative_interval : float, tuple of float
        Sum over the post months with an observed actual of (actual - counterfactual), and its
        ``1 - alpha`` prediction interval.
    coverage, coverage_interval : float, tuple of float
        Cumulative excess of `partner` divided by the cumulative shortfall of `displaced` over the
        same post months (NaN without a displaced partner). See :func:`counterfactual`.
    shortfall : float
        The displaced partner's cumulative shortfall (the denominator).
    residual_correlation : float
        Correlation of the two fits' pre-window one-step residuals used in the joint simulation
        of the coverage interval (NaN without a forecast baseline; 0 if ``joint_coverage=False``).
    anticipation : CounterfactualResult or None
        The same analysis with the pre window ending at ``anticipation_end`` (None if the default
        pre window already ends there or earlier; ``anticipation_error`` says why it failed).
    caveats : list of str
        Data and model caveats.
    """

    reporter: str
    partner: str
    displaced: str | None
    shock: pd.Timestamp
    pre: tuple[pd.Timestamp, pd.Timestamp]
    post: tuple[pd.Timestamp, pd.Timestamp]
    measure: str
    target: str
    model: str
    spec: str
    alpha: float
    source: str
    dataset: str
    series: pd.Series
    table: pd.DataFrame
    cumulative_excess: float
    cumulative_interval: tuple[float, float]
    mean_excess: float
    post_months_used: int
    pre_months_used: int
    coverage: float
    coverage_interval: tuple[float, float]
    shortfall: float
    shortfall_interval: tuple[float, float]
    displaced_baseline: str
    displaced_table: pd.DataFrame | None
    undisclosed_share: dict[str, float]
    parameter_uncertainty: bool
    n_sims: int
    seed: int
    caveats: list[str] = field(default_factory=list)
    panel: Panel | None = field(default=None, repr=False)
    residual_correlation: float = np.nan
    joint_coverage: bool = True
    anticipation: CounterfactualResult | None = field(default=None, repr=False)
    anticipation_error: str | None = None

    def _repr_fields(self) -> dict:
        names = ("reporter", "partner", "shock",
                 "model", "cumulative_excess", "cumulative_interval", "coverage")
        return {n: getattr(self, n) for n in names}

    def to_frame(self) -> pd.DataFrame:
        """Forecast months: ``period, window, actual, counterfactual, lower, upper, excess,
        excess_lower, excess_upper, cumulative_excess, cumulative_lower, cumulative_upper`` (the time
        column was called ``month`` before issue 14)."""
        return self.table.rename_axis("period").reset_index()

    def _scale(self) -> tuple[str, float, int]:
        if self.target == "share":
            return "% of WORLD", 0.01, 2
        unit, div = display(self.measure, "USD" if self.measure == "value" else None)
        return unit, div, 0

    @summary_method
    def summary(self) -> str:
        """A plain-text report: data, model, monthly table, cumulative excess, coverage, caveats."""
        unit, div, dec = self._scale()
        p0, p1 = (p.strftime("%Y-%m") for p in self.pre)
        q0, q1 = (p.strftime("%Y-%m") for p in self.post)
        lo, hi = self.cumulative_interval
        level = f"{1 - self.alpha:.0%}"
        what = "share of WORLD" if self.target == "share" else self.measure
        cum_unit = "share-months, in % points" if self.target == "share" else unit
        lines = [
            f"Counterfactual for {self.reporter}<-{self.partner} ({what}), shock {self.shock:%Y-%m}",
            f"data: {self.source}/{self.dataset}; values shown in {unit}",
            f"model: {self.spec}, fitted on {p0}..{p1} ({self.pre_months_used} observed months)",
            f"intervals: {level} prediction intervals"
            + (" incl. parameter uncertainty (delta method, t quantiles)"
               if self.parameter_uncertainty and self.model == "sarimax" else ""),
            f"undisclosed share of {WORLD}: pre {self.undisclosed_share['pre']:.1%}, "
            f"post {self.undisclosed_share['post']:.1%}",
            "",
            f"{'month':<9}{'actual':>11}{'counterf.':>11}{'lower':>11}{'upper':>11}{'excess':>11}",
        ]
        for month, row in self.table[self.table["window"] == "post"].iterrows():
            lines.append(f"{month:%Y-%m}  " + "".join(
                f"{fmt(row[c], div, dec):>11}" for c in
                ("actual", "counterfactual", "lower", "upper", "excess")))
        lines += [
            "",
            f"cumulative excess over {q0}..{q1} ({self.post_months_used} months with data): "
            f"{fmt(self.cumulative_excess, div, dec)} [{fmt(lo, div, dec)}, {fmt(hi, div, dec)}] "
            f"({cum_unit})",
            f"mean monthly excess: {fmt(self.mean_excess, div, dec)}",
        ]
        if self.displaced:
            base = ("its own counterfactual (same model, same pre window)"
                    if self.displaced_baseline == "forecast" else "its pre-window mean")
            clo, chi = self.coverage_interval
            slo, shi = self.shortfall_interval
            cov_text = "n/a" if np.isnan(self.coverage) else f"{self.coverage:.1%}"
            ci_text = ("unbounded (shortfall interval reaches 0)" if np.isnan(clo)
                       else f"[{clo:.1%}, {chi:.1%}]")
            lines += [
                f"{self.displaced} shortfall vs {base}: {fmt(self.shortfall, div, dec)} "
                f"[{fmt(slo, div, dec)}, {fmt(shi, div, dec)}]",
                f"coverage ({self.partner} cumulative excess / {self.displaced} cumulative "
                f"shortfall): {cov_text} {ci_text}",
            ]
        lines += self._anticipation_lines(div, dec, cum_unit)
        if self.caveats:
            lines += ["", "Caveats:"] + [f"- {c}" for c in self.caveats]
        return "\n".join(lines)

    def _headline(self, div: float, dec: int) -> tuple[str, str]:
        lo, hi = self.cumulative_interval
        excess = (f"{fmt(self.cumulative_excess, div, dec)} "
                  f"[{fmt(lo, div, dec)}, {fmt(hi, div, dec)}]")
        if not self.displaced:
            return excess, ""
        clo, chi = self.coverage_interval
        cov = "n/a" if np.isnan(self.coverage) else f"{self.coverage:.1%}"
        return excess, cov + (" [unbounded]" if np.isnan(clo) else f" [{clo:.1%}, {chi:.1%}]")

    def _anticipation_lines(self, div: float, dec: int, cum_unit: str) -> list[str]:
        if self.anticipation is None and self.anticipation_error is None:
            return []
        lines = ["", "Anticipation sensitivity (same model and post window, pre window ending "
                     "before 2022's run-up):"]
        if self.anticipation is None:
            return lines + [f"  not available: {self.anticipation_error}"]
        head = f"  {'pre window':<18}{'cumulative excess (' + cum_unit + ')':<40}"
        lines.append(head + ("coverage" if self.displaced else ""))
        for r, label in ((self, "default"), (self.anticipation, "early end")):
            excess, cov = r._headline(div, dec)
            window_text = f"{r.pre[0]:%Y-%m}..{r.pre[1]:%Y-%m}"
            lines.append(f"  {window_text:<18}{excess:<40}{cov}  ({label})")
        return lines

    def plot(self, ax: Axes | None = None) -> Axes:
        """The actual series and the counterfactual mean with its prediction band."""
        plt = pyplot()
        unit, div, _ = self._scale()
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 4))
        shown = self.series.loc[self.pre[0]:self.post[1]] / div
        ax.plot(shown.index, shown.to_numpy(), color="black", marker=".", label="actual")
        t = self.table
        ax.fill_between(t.index, t["lower"] / div, t["upper"] / div, color="#2166ac", alpha=0.25,
                        label=f"{1 - self.alpha:.0%} interval")
        ax.plot(t.index, t["counterfactual"] / div, color="#2166ac", linestyle="--",
                label="counterfactual")
        ax.axvline(self.shock, color="#b2182b", linewidth=0.8)
        ax.set_ylabel(unit)
        ax.set_title(f"{self.reporter}<-{self.partner}: actual vs counterfactual "
                     f"(fitted {self.pre[0]:%Y-%m}..{self.pre[1]:%Y-%m})")
        ax.legend(loc="upper left", fontsize="small")
        return ax
