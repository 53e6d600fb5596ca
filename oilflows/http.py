"""The one HTTP layer: shared session, timeouts, retries, rate limits, bounded bodies, cache, redaction.

Every fetcher downloads through :func:`get` or :func:`post`; nothing else in oilflows opens a
connection. What a call goes through:

- **Timeouts**: (connect, read) seconds, :data:`TIMEOUT` or ``$OILFLOWS_HTTP_TIMEOUT`` (``"10,120"``),
  and one total `deadline` per call, from the first connect to the last body byte, retries, redirects
  and waits included (:data:`DEADLINE`, ``$OILFLOWS_HTTP_DEADLINE``). Each socket timeout is capped by
  what is left of it, and a watchdog shuts the socket when it passes, so a server dripping its status
  line, headers or body a byte at a time is stopped too (:class:`FetchTimeoutError`).
- **Retries** (counted by a urllib3 :class:`~urllib3.util.Retry`, :func:`retry_policy`, and performed
  here): connection errors, read timeouts, 429 and 5xx, with exponential back-off plus uniform jitter
  (``backoff * 2**(n-1) + U(0, backoff)`` seconds; ``backoff`` from ``$OILFLOWS_HTTP_BACKOFF``,
  default 1). ``Retry-After`` is honoured on 429, 503 and on a quota 403 (Comtrade answers an
  exhausted quota with 403, sources.md 3.4) up to :data:`MAX_RETRY_AFTER` seconds; a longer wait, or
  one (or a back-off) that would pass the deadline, is not slept: the server's status is raised at
  once (:class:`RateLimitedError` for 429 and quota 403), with ``retry_after`` set. A 401, or a 403
  with neither ``Retry-After`` nor a quota message, is an authentication failure: never retried,
  :class:`AccessDeniedError`.
- **Redirects** are followed here (at most :data:`MAX_REDIRECTS`), never by requests: a redirect body
  is not read. On a redirect to another origin (scheme, host or port), every credential header
  (:data:`SECRET_FIELDS`, :func:`register_credential_header`; cookies too) is dropped, for that hop
  and every later one; a 307/308 that would resend a body holding a credential to another origin is
  refused (:class:`FetchError`), never sent. A malformed or non-HTTP ``Location`` is a FetchError.
- **Rate limits** per host (:data:`RATE_LIMITS`, :func:`set_rate_limit`): a token bucket paces every
  request that goes on the wire, retries included, and a semaphore caps parallel requests in this
  process (GENESIS tolerates 3).
- **Bodies** are streamed and limited to `max_bytes` (:data:`MAX_BODY_BYTES`,
  ``$OILFLOWS_MAX_BODY_BYTES``; :class:`BodyTooLargeError`). A body shorter than its
  ``Content-Length``, or a chunked body cut off, is :class:`TruncatedBodyError` (retried
  :data:`BODY_RETRIES` times first), never partial bytes. Of an error answer (a status the caller
  does not accept) at most :data:`ERROR_BODY_BYTES` are read, for the message.
- **Cache**: successful GET/POST answers are kept in a SQLite file under :func:`cache_path` for
  :data:`CACHE_SECONDS`, but only bodies that passed the caller's ``validate=`` (the source's reader)
  and are neither markup (HTML error pages, XML async notices) nor a cut gzip stream; a cached body that
  fails them is dropped and fetched again. A caller that knows the source's release stamp passes
  ``release=``: an entry older than the release is not used. :func:`invalidate` drops the entries under
  a URL prefix (all, or those older than a release); :mod:`oilflows.refresh` calls it when a release
  is newer than the store. Requests carrying credentials are never cached.
- **Secrets**: :func:`credential` reads keys and tokens from the environment or the OS keyring
  (``keyring``, optional). Every credential seen is registered and :func:`redact`, the one redaction
  function, replaces it (and any credential-named query parameter) with ``***`` in every
  :class:`~oilflows.errors.FetchError` and :class:`~oilflows.errors.SourceFormatError` (when built),
  URLs, and every log record of the oilflows, urllib3 and requests loggers.

Failures raise :class:`~oilflows.errors.FetchError` (or a subclass) with the URL and the reason on one
line; :class:`~oilflows.errors.NetworkError` only when the host cannot be reached at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import random
import re
import socket
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    ResponseError,
)
from urllib3.util import Retry

from . import errors as _errors
from .errors import (  # noqa: F401 - the typed fetch errors are part of this module's API too
    AccessDeniedError,
    BodyTooLargeError,
    FetchError,
    FetchTimeoutError,
    NetworkError,
    RateLimitedError,
    TruncatedBodyError,
)

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())  # retries are logged, never printed (no lastResort output)

USER_AGENT = "oilflows/0.1 (+https://github.com/oilflows/oilflows)"
#: (connect, read) timeouts in seconds; ``$OILFLOWS_HTTP_TIMEOUT`` ("connect,read") overrides.
TIMEOUT = (10.0, 120.0)
#: Most seconds one call may take, from the first connect to the last body byte, retries, redirects and
#: waits included (``$OILFLOWS_HTTP_DEADLINE``).
DEADLINE = 1800.0
#: Largest body accepted, bytes (``$OILFLOWS_MAX_BODY_BYTES``): 512 MiB.
MAX_BODY_BYTES = 512 * 1024 * 1024
#: Retries of a body cut off mid-way (the status/connection retries are urllib3's, :func:`retry_policy`).
BODY_RETRIES = 2
#: Longest ``Retry-After`` honoured by sleeping, seconds; a longer one raises RateLimitedError at once.
MAX_RETRY_AFTER = 120.0
#: Longest back-off between two retries, seconds.
BACKOFF_MAX = 60.0
#: How long a cached response stays fresh, seconds (Eurostat updates a dataset at most daily).
CACHE_SECONDS = 6 * 3600
#: The cache file under :func:`cache_path` (``http.sqlite`` was oilflows 0.1's requests-cache file).
CACHE_FILE = "http-cache.sqlite"
#: Bodies larger than this are not cached, bytes.
CACHE_MAX_BYTES = 64 * 1024 * 1024
RETRY_STATUSES = (429, 500, 502, 503, 504)
#: Redirects followed (a redirect body is never read), at most :data:`MAX_REDIRECTS` per call.
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 10
#: Most bytes read of an error answer's body (a status the caller does not accept): for the message only.
ERROR_BODY_BYTES = 64 * 1024
#: Header, parameter and form-field names that carry credentials (compared case-insensitively): the one
#: list. Sources declare theirs with :func:`register_credential_header`; a request carrying one is never
#: cached, its values are redacted, and none of them follows a redirect to another origin.
SECRET_FIELDS: list[str] = ["Authorization", "Ocp-Apim-Subscription-Key", "subscription-key", "username",
                            "password", "token", "api_key", "apikey", "access_token"]
#: The keyring service name under which :func:`credential` looks a variable up.
KEYRING_SERVICE = "oilflows"
_CHUNK = 64 * 1024
_SECRET_NAMES: set[str] = {name.lower() for name in SECRET_FIELDS}
#: Dropped with the credential headers on a redirect to another origin.
_ORIGIN_BOUND_HEADERS = frozenset({"cookie", "proxy-authorization"})
_CACHED_HEADERS = ("Content-Type", "Content-Disposition", "Date", "Last-Modified", "ETag")


# -- secrets ------------------------------------------------------------------------------------------

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def _secret_param_pattern() -> re.Pattern[str]:
    names = "|".join(re.escape(n) for n in sorted(_SECRET_NAMES, key=len, reverse=True))
    return re.compile(r"(?i)([?&;](?:" + names + r")=)[^&#\s'\"]*")


_SECRET_PARAM = _secret_param_pattern()


def register_credential_header(name: str) -> None:
    """Declare `name` (a header, query parameter or form field) as carrying a credential.

    It joins :data:`SECRET_FIELDS`: a request sending it is never cached, its value is registered for
    :func:`redact` (and a query parameter of that name is masked), and the header is dropped on a
    redirect to another origin. Sources call this at import for the names they send.
    """
    global _SECRET_PARAM
    key = name.strip().lower()
    if not key:
        return
    with _secrets_lock:
        if key in _SECRET_NAMES:
            return
        SECRET_FIELDS.append(name.strip())
        _SECRET_NAMES.add(key)
        _SECRET_PARAM = _secret_param_pattern()


def register_secret(value: str | None) -> None:
    """Remember `value` as a secret: :func:`redact` will replace it. Values under 4 characters are
    ignored (they would mask ordinary text)."""
    if value and len(value.strip()) >= 4:
        with _secrets_lock:
            _secrets.add(value.strip())


def redact(text: str) -> str:
    """`text` with every registered secret and every credential-named query parameter value masked."""
    if not text:
        return text
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, "***")
    return _SECRET_PARAM.sub(r"\1***", text)


def credential(env: str, *, service: str = KEYRING_SERVICE) -> str | None:
    """A key or token: the environment variable `env`, else the OS keyring entry (`service`, `env`).

    The keyring is used only if the optional ``keyring`` package is importable; a missing or failing
    backend counts as no entry. The value (stripped) is registered with :func:`register_secret`.
    Returns None when neither has a non-blank value.
    """
    value = os.environ.get(env, "").strip()
    if not value:
        value = (_keyring_value(service, env) or "").strip()
    if not value:
        return None
    register_secret(value)
    return value


def _keyring_value(service: str, name: str) -> str | None:
    try:
        import keyring
    except ImportError:
        return None
    try:
        return keyring.get_password(service, name)
    except Exception as exc:  # any backend failure (no backend, locked, D-Bus down) means "no entry"
        log.debug("keyring lookup of %s failed: %s", name, type(exc).__name__)
        return None


#: Loggers (and their children) whose records are redacted: every oilflows module's, and the libraries
#: that log URLs.
REDACTED_LOGGERS = ("oilflows", "urllib3", "requests")


def _redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask secrets in the message and the exception text of a record of :data:`REDACTED_LOGGERS`."""
    name = record.name or ""
    if not any(name == root or name.startswith(root + ".") for root in REDACTED_LOGGERS):
        return record
    try:
        message = record.getMessage()
    except (TypeError, ValueError):
        return record
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    return record


def _install_record_factory() -> None:
    """Redact records as they are made (a logger filter would miss records of child loggers)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_oilflows_redacting", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return _redact_record(previous(*args, **kwargs))

    factory._oilflows_redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


_install_record_factory()
_errors._redactor = redact  # FetchError and SourceFormatError redact their URL and message when built


def _body_secret(data: Any, body: bytes | str | None) -> bool:
    """True if a request body carries a credential: a credential-named form field or a registered secret."""
    if _request_secrets(None, data):
        return True
    if not body:
        return False
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    return redact(text) != text


def _request_secrets(headers: Mapping[str, str] | None, *fields: Any) -> bool:
    """Register credential values found in headers/params/data; True if the request carries any."""
    found = False
    for name, value in (headers or {}).items():
        if name.lower() in _SECRET_NAMES and value:
            register_secret(str(value))
            found = True
    for field in fields:
        pairs = field.items() if isinstance(field, Mapping) else (field or [])
        for pair in pairs:
            if (isinstance(pair, tuple) and len(pair) == 2 and str(pair[0]).lower() in _SECRET_NAMES
                    and pair[1]):
                register_secret(str(pair[1]))
                found = True
    return found


# -- settings -----------------------------------------------------------------------------------------


def _env_float(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        from .errors import QueryError

        raise QueryError(f"${name}: {text!r} is not a number") from None


def timeouts() -> tuple[float, float]:
    """(connect, read) timeouts, seconds: ``$OILFLOWS_HTTP_TIMEOUT`` ("connect,read" or one number) or
    :data:`TIMEOUT`."""
    text = os.environ.get("OILFLOWS_HTTP_TIMEOUT", "").strip()
    if not text:
        return TIMEOUT
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        from .errors import QueryError

        raise QueryError(f"$OILFLOWS_HTTP_TIMEOUT: {text!r} is not 'connect,read' seconds") from None
    return (values[0], values[-1])


def backoff_seconds() -> float:
    """The back-off factor, seconds: ``$OILFLOWS_HTTP_BACKOFF`` or 1.0."""
    return _env_float("OILFLOWS_HTTP_BACKOFF", 1.0)


# -- retries ------------------------------------------------------------------------------------------


class _Retry(Retry):
    """urllib3's Retry that also honours Retry-After on a quota 403 and refuses to sleep longer than
    `max_retry_after` (it gives up instead, and the caller raises RateLimitedError). oilflows uses it
    to count retries and compute back-offs; the retries themselves (and the sleeps) are done by
    :func:`request`, under its deadline."""

    RETRY_AFTER_STATUS_CODES = frozenset({403, 413, 429, 503})

    def __init__(self, *args: Any, max_retry_after: float = MAX_RETRY_AFTER, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.max_retry_after = max_retry_after

    def new(self, **kw: Any) -> _Retry:
        kw.setdefault("max_retry_after", self.max_retry_after)
        return super().new(**kw)

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        if response is not None and response.status in self.RETRY_AFTER_STATUS_CODES:
            wait = self.get_retry_after(response)
            if wait is not None and wait > self.max_retry_after:
                raise MaxRetryError(_pool, url, ResponseError(  # type: ignore[arg-type]
                    f"Retry-After of {wait:.0f} s is longer than the {self.max_retry_after:.0f} s waited"))
        return super().increment(method, url, response, error, _pool, _stacktrace)


def retry_policy(total: int = 4, backoff: float | None = None) -> Retry:
    """The retry policy: `total` retries on connection errors, read timeouts, 429 and 5xx.

    `backoff` (seconds; the first retry is immediate, as urllib3 does it; retry n >= 2 waits
    ``backoff * 2**(n-1)`` plus a uniform jitter of up to `backoff`, at most :data:`BACKOFF_MAX`)
    defaults to ``$OILFLOWS_HTTP_BACKOFF`` or 1.0.
    ``Retry-After`` is honoured on 429, 503 and 403 up to :data:`MAX_RETRY_AFTER` seconds.
    :func:`request` counts its retries with it and performs them (and their waits) itself.
    """
    return _policy(_Retry, total, backoff)


def _policy(cls: type[_Retry], total: int = 4, backoff: float | None = None) -> _Retry:
    if backoff is None:
        backoff = backoff_seconds()
    return cls(
        total=total,
        connect=total,
        read=total,
        status=total,
        backoff_factor=backoff,
        backoff_jitter=backoff,
        backoff_max=BACKOFF_MAX,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "POST", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=False,
        max_retry_after=_env_float("OILFLOWS_MAX_RETRY_AFTER", MAX_RETRY_AFTER),
    )


class _Inert(_Retry):
    """The retry policy as the session's adapter carries it: the same settings, for inspection, but
    neither urllib3 nor a mock of requests may act on them (no retry, no sleep, no draining of a
    body): :func:`request` retries, under its deadline. A failure is handed back at once."""

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        return False

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        raise MaxRetryError(_pool, url, error or ResponseError("not retried by urllib3"))  # type: ignore[arg-type]


# -- rate limits --------------------------------------------------------------------------------------


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


# -- the deadline ---------------------------------------------------------------------------------------


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


# -- session ------------------------------------------------------------------------------------------

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
        sess.get_redirect_target = lambda response: None  # type: ignore[method-assign]
        adapter = _Adapter(max_retries=_policy(_Inert))
        sess.mount("https://", adapter)
        sess.mount("http://", adapter)
        sess.headers["User-Agent"] = USER_AGENT
        _sessions[key] = sess
    return sess


# -- cache --------------------------------------------------------------------------------------------


def cache_path() -> Path:
    """Where the HTTP cache lives: ``$OILFLOWS_CACHE_DIR`` or the platform's user cache dir."""
    env = os.environ.get("OILFLOWS_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("oilflows"))


def cache_enabled() -> bool:
    """False when ``$OILFLOWS_NO_CACHE`` is set (to anything but "" or "0")."""
    return os.environ.get("OILFLOWS_NO_CACHE", "") in ("", "0")


_SCHEMA = ("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, method TEXT, url TEXT, "
           "created REAL, status INTEGER, headers TEXT, body BLOB)")


@contextmanager
def _db() -> Iterator[sqlite3.Connection]:
    directory = cache_path()
    directory.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(str(directory / CACHE_FILE), timeout=30.0)
    try:
        con.execute(_SCHEMA)
        with con:
            yield con
    finally:
        con.close()


def _epoch(stamp: Any) -> float:
    """A datetime/Timestamp/str (naive = UTC) or epoch seconds -> epoch seconds."""
    if isinstance(stamp, int | float):
        return float(stamp)
    if isinstance(stamp, str):
        stamp = datetime.fromisoformat(stamp)
    if hasattr(stamp, "to_pydatetime"):
        stamp = stamp.to_pydatetime()
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.timestamp()


def _cache_key(method: str, url: str, body: bytes | str | None) -> str:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
    return hashlib.sha256(f"{method} {url}\n{text}".encode()).hexdigest()


def _cache_get(key: str, release: Any) -> requests.Response | None:
    try:
        with _db() as con:
            row = con.execute("SELECT url, created, status, headers, body FROM responses WHERE key = ?",
                              (key,)).fetchone()
    except sqlite3.Error as exc:
        log.warning("HTTP cache unreadable, not used: %s", exc)
        return None
    if row is None:
        return None
    url, created, status, headers, body = row
    if created < time.time() - CACHE_SECONDS:
        return None
    if release is not None and created < _epoch(release):
        log.debug("cached %s predates release %s: not used", url, release)
        return None
    response = requests.Response()
    response.status_code = status
    response.url = url
    response.headers = CaseInsensitiveDict(json.loads(headers))
    response._content = body
    response._content_consumed = True
    response.encoding = requests.utils.get_encoding_from_headers(response.headers)
    response.reason = "OK"
    response.from_cache = True  # type: ignore[attr-defined]
    response.created_at = datetime.fromtimestamp(created, UTC)  # type: ignore[attr-defined]
    return response


def _cache_put(key: str, method: str, response: requests.Response) -> None:
    body = response.content
    if len(body) > CACHE_MAX_BYTES:
        return
    headers = {h: response.headers[h] for h in _CACHED_HEADERS if h in response.headers}
    now = time.time()
    try:
        with _db() as con:
            con.execute("DELETE FROM responses WHERE created < ?", (now - CACHE_SECONDS,))
            con.execute("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (key, method, redact(response.url), now, response.status_code,
                         json.dumps(headers), body))
    except sqlite3.Error as exc:
        log.warning("HTTP cache not written: %s", exc)


def _cache_drop(key: str) -> None:
    try:
        with _db() as con:
            con.execute("DELETE FROM responses WHERE key = ?", (key,))
    except sqlite3.Error as exc:
        log.warning("HTTP cache entry not dropped: %s", exc)


#: Most bytes a gzip body is inflated to when checking that it is complete (beyond: not cached).
_GZIP_CHECK_BYTES = 1024 * 1024 * 1024


def _gzip_complete(body: bytes) -> bool:
    """True if `body` (gzip, one or more members) inflates to its end-of-stream marker; output is
    counted and dropped in 1 MiB steps, at most :data:`_GZIP_CHECK_BYTES`."""
    data, total = body, 0
    try:
        while data[:2] == b"\x1f\x8b":
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            pending = data
            while not inflater.eof:
                if not pending:
                    return False  # the input ends inside the stream
                total += len(inflater.decompress(pending, 1024 * 1024))
                if total > _GZIP_CHECK_BYTES:
                    return False
                pending = inflater.unconsumed_tail
            data = inflater.unused_data
    except zlib.error:
        return False
    return not data.strip(b"\x00")


def _cacheable(response: requests.Response, validated: bool) -> bool:
    """Whether a 200 body may stay in the cache: never markup (an HTML error page, an XML async notice:
    no oilflows source serves data as markup), never a cut gzip stream (checked unless the caller's
    validator, which parses the body, accepted it)."""
    head = response.content[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return False
    return validated or not response.content.startswith(b"\x1f\x8b") or _gzip_complete(response.content)


def invalidate(url_prefix: str, *, released: Any = None) -> int:
    """Drop cached responses whose URL starts with `url_prefix`; with `released` (a datetime, naive =
    UTC, or epoch seconds) only those cached before it. Returns how many were dropped."""
    if not (cache_path() / CACHE_FILE).exists():
        return 0
    escaped = url_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    query = "DELETE FROM responses WHERE url LIKE ? ESCAPE '\\'"
    args: list[Any] = [escaped + "%"]
    if released is not None:
        query += " AND created < ?"
        args.append(_epoch(released))
    try:
        with _db() as con:
            dropped = con.execute(query, args).rowcount
    except sqlite3.Error as exc:
        log.warning("HTTP cache not invalidated: %s", exc)
        return 0
    log.debug("invalidated %d cached responses under %s", dropped, redact(url_prefix))
    return dropped


# -- requests -----------------------------------------------------------------------------------------


def request(
    method: str,
    url: str,
    *,
    params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
    data: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    ok: tuple[int, ...] = (200,),
    timeout: tuple[float, float] | None = None,
    cache: bool = True,
    release: Any = None,
    max_bytes: int | None = None,
    deadline: float | None = None,
    validate: Callable[[requests.Response], Any] | None = None,
) -> requests.Response:
    """Send one request and return the response (body read) if its status is in `ok`.

    Parameters
    ----------
    method, url, params, data, headers
        As in :func:`requests.request`. Headers/params named in :data:`SECRET_FIELDS` are credentials:
        registered for redaction, the request is not cached, and they are dropped on a redirect to
        another origin (a 307/308 there with a body holding a credential is refused: FetchError).
    ok : tuple of int
        Statuses returned to the caller; any other raises. A redirect status in `ok` is returned, not
        followed.
    timeout : (float, float), optional
        (connect, read) seconds; default :func:`timeouts`. Each is capped by what is left of `deadline`.
    cache : bool
        Use the disk cache (also off with ``$OILFLOWS_NO_CACHE``). Only 200 answers are cached, and only
        those that `validate` accepted and that are neither markup nor a cut gzip stream.
    release : datetime, optional
        The source's latest release stamp (naive = UTC): a cached answer older than it is not used.
    max_bytes : int, optional
        Largest body accepted, bytes (default ``$OILFLOWS_MAX_BODY_BYTES`` or :data:`MAX_BODY_BYTES`).
    deadline : float, optional
        Most seconds the whole call may take, from the first connect to the last body byte, retries,
        redirects and waits included (default ``$OILFLOWS_HTTP_DEADLINE`` or :data:`DEADLINE`).
    validate : callable, optional
        Called with every 200 answer, fresh or cached, before it is cached or returned (typically the
        source's reader). It raises to reject the body: a fresh answer is then not cached and the
        exception propagates unchanged; a cached one is dropped and the request sent again. Its return
        value is kept as ``response.validated``.

    Raises
    ------
    NetworkError
        The host cannot be reached (DNS failure, refused connection, connect timeout).
    FetchTimeoutError
        No answer within the read timeout after the retries, or no complete answer by the deadline.
    AccessDeniedError
        401, or 403 with neither Retry-After nor a quota message, when not in `ok`.
    RateLimitedError
        429 or a quota 403 after the retries, or a Retry-After beyond :data:`MAX_RETRY_AFTER` or past
        the deadline (``retry_after`` set).
    BodyTooLargeError, TruncatedBodyError
        See :mod:`oilflows.http`.
    FetchError
        Any other status outside `ok` (``retry_after`` set if the server sent one), retries exhausted,
        a body that cannot be decoded, a malformed redirect, too many redirects, a credential body
        redirected to another origin. Messages are one line and never contain a registered secret.
    """
    method = method.upper()
    timeout = timeout or timeouts()
    max_bytes = max_bytes or int(_env_float("OILFLOWS_MAX_BODY_BYTES", MAX_BODY_BYTES))
    deadline = deadline or _env_float("OILFLOWS_HTTP_DEADLINE", DEADLINE)
    secret = _request_secrets(headers, params, data)
    try:
        prepared = requests.Request(method, url, params=params, data=data).prepare()
    except (requests.exceptions.RequestException, ValueError) as exc:
        problem = f"cannot build the request: {redact(str(exc))[:200]}"
    else:
        problem = None
    if problem is not None:
        raise FetchError(redact(url), problem)
    full_url = prepared.url or url
    # A credential written into the URL itself counts too: such a request is never cached.
    secret = secret or _SECRET_PARAM.search(full_url) is not None or redact(full_url) != full_url
    use_cache = cache and cache_enabled() and not secret and method in ("GET", "POST")
    key = _cache_key(method, full_url, prepared.body) if use_cache else ""
    if use_cache:
        hit = _cache_get(key, release)
        if hit is not None:
            hit = _validated_hit(hit, key, validate)
        if hit is not None:
            log.debug("%s %s: %d from cache", method, redact(full_url), hit.status_code)
            return _checked(hit, full_url, ok)
    host = urlsplit(url).hostname or ""
    clock = _Deadline(deadline)
    with _slot(host):
        response = _send(method, full_url, data, headers, timeout, max_bytes, clock, ok,
                         _body_secret(data, prepared.body))
    log.debug("%s %s: %d, %d bytes", method, redact(response.url or full_url), response.status_code,
              len(response.content))
    _checked(response, full_url, ok)
    if response.status_code == 200 and validate is not None:
        response.validated = validate(response)  # type: ignore[attr-defined]  # raises: not cached
    if use_cache and response.status_code == 200 and _cacheable(response, validate is not None):
        _cache_put(key, method, response)
    return response


def _validated_hit(hit: requests.Response, key: str,
                   validate: Callable[[requests.Response], Any] | None) -> requests.Response | None:
    """The cached answer, or None (and the entry dropped) if it is not cacheable or `validate` rejects
    it; the request is then sent again."""
    reason = None
    if hit.status_code == 200 and not _cacheable(hit, validate is not None):
        reason = "markup or a cut gzip stream"
    elif hit.status_code == 200 and validate is not None:
        try:
            hit.validated = validate(hit)  # type: ignore[attr-defined]
        except Exception as exc:  # whatever the validator raises: the entry is not used
            reason = type(exc).__name__
    if reason is None:
        return hit
    log.warning("cached answer for %s rejected (%s): dropped, sending the request again",
                redact(hit.url or ""), reason)
    _cache_drop(key)
    return None


def get(url: str, **kwargs: Any) -> requests.Response:
    """GET `url` through :func:`request`."""
    return request("GET", url, **kwargs)


def post(url: str, **kwargs: Any) -> requests.Response:
    """POST `url` through :func:`request`."""
    return request("POST", url, **kwargs)


def error_type(response: requests.Response) -> type[FetchError]:
    """The FetchError subclass for a refused response: 429, or a 403 with Retry-After or a quota
    message -> RateLimitedError; 401/403 -> AccessDeniedError; otherwise FetchError."""
    status = response.status_code
    if status == 429:
        return RateLimitedError
    if status == 403:
        quota = b"quota" in (response.content or b"")[:2000].lower()
        return RateLimitedError if response.headers.get("Retry-After") or quota else AccessDeniedError
    if status == 401:
        return AccessDeniedError
    return FetchError


def retry_after(response: requests.Response) -> float | None:
    """The wait a response's ``Retry-After`` asks for, seconds (None if absent or unreadable)."""
    return _retry_after(response.headers.get("Retry-After"))


def _checked(response: requests.Response, url: str, ok: tuple[int, ...]) -> requests.Response:
    status = response.status_code
    if status in ok:
        return response
    where = redact(response.url or url)
    problem = redact(_body_excerpt(response))
    note = getattr(response, "deadline_note", "")
    kind = error_type(response)
    wait = retry_after(response)
    error: FetchError
    if kind is RateLimitedError:
        told = f"; the server asks to wait {wait:.0f} s" if wait is not None else ""
        error = RateLimitedError(where, f"rate limit or quota exceeded{told}{note} ({problem})",
                                 status=status, retry_after=wait)
    elif kind is AccessDeniedError:
        error = AccessDeniedError(where, f"access refused; check the credential ({problem})", status=status)
    else:
        told = f" (the server asks to wait {wait:.0f} s{note})" if wait else ""
        error = FetchError(where, problem + told, status=status)
    error.retry_after = wait
    raise error


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, _Retry().parse_retry_after(value))
    except HTTPError:
        return None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}.get(scheme)


def _send(method: str, url: str, data: Any, headers: Mapping[str, str] | None, timeout: tuple[float, float],
          max_bytes: int, clock: _Deadline, ok: tuple[int, ...], body_secret: bool) -> requests.Response:
    """Send `url` (params already in it) until an answer is final: retries (statuses, connection errors,
    read timeouts; counted by :func:`retry_policy`), redirects (followed here, bodies unread, credentials
    dropped across origins) and cut bodies (sent again up to :data:`BODY_RETRIES` times), all under
    `clock`. Returns the response with its body read (an error answer's in part)."""
    sess = session()
    policy = retry_policy()
    origin = _origin(url)
    headers = dict(headers or {})
    where = redact(url)
    hops = body_tries = 0
    while True:
        left = clock.remaining()
        if left <= 0:
            raise FetchTimeoutError(where, f"no complete answer within the deadline of {clock.seconds:g} s")
        attempt_timeout = (min(timeout[0], left), min(timeout[1], left))
        response: requests.Response | None = None
        failure: requests.exceptions.RequestException | None = None
        error: FetchError | None = None
        action = "final"
        complete = False
        with _Watchdog(left) as watchdog:
            try:
                response = sess.request(method, url, data=data, headers=headers, timeout=attempt_timeout,
                                        stream=True, allow_redirects=False)
            except requests.exceptions.RequestException as exc:
                failure = exc
            if response is not None:
                status = response.status_code
                if status in REDIRECT_STATUSES and status not in ok and "Location" in response.headers:
                    action = "redirect"
                else:
                    action, policy, wait = _retry_decision(response, method, url, policy, clock)
                if action == "final":
                    limit = max_bytes if status in ok else min(max_bytes, ERROR_BODY_BYTES)
                    error, complete = _read_body(response, where, limit, clock, watchdog,
                                                 strict=status in ok)
            fired = watchdog.fired
        # The attempt is over (the watchdog cannot touch the socket any more): release or close it.
        if failure is not None:
            if fired or clock.remaining() <= 0:
                raise FetchTimeoutError(where, f"no complete answer within the deadline of "
                                        f"{clock.seconds:g} s (the status line or headers came too slowly)")
            error = _transport_error(failure, where, attempt_timeout)
            if not isinstance(failure, requests.exceptions.ConnectionError | requests.exceptions.Timeout):
                raise error  # an invalid URL, schema or header: not worth another try
            try:
                spent: Retry | None = policy.increment(method, url, error=_urllib3_cause(failure))
            except Exception:  # MaxRetryError (retries exhausted) or the error itself (not retryable)
                spent = None
            if spent is None:  # raised outside the handler: no __context__ holding the raw URL/request
                raise error
            policy = spent
            wait = policy.get_backoff_time()
            _wait_or_raise(wait, clock, error, f"{method} {where}", policy)
            continue
        assert response is not None
        if action == "redirect":
            response.close()
            hops += 1
            if hops > MAX_REDIRECTS:
                raise FetchError(where, f"more than {MAX_REDIRECTS} redirects", status=response.status_code)
            method, url, data, headers = _redirect(response, method, url, data, headers, origin, body_secret,
                                                   where)
            where = redact(url)
            continue
        if action == "retry":
            response.close()
            _wait_or_raise(wait, clock, None, f"{method} {where} (HTTP {response.status_code})", policy)
            continue
        if error is not None:
            response.close()
            if isinstance(error, TruncatedBodyError) and body_tries < BODY_RETRIES:
                wait = backoff_seconds() * (2 ** body_tries + random.random())
                body_tries += 1
                _wait_or_raise(wait, clock, error, f"{method} {where}", None)
                continue
            raise error
        if complete:
            release = getattr(response.raw, "release_conn", None)
            if release is not None:
                release()
        else:
            response.close()  # an error answer read in part: the rest is not wanted
        return response


def _retry_decision(response: requests.Response, method: str, url: str, policy: Retry,
                    clock: _Deadline) -> tuple[str, Retry, float]:
    """("retry", the incremented policy, the wait) or ("final", policy, 0): the status is not retried,
    the retries are spent, or the wait is beyond :data:`MAX_RETRY_AFTER` or past the deadline (then
    ``response.deadline_note`` says so, for the error message)."""
    status = response.status_code
    told = response.headers.get("Retry-After")
    if not policy.is_retry(method, status, bool(told)):
        return "final", policy, 0.0
    asked = _retry_after(told)
    limit = getattr(policy, "max_retry_after", MAX_RETRY_AFTER)
    if asked is not None and asked > limit:
        return "final", policy, 0.0
    try:
        spent = policy.increment(method, url, response=response.raw)
    except Exception:  # MaxRetryError: the retries are spent
        return "final", policy, 0.0
    wait = asked if asked is not None else spent.get_backoff_time()
    left = clock.remaining()
    if wait > left:
        response.deadline_note = (  # type: ignore[attr-defined]
            f"; not waited: {max(left, 0):.0f} s are left of the {clock.seconds:g} s deadline")
        return "final", policy, 0.0
    return "retry", spent, wait


def _wait_or_raise(wait: float, clock: _Deadline, error: FetchError | None, what: str,
                   policy: Retry | None) -> None:
    """Sleep `wait` seconds before a retry, or raise `error` at once if that would pass the deadline."""
    if error is not None and wait > clock.remaining():
        raise error
    history = len(policy.history) if policy is not None else 0
    log.warning("Retrying %s in %.1f s (retry %d)%s", what, wait, history,
                f": {error}" if error is not None else "")
    if wait > 0:
        clock.sleep(wait)


def _urllib3_cause(exc: requests.exceptions.RequestException) -> Exception:
    """The urllib3 error behind a requests exception, for the retry policy's counters."""
    inner = exc.args[0] if exc.args else None
    if isinstance(inner, MaxRetryError):
        inner = inner.reason
    if isinstance(inner, HTTPError):
        return inner
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return ConnectTimeoutError(str(exc))
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return ReadTimeoutError(None, None, str(exc))  # type: ignore[arg-type]
    return ProtocolError(str(exc))


def _redirect(response: requests.Response, method: str, url: str, data: Any, headers: dict[str, str],
              origin: tuple[str, str, int | None], body_secret: bool,
              where: str) -> tuple[str, str, Any, dict[str, str]]:
    """The next request of a redirect: (method, url, data, headers). 303 (and 301/302 after a POST) turn
    into a GET without body. To another origin than the first request's (scheme, host or port): every
    credential header is dropped, and a 307/308 that would resend a body holding a credential is refused.
    Raises FetchError for a malformed or non-HTTP(S) Location."""
    status = response.status_code
    location = response.headers.get("Location", "")
    shown = redact(location)[:200]
    try:
        target = requests.utils.requote_uri(urljoin(response.url or url, location.strip()))
        parts = urlsplit(target)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:  # requests' InvalidURL is a ValueError too
        target = ""
    if not target:  # raised outside the handler (no context)
        raise FetchError(where, f"malformed redirect Location {shown!r}", status=status)
    if not location.strip() or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise FetchError(where, f"redirect to an unusable Location {shown!r} (an http(s) URL with a host is "
                                "needed)", status=status)
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method, data = "GET", None
        headers = {k: v for k, v in headers.items() if k.lower() not in ("content-type", "content-length")}
    if _origin(target) != origin:
        if data is not None and body_secret:
            raise FetchError(where, f"redirected ({status}) to another origin, {redact(target)}: the request "
                                    "body holds a credential and is not sent there", status=status)
        dropped = [k for k in headers if k.lower() in _SECRET_NAMES or k.lower() in _ORIGIN_BOUND_HEADERS]
        headers = {k: v for k, v in headers.items() if k not in dropped}
        if dropped:
            log.debug("redirect from %s to another origin: %d credential headers dropped", where,
                      len(dropped))
    log.debug("%s %s: %d, redirected to %s", method, where, status, redact(target))
    return method, target, data, headers


def _transport_error(exc: requests.exceptions.RequestException, where: str,
                     timeout: tuple[float, float]) -> FetchError:
    """A typed, redacted, one-line error for a failure before the status line (after the retries)."""
    inner = exc.args[0] if exc.args else None
    reason = inner.reason if isinstance(inner, MaxRetryError) else inner
    text = redact(_reason(exc))
    if isinstance(exc, requests.exceptions.RetryError):
        return FetchError(where, f"gave up after retries ({text})")
    if isinstance(exc, requests.exceptions.ReadTimeout) or isinstance(reason, ReadTimeoutError):
        return FetchTimeoutError(where, f"timed out: no answer within {timeout[1]:g} s (after retries)")
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return NetworkError(where, f"no network: connection to {urlsplit(where).hostname} timed out "
                                   f"after {timeout[0]:g} s")
    if isinstance(reason, ProtocolError | ResponseError) and not isinstance(reason, NewConnectionError):
        return FetchError(where, f"the server closed the connection without an answer ({text})")
    if isinstance(exc, requests.exceptions.ConnectionError):
        return NetworkError(where, f"no network: cannot reach {urlsplit(where).hostname} ({text})")
    return FetchError(where, text)


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


def _reason(exc: BaseException) -> str:
    inner = exc.args[0] if exc.args else exc
    reason = getattr(inner, "reason", None) or inner
    if isinstance(reason, ProtocolError) and len(reason.args) == 2:  # ('Connection aborted.', Error(...))
        text = f"{reason.args[0]} {reason.args[1]!r}"
    else:
        text = str(reason)
    return text.splitlines()[0][:200] if text else type(reason).__name__


def _body_excerpt(response: requests.Response) -> str:
    text = response.text[:300] if response.content else response.reason or ""
    return " ".join(text.split()) or (response.reason or "error")

__all__ = ["BACKOFF_MAX", "BODY_RETRIES", "CACHE_FILE", "CACHE_MAX_BYTES", "CACHE_SECONDS",
           "DEADLINE", "ERROR_BODY_BYTES", "KEYRING_SERVICE", "MAX_BODY_BYTES", "MAX_REDIRECTS",
           "MAX_RETRY_AFTER", "RATE_LIMITS", "REDACTED_LOGGERS", "REDIRECT_STATUSES",
           "RETRY_STATUSES", "SECRET_FIELDS", "TIMEOUT", "USER_AGENT", "RateLimit",
           "backoff_seconds", "cache_enabled", "cache_path", "credential", "error_type", "get",
           "invalidate", "post", "redact", "register_credential_header", "register_secret",
           "request", "retry_after", "retry_policy", "session", "set_rate_limit", "timeouts"]
