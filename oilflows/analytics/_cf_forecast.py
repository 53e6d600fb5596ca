"""Counterfactual forecasts, part 1: model fitting and the forecast distribution (split from
:mod:`oilflows.analytics.counterfactual`, issue 14; its docstring has the method).

SARIMAX and ETS fits on a standardised series, the joint (month x month) forecast covariance, the
delta-method parameter uncertainty with its calibration (issue 11), and the draws the coverage
interval is simulated from. Issue 15 made the delta method cheaper without changing it: the forecast
means at shifted parameters come from one Kalman filter pass each (:func:`_forecast_mean`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import AnalysisError

if TYPE_CHECKING:
    from statsmodels.tsa.statespace.sarimax import SARIMAX, SARIMAXResults

#: Calibration of the SARIMAX prediction variance with parameter uncertainty: the delta-method
#: covariance is multiplied by ``1 + CALIBRATION / (n - k)`` (see the module docstring).
CALIBRATION = 15.0
#: Default ETS specification (methods note section 5): additive errors, damped additive trend,
#: additive monthly seasonality.
DEFAULT_ETS = {"error": "add", "trend": "add", "damped_trend": True, "seasonal": "add",
               "seasonal_periods": 12}

# -- forecasting --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Forecast:
    """A joint forecast distribution in model space: mean (h,), covariance (h, h), t degrees of
    freedom (``inf`` = normal), and what was fitted."""

    mean: np.ndarray
    cov: np.ndarray
    df: float
    spec: str
    n_obs: int
    n_params: int
    aic: float
    notes: tuple[str, ...]
    resid: pd.Series | None = None  # one-step standardised residuals over the pre months


def _fit_forecast(y: pd.Series, h: int, model: str, order: tuple[int, int, int],
                  seasonal_order: tuple[int, int, int, int], trend: str | None,
                  ets_options: dict | None, parameter_uncertainty: bool, n_sims: int,
                  seed: int) -> _Forecast:
    """Fit `model` on `y` (NaN allowed for SARIMAX) and return the forecast of the next `h` months.

    The series is standardised (minus its mean, over its standard deviation) before fitting and
    the forecast is mapped back; SARIMA and ETS likelihoods are equivariant under this affine map,
    and the optimiser behaves far better on unit-scale data than on barrels (~1e6).
    """
    observed = y.dropna()
    center = float(observed.mean())
    scale = float(observed.std(ddof=1)) or 1.0
    z = (y - center) / scale
    if model == "sarimax":
        fc = _sarimax_forecast(z, h, order, seasonal_order, trend, parameter_uncertainty)
    else:
        fc = _ets_forecast(z, h, ets_options, n_sims, seed, parameter_uncertainty)
    return _Forecast(mean=center + scale * fc.mean, cov=scale ** 2 * fc.cov, df=fc.df, spec=fc.spec,
                     n_obs=fc.n_obs, n_params=fc.n_params, aic=fc.aic, notes=fc.notes,
                     resid=fc.resid)


def _caught(records: list[warnings.WarningMessage]) -> list[str]:
    return list(dict.fromkeys(f"statsmodels: {r.category.__name__}: {r.message}" for r in records))


def _sarimax_forecast(z: pd.Series, h: int, order: tuple[int, int, int],
                      seasonal_order: tuple[int, int, int, int], trend: str | None,
                      parameter_uncertainty: bool) -> _Forecast:
    from statsmodels.tsa.statespace.kalman_filter import MEMORY_NO_SMOOTHING
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    mod = SARIMAX(z, order=order, seasonal_order=seasonal_order, trend=trend)
    # Only filter output is read (forecasts, predicted covariances, one-step residuals): without
    # this flag fit() also runs the smoother on the estimate (issue 15; same estimates).
    mod.ssm.set_conserve_memory(MEMORY_NO_SMOOTHING)
    res, notes = _fit_sarimax(mod)
    mean = res.get_forecast(h).predicted_mean.to_numpy()
    cov = _sarimax_joint_cov(res, h)
    n_obs = int(z.notna().sum())
    names = list(res.model.param_names)
    k = sum(1 for n in names if n != "sigma2")
    df = np.inf
    spec = f"SARIMAX{tuple(order)}x{tuple(seasonal_order)}, trend={trend!r}"
    if parameter_uncertainty:
        dof = n_obs - k
        if dof < 5:
            raise AnalysisError(f"{n_obs} observed pre-shock months leave {dof} degrees of freedom "
                                f"for {k} parameters of {spec}; lengthen the pre window or "
                                f"simplify the model")
        jac, jac_notes = _forecast_jacobian(mod, res, h)
        notes += jac_notes
        vparams = np.asarray(res.cov_params(), dtype=float)
        keep = [i for i, n in enumerate(names) if n != "sigma2"]
        vsub = vparams[np.ix_(keep, keep)]
        if not np.all(np.isfinite(vsub)):
            notes.append("parameter covariance not available; intervals omit parameter uncertainty")
            vsub = np.zeros_like(vsub)
        cov = cov * n_obs / dof + jac[:, keep] @ vsub @ jac[:, keep].T
        cov = cov * (1.0 + CALIBRATION / dof)
        df = float(dof)
    resid = pd.Series(np.asarray(res.filter_results.standardized_forecasts_error)[0], index=z.index)
    return _Forecast(mean=mean, cov=cov, df=df, spec=spec, n_obs=n_obs, n_params=len(names),
                     aic=float(res.aic), notes=tuple(notes), resid=resid.where(z.notna()))


def _fit_sarimax(mod):
    """Maximum likelihood with L-BFGS; if it does not report convergence, BFGS from its optimum."""
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        res = mod.fit(disp=False, maxiter=500)
    if not res.mle_retvals.get("converged", True):
        with warnings.catch_warnings(record=True) as retry_records:
            warnings.simplefilter("always")
            retry = mod.fit(start_params=res.params, method="bfgs", disp=False, maxiter=500)
        if retry.mle_retvals.get("converged", False) and retry.llf >= res.llf - 1e-8:
            res, records = retry, retry_records
    notes = _caught(records)
    if not res.mle_retvals.get("converged", True):
        notes.append("the SARIMAX optimiser did not report convergence; check the fit")
    return res, notes


def _sarimax_joint_cov(res: SARIMAXResults, h: int) -> np.ndarray:
    """Covariance of the next `h` observations given the sample, from the state-space matrices.

    With predicted state covariances ``P_1 = P_{n+1|n}``, ``P_{i+1} = T P_i T' + R Q R'``:
    ``Cov(a_i, a_j) = T^(j-i) P_i`` for ``j >= i`` and ``Cov(y_i, y_j) = Z Cov(a_i, a_j) Z' + H [i=j]``.
    Its diagonal equals ``get_forecast(h).var_pred_mean``.
    """
    fr = res.filter_results
    design, transition = fr.design[:, :, 0], fr.transition[:, :, 0]
    selection, state_cov, obs_cov = fr.selection[:, :, 0], fr.state_cov[:, :, 0], fr.obs_cov[:, :, 0]
    rqr = selection @ state_cov @ selection.T
    p = fr.predicted_state_cov[:, :, -1]
    cov = np.zeros((h, h))
    for i in range(h):
        cross = p
        for j in range(i, h):
            cov[i, j] = cov[j, i] = float((design @ cross @ design.T)[0, 0]) + (
                float(obs_cov[0, 0]) if i == j else 0.0)
            cross = transition @ cross
        p = transition @ p @ transition.T + rqr
    return cov


def _forecast_mean(mod: SARIMAX, params: np.ndarray, h: int) -> np.ndarray:
    """The `h`-step forecast means of `mod` at `params`, from one Kalman filter pass (issue 15).

    ``mod.filter(params).get_forecast(h)`` builds a full results object (with an OPG parameter
    covariance) and an extended model for every call; the forecast of a time-invariant model is
    just the state recursion ``a_{i+1} = T a_i + c``, ``y_i = Z a_i + d`` from the last predicted
    state ``a_1 = a_{n+1|n}``, which this computes from the filter output alone (equal to
    ``get_forecast`` to rounding; ``tests/test_counterfactual_fast.py``). SARIMAX stores a
    constant's intercept once per month; matrices that really vary over time (a time trend,
    exogenous regressors) take the full path.
    """
    fr = mod.filter(params, cov_type="none", return_ssm=True)
    mats = (fr.design, fr.obs_intercept, fr.transition, fr.state_intercept)
    if mod.k_exog or not all(np.array_equal(m, np.broadcast_to(m[..., :1], m.shape)) for m in mats):
        return np.asarray(mod.filter(params).get_forecast(h).predicted_mean, dtype=float)
    design, obs_int = fr.design[:, :, 0], fr.obs_intercept[:, 0]
    transition, state_int = fr.transition[:, :, 0], fr.state_intercept[:, 0]
    state = np.array(fr.predicted_state[:, -1], dtype=float)
    out = np.empty(h)
    for i in range(h):
        out[i] = (design @ state + obs_int)[0]
        state = transition @ state + state_int
    return out


def _forecast_jacobian(mod: SARIMAX, res: SARIMAXResults, h: int) -> tuple[np.ndarray, list[str]]:
    """d(forecast mean)/d(params) by central differences (one-sided at a parameter bound)."""
    params = np.asarray(res.params, dtype=float)
    jac = np.zeros((h, params.size))
    notes = []

    def mean_at(p):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _forecast_mean(mod, p, h)

    base = _forecast_mean(mod, params, h)
    for i, name in enumerate(res.model.param_names):
        if name == "sigma2":
            continue
        step = 1e-5 * max(1.0, abs(params[i]))
        up, down = params.copy(), params.copy()
        up[i] += step
        down[i] -= step
        try:
            jac[:, i] = (mean_at(up) - mean_at(down)) / (2 * step)
            continue
        except Exception:  # a step outside the stationary region fails to filter; try one side
            pass
        for other, sign in ((up, 1.0), (down, -1.0)):
            try:
                jac[:, i] = sign * (mean_at(other) - base) / step
                break
            except Exception:
                continue
        else:
            notes.append(f"no forecast derivative for parameter {name}; its uncertainty is omitted")
    return jac, notes


def _ets_forecast(z: pd.Series, h: int, ets_options: dict | None, n_sims: int, seed: int,
                  small_sample: bool = True) -> _Forecast:
    """ETS forecast; the joint covariance comes from simulated paths (innovation uncertainty only).

    With `small_sample` (``parameter_uncertainty=True`` of :func:`counterfactual`) the covariance
    is scaled by ``n / (n - k)`` (k estimated parameters, the ML variance being biased down by that
    factor) and the intervals use t(n - k) quantiles, the two corrections that do not need the
    model's forecast derivatives. Unlike SARIMAX, no delta-method term and no simulation-calibrated
    factor is added: ETS intervals still omit parameter uncertainty, and the simulation study of
    ``benchmarks/counterfactual_RESULTS.md`` covers the SARIMAX default only."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    if z.isna().any():
        missing = ", ".join(f"{p:%Y-%m}" for p in z.index[z.isna().to_numpy()])
        raise AnalysisError(f"ETS cannot fit series with missing months ({missing}); use "
                            f"model='sarimax', which skips them in the likelihood")
    options = {**DEFAULT_ETS, **(ets_options or {})}
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        try:
            res = ETSModel(z, **options).fit(disp=False)
        except ValueError as exc:
            raise AnalysisError(f"ETS model {options} cannot be fitted: {exc}") from exc
        mean = np.asarray(res.forecast(h), dtype=float)
        sims = np.asarray(res.simulate(h, anchor="end", repetitions=max(n_sims, 200),
                                       rng=np.random.default_rng(seed)),
                          dtype=float)
    notes = _caught(records)
    cov = np.atleast_2d(np.cov(sims.reshape(h, -1)))
    n_obs, k = int(z.size), len(res.params)
    df = np.inf
    if small_sample:
        dof = n_obs - k
        if dof < 5:
            raise AnalysisError(f"{n_obs} pre-shock months leave {dof} degrees of freedom for the "
                                f"{k} parameters of ETS {options}; lengthen the pre window or "
                                f"simplify the model")
        cov, df = cov * n_obs / dof, float(dof)
        notes.append(f"ETS: the joint forecast covariance is estimated from simulated paths, scaled "
                     f"by n/(n-k) = {n_obs}/{dof}, with t({dof}) quantiles; it omits parameter "
                     f"uncertainty and is not calibrated by simulation (the SARIMAX default is): "
                     f"expect intervals too narrow on short pre windows")
    else:
        notes.append("ETS: the joint forecast covariance is estimated from simulated paths and "
                     "omits parameter uncertainty")
    spec = "ETS(" + ", ".join(f"{k}={v!r}" for k, v in options.items()) + ")"
    resid = pd.Series(np.asarray(res.resid, dtype=float), index=z.index)
    return _Forecast(mean=mean, cov=cov, df=df, spec=spec, n_obs=n_obs,
                     n_params=len(res.params), aic=float(res.aic), notes=tuple(notes), resid=resid)


def _quantile(alpha: float, df: float) -> float:
    return float(stats.norm.ppf(1 - alpha / 2) if np.isinf(df) else stats.t.ppf(1 - alpha / 2, df))


def _root(cov: np.ndarray) -> np.ndarray:
    """A lower-triangular square root of a forecast covariance (Cholesky; eigen fallback).

    The forecast error of month i is a causal combination of the innovations of months 1..i, so
    the Cholesky factor is the natural root: two series whose innovations correlate with rho have
    forecast errors with cross-covariance ``rho L1 L2'`` (exact without parameter uncertainty).
    """
    sym = (cov + cov.T) / 2
    try:
        return np.linalg.cholesky(sym + 1e-12 * np.trace(sym) / max(len(sym), 1) * np.eye(len(sym)))
    except np.linalg.LinAlgError:
        vals, vecs = np.linalg.eigh(sym)
        return vecs * np.sqrt(np.clip(vals, 0.0, None))


def _joint_draws(fc1: _Forecast, fc2: _Forecast, rho: float, n_sims: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(n_sims, h) draws of two forecasts whose innovations correlate with `rho` month by month.

    Standard normals ``z1`` and ``z2 = rho z1 + sqrt(1 - rho^2) e`` are mapped through the
    Cholesky roots of the two forecast covariances; each is then scaled by its own
    ``sqrt(df / chi2_df)`` (t margins, the two variances being estimated separately), so
    ``rho = 0`` gives the independent simulation.
    """
    h = fc1.mean.size
    z1 = rng.standard_normal((n_sims, h))
    z2 = rho * z1 + np.sqrt(max(1.0 - rho ** 2, 0.0)) * rng.standard_normal((n_sims, h))
    out = []
    for fc, z in ((fc1, z1), (fc2, z2)):
        draws = z @ _root(fc.cov).T
        if np.isfinite(fc.df):
            draws *= np.sqrt(fc.df / rng.chisquare(fc.df, size=(n_sims, 1)))
        out.append(fc.mean + draws)
    return out[0], out[1]


def residual_correlation(fc1: _Forecast, fc2: _Forecast) -> tuple[float, int]:
    """Correlation of two fits' one-step residuals over their common observed pre months."""
    if fc1.resid is None or fc2.resid is None:
        return 0.0, 0
    both = pd.concat([fc1.resid, fc2.resid], axis=1).dropna()
    if len(both) < 12 or both.std().min() == 0:
        return 0.0, len(both)
    return float(np.corrcoef(both.iloc[:, 0], both.iloc[:, 1])[0, 1]), len(both)


def _draws(fc: _Forecast, n_sims: int, rng: np.random.Generator) -> np.ndarray:
    """(n_sims, h) draws from the joint forecast distribution (multivariate normal or t)."""
    vals, vecs = np.linalg.eigh((fc.cov + fc.cov.T) / 2)
    root = vecs * np.sqrt(np.clip(vals, 0.0, None))
    draws = rng.standard_normal((n_sims, fc.mean.size)) @ root.T
    if np.isfinite(fc.df):
        draws *= np.sqrt(fc.df / rng.chisquare(fc.df, size=(n_sims, 1)))
    return fc.mean + draws
