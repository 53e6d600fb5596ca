"""Published figures (oilflows.sources.published): rounding intervals, the packaged table, errors,
the default snapshot, analytics that ignore them unless asked, and reconcile."""

from __future__ import annotations

import csv
import io
import math
import os
import re
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

import oilflows
from oilflows import cli
from oilflows.analytics import reconcile, supplier_shares
from oilflows.analytics._panel import candidates, native_freq
from oilflows.analytics.reconcile import read_published
from oilflows.errors import AnalysisError, SourceFormatError
from oilflows.schema import KEY, validate
from oilflows.sources import published

ROOT = Path(__file__).resolve().parents[1]
PACKAGED = ROOT / "oilflows" / "data" / "published_figures.csv"
SHARED = Path(os.environ.get("OILFLOWS_SHARED_DATA", ROOT.parent / "shared" / "data"))
FLAG = re.compile(r"\[\d+(\.\d+)?,(\d+(\.\d+)?|inf)\]( bbl)?")

BASE = {
    "id": "T1", "publisher": "Destatis (test)", "address": "https://example.org/a", "published_date":
    "2024-01-15", "quote": "", "metric": "crude_import_quantity", "reporter": "DE", "partner": "KZ",
    "grade": "", "period": "2023", "value": "9.1", "unit": "Mt", "qualifier": "exact-as-printed",
    "trust": "high", "note": "",
}


def _csv(*rows: dict, columns=published.CSV_COLUMNS) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for n, row in enumerate(rows, start=1):
        writer.writerow({**BASE, "id": f"T{n}", **row})
    return buffer.getvalue().encode("utf-8")


def _one(**row) -> pd.Series:
    frame = published.read(_csv(row))
    assert len(frame) == 1
    return frame.iloc[0]


# -- rounding and qualifier rules, intervals computed by hand --------------------------------------

@pytest.mark.parametrize(("value", "unit", "qualifier", "mass", "flag"), [
    ("9.1", "Mt", "exact-as-printed", 9_100_000, "[9050000,9150000]"),  # the brief's example
    ("928000", "t", "exact-as-printed", 928_000, "[927500,928500]"),  # trailing zeros: to the kt
    ("72611860", "t", "exact-as-printed", 72_611_860, "[72611855,72611865]"),
    ("114505713", "t", "exact-as-printed", 114_505_713, "[114505712.5,114505713.5]"),
    ("1.40", "kt", "exact-as-printed", 1_400, "[1395,1405]"),  # a decimal's trailing zero counts
    ("0.801", "Mt", "exact-as-printed", 801_000, "[800500,801500]"),
    ("104632", "kt", "exact-as-printed", 104_632_000, "[104631500,104632500]"),
    ("78", "Mio. t", "exact-as-printed", 78_000_000, "[77500000,78500000]"),
    ("0", "t", "exact-as-printed", 0, "[0,0.5]"),  # never below zero
    # about: +-max(5 %, half the last digit)
    ("2.1", "Mt", "about", 2_100_000, "[1995000,2205000]"),  # 5 % = 0.105 > 0.05
    ("150", "kt", "about", 150_000, "[142500,157500]"),  # 5 % = 7.5 > 5
    ("1", "Mt", "about", 1_000_000, "[500000,1500000]"),  # half digit 0.5 > 5 % = 0.05
    ("300", "kt", "about", 300_000, "[250000,350000]"),  # half digit 50 > 15
    # a good ("gut 78"): [v, v + max(5 %, one digit)]
    ("78", "Mt", "a_good", 78_000_000, "[78000000,81900000]"),
    ("5", "kt", "a_good", 5_000, "[5000,6000]"),  # one digit 1 > 5 % = 0.25
    # nearly: [v - max(5 %, one digit), v]
    ("1.3", "Mt", "nearly", 1_300_000, "[1200000,1300000]"),  # one digit 0.1 > 0.065
    ("40", "Mt", "nearly", 40_000_000, "[30000000,40000000]"),  # one digit (10) > 5 % = 2
    ("1.3", "kt", "more_than", 1_300, "[1300,inf]"),
    ("2", "Mt", "at_least", 2_000_000, "[2000000,inf]"),
    ("2", "Mt", "less_than", 2_000_000, "[0,2000000]"),
    ("1.2", "Mt", "at_most", 1_200_000, "[0,1200000]"),
])
def test_interval_rules(value, unit, qualifier, mass, flag):
    row = _one(value=value, unit=unit, qualifier=qualifier)
    assert row["mass_t"] == mass and pd.isna(row["volume_bbl"])
    assert row["flag"] == flag
    assert "c" not in row["flag"] and "e" not in row["flag"] and FLAG.fullmatch(row["flag"])
    bounds = published.interval(pd.DataFrame([row]))
    lo, hi = flag[1:-1].split(",")
    assert bounds["lower"].iloc[0] == float(lo) and bounds["upper"].iloc[0] == float(hi)


def test_barrels_per_day_become_period_totals():
    frame = published.read(_csv(
        {"value": "1.05", "unit": "mb/d", "period": "2024"},  # leap year: 366 days
        {"value": "100", "unit": "kb/d", "period": "2023-02", "partner": "NO"},  # 28 days
        {"value": "45806", "unit": "kbbl", "period": "2021", "partner": "US"},
        {"value": "0.5", "unit": "mb/d", "period": "2023-H1", "partner": "GB"},  # skipped
    ))
    by = frame.set_index("partner")
    assert by.loc["KZ", "volume_bbl"] == pytest.approx(1.05e6 * 366)
    assert by.loc["KZ", "flag"] == "[382470000,386130000] bbl"  # 1.045 / 1.055 mb/d x 366
    assert by.loc["NO", "volume_bbl"] == 100e3 * 28
    assert by.loc["NO", "flag"] == "[1400000,4200000] bbl"  # "100": +-50 kb/d x 28
    assert by.loc["US", "volume_bbl"] == 45_806_000 and by.loc["US", "flag"] == "[45805500,45806500] bbl"
    assert frame["mass_t"].isna().all()
    assert frame.attrs["skipped"] == {published.PARTIAL_PERIOD: 1}
    tonnes = published.interval(frame)
    barrels = published.interval(frame, measure="volume_bbl")
    assert tonnes["lower"].isna().all()  # not in tonnes
    assert barrels.set_index(frame["partner"]).loc["NO", "upper"] == 4_200_000
    trace = published.provenance(_csv({"value": "1.05", "unit": "mb/d", "period": "2024"}))
    assert trace["conversion"].iloc[0] == "1.05 mb/d x 366 days = 384300000 bbl"


@pytest.mark.parametrize(("quote", "value", "unit", "expected"), [
    ("Im vergangenen Jahr flossen über die Pipeline rund 2,1 Millionen Tonnen.", "2.1", "Mt", "about"),
    ("betrugen die Rohöleinfuhren gut 78 Millionen Tonnen", "78", "Mt", "a_good"),
    ("Germany imported nearly 1.3 million metric tons", "1.3", "Mt", "nearly"),
    ("in the same volumes - up to 1.2 mln metric tons per year", "1.2", "Mt", "at_most"),
    ("So erhielt Deutschland im Jahr 2021 über „Friendship“ 17 Millionen Tonnen", "17", "Mt",
     "exact-as-printed"),  # "über" is not directly before the number: "via", not "more than"
    ("Es waren mehr als 5 Millionen Tonnen", "5", "Mt", "more_than"),
    ("mindestens 3 Millionen Tonnen", "3", "Mt", "at_least"),
    ("knapp über 4 Millionen Tonnen", "4", "Mt", "a_good"),
    ("Mit 6,7 Millionen Tonnen entfielen knapp 10 Prozent auf Kasachstan.", "6.7", "Mt",
     "exact-as-printed"),
    ("Mit 6,7 Millionen Tonnen entfielen knapp 10 Prozent auf Kasachstan.", "10", "pct", "nearly"),
    ("im Januar-März 2024 auf etwa 300.000 Tonnen", "300", "kt", "about"),
    ("mit 1,1 Prozent (801.000 Tonnen)", "0.801", "Mt", "exact-as-printed"),
    ("2025 sei gut ein Drittel (33,9 Prozent) weniger", "-33.9", "pct", "exact-as-printed"),
    ("the country supplied around 1 million tons", "1", "Mt", "about"),
    ("auf zwei Millionen Tonnen steigern", "2", "Mt", None),  # not printed in digits
])
def test_qualifier_from_quote(quote, value, unit, expected):
    assert published.qualifier_from_quote(quote, value, unit) == expected


def test_last_digit_unit():
    from decimal import Decimal
    assert published.last_digit_unit(Decimal("9.1")) == Decimal("0.1")
    assert published.last_digit_unit(Decimal("1.40")) == Decimal("0.01")
    assert published.last_digit_unit(Decimal("928000")) == 1000
    assert published.last_digit_unit(Decimal("3500")) == 100
    assert published.last_digit_unit(Decimal("7")) == 1


# -- canonical rows -----------------------------------------------------------------------------

def test_canonical_row_fields():
    frame = published.read(_csv(
        {"partner": "TOTAL", "published_date": "2025-06"},
        {"grade": "KEBCO", "period": "2025-03", "value": "150", "unit": "kt", "qualifier": "about",
         "publisher": "KazTransOil via Reuters", "published_date": ""},
    ))
    validate(frame)
    assert (frame["source"] == "published").all() and (frame["flow"] == "import").all()
    assert (frame["product"] == "crude_oil").all()
    world = frame[frame["partner"] == "WORLD"].iloc[0]
    assert world["dataset"] == "destatis" and pd.isna(world["grade"]) and world["freq"] == "A"
    assert world["vintage"] == pd.Timestamp("2025-06-01") and world["period"] == pd.Timestamp("2023-01-01")
    slice_ = frame[frame["grade"] == "KEBCO"].iloc[0]
    assert slice_["dataset"] == "kaztransoil" and slice_["freq"] == "M" and pd.isna(slice_["vintage"])
    assert slice_["period"] == pd.Timestamp("2025-03-01") and slice_["partner"] == "KZ"


def test_skips_and_duplicates():
    rows = [
        {"metric": "crude_import_share", "unit": "pct", "value": "11.7"},
        {"metric": "delivery_plan", "grade": "KEBCO"},
        {"metric": "crude_production_quantity", "reporter": "KZ", "partner": "WORLD"},
        {"trust": "low"},
        {"reporter": "EU27"},
        {"partner": "Middle East (IQ+AE+SA+IL)"},
        {"grade": "Druzhba"},
        {"period": "2023-02..2023-07"}, {"period": "2022-H1"}, {"period": "2023-Q3"}, {"period": ""},
        {"unit": "kt/month", "value": "100"},
        {"partner": "NO", "value": "12.5"},  # emitted
        {"partner": "NO", "value": "12.50", "qualifier": "exact-as-printed"},  # same key, tighter
        {"partner": "NO", "value": "12.5", "qualifier": "about"},  # same key, wider, agrees
    ]
    frame = published.read(_csv(*rows))
    assert len(frame) == 1 and frame["mass_t"].iloc[0] == 12.5e6
    assert frame["flag"].iloc[0] == "[12495000,12505000]"  # the tighter one (12.50) kept
    assert frame.attrs["emitted"] == 1
    assert frame.attrs["skipped"] == {
        published.NOT_QUANTITY: 1, published.PLAN: 1, published.PRODUCTION: 1,
        published.LOW_TRUST: 1, published.AGGREGATE_REPORTER: 1, published.GROUP_PARTNER: 1,
        published.OTHER_GRADE: 1, published.PARTIAL_PERIOD: 4, published.NOT_EMITTED_UNIT: 1,
        published.DUPLICATE: 2}
    trace = published.provenance(_csv(*rows))
    assert trace["emitted"].sum() == 1
    assert set(trace.loc[trace["skip_reason"] == published.DUPLICATE, "duplicate_of"]) == {"T14"}
    assert len(published.read(_csv(*rows), min_trust="low")) == 2  # the low-trust KZ figure too


def test_exporter_side_totals_become_export_rows():
    # Kazakhstan's total exports: reporter KZ (the exporter), partner WORLD, flow export; a figure
    # "to the EU" (no region code), a route slice (BTC) and production are kept in the table only.
    rows = [
        {"metric": "crude_export_quantity", "reporter": "KZ", "partner": "WORLD", "value": "70.5",
         "publisher": "Kazakh Ministry of Energy via Trend"},
        {"metric": "crude_export_quantity", "reporter": "KZ", "partner": "EU27", "value": "46.6"},
        {"metric": "crude_export_quantity", "reporter": "KZ", "partner": "WORLD", "grade": "BTC",
         "value": "1.5"},
        {"metric": "crude_export_quantity", "reporter": "KZ", "partner": "WORLD", "grade": "KEBCO",
         "value": "1.5"},
        {"metric": "crude_production_quantity", "reporter": "KZ", "partner": "WORLD", "value": "89.9"},
        {},  # an import figure with the same reporter/partner/period stays an import row
    ]
    frame = published.read(_csv(*rows))
    validate(frame)
    assert len(frame) == 2
    export = frame[frame["flow"] == "export"].iloc[0]
    assert (export["reporter"], export["partner"], export["dataset"]) == ("KZ", "WORLD",
                                                                          "energy_ministry_kz")
    assert export["mass_t"] == 70.5e6 and export["flag"] == "[70450000,70550000]"
    assert export["period"] == pd.Timestamp("2023-01-01") and pd.isna(export["grade"])
    assert frame[frame["flow"] == "import"]["reporter"].tolist() == ["DE"]
    assert frame.attrs["skipped"] == {published.PRODUCTION: 1, published.GROUP_PARTNER: 1,
                                      published.OTHER_GRADE: 2}
    trace = published.provenance(_csv(*rows)).set_index("id")
    # skipped quantities in tonnes keep their interval (no flag, no mass): production and "to the EU"
    assert (trace.loc["T5", "lower"], trace.loc["T5", "upper"]) == (89.85e6, 89.95e6)
    assert pd.isna(trace.loc["T5", "flow"]) and pd.isna(trace.loc["T5", "flag"])
    assert pd.isna(trace.loc["T5", "mass_t"])
    assert (trace.loc["T2", "lower"], trace.loc["T2", "upper"]) == (46.55e6, 46.65e6)
    assert trace.loc["T2", "flow"] == "export"


def test_empty_and_all_skipped():
    header = ",".join(published.CSV_COLUMNS).encode() + b"\n"
    for data, skipped in ((header, {}), (_csv({"period": "2023-H1"}), {published.PARTIAL_PERIOD: 1})):
        frame = published.read(data)
        validate(frame)
        assert len(frame) == 0 and frame.attrs == {"skipped": skipped, "emitted": 0}
        assert published.interval(frame).empty


def test_same_key_disagreeing_raises():
    with pytest.raises(SourceFormatError, match="same key disagree: T1 .*T2"):
        published.read(_csv({"value": "9.1"}, {"value": "9.3"}))
    # different vintages or publishers are separate rows
    frame = published.read(_csv({"value": "9.1"}, {"value": "9.3", "published_date": "2025"},
                                {"value": "8.3", "publisher": "BAFA via Reuters"}))
    assert len(frame) == 3


# -- bad input --------------------------------------------------------------------------------

@pytest.mark.parametrize(("row", "field", "words"), [
    ({"value": "9,1"}, "value", "unparsable number '9,1'"),
    ({"value": ">78"}, "value", "unparsable number"),
    ({"value": ""}, "value", "unparsable number ''"),
    ({"value": "-3"}, "value", "negative quantity"),
    ({"unit": "Megatonnen"}, "unit", "unknown unit 'Megatonnen'"),
    ({"period": "2023-13"}, "period", "month 13"),
    ({"period": "Q3 2023"}, "period", "bad period 'Q3 2023'"),
    ({"period": "2023-07..2023-02"}, "period", "ends before it starts"),
    ({"period": "3021"}, "period", "year 3021 out of range"),
    ({"published_date": "March 2024"}, "published_date", "bad date"),
    ({"metric": "crude_import_guess"}, "metric", "unknown metric"),
    ({"qualifier": "roughly"}, "qualifier", "unknown qualifier"),
    ({"trust": "great"}, "trust", "unknown trust"),
    ({"reporter": ""}, "reporter", "empty reporter"),
])
def test_bad_rows(row, field, words):
    with pytest.raises(SourceFormatError) as info:
        published.read(_csv({}, {"partner": "NO", **row}), min_trust="low")
    assert info.value.field == field
    assert "line 3" in str(info.value) and words in str(info.value) and "<bytes>" in str(info.value)


def test_missing_column_and_bad_file(tmp_path):
    path = tmp_path / "figures.csv"
    path.write_bytes(_csv({}, columns=[c for c in published.CSV_COLUMNS if c != "unit"]))
    with pytest.raises(SourceFormatError, match=r"figures.csv: missing columns \['unit'\]"):
        published.read(path)
    with pytest.raises(SourceFormatError, match="not UTF-8"):
        published.read(b"id,publisher\n\xff\xfe\n")
    with pytest.raises(SourceFormatError, match="cannot read file"):
        published.read(tmp_path / "absent.csv")
    with pytest.raises(SourceFormatError, match="occurs twice"):
        published.read(_csv({}, {}).replace(b"T2,", b"T1,"))


def test_malformed_flag():
    frame = published.read(_csv({}))
    for bad in ("c", "[1,2", "[1e6,2e6]", "[3,2]", "9.1 Mt", None):
        broken = frame.assign(flag=bad)
        with pytest.raises(published.PublishedFlagError, match="row 0"):
            published.interval(broken)
    other = frame.assign(source="eurostat", flag="c")  # not a published row: NaN, no error
    assert published.interval(other)["lower"].isna().all()


# -- the packaged file --------------------------------------------------------------------------

def _expected_counts(min_trust: str = "medium") -> tuple[int, Counter]:
    """Emitted and skipped counts from the CSV with the documented rules, written independently."""
    with PACKAGED.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    levels = ["low", "medium", "medium-high", "high"]
    quantity_units = {"t", "kt", "Mt", "bbl", "kbbl", "b/d", "kb/d", "mb/d"}
    skipped: Counter = Counter()
    keys = set()
    for r in rows:
        export = r["metric"] == "crude_export_quantity"
        if r["metric"] not in ("crude_import_quantity", "crude_export_quantity"):
            reason = "plan" if r["metric"] in ("delivery_plan", "export_target", "transit_quota",
                                               "contract_volume") else (
                "production" if r["metric"] == "crude_production_quantity" else "not quantity")
        elif levels.index(r["trust"]) < levels.index(min_trust):
            reason = "trust"
        elif not re.fullmatch(r"[A-Z]{2}", r["reporter"]):
            reason = "aggregate"
        elif not (r["partner"] in ("TOTAL", "WORLD") or re.fullmatch(r"[A-Z]{2}", r["partner"])):
            reason = "group"
        elif r["grade"] not in (("",) if export else ("", "KEBCO")):
            reason = "grade"
        elif not re.fullmatch(r"\d{4}(-\d{2})?", r["period"]):
            reason = "period"
        elif r["unit"] not in quantity_units:
            reason = "unit"
        else:
            key = (r["publisher"].split(" via ")[0].split(" (")[0], r["reporter"], r["partner"],
                   r["grade"], r["period"], r["published_date"], export)
            reason = "duplicate" if key in keys else None
            keys.add(key)
        if reason:
            skipped[reason] += 1
    return len(rows) - sum(skipped.values()), skipped


def test_packaged_file_parses_and_validates():
    frame = published.read()
    validate(frame)
    with PACKAGED.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 47 + 89 + 4  # the two shared files, every figure kept; 4 typed in the builder
    emitted, skipped = _expected_counts()
    assert len(frame) == emitted == frame.attrs["emitted"]
    assert sum(frame.attrs["skipped"].values()) == sum(skipped.values()) == len(rows) - emitted
    by_reason = frame.attrs["skipped"]
    assert by_reason.get(published.PARTIAL_PERIOD, 0) == skipped["period"]
    assert by_reason.get(published.PLAN, 0) == skipped["plan"]
    assert by_reason.get(published.LOW_TRUST, 0) == skipped["trust"]
    assert by_reason.get(published.NOT_QUANTITY, 0) == skipped["not quantity"]
    assert by_reason.get(published.AGGREGATE_REPORTER, 0) == skipped["aggregate"]
    assert by_reason.get(published.PRODUCTION, 0) == skipped["production"] == 2
    assert by_reason.get(published.GROUP_PARTNER, 0) == skipped["group"]
    assert by_reason.get(published.OTHER_GRADE, 0) == skipped["grade"]
    low_emitted, _ = _expected_counts("low")
    assert len(published.read(min_trust="low")) == low_emitted > emitted
    for flag in pd.concat([frame, published.read(min_trust="low")])["flag"]:
        assert "c" not in flag and FLAG.fullmatch(flag)
    # every quantity is within its own interval; the key figures of the shared README
    bounds = published.interval(frame)
    assert (bounds["lower"] <= frame["mass_t"]).all() and (frame["mass_t"] <= bounds["upper"]).all()
    kebco = frame[frame["grade"] == "KEBCO"]
    kebco = kebco.set_index(["dataset", kebco["period"].dt.strftime("%Y-%m")])
    assert kebco.loc[("kaztransoil", "2026-01"), "mass_t"] == 310e3
    assert kebco.loc[("kazmunaygas", "2025-01"), "flag"] == "[1995000,2205000]"  # rund 2.1 Mt
    assert (kebco["reporter"] == "DE").all() and (kebco["partner"] == "KZ").all()
    de_2024 = frame[(frame["partner"] == "WORLD") & (frame["period"] == pd.Timestamp("2024-01-01"))]
    assert de_2024["flag"].tolist() == ["[78000000,81900000]"]  # "gut 78 Millionen Tonnen"
    # Kazakhstan's published total exports (exporter-side): 64.3 Mt in 2022, 70.5 Mt in 2023
    exports = frame[frame["flow"] == "export"]
    assert set(exports["reporter"]) == {"KZ"} and set(exports["partner"]) == {"WORLD"}
    by_year = exports.groupby(exports["period"].dt.year)["flag"].agg(set)
    assert by_year[2022] == {"[64250000,64350000]"} and by_year[2023] == {"[70450000,70550000]"}
    assert (frame.loc[frame["flow"] == "import", "reporter"] != "KZ").all()
    # no partner total is a region: the Middle East group stays in the table only
    assert frame["partner"].map(lambda p: p == "WORLD" or re.fullmatch("[A-Z]{2}", p) is not None).all()


def test_provenance_traces_rows():
    frame = published.read()
    trace = published.provenance()
    assert len(trace) == 140 and trace["emitted"].sum() == len(frame)
    assert {"publisher", "address", "published_date", "quote", "qualifier", "trust", "csv_period"} \
        <= set(trace.columns)
    merged = frame.merge(trace[trace["emitted"]], on=list(KEY), how="left", validate="one_to_one")
    assert merged["publisher"].notna().all() and merged["address"].str.startswith("http").all()
    row = merged[(merged["dataset"] == "kazmunaygas") & (merged["period"] == pd.Timestamp("2025-01-01"))]
    assert "rund 2,1 Millionen Tonnen" in row["quote"].iloc[0] and row["qualifier"].iloc[0] == "about"
    assert row["flag_x"].iloc[0] == row["flag_y"].iloc[0]


@pytest.mark.skipif(not (SHARED / "reference").exists(), reason="shared reference figures not available")
def test_builder_is_deterministic(tmp_path):
    import importlib.util

    builder = ROOT / "data_sources" / "build_published.py"
    spec = importlib.util.spec_from_file_location("build_published", builder)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = module.build(SHARED, tmp_path)
    assert built.read_bytes() == PACKAGED.read_bytes()


# -- integration --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def default():
    return oilflows.load_default()


def test_default_snapshot_holds_the_published_rows(default):
    rows = default[default["source"] == "published"]
    frame = published.read()
    assert len(rows) == len(frame) > 50
    pd.testing.assert_frame_equal(rows.sort_values(list(KEY)).reset_index(drop=True),
                                  frame.sort_values(list(KEY)).reset_index(drop=True))
    assert oilflows.default_provenance()["published_figures"]["rows"] == len(frame)


def test_analytics_ignore_published_unless_asked(default):
    statistical = default[default["source"] != "published"]
    assert ("published", "bafa") not in candidates(default, "DE", "mass_t", "A")
    assert candidates(default, "DE", "mass_t", "A") == candidates(statistical, "DE", "mass_t", "A")
    assert ("published", "bafa") in candidates(default, "DE", "mass_t", "A", dataset="published")
    assert candidates(default, "DE", "mass_t", "A", dataset="published/bafa") == [("published", "bafa")]
    assert native_freq(default, "DE", "mass_t", "A") == native_freq(statistical, "DE", "mass_t", "A")
    # supplier_shares in tonnes: no statistical WORLD total in tonnes, as before the published rows
    messages = []
    for frame in (default, statistical):
        with pytest.raises(AnalysisError) as info:
            supplier_shares(frame, "DE", measure="mass_t", freq="A")
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    with_pub = supplier_shares(default, "DE", measure="volume_bbl", freq="A", dataset="nrg_ti_coifpm")
    without = supplier_shares(statistical, "DE", measure="volume_bbl", freq="A", dataset="nrg_ti_coifpm")
    pd.testing.assert_frame_equal(with_pub.to_frame(), without.to_frame())


def test_reconcile_shows_published_figures():
    frame = oilflows.load_default(reporter=["DE", "KZ"])
    result = reconcile(frame, "DE", partner="KZ")
    t = result.to_frame()
    row = t[(t["name"] == "published/kaztransoil [KEBCO]") & (t["period"] == pd.Timestamp("2025-01-01"))]
    assert len(row) == 1
    row = row.iloc[0]
    assert row["grade"] == "KEBCO" and row["mass_t"] == 2.1e6
    assert (row["lower_t"], row["upper_t"]) == (2.05e6, 2.15e6)
    assert "KazTransOil" in row["publisher"] and row["published_date"] == "2026-02-04"
    assert math.isnan(row["relative"])  # a slice is not compared with the partner total
    bafa = t[(t["name"] == "published/bafa") & (t["period"] == pd.Timestamp("2022-01-01"))].iloc[0]
    assert bafa["mass_t"] == 9.1e6 and bafa["difference_t"] == pytest.approx(9.1e6 - 9_030e3)
    assert result.reference == "eurostat/nrg_ti_oil"  # never a published figure
    text = result.summary()
    assert "published/kazmunaygas [KEBCO]" in text and "KEBCO only: a lower bound of the total" in text
    assert "[1,995.0, 2,205.0]" in text and "slice" in text


def test_reconcile_published_argument_both_formats(tmp_path):
    statistical = oilflows.load_default(reporter=["DE", "KZ"], source=["eurostat", "dg_ener"])
    result = reconcile(statistical, "DE", partner="KZ", published=read_published(PACKAGED))
    assert "published/daz_kz [KEBCO]" in set(result.to_frame()["name"])
    old = tmp_path / "old.csv"
    old.write_text("period,reporter,partner,metric,value,unit,publisher\n"
                   "2022,DE,KZ,crude_import_quantity,9.1,Mt,BAFA (via Reuters)\n")
    legacy = reconcile(statistical, "DE", partner="KZ", published=read_published(old))
    assert "published: BAFA (via Reuters)" in set(legacy.to_frame()["name"])


def test_cli_reconcile_shows_kebco(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("OILFLOWS_HOME", str(tmp_path / "none"))
    assert cli.main(["reconcile", "--reporter", "DE", "--partner", "KZ"]) == 0
    out = capsys.readouterr().out
    assert "published/kaztransoil [KEBCO]" in out and "KEBCO only: a lower bound of the total" in out
    assert "published KEBCO figures are a slice, not the partner total" in out
