"""Exporter mass balance (oilflows.analytics.exporter_balance): constructed frames with a known
answer, then the real run on the embedded default.

The constructed frames are hand-built canonical rows (every column of oilflows.schema.SCHEMA):
importer-side annual tonnes as in Eurostat nrg_ti_oil (thousand tonnes multiplied out, no vintage),
and the exporter's published total exports as source "published" rows with flow "export", reporter
KZ, partner WORLD and the interval flag "[lo,hi]" the reader writes. Every expected number below is
worked out by hand in the comments.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

import oilflows
from oilflows.analytics import MassBalanceResult, exporter_balance
from oilflows.analytics.mass_balance import EU27, printed_half_unit
from oilflows.errors import AnalysisError
from oilflows.schema import conform, validate

BLANK = {"vintage": pd.NaT, "grade": None, "volume_bbl": None, "mass_t": None, "value": None,
         "currency": None, "api_gravity": None, "sulphur_pct": None, "price_per_bbl": None,
         "flag": None, "product": "crude_oil"}


def imports(year: int, reporter: str, kt: float, partner: str = "KZ") -> dict:
    """An nrg_ti_oil-like row: `reporter`'s annual imports from `partner`, `kt` thousand tonnes."""
    return {**BLANK, "source": "eurostat", "dataset": "nrg_ti_oil", "freq": "A",
            "period": pd.Timestamp(year, 1, 1), "reporter": reporter, "partner": partner,
            "flow": "import", "mass_t": kt * 1000}


def exports(year: int, lo: float, hi: float, *, vintage: str = "2024-02-21",
            dataset: str = "energy_ministry_kz", exporter: str = "KZ") -> dict:
    """A published total-exports row as oilflows.sources.published emits it (tonnes)."""
    return {**BLANK, "source": "published", "dataset": dataset, "freq": "A",
            "period": pd.Timestamp(year, 1, 1), "reporter": exporter, "partner": "WORLD",
            "flow": "export", "vintage": pd.Timestamp(vintage), "mass_t": (lo + hi) / 2,
            "flag": f"[{lo:.0f},{hi:.0f}]"}


def frame_of(*rows: dict) -> pd.DataFrame:
    return validate(conform(pd.DataFrame(rows)))


def one(result: MassBalanceResult, year: int) -> pd.Series:
    t = result.to_frame()
    return t[t["year"] == year].iloc[0]


@pytest.fixture
def constructed() -> pd.DataFrame:
    return frame_of(
        # 2020: imports but no published exports -> exports, gap NaN, no flag
        imports(2020, "DE", 9000), imports(2020, "IT", 20000),
        # 2021: 40,000 + 30,000 kt against 64.3 Mt: importers report more -> flag; FR's 0 not used
        imports(2021, "DE", 40000), imports(2021, "IT", 30000), imports(2021, "FR", 0),
        exports(2021, 64_250_000, 64_350_000),
        # 2022: 40,000 + 24,340 = 64,340 kt against 64.3 Mt (64.25..64.35): above the printed
        # figure, but within its rounding -> no flag
        imports(2022, "DE", 40000), imports(2022, "IT", 24340),
        exports(2022, 64_250_000, 64_350_000),
        # 2023: published exports, no importer figure at all -> reported imports NaN, not 0
        exports(2023, 70_450_000, 70_550_000),
        # 2019: every importer reports 0 -> NaN, both zeros counted
        imports(2019, "DE", 0), imports(2019, "IT", 0),
        # another exporter's rows are not counted
        imports(2021, "DE", 20000, partner="RU"),
    )


def test_flag_when_importers_report_more_than_exports(constructed):
    result = exporter_balance(constructed, "KZ", context=False)
    row = one(result, 2021)
    # DE 40,000 kt and IT 30,000 kt, whole thousand tonnes: +-500 t each
    assert row["reported_imports"] == 70_000_000
    assert (row["reported_imports_lower"], row["reported_imports_upper"]) == (69_999_000, 70_001_000)
    assert (row["exports_lower"], row["exports_upper"]) == (64_250_000, 64_350_000)
    # gap = [69,999,000 - 64,350,000, 70,001,000 - 64,250,000]
    assert (row["gap_lower"], row["gap_upper"]) == (5_649_000, 5_751_000)
    assert bool(row["flag"]) is True
    assert result.flagged_years == [2021]
    assert row["share_of_exports_lower"] == pytest.approx(69_999_000 / 64_350_000)
    assert "FLAG" in result.summary() and "flagged years: 2021" in result.summary()


def test_within_rounding_is_not_flagged(constructed):
    row = one(exporter_balance(constructed, "KZ", context=False), 2022)
    # 64,340 kt +-1 kt against [64,250,000, 64,350,000]: the point gap is +40 kt, but
    # gap_lower = 64,339,000 - 64,350,000 = -11,000 < 0
    assert row["reported_imports"] - 64_300_000 == 40_000
    assert (row["gap_lower"], row["gap_upper"]) == (-11_000, 91_000)
    assert bool(row["flag"]) is False


def test_missing_years_are_nan_not_zero(constructed):
    result = exporter_balance(constructed, "KZ", context=False)
    t = result.to_frame().set_index("year")
    assert list(t.index) == [2019, 2020, 2021, 2022, 2023]  # importer years and published years
    # 2023: exports published, no importer figure
    assert math.isnan(t.loc[2023, "reported_imports"]) and math.isnan(t.loc[2023, "gap_lower"])
    # DE, FR, IT are the importers of the frame: all three missing in 2023
    assert t.loc[2023, "importers"] == 0 and t.loc[2023, "missing"] == 3 and not t.loc[2023, "flag"]
    # 2020: importer figures, no published exports
    assert t.loc[2020, "reported_imports"] == 29_000_000
    assert math.isnan(t.loc[2020, "exports_lower"]) and t.loc[2020, "exports_figures"] == 0
    assert math.isnan(t.loc[2020, "gap_lower"]) and not t.loc[2020, "flag"]
    text = result.summary()
    assert "2023: reported imports no usable importer figure" in text
    assert "2020-2021" not in text  # 2021 has exports
    assert "No published total exports of KZ in the frame for 2019-2020" in text


def test_zeros_are_not_used_and_are_counted(constructed):
    t = exporter_balance(constructed, "KZ", context=False).to_frame().set_index("year")
    assert t.loc[2021, "zeros"] == 1 and t.loc[2021, "zero_importers"] == "FR"
    assert t.loc[2021, "importers"] == 2 and t.loc[2021, "importer_list"] == "DE, IT"
    # a year where every figure is 0: nothing used, NaN (never 0)
    assert t.loc[2019, "zeros"] == 2 and math.isnan(t.loc[2019, "reported_imports"])
    assert math.isnan(t.loc[2019, "reported_imports_lower"])


def test_rounding_interval_by_hand():
    # printed precision: 1311.8 kt -> +-0.05 kt = 50 t; 2956.851 kt -> +-0.5 t; 7427 kt -> +-500 t
    assert printed_half_unit(1_311_800) == 50
    assert printed_half_unit(2_956_851) == 0.5
    assert printed_half_unit(7_427_000) == 500
    assert printed_half_unit(7_430_000) == 500  # never coarser than one thousand tonnes
    frame = frame_of(imports(2021, "BE", 1311.8), imports(2021, "AT", 2956.851),
                     imports(2021, "DE", 7427), exports(2021, 64_250_000, 64_350_000))
    row = one(exporter_balance(frame, "KZ", context=False), 2021)
    total = 1_311_800 + 2_956_851 + 7_427_000  # 11,695,651 t
    half = 50 + 0.5 + 500
    assert row["reported_imports"] == total
    assert row["reported_imports_lower"] == pytest.approx(total - half)
    assert row["reported_imports_upper"] == pytest.approx(total + half)
    assert row["gap_lower"] == pytest.approx(total - half - 64_350_000)
    assert row["gap_upper"] == pytest.approx(total + half - 64_250_000)


def test_export_figures_intersect_or_hull():
    # two agreeing figures (70.5 Mt, and 70.52 Mt of another vintage): the intersection
    frame = frame_of(imports(2023, "DE", 9000),
                     exports(2023, 70_450_000, 70_550_000),
                     exports(2023, 70_515_000, 70_525_000, vintage="2024-04-26"))
    row = one(exporter_balance(frame, "KZ", context=False), 2023)
    assert (row["exports_lower"], row["exports_upper"]) == (70_515_000, 70_525_000)
    assert row["exports_figures"] == 2
    # disagreeing figures: their hull, and a caveat naming both
    frame = frame_of(imports(2023, "DE", 9000),
                     exports(2023, 70_450_000, 70_550_000),
                     exports(2023, 60_000_000, 60_100_000, vintage="2024-04-26"))
    result = exporter_balance(frame, "KZ", context=False)
    row = one(result, 2023)
    assert (row["exports_lower"], row["exports_upper"]) == (60_000_000, 70_550_000)
    assert any("disagree" in c and "2024-04-26" in c for c in result.caveats)


def test_context_production_and_exports_to_the_eu(constructed):
    # a provenance table (the columns oilflows.sources.published.provenance() gives)
    context = pd.DataFrame([
        {"metric": "crude_production_quantity", "csv_reporter": "KZ", "csv_partner": "WORLD",
         "csv_grade": "", "period": pd.Timestamp("2022-01-01"), "freq": "A", "lower": 84_150_000.0,
         "upper": 84_250_000.0, "skip_reason": "production", "publisher": "ministry"},
        {"metric": "crude_export_quantity", "csv_reporter": "KZ", "csv_partner": "EU27",
         "csv_grade": "", "period": pd.Timestamp("2022-01-01"), "freq": "A", "lower": 46_550_000.0,
         "upper": 46_650_000.0, "skip_reason": "group", "publisher": "ministry"},
    ])
    result = exporter_balance(constructed, "KZ", context=context)
    row = one(result, 2022)
    assert (row["production_lower"], row["production_upper"]) == (84_150_000, 84_250_000)
    assert (row["exports_eu_lower"], row["exports_eu_upper"]) == (46_550_000, 46_650_000)
    # DE and IT are EU members: the sum is set against the EU figure too
    # gap_eu = [64,339,000 - 46,650,000, 64,341,000 - 46,550,000]
    assert (row["gap_eu_lower"], row["gap_eu_upper"]) == (17_689_000, 17_791_000)
    assert bool(row["flag_eu"]) is True and bool(row["flag"]) is False
    assert any(c.startswith("EU share: KZ reports 46,550.0..46,650.0 kt") for c in result.caveats)
    assert math.isnan(one(result, 2021)["production_lower"])
    # with a non-member importer, no EU comparison
    mixed = pd.concat([constructed, frame_of(imports(2022, "TR", 100))], ignore_index=True)
    row = one(exporter_balance(mixed, "KZ", context=context), 2022)
    assert math.isnan(row["gap_eu_lower"]) and not row["flag_eu"]


def test_importers_and_years_arguments(constructed):
    result = exporter_balance(constructed, "KZ", importers=["DE"], years=[2021, 2022], context=False)
    t = result.to_frame()
    assert list(t["year"]) == [2021, 2022] and list(t["importer_list"]) == ["DE", "DE"]
    assert list(t["reported_imports"]) == [40_000_000, 40_000_000]
    assert result.importers == ("DE",)


def test_typed_errors(constructed):
    with pytest.raises(AnalysisError, match="no importer in eurostat/nrg_ti_oil reports crude imports "
                                            "from 'NO'"):
        exporter_balance(constructed, "NO")
    with pytest.raises(AnalysisError, match="did you mean 'KZ'"):
        exporter_balance(constructed, "kz")
    with pytest.raises(AnalysisError, match="dataset 'nrg_ti_oilm' is not in the frame"):
        exporter_balance(constructed, "KZ", dataset="nrg_ti_oilm")
    with pytest.raises(AnalysisError, match="is a published figure"):
        exporter_balance(constructed, "KZ", dataset="published/energy_ministry_kz")
    with pytest.raises(AnalysisError, match=r"no data for KZ in year\(s\) 1999, 2030"):
        exporter_balance(constructed, "KZ", years=[1999, 2021, 2030])
    with pytest.raises(AnalysisError, match="importer.*PL report no imports from KZ"):
        exporter_balance(constructed, "KZ", importers=["DE", "PL"])
    with pytest.raises(AnalysisError, match="measure must be one of"):
        exporter_balance(constructed, "KZ", measure="value")
    with pytest.raises(AnalysisError, match="whole years"):
        exporter_balance(constructed, "KZ", years=["twenty"])
    aggregate = pd.concat([constructed, frame_of(imports(2021, "EU_V", 90000))], ignore_index=True)
    with pytest.raises(AnalysisError, match="double counts"):
        exporter_balance(aggregate, "KZ", importers=["EU_V", "DE"])
    # an aggregate is never in the default importers, and can be named alone
    assert "EU_V" not in exporter_balance(aggregate, "KZ", context=False).importers
    alone = exporter_balance(aggregate, "KZ", importers=["EU_V"], years=[2021], context=False)
    assert one(alone, 2021)["reported_imports"] == 90_000_000


def test_monthly_grade_data_with_density():
    # A monthly grade-level frame (nrg_ti_coifpm-like) for DE, 2022: WORLD 1,000 kbbl a month,
    # KZ_CPC_BLN (45 API) 700 kbbl and NO_X 300 kbbl; in March KZ's cell is confidential and KZ
    # is the only holder, so it gets the whole residual 1,000 - 300 = 700: the year is exactly
    # 8,400 kbbl. Printed cells: 12 WORLD + 11 KZ + 12 NO = 35, each +-500 bbl -> +-17,500 bbl.
    rows = []
    for month in range(1, 13):
        period = pd.Timestamp(2022, month, 1)
        base = {**BLANK, "source": "eurostat", "dataset": "nrg_ti_coifpm", "freq": "M",
                "period": period, "reporter": "DE", "flow": "import"}
        rows.append({**base, "partner": "WORLD", "volume_bbl": 1_000_000.0})
        rows.append({**base, "partner": "NO", "grade": "NO_X", "volume_bbl": 300_000.0})
        if month == 3:
            rows.append({**base, "partner": "KZ", "grade": "KZ_CPC_BLN", "flag": "c"})
        else:
            rows.append({**base, "partner": "KZ", "grade": "KZ_CPC_BLN", "volume_bbl": 700_000.0,
                         "api_gravity": 45.0})
    rows.append(exports(2022, 64_250_000, 64_350_000))
    frame = frame_of(*rows)
    result = exporter_balance(frame, "KZ", dataset="nrg_ti_coifpm", measure="volume_bbl",
                              context=False)
    row = one(result, 2022)

    def bbl_per_t(api: float) -> float:  # SG = 141.5 / (API + 131.5); bbl/t = 1 / (SG x 0.158987)
        return 1 / (141.5 / (api + 131.5) * 0.158987)

    k_lo, k_hi = bbl_per_t(43.0), bbl_per_t(47.0)  # 45 API +-2
    assert result.density == pytest.approx((k_lo, k_hi))
    assert row["reported_imports_lower"] == pytest.approx((8_400_000 - 17_500) / k_hi)
    assert row["reported_imports_upper"] == pytest.approx((8_400_000 + 17_500) / k_lo)
    assert row["gap_lower"] == pytest.approx((8_400_000 - 17_500) / k_hi - 64_350_000)
    assert not row["flag"] and row["zeros"] == 0
    assert any("bbl/t" in c for c in result.caveats)


def test_plot_never_draws_a_zero_for_a_missing_year(constructed):
    pytest.importorskip("matplotlib")
    result = exporter_balance(constructed, "KZ", context=False)
    ax = result.plot()
    labels = [t.get_text() for t in ax.texts]
    # 2019 and 2023 have no importer figure, 2019 and 2020 no exports: an "n/a" each, no bar
    assert labels.count("n/a") == 4 and "flag" in labels
    heights = [p.get_height() for p in ax.patches]
    assert all(h > 0 for h in heights)  # no bar of 0 (the flagged and the other years only)
    import matplotlib.pyplot as plt

    plt.close(ax.figure)


# -- the embedded default --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def default():
    return oilflows.load_default()


def test_real_run_eu_importers_against_published_exports(default):
    oil = default[(default["dataset"] == "nrg_ti_oil") & (default["partner"] == "KZ")]
    eu = sorted(EU27 & set(oil["reporter"]))
    assert "TR" not in eu and len(eu) == 17
    result = exporter_balance(default, "KZ", years=range(2013, 2023), importers=eu)
    t = result.to_frame().set_index("year")
    assert list(t.index) == list(range(2013, 2023))
    # the sum over importers is a hand sum of the nrg_ti_oil rows (zeros add nothing)
    for year in (2013, 2022):
        rows = oil[(oil["period"].dt.year == year) & oil["reporter"].isin(eu)]
        assert t.loc[year, "reported_imports"] == pytest.approx(rows["mass_t"].sum())
        assert t.loc[year, "zeros"] == int((rows["mass_t"] == 0).sum())
        assert t.loc[year, "importers"] == int((rows["mass_t"] > 0).sum())
    de_2022 = oil[(oil["period"].dt.year == 2022) & (oil["reporter"] == "DE")]["mass_t"].iloc[0]
    assert de_2022 == 9_030_000  # methods note R2
    # Kazakhstan's published total exports: 64.3 Mt in 2022 (none in the default before)
    assert (t.loc[2022, "exports_lower"], t.loc[2022, "exports_upper"]) == (64_250_000, 64_350_000)
    assert t.loc[:2021, "exports_lower"].isna().all()
    # the EU importers' reported imports from KZ in 2022 are below the published total exports
    assert t.loc[2022, "reported_imports_upper"] < 64_250_000
    assert t.loc[2022, "gap_upper"] < 0 and not t["flag"].any()
    # production 2022 (84.2 Mt) comes from the packaged provenance, not from a row
    assert (t.loc[2022, "production_lower"], t.loc[2022, "production_upper"]) == (84_150_000, 84_250_000)


def test_real_run_2023_published_figures_agree(default):
    # 70.5 Mt from the minister (Trend, 2024-02-21) and the ministry (Kazinform, 2024-04-26)
    result = exporter_balance(default, "KZ", years=[2022, 2023], dataset="nrg_ti_coifpm",
                              measure="volume_bbl", importers=["EU_V"])
    row = one(result, 2023)
    assert row["exports_figures"] == 2
    assert (row["exports_lower"], row["exports_upper"]) == (70_450_000, 70_550_000)
    assert (row["exports_eu_lower"], row["exports_eu_upper"]) == (46_550_000, 46_650_000)
    assert row["reported_imports_lower"] > 0 and not row["flag"]
