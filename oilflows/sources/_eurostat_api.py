"""The Eurostat-family protocol, shared by the dissemination host (:mod:`.eurostat`) and Comext's
(:mod:`.comext`): one answer classification, asynchronous extractions, one data request.

:func:`classify` is the one reading of an answer of either host (sources.md 1.6, 1.7):

- 404 with "No results found" (fault 100): no data (an empty result); any other 404 is a FetchError;
- an XML message holding an extraction key (200, or 413 ASYNCHRONOUS_RESPONSE): a queued extraction;
  the client polls ``{base}/1.0/async/status/{key}`` until AVAILABLE and downloads
  ``{base}/1.0/async/data/{key}`` (:func:`await_async`);
- **too big**: 413 EXTRACTION_TOO_BIG (above the 5,000,000-cell cap), fault 130 "Response too large due
  to client request" or fault 510 "Response size exceeds service limit". Decision: both sources
  **split** the query and fetch the parts (sources.md 1.6: "Do not retry EXTRACTION_TOO_BIG. Split the
  query instead"); until 2026 eurostat raised while comext split. Only a query that cannot be split
  further (one period and one code per dimension) is a FetchError;
- any other 413, or an HTML/XML page where data should be: FetchError;
- anything else: data (a possibly gzip SDMX-CSV body; the reader checks it).

The body is looked into through :func:`oilflows._io.text_head` (a gzip body inflated only as far as
needed), never decompressed here.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import http
from .._io import body_head, markup_title, sniff_text_kind, text_head
from ..errors import FetchError
from ._fetch import TooBig

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


#: Too-big answers: the service wants a smaller query (see the module docstring).
TOO_BIG_MARKERS = ("EXTRACTION_TOO_BIG",)
TOO_BIG_413_MARKERS = ("TOO LARGE", "EXCEEDS")


@dataclass(frozen=True)
class Answer:
    """What an answer of a Eurostat-family host is: `kind` "data" (`body` to read), "empty" (no
    results), "queued" (an asynchronous extraction `key`) or "too_big" (`detail` from the fault)."""

    kind: str
    body: bytes = b""
    key: str | None = None
    detail: str = ""


def classify(response: Any) -> Answer:
    """The one classification of an answer of the Eurostat or Comext host (module docstring); raises
    FetchError for a 404 other than "no results", a 413 that is neither queued nor too big, and an
    HTML/XML page."""
    body = response.content
    where = response.url
    status = response.status_code
    head = text_head(body)
    excerpt = " ".join(head.split())[:300]
    upper = head.upper()
    if status == 404:
        if "No results found" in head or "NO_RESULTS" in upper:
            return Answer("empty")
        raise FetchError(where, excerpt or "not found", status=404)
    key = async_key(head)
    if key is not None:
        return Answer("queued", key=key)
    if any(m in upper for m in TOO_BIG_MARKERS) or (status == 413 and any(m in upper for m in
                                                                          TOO_BIG_413_MARKERS)):
        return Answer("too_big", detail=fault_text(head) or excerpt or "413")
    if status == 413:
        raise FetchError(where, excerpt or "413", status=413)
    if sniff_text_kind(body_head(body)[0]) == "markup":
        raise FetchError(where, f"the service sent an HTML/XML page instead of data: {markup_title(body)!r}",
                         status=status)
    return Answer("data", body=body)


def fault_text(text: str) -> str:
    """The ``<faultstring>`` of a SOAP fault, whitespace collapsed (empty if there is none)."""
    match = re.search(r"<faultstring>(.*?)</faultstring>", text, re.DOTALL)
    return " ".join(match.group(1).split())[:300] if match else ""


class Queued(Exception):
    """A 200 answer announcing a queued (asynchronous) extraction: not data, never cached."""

    def __init__(self, key: str, url: str):
        super().__init__(key)
        self.key, self.url = key, url


def get_data(
    url: str,
    params: dict[str, str],
    to_frame: Callable[[bytes, str], Any],
    *,
    base_url: str,
    poll_seconds: float,
    max_wait_seconds: float,
) -> Any:
    """One data request to a Eurostat-family host: ``to_frame(body, url)`` of the data (the body of a
    queued extraction once it is available), None for "no results"; :class:`TooBig` for a too-big
    answer (:func:`oilflows.sources._fetch.fetch_split` splits the query). A 200 is cached only if
    it classifies as data and `to_frame` read it (never a page, a notice or a cut gzip stream)."""

    def answer(response: Any) -> Any:
        found = classify(response)
        if found.kind == "queued":
            assert found.key is not None  # classify() gives every queued answer its key
            raise Queued(found.key, response.url)
        if found.kind == "too_big":
            raise TooBig(response.url, found.detail, response.status_code)
        if found.kind == "empty":
            return None
        return to_frame(found.body, response.url)

    try:
        response = http.get(url, params=params, ok=(200, 404, 413), validate=answer)
        if response.status_code == 200:
            return response.validated  # type: ignore[attr-defined]  # set by http.get(validate=...)
        return answer(response)
    except Queued as queued:
        body = await_async(base_url, queued.key, poll_seconds, max_wait_seconds)
        return to_frame(body, queued.url)
