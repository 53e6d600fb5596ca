"""Synthetic control: simplex weights, recovery of known effects, placebo p-values, real data, errors."""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import oilflows
from oilflows.analytics.synthetic_control import simplex_weights, synthetic_control
from oilflows.errors import AnalysisError

DONORS = ("FR", "IT", "ES", "NL")


def _load_simulation():
    """The data-generating process of ``benchmarks/panel_simulation.py`` (one DGP for tests and benchmark)."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "panel_simulation.py"
    spec = importlib.util.spec_from_file_location("panel_simulation", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


sim = _load_simulation()


@pytest.fixture(scope="module")
def default():
    return oilflows.load_default()


@pytest.fixture(scope="module")
def real(default):
    # The old default, explicit (its reference values); "drop" is the default now.
    return synthetic_control(default, treated="DE", donors=DONORS, confidential="lower_bound",
                             partner="KZ")


# -- the weights -----------------------------------------------------------------------------------------


def test_simplex_weights_recover_an_exact_convex_combination():
    rng = np.random.default_rng(0)
    donors = rng.normal(size=(36, 6))
    truth = np.array([0.5, 0.0, 0.3, 0.0, 0.2, 0.0])
    weights = simplex_weights(donors @ truth, donors)
    assert weights == pytest.approx(truth, abs=1e-5)
    assert weights.sum() == pytest.approx(1.0) and (weights >= 0).all()


def test_simplex_weights_match_a_grid_search_on_the_simplex():
    rng = np.random.default_rng(1)
    donors = rng.normal(size=(20, 3))
    target = rng.normal(size=20) + 2.0  # outside the hull: the optimum is on the boundary
    weights = simplex_weights(target, donors)
    grid = [np.array([a, b, 1 - a - b]) / 1.0 for a, b in itertools.product(np.linspace(0, 1, 201), repeat=2)
            if a + b <= 1 + 1e-12]
    best = min(grid, key=lambda w: np.sum((target - donors @ w) ** 2))
    loss = np.sum((target - donors @ weights) ** 2)
    assert loss <= np.sum((target - donors @ best) ** 2) + 1e-9
    assert weights == pytest.approx(best, abs=0.01)


# -- simulations with known truth (more seeds in benchmarks/panel_simulation.py) ---------------------------


def test_recovers_effect_when_treated_is_in_the_convex_hull():
    errors = []
    for seed in range(6):
        frame, truth = sim.simulate_frame(seed, n_units=8, n_treated=1, in_hull=True)
        r = synthetic_control(frame, treated=truth.treated[0], donors=truth.controls, partner="KZ")
        errors.append(r.effect - truth.beta)
        assert r.weights.sum() == pytest.approx(1.0) and (r.weights >= 0).all()
        assert r.pre_rmspe < 0.01  # the pre-period path is reproduced up to the noise (sd 0.006)
        assert r.p_value == pytest.approx(1 / 8)  # a 9-point effect ranks first among 8 units
    assert np.mean(np.abs(errors)) < 0.008  # truth is 0.09
    assert abs(np.mean(errors)) < 0.006


def test_placebo_p_values_are_uniform_without_an_effect():
    p_values = []
    for seed in range(40):
        frame, truth = sim.simulate_frame(seed, n_units=6, n_treated=1, theta=0.0)  # exchangeable units
        p_values.append(synthetic_control(frame, treated=truth.treated[0], donors=truth.controls,
                                          partner="KZ").p_value)
    p_values = np.array(p_values)
    assert set(np.round(p_values * 6).astype(int)) <= set(range(1, 7))  # p in {1/6, ..., 1}
    assert p_values.mean() == pytest.approx(7 / 12, abs=0.12)  # uniform on {1/6..1}: mean 7/12
    assert (p_values <= 1 / 6 + 1e-9).mean() < 0.35  # uniform: 1/6


def test_intercept_handles_a_treated_unit_above_the_hull():
    classic_errors, demeaned_errors = [], []
    for seed in range(3):
        frame, truth = sim.simulate_frame(seed, n_units=8, n_treated=1, in_hull=True, level_shift=0.08)
        classic = synthetic_control(frame, treated=truth.treated[0], donors=truth.controls, partner="KZ")
        demeaned = synthetic_control(frame, treated=truth.treated[0], donors=truth.controls,
                                     intercept=True, partner="KZ")
        assert classic.hull["months_above"] == classic.hull["pre_months"]
        assert any("outside the donors' range" in c for c in classic.caveats)
        pre = demeaned.paths[~demeaned.paths["post"]]
        assert pre["gap"].mean() == pytest.approx(0.0, abs=1e-12)  # the pre-period mean is matched exactly
        classic_errors.append(classic.effect - truth.beta)
        demeaned_errors.append(demeaned.effect - truth.beta)
    assert np.mean(np.abs(classic_errors)) > 0.02  # levels cannot be matched: biased
    assert np.mean(np.abs(demeaned_errors)) < 0.008


# -- real data: DE with FR, IT, ES, NL -------------------------------------------------------------------


def test_real_data_identities(real):
    assert real.treated == "DE" and real.donors == ["IT", "NL"]
    assert set(real.dropped) == {"FR", "ES"} and "missing" in real.dropped["FR"]
    assert real.weights.sum() == pytest.approx(1.0) and (real.weights >= 0).all()
    paths = real.paths
    assert np.allclose(paths["gap"], paths["treated"] - paths["synthetic"])
    panel = real.panel.wide("y")
    assert np.allclose(paths["synthetic"], panel.loc[paths.index, ["IT", "NL"]] @ real.weights)
    post = paths[paths["post"]]
    assert real.effect == pytest.approx(post["gap"].mean())
    assert real.pre_rmspe == pytest.approx(np.sqrt((paths.loc[~paths["post"], "gap"] ** 2).mean()))
    assert real.ratio == pytest.approx(real.post_rmspe / real.pre_rmspe)
    ranks = (real.placebos["ratio"] >= real.ratio * (1 - 1e-12)).sum()
    assert real.p_value == pytest.approx(ranks / 3)
    assert (real.pre, real.post) == ((pd.Timestamp("2020-01-01"), pd.Timestamp("2022-12-01")),
                                     (pd.Timestamp("2023-01-01"), pd.Timestamp("2023-12-01")))


def test_real_data_flags_convex_hull_and_caveats(real):
    # DE's Kazakh share is above both donors' in most pre-period months (methods note, section 8).
    assert real.hull["months_above"] > real.hull["pre_months"] / 2
    text = real.summary()
    for needle in ("outside the donors' range", "SUTVA", "FR left out", "placebo-in-space p-value",
                   "cannot be below 0.33", "undisclosed"):
        assert needle in text


def test_default_donors_exclude_druzhba_reporters(default):
    result = synthetic_control(default, treated="DE", partner="KZ")
    assert "PL" not in result.donors and "PL" not in result.dropped
    assert set(result.donors) | set(result.dropped) == set(DONORS)


def test_drop_is_the_default(default):
    # DE's KZ cell is confidential in 43 of its 48 months: "drop" keeps only the identified ones.
    result = synthetic_control(default, treated="DE", donors=DONORS, partner="KZ")
    explicit = synthetic_control(default, treated="DE", donors=DONORS, confidential="drop", partner="KZ")
    assert result.panel.confidential == "drop"
    assert (result.panel.data["partner_confidential"] == 0).all()
    pd.testing.assert_frame_equal(result.paths, explicit.paths)


def test_plots(real):
    ax = real.plot()
    assert len(ax.lines) >= 2 and len(ax.lines[0].get_xdata()) == len(real.paths)
    ax = real.plot(kind="placebo")
    assert len(ax.lines) >= 3
    assert list(real.to_frame().columns) == ["period", "treated", "synthetic", "gap", "post"]
    with pytest.raises(AnalysisError, match="kind must be"):
        real.plot(kind="bars")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"treated": "XX"}, "treated reporter XX not in the data"),
    ({"treated": "PL"}, "treated reporter PL: no WORLD total"),
    ({"treated": "DE", "donors": ("IT",)}, "fewer than 2 donors"),
    ({"treated": "DE", "donors": ("FR", "ES", "IT")}, "fewer than 2 donors.*FR: missing"),
    ({"treated": "DE", "pre": ("2015-01", "2015-12")}, "no month with a disclosed partner in 2015-01"),
    ({"treated": "DE", "pre": ("2020-01", "2023-03")}, "must start after the pre-period"),
    ({"treated": "EU_V"}, "aggregate"),
])
def test_error_paths(default, kwargs, message):
    kwargs.setdefault("donors", DONORS)
    with pytest.raises(AnalysisError, match=message):
        synthetic_control(default, partner="KZ", **kwargs)


@pytest.mark.parametrize("rule", ["bounds", "zero"])
def test_synthetic_control_refuses_rules_it_cannot_honour(rule):
    with pytest.raises(AnalysisError, match="confidential must be 'drop' or 'lower_bound'"):
        synthetic_control(oilflows.load_default(), "DE", confidential=rule, partner="KZ")
