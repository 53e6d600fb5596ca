"""Destatis GENESIS-Online: the ffcsv parser, the 51000-0017 reader and the web-service client.

Real fixtures: the GENESIS 61111-0001 samples (new and old layout, German) and a recorded English
``data/tablefile`` answer (restatis). Hand-made fixtures (51000-0017 flat files, JSON status bodies)
follow sources.md 4.2-4.4 and say so in ``fixtures/genesis/README.md``; other bodies written here by
hand are marked where they are defined. No test touches the network (``responses``).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from urllib.parse import parse_qs

import numpy as np
import pandas as pd
import pytest
import requests
import responses
from responses import matchers

from oilflows import schema
from oilflows.errors import FetchError, NetworkError, QueryError, SourceFormatError, UnknownDatasetError
from oilflows.sources import genesis

FIX = Path(__file__).resolve().parent / "fixtures" / "genesis"
NEW_ZIP = FIX / "genesis_ffcsv_new_61111-0001_de_flat.zip"
NEW_CSV = FIX / "genesis_ffcsv_new_61111-0001_de_flat.csv"
OLD_CSV = FIX / "genesis_ffcsv_old_61111-0001_de_flat.csv"
EN_ZIP = FIX / "restatis_tablefile_61111-0001_en_2025-03-24.zip"
JAN_CSV = FIX / "51000-0017_2023-01_de_flat.csv"
JAN_ZIP = FIX / "51000-0017_2023-01_de_flat.zip"
JUL_CSV = FIX / "51000-0017_2023-07_specials_de_flat.csv"
JUL_ZIP = FIX / "51000-0017_2023-07_specials_de_flat.zip"
JAN_EN_CSV = FIX / "51000-0017_2023-01_en_flat.csv"

URL = "https://www-genesis.destatis.de/genesisWS/rest/2020/data/tablefile"
CATALOGUE_URL = "https://www-genesis.destatis.de/genesisWS/rest/2020/catalogue/values2variable"
TOKEN = "tok3n-5ecret-0f-the-tests-58b3e6d032"
ZIP_HEADERS = {"Content-Disposition": "attachment; filename=51000-0017_1678708800000_de_flat.zip"}
# sources.md 4.2, the documented request, verbatim.
DOC_REQUEST = ("name=51000-0017&startyear=2025&endyear=2025&format=ffcsv&job=false&compress=false"
               "&classifyingvariable1=MONAT&classifyingkey1=MONAT03"
               "&classifyingvariable2=STLAH&classifyingkey2=STLAH003"
               "&classifyingvariable3=WAM8&classifyingkey3=WA27090090"
               "&contents=WERTE,GEWE&language=de")


def text_of(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def as_bytes(text: str) -> bytes:
    return text.encode("utf-8")


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return buffer.getvalue()


# == parse_ffcsv on the real samples =================================================================


@pytest.fixture(scope="module")
def new_long() -> pd.DataFrame:
    return genesis.parse_ffcsv(NEW_ZIP)


@pytest.fixture(scope="module")
def old_long() -> pd.DataFrame:
    return genesis.parse_ffcsv(OLD_CSV)


def pick(long: pd.DataFrame, year: str, unit: str | None = None, operator: str | None = None) -> pd.Series:
    rows = long[long["time"] == year]
    if unit is not None:
        rows = rows[rows["value_unit"] == unit]
    if operator is not None:
        rows = rows[rows["value_operator"] == operator]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_new_layout_real_sample(new_long):
    assert new_long.attrs["layout"] == "new" and new_long.attrs["decimal"] == ","
    assert len(new_long) == 66  # 33 years x (index, change)
    assert genesis.dimensions(new_long) == {"DINSG": 1}
    # Values typed from the file.
    assert pick(new_long, "2023", "2020=100")["value"] == 116.7
    assert pick(new_long, "2023", "%")["value"] == 5.9
    assert pick(new_long, "2020", "2020=100")["value"] == 100.0
    assert pick(new_long, "1991", "2020=100")["value"] == 61.9
    row = pick(new_long, "2016", "2020=100")
    assert (row["value"], row["value_variable_code"], row["value_variable_label"], row["value_q"]) == (
        95.0, "PREIS1", "Verbraucherpreisindex", "e")
    assert pick(new_long, "2016", "%")["value_variable_label"] == "in"  # as the file has it
    first = pick(new_long, "1991", "%")  # "." with an empty quality mark
    assert np.isnan(first["value"])
    assert (first["special"], first["reason"], first["value_q"]) == (".", "unknown or secret", None)
    assert new_long["special"].notna().sum() == 1
    assert new_long["value_operator"].isna().all()
    index_sum = new_long.loc[new_long["value_unit"] == "2020=100", "value"].sum()
    assert index_sum == pytest.approx(2812.6)  # summed with awk over the file


def test_zip_and_csv_give_the_same_frame(new_long):
    from_csv = genesis.parse_ffcsv(NEW_CSV)
    pd.testing.assert_frame_equal(from_csv, new_long)
    assert genesis.parse_ffcsv(NEW_ZIP.read_bytes()).equals(new_long)
    with NEW_ZIP.open("rb") as handle:
        assert genesis.parse_ffcsv(handle).equals(new_long)


def test_old_layout_real_sample(old_long):
    assert old_long.attrs["layout"] == "old" and old_long.attrs["decimal"] == ","
    assert len(old_long) == 66
    assert list(old_long.columns) == list(genesis.parse_ffcsv(NEW_CSV).columns)
    index = pick(old_long, "1991", "2020=100")
    assert (index["value"], index["value_variable_code"], index["value_q"]) == (61.9, "PREIS1", "e")
    change = pick(old_long, "1992", operator="CH0004")
    assert change["value"] == 5.0
    assert change["value_variable_code"] == "PREIS1"  # resolved through the label Verbraucherpreisindex
    assert change["value_unit"] is None
    assert pick(old_long, "2023", operator="CH0004")["value"] == 5.9
    first = pick(old_long, "1991", operator="CH0004")
    assert np.isnan(first["value"]) and first["special"] == "." and first["value_q"] is None


def test_old_and_new_samples_agree(new_long, old_long):
    new = new_long.assign(kind=np.where(new_long["value_unit"] == "%", "change", "index"))
    old = old_long.assign(kind=np.where(old_long["value_operator"] == "CH0004", "change", "index"))
    columns = ["time", "kind", "value", "special", "value_q", "value_variable_code"]
    merged = new[columns].merge(old[columns], on=["time", "kind"], suffixes=("_new", "_old"),
                                validate="one_to_one")
    assert len(merged) == 66  # every value of both files has its partner
    np.testing.assert_array_equal(merged["value_new"], merged["value_old"])  # NaN == NaN here
    for column in ("special", "value_q", "value_variable_code"):
        assert merged[f"{column}_new"].fillna("~").tolist() == merged[f"{column}_old"].fillna("~").tolist()


def test_english_real_recording(new_long):
    long = genesis.parse_ffcsv(EN_ZIP)
    assert long.attrs == {"layout": "new", "decimal": ".", "name": str(EN_ZIP)}
    assert len(long) == 4
    assert long["value_q"].isna().all()  # the English answer has no value_q column
    assert pick(long, "2024", "2020=100")["value"] == 119.3
    assert pick(long, "2024", "%")["value"] == 2.2
    # 2023 agrees with the German sample (decimal comma there, point here).
    for unit in ("2020=100", "%"):
        assert pick(long, "2023", unit)["value"] == pick(new_long, "2023", unit)["value"]
    assert pick(long, "2023", "2020=100")["statistics_label"] == "Consumer price index for Germany"


# == decimal separator ================================================================================


def de_with_value(value: str, time_label: str = "Jahr") -> bytes:
    """The real German sample with the 2016 index cell replaced by `value` (and the time labels)."""
    text = text_of(NEW_CSV).replace(";Jahr;", f";{time_label};")
    text = text.replace(";95,0;2020=100;", f";{value};2020=100;")
    return as_bytes(text)


def value_2016(long: pd.DataFrame) -> float:
    return pick(long, "2016", "2020=100")["value"]


@pytest.mark.parametrize(("cell", "expected"), [("1.234,5", 1234.5), ("1.234", 1234.0), ("95", 95.0),
                                                ("-0,5", -0.5), ("0", 0.0)])
def test_decimal_comma_with_thousands(cell, expected):
    long = genesis.parse_ffcsv(de_with_value(cell))
    assert long.attrs["decimal"] == ","
    assert value_2016(long) == expected


def test_decimal_point_detected_and_thousands_commas():
    text = text_of(NEW_CSV).replace(";Jahr;", ";Year;")
    text = text.replace(",", ".").replace(";95.0;2020=100;", ";1,095.5;2020=100;")
    long = genesis.parse_ffcsv(as_bytes(text))
    assert long.attrs["decimal"] == "."
    assert value_2016(long) == 1095.5
    assert pick(long, "2023", "2020=100")["value"] == 116.7


def test_ambiguous_cells_use_the_language():
    # Only integers and "1,000" (1.0 in German, 1000 in English): the time labels decide.
    text = text_of(NEW_CSV)
    for old in {c.split(";")[9] for c in text.splitlines()[1:]}:
        text = text.replace(f";{old};", ";7;")
    german = as_bytes(text.replace(";7;2020=100;", ";1,000;2020=100;", 1))
    assert genesis.parse_ffcsv(german)["value"].max() == 7.0  # 1,000 -> 1.0
    english = as_bytes(text.replace(";Jahr;", ";Year;").replace(";7;2020=100;", ";1,000;2020=100;", 1))
    assert genesis.parse_ffcsv(english)["value"].max() == 1000.0
    assert genesis.parse_ffcsv(german, language="en")["value"].max() == 1000.0
    assert genesis.parse_ffcsv(german, decimal=".")["value"].max() == 1000.0
    unknown = as_bytes(text.replace(";Jahr;", ";Zeitraum;").replace(";7;2020=100;", ";1,000;2020=100;", 1))
    with pytest.raises(SourceFormatError, match="cannot tell the decimal separator"):
        genesis.parse_ffcsv(unknown)


def test_language_contradicting_the_numbers_raises():
    with pytest.raises(SourceFormatError, match=r"cell '\d+,\d' is not a number") as info:
        genesis.parse_ffcsv(NEW_CSV, language="en")
    assert "language='en'" in str(info.value)
    with pytest.raises(SourceFormatError, match="decimal='.'"):
        genesis.parse_ffcsv(NEW_CSV, decimal=".")


@pytest.mark.parametrize("cell", ["abc", "12a", "1..2", "1,2,3", "--"])
def test_a_cell_that_is_no_number_raises(cell):
    with pytest.raises(SourceFormatError) as info:
        genesis.parse_ffcsv(de_with_value(cell), name="sample.csv")
    assert repr(cell) in str(info.value)
    assert info.value.field == "value" and info.value.source == "sample.csv"


# == special signs ======================================================================================


def test_special_signs_and_quality_marks():
    long = genesis.parse_ffcsv(JUL_ZIP)

    def cell(stlah: str, goods: str, content: str) -> pd.Series:
        rows = long[(long["3_variable_attribute_code"] == stlah)
                    & (long["4_variable_attribute_code"] == goods)
                    & (long["value_variable_code"] == content)]
        assert len(rows) == 1
        return rows.iloc[0]

    kz, ru, no = "STLAH079", "STLAH075", "STLAH028"
    crude, condensate = "WA27090090", "WA27090010"
    assert cell(kz, crude, "GEWE")[["value", "special", "value_q"]].tolist() == [1234.5, None, "p"]
    assert cell(kz, crude, "WERTE")[["value", "special", "reason"]].tolist() == [
        812.0, "()", "limited reliability"]
    assert cell(kz, crude, "GEWA")[["value", "special"]].tolist() == [0.0, None]  # "0": rounded, a number
    assert cell(no, condensate, "WERTE")["value"] == 2345.0  # "2.345": thousands separator
    nothing = cell(ru, crude, "GEWE")  # "-": exactly zero
    assert (nothing["value"], nothing["special"], nothing["reason"]) == (0.0, "-", "nothing (exactly zero)")
    for stlah, goods, sign, reason in [(ru, condensate, ".", "unknown or secret"),
                                      (kz, condensate, "x", "not applicable (cell locked)"),
                                      (no, condensate, "/", "not reliable enough"),
                                      (no, crude, "...", "available later")]:
        got = cell(stlah, goods, "GEWE")
        assert np.isnan(got["value"]) and (got["special"], got["reason"]) == (sign, reason)
    assert long["special"].value_counts().to_dict() == {"-": 22, "x": 3, ".": 2, "...": 2, "/": 1, "()": 1}


# == broken files ==========================================================================================


def test_truncated_zip():
    data = NEW_ZIP.read_bytes()
    for cut in (30, 200, len(data) - 30):
        with pytest.raises(SourceFormatError, match="ZIP archive is truncated or corrupt"):
            genesis.parse_ffcsv(data[:cut], name="cut.zip")


def test_corrupt_zip_member():
    data = bytearray(NEW_ZIP.read_bytes())
    data[120] ^= 0xFF  # inside the deflated member: CRC or inflate error
    with pytest.raises(SourceFormatError, match="truncated or corrupt"):
        genesis.parse_ffcsv(bytes(data))


def test_zip_with_two_csvs_or_none():
    member = NEW_CSV.read_bytes()
    with pytest.raises(SourceFormatError, match="exactly one") as info:
        genesis.parse_ffcsv(zipped({"a_de_flat.csv": member, "b_de_flat.csv": member}))
    assert "a_de_flat.csv" in str(info.value) and "b_de_flat.csv" in str(info.value)
    with pytest.raises(SourceFormatError, match=r"exactly one .*\['readme.txt'\]"):
        genesis.parse_ffcsv(zipped({"readme.txt": b"nothing"}))


def test_zip_with_one_csv_under_another_name():
    long = genesis.parse_ffcsv(zipped({"table.csv": NEW_CSV.read_bytes()}))
    assert len(long) == 66


def test_truncated_csv_is_detected():
    data = NEW_CSV.read_bytes()
    cut = data.index(b"\n", 2000) + 40  # in the middle of a line
    with pytest.raises(SourceFormatError, match=r"line \d+ has \d+ fields") as info:
        genesis.parse_ffcsv(data[:cut])
    assert "truncated" in str(info.value)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda h: h.replace("value_unit", "value_units"), "value_units"),
        (lambda h: h.replace(";value_q", ";value_q;value_note"), "value_note"),
        (lambda h: h.replace("time_label;", ""), "time_label"),
        (lambda h: h.replace("1_variable_label;1_variable_attribute_code",
                             "1_variable_attribute_code;1_variable_label"), "1_variable_attribute_code"),
    ],
)
def test_changed_column_set(change, field):
    lines = text_of(NEW_CSV).split("\n")
    lines[0] = change(lines[0])
    if field == "value_note":
        lines[1:] = [line + ";x" if line else line for line in lines[1:]]
    if field == "time_label":
        lines[1:] = [line.replace(";Jahr;", ";", 1) for line in lines[1:]]
    with pytest.raises(SourceFormatError, match="changed column set") as info:
        genesis.parse_ffcsv(as_bytes("\n".join(lines)), name="changed.csv")
    assert info.value.field == field


def test_changed_old_layout():
    lines = text_of(OLD_CSV).split("\n")
    with pytest.raises(SourceFormatError, match="must be followed by"):
        genesis.parse_ffcsv(as_bytes("\n".join([lines[0].replace("__CH0004__q", "__CH0004__Q")] + lines[1:])))
    with pytest.raises(SourceFormatError, match="changed column set for the old"):
        genesis.parse_ffcsv(as_bytes("\n".join([lines[0].replace("Zeit_Label", "Zeit_Text")] + lines[1:])))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b"\xef\xbb\xbfZeile;Wert\n1;2\n", "unknown flat-file layout"),
        (b'{"Ident":{"Service":"data","Method":"tablefile"},"Status":{"Code":98,"Content":"zu gross"}}',
         "GENESIS status 98: zu gross"),
        (b"<!DOCTYPE html><html><head><title>Wartungsarbeiten</title></head></html>", "Wartungsarbeiten"),
        (b"statistics_code;statistics_label\n\xff\xfe;x\n", "not UTF-8"),
    ],
)
def test_not_a_flat_file(body, message):
    with pytest.raises(SourceFormatError, match=message):
        genesis.parse_ffcsv(body)


# == read: 51000-0017 -> canonical ==========================================================================


@pytest.fixture(scope="module")
def january() -> pd.DataFrame:
    return genesis.read(JAN_ZIP)


def only(frame: pd.DataFrame, **where) -> pd.Series:
    rows = frame
    for column, value in where.items():
        rows = rows[rows[column] == value]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_read_january_2023_published_figures(january):
    schema.validate(january)
    assert list(january.columns) == list(schema.COLUMNS)
    assert set(january["source"]) == {"destatis"} and set(january["dataset"]) == {"51000-0017"}
    assert set(january["freq"]) == {"M"} and set(january["reporter"]) == {"DE"}
    assert set(january["flow"]) == {"import"} and set(january["product"]) == {"crude_oil"}
    assert set(january["period"]) == {pd.Timestamp("2023-01-01")}
    assert january["vintage"].isna().all()
    assert len(january) == 12  # 6 partners x 2 CN8 codes, none summed
    kz = only(january, partner="KZ", grade="CN27090090")
    # Destatis press release 13 Mar 2023: Kazakhstan 928,000 t, EUR 527 m.
    assert kz["mass_t"] == 928_000.0
    assert kz["value"] == 527_000_000.0 and kz["currency"] == "EUR"
    assert kz["flag"] == "e"
    published = {"NO": (987_000, 569e6), "GB": (959_000, 562e6), "US": (884_000, 628e6),
                 "AE": (510_000, 352e6)}
    for partner, (tonnes, euros) in published.items():
        row = only(january, partner=partner, grade="CN27090090")
        assert (row["mass_t"], row["value"]) == (tonnes, euros)
    ru = only(january, partner="RU", grade="CN27090090")
    assert ru["mass_t"] == 3_500.0 and np.isnan(ru["value"]) and pd.isna(ru["currency"])
    condensate = january[january["grade"] == "CN27090010"]
    assert (condensate["mass_t"] == 0).all() and (condensate["value"] == 0).all()
    assert set(condensate["flag"]) == {"-e"}
    # The HS 2709 total of a partner is the sum over its CN8 grades.
    by_partner = january.groupby("partner")["mass_t"].sum()
    assert by_partner["KZ"] == 928_000.0
    assert by_partner.sum() == 4_271_500.0


def test_csv_and_zip_read_the_same(january):
    pd.testing.assert_frame_equal(genesis.read(JAN_CSV), january)


def test_english_file_reads_like_the_german_one(january):
    english = genesis.read(JAN_EN_CSV)
    schema.validate(english)
    columns = ["partner", "grade", "mass_t", "value", "currency"]
    german = january[january["partner"].isin(["KZ", "RU"])][columns].reset_index(drop=True)
    pd.testing.assert_frame_equal(english[columns].reset_index(drop=True), german)
    assert english["flag"].fillna("").tolist() == ["-", "", "-", ""]  # no value_q in English files


def test_specials_to_canonical():
    frame = genesis.read(JUL_CSV)
    schema.validate(frame)
    assert len(frame) == 12  # 3 partners x 2 grades x (import, export)
    kz = only(frame, partner="KZ", grade="CN27090090", flow="import")
    assert (kz["mass_t"], kz["value"], kz["currency"], kz["flag"]) == (1234.5, 812_000.0, "EUR", "p")
    locked = only(frame, partner="KZ", grade="CN27090010", flow="import")
    assert np.isnan(locked["mass_t"]) and np.isnan(locked["value"]) and locked["flag"] == "x"
    secret = only(frame, partner="RU", grade="CN27090010", flow="import")
    assert np.isnan(secret["mass_t"]) and secret["flag"] == "c"  # "." -> confidential, never 0
    zero = only(frame, partner="RU", grade="CN27090090", flow="import")
    assert (zero["mass_t"], zero["value"], zero["flag"]) == (0.0, 0.0, "-e")  # "-" is an observed zero
    later = only(frame, partner="NO", grade="CN27090090", flow="import")
    assert np.isnan(later["mass_t"]) and later["flag"] == "..."
    unreliable = only(frame, partner="NO", grade="CN27090010", flow="import")
    assert np.isnan(unreliable["mass_t"]) and unreliable["value"] == 2_345_000.0
    assert unreliable["flag"] == "/"
    export = only(frame, partner="KZ", grade="CN27090090", flow="export")
    assert (export["mass_t"], export["value"], export["flag"]) == (0.0, 1000.0, "e")


def test_usd_value_only_without_eur():
    lines = [line for line in text_of(JUL_CSV).split("\n") if ";WERTE;" not in line]
    frame = genesis.read(as_bytes("\n".join(lines)))
    kz = only(frame, partner="KZ", grade="CN27090090", flow="import")
    assert (kz["value"], kz["currency"]) == (880_000.0, "USD")
    assert set(frame.loc[frame["flow"] == "export", "currency"].dropna()) == {"EUR"}


def test_vintage_is_passed_through():
    frame = genesis.read(JAN_CSV, vintage="2023-03-13 08:00:00")
    assert set(frame["vintage"]) == {pd.Timestamp("2023-03-13 08:00:00")}


def test_dimension_order_does_not_matter(january):
    lines = text_of(JAN_CSV).rstrip("\n").split("\n")

    def swap(line: str) -> str:  # dimensions 1 (MONAT) and 3 (STLAH) change places
        cells = line.split(";")
        first, third = cells[5:9], cells[13:17]
        cells[5:9], cells[13:17] = third, first
        return ";".join(cells)

    header = lines[0].split(";")
    swapped = ";".join(header) + "\n" + "\n".join(swap(line) for line in lines[1:]) + "\n"
    long = genesis.parse_ffcsv(as_bytes(swapped))
    assert genesis.dimensions(long) == {"STLAH": 1, "DINSG": 2, "MONAT": 3, "WAM8": 4}
    pd.testing.assert_frame_equal(genesis.read(as_bytes(swapped)), january)


def replaced(path: Path, old: str, new: str, count: int = -1) -> bytes:
    text = text_of(path)
    assert old in text
    return as_bytes(text.replace(old, new, count))


def test_unknown_country_label_raises():
    with pytest.raises(SourceFormatError, match="Atlantis") as info:
        genesis.read(replaced(JAN_CSV, ";Norwegen;", ";Atlantis;"), name="jan.csv")
    assert info.value.field == "STLAH" and "STLAH028" in str(info.value)


def test_stlah_code_contradicting_its_label_raises():
    # Labels as GENESIS prints them, with validity notes (issue 13; the fixtures follow the real answers).
    body = replaced(JAN_CSV, ";STLAH079;Kasachstan (ab 05/1992);", ";STLAH075;Kasachstan (ab 05/1992);")
    with pytest.raises(SourceFormatError,
                       match=r"STLAH075 is RU in STLAH_ISO but labelled 'Kasachstan \(ab 05/1992\)'"):
        genesis.read(body)


def test_an_unlisted_stlah_code_is_read_by_its_label():
    frame = genesis.read(replaced(JAN_CSV, ";STLAH079;Kasachstan (ab 05/1992);", ";STLAH999;Kasachstan;"))
    assert only(frame, partner="KZ", grade="CN27090090")["mass_t"] == 928_000.0


def test_two_codes_for_one_partner_raise():
    body = replaced(JAN_CSV, ";STLAH079;Kasachstan (ab 05/1992);", ";STLAH998;Kasachstan;", 1)
    with pytest.raises(SourceFormatError, match="several STLAH codes map to one partner"):
        genesis.read(body)


@pytest.mark.parametrize(
    ("old", "new", "message", "field"),
    [
        (";GEWE;Einfuhr: Gewicht;", ";GEWX;Einfuhr: Gewicht;", "unknown contents", "value_variable_code"),
        (";t;GEWE;", ";kg;GEWE;", "unit 'kg' for mass", "value_unit"),
        (";Tsd. EUR;WERTE;", ";Mio. EUR;WERTE;", "unit 'Mio. EUR'", "value_unit"),
        (";WA27090090;", ";WA2709009;", "unreadable goods codes", "WAM8"),
        (";MONAT01;", ";MONAT13;", "unreadable months", "MONAT"),
        ("51000;Außenhandel;", "51111;Außenhandel;", "foreign-trade statistic 51000", "statistics_code"),
        (";STLAH;Länderverzeichnis", ";LAND;Länderverzeichnis", "MONAT, STLAH and WAM8", "STLAH"),
    ],
)
def test_read_rejects(old, new, message, field):
    with pytest.raises(SourceFormatError, match=message) as info:
        genesis.read(replaced(JAN_CSV, old, new))
    assert info.value.field == field


def test_duplicate_cells_raise():
    lines = text_of(JAN_CSV).rstrip("\n").split("\n")
    with pytest.raises(SourceFormatError, match="occur twice"):
        genesis.read(as_bytes("\n".join(lines + lines[1:2]) + "\n"))


def test_header_only_is_an_empty_frame():
    header = text_of(JAN_CSV).split("\n")[0] + "\n"
    frame = genesis.read(as_bytes(header))
    assert len(frame) == 0 and schema.to_table(frame).schema.equals(schema.SCHEMA)


def test_the_cpi_sample_is_not_a_trade_table():
    with pytest.raises(SourceFormatError, match="51000"):
        genesis.read(NEW_ZIP)


# == country and code tables ================================================================================


@pytest.mark.parametrize(
    ("label", "iso"),
    [("Kasachstan", "KZ"), ("Kazakhstan", "KZ"), ("Russische Föderation", "RU"), ("Russian Federation", "RU"),
     ("  russische   föderation ", "RU"), ("Niederlande", "NL"), ("Vereinigtes Königreich", "GB"),
     ("Vereinigte Staaten", "US"), ("Korea, Republik", "KR"), ("Côte d’Ivoire", "CI"),
     ("Niederländische Antillen (bis 2012)", "AN"), ("Aserbaidschan", "AZ"), ("Libyen", "LY"),
     ("Atlantis", None), ("Insgesamt", None)],
)
def test_country_iso(label, iso):
    assert genesis.country_iso(label) == iso


def test_code_tables_are_consistent():
    assert len(genesis.ISO_STLAH) == len(genesis.STLAH_ISO)  # no ISO code listed twice
    for code, iso in genesis.STLAH_ISO.items():
        assert code.startswith("STLAH") and len(code) == 8
        assert iso in genesis.COUNTRY_NAMES_BY_ISO, code
    assert set(genesis.STLAH_ISO) >= genesis.STLAH_VERIFIED
    assert genesis.STLAH_ISO["STLAH079"] == "KZ" and genesis.STLAH_ISO["STLAH075"] == "RU"  # sources.md 4.2
    assert all(len(iso) == 2 and iso.isupper() for iso in genesis.COUNTRY_NAMES_BY_ISO)
    with pytest.raises(ValueError, match="listed for"):
        genesis._name_table({"AA": ("Utopia",), "BB": ("utopia",)})


# == requests ================================================================================================


def test_request_matches_the_documented_example():
    query = genesis.build_query("51000-0017", 2025, 2025, months=[3], countries=["STLAH003"],
                                goods=["WA27090090"], contents=("WERTE", "GEWE"))
    assert query.form() == {k: v[0] for k, v in parse_qs(DOC_REQUEST).items()}
    assert list(query.form()) == [pair.split("=")[0] for pair in DOC_REQUEST.split("&")]


def test_request_normalisation():
    query = genesis.build_query(start_year="2023", months=["MONAT01", 2, "2"], countries=["kz", "RU"],
                                goods=["2709 00 10", "WA27090090"], contents="gewe")
    form = query.form()
    assert form["classifyingkey1"] == "MONAT01,MONAT02"
    assert form["classifyingkey2"] == "STLAH079,STLAH075"
    assert form["classifyingkey3"] == "WA27090010,WA27090090"
    assert form["contents"] == "GEWE" and form["startyear"] == form["endyear"] == "2023"
    everything = genesis.build_query(start_year=2023).form()
    assert everything["classifyingkey1"] == everything["classifyingkey2"] == "*"
    assert everything["contents"] == "GEWE,WERTE"


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({}, "start_year is required"),
        ({"start_year": "23"}, "not a year"),
        ({"start_year": 2024, "end_year": 2023}, "before start_year"),
        ({"start_year": 2023, "months": [13]}, "month 13"),
        ({"start_year": 2023, "months": []}, "months is empty"),
        ({"start_year": 2023, "countries": ["XX"]}, "no STLAH code known for 'XX'"),
        ({"start_year": 2023, "goods": ["2709"]}, "not a CN8 code"),
        ({"start_year": 2023, "contents": ["BME"]}, "unknown content 'BME'"),
        ({"start_year": 2023, "language": "fr"}, "language"),
    ],
)
def test_bad_requests_are_refused_before_sending(kwargs, fragment, mocked_responses):
    with pytest.raises(QueryError, match=fragment):
        genesis.fetch(token=TOKEN, **kwargs)
    assert len(mocked_responses.calls) == 0


def test_unknown_table(mocked_responses):
    with pytest.raises(UnknownDatasetError, match="51000-0013"):
        genesis.fetch("51000-0013", 2023, token=TOKEN)
    assert len(mocked_responses.calls) == 0


def test_plan_stays_under_the_dialog_limit():
    plan = genesis.plan_requests(genesis.build_query(start_year=2020, end_year=2023))
    assert [(q.start_year, q.end_year) for q in plan] == [(2020, 2021), (2022, 2023)]
    assert all(q.values() == 2 * 12 * 350 * 2 * 2 <= genesis.MAX_VALUES for q in plan)
    small = genesis.build_query(start_year=2015, end_year=2024, countries=["KZ", "RU"])
    assert genesis.plan_requests(small) == [small]  # 10 x 12 x 2 x 2 x 2 = 960 values
    many = genesis.build_query(start_year=2023, countries=list(genesis.STLAH_ISO)[:60])
    parts = genesis.plan_requests(many)
    assert all(len(q.countries) <= genesis.MAX_KEYS for q in parts)
    assert [c for q in parts for c in q.countries] == list(many.countries)
    huge = genesis.build_query(start_year=2023, contents=list(genesis.CONTENTS))  # 12 x 350 x 2 x 6
    assert all(q.values() <= genesis.MAX_VALUES for q in genesis.plan_requests(huge))


def test_split_order():
    query = genesis.build_query(start_year=2022, end_year=2023, countries=["KZ", "RU"])
    first, second = genesis.split_query(query)
    assert (first.end_year, second.start_year) == (2022, 2023)
    first, second = genesis.split_query(first)
    assert (first.months, second.months) == ((1, 2, 3, 4, 5, 6), (7, 8, 9, 10, 11, 12))
    one = genesis.build_query(start_year=2023, months=[1], countries=["KZ"], goods=["WA27090090"],
                              contents=["GEWE"])
    assert genesis.split_query(one) is None


# == fetch ===================================================================================================


@pytest.fixture
def rsps(mocked_responses):
    return mocked_responses


QUERY = {"start_year": 2023, "months": [1], "countries": ["KZ", "RU", "NO", "GB", "US", "AE"]}


def form_of(**query) -> dict[str, str]:
    return genesis.build_query(**query).form()


def add(rsps, form: dict | None = None, status: int = 200, **kwargs) -> None:
    if "json" not in kwargs:
        kwargs.setdefault("body", JAN_ZIP.read_bytes())
        kwargs.setdefault("content_type", "application/zip")
    match = [matchers.urlencoded_params_matcher(form)] if form is not None else []
    rsps.add(responses.POST, URL, status=status, match=match, **kwargs)


def test_fetch_posts_the_form_with_the_token_in_headers(rsps, january):
    add(rsps, form_of(**QUERY), headers=ZIP_HEADERS)
    got = genesis.fetch(token=TOKEN, **QUERY)
    pd.testing.assert_frame_equal(got, january)
    request = rsps.calls[0].request
    assert request.method == "POST" and request.url == URL  # no query string, no token in the URL
    assert request.headers["username"] == TOKEN and request.headers["password"] == ""
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert TOKEN not in request.body
    assert parse_qs(request.body)["language"] == ["de"]


def test_token_from_the_environment(rsps, monkeypatch):
    monkeypatch.setenv("GENESIS_TOKEN", f"  {TOKEN} ")
    add(rsps, form_of(**QUERY))
    genesis.fetch(**QUERY)
    assert rsps.calls[0].request.headers["username"] == TOKEN


def test_missing_token(rsps, monkeypatch):
    monkeypatch.delenv("GENESIS_TOKEN", raising=False)
    with pytest.raises(QueryError, match="GENESIS_TOKEN") as info:
        genesis.fetch(**QUERY)
    assert "token" in str(info.value)
    with pytest.raises(QueryError):
        genesis.fetch(token="  ", **QUERY)
    assert len(rsps.calls) == 0


def test_responses_are_not_cached(monkeypatch):
    seen = {}

    class Answer:  # a minimal stand-in for requests.Response
        status_code = 200
        headers = {"Content-Type": "application/zip"}
        content = JAN_ZIP.read_bytes()

    def fake_post(url, **kwargs):
        seen.update(kwargs, url=url)
        return Answer()

    monkeypatch.setattr("oilflows.http.post", fake_post)
    genesis.fetch(token=TOKEN, **QUERY)
    assert seen["cache"] is False  # a cached entry would put the token's request on disk
    assert seen["ok"] == (200,) and seen["headers"]["username"] == TOKEN


def test_status_98_splits_and_retries(rsps, january):
    query = {"start_year": 2023, "countries": ["KZ", "RU", "NO", "GB", "US", "AE"]}
    add(rsps, form_of(**query), body=(FIX / "status_98_too_big.json").read_bytes(),
        content_type="application/json")
    add(rsps, form_of(**query, months=[1, 2, 3, 4, 5, 6]), body=JAN_ZIP.read_bytes())
    add(rsps, form_of(**query, months=[7, 8, 9, 10, 11, 12]), body=JUL_ZIP.read_bytes())
    got = genesis.fetch(token=TOKEN, **query)
    schema.validate(got)
    assert len(rsps.calls) == 3
    keys = [parse_qs(call.request.body)["classifyingkey1"][0] for call in rsps.calls]
    assert keys == ["*", "MONAT01,MONAT02,MONAT03,MONAT04,MONAT05,MONAT06",
                    "MONAT07,MONAT08,MONAT09,MONAT10,MONAT11,MONAT12"]
    pd.testing.assert_frame_equal(got[got["period"] == "2023-01-01"].reset_index(drop=True), january)
    assert len(got[got["period"] == "2023-07-01"]) == 12


def test_status_98_for_a_single_cell(rsps):
    query = {"start_year": 2023, "months": [1], "countries": ["KZ"], "goods": ["WA27090090"],
             "contents": ["GEWE"]}
    add(rsps, form_of(**query), body=(FIX / "status_98_too_big.json").read_bytes(),
        content_type="application/json")
    with pytest.raises(FetchError, match="status 98") as info:
        genesis.fetch(token=TOKEN, **query)
    assert "zu gross" in str(info.value)


def test_status_99_job_created(rsps):
    add(rsps, form_of(**QUERY), body=(FIX / "status_99_job_created.json").read_bytes(),
        content_type="application/json")
    with pytest.raises(FetchError) as info:
        genesis.fetch(token=TOKEN, **QUERY)
    message = str(info.value)
    assert "status 99" in message and "51000-0017_001597503" in message
    assert "token cannot run jobs" in message and "password" in message
    assert info.value.status == 200 and TOKEN not in message


def test_status_104_is_an_empty_frame(rsps):
    add(rsps, form_of(**QUERY), body=(FIX / "status_104_no_data.json").read_bytes(),
        content_type="application/json")
    got = genesis.fetch(token=TOKEN, **QUERY)
    assert len(got) == 0
    assert schema.to_table(got).schema.equals(schema.SCHEMA)


def test_status_104_for_one_part_only(rsps, january):
    query = {"start_year": 2022, "end_year": 2023, "months": [1],
             "countries": ["KZ", "RU", "NO", "GB", "US", "AE"]}
    add(rsps, form_of(**query), body=(FIX / "status_98_too_big.json").read_bytes(),
        content_type="application/json")
    add(rsps, form_of(**{**query, "end_year": 2022}), body=(FIX / "status_104_no_data.json").read_bytes(),
        content_type="application/json")
    add(rsps, form_of(**{**query, "start_year": 2023}))
    pd.testing.assert_frame_equal(genesis.fetch(token=TOKEN, **query), january)


# Hand-written bodies (no recording exists): status 22 with the table in Object.Content, status 0
# without one, an unknown code, JSON without Status (shapes per sources.md 4.4 / pystatis).
STATUS_22 = {"Ident": {"Service": "data", "Method": "tablefile"},
             "Status": {"Code": 22, "Content": "erfolgreich mit Parameteranpassung", "Type": "Warnung"},
             "Object": {"Content": text_of(JAN_CSV)}}


def test_status_22_with_the_table_in_the_json(rsps, january):
    add(rsps, form_of(**QUERY), json=STATUS_22)
    pd.testing.assert_frame_equal(genesis.fetch(token=TOKEN, **QUERY), january)


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ({"Status": {"Code": 0, "Content": "erfolgreich"}}, "status 0 (erfolgreich) but no table"),
        ({"Status": {"Code": 15, "Content": f"Fehler für Nutzer {TOKEN}", "Type": "Fehler"}},
         "GENESIS status 15: Fehler für Nutzer ***"),
        ({"Ident": {"Service": "data"}}, "without a GENESIS Status.Code"),
    ],
)
def test_other_json_bodies(rsps, document, fragment):
    add(rsps, form_of(**QUERY), json=document)
    with pytest.raises(FetchError) as info:
        genesis.fetch(token=TOKEN, **QUERY)
    assert fragment in str(info.value) and TOKEN not in str(info.value)


def test_plain_csv_answer(rsps, january):
    add(rsps, form_of(**QUERY), body=JAN_CSV.read_bytes(), content_type="text/csv; charset=utf-8")
    pd.testing.assert_frame_equal(genesis.fetch(token=TOKEN, **QUERY), january)


def test_401_never_shows_the_token(rsps):
    # Hand-written: an authentication failure whose body echoes the user name (the token).
    body = f"<html><head><title>401 Unauthorized</title></head><body>User {TOKEN} unknown</body></html>"
    add(rsps, form_of(**QUERY), status=401, body=body, content_type="text/html")
    with pytest.raises(FetchError) as info:
        genesis.fetch(token=TOKEN, **QUERY)
    assert info.value.status == 401 and "Unauthorized" in str(info.value)
    assert TOKEN not in str(info.value) and "***" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_html_page_on_http_200(rsps):
    body = (f"<!DOCTYPE html><html><head><title>GENESIS-Online: Anmeldung fehlgeschlagen {TOKEN}</title>"
            "</head><body>Bitte melden Sie sich an.</body></html>")  # hand-written outage/login page
    add(rsps, form_of(**QUERY), body=body, content_type="text/html; charset=UTF-8")
    with pytest.raises(FetchError, match="HTML") as info:
        genesis.fetch(token=TOKEN, **QUERY)
    assert "Anmeldung fehlgeschlagen" in str(info.value) and TOKEN not in str(info.value)
    assert info.value.status == 200


def test_retry_after_429(rsps, january):
    add(rsps, form_of(**QUERY), status=429, body="Too Many Requests", content_type="text/plain",
        headers={"Retry-After": "0"})
    add(rsps, form_of(**QUERY))
    pd.testing.assert_frame_equal(genesis.fetch(token=TOKEN, **QUERY), january)
    assert [c.response.status_code for c in rsps.calls] == [429, 200]


def test_retry_after_503(rsps, january):
    add(rsps, form_of(**QUERY), status=503, body="Service Unavailable", content_type="text/plain")
    add(rsps, form_of(**QUERY))
    pd.testing.assert_frame_equal(genesis.fetch(token=TOKEN, **QUERY), january)
    assert [c.response.status_code for c in rsps.calls] == [503, 200]


def test_retries_exhausted(rsps):
    add(rsps, form_of(**QUERY), status=502, body="Bad Gateway", content_type="text/plain")
    with pytest.raises(FetchError) as info:
        genesis.fetch(token=TOKEN, **QUERY)
    assert info.value.status == 502 and URL in str(info.value)
    assert len(rsps.calls) == 1 + 4


@pytest.mark.parametrize("error", [requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout])
def test_timeout(rsps, error):
    for _ in range(6):
        add(rsps, form_of(**QUERY), body=error("timed out"))
    with pytest.raises(FetchError, match="timed out") as info:
        genesis.fetch(token=TOKEN, **QUERY)
    assert URL in str(info.value) and "\n" not in str(info.value)


def test_no_network(rsps):
    add(rsps, form_of(**QUERY), body=requests.exceptions.ConnectionError(
        f"HTTPSConnectionPool(host='www-genesis.destatis.de'): Max retries exceeded (user {TOKEN})"))
    with pytest.raises(NetworkError, match="no network") as info:
        genesis.fetch(token=TOKEN, **QUERY)
    assert TOKEN not in str(info.value)


def test_truncated_zip_body(rsps):
    add(rsps, form_of(**QUERY), body=JAN_ZIP.read_bytes()[:500])
    with pytest.raises(SourceFormatError, match="truncated or corrupt") as info:
        genesis.fetch(token=TOKEN, **QUERY)
    assert URL in str(info.value) and "STLAH079" in str(info.value)  # names the request


def test_zip_body_with_two_csvs(rsps):
    member = JAN_CSV.read_bytes()
    add(rsps, form_of(**QUERY), body=zipped({"51000-0017_1_de_flat.csv": member,
                                              "51000-0017_2_de_flat.csv": member}))
    with pytest.raises(SourceFormatError, match="exactly one"):
        genesis.fetch(token=TOKEN, **QUERY)


def test_changed_header_body(rsps):
    body = replaced(JAN_CSV, "value_variable_label", "value_variable_text")
    add(rsps, form_of(**QUERY), body=zipped({"51000-0017_de_flat.csv": body}))
    with pytest.raises(SourceFormatError, match="changed column set") as info:
        genesis.fetch(token=TOKEN, **QUERY)
    assert info.value.field == "value_variable_text"


def test_empty_body(rsps):
    add(rsps, form_of(**QUERY), body=b"", content_type="application/zip")
    with pytest.raises(FetchError, match="empty response body"):
        genesis.fetch(token=TOKEN, **QUERY)


def test_english_request_checks_the_decimal_point(rsps):
    add(rsps, form_of(**QUERY, language="en"), body=JAN_EN_CSV.read_bytes(), content_type="text/csv")
    got = genesis.fetch(token=TOKEN, language="en", **QUERY)
    assert only(got, partner="KZ", grade="CN27090090")["mass_t"] == 928_000.0
    rsps.reset()
    add(rsps, form_of(**QUERY, language="en"))  # a German (decimal comma) body for an English request
    with pytest.raises(SourceFormatError, match="language='en'"):
        genesis.fetch(token=TOKEN, language="en", **QUERY)


# == the STLAH catalogue =====================================================================================


def test_stlah_catalogue(rsps):
    rsps.add(responses.POST, CATALOGUE_URL, body=(FIX / "catalogue_values2variable_STLAH.json").read_bytes(),
             content_type="application/json",
             match=[matchers.urlencoded_params_matcher({"name": "STLAH", "pagelength": "350",
                                                        "language": "de"})])
    catalogue = genesis.stlah_catalogue(token=TOKEN)
    assert catalogue == {"STLAH003": "Niederlande", "STLAH478": "Niederländische Antillen (bis 2012)"}
    assert rsps.calls[0].request.headers["username"] == TOKEN
    problems = genesis.verify_stlah(catalogue)
    assert not [p for p in problems if p.startswith(("STLAH003", "STLAH478"))]  # the verified pair agrees
    assert "STLAH079 (KZ) is not in the catalogue" in problems
    assert genesis.verify_stlah({**catalogue, "STLAH079": "Turkmenistan"}).count(
        "STLAH079 is KZ in STLAH_ISO but the catalogue says 'Turkmenistan' (TM)") == 1


def test_stlah_catalogue_errors(rsps):
    rsps.add(responses.POST, CATALOGUE_URL, body=(FIX / "status_104_no_data.json").read_bytes(),
             content_type="application/json")
    assert genesis.stlah_catalogue(token=TOKEN) == {}
    rsps.reset()
    rsps.add(responses.POST, CATALOGUE_URL, json={"Status": {"Code": 15, "Content": "Fehler"}})
    with pytest.raises(FetchError, match="status 15"):
        genesis.stlah_catalogue(token=TOKEN)


# == catalogue/modifieddata: last_update ====================================================================

MODIFIED_URL = "https://www-genesis.destatis.de/genesisWS/rest/2020/catalogue/modifieddata"
MODIFIED = FIX / "modifieddata_51000-0017.json"  # hand-written, shape [U] (see the README)


def add_modified(rsps, form: dict | None = None, **kwargs) -> None:
    if "json" not in kwargs:
        kwargs.setdefault("body", MODIFIED.read_bytes())
        kwargs.setdefault("content_type", "application/json")
    match = [matchers.urlencoded_params_matcher(form)] if form is not None else []
    rsps.add(responses.POST, MODIFIED_URL, match=match, **kwargs)


def test_last_update_is_the_latest_date_of_the_table(rsps):
    add_modified(rsps)
    # 51000-0013 (20.04.2024) is ignored; the three 51000-0017 dates are out of order.
    assert genesis.last_update(token=TOKEN) == pd.Timestamp("2024-03-15 08:00:12")
    assert genesis.last_update(token=TOKEN).tz is None


def test_last_update_sends_the_form_with_the_token_in_headers(rsps):
    add_modified(rsps, {"selection": "51000-0017", "type": "Tabellen", "date": "01.01.2024",
                        "pagelength": "100", "language": "de"})
    genesis.last_update("51000-0017", token=TOKEN, since="2024-01-01")
    request = rsps.calls[0].request
    assert request.method == "POST" and request.url == MODIFIED_URL
    assert request.headers["username"] == TOKEN and request.headers["password"] == ""
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert TOKEN not in request.body


def test_last_update_without_since_sends_no_date(rsps):
    add_modified(rsps, {"selection": "51000-0017", "type": "Tabellen", "pagelength": "100", "language": "de"})
    genesis.last_update(token=TOKEN)
    assert "date" not in parse_qs(rsps.calls[0].request.body)


def test_last_update_other_codes_only(rsps):
    # Hand-written body: only other tables listed.
    entry = {"Code": "51000-0013", "Content": "x", "Date": "01.02.2024", "Added": "", "Type": "Tabelle"}
    add_modified(rsps, json={"Ident": {"Service": "catalogue", "Method": "modifieddata"},
                             "Status": {"Code": 0, "Content": "erfolgreich"}, "List": [entry]})
    assert genesis.last_update(token=TOKEN) is None


@pytest.mark.parametrize("date, expected", [
    ("15.03.2024", "2024-03-15"), ("15.03.2024 08:05", "2024-03-15 08:05"),
    ("15.03.2024 08:05:09", "2024-03-15 08:05:09")])
def test_last_update_date_forms(rsps, date, expected):
    add_modified(rsps, json={"Status": {"Code": 22, "Content": "Warnung"},
                             "List": [{"Code": "51000-0017", "Date": date}]})
    assert genesis.last_update(token=TOKEN) == pd.Timestamp(expected)


def test_last_update_status_104_is_none(rsps):
    add_modified(rsps, body=(FIX / "status_104_no_data.json").read_bytes())
    assert genesis.last_update(token=TOKEN, since=pd.Timestamp("2024-01-01")) is None


@pytest.mark.parametrize("document, error, fragment", [
    ({"Ident": {"Service": "catalogue"}}, SourceFormatError, "Status"),
    ({"Status": {"Code": 0, "Content": "erfolgreich"}}, SourceFormatError, "List"),
    ({"Status": {"Code": 0}, "List": [{"Code": "51000-0017", "Date": "2024-03-15"}]}, SourceFormatError,
     "DD.MM.YYYY"),
    ({"Status": {"Code": 15, "Content": "Fehler"}}, FetchError, "status 15"),
])
def test_last_update_bad_answers(rsps, document, error, fragment):
    add_modified(rsps, json=document)
    with pytest.raises(error, match=fragment):
        genesis.last_update(token=TOKEN)


def test_last_update_missing_token(rsps, monkeypatch):
    monkeypatch.delenv("GENESIS_TOKEN", raising=False)
    with pytest.raises(QueryError, match="GENESIS_TOKEN"):
        genesis.last_update()
    assert len(rsps.calls) == 0
    monkeypatch.setenv("GENESIS_TOKEN", TOKEN)
    add_modified(rsps)
    genesis.last_update()
    assert rsps.calls[0].request.headers["username"] == TOKEN


def test_last_update_never_shows_the_token(rsps):
    # Hand-written: a 401 page and a status message that both echo the token.
    add_modified(rsps, status=401, body=f"<html><title>401</title>User {TOKEN} unknown</html>",
                 content_type="text/html")
    with pytest.raises(FetchError) as info:
        genesis.last_update(token=TOKEN)
    assert TOKEN not in str(info.value)
    rsps.reset()
    add_modified(rsps, json={"Status": {"Code": 15, "Content": f"Benutzer {TOKEN} unbekannt"}})
    with pytest.raises(FetchError) as info:
        genesis.last_update(token=TOKEN)
    assert TOKEN not in str(info.value) and "***" in str(info.value)


# == live (opt-in: pytest -m live, with GENESIS_TOKEN set) ===================================================


@pytest.mark.live
def test_live_kazakhstan_january_2023():
    import os

    if not os.environ.get("GENESIS_TOKEN"):
        pytest.skip("GENESIS_TOKEN is not set")
    frame = genesis.fetch(start_year=2023, months=[1], countries=["KZ"])
    total = frame.loc[(frame["partner"] == "KZ") & (frame["flow"] == "import"), "mass_t"].sum()
    assert total == pytest.approx(928_000, rel=0.01)  # Destatis press release 13 Mar 2023
