"""Issue 15: substitution bounds for every reporter x (displaced, substitute) pair, fast and equal to
substitution_bounds pair by pair."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import oilflows
from oilflows.analytics import _accounting
from oilflows.analytics.bounds import _polygon_ratio, _rectangle_ratio, pair_bounds, substitution_bounds
from oilflows.analytics.panel_run import BOUNDS_COLUMNS, panel_bounds
from oilflows.errors import AnalysisError

WINDOWS = {"baseline": ("2021-01", "2021-12"), "post": ("2023-01", "2023-12")}


@pytest.fixture(scope="module")
def default() -> pd.DataFrame:
    return oilflows.load_default()


@pytest.fixture(scope="module")
def run(default):
    before = _accounting.LP_SOLVES[0]
    result = panel_bounds(default, reporters=["DE", "IT", "PL"])
    return result, _accounting.LP_SOLVES[0] - before


def _same(a: float, b: float) -> bool:
    if np.isnan(a) or np.isnan(b):
        return bool(np.isnan(a) and np.isnan(b))
    if np.isinf(a) or np.isinf(b):
        return a == b
    return bool(np.isclose(a, b, rtol=1e-7, atol=1e-9 * max(1.0, abs(b))))


def test_every_method_equals_substitution_bounds_on_a_sample(default, run):
    result, _ = run
    table = result.ok
    assert set(table["method"]) >= {"identity", "polygon"}
    rng = np.random.default_rng(15)
    checked = 0
    for (reporter, method), group in table.groupby(["reporter", "method"]):
        for i in rng.choice(len(group), size=min(5, len(group)), replace=False):
            row = group.iloc[i]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref = substitution_bounds(default, reporter, displaced=row["displaced"],
                                          substitute=row["substitute"], **WINDOWS)
            for name, pair in (("gain", ref.gain), ("shortfall", ref.shortfall),
                               ("coverage", ref.coverage)):
                for end, value in zip(("lower", "upper"), pair, strict=True):
                    assert _same(row[f"{name}_{end}"], value), (reporter, method, row.to_dict(), name)
            assert (row["note"] if isinstance(row["note"], str) else None) == ref.note
            checked += 1
    assert checked >= 15


def test_pairs_cover_every_partner_with_a_cell_and_need_no_linear_program(default, run):
    result, lps = run
    assert lps == result.lp_solved == 0  # identity and polygon paths only on these reporters
    de = result.ok[result.ok["reporter"] == "DE"]
    partners = sorted(set(de["displaced"]))
    assert len(de) == len(partners) * (len(partners) - 1)
    months = pd.date_range("2021-01-01", "2021-12-01", freq="MS").union(
        pd.date_range("2023-01-01", "2023-12-01", freq="MS"))
    rows = default[(default["dataset"] == "nrg_ti_coifpm") & (default["reporter"] == "DE")
                   & (default["partner"] != "WORLD") & default["period"].isin(months)]
    assert partners == sorted(rows["partner"].unique())
    assert list(result.table.columns) == list(BOUNDS_COLUMNS)


def test_the_linear_program_path_is_counted_and_agrees(default):
    """Forcing the LP path (Program.ratio_extremes) for coupled pairs gives the polygon's figures."""
    records, _ = pair_bounds(default, "DE", **WINDOWS)
    coupled = [r for r in records if r["method"] == "polygon"][:4]
    assert coupled
    for r in coupled:
        before = _accounting.LP_SOLVES[0]
        ref = substitution_bounds(default, "DE", displaced=r["displaced"], substitute=r["substitute"],
                                  **WINDOWS)
        assert _accounting.LP_SOLVES[0] - before >= 4  # gain, shortfall and the ratio: LPs
        assert _same(r["coverage_lower"], ref.coverage[0]) and _same(r["coverage_upper"], ref.coverage[1])


def test_ratio_rules_by_hand():
    assert _rectangle_ratio(1.0, 2.0, 4.0, 8.0) == (0.125, 0.5, None)
    lo, hi, note = _rectangle_ratio(1.0, 2.0, -1.0, 0.0)
    assert np.isnan(lo) and np.isnan(hi) and "never positive" in note
    lo, hi, note = _rectangle_ratio(-1.0, 2.0, -1.0, 4.0)
    assert (lo, hi) == (-np.inf, np.inf) and note.endswith("unbounded")
    assert _rectangle_ratio(1.0, 2.0, -1.0, 4.0)[:2] == (0.25, np.inf)
    assert _rectangle_ratio(-np.inf, 0.0, -np.inf, np.inf)[:2] == (-np.inf, 0.0)
    # The triangle (N, D) in {(0, 1), (2, 1), (0, 3)}: N / D from 0 to 2.
    assert _polygon_ratio(np.array([[0.0, 1.0], [2.0, 1.0], [0.0, 3.0]]))[:2] == (0.0, 2.0)
    # A segment crossing D = 0 with N > 0 there: unbounded above; its finite end at D = max D.
    lo, hi, note = _polygon_ratio(np.array([[1.0, -1.0], [1.0, 2.0]]))
    assert hi == np.inf and lo == pytest.approx(0.5) and note.endswith("above")


def test_result_contract_and_errors(default, run):
    result, _ = run
    text = str(result.summary())
    assert "pairs" in text and "DE" in text and "linear programs" in text
    assert result.n_tasks == 3
    frame = result.to_frame()
    assert frame.index.equals(pd.RangeIndex(len(frame)))
    with pytest.raises(AnalysisError, match="must start after"):
        panel_bounds(default, baseline=("2023-01", "2023-12"), post=("2022-01", "2022-12"))
    missing = panel_bounds(default, reporters=["DE", "XX"])
    assert missing.table["error"].notna().sum() == 1
