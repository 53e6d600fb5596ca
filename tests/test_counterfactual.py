"""Counterfactual forecasts: identities on the real data, hand checks, and simulations with known truth."""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import signal, special
from statsmodels.tsa.statespace.sarimax import SARIMAX

import oilflows
from oilflows.analytics.counterfactual import (
    CALIBRATION,
    _Forecast,
    _joint_draws,
    _sarimax_joint_cov,
    counterfactual,
    partner_series,
)
from oilflows.errors import AnalysisError
from oilflows.schema import COLUMNS, conform

matplotlib.use("Agg")
KBBL = 1e3


# -- synthetic canonical frames ------------------------------------------------------------------


def make_frame(series: dict[str, np.ndarray], start: str = "2020-01", extra_rows=()) -> pd.DataFrame:
    """A canonical frame for reporter XX: one grade per partner (NaN -> a confidential cell) and a
    WORLD total equal to the sum of all cells (confidential ones included, as in the sources)."""
    n = len(next(iter(series.values())))
    periods = pd.date_range(start, periods=n, freq="MS")
    world = np.zeros(n)
    parts = []
    for partner, values in series.items():
        values = np.asarray(values, dtype=float)
        world += np.nan_to_num(values, nan=1.0)
        parts.append(pd.DataFrame({"period": periods, "partner": partner, "grade": f"{partner}_A",
                                   "volume_bbl": values}))
    parts.append(pd.DataFrame({"period": periods, "partner": "WORLD", "grade": None, "volume_bbl": world}))
    for period, partner, grade, value in extra_rows:
        parts.append(pd.DataFrame({"period": [pd.Timestamp(period)], "partner": [partner],
                                   "grade": [grade], "volume_bbl": [value]}))
    frame = pd.concat(parts, ignore_index=True)
    frame["flag"] = np.where(frame["volume_bbl"].isna(), "c", None)
    frame = frame.assign(source="sim", dataset="sim", vintage=pd.NaT, freq="M", reporter="XX",
                         flow="import", product="crude_oil")
    for column in COLUMNS:
        if column not in frame:
            frame[column] = None
    return conform(frame[list(COLUMNS)])


def sarima_path(seed: int, n: int, phi: float = 0.5, seasonal_phi: float = 0.3, mean: float = 10.0,
                burn: int = 240) -> np.ndarray:
    """A stationary (1,0,0)x(1,0,0,12) path with unit innovations around `mean`."""
    ar = np.convolve([1.0, -phi], np.r_[1.0, np.zeros(11), -seasonal_phi])
    e = np.random.default_rng(seed).standard_normal(n + burn)
    return mean + signal.lfilter([1.0], ar, e)[burn:]


# anticipation_end=None: the synthetic pre windows end 2022-12; the sensitivity re-fit is tested
# on the real data below and would only double the time of the simulations.
SIM = {"reporter": "XX", "partner": "KZ", "shock": "2023-01", "post": ("2023-01", "2023-12"),
       "anticipation_end": None}


# -- simulation with known truth -----------------------------------------------------------------


def test_simulation_cumulative_excess_unbiased_and_covered():
    """Level shift of +3 (3 innovation sd) in each of 12 post months: true cumulative effect 36.

    Issue 11: the calibration 1 + CALIBRATION / (n - k) of the forecast covariance moves the
    coverage of the nominal 95 % interval into 93-97 %. Seeds 1000-1199 (fresh: the benchmark's
    calibration used its own generator); with 200 seeds the Monte Carlo s.e. is 1.5 points, so
    another seed range can land a point or two outside the band (seeds 0-199: 98 %); the
    benchmark (500 seeds per design) is the reference.
    """
    seeds, shift, truth = range(1000, 1200), 3.0, 36.0
    errors, covered, covered_delta, covered_plain = [], 0, 0, 0
    for seed in seeds:
        y = sarima_path(seed, 48)
        y[36:] += shift
        frame = make_frame({"KZ": y, "NO": np.full(48, 50.0)})
        result = counterfactual(frame, **SIM, displaced=None)
        lo, hi = result.cumulative_interval
        errors.append(result.cumulative_excess - truth)
        covered += lo <= truth <= hi
        # The delta-method interval before the calibration: the same interval, narrowed.
        factor = np.sqrt(1 + CALIBRATION / (result.pre_months_used - 3))
        covered_delta += abs(result.cumulative_excess - truth) <= (hi - lo) / 2 / factor
        if seed < 1040:
            plain = counterfactual(frame, **SIM, displaced=None, parameter_uncertainty=False)
            covered_plain += plain.cumulative_interval[0] <= truth <= plain.cumulative_interval[1]
    n = len(seeds)
    errors = np.asarray(errors)
    # Unbiased: the mean error is within 3 Monte Carlo standard errors of 0 (sd about 7.4).
    assert abs(errors.mean()) < 3 * errors.std(ddof=1) / np.sqrt(n)
    # Delta method alone: about 92 % (here 92.0 %); calibrated: 95.5 %; plain: about 85 %.
    assert covered_delta / n < 0.93
    assert 0.93 <= covered / n <= 0.97
    assert covered_plain / 40 <= covered / n


def test_simulation_coverage_of_displaced_shortfall():
    """KZ gains 3 per month, RU loses 6 per month: the true coverage is 50 %."""
    seeds, hits, estimates = 30, 0, []
    for seed in range(seeds):
        kz = sarima_path(seed, 48)
        ru = sarima_path(10_000 + seed, 48, mean=30.0)
        kz[36:] += 3.0
        ru[36:] -= 6.0
        result = counterfactual(make_frame({"KZ": kz, "RU": ru}), **SIM, displaced="RU", n_sims=1000)
        lo, hi = result.coverage_interval
        hits += lo <= 0.5 <= hi
        estimates.append(result.coverage)
    assert abs(np.median(estimates) - 0.5) < 0.1
    assert hits >= 0.8 * seeds


# -- identities and hand checks ------------------------------------------------------------------


def test_joint_covariance_diagonal_and_simulated_sums():
    y = pd.Series(sarima_path(3, 36), index=pd.date_range("2020-01", periods=36, freq="MS"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = SARIMAX(y, order=(1, 0, 0), seasonal_order=(1, 0, 0, 12), trend="c").fit(disp=False)
    cov = _sarimax_joint_cov(res, 12)
    assert np.diag(cov) == pytest.approx(res.get_forecast(12).var_pred_mean.to_numpy(), rel=1e-8)
    # The variance of the 12-month sum against statsmodels' own simulation from the end state.
    sims = np.asarray(res.simulate(12, anchor="end", repetitions=20_000, rng=np.random.default_rng(1)))
    sums = sims.reshape(12, -1).sum(axis=0)
    assert sums.var(ddof=1) == pytest.approx(cov.sum(), rel=0.04)
    assert sums.mean() == pytest.approx(res.get_forecast(12).predicted_mean.sum(), abs=0.1)


def test_plain_intervals_equal_statsmodels_forecast():
    y = sarima_path(5, 48)
    frame = make_frame({"KZ": y, "NO": np.full(48, 50.0)})
    result = counterfactual(frame, **SIM, displaced=None, parameter_uncertainty=False, alpha=0.1)
    pre = pd.Series(y[:36], index=pd.date_range("2020-01", periods=36, freq="MS"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = SARIMAX(pre, order=(1, 0, 0), seasonal_order=(1, 0, 0, 12), trend="c").fit(disp=False)
    frame_sm = res.get_forecast(12).summary_frame(alpha=0.1)
    table = result.to_frame()
    # Same model on unstandardised data: equal up to the optimiser's tolerance.
    assert table["counterfactual"].to_numpy() == pytest.approx(frame_sm["mean"].to_numpy(), abs=2e-3)
    assert table["lower"].to_numpy() == pytest.approx(frame_sm["mean_ci_lower"].to_numpy(), abs=5e-3)
    assert table["upper"].to_numpy() == pytest.approx(frame_sm["mean_ci_upper"].to_numpy(), abs=5e-3)


def test_parameter_uncertainty_widens_intervals():
    frame = make_frame({"KZ": sarima_path(9, 48), "NO": np.full(48, 50.0)})
    plain = counterfactual(frame, **SIM, displaced=None, parameter_uncertainty=False)
    full = counterfactual(frame, **SIM, displaced=None)
    assert (full.table["upper"] - full.table["lower"] > plain.table["upper"] - plain.table["lower"]).all()
    assert full.table["counterfactual"].to_numpy() == pytest.approx(plain.table["counterfactual"].to_numpy())


@pytest.fixture(scope="module")
def default():
    return oilflows.load_default()


@pytest.fixture(scope="module")
def de_kz(default):
    return counterfactual(default, "DE", partner="KZ",
                          displaced="RU")  # DE, KZ, shock 2023-01, pre 2020-01..2022-12, post 2023


def test_real_data_actuals_are_disclosed_kazakh_volumes(de_kz, default):
    table = de_kz.to_frame()
    assert de_kz.pre == (pd.Timestamp("2020-01-01"), pd.Timestamp("2022-12-01"))
    assert de_kz.pre_months_used == 36 and de_kz.post_months_used == 12
    assert (de_kz.source, de_kz.dataset) == ("eurostat", "nrg_ti_coifpm")
    assert list(table["window"].unique()) == ["post"]
    # Methods note R3: disclosed KZ 2023 = 49,550 kbbl; by month: the sum of the disclosed grades.
    assert table["actual"].sum() / KBBL == pytest.approx(49_550, abs=0.5)
    rows = default[(default["dataset"] == "nrg_ti_coifpm") & (default["reporter"] == "DE")
                   & (default["partner"] == "KZ") & (default["period"].dt.year == 2023)]
    by_month = rows.groupby("period")["volume_bbl"].sum()
    assert table.set_index("period")["actual"].to_dict() == pytest.approx(by_month.to_dict())


def test_real_data_excess_identities(de_kz):
    t = de_kz.to_frame()
    assert t["excess"].to_numpy() == pytest.approx((t["actual"] - t["counterfactual"]).to_numpy())
    assert t["excess_lower"].to_numpy() == pytest.approx((t["actual"] - t["upper"]).to_numpy())
    assert t["cumulative_excess"].to_numpy() == pytest.approx(t["excess"].cumsum().to_numpy())
    assert de_kz.cumulative_excess == pytest.approx(t["excess"].sum())
    assert de_kz.mean_excess == pytest.approx(t["excess"].mean())
    assert (t["lower"] < t["counterfactual"]).all() and (t["counterfactual"] < t["upper"]).all()
    lo, hi = de_kz.cumulative_interval
    assert lo < de_kz.cumulative_excess < hi
    # Symmetric t interval; its width grows with the months cumulated.
    assert (hi - de_kz.cumulative_excess) == pytest.approx(de_kz.cumulative_excess - lo)
    assert np.all(np.diff(t["cumulative_upper"] - t["cumulative_lower"]) > 0)


def test_real_data_coverage_definition(de_kz):
    d = de_kz.displaced_table
    assert de_kz.displaced == "RU"
    assert (d["actual"] == 0).all()  # no disclosed Russian crude in 2023
    assert de_kz.shortfall == pytest.approx(d["shortfall"].sum())
    assert de_kz.shortfall == pytest.approx(d["counterfactual"].sum())
    assert de_kz.coverage == pytest.approx(de_kz.cumulative_excess / de_kz.shortfall)
    lo, hi = de_kz.coverage_interval
    assert lo < de_kz.coverage < hi
    # Kazakh disclosed volume barely moved against its counterfactual: a few % of the RU shortfall.
    assert -0.15 < de_kz.coverage < 0.15
    assert 0 < de_kz.shortfall_interval[0] < de_kz.shortfall < de_kz.shortfall_interval[1]


def test_real_data_mean_baseline(default, de_kz):
    result = counterfactual(default, "DE", displaced_baseline="mean", partner="KZ", displaced="RU")
    ru = partner_series(default, "DE", partner="RU", dataset="nrg_ti_coifpm", start="2020-01",
                        end="2022-12")
    # Shortfall vs the pre-window mean: 12 x (521,397 / 36) kbbl minus 2023 actuals (0).
    assert result.shortfall / KBBL == pytest.approx(12 * 521_397 / 36, abs=1)
    assert result.shortfall == pytest.approx(12 * ru.mean())
    assert result.coverage == pytest.approx(de_kz.cumulative_excess / result.shortfall)


def test_real_data_summary_shows_undisclosed_and_caveats(de_kz):
    text = de_kz.summary()
    assert "undisclosed share of WORLD: pre 34.6%, post 36.3%" in text
    assert "KZ_MSC" in text and "lower bound" in text
    assert "coverage (KZ cumulative excess / RU cumulative shortfall)" in text
    assert "2022" in text  # the anticipation caveat


def test_real_data_share_target(default):
    result = counterfactual(default, "DE", target="share", partner="KZ", displaced="RU")
    t = result.to_frame()
    assert ((t["lower"] > 0) & (t["upper"] < 1)).all()
    assert (t["lower"] < t["counterfactual"]).all() and (t["counterfactual"] < t["upper"]).all()
    kz = partner_series(default, "DE", partner="KZ", target="share", dataset="nrg_ti_coifpm")
    assert t["actual"].to_numpy() == pytest.approx(kz.loc["2023"].to_numpy())
    assert result.cumulative_interval[0] < result.cumulative_excess < result.cumulative_interval[1]
    assert result.displaced_table["actual"].eq(0).all()


def test_real_data_pre_window_ending_early_makes_a_gap(default):
    result = counterfactual(default, "DE", pre=("2020-01", "2021-12"), partner="KZ", displaced="RU")
    t = result.to_frame()
    assert (t["window"] == "gap").sum() == 12 and (t["window"] == "post").sum() == 12
    assert t.loc[t["window"] == "gap", "cumulative_excess"].isna().all()
    assert result.cumulative_excess == pytest.approx(t.loc[t["window"] == "post", "excess"].sum())


def test_real_data_ets(default):
    result = counterfactual(default, "DE", model="ets", displaced=None, partner="KZ")
    t = result.to_frame()
    assert t["excess"].to_numpy() == pytest.approx((t["actual"] - t["counterfactual"]).to_numpy())
    assert "ETS" in result.spec and result.cumulative_interval[0] < result.cumulative_interval[1]


# -- missing months and zeros --------------------------------------------------------------------


def test_confidential_months_are_missing_not_zero():
    kz = sarima_path(2, 48)
    kz[[5, 17, 40]] = np.nan  # all of KZ's cells confidential in those months
    extra = [("2020-03-01", "KZ", "KZ_B", np.nan)]  # a second, confidential KZ grade in March 2020
    frame = make_frame({"KZ": kz, "NO": np.full(48, 50.0)}, extra_rows=extra)
    series = partner_series(frame, "XX", partner="KZ")
    assert series.isna().sum() == 3
    assert series.iloc[2] == pytest.approx(kz[2])  # March 2020: disclosed part, a lower bound
    assert series.attrs["partial_months"] == [pd.Timestamp("2020-03-01")]
    result = counterfactual(frame, **SIM, displaced=None)
    assert result.pre_months_used == 34 and result.post_months_used == 11
    t = result.to_frame().set_index("period")
    assert np.isnan(t.loc["2023-05-01", "actual"]) and np.isnan(t.loc["2023-05-01", "excess"])
    assert result.cumulative_excess == pytest.approx(t["excess"].sum())  # NaN month skipped
    assert any("skipped as missing, not set to 0" in c for c in result.caveats)
    assert any("lower bound" in c for c in result.caveats)


def test_absent_partner_in_a_disclosed_month_is_zero():
    kz = sarima_path(4, 48)
    frame = make_frame({"KZ": kz, "NO": np.full(48, 50.0)})
    frame = frame[~((frame["partner"] == "KZ") & (frame["period"] == pd.Timestamp("2021-06-01")))]
    series = partner_series(frame, "XX", partner="KZ")
    assert series.loc["2021-06-01"] == 0.0


def test_share_with_zeros_in_the_pre_window_is_clipped():
    ru = sarima_path(6, 48, mean=30.0)
    ru[10:12] = 0.0
    frame = make_frame({"KZ": sarima_path(7, 48), "RU": ru, "NO": np.full(48, 50.0)})
    result = counterfactual(frame, reporter="XX", partner="RU", shock="2023-01",
                            post=("2023-01", "2023-12"), target="share", displaced=None)
    assert any("clipped to 0.0001" in c for c in result.caveats)
    t = result.to_frame()
    assert ((t["lower"] > 0) & (t["upper"] < 1)).all()
    assert t["upper"].to_numpy() == pytest.approx(special.expit(special.logit(t["upper"])).to_numpy())


def test_persistent_pre_window_is_flagged():
    # AR(1) phi 0.95 (lag-1 autocorrelation of the 36 pre months well above 0.8) gets the caveat
    # that the simulation study found such intervals too narrow; white noise does not.
    e = np.random.default_rng(9).standard_normal(300)
    persistent = 100 + signal.lfilter([1.0], [1.0, -0.95], e)[-48:]
    noise = 100 + np.random.default_rng(6).standard_normal(48)
    dev = persistent[:36] - persistent[:36].mean()
    lag1 = dev[1:] @ dev[:-1] / (dev @ dev)  # 0.94 for this path
    flagged = []
    for series in (persistent, noise):
        frame = make_frame({"KZ": series, "NO": np.full(48, 50.0)})
        result = counterfactual(frame, **SIM, displaced=None)
        flagged.append([c for c in result.caveats if "strongly persistent" in c])
    assert len(flagged[0]) == 1 and f"autocorrelation {lag1:.2f}" in flagged[0][0]
    assert flagged[1] == []


def test_ets_small_sample_correction_by_hand():
    # Same seed, same simulated paths: the corrected cumulative half-width is the plain one times
    # sqrt(n / (n - k)) t_{0.975}(n - k) / z_{0.975}; the note says the intervals are not calibrated.
    from scipy import stats

    frame = make_frame({"KZ": sarima_path(21, 60), "NO": np.full(60, 50.0)})
    plain = counterfactual(frame, **SIM, model="ets", displaced=None, parameter_uncertainty=False)
    fixed = counterfactual(frame, **SIM, model="ets", displaced=None)
    assert fixed.cumulative_excess == pytest.approx(plain.cumulative_excess)
    note = next(c for c in fixed.caveats if c.startswith("ETS: the joint forecast covariance"))
    n, dof = (int(v) for v in note.split("n/(n-k) = ")[1].split(",")[0].split("/"))
    assert n == 36 and 5 <= dof < n  # the default pre window: the 36 months before the shock
    half = np.diff(plain.cumulative_interval)[0] / 2
    expected = half * np.sqrt(n / dof) * stats.t.ppf(0.975, dof) / stats.norm.ppf(0.975)
    assert np.diff(fixed.cumulative_interval)[0] / 2 == pytest.approx(expected, rel=1e-6)
    assert "not calibrated by simulation" in note


def test_ets_refuses_missing_months():
    kz = sarima_path(2, 48)
    kz[7] = np.nan
    frame = make_frame({"KZ": kz, "NO": np.full(48, 50.0)})
    with pytest.raises(AnalysisError, match="ETS cannot fit series with missing months"):
        counterfactual(frame, **SIM, model="ets", displaced=None)


# -- errors and plot -----------------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"pre": ("2020-01", "2023-02")}, "must end before the shock"),
    ({"post": ("2022-06", "2023-12")}, "starts before the shock"),
    ({"pre": ("2021-06", "2022-12")}, "the model needs at least 24"),
    ({"partner": "ZZ"}, "no rows for partner 'ZZ'"),
    ({"target": "level"}, "target must be one of"),
    ({"model": "arima"}, "model must be one of"),
    ({"alpha": 1.5}, "alpha must be in"),
    ({"shock": "soon"}, "is not a month"),
])
def test_errors_name_the_problem(kwargs, message):
    frame = make_frame({"KZ": sarima_path(1, 48), "RU": sarima_path(2, 48, mean=30.0)})
    with pytest.raises(AnalysisError, match=message):
        counterfactual(frame, **{**SIM, **kwargs})


def test_no_post_data_is_an_error():
    frame = make_frame({"KZ": sarima_path(1, 36), "RU": sarima_path(2, 36, mean=30.0)})
    with pytest.raises(AnalysisError, match="no data with a WORLD total"):
        counterfactual(frame, **SIM)


def test_plot_returns_axes_with_data(de_kz):
    ax = de_kz.plot()
    assert ax.has_data() and len(ax.lines) >= 2 and ax.collections
    matplotlib.pyplot.close(ax.figure)


# -- issue 11: calibrated intervals, joint coverage simulation, anticipation sensitivity --------


def _gaussian_forecast(mean, cov) -> _Forecast:
    mean = np.atleast_1d(np.asarray(mean, dtype=float))
    return _Forecast(mean=mean, cov=np.atleast_2d(np.asarray(cov, dtype=float)), df=np.inf,
                     spec="test", n_obs=36, n_params=1, aic=0.0, notes=())


def test_joint_draws_match_closed_form_gaussian_ratio():
    """One month, Gaussian forecasts with correlated errors: gain G = a1 - f1, loss L = f2 - a2.

    Cov(G, L) = -rho s1 s2, so P(G / L <= r) = P(G - r L <= 0) (L > 0 almost surely here)
    = Phi((r l - g) / sqrt(s1^2 + r^2 s2^2 + 2 r rho s1 s2)); solving for r gives the exact
    quantiles (Fieller), which the simulated ratio interval must reproduce.
    """
    from scipy import optimize, stats

    s1, s2, g, l_mean, rho = 2.0, 3.0, 5.0, 20.0, 0.7
    a1, a2 = 10.0 + g, 30.0 - l_mean  # f1 ~ N(10, s1^2), f2 ~ N(30, s2^2)
    f1, f2 = _gaussian_forecast(10.0, s1 ** 2), _gaussian_forecast(30.0, s2 ** 2)

    def ratio_quantiles(r_corr):
        d1, d2 = _joint_draws(f1, f2, r_corr, 400_000, np.random.default_rng(0))
        gains, losses = a1 - d1[:, 0], d2[:, 0] - a2
        return np.quantile(gains / losses, [0.025, 0.975]), np.corrcoef(gains, losses)[0, 1]

    def exact(r_corr, p):
        cdf = lambda r: stats.norm.cdf((r * l_mean - g)  # noqa: E731
                                       / np.sqrt(s1 ** 2 + r ** 2 * s2 ** 2 + 2 * r * r_corr * s1 * s2))
        return optimize.brentq(lambda r: cdf(r) - p, -2, 2)

    (lo, hi), corr = ratio_quantiles(rho)
    assert corr == pytest.approx(-rho, abs=0.01)
    assert lo == pytest.approx(exact(rho, 0.025), abs=0.003)
    assert hi == pytest.approx(exact(rho, 0.975), abs=0.003)
    (lo0, hi0), corr0 = ratio_quantiles(0.0)
    assert corr0 == pytest.approx(0.0, abs=0.01)
    assert lo0 == pytest.approx(exact(0.0, 0.025), abs=0.003)
    # Positively correlated forecast errors make gain and loss move in opposite directions: the
    # ratio interval is wider than the independent one.
    assert hi - lo > (hi0 - lo0) * 1.1


def test_joint_draws_cross_covariance_of_monthly_paths():
    """Several months: the cross-covariance of the two forecast paths is rho L1 L2'."""
    h = 4
    c1 = 0.5 ** np.abs(np.subtract.outer(np.arange(h), np.arange(h))) * 2.0
    c2 = np.eye(h) + 0.5
    rho = -0.4
    d1, d2 = _joint_draws(_gaussian_forecast(np.zeros(h), c1), _gaussian_forecast(np.ones(h), c2),
                          rho, 300_000, np.random.default_rng(1))
    cross = (d1 - d1.mean(0)).T @ (d2 - d2.mean(0)) / len(d1)
    expected = rho * np.linalg.cholesky(c1) @ np.linalg.cholesky(c2).T
    assert cross == pytest.approx(expected, abs=0.02)
    assert np.cov(d1.T) == pytest.approx(c1, abs=0.03)
    assert d1.sum(1).var() == pytest.approx(c1.sum(), rel=0.02)


def test_coverage_interval_uses_the_residual_correlation():
    """KZ and RU with innovations correlated 0.8: the estimated residual correlation recovers it,
    and the joint coverage interval is wider than the independent one (same point estimate)."""
    n, rho = 48, 0.8
    rng = np.random.default_rng(7)
    e1 = rng.standard_normal(n + 240)
    e2 = rho * e1 + np.sqrt(1 - rho ** 2) * rng.standard_normal(n + 240)
    ar = np.convolve([1.0, -0.5], np.r_[1.0, np.zeros(11), -0.3])
    kz = 10.0 + signal.lfilter([1.0], ar, e1)[240:]
    ru = 30.0 + signal.lfilter([1.0], ar, e2)[240:]
    kz[36:] += 3.0
    ru[36:] -= 6.0
    frame = make_frame({"KZ": kz, "RU": ru})
    joint = counterfactual(frame, **SIM, displaced="RU")
    indep = counterfactual(frame, **SIM, displaced="RU", joint_coverage=False)
    assert joint.residual_correlation == pytest.approx(rho, abs=0.15)
    assert indep.residual_correlation == 0.0
    assert joint.coverage == pytest.approx(indep.coverage)
    width = lambda r: r.coverage_interval[1] - r.coverage_interval[0]  # noqa: E731
    assert width(joint) > 1.2 * width(indep)
    assert "jointly" in joint.summary() and "independent" in indep.summary()


def test_real_data_anticipation_sensitivity(default, de_kz):
    """The issue's DE figures: coverage 1.0 % with pre ending 2022-12, 3.2 % with 2021-12."""
    early = de_kz.anticipation
    assert de_kz.pre[1] == pd.Timestamp("2022-12-01")
    assert early is not None and early.pre == (pd.Timestamp("2020-01-01"), pd.Timestamp("2021-12-01"))
    assert round(de_kz.coverage * 100, 1) == 1.0
    assert round(early.coverage * 100, 1) == 3.2
    direct = counterfactual(default, "DE", pre=("2020-01", "2021-12"), anticipation_end=None, partner="KZ",
                            displaced="RU")
    assert early.coverage == pytest.approx(direct.coverage)
    assert early.coverage_interval == pytest.approx(direct.coverage_interval)
    assert early.cumulative_excess == pytest.approx(direct.cumulative_excess)
    text = de_kz.summary()
    assert "Anticipation sensitivity" in text
    assert "2020-01..2022-12" in text and "2020-01..2021-12" in text
    assert "1.0% [" in text and "3.2% [" in text
    # A pre window that already ends at (or before) 2021-12 has no second fit.
    assert direct.anticipation is None and "Anticipation" not in direct.summary()
