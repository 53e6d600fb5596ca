"""The HTTP disk cache of :mod:`oilflows.http`: a SQLite file under :func:`cache_path`, entries kept for
:data:`CACHE_SECONDS`, never markup or a cut gzip stream; :func:`invalidate` drops entries under a URL prefix.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from requests.structures import CaseInsensitiveDict

from ._http_credentials import redact

log = logging.getLogger("oilflows.http")  # the parts log as the one HTTP layer


#: How long a cached response stays fresh, seconds (Eurostat updates a dataset at most daily).
CACHE_SECONDS = 6 * 3600

#: The cache file under :func:`cache_path` (``http.sqlite`` was oilflows 0.1's requests-cache file).
CACHE_FILE = "http-cache.sqlite"

#: Bodies larger than this are not cached, bytes.
CACHE_MAX_BYTES = 64 * 1024 * 1024

_CACHED_HEADERS = ("Content-Type", "Content-Disposition", "Date", "Last-Modified", "ETag")

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

__all__ = ["CACHE_FILE", "CACHE_MAX_BYTES", "CACHE_SECONDS", "cache_enabled", "cache_path", "invalidate"]
