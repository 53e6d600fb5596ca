"""Eurostat fetch: URL building, replayed responses, retries, async extractions and error bodies.

No test touches the network: ``responses`` intercepts every request and fails any it does not know.
Bodies of the error and async messages are hand-written following sources.md 1.5-1.7 (the SOAP fault
of EXTRACTION_TOO_BIG is quoted there verbatim); data bodies are the real extract in
``fixtures/eurostat/nrg_ti_coifpm_DE_KZ_RU.csv.gz``.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
import requests
import responses
from responses import matchers
from urllib3.exceptions import ConnectTimeoutError
from urllib3.util import Retry

from oilflows import http, schema
from oilflows.errors import FetchError, QueryError, SourceFormatError, UnknownDatasetError
from oilflows.sources import eurostat

SMALL = Path(__file__).resolve().parent / "fixtures" / "eurostat" / "nrg_ti_coifpm_DE_KZ_RU.csv.gz"

BASE = "https://ec.europa.eu/eurostat/api/dissemination"
URL = f"{BASE}/sdmx/2.1/data/nrg_ti_coifpm/M.KZ_CPC_BLN+RU_EXP_BLN.VOL_THS_BBL.DE"
PARAMS = {"startPeriod": "2020-01", "format": "SDMX-CSV", "compressed": "true"}
QUERY = {"freq": "M", "crudeoil": ["KZ_CPC_BLN", "RU_EXP_BLN"], "indic_nrg": "VOL_THS_BBL",
         "geo": "DE", "start": "2020-01"}
# sources.md 1.5, the SDMX 2.1 key example, verbatim.
DOC_EXAMPLE = ("https://ec.europa.eu/eurostat/api/dissemination/sdmx/2.1/data/nrg_ti_coifpm/"
               "M.KZ_CPC_BLN+RU_EXP_BLN.VOL_THS_BBL.DE?startPeriod=2020-01&format=SDMX-CSV")
CSV_HEADERS = {"Content-Disposition": 'attachment; filename="estat_nrg_ti_coifpm_en.csv.gz"'}
CSV_TYPE = "application/vnd.sdmx.data+csv;version=1.0.0"

# sources.md 1.6, "Extraction above the hard cap", verbatim.
TOO_BIG = (
    '<S:Fault xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><faultcode>413</faultcode>'
    "<faultstring>EXTRACTION_TOO_BIG: The requested extraction is too big, estimated 420709314 rows, "
    "max authorised is 5000000, please change your filters to reduce the extraction size"
    "</faultstring></S:Fault>"
)
# Hand-written per sources.md 1.6 (fault 100 "No results found"), in the SOAP fault layout above.
NO_RESULTS = (
    '<S:Fault xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><faultcode>100</faultcode>'
    "<faultstring>No results found</faultstring></S:Fault>"
)
# Hand-written per sources.md 1.6 (unknown dataset: 404, id 100, label ERR_NOT_FOUND_4).
NOT_FOUND = (
    '{"error":[{"status":404,"id":100,"label":"ERR_NOT_FOUND_4: NRG_TI_OILM (DATA_SET:ESTAT,1.0) '
    'is not available for dissemination."}]}'
)
# sources.md 1.6, outage: an HTML page instead of data.
HTML_OUTAGE = (
    '<!DOCTYPE html>\n<html lang="en" class="no-js">\n<head><title>Eurostat - Service unavailable'
    "</title></head>\n<body>Our services are temporarily unavailable.</body>\n</html>\n"
)
KEY = "d8d4d0ae-6c1c-4f4e-9b7e-1f0b5c3a9e21"
# Hand-written per sources.md 1.5/1.7: a queued extraction answers with an SDMX XML message holding
# the key in <id> and a SUBMITTED/asynchronous status; the status endpoint answers XML <status>.
ASYNC_BODY = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>'
    '<ns0:syncResponse xmlns:ns0="http://estat.ec.europa.eu/disschain/soap/extraction">'
    f"<queued><id>{KEY}</id><status>SUBMITTED</status>"
    "<message>ASYNCHRONOUS_RESPONSE: the extraction was queued</message></queued>"
    "</ns0:syncResponse></S:Body></S:Envelope>"
)
STATUS_URL = f"{BASE}/1.0/async/status/{KEY}"
ASYNC_DATA_URL = f"{BASE}/1.0/async/data/{KEY}"


def status_body(status: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>'
        '<ns0:getStatusResponse xmlns:ns0="http://estat.ec.europa.eu/disschain/soap/asyncextraction">'
        f"<key>{KEY}</key><status>{status}</status></ns0:getStatusResponse></S:Body></S:Envelope>"
    )


@pytest.fixture
def rsps(mocked_responses):
    return mocked_responses


@pytest.fixture(scope="module")
def expected() -> pd.DataFrame:
    return eurostat.read(SMALL)


def add_data(rsps, status: int = 200, **kwargs) -> None:
    """Register the data URL of QUERY (matched with its exact query string)."""
    kwargs.setdefault("body", SMALL.read_bytes())
    kwargs.setdefault("content_type", CSV_TYPE)
    rsps.add(responses.GET, URL, status=status, match=[matchers.query_param_matcher(PARAMS)],
             **kwargs)


def urls(rsps) -> list[str]:
    return [call.request.url.split("?")[0] for call in rsps.calls]


# -- request_url ----------------------------------------------------------------------------------


def test_request_url_exact():
    url, params = eurostat.request_url("nrg_ti_coifpm", freq="M",
                                       crudeoil=["KZ_CPC_BLN", "RU_EXP_BLN"],
                                       indic_nrg="VOL_THS_BBL", geo="DE", start="2020-01")
    assert url == URL
    assert params == PARAMS


def test_request_url_matches_the_documented_example():
    url, params = eurostat.request_url("nrg_ti_coifpm", **QUERY)
    prepared = requests.Request("GET", url, params=params).prepare().url
    doc = urlsplit(DOC_EXAMPLE)
    ours = urlsplit(prepared)
    assert (ours.scheme, ours.netloc, ours.path) == (doc.scheme, doc.netloc, doc.path)
    assert parse_qs(ours.query) == {**parse_qs(doc.query), "compressed": ["true"]}


def test_request_url_wildcards_and_end():
    url, params = eurostat.request_url("nrg_ti_coifpm", geo="de", indic_nrg="VOL_THS_BBL",
                                       start="2020", end="2023-12")
    assert url == f"{BASE}/sdmx/2.1/data/nrg_ti_coifpm/..VOL_THS_BBL.DE"
    assert params == {"format": "SDMX-CSV", "compressed": "true", "startPeriod": "2020",
                      "endPeriod": "2023-12"}
    url, _ = eurostat.request_url("nrg_ti_oilm", freq="M", siec="O4100_TOT", partner=["KZ", "RU"],
                                  unit="THS_T", geo="DE")
    assert url == f"{BASE}/sdmx/2.1/data/nrg_ti_oilm/M.O4100_TOT.KZ+RU.THS_T.DE"  # sources.md 1.5


@pytest.mark.parametrize(
    ("kwargs", "fragments"),
    [
        ({"partner": "KZ"}, ["unknown dimensions ['partner']", "crudeoil"]),
        ({"start": "2020-1"}, ["startPeriod", "'2020-1'"]),
        ({"end": "2020/01"}, ["endPeriod", "'2020/01'"]),
        ({"start": "20-01"}, ["startPeriod"]),
        ({"geo": "DE;DROP"}, ["bad codes for geo"]),
        ({"crudeoil": []}, ["bad codes for crudeoil"]),
    ],
)
def test_request_url_rejects(kwargs, fragments):
    with pytest.raises(QueryError) as info:
        eurostat.request_url("nrg_ti_coifpm", **kwargs)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_request_url_unknown_dataset():
    with pytest.raises(UnknownDatasetError, match="nrg_xyz"):
        eurostat.request_url("nrg_xyz")


def test_fetch_rejects_bad_query_without_a_request(rsps):
    with pytest.raises(QueryError):
        eurostat.fetch("nrg_ti_coifpm", start="2020-13-01")
    assert len(rsps.calls) == 0


# -- synchronous answers ----------------------------------------------------------------------------


def test_fetch_replays_real_bytes(rsps, expected):
    add_data(rsps, headers=CSV_HEADERS)
    got = eurostat.fetch("nrg_ti_coifpm", **QUERY)
    pd.testing.assert_frame_equal(got, expected)
    assert len(rsps.calls) == 1
    assert rsps.calls[0].request.headers["User-Agent"].startswith("oilflows/")


def test_retry_after_503(rsps, expected):
    add_data(rsps, status=503, body="Service Unavailable", content_type="text/plain")
    add_data(rsps)
    got = eurostat.fetch("nrg_ti_coifpm", **QUERY)
    pd.testing.assert_frame_equal(got, expected)
    assert len(rsps.calls) == 2
    assert [c.response.status_code for c in rsps.calls] == [503, 200]


def test_retry_after_429_with_retry_after(rsps, expected):
    add_data(rsps, status=429, body="Too Many Requests", content_type="text/plain",
             headers={"Retry-After": "0"})
    add_data(rsps)
    got = eurostat.fetch("nrg_ti_coifpm", **QUERY)
    pd.testing.assert_frame_equal(got, expected)
    assert [c.response.status_code for c in rsps.calls] == [429, 200]


def test_retries_exhausted(rsps):
    add_data(rsps, status=503, body="<faultcode>503</faultcode>", content_type="text/xml")
    with pytest.raises(FetchError) as info:
        eurostat.fetch("nrg_ti_coifpm", **QUERY)
    assert info.value.status == 503
    assert URL in str(info.value)
    assert len(rsps.calls) == 1 + 4  # the first try and http.retry_policy()'s 4 retries


@pytest.mark.parametrize("error", [requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout])
def test_timeout(rsps, error):
    for _ in range(6):
        add_data(rsps, body=error("timed out"))
    with pytest.raises(FetchError) as info:
        eurostat.fetch("nrg_ti_coifpm", **QUERY)
    message = str(info.value)
    assert URL in message
    assert "timed out" in message
    assert "\n" not in message


def test_no_network(rsps):
    add_data(rsps, body=requests.exceptions.ConnectionError(
        "HTTPSConnectionPool(host='ec.europa.eu', port=443): Max retries exceeded\n"
        "(Caused by NameResolutionError: Failed to resolve 'ec.europa.eu')"))
    with pytest.raises(FetchError) as info:
        eurostat.fetch("nrg_ti_coifpm", **QUERY)
    message = str(info.value)
    assert URL in message
    assert re.search(r"no (network|connection)", message)
    assert "Max retries exceeded" in message  # the reason's first line ...
    assert "NameResolutionError" not in message  # ... and only that
    assert "\n" not in message
    assert isinstance(info.value, OSError)


# A too-big answer splits the query (issue 13; tests/test_fetch_signature.py): only a query of one
# code per dimension and one period is refused as such.
URL_ONE = URL.replace("KZ_CPC_BLN+RU_EXP_BLN", "KZ_CPC_BLN")
QUERY_ONE = {**QUERY, "crudeoil": "KZ_CPC_BLN"}


def test_extraction_too_big(rsps):
    rsps.add(responses.GET, URL_ONE, status=413, body=TOO_BIG, content_type="text/xml")
    with pytest.raises(FetchError) as info:
        eurostat.fetch("nrg_ti_coifpm", **QUERY_ONE)
    assert info.value.status == 413
    assert "narrow" in str(info.value)
    assert "5,000,000" in str(info.value)
    assert len(rsps.calls) == 1  # never retried


def test_other_413_is_an_error(rsps):
    body = ("<S:Fault><faultcode>130</faultcode><faultstring>Response too large due to client "
            "request</faultstring></S:Fault>")
    rsps.add(responses.GET, URL_ONE, status=413, body=body, content_type="text/xml")
    with pytest.raises(FetchError, match="Response too large due to client request") as info:
        eurostat.fetch("nrg_ti_coifpm", **QUERY_ONE)
    assert info.value.status == 413


def test_no_results_is_an_empty_frame(rsps):
    add_data(rsps, status=404, body=NO_RESULTS, content_type="text/xml")
    got = eurostat.fetch("nrg_ti_coifpm", **QUERY)
    assert len(got) == 0
    assert list(got.columns) == list(schema.COLUMNS)
    assert got.dtypes.equals(schema.empty_frame().dtypes)
    assert schema.to_table(got).schema.equals(schema.SCHEMA)


def test_unknown_dataset_404(rsps):
    url = f"{BASE}/sdmx/2.1/data/nrg_ti_oilm/...."
    rsps.add(responses.GET, url, status=404, body=NOT_FOUND, content_type="application/json")
    with pytest.raises(FetchError) as info:
        eurostat.fetch("nrg_ti_oilm")
    assert info.value.status == 404
    assert "ERR_NOT_FOUND_4" in str(info.value)
    assert "\n" not in str(info.value)


def test_html_outage_page(rsps):
    add_data(rsps, body=HTML_OUTAGE, content_type="text/html")
    with pytest.raises(FetchError) as info:
        eurostat.fetch("nrg_ti_coifpm", **QUERY)
    assert "HTML" in str(info.value)
    assert "Service unavailable" in str(info.value)
    assert info.value.status == 200


def test_truncated_gzip_body(rsps):
    add_data(rsps, body=SMALL.read_bytes()[:3000], headers=CSV_HEADERS)
    with pytest.raises(SourceFormatError) as info:
        eurostat.fetch("nrg_ti_coifpm", **QUERY)
    assert "truncated" in str(info.value)
    assert "ec.europa.eu" in str(info.value)  # the error names the URL


# -- asynchronous extractions -----------------------------------------------------------------------


@pytest.mark.parametrize("first_status", [200, 413])
def test_async_extraction(rsps, expected, first_status):
    add_data(rsps, status=first_status, body=ASYNC_BODY, content_type="text/xml")
    rsps.add(responses.GET, STATUS_URL, body=status_body("PROCESSING"), content_type="text/xml")
    rsps.add(responses.GET, STATUS_URL, body=status_body("AVAILABLE"), content_type="text/xml")
    rsps.add(responses.GET, ASYNC_DATA_URL, body=SMALL.read_bytes(), content_type=CSV_TYPE,
             headers=CSV_HEADERS,
             match=[matchers.query_param_matcher({"format": "SDMX-CSV", "compressed": "true"})])
    got = eurostat.fetch("nrg_ti_coifpm", poll_seconds=0, **QUERY)
    pd.testing.assert_frame_equal(got, expected)
    assert urls(rsps) == [URL, STATUS_URL, STATUS_URL, ASYNC_DATA_URL]


@pytest.mark.parametrize("final", ["ERROR", "EXPIRED", "UNKNOWN_REQUEST"])
def test_async_extraction_fails(rsps, final):
    add_data(rsps, body=ASYNC_BODY, content_type="text/xml")
    rsps.add(responses.GET, STATUS_URL, body=status_body("SUBMITTED"), content_type="text/xml")
    rsps.add(responses.GET, STATUS_URL, body=status_body(final), content_type="text/xml")
    with pytest.raises(FetchError) as info:
        eurostat.fetch("nrg_ti_coifpm", poll_seconds=0, **QUERY)
    message = str(info.value)
    assert final in message and KEY in message and STATUS_URL in message
    assert ASYNC_DATA_URL not in urls(rsps)


def test_async_extraction_gives_up(rsps):
    add_data(rsps, body=ASYNC_BODY, content_type="text/xml")
    rsps.add(responses.GET, STATUS_URL, body=status_body("PROCESSING"), content_type="text/xml")
    with pytest.raises(FetchError, match="still PROCESSING"):
        eurostat.fetch("nrg_ti_coifpm", poll_seconds=0, max_wait_seconds=0, **QUERY)


# -- the retry policy itself --------------------------------------------------------------------------
# ``responses`` (>= 0.22) emulates the adapter's ``max_retries`` for *status* retries (it calls
# Retry.is_retry/increment itself, without sleeping), so the 429/503 tests above do exercise the
# policy. It does not retry exceptions (a mocked ConnectTimeout is raised at once), so connection and
# read retries are checked on the Retry object directly.


def test_retry_policy(http_env):
    policy = http.retry_policy()
    assert isinstance(policy, Retry)
    assert set(policy.status_forcelist) == {429, 500, 502, 503, 504}
    assert policy.respect_retry_after_header is True
    assert policy.raise_on_status is False
    assert policy.backoff_factor == 0  # from OILFLOWS_HTTP_BACKOFF
    assert policy.parse_retry_after("0") == 0
    assert policy.parse_retry_after("120") == 120
    for code in (429, 500, 502, 503, 504):
        assert policy.is_retry("GET", code)
    for code in (400, 404, 413, 416):
        assert not policy.is_retry("GET", code)
    assert policy.is_retry("GET", 429, has_retry_after=True)


def test_retry_policy_counts_connection_errors():
    policy = http.retry_policy(total=2, backoff=0.5)
    assert policy.backoff_factor == 0.5
    error = ConnectTimeoutError("connect timed out")
    policy = policy.increment("GET", "https://example.invalid/", error=error)
    policy = policy.increment("GET", "https://example.invalid/", error=error)
    with pytest.raises(Exception, match="Max retries exceeded"):
        policy.increment("GET", "https://example.invalid/", error=error)


def test_sessions_use_the_policy(http_env):
    adapter = http.session().get_adapter("https://ec.europa.eu/")
    assert set(adapter.max_retries.status_forcelist) == set(http.RETRY_STATUSES)
    assert adapter.max_retries.total == 4
