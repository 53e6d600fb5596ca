"""Strict refresh configs (issue 13): each mistake a new user makes is refused with one clear line, in a
typed error (ConfigError, a QueryError), before any network call."""

from __future__ import annotations

import pytest

from oilflows import cli, http
from oilflows.errors import ConfigError, QueryError
from oilflows.refresh import DEFAULT_DATASETS, _check_specs, load_config, refresh
from oilflows.store import Store


@pytest.fixture
def no_network(monkeypatch, mocked_responses):
    """Any HTTP request fails the test (the oilflows layer and `responses` both)."""

    def refuse(*args, **kwargs):
        pytest.fail(f"a network call was made: {args[:2]}")

    monkeypatch.setattr(http, "request", refuse)
    yield mocked_responses
    assert len(mocked_responses.calls) == 0


def eurostat(**entry):
    return {"source": "eurostat", "dataset": "nrg_ti_coifpm", **entry}


def write(tmp_path, text):
    path = tmp_path / "refresh.toml"
    path.write_text(text, encoding="utf-8")
    return path


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text, text
    return text


CASES = [
    # (config entries, top-level options, fragment of the message)
    ([eurostat(strat="2020-01")], "unknown key 'strat' (did you mean start?)"),
    ([eurostat(filter={"geo": ["DE"]})], "unknown key 'filter' (did you mean filters?)"),
    ([eurostat(start="2020-13")], "month 13 is not 01-12"),
    ([eurostat(start="2020-1")], "not a period: write YYYY or YYYY-MM"),
    ([eurostat(start="Jan 2020")], "not a period"),
    ([eurostat(start="2022-01", end="2021-12")], "start '2022-01' is after end '2021-12'"),
    ([eurostat(start="2022", end="2021")], "is after end"),
    ([eurostat(filters={"geo": ["Germany"]})], "geo 'Germany' is not a eurostat code"),
    ([eurostat(filters={"geo": ["de"]})], "(did you mean DE?)"),
    ([eurostat(filters={"goe": ["DE"]})], "unknown filter 'goe' (did you mean geo?)"),
    ([{"source": "eurostat", "dataset": "nrg_ti_coifpmm"}], "unknown dataset 'nrg_ti_coifpmm'"),
    ([{"source": "eurostatt", "dataset": "nrg_ti_coifpm"}],
     "unknown source 'eurostatt' (did you mean eurostat?)"),
    ([{"source": "comext", "params": {"reporter": "Germany"}}], "(did you mean DE?)"),
    ([{"source": "comext", "params": {"partner": ["KZ", "Russia"]}}],
     "partner 'Russia' is not a comext code"),
    ([{"source": "comext", "params": {"start": "2021-01", "end": "2020-12"}}], "is after end"),
    ([{"source": "comext", "params": {"reportr": "DE"}}],
     "unknown parameter 'reportr' (did you mean reporter?)"),
    ([{"source": "comtrade", "params": {"reporter": "KZ", "partner": "DE", "period": ["2021", "2022-13"]}}],
     "month 13"),
    ([{"source": "comtrade", "params": {"reporter": "Kazakhstan", "partner": "DE", "period": "2021"}}],
     "(did you mean KZ?)"),
    ([{"source": "genesis", "params": {"start_year": 2024, "end_year": 2023}}],
     "start_year 2024 is after end_year"),
    ([{"source": "genesis", "params": {"start_year": "23"}}], "not a period"),
    ([{"source": "genesis", "params": {"countries": ["Kasachstan"]}}], "not a genesis code"),
    ([eurostat(incremental="no")], "incremental must be true or false"),
    ([eurostat(filters=["geo"])], "filters must be a table"),
    ([{"source": "comtrade", "params": {"reporter": "KZ", "API_KEY": "x"}}], "does not belong in a config"),
]


@pytest.mark.parametrize(("items", "fragment"), CASES)
def test_each_mistake_is_refused_before_any_network_call(items, fragment, tmp_path, no_network):
    with pytest.raises(ConfigError) as info:
        refresh(items, Store(tmp_path / "store"), progress=False)
    assert fragment in one_line(info.value)
    assert isinstance(info.value, QueryError)
    assert not (tmp_path / "store").exists()


def test_keep_goin_at_the_top_of_a_file(tmp_path, no_network):
    path = write(tmp_path, 'keep_goin = true\n[[dataset]]\nsource = "eurostat"\ndataset = "nrg_ti_coifpm"\n')
    with pytest.raises(ConfigError) as info:
        refresh(path, Store(tmp_path / "store"), progress=False)
    assert "unknown top-level key 'keep_goin' (did you mean keep_going?)" in one_line(info.value)


def test_keep_going_inside_a_dataset_table_is_pointed_to_the_top(tmp_path, no_network):
    path = write(tmp_path, '[[dataset]]\nsource = "eurostat"\ndataset = "nrg_ti_coifpm"\nkeep_going = true\n')
    with pytest.raises(ConfigError, match="top-level option") as info:
        load_config(path)
    one_line(info.value)


def test_a_secret_value_is_not_echoed(no_network, tmp_path):
    with pytest.raises(ConfigError) as info:
        refresh([{"source": "genesis", "params": {"token": "s3cr3t-v4lue"}}], Store(tmp_path), progress=False)
    assert "s3cr3t-v4lue" not in str(info.value) and "GENESIS_TOKEN" in str(info.value)


@pytest.mark.parametrize("items", [
    DEFAULT_DATASETS,
    [eurostat(start="2020", end="2020-12", filters={"geo": ["DE", "EL", "EU27_2020"], "freq": "M"})],
    [{"source": "eurostat", "dataset": "nrg_ti_oilm", "filters": {"partner": ["KZ", "EXT_EU27_2020"]}}],
    [{"source": "comext", "params": {"reporter": "DE", "partner": ["KZ", "RU"], "start": "2020-01"}}],
    [{"source": "comtrade", "params": {"reporter": "KZ", "partner": "DE", "period": ["2021", "202203"],
                                       "flow": "X"}}],
    [{"source": "genesis", "params": {"start_year": 2023, "end_year": 2023, "countries": ["KZ"]}}],
])
def test_good_configs_pass(items):
    _check_specs([dict(item) for item in items], "test")


def test_cli_shows_the_one_line(tmp_path, capsys, no_network):
    path = write(tmp_path, '[[dataset]]\nsource = "eurostat"\ndataset = "nrg_ti_coifpm"\n'
                           'filters = { geo = ["Germany"] }\n')
    assert cli.main(["refresh", "--config", str(path), "--store", str(tmp_path / "s"), "--no-progress"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "did you mean DE?" in err
    assert err.startswith("oilflows refresh: error:")


def test_the_documented_config_passes():
    """The example in oilflows.refresh's docstring is a valid config (in the unified fetch form)."""
    import importlib
    import textwrap
    import tomllib

    doc = importlib.import_module("oilflows.refresh").__doc__
    block = doc[doc.index("    [[dataset]]"):doc.index("`oilflows list")]
    config = tomllib.loads(textwrap.dedent(block))
    _check_specs(config["dataset"], "docstring")
    assert [item["source"] for item in config["dataset"]] == ["eurostat", "comext", "comtrade", "genesis"]


def test_a_file_only_source_is_told_it_has_no_fetch(no_network, tmp_path):
    with pytest.raises(ConfigError, match="source 'dg_ener' has no fetch"):
        refresh([{"source": "dg_ener"}], Store(tmp_path), progress=False)


def test_genesis_old_and_new_parameter_names(no_network):
    old = {"source": "genesis", "params": {"start_year": 2023, "countries": ["KZ", "STLAH001"]}}
    new = {"source": "genesis", "dataset": "51000-0017", "params": {"start": "2023-01", "partner": "KZ"}}
    _check_specs([old, new], "test")
    with pytest.raises(ConfigError, match="unknown parameter 'start_yaer' \\(did you mean start_year\\?\\)"):
        _check_specs([{"source": "genesis", "params": {"start_yaer": 2023}}], "test")
    with pytest.raises(ConfigError, match="partner 'Kasachstan'"):
        _check_specs([{"source": "genesis", "params": {"partner": ["Kasachstan"]}}], "test")
