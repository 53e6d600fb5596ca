"""The source registry (issue 13): registrations, look-ups, what reads from it, discovery."""

from __future__ import annotations

import importlib
import json

import pytest

import oilflows
from oilflows import cli, http
from oilflows.errors import ConfigError, QueryError, UnknownDatasetError
from oilflows.sources import registry
from oilflows.sources.registry import DatasetInfo, Source

EXPECTED = ["eurostat", "comext", "comtrade", "genesis", "dg_ener", "published"]


@pytest.fixture
def scratch_source():
    """A registration added for one test, removed after."""
    source = Source(id="scratch", title="a test source", module="oilflows.sources.published",
                    datasets=(DatasetInfo("figures", "test figures", ("t",), "A", "2020-01", "2021-12"),),
                    hosts=("scratch.example.org",), rate_limit=http.RateLimit(per_second=3.0),
                    known_causes={"figures": "made up for a test"}, code_params=("reporter",),
                    period_params=(("start", "end"),))
    registry.register(source)
    yield source
    registry._REGISTRY.pop("scratch", None)
    http.set_rate_limit("scratch.example.org", None)


def test_every_existing_source_is_registered_once():
    assert [s.id for s in registry.all_sources()] == EXPECTED
    assert registry.get("genesis").store_source == "destatis"


def test_unknown_source_suggests_the_closest():
    with pytest.raises(ConfigError, match=r"unknown source 'comtrad' \(did you mean comtrade\?\)"):
        registry.get("comtrad")


def test_unknown_dataset_is_typed():
    with pytest.raises(UnknownDatasetError, match="nrg_ti_coifpmm"):
        registry.get("eurostat").dataset("nrg_ti_coifpmm")
    assert registry.get("eurostat").dataset("NRG_TI_OIL").id == "nrg_ti_oil"


def test_functions_are_imported_when_used():
    from oilflows.sources import genesis

    source = registry.get("genesis")
    assert source.read is genesis.read and source.fetch is genesis.fetch
    assert source.last_update is genesis.last_update
    assert registry.get("dg_ener").fetch is None and registry.get("published").last_update is None


def test_rate_limits_come_from_the_registry():
    for source in registry.all_sources():
        for host in source.hosts:
            assert http.RATE_LIMITS[host] == source.rate_limit
    assert http.RATE_LIMITS["comtradeapi.un.org"].per_second == pytest.approx(10 / 60)
    assert http.RATE_LIMITS["www-genesis.destatis.de"].concurrent == 3


def test_http_imports_no_source():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(http))
    top = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    assert not any("sources" in (getattr(node, "module", "") or "") for node in top)


def test_known_causes_come_from_the_registry():
    reconcile = importlib.import_module("oilflows.analytics.reconcile")
    assert reconcile.KNOWN_CAUSES[("destatis", "51000-0017")].startswith("German customs")
    assert ("published", "published") in reconcile.KNOWN_CAUSES
    assert len(reconcile.KNOWN_CAUSES) == sum(len(s.known_causes) for s in registry.all_sources())


def test_a_new_source_is_one_registration(scratch_source):
    """Refresh, rate limits, known causes and discovery all see a new registration."""
    assert registry.get("scratch") is scratch_source
    assert http.RATE_LIMITS["scratch.example.org"].per_second == 3.0
    reconcile = importlib.import_module("oilflows.analytics.reconcile")
    assert reconcile.KNOWN_CAUSES[("scratch", "figures")] == "made up for a test"
    table = oilflows.datasets("scratch")
    got = table[["dataset", "first", "last", "units"]].values.tolist()
    assert got == [["figures", "2020-01", "2021-12", "t"]]


def test_codes():
    eurostat = registry.get("eurostat")
    for good in ("DE", "EL", "EU27_2020", "EXT_EU27_2020", "WORLD"):
        registry.check_codes(eurostat, "geo", good, "x")
    for bad, hint in (("Germany", "DE"), ("de", "DE"), ("GERMANY", "DE"), ("Kazakstan", "KZ")):
        with pytest.raises(ConfigError, match=f"did you mean {hint}"):
            registry.check_codes(eurostat, "geo", [bad], "x")
    comtrade = registry.get("comtrade")
    registry.check_codes(comtrade, "partner", ["KZ", "WORLD", "SUHH"], "x")
    with pytest.raises(QueryError, match="'EU27_2020' is not a comtrade code"):
        registry.check_codes(comtrade, "partner", "EU27_2020", "x")


def test_refresh_lists_read_from_the_registry():
    refresh = importlib.import_module("oilflows.refresh")
    assert refresh.SOURCES == ("eurostat", "comext", "comtrade", "genesis")
    assert set(refresh.UNSTAMPED) == {"comtrade", "genesis"}
    assert refresh._label({"source": "genesis", "params": {}}) == "51000-0017"
    assert refresh._label({"source": "comext", "params": {}}) == "ds-045409"


def test_datasets_frame():
    table = oilflows.datasets()
    assert list(table.columns) == list(registry.DATASET_COLUMNS)
    assert set(table["source"]) == set(EXPECTED)
    coifpm = table.set_index("dataset").loc["nrg_ti_coifpm"]
    assert (coifpm["first"], coifpm["freq"]) == ("2005-01", "M") and "THS_BBL" in coifpm["units"]
    assert table.set_index("dataset").loc["hs", "credential"] == "COMTRADE_API_KEY"
    assert list(oilflows.datasets("genesis")["source"].unique()) == ["genesis"]


def test_datasets_from_a_store(tmp_path):
    from oilflows.default import load_default
    from oilflows.store import Store

    store = Store(tmp_path)
    frame = load_default()
    store.write(frame[(frame["dataset"] == "nrg_ti_oil") & (frame["reporter"] == "DE")])
    table = oilflows.datasets("eurostat", store=store).set_index("dataset")
    assert table.loc["nrg_ti_oil", "first"] != "" and table.loc["nrg_ti_coifpm", "first"] == ""


def test_cli_list_datasets_of_one_source(capsys):
    assert cli.main(["list", "datasets", "--source", "comtrade", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["source"], r["dataset"], r["rows"]) for r in rows] == [("comtrade", "hs", 0)]
    assert rows[0]["units"] == "kg,USD"
    assert cli.main(["list", "datasets"]) == 0
    out = capsys.readouterr().out
    assert "THS_BBL" in out and "ds-045409" in out and "51000-0017" in out


def test_cli_list_unknown_source_is_one_line(capsys):
    assert cli.main(["list", "reporters", "--source", "eurostatt"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "did you mean eurostat?" in err


def test_cli_list_partners_of_one_source(capsys):
    assert cli.main(["list", "partners", "--source", "dg_ener", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(r["datasets"] == "coir" for r in rows)
