"""Reconciliation across sources and mirror flows, against published figures and hand computations."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

import oilflows
from oilflows.analytics.mirror import mirror
from oilflows.analytics.reconcile import read_published, reconcile
from oilflows.errors import AnalysisError, SourceFormatError
from oilflows.schema import COLUMNS, conform
from oilflows.units import barrels_per_tonne

SHARED = Path(os.environ.get("OILFLOWS_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
PUBLISHED = SHARED / "reference" / "de_crude_published_figures.csv"


@pytest.fixture(scope="module")
def default():
    return oilflows.load_default(reporter=["DE", "KZ"])


@pytest.fixture(scope="module")
def kz(default):
    return reconcile(default, "DE", partner="KZ")


def _value(result, name, year):
    t = result.to_frame()
    row = t[(t["name"] == name) & (t["period"] == pd.Timestamp(f"{year}-01-01"))]
    assert len(row) == 1, (name, year)
    return row.iloc[0]


def test_sources_side_by_side(kz):
    t = kz.to_frame()
    names = set(t.loc[t["source"] != "published", "name"])
    assert names == {"dg_ener/coir", "eurostat/nrg_ti_coifpm", "eurostat/nrg_ti_oil"}
    assert kz.reference == "eurostat/nrg_ti_oil"  # reports tonnes natively, most years
    # nrg_ti_oil is in tonnes already (methods note R2: DE<-KZ 2021 = 8,000 kt, 2022 = 9,030 kt).
    assert _value(kz, "eurostat/nrg_ti_oil", 2021)["mass_t"] == pytest.approx(8_000e3)
    assert _value(kz, "eurostat/nrg_ti_oil", 2022)["difference_t"] == 0


# Methods note R4 (register, DE<-KZ, kbbl) and R2 (nrg_ti_oil, DE<-KZ, kt), typed from the note.
R4_KZ_KBBL = {2013: 56_859, 2014: 49_704, 2015: 51_288, 2016: 65_238, 2017: 56_472, 2018: 53_343,
              2019: 48_461}
R2_KZ_KT = {2013: 7_128, 2014: 6_777, 2015: 6_421, 2016: 8_375, 2017: 8_114, 2018: 6_821, 2019: 6_324}


def test_register_barrels_per_tonne(kz):
    # The note says 7.66-7.98 bbl/t ("consistent with CPC Blend"); its own tables give 7.33 for 2014
    # and 6.96 for 2017, so the check is against the tables, and only five years fall in the range.
    in_cpc_range = 0
    for year, kbbl in R4_KZ_KBBL.items():
        bbl = _value(kz, "dg_ener/coir", year)["volume_bbl"]
        tonnes = _value(kz, "eurostat/nrg_ti_oil", year)["mass_t"]
        assert bbl / tonnes == pytest.approx(kbbl / R2_KZ_KT[year], rel=1e-6), year
        in_cpc_range += 7.6 < bbl / tonnes < 8.0
    assert in_cpc_range == 5


def test_conversion_uses_grade_gravity(kz, default):
    # coifpm KZ 2021 = KZ_CPC_BLN only (KZ_MSC confidential): tonnes = sum of monthly barrels / bbl
    # per tonne at each month's own API gravity.
    rows = default[(default["dataset"] == "nrg_ti_coifpm") & (default["reporter"] == "DE")
                   & (default["partner"] == "KZ") & (default["period"].dt.year == 2021)
                   & default["volume_bbl"].notna()]
    by_hand = (rows["volume_bbl"] / barrels_per_tonne(rows["api_gravity"])).sum()
    row = _value(kz, "eurostat/nrg_ti_coifpm", 2021)
    assert row["mass_t"] == pytest.approx(by_hand, rel=1e-9)
    assert row["volume_bbl"] == pytest.approx(45_806e3)
    assert row["confidential_cells"] == 12  # KZ_MSC confidential in every month of 2021
    assert row["relative"] < -0.2  # a quarter of the Kazakh tonnes hide in confidential cells
    assert "own API gravity" in row["conversion"]


@pytest.mark.skipif(not PUBLISHED.exists(), reason="shared reference figures not available")
def test_published_figures_within_rounding(default):
    published = read_published(PUBLISHED)
    result = reconcile(default, "DE", partner="RU", published=published)
    # BAFA 2021 RU 27.7 Mt and 2022 22.4 Mt (rounded to 0.1 Mt) against nrg_ti_oil 27,741 / 22,392 kt.
    assert abs(_value(result, "published: BAFA (via EEK)", 2021)["difference_t"]) <= 0.05e6
    assert abs(_value(result, "published: BAFA (via Reuters)", 2022)["difference_t"]) <= 0.05e6
    kz = reconcile(default, "DE", partner="KZ", published=published)
    assert _value(kz, "published: BAFA (via Reuters)", 2022)["mass_t"] == 9.1e6
    assert "BAFA" in kz.summary()


def test_read_published_bad_file(tmp_path):
    bad = tmp_path / "figures.csv"
    bad.write_text("period,reporter,value\n2022,DE,1\n")
    with pytest.raises(SourceFormatError, match="missing columns"):
        read_published(bad)


def test_reconcile_errors(default):
    with pytest.raises(AnalysisError, match="no imports"):
        reconcile(default, "DE", partner="ZZ")
    with pytest.raises(AnalysisError, match="reference"):
        reconcile(default, "DE", partner="KZ", reference="nope/nothing")
    with pytest.raises(AnalysisError, match="freq"):
        reconcile(default, "DE", partner="KZ", freq="Q")


# -- mirror flows -------------------------------------------------------------------------------


def _flows(records):
    """Canonical rows from (reporter, partner, flow, year, tonnes, value) tuples."""
    frame = pd.DataFrame([{
        "source": "test", "dataset": "hand", "vintage": pd.NaT, "freq": "A",
        "period": pd.Timestamp(f"{y}-01-01"), "reporter": r, "partner": p, "flow": f,
        "product": "crude_oil", "grade": None, "mass_t": t, "value": v, "currency": "USD", "flag": None,
    } for r, p, f, y, t, v in records])
    for column in COLUMNS:
        if column not in frame:
            frame[column] = None
    return conform(frame[list(COLUMNS)])


MIRROR = [
    ("DE", "KZ", "import", 2021, 8_000e3, 4_400e6), ("KZ", "DE", "export", 2021, 7_500e3, 3_900e6),
    ("DE", "KZ", "import", 2022, 9_000e3, 6_600e6), ("KZ", "DE", "export", 2022, 9_500e3, 6_000e6),
    ("KZ", "DE", "export", 2020, 7_000e3, 2_000e6),
]


def test_mirror_by_hand():
    result = mirror(_flows(MIRROR), "DE", partner="KZ", measure="mass_t")
    t = result.to_frame().set_index("period")
    y21, y22 = pd.Timestamp("2021-01-01"), pd.Timestamp("2022-01-01")
    assert t.loc[y21, "discrepancy"] == pytest.approx(500e3)
    assert t.loc[y21, "relative"] == pytest.approx(500e3 / 7_750e3)
    assert t.loc[y22, "discrepancy"] == pytest.approx(-500e3)
    assert pd.isna(t.loc[pd.Timestamp("2020-01-01"), "importer_reported"])  # missing, not zero
    values = mirror(_flows(MIRROR), "DE", partner="KZ", measure="value",
                    cif_fob=0.10).to_frame().set_index("period")
    assert values.loc[y21, "exporter_adjusted"] == pytest.approx(3_900e6 * 1.1)
    assert values.loc[y21, "discrepancy"] == pytest.approx(4_400e6 - 4_290e6)
    lagged = mirror(_flows(MIRROR), "DE", partner="KZ", lag=1).to_frame().set_index("period")
    assert lagged.loc[y21, "exporter_reported"] == pytest.approx(7_000e3)  # 2020 exports vs 2021 imports
    assert "CIF" in mirror(_flows(MIRROR), "DE", measure="value", partner="KZ").summary()


def test_mirror_errors():
    with pytest.raises(AnalysisError, match="no export"):
        mirror(_flows(MIRROR[:1]), "DE", partner="KZ")
    with pytest.raises(AnalysisError, match="measure"):
        mirror(_flows(MIRROR), "DE", measure="api_gravity", partner="KZ")
    with pytest.raises(AnalysisError, match="lag"):
        mirror(_flows(MIRROR), "DE", lag=-1, partner="KZ")


def test_plots(kz):
    ax = kz.plot()
    assert len(ax.lines) == kz.to_frame()["name"].nunique() > 3  # the statistical sources + published
    ax = mirror(_flows(MIRROR), "DE", partner="KZ").plot()
    assert len(ax.lines) == 2
