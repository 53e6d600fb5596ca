"""Synthetic control across reporters: a weighted mix of donor importers that tracks the treated one.

Methods note section 8 (Abadie, Diamond & Hainmueller 2010). Weights W >= 0 with sum(W) = 1 minimise
the pre-period mean squared prediction error of the outcome path, ``||Y1_pre - Y0_pre W||^2`` (every
pre-period month is a predictor with equal weight, i.e. V = identity on the lagged outcomes; no separate
covariates). The quadratic programme on the simplex is solved with scipy's SLSQP (analytic gradient, the
data scaled to unit variance first). The effect in month t is ``Y1_t - Y0_t W``; inference is by
placebo-in-space: each donor in turn is treated as the treated unit (with the other donors as its pool),
and the p-value is the rank of the treated unit's post/pre RMSPE ratio among all units,
``#{units with ratio >= treated's} / (J + 1)``.

The reporter x month panel comes from :func:`oilflows.analytics.panel_designs.reporter_panel`, so dataset
selection and the undisclosed residual are the same as in every other analytic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from ..errors import AnalysisError
from ..schema import WORLD
from ._panel import window
from ._plot import pyplot
from ._result import Result, summary_method
from ._signature import call_forms
from .reporter_panel import (
    DRUZHBA_REPORTERS,
    ReporterPanel,
    available_reporters,
    is_aggregate,
    non_country_reason,
    reporter_panel_in_windows,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes


@dataclass
class SyntheticControlResult(Result):
    """The result of :func:`synthetic_control`.

    Attributes
    ----------
    weights : pandas.Series
        Donor weights (>= 0, sum 1), indexed by reporter.
    paths : pandas.DataFrame
        Per month: ``treated``, ``synthetic``, ``gap`` (treated - synthetic, the effect in post months)
        and ``post`` (bool).
    effect : float
        Mean gap over the post months (outcome unit; a share is a fraction of WORLD).
    pre_rmspe, post_rmspe, ratio : float
        Root mean squared gap before and after, and post/pre.
    placebos : pandas.DataFrame
        One row per unit (the treated one first): pre/post RMSPE, ratio, mean post gap, rank.
    placebo_gaps : pandas.DataFrame
        Months x units: the gap of each unit when it is treated as the treated one.
    p_value : float
        Rank-based placebo p-value, #{ratio >= treated ratio} / (J + 1); its smallest value is 1/(J+1).
    hull : dict
        Convex-hull diagnostics: pre-period months in which the treated outcome is above the largest
        (or below the smallest) donor outcome; no weighted mix can reach those months.
    """

    treated: str
    donors: list[str]
    dropped: dict[str, str]
    partner: str
    outcome: str
    measure: str
    source: str
    dataset: str
    pre: tuple[pd.Timestamp, pd.Timestamp]
    post: tuple[pd.Timestamp, pd.Timestamp]
    weights: pd.Series
    paths: pd.DataFrame
    effect: float
    pre_rmspe: float
    post_rmspe: float
    ratio: float
    placebos: pd.DataFrame
    placebo_gaps: pd.DataFrame
    p_value: float
    hull: dict
    intercept: bool = False
    caveats: list[str] = field(default_factory=list)
    panel: ReporterPanel | None = field(default=None, repr=False)

    def _repr_fields(self) -> dict:
        names = ("treated", "partner", "outcome", "effect", "ratio", "p_value", "pre_rmspe")
        return {n: getattr(self, n) for n in names}

    def to_frame(self) -> pd.DataFrame:
        """Per month: treated, synthetic, gap, post flag."""
        return self.paths.reset_index()

    @summary_method
    def summary(self) -> str:
        """Plain-text report: weights, fit, effect, placebo ranking, caveats."""
        label = self.panel.outcome_label() if self.panel else self.outcome
        weights = ", ".join(f"{r} {w:.3f}" for r, w in self.weights.sort_values(ascending=False).items())
        post = self.paths[self.paths["post"]]
        lines = [
            f"Synthetic control for {self.treated}: {label}",
            f"data: {self.source}/{self.dataset}; donors: {', '.join(self.donors)}",
            f"pre {self.pre[0]:%Y-%m}..{self.pre[1]:%Y-%m} ({int((~self.paths['post']).sum())} months), "
            f"post {self.post[0]:%Y-%m}..{self.post[1]:%Y-%m} ({len(post)} months)",
            "weights (>= 0, sum 1, minimising pre-period MSPE"
            + (", outcomes demeaned by their pre-period means" if self.intercept else "") + f"): {weights}",
            "",
            f"mean effect (treated - synthetic) over the post months: {_fmt(self.effect, self.outcome)}",
            f"RMSPE pre {_fmt(self.pre_rmspe, self.outcome, sign=False)}, post "
            f"{_fmt(self.post_rmspe, self.outcome, sign=False)}, ratio {self.ratio:.2f}",
            f"placebo-in-space p-value (rank of the ratio among {len(self.placebos)} units): "
            f"{self.p_value:.3f} (smallest possible {1 / len(self.placebos):.3f})",
            f"convex hull: treated above every donor in {self.hull['months_above']} and below every donor "
            f"in {self.hull['months_below']} of {self.hull['pre_months']} pre-period months",
            "",
            f"{'unit':<8}{'pre RMSPE':>12}{'post RMSPE':>12}{'ratio':>8}{'mean gap':>12}",
        ]
        for unit, row in self.placebos.iterrows():
            lines.append(f"{unit:<8}{_fmt(row['pre_rmspe'], self.outcome, False):>12}"
                         f"{_fmt(row['post_rmspe'], self.outcome, False):>12}{row['ratio']:>8.2f}"
                         f"{_fmt(row['effect'], self.outcome):>12}")
        if self.caveats:
            lines += ["", "Caveats:"] + [f"- {c}" for c in self.caveats]
        return "\n".join(lines)

    def plot(self, ax: Axes | None = None, kind: str = "paths") -> Axes:
        """``kind="paths"``: treated vs synthetic; ``kind="placebo"``: every unit's gap, treated in black."""
        if kind not in ("paths", "placebo"):
            raise AnalysisError(f"kind must be 'paths' or 'placebo', got {kind!r}")
        plt = pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 4))
        factor = 100 if self.outcome == "share" else 1
        if kind == "paths":
            ax.plot(self.paths.index, factor * self.paths["treated"], color="black", label=self.treated)
            ax.plot(self.paths.index, factor * self.paths["synthetic"], color="#2166ac", linestyle="--",
                    label=f"synthetic {self.treated}")
            ax.set_title(f"Synthetic control: {self.treated}, effect {_fmt(self.effect, self.outcome)}")
            ax.legend(loc="upper left", fontsize="small")
        else:
            for unit in self.placebo_gaps.columns:
                if unit != self.treated:
                    ax.plot(self.placebo_gaps.index, factor * self.placebo_gaps[unit], color="#bbbbbb",
                            linewidth=1)
            ax.plot(self.placebo_gaps.index, factor * self.placebo_gaps[self.treated], color="black",
                    linewidth=2, label=f"{self.treated} (p = {self.p_value:.2f})")
            ax.axhline(0, color="black", linewidth=0.6)
            ax.set_title("Placebo-in-space gaps (grey: donors treated as if treated)")
            ax.legend(loc="upper left", fontsize="small")
        ax.axvline(self.post[0], color="black", linestyle=":", linewidth=1)
        unit = f"{self.partner} share of {WORLD}, %" if self.outcome == "share" else self.outcome
        ax.set_ylabel(("gap, " if kind == "placebo" else "") + unit)
        return ax


def simplex_weights(target: np.ndarray, donors: np.ndarray) -> np.ndarray:
    """Weights w >= 0, sum(w) = 1 minimising ``||target - donors @ w||^2`` (SLSQP).

    Parameters
    ----------
    target : numpy.ndarray
        The treated unit's pre-period outcomes (T0,).
    donors : numpy.ndarray
        The donors' pre-period outcomes (T0, J).
    """
    n_donors = donors.shape[1]
    if n_donors == 1:
        return np.ones(1)
    scale = np.std(np.concatenate([target, donors.ravel()])) or 1.0
    a, b = donors / scale, target / scale
    gram, cross = a.T @ a, a.T @ b

    def objective(w: np.ndarray) -> float:
        return float(w @ gram @ w - 2 * cross @ w + b @ b) / len(b)

    def gradient(w: np.ndarray) -> np.ndarray:
        return 2 * (gram @ w - cross) / len(b)

    start = np.full(n_donors, 1.0 / n_donors)
    solution = minimize(objective, start, jac=gradient, method="SLSQP", bounds=[(0.0, 1.0)] * n_donors,
                        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0,
                                      "jac": lambda w: np.ones_like(w)}],
                        options={"ftol": 1e-14, "maxiter": 1000})
    weights = np.clip(solution.x, 0.0, None)
    return weights / weights.sum()


@call_forms(old_positional=("donors", "partner", "outcome", "pre", "post", "dataset"))
def synthetic_control(
    frame: pd.DataFrame,
    treated: str,
    *,
    donors: Sequence[str] | None = None,
    partner: str,
    outcome: str = "share",
    pre: tuple[str, str] = ("2020-01", "2022-12"),
    post: tuple[str, str] = ("2023-01", "2023-12"),
    dataset: str | None = None,
    measure: str = "volume_bbl",
    confidential: str = "drop",
    intercept: bool = False,
) -> SyntheticControlResult:
    """Synthetic control of `treated`'s `partner` outcome from donor importers, with placebo inference.

    Parameters
    ----------
    frame : pandas.DataFrame
        A canonical frame.
    treated : str
        The treated importer (ISO alpha-2).
    donors : sequence of str, optional
        Donor importers; default every country reporter with data in both windows except the
        treated one and the Druzhba-exposed ones (DE, PL, CZ, SK, HU). A donor that is not a country
        (``EU``, ``EU27_2020``, a region; :func:`oilflows.codes.is_non_country`) is left out with a
        caveat naming it; a treated unit that is not a country raises. Donors without a usable WORLD
        total, or missing any month the treated unit has (a month with no disclosed partner), are left
        out and listed in :attr:`SyntheticControlResult.dropped`. At least two must remain.
    partner : str
        Origin of the outcome.
    outcome : {"share", "volume", "log1p_volume"}
        See :func:`oilflows.analytics.panel_designs.reporter_panel`; shares (of WORLD) put a large
        importer like Germany on the donors' scale, volumes do not.
    pre, post : tuple of str
        Inclusive windows ("YYYY-MM", "YYYY-MM"); the weights are fitted on `pre` only.
    dataset : str, optional
    measure : {"volume_bbl", "mass_t", "value"}
    confidential : {"drop", "lower_bound"}
        ``drop`` (default): months with a confidential `partner` cell are missing (the outcome is not
        identified), so a donor missing one of the treated unit's months is left out and the treated
        unit's own such months are not fitted; ``lower_bound``: the disclosed part only, a lower bound,
        not the outcome.
    intercept : bool
        False (default): the classic synthetic control, levels matched, so the treated unit must lie in
        the donors' convex hull. True: the demeaned synthetic control (Ferman & Pinto 2021, Quantitative
        Economics 12(4)): every unit's pre-period mean is subtracted before the weights are fitted and the
        synthetic unit is the treated pre-mean plus the weighted donor deviations, so only the
        treated unit's dynamics, not its level, must be reproducible.
    """
    lo_pre, hi_pre = window(pre)
    lo_post, hi_post = window(post)
    if lo_post <= hi_pre:
        raise AnalysisError(f"post window {post} must start after the pre-period {pre} ends")
    windows = [(lo_pre, hi_pre), (lo_post, hi_post)]
    if confidential not in ("drop", "lower_bound"):
        raise AnalysisError(f"confidential must be 'drop' or 'lower_bound' for synthetic_control (its "
                            f"weights are not linear in the outcome, so no bounds), got {confidential!r}")
    if is_aggregate(treated):
        raise AnalysisError(f"treated reporter {treated}: {non_country_reason(treated)}; the treated unit "
                            "must be a country")
    if treated not in set(frame["reporter"].unique()):
        raise AnalysisError(f"treated reporter {treated} not in the data")
    if donors is None:
        donors = available_reporters(frame, windows, measure, "M", dataset,
                                     exclude=[treated, *DRUZHBA_REPORTERS])
    donors = [d for d in dict.fromkeys(donors) if d != treated]
    panel = reporter_panel_in_windows(frame, [treated, *donors], outcome, partner, measure, dataset, windows,
                                      "M", confidential, "drop", non_countries="drop")
    if treated in panel.dropped:
        raise AnalysisError(f"treated reporter {treated}: {panel.dropped[treated]}")
    wide = panel.wide("y")
    wide = wide.loc[wide[treated].notna()]
    dropped = dict(panel.dropped)
    for donor in [d for d in donors if d in wide.columns]:
        missing = int(wide[donor].isna().sum())
        if missing:
            why = "no disclosed partner" + (f" or a confidential {partner} cell" if confidential == "drop"
                                            else "")
            dropped[donor] = f"missing {missing} of {treated}'s {len(wide)} months ({why})"
    used = [d for d in donors if d in wide.columns and d not in dropped]
    if len(used) < 2:
        raise AnalysisError(f"fewer than 2 donors with complete data ({', '.join(used) or 'none'}); "
                            + ("dropped: " + "; ".join(f"{d}: {w}" for d, w in dropped.items())
                               if dropped else "pass more donors"))
    wide = wide[[treated, *used]]
    is_post = np.asarray(wide.index >= lo_post)
    if is_post.all():
        raise AnalysisError(f"no pre-period month with data in {pre}")
    if not is_post.any():
        raise AnalysisError(f"no post-period month with data in {post}")
    fit = _fit(wide, treated, used, is_post, intercept)
    placebo_rows, gaps = [_placebo_row(treated, fit)], {treated: fit["gap"]}
    for donor in used:
        pool = [d for d in used if d != donor]
        placebo = _fit(wide, donor, pool, is_post, intercept)
        placebo_rows.append(_placebo_row(donor, placebo))
        gaps[donor] = placebo["gap"]
    placebos = pd.DataFrame(placebo_rows).set_index("unit")
    placebos["rank"] = placebos["ratio"].rank(ascending=False, method="max").astype(int)
    p_value = float((placebos["ratio"] >= fit["ratio"] * (1 - 1e-12)).sum() / len(placebos))
    pre_values = wide.loc[~is_post]
    if intercept:
        pre_values = pre_values - pre_values.mean()
    hull = {"pre_months": int(len(pre_values)),
            "months_above": int((pre_values[treated] > pre_values[used].max(axis=1)).sum()),
            "months_below": int((pre_values[treated] < pre_values[used].min(axis=1)).sum()),
            "pre_mean_treated": float(pre_values[treated].mean()),
            "pre_mean_donor_max": float(pre_values[used].mean().max()),
            "pre_mean_donor_min": float(pre_values[used].mean().min())}
    paths = pd.DataFrame({"treated": wide[treated], "synthetic": fit["synthetic"], "gap": fit["gap"],
                          "post": is_post}, index=wide.index)
    result = SyntheticControlResult(
        treated=treated, donors=used, dropped=dropped, partner=partner, outcome=outcome, measure=measure,
        source=panel.source, dataset=panel.dataset,
        pre=(wide.index[~is_post].min(), wide.index[~is_post].max()),
        post=(wide.index[is_post].min(), wide.index[is_post].max()),
        weights=pd.Series(fit["weights"], index=used, name="weight"), paths=paths,
        effect=float(fit["gap"][is_post].mean()), pre_rmspe=fit["pre_rmspe"], post_rmspe=fit["post_rmspe"],
        ratio=fit["ratio"], placebos=placebos, placebo_gaps=pd.DataFrame(gaps, index=wide.index),
        p_value=p_value, hull=hull, intercept=intercept, panel=panel)
    result.caveats = _caveats(result, panel)
    return result


def _fit(wide: pd.DataFrame, unit: str, pool: list[str], is_post: np.ndarray, intercept: bool) -> dict:
    y1 = wide[unit].to_numpy(float)
    y0 = wide[pool].to_numpy(float)
    shift1 = y1[~is_post].mean() if intercept else 0.0
    shift0 = y0[~is_post].mean(axis=0) if intercept else np.zeros(len(pool))
    weights = simplex_weights(y1[~is_post] - shift1, y0[~is_post] - shift0)
    synthetic = shift1 + (y0 - shift0) @ weights
    gap = y1 - synthetic
    pre_rmspe = float(np.sqrt(np.mean(gap[~is_post] ** 2)))
    post_rmspe = float(np.sqrt(np.mean(gap[is_post] ** 2)))
    ratio = post_rmspe / pre_rmspe if pre_rmspe > 0 else np.inf
    return {"weights": weights, "synthetic": synthetic, "gap": gap, "pre_rmspe": pre_rmspe,
            "post_rmspe": post_rmspe, "ratio": ratio, "effect": float(gap[is_post].mean())}


def _placebo_row(unit: str, fit: dict) -> dict:
    return {"unit": unit, "pre_rmspe": fit["pre_rmspe"], "post_rmspe": fit["post_rmspe"],
            "ratio": fit["ratio"], "effect": fit["effect"]}


def _caveats(result: SyntheticControlResult, panel: ReporterPanel) -> list[str]:
    notes = [f"{d} left out: {why}." for d, why in result.dropped.items()]
    hull = result.hull
    if hull["months_above"] + hull["months_below"] > hull["pre_months"] / 4:
        what = "demeaned outcome" if result.intercept else "outcome"
        notes.append(f"{result.treated}'s {what} lies outside the donors' range in "
                     f"{hull['months_above'] + hull['months_below']} of {hull['pre_months']} pre-period "
                     "months (outside their convex hull): no weighted mix of donors reproduces it, the "
                     "pre-period fit is poor and the gap is biased"
                     + ("" if result.intercept else "; intercept=True matches dynamics instead of levels")
                     + ".")
    spread = result.paths.loc[~result.paths["post"], "treated"].std()
    if spread > 0 and result.pre_rmspe > 0.5 * spread:
        notes.append(f"pre-period RMSPE is {result.pre_rmspe / spread:.0%} of the treated outcome's own "
                     f"standard deviation: the synthetic unit tracks it poorly.")
    notes.append(f"with {len(result.placebos)} units the placebo p-value cannot be below "
                 f"{1 / len(result.placebos):.2f}.")
    data = panel.data[panel.data["reporter"].isin([result.treated, *result.donors])]
    sums = data.groupby("reporter")[["undisclosed", "world"]].sum()
    heavy = sums["undisclosed"] / sums["world"]
    heavy = heavy[heavy > 0.25]
    if not heavy.empty:
        listing = ", ".join(f"{r} {v:.0%}" for r, v in heavy.items())
        notes.append(f"large undisclosed shares of WORLD ({listing}): disclosed {result.partner} figures "
                     "are lower bounds.")
    conf = data.groupby("reporter")["partner_confidential"].sum()
    conf = conf[conf > 0]
    if not conf.empty:
        listing = ", ".join(f"{r} ({n})" for r, n in conf.items())
        notes.append(f"{result.partner} has confidential cells in {listing} reporter-months; those months "
                     "count only the disclosed grades.")
    notes.append(f"SUTVA: donors also bought {result.partner} crude and supply is capacity-constrained; a "
                 f"gain for {result.treated} can be a donor's loss, which inflates the gap.")
    return notes


def _fmt(x: float, outcome: str, sign: bool = True) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    if outcome == "share":
        return f"{100 * x:+.2f} pp" if sign else f"{100 * x:.2f} pp"
    return f"{x:+.4g}" if sign else f"{x:.4g}"

__all__ = ["SyntheticControlResult", "simplex_weights", "synthetic_control"]
