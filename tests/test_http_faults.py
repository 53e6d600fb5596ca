"""The HTTP layer against a scripted loopback server: retries, Retry-After, typed errors, bounded bodies,
rate limits and the release-aware cache. Every scenario states how many requests the server must see.

No test measures wall-clock time: waits are checked on a fake clock that records every sleep the client
asks for (the rate limiter's, the body retry's and urllib3's Retry-After and back-off sleeps), and the
answers that must come in time get seconds, not tenths, so a loaded machine changes no count.
"""

from __future__ import annotations

import gzip
import socket
import sqlite3
import threading
import time
from dataclasses import dataclass

import pytest
from _fakes import FakeClock, TimeModule
from _fault_server import (
    Chunked,
    Delay,
    Drip,
    FaultServer,
    Group,
    Meet,
    Reply,
    Reset,
    ResetMidBody,
    Truncate,
)
from urllib3.exceptions import ConnectTimeoutError
from urllib3.util import retry as urllib3_retry

from oilflows import _http_cache, _http_wire, http
from oilflows.errors import FetchError, NetworkError

#: (connect, read) timeouts of every request but the read-timeout cases: an answer that must arrive gets
#: this long, however loaded the machine.
TIMEOUT = (10.0, 10.0)
#: The read timeout of the case where the retry's answer must arrive in time, and of the case where none
#: ever does (nothing has to be fast there, so it is short).
RETRY_READ_TIMEOUT = 2.0
SHORT_READ_TIMEOUT = 0.4
#: A server that never answers: its handler waits until the next test's reset releases it.
HANG = 300.0
BODY = bytes(range(256)) * 4  # 1,024 bytes, every byte value
QUOTA = (b'{"statusCode": 403, "message": "Out of call volume quota. Quota will be replenished in '
         b'03:14:17."}')


@pytest.fixture(scope="module")
def server():
    with FaultServer() as srv:
        yield srv


@pytest.fixture
def srv(server, monkeypatch):
    """The server with no script; no cache, no back-off, generous timeouts, a fresh session."""
    server.reset()
    monkeypatch.setenv("OILFLOWS_NO_CACHE", "1")
    monkeypatch.setenv("OILFLOWS_HTTP_BACKOFF", "0")
    monkeypatch.setenv("OILFLOWS_HTTP_TIMEOUT", "{:g},{:g}".format(*TIMEOUT))
    http._sessions.clear()
    yield server
    http._sessions.clear()


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(_http_wire, "_clock", fake.monotonic)
    monkeypatch.setattr(_http_wire, "_sleep", fake.sleep)
    monkeypatch.setattr(urllib3_retry, "time", TimeModule(fake.sleep))
    return fake


@dataclass
class Case:
    name: str
    actions: tuple
    then: object
    requests: int  # what the server must see: 1 + retries
    error: type[FetchError] | None = None  # None: the body must be BODY
    fragment: str = ""  # in the error message
    kwargs: dict | None = None


TOTAL = 1 + 4  # the first try and retry_policy()'s four retries
BODY_TRIES = 1 + http.BODY_RETRIES

CASES = [
    Case("5xx then success", (Reply(503), Reply(502), Reply(500)), Reply(body=BODY), 4),
    Case("500 always", (), Reply(500, b"boom", content_type="text/plain"), TOTAL, FetchError,
         "HTTP 500 "),
    Case("reset before the answer, twice", (Reset(), Reset()), Reply(body=BODY), 3),
    Case("reset always", (), Reset(), TOTAL, FetchError, "closed the connection without an answer"),
    Case("no answer within the read timeout, once", (Delay(HANG),), Reply(body=BODY), 2,
         kwargs={"timeout": (TIMEOUT[0], RETRY_READ_TIMEOUT)}),
    Case("no answer within the read timeout, always", (), Delay(HANG), TOTAL, http.FetchTimeoutError,
         f"no answer within {SHORT_READ_TIMEOUT:g} s", {"timeout": (TIMEOUT[0], SHORT_READ_TIMEOUT)}),
    Case("429 always (Retry-After 0)", (), Reply(429, b"Rate limit is exceeded.", {"Retry-After": "0"}),
         TOTAL, http.RateLimitedError, "rate limit"),
    Case("429 asking for an hour", (), Reply(429, b"slow down", {"Retry-After": "3600"}), 1,
         http.RateLimitedError, "wait 3600 s"),
    Case("503 asking for an hour", (), Reply(503, b"maintenance", {"Retry-After": "3600"}), 1, FetchError,
         "maintenance (the server asks to wait 3600 s)"),
    Case("403 quota asking for hours", (), Reply(403, QUOTA, {"Retry-After": "11657"}), 1,
         http.RateLimitedError, "wait 11657 s"),
    Case("403 authentication", (), Reply(403, b"Forbidden: invalid key"), 1, http.AccessDeniedError,
         "access refused"),
    Case("401 authentication", (), Reply(401, b"Unauthorized"), 1, http.AccessDeniedError,
         "access refused"),
    Case("truncated body, once", (Truncate(Reply(body=BODY), 400),), Reply(body=BODY), 2),
    Case("truncated body, always", (), Truncate(Reply(body=BODY), 400), BODY_TRIES,
         http.TruncatedBodyError, "after 400 of 1,024 bytes"),
    Case("reset mid-body, always", (), ResetMidBody(Reply(body=BODY), 300), BODY_TRIES,
         http.TruncatedBodyError, "after 300 of 1,024 bytes"),
    Case("chunked body", (), Chunked(Reply(body=BODY), 100), 1),
    Case("chunked body cut before its last chunk", (), Chunked(Reply(body=BODY), 100, cut=True),
         BODY_TRIES, http.TruncatedBodyError, "connection ended after"),
    Case("body over the limit (Content-Length)", (), Reply(body=BODY), 1, http.BodyTooLargeError,
         "exceeds the limit of 1,000 bytes", {"max_bytes": 1000}),
    Case("body over the limit (chunked, no length)", (), Chunked(Reply(body=BODY), 100), 1,
         http.BodyTooLargeError, "exceeds the limit of 1,000 bytes", {"max_bytes": 1000}),
    Case("slow drip past the deadline", (), Drip(Reply(body=BODY[:200]), 1, 0.02), 1,
         http.FetchTimeoutError, "body not complete after 1 s", {"deadline": 1.0}),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fault_scenario(srv, clock, case):
    srv.script("/data", *case.actions, then=case.then)
    url = srv.url("/data")
    if case.error is None:
        response = http.get(url, **(case.kwargs or {}))
        assert response.status_code == 200 and response.content == BODY
    else:
        with pytest.raises(case.error) as info:
            http.get(url, **(case.kwargs or {}))
        message = str(info.value)
        assert type(info.value) is case.error  # not a more general or more special class
        assert not isinstance(info.value, NetworkError)  # the server was reached
        assert url in message and case.fragment in message and "\n" not in message
    assert srv.count("/data") == case.requests
    # No back-off (OILFLOWS_HTTP_BACKOFF=0) and every Retry-After is 0 or refused: the client asked for
    # no wait at all (in particular not the hour a server asked for; that is raised, not slept).
    assert sum(clock.sleeps) == 0.0, clock.sleeps


def test_error_attributes(srv):
    srv.script("/q", then=Reply(403, QUOTA, {"Retry-After": "11657"}))
    with pytest.raises(http.RateLimitedError) as info:
        http.get(srv.url("/q"))
    assert info.value.status == 403 and info.value.retry_after == 11657.0  # 3 h 14 min 17 s
    srv.script("/big", then=Reply(body=BODY))
    with pytest.raises(http.BodyTooLargeError) as too_big:
        http.get(srv.url("/big"), max_bytes=1000)
    assert too_big.value.limit == 1000 and too_big.value.url == srv.url("/big")


@pytest.mark.parametrize("status", [429, 403])
def test_retry_after_is_honoured(srv, clock, status):
    """429 and a quota 403 with Retry-After: 1 are retried after a sleep of one second."""
    srv.script("/ra", Reply(status, QUOTA, {"Retry-After": "1"}), then=Reply(body=BODY))
    assert http.get(srv.url("/ra")).content == BODY
    assert clock.sleeps == [1.0]
    assert len(srv.seen) == 2


def test_post_is_retried_with_the_same_form(srv):
    srv.script("/form", Reply(503), Reset(), then=Reply(body=b"ok"))
    assert http.post(srv.url("/form"), data={"name": "51000-0017", "startyear": "2023"}).content == b"ok"
    assert [s.body for s in srv.seen] == [b"name=51000-0017&startyear=2023"] * 3


def test_gzip_body_is_decoded_and_its_truncation_detected(srv):
    packed = gzip.compress(BODY * 20)
    srv.script("/gz", then=Reply(body=packed, headers={"Content-Encoding": "gzip"}))
    assert http.get(srv.url("/gz")).content == BODY * 20
    srv.script("/gzcut", then=Truncate(Reply(body=packed, headers={"Content-Encoding": "gzip"}), 100))
    with pytest.raises(http.TruncatedBodyError, match=f"after 100 of {len(packed):,} bytes"):
        http.get(srv.url("/gzcut"))


def test_malformed_url_is_a_fetch_error():
    with pytest.raises(FetchError, match="cannot build the request"):
        http.get("http://[::1/x")


def test_unreachable_host_is_a_network_error(srv):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/x"
    with pytest.raises(NetworkError, match="no network: cannot reach 127.0.0.1") as info:
        http.get(url)
    assert info.value.url == url


# -- back-off with jitter -------------------------------------------------------------------------------


def test_backoff_has_exponential_base_and_bounded_jitter():
    policy = http.retry_policy(total=4, backoff=0.5)
    assert policy.backoff_jitter == 0.5 and policy.backoff_max == http.BACKOFF_MAX
    error = ConnectTimeoutError("connect timed out")
    first = policy.increment("GET", "http://127.0.0.1/", error=error)
    assert first.get_backoff_time() == 0.0  # urllib3 retries the first error at once (documented)
    for n in (2, 3):  # after n consecutive errors: 0.5 * 2**(n-1) plus U(0, 0.5)
        p = policy
        for _ in range(n):
            p = p.increment("GET", "http://127.0.0.1/", error=error)
        base = 0.5 * 2 ** (n - 1)
        samples = [p.get_backoff_time() for _ in range(200)]
        assert all(base <= s <= base + 0.5 for s in samples)
        assert max(samples) - min(samples) > 0.25  # jittered: 200 uniform draws spread over half the range


def test_backoff_env_zero_means_no_sleep(monkeypatch):
    monkeypatch.setenv("OILFLOWS_HTTP_BACKOFF", "0")
    policy = http.retry_policy()
    p = policy.increment("GET", "http://127.0.0.1/", error=ConnectTimeoutError("x"))
    p = p.increment("GET", "http://127.0.0.1/", error=ConnectTimeoutError("x"))
    assert p.get_backoff_time() == 0.0


# -- rate limits ----------------------------------------------------------------------------------------


@pytest.fixture
def paced():
    yield
    http.set_rate_limit("127.0.0.1", None)


@pytest.fixture
def wire(clock, monkeypatch) -> list[float]:
    """The fake time at which each request went on the wire (after the limiter let it go)."""
    times: list[float] = []
    pace = _http_wire._pace

    def paced(host):
        pace(host)
        times.append(clock.now)

    monkeypatch.setattr(_http_wire, "_pace", paced)
    return times


def test_rate_limit_spaces_requests_and_retries(srv, paced, clock, wire):
    http.set_rate_limit("127.0.0.1", http.RateLimit(per_second=5.0, burst=1))
    srv.script("/r", Reply(503), then=Reply(body=b"ok"))  # the retry is paced too
    for _ in range(3):
        http.get(srv.url("/r"))
    assert srv.count("/r") == 4 and len(wire) == 4
    # The first request takes the one token; each later one waits 1 / 5 s for the next.
    assert clock.sleeps == pytest.approx([0.2] * 3)
    assert [b - a for a, b in zip(wire, wire[1:], strict=False)] == pytest.approx([0.2] * 3)
    clock.now += 1.0  # idle (fake) time refills the bucket, up to its burst of one
    http.get(srv.url("/r"))
    http.get(srv.url("/r"))
    assert clock.sleeps == pytest.approx([0.2] * 4) and wire[-1] - wire[-3] == pytest.approx(1.2)


def test_no_rate_limit_no_spacing(srv, clock, wire):
    """The control for the test above: without a limit no wait is asked for."""
    srv.script("/r", Reply(503), then=Reply(body=b"ok"))
    for _ in range(3):
        http.get(srv.url("/r"))
    assert srv.count("/r") == 4 and len(wire) == 4
    assert clock.sleeps == [] and wire == [1000.0] * 4


@pytest.mark.parametrize(("concurrent", "expected", "patience"), [(1, 1, 1.0), (None, 3, 60.0)])
def test_concurrency_cap(srv, paced, monkeypatch, concurrent, expected, patience):
    """Three threads at once; the server holds each request until all three have reached it (or for
    `patience` s): without a cap all three are in flight together, however late a thread starts; with
    a cap of one they come one by one (each held `patience` s, so an uncapped client would overlap)."""
    monkeypatch.setenv("OILFLOWS_HTTP_TIMEOUT", "10,120")  # longer than any hold
    http.set_rate_limit("127.0.0.1", http.RateLimit(per_second=1000.0, burst=10, concurrent=concurrent))
    srv.script("/slow", then=Meet(Group(3, timeout=patience), Reply(body=b"ok")))
    bodies: list[bytes] = []
    threads = [threading.Thread(target=lambda: bodies.append(http.get(srv.url("/slow")).content))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)  # bounds the test only; the requests take about 0 s (no cap) or 2 s (cap)
    assert not any(thread.is_alive() for thread in threads)
    assert bodies == [b"ok"] * 3
    assert srv.count("/slow") == 3 and srv.max_in_flight == expected


def test_documented_defaults():
    assert http.RATE_LIMITS["comtradeapi.un.org"].per_second == pytest.approx(10 / 60)  # sources.md 3.4
    assert http.RATE_LIMITS["www-genesis.destatis.de"].concurrent == 3  # sources.md 4.1


# -- cache ----------------------------------------------------------------------------------------------


@pytest.fixture
def cached(srv, monkeypatch, tmp_path):
    monkeypatch.delenv("OILFLOWS_NO_CACHE")
    monkeypatch.setenv("OILFLOWS_CACHE_DIR", str(tmp_path / "cache"))
    return srv


def test_release_newer_than_the_cached_answer_refetches(cached):
    cached.script("/ds/a", Reply(body=b"v1"), then=Reply(body=b"v2"))
    url = cached.url("/ds/a")
    assert http.get(url).content == b"v1"
    before = time.time() - 3600
    assert http.get(url, release=before).content == b"v1"  # released before the cached answer
    assert cached.count("/ds/a") == 1
    assert http.get(url, release=time.time() + 1).content == b"v2"  # a newer release
    assert cached.count("/ds/a") == 2


def test_invalidate_drops_entries_under_a_prefix_older_than_the_release(cached):
    for path in ("/ds/a", "/ds/b", "/other/c"):
        cached.script(path, Reply(body=b"old"), then=Reply(body=b"new"))
        http.get(cached.url(path))
    assert http.invalidate(cached.url("/ds/"), released=time.time() - 3600) == 0  # cached after it
    assert http.invalidate(cached.url("/ds/"), released=time.time() + 1) == 2
    assert [http.get(cached.url(p)).content for p in ("/ds/a", "/ds/b", "/other/c")] == [b"new", b"new",
                                                                                        b"old"]
    assert http.invalidate(cached.url("/"), released=None) == 3  # everything under the server


def test_post_is_cached_by_its_form(cached):
    cached.script("/p", then=Reply(body=b"x"))
    for year in ("2022", "2023", "2023"):
        http.post(cached.url("/p"), data={"year": year})
    assert cached.count("/p") == 2


def test_requests_with_credentials_are_not_cached(cached):
    cached.script("/k", then=Reply(body=b"x"))
    for _ in range(2):
        http.get(cached.url("/k"), headers={"Ocp-Apim-Subscription-Key": "SECRET-cache-1"})
        http.get(cached.url("/k"), params={"token": "SECRET-cache-2"})
    assert cached.count("/k") == 4


def test_expired_entries_are_refetched(cached, monkeypatch):
    cached.script("/e", then=Reply(body=b"x"))
    http.get(cached.url("/e"))
    monkeypatch.setattr(_http_cache, "CACHE_SECONDS", 0.2)
    time.sleep(0.3)
    http.get(cached.url("/e"))
    assert cached.count("/e") == 2


def test_damaged_cache_is_bypassed_not_fatal(cached, tmp_path, caplog):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / http.CACHE_FILE).write_bytes(b"this is not a database" * 100)
    cached.script("/d", then=Reply(body=b"x"))
    assert http.get(cached.url("/d")).content == b"x"
    assert http.get(cached.url("/d")).content == b"x"
    assert cached.count("/d") == 2
    assert any("HTTP cache" in r.getMessage() for r in caplog.records)
    with pytest.raises(sqlite3.DatabaseError):  # the file really is unreadable
        sqlite3.connect(cache / http.CACHE_FILE).execute("SELECT * FROM responses").fetchall()
