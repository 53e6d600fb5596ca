"""One fetch signature for every source, and the protocol pieces written once (issue 13).

``fetch(dataset, *, reporter=None, partner=None, product=None, start=None, end=None, base_url=None,
**source_specific)``: for each source the new call sends exactly the request of the old one (captured
with ``responses``; bodies from ``tests/fixtures``), the old form warns DeprecationWarning and gives the
same frame, bad periods are refused before any request, credentials come from the environment through
``http.credential``. Then: one Eurostat-family classification (too big -> split, for both hosts), one
splitting helper, Comtrade paced by ``http`` only (waits on a fake clock), ``_io.body_head``.
No network, no wall clock.
"""

from __future__ import annotations

import gzip
import json
import re
import warnings
from pathlib import Path
from urllib.parse import parse_qs

import pandas as pd
import pytest
import responses
from _fakes import FakeClock
from _fault_server import FaultServer, Reply

from oilflows import _http_credentials, _http_wire, _io, http
from oilflows.errors import FetchError, QueryError
from oilflows.sources import _eurostat_api, _fetch, comext, comtrade, eurostat, genesis

FIXTURES = Path(__file__).resolve().parent / "fixtures"
COIFPM = FIXTURES / "eurostat" / "nrg_ti_coifpm_DE_KZ_RU.csv.gz"
OIL_ANNUAL = FIXTURES / "eurostat" / "nrg_ti_oil_DE_annual_sdmx.csv"
COMEXT_M = FIXTURES / "comext" / "ds045409_DE_KZ_RU_2709_M.csv"
COMTRADE_CHINA = FIXTURES / "comtrade" / "comtrade_data_v1_get_C_A_HS_china_annual.json"
GENESIS_JAN = FIXTURES / "genesis" / "51000-0017_2023-01_de_flat.zip"
CSV_TYPE = "application/vnd.sdmx.data+csv;version=1.0.0"
JSON = "application/json"
TOKEN = "tok3n-0f-the-fetch-signature-tests-7f1c"
KEY = "c0ffee00c0ffee00c0ffee00c0ffee00"
TOO_BIG = ('<S:Fault xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><faultcode>413</faultcode>'
           "<faultstring>EXTRACTION_TOO_BIG: The requested extraction is too big, estimated 420709314 rows, "
           "max authorised is 5000000, please change your filters to reduce the extraction size"
           "</faultstring></S:Fault>")
EUROSTAT_DATA = re.compile(r"https://ec\.europa\.eu/eurostat/api/dissemination/sdmx/2\.1/data/.*")
COMEXT_DATA = re.compile(r"https://ec\.europa\.eu/eurostat/api/comext/dissemination/sdmx/2\.1/data/.*")
GENESIS_URL = genesis.BASE_URL + genesis.TABLEFILE


@pytest.fixture
def rsps(mocked_responses, monkeypatch):
    monkeypatch.delenv("COMTRADE_API_KEY", raising=False)
    monkeypatch.delenv("GENESIS_TOKEN", raising=False)
    monkeypatch.setattr(_http_credentials, "_keyring_value", lambda service, name: None)  # no dev keyring
    return mocked_responses


def urls(rsps) -> list[str]:
    return [call.request.url for call in rsps.calls]


def old_and_new(rsps, old, new):
    """(old frame, new frame, requests of the old call, requests of the new call); the old call must
    warn DeprecationWarning naming the new form, the new one must not warn."""
    with pytest.warns(DeprecationWarning, match=r"old fetch signature.*instead") as record:
        old_frame = old()
    assert all(issubclass(w.category, DeprecationWarning) for w in record)
    n = len(rsps.calls)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        new_frame = new()
    calls = list(rsps.calls)
    return old_frame, new_frame, calls[:n], calls[n:]


def same_requests(a, b) -> None:
    assert [c.request.url for c in a] == [c.request.url for c in b]
    assert [c.request.body for c in a] == [c.request.body for c in b]
    assert len(a) >= 1


# == eurostat ==========================================================================================


def test_eurostat_common_arguments_map_to_its_dimensions(rsps):
    rsps.add(responses.GET, EUROSTAT_DATA, body=OIL_ANNUAL.read_bytes(), content_type=CSV_TYPE)
    old = eurostat.fetch("nrg_ti_oil", geo=["EL", "DE"], partner="KZ", siec="O4100_TOT", start="2019",
                         end="2020")
    new = eurostat.fetch("nrg_ti_oil", reporter=["GR", "DE"], partner="KZ", product="crude_oil",
                         start="2019", end="2020")
    assert rsps.calls[0].request.url == rsps.calls[1].request.url
    assert "/nrg_ti_oil/.O4100_TOT.KZ..EL+DE?" in rsps.calls[0].request.url
    pd.testing.assert_frame_equal(old, new)


def test_eurostat_base_url_and_refusals(rsps):
    other = "https://mirror.example.org/eurostat"
    url, params = eurostat.request_url("nrg_ti_coifpm", base_url=other, geo="DE", start="2020-01")
    assert url == f"{other}/sdmx/2.1/data/nrg_ti_coifpm/...DE" and params["startPeriod"] == "2020-01"
    with pytest.raises(QueryError, match="no partner dimension"):
        eurostat.fetch("nrg_ti_coifpm", partner="KZ")
    with pytest.raises(QueryError, match="both given"):
        eurostat.fetch("nrg_ti_oil", reporter="DE", geo="FR")
    assert len(rsps.calls) == 0


# == comext ============================================================================================


def test_comext_new_form_sends_the_old_request(rsps):
    rsps.add(responses.GET, COMEXT_DATA, body=COMEXT_M.read_bytes(), content_type=CSV_TYPE)
    old, new, a, b = old_and_new(
        rsps,
        lambda: comext.fetch("DE", ("KZ", "RU"), comext.CRUDE_CN8, start="2022-12", end="2023-02"),
        lambda: comext.fetch("DS-045409", reporter="DE", partner=["KZ", "RU"], product=comext.CRUDE_CN8,
                             start="2022-12", end="2023-02"),
    )
    same_requests(a, b)
    pd.testing.assert_frame_equal(old, new)


def test_comext_old_keyword_form_keeps_its_defaults(rsps):
    rsps.add(responses.GET, COMEXT_DATA, body=COMEXT_M.read_bytes(), content_type=CSV_TYPE)
    old, new, a, b = old_and_new(
        rsps,
        lambda: comext.fetch(start="2022-12", end="2023-02"),  # refresh.py's form: keywords only
        lambda: comext.fetch("ds-045409", reporter="DE", partner=("KZ", "RU"), product=comext.CRUDE_CN8,
                             start="2022-12", end="2023-02", flow="import"),
    )
    same_requests(a, b)
    pd.testing.assert_frame_equal(old, new)


def test_comext_new_form_none_is_a_wildcard_and_base_url(rsps):
    """partner=None is every partner; product=None is crude oil (CRUDE_CN8), as for Comtrade and GENESIS."""
    other = "https://mirror.example.org/comext"
    rsps.add(responses.GET, re.compile(re.escape(other) + ".*"), body=COMEXT_M.read_bytes(),
             content_type=CSV_TYPE)
    comext.fetch("DS-045409", reporter="DE", start="2022-12", end="2023-02", base_url=other)
    assert rsps.calls[0].request.url.startswith(
        f"{other}/sdmx/2.1/data/DS-045409/M.DE..27090010+27090090.1.VALUE_IN_EUROS+QUANTITY_IN_100KG?")


# == comtrade ==========================================================================================


def comtrade_body() -> bytes:
    return COMTRADE_CHINA.read_bytes()


def test_comtrade_new_form_sends_the_old_request(rsps):
    rsps.add(responses.GET, comtrade.PREVIEW_URL.format(freq="A"), body=comtrade_body(), content_type=JSON)
    old, new, a, b = old_and_new(
        rsps,
        lambda: comtrade.fetch("CN", "AR", "2010", cmd="TOTAL"),
        lambda: comtrade.fetch("HS", reporter="CN", partner="AR", product="TOTAL", start="2010", end="2010"),
    )
    same_requests(a, b)
    pd.testing.assert_frame_equal(old, new)


def test_comtrade_months_from_start_to_end(rsps):
    rsps.add(responses.GET, comtrade.PREVIEW_URL.format(freq="M"), body=json.dumps({"count": 0, "data": []}),
             content_type=JSON)
    old, new, a, b = old_and_new(
        rsps,
        lambda: comtrade.fetch(reporter="DE", partner="KZ", period=["2022-12", "2023-01"], freq="M"),
        lambda: comtrade.fetch("HS", reporter="DE", partner="KZ", start="2022-12", end="2023-01"),
    )
    same_requests(a, b)
    assert [parse_qs(c.request.url.split("?")[1])["period"] for c in b] == [["202212"], ["202301"]]
    assert parse_qs(b[0].request.url.split("?")[1])["cmdCode"] == ["2709"]  # product defaults to crude


def test_comtrade_dataset_with_old_keywords(rsps):
    """A dataset first and the old period=/cmd= keywords (a refresh config through the registry): the old
    form, warned."""
    rsps.add(responses.GET, comtrade.PREVIEW_URL.format(freq="A"), body=comtrade_body(), content_type=JSON)
    old, new, a, b = old_and_new(
        rsps,
        lambda: comtrade.fetch("hs", reporter="CN", partner="AR", period="2010", cmd="TOTAL"),
        lambda: comtrade.fetch("hs", reporter="CN", partner="AR", product="TOTAL", start="2010"),
    )
    same_requests(a, b)
    pd.testing.assert_frame_equal(old, new)


def test_comtrade_base_url(rsps):
    other = "https://mirror.example.org"
    rsps.add(responses.GET, f"{other}/public/v1/preview/C/A/HS", body=comtrade_body(), content_type=JSON)
    comtrade.fetch("HS", reporter="CN", partner="AR", product="TOTAL", start="2010", base_url=other)
    assert rsps.calls[0].request.url.startswith(f"{other}/public/v1/preview/C/A/HS?")


def test_comtrade_key_from_the_environment_through_http_credential(rsps, monkeypatch):
    asked: list[str] = []
    real = http.credential
    monkeypatch.setattr(http, "credential", lambda env, **kw: asked.append(env) or real(env, **kw))
    monkeypatch.setenv("COMTRADE_API_KEY", f" {KEY} ")
    rsps.add(responses.GET, comtrade.DATA_URL.format(freq="A"), body=comtrade_body(), content_type=JSON)
    comtrade.fetch("HS", reporter="CN", partner="AR", product="TOTAL", start="2010")
    assert asked == ["COMTRADE_API_KEY"]
    request = rsps.calls[0].request
    assert request.headers["Ocp-Apim-Subscription-Key"] == KEY and KEY not in request.url
    asked.clear()  # an explicit api_key= (source-specific) wins and the environment is not read
    comtrade.fetch("HS", reporter="CN", partner="AR", product="TOTAL", start="2010", api_key=KEY)
    assert asked == []


# == genesis ===========================================================================================


def test_genesis_new_form_posts_the_old_form(rsps):
    rsps.add(responses.POST, GENESIS_URL, body=GENESIS_JAN.read_bytes(), content_type="application/zip")
    countries = ["KZ", "RU", "NO", "GB", "US", "AE"]
    old, new, a, b = old_and_new(
        rsps,
        lambda: genesis.fetch(start_year=2023, months=[1], countries=countries, token=TOKEN),
        lambda: genesis.fetch("51000-0017", partner=countries, start="2023-01", end="2023-01", token=TOKEN),
    )
    same_requests(a, b)
    pd.testing.assert_frame_equal(old, new)
    form = parse_qs(b[0].request.body)
    assert form["startyear"] == form["endyear"] == ["2023"] and form["classifyingkey1"] == ["MONAT01"]


def test_genesis_dataset_with_old_keywords(rsps):
    rsps.add(responses.POST, GENESIS_URL, body=GENESIS_JAN.read_bytes(), content_type="application/zip")
    old, new, a, b = old_and_new(
        rsps,
        lambda: genesis.fetch("51000-0017", table="51000-0017", start_year=2023, months=[1], token=TOKEN),
        lambda: genesis.fetch("51000-0017", start="2023-01", token=TOKEN),
    )
    same_requests(a, b)
    pd.testing.assert_frame_equal(old, new)


def test_genesis_period_range_across_years(rsps):
    rsps.add(responses.POST, GENESIS_URL, json={"Status": {"Code": 104, "Content": "no data"}})
    genesis.fetch("51000-0017", partner="KZ", start="2021-11", end="2023-02", token=TOKEN)
    forms = [parse_qs(c.request.body) for c in rsps.calls]
    assert [(f["startyear"][0], f["endyear"][0], f["classifyingkey1"][0]) for f in forms] == [
        ("2021", "2021", "MONAT11,MONAT12"), ("2022", "2022", "*"), ("2023", "2023", "MONAT01,MONAT02")]


def test_genesis_token_from_the_environment_through_http_credential(rsps, monkeypatch):
    asked: list[str] = []
    real = http.credential
    monkeypatch.setattr(http, "credential", lambda env, **kw: asked.append(env) or real(env, **kw))
    monkeypatch.setenv("GENESIS_TOKEN", TOKEN)
    rsps.add(responses.POST, GENESIS_URL, json={"Status": {"Code": 104, "Content": "no data"}})
    genesis.fetch("51000-0017", start="2023-01", partner="KZ")
    assert asked == ["GENESIS_TOKEN"]
    assert rsps.calls[0].request.headers["username"] == TOKEN


# == bad periods: refused before any request ==========================================================


BAD_PERIODS = [({"start": "2020-13"}, "2020-13"), ({"start": "2020-00"}, "2020-00"),
               ({"start": "20-01"}, "20-01"), ({"end": "2020/01", "start": "2020"}, "2020/01"),
               ({"start": "2021", "end": "2020-12"}, "after")]


@pytest.mark.parametrize(("periods", "fragment"), BAD_PERIODS)
@pytest.mark.parametrize("source", ["eurostat", "comext", "comtrade", "genesis"])
def test_bad_periods_are_refused_before_any_request(rsps, monkeypatch, source, periods, fragment):
    monkeypatch.setenv("COMTRADE_API_KEY", KEY)
    calls = {
        "eurostat": lambda: eurostat.fetch("nrg_ti_coifpm", **periods),
        "comext": lambda: comext.fetch("DS-045409", reporter="DE", **periods),
        "comtrade": lambda: comtrade.fetch("HS", reporter="DE", **periods),
        "genesis": lambda: genesis.fetch("51000-0017", token=TOKEN, **periods),
    }
    with pytest.raises(QueryError, match=re.escape(fragment)):
        calls[source]()
    assert len(rsps.calls) == 0


def test_shared_period_helpers():
    assert _fetch.check_periods("2020", "2020-06", "x") == ("2020", "2020-06")
    assert _fetch.check_periods(2020, None, "x") == ("2020", None)
    assert _fetch.halve_periods("2022-12", "2023-02", "M") == [("2022-12", "2023-01"), ("2023-02", "2023-02")]
    assert _fetch.halve_periods("2018", "2022", "A") == [("2018", "2020"), ("2021", "2022")]
    assert _fetch.halve_periods("2023-02", "2023-02", "M") == []
    assert _fetch.halve_periods(None, "2023", "M") == []


# == one Eurostat-family classification, one splitting helper ==========================================


class _Answer:
    def __init__(self, status: int, body: str | bytes, url: str = "https://example.org/data"):
        self.status_code, self.url = status, url
        self.content = body.encode() if isinstance(body, str) else body


@pytest.mark.parametrize("body", [TOO_BIG, "<S:Fault><faultcode>130</faultcode><faultstring>Response too "
                                  "large due to client request</faultstring></S:Fault>",
                                  "<S:Fault><faultcode>510</faultcode><faultstring>Response size exceeds "
                                  "service limit</faultstring></S:Fault>"])
def test_one_classification_for_eurostat_and_comext(body):
    assert eurostat.get_data is comext.get_data is _eurostat_api.get_data  # both call classify()
    found = _eurostat_api.classify(_Answer(413, body))
    assert found.kind == "too_big" and found.detail
    assert _eurostat_api.classify(_Answer(200, gzip.compress(b"DATAFLOW,x\n"))).kind == "data"
    assert _eurostat_api.classify(_Answer(404, "<faultstring>No results found</faultstring>")).kind == "empty"
    with pytest.raises(FetchError, match="Bad client request"):
        _eurostat_api.classify(_Answer(413, "<faultstring>Bad client request</faultstring>"))


def test_too_big_is_split_alike_by_eurostat_and_comext(rsps):
    """The same too-big answer makes both sources split by period first (issue 13: eurostat used to
    raise)."""
    for source, pattern, body, call in (
        ("eurostat", EUROSTAT_DATA, COIFPM.read_bytes(),
         lambda: eurostat.fetch("nrg_ti_coifpm", geo="DE", start="2020-01", end="2020-04")),
        ("comext", COMEXT_DATA, COMEXT_M.read_bytes(),
         lambda: comext.fetch("DS-045409", reporter="DE", partner="KZ", product="27090090",
                              start="2020-01", end="2020-04")),
    ):
        rsps.reset()
        rsps.add(responses.GET, pattern, status=413, body=TOO_BIG, content_type="text/xml")
        rsps.add(responses.GET, pattern, body=body, content_type=CSV_TYPE)
        call()
        periods = [(parse_qs(u.split("?")[1])["startPeriod"][0], parse_qs(u.split("?")[1])["endPeriod"][0])
                   for u in urls(rsps)]
        assert periods == [("2020-01", "2020-04"), ("2020-01", "2020-02"), ("2020-03", "2020-04")], source


def test_unsplittable_too_big_is_one_fetch_error_for_both(rsps):
    for pattern, call in (
        (EUROSTAT_DATA, lambda: eurostat.fetch("nrg_ti_coifpm", geo="DE", start="2020-01", end="2020-01")),
        (COMEXT_DATA, lambda: comext.fetch("DS-045409", reporter="DE", partner="KZ", product="27090090",
                                           start="2020-01", end="2020-01")),
    ):
        rsps.reset()
        rsps.add(responses.GET, pattern, status=413, body=TOO_BIG, content_type="text/xml")
        with pytest.raises(FetchError, match="cannot be split further") as info:
            call()
        assert info.value.status == 413 and len(rsps.calls) == 1


def test_fetch_split_order_and_budget():
    seen: list[tuple[int, int]] = []

    def one(span):
        seen.append(span)
        if span[1] - span[0] > 1:
            raise _fetch.TooBig("u", "too big")
        return span

    def halves(span):
        middle = (span[0] + span[1]) // 2
        return [(span[0], middle), (middle, span[1])]

    got = _fetch.fetch_split([(0, 4)], one, halves, lambda q, e: FetchError("u", "no"))
    assert got == [(0, 1), (1, 2), (2, 3), (3, 4)]
    assert seen[:3] == [(0, 4), (0, 2), (0, 1)]  # depth first
    budget = _fetch.Budget(3, lambda sent: FetchError("u", f"gave up after {sent}"))
    with pytest.raises(FetchError, match="gave up after 3"):
        _fetch.fetch_split([(0, 4)], one, halves, lambda q, e: FetchError("u", "no"), budget=budget)


# == pacing in http only ===============================================================================


def test_comtrade_calls_are_paced_by_http_rate_limits(monkeypatch):
    """Comtrade's pace (10 calls a minute) comes from http.RATE_LIMITS alone: three monthly preview
    calls to a local server with comtradeapi.un.org's limit wait 6 s twice on http's (fake) clock."""
    monkeypatch.delenv("COMTRADE_API_KEY", raising=False)
    monkeypatch.setattr(_http_credentials, "_keyring_value", lambda service, name: None)
    monkeypatch.setenv("OILFLOWS_NO_CACHE", "1")
    monkeypatch.setenv("OILFLOWS_HTTP_BACKOFF", "0")
    clock = FakeClock()
    monkeypatch.setattr(_http_wire, "_clock", clock.monotonic)
    monkeypatch.setattr(_http_wire, "_sleep", clock.sleep)
    http._sessions.clear()
    empty = json.dumps({"count": 0, "data": []}).encode()
    try:
        with FaultServer() as srv:
            http.set_rate_limit("127.0.0.1", http.RATE_LIMITS["comtradeapi.un.org"])
            srv.script("/public/v1/preview/C/M/HS", then=Reply(body=empty, content_type=JSON))
            comtrade.fetch("HS", reporter="DE", partner="KZ", start="2023-01", end="2023-03",
                           base_url=srv.url())
            assert srv.count("/public/v1/preview/C/M/HS") == 3
    finally:
        http.set_rate_limit("127.0.0.1", None)
        http._sessions.clear()
    assert clock.sleeps == pytest.approx([6.0, 6.0])


# == decompression in _io only ========================================================================


def test_body_head_inflates_only_the_head():
    text = b"DATAFLOW,LAST UPDATE,freq\n"
    assert _io.body_head(gzip.compress(text)) == (text, True)
    assert _io.body_head(text) == (text, True)
    bomb = gzip.compress(b"\0" * (50 * 1024 * 1024))
    head, complete = _io.body_head(bomb, 100)
    assert len(head) == 100 and not complete
    assert _io.body_head(b"\x1f\x8b\x08garbage") == (b"", False)
    assert comext._header_only(gzip.compress(text)) and not comext._header_only(gzip.compress(text * 3))
