"""Continuous-treatment (exposure) design (:func:`exposure`).

Public from :mod:`oilflows.analytics.panel_designs`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import AnalysisError
from ..schema import WORLD
from ._designs_common import (
    _span,
)
from ._panel import window
from ._plot import pyplot
from ._result import Result, renamed, summary_method
from ._signature import call_forms
from .reporter_panel import (
    _check_choice,
    available_reporters,
    reporter_panel_in_windows,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from statsmodels.regression.linear_model import RegressionResultsWrapper

# -- exposure (continuous dose) ---------------------------------------------------------------------


@dataclass
class ExposureResult(Result):
    """The result of :func:`exposure`: ``ds_c = a + b * dose_c (+ controls)`` across reporters, OLS.

    ``b`` is the change in `partner`'s share per unit of the pre-period share of `displaced`: with
    b = 0.2, a reporter that took 30 % from the dose partner gained 6 points more of `partner` than one
    that took none. ``table``: per reporter dose, base and post shares, their change, undisclosed shares.
    The fields ``displaced`` and ``baseline`` were ``dose_partner`` and ``base``; the old names still
    read (deprecated).
    """

    partner: str
    displaced: str
    measure: str
    source: str
    dataset: str
    baseline: tuple[pd.Timestamp, pd.Timestamp]
    post: tuple[pd.Timestamp, pd.Timestamp]
    b: float
    se: float
    ci: tuple[float, float]
    pvalue: float
    a: float
    cov_type: str
    level: float
    n: int
    table: pd.DataFrame
    params: pd.DataFrame
    dropped: dict[str, str] = field(default_factory=dict)
    caveats: list[str] = field(default_factory=list)
    model: object = field(default=None, repr=False)  # the statsmodels results
    df_resid: int | None = None  # n - k: the t quantiles' degrees of freedom

    def _repr_fields(self) -> dict:
        return {n: getattr(self, n) for n in ("partner", "displaced", "b", "se", "ci", "pvalue", "n")}

    dose_partner = renamed("displaced")
    base = renamed("baseline")

    def to_frame(self) -> pd.DataFrame:
        """The per-reporter table, one row per ``reporter`` (a column): dose, shares, change, fitted
        value, residual."""
        return self.table.rename_axis("reporter").reset_index()

    @summary_method
    def summary(self) -> str:
        """Plain-text report of b with its robust interval, the reporter table and caveats."""
        lines = [f"Exposure design: change in {self.partner} share of {WORLD} ({_span(self.post)} vs "
                 f"{_span(self.baseline)}) on the base-window {self.displaced} share",
                 f"data: {self.source}/{self.dataset}, {self.measure}; OLS across {self.n} reporters, "
                 f"{self.cov_type} standard errors, t({self.df_resid}) quantiles and p-values",
                 f"b = {self.b:.4f} (s.e. {self.se:.4f}), {self.level:.0%} CI [{self.ci[0]:.4f}, "
                 f"{self.ci[1]:.4f}], p = {self.pvalue:.3f}; a = {self.a:.4f}",
                 "",
                 f"{'reporter':<9}{'dose':>8}{'base':>8}{'post':>8}{'change':>9}{'undiscl. base/post':>20}"]
        for reporter, row in self.table.iterrows():
            lines.append(f"{reporter:<9}{row['dose']:>8.1%}{row['share_base']:>8.1%}"
                         f"{row['share_post']:>8.1%}{row['change']:>+9.1%}"
                         f"{row['undisclosed_base']:>11.0%} /{row['undisclosed_post']:>5.0%}")
        if self.caveats:
            lines += ["", "Caveats:"] + [f"- {c}" for c in self.caveats]
        return "\n".join(lines)

    def plot(self, ax: Axes | None = None) -> Axes:
        """Scatter of the change against the dose, reporters labelled, with the fitted line."""
        plt = pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        t = self.table
        ax.scatter(100 * t["dose"], 100 * t["change"], color="#2166ac")
        for reporter, row in t.iterrows():
            ax.annotate(reporter, (100 * row["dose"], 100 * row["change"]), fontsize="small",
                        xytext=(3, 3), textcoords="offset points")
        grid = np.linspace(0, t["dose"].max() * 1.05, 20)
        others = t["fitted"] - self.a - self.b * t["dose"]
        ax.plot(100 * grid, 100 * (self.a + self.b * grid + others.mean()), color="#b2182b",
                label=f"b = {self.b:.3f}")
        ax.set_xlabel(f"{self.displaced} share of {WORLD}, {_span(self.baseline)}, %")
        ax.set_ylabel(f"change in {self.partner} share, points")
        ax.legend(loc="best", fontsize="small")
        return ax


@call_forms(old_positional=("partner", "displaced", "baseline", "post", "controls"),
            renamed={"dose_partner": "displaced", "base": "baseline"})
def exposure(
    frame: pd.DataFrame,
    reporters: Sequence[str] | None = None,
    *,
    partner: str,
    displaced: str,
    baseline: tuple[str, str] = ("2021-01", "2021-12"),
    post: tuple[str, str] = ("2023-01", "2023-12"),
    controls: pd.DataFrame | None = None,
    measure: str = "volume_bbl",
    dataset: str | None = None,
    freq: str = "M",
    cov_type: str = "HC3",
    level: float = 0.95,
    confidential: str = "drop",
) -> ExposureResult:
    """Continuous-treatment (exposure) design: ``ds^partner_c = a + b * s^dose_partner_{c,base} + controls``.

    Parameters
    ----------
    frame : pandas.DataFrame
        A canonical frame.
    reporters : sequence of str, optional
        Importers; default every country reporter in the data. Reporters without a WORLD total in
        both windows, and non-country codes (``EU``, ``EU_V``), are left out (listed in
        :attr:`ExposureResult.dropped`).
    partner, displaced : str
        The partner whose share change is explained, and the displaced supplier whose baseline share
        is the dose (was ``dose_partner=``, deprecated; so is the result's ``dose_partner``).
    baseline, post : tuple of str
        Inclusive windows (`baseline` was ``base=``, deprecated). Shares are ratios of window sums
        (volume-weighted over months).
    controls : pandas.DataFrame, optional
        Reporter-level covariates indexed by reporter code (numeric columns).
    measure : {"volume_bbl", "mass_t", "value"}
    dataset : str, optional
    freq : {"M", "A"}
        Frequency of the data used (windows are then years, e.g. ``("2021", "2021")``).
    cov_type : str
        statsmodels robust covariance; HC3 (default) suits few observations (Long & Ervin 2000). The
        interval and p-value use t(n - k) quantiles (statsmodels ``use_t=True``; n reporters, k
        coefficients), not the normal: with 5 reporters t(3).
    level : float
    confidential : {"drop", "lower_bound"}
        Applied to `partner`: ``drop`` (default) leaves out reporter-months with a confidential
        `partner` cell (not identified); ``lower_bound`` keeps their disclosed part, a lower bound,
        not the outcome. The dose is always the disclosed share (a lower bound).
    """
    dose_partner, base = displaced, baseline
    lo_b, hi_b = window(base)
    lo_p, hi_p = window(post)
    if lo_p <= hi_b:
        raise AnalysisError(f"post window {post} must start after the base window {base} ends")
    windows = [(lo_b, hi_b), (lo_p, hi_p)]
    _check_choice("confidential", confidential, ("drop", "lower_bound"))
    if reporters is None:
        reporters = available_reporters(frame, windows, measure, freq, dataset)
    panel = reporter_panel_in_windows(frame, reporters, "share", partner, measure, dataset, windows, freq,
                                      confidential, "drop", non_countries="drop")
    rows = []
    for reporter, reporter_panel_ in panel.panels.items():
        data = panel.data[panel.data["reporter"] == reporter]
        in_b = (data["period"] >= lo_b) & (data["period"] <= hi_b)
        in_p = (data["period"] >= lo_p) & (data["period"] <= hi_p)
        base_periods = data.loc[in_b, "period"]
        dose_q = (reporter_panel_.values[dose_partner] if dose_partner in reporter_panel_.values.columns
                  else pd.Series(0.0, index=reporter_panel_.values.index)).reindex(base_periods)
        rows.append({"reporter": reporter, "dose": dose_q.sum() / data.loc[in_b, "world"].sum(),
                     "share_base": data.loc[in_b, "quantity"].sum() / data.loc[in_b, "world"].sum(),
                     "share_post": data.loc[in_p, "quantity"].sum() / data.loc[in_p, "world"].sum(),
                     "undisclosed_base": data.loc[in_b, "undisclosed"].sum() / data.loc[in_b, "world"].sum(),
                     "undisclosed_post": data.loc[in_p, "undisclosed"].sum() / data.loc[in_p, "world"].sum(),
                     "months_base": int(in_b.sum()), "months_post": int(in_p.sum())})
    table = pd.DataFrame(rows).set_index("reporter")
    table.insert(3, "change", table["share_post"] - table["share_base"])
    design = pd.DataFrame({"const": 1.0, "dose": table["dose"]}, index=table.index)
    if controls is not None:
        missing = sorted(set(table.index) - set(controls.index))
        if missing:
            raise AnalysisError(f"controls have no row for reporter(s) {', '.join(missing)}")
        design = design.join(controls.loc[table.index].astype(float))
    if len(table) <= design.shape[1]:
        raise AnalysisError(f"{len(table)} reporters with data ({', '.join(table.index)}) cannot identify "
                            f"{design.shape[1]} coefficients; dropped: "
                            + ("; ".join(f"{r}: {w}" for r, w in panel.dropped.items()) or "none"))
    if np.ptp(table["dose"].to_numpy()) == 0:
        raise AnalysisError(f"the dose ({dose_partner} share) is the same for every reporter")
    import statsmodels.api as sm

    # use_t: t(n - k) quantiles and p-values (statsmodels' robust covariances default to the normal).
    model = sm.OLS(table["change"], design).fit(cov_type=cov_type, use_t=True)
    table["fitted"], table["residual"] = model.fittedvalues, model.resid
    ci = model.conf_int(alpha=1 - level).loc["dose"]
    params = pd.DataFrame({"estimate": model.params, "se": model.bse, "pvalue": model.pvalues})
    result = ExposureResult(
        partner=partner, displaced=dose_partner, measure=measure, source=panel.source,
        dataset=panel.dataset, baseline=(lo_b, hi_b), post=(lo_p, hi_p), b=float(model.params["dose"]),
        se=float(model.bse["dose"]), ci=(float(ci.iloc[0]), float(ci.iloc[1])),
        pvalue=float(model.pvalues["dose"]), a=float(model.params["const"]), cov_type=cov_type,
        level=level, n=len(table), table=table, params=params, dropped=panel.dropped, model=model,
        df_resid=int(round(model.df_resid)))
    result.caveats = _exposure_caveats(result, model)
    return result


def _exposure_caveats(result: ExposureResult, model: RegressionResultsWrapper) -> list[str]:
    notes = [f"{r} left out: {why}." for r, why in result.dropped.items()]
    if result.n < 10:
        notes.append(f"only {result.n} reporters: robust standard errors rest on asymptotics that do "
                     "not hold; read b as descriptive.")
    leverage = model.get_influence().hat_matrix_diag
    if np.max(leverage) > 0.99:
        notes.append("a reporter has leverage ~1 (it alone pins the slope): HC3 is undefined for it.")
    heavy = result.table[result.table[["undisclosed_base", "undisclosed_post"]].max(axis=1) > 0.25]
    if not heavy.empty:
        notes.append("large undisclosed shares (" + ", ".join(heavy.index)
                     + f"): their {result.partner} change and {result.displaced} dose are lower bounds.")
    notes.append(f"SUTVA: {result.partner} supply is capacity-constrained, so one reporter's gain can be "
                 "another's loss; b mixes substitution with reallocation between importers.")
    return notes
