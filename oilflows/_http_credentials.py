"""Credentials of :mod:`oilflows.http`: the names that carry them (:data:`SECRET_FIELDS`), the values seen
(:func:`register_secret`), :func:`redact` (also installed on log records and on FetchError/SourceFormatError),
:func:`credential` (environment, then the OS keyring), and keeping credentials on their origin across a
redirect (:func:`_redirect`).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from . import errors as _errors
from .errors import (
    FetchError,
)

log = logging.getLogger("oilflows.http")  # the parts log as the one HTTP layer


#: Header, parameter and form-field names that carry credentials (compared case-insensitively): the one
#: list. Sources declare theirs with :func:`register_credential_header`; a request carrying one is never
#: cached, its values are redacted, and none of them follows a redirect to another origin.
SECRET_FIELDS: list[str] = ["Authorization", "Ocp-Apim-Subscription-Key", "subscription-key", "username",
                            "password", "token", "api_key", "apikey", "access_token"]

#: The keyring service name under which :func:`credential` looks a variable up.
KEYRING_SERVICE = "oilflows"

_SECRET_NAMES: set[str] = {name.lower() for name in SECRET_FIELDS}

#: Dropped with the credential headers on a redirect to another origin.
_ORIGIN_BOUND_HEADERS = frozenset({"cookie", "proxy-authorization"})

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

def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}.get(scheme)

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

__all__ = ["KEYRING_SERVICE", "REDACTED_LOGGERS", "SECRET_FIELDS", "credential", "redact",
           "register_credential_header", "register_secret"]
