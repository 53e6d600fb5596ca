"""`oilflows.refresh`: declared datasets, incremental by Eurostat's TOC, vintages kept, failures isolated."""

from __future__ import annotations

import pandas as pd
import pytest

from oilflows import cli
from oilflows.errors import QueryError
from oilflows.refresh import load_config, refresh
from oilflows.sources import eurostat
from oilflows.store import Store

DATA_URL = ("https://ec.europa.eu/eurostat/api/dissemination/sdmx/2.1/data/nrg_ti_coifpm/"
            "..VOL_THS_BBL.DE")
COIFPM = [{"source": "eurostat", "dataset": "nrg_ti_coifpm", "start": "2020-01",
           "filters": {"geo": "DE", "indic_nrg": "VOL_THS_BBL"}}]


@pytest.fixture
def gz(fixtures_dir):
    return (fixtures_dir / "eurostat" / "nrg_ti_coifpm_DE_KZ_RU.csv.gz").read_bytes()


@pytest.fixture
def toc(fixtures_dir):
    return (fixtures_dir / "eurostat" / "toc_txt_en.tsv").read_bytes()


def _calls(mock, fragment):
    return sum(fragment in call.request.url for call in mock.calls)


def test_read_toc(toc):
    table = eurostat.read_toc(toc)
    row = table.set_index("code").loc["nrg_ti_coifpm"]
    assert row["last_update"] == pd.Timestamp("2024-02-28")
    assert row["title"].startswith("Crude oil imports")


def test_incremental_refresh_skips_unchanged_dataset(mocked_responses, gz, toc, tmp_path):
    mocked_responses.get(DATA_URL, body=gz, content_type="application/octet-stream")
    mocked_responses.get(eurostat.TOC_URL, body=toc)
    store = Store(tmp_path)
    first = refresh(COIFPM, store, progress=False)
    assert first.ok and first.write.rows_new == first.items[0].rows > 0 and first.items[0].written
    # The TOC says 28.02.2024, the store holds vintage 2024-02-28 11:00: nothing to download.
    second = refresh(COIFPM, store, progress=False)
    assert second.items[0].skipped and "2024-02-28" in second.summary()
    assert _calls(mocked_responses, "/sdmx/2.1/data/") == 1
    assert _calls(mocked_responses, "/catalogue/toc/") == 1  # not asked while the store was empty


def test_newer_toc_date_triggers_download(mocked_responses, gz, toc, tmp_path):
    mocked_responses.get(DATA_URL, body=gz, content_type="application/octet-stream")
    mocked_responses.get(eurostat.TOC_URL, body=toc.replace(b"28.02.2024", b"15.03.2024"))
    store = Store(tmp_path)
    refresh(COIFPM, store, progress=False)
    again = refresh(COIFPM, store, progress=False)
    assert again.items[0].skipped is None
    assert _calls(mocked_responses, "/sdmx/2.1/data/") == 2
    assert again.write.rows_unchanged == again.items[0].rows  # same data: a no-op


TWO_DATASETS = (
    '[[dataset]]\nsource = "eurostat"\ndataset = "nrg_ti_coifpm"\nstart = "2020-01"\n'
    'filters = { geo = "DE", indic_nrg = "VOL_THS_BBL" }\n\n'
    '[[dataset]]\nsource = "eurostat"\ndataset = "nrg_ti_oilm"\n'
    'filters = { siec = "O4100_TOT", geo = "DE" }\n')
BROKEN = "https://ec.europa.eu/eurostat/api/dissemination/sdmx/2.1/data/nrg_ti_oilm/.O4100_TOT...DE"


def test_one_failure_writes_nothing(mocked_responses, gz, tmp_path, capsys):
    mocked_responses.get(DATA_URL, body=gz, content_type="application/octet-stream")
    mocked_responses.get(BROKEN, status=500, body="<html><title>Service unavailable</title></html>")
    config = tmp_path / "refresh.toml"
    config.write_text(TWO_DATASETS)
    status = cli.main(["refresh", "--config", str(config), "--store", str(tmp_path / "s"),
                       "--no-progress"])
    out = capsys.readouterr().out
    assert status == 1
    assert "eurostat/nrg_ti_oilm: FAILED: HTTP 500" in out
    assert "eurostat/nrg_ti_coifpm:" in out and "NOT written" in out and "nothing written" in out
    assert not (tmp_path / "s").exists() or Store(tmp_path / "s").read().empty


def test_keep_going_writes_the_datasets_that_worked(mocked_responses, gz, tmp_path, capsys):
    mocked_responses.get(DATA_URL, body=gz, content_type="application/octet-stream")
    mocked_responses.get(BROKEN, status=500, body="<html><title>Service unavailable</title></html>")
    config = tmp_path / "refresh.toml"
    config.write_text("keep_going = true\n\n" + TWO_DATASETS)
    status = cli.main(["refresh", "--config", str(config), "--store", str(tmp_path / "s"),
                       "--no-progress"])
    out = capsys.readouterr().out
    assert status == 1
    assert "eurostat/nrg_ti_oilm: FAILED: HTTP 500" in out
    assert "eurostat/nrg_ti_coifpm:" in out and "new" in out
    # nrg_ti_oilm failed: the store holds coifpm only (the fixture has DE and some EU_V rows).
    assert set(Store(tmp_path / "s").read()["dataset"]) == {"nrg_ti_coifpm"}


def test_unstamped_source_gets_download_time_as_vintage(mocked_responses, fixtures_dir, tmp_path):
    body = (fixtures_dir / "comtrade" / "comtrade_data_v1_get_C_A_HS_china_annual.json").read_text()
    mocked_responses.get("https://comtradeapi.un.org/public/v1/preview/C/A/HS", body=body,
                         content_type="application/json")
    spec = [{"source": "comtrade", "params": {"reporter": "CN", "partner": ["AR", "DE"],
                                              "period": "2010", "cmd": "TOTAL", "min_interval": 0}}]
    store = Store(tmp_path)
    before = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")
    result = refresh(spec, store, progress=False)
    assert result.ok, result.summary()
    stored = store.read(source="comtrade")
    assert len(stored) == result.items[0].rows > 0
    assert (stored["vintage"] >= before).all()
    # What was known before the download: nothing.
    assert store.read(source="comtrade", as_of=before - pd.Timedelta(days=1)).empty


def test_config_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[dataset]]\nsource = "bafa"\n')
    with pytest.raises(QueryError, match="unknown source 'bafa'"):
        load_config(bad)
    bad.write_text('[[dataset]]\nsource = "eurostat"\n')
    with pytest.raises(QueryError, match="lacks 'dataset'"):
        load_config(bad)
    bad.write_text("this is not toml [")
    with pytest.raises(QueryError, match="cannot read"):
        load_config(bad)
    bad.write_text("title = 'nothing to do'\n")
    with pytest.raises(QueryError, match=r"\[\[dataset\]\]"):
        load_config(bad)
    assert [d["dataset"] for d in load_config(None)] == ["nrg_ti_coifpm", "nrg_ti_oilm", "nrg_ti_oil"]
    bad.write_text('keep_going = "yes"\n[[dataset]]\nsource = "comext"\n')
    with pytest.raises(QueryError, match="keep_going must be true or false"):
        load_config(bad)


def test_bad_params_are_a_query_error(tmp_path, http_env):
    # Refused before any download (issue 13): a typed one-line error naming the parameter.
    with pytest.raises(QueryError, match="unknown parameter 'no_such_argument' of genesis.fetch"):
        refresh([{"source": "genesis", "params": {"no_such_argument": 1}}], Store(tmp_path), progress=False)


def test_comtrade_skipped_when_no_release_since_the_stored_vintage(mocked_responses, fixtures_dir,
                                                                    tmp_path):
    body = (fixtures_dir / "comtrade" / "comtrade_data_v1_get_C_A_HS_china_annual.json").read_text()
    data = mocked_responses.get("https://comtradeapi.un.org/public/v1/preview/C/A/HS", body=body,
                                content_type="application/json")
    # Availability: China 2010 last released long before the download stamp (hand-written, per
    # the envelope of the real bulk listing).
    availability = ('{"elapsedTime":"0.1 secs","count":1,"data":[{"typeCode":"C","freqCode":"A",'
                    '"reporterCode":156,"period":2010,"classificationCode":"H3",'
                    '"publicationDate":"2011-06-30T00:00:00"}],"error":""}')
    mocked_responses.get("https://comtradeapi.un.org/public/v1/getDa/C/A/HS", body=availability,
                         content_type="application/json")
    spec = [{"source": "comtrade", "params": {"reporter": "CN", "partner": ["AR", "DE"],
                                              "period": "2010", "cmd": "TOTAL", "min_interval": 0}}]
    store = Store(tmp_path)
    assert refresh(spec, store, progress=False).ok
    again = refresh(spec, store, progress=False)
    assert again.items[0].skipped and "Comtrade last release 2011-06-30" in again.summary()
    assert data.call_count == 1


def test_genesis_incremental_check_compares_the_modification_date(mocked_responses, fixtures_dir,
                                                                 tmp_path, monkeypatch):
    from oilflows.refresh import _unchanged

    monkeypatch.setenv("GENESIS_TOKEN", "secret-token")
    body = (fixtures_dir / "genesis" / "modifieddata_51000-0017.json").read_text()
    mocked_responses.post("https://www-genesis.destatis.de/genesisWS/rest/2020/catalogue/modifieddata",
                          body=body, content_type="application/json")
    store = Store(tmp_path)
    spec = {"source": "genesis", "params": {"start_year": 2023, "end_year": 2023}}
    assert _unchanged(spec, store) is None  # nothing stored yet: download
    frame = (__import__("oilflows").load_default(dataset="nrg_ti_oil", reporter="DE").head(3)
             .assign(source="destatis", dataset="51000-0017", vintage=pd.Timestamp("2024-04-01")))
    store.write(frame)
    # The fixture's latest modification is 15.03.2024 08:00:12, before the stored vintage: skip.
    assert "GENESIS last modification 2024-03-15" in _unchanged(spec, store)
    store.write(frame.assign(vintage=pd.Timestamp("2024-03-01"), mass_t=frame["mass_t"] + 1))
    assert _unchanged(spec, store) is not None  # the older write is archived, current stays 04-01


def test_all_datasets_empty_writes_nothing_and_does_not_fail(tmp_path, monkeypatch):
    """Every dataset answered with no rows (e.g. Comtrade's empty result): ok, nothing written."""
    from oilflows.schema import COLUMNS, conform
    from oilflows.sources import comext

    empty = conform(pd.DataFrame({c: [] for c in COLUMNS}))
    monkeypatch.setattr(comext, "fetch", lambda **kwargs: empty)
    store = Store(tmp_path / "s")
    result = refresh([{"source": "comext", "params": {"reporter": "DE"}}], store, progress=False)
    assert result.ok and result.write is None
    assert not store.path.exists() or store.manifest() is None


@pytest.mark.parametrize("keep_going", [False, True])
def test_refresh_retires_a_reclassified_grade(tmp_path, monkeypatch, keep_going):
    """A new release files the same barrels under another grade: refresh passes the download's
    slice as replace=, so the old grade stops being current instead of being counted twice; the
    store still knows what it held before (as_of)."""
    from oilflows.schema import COLUMNS, conform
    from oilflows.sources import comext

    def release(vintage: str, grade: str) -> pd.DataFrame:
        rows = [{"source": "comext", "dataset": "ds-045409", "vintage": pd.Timestamp(vintage),
                 "freq": "M", "period": pd.Timestamp(period), "reporter": "DE", "partner": partner,
                 "flow": "import", "product": "crude_oil", "grade": g, "volume_bbl": None,
                 "mass_t": mass, "value": None, "currency": None, "api_gravity": None,
                 "sulphur_pct": None, "price_per_bbl": None, "flag": None}
                for period in ("2023-01-01", "2023-02-01")
                for partner, g, mass in (("KZ", grade, 100.0), ("NO", None, 50.0))]
        return conform(pd.DataFrame(rows, columns=list(COLUMNS)))

    releases = iter([release("2024-01-10", "KZ_CPC_BLN"), release("2024-02-10", "KZ_KEBCO")])
    monkeypatch.setattr(comext, "fetch", lambda **kwargs: next(releases))
    spec = [{"source": "comext", "params": {"reporter": "DE", "partner": ["KZ", "NO"]}}]
    store = Store(tmp_path)
    assert refresh(spec, store, progress=False, keep_going=keep_going).ok
    second = refresh(spec, store, progress=False, keep_going=keep_going)
    assert second.ok
    summary = second.items[0].summary if keep_going else second.write
    assert summary.rows_retired == 2
    current = store.read()
    assert current.groupby("partner")["mass_t"].sum().to_dict() == {"KZ": 200.0, "NO": 100.0}
    assert set(current["grade"].dropna()) == {"KZ_KEBCO"}
    before = store.read(as_of="2024-01-31")
    assert set(before["grade"].dropna()) == {"KZ_CPC_BLN"} and len(before) == 4
