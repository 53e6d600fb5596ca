"""The one HTTP layer: a shared session with timeouts, retries honouring Retry-After, and a disk cache.

Every fetcher downloads through :func:`get` or :func:`post`; nothing else in oilflows opens a
connection. Retries use urllib3's :class:`~urllib3.util.Retry` (429, 500, 502, 503, 504, with
exponential back-off and the server's ``Retry-After``); caching uses requests-cache (SQLite file under
the user cache dir, responses kept for :data:`CACHE_SECONDS`). Any failure becomes a
:class:`~oilflows.errors.FetchError` with the URL and the reason on one line.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

from .errors import FetchError, NetworkError

USER_AGENT = "oilflows/0.1 (+https://github.com/oilflows/oilflows)"
#: (connect, read) timeouts in seconds.
TIMEOUT = (10.0, 120.0)
#: How long a cached response stays fresh, seconds (Eurostat updates a dataset at most daily).
CACHE_SECONDS = 6 * 3600
RETRY_STATUSES = (429, 500, 502, 503, 504)
#: Header and parameter names that carry credentials: stripped from cached requests.
SECRET_FIELDS = ("Authorization", "Ocp-Apim-Subscription-Key", "subscription-key", "username",
                 "password", "token")

_sessions: dict[tuple, requests.Session] = {}


def retry_policy(total: int = 4, backoff: float | None = None) -> Retry:
    """The retry policy: `total` retries on connection errors and 429/5xx, honouring Retry-After.

    `backoff` (seconds, doubled per retry) defaults to ``$OILFLOWS_HTTP_BACKOFF`` or 1.0.
    """
    if backoff is None:
        backoff = float(os.environ.get("OILFLOWS_HTTP_BACKOFF", "1.0"))
    return Retry(
        total=total,
        connect=total,
        read=total,
        status=total,
        backoff_factor=backoff,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "POST", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )


def cache_path() -> Path:
    """Where the HTTP cache lives: ``$OILFLOWS_CACHE_DIR`` or the platform's user cache dir."""
    env = os.environ.get("OILFLOWS_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("oilflows"))


def session(cache: bool = True) -> requests.Session:
    """The shared session (one per setting); cached responses expire after :data:`CACHE_SECONDS`.

    ``cache=False`` or the environment variable ``OILFLOWS_NO_CACHE=1`` gives an uncached session.
    """
    cache = cache and os.environ.get("OILFLOWS_NO_CACHE", "") in ("", "0")
    key = (cache, os.environ.get("OILFLOWS_HTTP_BACKOFF"), os.environ.get("OILFLOWS_CACHE_DIR"))
    if key in _sessions:
        return _sessions[key]
    if cache:
        try:
            import requests_cache
        except ImportError:  # the cache is optional; without it every call goes to the network
            sess = requests.Session()
        else:
            directory = cache_path()
            directory.mkdir(parents=True, exist_ok=True)
            sess = requests_cache.CachedSession(
                str(directory / "http"), backend="sqlite", expire_after=CACHE_SECONDS,
                allowable_methods=("GET", "POST"), stale_if_error=False,
                # Credentials never reach the cache file or its keys (Comtrade key, GENESIS token).
                ignored_parameters=list(SECRET_FIELDS),
            )
    else:
        sess = requests.Session()
    adapter = HTTPAdapter(max_retries=retry_policy())
    sess.mount("https://", adapter)
    sess.mount("http://", adapter)
    sess.headers["User-Agent"] = USER_AGENT
    _sessions[key] = sess
    return sess


def request(
    method: str,
    url: str,
    *,
    params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
    data: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    ok: tuple[int, ...] = (200,),
    timeout: tuple[float, float] = TIMEOUT,
    cache: bool = True,
) -> requests.Response:
    """Send one request through the shared session and return the response if its status is in `ok`.

    Raises :class:`FetchError` (one line: status, URL, reason) on a connection failure, a timeout,
    exhausted retries, or a status outside `ok`. Response headers and secrets are never logged.
    """
    sess = session(cache)
    try:
        response = sess.request(method, url, params=params, data=data, headers=headers,
                                timeout=timeout)
    except requests.exceptions.RetryError as exc:
        raise FetchError(url, f"gave up after retries ({_reason(exc)})") from exc
    except requests.exceptions.Timeout as exc:
        raise FetchError(url, f"timed out after {timeout[1]:.0f} s") from exc
    except requests.exceptions.ConnectionError as exc:
        host = requests.utils.urlparse(url).hostname
        raise NetworkError(url, f"no network: cannot reach {host} ({_reason(exc)})") from exc
    except requests.exceptions.RequestException as exc:
        raise FetchError(url, str(exc)) from exc
    if response.status_code not in ok:
        raise FetchError(response.url or url, _body_excerpt(response), status=response.status_code)
    return response


def get(url: str, **kwargs: Any) -> requests.Response:
    """GET `url` through :func:`request`."""
    return request("GET", url, **kwargs)


def post(url: str, **kwargs: Any) -> requests.Response:
    """POST `url` through :func:`request`."""
    return request("POST", url, **kwargs)


def _reason(exc: BaseException) -> str:
    inner = exc.args[0] if exc.args else exc
    reason = getattr(inner, "reason", None) or inner
    return str(reason).splitlines()[0][:200]


def _body_excerpt(response: requests.Response) -> str:
    text = response.text[:300] if response.content else response.reason or ""
    return " ".join(text.split()) or (response.reason or "error")
