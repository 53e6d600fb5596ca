"""Tests of oilflows.sources.dg_ener: the EU Crude Oil Imports Register (COIR) workbooks.

The real workbooks are read from ``$OILFLOWS_SHARED_DATA/dg_ener`` (default: ``shared/data`` next to
the repository); tests that need them are skipped when that directory is absent. The 2013 workbook
(the smallest, 252 kB) is also copied unchanged into ``tests/fixtures/dg_ener/`` so that the core
tests always run. Provenance: European Commission, DG ENER, EU crude oil imports register, via
OehlingerP/NotAllOilTypesAreAlike @ 1f24844c ``inst/extdata/`` (see shared/data/README.md).
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from oilflows.codes import REGIONS, is_iso_country
from oilflows.errors import SourceFormatError
from oilflows.schema import COLUMNS, WORLD, validate
from oilflows.sources.dg_ener import COIR_ORIGIN, read_coir

SHARED = Path(os.environ.get("OILFLOWS_SHARED_DATA", Path(__file__).parents[2] / "shared" / "data"))
COIR_DIR = SHARED / "dg_ener"
YEARS = range(2013, 2020)
FIXTURE = Path(__file__).parent / "fixtures" / "dg_ener" / "Crude_Oil_Imports_Reporting_Country_2013.xlsx"

HEADER = (
    "Reporting Country", "Country of Origin", "Type of crude oil", "Volume (1000 bbl)",
    "Total Value ($ 1000)", "CIF price (2) ($/bbl)", "% of Total Imports",
)
MONTH_SHEETS = [
    "EU COI - Jan", "EU COI - Feb", "EU COI - Mar", "EU COI - Apr", "EU COI - May", "EU COI - Jun",
    "EU COI - Jul", "EU COI - Aug", "EU COI - Sept", "EU COI - Oct", "EU COI - Nov", "EU COI - Dec",
]

# Germany, thousand barrels, from the methods note (computed from the published register).
DE_TOTAL_KBBL = {
    2013: 643_532, 2014: 617_402, 2015: 637_884, 2016: 612_827, 2017: 552_695, 2018: 551_932,
    2019: 608_915,
}
DE_RU_KBBL = {2013: 220_934, 2019: 175_304}
DE_KZ_KBBL = {2013: 56_859, 2016: 65_238, 2019: 48_461}


def coir_path(year: int) -> Path:
    path = COIR_DIR / f"Crude_Oil_Imports_Reporting_Country_{year}.xlsx"
    if not path.exists():
        pytest.skip(f"shared data not available: {path} (set OILFLOWS_SHARED_DATA)")
    return path


@pytest.fixture(scope="module")
def fixture_2013() -> pd.DataFrame:
    """The 2013 workbook from tests/fixtures, monthly and cumulative sheets."""
    return read_coir(FIXTURE, sheets="all")


@pytest.fixture(scope="module")
def all_years() -> dict[int, pd.DataFrame]:
    """All seven shared workbooks, monthly and cumulative sheets."""
    return {year: read_coir(coir_path(year), sheets="all") for year in YEARS}


def kbbl(frame: pd.DataFrame) -> float:
    return float(frame["volume_bbl"].sum()) / 1000.0


def monthly(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["freq"] == "M"]


# --------------------------------------------------------------------------------------------------
# the fixture copy (always runs)


def test_fixture_is_the_real_2013_workbook():
    assert FIXTURE.exists()
    assert FIXTURE.stat().st_size < 400_000


def test_fixture_validates(fixture_2013):
    frame = validate(fixture_2013)
    assert list(frame.columns) == list(COLUMNS)
    assert frame["reporter"].notna().all() and (frame["reporter"] != "").all()
    assert set(frame["source"]) == {"dg_ener"} and set(frame["dataset"]) == {"coir"}
    assert set(frame["flow"]) == {"import"} and set(frame["product"]) == {"crude_oil"}
    assert set(frame["currency"]) == {"USD"}
    assert frame[["mass_t", "api_gravity", "sulphur_pct"]].isna().all().all()
    assert not frame["flag"].fillna("").str.contains("c").any()  # no confidential volume in 2013
    assert set(frame["flag"].dropna()) == {"(3)"}  # value and price confidential (footnote 3)
    assert frame.loc[frame["partner"] == WORLD, "grade"].isna().all()
    assert frame.loc[frame["partner"] != WORLD, "grade"].notna().all()
    assert not frame["grade"].dropna().str.contains("_x000D_|\r|\n").any()


def test_periods_and_vintage(fixture_2013):
    months = monthly(fixture_2013)["period"].drop_duplicates().sort_values()
    assert list(months) == list(pd.date_range("2013-01-01", periods=12, freq="MS"))
    annual = fixture_2013[fixture_2013["freq"] == "A"]
    assert set(annual["period"]) == {pd.Timestamp("2013-01-01")}
    assert fixture_2013["period"].dtype == "datetime64[s]"
    assert fixture_2013["vintage"].dtype == "datetime64[s]"
    # independent truth: the dcterms:modified stamp in the package's docProps/core.xml
    with zipfile.ZipFile(FIXTURE) as archive:
        core = archive.read("docProps/core.xml").decode()
    stamp = re.search(r"<dcterms:modified[^>]*>([^<]+)<", core).group(1)
    assert stamp == "2023-02-14T13:05:31Z"
    assert set(fixture_2013["vintage"]) == {pd.Timestamp("2023-02-14 13:05:31")}


def test_sheets_choice(fixture_2013):
    assert set(read_coir(FIXTURE)["freq"]) == {"M"}
    annual = read_coir(FIXTURE, sheets="annual")
    assert set(annual["freq"]) == {"A"}
    pd.testing.assert_frame_equal(
        annual.reset_index(drop=True),
        fixture_2013[fixture_2013["freq"] == "A"].reset_index(drop=True),
    )
    with pytest.raises(ValueError, match="sheets"):
        read_coir(FIXTURE, sheets="quarterly")


def test_cells_against_the_sheet(fixture_2013):
    """Values typed from 'EU COI - Jan' of the 2013 workbook (rows 3, 35 and 241)."""
    jan = fixture_2013[(fixture_2013["period"] == "2013-01-01") & (fixture_2013["freq"] == "M")]
    row = jan[(jan["reporter"] == "AT") & (jan["partner"] == "AZ")].iloc[0]
    assert row["grade"] == "Azerbaijan Crude"
    assert row["volume_bbl"] == pytest.approx(123_070)  # 123.07 kbbl
    assert row["value"] == pytest.approx(13_695_630)  # 13,695.63 k USD
    assert row["price_per_bbl"] == pytest.approx(111.2832534)
    # Bulgaria: value and price "(3)" = confidential; the volume is given
    bulgaria = jan[(jan["reporter"] == "BG") & (jan["partner"] == "KZ")].iloc[0]
    assert bulgaria["volume_bbl"] == pytest.approx(603_969)
    assert np.isnan(bulgaria["value"]) and np.isnan(bulgaria["price_per_bbl"])
    assert bulgaria["flag"] == "(3)"  # the register's own confidentiality marker
    # the final 'World' row: the total over all reporters -> reporter EU28
    eu = jan[jan["reporter"] == "EU28"]
    assert len(eu) == 1 and eu["partner"].iloc[0] == WORLD
    assert eu["volume_bbl"].iloc[0] == pytest.approx(330_704_326)
    assert eu["value"].iloc[0] == pytest.approx(37_323_927_410)


def test_reporters_are_iso(fixture_2013):
    reporters = set(fixture_2013["reporter"])
    assert {"DE", "GR", "GB", "CZ", "HR"} <= reporters
    assert all(is_iso_country(r) for r in reporters - {"EU28"})


def test_abu_dhabi_is_ae_and_regions_are_not_iso(fixture_2013):
    assert COIR_ORIGIN["Abu Dhabi"] == "AE"
    # Murban and Upper Zakum are Abu Dhabi grades
    grades = fixture_2013[fixture_2013["grade"].isin(["Murban", "Upper Zakum"])]
    assert len(grades) and set(grades["partner"]) == {"AE"}
    for name, code in COIR_ORIGIN.items():
        if name.lower().startswith(("other", "unknown", "neutral")):
            assert not is_iso_country(code), name
            assert code in REGIONS, name
        else:
            assert is_iso_country(code), name
    other_africa = fixture_2013[fixture_2013["grade"] == "Other Africa Crude"]
    assert set(other_africa["partner"]) == {"AFRICA"}
    for code in set(fixture_2013["partner"]):
        assert is_iso_country(code) or code in REGIONS, code


def check_partner_identity(frame: pd.DataFrame) -> int:
    """Every reporter-period: partner rows add up to the WORLD row; EU = sum of reporters."""
    key = ["reporter", "freq", "period"]
    parts = frame[frame["partner"] != WORLD].groupby(key)["volume_bbl"].sum()
    world = frame[(frame["partner"] == WORLD) & (frame["reporter"] != "EU28")]
    world = world.set_index(key)["volume_bbl"]
    assert set(parts.index) == set(world.index)
    diff = (parts - world.loc[parts.index]).abs()
    tolerance = np.maximum(500.0, 1e-6 * world.loc[parts.index].abs())  # 0.5 kbbl
    assert (diff <= tolerance).all(), diff[diff > tolerance]
    eu = frame[frame["reporter"] == "EU28"].set_index(["freq", "period"])["volume_bbl"]
    reporters = world.groupby(level=["freq", "period"]).sum()
    assert set(eu.index) == set(reporters.index)
    assert np.allclose(eu.loc[reporters.index], reporters, rtol=1e-9, atol=500.0)
    return len(parts)


def test_partner_rows_add_up_to_world_fixture(fixture_2013):
    assert check_partner_identity(fixture_2013) > 12 * 15


def check_monthly_equals_cumulative(frame: pd.DataFrame, skip: tuple[str, ...] = ()) -> pd.DataFrame:
    """Sum of the monthly sheets vs the cumulative sheet per reporter/partner/grade (kbbl), for the
    reporters not in `skip`. Returns the keys found in one of the two only."""
    key = ["reporter", "partner", "grade"]
    frame = frame[~frame["reporter"].isin(skip)]
    months = frame[frame["freq"] == "M"].groupby(key, dropna=False)["volume_bbl"].sum()
    year = frame[frame["freq"] == "A"].groupby(key, dropna=False)["volume_bbl"].sum()
    both = pd.concat([months.rename("months"), year.rename("year")], axis=1)
    common = both.dropna()
    assert len(common) > 100
    diff = (common["months"] - common["year"]).abs()
    assert (diff <= np.maximum(500.0, 1e-6 * common["year"].abs())).all(), common[diff > 500]
    return both[both.isna().any(axis=1)]


def test_monthly_sheets_are_monthly_not_cumulative_fixture(fixture_2013):
    only_one = check_monthly_equals_cumulative(fixture_2013)
    assert only_one.empty, only_one
    # and a year-to-date reading would be ~6.5 times the annual total: make sure it is not
    de = fixture_2013[(fixture_2013["reporter"] == "DE") & (fixture_2013["partner"] == WORLD)]
    assert kbbl(monthly(de)) == pytest.approx(kbbl(de[de["freq"] == "A"]), abs=1)


def test_germany_2013_from_fixture(fixture_2013):
    de = monthly(fixture_2013)
    de = de[de["reporter"] == "DE"]
    assert kbbl(de[de["partner"] == WORLD]) == pytest.approx(DE_TOTAL_KBBL[2013], abs=1)
    assert kbbl(de[de["partner"] == "RU"]) == pytest.approx(DE_RU_KBBL[2013], abs=1)
    assert kbbl(de[de["partner"] == "KZ"]) == pytest.approx(DE_KZ_KBBL[2013], abs=1)


def test_path_bytes_and_file_object_agree(fixture_2013):
    expected = read_coir(FIXTURE)
    pd.testing.assert_frame_equal(read_coir(str(FIXTURE)), expected)
    data = FIXTURE.read_bytes()
    pd.testing.assert_frame_equal(read_coir(data, year=2013), expected)
    with open(FIXTURE, "rb") as handle:  # the year comes from handle.name
        pd.testing.assert_frame_equal(read_coir(handle), expected)
    pd.testing.assert_frame_equal(read_coir(io.BytesIO(data), year=2013), expected)


def test_year_must_be_known_and_consistent():
    data = FIXTURE.read_bytes()
    with pytest.raises(SourceFormatError, match=r"<bytes>.*year"):
        read_coir(data)  # 2013-2017 sheets carry no period stamp, bytes no file name
    with pytest.raises(SourceFormatError, match="conflicting data years"):
        read_coir(FIXTURE, year=2014)


# --------------------------------------------------------------------------------------------------
# all seven shared workbooks


@pytest.mark.parametrize("year", YEARS)
def test_germany_totals(all_years, year):
    de = monthly(all_years[year])
    de = de[de["reporter"] == "DE"]
    assert kbbl(de[de["partner"] == WORLD]) == pytest.approx(DE_TOTAL_KBBL[year], abs=1)
    if year in DE_RU_KBBL:
        assert kbbl(de[de["partner"] == "RU"]) == pytest.approx(DE_RU_KBBL[year], abs=1)
    if year in DE_KZ_KBBL:
        assert kbbl(de[de["partner"] == "KZ"]) == pytest.approx(DE_KZ_KBBL[year], abs=1)


@pytest.mark.parametrize("year", YEARS)
def test_partner_rows_add_up_to_world(all_years, year):
    frame = all_years[year]
    validate(frame)
    assert frame["reporter"].notna().all()
    assert check_partner_identity(frame) > 12 * 15
    assert len(monthly(frame)["period"].unique()) == 12


@pytest.mark.parametrize("year", YEARS)
def test_monthly_equals_cumulative(all_years, year):
    frame = all_years[year]
    if year != 2015:
        assert check_monthly_equals_cumulative(frame).empty
        return
    # the Czech Republic reported Jan-Apr 2015 but is absent from the 2015 cumulative sheet, so
    # the EU total of the cumulative sheet is short of the months' by exactly those rows
    only_one = check_monthly_equals_cumulative(frame, skip=("EU28",))
    assert set(only_one.index.get_level_values("reporter")) == {"CZ"}
    assert only_one["year"].isna().all()
    eu = frame[frame["reporter"] == "EU28"]
    cz = monthly(frame)
    cz = cz[(cz["reporter"] == "CZ") & (cz["partner"] == WORLD)]
    assert sorted(cz["period"].dt.month) == [1, 2, 3, 4]
    gap = kbbl(monthly(eu)) - kbbl(eu[eu["freq"] == "A"])
    assert gap == pytest.approx(kbbl(cz), abs=1)


def test_all_years_together_validate(all_years):
    frame = validate(pd.concat(all_years.values(), ignore_index=True))
    assert frame["reporter"].notna().all()
    assert frame.loc[frame["freq"] == "M", "period"].nunique() == 84


def raw_origin_names(path: Path) -> set[str]:
    """Every text under 'Country of Origin' in every sheet, read straight from the cells."""
    names: set[str] = set()
    workbook = openpyxl.load_workbook(path, read_only=True)
    for sheet in workbook.worksheets:
        column = None
        for row in sheet.iter_rows(values_only=True):
            if "Country of Origin" in row:
                column = row.index("Country of Origin")
            elif column is not None and isinstance(row[column], str):
                names.add(row[column].strip())
    workbook.close()
    return names


def test_every_origin_name_is_mapped(all_years):
    names = set().union(*(raw_origin_names(coir_path(year)) for year in YEARS))
    assert len(names) == 42
    assert names <= set(COIR_ORIGIN), names - set(COIR_ORIGIN)
    assert {"Abu Dhabi", "Kazakhstan", "Russian Federation", "Other FSU countries"} <= names
    partners = set().union(*(set(frame["partner"]) for frame in all_years.values()))
    assert partners <= {COIR_ORIGIN[name] for name in names} | {WORLD}


def test_2018_2019_title_block_layout(all_years):
    jan = all_years[2019]
    jan = jan[(jan["period"] == "2019-01-01") & (jan["freq"] == "M")]
    austria = jan[(jan["reporter"] == "AT") & (jan["partner"] == WORLD)]
    assert austria["volume_bbl"].iloc[0] == pytest.approx(5_212_100)  # 'Sum:' row, 5212.1 kbbl
    assert jan.loc[jan["reporter"] == "EU28", "volume_bbl"].iloc[0] == pytest.approx(358_222_203)
    # the sheets' period stamps give the year even without a file name
    data = coir_path(2019).read_bytes()
    assert set(read_coir(data)["period"].dt.year) == {2019}


# --------------------------------------------------------------------------------------------------
# error paths


def write_register(path: Path, sheets: dict[str, list[tuple]], header: tuple = HEADER) -> Path:
    """Hand-written workbook following the real 2013-2017 layout: column A empty, the header on
    row 2 in columns B-H, the reporter on its first row only, a 'Sum:' row per reporter and a final
    'World' row."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        sheet.append([None])
        sheet.append([None, *header])
        for row in rows:
            sheet.append([None, *row])
    workbook.save(path)
    return path


def austria(origin: str = "Kazakhstan", volume: float = 100.0) -> list[tuple]:
    return [
        ("Austria", origin, "Kazakhstan Crude", volume, 5000.0, 50.0, 0.5),
        ("Austria", None, "Sum:", volume, 5000.0, 50.0, 0.5),
        ("World", None, None, volume, 5000.0, 50.0, 1.0),
    ]


def test_hand_written_workbook_reads(tmp_path):
    path = write_register(tmp_path / "coir_2020.xlsx", {"EU COI - Jan": austria()})
    frame = validate(read_coir(path))
    assert len(frame) == 3
    assert set(frame["period"]) == {pd.Timestamp("2020-01-01")}
    assert frame.loc[frame["partner"] == "KZ", "volume_bbl"].iloc[0] == 100_000


def test_truncated_bytes():
    data = FIXTURE.read_bytes()[:5000]
    with pytest.raises(SourceFormatError, match="<bytes>.*not an xlsx") as info:
        read_coir(data, year=2013)
    assert info.value.source == "<bytes>"


def test_truncated_file_names_the_file(tmp_path):
    path = tmp_path / "Crude_Oil_Imports_Reporting_Country_2013.xlsx"
    path.write_bytes(FIXTURE.read_bytes()[:5000])
    with pytest.raises(SourceFormatError) as info:
        read_coir(path)
    assert str(path) in str(info.value)


def test_damaged_archive(tmp_path):
    """A zip that opens but whose sheet part is damaged."""
    source = zipfile.ZipFile(FIXTURE)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet2.xml":
                content = content[: len(content) // 2]
            target.writestr(item, content)
    with pytest.raises(SourceFormatError, match="<bytes>"):
        read_coir(buffer.getvalue(), year=2013)


def test_html_error_page():
    page = (
        b"<!DOCTYPE html><html><head><title>404 Not Found</title></head>"
        b"<body><h1>Not Found</h1></body></html>"
    )
    with pytest.raises(SourceFormatError, match="not an xlsx workbook"):
        read_coir(page, year=2013)


def test_missing_file_is_not_a_format_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_coir(tmp_path / "absent_2013.xlsx")


def test_missing_column(tmp_path):
    # hand-written following the real layout, with the real header minus "Volume (1000 bbl)"
    header = tuple(h for h in HEADER if h != "Volume (1000 bbl)")
    rows = [(r[0], r[1], r[2], *r[4:]) for r in austria()]
    path = write_register(tmp_path / "coir_2013.xlsx", {"EU COI - Jan": rows}, header=header)
    with pytest.raises(SourceFormatError, match=r"EU COI - Jan.*Volume \(1000 bbl\)") as info:
        read_coir(path)
    assert str(path) in str(info.value)


def test_header_not_found(tmp_path):
    path = write_register(
        tmp_path / "coir_2013.xlsx", {"EU COI - Jan": austria()}, header=("a", "b", "c")
    )
    with pytest.raises(SourceFormatError, match=r"EU COI - Jan.*no header row"):
        read_coir(path)


def test_workbook_without_register_sheets(tmp_path):
    path = write_register(tmp_path / "coir_2013.xlsx", {"Sheet1": austria()})
    with pytest.raises(SourceFormatError, match="no monthly sheet") as info:
        read_coir(path)
    assert info.value.field == "sheets"
    with pytest.raises(SourceFormatError, match="no cumulative sheet"):
        read_coir(path, sheets="annual")


def test_partial_year_has_no_annual(tmp_path):
    sheets = {"Detailed Crude Oil Imports - cu": austria(), "EU COI - Jan": austria()}
    path = write_register(tmp_path / "coir_2013.xlsx", sheets)
    assert len(read_coir(path)) == 3
    with pytest.raises(SourceFormatError, match="year-to-date"):
        read_coir(path, sheets="annual")


def test_unknown_origin_name(tmp_path):
    path = write_register(tmp_path / "coir_2013.xlsx", {"EU COI - Jan": austria("Atlantis")})
    with pytest.raises(SourceFormatError, match="Atlantis") as info:
        read_coir(path)
    message = str(info.value)
    assert str(path) in message and "EU COI - Jan" in message and "Country of Origin" in message


def test_sum_row_that_does_not_add_up(tmp_path):
    rows = austria()
    rows[1] = ("Austria", None, "Sum:", 999.0, 5000.0, 50.0, 0.5)
    path = write_register(tmp_path / "coir_2013.xlsx", {"EU COI - Jan": rows})
    with pytest.raises(SourceFormatError, match="Sum:.*999"):
        read_coir(path)


def test_duplicate_keys_are_summed(tmp_path):
    rows = [
        ("Austria", "Kazakhstan", "Kazakhstan Crude", 100.0, 5000.0, 50.0, 0.25),
        (None, "Kazakhstan", "Kazakhstan Crude", 300.0, 21000.0, 70.0, 0.75),
        ("Austria", None, "Sum:", 400.0, 26000.0, 65.0, 1.0),
        ("World", None, None, 400.0, 26000.0, 65.0, 1.0),
    ]
    path = write_register(tmp_path / "coir_2013.xlsx", {"EU COI - Jan": rows})
    frame = validate(read_coir(path))
    kz = frame[frame["partner"] == "KZ"]
    assert len(kz) == 1
    assert kz["volume_bbl"].iloc[0] == 400_000
    assert kz["value"].iloc[0] == 26_000_000
    assert kz["price_per_bbl"].iloc[0] == pytest.approx(65.0)


def test_vintage_fallback_without_modified_property(tmp_path):
    path = write_register(tmp_path / "coir_2013.xlsx", {"EU COI - Jan": austria()})
    buffer = io.BytesIO()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "docProps/core.xml":
                content = re.sub(rb"<dcterms:modified[^>]*>[^<]*</dcterms:modified>", b"", content)
            target.writestr(item, content)
    frame = read_coir(buffer.getvalue(), year=2013)
    assert set(frame["vintage"]) == {pd.Timestamp(datetime(2014, 1, 1))}
