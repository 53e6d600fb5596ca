"""GENESIS reader on real answers (issue 13): table 51000-0010 in both languages and both layouts, as
recorded by the pystatis project (tests/fixtures/genesis/real/README.md). No network."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from oilflows import codes
from oilflows.errors import SourceFormatError
from oilflows.sources import genesis

REAL = Path(__file__).parent / "fixtures" / "genesis" / "real"
NEW_DE = REAL / "51000-0010_de_new_2026-03-10_flat.csv"  # the CSV of the recorded ZIP, rows cut
NEW_EN = REAL / "51000-0010_en_new_2026-03-10_flat.csv"
OLD_DE = REAL / "51000-0010_de_old_2024-06-23_flat.csv"
OLD_EN = REAL / "51000-0010_en_old_2024-06-23_flat.csv"
FIXTURES = {"new_de": NEW_DE, "new_en": NEW_EN, "old_de": OLD_DE, "old_en": OLD_EN}
#: Countries per file: the old files are whole (all 262 STLAH values); the new ones keep 25 countries
#: (whole rows cut, see the fixtures' README).
COUNTRIES = {"new_de": 25, "new_en": 25, "old_de": 262, "old_en": 262}
COUNTRY_LIST = Path(genesis.__file__).parent.parent / "data" / genesis.COUNTRIES_FILE


def text_of(path: Path) -> str:
    data = path.read_bytes()
    if data.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            (member,) = archive.namelist()
            data = archive.read(member)
    return data.decode("utf-8").removeprefix("\ufeff")


def raw_labels(path: Path) -> dict[str, str]:
    """STLAH code -> country label, read from the raw file by position (column 12 and 13)."""
    rows = list(csv.reader(io.StringIO(text_of(path)), delimiter=";"))
    return {row[11]: row[12] for row in rows[1:]}


def country_list() -> list[dict[str, str]]:
    with COUNTRY_LIST.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def cell(frame: pd.DataFrame, partner: str, flow: str) -> pd.Series:
    rows = frame[(frame["partner"] == partner) & (frame["flow"] == flow)]
    assert len(rows) == 1, rows
    return rows.iloc[0]


# -- the files are read -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "layout", "decimal", "units"),
    [
        ("new_de", "new", ",", {"t", "Tsd. EUR", "Tsd. US $"}),
        ("new_en", "new", ".", {"t", "EUR 1000", "US-$ 1000"}),
        ("old_de", "old", ",", {"t", "Tsd. EUR", "Tsd. US $"}),  # "Tsd._EUR" in the header
        ("old_en", "old", ".", {"t", "Tsd. EUR", "Tsd. US $"}),
    ],
)
def test_real_files_parse(key, layout, decimal, units):
    long = genesis.parse_ffcsv(FIXTURES[key])
    assert long.attrs["layout"] == layout and long.attrs["decimal"] == decimal
    assert len(long) == COUNTRIES[key] * 6  # countries x GEWA, WERTA, WERTAS, GEWE, WERTE, WERTES
    assert set(long["value_unit"]) == units
    assert long["value_q"].isna().all()  # requested with quality off: no value_q / __q columns
    assert genesis.dimensions(long) == {"DINSG": 1, "STLAH": 2, "WAM4": 3}


@pytest.mark.parametrize("key", list(FIXTURES))
def test_real_files_read(key):
    frame = genesis.read(FIXTURES[key])
    assert len(frame) == COUNTRIES[key] * 2  # one row per partner and flow
    assert frame["partner"].nunique() == COUNTRIES[key]
    assert set(frame["dataset"]) == {"51000-0010"} and set(frame["freq"]) == {"A"}
    assert set(frame["product"]) == {"cn4_0101"} and frame["grade"].isna().all()
    year = 2025 if key.startswith("new") else 2023
    assert set(frame["period"]) == {pd.Timestamp(f"{year}-01-01")}
    assert set(frame["currency"].dropna()) == {"EUR"}  # the EUR value is kept, USD only without it


def test_language_en_reads_the_english_files():
    """``language="en"`` failed on the units ``EUR 1000`` / ``US-$ 1000`` before issue 13."""
    for key in FIXTURES:
        language = key[-2:]
        assert len(genesis.read(FIXTURES[key], language=language)) == COUNTRIES[key] * 2


# -- values verified by hand in the raw files --------------------------------------------------------
# Contents per row of the old files: GEWA (t), WERTA (Tsd. EUR), WERTAS, GEWE (t), WERTE (Tsd. EUR), WERTES.

HAND_VERIFIED = {
    # old_de line 8: "...;STLAH001;Frankreich;...;52,8;5853;6379;16,5;1940;2090"
    # old_de line 173: "...;STLAH400;Vereinigte Staaten von Amerika;...;716,9;141390;153008;69,7;1626;1755"
    # old_de line 47: "...;STLAH075;Russische Föderation (ab 05/1992);...;-;-;-;0,6;3;3"
    # old_de line 55: "...;STLAH052;Türkei;...;-;-;-;0,6;2;2"
    "old_de": [("FR", "export", 52.8, 5_853_000.0), ("FR", "import", 16.5, 1_940_000.0),
               ("US", "export", 716.9, 141_390_000.0), ("US", "import", 69.7, 1_626_000.0),
               ("RU", "import", 0.6, 3_000.0), ("RU", "export", 0.0, 0.0), ("TR", "import", 0.6, 2_000.0)],
    # old_en lines 8, 173, 47, 55: the same numbers with a decimal point ("52.8;5853;...", "Turkey",
    # "Russian Federation (since 05/1992)")
    "old_en": [("FR", "export", 52.8, 5_853_000.0), ("FR", "import", 16.5, 1_940_000.0),
               ("US", "export", 716.9, 141_390_000.0), ("US", "import", 69.7, 1_626_000.0),
               ("RU", "import", 0.6, 3_000.0), ("RU", "export", 0.0, 0.0), ("TR", "import", 0.6, 2_000.0)],
    # new_de line 74 "STLAH001;Frankreich;...;39,0;t;GEWA", 76 "1986;Tsd. EUR;WERTA", 79 "28,3;t;GEWE",
    # 75 "5173;Tsd. EUR;WERTE"; line 86 "STLAH400;...;658,0;t;GEWA", 88 "132886;Tsd. EUR;WERTA",
    # 91 "53,1;t;GEWE", 87 "1569;Tsd. EUR;WERTE"; line 67 "STLAH075;Russische Föderation (ab 05/1992);
    # ...;0,5;t;GEWE", 63 "1;Tsd. EUR;WERTE"; line 56 "STLAH052;Türkei;...;0,5;t;GEWA", 58 "6;Tsd. EUR;WERTA"
    # (lines 824/826/... of the whole recorded CSV)
    "new_de": [("FR", "export", 39.0, 1_986_000.0), ("FR", "import", 28.3, 5_173_000.0),
               ("US", "export", 658.0, 132_886_000.0), ("US", "import", 53.1, 1_569_000.0),
               ("RU", "import", 0.5, 1_000.0), ("TR", "export", 0.5, 6_000.0)],
    # new_en: the same lines, "39.0;t;GEWA", "1986;EUR 1000;WERTA", "0.5;t;GEWE" ... ("France",
    # "United States", "Russian Federation (since 05/1992)", "Turkey")
    "new_en": [("FR", "export", 39.0, 1_986_000.0), ("FR", "import", 28.3, 5_173_000.0),
               ("US", "export", 658.0, 132_886_000.0), ("US", "import", 53.1, 1_569_000.0),
               ("RU", "import", 0.5, 1_000.0), ("TR", "export", 0.5, 6_000.0)],
}


@pytest.mark.parametrize("key", list(HAND_VERIFIED))
def test_values_verified_by_hand(key):
    frame = genesis.read(FIXTURES[key])
    for partner, flow, mass_t, value in HAND_VERIFIED[key]:
        row = cell(frame, partner, flow)
        assert row["mass_t"] == pytest.approx(mass_t), (partner, flow)
        assert row["value"] == pytest.approx(value), (partner, flow)
        assert row["currency"] == "EUR"


@pytest.mark.parametrize("key", list(FIXTURES))
def test_nothing_sign_is_zero_with_flag(key):
    # every file: "STLAH002;Belgien und Luxemburg (bis 1998)" / "Belgium and Luxembourg (until 1998)": all "-"
    frame = genesis.read(FIXTURES[key])
    row = cell(frame, "BELUX", "import")
    assert row["mass_t"] == 0.0 and row["value"] == 0.0 and row["flag"] == "-"


@pytest.mark.parametrize("key", ["new_de", "old_de"])
def test_languages_agree(key):
    """The German and English answers of one recording are the same numbers and partners."""
    german = genesis.read(FIXTURES[key])
    english = genesis.read(FIXTURES[key.replace("_de", "_en")])
    pd.testing.assert_frame_equal(german, english)


# -- the country list ----------------------------------------------------------------------------------


def test_every_real_label_maps():
    """Every label of every real file (262 German and 262 English in the old files, 25 + 25 in the new)
    maps to the partner of its code in the country list, both through read (by code) and by the label
    alone (as printed)."""
    partner_of = {row["stlah"]: row["partner"] for row in country_list()}
    checked = 0
    for path in FIXTURES.values():
        for code, label in raw_labels(path).items():
            assert genesis.country_iso(label) == partner_of[code], (code, label)
            checked += 1
    assert checked == sum(COUNTRIES.values())


def test_country_list_is_the_real_list():
    """genesis_countries.csv holds exactly the codes and labels of the real answers, in both languages
    (the whole list from the old files; the new files, 2026, print the same labels)."""
    rows = {row["stlah"]: row for row in country_list()}
    assert len(rows) == 262
    for path, column in ((NEW_DE, "label_de"), (OLD_DE, "label_de"),
                         (NEW_EN, "label_en"), (OLD_EN, "label_en")):
        labels = raw_labels(path)
        assert {code: rows[code][column] for code in labels} == labels
        assert len(labels) in (25, 262)


def test_partners_are_iso_or_declared_non_country_codes():
    iso = set(genesis.COUNTRY_NAMES_BY_ISO) - {"AN", "XK"}  # AN withdrawn; XK user-assigned
    partners = [row["partner"] for row in country_list()]
    assert len(set(partners)) == len(partners)  # no two codes share a partner (read would raise)
    for row in country_list():
        if row["partner"] not in iso:
            assert "non-country code" in row["note"] or row["partner"] == "XK", row
            assert re.fullmatch(r"[A-Z][A-Z0-9_]+", row["partner"]), row
    non_country = {row["partner"] for row in country_list() if row["partner"] not in iso}
    # every non-country partner is in oilflows' one vocabulary of non-country codes (codes.REGIONS)
    assert non_country - {"XK"} <= set(codes.REGIONS), sorted(non_country - {"XK"} - set(codes.REGIONS))
    assert {"BELUX", "SUHH", "YUCS", "CSXX", "CSHH", "NOT_SPECIFIED", "CONFIDENTIAL"} <= non_country


def test_stlah_iso_agrees_with_the_real_list():
    partner_of = {row["stlah"]: row["partner"] for row in country_list()}
    for code, iso in genesis.STLAH_ISO.items():
        assert partner_of[code] == iso, code
    assert partner_of["STLAH079"] == "KZ" and partner_of["STLAH075"] == "RU"


@pytest.mark.parametrize(
    ("label", "stripped"),
    [
        ("Kasachstan (ab 05/1992)", "Kasachstan"),
        ("Kazakhstan (since 05/1992)", "Kazakhstan"),
        ("Belgien und Luxemburg (bis 1998)", "Belgien und Luxemburg"),
        ("Soviet Union (until 04/1992)", "Soviet Union"),
        ("Jugoslawien (05/1992 bis 12/1992)", "Jugoslawien"),
        ("Serbia and Montenegro (01/1993 - 05/2005)", "Serbia and Montenegro"),
        ("French Southern Territories (from 2001)", "French Southern Territories"),
        ("Sint Maarten (niederländischer Teil) (ab 2013)", "Sint Maarten (niederländischer Teil)"),
        ("Russland (seit 01.05.1992)", "Russland"),
        ("Russia (since May 1992)", "Russia"),
        ("Montenegro (ab 2006-06)", "Montenegro"),
        ("Heiliger Stuhl (Vatikanstadt)", "Heiliger Stuhl (Vatikanstadt)"),  # not a validity note
        ("Kokosinseln (Keelinginseln) (ab 2001)", "Kokosinseln (Keelinginseln)"),
    ],
)
def test_validity_notes_are_stripped(label, stripped):
    assert genesis.strip_validity_note(label) == stripped


@pytest.mark.parametrize(
    ("label", "partner"),
    [
        ("Kasachstan (ab 05/1992)", "KZ"), ("Russische Föderation (ab 05/1992)", "RU"),
        ("Kazakhstan (since 05/1992)", "KZ"), ("Islamische Republik Iran", "IR"),
        ("Bolivarische Republik Venezuela", "VE"), ("Bolivarian Republic of Venezuela", "VE"),
        ("Turkey", "TR"), ("Belgien und Luxemburg", "BELUX"), ("Kasachstan (seit Mai 1992)", "KZ"),
        ("Amerikanisch-Ozeanien (bis 2000)", "AMERICAN_OCEANIA"),
    ],
)
def test_labels_of_the_issue_map(label, partner):
    assert genesis.country_iso(label) == partner


# -- the flagship flow: a 51000-0017 file with real labels and units -----------------------------------


def test_flagship_flow_with_real_labels_and_english_units():
    """A 51000-0017 line for Kazakh crude, as GENESIS writes it in English (validity note, EUR 1000)."""
    header = ("statistics_code;statistics_label;time_code;time_label;time;"
              + ";".join(f"{n}_variable_code;{n}_variable_label;{n}_variable_attribute_code;"
                         f"{n}_variable_attribute_label" for n in range(1, 5))
              + ";value;value_unit;value_variable_code;value_variable_label")
    lead = ("51000;Foreign trade;JAHR;Year;2023;MONAT;Months;MONAT01;January;DINSG;Germany;DG;Germany;"
            "STLAH;Country Nomenclature for External Trade Statistics;STLAH079;Kazakhstan (since 05/1992);"
            "WAM8;Goods;WA27090090;Crude")
    body = "\n".join([header, f"{lead};928000.0;t;GEWE;Imports: Net mass",
                      f"{lead};527000;EUR 1000;WERTE;Imports: Value",
                      f"{lead};571000;US-$ 1000;WERTES;Imports: Value (US-Dollar)"]) + "\n"
    frame = genesis.read(body.encode(), language="en")
    row = cell(frame, "KZ", "import")
    assert (row["dataset"], row["freq"], row["grade"]) == ("51000-0017", "M", "CN27090090")
    assert row["mass_t"] == 928_000.0 and row["value"] == 527_000_000.0 and row["currency"] == "EUR"


# -- layouts: quality columns, English old header --------------------------------------------------------


def old_de_with_quality(mark: str = "e") -> bytes:
    """The real old German file with a ``__q`` column after each content (as with quality=on)."""
    lines = text_of(OLD_DE).rstrip("\n").split("\n")
    header = lines[0].split(";")
    fixed, contents = header[:17], header[17:]
    new_header = fixed + [c for content in contents
                          for c in (content, "__".join(content.split("__")[:2]) + "__q")]
    rows = []
    for line in lines[1:]:
        cells = line.split(";")
        rows.append(cells[:17] + [c for value in cells[17:] for c in (value, mark)])
    return ("\n".join(";".join(r) for r in [new_header, *rows]) + "\n").encode()


def test_old_layout_with_and_without_quality_columns_agree():
    without = genesis.read(OLD_DE)
    with_q = genesis.read(old_de_with_quality("e"))
    assert set(with_q["flag"].dropna()) <= {"e", "-e"}
    pd.testing.assert_frame_equal(without.drop(columns="flag"), with_q.drop(columns="flag"))


def test_quality_marks_are_still_validated():
    with pytest.raises(SourceFormatError, match="unknown quality marks"):
        genesis.read(old_de_with_quality("xc"))


def test_old_layout_mixing_quality_columns_raises():
    lines = text_of(OLD_DE).split("\n")
    header = lines[0].split(";")
    header.insert(18, "GEWA__Ausfuhr:_Gewicht__q")  # only the first content has its quality column
    lines = [";".join(header)] + [";".join((cells := line.split(";"))[:18] + ["e"] + cells[18:])
                                  for line in lines[1:] if line]
    with pytest.raises(SourceFormatError, match="must be followed by"):
        genesis.parse_ffcsv("\n".join(lines).encode())


def test_orphan_quality_column_raises():
    lines = text_of(OLD_DE).split("\n")
    header = lines[0].split(";")
    header[17] = "GEWA__Ausfuhr:_Gewicht__q"
    with pytest.raises(SourceFormatError, match="does not follow the content"):
        genesis.parse_ffcsv("\n".join([";".join(header), *lines[1:]]).encode())


def test_english_old_header_is_read_by_position():
    long = genesis.parse_ffcsv(OLD_EN)
    first = long.iloc[0]
    # old_en line 2: "51000;Foreign trade;JAHR;Year;2023;DINSG;Germany;DG;Germany;STLAH;Countries;STLAH017;
    # Belgium (since 1999);WAM4;...;WA0101;Live horses, asses, mules and hinnies;48.0;2077;2246;..."
    assert (first["2_variable_code"], first["2_variable_attribute_code"],
            first["2_variable_attribute_label"]) == ("STLAH", "STLAH017", "Belgium (since 1999)")
    assert (first["value_variable_code"], first["value_variable_label"], first["value"]) == (
        "GEWA", "Exports: Net mass", 48.0)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # a repeated name in another place than GENESIS's own: refused
        ("1_variable_label;1_variable_code;1_variable_code;2_variable_code",
         "1_variable_code;1_variable_label;1_variable_code;2_variable_code"),
        ("statistics_label;time_code", "statistics_label;statistics_label"),
    ],
)
def test_english_old_header_with_other_repeats_raises(old, new):
    text = text_of(OLD_EN)
    header, rest = text.split("\n", 1)
    assert old in header
    with pytest.raises(SourceFormatError, match="changed column set|duplicated columns"):
        genesis.parse_ffcsv((header.replace(old, new, 1) + "\n" + rest).encode())


def test_new_layout_still_refuses_repeated_names():
    text = text_of(NEW_DE)
    header, rest = text.split("\n", 1)
    header = header.replace("1_variable_attribute_code", "1_variable_code", 1)
    with pytest.raises(SourceFormatError, match="changed column set"):
        genesis.parse_ffcsv((header + "\n" + rest).encode())


def test_unknown_english_unit_still_raises():
    text = text_of(NEW_EN).replace(";EUR 1000;", ";EUR 1,000,000;")
    with pytest.raises(SourceFormatError, match="unit 'EUR 1,000,000'"):
        genesis.read(text.encode())


def test_new_layout_in_a_zip_as_genesis_serves_it():
    """GENESIS serves the new layout as a ZIP holding one ``*_flat.csv`` (the recorded answers did)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("51000-0010_1773174953216_de_flat.csv", NEW_DE.read_bytes())
    pd.testing.assert_frame_equal(genesis.read(buffer.getvalue()), genesis.read(NEW_DE))
