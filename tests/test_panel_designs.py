"""Panel designs (DiD, event study, exposure): reference figures, identities, simulations, error paths."""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import oilflows
from oilflows.analytics import panel_designs
from oilflows.analytics.panel_designs import did, event_study, exposure, reporter_panel
from oilflows.errors import AnalysisError

KBBL = 1e3
DONORS = ("FR", "IT", "ES", "NL")
#: The old default, passed explicitly where a test keeps its reference values (e.g. DE beta -2.5 pp).
LB = {"confidential": "lower_bound"}


def _load_simulation():
    """The data-generating process of ``benchmarks/panel_simulation.py`` (one DGP for tests and benchmark)."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "panel_simulation.py"
    spec = importlib.util.spec_from_file_location("panel_simulation", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


sim = _load_simulation()


@pytest.fixture(scope="module")
def default():
    return oilflows.load_default()


@pytest.fixture(scope="module")
def real_did(default):
    return did(default, treated=("DE", "PL"), controls=DONORS, n_boot=999, partner="KZ", **LB)


@pytest.fixture(scope="module")
def simulated():
    return sim.simulate_frame(1)


# -- reporter_panel against the methods note (table R3, computed from nrg_ti_coifpm, kbbl) -------------


def test_reporter_panel_reproduces_reference_shares(default):
    panel = reporter_panel(default, ["DE"], start="2020-01", end="2023-12", partner="KZ", **LB)
    assert (panel.source, panel.dataset) == ("eurostat", "nrg_ti_coifpm")
    data = panel.data
    yearly = data.groupby(data["period"].dt.year)[["quantity", "world", "undisclosed"]].sum() / KBBL
    # R3: KZ disclosed, TOTAL and the confidential gap per year.
    assert yearly.loc[2021, "quantity"] == pytest.approx(45_806, abs=0.5)
    assert yearly.loc[2023, "quantity"] == pytest.approx(49_550, abs=0.5)
    assert yearly.loc[2023, "world"] == pytest.approx(546_621, abs=0.5)
    assert yearly.loc[2022, "undisclosed"] == pytest.approx(223_962, abs=0.5)
    assert yearly.loc[2023, "quantity"] / yearly.loc[2023, "world"] == pytest.approx(0.0906, abs=5e-5)
    # Share of WORLD month by month is quantity / world, with the undisclosed part in the denominator.
    assert np.allclose(data["y"], data["quantity"] / data["world"])
    assert np.allclose(data["undisclosed_share"], data["undisclosed"] / data["world"])


def test_reporter_panel_outcomes_and_disclosure_months(default):
    share = reporter_panel(default, ["FR"], start="2020-01", end="2023-12", partner="KZ", **LB)
    volume = reporter_panel(default, ["FR"], outcome="volume", start="2020-01", end="2023-12", partner="KZ",
                            **LB)
    logs = reporter_panel(default, ["FR"], outcome="log1p_volume", start="2020-01", end="2023-12",
                          partner="KZ", **LB)
    assert np.allclose(volume.data["y"], share.data["quantity"])
    assert np.allclose(logs.data["y"], np.log1p(share.data["quantity"] / KBBL))
    # Independent count from the raw rows: months in which FR discloses any partner volume > 0.
    rows = default[(default["dataset"] == "nrg_ti_coifpm") & (default["reporter"] == "FR")
                   & (default["partner"] != "WORLD") & (default["period"] >= "2020-01")
                   & (default["period"] <= "2023-12") & (default["volume_bbl"] > 0)]
    assert len(share.data) == rows["period"].nunique() == 27
    assert share.dropped_months["FR"] == 48 - 27


def test_reporter_panel_confidential_drop_rule(default):
    lower = reporter_panel(default, ["DE"], start="2022-01", end="2023-12", partner="KZ", **LB)
    dropped = reporter_panel(default, ["DE"], start="2022-01", end="2023-12", confidential="drop",
                             partner="KZ")
    conf_months = int((lower.data["partner_confidential"] > 0).sum())
    assert conf_months > 0
    assert len(dropped.data) == len(lower.data) - conf_months
    assert (dropped.data["partner_confidential"] == 0).all()
    assert dropped.confidential_months["DE"] == conf_months
    # "drop" is the default.
    default_rule = reporter_panel(default, ["DE"], start="2022-01", end="2023-12", partner="KZ")
    assert default_rule.confidential == "drop"
    pd.testing.assert_frame_equal(default_rule.data, dropped.data)


def test_reporter_panel_refuses_aggregates_and_unknown_reporters(default):
    with pytest.raises(AnalysisError, match="EU_V.*aggregate"):
        reporter_panel(default, ["DE", "EU_V"], start="2020-01", end="2023-12", partner="KZ")
    with pytest.raises(AnalysisError, match="XX not in the data"):
        reporter_panel(default, ["DE", "XX"], start="2020-01", end="2023-12", partner="KZ")
    with pytest.raises(AnalysisError, match="outcome must be one of"):
        reporter_panel(default, ["DE"], outcome="ratio", start="2020-01", end="2023-12", partner="KZ")


def test_reporter_panel_missing_world_total(default):
    # PL's WORLD totals are confidential in nrg_ti_coifpm from 2020.
    with pytest.raises(AnalysisError, match=r"PL: no WORLD total .*confidential"):
        reporter_panel(default, ["DE", "PL"], start="2020-01", end="2023-12", partner="KZ", **LB)
    panel = reporter_panel(default, ["DE", "PL"], start="2020-01", end="2023-12", on_missing="drop",
                           partner="KZ", **LB)
    assert panel.reporters == ["DE"]
    assert "confidential WORLD cells" in panel.dropped["PL"]
    # Default: every country reporter with a WORLD total in the window (no PL, no EU_V aggregate).
    assert reporter_panel(default, start="2020-01", end="2023-12", partner="KZ", **LB).reporters == [
        "DE", "ES", "FR", "IT", "NL"]


def test_reporter_panel_leaves_dataset_choice_to_build_panel(default):
    # Without a window both the register (2013-2019) and nrg_ti_coifpm cover DE: build_panel refuses to mix.
    with pytest.raises(AnalysisError, match="several datasets qualify"):
        reporter_panel(default, ["DE"], partner="KZ")
    register = reporter_panel(default, ["DE"], dataset="coir", partner="KZ")
    assert register.dataset == "coir" and register.data["period"].max() < pd.Timestamp("2020-01-01")


# -- DiD: identities and an independent statsmodels fit ----------------------------------------------


def test_did_equals_two_by_two_difference_of_means(simulated):
    frame, truth = simulated
    result = did(frame, treated=truth.treated, controls=truth.controls, inference="cluster", partner="KZ")
    data = result.panel.data.assign(treated=lambda d: d["reporter"].isin(truth.treated),
                                    post=lambda d: d["period"] >= "2023-01")
    means = data.groupby(["treated", "post"])["y"].mean()
    by_hand = (means[True, True] - means[True, False]) - (means[False, True] - means[False, False])
    assert result.estimate == pytest.approx(by_hand, abs=1e-12)
    assert result.n_obs == 6 * 48 and result.n_clusters == 6
    assert result.ci_wild is None and result.ci == result.ci_cluster


def test_did_matches_statsmodels_dummies_with_cluster_se(real_did):
    import statsmodels.api as sm

    data = real_did.panel.data.copy()
    data["d_post"] = (data["reporter"].isin(real_did.treated) & (data["period"] >= "2023-01")).astype(float)
    design = pd.concat([data[["d_post"]], pd.get_dummies(data["reporter"], dtype=float),
                        pd.get_dummies(data["period"], drop_first=True, dtype=float)], axis=1)
    fit = sm.OLS(data["y"], design).fit(cov_type="cluster", cov_kwds={"groups": data["reporter"]})
    assert real_did.estimate == pytest.approx(fit.params["d_post"], rel=1e-9)
    assert real_did.se == pytest.approx(fit.bse["d_post"], rel=1e-9)
    # Unbalanced: FR and ES lose the months in which they disclose no partner.
    assert real_did.n_obs == len(data) < 5 * 48


def _brute_force_wild_p(y, d, fixed, clusters, draws, beta0):
    """Restricted wild cluster bootstrap by re-estimating statsmodels OLS in every draw (the slow way)."""
    import statsmodels.api as sm

    x_full = np.column_stack([d, fixed])
    groups = np.unique(clusters, return_inverse=True)[1]

    def t_stat(outcome, null):
        fit = sm.OLS(outcome, x_full).fit(cov_type="cluster", cov_kwds={"groups": groups})
        return (fit.params[0] - null) / fit.bse[0]

    restricted = sm.OLS(y - beta0 * d, fixed).fit()
    t_obs = t_stat(y, beta0)
    t_boot = [t_stat(restricted.fittedvalues + beta0 * d + restricted.resid * v[groups], beta0)
              for v in draws.T]
    return float(np.mean(np.abs(t_boot) >= abs(t_obs) * (1 - 1e-9)))


def test_wild_bootstrap_closed_form_matches_brute_force():
    frame, truth = sim.simulate_frame(1, start="2022-01")  # 24 months keep the slow way quick
    setup = panel_designs._setup(frame, truth.treated, truth.controls, "KZ", "share", "2023-01", None, None,
                                 "reporter", "wild", 99, "webb", 0.95, "volume_bbl", None, "lower_bound")
    data = setup["data"]
    y, d = data["y"].to_numpy(), (data["treated"] & data["post"]).to_numpy(float)
    clusters = data["reporter"].to_numpy()
    fit = panel_designs._TwoWay(y, d[:, None], setup["fixed"], clusters).coefficient(0)
    boot = panel_designs._WildBootstrap(fit, "webb", 39, np.random.default_rng(3))
    draws = panel_designs._draw_weights(6, "webb", 39, np.random.default_rng(3))
    for beta0 in (0.0, fit.estimate + 1.5 * fit.se):
        expected = _brute_force_wild_p(y, d, setup["fixed"], clusters, draws, beta0)
        assert boot.pvalue(beta0) == pytest.approx(expected, abs=1e-12)


def test_wild_interval_is_the_inverted_test(simulated):
    frame, truth = simulated
    result = did(frame, treated=truth.treated, controls=truth.controls, n_boot=199, seed=5, partner="KZ")
    setup = panel_designs._setup(frame, truth.treated, truth.controls, "KZ", "share", "2023-01", None, None,
                                 "reporter", "wild", 199, "webb", 0.95, "volume_bbl", None, "lower_bound")
    data = setup["data"]
    d_post = (data["treated"] & data["post"]).to_numpy(float)[:, None]
    fit = panel_designs._TwoWay(data["y"].to_numpy(), d_post, setup["fixed"],
                                data["reporter"].to_numpy()).coefficient(0)
    boot = panel_designs._WildBootstrap(fit, "webb", 199, np.random.default_rng(5))
    low, high = result.ci_wild
    assert low < result.estimate < high
    step = 1e-6 * (high - low)
    assert boot.pvalue(low + step) >= 0.05 > boot.pvalue(low - step)
    assert boot.pvalue(high - step) >= 0.05 > boot.pvalue(high + step)
    assert boot.pvalue(result.estimate) == 1.0


def test_rademacher_is_enumerated_with_few_clusters(simulated):
    frame, truth = simulated
    result = did(frame, treated=truth.treated, controls=truth.controls, weights="rademacher", n_boot=999,
                 partner="KZ")
    assert result.n_boot == 2 ** 6
    assert (result.p_wild * 64) == pytest.approx(round(result.p_wild * 64))


# -- DiD: Monte Carlo with known truth (more seeds in benchmarks/panel_simulation.py) ---------------------


def test_did_simulation_bias_and_coverage():
    rows = []
    for seed in range(40):
        frame, truth = sim.simulate_frame(seed)
        r = did(frame, treated=truth.treated, controls=truth.controls, n_boot=199, seed=seed, partner="KZ")
        rows.append((r.estimate - truth.beta, r.se, r.ci_wild[0] <= truth.beta <= r.ci_wild[1]))
    errors, ses, covered = (np.array(c) for c in zip(*rows, strict=True))
    assert abs(errors.mean()) < 3 * errors.std() / np.sqrt(len(errors))  # no bias beyond MC noise
    assert abs(errors.mean()) < 0.5 * ses.mean()  # bias small relative to the standard error
    assert covered.mean() >= 0.875  # 95 % nominal; benchmark: ~0.95 over 400 seeds
    # With 6 clusters CR1 understates the spread of the estimates (hence its under-coverage).
    assert ses.mean() < errors.std()


def test_did_detects_sutva_spillover_bias():
    frame, truth = sim.simulate_frame(2, spillover=1.0)
    r = did(frame, treated=truth.treated, controls=truth.controls, inference="cluster", partner="KZ")
    # Controls lose the treated gain between them: beta -> beta * (1 + n_treated / n_controls).
    assert r.estimate == pytest.approx(truth.beta * 1.5, abs=0.015)


# -- DiD on the real data ------------------------------------------------------------------------------


def test_did_real_data_drops_pl_and_reports(real_did):
    assert real_did.treated == ["DE"] and real_did.controls == list(DONORS)
    assert "PL" in real_did.dropped
    assert real_did.pre == (pd.Timestamp("2020-01-01"), pd.Timestamp("2022-12-01"))
    assert real_did.post == (pd.Timestamp("2023-01-01"), pd.Timestamp("2023-12-01"))
    table = real_did.exposure_table
    # DE's mean monthly KZ share of WORLD in 2023 (R3 annual ratio is 9.06 %; monthly mean close to it).
    assert table.loc["DE", "mean_y_post"] == pytest.approx(0.0906, abs=0.003)
    assert table.loc["DE", "undisclosed_share_post"] == pytest.approx(198_280 / 546_621, abs=1e-4)
    text = real_did.summary()
    for needle in ("PL left out", "SUTVA", "wild cluster bootstrap", "undisclosed", "5 reporter clusters"):
        assert needle in text
    frame = real_did.to_frame()
    assert list(frame["inference"].str.split().str[0]) == ["cluster", "wild"]
    assert np.isfinite(real_did.ci_cluster).all()


def test_did_default_controls_exclude_druzhba_and_aggregates(default):
    result = did(default, treated="DE", inference="cluster", partner="KZ", **LB)
    assert set(result.controls) == set(DONORS)  # PL (Druzhba) and EU_V (aggregate) are not controls


def test_did_plot(real_did):
    ax = real_did.plot()
    assert len(ax.lines) >= 2 and len(ax.lines[0].get_xdata()) > 0


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"treated": "DE", "controls": ("IT",)}, "fewer than 2 control"),
    ({"treated": "DE", "controls": ("IT", "PL")}, "fewer than 2 control.*PL"),
    ({"treated": "XX", "controls": DONORS}, "XX not in the data"),
    ({"treated": "PL", "controls": DONORS}, "no treated reporter has data.*PL"),
    ({"treated": "DE", "controls": ("DE", "IT", "NL")}, "both treated and control"),
    ({"treated": "DE", "controls": DONORS, "post_start": "2020-01"}, "no month with a disclosed partner in "
                                                                        "start..2019-12"),
    ({"treated": "DE", "controls": DONORS, "pre": ("2020-01", "2023-06")}, "must end before post_start"),
    ({"treated": "DE", "controls": DONORS, "post": ("2022-06", "2023-12")}, "starts before post_start"),
    ({"treated": "DE", "controls": DONORS, "cluster": "month"}, "cluster must be one of"),
    ({"treated": "DE", "controls": DONORS, "n_boot": 10}, "n_boot must be at least 99"),
    ({"treated": "DE", "controls": DONORS, "weights": "mammen"}, "weights must be one of"),
    ({"treated": ("DE", "EU_V"), "controls": DONORS}, "aggregate"),
])
def test_did_error_paths(default, kwargs, message):
    with pytest.raises(AnalysisError, match=message):
        did(default, partner="KZ", **kwargs)


# -- event study --------------------------------------------------------------------------------------


def test_event_study_coefficients_are_differences_of_means(simulated):
    frame, truth = simulated
    result = event_study(frame, treated=truth.treated, controls=truth.controls, leads=36, lags=11,
                         inference="cluster", partner="KZ")
    data = result.panel.data.assign(treated=lambda d: d["reporter"].isin(truth.treated))
    gap = data.groupby(["period", "treated"])["y"].mean().unstack()
    gap = gap[True] - gap[False]
    reference = gap[pd.Timestamp("2022-12-01")]
    for k, month in ((-30, "2020-07-01"), (-2, "2022-11-01"), (0, "2023-01-01"), (11, "2023-12-01")):
        expected = gap[pd.Timestamp(month)] - reference
        assert result.table.loc[k, "estimate"] == pytest.approx(expected, abs=1e-12)
    assert result.table.loc[-1, "estimate"] == 0 and not result.table["binned"].any()


def test_event_study_bins_and_recovers_effect(simulated):
    frame, truth = simulated
    result = event_study(frame, treated=truth.treated, controls=truth.controls, leads=6, lags=6,
                         n_boot=199, partner="KZ")
    table = result.table
    assert list(table.index) == list(range(-6, 7))
    assert table.loc[-6, "binned"] and table.loc[6, "binned"] and not table.loc[0, "binned"]
    assert table.loc[-6, "treated_obs"] == 2 * (36 - 5)  # k <= -6: 2020-01..2022-07 for 2 treated
    assert table.loc[6, "treated_obs"] == 2 * 6  # k >= 6: 2023-07..2023-12
    post = table.loc[table.index >= 0, "estimate"]
    assert post.mean() == pytest.approx(truth.beta, abs=0.01)
    pre = table.loc[(table.index < 0) & (table.index != -1), "estimate"]
    assert pre.abs().max() < 0.03
    assert (table["ci_low"] <= table["estimate"]).all() and (table["estimate"] <= table["ci_high"]).all()


def test_event_study_real_data_summary_and_plot(default):
    result = event_study(default, treated=("DE", "PL"), controls=DONORS, leads=12, lags=12, n_boot=199,
                         partner="KZ", **LB)
    assert result.treated == ["DE"] and result.table.loc[-1, "estimate"] == 0
    assert result.table.index.min() == -12 and result.table.loc[-12, "binned"]
    assert "Event study" in result.summary() and "reference k = -1" in result.summary()
    ax = result.plot()
    assert ax.lines or ax.collections
    assert len(result.to_frame()) == len(result.table)


def test_event_study_error_paths(default):
    with pytest.raises(AnalysisError, match="ref must be"):
        event_study(default, treated="DE", controls=DONORS, ref=0, partner="KZ")
    with pytest.raises(AnalysisError, match="leads and lags"):
        event_study(default, treated="DE", controls=DONORS, leads=0, partner="KZ")
    with pytest.raises(AnalysisError, match="no treated reporter-month at the reference"):
        event_study(default, treated="DE", controls=DONORS, pre=("2020-01", "2022-06"), ref=-1,
                    inference="cluster", partner="KZ", **LB)


# -- exposure -----------------------------------------------------------------------------------------


def test_exposure_real_data_matches_reference_and_hand_ols(default):
    result = exposure(default, partner="KZ", displaced="RU", **LB)
    table = result.table
    assert list(table.index) == ["DE", "ES", "FR", "IT", "NL"]  # PL's totals are confidential
    assert "PL" in exposure(default, reporters=["DE", "ES", "FR", "IT", "NL", "PL"], partner="KZ",
                            displaced="RU", **LB).dropped
    # R3 (kbbl): DE 2021 RU 186,493 and KZ 45,806 of 567,881; 2023 KZ 49,550 of 546,621.
    assert table.loc["DE", "dose"] == pytest.approx(186_493 / 567_881, abs=1e-6)
    assert table.loc["DE", "share_base"] == pytest.approx(45_806 / 567_881, abs=1e-6)
    assert table.loc["DE", "share_post"] == pytest.approx(49_550 / 546_621, abs=1e-6)
    x = np.column_stack([np.ones(len(table)), table["dose"]])
    coef = np.linalg.lstsq(x, table["change"].to_numpy(), rcond=None)[0]
    assert result.b == pytest.approx(coef[1], rel=1e-9) and result.a == pytest.approx(coef[0], rel=1e-9)
    assert result.ci[0] < result.b < result.ci[1]
    assert "only 5 reporters" in result.summary()
    ax = result.plot()
    assert len(ax.collections[0].get_offsets()) == 5


def test_exposure_simulation_recovers_slope():
    slopes, covered = [], []
    for seed in range(6):
        frame, truth = sim.simulate_frame(seed, n_units=12, design="exposure")
        r = exposure(frame, partner="KZ", displaced="RU")
        slopes.append(r.b)
        covered.append(r.ci[0] <= truth.theta <= r.ci[1])
    assert np.mean(slopes) == pytest.approx(0.3, abs=0.03)
    assert np.mean(covered) >= 4 / 6


def test_exposure_controls_and_errors(default):
    controls = pd.DataFrame({"base_kz": [0.08, 0.0, 0.05, 0.02, 0.0]}, index=["DE", "ES", "FR", "IT", "NL"])
    result = exposure(default, controls=controls, partner="KZ", displaced="RU", **LB)
    assert "base_kz" in result.params.index and result.n == 5
    with pytest.raises(AnalysisError, match="controls have no row for reporter"):
        exposure(default, controls=controls.drop(index="NL"), partner="KZ", displaced="RU", **LB)
    with pytest.raises(AnalysisError, match="cannot identify"):
        exposure(default, reporters=["DE", "IT"], partner="KZ", displaced="RU")
    with pytest.raises(AnalysisError, match="must start after the base window"):
        exposure(default, baseline=("2021-01", "2021-12"), post=("2021-06", "2021-12"), partner="KZ",
                 displaced="RU")
    with pytest.raises(AnalysisError, match="same for every reporter"):
        exposure(default, reporters=["DE", "ES", "FR", "IT", "NL"], displaced="XX", partner="KZ", **LB)


# -- confidential cells: "drop" (default), "lower_bound" (explicit), "bounds" (identified set) ------------


def test_beta_is_linear_in_y_and_matches_statsmodels_dummies():
    """c'y with c = the treatment row of pinv([D, fixed effects]) is the OLS beta with all dummies."""
    import statsmodels.api as sm

    rng = np.random.default_rng(11)
    rows = pd.DataFrame([(r, t) for r in "ABCDEF" for t in range(10)], columns=["reporter", "t"])
    rows = rows.sample(frac=0.8, random_state=3).reset_index(drop=True)  # unbalanced
    d = (rows["reporter"].isin(["A", "B"]) & (rows["t"] >= 6)).to_numpy(float)[:, None]
    fixed = np.hstack([panel_designs._dummies(rows["reporter"].to_numpy(), False),
                       panel_designs._dummies(rows["t"].to_numpy(), True)])
    c = panel_designs._weights(d, fixed)[0]
    dummies = pd.concat([pd.get_dummies(rows["reporter"], dtype=float),
                         pd.get_dummies(rows["t"], drop_first=True, dtype=float)], axis=1)
    x = pd.concat([pd.Series(d[:, 0], name="DxPost"), dummies], axis=1)
    for _ in range(3):
        y = rng.normal(size=len(rows))
        assert c @ y == pytest.approx(sm.OLS(y, x).fit().params["DxPost"], abs=1e-10)


def _hand_frame(kz: dict, hidden_kz: set, hidden_sa: set, world_hidden: set = frozenset()) -> pd.DataFrame:
    """Hand-built canonical rows (not real data). `kz[(reporter, month)]` = (disclosed grade KZ_A, value
    of grade KZ_B); KZ_B is confidential in `hidden_kz`, a SA cell of 10 is confidential in `hidden_sa`,
    NO fills WORLD = 1000 - 10."""
    from oilflows.schema import conform

    rows = []
    for (reporter, month), (a, b) in kz.items():
        no = 1000.0 - 10.0 - a - b
        def row(partner, grade, value, flag=None, reporter=reporter, month=month):
            return {"reporter": reporter, "period": pd.Timestamp(month), "partner": partner, "grade": grade,
                    "volume_bbl": np.nan if flag else value, "flag": flag}
        key = (reporter, month)
        rows += [row("WORLD", None, 1000.0, "c" if key in world_hidden else None),
                 row("KZ", "KZ_A", a), row("KZ", "KZ_B", b, "c" if key in hidden_kz else None),
                 row("NO", "NO_A", no + (10.0 if key not in hidden_sa else 0.0)),
                 *([row("SA", "SA_A", 10.0, "c")] if key in hidden_sa else [])]
    frame = pd.DataFrame(rows)
    frame["source"], frame["dataset"], frame["freq"] = "hand", "hand", "M"
    frame["flow"], frame["product"] = "import", "crude_oil"
    return conform(frame, complete=True)


def _brute_force(data: pd.DataFrame, lo: np.ndarray, hi: np.ndarray) -> tuple[float, float]:
    """min/max of the OLS beta (all dummies, numpy lstsq) over every vertex of the outcome boxes."""
    x = np.column_stack([(data["treated"] & data["post"]).to_numpy(float),
                         pd.get_dummies(data["reporter"], dtype=float).to_numpy(),
                         pd.get_dummies(data["period"], drop_first=True, dtype=float).to_numpy()])
    free = np.flatnonzero(hi > lo + 1e-15)
    betas = []
    for corner in itertools.product((0, 1), repeat=len(free)):
        y = lo.copy()
        y[free] = np.where(np.array(corner, bool), hi[free], lo[free])
        betas.append(np.linalg.lstsq(x, y, rcond=None)[0][0])
    return min(betas), max(betas)


@pytest.mark.parametrize("outcome", ["share", "volume", "log1p_volume"])
def test_bounds_equal_brute_force_over_box_vertices(outcome):
    months = ["2021-01", "2021-02", "2021-03", "2021-04"]
    rng = np.random.default_rng(5)
    kz = {(r, m): (float(rng.integers(20, 200)), float(rng.integers(5, 60)))
          for r in ("DE", "XB", "XC") for m in months}
    # KZ_B confidential with SA also confidential (KZ shares the residual: [0, U]) in five months, KZ
    # the sole holder (exact: the whole residual) in one: 5 free cells, 32 vertices.
    hidden_kz = {("DE", "2021-02"), ("DE", "2021-04"), ("XB", "2021-01"), ("XB", "2021-03"),
                 ("XC", "2021-04"), ("XC", "2021-02")}
    hidden_sa = hidden_kz - {("XC", "2021-02")}
    frame = _hand_frame(kz, hidden_kz, hidden_sa)
    result = did(frame, treated="DE", controls=["XB", "XC"], outcome=outcome, post_start="2021-03",
                 inference="cluster", confidential="bounds", partner="KZ")
    data = result.panel.data.assign(treated=lambda d: d["reporter"] == "DE",
                                    post=lambda d: d["period"] >= pd.Timestamp("2021-03"))
    lo, hi = data["y_lo"].to_numpy(float), data["y_hi"].to_numpy(float)
    assert (hi > lo).sum() == 5
    # The sole holder's month is exact at disclosed + residual, above the disclosed "lower bound".
    sole = data[(data["reporter"] == "XC") & (data["period"] == pd.Timestamp("2021-02"))].iloc[0]
    lower = reporter_panel(frame, ["XC"], outcome=outcome, start="2021-02", end="2021-02", partner="KZ",
                           **LB).data
    assert sole["y_lo"] == sole["y_hi"] > lower["y"].iloc[0]
    expected = _brute_force(data, lo, hi)
    assert result.beta_bounds[0] == pytest.approx(expected[0], abs=1e-10)
    assert result.beta_bounds[1] == pytest.approx(expected[1], abs=1e-10)
    assert result.estimate_at_lo == pytest.approx(result.estimate, abs=1e-12)
    assert result.beta_bounds[0] <= result.estimate_at_hi <= result.beta_bounds[1]
    assert "identified set of beta" in result.summary() and "no inference for the set" in result.summary()
    # Event study: each beta_k's set by brute force too.
    es = event_study(frame, treated="DE", controls=["XB", "XC"], outcome=outcome, post_start="2021-03",
                     leads=2, lags=1, inference="cluster", confidential="bounds", partner="KZ")
    assert es.table.loc[0, "bound_low"] <= es.table.loc[0, "estimate"] <= es.table.loc[0, "bound_high"]
    assert "identified set of mean beta_k" in es.summary()


def test_bounds_unbounded_and_sole_holder_exact():
    # Hand-built: with every KZ cell disclosed the set is the point estimate.
    months = ["2021-01", "2021-02", "2021-03", "2021-04"]
    kz = {(r, m): (100.0 + 7 * i, 20.0) for i, (r, m) in enumerate((r, m) for r in ("DE", "XB", "XC")
                                                                    for m in months)}
    frame = _hand_frame(kz, set(), set())
    result = did(frame, treated="DE", controls=["XB", "XC"], post_start="2021-03", inference="cluster",
                 confidential="bounds", partner="KZ")
    assert result.beta_bounds == pytest.approx((result.estimate, result.estimate), abs=1e-12)
    # An infinite upper end (WORLD confidential) makes the set unbounded on the side its weight points to.
    c = np.array([0.5, -0.5, 0.0])
    assert panel_designs._identified_set(c, np.zeros(3), np.array([1.0, np.inf, np.inf])) == (-np.inf, 0.5)
    assert "unbounded below" in panel_designs._unbounded((-np.inf, 0.5))


def test_real_data_drop_default_lower_bound_and_bounds(default):
    """DE treated, controls FR IT ES NL, KZ share of WORLD (nrg_ti_coifpm), 2020-01..2023-12."""
    kwargs = {"treated": "DE", "controls": DONORS, "inference": "cluster"}
    by_default = did(default, partner="KZ", **kwargs)
    drop = did(default, confidential="drop", partner="KZ", **kwargs)
    lower = did(default, partner="KZ", **kwargs, **LB)
    bounds = did(default, confidential="bounds", partner="KZ", **kwargs)
    # "drop" is the default and reproduces issue 11's -6.6 share points; "lower_bound" the documented -2.5.
    assert by_default.confidential == "drop" and by_default.estimate == drop.estimate
    assert drop.estimate == pytest.approx(-0.0660, abs=5e-5)
    assert lower.estimate == pytest.approx(-0.0252, abs=5e-5)
    # ES discloses KZ in no month of its own (every disclosed month hides KZ): left out under "drop".
    assert drop.controls == ["FR", "IT", "NL"] and "ES" in drop.dropped
    assert drop.panel.confidential_months == {"DE": 43, "FR": 12, "IT": 0, "NL": 0}
    text = by_default.summary()
    assert "confidential KZ cells: drop" in text and "DE 43, FR 12" in text
    assert "a lower bound, not the outcome" in lower.summary()
    # Bounds: the identified set of beta, about -49.7 .. +43.9 share points.
    low, high = bounds.beta_bounds
    assert (low, high) == pytest.approx((-0.4969, 0.4385), abs=5e-5)
    # The lower_bound outcome lies in every month's box (KZ is never the sole holder here), so its beta is
    # a point of the set, and it is the beta at the lower end. The "drop" beta comes from another sample
    # (a subset of months), so it need not be in the set; it is.
    data = bounds.panel.data
    assert ((data["y_lo"] <= data["quantity"] / data["world"] + 1e-15)
            & (data["quantity"] / data["world"] <= data["y_hi"] + 1e-15)).all()
    assert bounds.estimate_at_lo == pytest.approx(lower.estimate, abs=1e-12)
    assert low <= lower.estimate <= high and low <= drop.estimate <= high
    assert np.isfinite([low, high]).all()  # WORLD is disclosed in every panel month


def test_exposure_refuses_bounds(default):
    with pytest.raises(AnalysisError, match="confidential must be one of"):
        exposure(default, confidential="bounds", partner="KZ", displaced="RU")


# -- bootstrap draws (n_boot="auto") and small-sample quantiles (issue 11) ------------------------------


def test_auto_bootstrap_does_not_move_with_the_seed_on_real_data(default):
    """Issue 11: with 999 draws the DE/PL lower end moved from -38 to -24 pp over seeds 1-5."""
    from oilflows.analytics.panel_designs import _ci

    old = {_ci(did(default, seed=s, n_boot=999, treated=("DE", "PL"), partner="KZ", **LB).ci_wild,
               "share") for s in range(1, 6)}
    assert len(old) == 5  # every seed printed a different interval
    for rule, n_clusters in (("lower_bound", 5), ("drop", 4)):
        results = [did(default, ("DE", "PL"), seed=s, confidential=rule, partner="KZ") for s in range(1, 6)]
        printed = {_ci(r.ci_wild, "share") for r in results}
        assert len(printed) == 1  # equal at the printed precision (here: identical)
        r = results[0]
        # 6**G Webb weight vectors <= 99,999: all enumerated, the exact bootstrap distribution.
        assert r.n_clusters == n_clusters and r.n_boot == 6 ** n_clusters and r.bootstrap_exact
        assert r.mc_error == (0.0, 0.0)
        text = r.summary()
        assert f"all {6 ** n_clusters} = 6^{n_clusters} weight vectors enumerated" in text
        assert "Monte Carlo error of the interval ends: none" in text
    assert printed == {"[-103.07 pp, +47.54 pp]"}  # "drop", DE vs FR IT NL
    # Rademacher with 2**5 = 32 vectors is enumerated too (also with an integer n_boot >= 32, as before).
    rad = did(default, weights="rademacher", treated=("DE", "PL"), partner="KZ", **LB)
    assert rad.n_boot == 32 and rad.mc_error == (0.0, 0.0)


def test_enumerated_weights_are_the_exact_distribution():
    from oilflows.analytics._two_way import _WEBB, _enumerate

    draws = _enumerate(3, "webb")
    assert draws.shape == (3, 216) and len({tuple(c) for c in draws.T}) == 216
    assert all(np.isin(draws, _WEBB).all(axis=1))
    assert _enumerate(4, "rademacher").shape == (4, 16)


def test_auto_doubles_until_the_mc_error_is_below_the_tolerance():
    """8 clusters (6**8 Webb vectors): random draws, doubled from 999 until the batch-means error is small."""
    from oilflows.analytics._two_way import AUTO_CAP, _infer, _TwoWay

    frame, truth = sim.simulate_frame(1, n_units=8)
    setup = panel_designs._setup(frame, truth.treated, truth.controls, "KZ", "share", "2023-01", None, None,
                                 "reporter", "wild", "auto", "webb", 0.95, "volume_bbl", None, "drop")
    data = setup["data"]
    d_post = (data["treated"] & data["post"]).to_numpy(float)[:, None]
    model = _TwoWay(data["y"].to_numpy(float), d_post, setup["fixed"], data["reporter"].to_numpy())
    fit = model.coefficient(0)
    tol = 2e-4  # 0.02 pp
    runs = [_infer(fit, "wild", "webb", "auto", seed, 0.95, lambda end: tol) for seed in range(1, 4)]
    for r in runs:
        assert not r.exact and 999 < r.n_boot_used < AUTO_CAP and r.n_boot_used % 999 == 0
        assert max(r.mc_error) < tol
    ends = np.array([r.ci_wild for r in runs])
    assert np.ptp(ends, axis=0).max() < 8 * tol  # seeds agree to a few Monte Carlo errors
    # The batch-means error estimates the seed spread of a fixed-size run (within a factor of 2.5).
    fixed = [_infer(fit, "wild", "webb", 999, seed, 0.95) for seed in range(10)]
    spread = np.std([r.ci_wild for r in fixed], axis=0, ddof=1)
    reported = np.mean([r.mc_error for r in fixed], axis=0)
    assert np.all(reported / spread > 1 / 2.5) and np.all(reported / spread < 2.5)
    # At the summary's precision (0.005 pp) 8 clusters need more than the cap: the summary says so.
    result = did(frame, treated=truth.treated, controls=truth.controls, seed=1, partner="KZ")
    assert result.n_boot == AUTO_CAP and not result.bootstrap_exact
    assert "Monte Carlo s.e. of the interval ends (batch means)" in result.summary()
    es = event_study(frame, treated=truth.treated, controls=truth.controls, leads=2, lags=2, n_boot=199,
                     partner="KZ")
    assert {"n_boot", "mc_error_low", "mc_error_high"} <= set(es.table.columns)
    assert (es.table.drop(index=-1)["n_boot"] == 199).all()


def test_auto_n_boot_validation(default):
    with pytest.raises(AnalysisError, match="n_boot must be 'auto' or an integer"):
        did(default, treated="DE", controls=DONORS, n_boot="many", partner="KZ")


def test_exposure_interval_uses_t_with_n_minus_k_dof(default):
    """Issue 11: 5 reporters, HC3: the normal interval [-0.75, 0.82] becomes [-1.24, 1.31] with t(3)."""
    import statsmodels.api as sm
    from scipy import stats

    for kwargs in (LB, {}):  # "drop" (default) leaves 3 reporters (ES and PL out): t(1)
        result = exposure(default, partner="KZ", displaced="RU", **kwargs)
        design = sm.add_constant(result.table["dose"])
        hc3 = sm.OLS(result.table["change"], design).fit(cov_type="HC3")  # normal quantiles
        n, k = design.shape
        crit = stats.t.ppf(0.975, n - k)
        se = float(hc3.bse["dose"])
        assert result.se == pytest.approx(se, rel=1e-12) and result.df_resid == n - k
        assert result.ci == pytest.approx((result.b - crit * se, result.b + crit * se), rel=1e-10)
        assert result.pvalue == pytest.approx(2 * stats.t.sf(abs(result.b / se), n - k), rel=1e-10)
        assert f"t({n - k}) quantiles" in result.summary()
    lb = exposure(default, partner="KZ", displaced="RU", **LB)
    assert lb.n == 5 and lb.ci == pytest.approx((-1.2426, 1.3117), abs=1e-4)
    normal = sm.OLS(lb.table["change"], sm.add_constant(lb.table["dose"])).fit(cov_type="HC3").conf_int()
    assert tuple(normal.loc["dose"]) == pytest.approx((-0.7520, 0.8211), abs=1e-4)
