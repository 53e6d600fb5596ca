"""The one HTTP layer: shared session, timeouts, retries, rate limits, bounded bodies, cache, redaction.

Every fetcher downloads through :func:`get` or :func:`post`; nothing else in oilflows opens a
connection. What a call goes through:

- **Timeouts**: (connect, read) seconds, :data:`TIMEOUT` or ``$OILFLOWS_HTTP_TIMEOUT`` (``"10,120"``),
  and a total `deadline` for the whole answer (:data:`DEADLINE`, ``$OILFLOWS_HTTP_DEADLINE``), which
  also stops a server that drips a byte at a time.
- **Retries** (urllib3 :class:`~urllib3.util.Retry`): connection errors, read timeouts, 429 and 5xx,
  with exponential back-off plus uniform jitter (``backoff * 2**(n-1) + U(0, backoff)`` seconds;
  ``backoff`` from ``$OILFLOWS_HTTP_BACKOFF``, default 1). ``Retry-After`` is honoured on 429, 503 and
  on a quota 403 (Comtrade answers an exhausted quota with 403, sources.md 3.4) up to
  :data:`MAX_RETRY_AFTER` seconds; a longer wait is not slept but raised at once as
  :class:`RateLimitedError` naming it. A 401, or a 403 with neither ``Retry-After`` nor a quota
  message, is an authentication failure: never retried, :class:`AccessDeniedError`.
- **Rate limits** per host (:data:`RATE_LIMITS`, :func:`set_rate_limit`): a token bucket paces every
  request that goes on the wire, retries included, and a semaphore caps parallel requests in this
  process (GENESIS tolerates 3).
- **Bodies** are streamed and limited to `max_bytes` (:data:`MAX_BODY_BYTES`,
  ``$OILFLOWS_MAX_BODY_BYTES``; :class:`BodyTooLargeError`). A body shorter than its
  ``Content-Length``, or a chunked body cut off, is :class:`TruncatedBodyError` (retried
  :data:`BODY_RETRIES` times first), never partial bytes.
- **Cache**: successful GET/POST answers are kept in a SQLite file under :func:`cache_path` for
  :data:`CACHE_SECONDS`. A caller that knows the source's release stamp passes ``release=``: an entry
  older than the release is not used. :func:`invalidate` drops the entries under a URL prefix (all,
  or those older than a release); :mod:`oilflows.refresh` calls it when a release is newer than the
  store. Requests carrying credentials are never cached.
- **Secrets**: :func:`credential` reads keys and tokens from the environment or the OS keyring
  (``keyring``, optional). Every credential seen is registered and :func:`redact` replaces it (and any
  credential-named query parameter) with ``***`` in error messages, URLs and the log records of
  urllib3, requests and oilflows.

Failures raise :class:`~oilflows.errors.FetchError` (or a subclass) with the URL and the reason on one
line; :class:`~oilflows.errors.NetworkError` only when the host cannot be reached at all.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import re
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    DecodeError,
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    ResponseError,
)
from urllib3.util import Retry

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
#: Most seconds one attempt may take from sending to the last body byte (``$OILFLOWS_HTTP_DEADLINE``).
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
#: Header, parameter and form-field names that carry credentials (compared case-insensitively).
SECRET_FIELDS = ("Authorization", "Ocp-Apim-Subscription-Key", "subscription-key", "username",
                 "password", "token", "api_key", "apikey", "access_token")
#: The keyring service name under which :func:`credential` looks a variable up.
KEYRING_SERVICE = "oilflows"
_CHUNK = 64 * 1024
_SECRET_NAMES = frozenset(name.lower() for name in SECRET_FIELDS)
_CACHED_HEADERS = ("Content-Type", "Content-Disposition", "Date", "Last-Modified", "ETag")


# -- secrets ------------------------------------------------------------------------------------------

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_SECRET_PARAM = re.compile(
    r"(?i)([?&;](?:" + "|".join(re.escape(n) for n in sorted(_SECRET_NAMES)) + r")=)[^&#\s'\"]*")


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


class _RedactingFilter(logging.Filter):
    """Masks secrets in records of the loggers that may print URLs (urllib3, requests, oilflows)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_FILTER = _RedactingFilter()
for _name in ("urllib3", "urllib3.connectionpool", "urllib3.connection", "urllib3.poolmanager",
              "urllib3.response", "urllib3.util.retry", "requests", __name__):
    logging.getLogger(_name).addFilter(_FILTER)


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
    `max_retry_after` (it gives up instead, and the caller raises RateLimitedError)."""

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
    """
    if backoff is None:
        backoff = backoff_seconds()
    return _Retry(
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


# -- rate limits --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateLimit:
    """A host's pace: `per_second` requests a second on average, bursts of `burst`, at most
    `concurrent` requests in flight in this process (None: no cap)."""

    per_second: float
    burst: int = 1
    concurrent: int | None = None


#: Per-host defaults (sources.md): Comtrade 10 calls a minute (3.4, comtradr's default); Eurostat has no
#: documented limit but fair-use rules (1.7), so 2 a second; GENESIS at most 3 parallel requests (4.1).
RATE_LIMITS: dict[str, RateLimit] = {
    "comtradeapi.un.org": RateLimit(per_second=10 / 60, burst=1),
    "ec.europa.eu": RateLimit(per_second=2.0, burst=4),
    "www-genesis.destatis.de": RateLimit(per_second=1.0, burst=3, concurrent=3),
}


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


class _PacedHTTPConnectionPool(HTTPConnectionPool):
    def _make_request(self, conn, method, url, *args, **kwargs):  # every attempt on the wire
        _pace(self.host)
        return super()._make_request(conn, method, url, *args, **kwargs)


class _PacedHTTPSConnectionPool(HTTPSConnectionPool):
    def _make_request(self, conn, method, url, *args, **kwargs):
        _pace(self.host)
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
    """The shared session (one per back-off setting), with the retry policy and pacing mounted."""
    key = (os.environ.get("OILFLOWS_HTTP_BACKOFF"), os.environ.get("OILFLOWS_MAX_RETRY_AFTER"))
    sess = _sessions.get(key)
    if sess is None:
        sess = requests.Session()
        adapter = _Adapter(max_retries=retry_policy())
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
) -> requests.Response:
    """Send one request and return the response (body read) if its status is in `ok`.

    Parameters
    ----------
    method, url, params, data, headers
        As in :func:`requests.request`. Headers/params named in :data:`SECRET_FIELDS` are credentials:
        registered for redaction, and the request is not cached.
    ok : tuple of int
        Statuses returned to the caller; any other raises.
    timeout : (float, float), optional
        (connect, read) seconds; default :func:`timeouts`.
    cache : bool
        Use the disk cache (also off with ``$OILFLOWS_NO_CACHE``). Only 200 answers are cached.
    release : datetime, optional
        The source's latest release stamp (naive = UTC): a cached answer older than it is not used.
    max_bytes : int, optional
        Largest body accepted, bytes (default ``$OILFLOWS_MAX_BODY_BYTES`` or :data:`MAX_BODY_BYTES`).
    deadline : float, optional
        Most seconds one attempt may take (default ``$OILFLOWS_HTTP_DEADLINE`` or :data:`DEADLINE`).

    Raises
    ------
    NetworkError
        The host cannot be reached (DNS failure, refused connection, connect timeout).
    FetchTimeoutError
        No answer within the read timeout after the retries, or the body not complete by the deadline.
    AccessDeniedError
        401, or 403 with neither Retry-After nor a quota message, when not in `ok`.
    RateLimitedError
        429 or a quota 403 after the retries, or a Retry-After beyond :data:`MAX_RETRY_AFTER`.
    BodyTooLargeError, TruncatedBodyError
        See :mod:`oilflows.http`.
    FetchError
        Any other status outside `ok`, retries exhausted, a body that cannot be decoded. Messages are
        one line and never contain a registered secret.
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
            log.debug("%s %s: %d from cache", method, redact(full_url), hit.status_code)
            return _checked(hit, full_url, ok)
    host = urlsplit(url).hostname or ""
    with _slot(host):
        response = _send(method, url, full_url, params, data, headers, timeout, max_bytes, deadline)
    log.debug("%s %s: %d, %d bytes", method, redact(response.url or full_url), response.status_code,
              len(response.content))
    if use_cache and response.status_code == 200:
        _cache_put(key, method, response)
    return _checked(response, full_url, ok)


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


def _checked(response: requests.Response, url: str, ok: tuple[int, ...]) -> requests.Response:
    status = response.status_code
    if status in ok:
        return response
    where = redact(response.url or url)
    problem = redact(_body_excerpt(response))
    kind = error_type(response)
    if kind is RateLimitedError:
        wait = _retry_after(response.headers.get("Retry-After"))
        told = f"; the server asks to wait {wait:.0f} s" if wait is not None else ""
        raise RateLimitedError(where, f"rate limit or quota exceeded{told} ({problem})", status=status,
                               retry_after=wait)
    if kind is AccessDeniedError:
        raise AccessDeniedError(where, f"access refused; check the credential ({problem})", status=status)
    wait = _retry_after(response.headers.get("Retry-After"))
    told = f" (the server asks to wait {wait:.0f} s)" if wait else ""
    raise FetchError(where, problem + told, status=status)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, _Retry().parse_retry_after(value))
    except HTTPError:
        return None


def _send(method: str, url: str, full_url: str, params: Any, data: Any, headers: Any,
          timeout: tuple[float, float], max_bytes: int, deadline: float) -> requests.Response:
    """Send (urllib3 retries connection errors and statuses) and read the body; a body cut off is
    sent again up to :data:`BODY_RETRIES` times."""
    sess = session()
    where = redact(full_url)
    for attempt in range(BODY_RETRIES + 1):
        started = time.monotonic()
        error: FetchError | None = None
        try:
            response = sess.request(method, url, params=params, data=data, headers=headers,
                                    timeout=timeout, stream=True)
        except requests.exceptions.RequestException as exc:
            error = _transport_error(exc, where, timeout)
        if error is not None:  # raised outside the handler: no __context__ holding the raw URL/request
            raise error
        error = _read_body(response, where, max_bytes, started + deadline, deadline)
        if error is None:
            return response
        if not isinstance(error, TruncatedBodyError) or attempt == BODY_RETRIES:
            raise error
        wait = backoff_seconds() * (2 ** attempt + random.random())
        log.warning("%s; retrying in %.1f s", error, wait)
        _sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


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


def _read_body(response: requests.Response, where: str, max_bytes: int, deadline_at: float,
               deadline: float) -> FetchError | None:
    """Read the streamed body into ``response._content``: at most `max_bytes`, by `deadline_at`
    (monotonic seconds), complete (Content-Length honoured). Returns None, or the typed error to raise
    (returned, not raised, so that it carries no context from urllib3)."""
    status = response.status_code
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        response.close()
        return BodyTooLargeError(where, f"body of {int(declared):,} bytes (Content-Length) exceeds the "
                                 f"limit of {max_bytes:,} bytes", status=status, limit=max_bytes)
    raw = response.raw
    chunks: list[bytes] = []
    size = 0
    error: FetchError | None = None
    try:
        while True:
            if time.monotonic() > deadline_at:
                error = FetchTimeoutError(where, f"body not complete after {deadline:g} s ({size:,} bytes "
                                          "received): the server is too slow", status=status)
                break
            chunk = raw.read1(_CHUNK, decode_content=True)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                error = BodyTooLargeError(where, f"body exceeds the limit of {max_bytes:,} bytes",
                                          status=status, limit=max_bytes)
                break
            chunks.append(chunk)
    except DecodeError as exc:
        error = FetchError(where, f"body cannot be decoded ({redact(str(exc))[:200]})", status=status)
    except (HTTPError, OSError, requests.exceptions.RequestException) as exc:
        received = raw.tell() if hasattr(raw, "tell") else size  # bytes on the wire (before decoding)
        expected = f" of {int(declared):,}" if declared.isdigit() else ""
        error = TruncatedBodyError(where, f"connection ended after {received:,}{expected} bytes of the "
                                   f"body ({type(exc).__name__})", status=status)
    if error is not None:
        response.close()
        return error
    response._content = b"".join(chunks)
    response._content_consumed = True
    release = getattr(raw, "release_conn", None)
    if release is not None:
        release()
    return None


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
