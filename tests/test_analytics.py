"""Substitution accounting and supplier shares, checked against published-computed figures and hand sums."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import oilflows
from oilflows.analytics import substitution, supplier_shares
from oilflows.errors import AnalysisError
from oilflows.schema import COLUMNS, conform

KBBL = 1e3


@pytest.fixture(scope="module")
def default():
    return oilflows.load_default()


@pytest.fixture(scope="module")
def de_result(default):
    return substitution(default, "DE", displaced="RU",
                        substitute="KZ")  # DE, RU -> KZ, 2021 vs 2023, volume_bbl


# -- the embedded real data against the methods note, table R3 (kbbl, computed independently) ----


def test_window_totals_match_reference_table(de_result):
    table = de_result.replacement
    assert table.loc["RU", "baseline_total"] / KBBL == pytest.approx(186_493, abs=0.5)
    assert table.loc["RU", "post_total"] == 0
    assert table.loc["KZ", "baseline_total"] / KBBL == pytest.approx(45_806, abs=0.5)
    assert table.loc["KZ", "post_total"] / KBBL == pytest.approx(49_550, abs=0.5)
    assert table.loc["WORLD", "baseline_total"] / KBBL == pytest.approx(567_881, abs=0.5)
    assert table.loc["WORLD", "post_total"] / KBBL == pytest.approx(546_621, abs=0.5)
    # Disclosed = WORLD - confidential gap (R3: 2021 gap 196,182; 2023 gap 198,280).
    assert table.loc["undisclosed", "baseline_total"] / KBBL == pytest.approx(196_182, abs=0.5)
    assert table.loc["undisclosed", "post_total"] / KBBL == pytest.approx(198_280, abs=0.5)


def test_changes_match_reference_ranking(de_result):
    # Methods note section 2: disclosed changes 2021 -> 2023 (kbbl, annual).
    change = de_result.replacement["change"] * 12 / KBBL
    for partner, expected in {"NO": 59_228, "US": 56_830, "IQ": 11_519, "DZ": 8_527,
                              "GB": 6_787, "LY": 6_283, "KZ": 3_744}.items():
        assert change[partner] == pytest.approx(expected, abs=1.0), partner


def test_headline_figures(de_result):
    assert de_result.shortfall == pytest.approx(186_493e3 / 12, rel=1e-6)
    assert de_result.gain == pytest.approx((49_550e3 - 45_806e3) / 12, rel=1e-4)
    assert de_result.coverage == pytest.approx(3_744 / 186_493, rel=1e-3)
    assert (de_result.baseline_months, de_result.post_months) == (12, 12)
    assert (de_result.source, de_result.dataset) == ("eurostat", "nrg_ti_coifpm")


def test_gap_filling_identity_closes(de_result):
    table = de_result.replacement
    others = table.drop(index=["RU", "WORLD"])["change"].sum()
    assert others - table.loc["WORLD", "change"] == pytest.approx(de_result.shortfall, rel=1e-12)
    assert abs(de_result.identity_residual) < 1e-6 * de_result.shortfall
    # Shares of the shortfall: other partners (undisclosed included) plus demand reduction = 1.
    shares = table.drop(index=["RU", "WORLD"])["share_of_shortfall"].sum()
    assert shares + table.loc["WORLD", "share_of_shortfall"] == pytest.approx(1.0, abs=1e-12)


def test_caveats_name_the_confidential_cells(de_result):
    text = " ".join(de_result.caveats)
    assert "RU_EXP_BLN (7 months)" in text  # R3: 7 confidential RU_EXP_BLN cells in 2023
    assert "KZ_MSC (10 months)" in text  # R3: KZ_MSC confidential 10 of 12 months in 2023
    assert "Novorossiysk" in text and "origin" in text


def test_summary_and_frame(de_result):
    text = de_result.summary()
    assert "186,493 -> 0" in text and "45,806 -> 49,550" in text
    frame = de_result.to_frame()
    assert {"baseline_mean", "post_mean", "change", "share_of_shortfall"} <= set(frame.columns)
    assert {"WORLD", "undisclosed", "RU", "KZ"} <= set(frame["partner"])


# -- hand-computed cases ---------------------------------------------------------------------


def _rows(records):
    """Canonical rows from (period, partner, grade, volume_kbbl, flag) tuples for reporter XX."""
    frame = pd.DataFrame(
        [{"source": "test", "dataset": "hand", "vintage": pd.NaT, "freq": "M",
          "period": pd.Timestamp(p), "reporter": "XX", "partner": partner, "flow": "import",
          "product": "crude_oil", "grade": grade, "volume_bbl": None if v is None else v * KBBL,
          "flag": flag} for p, partner, grade, v, flag in records])
    for column in COLUMNS:
        if column not in frame:
            frame[column] = None
    return conform(frame[list(COLUMNS)])


HAND = [
    # baseline: Jan, Feb 2021
    ("2021-01-01", "WORLD", None, 100, None), ("2021-01-01", "RU", "RU_A", 60, None),
    ("2021-01-01", "KZ", "KZ_A", 10, None), ("2021-01-01", "NO", "NO_A", 30, None),
    ("2021-02-01", "WORLD", None, 110, None), ("2021-02-01", "RU", "RU_A", 50, None),
    ("2021-02-01", "RU", "RU_B", 10, None), ("2021-02-01", "KZ", "KZ_A", None, "c"),
    ("2021-02-01", "NO", "NO_A", 30, None),
    # post: Jan, Feb, Mar 2023 (Mar has no WORLD total, so it is not counted)
    ("2023-01-01", "WORLD", None, 90, None), ("2023-01-01", "KZ", "KZ_A", 20, None),
    ("2023-01-01", "NO", "NO_A", 50, None), ("2023-01-01", "US", "US_A", 20, None),
    ("2023-02-01", "WORLD", None, 80, None), ("2023-02-01", "KZ", "KZ_A", 15, None),
    ("2023-02-01", "NO", "NO_A", 40, None), ("2023-02-01", "RU", "RU_A", None, "c"),
    ("2023-03-01", "NO", "NO_A", 999, None),
]


def test_hand_computed_case():
    r = substitution(_rows(HAND), reporter="XX", baseline=("2021-01", "2021-02"),
                     post=("2023-01", "2023-03"), displaced="RU", substitute="KZ")
    t = r.replacement / KBBL
    # RU: baseline (60 + 60) / 2 = 60; post: Jan nothing -> 0, Feb confidential -> 0; mean 0.
    assert r.shortfall / KBBL == pytest.approx(60)
    # KZ: baseline (10 + confidential->0) / 2 = 5; post (20 + 15) / 2 = 17.5; gain 12.5.
    assert r.gain / KBBL == pytest.approx(12.5)
    assert r.coverage == pytest.approx(12.5 / 60)
    # US appears only in the post window: baseline 0, post (20 + 0) / 2 = 10.
    assert t.loc["US", "baseline_mean"] == 0 and t.loc["US", "post_mean"] == pytest.approx(10)
    # Undisclosed: Jan21 100-100=0, Feb21 110-90=20 -> 10; Jan23 90-90=0, Feb23 80-55=25 -> 12.5.
    assert t.loc["undisclosed", "baseline_mean"] == pytest.approx(10)
    assert t.loc["undisclosed", "post_mean"] == pytest.approx(12.5)
    # March 2023 has no WORLD total: not counted, so NO's 999 is ignored.
    assert r.post_months == 2
    assert t.loc["NO", "post_mean"] == pytest.approx(45)
    assert t.loc["WORLD", "change"] == pytest.approx(85 - 105)
    assert r.replacement.loc["RU", "confidential_post"] == 1
    assert r.replacement.loc["KZ", "confidential_baseline"] == 1
    assert abs(r.identity_residual) < 1e-6


def test_identity_holds_on_random_panels():
    rng = np.random.default_rng(7)
    partners = ["RU", "KZ", "NO", "US", "IQ", "LY"]
    months = list(pd.date_range("2021-01-01", periods=12, freq="MS")) + list(
        pd.date_range("2023-01-01", periods=12, freq="MS"))
    for _ in range(20):
        records = []
        for m in months:
            vols = rng.gamma(2.0, 50.0, len(partners)) * (rng.random(len(partners)) > 0.2)
            conf = rng.random(len(partners)) < 0.15
            hidden = 0.0
            for p, v, c in zip(partners, vols, conf, strict=True):
                if v == 0:
                    continue
                records.append((m, p, f"{p}_X", None if c else float(v), "c" if c else None))
                hidden += v if c else 0
            records.append((m, "WORLD", None, float(vols.sum() + rng.gamma(2, 20)), None))
        r = substitution(_rows(records), reporter="XX", displaced="RU", substitute="KZ")
        assert abs(r.identity_residual) < 1e-6 * max(1.0, abs(r.shortfall))


def test_errors():
    frame = _rows(HAND)
    with pytest.raises(AnalysisError, match="measure"):
        substitution(frame, reporter="XX", measure="api_gravity", displaced="RU", substitute="KZ")
    with pytest.raises(AnalysisError, match="after the baseline"):
        substitution(frame, reporter="XX", baseline=("2023-01", "2023-02"), post=("2021-01", "2021-02"),
                     displaced="RU", substitute="KZ")
    with pytest.raises(AnalysisError, match="no data"):
        substitution(frame, reporter="XX", baseline=("1990-01", "1990-12"), post=("2023-01", "2023-02"),
                     displaced="RU", substitute="KZ")
    with pytest.raises(AnalysisError, match="no data"):
        substitution(frame, reporter="DE", displaced="RU", substitute="KZ")
    with pytest.raises(AnalysisError, match="not a pair of periods"):
        substitution(frame, reporter="XX", baseline=("soon", "later"), displaced="RU", substitute="KZ")


def test_ambiguous_sources_are_refused(default):
    # Both the EU register and nrg_ti_coifpm have Germany's monthly barrels for 2013-2019:
    # summing them would count every barrel twice.
    with pytest.raises(AnalysisError, match="several datasets"):
        substitution(default, "DE", baseline=("2015-01", "2015-12"), post=("2019-01", "2019-12"),
                     displaced="RU", substitute="KZ")
    r = substitution(default, "DE", baseline=("2015-01", "2015-12"), post=("2019-01", "2019-12"),
                     dataset="coir", displaced="RU", substitute="KZ")
    assert r.dataset == "coir"


# -- supplier shares ---------------------------------------------------------------------------


def test_shares_sum_to_one(default):
    shares = supplier_shares(default, "DE", dataset="nrg_ti_coifpm").to_frame()
    recent = shares[shares["period"] >= "2020-01-01"]
    # Lower bounds (the disclosed cells) plus the undisclosed share make up WORLD; a confidential
    # partner's share_of_world is null (missing is not zero), an exact one equals its lower bound.
    of_world = recent.groupby("period")["share_of_world_lower"].sum()
    assert np.allclose(of_world, 1.0)
    exact = recent[recent["exact"]]
    assert np.allclose(exact["share_of_world"], exact["share_of_world_lower"])
    assert recent.loc[~recent["exact"], "share_of_world"].isna().all()
    partners = recent[recent["partner"] != "undisclosed"]
    disclosed = partners.groupby("period")["disclosed"].transform("sum")
    shown = partners["exact"] & (disclosed > 0)
    assert np.allclose(partners.loc[shown, "share_of_disclosed"],
                       partners.loc[shown, "quantity"] / disclosed[shown])


def test_annual_shares_match_reference(default):
    result = supplier_shares(default, "DE", freq="A", dataset="nrg_ti_coifpm")
    table = result.to_frame().set_index(["period", "partner"])
    y21, y23 = pd.Timestamp("2021-01-01"), pd.Timestamp("2023-01-01")
    # R3: RU % of TOTAL 2021 = 32.84; KZ % of TOTAL 2023 = 9.06; KZ % of disclosed 2023 = 14.22.
    # These are disclosed-cell figures: RU 2021 and KZ 2023 hold confidential cells, so they are the
    # lower bounds now, and share_of_world itself is null.
    assert 100 * table.loc[(y21, "RU"), "share_of_world_lower"] == pytest.approx(32.84, abs=0.005)
    assert 100 * table.loc[(y23, "KZ"), "share_of_world_lower"] == pytest.approx(9.06, abs=0.005)
    assert np.isnan(table.loc[(y23, "KZ"), "share_of_world"])
    disclosed_23 = table.loc[y23].drop(index="undisclosed")["disclosed"].sum()
    assert 100 * table.loc[(y23, "KZ"), "disclosed"] / disclosed_23 == pytest.approx(14.22, abs=0.005)
    assert table.loc[(y23, "KZ"), "months"] == 12
    assert "undisclosed" in result.summary()


def test_shares_need_a_single_dataset(default):
    with pytest.raises(AnalysisError, match="several datasets"):
        supplier_shares(default, "DE")
    with pytest.raises(AnalysisError, match="freq"):
        supplier_shares(default, "DE", freq="Q")
