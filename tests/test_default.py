"""The embedded default snapshot: schema, provenance, and agreement between its sources."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

import oilflows
from oilflows.codes import REGIONS, is_iso_country
from oilflows.schema import SCHEMA, to_table, validate

SHARED = Path(os.environ.get("OILFLOWS_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


@pytest.fixture(scope="module")
def default():
    return oilflows.load_default()


def test_schema_and_invariants(default):
    assert to_table(default).schema == SCHEMA
    validate(default)
    statistical = default[default["source"] != "published"]
    assert set(zip(statistical["source"], statistical["dataset"], strict=True)) == {
        ("eurostat", "nrg_ti_coifpm"), ("eurostat", "nrg_ti_oil"), ("dg_ener", "coir")}
    assert len(default) == 90_751 and len(statistical) == 90_686  # 65 published figures
    assert not set(default["reporter"]) & {"EL", "UK"}
    assert not set(default["partner"]) & {"EL", "UK"}
    for code in set(default["partner"]):
        assert is_iso_country(code) or code in REGIONS, code


def test_confidential_cells_are_null_not_zero(default):
    confidential = default[default["flag"].fillna("").str.contains("c")]
    assert len(confidential) > 10_000
    assert confidential["volume_bbl"].isna().all()


def test_filters(default):
    de = oilflows.load_default(reporter="DE", dataset="nrg_ti_coifpm", start="2021-01", end="2021-12")
    assert set(de["reporter"]) == {"DE"} and de["period"].dt.year.eq(2021).all()
    expected = default[(default["reporter"] == "DE") & (default["dataset"] == "nrg_ti_coifpm")
                       & (default["period"].dt.year == 2021)]
    assert len(de) == len(expected) > 0


def test_register_totals_equal_eurostat_totals(default):
    # Methods note R4: the register's German totals equal Eurostat's TOTAL exactly (2013 = 643,532).
    de_world = default[(default["reporter"] == "DE") & (default["partner"] == "WORLD")
                       & (default["freq"] == "M")]
    annual = de_world.groupby([de_world["dataset"], de_world["period"].dt.year])["volume_bbl"].sum()
    for year in range(2013, 2020):
        assert annual[("coir", year)] == pytest.approx(annual[("nrg_ti_coifpm", year)], abs=1e3), year
    assert annual[("coir", 2013)] / 1e3 == pytest.approx(643_532, abs=1)


def test_nrg_ti_oil_annual_tonnes(default):
    # Methods note R1/R2: nrg_ti_oil DE<-RU 2021 = 27,741 kt; DE<-KZ 2022 = 9,030 kt.
    oil = default[(default["dataset"] == "nrg_ti_oil") & (default["reporter"] == "DE")]
    by = oil.set_index([oil["partner"], oil["period"].dt.year])["mass_t"]
    assert by[("RU", 2021)] == pytest.approx(27_741e3)
    assert by[("KZ", 2022)] == pytest.approx(9_030e3)
    assert oil["volume_bbl"].isna().all()
    # Namibia's code is the literal "NA" in the source file: it must not become a missing value.
    assert "NA" in set(oil["partner"])


def test_provenance_matches_inputs():
    prov = oilflows.default_provenance()
    assert prov["rows"] == len(oilflows.load_default())
    assert sum(prov["rows_by_dataset"].values()) == prov["rows"]
    files = {i["file"]: i for i in prov["inputs"]}
    assert "eurostat/nrg_ti_coifpm.csv.gz" in files and len(files) == 12
    assert files["reference/published_figures_2022_2026.csv"]["source"] == "published"
    assert prov["published_figures"]["rows"] == sum(
        n for key, n in prov["rows_by_dataset"].items() if key.startswith("published/")) == 65
    if not SHARED.exists():
        pytest.skip("shared data not available")
    for name, item in files.items():
        assert hashlib.sha256((SHARED / name).read_bytes()).hexdigest() == item["sha256"], name
