"""Structural-break tests: hand computations, brute force, simulations with known breaks, real data."""

from __future__ import annotations

import itertools

import matplotlib
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

import oilflows
from oilflows.analytics.breaks import (
    _asymptotic_supf,
    chow_test,
    cusum_test,
    long_run_variance,
    multiple_breaks,
    partner_series,
    sup_f_test,
)
from oilflows.errors import AnalysisError

matplotlib.use("Agg")
KBBL = 1e3


def monthly(values, start="2020-01", name="y") -> pd.Series:
    index = pd.date_range(start, periods=len(values), freq="MS", name="period")
    return pd.Series(np.asarray(values, dtype=float), index=index, name=name)


def shifted(seed: int, n: int = 48, at: int | None = None, shift: float = 0.0) -> pd.Series:
    """iid N(0, 1) noise plus `shift` from position `at` on."""
    y = np.random.default_rng(seed).standard_normal(n)
    if at is not None:
        y[at:] += shift
    return monthly(y)


# -- Chow ----------------------------------------------------------------------------------------


def test_chow_matches_hand_computation():
    # y1 = 1,2,3,2 (mean 2, RSS 2); y2 = 6,7,8,9 (mean 7.5, RSS 5); pooled mean 4.75, RSS 67.5.
    result = chow_test(monthly([1, 2, 3, 2, 6, 7, 8, 9]), "2020-05")
    assert (result.rss_1, result.rss_2, result.rss_pooled) == pytest.approx((2.0, 5.0, 67.5))
    assert result.f_stat == pytest.approx((67.5 - 7.0) / (7.0 / 6.0))  # 51.857...
    assert result.df == (1, 6)
    assert result.p_value == pytest.approx(stats.f.sf(51.857142857, 1, 6), rel=1e-9)
    assert result.coefficients["const"].tolist() == pytest.approx([2.0, 7.5])
    assert (result.n1, result.n2) == (4, 4)


def test_chow_with_trend_matches_statsmodels_ols():
    y = monthly(np.random.default_rng(3).normal(size=30).cumsum())
    result = chow_test(y, "2021-03", trend=True, cov="iid")  # a random walk: "auto" picks HAC
    t = np.arange(30.0)
    x = sm.add_constant(t)
    b = 14  # 2021-03 is the 15th month
    rss = [sm.OLS(y.to_numpy()[s], x[s]).fit().ssr for s in (slice(None), slice(0, b), slice(b, None))]
    f = ((rss[0] - rss[1] - rss[2]) / 2) / ((rss[1] + rss[2]) / (30 - 4))
    assert (result.rss_pooled, result.rss_1, result.rss_2) == pytest.approx(rss, rel=1e-10)
    assert result.f_stat == pytest.approx(f, rel=1e-10)
    assert result.p_value == pytest.approx(stats.f.sf(f, 2, 26), rel=1e-9)


def test_chow_drops_missing_and_accepts_period_index():
    y = monthly([1, 2, np.nan, 3, 2, 6, 7, 8, 9])
    result = chow_test(y, "2020-06")
    assert result.dropped == 1 and result.n == 8
    assert result.f_stat == pytest.approx((67.5 - 7.0) / (7.0 / 6.0))
    periods = pd.Series([1, 2, 3, 2, 6, 7, 8, 9.0], index=pd.period_range("2020-01", periods=8, freq="M"))
    assert chow_test(periods, "2020-05").f_stat == pytest.approx(result.f_stat)


def test_chow_errors():
    with pytest.raises(AnalysisError, match="each regime needs more than k=1"):
        chow_test(monthly([1, 2, 3, 4]), "2020-02")
    with pytest.raises(AnalysisError, match="pandas Series"):
        chow_test([1, 2, 3], "2020-02")
    with pytest.raises(AnalysisError, match="exog has 3 rows"):
        chow_test(monthly(range(8)), "2020-04", exog=np.ones(3))


# -- sup-F ---------------------------------------------------------------------------------------


def test_asymptotic_critical_values_match_andrews():
    # Andrews (1993) / Stock-Watson table of QLR critical values, 15 % trimming (F form = Wald / k).
    reference = {1: (7.12, 8.68, 12.16), 2: (5.00, 5.86, 7.78)}
    for k, values in reference.items():
        draws = _asymptotic_supf(k, 0.15)
        simulated = np.quantile(draws, [0.90, 0.95, 0.99])
        assert simulated == pytest.approx(values, rel=0.025)


def test_sup_f_equals_largest_chow_f():
    y = shifted(1, at=20, shift=1.5)
    result = sup_f_test(y, pvalue="asymptotic", cov="iid")
    direct = {d: chow_test(y, d, cov="iid").f_stat for d in result.path.index}
    assert result.path.to_dict() == pytest.approx(direct)
    assert result.sup_f == pytest.approx(max(direct.values()))
    # HAC form: one long-run variance (that of the best split) for the whole path, so the path is
    # the iid drop in SSR rescaled, and its maximum is the HAC Chow statistic at that date.
    hac = sup_f_test(y, pvalue="asymptotic", cov="hac")
    assert hac.break_date == result.break_date
    assert hac.sup_f == pytest.approx(chow_test(y, hac.break_date, cov="hac").f_stat, rel=1e-9)
    # drop(b) = RSS_p F(b) / (n - 2 + F(b)) is increasing in F(b): the two paths rank dates alike.
    assert (hac.path.rank() == result.path.rank()).all()
    # 15 % of 48 -> regimes of at least 8 months: candidate dates are positions 8..40.
    assert result.path.index[0] == y.index[8] and result.path.index[-1] == y.index[40]


def test_sup_f_dates_and_detects_a_known_break():
    true_at, hits, rejections, seeds = 24, 0, 0, 100
    for seed in range(seeds):
        result = sup_f_test(shifted(seed, at=true_at, shift=1.5), pvalue="asymptotic", cov="iid")
        position = result.path.index.get_loc(result.break_date) + 8
        hits += abs(position - true_at) <= 2
        rejections += result.p_value < 0.05
    assert hits >= 0.80 * seeds
    assert rejections >= 0.95 * seeds


@pytest.mark.parametrize(("method", "n_boot", "seeds"), [("asymptotic", None, 200), ("bootstrap", 199, 200)])
def test_sup_f_size_without_a_break(method, n_boot, seeds):
    kwargs = {"n_boot": n_boot, "seed": 7} if n_boot else {}
    rejections = sum(sup_f_test(shifted(1000 + s), pvalue=method, **kwargs).p_value < 0.05
                     for s in range(seeds))
    # Binomial(200, 0.05): mean 10, sd 3.1; the asymptotic test is somewhat conservative at n=48.
    assert 1 <= rejections <= 20


def test_sup_f_with_the_lagged_series_as_regressor():
    y = shifted(3, at=30, shift=1.0)
    result = sup_f_test(y, exog=y.shift(1), pvalue="asymptotic")
    assert (result.k, result.n, result.dropped) == (2, 47, 1)
    assert list(result.chow.coefficients.columns) == ["const", "y"]
    direct = [chow_test(y, d, exog=y.shift(1)).f_stat for d in result.path.index]
    assert result.path.to_numpy() == pytest.approx(direct)
    # k=2: the simulated limit distribution's 5 % critical value, Andrews/Stock-Watson 5.86.
    assert result.critical_values[0.05] == pytest.approx(5.86, rel=0.025)


def test_sup_f_bootstrap_is_reproducible_and_summarises():
    y = shifted(5, at=30, shift=2.0)
    a, b = sup_f_test(y, n_boot=199, seed=3), sup_f_test(y, n_boot=199, seed=3)
    assert a.p_value == b.p_value and a.critical_values == b.critical_values
    assert a.critical_values[0.01] > a.critical_values[0.05] > a.critical_values[0.10]
    text = a.summary()
    assert "sup-F" in text and "bootstrap" in text
    assert list(a.to_frame().columns) == ["period", "f_stat"]


def test_sup_f_errors():
    with pytest.raises(AnalysisError, match="pvalue must be"):
        sup_f_test(shifted(0), pvalue="hansen")
    with pytest.raises(AnalysisError, match="trim must be"):
        sup_f_test(shifted(0), trim=0.6)
    with pytest.raises(AnalysisError, match="no candidate break date"):
        sup_f_test(monthly([1, 2, 3]))


# -- CUSUM ---------------------------------------------------------------------------------------


def test_cusum_matches_hand_recursive_residuals():
    y = shifted(11, n=30)
    result = cusum_test(y)
    values = y.to_numpy()
    # Constant-only model: w_t = (y_t - mean(y_1..y_{t-1})) * sqrt((t-1)/t), t = 2..n.
    w = np.array([(values[t] - values[:t].mean()) * np.sqrt(t / (t + 1)) for t in range(1, 30)])
    assert result.cusum.to_numpy() == pytest.approx(np.cumsum(w) / w.std(ddof=1), rel=1e-8)
    # Brown-Durbin-Evans bounds: a sqrt(n-k) at the start, 3 a sqrt(n-k) at the end (a = 0.948).
    assert result.upper.iloc[-1] == pytest.approx(3 * 0.948 * np.sqrt(29))
    assert result.upper.iloc[0] == pytest.approx(0.948 * np.sqrt(29) + 2 * 0.948 / np.sqrt(29))
    assert (result.lower == -result.upper).all()


def test_cusum_crosses_on_a_strong_break_only():
    strong = sum(cusum_test(shifted(s, n=60, at=30, shift=3.0)).crosses for s in range(50))
    stable = sum(cusum_test(shifted(500 + s, n=60)).crosses for s in range(50))
    assert strong >= 48
    assert stable <= 6  # nominal 5 %, conservative in practice
    result = cusum_test(shifted(1, n=60, at=30, shift=3.0))
    assert result.first_crossing > result.cusum.index[29 - 1]  # not before the break
    assert "crosses the 5% bounds" in result.summary()


def test_cusum_errors():
    with pytest.raises(AnalysisError, match="alpha must be one of"):
        cusum_test(shifted(0), alpha=0.2)


# -- Bai-Perron ----------------------------------------------------------------------------------


def test_dynamic_programming_finds_two_known_breaks():
    rng = np.random.default_rng(4)
    y = np.r_[np.zeros(15), np.full(15, 5.0), np.full(15, 2.0)] + 0.1 * rng.standard_normal(45)
    result = multiple_breaks(monthly(y))
    assert result.n_breaks == 2
    assert [result.fitted.index.get_loc(b) for b in result.breaks] == [15, 30]
    assert result.segments["mean"].to_numpy() == pytest.approx([0, 5, 2], abs=0.1)
    assert multiple_breaks(monthly(y), criterion="lwz").n_breaks == 2


@pytest.mark.parametrize("trend", [False, True])
def test_dynamic_programming_matches_brute_force(trend):
    rng = np.random.default_rng(8)
    n, h = 20, 3
    y = rng.standard_normal(n) + np.r_[np.zeros(7), np.ones(13)]
    x = np.c_[np.ones(n), np.arange(n.__float__())] if trend else np.ones((n, 1))
    h = max(h, x.shape[1] + 1)

    def ssr(a, b):
        return sm.OLS(y[a:b], x[a:b]).fit().ssr

    best_one = min((ssr(0, b) + ssr(b, n), b) for b in range(h, n - h + 1))
    best_two = min((ssr(0, b1) + ssr(b1, b2) + ssr(b2, n), (b1, b2))
                   for b1, b2 in itertools.combinations(range(h, n - h + 1), 2) if b2 - b1 >= h)
    result = multiple_breaks(monthly(y), max_breaks=2, trim=h / n, trend=trend)
    assert result.min_size == h
    table = result.selection
    assert table.loc[1, "ssr"] == pytest.approx(best_one[0], rel=1e-9)
    assert table.loc[2, "ssr"] == pytest.approx(best_two[0], rel=1e-9)
    index = monthly(y).index
    assert table.loc[1, "breaks"] == [index[best_one[1]]]
    assert table.loc[2, "breaks"] == [index[b] for b in best_two[1]]


def test_information_criteria_formulas():
    y = shifted(2, n=40, at=20, shift=3.0)
    result = multiple_breaks(y, max_breaks=2)
    n = 40
    for m, row in result.selection.iterrows():
        p = (m + 1) * 1 + m
        assert row["bic"] == pytest.approx(np.log(row["ssr"] / n) + p * np.log(n) / n)
        assert row["lwz"] == pytest.approx(np.log(row["ssr"] / (n - p)) + p * 0.299 / n * np.log(n) ** 2.1)
    assert result.n_breaks == 1 and result.breaks == [y.index[20]]


def test_multiple_breaks_caps_and_errors():
    result = multiple_breaks(shifted(0, n=20), max_breaks=9)
    assert any("max_breaks lowered" in note for note in result.notes)
    with pytest.raises(AnalysisError, match="criterion must be"):
        multiple_breaks(shifted(0), criterion="aic")
    with pytest.raises(AnalysisError, match="max_breaks must be"):
        multiple_breaks(shifted(0), max_breaks=0)


# -- autocorrelation: cov="auto" / "hac" ----------------------------------------------------------


def ar1(seed: int, n: int = 96, rho: float = 0.8, at: int | None = None, shift: float = 0.0) -> pd.Series:
    rng = np.random.default_rng(seed)
    u, e = rng.standard_normal(n), np.zeros(n)
    for t in range(n):
        e[t] = (rho * e[t - 1] if t else 0.0) + u[t]
    if at is not None:
        e[at:] += shift
    return monthly(e)


def test_auto_picks_hac_under_ar1_errors_and_iid_under_white_noise():
    hac = sum(chow_test(ar1(s, at=48, shift=1.0), "2024-01").cov == "hac" for s in range(30))
    iid = sum(chow_test(shifted(s, n=96, at=48, shift=0.5), "2024-01").cov == "iid" for s in range(30))
    assert hac == 30
    assert iid >= 26  # the Ljung-Box test has 5 % size; with a 0.5 sd shift it rarely rejects
    assert sup_f_test(ar1(1, at=48, shift=1.0)).cov == "hac"
    assert sup_f_test(shifted(1, n=96, at=48, shift=0.5), n_boot=99).cov == "iid"


def prewhitened_lrv(resid: np.ndarray) -> tuple[float, float]:
    """The documented long-run variance, written out: AR(1) coefficient with Kendall's bias
    correction, prewhitened residual variance / (1 - rho)^2, never below the residual variance."""
    n = resid.size
    rho = (resid[1:] @ resid[:-1]) / (resid[:-1] @ resid[:-1])
    rho = min(max(rho + (1 + 3 * rho) / n, -0.97), 0.97)
    u = resid[1:] - rho * resid[:-1]
    return max((u @ u) / (n - 1) / (1 - rho) ** 2, resid @ resid / n), rho


def test_long_run_variance_recovers_the_ar1_truth():
    # AR(1) with unit innovations: the long-run variance is 1 / (1 - phi)^2 (4 for phi 0.5, 25 for 0.8).
    for phi, truth in ((0.5, 4.0), (0.8, 25.0), (0.0, 1.0)):
        e = ar1(11, n=40_000, rho=phi).to_numpy()
        lrv, rho = long_run_variance(e - e.mean())
        assert lrv == pytest.approx(truth, rel=0.06) and rho == pytest.approx(phi, abs=0.02)
    # A negative coefficient never shrinks the variance below the residual variance.
    e = ar1(12, n=2_000, rho=-0.6).to_numpy()
    assert long_run_variance(e)[0] == pytest.approx(e @ e / e.size)


def test_hac_chow_by_hand_and_reports_ljung_box():
    from statsmodels.stats.diagnostic import acorr_ljungbox

    y = ar1(3, at=48, shift=1.0)
    result = chow_test(y, "2024-01")
    values = y.to_numpy()
    resid = values - values.mean()
    assert result.cov == "hac"
    assert result.lb_lags == 12
    assert result.lb_pvalue == pytest.approx(acorr_ljungbox(resid, lags=[12])["lb_pvalue"].iloc[0])
    assert result.lag1 == pytest.approx(resid[1:] @ resid[:-1] / (resid @ resid))
    before, after = values[:48], values[48:]
    split = np.r_[before - before.mean(), after - after.mean()]
    lrv, rho = prewhitened_lrv(split)
    wald = (resid @ resid - split @ split) / lrv
    assert result.hac_rho == pytest.approx(rho, rel=1e-12)
    assert result.wald == pytest.approx(wald, rel=1e-9) and result.f_stat == pytest.approx(wald)
    assert result.p_value == pytest.approx(stats.f.sf(wald, 1, 94), rel=1e-9)
    assert "HAC" in result.summary() and "Ljung-Box" in result.summary()
    assert f"rho = {rho:.2f}" in result.summary()
    iid = chow_test(y, "2024-01", cov="iid")
    assert iid.cov == "iid" and iid.wald is None and iid.f_stat != pytest.approx(result.f_stat)
    # sup-Wald: the HAC Chow Wald/k at the best date, Andrews' limit for the p-value.
    sup = sup_f_test(y, n_boot=199)
    assert sup.cov == "hac" and sup.pvalue_method == "asymptotic" and sup.n_boot is None
    assert sup.sup_f == pytest.approx(chow_test(y, sup.break_date).f_stat, rel=1e-9)
    assert sup.critical_values[0.05] == pytest.approx(8.68, rel=0.025)
    with pytest.raises(AnalysisError, match="cov must be one of"):
        chow_test(y, "2024-01", cov="newey")


def test_hac_sup_wald_size_is_far_closer_to_nominal_than_iid():
    # AR(1) errors (phi 0.5), n = 96, no break, 200 seeds: the classical sup-F rejects about 40 %
    # of the time at 5 %; the HAC form about 9 % (benchmarks/breaks_RESULTS.md, 2,000 seeds).
    seeds, hac, iid = 200, 0, 0
    for seed in range(seeds):
        y = ar1(100 + seed, n=96, rho=0.5)
        hac += sup_f_test(y, cov="hac").p_value < 0.05
        iid += sup_f_test(y, cov="iid", pvalue="asymptotic").p_value < 0.05
    assert iid / seeds > 0.25
    assert hac / seeds < 0.15


def test_break_date_interval_by_hand():
    y = shifted(7, n=120, at=60, shift=2.0)
    result = multiple_breaks(y, max_breaks=1, cov="iid")
    assert result.n_breaks == 1
    b = result.fitted.index.get_loc(result.breaks[0])
    values = y.to_numpy()
    before, after = values[:b], values[b:]
    resid = np.r_[before - before.mean(), after - after.mean()]
    sigma2 = resid @ resid / 120
    half = 7.687 * sigma2 / (after.mean() - before.mean()) ** 2
    row = result.intervals.iloc[0]
    assert row["half_width"] == pytest.approx(half, rel=1e-12)
    width = int(np.ceil(half))
    assert (row["lower"], row["upper"]) == (y.index[b - width], y.index[b + width])
    assert result.segments.loc[1, ["lower", "upper"]].tolist() == [row["lower"], row["upper"]]
    assert "95% confidence intervals" in result.summary()
    # 99 %: c = 11.033; HAC: the prewhitened long-run variance of the same residuals.
    assert multiple_breaks(y, max_breaks=1, cov="iid", level=0.99).intervals["half_width"][0] == (
        pytest.approx(half * 11.033 / 7.687))
    lrv, _ = prewhitened_lrv(resid)
    hac = multiple_breaks(y, max_breaks=1, cov="hac").intervals.iloc[0]
    assert hac["sigma2"] == pytest.approx(lrv) and hac["half_width"] == pytest.approx(half * lrv / sigma2)
    with pytest.raises(AnalysisError, match="level must be one of"):
        multiple_breaks(y, level=0.8)


def test_break_date_interval_coverage():
    # 200 seeds, n = 120, a 2 sd shift at position 60: the 95 % interval covers it 93 % of the time
    # (0.95 with a 3 sd shift, 0.89 with 1 sd; the asymptotics are in a shrinking shift).
    seeds, covered = 200, 0
    for seed in range(seeds):
        y = shifted(seed, n=120, at=60, shift=2.0)
        result = multiple_breaks(y, max_breaks=1)
        row = result.intervals.iloc[0]
        covered += result.n_breaks == 1 and row["lower"] <= y.index[60] <= row["upper"]
    assert 0.90 <= covered / seeds <= 0.99


# -- plots ---------------------------------------------------------------------------------------


def test_plots_return_axes_with_data():
    y = shifted(1, at=24, shift=2.0)
    for result in (chow_test(y, "2022-01"), sup_f_test(y, n_boot=99), cusum_test(y), multiple_breaks(y)):
        ax = result.plot()
        assert ax.has_data() and ax.lines
        assert result.summary() and not result.to_frame().empty
        matplotlib.pyplot.close(ax.figure)


# -- the real data: Germany, nrg_ti_coifpm 2020-01..2023-12 ----------------------------------------


@pytest.fixture(scope="module")
def default():
    return oilflows.load_default()


def test_partner_series_against_reference_table(default):
    ru = partner_series(default, "DE", partner="RU", dataset="nrg_ti_coifpm")
    kz = partner_series(default, "DE", partner="KZ", dataset="nrg_ti_coifpm")
    assert ru.index[0] == pd.Timestamp("2020-01-01") and ru.index[-1] == pd.Timestamp("2023-12-01")
    # Methods note table R3 (kbbl): RU 192,822 / 186,493 / 142,082 / 0; KZ disclosed 2020 and 2023.
    yearly = ru.groupby(ru.index.year).sum() / KBBL
    assert yearly.tolist() == pytest.approx([192_822, 186_493, 142_082, 0], abs=0.5)
    assert kz.loc["2020"].sum() / KBBL == pytest.approx(39_383, abs=0.5)
    assert kz.loc["2023"].sum() / KBBL == pytest.approx(49_550, abs=0.5)
    # Jan-Jul 2023: RU_EXP_BLN confidential, other RU grades disclosed 0 -> a lower bound, not NaN.
    assert ru.loc["2023"].notna().all()
    assert len([p for p in ru.attrs["partial_months"] if p.year == 2023]) == 7


def test_russian_decline_is_dated(default):
    ru = partner_series(default, "DE", partner="RU", dataset="nrg_ti_coifpm")
    chow = chow_test(ru, "2023-01")
    # Regime means by hand from table R3: (192,822 + 186,493 + 142,082) / 36 kbbl, then 0.
    assert chow.coefficients["const"].tolist() == pytest.approx([521_397 * KBBL / 36, 0.0])
    sup = sup_f_test(ru)
    assert sup.break_date == pd.Timestamp("2023-01-01") and sup.p_value < 0.01
    bp = multiple_breaks(ru)
    assert bp.breaks == [pd.Timestamp("2022-05-01"), pd.Timestamp("2023-01-01")]
    assert cusum_test(ru).crosses


def test_russian_series_is_autocorrelated_and_tested_with_hac(default):
    from statsmodels.stats.diagnostic import acorr_ljungbox

    ru = partner_series(default, "DE", partner="RU", dataset="nrg_ti_coifpm")
    chow, sup = chow_test(ru, "2023-01"), sup_f_test(ru)
    resid = ru.to_numpy() - ru.mean()
    # Residuals of the no-break model: lag-1 0.92 (0.71 within the pre-2023 regime), Ljung-Box p 3e-40.
    assert chow.lag1 == pytest.approx(0.923, abs=0.001) and sup.lag1 == chow.lag1
    assert chow.lb_pvalue == pytest.approx(acorr_ljungbox(resid, lags=[12])["lb_pvalue"].iloc[0])
    assert chow.lb_pvalue < 1e-4
    assert chow.cov == sup.cov == "hac" and sup.pvalue_method == "asymptotic"
    assert sup.break_date == pd.Timestamp("2023-01-01") and sup.p_value < 0.01
    assert chow_test(ru, "2023-01", cov="iid").cov == "iid"
    bp = multiple_breaks(ru)
    # Residuals of the 2-break partition: lag-1 0.39, Ljung-Box p 0.007 -> long-run variance.
    assert bp.cov == "hac" and bp.lag1 == pytest.approx(0.387, abs=0.001)
    assert bp.intervals["lower"].tolist() == [pd.Timestamp("2022-03-01"), pd.Timestamp("2022-12-01")]
    assert bp.intervals["upper"].tolist() == [pd.Timestamp("2022-07-01"), pd.Timestamp("2023-02-01")]


def test_kazakh_series_shows_no_clear_break(default):
    kz = partner_series(default, "DE", partner="KZ", dataset="nrg_ti_coifpm")
    sup = sup_f_test(kz)
    assert sup.break_date == pd.Timestamp("2021-11-01")
    assert 0.05 < sup.p_value < 0.15  # bootstrap p about 0.08: suggestive, not significant
    assert multiple_breaks(kz).n_breaks == 0
    assert not cusum_test(kz).crosses
