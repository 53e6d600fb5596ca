"""Event study across reporters (:func:`event_study`).

Public from :mod:`oilflows.analytics.panel_designs`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from ..errors import AnalysisError
from ._designs_common import (
    _axis_label,
    _caveats,
    _dot,
    _draws_text,
    _excluding_zero,
    _identified_set,
    _num,
    _rule_text,
    _setup,
    _small,
    _tolerance,
    _unbounded,
    _weights,
)
from ._plot import pyplot
from ._result import Result, summary_method
from ._signature import call_forms
from ._two_way import _infer, _support, _TwoWay
from .reporter_panel import ReporterPanel

if TYPE_CHECKING:
    from matplotlib.axes import Axes

# -- event study ------------------------------------------------------------------------------------


@dataclass
class EventStudyResult(Result):
    """The result of :func:`event_study`: beta_k for months relative to `post_start` (k = 0 first month).

    ``table``: one row per k (the reference month included with estimate 0): estimate, se (CR1),
    ci_low/ci_high and pvalue of the chosen inference, ci/p of both inferences, ``binned`` (endpoint
    bins collect all months beyond), ``treated_obs`` (treated reporter-months in the bin); with
    ``confidential="bounds"`` also ``bound_low``/``bound_high`` (the identified set of each beta_k) and
    ``estimate_at_hi`` (``estimate`` is then at the lower end of every outcome interval); with
    ``inference="wild"``: ``n_boot`` (draws used) and ``mc_error_low``/``mc_error_high`` (Monte Carlo
    s.e. of each interval end, 0 when every weight vector is enumerated);
    ``mean_post_bounds``: the identified set of the mean of beta_k over k >= 0.
    """

    treated: list[str]
    controls: list[str]
    dropped: dict[str, str]
    partner: str
    outcome: str
    measure: str
    source: str
    dataset: str
    post_start: pd.Timestamp
    pre: tuple[pd.Timestamp, pd.Timestamp]
    post: tuple[pd.Timestamp, pd.Timestamp]
    ref: int
    leads: int
    lags: int
    inference: str
    weights: str
    n_boot: int | None
    level: float
    n_obs: int
    n_clusters: int
    table: pd.DataFrame
    caveats: list[str] = field(default_factory=list)
    panel: ReporterPanel | None = field(default=None, repr=False)
    confidential: str = "drop"
    mean_post_bounds: tuple[float, float] | None = None

    def _repr_fields(self) -> dict:
        names = ("treated", "controls", "partner", "outcome", "ref", "leads", "lags", "n_obs")
        return {n: getattr(self, n) for n in names}

    def to_frame(self) -> pd.DataFrame:
        """The coefficient table (one row per relative month k)."""
        return self.table.reset_index()

    @summary_method
    def summary(self) -> str:
        """Plain-text table of beta_k with intervals, the average post effect and caveats."""
        label = self.panel.outcome_label() if self.panel else self.outcome
        post = self.table[self.table.index >= 0]
        pre = self.table[(self.table.index < 0) & (self.table.index != self.ref)]
        lines = [f"Event study: {label}",
                 f"data: {self.source}/{self.dataset}; treated: {', '.join(self.treated)}; controls: "
                 f"{', '.join(self.controls)}",
                 f"k = months since {self.post_start:%Y-%m}; reference k = {self.ref}; endpoints binned at "
                 f"k <= {-self.leads} and k >= {self.lags}; {self.n_obs} reporter-months, {self.n_clusters} "
                 f"clusters; intervals: {self._method()}",
                 f"mean beta_k, k >= 0: {_num(post['estimate'].mean(), self.outcome)}; mean |beta_k|, "
                 f"k < 0 (pre-trend check): {_num(pre['estimate'].abs().mean(), self.outcome)}; "
                 f"pre-period k with CI excluding 0: {_excluding_zero(pre)} of {len(pre)}",
                 f"confidential {self.partner} cells: {_rule_text(self.confidential)}"]
        bounds = self.mean_post_bounds is not None
        if self.mean_post_bounds is not None:
            low, high = self.mean_post_bounds
            lines.append(f"identified set of mean beta_k, k >= 0: [{_num(low, self.outcome)}, "
                         f"{_num(high, self.outcome)}]" + _unbounded(self.mean_post_bounds)
                         + "; per-k sets in bound_low/bound_high; estimates and intervals at the lower end "
                         "of every outcome interval; no inference for the sets")
        lines += ["", f"{'k':>5}{'estimate':>12}{'ci_low':>12}{'ci_high':>12}{'p':>8}{'bin':>5}"
                  + (f"{'set low':>12}{'set high':>12}" if bounds else "")]
        for k, row in self.table.iterrows():
            p = "" if pd.isna(row["pvalue"]) else f"{row['pvalue']:.3f}"
            lines.append(f"{k:>5}{_num(row['estimate'], self.outcome):>12}"
                         f"{_num(row['ci_low'], self.outcome):>12}{_num(row['ci_high'], self.outcome):>12}"
                         f"{p:>8}{'yes' if row['binned'] else '':>5}"
                         + (f"{_num(row['bound_low'], self.outcome):>12}"
                            f"{_num(row['bound_high'], self.outcome):>12}" if bounds else ""))
        if self.caveats:
            lines += ["", "Caveats:"] + [f"- {c}" for c in self.caveats]
        return "\n".join(lines)

    def _method(self) -> str:
        if self.inference == "wild":
            errors = self.table[["mc_error_low", "mc_error_high"]].to_numpy(float)
            exact = bool(np.nanmax(errors) == 0) and self.n_boot == _support(self.n_clusters, self.weights)
            text = _draws_text(self.n_boot, exact, self.n_clusters, self.weights)
            if not exact:
                text += (f"; largest Monte Carlo s.e. of an interval end "
                         f"{_small(float(np.nanmax(errors)), self.outcome)}")
            return f"wild cluster bootstrap (restricted, {self.weights}, {text})"
        return "CR1 with t(G-1)"

    def plot(self, ax: Axes | None = None) -> Axes:
        """beta_k with intervals against k, the reference month at 0 and the treatment line."""
        plt = pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 4))
        factor = 100 if self.outcome == "share" else 1
        t = self.table
        low = np.clip(factor * (t["estimate"] - t["ci_low"]).to_numpy(float), 0, None)
        high = np.clip(factor * (t["ci_high"] - t["estimate"]).to_numpy(float), 0, None)
        finite = np.isfinite(low) & np.isfinite(high)
        ax.errorbar(t.index[finite], factor * t["estimate"][finite], yerr=[low[finite], high[finite]],
                    fmt="o", color="#2166ac", capsize=2, markersize=4)
        ax.plot(t.index[~finite], factor * t["estimate"][~finite], "o", color="#999999")
        ax.axhline(0, color="black", linewidth=0.8)
        ax.axvline(-0.5, color="black", linestyle=":", linewidth=1)
        ax.set_xlabel(f"months relative to {self.post_start:%Y-%m} (reference {self.ref})")
        ax.set_ylabel(_axis_label(self, prefix="effect on "))
        ax.set_title(f"Event study: {', '.join(self.treated)} vs {', '.join(self.controls)}")
        return ax


@call_forms(old_positional=("controls", "partner", "outcome", "post_start", "pre", "post", "leads", "lags",
                            "ref", "cluster", "inference", "n_boot", "seed", "dataset"))
def event_study(
    frame: pd.DataFrame,
    treated: str | Sequence[str],
    *,
    controls: Sequence[str] | None = None,
    partner: str,
    outcome: str = "share",
    post_start: str = "2023-01",
    pre: tuple[str, str] | None = None,
    post: tuple[str, str] | None = None,
    leads: int = 12,
    lags: int = 12,
    ref: int = -1,
    cluster: str = "reporter",
    inference: str = "wild",
    n_boot: int | Literal["auto"] = "auto",
    seed: int = 0,
    dataset: str | None = None,
    measure: str = "volume_bbl",
    weights: str = "webb",
    level: float = 0.95,
    confidential: str = "drop",
) -> EventStudyResult:
    """Event study ``y_ct = a_c + l_t + sum_{k != ref} beta_k D_c 1[t - T0 = k] + e_ct``.

    Parameters are those of :func:`did`, plus:

    leads, lags : int
        Endpoint bins: months with k <= -`leads` share one coefficient, so do months with k >= `lags`
        (k = months since `post_start`, 0 = the first treated month).
    ref : int
        The omitted relative month (default -1, the month before treatment).

    Each beta_k gets a CR1 standard error and, with ``inference="wild"``, its own wild-bootstrap
    interval (same draws for every k, the other event dummies and fixed effects left free under the
    null). No joint pre-trend Wald test is reported: with G clusters the cluster covariance of more
    than G - 1 coefficients is singular.
    """
    if leads < 1 or lags < 1:
        raise AnalysisError(f"leads and lags must be at least 1, got {leads} and {lags}")
    if not -leads <= ref < 0:
        raise AnalysisError(f"ref must be a pre-period month between {-leads} and -1, got {ref}")
    setup = _setup(frame, treated, controls, partner, outcome, post_start, pre, post, cluster, inference,
                   n_boot, weights, level, measure, dataset, confidential)
    data, t0 = setup["data"], setup["t0"]
    periods = data["period"].dt.to_period("M")
    rel = (periods.dt.year - t0.year) * 12 + (periods.dt.month - t0.month)
    binned = rel.clip(lower=-leads, upper=lags).to_numpy()
    is_treated = data["treated"].to_numpy()
    ks = sorted(set(binned[is_treated]))
    if ref not in ks:
        raise AnalysisError(f"no treated reporter-month at the reference k = {ref} "
                            f"({(t0 + pd.DateOffset(months=ref)):%Y-%m})")
    ks = [k for k in ks if k != ref]
    regressors = np.column_stack([(is_treated & (binned == k)).astype(float) for k in ks])
    model = _TwoWay(data["y"].to_numpy(float), regressors, setup["fixed"], data["reporter"].to_numpy())
    rows = []
    for j, k in enumerate(ks):
        fit = model.coefficient(j)
        inf = _infer(fit, inference, weights, n_boot, seed, level, _tolerance(outcome))
        if inference == "wild":
            assert inf.ci_wild is not None  # _infer bootstraps for "wild"
            ci, p = inf.ci_wild, inf.p_wild
        else:
            ci, p = inf.ci_cluster, inf.p_cluster
        rows.append({"k": k, "estimate": inf.estimate, "se": inf.se, "ci_low": ci[0], "ci_high": ci[1],
                     "pvalue": p, "ci_low_cluster": inf.ci_cluster[0], "ci_high_cluster": inf.ci_cluster[1],
                     "p_cluster": inf.p_cluster, "treated_obs": int(regressors[:, j].sum()),
                     "n_boot": inf.n_boot_used, "mc_error_low": inf.mc_error[0] if inf.mc_error else np.nan,
                     "mc_error_high": inf.mc_error[1] if inf.mc_error else np.nan})
    rows.append({"k": ref, "estimate": 0.0, "se": 0.0, "ci_low": 0.0, "ci_high": 0.0, "pvalue": np.nan,
                 "ci_low_cluster": 0.0, "ci_high_cluster": 0.0, "p_cluster": np.nan,
                 "treated_obs": int((is_treated & (binned == ref)).sum()), "n_boot": None,
                 "mc_error_low": 0.0, "mc_error_high": 0.0})
    mean_post_bounds = None
    if confidential == "bounds":
        c = _weights(regressors, setup["fixed"])
        y_lo, y_hi = data["y_lo"].to_numpy(float), data["y_hi"].to_numpy(float)
        for j, row in enumerate(rows[:-1]):
            row["bound_low"], row["bound_high"] = _identified_set(c[j], y_lo, y_hi)
            row["estimate_at_hi"] = _dot(c[j], y_hi)
        rows[-1].update(bound_low=0.0, bound_high=0.0, estimate_at_hi=0.0)
        post_rows = [j for j, k in enumerate(ks) if k >= 0]
        # The mean over k >= 0 (reference row excluded, as in the summary's mean) is linear too.
        mean_post_bounds = _identified_set(c[post_rows].mean(axis=0), y_lo, y_hi)
    table = pd.DataFrame(rows).set_index("k").sort_index()
    table["binned"] = [(k == -leads and (rel[is_treated] < -leads).any())
                       or (k == lags and (rel[is_treated] > lags).any()) for k in table.index]
    result = EventStudyResult(
        treated=setup["treated"], controls=setup["controls"], dropped=setup["panel"].dropped,
        partner=partner, outcome=outcome, measure=measure, source=setup["panel"].source,
        dataset=setup["panel"].dataset, post_start=t0, pre=setup["pre"], post=setup["post"], ref=ref,
        leads=leads, lags=lags, inference=inference, weights=weights,
        n_boot=None if inference != "wild" else int(pd.Series([r["n_boot"] for r in rows[:-1]]).max()),
        level=level, n_obs=len(data), n_clusters=fit.n_clusters, table=table, panel=setup["panel"],
        confidential=confidential, mean_post_bounds=mean_post_bounds)
    result.caveats = _caveats(setup, partner)
    return result
