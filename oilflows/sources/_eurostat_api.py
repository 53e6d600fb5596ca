"""Eurostat's asynchronous extractions, shared by the dissemination and Comext hosts.

A large or fair-use-limited query answers with an XML message holding a key instead of data; the
client polls ``{base}/1.0/async/status/{key}`` until AVAILABLE and downloads
``{base}/1.0/async/data/{key}`` (sources.md 1.7).
"""

from __future__ import annotations

import re
import time

from .. import http
from ..errors import FetchError

ASYNC_KEY = re.compile(r"<(?:\w+:)?id>\s*([^<\s]+)\s*</(?:\w+:)?id>", re.IGNORECASE)
ASYNC_STATUS = re.compile(r"<(?:\w+:)?status>\s*([A-Z_]+)\s*</(?:\w+:)?status>", re.IGNORECASE)
WAITING = ("SUBMITTED", "PROCESSING")


def async_key(text: str) -> str | None:
    """The extraction key of a queued-request message, or None if `text` is not one."""
    if not text.lstrip().startswith("<") and "ASYNCHRONOUS" not in text.upper():
        return None
    upper = text.upper()
    if not any(word in upper for word in ("ASYNC", "QUEUED", "SUBMITTED", "PROCESSING")):
        return None
    match = ASYNC_KEY.search(text)
    return match.group(1) if match else None


def await_async(base_url: str, key: str, poll_seconds: float, max_wait_seconds: float) -> bytes:
    """Poll extraction `key` on `base_url` every `poll_seconds` until AVAILABLE and return its
    SDMX-CSV (gzip) bytes; :class:`FetchError` on ERROR/EXPIRED/unknown status or after
    `max_wait_seconds`."""
    status_url = f"{base_url}/1.0/async/status/{key}"
    waited = 0.0
    while True:
        match = ASYNC_STATUS.search(http.get(status_url, cache=False).text)
        status = match.group(1).upper() if match else "UNREADABLE"
        if status == "AVAILABLE":
            break
        if status not in WAITING:
            raise FetchError(status_url, f"asynchronous extraction {key} ended with status {status}")
        if waited >= max_wait_seconds:
            raise FetchError(status_url, f"asynchronous extraction {key} still {status} after "
                             f"{waited:.0f} s")
        time.sleep(poll_seconds)
        waited += poll_seconds
    data_url = f"{base_url}/1.0/async/data/{key}"
    return http.get(data_url, params={"format": "SDMX-CSV", "compressed": "true"}, cache=False).content
