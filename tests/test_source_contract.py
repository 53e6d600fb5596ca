"""The source contract (issue 13), checked for every registered source:

- ``read`` turns its recorded sample into a frame that passes :func:`oilflows.schema.validate`;
- ``fetch`` (through the registration's adapter to the unified signature) turns a recorded response into
  such a frame;
- each documented HTTP error (401, 403, 404, 429, 5xx) becomes the typed error;
- no error message or ``repr`` holds the credential (a fake key, also echoed in the error bodies).

Samples are the recordings in ``tests/fixtures`` (``/work/shared/api-samples`` copies among them); a
source registered without an entry in :data:`SAMPLES` fails :func:`test_every_source_has_a_sample`, so a
new source cannot skip the contract. No network: ``responses`` answers every request.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import responses

from oilflows import _http_wire, http, schema
from oilflows.errors import AccessDeniedError, FetchError, OilflowsError, RateLimitedError
from oilflows.sources import registry

FIX = Path(__file__).resolve().parent / "fixtures"
SHARED_SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "api-samples"
FAKE_KEY = "fAkE-k3y-0f-the-c0ntract-7e1d59a2"

CSV_TYPE = "application/vnd.sdmx.data+csv;version=1.0.0"

#: Per source: the recorded sample, the keyword arguments of its reader, the recorded body its fetch is
#: answered with (path, content type, headers) and the fetch arguments (unified signature).
SAMPLES: dict[str, dict] = {
    "eurostat": {
        "sample": FIX / "eurostat" / "nrg_ti_coifpm_DE_KZ_RU.csv.gz", "read": {},
        "body": FIX / "eurostat" / "nrg_ti_coifpm_DE_KZ_RU.csv.gz", "content_type": CSV_TYPE,
        "headers": {"Content-Disposition": 'attachment; filename="estat_nrg_ti_coifpm_en.csv.gz"'},
        "fetch": {"dataset": "nrg_ti_coifpm", "reporter": "DE", "crudeoil": ["KZ_CPC_BLN", "RU_EXP_BLN"],
                  "start": "2020-01", "freq": "M", "indic_nrg": "VOL_THS_BBL"},
    },
    "comext": {
        "sample": FIX / "comext" / "ds045409_DE_KZ_RU_2709_M.csv", "read": {},
        "body": FIX / "comext" / "ds045409_DE_KZ_RU_2709_M.csv", "content_type": CSV_TYPE, "headers": {},
        "fetch": {"dataset": "ds-045409", "reporter": "DE", "partner": ["KZ", "RU"], "start": "2022-12",
                  "end": "2023-02"},
    },
    "comtrade": {
        "sample": FIX / "comtrade" / "comtrade_data_v1_get_C_A_HS_china_annual.json", "read": {},
        "body": FIX / "comtrade" / "comtrade_data_v1_get_C_A_HS_china_annual.json",
        "content_type": "application/json", "headers": {},
        "fetch": {"dataset": "hs", "reporter": "CN", "partner": ["AR", "DE"], "start": "2010", "end": "2010"},
    },
    "genesis": {
        "sample": FIX / "genesis" / "51000-0017_2023-01_de_flat.zip", "read": {},
        "body": FIX / "genesis" / "51000-0017_2023-01_de_flat.zip", "content_type": "application/zip",
        "headers": {"Content-Disposition": "attachment; filename=51000-0017_1678708800000_de_flat.zip"},
        "fetch": {"dataset": "51000-0017", "partner": ["KZ", "RU"], "start": "2023", "end": "2023",
                  "months": [1]},
    },
    "dg_ener": {"sample": FIX / "dg_ener" / "Crude_Oil_Imports_Reporting_Country_2013.xlsx", "read": {}},
    "published": {"sample": None, "read": {}},  # the packaged curated table is its sample
}

SOURCES = [s.id for s in registry.all_sources()]
FETCHING = [s.id for s in registry.all_sources() if s.fetcher is not None]
ERRORS = [(401, AccessDeniedError), (403, AccessDeniedError), (404, FetchError), (429, RateLimitedError),
          (500, FetchError), (503, FetchError)]


@pytest.fixture
def offline(monkeypatch, mocked_responses):
    """Recorded responses only, no pacing sleeps, a fake credential in every source's variable."""
    monkeypatch.setattr(_http_wire, "_sleep", lambda seconds: None)
    for source in registry.all_sources():
        if source.credential_env:
            monkeypatch.setenv(source.credential_env, FAKE_KEY)
    return mocked_responses


def answer(rsps, source: registry.Source, status: int = 200, **kwargs) -> None:
    """Answer every GET and POST to the source's hosts with the same response."""
    for host in source.hosts:
        pattern = re.compile(rf"https://{re.escape(host)}/.*")
        for method in (responses.GET, responses.POST):
            rsps.add(method, pattern, status=status, **kwargs)


def test_every_source_has_a_sample():
    assert set(SOURCES) == set(SAMPLES), "register a sample for the contract test of every source"


def test_every_source_is_registered_completely():
    for source in registry.all_sources():
        assert source.datasets and source.title and callable(source.read)
        assert all(info.units and info.freq for info in source.datasets)
        if source.fetcher is not None:
            assert callable(source.fetch) and source.call_fetch is not None
            assert source.hosts and source.rate_limit is not None
            assert all(http.RATE_LIMITS[host] == source.rate_limit for host in source.hosts)
        for header in source.credential_headers:
            assert header.lower() in {name.lower() for name in http.SECRET_FIELDS}


@pytest.mark.parametrize("source_id", SOURCES)
def test_read_sample_gives_a_valid_frame(source_id):
    case, source = SAMPLES[source_id], registry.get(source_id)
    frame = source.read(case["sample"], **case["read"]) if case["sample"] is not None else source.read()
    schema.validate(frame)
    assert len(frame) > 0
    stored = set(frame["source"])
    assert stored == {source.store_source} or source_id == "published"
    if source_id != "published":  # published figures: one dataset per publisher
        assert set(frame["dataset"]) <= {d.id for d in source.datasets}


@pytest.mark.parametrize("source_id", FETCHING)
def test_fetch_replays_a_recording(source_id, offline):
    case, source = SAMPLES[source_id], registry.get(source_id)
    answer(offline, source, body=case["body"].read_bytes(), content_type=case["content_type"],
           headers=case["headers"])
    frame = source.call_fetch(**case["fetch"])
    schema.validate(frame)
    assert len(frame) > 0 and len(offline.calls) >= 1
    for call in offline.calls:
        assert FAKE_KEY not in call.request.url


@pytest.mark.parametrize(("status", "error"), ERRORS)
@pytest.mark.parametrize("source_id", FETCHING)
def test_http_errors_are_typed_and_never_leak_the_key(source_id, status, error, offline):
    case, source = SAMPLES[source_id], registry.get(source_id)
    body = f"<html><body>{status}: request with key {FAKE_KEY} refused</body></html>"
    answer(offline, source, status=status, body=body, content_type="text/html")
    with pytest.raises(OilflowsError) as info:
        source.call_fetch(**case["fetch"])
    got = f"{source_id} HTTP {status}: {type(info.value).__name__}: {info.value}"
    assert isinstance(info.value, error), got
    for text in (str(info.value), repr(info.value), repr(info.value.args)):
        assert FAKE_KEY not in text
    if isinstance(info.value, FetchError):
        assert info.value.status == status


@pytest.mark.parametrize("source_id", FETCHING)
def test_the_adapter_takes_the_unified_signature(source_id):
    import inspect

    parameters = inspect.signature(registry.get(source_id).call_fetch).parameters
    assert list(parameters)[0] == "dataset"
    for name in ("reporter", "partner", "product", "start", "end", "base_url"):
        assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY and parameters[name].default is None


@pytest.mark.parametrize("name", ["comtrade_data_v1_get_C_A_HS_china_annual.json"])
def test_shared_recordings_read_too(name):
    """The shared originals of the fixtures (skipped without ../shared)."""
    path = SHARED_SAMPLES / name
    if not path.is_file():
        pytest.skip(f"{path} not found (../shared absent)")
    schema.validate(registry.get("comtrade").read(path))
