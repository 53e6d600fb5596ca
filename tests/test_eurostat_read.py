"""Eurostat readers: SDMX-CSV 1.0 (plain/gzip, 2024 and 2025 layouts) and JSON-stat 2.0 -> canonical frame.

Figures are checked against independent truth: the methods note (table R3, computed from the
28/02/24 snapshot) and the raw file itself, read here with the ``csv`` module, not with oilflows.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

import pandas as pd
import pytest

from oilflows import codes, schema
from oilflows.errors import SourceFormatError, UnknownDatasetError
from oilflows.sources import eurostat

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "eurostat"
SMALL = FIXTURES / "nrg_ti_coifpm_DE_KZ_RU.csv.gz"  # real lines, see fixtures/eurostat/make_fixture.py
LAYOUT_2025 = FIXTURES / "nrg_ti_coifpm_DE_2025_layout.csv"
JSONSTAT_SPARSE = FIXTURES / "nrg_ti_coifpm_DE_jsonstat_sparse.json"
JSONSTAT_DENSE = FIXTURES / "nrg_ti_coifpm_DE_jsonstat_dense.json"
OILM_JSONSTAT = FIXTURES / "nrg_ti_oilm_jsonstat.json"
OIL_SDMX = FIXTURES / "nrg_ti_oil_DE_annual_sdmx.csv"

VINTAGE = pd.Timestamp("2024-02-28 11:00:00")

# Methods note, table R3 (Germany in nrg_ti_coifpm, kbbl, snapshot LAST UPDATE 28/02/24).
R3_WORLD = {2020: 572_184, 2021: 567_881, 2022: 614_023, 2023: 546_621}
R3_RU = {2020: 192_822, 2021: 186_493, 2022: 142_082, 2023: 0}
R3_KZ_DISCLOSED = {2020: 39_383, 2021: 45_806, 2022: 53_257, 2023: 49_550}


# -- helpers --------------------------------------------------------------------------------------


def raw_rows(path: Path) -> list[dict[str, str]]:
    """The data rows of an SDMX-CSV file as dicts of strings, read with the csv module only."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def raw_lines(path: Path = SMALL) -> list[bytes]:
    """The lines of the (gzip) file, header first, with their line endings."""
    return gzip.decompress(path.read_bytes()).splitlines(keepends=True)


def de_annual_kbbl(frame: pd.DataFrame, **match: str) -> dict[int, float]:
    """Reporter DE, rows matching `match` (column=value), volume in kbbl summed per year 2020..2023."""
    rows = frame[frame["reporter"] == "DE"]
    for column, value in match.items():
        rows = rows[rows[column] == value]
    rows = rows[rows["period"].dt.year.between(2020, 2023)]
    sums = rows.groupby(rows["period"].dt.year)["volume_bbl"].sum() / 1000
    return {int(year): float(total) for year, total in sums.items()}


def confidential(frame: pd.DataFrame) -> pd.Series:
    return frame["flag"].fillna("").str.contains("c", regex=False)


def sort_keyed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(schema.KEY)).reset_index(drop=True)


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return eurostat.read(SMALL)


@pytest.fixture(scope="module")
def full_path(shared_data: Path) -> Path:
    path = shared_data / "eurostat" / "nrg_ti_coifpm.csv.gz"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path


@pytest.fixture(scope="module")
def full(full_path: Path) -> pd.DataFrame:
    return eurostat.read(full_path)


@pytest.fixture(scope="module")
def full_raw(full_path: Path) -> list[dict[str, str]]:
    return raw_rows(full_path)


@pytest.fixture(params=["fixture", "full"])
def coifpm(request: pytest.FixtureRequest) -> pd.DataFrame:
    """The DE figures are the same in the small real extract and in the whole real file."""
    return request.getfixturevalue("small" if request.param == "fixture" else "full")


# -- figures against the methods note (R3) ---------------------------------------------------------


def test_world_total_matches_r3(coifpm):
    assert de_annual_kbbl(coifpm, partner="WORLD") == pytest.approx(R3_WORLD, abs=1e-6)


def test_world_rows_are_the_total_grade(coifpm):
    world = coifpm[coifpm["partner"] == "WORLD"]
    assert len(world) > 0
    assert world["grade"].isna().all()
    assert (coifpm.loc[coifpm["grade"].isna(), "partner"] == "WORLD").all()


def test_russia_matches_r3(coifpm):
    assert de_annual_kbbl(coifpm, partner="RU") == pytest.approx(R3_RU, abs=1e-6)


def test_kazakhstan_disclosed_matches_r3(coifpm):
    assert de_annual_kbbl(coifpm, partner="KZ") == pytest.approx(R3_KZ_DISCLOSED, abs=1e-6)


def test_ru_export_blend(coifpm):
    grade = de_annual_kbbl(coifpm, grade="RU_EXP_BLN")
    assert grade[2021] == pytest.approx(172_167)
    assert grade[2023] == 0
    rows = coifpm[(coifpm["reporter"] == "DE") & (coifpm["grade"] == "RU_EXP_BLN")
                  & (coifpm["period"].dt.year == 2023)]
    secret = rows[confidential(rows)]
    assert len(secret) == 7
    assert secret["volume_bbl"].isna().all()
    assert set(secret["flag"]) == {"c"}
    assert sorted(secret["period"].dt.month) == list(range(1, 8))  # 2023-01..07 (data README)


def test_kz_msc_confidential_ten_of_twelve_months_2023(coifpm):
    rows = coifpm[(coifpm["reporter"] == "DE") & (coifpm["grade"] == "KZ_MSC")
                  & (coifpm["period"].dt.year == 2023)]
    assert len(rows) == 12
    secret = confidential(rows)
    assert int(secret.sum()) == 10
    assert rows.loc[secret, "volume_bbl"].isna().all()
    # The two disclosed months are explicit zeros in the source: 0.0, not missing.
    assert rows.loc[~secret, "volume_bbl"].tolist() == [0.0, 0.0]


def test_norway_and_us_2023_match_r3(full):
    assert de_annual_kbbl(full, partner="NO")[2023] == pytest.approx(86_272)
    assert de_annual_kbbl(full, partner="US")[2023] == pytest.approx(104_873)


def test_indicators_become_measures_in_base_units(small):
    # Real lines: DE TOTAL 2019-12: VOL_THS_BBL 52162 b, VAL_THS_USD 3478392 b, AVGPRC_USD_BBL 66.68 b.
    row = small[(small["partner"] == "WORLD") & (small["period"] == pd.Timestamp("2019-12-01"))]
    assert len(row) == 1
    row = row.iloc[0]
    assert row["volume_bbl"] == 52_162_000
    assert row["value"] == 3_478_392_000
    assert row["price_per_bbl"] == pytest.approx(66.68)
    assert row["currency"] == "USD"
    assert row["flag"] == "b"
    assert pd.isna(row["mass_t"])
    # API gravity and sulphur as published (no scaling): KZ_CPC_BLN 2023-01 API_DEG 45.84.
    cpc = small[(small["grade"] == "KZ_CPC_BLN") & (small["period"] == pd.Timestamp("2023-01-01"))]
    assert cpc["api_gravity"].tolist() == [pytest.approx(45.84)]
    assert cpc["volume_bbl"].tolist() == [4_785_000]


# -- the whole real file ----------------------------------------------------------------------------


def test_full_one_row_per_volume_observation(full, full_raw):
    volume = [r for r in full_raw if r["indic_nrg"] == "VOL_THS_BBL"]
    assert len(full_raw) == 176_175
    assert len(volume) == 65_277
    assert len(full) == 65_277
    raw_keys = {(r["geo"], r["crudeoil"], r["TIME_PERIOD"]) for r in volume}
    ours = set(zip(full["reporter"], full["grade"].fillna("TOTAL"),
                   full["period"].dt.strftime("%Y-%m"), strict=True))
    assert ours == raw_keys


def test_full_schema_and_validate(full):
    assert schema.to_table(full).schema.equals(schema.SCHEMA)
    assert list(full.columns) == list(schema.COLUMNS)
    assert schema.validate(full) is full
    assert set(full["source"]) == {"eurostat"}
    assert set(full["dataset"]) == {"nrg_ti_coifpm"}
    assert set(full["freq"]) == {"M"}
    assert set(full["flow"]) == {"import"}
    assert set(full["product"]) == {"crude_oil"}


def test_full_no_confidential_quantity(full):
    secret = confidential(full)
    assert secret.any()
    assert full.loc[secret, "volume_bbl"].isna().all()


def test_full_flag_counts_match_source(full, full_raw):
    volume = [r for r in full_raw if r["indic_nrg"] == "VOL_THS_BBL"]
    raw_secret = [r for r in volume if "c" in r["OBS_FLAG"]]
    assert raw_secret and all(r["OBS_VALUE"] == "" for r in raw_secret)
    assert int(confidential(full).sum()) == len(raw_secret)
    raw_counts = pd.Series([r["OBS_FLAG"] or None for r in volume], dtype=object).value_counts()
    assert full["flag"].value_counts().to_dict() == raw_counts.to_dict()
    assert int(full["flag"].isna().sum()) == sum(1 for r in volume if r["OBS_FLAG"] == "")


def test_full_vintage(full):
    assert full["vintage"].notna().all()
    assert set(full["vintage"]) == {VINTAGE}


PARTNER_OF_PREFIX = [
    ("UK_", "GB"), ("AUH_", "AE"), ("DXB_", "AE"), ("SHJ_", "AE"), ("AG_", "AR"),
    ("NZ_", "NEUTRAL_ZONE"), ("ME_OTH", "MIDEAST"), ("LA_OTH", "LATAM"), ("ID-AYU1", "ID"),
    ("KZ_", "KZ"), ("RU_", "RU"),
]


@pytest.mark.parametrize(("prefix", "partner"), PARTNER_OF_PREFIX)
@pytest.mark.parametrize("which", ["fixture", "full"])
def test_partner_of_crudeoil_code(which, prefix, partner, request):
    frame = request.getfixturevalue("small" if which == "fixture" else "full")
    rows = frame[frame["grade"].fillna("").str.startswith(prefix)]
    assert len(rows) > 0, f"no {prefix} rows"
    assert set(rows["partner"]) == {partner}


def test_region_partners_are_not_iso(full):
    partners = set(full["partner"])
    regions = partners & set(codes.REGIONS)
    assert {"WORLD", "MIDEAST", "LATAM", "NEUTRAL_ZONE"} <= regions
    assert not any(codes.is_iso_country(p) for p in regions)
    # Every other partner is a country code.
    assert all(codes.is_iso_country(p) for p in partners - regions)
    assert not {"UK", "EL", "AG", "AUH", "DXB", "SHJ", "NZ", "ME", "LA"} & partners


def test_reporters(full):
    reporters = set(full["reporter"])
    assert reporters == {"DE", "FR", "IT", "ES", "NL", "PL", "EU_V"}
    assert not {"EL", "UK"} & reporters


def test_explicit_zeros_stay_zero(full, full_raw):
    zeros = {(r["geo"], r["crudeoil"], r["TIME_PERIOD"]) for r in full_raw
             if r["indic_nrg"] == "VOL_THS_BBL" and r["OBS_VALUE"] in ("0", "0.0")}
    assert len(zeros) > 100
    keyed = full.assign(crudeoil=full["grade"].fillna("TOTAL"),
                        month=full["period"].dt.strftime("%Y-%m"))
    keyed = keyed.set_index(["reporter", "crudeoil", "month"])
    values = keyed.loc[sorted(zeros), "volume_bbl"]
    assert len(values) == len(zeros)
    assert values.notna().all()
    assert (values == 0.0).all()


# -- containers -------------------------------------------------------------------------------------


def test_every_container_gives_the_same_frame(small, tmp_path):
    packed = SMALL.read_bytes()
    plain = gzip.decompress(packed)
    plain_file = tmp_path / "nrg_ti_coifpm.csv"
    plain_file.write_bytes(plain)
    frames = {
        "path": eurostat.read(SMALL),
        "str": eurostat.read(str(SMALL)),
        "gzip bytes": eurostat.read(packed),
        "bytearray": eurostat.read(bytearray(packed)),
        "plain bytes": eurostat.read(plain),
        "plain path": eurostat.read(plain_file),
        "BytesIO": eurostat.read(io.BytesIO(packed)),
        "plain BytesIO": eurostat.read(io.BytesIO(plain)),
        "open file": eurostat.read(SMALL.open("rb")),
    }
    assert len(small) > 1000
    for label, frame in frames.items():
        pd.testing.assert_frame_equal(frame, small, obj=label)


# -- the 2025 layout (CONF_STATUS) --------------------------------------------------------------------


def test_conf_status_layout_reads_like_the_2024_layout():
    # nrg_ti_coifpm_DE_2025_layout.csv is hand-written following sources.md 1.5/1.8: real 2024 lines
    # rewritten into the post-27-Jan-2025 layout (extra CONF_STATUS column; a confidential cell has
    # empty OBS_VALUE, empty OBS_FLAG and CONF_STATUS=C; other flags stay in OBS_FLAG).
    new = eurostat.read(LAYOUT_2025)
    header, *lines = LAYOUT_2025.read_bytes().splitlines(keepends=True)
    assert header.rstrip().endswith(b",OBS_VALUE,OBS_FLAG,CONF_STATUS")
    # The same cells, as the real 2024 file has them.
    keys = {tuple(line.split(b",")[3:7]) for line in lines}
    head, *body = raw_lines()
    original = [line for line in body if tuple(line.split(b",")[3:7]) in keys]
    assert len(original) == len(lines) == 10
    old = eurostat.read(head + b"".join(original))
    pd.testing.assert_frame_equal(sort_keyed(new), sort_keyed(old))

    secret = new[confidential(new)]
    assert set(secret["flag"]) == {"c"}
    assert secret["volume_bbl"].isna().all()
    assert sorted(zip(secret["grade"], secret["period"].dt.strftime("%Y-%m"), strict=True)) == [
        ("KZ_MSC", "2022-12"), ("KZ_MSC", "2023-01"), ("KZ_MSC", "2023-02"),
        ("RU_EXP_BLN", "2023-01"),
    ]
    ru = new[(new["grade"] == "RU_EXP_BLN") & (new["period"] == pd.Timestamp("2023-01-01"))]
    assert ru["api_gravity"].isna().all()
    open_rows = new[~confidential(new)]
    open_rows = open_rows.set_index(["grade", open_rows["period"].dt.strftime("%Y-%m")])
    assert open_rows.loc[("KZ_MSC", "2022-11"), "volume_bbl"] == 2_724_000
    assert open_rows.loc[("KZ_MSC", "2023-03"), "volume_bbl"] == 0.0
    assert open_rows.loc[("RU_EXP_BLN", "2022-12"), "volume_bbl"] == 8_191_000
    assert open_rows.loc[("RU_EXP_BLN", "2022-12"), "api_gravity"] == pytest.approx(30.9)
    world = new[new["partner"] == "WORLD"]
    assert world["flag"].tolist() == ["b"] and world["volume_bbl"].tolist() == [52_162_000]
    assert schema.validate(new) is new


# -- JSON-stat 2.0 ----------------------------------------------------------------------------------

# The JSON-stat fixtures are hand-written following sources.md 1.3 (see fixtures/eurostat/README.md);
# the nrg_ti_coifpm numbers are copied from the real SDMX-CSV lines of the same cells.
COMPARED = ["source", "dataset", "vintage", "freq", "period", "reporter", "partner", "flow",
            "product", "grade", "volume_bbl", "api_gravity", "flag"]


def test_jsonstat_equals_sdmx_csv_for_the_same_cells(small):
    got = eurostat.read(JSONSTAT_SPARSE)
    window = small["period"].between(pd.Timestamp("2022-11-01"), pd.Timestamp("2023-02-01"))
    cells = small["grade"].isin(["KZ_CPC_BLN", "RU_EXP_BLN"]) | (small["partner"] == "WORLD")
    expected = small[window & cells & (small["reporter"] == "DE")]
    assert len(got) == len(expected) == 12
    pd.testing.assert_frame_equal(sort_keyed(got)[COMPARED], sort_keyed(expected)[COMPARED])
    assert set(got["vintage"]) == {VINTAGE}
    secret = got[confidential(got)]
    assert len(secret) == 2 and secret["volume_bbl"].isna().all()
    assert secret["api_gravity"].isna().all()
    for column in ("value", "price_per_bbl", "sulphur_pct", "mass_t"):
        assert got[column].isna().all()
    assert schema.validate(got) is got


def test_jsonstat_dense_equals_sparse():
    sparse = eurostat.read(JSONSTAT_SPARSE)
    dense = eurostat.read(JSONSTAT_DENSE)
    assert isinstance(json.loads(JSONSTAT_DENSE.read_bytes())["value"], list)
    assert len(dense) == 12
    pd.testing.assert_frame_equal(dense, sparse)


def test_jsonstat_status_as_single_string_applies_to_all_cells():
    doc = json.loads(JSONSTAT_SPARSE.read_bytes())
    doc["status"] = "p"
    doc["value"] = {k: v for k, v in doc["value"].items() if int(k) < 8}  # KZ_CPC_BLN only
    got = eurostat.read(json.dumps(doc).encode())
    # Every cell has a status now, so the cube's 6 non-KZ (crudeoil, time) rows appear with no volume.
    assert set(got["flag"]) == {"p"}
    assert got.loc[got["grade"] == "KZ_CPC_BLN", "volume_bbl"].notna().all()
    assert got.loc[got["grade"] != "KZ_CPC_BLN", "volume_bbl"].isna().all()


def test_jsonstat_oilm():
    # Hand-written following sources.md 1.3/1.4; the numbers are illustrative, not Eurostat's.
    got = eurostat.read(OILM_JSONSTAT)
    assert len(got) == 16
    assert set(got["dataset"]) == {"nrg_ti_oilm"}
    assert set(got["freq"]) == {"M"}
    assert set(got["vintage"]) == {pd.Timestamp("2024-03-15 23:00:00")}
    assert set(got["reporter"]) == {"DE", "GR"}
    assert set(got["partner"]) == {"GR", "GB", "KZ", "RU", "WORLD"}
    assert set(got["product"]) == {"crude_oil"}
    assert got["grade"].isna().all() and got["volume_bbl"].isna().all()
    cell = got.set_index(["reporter", "partner", got["period"].dt.strftime("%Y-%m")])
    assert cell.loc[("DE", "KZ", "2023-01"), "mass_t"] == pytest.approx(731_200)
    assert cell.loc[("DE", "GB", "2023-02"), "mass_t"] == pytest.approx(355_100)
    assert cell.loc[("DE", "GR", "2023-01"), "mass_t"] == 0.0  # explicit zero, not missing
    assert cell.loc[("DE", "GR", "2023-02"), "mass_t"] == pytest.approx(12_500)
    assert cell.loc[("GR", "WORLD", "2023-01"), "mass_t"] == pytest.approx(1_702_000)
    assert cell.loc[("DE", "WORLD", "2023-02"), "flag"] == "p"
    assert cell.loc[("DE", "WORLD", "2023-02"), "mass_t"] == pytest.approx(5_820_900)
    assert cell.loc[("GR", "KZ", "2023-02"), "flag"] == "c"
    assert pd.isna(cell.loc[("GR", "KZ", "2023-02"), "mass_t"])
    assert ("GR", "GR", "2023-01") not in cell.index  # no value and no status: no row
    assert schema.validate(got) is got


# -- nrg_ti_oil SDMX-CSV ----------------------------------------------------------------------------


def test_nrg_ti_oil_sdmx_csv():
    # nrg_ti_oil_DE_annual_sdmx.csv is hand-written per sources.md 1.4/1.5 (header order
    # DATAFLOW,LAST UPDATE,freq,siec,partner,unit,geo,TIME_PERIOD,OBS_VALUE,OBS_FLAG) with the real
    # values of shared/data/eurostat/nrg_ti_oil_DE_by_partner_annual.csv.
    got = eurostat.read(OIL_SDMX)
    assert len(got) == 15
    assert set(got["dataset"]) == {"nrg_ti_oil"}
    assert set(got["freq"]) == {"A"}
    assert set(got["reporter"]) == {"DE"}
    assert set(got["partner"]) == {"GR", "KZ", "NO", "RU", "GB"}
    assert set(got["period"]) == {pd.Timestamp(f"{y}-01-01") for y in (2020, 2021, 2022)}
    assert set(got["vintage"]) == {pd.Timestamp("2024-01-15 23:00:00")}
    cell = got.set_index(["partner", got["period"].dt.year])["mass_t"]
    assert cell[("KZ", 2021)] == 8_000_000
    assert cell[("RU", 2021)] == 27_741_000
    assert cell[("GB", 2022)] == 6_963_000
    assert cell[("GR", 2021)] == 0.0
    assert got["volume_bbl"].isna().all() and got["grade"].isna().all()
    assert schema.validate(got) is got


def test_nrg_ti_oil_fixture_values_are_the_real_ones(shared_data):
    path = shared_data / "eurostat" / "nrg_ti_oil_DE_by_partner_annual.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    wide = pd.read_csv(path, comment="#", keep_default_na=False)
    wide = wide[wide["code_importer"] == "DE"].set_index("code_exporter")
    rows = list(csv.DictReader(OIL_SDMX.read_text().splitlines()))
    assert rows
    for row in rows:
        assert float(row["OBS_VALUE"]) == float(wide.loc[row["partner"], row["TIME_PERIOD"]]), row


# -- errors -----------------------------------------------------------------------------------------


def _csv(transform=None, drop: str | None = None, n: int = 12) -> bytes:
    """Real fixture lines (DE TOTAL volumes 2023), optionally with a column dropped or text replaced."""
    head, *body = raw_lines()
    body = [line for line in body if b",TOTAL,VOL_THS_BBL,DE,2023-" in line][:n]
    rows = [head, *body]
    if drop is not None:
        names = head.decode().rstrip("\r\n").split(",")
        at = names.index(drop)
        rows = [b",".join(p for i, p in enumerate(r.rstrip(b"\r\n").split(b",")) if i != at) + b"\n"
                for r in rows]
    data = b"".join(rows)
    return transform(data) if transform else data


def _jsonstat(**changes) -> bytes:
    doc = json.loads(JSONSTAT_SPARSE.read_bytes())
    doc.update(changes)
    return json.dumps(doc).encode()


HTML_PAGE = (
    b'<!DOCTYPE html>\n<html lang="en" class="no-js">\n<head>\n<title>Eurostat - Service temporarily '
    b"unavailable</title>\n</head>\n<body><p>The service is under maintenance.</p></body>\n</html>\n"
)
ERROR_BODY = (
    b'{ "error": [{"status": 400,"id": 150,"label": "INVALID_QUERY_DIMENSION: Query is invalid as per '
    b'its structure\'s definition. Dimension \\"FROMTIMEPERIOD\\" is not defined"}]}'
)

ERROR_CASES = {
    "truncated gzip": (lambda: SMALL.read_bytes()[:3000], SourceFormatError, ["gzip", "truncated"]),
    "html page": (lambda: HTML_PAGE, SourceFormatError,
                  ["HTML/XML page", "Service temporarily unavailable"]),
    "empty": (lambda: b"", SourceFormatError, ["empty"]),
    "whitespace only": (lambda: b"\n\n  \n", SourceFormatError, ["empty"]),
    "header only": (lambda: raw_lines()[0], SourceFormatError, ["no observations"]),
    "no OBS_VALUE": (lambda: _csv(drop="OBS_VALUE"), SourceFormatError,
                     ["[OBS_VALUE]", "header lacks ['OBS_VALUE']"]),
    "no crudeoil": (lambda: _csv(drop="crudeoil"), SourceFormatError,
                    ["[crudeoil]", "missing ['crudeoil']"]),
    "unknown dataset": (
        lambda: _csv(lambda d: d.replace(b"ESTAT:NRG_TI_COIFPM(1.0)", b"ESTAT:NRG_XYZ(1.0)")),
        UnknownDatasetError, ["unknown dataset 'nrg_xyz'", "nrg_ti_coifpm"]),
    "unknown indicator": (
        lambda: _csv(lambda d: d.replace(b",VOL_THS_BBL,DE,2023-03,", b",VOL_MIO_BBL,DE,2023-03,")),
        SourceFormatError, ["[indic_nrg]", "VOL_MIO_BBL"]),
    "bad LAST UPDATE": (
        lambda: _csv(lambda d: d.replace(b"28/02/24 11:00:00", b"2024-02-28T11:00")),
        SourceFormatError, ["[LAST UPDATE]", "'2024-02-28T11:00'", "DD/MM/YY"]),
    "two LAST UPDATEs": (
        lambda: _csv(lambda d: d.replace(b"28/02/24 11:00:00,M,TOTAL,VOL_THS_BBL,DE,2023-03",
                                         b"29/02/24 11:00:00,M,TOTAL,VOL_THS_BBL,DE,2023-03")),
        SourceFormatError, ["one LAST UPDATE"]),
    "bad period": (
        lambda: _csv(lambda d: d.replace(b",DE,2023-03,", b",DE,2023M03,")),
        SourceFormatError, ["[TIME_PERIOD]", "2023M03"]),
    "duplicate cell": (lambda: _csv() + _csv().splitlines(keepends=True)[1], SourceFormatError,
                       ["duplicate"]),
    "malformed JSON": (lambda: b'{"version": "2.0", "value": {"0": 1,', SourceFormatError,
                       ["not valid JSON"]),
    "position outside cube": (lambda: _jsonstat(value={"0": 3652, "24": 1.0}), SourceFormatError,
                              ["[value]", "outside the cube of 24 cells"]),
    "JSON error body": (lambda: ERROR_BODY, SourceFormatError,
                        ["[error]", "INVALID_QUERY_DIMENSION", "FROMTIMEPERIOD"]),
    "empty JSON-stat": (lambda: _jsonstat(value={}, status={}), SourceFormatError,
                        ["no observations"]),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_read_errors(case):
    make, exc_type, fragments = ERROR_CASES[case]
    with pytest.raises(exc_type) as info:
        eurostat.read(make(), name="sample.csv")
    message = str(info.value)
    assert "sample.csv" in message
    for fragment in fragments:
        assert fragment in message


def test_truncated_real_file(full_path):
    with pytest.raises(SourceFormatError, match="gzip stream is truncated"):
        eurostat.read(full_path.read_bytes()[:3000])


def test_error_names_the_path(tmp_path):
    empty = tmp_path / "nrg_ti_coifpm.csv"
    empty.write_bytes(b"")
    with pytest.raises(SourceFormatError, match=r"nrg_ti_coifpm\.csv: the file is empty"):
        eurostat.read(empty)
    with pytest.raises(SourceFormatError, match="cannot read file"):
        eurostat.read(tmp_path / "missing.csv.gz")


def test_dataset_mismatch():
    with pytest.raises(SourceFormatError) as info:
        eurostat.read(SMALL, dataset="nrg_ti_oil")
    assert "holds dataset 'nrg_ti_coifpm', not 'nrg_ti_oil'" in str(info.value)
    assert info.value.field == "DATAFLOW"
    # The matching code, in any case, is accepted.
    assert len(eurostat.read(SMALL, dataset="NRG_TI_COIFPM")) > 0


def test_unknown_dataset_code():
    with pytest.raises(UnknownDatasetError) as info:
        eurostat.dataset_info("nrg_xyz")
    assert info.value.dataset == "nrg_xyz"
    assert "nrg_ti_coifpm" in info.value.known
    assert str(info.value).startswith("eurostat: unknown dataset 'nrg_xyz'")
