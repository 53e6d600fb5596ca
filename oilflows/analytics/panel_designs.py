"""Panel designs across reporters: difference-in-differences, event study and exposure (dose) regression.

All three compare importers (reporters) month by month on one outcome of one partner, built by
:func:`reporter_panel` from :func:`oilflows.analytics._panel.build_panel` per reporter, so dataset
selection and the undisclosed residual (WORLD minus disclosed partners) are handled as in every
other analytic. Methods note sections 7 and 8.

Estimation. Two-way fixed effects by OLS on reporter and month dummies, computed by Frisch-Waugh-Lovell:
the dummies are projected out once (an orthonormal basis of their column space), then the coefficient
of interest is regressed on its regressor's residual after also projecting out the other regressors
(event-study dummies). Same numbers as OLS with all dummies; the panel may be unbalanced. Standard
errors are clustered by reporter (CR1: sandwich times G/(G-1) * (N-1)/(N-K), K counting every dummy, as
statsmodels' ``cov_type="cluster"``), with t(G-1) critical values.

Few clusters. With about six reporters, CR1 intervals under-cover. The wild cluster bootstrap is
therefore implemented in :mod:`._two_way` (numpy): restricted under the null (WCR), weights drawn per
reporter (Webb's six-point distribution by default, Webb 2023, Canadian Journal of Economics; or
Rademacher, enumerated exactly when 2**G <= n_boot), bootstrap t-statistics with the CR1 standard error
recomputed in every draw, symmetric p-value P(|t*| >= |t|), and the confidence interval by test
inversion: the set of beta0 whose p-value is >= 1 - level, found by bisection on the closed-form
p(beta0) with the same draws for every beta0 (Roodman, MacKinnon, Nielsen & Webb 2019, "Fast and wild",
Stata Journal 19(1)). Draws: ``n_boot="auto"`` (default) enumerates every weight vector when there are
at most 99,999 (Webb up to 6 reporters, Rademacher up to 16: exact, no Monte Carlo error, no seed
dependence), and otherwise doubles the draws from 999 (cap 99,999) until the batch-means Monte Carlo
standard error of each interval end is below half the last digit the summary prints; ``mc_error`` and
the draws used are reported (:mod:`._two_way`). With one or two treated reporters the interval can be
very wide or unbounded; that is the honest answer (MacKinnon & Webb 2017, J. Applied Econometrics
32(2)), not a bug.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import AnalysisError
from ..schema import WORLD
from ._panel import window
from ._plot import pyplot
from ._result import Result
from ._signature import call_forms
from ._two_way import AUTO_CAP, WEIGHTS, _dummies, _infer, _support, _TwoWay
from ._two_way import _draw_weights as _draw_weights  # kept as panel_designs._draw_weights (tests)
from ._two_way import _WildBootstrap as _WildBootstrap  # likewise
from .reporter_panel import (
    _FAR_FUTURE,
    _FAR_PAST,
    CONFIDENTIAL_RULES,
    DRUZHBA_REPORTERS,
    OUTCOMES,
    ReporterPanel,
    _check_choice,
    available_reporters,
    is_aggregate,
    non_country_reason,
    reporter_panel,
    reporter_panel_in_windows,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "CONFIDENTIAL_RULES", "DRUZHBA_REPORTERS", "INFERENCE", "OUTCOMES", "WEIGHTS",
    "DiDResult", "EventStudyResult", "ExposureResult", "ReporterPanel",
    "available_reporters", "did", "event_study", "exposure", "is_aggregate", "reporter_panel",
]

#: What the ``ci`` and ``pvalue`` of :func:`did` and :func:`event_study` come from.
INFERENCE = ("wild", "cluster")


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
        for column, style in (("treated", {"color": "#b2182b"}), ("controls", {"color": "#2166ac"})):
            ax.plot(self.means.index, factor * self.means[column], label=f"{column} (mean)", **style)
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
    n_boot: int | str = "auto",
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
    means = (data.assign(group=np.where(data["treated"], "treated", "controls"))
             .pivot_table(index="period", columns="group", values="y", aggfunc="mean"))
    result = DiDResult(
        treated=treated_used, controls=controls_used, dropped=setup["panel"].dropped, partner=partner,
        outcome=outcome, measure=measure, source=setup["panel"].source, dataset=setup["panel"].dataset,
        post_start=setup["t0"], pre=setup["pre"], post=setup["post"], estimate=inf.estimate, se=inf.se,
        ci=inf.ci_wild if inference == "wild" else inf.ci_cluster,
        pvalue=inf.p_wild if inference == "wild" else inf.p_cluster,
        ci_cluster=inf.ci_cluster, p_cluster=inf.p_cluster, ci_wild=inf.ci_wild, p_wild=inf.p_wild,
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


def _weights(regressors: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """Rows of pinv(X) for the regressors' columns, X = [regressors, fixed]: beta_j = c_j' y."""
    return np.linalg.pinv(np.hstack([regressors, fixed]))[: regressors.shape[1]]


def _dot(c: np.ndarray, y: np.ndarray) -> float:
    """c'y, with 0 * inf = 0 (an unbounded outcome that carries no weight does not matter)."""
    used = np.abs(c) > 1e-12 * np.abs(c).max()
    return float(c[used] @ y[used])


def _identified_set(c: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[float, float]:
    """Sharp bounds of c'y over the box lo <= y <= hi (each coordinate free): sum of the extremes."""
    used = np.abs(c) > 1e-12 * np.abs(c).max()
    c, lo, hi = c[used], lo[used], hi[used]
    with np.errstate(invalid="ignore"):
        a, b = c * lo, c * hi
    return float(np.minimum(a, b).sum()), float(np.maximum(a, b).sum())


def _unbounded(bounds: tuple[float, float]) -> str:
    sides = [s for s, v in zip(("below", "above"), bounds, strict=True) if not np.isfinite(v)]
    return (f" (unbounded {' and '.join(sides)}: WORLD is confidential in a month with weight)"
            if sides else "")


def _rule_text(rule: str) -> str:
    return {"drop": "drop (reporter-months whose outcome is not identified are left out)",
            "lower_bound": "lower_bound (only the disclosed part counts: a lower bound, not the outcome)",
            "bounds": "bounds (each month's outcome is an interval; beta is reported as a set)"}[rule]


def _setup(frame, treated, controls, partner, outcome, post_start, pre, post, cluster, inference, n_boot,
           weights, level, measure, dataset, confidential) -> dict:
    """Validate the design, build the reporter panel and the fixed-effect matrix (shared by DiD and ES)."""
    _check_choice("cluster", cluster, ("reporter",))
    _check_choice("inference", inference, INFERENCE)
    _check_choice("weights", weights, WEIGHTS)
    if not 0 < level < 1:
        raise AnalysisError(f"level must be between 0 and 1, got {level}")
    if n_boot != "auto" and (isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer))):
        raise AnalysisError(f"n_boot must be 'auto' or an integer, got {n_boot!r}")
    if inference == "wild" and n_boot != "auto" and n_boot < 99:
        raise AnalysisError(f"n_boot must be at least 99 for a wild bootstrap, got {n_boot}")
    treated = [treated] if isinstance(treated, str) else list(dict.fromkeys(treated))
    if not treated:
        raise AnalysisError("no treated reporter given")
    not_countries = [r for r in treated if is_aggregate(r)]
    if not_countries:
        raise AnalysisError("treated reporter(s) must be countries: "
                            + "; ".join(f"{r}: {non_country_reason(r)}" for r in not_countries))
    t0 = window((post_start, post_start))[0].to_period("M").to_timestamp()
    pre_w = window(pre) if pre is not None else (_FAR_PAST, t0 - pd.offsets.MonthBegin(1))
    post_w = window(post) if post is not None else (t0, _FAR_FUTURE)
    if pre_w[1] >= t0:
        raise AnalysisError(f"the pre-period {_span(pre_w)} must end before post_start {t0:%Y-%m}")
    if post_w[0] < t0:
        raise AnalysisError(f"the post window {_span(post_w)} starts before post_start {t0:%Y-%m}")
    if controls is None:
        controls = available_reporters(frame, [pre_w, post_w], measure, "M", dataset,
                                       exclude=[*treated, *DRUZHBA_REPORTERS])
    controls = list(dict.fromkeys(controls))
    both = sorted(set(treated) & set(controls))
    if both:
        raise AnalysisError(f"{', '.join(both)} cannot be both treated and control")
    panel = reporter_panel_in_windows(frame, treated + controls, outcome, partner, measure, dataset,
                                      [pre_w, post_w], "M", confidential, "drop", non_countries="drop")
    present = panel.reporters
    treated_used = [r for r in treated if r in present]
    controls_used = [r for r in controls if r in present]
    if not treated_used:
        raise AnalysisError("no treated reporter has data in both windows: "
                            + "; ".join(f"{r}: {panel.dropped[r]}" for r in treated))
    if len(controls_used) < 2:
        dropped = "; ".join(f"{r}: {why}" for r, why in panel.dropped.items() if r in controls)
        raise AnalysisError(f"fewer than 2 control reporters with data ({', '.join(controls_used) or 'none'})"
                            + (f"; dropped {dropped}" if dropped else "")
                            + ": a difference-in-differences needs several controls")
    data = panel.data.copy()
    data["treated"] = data["reporter"].isin(treated_used)
    data["post"] = data["period"] >= t0
    if not (~data["post"]).any():
        raise AnalysisError(f"no pre-period month with data before {t0:%Y-%m}")
    if not data["post"].any():
        raise AnalysisError(f"no post-period month with data from {t0:%Y-%m}")
    fixed = np.hstack([_dummies(data["reporter"].to_numpy(), False),
                       _dummies(data["period"].to_numpy(), True)])
    pre_used = (data.loc[~data["post"], "period"].min(), data.loc[~data["post"], "period"].max())
    post_used = (data.loc[data["post"], "period"].min(), data.loc[data["post"], "period"].max())
    return {"data": data, "panel": panel, "treated": treated_used, "controls": controls_used, "t0": t0,
            "pre": pre_used, "post": post_used, "fixed": fixed, "table": _by_reporter(data)}


def _by_reporter(data: pd.DataFrame) -> pd.DataFrame:
    """Per reporter and window: months, mean outcome, undisclosed share, partner confidential cells."""
    window_name = np.where(data["post"], "post", "pre")
    grouped = data.assign(window=window_name).groupby(["reporter", "window"], sort=False)
    table = grouped.agg(months=("y", "size"), mean_y=("y", "mean"),
                        undisclosed=("undisclosed", "sum"), world=("world", "sum"),
                        confidential=("partner_confidential", "sum")).reset_index()
    table["undisclosed_share"] = table["undisclosed"] / table["world"]
    wide = table.pivot(index="reporter", columns="window",
                       values=["months", "mean_y", "undisclosed_share", "confidential"])
    wide.columns = [f"{a}_{b}" for a, b in wide.columns]
    wide = wide.reindex(list(dict.fromkeys(data["reporter"])))
    wide.insert(0, "group", np.where(data.groupby("reporter", sort=False)["treated"].first()
                                     .reindex(wide.index), "treated", "control"))
    for column in ("months_pre", "months_post", "confidential_pre", "confidential_post"):
        wide[column] = wide[column].fillna(0).astype(int)
    wide.index.name = "reporter"
    return wide


def _caveats(setup: dict, partner: str) -> list[str]:
    panel, table = setup["panel"], setup["table"]
    notes = []
    for reporter, why in panel.dropped.items():
        notes.append(f"{reporter} left out: {why}.")
    conf_left = {r: n for r, n in panel.confidential_months.items() if n}
    left = {r: n - panel.confidential_months.get(r, 0) for r, n in panel.dropped_months.items()}
    left = {r: n for r, n in left.items() if n}
    if left:
        notes.append("months left out because the reporter disclosed no partner at all: "
                     + ", ".join(f"{r} {n}" for r, n in left.items()) + " (unbalanced panel).")
    if conf_left:
        notes.append(f"confidential='drop': reporter-months with a confidential {partner} cell (outcome not "
                     "identified) left out: " + ", ".join(f"{r} {n}" for r, n in conf_left.items())
                     + "; see confidential='bounds' for what they could change.")
    high = table[table[["undisclosed_share_pre", "undisclosed_share_post"]].max(axis=1) > 0.25]
    if not high.empty:
        notes.append("a large part of WORLD is undisclosed for "
                     + ", ".join(f"{r} ({row.undisclosed_share_pre:.0%} pre / "
                                 f"{row.undisclosed_share_post:.0%} post)" for r, row in high.iterrows())
                     + f": the disclosed {partner} figure is a lower bound and moves with disclosure.")
    conf = table[(table["confidential_pre"] + table["confidential_post"]) > 0]
    if not conf.empty and panel.confidential in ("lower_bound", "bounds"):
        notes.append(f"{partner} has confidential cells (pre/post) in "
                     + ", ".join(f"{r} {row.confidential_pre}/{row.confidential_post}"
                                 for r, row in conf.iterrows())
                     + ("; confidential='lower_bound': those months count only the disclosed grades, a "
                        "lower bound, not the outcome." if panel.confidential == "lower_bound" else
                        "; confidential='bounds': beta is reported as an identified set; its point "
                        "estimate and intervals are at the lower end of each month's outcome interval."))
    notes.append(f"SUTVA: {partner} supply is capacity-constrained (CPC about 1.3-1.6 mb/d), so a treated "
                 "reporter's gain can be a control's loss; beta then adds the controls' loss to the treated "
                 "gain and overstates it. Check the controls' own change.")
    notes.append("Every EU importer was hit by the embargo; beta is a differential (Druzhba-exposure) "
                 "effect, not the total effect of the embargo.")
    if setup["pre"][1] >= pd.Timestamp("2022-03-01"):
        notes.append("the pre-period includes 2022 (self-sanctioning from March 2022, embargo from Dec "
                     "2022): anticipation biases beta towards zero; see the event study or "
                     "pre=(..., '2021-12').")
    n_treated, n_clusters = len(setup["treated"]), len(setup["treated"]) + len(setup["controls"])
    notes.append(f"{n_clusters} clusters, {n_treated} treated: CR1 intervals under-cover with so few "
                 "clusters; with one or two treated clusters even the wild bootstrap is unreliable "
                 "(MacKinnon & Webb 2017), typically conservative or unbounded.")
    return notes


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
        if bounds:
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
    n_boot: int | str = "auto",
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
        ci, p = (inf.ci_wild, inf.p_wild) if inference == "wild" else (inf.ci_cluster, inf.p_cluster)
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


# -- exposure (continuous dose) ---------------------------------------------------------------------


@dataclass
class ExposureResult(Result):
    """The result of :func:`exposure`: ``ds_c = a + b * dose_c (+ controls)`` across reporters, OLS.

    ``b`` is the change in `partner`'s share per unit of the pre-period share of `dose_partner`: with
    b = 0.2, a reporter that took 30 % from the dose partner gained 6 points more of `partner` than one
    that took none. ``table``: per reporter dose, base and post shares, their change, undisclosed shares.
    """

    partner: str
    dose_partner: str
    measure: str
    source: str
    dataset: str
    base: tuple[pd.Timestamp, pd.Timestamp]
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
        return {n: getattr(self, n) for n in ("partner", "dose_partner", "b", "se", "ci", "pvalue", "n")}

    def to_frame(self) -> pd.DataFrame:
        """The per-reporter table, one row per ``reporter`` (a column): dose, shares, change, fitted
        value, residual."""
        return self.table.rename_axis("reporter").reset_index()

    def summary(self) -> str:
        """Plain-text report of b with its robust interval, the reporter table and caveats."""
        lines = [f"Exposure design: change in {self.partner} share of {WORLD} ({_span(self.post)} vs "
                 f"{_span(self.base)}) on the base-window {self.dose_partner} share",
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
        ax.set_xlabel(f"{self.dose_partner} share of {WORLD}, {_span(self.base)}, %")
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
        is the dose (was ``dose_partner=``, deprecated; the result keeps the field ``dose_partner``).
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
        partner=partner, dose_partner=dose_partner, measure=measure, source=panel.source,
        dataset=panel.dataset, base=(lo_b, hi_b), post=(lo_p, hi_p), b=float(model.params["dose"]),
        se=float(model.bse["dose"]), ci=(float(ci.iloc[0]), float(ci.iloc[1])),
        pvalue=float(model.pvalues["dose"]), a=float(model.params["const"]), cov_type=cov_type,
        level=level, n=len(table), table=table, params=params, dropped=panel.dropped, model=model,
        df_resid=int(round(model.df_resid)))
    result.caveats = _exposure_caveats(result, model)
    return result


def _exposure_caveats(result: ExposureResult, model) -> list[str]:
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
                     + f"): their {result.partner} change and {result.dose_partner} dose are lower bounds.")
    notes.append(f"SUTVA: {result.partner} supply is capacity-constrained, so one reporter's gain can be "
                 "another's loss; b mixes substitution with reallocation between importers.")
    return notes


# -- formatting -------------------------------------------------------------------------------------


def _excluding_zero(table: pd.DataFrame) -> int:
    return int(((table["ci_low"] > 0) | (table["ci_high"] < 0)).sum())


def _span(bounds) -> str:
    return f"{bounds[0]:%Y-%m}..{bounds[1]:%Y-%m}"


def _num(x: float, outcome: str, sign: bool = True) -> str:
    if x is None or not np.isfinite(x):
        return "n/a" if x is None or np.isnan(x) else ("+inf" if x > 0 else "-inf")
    if outcome == "share":
        return f"{100 * x:+.2f} pp" if sign else f"{100 * x:.2f} pp"
    return f"{x:+.4g}" if sign else f"{x:.4g}"


def _tolerance(outcome: str):
    """Half the last digit :func:`_num` prints for a value: the Monte Carlo s.e. target of an end."""
    if outcome == "share":
        return lambda x: 0.5e-4  # printed in pp with 2 decimals: 0.01 pp = 1e-4
    return lambda x: (0.5 * 10.0 ** (np.floor(np.log10(abs(x))) - 3) if np.isfinite(x) and x != 0
                      else 0.5e-4)  # 4 significant digits


def _draws_text(n_boot: int, exact: bool, n_clusters: int, weights: str) -> str:
    if exact:
        base = 2 if weights == "rademacher" else 6
        return f"all {n_boot} = {base}^{n_clusters} weight vectors enumerated (exact, no Monte Carlo error)"
    return f"{n_boot} draws"


def _mc_text(error: tuple[float, float], ci: tuple[float, float], outcome: str, exact: bool) -> str:
    if exact:
        return "Monte Carlo error of the interval ends: none (exact enumeration, the seed does not matter)"
    tol = _tolerance(outcome)
    met = all(e < tol(end) or (e == 0 and not np.isfinite(end)) for e, end in zip(error, ci, strict=True))
    return (f"Monte Carlo s.e. of the interval ends (batch means): {_small(error[0], outcome)}, "
            f"{_small(error[1], outcome)}"
            + ("" if met else f" (above half the last printed digit; more draws than {AUTO_CAP:,} or "
               "another seed can move the printed ends)"))


def _small(x: float, outcome: str) -> str:
    """A Monte Carlo error, two significant digits."""
    if not np.isfinite(x):
        return "inf (an end unbounded in some batches)"
    return f"{100 * x:.2g} pp" if outcome == "share" else f"{x:.2g}"


def _ci(ci: tuple[float, float], outcome: str) -> str:
    return f"[{_num(ci[0], outcome)}, {_num(ci[1], outcome)}]"


def _axis_label(result, prefix: str = "") -> str:
    if result.outcome == "share":
        return f"{prefix}{result.partner} share of {WORLD}, %"
    return f"{prefix}{result.panel.outcome_label() if result.panel else result.outcome}"


def _reporter_table(table: pd.DataFrame, outcome: str) -> str:
    lines = [f"{'reporter':<9}{'group':<9}{'months':>9}{'mean pre':>12}{'mean post':>12}"
             f"{'undiscl.':>14}{'conf.':>8}"]
    for reporter, row in table.iterrows():
        lines.append(f"{reporter:<9}{row['group']:<9}{row['months_pre']:>4}/{row['months_post']:<4}"
                     f"{_level(row['mean_y_pre'], outcome):>12}{_level(row['mean_y_post'], outcome):>12}"
                     f"{row['undisclosed_share_pre']:>7.0%}/{row['undisclosed_share_post']:<5.0%}"
                     f"{row['confidential_pre']:>4}/{row['confidential_post']:<3}")
    return "\n".join(lines)


def _level(x: float, outcome: str) -> str:
    if pd.isna(x):
        return "n/a"
    return f"{100 * x:.2f}%" if outcome == "share" else f"{x:.4g}"
