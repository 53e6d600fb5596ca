"""Issue 12, HTTP: credentials across redirects, bounded redirect bodies, one total deadline, typed errors
for a malformed Location, a cache that keeps only validated bodies, and one redaction for every secret.

Two loopback servers on different ports are two origins (``a`` and ``b``); ``localhost`` against
``127.0.0.1`` is another host on the same port. No test asserts on elapsed time: deadlines are checked
through the typed error and counted events (bytes the server managed to write, requests seen, the waits
the client asked for on a fake clock).
"""

from __future__ import annotations

import gzip
import logging
import traceback
from pathlib import Path

import pytest
from _fakes import FakeClock, TimeModule
from _fault_server import (
    COIFPM_PATH,
    COMTRADE_DATA_PATH,
    COMTRADE_PREVIEW_PATH,
    GENESIS_TABLEFILE_PATH,
    TOC_PATH,
    Drip,
    FaultServer,
    Flood,
    HeaderDrip,
    Reply,
    coifpm_csv,
    csv_reply,
    point_sources_at,
)
from urllib3.util import retry as urllib3_retry

from oilflows import _http_credentials, _http_wire, http
from oilflows.errors import FetchError, SourceFormatError
from oilflows.sources import comext, comtrade, eurostat, genesis

KEY = "SECRET-k3y-8d2e"  # a Comtrade key
TOKEN = "SECRET-t0ken-5b1c"  # a GENESIS token
PASSWORD = "SECRET-pa55-77aa"
SECRETS = (KEY, TOKEN, PASSWORD)
FIXTURES = Path(__file__).resolve().parent / "fixtures"
COMTRADE_BODY = (FIXTURES / "comtrade" / "comtrade_data_v1_get_C_A_HS_china_annual.json").read_bytes()
CSV = coifpm_csv({("KZ_CPC_BLN", "2023-01"): 1.0})
HTML = (b"<!DOCTYPE html><html><head><title>Service temporarily unavailable</title></head>"
        b"<body>Maintenance until 14:00</body></html>")
TOC = (b'"title"\t"code"\t"type"\t"last update of data"\t"last table structure change"\t"data start"\t'
       b'"data end"\t"values"\n"Imports"\t"nrg_ti_coifpm"\t"dataset"\t"28.02.2024"\t"28.02.2024"\t"2000"\t'
       b'"2023"\t"1"\n')


@pytest.fixture(scope="module")
def servers():
    with FaultServer() as first, FaultServer() as second:
        yield first, second


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(_http_wire, "_sleep", fake.sleep)
    monkeypatch.setattr(urllib3_retry, "time", TimeModule(fake.sleep))  # (oilflows no longer uses it)
    return fake


@pytest.fixture
def ab(servers, monkeypatch, tmp_path):
    """Both servers reset; no cache, no back-off, generous timeouts, a fresh session, no keyring."""
    for srv in servers:
        srv.reset()
    monkeypatch.setenv("OILFLOWS_NO_CACHE", "1")
    monkeypatch.setenv("OILFLOWS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("OILFLOWS_HTTP_BACKOFF", "0")
    monkeypatch.setenv("OILFLOWS_HTTP_TIMEOUT", "10,10")
    monkeypatch.delenv("COMTRADE_API_KEY", raising=False)
    monkeypatch.delenv("GENESIS_TOKEN", raising=False)
    monkeypatch.setattr(_http_credentials, "_keyring_value", lambda service, name: None)
    for secret in SECRETS:
        http.register_secret(secret)
    http._sessions.clear()
    yield servers
    http._sessions.clear()


@pytest.fixture
def cached(ab, monkeypatch):
    """As `ab`, with the disk cache on (in tmp_path) and the sources pointed at server a."""
    monkeypatch.delenv("OILFLOWS_NO_CACHE")
    point_sources_at(ab[0].base, monkeypatch.setattr)
    return ab


def leaked(*servers: FaultServer) -> list[str]:
    """Every secret that reached `servers` anywhere in a request (headers, path, query, body)."""
    found = []
    for srv in servers:
        for seen in srv.seen:
            text = " ".join([seen.path, seen.query, *seen.headers.values(),
                             seen.body.decode("latin-1")])
            found += [s for s in SECRETS if s in text]
    return found


def exception_text(exc: BaseException) -> str:
    """str, repr, the URL and the full traceback of `exc` and of every exception chained to it."""
    parts, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        parts += [str(exc), repr(exc), "".join(traceback.format_exception(exc)), str(getattr(exc, "url", ""))]
        exc = exc.__cause__ or exc.__context__
    return "\n".join(parts)


CREDENTIALS = {"Ocp-Apim-Subscription-Key": KEY, "username": TOKEN, "password": PASSWORD,
               "Authorization": f"Bearer {KEY}"}


# -- credentials and redirects ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_cross_origin_redirect_drops_every_credential_header(ab, status):
    a, b = ab
    a.script("/r", then=Reply(status, b"moved", {"Location": b.url("/land")}))
    b.script("/land", then=Reply(body=b"landed"))
    assert http.get(a.url("/r"), headers=CREDENTIALS).content == b"landed"
    assert a.seen[0].headers["Ocp-Apim-Subscription-Key"] == KEY  # the credential was really used
    assert b.count("/land") == 1
    assert {h.lower() for h in b.seen[0].headers} & {h.lower() for h in CREDENTIALS} == set()
    assert leaked(b) == []


def test_another_host_on_the_same_port_is_another_origin(ab):
    a, _ = ab
    port = a.base.rsplit(":", 1)[1]
    a.script("/r", then=Reply(302, b"", {"Location": f"http://localhost:{port}/land"}))
    a.script("/land", then=Reply(body=b"landed"))
    assert http.get(a.url("/r"), headers={"Ocp-Apim-Subscription-Key": KEY}).content == b"landed"
    assert a.seen[0].headers["Ocp-Apim-Subscription-Key"] == KEY
    assert a.seen[1].path == "/land" and "Ocp-Apim-Subscription-Key" not in a.seen[1].headers


def test_same_origin_redirect_keeps_the_credential(ab):
    """The control: a redirect within one origin keeps the key (Comtrade's own redirects work)."""
    a, _ = ab
    a.script("/r", then=Reply(302, b"", {"Location": "/land"}))
    a.script("/land", then=Reply(body=b"landed"))
    assert http.get(a.url("/r"), headers={"Ocp-Apim-Subscription-Key": KEY}).content == b"landed"
    assert a.seen[1].headers["Ocp-Apim-Subscription-Key"] == KEY


def test_comtrade_key_does_not_follow_a_redirect_to_another_host(ab, monkeypatch):
    a, b = ab
    point_sources_at(a.base, monkeypatch.setattr)
    a.script(COMTRADE_DATA_PATH, then=Reply(302, b"", {"Location": b.url("/elsewhere")}))
    b.script("/elsewhere", then=Reply(body=COMTRADE_BODY, content_type="application/json"))
    assert len(comtrade.fetch("CN", "DE", "2010", cmd="TOTAL", api_key=KEY, min_interval=0)) == 4
    assert a.seen[0].headers["Ocp-Apim-Subscription-Key"] == KEY
    assert b.count("/elsewhere") == 1 and leaked(b) == []


def test_genesis_token_does_not_follow_a_307_to_another_host(ab):
    """GENESIS POSTs its form with the token in the ``username`` header: a 307 elsewhere resends the
    form (it holds no credential) without the token headers; the other host refuses it."""
    a, b = ab
    a.script(GENESIS_TABLEFILE_PATH, then=Reply(307, b"", {"Location": b.url("/genesis/x")}))
    b.script("/genesis/x", then=Reply(401, b"who are you"))
    with pytest.raises(http.AccessDeniedError):
        genesis.fetch(start_year=2023, months=[1], token=TOKEN, base_url=a.url("/genesis/"))
    assert a.seen[0].headers["username"] == TOKEN
    assert b.count("/genesis/x") == 1 and b.seen[0].method == "POST"
    assert b.seen[0].body == a.seen[0].body  # the form, resent
    assert "username" not in b.seen[0].headers and "password" not in b.seen[0].headers
    assert leaked(b) == []


@pytest.mark.parametrize("status", [307, 308])
def test_a_body_holding_credentials_is_not_resent_to_another_origin(ab, status):
    a, b = ab
    a.script("/login", then=Reply(status, b"", {"Location": b.url("/steal")}))
    b.script("/steal", then=Reply(body=b"thanks"))
    with pytest.raises(FetchError, match="another origin") as info:
        http.post(a.url("/login"), data={"username": TOKEN, "password": PASSWORD, "table": "x"})
    assert PASSWORD.encode() in a.seen[0].body  # really sent to a
    assert b.count() == 0 and leaked(b) == []
    assert info.value.status == status and not any(s in exception_text(info.value) for s in SECRETS)


def test_302_after_a_post_becomes_a_get_without_the_body(ab):
    a, b = ab
    a.script("/login", then=Reply(302, b"", {"Location": b.url("/next")}))
    b.script("/next", then=Reply(body=b"ok"))
    assert http.post(a.url("/login"), data={"password": PASSWORD}).content == b"ok"
    assert b.seen[0].method == "GET" and b.seen[0].body == b"" and leaked(b) == []


# -- redirect bodies: never read ---------------------------------------------------------------------------

BIG = 64 * 1024 * 1024


def test_a_redirect_body_is_not_read(ab):
    """A 302 with a 64 MiB body and max_bytes of 1 MiB: the body is not read (the server manages to
    write no more than the socket buffers hold), the redirect is followed."""
    a, b = ab
    a.script("/r", then=Flood(Reply(302, headers={"Location": b.url("/land")}), BIG))
    b.script("/land", then=Reply(body=b"landed"))
    assert http.get(a.url("/r"), max_bytes=1024 * 1024).content == b"landed"
    assert a.settle(60)
    assert a.seen[0].sent < BIG // 2, a.seen[0].sent


def test_a_dripping_redirect_body_is_not_waited_for(ab):
    """A 302 dripping 200 body bytes, one each 50 ms: the client follows the redirect without reading
    them (the server wrote only a few before the client hung up)."""
    a, b = ab
    a.script("/r", then=Drip(Reply(302, b"x" * 200, {"Location": b.url("/land")}), 1, 0.05))
    b.script("/land", then=Reply(body=b"landed"))
    assert http.get(a.url("/r"), deadline=30.0).content == b"landed"
    assert a.settle(60)
    assert a.seen[0].sent < 200, a.seen[0].sent


def test_too_many_redirects_is_a_fetch_error(ab):
    a, _ = ab
    a.script("/loop", then=Reply(302, b"", {"Location": "/loop"}))
    with pytest.raises(FetchError, match=f"more than {http.MAX_REDIRECTS} redirects"):
        http.get(a.url("/loop"))
    assert a.count("/loop") == http.MAX_REDIRECTS + 1


@pytest.mark.parametrize("location", ["http://[::1", "http://127.0.0.1:99999/x", "ftp://127.0.0.1/x",
                                      "http://:80/x"])
def test_malformed_location_is_a_typed_error(ab, location):
    a, _ = ab
    a.script("/r", then=Reply(302, b"", {"Location": location}))
    with pytest.raises(FetchError, match="redirect") as info:
        http.get(a.url("/r"))
    assert info.value.status == 302 and a.count("/r") == 1


# -- one deadline from connect to last byte ----------------------------------------------------------------


def test_a_dripping_status_line_and_headers_stop_at_the_deadline(ab):
    a, _ = ab
    headers = {f"X-Filler-{i}": "y" * 20 for i in range(6)}  # a head of about 250 bytes, 50 ms a byte
    a.script("/h", then=HeaderDrip(Reply(body=b"ok", headers=headers), 0.05))
    with pytest.raises(http.FetchTimeoutError, match="after 1 s, the deadline|deadline of 1 s") as info:
        http.get(a.url("/h"), deadline=1.0)
    assert a.settle(60)
    head_size = 250
    assert a.seen[0].sent < head_size  # the client hung up while the head was still dripping
    assert a.count("/h") == 1 and isinstance(info.value, FetchError)


@pytest.mark.parametrize(("status", "kind"), [(503, FetchError), (429, http.RateLimitedError),
                                              (403, http.RateLimitedError)])
def test_a_retry_after_past_the_deadline_fails_at_once(ab, clock, status, kind):
    a, _ = ab
    a.script("/ra", then=Reply(status, b"busy, quota", {"Retry-After": "60"}))  # under MAX_RETRY_AFTER
    with pytest.raises(kind) as info:
        http.get(a.url("/ra"), deadline=30.0)
    assert type(info.value) is kind
    assert info.value.status == status and info.value.retry_after == 60.0
    assert "deadline" in str(info.value)
    assert a.count("/ra") == 1 and clock.sleeps == []  # not slept, not retried


def test_waits_count_against_the_deadline(ab, clock):
    """Two waits of 20 s do not fit a deadline of 30 s: the first is slept, the second fails at once."""
    a, _ = ab
    a.script("/ra", Reply(503, b"busy", {"Retry-After": "20"}), Reply(503, b"busy", {"Retry-After": "20"}),
             then=Reply(body=b"ok"))
    with pytest.raises(FetchError) as info:
        http.get(a.url("/ra"), deadline=30.0)
    assert info.value.status == 503 and info.value.retry_after == 20.0
    assert clock.sleeps == [20.0] and a.count("/ra") == 2


def test_a_back_off_past_the_deadline_is_not_slept(ab, clock, monkeypatch):
    monkeypatch.setenv("OILFLOWS_HTTP_BACKOFF", "10")  # retry 2 waits 20-30 s
    http._sessions.clear()
    a, _ = ab
    a.script("/b", then=Reply(500, b"boom"))
    with pytest.raises(FetchError, match="HTTP 500") as info:
        http.get(a.url("/b"), deadline=15.0)
    assert info.value.status == 500
    assert a.count("/b") == 2 and clock.sleeps == []  # retry 1 is immediate; retry 2 would pass 15 s


def test_a_wait_within_the_deadline_is_slept(ab, clock):
    a, _ = ab
    a.script("/ra", Reply(429, b"slow", {"Retry-After": "2"}), then=Reply(body=b"ok"))
    assert http.get(a.url("/ra"), deadline=30.0).content == b"ok"
    assert clock.sleeps == [2.0] and a.count("/ra") == 2


# -- the cache keeps validated bodies only -----------------------------------------------------------------


def _coifpm() -> object:
    return eurostat.fetch("nrg_ti_coifpm", geo="DE", indic_nrg="VOL_THS_BBL")


@pytest.mark.parametrize("bad", ["html", "cut gzip", "async notice"])
def test_a_transient_eurostat_body_is_not_cached(cached, bad):
    a, _ = cached
    if bad == "html":
        first, error = Reply(200, HTML, content_type="text/html"), FetchError
    elif bad == "cut gzip":  # a complete HTTP answer holding a gzip stream cut short
        first, error = csv_reply(gzip.compress(CSV)[:-30]), SourceFormatError
    else:
        notice = (b'<?xml version="1.0"?><S:Envelope><S:Body><ns0:syncResponse><status>SUBMITTED</status>'
                  b"<id>k-123</id></ns0:syncResponse></S:Body></S:Envelope>")
        first, error = Reply(200, notice, content_type="application/xml"), FetchError
        a.script("/eurostat/1.0/async/status/k-123", then=Reply(200, b"<status>EXPIRED</status>"))
    a.script(COIFPM_PATH, first, then=csv_reply(CSV))
    with pytest.raises(error):
        _coifpm()
    frame = _coifpm()  # sent again, not served the bad body from the cache
    assert len(frame) == 1 and a.count(COIFPM_PATH) == 2
    _coifpm()
    assert a.count(COIFPM_PATH) == 2  # the good body was cached


def test_a_toc_error_page_is_not_cached(cached):
    a, _ = cached
    a.script(TOC_PATH, Reply(200, HTML, content_type="text/html"), then=Reply(body=TOC))
    with pytest.raises(SourceFormatError):
        eurostat.last_update("nrg_ti_coifpm")
    assert str(eurostat.last_update("nrg_ti_coifpm").date()) == "2024-02-28"
    assert a.count(TOC_PATH) == 2


def test_a_comext_error_page_is_not_cached(cached, monkeypatch):
    a, _ = cached
    monkeypatch.setattr(comext, "BASE_URL", a.url("/comext"))
    query = comext.build_query("DE", ("KZ", "RU"), comext.CRUDE_CN8, "import", start="2023-01",
                               end="2023-02", freq="M", indicators=comext.DEFAULT_INDICATORS)
    path = comext._url(query).removeprefix(a.base)
    body = (FIXTURES / "comext" / "ds045409_DE_KZ_RU_2709_M.csv").read_bytes()
    a.script(path, Reply(200, HTML, content_type="text/html"), then=csv_reply(body))
    with pytest.raises(FetchError, match="HTML"):
        comext.fetch(start="2023-01", end="2023-02")
    assert len(comext.fetch(start="2023-01", end="2023-02")) > 0
    assert a.count(path) == 2


def test_a_comtrade_preview_error_page_is_not_cached(cached):
    a, _ = cached
    a.script(COMTRADE_PREVIEW_PATH, Reply(200, HTML, content_type="text/html"),
             then=Reply(body=COMTRADE_BODY, content_type="application/json"))
    with pytest.raises(FetchError, match="HTML"):
        comtrade.fetch("CN", "DE", "2010", cmd="TOTAL", min_interval=0)
    assert len(comtrade.fetch("CN", "DE", "2010", cmd="TOTAL", min_interval=0)) == 4
    assert a.count(COMTRADE_PREVIEW_PATH) == 2


def test_validate_keeps_rejected_bodies_out_and_drops_cached_ones(cached):
    a, _ = cached

    def only_ok(response):
        if response.content != b"good":
            raise SourceFormatError(response.url, "not good")
        return "parsed"

    a.script("/v", Reply(body=b"bad"), then=Reply(body=b"good"))
    with pytest.raises(SourceFormatError):
        http.get(a.url("/v"), validate=only_ok)
    response = http.get(a.url("/v"), validate=only_ok)
    assert response.content == b"good" and response.validated == "parsed" and a.count("/v") == 2
    assert http.get(a.url("/v"), validate=only_ok).validated == "parsed"
    assert a.count("/v") == 2  # the validated body came from the cache

    # An entry cached without validation and rejected when read is dropped and fetched again.
    a.script("/w", Reply(body=b"bad"), then=Reply(body=b"good"))
    assert http.get(a.url("/w")).content == b"bad"
    assert http.get(a.url("/w"), validate=only_ok).content == b"good"
    assert http.get(a.url("/w")).content == b"good" and a.count("/w") == 2


def test_pages_and_cut_gzip_are_not_cached_even_without_a_validator(cached):
    a, _ = cached
    a.script("/p", Reply(200, HTML, content_type="text/html"), then=Reply(body=b"data"))
    a.script("/g", Reply(body=gzip.compress(b"x" * 5000)[:-10]), then=Reply(body=b"data"))
    for path in ("/p", "/g"):
        http.get(a.url(path))
        assert http.get(a.url(path)).content == b"data" and a.count(path) == 2


# -- one redaction for every secret ------------------------------------------------------------------------


def test_a_comtrade_html_title_echoing_the_key_is_redacted(ab, monkeypatch):
    a, _ = ab
    point_sources_at(a.base, monkeypatch.setattr)
    a.script(COMTRADE_DATA_PATH, then=Reply(
        200, f"<html><head><title>Invalid subscription key {KEY}</title></head></html>".encode(),
        content_type="text/html"))
    with pytest.raises(FetchError, match="HTML") as info:
        comtrade.fetch("CN", "DE", "2010", cmd="TOTAL", api_key=KEY, min_interval=0)
    assert a.seen[0].headers["Ocp-Apim-Subscription-Key"] == KEY
    assert KEY not in exception_text(info.value) and "***" in str(info.value)


def test_a_genesis_page_echoing_another_source_s_key_is_redacted(ab):
    a, _ = ab
    a.script(GENESIS_TABLEFILE_PATH, then=Reply(
        200, f"<html><head><title>proxy says {KEY} and {TOKEN}</title></head></html>".encode(),
        content_type="text/html"))
    with pytest.raises(FetchError, match="HTML") as info:
        genesis.fetch(start_year=2023, months=[1], token=TOKEN, base_url=a.url("/genesis/"))
    text = exception_text(info.value)
    assert KEY not in text and TOKEN not in text and "***" in str(info.value)


def test_every_fetch_error_is_redacted_where_it_is_built():
    http.register_secret(KEY)
    error = http.AccessDeniedError(f"https://h/x?k={KEY}", f"refused {KEY}", status=401)
    assert KEY not in exception_text(error) and KEY not in error.url
    source = SourceFormatError(f"https://h/x?{KEY}", f"found text: {KEY!r}", "body")
    assert KEY not in exception_text(source)


def test_log_records_of_every_oilflows_logger_are_redacted(caplog):
    http.register_secret(KEY)
    caplog.set_level(logging.DEBUG)
    logging.getLogger("oilflows.refresh").warning("item failed: %s", f"key {KEY}")
    logging.getLogger("oilflows.sources.comtrade").debug(f"answer for {KEY}")
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2 and all(KEY not in m and "***" in m for m in messages)


def test_one_redaction_function():
    """The sources keep no redaction of their own; they declare credential headers to http."""
    for module in (comtrade, genesis):
        assert not [n for n in ("_redact", "_redacted", "_scrub", "_scrubbed") if hasattr(module, n)]
    names = {n.lower() for n in http.SECRET_FIELDS}
    assert {"ocp-apim-subscription-key", "username", "password"} <= names
    http.register_credential_header("X-Test-Key")
    assert "x-test-key" in {n.lower() for n in http.SECRET_FIELDS}
    assert http.redact("https://h/?x-test-key=abc") == "https://h/?x-test-key=***"
