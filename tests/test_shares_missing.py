"""Missing is never zero in supplier shares (issue 10, item 6): confidential partner-periods are null with
share bounds, periods without partner detail have no partner rows, plots show gaps and bands."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import oilflows
from oilflows.analytics import supplier_shares
from oilflows.analytics.concentration import concentration
from oilflows.schema import COLUMNS, conform

CONF = "c"


@pytest.fixture(scope="module")
def default():
    return oilflows.load_default()


def _frame(records, freq="M"):
    """A canonical frame for reporter XX, hand-built (not read from any source) from
    (period, partner, grade, volume_bbl or None, flag) tuples; WORLD rows have no grade."""
    frame = pd.DataFrame([
        {"source": "test", "dataset": "hand", "vintage": pd.NaT, "freq": freq,
         "period": pd.Timestamp(p), "reporter": "XX", "partner": partner, "flow": "import",
         "product": "crude_oil", "grade": grade, "volume_bbl": v, "flag": flag}
        for p, partner, grade, v, flag in records])
    for column in COLUMNS:
        if column not in frame:
            frame[column] = None
    return conform(frame[list(COLUMNS)])


# Hand-built monthly frame with known answers:
# 2021-01: WORLD 100; A_1 = 40, A_2 confidential, B_1 = 20, C_1 confidential. Disclosed 60, residual 40,
#          two holders (A, C): A in [40, 80] / 100, C in [0, 40] / 100, B exact 20 / 100 (of disclosed 20/60).
# 2021-02: WORLD 80, no partner rows at all (no partner detail).
# 2021-03: WORLD 50; A_1 = 10, A_2 = 5, B_1 confidential, C_1 = 0. Disclosed 15, residual 35, B the only
#          holder: B = 35 / 50 = 0.7 exactly (lower = upper); A exact 15 / 50; C exact 0.
HAND = [
    ("2021-01-01", "WORLD", None, 100.0, None),
    ("2021-01-01", "A", "A_1", 40.0, None),
    ("2021-01-01", "A", "A_2", None, CONF),
    ("2021-01-01", "B", "B_1", 20.0, None),
    ("2021-01-01", "C", "C_1", None, CONF),
    ("2021-02-01", "WORLD", None, 80.0, None),
    ("2021-03-01", "WORLD", None, 50.0, None),
    ("2021-03-01", "A", "A_1", 10.0, None),
    ("2021-03-01", "A", "A_2", 5.0, None),
    ("2021-03-01", "B", "B_1", None, CONF),
    ("2021-03-01", "C", "C_1", 0.0, None),
]


@pytest.fixture(scope="module")
def hand():
    return supplier_shares(_frame(HAND), "XX").to_frame().set_index(["period", "partner"])


def _row(table, period, partner):
    return table.loc[(pd.Timestamp(period), partner)]


def test_confidential_partner_month_is_null_with_hand_computed_bounds(hand):
    a = _row(hand, "2021-01-01", "A")
    assert math.isnan(a["quantity"]) and a["disclosed"] == 40.0 and a["confidential"] == 1
    assert not a["exact"]
    assert a["share_of_world_lower"] == pytest.approx(0.40)
    assert a["share_of_world_upper"] == pytest.approx(0.80)
    assert math.isnan(a["share_of_world"]) and math.isnan(a["share_of_disclosed"])
    c = _row(hand, "2021-01-01", "C")  # every cell confidential: null, not 0
    assert math.isnan(c["quantity"]) and c["disclosed"] == 0.0 and c["confidential"] == 1
    assert (c["share_of_world_lower"], c["share_of_world_upper"]) == pytest.approx((0.0, 0.40))
    b = _row(hand, "2021-01-01", "B")  # no confidential cell: exact
    assert b["exact"] and b["quantity"] == 20.0 and b["confidential"] == 0
    assert b["share_of_world"] == pytest.approx(0.20)
    assert b["share_of_world_lower"] == b["share_of_world_upper"] == b["share_of_world"]
    assert b["share_of_disclosed"] == pytest.approx(20 / 60)
    u = _row(hand, "2021-01-01", "undisclosed")
    assert u["quantity"] == 40.0 and u["share_of_world"] == pytest.approx(0.40) and u["confidential"] == 2


def test_sole_holder_gets_the_whole_residual(hand):
    b = _row(hand, "2021-03-01", "B")
    assert math.isnan(b["quantity"]) and b["confidential"] == 1
    assert b["share_of_world_lower"] == pytest.approx(0.70)
    assert b["share_of_world_upper"] == pytest.approx(0.70)
    a, c = _row(hand, "2021-03-01", "A"), _row(hand, "2021-03-01", "C")
    assert a["exact"] and a["share_of_world"] == pytest.approx(0.30)
    assert c["exact"] and c["quantity"] == 0.0  # a disclosed 0 stays an exact 0


def test_period_without_partner_detail_has_no_partner_rows(hand):
    february = hand.loc[pd.Timestamp("2021-02-01")]
    assert list(february.index) == ["undisclosed"]
    assert february.loc["undisclosed", "quantity"] == 80.0
    assert february.loc["undisclosed", "share_of_world"] == pytest.approx(1.0)


def test_annual_aggregation_with_one_confidential_month():
    # Hand-built year 2022: WORLD 100 every month; A_1 = 10, B_1 = 90, except June: A_1 and C_1
    # confidential, B_1 = 85 (residual 15, two holders). A: disclosed 110, bounds [110, 125] / 1200;
    # C: [0, 15] / 1200; B exact 1075 / 1200.
    records = []
    for month in range(1, 13):
        p = f"2022-{month:02d}-01"
        records.append((p, "WORLD", None, 100.0, None))
        if month == 6:
            records += [(p, "A", "A_1", None, CONF), (p, "B", "B_1", 85.0, None),
                        (p, "C", "C_1", None, CONF)]
        else:
            records += [(p, "A", "A_1", 10.0, None), (p, "B", "B_1", 90.0, None)]
    table = supplier_shares(_frame(records), "XX", freq="A").to_frame().set_index(["period", "partner"])
    a = _row(table, "2022-01-01", "A")
    assert math.isnan(a["quantity"]) and a["disclosed"] == 110.0 and a["confidential"] == 1
    assert a["share_of_world_lower"] == pytest.approx(110 / 1200)
    assert a["share_of_world_upper"] == pytest.approx(125 / 1200)
    c = _row(table, "2022-01-01", "C")
    assert math.isnan(c["quantity"])
    assert (c["share_of_world_lower"], c["share_of_world_upper"]) == pytest.approx((0.0, 15 / 1200))
    b = _row(table, "2022-01-01", "B")
    assert b["exact"] and b["quantity"] == 1075.0 and b["months"] == 12
    assert b["share_of_world"] == pytest.approx(1075 / 1200)


def test_annual_year_with_a_month_without_detail_is_not_exact(hand):
    # The hand frame as one (incomplete) year: February has no partner detail, so every partner's
    # year is unknown; B (20 + 0 + sole holder 35) gets [20 + 35, 20 + 80 + 35] / 230.
    table = supplier_shares(_frame(HAND), "XX", freq="A").to_frame().set_index(["period", "partner"])
    b = _row(table, "2021-01-01", "B")
    assert math.isnan(b["quantity"]) and b["months"] == 3
    assert (b["share_of_world_lower"], b["share_of_world_upper"]) == pytest.approx((55 / 230, 135 / 230))


@pytest.mark.parametrize("seed", range(20))
def test_bounds_contain_the_truth_on_random_frames(seed):
    # Hand-built random truth (4 partners x 2 grades x 6 months), then some cells hidden.
    rng = np.random.default_rng(seed)
    records, truth = [], {}
    for month in range(1, 7):
        p = f"2021-{month:02d}-01"
        total = 0.0
        for partner in "ABCD":
            for g in (1, 2):
                v = float(rng.integers(0, 50))
                total += v
                truth[(p, partner)] = truth.get((p, partner), 0.0) + v
                hide = rng.random() < 0.3
                records.append((p, partner, f"{partner}_{g}", None if hide else v, CONF if hide else None))
        records.append((p, "WORLD", None, total, None))
    frame = _frame(records)
    for freq in ("M", "A"):
        table = supplier_shares(frame, "XX", freq=freq).to_frame()
        table = table[table["partner"] != "undisclosed"]
        for row in table.itertuples():
            if freq == "M":
                t = truth[(f"{row.period:%Y-%m-%d}", row.partner)]
                world = sum(v for (p, _), v in truth.items() if p == f"{row.period:%Y-%m-%d}")
            else:
                t = sum(v for (_, q), v in truth.items() if q == row.partner)
                world = sum(truth.values())
            assert row.share_of_world_lower - 1e-12 <= t / world <= row.share_of_world_upper + 1e-12
            if row.exact:
                assert row.quantity == t


def test_summary_prints_bounds_not_zero():
    text = supplier_shares(_frame(HAND[:5]), "XX").summary()
    line_c = next(line for line in text.splitlines() if line.startswith("C "))
    assert "0.0-40.0%" in line_c and "conf." in line_c
    assert "0.0%" not in line_c.replace("0.0-40.0%", "")


def test_plot_has_gaps_not_zeros():
    pytest.importorskip("matplotlib")
    from oilflows.analytics._plot import pyplot

    plt = pyplot()
    result = supplier_shares(_frame(HAND), "XX")
    ax = result.plot(partners=["A", "B", "C"])
    try:
        lines = {line.get_label(): line for line in ax.get_lines()}
        x = pd.DatetimeIndex(lines["A"].get_xdata())
        pos = {p: int(np.flatnonzero(x == pd.Timestamp(p))[0])
               for p in ("2021-01-01", "2021-02-01", "2021-03-01")}
        a, b, c = (np.asarray(lines[k].get_ydata(), dtype=float) for k in "ABC")
        u = np.asarray(lines["undisclosed"].get_ydata(), dtype=float)
        # Confidential months are gaps (NaN), never 0; the month without detail is empty for all.
        assert np.isnan(a[pos["2021-01-01"]]) and np.isnan(c[pos["2021-01-01"]])
        assert np.isnan(b[pos["2021-03-01"]])
        for series in (a, b, c, u):
            assert np.isnan(series[pos["2021-02-01"]])
        assert b[pos["2021-01-01"]] == pytest.approx(20.0) and a[pos["2021-03-01"]] == pytest.approx(30.0)
        # The confidential partner-months are drawn as bands between the bounds (in %).
        bands = sorted((round(r.get_y(), 9), round(r.get_y() + r.get_height(), 9)) for r in ax.patches)
        assert bands == [(0.0, 40.0), (40.0, 80.0), (70.0, 70.0)]
    finally:
        plt.close(ax.figure)


# -- the embedded default ----------------------------------------------------------------------


def test_de_dz_2023_10_is_null_not_zero(default):
    table = supplier_shares(default, "DE", dataset="nrg_ti_coifpm").to_frame()
    row = table[(table["period"] == "2023-10-01") & (table["partner"] == "DZ")].iloc[0]
    assert math.isnan(row["quantity"]) and math.isnan(row["share_of_world"])
    assert row["disclosed"] == 0.0 and row["confidential"] == 3 and not row["exact"]
    assert row["share_of_world_lower"] == 0.0 < row["share_of_world_upper"]
    u = table[(table["period"] == "2023-10-01") & (table["partner"] == "undisclosed")].iloc[0]
    assert row["share_of_world_upper"] == pytest.approx(u["share_of_world"])  # several holders
    # Concentration's share table agrees: unknown, not 0.
    shares = concentration(default, "DE", freq="M", dataset="nrg_ti_coifpm").shares()
    assert math.isnan(shares.loc["2023-10-01", "DZ"])


@pytest.mark.parametrize("freq", ["M", "A"])
def test_no_partner_rows_before_2020(default, freq):
    table = supplier_shares(default, "DE", freq=freq, dataset="nrg_ti_coifpm").to_frame()
    before = table[table["period"] < "2020-01-01"]
    assert len(before) > 0 and set(before["partner"]) == {"undisclosed"}
    assert np.allclose(before["share_of_world"], 1.0)
    assert concentration(default, "DE", freq=freq, dataset="nrg_ti_coifpm").shares().loc[
        :"2019-12-01"].isna().all().all()
