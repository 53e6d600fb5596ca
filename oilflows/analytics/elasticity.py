"""Elasticity of substitution between import varieties: Feenstra (1994), Broda-Weinstein (2006) grid fallback.

Model (Feenstra 1994, AER 84(1)): CES demand for varieties v of one good with elasticity sigma > 1 and
upward-sloping variety supply curves with inverse elasticity omega >= 0 give, after differencing
over time and against a reference variety k,

    y_vt = theta1 * x1_vt + theta2 * x2_vt + u_vt,
    y  = (dln p_v - dln p_k)^2,  x1 = (dln s_v - dln s_k)^2,  x2 = (dln s_v - dln s_k)(dln p_v - dln p_k),
    theta1 = rho / ((sigma - 1)^2 (1 - rho)),  theta2 = (2 rho - 1) / ((sigma - 1)(1 - rho)),

with rho = omega (sigma - 1) / (1 + omega sigma) in [0, 1). The estimator (methods note section 9):

1. s = expenditure share among the disclosed varieties, p = unit value (value / volume); log changes
   between consecutive periods (a variety absent in t-1 has no change in t).
2. Difference against the reference variety k (default: the variety with most changes, ties broken
   alphabetically); periods without k are dropped. The reference's own rows (y = x1 = x2 = 0) stay in
   the sample, as in the authors' files (n = 132 for Germany includes Algeria's 6 rows).
3. IV with variety dummies: regress y on 1, mean_v(x1), mean_v(x2); residuals u with the raw x1, x2.
4. Weight by 1 / s_v, s_v^2 = mean_v(u^2); regress y/s on x1bar/s, x2bar/s, 1/s (no constant):
   theta1, theta2 (and the constant, which absorbs measurement error in unit values).
5. rho = 1/2 +- sqrt(1/4 - 1/(4 + theta2^2/theta1)) (+ if theta2 > 0), sigma = 1 + (2 rho - 1) /
   ((1 - rho) theta2). When to leave the closed form depends on ``method``:

   - ``"feenstra"`` (default; Feenstra 1994 as in the authors' published figures): the closed form
     whenever sigma >= 1; rho outside [0, 1) only warns. The grid only if sigma < 1 or undefined.
   - ``"broda-weinstein"`` (Broda & Weinstein 2006, QJE 121(2), appendix): the grid whenever the
     closed form is inadmissible, i.e. rho outside [0, 1) (this includes theta1 < 0, which gives
     rho < 0 or an undefined root) or sigma < 1 or undefined.

   The Broda-Weinstein grid: sigma in 1.05..131.05 (step 1), rho in 0..0.99 (step 0.01); at each
   point theta1(sigma, rho), theta2(sigma, rho) from the model, and the objective is the sum over
   varieties of (mean_t residual_v)^2, residual = y - theta1 x1 - theta2 x2 - constant, with the
   constant profiled out (the sample moments of their GMM criterion, unweighted). The grid has no
   standard errors; the result always reports the other method's sigma as well.
6. Standard errors of theta from the weighted IV regression (residuals with the raw x1, x2; HC2 by
   default), of (sigma, rho) by the delta method.

Reference values (methods note R5). Reproduced exactly: Germany across countries of origin, register
2013-2019, annual, reference DZ: sigma = 18.799499, n = 132, 27 varieties (all origins, regions and
"other" groups included; origins present in only non-consecutive years, such as AE, drop out). The
published SE of 7.34 is not reproduced exactly (its covariance estimator is not documented): HC2 gives
7.42 (+1 %), the textbook 2SLS covariance 3.62. That closed form has theta1 < 0 and rho = -0.111,
outside [0, 1): under ``method="broda-weinstein"`` the grid gives sigma = 30.05 (rho = 0). sigma
also moves with the reference variety (``FeenstraResult.reference_sensitivity``): closed form DZ
18.80, NG 32.45, GB 43.32, NO 80.10, AZ 123.08. Not reproduced: sigma across oil fields (62.58) and
oil types (5.83), which rest on the authors' own grade and quality tables.

Only the algorithm as published is used here; no code of the authors' (GPL) package.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import AnalysisError
from ..schema import WORLD
from ._panel import build_panel, candidates, matching
from ._plot import pyplot
from ._result import Result, summary_method
from ._signature import call_forms

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "COV_TYPES", "FeenstraResult", "FeenstraWarning", "METHODS", "VARIETIES", "feenstra",
    "feenstra_table", "oil_type", "simulate_feenstra",
]

#: Variety definitions :func:`feenstra` accepts.
VARIETIES = ("partner", "grade", "oil_type")
#: Covariance estimators of (theta1, theta2, constant); see :func:`feenstra`.
COV_TYPES = ("classic", "HC0", "HC1", "HC2", "HC3")
#: When to use the Broda-Weinstein grid; see the module docstring, step 5.
METHODS = ("feenstra", "broda-weinstein")
_METHOD_NAMES = {"feenstra": "Feenstra closed form", "broda-weinstein": "Broda-Weinstein"}
#: API gravity above which a crude is light, and below which it is heavy (degrees API); in between
#: (bounds included) it is medium. Sulphur (% by weight) below which it is sweet, else sour.
LIGHT_ABOVE_API = 31.1
HEAVY_BELOW_API = 22.3
SWEET_BELOW_SULPHUR = 1.0
#: The Broda-Weinstein (2006) grid.
GRID_SIGMA = np.round(np.arange(1.05, 131.05 + 1e-9, 1.0), 2)
GRID_RHO = np.round(np.arange(0.0, 0.99 + 1e-9, 0.01), 2)


class FeenstraWarning(UserWarning):
    """The estimate is outside the model's admissible range (rho not in [0, 1)) or needed the grid."""


def oil_type(api_gravity: float | pd.Series | np.ndarray | Sequence[float],
             sulphur_pct: float | pd.Series | np.ndarray | Sequence[float]) -> str | float | pd.Series:
    """API x sulphur class of crude oil, e.g. ``"light sweet"``, ``"medium sour"``; NaN if unknown.

    Light if API > 31.1, medium if 22.3 <= API <= 31.1, heavy below 22.3; sweet if sulphur < 1 %
    by weight, sour otherwise (the classes of Güntner, Irlacher & Öhlinger 2024). Accepts scalars
    or array-likes (returns a :class:`pandas.Series` for array-likes).
    """
    scalar = np.ndim(api_gravity) == 0 and np.ndim(sulphur_pct) == 0
    api = pd.Series(np.atleast_1d(np.asarray(api_gravity, dtype=float)))
    sul = pd.Series(np.atleast_1d(np.asarray(sulphur_pct, dtype=float)))
    gravity = np.select([api > LIGHT_ABOVE_API, api >= HEAVY_BELOW_API, api < HEAVY_BELOW_API],
                        ["light", "medium", "heavy"], default="")
    sweetness = np.where(sul < SWEET_BELOW_SULPHUR, "sweet", "sour")
    known = api.notna() & sul.notna()
    classes = pd.Series(np.where(known, pd.Series(gravity) + " " + sweetness, np.nan), dtype=object)
    if isinstance(api_gravity, pd.Series):
        classes.index = api_gravity.index
    return classes.iloc[0] if scalar else classes


@dataclass
class FeenstraResult(Result):
    """The result of :func:`feenstra` / :func:`feenstra_table`.

    Attributes
    ----------
    sigma : float
        Elasticity of substitution between varieties (dimensionless).
    rho : float
        ``omega (sigma - 1) / (1 + omega sigma)``, omega the inverse supply elasticity; admissible in
        [0, 1). Under ``method="feenstra"`` a value outside that range is reported as estimated (with
        a :class:`FeenstraWarning`); under ``"broda-weinstein"`` it sends the estimate to the grid.
    method : {"feenstra", "broda-weinstein"}
        The rule that chose between closed form and grid (module docstring, step 5).
    rho_admissible : bool
        True if the closed-form rho is in [0, 1) (whatever ``method``; NaN rho counts as False).
    sigma_other_method, rho_other_method : float
        (sigma, rho) under the other method on the same sample (equal to ``sigma``, ``rho`` when
        both rules keep the closed form).
    theta1, theta2, constant : float
        Coefficients of the efficient (weighted) IV regression. With the grid fallback they are
        still the regression's; ``grid`` holds the theta implied by the grid point.
    se_sigma, se_rho, se_theta1, se_theta2, se_constant : float
        Standard errors (``cov_type``); for (sigma, rho) by the delta method; NaN after the grid.
    n_obs, n_varieties : int
        Observations (variety-period changes, the reference's own included) and varieties
        (reference included).
    used_grid : bool
        True if the grid was used: sigma < 1 or undefined, or (``method="broda-weinstein"``) rho
        outside [0, 1).
    varieties : pandas.DataFrame
        Per variety: changes used, means of y, x1, x2, the weight scale ``s_hat``, fitted mean.
    observations : pandas.DataFrame
        The differenced sample (variety, period, dln s, dln p, y, x1, x2).
    coverage : pandas.DataFrame
        Per period: WORLD volume, volume of the varieties used, and their share (empty for
        :func:`feenstra_table`): what the estimate rests on.
    notes : list of str
        Data preparation and assumptions (dataset, dropped confidential variety-periods, ...).
    """

    sigma: float
    rho: float
    theta1: float
    theta2: float
    constant: float
    se_sigma: float
    se_rho: float
    se_theta1: float
    se_theta2: float
    se_constant: float
    n_obs: int
    n_varieties: int
    reference: str
    used_grid: bool
    cov_type: str
    cov: np.ndarray = field(repr=False)
    varieties: pd.DataFrame = field(repr=False)
    observations: pd.DataFrame = field(repr=False)
    first_step: tuple[float, float, float] = field(repr=False, default=(np.nan,) * 3)
    grid: dict | None = field(repr=False, default=None)
    reporter: str | None = None
    source: str | None = None
    dataset: str | None = None
    variety: str = "variety"
    freq: str | None = None
    periods: tuple[pd.Timestamp, pd.Timestamp] | None = None
    coverage: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)
    method: str = "feenstra"
    rho_admissible: bool = True
    sigma_other_method: float = np.nan
    rho_other_method: float = np.nan
    table: pd.DataFrame | None = field(repr=False, default=None)

    def _repr_fields(self) -> dict:
        names = ("reporter", "variety", "method", "sigma", "se_sigma", "rho", "n_obs", "n_varieties")
        return {n: getattr(self, n) for n in names}

    @property
    def caveats(self) -> list[str]:
        """The same list as ``notes`` (the name every result uses)."""
        return self.notes

    @property
    def admissible(self) -> bool:
        """True if sigma > 1 and 0 <= rho < 1 (the range Feenstra's model allows)."""
        return bool(self.sigma > 1 and 0 <= self.rho < 1)

    @property
    def other_method(self) -> str:
        """The method not used for ``sigma`` (whose figure is ``sigma_other_method``)."""
        return METHODS[1 - METHODS.index(self.method)]

    def reference_sensitivity(self, references: Iterable[str] | None = None) -> pd.DataFrame:
        """sigma and rho re-estimated with each admissible reference variety, under both methods.

        A variety is an admissible reference if it has a change in every period of the sample, so
        that differencing against it keeps every period (and n_obs); pass `references` to choose
        others (any variety observed in two consecutive periods). Same table, covariance and grid
        setting as this result; FeenstraWarnings inside are suppressed (see ``rho_admissible``).

        Returns
        -------
        pandas.DataFrame
            Index ``reference``; columns ``sigma``, ``rho`` (under this result's ``method``),
            ``sigma_feenstra``, ``rho_feenstra`` (closed form; NaN if undefined),
            ``rho_admissible``, ``sigma_broda_weinstein``, ``rho_broda_weinstein``, ``used_grid``
            (under this result's method), ``se_sigma`` (closed form, delta method) and ``n_obs``.
            Rows sorted by ``sigma_feenstra``; this result's reference is among them.
        """
        if self.table is None:
            raise AnalysisError("this result holds no variety table to re-estimate from")
        if references is None:
            obs = self.observations
            n_periods = obs["t"].nunique()
            counts = obs.groupby("variety")["t"].nunique()
            references = sorted(counts.index[counts == n_periods])
        rows = {}
        for ref in dict.fromkeys(str(r) for r in references):
            obs, ref = _differenced(self.table, ref)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FeenstraWarning)
                res = _estimate(obs, ref, self.cov_type, True, self.method)
            by = {res.method: (res.sigma, res.rho), res.other_method: (res.sigma_other_method,
                                                                       res.rho_other_method)}
            closed = _rho_sigma(res.theta1, res.theta2)
            rows[ref] = {"sigma": res.sigma, "rho": res.rho,
                         "sigma_feenstra": closed[1], "rho_feenstra": closed[0],
                         "rho_admissible": res.rho_admissible,
                         "sigma_broda_weinstein": by["broda-weinstein"][0],
                         "rho_broda_weinstein": by["broda-weinstein"][1],
                         "used_grid": res.used_grid, "se_sigma": _closed_se(res),
                         "n_obs": res.n_obs}
        table = pd.DataFrame.from_dict(rows, orient="index")
        table.index.name = "reference"
        return table.sort_values("sigma_feenstra", na_position="last")

    def to_frame(self) -> pd.DataFrame:
        """Parameters with standard errors and 95 % intervals from t(n_obs - 3) quantiles (three
        regression coefficients: theta1, theta2, constant); one row per ``parameter`` (a column:
        sigma, rho, theta1, theta2, constant)."""
        est = [self.sigma, self.rho, self.theta1, self.theta2, self.constant]
        se = [self.se_sigma, self.se_rho, self.se_theta1, self.se_theta2, self.se_constant]
        table = pd.DataFrame({"estimate": est, "std_error": se},
                             index=pd.Index(["sigma", "rho", "theta1", "theta2", "constant"],
                                            name="parameter"))
        q = float(stats.t.ppf(0.975, self.n_obs - 3)) if self.n_obs > 3 else np.nan
        table["ci_low"] = table["estimate"] - q * table["std_error"]
        table["ci_high"] = table["estimate"] + q * table["std_error"]
        return table.reset_index()

    @summary_method
    def summary(self) -> str:
        """Plain-text report: estimates, sample, reference, data coverage and caveats."""
        where = (f"{self.reporter}, {self.source}/{self.dataset}, " if self.reporter else "")
        span = ""
        if self.periods is not None:
            fmt = "%Y" if self.freq == "A" else "%Y-%m"
            span = f"{self.periods[0]:{fmt}}..{self.periods[1]:{fmt}}, "
        other = _METHOD_NAMES[self.other_method]
        lines = [
            f"Feenstra (1994) elasticity of substitution across {self.variety} varieties",
            f"{where}{span}{'annual' if self.freq == 'A' else 'monthly' if self.freq else ''} "
            f"changes; reference variety {self.reference}",
            f"n = {self.n_obs} observations, {self.n_varieties} varieties (reference included)",
            "",
            f"method: {self.method} (closed form; Broda-Weinstein grid "
            + ("when rho is outside [0, 1) or sigma < 1)" if self.method == "broda-weinstein"
               else "only if sigma < 1 or undefined)"),
            f"sigma = {self.sigma:.4f}" + ("  (Broda-Weinstein grid; no standard error)"
                                           if self.used_grid else f"  (SE {self.se_sigma:.4f})"),
            f"rho   = {self.rho:.4f}" + ("" if self.used_grid else f"  (SE {self.se_rho:.4f})")
            + ("" if 0 <= self.rho < 1 else "  OUTSIDE [0, 1): inadmissible under the model"),
            "closed-form rho " + ("admissible (in [0, 1))" if self.rho_admissible
                                  else "inadmissible (outside [0, 1) or undefined)"),
            f"other method, {self.other_method} ({other}): sigma = {self.sigma_other_method:.4f}, "
            f"rho = {self.rho_other_method:.4f}",
            f"theta1 = {self.theta1:.6g} (SE {self.se_theta1:.3g}), theta2 = {self.theta2:.6g} "
            f"(SE {self.se_theta2:.3g}), constant = {self.constant:.3g}",
            f"standard errors: {self.cov_type} covariance of the weighted IV regression, delta "
            f"method for sigma and rho",
        ]
        if not self.coverage.empty:
            share = self.coverage["share_used"]
            lines.append(f"volume of the varieties used: {share.mean():.1%} of {WORLD} on average "
                         f"(min {share.min():.1%}); the rest is undisclosed, confidential or excluded")
        if self.notes:
            lines += ["", "Data and assumptions:"] + [f"- {n}" for n in self.notes]
        return "\n".join(lines)

    def plot(self, ax: Axes | None = None, label: int = 8) -> Axes:
        """Variety means of y against the fitted relation c + theta1 x1bar + theta2 x2bar.

        Points on the 45-degree line are fitted exactly; marker size is the number of changes; the
        reference (orange) and the `label` varieties farthest from the line are named. With the grid
        fallback the fitted relation uses the theta implied by the grid point.
        """
        plt = pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 5))
        table = self.varieties
        colors = np.where(table["reference"], "#e66101", "#2166ac")
        ax.scatter(table["fitted"], table["mean_y"], s=12 + 6 * table["n_obs"], alpha=0.7,
                   color=colors, edgecolor="black", linewidth=0.5)
        lo = float(min(table["fitted"].min(), table["mean_y"].min()))
        hi = float(max(table["fitted"].max(), table["mean_y"].max()))
        ax.plot([lo, hi], [lo, hi], color="black", linewidth=0.8, linestyle="--")
        distance = (table["mean_y"] - table["fitted"]).abs()
        named = [*distance.nlargest(label).index, self.reference]
        for name, row in table.loc[list(dict.fromkeys(named))].iterrows():
            ax.annotate(str(name), (row["fitted"], row["mean_y"]), fontsize="x-small",
                        xytext=(3, 3), textcoords="offset points")
        ax.set_xlabel("fitted mean of y (constant + theta1 x1bar + theta2 x2bar)")
        ax.set_ylabel("variety mean of y = (dln p - dln p_ref)^2")
        ax.set_title(f"Feenstra: sigma = {self.sigma:.2f}"
                     + (" (grid)" if self.used_grid else "")
                     + (f", {self.reporter} by {self.variety}" if self.reporter else ""))
        return ax


# -- the estimator on a variety x period table --------------------------------------------------


def feenstra_table(
    table: pd.DataFrame,
    reference: str | None = None,
    cov_type: str = "HC2",
    grid: bool = True,
    method: str = "feenstra",
    _stacklevel: int = 0,
) -> FeenstraResult:
    """Feenstra (1994) estimate from a table of values and quantities per variety and period.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns ``variety`` (label), ``t`` (integer period number; t and t + 1 are consecutive),
        ``value`` (any currency) and ``quantity`` (any unit; prices are value / quantity). One row
        per variety and period with positive value and quantity; other rows are ignored.
    reference : str, optional
        Reference variety; default the one with most changes, ties broken alphabetically.
    cov_type : {"HC2", "classic", "HC0", "HC1", "HC3"}
        Covariance of the weighted IV coefficients (residuals with the raw x1, x2): ``classic`` is
        the textbook 2SLS ``s^2 (Xhat'Xhat)^-1``; ``HC0``-``HC3`` are White-type sandwiches with
        the leverages of Xhat.
    grid : bool
        Use the Broda-Weinstein grid when `method` calls for it; if False, raise instead. (The
        other method's sigma is still computed, with the grid if it needs it.)
    method : {"feenstra", "broda-weinstein"}
        ``"feenstra"``: closed form whenever sigma >= 1 (rho outside [0, 1) only warns).
        ``"broda-weinstein"``: the grid whenever rho is outside [0, 1) or sigma < 1 or undefined.
        See the module docstring, step 5.

    Returns
    -------
    FeenstraResult

    Warns
    -----
    FeenstraWarning
        If rho is outside [0, 1) (sigma is still reported), or if the grid was needed.
    """
    if cov_type not in COV_TYPES:
        raise AnalysisError(f"cov_type must be one of {list(COV_TYPES)}, got {cov_type!r}")
    if method not in METHODS:
        raise AnalysisError(f"method must be one of {list(METHODS)}, got {method!r}")
    missing = {"variety", "t", "value", "quantity"} - set(table.columns)
    if missing:
        raise AnalysisError(f"table needs columns variety, t, value, quantity; missing {sorted(missing)}")
    obs, reference = _differenced(table, reference)
    result = _estimate(obs, reference, cov_type, grid, method, stacklevel=3 + _stacklevel)
    result.table = table
    return result


def _group_means(codes: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Mean of each column of `values` per group code (groups x columns)."""
    counts = np.bincount(codes, minlength=n_groups)
    sums = np.column_stack([np.bincount(codes, weights=col, minlength=n_groups)
                            for col in np.atleast_2d(values.T)])
    return sums / counts[:, None]


def _differenced(table: pd.DataFrame, reference: str | None) -> tuple[pd.DataFrame, str]:
    """Steps 1-2: shares, unit values, log changes, differences against the reference."""
    data = table[(table["value"] > 0) & (table["quantity"] > 0)]
    variety = data["variety"].astype(str).to_numpy()
    t = data["t"].to_numpy()
    order = np.lexsort((t, variety))
    data, variety, t = data.iloc[order], variety[order], t[order]
    value = data["value"].to_numpy(float)
    same = np.r_[False, variety[1:] == variety[:-1]]
    if np.any(same & np.r_[False, t[1:] == t[:-1]]):
        raise AnalysisError("table has several rows for one variety and period; sum them first")
    t_codes, t_index = np.unique(t, return_inverse=True)
    total = np.bincount(t_index, weights=value)
    ln_s = np.log(value / total[t_index])
    ln_p = np.log(value / data["quantity"].to_numpy(float))
    consecutive = same & np.r_[False, t[1:] - t[:-1] == 1]
    frame = pd.DataFrame({"variety": variety, "t": t,
                          "dln_s": np.where(consecutive, ln_s - np.r_[np.nan, ln_s[:-1]], np.nan),
                          "dln_p": np.where(consecutive, ln_p - np.r_[np.nan, ln_p[:-1]], np.nan)})
    if "period" in data.columns:
        frame["period"] = data["period"].to_numpy()
    changes = frame[consecutive]
    known = sorted(set(variety))
    if reference is None:
        if changes.empty:
            raise AnalysisError("no variety is observed in two consecutive periods: no changes to use")
        names, counts = np.unique(changes["variety"].to_numpy(), return_counts=True)
        reference = sorted(zip(-counts, names, strict=True))[0][1]  # most changes, ties alphabetical
    elif str(reference) not in known:
        raise AnalysisError(f"reference variety {reference!r} is not in the data; varieties: "
                            f"{', '.join(known)}")
    reference = str(reference)
    ref = changes.loc[changes["variety"] == reference, ["t", "dln_s", "dln_p"]]
    if ref.empty:
        raise AnalysisError(f"reference variety {reference!r} is never observed in two consecutive "
                            f"periods; choose another (varieties: {', '.join(known)})")
    ref = ref.set_index("t")
    ds_ref = changes["t"].map(ref["dln_s"])
    dp_ref = changes["t"].map(ref["dln_p"])
    obs = changes.assign(dln_s_ref=ds_ref, dln_p_ref=dp_ref)[ds_ref.notna()]
    ds = obs["dln_s"] - obs["dln_s_ref"]
    dp = obs["dln_p"] - obs["dln_p_ref"]
    obs = obs.assign(y=dp**2, x1=ds**2, x2=ds * dp)
    return obs.reset_index(drop=True), reference


def _estimate(obs: pd.DataFrame, reference: str, cov_type: str, use_grid: bool,
              method: str = "feenstra", stacklevel: int = 4) -> FeenstraResult:
    """Steps 3-6 on the differenced sample."""
    names, codes = np.unique(obs["variety"].to_numpy(), return_inverse=True)
    n_varieties = len(names)
    if n_varieties < 3:
        raise AnalysisError(f"Feenstra's estimator needs at least 3 varieties with changes against the "
                            f"reference {reference!r}; found {n_varieties}: {', '.join(names)}")
    y = obs["y"].to_numpy(float)
    raw = np.column_stack([obs["x1"], obs["x2"], np.ones(len(obs))])
    means = _group_means(codes, raw[:, :2], n_varieties)
    fitted = np.column_stack([means[codes], np.ones(len(obs))])  # IV with variety dummies = means
    if np.linalg.matrix_rank(fitted) < 3:
        raise AnalysisError("the variety means of x1 and x2 are collinear: theta cannot be identified "
                            "(need varieties whose share and price changes differ in variance)")
    first = np.linalg.lstsq(fitted, y, rcond=None)[0]
    u = y - raw @ first
    s_var = np.sqrt(_group_means(codes, u**2, n_varieties)[:, 0])
    s_var = np.maximum(s_var, 1e-12 * max(float(s_var.max()), 1e-300))
    s_hat = s_var[codes]
    xw, rw, yw = fitted / s_hat[:, None], raw / s_hat[:, None], y / s_hat
    theta = np.linalg.lstsq(xw, yw, rcond=None)[0]
    cov = _covariance(xw, yw - rw @ theta, cov_type)
    t1, t2, const = (float(v) for v in theta)
    rho, sigma = _rho_sigma(t1, t2)
    grad = _gradient(t1, t2, rho, sigma)
    cov_rs = grad @ cov[:2, :2] @ grad.T
    se_rho, se_sigma = (float(np.sqrt(v)) if v >= 0 else np.nan for v in np.diag(cov_rs))
    mean_y = _group_means(codes, y, n_varieties)[:, 0]
    sigma_ok = bool(np.isfinite(sigma) and sigma >= 1)
    rho_ok = bool(np.isfinite(rho) and 0 <= rho < 1)
    needs = {"feenstra": not sigma_ok, "broda-weinstein": not (sigma_ok and rho_ok)}
    grid_point = _grid_search(mean_y, means[:, 0], means[:, 1])
    other = METHODS[1 - METHODS.index(method)]
    other_sigma, other_rho = grid_point[:2] if needs[other] else (sigma, rho)
    used_grid, grid_info = False, None
    if needs[method]:
        why = (f"sigma = {sigma:.4g}" if not sigma_ok else f"rho = {rho:.4g} is outside [0, 1)")
        if not use_grid:
            raise AnalysisError(f"closed-form estimate inadmissible (theta1 = {t1:.4g}, theta2 = "
                                f"{t2:.4g}, {why}) and the grid is switched off")
        closed = (rho, sigma)
        sigma, rho, grid_info = grid_point
        grid_info["closed_form"] = {"rho": closed[0], "sigma": closed[1]}
        se_rho = se_sigma = np.nan
        used_grid = True
        warnings.warn(f"Feenstra closed form inadmissible (theta1 = {t1:.4g}, theta2 = {t2:.4g}, "
                      f"{why}; closed-form sigma = {closed[1]:.4g}); used the Broda-Weinstein grid "
                      f"(method={method!r}): sigma = {sigma:.2f}, rho = {rho:.2f}",
                      FeenstraWarning, stacklevel=stacklevel)
    elif not rho_ok:
        warnings.warn(f"rho = {rho:.4f} is outside [0, 1): the supply side is inadmissible under "
                      f"Feenstra's model; sigma = {sigma:.4f} is reported as estimated "
                      f"(method='broda-weinstein' gives {other_sigma:.2f})",
                      FeenstraWarning, stacklevel=stacklevel)
    se_theta = np.sqrt(np.clip(np.diag(cov), 0, None))
    line = theta if grid_info is None else grid_info["theta"]
    varieties = pd.DataFrame({
        "n_obs": np.bincount(codes, minlength=n_varieties), "mean_y": mean_y,
        "mean_x1": means[:, 0], "mean_x2": means[:, 1], "s_hat": s_var,
        "fitted": line[2] + line[0] * means[:, 0] + line[1] * means[:, 1],
        "reference": names == reference,
    }, index=pd.Index(names, name="variety"))
    return FeenstraResult(
        sigma=float(sigma), rho=float(rho), theta1=t1, theta2=t2, constant=const,
        se_sigma=se_sigma, se_rho=se_rho, se_theta1=float(se_theta[0]), se_theta2=float(se_theta[1]),
        se_constant=float(se_theta[2]), n_obs=len(obs), n_varieties=int(n_varieties),
        reference=reference, used_grid=used_grid, cov_type=cov_type, cov=cov, varieties=varieties,
        observations=obs, first_step=(float(first[1]), float(first[2]), float(first[0])),
        grid=grid_info, method=method, rho_admissible=rho_ok, sigma_other_method=float(other_sigma),
        rho_other_method=float(other_rho),
    )


def _closed_se(result: FeenstraResult) -> float:
    """Delta-method SE of the closed-form sigma of `result` (NaN where undefined)."""
    rho, sigma = _rho_sigma(result.theta1, result.theta2)
    grad = _gradient(result.theta1, result.theta2, rho, sigma)
    var = float((grad @ result.cov[:2, :2] @ grad.T)[1, 1])
    return float(np.sqrt(var)) if var >= 0 else np.nan


def _covariance(x: np.ndarray, resid: np.ndarray, cov_type: str) -> np.ndarray:
    """Covariance of IV coefficients with fitted regressors `x` and structural residuals `resid`."""
    n, k = x.shape
    bread = np.linalg.pinv(x.T @ x)
    if cov_type == "classic":
        return bread * float(resid @ resid) / (n - k)
    leverage = np.einsum("ij,jk,ik->i", x, bread, x)
    weight = {
        "HC0": resid**2,
        "HC1": resid**2 * n / (n - k),
        "HC2": resid**2 / np.clip(1 - leverage, 1e-12, None),
        "HC3": resid**2 / np.clip(1 - leverage, 1e-12, None) ** 2,
    }[cov_type]
    return bread @ (x.T * weight) @ x @ bread


def _rho_sigma(theta1: float, theta2: float) -> tuple[float, float]:
    """Step 5: (rho, sigma) from (theta1, theta2); NaN where the closed form is undefined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = theta2**2 / theta1 if theta1 != 0 else np.nan
        disc = 0.25 - 1.0 / (4.0 + ratio) if 4.0 + ratio != 0 else np.nan
        if not np.isfinite(disc) or disc < 0:
            return np.nan, np.nan
        root = math.sqrt(disc)
        rho = 0.5 + root if theta2 > 0 else 0.5 - root
        sigma = 1.0 + (2 * rho - 1) / ((1 - rho) * theta2) if theta2 != 0 and rho != 1 else np.nan
    return float(rho), float(sigma)


def _gradient(theta1: float, theta2: float, rho: float, sigma: float) -> np.ndarray:
    """d(rho, sigma) / d(theta1, theta2), analytic (rows rho, sigma)."""
    if not (np.isfinite(rho) and np.isfinite(sigma)) or rho == 0.5:
        return np.full((2, 2), np.nan)
    ratio = theta2**2 / theta1
    sign = 1.0 if theta2 > 0 else -1.0
    d_rho_d_ratio = sign / (2 * abs(rho - 0.5)) / (4 + ratio) ** 2
    d_ratio = np.array([-(theta2**2) / theta1**2, 2 * theta2 / theta1])
    d_rho = d_rho_d_ratio * d_ratio
    h = (2 * rho - 1) / (1 - rho)
    d_sigma = d_rho / ((1 - rho) ** 2 * theta2) - np.array([0.0, h / theta2**2])
    return np.vstack([d_rho, d_sigma])


def _grid_search(mean_y: np.ndarray, mean_x1: np.ndarray, mean_x2: np.ndarray) -> tuple[float, float, dict]:
    """Broda-Weinstein: minimise sum_v (mean_t residual_v)^2 over the (sigma, rho) grid."""
    sig, rho = np.meshgrid(GRID_SIGMA, GRID_RHO, indexing="ij")
    th1 = rho / ((sig - 1) ** 2 * (1 - rho))
    th2 = (2 * rho - 1) / ((sig - 1) * (1 - rho))
    resid = mean_y[None, None, :] - th1[..., None] * mean_x1 - th2[..., None] * mean_x2
    resid = resid - resid.mean(axis=2, keepdims=True)  # the constant, profiled out
    objective = (resid**2).sum(axis=2)
    i, j = np.unravel_index(int(np.argmin(objective)), objective.shape)
    s, r = float(sig[i, j]), float(rho[i, j])
    t1, t2 = float(th1[i, j]), float(th2[i, j])
    const = float(np.mean(mean_y - t1 * mean_x1 - t2 * mean_x2))
    info = {"objective": float(objective[i, j]), "theta": np.array([t1, t2, const]),
            "sigma_grid": (float(GRID_SIGMA[0]), float(GRID_SIGMA[-1]), 1.0),
            "rho_grid": (float(GRID_RHO[0]), float(GRID_RHO[-1]), 0.01)}
    return s, r, info


def simulate_feenstra(
    sigma: float,
    rho: float,
    n_varieties: int = 20,
    n_periods: int = 30,
    seed: int | None = None,
    demand_sd: tuple[float, float] = (0.1, 1.0),
    supply_sd: tuple[float, float] = (0.02, 0.2),
) -> pd.DataFrame:
    """Values and quantities drawn from Feenstra's (1994) model, for :func:`feenstra_table`.

    Demand: ``dln s_vt = phi_t - (sigma - 1) dln p_vt + e_vt``; supply: ``dln p_vt = psi_t +
    omega / (1 + omega) dln s_vt + d_vt`` with ``omega = rho / (sigma - 1 - rho sigma)`` (so
    ``0 <= rho < (sigma - 1) / sigma``). Demand and supply shocks are independent normals whose
    standard deviations differ across varieties (uniform on `demand_sd` and `supply_sd`): that
    heteroskedasticity is what identifies the model. Returns columns variety, t, value, quantity
    (``n_varieties * n_periods`` rows; values in arbitrary currency, prices around 60 per unit).
    """
    if not sigma > 1 or not 0 <= rho < (sigma - 1) / sigma:
        raise AnalysisError(f"need sigma > 1 and 0 <= rho < (sigma - 1) / sigma, got sigma = {sigma}, "
                            f"rho = {rho}")
    rng = np.random.default_rng(seed)
    omega = rho / (sigma - 1 - rho * sigma)
    slope = omega / (1 + omega)
    sd_e = rng.uniform(*demand_sd, size=n_varieties)
    sd_d = rng.uniform(*supply_sd, size=n_varieties)
    e = rng.normal(size=(n_periods - 1, n_varieties)) * sd_e
    d = rng.normal(size=(n_periods - 1, n_varieties)) * sd_d
    dln_s = (e - (sigma - 1) * d) / (1 + (sigma - 1) * slope)
    dln_p = slope * dln_s + d
    ln_s = np.vstack([rng.normal(size=n_varieties), dln_s]).cumsum(axis=0)
    ln_p = np.vstack([np.log(60) + 0.1 * rng.normal(size=n_varieties), dln_p]).cumsum(axis=0)
    value = np.exp(ln_s + rng.normal(size=(n_periods, 1)))  # a common expenditure shock
    width = len(str(n_varieties))
    names = [f"v{i:0{width}d}" for i in range(n_varieties)]
    return pd.DataFrame({
        "variety": np.tile(names, n_periods),
        "t": np.repeat(np.arange(n_periods), n_varieties),
        "value": value.ravel(),
        "quantity": (value / np.exp(ln_p)).ravel(),
    })


# -- canonical frame -> variety table ---------------------------------------------------------


@call_forms(old_positional=("variety", "freq", "reference", "dataset", "start", "end"))
def feenstra(
    frame: pd.DataFrame,
    reporter: str,
    *,
    variety: str = "partner",
    freq: str = "A",
    reference: str | None = None,
    dataset: str | None = None,
    start: str | None = None,
    end: str | None = None,
    exclude: Iterable[str] | None = None,
    qualities: pd.DataFrame | Mapping[str, tuple[float, float]] | None = None,
    cov_type: str = "HC2",
    method: str = "feenstra",
) -> FeenstraResult:
    """Elasticity of substitution across `reporter`'s crude import varieties (Feenstra 1994).

    Parameters
    ----------
    frame : pandas.DataFrame
        A canonical frame (e.g. ``oilflows.load_default(dataset="coir", reporter="DE")``).
    reporter : str
        The importer (ISO alpha-2).
    variety : {"partner", "grade", "oil_type"}
        What a variety is: the country (or region) of origin; the source's grade (labelled
        ``"PARTNER:grade"`` where one grade name occurs under several partners); or the API x sulphur
        class of :func:`oil_type`, each grade classified by its volume-weighted mean API gravity and
        sulphur over the window (from the frame, or from `qualities`).
    freq : {"A", "M"}
        Annual changes (monthly values and volumes summed per year; years with fewer than 12 months
        of data are dropped) or monthly changes.
    reference : str, optional
        Reference variety (a label as in ``variety``); default the one with most changes, ties
        broken alphabetically. The authors' "Algeria" is ``reference="DZ"``.
    dataset : str, optional
        ``"dataset"`` or ``"source/dataset"``, needed when several datasets cover the reporter.
    start, end : str, optional
        Inclusive bounds such as ``"2013"`` or ``"2013-01"``.
    exclude : iterable of str, optional
        Variety labels to leave out (e.g. region codes such as ``AFRICA``). They also leave the
        share denominator, which does not change the estimate (shares enter only relative to the
        reference in the same period).
    qualities : DataFrame or mapping, optional
        Grade -> (API gravity, sulphur %), for ``variety="oil_type"`` on data without qualities
        (the register). A DataFrame needs columns ``grade``, ``api_gravity``, ``sulphur_pct``.
        Overrides the frame's qualities for the grades it lists.
    cov_type : {"HC2", "classic", "HC0", "HC1", "HC3"}
        Covariance of theta; see :func:`feenstra_table`.
    method : {"feenstra", "broda-weinstein"}
        ``"feenstra"`` (default): the closed form whenever sigma >= 1, as in the published figures
        (DE by origin, reference DZ: sigma = 18.80 with rho = -0.11, inadmissible).
        ``"broda-weinstein"``: their grid whenever rho is outside [0, 1) or sigma < 1 (DE: sigma =
        30.05, rho = 0). The result reports the other method's sigma and ``rho_admissible``;
        :meth:`FeenstraResult.reference_sensitivity` re-estimates with every reference.

    Returns
    -------
    FeenstraResult

    Notes
    -----
    Prices are unit values, value / volume (currency per barrel); quantities are volumes (barrels).
    A variety-period containing any cell with a volume but no value (confidential, e.g. flag ``c``
    or the register's ``(3)``) is dropped, never set to zero; cells with zero volume are absent
    trade. Region and "other" origins (AFRICA, FSU, ...) are varieties like any other unless
    excluded: that is how the published German figure (sigma = 18.80) is obtained.

    Warns
    -----
    FeenstraWarning
        If rho is outside [0, 1) (sigma is still reported), or if the grid was needed.

    Raises
    ------
    AnalysisError
        No value or volume data, fewer than 3 varieties, unknown reference, no quality data for
        ``oil_type``, ambiguous dataset.
    """
    if variety not in VARIETIES:
        raise AnalysisError(f"variety must be one of {list(VARIETIES)}, got {variety!r}")
    if freq not in ("A", "M"):
        raise AnalysisError(f"freq must be 'A' or 'M', got {freq!r}")
    if cov_type not in COV_TYPES:
        raise AnalysisError(f"cov_type must be one of {list(COV_TYPES)}, got {cov_type!r}")
    if method not in METHODS:
        raise AnalysisError(f"method must be one of {list(METHODS)}, got {method!r}")
    lo, hi = _bounds(start, end)
    rows, world, source, chosen, native = _select(frame, reporter, dataset, freq, lo, hi)
    how = "monthly data summed per year" if freq == "A" and native == "M" else "as published"
    notes = [f"data: {source}/{chosen}, {how}; "
             f"prices = value / volume_bbl ({_currency(rows)} per barrel), quantities = barrels"]
    rows = rows.assign(label=_labels(rows, variety, qualities, notes))
    unlabelled = rows["label"].isna() & (rows["volume_bbl"].fillna(0) > 0)
    if unlabelled.any():
        share = rows.loc[unlabelled, "volume_bbl"].sum() / world.sum()
        notes.append(f"{rows.loc[unlabelled, 'grade'].nunique()} grades without API/sulphur "
                     f"({share:.1%} of {WORLD} volume) are left out of the oil types")
    rows = rows[rows["label"].notna()]
    if exclude:
        excluded = sorted(set(exclude) & set(rows["label"]))
        rows = rows[~rows["label"].isin(set(exclude))]
        notes.append(f"excluded varieties: {', '.join(excluded) if excluded else '(none present)'}")
    table, coverage = _aggregate(rows, world, freq, native, notes)
    dropped = "; ".join(n.split(":")[0] for n in notes if "dropped" in n)
    context = f" ({dropped})" if dropped else ""
    if table.empty:
        raise AnalysisError(f"{reporter} has no variety-period with both value and volume in "
                            f"{source}/{chosen}" + _window_text(lo, hi) + context)
    try:
        # Two frames above feenstra_table: this function and its call_forms wrapper.
        result = feenstra_table(table, reference=reference, cov_type=cov_type, method=method,
                                _stacklevel=2)
    except AnalysisError as exc:
        raise AnalysisError(f"{reporter}, {source}/{chosen}, {variety} varieties: {exc}{context}") from exc
    result.reporter, result.source, result.dataset = reporter, source, chosen
    result.variety, result.freq = variety, freq
    periods = result.observations["period"]
    result.periods = (periods.min(), periods.max())
    result.coverage = coverage
    if not result.rho_admissible and not result.used_grid:
        notes.append(f"rho = {result.rho:.3f} is outside [0, 1), which Feenstra's model excludes; "
                     "sigma is reported as estimated (as the published German figure is); "
                     f"Broda-Weinstein's rule (grid) gives sigma = {result.sigma_other_method:.2f}")
    elif not result.rho_admissible:
        assert result.grid is not None  # the grid was used, so it is kept
        notes.append(f"closed-form rho = {result.grid['closed_form']['rho']:.3f} (sigma = "
                     f"{result.grid['closed_form']['sigma']:.2f}) is inadmissible; sigma is from the "
                     "Broda-Weinstein grid")
    if source == "dg_ener" and reporter == "DE":
        notes.append("the register's German figures exclude pipeline imports (Druzhba crude is "
                     "missing before 2020), so WORLD here is seaborne/other imports only")
    notes.append("CIF unit values move with freight and route changes as well as with demand; unit "
                 "values of a partner or class mix grades")
    result.notes = notes
    return result


def _bounds(start: str | None, end: str | None) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    try:
        lo = pd.Period(start).start_time if start is not None else None
        hi = pd.Period(end).end_time.normalize() if end is not None else None
    except (TypeError, ValueError) as exc:
        raise AnalysisError(f"start/end must be periods like '2013' or '2013-01', got {start!r}, "
                            f"{end!r}") from exc
    if lo is not None and hi is not None and hi < lo:
        raise AnalysisError(f"end {end!r} is before start {start!r}")
    return lo, hi


def _window_text(lo: pd.Timestamp | None, hi: pd.Timestamp | None) -> str:
    if lo is None and hi is None:
        return ""
    return f" between {lo:%Y-%m} and {hi:%Y-%m}" if lo is not None and hi is not None else (
        f" from {lo:%Y-%m}" if lo is not None else f" up to {hi:%Y-%m}")


def _select(frame: pd.DataFrame, reporter: str, dataset: str | None, freq: str, lo: pd.Timestamp | None,
            hi: pd.Timestamp | None) -> tuple[pd.DataFrame, pd.Series, str, str, str]:
    """Pick one dataset (via build_panel) and return its partner rows and WORLD volume in the window."""
    native = "M"
    if freq == "A":
        monthly = matching(candidates(frame, reporter, "volume_bbl", "M"), dataset)
        if not monthly and candidates(frame, reporter, "volume_bbl", "A"):
            native = "A"
    window = [(lo or pd.Timestamp("1800-01-01"), hi or pd.Timestamp("2200-01-01"))] if (lo or hi) else None
    try:
        panel = build_panel(frame, reporter, "volume_bbl", native, dataset, window)
    except AnalysisError as exc:
        raise AnalysisError(f"feenstra needs volumes (barrels) and values: {exc}") from exc
    rows, world = panel.grades, panel.world
    if lo is not None:
        rows, world = rows[rows["period"] >= lo], world[world.index >= lo]
    if hi is not None:
        rows, world = rows[rows["period"] <= hi], world[world.index <= hi]
    currencies = rows.loc[rows["value"].notna(), "currency"].dropna().unique()
    if len(currencies) > 1:
        raise AnalysisError(f"{panel.source}/{panel.dataset} mixes currencies {sorted(currencies)} for "
                            f"{reporter}: unit values would not be comparable")
    if rows["value"].notna().sum() == 0:
        raise AnalysisError(f"{panel.source}/{panel.dataset} has no value data for {reporter}"
                            + _window_text(lo, hi) + ": unit values (value / volume) cannot be formed")
    return rows, world, panel.source, panel.dataset, native


def _currency(rows: pd.DataFrame) -> str:
    currencies = rows["currency"].dropna().unique()
    return "/".join(sorted(map(str, currencies))) or "currency"


#: The ``qualities=`` of :func:`feenstra`: grade -> (API gravity, sulphur %).
_Qualities: TypeAlias = pd.DataFrame | Mapping[str, tuple[float, float]] | None


def _grade_labels(rows: pd.DataFrame) -> pd.Series:
    grade = rows["grade"].where(rows["grade"].notna(), rows["partner"]).astype(str)
    partners = rows.groupby(grade)["partner"].nunique()
    shared = grade.map(partners) > 1
    return grade.where(~shared, rows["partner"].astype(str) + ":" + grade)


def _labels(rows: pd.DataFrame, variety: str, qualities: _Qualities, notes: list[str]) -> pd.Series:
    if variety == "partner":
        notes.append("varieties: countries of origin (region and 'other' origins included as varieties)")
        return rows["partner"].astype(str)
    grades = _grade_labels(rows)
    if variety == "grade":
        notes.append("varieties: the source's grades (crude types)")
        return grades
    quality = _grade_qualities(rows, grades, qualities)
    if quality.empty:
        raise AnalysisError(
            "oil_type varieties need API gravity and sulphur per grade; this dataset has none "
            f"({rows['source'].iloc[0]}/{rows['dataset'].iloc[0]}). Use nrg_ti_coifpm, or pass "
            "qualities= (grade -> (API, sulphur %))")
    classes = oil_type(quality["api_gravity"], quality["sulphur_pct"])
    assert isinstance(classes, pd.Series)  # array-likes in, a Series out
    notes.append("varieties: API x sulphur classes (light > 31.1 API >= medium >= 22.3 > heavy; sweet "
                 "< 1 % S), each grade classified by its volume-weighted mean quality: "
                 + "; ".join(f"{c}: {', '.join(sorted(g))}"
                             for c, g in classes.groupby(classes).groups.items()))
    return grades.map(classes)


def _grade_qualities(rows: pd.DataFrame, grades: pd.Series, qualities: _Qualities) -> pd.DataFrame:
    """Volume-weighted mean API and sulphur per grade label; `qualities` override."""
    known = rows.assign(label=grades)
    known = known[known["api_gravity"].notna() & known["sulphur_pct"].notna()
                  & (known["volume_bbl"] > 0)]
    weight = known["volume_bbl"]
    table = pd.DataFrame({
        "api_gravity": (known["api_gravity"] * weight).groupby(known["label"]).sum()
        / weight.groupby(known["label"]).sum(),
        "sulphur_pct": (known["sulphur_pct"] * weight).groupby(known["label"]).sum()
        / weight.groupby(known["label"]).sum(),
    })
    if qualities is not None:
        if isinstance(qualities, pd.DataFrame):
            given = qualities.set_index("grade")[["api_gravity", "sulphur_pct"]]
        else:
            given = pd.DataFrame.from_dict(dict(qualities), orient="index",
                                           columns=["api_gravity", "sulphur_pct"])
        by_label = given.reindex(sorted(set(grades))).dropna()
        # a grade given by its raw name also covers its "PARTNER:grade" label
        raw = pd.Series(rows["grade"].astype(str).to_numpy(), index=grades.to_numpy())
        for label, name in raw[~raw.index.duplicated()].items():
            if label not in by_label.index and name in given.index:
                by_label.loc[label] = given.loc[name].to_numpy(dtype=float)
        table = pd.concat([table.drop(index=by_label.index, errors="ignore"), by_label])
    return table.astype(float)


def _aggregate(rows: pd.DataFrame, world: pd.Series, freq: str, native: str,
               notes: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Variety x period values and volumes; drop variety-periods with a confidential cell."""
    volume = rows["volume_bbl"]
    usable = (volume > 0) & (rows["value"] > 0)
    absent = volume.fillna(-1) == 0
    rows = rows.assign(bad=~usable & ~absent,
                       bucket=rows["period"].dt.to_period("Y").dt.to_timestamp() if freq == "A"
                       else rows["period"])
    world = world.groupby(world.index.to_period("Y").to_timestamp() if freq == "A"
                          else world.index).agg(["sum", "size"])
    if freq == "A" and native == "M":
        short = world.index[world["size"] < 12]
        if len(short):
            notes.append(f"incomplete years dropped: {', '.join(f'{p:%Y}' for p in short)} "
                         f"({', '.join(str(n) for n in world.loc[short, 'size'])} months)")
            world = world.drop(index=short)
            rows = rows[rows["bucket"].isin(world.index)]
    grouped = rows.groupby(["label", "bucket"]).agg(value=("value", "sum"), quantity=("volume_bbl", "sum"),
                                                    bad=("bad", "any"))
    dropped = grouped[grouped["bad"]]
    if len(dropped):
        notes.append(f"{len(dropped)} variety-periods dropped because a value (or volume) is "
                     f"confidential/missing: "
                     + ", ".join(f"{v} {p:%Y}" if freq == "A" else f"{v} {p:%Y-%m}"
                                 for v, p in dropped.index[:12])
                     + (" ..." if len(dropped) > 12 else ""))
    table = grouped[~grouped["bad"] & (grouped["value"] > 0) & (grouped["quantity"] > 0)]
    table = table.reset_index().rename(columns={"label": "variety", "bucket": "period"})
    table["t"] = (table["period"].dt.year if freq == "A"
                  else table["period"].dt.year * 12 + table["period"].dt.month - 1)
    used = table.groupby("period")["quantity"].sum()
    if not table.empty:  # the span with variety data (nrg_ti_coifpm has TOTAL only before 2020)
        world = world[(world.index >= table["period"].min()) & (world.index <= table["period"].max())]
    coverage = pd.DataFrame({"world_volume": world["sum"]})
    coverage["used_volume"] = used.reindex(coverage.index).fillna(0.0)
    coverage["share_used"] = coverage["used_volume"] / coverage["world_volume"]
    coverage.index.name = "period"
    return table[["variety", "period", "t", "value", "quantity"]], coverage
