"""Settings and the retry policy of :mod:`oilflows.http`: timeouts, limits and back-off (constants and
``$OILFLOWS_HTTP_*`` overrides), the urllib3 :class:`~urllib3.util.Retry` subclasses that count retries,
and the classification of a refused response (:func:`error_type`, :func:`retry_after`).
"""

from __future__ import annotations

import logging
import os
from typing import Any

import requests
from urllib3.exceptions import (
    HTTPError,
    MaxRetryError,
    ResponseError,
)
from urllib3.util import Retry

from .errors import (
    AccessDeniedError,
    FetchError,
    RateLimitedError,
)

log = logging.getLogger("oilflows.http")  # the parts log as the one HTTP layer


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

RETRY_STATUSES = (429, 500, 502, 503, 504)

#: Redirects followed (a redirect body is never read), at most :data:`MAX_REDIRECTS` per call.
REDIRECT_STATUSES = (301, 302, 303, 307, 308)

MAX_REDIRECTS = 10

#: Most bytes read of an error answer's body (a status the caller does not accept): for the message only.
ERROR_BODY_BYTES = 64 * 1024

_CHUNK = 64 * 1024

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

def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, _Retry().parse_retry_after(value))
    except HTTPError:
        return None

__all__ = ["BACKOFF_MAX", "BODY_RETRIES", "DEADLINE", "ERROR_BODY_BYTES", "MAX_BODY_BYTES", "MAX_REDIRECTS",
           "MAX_RETRY_AFTER", "REDIRECT_STATUSES", "RETRY_STATUSES", "TIMEOUT", "USER_AGENT",
           "backoff_seconds", "error_type", "retry_after", "retry_policy", "timeouts"]
