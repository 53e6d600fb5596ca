"""Shift-share split: exact identities on real data and random panels, hand cases, reference changes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import oilflows
from oilflows.analytics.shift_share import ShiftShareResult, shift_share
from oilflows.errors import AnalysisError
from oilflows.schema import COLUMNS, conform

KBBL = 1e3


@pytest.fixture(scope="module")
def default():
    return oilflows.load_default()


@pytest.fixture(scope="module")
def de_result(default):
    return shift_share(default, "DE", dataset="nrg_ti_coifpm")


def _rows(records):
    """Canonical rows for reporter XX from (period, partner, volume_bbl or None, flag) tuples."""
    frame = pd.DataFrame([
        {"source": "test", "dataset": "hand", "vintage": pd.NaT, "freq": "M", "period": pd.Timestamp(p),
         "reporter": "XX", "partner": partner, "flow": "import", "product": "crude_oil",
         "grade": None if partner == "WORLD" else f"{partner}_G", "volume_bbl": v, "flag": flag}
        for p, partner, v, flag in records])
    for column in COLUMNS:
        if column not in frame:
            frame[column] = None
    return conform(frame[list(COLUMNS)])


def _assert_identities(table: pd.DataFrame, rtol: float = 1e-9) -> None:
    scale = max(1.0, table["change"].abs().max())
    gap = (table["scale_effect"] + table["share_effect"] - table["change"]).abs()
    assert (gap <= rtol * scale).all(), gap.max()
    rows = table.drop(index="WORLD")
    world_change = table.loc["WORLD", "change"]
    assert abs(rows["scale_effect"].sum() - world_change) <= rtol * scale
    assert abs(rows["share_effect"].sum()) <= rtol * scale
    assert abs(rows["base_share"].sum() - 1.0) <= 1e-9
    assert abs(rows["comparison_share"].sum() - 1.0) <= 1e-9


# -- real data ---------------------------------------------------------------------------------


def test_identity_on_real_data(de_result, default):
    _assert_identities(de_result.table)
    assert de_result.identity_residual < 1e-12
    register = shift_share(default, "DE", baseline=("2014-01", "2014-12"), post=("2019-01", "2019-12"),
                           dataset="coir")
    _assert_identities(register.table)
    assert register.undisclosed_share == {"base": pytest.approx(0, abs=1e-12),
                                          "comparison": pytest.approx(0, abs=1e-12)}


def test_changes_match_the_methods_note(de_result):
    table = de_result.table
    # Section 2: disclosed changes 2021 -> 2023 in kbbl per year; the table holds monthly means.
    for partner, expected in {"RU": -186_493, "NO": 59_228, "US": 56_830, "IQ": 11_519, "KZ": 3_744}.items():
        assert table.loc[partner, "change"] * 12 / KBBL == pytest.approx(expected, abs=1.0), partner
    # R3: WORLD 567,881 -> 546,621 kbbl; undisclosed 196,182 -> 198,280.
    assert table.loc["WORLD", "base_mean"] * 12 / KBBL == pytest.approx(567_881, abs=0.5)
    assert table.loc["WORLD", "comparison_mean"] * 12 / KBBL == pytest.approx(546_621, abs=0.5)
    assert table.loc["undisclosed", "base_mean"] * 12 / KBBL == pytest.approx(196_182, abs=0.5)
    # Hand: RU's scale effect = its 2021 share of WORLD x the change in WORLD (annual kbbl).
    ru_scale = 186_493 / 567_881 * (546_621 - 567_881)
    assert table.loc["RU", "scale_effect"] * 12 / KBBL == pytest.approx(ru_scale, abs=1.0)
    assert table.loc["RU", "comparison_share"] == 0
    assert de_result.undisclosed_share["base"] == pytest.approx(196_182 / 567_881, abs=1e-6)


def test_summary_frame_and_caveats(de_result):
    text = de_result.summary()
    assert "undisclosed" in text and "scale" in text and "2021-01..2021-12" in text
    assert "KZ (12/10)" in " ".join(de_result.caveats)  # KZ_MSC confidential cells
    frame = de_result.to_frame()
    assert {"base_share", "comparison_share", "scale_effect", "share_effect"} <= set(frame.columns)
    assert frame["partner"].iloc[-1] == "WORLD" and "undisclosed" in set(frame["partner"])


# -- hand cases and random panels --------------------------------------------------------------


def test_hand_case():
    frame = _rows([
        ("2021-01-01", "WORLD", 100.0, None), ("2021-01-01", "AA", 60.0, None),
        ("2021-01-01", "BB", 40.0, None),
        ("2023-01-01", "WORLD", 150.0, None), ("2023-01-01", "AA", 60.0, None),
        ("2023-01-01", "BB", 60.0, None), ("2023-01-01", "CC", None, "c"),
    ])
    r = shift_share(frame, "XX", baseline=("2021-01", "2021-01"), post=("2023-01", "2023-01"))
    t = r.table
    # AA: s0 = 0.6, s1 = 0.4; scale = 0.6 * 50 = 30; share = -0.2 * 150 = -30; change 0.
    assert t.loc["AA", "scale_effect"] == pytest.approx(30)
    assert t.loc["AA", "share_effect"] == pytest.approx(-30)
    # BB: s0 = 0.4, s1 = 0.4: all scale (20), no share effect.
    assert t.loc["BB", "scale_effect"] == pytest.approx(20)
    assert t.loc["BB", "share_effect"] == pytest.approx(0)
    # Undisclosed (CC's confidential 30): s0 = 0, s1 = 0.2: all share effect.
    assert t.loc["undisclosed", "share_effect"] == pytest.approx(30)
    assert t.loc["undisclosed", "confidential_comparison"] == 0
    assert t.loc["WORLD", "confidential_comparison"] == 1
    _assert_identities(t)


@pytest.mark.parametrize("seed", range(25))
def test_identity_on_random_panels(seed):
    rng = np.random.default_rng(seed)
    partners = [f"P{i}" for i in range(rng.integers(2, 9))]
    months = list(pd.date_range("2021-01-01", periods=12, freq="MS")) + list(
        pd.date_range("2023-01-01", periods=12, freq="MS"))
    records = []
    for m in months:
        vols = rng.lognormal(3, 1.5, len(partners)) * (rng.random(len(partners)) > 0.3)
        conf = rng.random(len(partners)) < 0.2
        records += [(m, p, None if c else float(v), "c" if c else None)
                    for p, v, c in zip(partners, vols, conf, strict=True) if v > 0]
        records.append((m, "WORLD", float(vols.sum() + rng.gamma(2, 5)), None))
    r = shift_share(_rows(records), "XX")
    _assert_identities(r.table)
    assert r.identity_residual < 1e-9


def test_errors(default):
    frame = _rows([("2021-01-01", "WORLD", 10.0, None), ("2023-01-01", "WORLD", 10.0, None)])
    with pytest.raises(AnalysisError, match="must start after the base"):
        shift_share(frame, "XX", baseline=("2023-01", "2023-12"), post=("2021-01", "2021-12"))
    with pytest.raises(AnalysisError, match="no data"):
        shift_share(frame, "XX", baseline=("1999-01", "1999-12"))
    with pytest.raises(AnalysisError, match="several datasets"):
        shift_share(default, "DE", baseline=("2014-01", "2014-12"), post=("2019-01", "2019-12"))
    with pytest.raises(AnalysisError, match="not a pair of periods"):
        shift_share(frame, "XX", baseline=("then", "now"))
    zero = _rows([("2021-01-01", "WORLD", 0.0, None), ("2023-01-01", "WORLD", 10.0, None)])
    with pytest.raises(AnalysisError, match="total is 0"):
        shift_share(zero, "XX")


def test_plot(de_result):
    assert isinstance(de_result, ShiftShareResult)
    ax = de_result.plot()
    assert len(ax.patches) > 0 and len(ax.get_lines()[0].get_xdata()) > 0
    import matplotlib.pyplot as plt

    plt.close("all")
