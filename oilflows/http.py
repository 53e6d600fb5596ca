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

Where the pieces live (this module is the public face and the request loop; the parts never
import it): settings and retry policy in ``oilflows._http_policy``, credentials, redaction and
redirect hygiene in ``oilflows._http_credentials``, the disk cache in ``oilflows._http_cache``, rate
limits, deadline, watchdog, session and body reads in ``oilflows._http_wire``.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from typing import Any, cast
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    ResponseError,
)
from urllib3.util import Retry

from . import _http_credentials
from ._http_cache import (  # noqa: F401 - the public names of oilflows.http live in its parts
    CACHE_FILE,
    CACHE_MAX_BYTES,
    CACHE_SECONDS,
    _cache_drop,
    _cache_get,
    _cache_key,
    _cache_put,
    _cacheable,
    cache_enabled,
    cache_path,
    invalidate,
)
from ._http_credentials import (  # noqa: F401 - the public names of oilflows.http live in its parts
    KEYRING_SERVICE,
    REDACTED_LOGGERS,
    SECRET_FIELDS,
    _body_secret,
    _origin,
    _redirect,
    _request_secrets,
    credential,
    redact,
    register_credential_header,
    register_secret,
)
from ._http_policy import (  # noqa: F401 - the public names of oilflows.http live in its parts
    BACKOFF_MAX,
    BODY_RETRIES,
    DEADLINE,
    ERROR_BODY_BYTES,
    MAX_BODY_BYTES,
    MAX_REDIRECTS,
    MAX_RETRY_AFTER,
    REDIRECT_STATUSES,
    RETRY_STATUSES,
    TIMEOUT,
    USER_AGENT,
    _env_float,
    _retry_after,
    backoff_seconds,
    error_type,
    retry_after,
    retry_policy,
    timeouts,
)
from ._http_wire import (  # noqa: F401 - the public names of oilflows.http live in its parts
    RATE_LIMITS,
    RateLimit,
    _Deadline,
    _read_body,
    _sessions,
    _slot,
    _Watchdog,
    session,
    set_rate_limit,
)
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
    problem: str | None = None
    try:
        prepared = requests.Request(method, url, params=params, data=data).prepare()
    except (requests.exceptions.RequestException, ValueError) as exc:
        problem = f"cannot build the request: {redact(str(exc))[:200]}"
    if problem is not None:
        raise FetchError(redact(url), problem)
    full_url = prepared.url or url
    # requests types a body for every kind of data; `data` here is a Mapping, form-encoded to a str
    body = cast("bytes | str | None", prepared.body)
    # A credential written into the URL itself counts too: such a request is never cached.
    secret = (secret or _http_credentials._SECRET_PARAM.search(full_url) is not None
              or redact(full_url) != full_url)
    use_cache = cache and cache_enabled() and not secret and method in ("GET", "POST")
    key = _cache_key(method, full_url, body) if use_cache else ""
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
                         _body_secret(data, body))
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
