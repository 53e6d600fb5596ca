"""One vocabulary of non-country codes (issue 13): oilflows/data/non_country_codes.csv, codes.is_country,
the readers' code lists as views of it, and the analytics that now use it."""

from __future__ import annotations

import csv
from importlib import resources

import numpy as np
import pandas as pd
import pytest

from oilflows import codes
from oilflows.analytics.concentration import concentration
from oilflows.analytics.panel_designs import did, exposure, reporter_panel
from oilflows.analytics.synthetic_control import synthetic_control
from oilflows.errors import AnalysisError
from oilflows.schema import COLUMNS, conform
from oilflows.sources import comext, comtrade, dg_ener

# -- the pre-change lists (literal data: the codes of codes.REGIONS, comext.PARTNER_REGIONS and
# -- comtrade.COMTRADE_REGIONS before issue 13; every one must still be recognised) ----------------

OLD_REGIONS = ("WORLD", "AFRICA", "ASIA", "EUROPE", "LATAM", "MIDEAST", "NEUTRAL_ZONE", "LRS", "FSU",
               "UNKNOWN")
OLD_PARTNER_REGIONS = (
    "EU27_2020_EXTRA", "EU27_2020_INTRA", "EU28_EXTRA", "EU28_INTRA", "HIGH_SEAS", "STORES_PROVISIONS",
    "STORES_PROVISIONS_INTRA_EU", "STORES_PROVISIONS_EXTRA_EU", "NOT_SPECIFIED", "NOT_SPECIFIED_INTRA_EU",
    "NOT_SPECIFIED_EXTRA_EU", "CONFIDENTIAL", "CONFIDENTIAL_INTRA_EU", "CONFIDENTIAL_EXTRA_EU", "CEUTA",
    "MELILLA", "UK_NORTHERN_IRELAND", "UK_EXCL_NI", "UNKNOWN",
)
OLD_COMTRADE_REGIONS = (
    "EU", "EU_NES", "EFTA_NES", "EASTERN_EUROPE", "NORTH_AFRICA", "CAMEU", "SACU", "WESTERN_ASIA",
    "OCEANIA", "CARIBBEAN", "CACM", "LAIA", "AMERICA", "NORTH_CENTRAL_AMERICA", "BUNKERS", "FREE_ZONES",
    "SPECIAL_CATEGORIES", "BELUX", "MALAYA", "SABAH", "SARAWAK", "ANT_ABW", "RYUKYU", "KNA_AIA",
    "RHODESIA_NYASALAND", "TANGANYIKA", "ZANZIBAR", "SOUTH_VIETNAM", "BQAQ", "CSHH", "DDDE", "ANHH", "PCHH",
    "PZPA", "SKIN", "YDYE", "SUHH", "PUUM", "VDVN", "YUCS", "CSXX",
)
OLD_NOT_COUNTRIES = ("EU", "EA", "UN", "EZ")


def test_old_lists_have_the_sizes_the_issue_counts():
    assert len(OLD_REGIONS) == 10
    assert len(set(OLD_PARTNER_REGIONS) - set(OLD_REGIONS)) == 18
    assert len(set(OLD_COMTRADE_REGIONS) - set(OLD_REGIONS)) == 41


@pytest.mark.parametrize("code", sorted(set(OLD_REGIONS + OLD_PARTNER_REGIONS + OLD_COMTRADE_REGIONS
                                            + OLD_NOT_COUNTRIES)))
def test_every_old_code_is_a_non_country(code):
    assert code in codes.NON_COUNTRY
    assert not codes.is_country(code)
    assert codes.is_non_country(code)
    assert codes.kind(code) in codes.KINDS
    assert code in codes.REGIONS  # the backward-compatible view


def test_reader_lists_are_views_covering_the_old_lists():
    assert set(OLD_PARTNER_REGIONS) <= set(comext.PARTNER_REGIONS)
    assert set(OLD_COMTRADE_REGIONS) <= set(comtrade.COMTRADE_REGIONS)
    assert set(comext.PARTNER_REGIONS) == codes.non_country_codes("comext")
    assert set(comtrade.COMTRADE_REGIONS) == codes.non_country_codes("comtrade")
    assert isinstance(codes.REGIONS, dict) and all(isinstance(v, str) and v for v in codes.REGIONS.values())
    assert codes.REGIONS["FSU"].startswith("former Soviet Union")


@pytest.mark.parametrize("code", ["DE", "KZ", "RU", "NO", "US", "XK", "GR", "GB", "TW", "MC", "GL"])
def test_countries(code):
    assert codes.is_country(code)
    assert not codes.is_non_country(code)
    assert codes.kind(code) == "country"


@pytest.mark.parametrize("code", ["WORLD", "EU27_2020", "EU", "EU_V", "EU28", "EA20", "AN", "SUHH",
                                  "NOT_SPECIFIED", "CONFIDENTIAL_EXTRA_EU", "COMEXT_QM"])
def test_non_countries(code):
    assert not codes.is_country(code)
    assert codes.is_non_country(code)


def test_kinds_and_edge_cases():
    assert codes.kind("WORLD") == "world"
    assert codes.kind("EU") == codes.kind("EU27_2020") == "economic_area"
    assert codes.kind("NOT_SPECIFIED") == "unspecified"
    assert codes.kind("CONFIDENTIAL") == codes.kind("SPECIAL_CATEGORIES") == "confidential_aggregate"
    assert codes.kind("SUHH") == "historical"
    assert codes.kind("AA") is None  # unassigned: neither a country nor a known non-country code
    assert not codes.is_country("AA") and not codes.is_non_country("AA")
    # Eurostat's aliases never reach a canonical frame (the readers map them): not country codes.
    assert not codes.is_country("EL") and not codes.is_country("UK")
    assert not codes.is_country(None) and codes.is_non_country(None)
    assert len(codes.ISO_3166_1) == 249 and codes.ISO_3166_1 | {"XK"} == codes.COUNTRIES
    assert set(OLD_NOT_COUNTRIES) <= codes.NOT_COUNTRIES
    assert not codes.COUNTRIES & set(codes.NON_COUNTRY)


def test_comext_pseudo_partners_are_non_countries():
    # The raw geonomenclature codes QM..QZ are not countries, and each maps to a vocabulary code.
    for letter in "MNOPQRSTUVWXYZ":
        raw = f"Q{letter}"
        assert not codes.is_country(raw)
        canonical = comext.partner_code(raw)
        assert codes.kind(canonical) in codes.KINDS, raw
        assert f"comext:{raw}" in codes.NON_COUNTRY[canonical].source_codes
    assert comext.partner_code("QA") == "QA" and codes.is_country("QA")  # Qatar


def test_source_codes_agree_with_the_readers_maps():
    for code, entry in codes.NON_COUNTRY.items():
        for native in entry.source_codes:
            source, _, value = native.partition(":")
            assert source in entry.sources, (code, native)
            if source == "comext" and value in comext.PARTNER_CODES:
                assert comext.PARTNER_CODES[value] == code, native
            if source == "comtrade":
                assert comtrade.COMTRADE_PARTNER[int(value)] == code, native


def test_every_reader_code_is_a_country_or_in_the_vocabulary():
    text = resources.files("oilflows.sources").joinpath("comtrade_codes.csv").read_text(encoding="utf-8")
    for row in csv.DictReader(text.splitlines()):
        code = row["oilflows_code"]
        assert codes.is_country(code) or code in codes.non_country_codes("comtrade"), code
    for origin in set(dg_ener.COIR_ORIGIN.values()):
        assert codes.is_country(origin) or origin in codes.non_country_codes("dg_ener"), origin
    for prefix in set(codes.COIFPM_PREFIX.values()):
        assert codes.is_country(prefix) or prefix in codes.non_country_codes("eurostat"), prefix
    genesis = resources.files("oilflows.data").joinpath("genesis_countries.csv")
    if genesis.is_file():  # GENESIS's country list (another part of issue 13)
        for row in csv.DictReader(genesis.read_text(encoding="utf-8").splitlines()):
            partner = row["partner"]
            assert codes.is_country(partner) or partner in codes.non_country_codes("destatis"), partner


def test_non_country_codes_by_source():
    everything = codes.non_country_codes()
    assert everything == frozenset(codes.NON_COUNTRY)
    for source in ("eurostat", "comext", "comtrade", "destatis", "dg_ener", "published"):
        assert codes.non_country_codes(source) <= everything
        assert codes.non_country_codes(source), source
    assert codes.non_country_codes("genesis") == codes.non_country_codes("destatis")
    assert "EU" in codes.non_country_codes("comtrade") and "EU" not in codes.non_country_codes("comext")
    assert codes.non_country_codes("no_such_source") == frozenset()


# -- concentration: the region caveat covers every source's non-country codes -----------------------


def _rows(records):
    frame = pd.DataFrame([
        {"source": "test", "dataset": "hand", "vintage": pd.NaT, "freq": "M", "period": pd.Timestamp(p),
         "reporter": "DE", "partner": partner, "flow": "import", "product": "crude_oil",
         "grade": None if partner == "WORLD" else f"{partner}_G", "volume_bbl": v, "flag": None}
        for p, partner, v in records])
    for column in COLUMNS:
        if column not in frame:
            frame[column] = None
    return conform(frame[list(COLUMNS)])


@pytest.mark.parametrize("code", ["NOT_SPECIFIED", "WESTERN_ASIA", "EU27_2020_EXTRA", "SPECIAL_CATEGORIES"])
def test_concentration_caveat_names_comext_and_comtrade_codes(code):
    # NOT_SPECIFIED, EU27_2020_EXTRA (Comext) and WESTERN_ASIA, SPECIAL_CATEGORIES (Comtrade) were
    # missing from codes.REGIONS: no caveat before issue 13.
    frame = _rows([("2021-01-01", "WORLD", 100.0), ("2021-01-01", "KZ", 60.0), ("2021-01-01", code, 40.0)])
    notes = [n for n in concentration(frame, "DE", freq="M").caveats if "non-country" in n]
    assert len(notes) == 1
    assert f"{code} ({codes.kind(code)})" in notes[0]
    assert "KZ" not in notes[0] and "WORLD" not in notes[0]


# -- panel designs and the synthetic control: non-country reporters are never donors or controls -----


REPORTERS = ("DE", "FR", "IT", "NL", "ES", "EU")
MONTHS = pd.date_range("2021-01-01", periods=8, freq="MS")


@pytest.fixture(scope="module")
def panel_frame():
    """Hand-built monthly rows (not real data): WORLD 1000, a KZ cell and NO for the rest, per reporter;
    ``EU`` is Comtrade's EU reporter code."""
    rng = np.random.default_rng(13)
    rows = []
    for reporter in REPORTERS:
        base = rng.uniform(50, 200)
        for month in MONTHS:
            kz = base + rng.normal(0, 10) + (60.0 if reporter == "DE" and month >= MONTHS[4] else 0.0)
            for partner, value in (("WORLD", 1000.0), ("KZ", kz), ("NO", 1000.0 - kz)):
                rows.append({"source": "hand", "dataset": "hand", "vintage": pd.NaT, "freq": "M",
                             "period": month, "reporter": reporter, "partner": partner, "flow": "import",
                             "product": "crude_oil", "grade": None if partner == "WORLD" else f"{partner}_A",
                             "volume_bbl": value, "flag": None})
    frame = pd.DataFrame(rows)
    for column in COLUMNS:
        if column not in frame:
            frame[column] = None
    return conform(frame[list(COLUMNS)])


def test_synthetic_control_leaves_a_non_country_donor_out(panel_frame):
    # Before issue 13 Comtrade's EU passed the two-letter test and became a donor.
    result = synthetic_control(panel_frame, "DE", donors=["FR", "IT", "NL", "EU"],
                               pre=("2021-01", "2021-04"), post=("2021-05", "2021-08"), partner="KZ")
    assert "EU" not in result.donors and set(result.donors) == {"FR", "IT", "NL"}
    assert "EU" in result.dropped and "not a country" in result.dropped["EU"]
    assert any(c.startswith("EU left out: not a country (economic_area") for c in result.caveats)
    # Default donors: every country reporter, never EU.
    default = synthetic_control(panel_frame, "DE", pre=("2021-01", "2021-04"), post=("2021-05", "2021-08"),
                                partner="KZ")
    assert set(default.donors) == {"FR", "IT", "NL", "ES"}


def test_synthetic_control_refuses_a_non_country_treated_unit(panel_frame):
    with pytest.raises(AnalysisError, match="treated reporter EU: not a country"):
        synthetic_control(panel_frame, "EU", donors=["FR", "IT", "NL"], pre=("2021-01", "2021-04"),
                          post=("2021-05", "2021-08"), partner="KZ")


def test_did_leaves_a_non_country_control_out(panel_frame):
    result = did(panel_frame, treated="DE", controls=["FR", "IT", "NL", "EU"], post_start="2021-05",
                 inference="cluster", partner="KZ")
    assert result.controls == ["FR", "IT", "NL"]
    assert "EU" in result.dropped
    assert any(c.startswith("EU left out: not a country") for c in result.caveats)
    default = did(panel_frame, treated="DE", post_start="2021-05", inference="cluster", partner="KZ")
    assert set(default.controls) == {"FR", "IT", "NL", "ES"}
    with pytest.raises(AnalysisError, match="treated reporter.*must be countries.*EU"):
        did(panel_frame, treated=("DE", "EU"), controls=["FR", "IT", "NL"], post_start="2021-05",
            partner="KZ")


def test_exposure_and_reporter_panel_with_a_non_country(panel_frame):
    result = exposure(panel_frame, reporters=["DE", "FR", "IT", "NL", "ES", "EU"],
                      baseline=("2021-01", "2021-04"), post=("2021-05", "2021-08"), partner="KZ",
                      displaced="NO")
    assert "EU" not in result.table.index and "EU" in result.dropped
    assert "EU" not in reporter_panel(panel_frame, partner="KZ").reporters
    with pytest.raises(AnalysisError, match="EU: aggregate or other non-country"):
        reporter_panel(panel_frame, ["DE", "EU"], partner="KZ")


def test_eu_aggregates_come_from_the_vocabulary():
    # One list: the reporter aggregates that quality and mass_balance never sum with a member are
    # the vocabulary's EU/euro-area economic areas (before issue 13 they were two hand lists that
    # disagreed: quality lacked EU and EU27, mass_balance lacked EU27_2007).
    from oilflows.analytics import mass_balance, quality

    assert set(quality.EU_AGGREGATES) == set(mass_balance.EU_AGGREGATES) == set(codes.EU_AGGREGATES)
    assert {"EU_V", "EU27_2020", "EU28", "EU27_2007", "EU27", "EU"} <= set(codes.EU_AGGREGATES)
    assert all(codes.kind(code) == "economic_area" for code in codes.EU_AGGREGATES)
    assert quality.EU_AGGREGATES[0] == "EU_V"  # the preferred aggregate first
