"""The wire under :mod:`oilflows.http`: per-host rate limits (token bucket and concurrency cap), the total
deadline of a call and its watchdog that shuts a dripping socket, the shared session whose connection
pools pace and watch every attempt, and the bounded, deadline-aware body read (:func:`_read_body`).

``_clock`` and ``_sleep`` are module attributes looked up at each call: tests substitute a fake clock
here (``monkeypatch.setattr(oilflows._http_wire, "_sleep", ...)``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    DecodeError,
    HTTPError,
)

from ._http_credentials import redact
from ._http_policy import _CHUNK, MAX_REDIRECTS, USER_AGENT, _Inert, _policy
from .errors import (
    BodyTooLargeError,
    FetchError,
    FetchTimeoutError,
    TruncatedBodyError,
)

log = logging.getLogger("oilflows.http")  # the parts log as the one HTTP layer


@dataclass(frozen=True)
class RateLimit:
    """A host's pace: `per_second` requests a second on average, bursts of `burst`, at most
    `concurrent` requests in flight in this process (None: no cap)."""

    per_second: float
    burst: int = 1
    concurrent: int | None = None

#: Per-host limits. Filled by the source registry (:mod:`oilflows.sources.registry`, imported with the
#: package): each registration calls :func:`set_rate_limit` for its hosts (Comtrade 10 calls a minute,
#: Eurostat 2 a second, GENESIS at most 3 parallel requests; sources.md). This module imports no source.
RATE_LIMITS: dict[str, RateLimit] = {}

#: The rate limiter's clock and sleep, and the sleep before a truncated body is fetched again; module
#: attributes looked up at each call, so that tests can substitute a fake clock.
_clock = time.monotonic

_sleep = time.sleep

class _Bucket:
    """A token bucket; :meth:`take` reserves a token and sleeps until it is due."""

    def __init__(self, limit: RateLimit):
        self.limit = limit
        self.tokens = float(limit.burst)
        self.stamp = _clock()
        self.lock = threading.Lock()
        self.slots = threading.BoundedSemaphore(limit.concurrent) if limit.concurrent else None

    def take(self) -> float:
        with self.lock:
            now = _clock()
            rate = self.limit.per_second
            self.tokens = min(float(self.limit.burst), self.tokens + (now - self.stamp) * rate)
            self.stamp = now
            self.tokens -= 1.0
            wait = -self.tokens / rate if self.tokens < 0 else 0.0
        if wait > 0:
            _sleep(wait)
        return wait

_buckets: dict[str, _Bucket] = {}

_buckets_lock = threading.Lock()

def set_rate_limit(host: str, limit: RateLimit | None) -> None:
    """Set (or with None, remove) the rate limit of `host` (e.g. ``"comtradeapi.un.org"``)."""
    with _buckets_lock:
        if limit is None:
            RATE_LIMITS.pop(host, None)
        else:
            RATE_LIMITS[host] = limit
        _buckets.pop(host, None)

def _bucket(host: str) -> _Bucket | None:
    with _buckets_lock:
        bucket = _buckets.get(host)
        limit = RATE_LIMITS.get(host)
        if limit is None:
            return None
        if bucket is None or bucket.limit != limit:
            bucket = _buckets[host] = _Bucket(limit)
        return bucket

def _pace(host: str | None) -> None:
    bucket = _bucket(host or "")
    if bucket is not None:
        waited = bucket.take()
        if waited > 0:
            log.debug("rate limit of %s: waited %.2f s", host, waited)

@contextmanager
def _slot(host: str) -> Iterator[None]:
    bucket = _bucket(host)
    if bucket is None or bucket.slots is None:
        yield
        return
    with bucket.slots:
        yield

class _Deadline:
    """The one total deadline of a call: from the first connect to the last body byte, retries, redirects
    and waits included. A wait is counted at its nominal length even when ``_sleep`` returns early (a
    test's fake clock), so a test sees the same decisions as a real run."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.start = time.monotonic()
        self.credit = 0.0  # seconds of waits asked for that did not pass in real time

    def remaining(self) -> float:
        return self.seconds - (time.monotonic() - self.start) - self.credit

    def sleep(self, wait: float) -> None:
        before = time.monotonic()
        _sleep(wait)
        self.credit += max(0.0, wait - (time.monotonic() - before))

_local = threading.local()

class _Watchdog:
    """Shuts down the sockets of one attempt when the deadline passes. Socket timeouts bound each read
    only, so a server dripping its status line, headers or body byte by byte would otherwise hold the
    call for ever; the read then fails, ``fired`` is set, and the caller raises FetchTimeoutError.

    Only sockets this attempt connected or reused are registered (by the connection pool, in this
    thread); nothing is shut down once the attempt has ended (``__exit__`` waits for a firing timer)."""

    def __init__(self, seconds: float):
        self.fired = False
        self._done = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True
        self._previous: _Watchdog | None = None

    def __enter__(self) -> _Watchdog:
        self._previous = getattr(_local, "watchdog", None)
        _local.watchdog = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stand_down()
        _local.watchdog = self._previous

    def stand_down(self) -> None:
        """Stop watching (the answer is complete: urllib3 may already have pooled the connection)."""
        self._timer.cancel()
        with self._lock:
            self._done = True
            self._sockets.clear()

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            if self._done:
                return
            self._sockets.append(sock)
            if self.fired:
                _shut(sock)

    def _fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.fired = True
            for sock in self._sockets:
                _shut(sock)

def _shut(sock: socket.socket) -> None:
    # socket.socket's own shutdown, also for an SSLSocket (whose override would drop its TLS state)
    with contextlib.suppress(OSError, ValueError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)

def _watch(sock: socket.socket | None) -> None:
    watchdog = getattr(_local, "watchdog", None)
    if watchdog is not None:
        watchdog.watch(sock)

class _WatchedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _watch(self.sock)

class _WatchedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _watch(self.sock)

class _PacedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection

    def _make_request(self, conn, method, url, *args, **kwargs):  # every attempt on the wire
        _pace(self.host)
        _watch(conn.sock)  # a reused connection (a new one registers when it connects)
        return super()._make_request(conn, method, url, *args, **kwargs)

class _PacedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection

    def _make_request(self, conn, method, url, *args, **kwargs):
        _pace(self.host)
        _watch(conn.sock)
        return super()._make_request(conn, method, url, *args, **kwargs)

class _Adapter(HTTPAdapter):
    """HTTPAdapter whose connection pools pace every request by :data:`RATE_LIMITS`."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _PacedHTTPConnectionPool,
                                                   "https": _PacedHTTPSConnectionPool}

_sessions: dict[tuple, requests.Session] = {}

def session() -> requests.Session:
    """The shared session (one per back-off setting), with pacing and the deadline watchdog mounted.

    The adapter neither retries nor follows redirects: :func:`request` does both, under its deadline.
    """
    key = (os.environ.get("OILFLOWS_HTTP_BACKOFF"), os.environ.get("OILFLOWS_MAX_RETRY_AFTER"))
    sess = _sessions.get(key)
    if sess is None:
        sess = requests.Session()
        sess.max_redirects = MAX_REDIRECTS
        # requests reads a redirect's whole body even with allow_redirects=False (to prepare
        # ``response.next``), before any size limit or deadline: it must see no redirect at all.
        sess.get_redirect_target = lambda response: None  # type: ignore[method-assign, assignment]
        adapter = _Adapter(max_retries=_policy(_Inert))
        sess.mount("https://", adapter)
        sess.mount("http://", adapter)
        sess.headers["User-Agent"] = USER_AGENT
        _sessions[key] = sess
    return sess

def _read_body(response: requests.Response, where: str, limit: int, clock: _Deadline, watchdog: _Watchdog,
               *, strict: bool) -> tuple[FetchError | None, bool]:
    """Read the streamed body into ``response._content`` by the deadline. Returns (error, complete).

    `strict` (an accepted status): at most `limit` bytes (BodyTooLargeError beyond), complete
    (Content-Length honoured: TruncatedBodyError), in time (FetchTimeoutError). Otherwise (an error
    answer, read for its message): the first `limit` bytes, or whatever arrived before the connection
    ended or the deadline passed; never an error. The error is returned, not raised, so that it carries
    no context from urllib3."""
    status = response.status_code
    declared = response.headers.get("Content-Length", "")
    if strict and declared.isdigit() and int(declared) > limit:
        return BodyTooLargeError(where, f"body of {int(declared):,} bytes (Content-Length) exceeds the "
                                 f"limit of {limit:,} bytes", status=status, limit=limit), False
    raw = response.raw
    chunks: list[bytes] = []
    size = 0
    error: FetchError | None = None
    complete = False

    def too_slow() -> FetchError:
        return FetchTimeoutError(where, f"body not complete after {clock.seconds:g} s, the deadline "
                                 f"({size:,} bytes received): the server is too slow", status=status)

    try:
        while True:
            if watchdog.fired or clock.remaining() <= 0:
                error = too_slow() if strict else None
                break
            chunk = raw.read1(_CHUNK, decode_content=True)
            if not chunk:
                if watchdog.fired:  # the watchdog's shutdown looks like an end of stream
                    error = too_slow() if strict else None
                else:
                    watchdog.stand_down()  # urllib3 has put the connection back in the pool
                    complete = True
                break
            if size + len(chunk) > limit:
                if strict:
                    error = BodyTooLargeError(where, f"body exceeds the limit of {limit:,} bytes",
                                              status=status, limit=limit)
                else:
                    chunks.append(chunk[: limit - size])
                break
            size += len(chunk)
            chunks.append(chunk)
    except DecodeError as exc:
        if strict:
            error = FetchError(where, f"body cannot be decoded ({redact(str(exc))[:200]})", status=status)
    except (HTTPError, OSError, requests.exceptions.RequestException) as exc:
        if not strict:
            pass
        elif watchdog.fired or clock.remaining() <= 0:
            error = too_slow()
        else:
            received = raw.tell() if hasattr(raw, "tell") else size  # bytes on the wire (before decoding)
            expected = f" of {int(declared):,}" if declared.isdigit() else ""
            error = TruncatedBodyError(where, f"connection ended after {received:,}{expected} bytes of the "
                                       f"body ({type(exc).__name__})", status=status)
    if error is not None:
        return error, False
    response._content = b"".join(chunks)
    response._content_consumed = True
    return None, complete

__all__ = ["RATE_LIMITS", "RateLimit", "session", "set_rate_limit"]
