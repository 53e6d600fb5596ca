"""Feenstra (1994) elasticity: the published German figure, identities, a simulation with known sigma,
the Broda-Weinstein grid, warnings and error paths."""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

import oilflows
from oilflows.analytics.elasticity import (
    GRID_RHO,
    GRID_SIGMA,
    FeenstraResult,
    FeenstraWarning,
    _gradient,
    _rho_sigma,
    feenstra,
    feenstra_table,
    oil_type,
    simulate_feenstra,
)
from oilflows.errors import AnalysisError

matplotlib.use("Agg")

REGIONS = ["AFRICA", "ASIA", "EUROPE", "LATAM", "MIDEAST", "FSU", "UNKNOWN"]


@pytest.fixture(scope="module")
def coir_de():
    return oilflows.load_default(dataset="coir", reporter="DE")


@pytest.fixture(scope="module")
def published(coir_de):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FeenstraWarning)
        return feenstra(coir_de, "DE", variety="partner", freq="A", reference="DZ")


def quiet(*args, **kwargs) -> FeenstraResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FeenstraWarning)
        return feenstra(*args, **kwargs)


def pair_count(frame: pd.DataFrame, drop=()) -> tuple[int, int]:
    """Independent count: (partner, year) pairs present in year and year - 1, and partners with one."""
    rows = frame[(frame["partner"] != "WORLD") & ~frame["partner"].isin(drop)]
    years = rows.assign(year=rows["period"].dt.year).groupby("partner")["year"].unique()
    pairs = {p: sum(1 for y in set(ys) if y - 1 in set(ys)) for p, ys in years.items()}
    return sum(pairs.values()), sum(1 for n in pairs.values() if n)


# -- the published value (Güntner, Irlacher & Öhlinger 2024; methods note R5) --------------------


def test_reproduces_published_sigma_for_germany_across_origins(published):
    assert published.sigma == pytest.approx(18.799499, abs=0.01)
    assert published.sigma == pytest.approx(18.799499, abs=1e-5)  # the authors' files, to 6 decimals
    assert published.n_obs == 132
    assert published.n_varieties == 27
    assert published.reference == "DZ"
    assert not published.used_grid


def test_published_rho_is_negative_and_warned(coir_de):
    with pytest.warns(FeenstraWarning, match=r"rho = -0\.11\d* is outside \[0, 1\)"):
        result = feenstra(coir_de, "DE", reference="DZ")
    assert result.rho < 0 and not result.admissible
    assert "OUTSIDE [0, 1)" in result.summary()


def test_the_warning_points_at_the_callers_line(coir_de):
    """Through the call-forms wrapper too: the warning names this file, not oilflows' internals."""
    with pytest.warns(FeenstraWarning) as caught:
        feenstra(coir_de, "DE", reference="DZ")
    assert {Path(w.filename).name for w in caught} == {Path(__file__).name}


def test_standard_error_close_to_published(published):
    # Published SE 7.34; the method behind it is not documented. HC2 on the weighted IV regression
    # gives 7.42 (+1.0 %); the textbook 2SLS covariance would give 3.62.
    assert published.cov_type == "HC2"
    assert published.se_sigma == pytest.approx(7.34, rel=0.02)


def test_sample_counts_match_an_independent_count(coir_de, published):
    n, varieties = pair_count(coir_de)
    assert (n, varieties) == (published.n_obs, published.n_varieties) == (132, 27)
    no_regions = quiet(coir_de, "DE", reference="DZ", exclude=REGIONS)
    assert (no_regions.n_obs, no_regions.n_varieties) == pair_count(coir_de, REGIONS) == (113, 23)
    assert no_regions.sigma != pytest.approx(published.sigma, rel=0.1)


def test_default_reference_is_most_observed_then_alphabetical(coir_de):
    result = quiet(coir_de, "DE")
    # 20 origins have 6 annual changes; among their codes AFRICA comes first (the authors' names put
    # "Algeria" first, hence their reference).
    assert result.reference == "AFRICA"
    counts = result.varieties["n_obs"]
    assert counts["AFRICA"] == counts.max() == 6


# -- identities ------------------------------------------------------------------------------------


def test_invariant_to_currency_and_volume_units(coir_de, published):
    scaled = coir_de.copy()
    scaled["value"] = scaled["value"] * 0.9  # another currency
    scaled["volume_bbl"] = scaled["volume_bbl"] * 0.158987  # cubic metres
    again = quiet(scaled, "DE", reference="DZ")
    assert again.sigma == pytest.approx(published.sigma, rel=1e-9)


def test_common_expenditure_shock_cancels():
    table = simulate_feenstra(5.0, 0.3, 12, 20, seed=3)
    shocked = table.copy()
    factor = np.exp(np.sin(shocked["t"]))  # period-specific factor on every variety's value
    shocked["value"] *= factor
    shocked["quantity"] *= factor  # prices unchanged, all shares unchanged
    a, b = feenstra_table(table), feenstra_table(shocked)
    assert b.sigma == pytest.approx(a.sigma, rel=1e-9)


def test_one_observation_by_hand(coir_de, published):
    rows = coir_de[coir_de["partner"].isin(["NO", "DZ"])]
    annual = rows.groupby([rows["partner"], rows["period"].dt.year])[["value", "volume_bbl"]].sum()
    uv = annual["value"] / annual["volume_bbl"]
    dp = np.log(uv["NO", 2016] / uv["NO", 2015]) - np.log(uv["DZ", 2016] / uv["DZ", 2015])
    # shares: the common denominator cancels against the reference
    ds = (np.log(annual.loc[("NO", 2016), "value"] / annual.loc[("NO", 2015), "value"])
          - np.log(annual.loc[("DZ", 2016), "value"] / annual.loc[("DZ", 2015), "value"]))
    obs = published.observations.set_index(["variety", "t"]).loc[("NO", 2016)]
    assert obs["y"] == pytest.approx(dp**2, rel=1e-10)
    assert obs["x1"] == pytest.approx(ds**2, rel=1e-10)
    assert obs["x2"] == pytest.approx(ds * dp, rel=1e-10)


def test_reference_rows_are_zero_and_in_sample(published):
    obs = published.observations
    ref = obs[obs["variety"] == "DZ"]
    assert len(ref) == 6
    assert np.allclose(ref[["y", "x1", "x2"]].to_numpy(), 0)


def test_against_statsmodels_two_stage_least_squares(published):
    """theta equals 2SLS with variety dummies as instruments on the 1/s-weighted equation."""
    from statsmodels.sandbox.regression.gmm import IV2SLS

    obs = published.observations
    s = obs["variety"].map(published.varieties["s_hat"]).to_numpy()
    exog = np.column_stack([obs["x1"], obs["x2"], np.ones(len(obs))]) / s[:, None]
    dummies = pd.get_dummies(obs["variety"]).to_numpy(float) / s[:, None]
    fit = IV2SLS(obs["y"].to_numpy() / s, exog, dummies).fit()
    assert fit.params == pytest.approx([published.theta1, published.theta2, published.constant],
                                       rel=1e-8)
    classic = quiet(oilflows.load_default(dataset="coir", reporter="DE"), "DE", reference="DZ",
                    cov_type="classic")
    assert classic.se_theta1 == pytest.approx(fit.bse[0], rel=1e-8)
    assert classic.se_theta2 == pytest.approx(fit.bse[1], rel=1e-8)
    assert classic.se_sigma == pytest.approx(3.6228, abs=1e-3)


def test_parameters_invert_the_model():
    for sigma, rho in [(5.0, 0.3), (18.8, 0.05), (2.0, 0.4), (40.0, 0.9)]:
        theta1 = rho / ((sigma - 1) ** 2 * (1 - rho))
        theta2 = (2 * rho - 1) / ((sigma - 1) * (1 - rho))
        assert _rho_sigma(theta1, theta2) == pytest.approx((rho, sigma), rel=1e-10)


def test_delta_method_gradient_matches_finite_differences():
    for t1, t2 in [(-0.000314, -0.0618), (0.00036, 0.028), (0.01, -0.2)]:
        rho, sigma = _rho_sigma(t1, t2)
        grad = _gradient(t1, t2, rho, sigma)
        for j, h in enumerate([1e-6 * abs(t1), 1e-6 * abs(t2)]):
            up = np.array(_rho_sigma(t1 + h * (j == 0), t2 + h * (j == 1)))
            down = np.array(_rho_sigma(t1 - h * (j == 0), t2 - h * (j == 1)))
            assert grad[:, j] == pytest.approx((up - down) / (2 * h), rel=1e-5)


# -- simulation with known sigma --------------------------------------------------------------------


def test_simulation_recovers_sigma_on_average():
    """60 seeds, 25 varieties, 100 periods: median bias about +2 %, coverage about 0.88.

    benchmarks/feenstra_RESULTS.md has the full study: the estimator is consistent in the number of
    periods and biased upwards with few periods (e.g. +50 % at 7 periods for sigma = 5).
    """
    sigma, rho = 5.0, 0.3
    estimates, covered = [], []
    for seed in range(60):
        result = feenstra_table(simulate_feenstra(sigma, rho, 25, 100, seed=seed))
        assert not result.used_grid
        estimates.append(result.sigma)
        covered.append(abs(result.sigma - sigma) <= 1.96 * result.se_sigma)
    estimates = np.array(estimates)
    assert np.median(estimates) == pytest.approx(sigma, rel=0.05)
    assert np.mean(estimates) == pytest.approx(sigma, rel=0.08)
    assert 0.75 <= np.mean(covered) <= 1.0
    # and rho is recovered as well
    rhos = [feenstra_table(simulate_feenstra(sigma, rho, 25, 100, seed=s)).rho for s in range(10)]
    assert np.median(rhos) == pytest.approx(rho, abs=0.1)


def test_simulation_bias_shrinks_with_more_periods():
    def median_bias(periods: int) -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FeenstraWarning)
            est = [feenstra_table(simulate_feenstra(5.0, 0.3, 25, periods, seed=s)).sigma
                   for s in range(40)]
        return abs(np.median(est) / 5.0 - 1)

    assert median_bias(200) < median_bias(20)


def test_simulate_rejects_inadmissible_parameters():
    with pytest.raises(AnalysisError, match="sigma > 1"):
        simulate_feenstra(0.5, 0.2)
    with pytest.raises(AnalysisError, match="rho"):
        simulate_feenstra(2.0, 0.6)  # rho must be below (sigma - 1) / sigma = 0.5


# -- Broda-Weinstein grid ---------------------------------------------------------------------------


def grid_table() -> pd.DataFrame:
    """Varieties with large share changes have small price changes: theta1 < 0."""
    rng = np.random.default_rng(0)
    share_step = [0.2, 0.4, 0.6, 0.8, 1.0, 1.2]
    price_step = [0.20, 0.16, 0.12, 0.08, 0.05, 0.03]
    rows = []
    for t in range(9):
        rows.append({"variety": "ref", "t": t, "value": 100.0, "quantity": 2.0})
        for i, (a, b) in enumerate(zip(share_step, price_step, strict=True)):
            ln_v = a * (t % 2) + 0.01 * rng.normal()
            ln_p = b * ((t + i) // 2 % 2) + 0.01 * rng.normal()
            rows.append({"variety": f"v{i}", "t": t, "value": 100 * np.exp(ln_v),
                         "quantity": 100 * np.exp(ln_v) / (50 * np.exp(ln_p))})
    return pd.DataFrame(rows)


def test_grid_fallback_when_theta1_is_negative():
    with pytest.warns(FeenstraWarning, match="Broda-Weinstein grid"):
        result = feenstra_table(grid_table(), reference="ref")
    assert result.theta1 < 0
    assert result.used_grid
    assert not np.isfinite(result.grid["closed_form"]["sigma"]) or result.grid["closed_form"]["sigma"] < 1
    assert result.sigma in set(GRID_SIGMA) and result.rho in set(GRID_RHO)
    assert np.isnan(result.se_sigma) and np.isnan(result.se_rho)
    assert "grid" in result.summary()
    # the chosen point minimises sum_v (mean residual_v)^2 (constant profiled out) over the grid
    means = result.varieties[["mean_y", "mean_x1", "mean_x2"]].to_numpy()

    def objective(sigma, rho):
        t1 = rho / ((sigma - 1) ** 2 * (1 - rho))
        t2 = (2 * rho - 1) / ((sigma - 1) * (1 - rho))
        resid = means[:, 0] - t1 * means[:, 1] - t2 * means[:, 2]
        return float(((resid - resid.mean()) ** 2).sum())

    best = objective(result.sigma, result.rho)
    assert best == pytest.approx(result.grid["objective"], rel=1e-9)
    assert all(best <= objective(s, r) + 1e-15 for s in GRID_SIGMA[::5] for r in GRID_RHO[::3])


def test_grid_can_be_switched_off():
    with pytest.raises(AnalysisError, match="grid is switched off"):
        feenstra_table(grid_table(), reference="ref", grid=False)


def test_no_warning_when_admissible():
    with warnings.catch_warnings():
        warnings.simplefilter("error", FeenstraWarning)
        result = feenstra_table(simulate_feenstra(5.0, 0.3, 25, 400, seed=1))
    assert result.admissible


# -- method: Feenstra closed form vs Broda-Weinstein rule (issue 11) ------------------------------

#: sigma with each reference variety, DE by origin, closed form: what an independent check found.
ISSUE_SIGMA_BY_REFERENCE = {"DZ": 18.8, "NG": 32.5, "GB": 43.3, "NO": 80.1, "AZ": 123.1}


def hand_grid(varieties: pd.DataFrame) -> tuple[float, float]:
    """Broda-Weinstein grid by brute force: sum_v (mean residual_v - its mean)^2, model theta."""
    means = varieties[["mean_y", "mean_x1", "mean_x2"]].to_numpy()
    best = (np.inf, np.nan, np.nan)
    for sigma in np.arange(1.05, 131.06, 1.0):
        for rho in np.arange(0.0, 0.995, 0.01):
            t1 = rho / ((sigma - 1) ** 2 * (1 - rho))
            t2 = (2 * rho - 1) / ((sigma - 1) * (1 - rho))
            resid = means[:, 0] - t1 * means[:, 1] - t2 * means[:, 2]
            value = float(((resid - resid.mean()) ** 2).sum())
            if value < best[0]:
                best = (value, sigma, rho)
    return best[1], best[2]


def test_default_method_keeps_the_published_closed_form(published):
    assert published.method == "feenstra"
    assert published.sigma == pytest.approx(18.799499, abs=1e-6)
    assert published.theta1 < 0
    assert published.rho == pytest.approx(-0.1106, abs=1e-4)
    assert not published.rho_admissible and not published.used_grid
    assert published.sigma_other_method == pytest.approx(30.05, abs=1e-9)
    assert published.rho_other_method == 0.0
    assert any("Broda-Weinstein's rule (grid) gives sigma = 30.05" in n for n in published.notes)


def test_broda_weinstein_rule_on_germany(coir_de, published):
    with pytest.warns(FeenstraWarning, match="rho = -0.1106 is outside.*Broda-Weinstein grid"):
        result = feenstra(coir_de, "DE", reference="DZ", method="broda-weinstein")
    assert result.method == "broda-weinstein" and result.used_grid
    # the grid's sigma step is 1 and 30.05 is a grid point: exact to the grid's precision
    assert result.sigma == pytest.approx(30.05, abs=1e-9) and result.sigma in set(GRID_SIGMA)
    assert result.rho == 0.0
    assert (result.sigma, result.rho) == pytest.approx(hand_grid(result.varieties), abs=1e-9)
    assert np.isnan(result.se_sigma)
    assert not result.rho_admissible
    assert result.sigma_other_method == pytest.approx(published.sigma, rel=1e-12)
    assert result.grid["closed_form"]["rho"] == pytest.approx(published.rho, rel=1e-12)
    # theta are still the regression's; the fitted line uses the grid point's
    assert result.theta1 == pytest.approx(published.theta1, rel=1e-12)
    with pytest.raises(AnalysisError, match="rho = -0.1106 is outside.*grid is switched off"):
        feenstra_table(published.table, reference="DZ", method="broda-weinstein", grid=False)


def test_methods_agree_when_the_closed_form_is_admissible():
    table = simulate_feenstra(5.0, 0.3, 25, 400, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FeenstraWarning)
        closed = feenstra_table(table)
        bw = feenstra_table(table, method="broda-weinstein")
    assert closed.rho_admissible and bw.rho_admissible and not bw.used_grid
    assert bw.sigma == closed.sigma == closed.sigma_other_method == bw.sigma_other_method
    assert bw.se_sigma == closed.se_sigma


def test_both_methods_use_the_grid_when_sigma_is_undefined():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FeenstraWarning)
        closed = feenstra_table(grid_table(), reference="ref")
        bw = feenstra_table(grid_table(), reference="ref", method="broda-weinstein")
    assert closed.used_grid and bw.used_grid
    assert closed.sigma == bw.sigma == closed.sigma_other_method
    assert (bw.sigma, bw.rho) == pytest.approx(hand_grid(bw.varieties), abs=1e-9)


def test_reference_sensitivity_reproduces_the_independent_check(published):
    table = published.reference_sensitivity()
    assert set(ISSUE_SIGMA_BY_REFERENCE) <= set(table.index)
    for ref, sigma in ISSUE_SIGMA_BY_REFERENCE.items():
        assert round(table.loc[ref, "sigma_feenstra"], 1) == sigma
        assert table.loc[ref, "sigma"] == table.loc[ref, "sigma_feenstra"]  # method="feenstra"
    assert (table["n_obs"] == published.n_obs).all()  # admissible references keep every period
    assert table.loc["DZ", "sigma_feenstra"] == pytest.approx(published.sigma, rel=1e-12)
    assert not table.loc["DZ", "rho_admissible"]
    assert table.loc["DZ", "sigma_broda_weinstein"] == pytest.approx(30.05, abs=1e-9)
    assert table.loc[["NG", "GB", "NO", "AZ"], "rho_admissible"].all()
    assert (table.loc[["NG", "GB", "NO", "AZ"], "sigma_broda_weinstein"]
            == table.loc[["NG", "GB", "NO", "AZ"], "sigma_feenstra"]).all()
    assert table.loc["DZ", "se_sigma"] == pytest.approx(published.se_sigma, rel=1e-12)
    # each row is a re-estimate with that reference
    direct = quiet(oilflows.load_default(dataset="coir", reporter="DE"), "DE", reference="NG")
    assert table.loc["NG", "sigma_feenstra"] == pytest.approx(direct.sigma, rel=1e-12)
    assert table.loc["NG", "rho_feenstra"] == pytest.approx(direct.rho, rel=1e-12)
    # varieties missing in some period are only used when asked for
    assert "CM" not in table.index
    chosen = published.reference_sensitivity(["CM", "NG"])
    assert list(chosen.index) == ["CM", "NG"] and chosen.loc["CM", "n_obs"] < published.n_obs


def test_reference_sensitivity_under_broda_weinstein(coir_de):
    result = quiet(coir_de, "DE", reference="DZ", method="broda-weinstein")
    table = result.reference_sensitivity(ISSUE_SIGMA_BY_REFERENCE)
    assert table.loc["DZ", "sigma"] == pytest.approx(30.05, abs=1e-9) and table.loc["DZ", "used_grid"]
    assert table.loc["DZ", "sigma_feenstra"] == pytest.approx(18.799499, abs=1e-6)
    assert round(table.loc["NG", "sigma"], 1) == 32.5


def test_summary_shows_both_methods(published, coir_de):
    text = published.summary()
    for needle in ("method: feenstra", "closed-form rho inadmissible",
                   "other method, broda-weinstein", "sigma = 30.0500, rho = 0.0000"):
        assert needle in text
    bw = quiet(coir_de, "DE", reference="DZ", method="broda-weinstein").summary()
    for needle in ("method: broda-weinstein", "sigma = 30.0500  (Broda-Weinstein grid",
                   "other method, feenstra", "sigma = 18.7995, rho = -0.1106"):
        assert needle in bw


def test_unknown_method(coir_de):
    with pytest.raises(AnalysisError, match="method must be one of"):
        feenstra(coir_de, "DE", method="grid")
    with pytest.raises(AnalysisError, match="method must be one of"):
        feenstra_table(grid_table(), method="bw")


# -- data preparation ----------------------------------------------------------------------------


def test_confidential_value_drops_the_variety_year(coir_de, published):
    frame = coir_de.copy()
    hit = (frame["partner"] == "NO") & (frame["period"] == pd.Timestamp("2015-03-01"))
    assert hit.sum() >= 1
    frame.loc[hit, ["value", "price_per_bbl"]] = np.nan
    frame.loc[hit, "flag"] = "(3)"
    result = quiet(frame, "DE", reference="DZ")
    # NO 2015 is gone, so NO's 2015 and 2016 changes are gone: 132 - 2
    assert result.n_obs == published.n_obs - 2
    assert not ((result.observations["variety"] == "NO")
                & result.observations["t"].isin([2015, 2016])).any()
    assert any("NO 2015" in note for note in result.notes)


def test_incomplete_year_is_dropped(coir_de, published):
    frame = coir_de[coir_de["period"] < pd.Timestamp("2019-12-01")]
    result = quiet(frame, "DE", reference="DZ")
    assert result.periods[1] == pd.Timestamp("2018-01-01")
    assert any("incomplete years dropped: 2019" in note for note in result.notes)
    changes_2019 = (published.observations["t"] == 2019).sum()
    assert result.n_obs == published.n_obs - changes_2019


def test_window_bounds(coir_de, published):
    result = quiet(coir_de, "DE", reference="DZ", start="2015", end="2019")
    assert result.periods == (pd.Timestamp("2016-01-01"), pd.Timestamp("2019-01-01"))
    assert result.n_obs == (published.observations["t"] >= 2016).sum()


def test_monthly_changes(coir_de):
    result = quiet(coir_de, "DE", freq="M", reference="DZ")
    assert result.freq == "M"
    assert result.n_obs > 1000 and result.sigma > 1
    assert result.periods[0] == pd.Timestamp("2013-02-01")


def test_grade_varieties_and_shared_grade_names(coir_de):
    result = quiet(coir_de, "DE", variety="grade")
    assert "Urals" in result.varieties.index or "Other Russian Fed. Crude" in result.varieties.index
    frame = coir_de.copy()
    frame.loc[frame["grade"] == "Forties", "grade"] = "Brent Blend"  # same name under GB only: no clash
    frame.loc[frame["grade"] == "Saharan Blend", "grade"] = "Ekofisk"  # DZ and NO share a name
    labels = set(quiet(frame, "DE", variety="grade").varieties.index)
    assert {"DZ:Ekofisk", "NO:Ekofisk"} <= labels and "Ekofisk" not in labels


def test_coverage_reports_the_share_of_world_used(coir_de, published):
    cov = published.coverage
    assert list(cov.index.year) == list(range(2013, 2020))
    assert cov["share_used"].to_numpy() == pytest.approx(1.0)  # Germany's register has no (3) cells
    assert cov.loc["2013-01-01", "world_volume"] / 1e3 == pytest.approx(643_532, abs=0.5)  # R4
    no_regions = quiet(coir_de, "DE", reference="DZ", exclude=REGIONS)
    assert (no_regions.coverage["share_used"] < 1).all()


# -- oil types ----------------------------------------------------------------------------------


def test_oil_type_classes_at_the_boundaries():
    assert oil_type(31.2, 0.5) == "light sweet"
    assert oil_type(31.1, 0.5) == "medium sweet"
    assert oil_type(22.3, 1.0) == "medium sour"
    assert oil_type(22.2, 0.99) == "heavy sweet"
    assert oil_type(45.9, 0.54) == "light sweet"  # CPC Blend
    assert oil_type(30.6, 1.74) == "medium sour"  # KEBCO
    assert pd.isna(oil_type(np.nan, 1.0))
    series = oil_type(pd.Series([40.0, 20.0]), pd.Series([2.0, 0.1]))
    assert list(series) == ["light sour", "heavy sweet"]


def test_oil_type_needs_quality_data(coir_de):
    with pytest.raises(AnalysisError, match="API gravity and sulphur"):
        feenstra(coir_de, "DE", variety="oil_type")


def test_oil_type_with_given_qualities(coir_de):
    grades = coir_de.loc[coir_de["partner"] != "WORLD", "grade"].unique()
    rng = np.random.default_rng(1)
    qualities = {g: (rng.uniform(18, 45), rng.uniform(0.1, 3.0)) for g in grades}
    result = quiet(coir_de, "DE", variety="oil_type", qualities=qualities)
    classes = {oil_type(*q) for q in qualities.values()}
    assert set(result.varieties.index) <= classes
    assert result.n_varieties >= 3
    as_frame = pd.DataFrame([(g, a, s) for g, (a, s) in qualities.items()],
                            columns=["grade", "api_gravity", "sulphur_pct"])
    again = quiet(coir_de, "DE", variety="oil_type", qualities=as_frame)
    assert again.sigma == pytest.approx(result.sigma, rel=1e-12)
    # by hand: the reference class's unit value change 2013 -> 2014 (sum of value / sum of volume)
    ref_grades = [g for g, q in qualities.items() if oil_type(*q) == result.reference]
    rows = coir_de[coir_de["grade"].isin(ref_grades)]
    by_year = rows.groupby(rows["period"].dt.year)[["value", "volume_bbl"]].sum()
    unit_value = by_year["value"] / by_year["volume_bbl"]
    obs = result.observations.set_index(["variety", "t"])
    assert obs.loc[(result.reference, 2014), "dln_p"] == pytest.approx(
        np.log(unit_value[2014] / unit_value[2013]), rel=1e-10)


def test_oil_type_on_eurostat_qualities():
    frame = oilflows.load_default(dataset="nrg_ti_coifpm", reporter="IT")
    result = quiet(frame, "IT", variety="oil_type")
    assert set(result.varieties.index) <= {f"{g} {s}" for g in ("light", "medium", "heavy")
                                           for s in ("sweet", "sour")}
    assert result.n_varieties >= 3
    assert "KZ_CPC_BLN" in next(n for n in result.notes if n.startswith("varieties"))


# -- errors ---------------------------------------------------------------------------------------


def test_fewer_than_three_varieties(coir_de):
    frame = coir_de[coir_de["partner"].isin(["WORLD", "DZ", "NO"])]
    with pytest.raises(AnalysisError, match="at least 3 varieties.*found 2"):
        feenstra(frame, "DE")


def test_unknown_reference(coir_de):
    with pytest.raises(AnalysisError, match="'XX' is not in the data; varieties: AE, AFRICA, AO"):
        feenstra(coir_de, "DE", reference="XX")


def test_reference_without_changes(coir_de):
    # AE (Abu Dhabi grades) is in the register for DE in 2013 and 2015 only
    with pytest.raises(AnalysisError, match="'AE' is never observed in two consecutive periods"):
        feenstra(coir_de, "DE", reference="AE")


def test_no_value_data(coir_de):
    frame = coir_de.assign(value=np.nan, price_per_bbl=np.nan)
    with pytest.raises(AnalysisError, match="no value data"):
        feenstra(frame, "DE")
    tonnes = oilflows.load_default(dataset="nrg_ti_oil", reporter="DE")
    with pytest.raises(AnalysisError, match="needs volumes"):
        feenstra(tonnes, "DE")


def test_bad_arguments(coir_de):
    with pytest.raises(AnalysisError, match="variety must be one of"):
        feenstra(coir_de, "DE", variety="field")
    with pytest.raises(AnalysisError, match="freq must be"):
        feenstra(coir_de, "DE", freq="Q")
    with pytest.raises(AnalysisError, match="cov_type"):
        feenstra(coir_de, "DE", cov_type="HC9")
    with pytest.raises(AnalysisError, match="end .* before start"):
        feenstra(coir_de, "DE", start="2019", end="2015")
    with pytest.raises(AnalysisError, match="missing"):
        feenstra_table(pd.DataFrame({"variety": ["a"], "t": [1]}))


def test_ambiguous_dataset():
    with pytest.raises(AnalysisError, match="pass dataset="):
        feenstra(oilflows.load_default(reporter="DE"), "DE")


# -- presentation ---------------------------------------------------------------------------------


def test_summary_and_frame(published):
    text = published.summary()
    for needle in ("sigma = 18.7995", "n = 132 observations, 27 varieties", "reference variety DZ",
                   "dg_ener/coir", "exclude pipeline imports", "HC2"):
        assert needle in text
    table = published.to_frame().set_index("parameter")
    assert list(table.index) == ["sigma", "rho", "theta1", "theta2", "constant"]
    assert table.loc["sigma", "estimate"] == published.sigma
    assert table.loc["sigma", "ci_low"] < published.sigma < table.loc["sigma", "ci_high"]


def test_plot_has_the_varieties(published):
    ax = published.plot()
    assert ax.collections and len(ax.collections[0].get_offsets()) == 27
    assert "18.80" in ax.get_title()
    import matplotlib.pyplot as plt

    plt.close(ax.figure)


def test_intervals_use_t_quantiles_with_the_regression_degrees_of_freedom():
    from scipy import stats

    result = feenstra(oilflows.load_default(dataset="coir"), "DE", reference="DZ")
    table = result.to_frame().set_index("parameter")
    half = (table["ci_high"] - table["ci_low"]) / 2
    q = stats.t.ppf(0.975, result.n_obs - 3)  # theta1, theta2 and the constant
    assert half.loc["theta1"] == pytest.approx(q * table.loc["theta1", "std_error"])
    assert q > stats.norm.ppf(0.975)
