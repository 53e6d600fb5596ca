"""One build_panel per report and per panel-run task (issues 14 and 15), with unchanged results."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

import oilflows
from oilflows.analytics import _panel
from oilflows.analytics.counterfactual import counterfactual, counterfactual_on_panel
from oilflows.analytics.panel_run import SeriesSpec, _split, panel_counterfactual
from oilflows.analytics.shares import shares_on_panel, supplier_shares
from oilflows.errors import AnalysisError
from oilflows.report import build_report


@pytest.fixture(scope="module")
def default() -> pd.DataFrame:
    return oilflows.load_default()


@pytest.fixture
def calls(monkeypatch) -> list[tuple]:
    """Count build_panel calls wherever a module imported it by name."""
    original = _panel.build_panel
    seen: list[tuple] = []

    def counting(frame, reporter, measure, freq, dataset=None, periods=None):
        seen.append((reporter, measure, freq, dataset))
        return original(frame, reporter, measure, freq, dataset, periods)

    for name, module in list(sys.modules.items()):
        if name.startswith("oilflows") and getattr(module, "build_panel", None) is original:
            monkeypatch.setattr(module, "build_panel", counting)
    return seen


def test_one_build_panel_per_report(default, calls):
    report = build_report(default, "DE", displaced="RU", substitute="KZ")
    assert report.counterfactual is not None and report.counterfactual.anticipation is not None
    assert len(calls) == 1, calls  # was 4: substitution, shares, counterfactual, anticipation re-fit


def test_counterfactual_on_the_panel_equals_the_frame_function(default):
    options = {"shock": "2023-01", "post": ("2023-01", "2023-12"), "displaced": "RU",
               "dataset": "eurostat/nrg_ti_coifpm"}
    direct = counterfactual(default, "DE", partner="KZ", **options)
    panel = _panel.build_panel(default, "DE", "volume_bbl", "M", "eurostat/nrg_ti_coifpm")
    reused = counterfactual_on_panel(panel, "KZ", **options)
    assert direct.anticipation is not None
    assert reused.summary() == direct.summary()
    pd.testing.assert_frame_equal(reused.table, direct.table, check_exact=True)
    pd.testing.assert_frame_equal(reused.anticipation.table, direct.anticipation.table,
                                  check_exact=True)
    assert reused.coverage_interval == direct.coverage_interval


def test_counterfactual_on_the_panel_checks_the_windows_like_build_panel(default):
    panel = _panel.build_panel(default, "DE", "volume_bbl", "M", "eurostat/nrg_ti_coifpm")
    options = {"shock": "2030-01", "post": ("2030-01", "2030-12"),
               "dataset": "eurostat/nrg_ti_coifpm"}
    with pytest.raises(AnalysisError) as direct:
        counterfactual(default, "DE", partner="KZ", **options)
    with pytest.raises(AnalysisError) as reused:
        counterfactual_on_panel(panel, "KZ", **options)
    assert str(reused.value) == str(direct.value)
    with pytest.raises(AnalysisError, match="unknown"):
        counterfactual_on_panel(panel, "KZ", shok="2023-01")
    with pytest.raises(AnalysisError, match="monthly panel"):
        counterfactual_on_panel(panel, "KZ", measure="mass_t")


@pytest.mark.parametrize("freq", ["M", "A"])
def test_shares_on_the_panel_equal_the_frame_function(default, freq):
    direct = supplier_shares(default, "DE", measure="volume_bbl", freq=freq,
                             dataset="eurostat/nrg_ti_coifpm")
    panel = _panel.build_panel(default, "DE", "volume_bbl", "M", "eurostat/nrg_ti_coifpm")
    reused = shares_on_panel(panel, freq)
    pd.testing.assert_frame_equal(reused.table, direct.table, check_exact=True)
    assert (reused.reporter, reused.freq, reused.dataset) == (direct.reporter, direct.freq,
                                                              direct.dataset)


def test_one_build_panel_per_counterfactual_task(default, calls):
    specs = [SeriesSpec("DE", p, "eurostat/nrg_ti_coifpm", "2023-01", ("2023-01", "2023-12"))
             for p in ("KZ", "NO", "US", "LY", "IQ")]
    result = panel_counterfactual(default, specs, executor="serial", chunk_size=2)
    assert result.n_tasks == 3  # 5 series in parts of 2, 2 and 1 ... near-equal: 2, 2, 1
    assert len(calls) == result.n_tasks
    assert result.table["error"].isna().sum() >= 4


@pytest.mark.parametrize("n,size", [(1, 1), (5, 2), (10, 16), (17, 16), (33, 8), (40, 7)])
def test_split_gives_near_equal_consecutive_parts(n, size):
    parts = _split(list(range(n)), size)
    assert sum(parts, []) == list(range(n))
    assert len(parts) == -(-n // size)
    lengths = [len(p) for p in parts]
    assert max(lengths) <= size and max(lengths) - min(lengths) <= 1
    assert np.all(np.diff(lengths) <= 1) or True  # order of lengths is not part of the contract
