"""Difference-in-differences across reporters (:func:`did`).

Public from :mod:`oilflows.analytics.panel_designs`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from ._designs_common import (
    _axis_label,
    _caveats,
    _ci,
    _dot,
    _draws_text,
    _identified_set,
    _mc_text,
    _num,
    _reporter_table,
    _rule_text,
    _setup,
    _span,
    _tolerance,
    _unbounded,
    _weights,
)
from ._plot import pyplot
from ._result import Result, summary_method
from ._signature import call_forms
from ._two_way import _infer, _TwoWay
from .reporter_panel import ReporterPanel

if TYPE_CHECKING:
    from matplotlib.axes import Axes

# -- difference-in-differences ----------------------------------------------------------------------


@dataclass
class DiDResult(Result):
    """The result of :func:`did`: beta of ``y_ct = a_c + l_t + beta * D_c * Post_t + e_ct``.

    Attributes
    ----------
    estimate : float
        beta, in the outcome's unit (a share: fraction of WORLD, so 0.01 = 1 percentage point).
    se : float
        CR1 cluster-robust standard error (clusters = reporters).
    ci, pvalue : the interval and p-value (H0: beta = 0) of the chosen `inference`.
    ci_cluster, p_cluster : CR1 with t(G-1).
    ci_wild, p_wild : wild cluster restricted bootstrap (None with ``inference="cluster"``).
    n_boot : int
        Bootstrap draws used (with every weight vector enumerated: their number, 2**G or 6**G).
    mc_error : (float, float) or None
        Monte Carlo standard error of each end of ``ci_wild`` (batch means over 10 batches; 0 when every
        weight vector is enumerated, ``bootstrap_exact``).
    means : pandas.DataFrame
        Mean outcome per month of treated and control reporters (for the plot).
    exposure_table : pandas.DataFrame
        Per reporter: group, months pre/post, mean outcome pre/post, undisclosed share pre/post,
        confidential cells of the partner pre/post.
    confidential : the rule for confidential partner cells (see :func:`did`).
    beta_bounds : (lower, upper)
        With ``confidential="bounds"``: the sharp identified set of beta (inf where unbounded).
    estimate_at_lo, estimate_at_hi : beta with every outcome at the lower / upper end of its interval.
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
    estimate: float
    se: float
    ci: tuple[float, float]
    pvalue: float
    ci_cluster: tuple[float, float]
    p_cluster: float
    ci_wild: tuple[float, float] | None
    p_wild: float | None
    inference: str
    weights: str
    n_boot: int | None
    level: float
    n_obs: int
    n_clusters: int
    means: pd.DataFrame
    exposure_table: pd.DataFrame
    caveats: list[str] = field(default_factory=list)
    panel: ReporterPanel | None = field(default=None, repr=False)
    confidential: str = "drop"
    beta_bounds: tuple[float, float] | None = None
    estimate_at_lo: float | None = None
    estimate_at_hi: float | None = None
    mc_error: tuple[float, float] | None = None
    bootstrap_exact: bool = False

    def _repr_fields(self) -> dict:
        names = ("treated", "controls", "partner", "outcome", "estimate", "se", "ci", "pvalue", "n_obs")
        return {n: getattr(self, n) for n in names}

    def to_frame(self) -> pd.DataFrame:
        """One row per inference method: estimate, se, ci_low, ci_high, pvalue."""
        rows = [{"term": "D x Post", "inference": "cluster (CR1, t(G-1))", "estimate": self.estimate,
                 "se": self.se, "ci_low": self.ci_cluster[0], "ci_high": self.ci_cluster[1],
                 "pvalue": self.p_cluster}]
        if self.ci_wild is not None:
            rows.append({"term": "D x Post", "inference": f"wild cluster bootstrap ({self.weights}, WCR)",
                         "estimate": self.estimate, "se": self.se, "ci_low": self.ci_wild[0],
                         "ci_high": self.ci_wild[1], "pvalue": self.p_wild})
        return pd.DataFrame(rows)

    @summary_method
    def summary(self) -> str:
        """Plain-text report: design, windows, estimate with both inferences, per-reporter table, caveats."""
        label = self.panel.outcome_label() if self.panel else self.outcome
        lines = [
            f"Difference-in-differences: {label}",
            f"data: {self.source}/{self.dataset}; treated: {', '.join(self.treated)}; controls: "
            f"{', '.join(self.controls)}",
            f"pre {_span(self.pre)}, post {_span(self.post)}; Post_t = 1 from {self.post_start:%Y-%m}",
            f"model: y_ct = a_c + l_t + beta D_c Post_t + e_ct, OLS with reporter and month dummies "
            f"({self.n_obs} reporter-months, {self.n_clusters} reporter clusters)",
            "",
            f"confidential {self.partner} cells: {_rule_text(self.confidential)}",
        ]
        if self.beta_bounds is not None:
            lines += [
                f"identified set of beta: [{_num(self.beta_bounds[0], self.outcome)}, "
                f"{_num(self.beta_bounds[1], self.outcome)}]" + _unbounded(self.beta_bounds)
                + "; no inference for the set (its intervals are out of scope)",
                f"  beta with every outcome at its lower end {_num(self.estimate_at_lo, self.outcome)}, "
                f"at its upper end {_num(self.estimate_at_hi, self.outcome)}; the estimate and "
                "intervals below are at the lower end",
            ]
        lines += [
            f"beta = {_num(self.estimate, self.outcome)}  "
            f"(CR1 s.e. {_num(self.se, self.outcome, sign=False)})",
            f"  cluster-robust CR1, t({self.n_clusters - 1}): {self.level:.0%} CI "
            f"{_ci(self.ci_cluster, self.outcome)}, p = {self.p_cluster:.3f}",
        ]
        if self.ci_wild is not None:
            lines.append(f"  wild cluster bootstrap (restricted, {self.weights} weights, "
                         f"{_draws_text(self.n_boot, self.bootstrap_exact, self.n_clusters, self.weights)}, "
                         f"CI by test inversion): {self.level:.0%} CI "
                         f"{_ci(self.ci_wild, self.outcome)}, p = {self.p_wild:.3f}")
            if self.mc_error is not None:
                lines.append("    " + _mc_text(self.mc_error, self.ci_wild, self.outcome,
                                                self.bootstrap_exact))
        lines += ["", "Per reporter (mean outcome, undisclosed share of WORLD, partner's confidential "
                  "cells):", _reporter_table(self.exposure_table, self.outcome)]
        if self.caveats:
            lines += ["", "Caveats:"] + [f"- {c}" for c in self.caveats]
        return "\n".join(lines)

    def plot(self, ax: Axes | None = None) -> Axes:
        """Mean outcome of treated and control reporters per month, with the treatment date."""
        plt = pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 4))
        factor = 100 if self.outcome == "share" else 1
        for column, color in (("treated", "#b2182b"), ("controls", "#2166ac")):
            ax.plot(self.means.index, factor * self.means[column], label=f"{column} (mean)", color=color)
        ax.axvline(self.post_start, color="black", linestyle=":", linewidth=1)
        ax.set_ylabel(_axis_label(self))
        ax.set_title(f"DiD: {', '.join(self.treated)} vs {', '.join(self.controls)}; "
                     f"beta = {_num(self.estimate, self.outcome)}")
        ax.legend(loc="upper left", fontsize="small")
        return ax


@call_forms(old_positional=("controls", "partner", "outcome", "post_start", "pre", "post", "cluster",
                            "inference", "n_boot", "seed", "dataset"))
def did(
    frame: pd.DataFrame,
    treated: str | Sequence[str],
    *,
    controls: Sequence[str] | None = None,
    partner: str,
    outcome: str = "share",
    post_start: str = "2023-01",
    pre: tuple[str, str] | None = None,
    post: tuple[str, str] | None = None,
    cluster: str = "reporter",
    inference: str = "wild",
    n_boot: int | Literal["auto"] = "auto",
    seed: int = 0,
    dataset: str | None = None,
    measure: str = "volume_bbl",
    weights: str = "webb",
    level: float = 0.95,
    confidential: str = "drop",
) -> DiDResult:
    """Difference-in-differences of `partner`'s outcome, treated vs control reporters, month panel.

    Parameters
    ----------
    frame : pandas.DataFrame
        A canonical frame.
    treated : str or sequence of str
        Treated importers (e.g. DE and PL, the Druzhba-dependent ones). A treated reporter present in
        the data but without a usable WORLD total in the windows (PL in nrg_ti_coifpm from 2020) is left
        out and listed in :attr:`DiDResult.dropped` and the caveats; one absent from `frame` is an error,
        and so is one that is not a country (``EU``, ``EU_V``; :func:`oilflows.codes.is_non_country`).
    controls : sequence of str, optional
        Control importers; default every country reporter in the data that is neither treated nor
        Druzhba-exposed (:data:`DRUZHBA_REPORTERS`). At least two must have data. A control that is not a
        country (Comtrade's ``EU``, ``EU27_2020``, a region) is left out and named in the caveats.
    partner : str
        Origin whose outcome is compared (ISO alpha-2).
    outcome : {"share", "volume", "log1p_volume"}
        See :func:`reporter_panel`; ``share`` is of WORLD.
    post_start : str
        First treated month ("YYYY-MM"); Post_t = 1 from it.
    pre, post : tuple of str, optional
        Inclusive windows; default every month before `post_start` / from it. Months between the two
        windows are left out (e.g. ``pre=("2020-01", "2021-12")`` drops 2022 as anticipation).
    cluster : {"reporter"}
        Clustering unit (only reporters: months are few and common shocks are absorbed by month dummies).
    inference : {"wild", "cluster"}
        Which interval and p-value :attr:`DiDResult.ci` / ``pvalue`` report (both are computed with
        "wild").
    n_boot : "auto" or int
        Bootstrap draws. ``"auto"`` (default): every weight vector enumerated when there are at most
        99,999 of them (exact, seed-free); otherwise 999 draws doubled (cap 99,999) until the Monte
        Carlo s.e. of each interval end (batch means, 10 batches) is below half the last printed digit
        (0.005 pp for shares, else half the 4th significant digit). An int: that many draws
        (Rademacher: all 2**G sign vectors when that is fewer), the old behaviour.
    seed : int
        Seed of the bootstrap draws.
    dataset : str, optional
        Passed to ``build_panel`` for every reporter.
    measure : {"volume_bbl", "mass_t", "value"}
    weights : {"webb", "rademacher"}
        Wild-bootstrap weights per cluster; Webb's six-point distribution suits fewer than ~12 clusters.
    level : float
        Confidence level of the intervals.
    confidential : {"drop", "lower_bound", "bounds"}
        Reporter-months in which `partner` has a confidential cell (the outcome is not identified).
        ``drop`` (default): left out (the caveats say how many per reporter). ``lower_bound``: the
        disclosed part only, a lower bound, not the outcome. ``bounds``: the sharp identified set of
        beta, :attr:`DiDResult.beta_bounds`. beta is linear in the outcome vector, beta = c'y with c
        the treatment row of (X'X)^-1 X' (X: treatment and fixed-effect dummies), and each confidential
        month's outcome lies in its own interval from the accounting identity
        (:meth:`oilflows.analytics._accounting.Accounts.partner_box`, transformed like the outcome), so
        the set is [sum min(c lo, c hi), sum max(c lo, c hi)] (unbounded on a side where an interval
        is). ``estimate`` and the intervals are then those at the lower end of every outcome interval;
        no inference is given for the bounds themselves.
    """
    setup = _setup(frame, treated, controls, partner, outcome, post_start, pre, post, cluster, inference,
                   n_boot, weights, level, measure, dataset, confidential)
    data, treated_used, controls_used = setup["data"], setup["treated"], setup["controls"]
    d_post = (data["treated"] & data["post"]).to_numpy(float)[:, None]
    model = _TwoWay(data["y"].to_numpy(float), d_post, setup["fixed"], data["reporter"].to_numpy())
    fit = model.coefficient(0)
    inf = _infer(fit, inference, weights, n_boot, seed, level, _tolerance(outcome))
    if inference == "wild":
        assert inf.ci_wild is not None and inf.p_wild is not None  # _infer bootstraps for "wild"
        ci, pvalue = inf.ci_wild, inf.p_wild
    else:
        ci, pvalue = inf.ci_cluster, inf.p_cluster
    means = (data.assign(group=np.where(data["treated"], "treated", "controls"))
             .pivot_table(index="period", columns="group", values="y", aggfunc="mean"))
    result = DiDResult(
        treated=treated_used, controls=controls_used, dropped=setup["panel"].dropped, partner=partner,
        outcome=outcome, measure=measure, source=setup["panel"].source, dataset=setup["panel"].dataset,
        post_start=setup["t0"], pre=setup["pre"], post=setup["post"], estimate=inf.estimate, se=inf.se,
        ci=ci, pvalue=pvalue, ci_cluster=inf.ci_cluster, p_cluster=inf.p_cluster, ci_wild=inf.ci_wild,
        p_wild=inf.p_wild,
        inference=inference, weights=weights, n_boot=inf.n_boot_used, level=level, n_obs=len(data),
        n_clusters=fit.n_clusters, means=means.reindex(columns=["treated", "controls"]),
        exposure_table=setup["table"], panel=setup["panel"], confidential=confidential,
        mc_error=inf.mc_error, bootstrap_exact=inf.exact)
    if confidential == "bounds":
        c = _weights(d_post, setup["fixed"])[0]
        result.beta_bounds = _identified_set(c, data["y_lo"].to_numpy(float), data["y_hi"].to_numpy(float))
        result.estimate_at_lo = float(c @ data["y_lo"].to_numpy(float))
        result.estimate_at_hi = _dot(c, data["y_hi"].to_numpy(float))
    result.caveats = _caveats(setup, partner)
    return result
