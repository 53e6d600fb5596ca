"""Concentration indices: the register's German HHI (methods note R4), hand cases, identities, bounds."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import oilflows
from oilflows.analytics.concentration import (
    ConcentrationResult,
    concentration,
    cr_k,
    effective_n,
    evenness,
    hhi,
    risk_weighted_hhi,
    shannon,
)
from oilflows.errors import AnalysisError
from oilflows.schema import COLUMNS, conform


@pytest.fixture(scope="module")
def default():
    return oilflows.load_default()


@pytest.fixture(scope="module")
def coir_de(default):
    return concentration(default, "DE", dataset="coir")


def _rows(records, freq="M"):
    """Canonical rows for reporter XX from (period, partner, volume_bbl or None, flag) tuples."""
    frame = pd.DataFrame([
        {"source": "test", "dataset": "hand", "vintage": pd.NaT, "freq": freq, "period": pd.Timestamp(p),
         "reporter": "XX", "partner": partner, "flow": "import", "product": "crude_oil",
         "grade": None if partner == "WORLD" else f"{partner}_G", "volume_bbl": v, "flag": flag}
        for p, partner, v, flag in records])
    for column in COLUMNS:
        if column not in frame:
            frame[column] = None
    return conform(frame[list(COLUMNS)])


# -- the real register against the methods note, table R4 ----------------------------------------


def test_register_germany_hhi_matches_reference(coir_de):
    table = coir_de.table
    expected = {2013: 1664, 2014: 1731, 2015: 1756, 2016: 1954, 2017: 1626, 2018: 1708, 2019: 1364}
    got = {p.year: round(v) for p, v in table["hhi_world"].items()}
    assert got == expected
    # The register has no undisclosed German volume: both versions coincide.
    assert (table["undisclosed_share"].abs() < 1e-12).all()
    np.testing.assert_allclose(table["hhi_disclosed"], table["hhi_world"], rtol=1e-12)
    np.testing.assert_allclose(table["hhi_world_max"], table["hhi_world"], rtol=1e-12)
    # R4 totals (kbbl) and RU share 2016 = 38.96 %.
    assert table.loc["2013-01-01", "world"] / 1e3 == pytest.approx(643_532, abs=0.5)
    assert coir_de.shares().loc["2016-01-01", "RU"] == pytest.approx(0.3896, abs=5e-5)
    assert (table["months"] == 12).all()
    assert coir_de.source == "dg_ener" and coir_de.dataset == "coir"


def test_rolling_12_months_ending_december_equals_the_calendar_year(default, coir_de):
    rolled = concentration(default, "DE", freq="M", dataset="coir", rolling=12).table
    assert rolled.index.min() == pd.Timestamp("2013-12-01")  # first full window
    for year in range(2013, 2020):
        december = rolled.loc[pd.Timestamp(f"{year}-12-01")]
        annual = coir_de.table.loc[pd.Timestamp(f"{year}-01-01")]
        assert december["hhi_world"] == pytest.approx(annual["hhi_world"], rel=1e-12)
        assert december["world"] == pytest.approx(annual["world"], rel=1e-12)
    assert (rolled["months"] == 12).all()


def test_eurostat_shows_the_undisclosed_share(default):
    result = concentration(default, "DE", dataset="nrg_ti_coifpm")
    t = result.table.loc["2020-01-01":"2023-01-01"]
    # R3: confidential gap 33 / 35 / 36 / 36 % of TOTAL.
    np.testing.assert_allclose(t["undisclosed_share"], [0.328, 0.345, 0.365, 0.363], atol=1e-3)
    assert (t["hhi_world"] < t["hhi_disclosed"]).all()
    assert (t["hhi_world"] <= t["hhi_world_max"]).all()
    # Shares of WORLD sum to 1 - undisclosed; shares of disclosed sum to 1.
    shares = result.shares("world").loc[t.index].sum(axis=1)
    np.testing.assert_allclose(shares, 1 - t["undisclosed_share"], rtol=1e-12)
    np.testing.assert_allclose(result.shares("disclosed").loc[t.index].sum(axis=1), 1.0, rtol=1e-12)
    # Total-only years (before 2020) have no disclosed partner: indices NaN, not 0.
    assert result.table.loc["2015-01-01", ["hhi_world", "hhi_disclosed"]].isna().all()
    assert "no disclosed partner" in " ".join(result.caveats)
    text = result.summary()
    assert "undisclosed" in text and "of WORLD" in text and "2023" in text


# -- primitives: identities and hand computations ------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 17])
def test_equal_suppliers_identities(n):
    shares = np.full(n, 1.0 / n)
    assert hhi(shares) == pytest.approx(10_000 / n)
    assert effective_n(shares) == pytest.approx(n)
    assert shannon(shares) == pytest.approx(math.log(n), abs=1e-12)
    assert cr_k(shares, 3) == pytest.approx(min(3, n) / n)
    if n >= 2:
        assert evenness(shares) == pytest.approx(1.0)
    else:
        assert math.isnan(evenness(shares))


def test_hand_computed_primitives():
    shares = {"A": 0.5, "B": 0.3, "C": 0.2}
    assert hhi(shares) == pytest.approx(3800)  # 2500 + 900 + 400
    assert effective_n(shares) == pytest.approx(1 / 0.38)
    assert shannon(shares) == pytest.approx(-(0.5 * math.log(0.5) + 0.3 * math.log(0.3)
                                              + 0.2 * math.log(0.2)))
    assert cr_k(shares, 2) == pytest.approx(0.8)
    assert risk_weighted_hhi(shares, {"A": 1, "B": 1, "C": 1}) == pytest.approx(3800)
    # (2*0.5)^2 + (0.5*0.3)^2 + (1*0.2)^2 = 1 + 0.0225 + 0.04
    assert risk_weighted_hhi(shares, {"A": 2, "B": 0.5, "C": 1}) == pytest.approx(10_625)
    assert risk_weighted_hhi(shares, {"A": 2}, default=1) == pytest.approx(10_000 + 900 + 400)


def test_primitive_errors():
    with pytest.raises(AnalysisError, match="non-negative"):
        hhi([0.5, -0.1])
    with pytest.raises(AnalysisError, match="NaN"):
        hhi([0.5, np.nan])
    with pytest.raises(AnalysisError, match="positive integer"):
        cr_k([0.5, 0.5], 0)
    with pytest.raises(AnalysisError, match=r"no coefficient for \['B'\]"):
        risk_weighted_hhi({"A": 0.6, "B": 0.4}, {"A": 1.0})


# -- the analytic on hand-made frames ------------------------------------------------------------


def test_hand_case_with_a_confidential_cell():
    frame = _rows([
        ("2021-01-01", "WORLD", 100.0, None), ("2021-01-01", "AA", 50.0, None),
        ("2021-01-01", "BB", 30.0, None), ("2021-01-01", "CC", None, "c"),
    ])
    r = concentration(frame, "XX", freq="M", k=1)
    row = r.table.iloc[0]
    assert row["undisclosed_share"] == pytest.approx(0.2)
    assert row["hhi_world"] == pytest.approx(3400)  # 0.5^2 + 0.3^2
    assert row["hhi_world_max"] == pytest.approx(5800)  # 0.7^2 + 0.3^2
    assert row["hhi_disclosed"] == pytest.approx(5312.5)  # 0.625^2 + 0.375^2
    assert row["cr1_world"] == pytest.approx(0.5) and row["cr1_disclosed"] == pytest.approx(0.625)
    assert row["n_suppliers"] == 2  # the undisclosed residual is not a supplier
    assert row["shannon_disclosed"] == pytest.approx(-(0.625 * math.log(0.625)
                                                       + 0.375 * math.log(0.375)))
    assert row["effective_n_disclosed"] == pytest.approx(1 / 0.53125)
    rw = r.risk_weighted_hhi({"AA": 2.0, "BB": 1.0})
    assert rw.iloc[0]["hhi_r_world"] == pytest.approx(10_000 * (1.0**2 + 0.3**2))
    assert rw.iloc[0]["hhi_r_disclosed"] == pytest.approx(10_000 * (1.25**2 + 0.375**2))


def test_equal_suppliers_through_the_analytic():
    records = []
    for n, year in zip(range(1, 7), range(2015, 2021), strict=True):
        records.append((f"{year}-03-01", "WORLD", 60.0, None))
        records += [(f"{year}-03-01", f"P{i}", 60.0 / n, None) for i in range(n)]
    r = concentration(_rows(records), "XX", freq="A")
    t = r.table
    np.testing.assert_allclose(t["hhi_world"], [10_000 / n for n in range(1, 7)])
    np.testing.assert_allclose(t["effective_n_disclosed"], range(1, 7))
    np.testing.assert_allclose(t["shannon_world"], [math.log(n) for n in range(1, 7)], atol=1e-12)
    assert (t["months"] == 1).all()
    assert "Incomplete years" in " ".join(r.caveats) and "2015 (1 months)" in " ".join(r.caveats)


def test_true_hhi_lies_within_the_reported_bounds():
    """Hide random cells; the HHI of the full data must lie in [hhi_world, hhi_world_max].

    300 independent draws, one per month of a single frame (8 partners, gamma volumes, 25 % absent,
    30 % of the present cells confidential).
    """
    rng = np.random.default_rng(2024)
    partners = [f"P{i}" for i in range(8)]
    months = pd.date_range("1990-01-01", periods=300, freq="MS")
    records, truth = [], {}
    for month in months:
        volumes = rng.gamma(0.8, 100.0, len(partners)) * (rng.random(len(partners)) > 0.25)
        hidden = rng.random(len(partners)) < 0.3
        if volumes.sum() == 0 or all(h for v, h in zip(volumes, hidden, strict=True) if v > 0):
            continue
        truth[month] = hhi(volumes / volumes.sum())
        records.append((month, "WORLD", float(volumes.sum()), None))
        records += [(month, p, None if h else float(v), "c" if h else None)
                    for p, v, h in zip(partners, volumes, hidden, strict=True) if v > 0]
    table = concentration(_rows(records), "XX", freq="M").table
    truth = pd.Series(truth).reindex(table.index)
    assert len(truth) > 250 and truth.notna().all()
    assert (table["hhi_world"] <= truth + 1e-9).all()
    assert (truth <= table["hhi_world_max"] + 1e-9).all()
    # The bounds are informative: the gap is not always the whole range.
    assert (table["hhi_world_max"] - table["hhi_world"]).median() < 5_000


def test_errors(default):
    frame = _rows([("2021-01-01", "WORLD", 10.0, None), ("2021-01-01", "AA", 10.0, None)])
    with pytest.raises(AnalysisError, match="freq"):
        concentration(frame, "XX", freq="Q")
    with pytest.raises(AnalysisError, match="rolling sums need freq='M'"):
        concentration(frame, "XX", freq="A", rolling=12)
    with pytest.raises(AnalysisError, match="rolling must be"):
        concentration(frame, "XX", freq="M", rolling=1)
    with pytest.raises(AnalysisError, match="positive integer"):
        concentration(frame, "XX", k=0)
    with pytest.raises(AnalysisError, match="measure"):
        concentration(frame, "XX", measure="api_gravity")
    with pytest.raises(AnalysisError, match="no data"):
        concentration(frame, "YY")
    with pytest.raises(AnalysisError, match="several datasets"):
        concentration(default, "DE")  # the register and nrg_ti_coifpm both have DE barrels
    with pytest.raises(AnalysisError, match="basis"):
        concentration(frame, "XX").shares("grade")


def test_frame_and_plot(coir_de):
    assert isinstance(coir_de, ConcentrationResult)
    frame = coir_de.to_frame()
    assert {"period", "hhi_world", "hhi_disclosed", "effective_n_world", "shannon_disclosed",
            "evenness_world", "cr3_world", "undisclosed_share"} <= set(frame.columns)
    ax = coir_de.plot()
    assert len(ax.get_lines()) == 2 and len(ax.get_lines()[0].get_xdata()) == 7
    import matplotlib.pyplot as plt

    plt.close("all")
