"""The HTTP layer: one-line FetchError messages, the uncached and the cached session. No network."""

from __future__ import annotations

import pytest
import requests
import responses

from oilflows import http
from oilflows.errors import FetchError

URL = "https://ec.europa.eu/eurostat/api/dissemination/catalogue/toc/txt"


def test_fetch_error_message_is_one_line_with_url_and_status(mocked_responses):
    body = "<S:Fault>\n  <faultcode>140</faultcode>\n  <faultstring>Syntax error</faultstring>\n</S:Fault>"
    mocked_responses.add(responses.GET, URL, status=400, body=body, content_type="text/xml")
    with pytest.raises(FetchError) as info:
        http.get(URL, params={"lang": "en"})
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("HTTP 400 ")
    assert URL in message
    assert "Syntax error" in message
    assert info.value.status == 400
    assert info.value.url.startswith(URL)
    assert len(mocked_responses.calls) == 1  # 400 is not retried


def test_fetch_error_after_exhausted_retries(mocked_responses):
    mocked_responses.add(responses.GET, URL, status=502, body="Bad Gateway\n\n",
                         content_type="text/plain")
    with pytest.raises(FetchError) as info:
        http.get(URL)
    assert str(info.value) == f"HTTP 502 {URL}: Bad Gateway"
    assert len(mocked_responses.calls) == 5


def test_ok_statuses_are_returned(mocked_responses):
    mocked_responses.add(responses.GET, URL, status=404, body="No results found")
    response = http.get(URL, ok=(200, 404))
    assert response.status_code == 404
    assert mocked_responses.calls[0].request.req_kwargs["timeout"] == http.TIMEOUT


def test_fetch_error_without_status():
    error = FetchError("https://example.invalid/x", "timed out after 120 s")
    assert str(error) == "https://example.invalid/x: timed out after 120 s"
    assert error.status is None
    assert isinstance(error, OSError)


def test_no_cache_makes_no_cache_file(mocked_responses, tmp_path, monkeypatch):
    monkeypatch.setenv("OILFLOWS_CACHE_DIR", str(tmp_path))
    session = http.session()
    assert type(session) is requests.Session
    assert http.session() is session  # shared
    assert session.headers["User-Agent"] == http.USER_AGENT
    mocked_responses.add(responses.GET, URL, body="x")
    http.get(URL)
    http.get(URL)
    assert len(mocked_responses.calls) == 2  # OILFLOWS_NO_CACHE=1 (http_env): both went out
    assert list(tmp_path.iterdir()) == []  # no cache file made


def test_cache_serves_a_repeated_get(mocked_responses, tmp_path, monkeypatch):
    monkeypatch.delenv("OILFLOWS_NO_CACHE")
    monkeypatch.setenv("OILFLOWS_CACHE_DIR", str(tmp_path / "cache"))
    mocked_responses.add(responses.GET, URL, body="code\tlast update of data\nnrg_ti_coifpm\t28.02.2024\n",
                         headers={"Date": "Wed, 28 Feb 2024 12:00:00 GMT"})
    assert http.cache_path() == tmp_path / "cache"

    first = http.get(URL, params={"lang": "en"})
    second = http.get(URL, params={"lang": "en"})
    assert len(mocked_responses.calls) == 1
    assert not getattr(first, "from_cache", False)
    assert second.from_cache
    assert second.text == first.text and second.url == first.url
    assert second.headers["Date"] == "Wed, 28 Feb 2024 12:00:00 GMT"  # kept for vintage="date"
    assert (tmp_path / "cache" / http.CACHE_FILE).is_file()

    http.get(URL, params={"lang": "de"})  # another request goes to the server
    assert len(mocked_responses.calls) == 2
    http.get(URL, params={"lang": "en"}, cache=False)  # and so does an explicitly uncached one
    assert len(mocked_responses.calls) == 3


def test_errors_are_not_cached(mocked_responses, tmp_path, monkeypatch):
    monkeypatch.delenv("OILFLOWS_NO_CACHE")
    monkeypatch.setenv("OILFLOWS_CACHE_DIR", str(tmp_path))
    mocked_responses.add(responses.GET, URL, status=404, body="No results found")
    for _ in range(2):
        assert http.get(URL, ok=(200, 404)).status_code == 404
    assert len(mocked_responses.calls) == 2


def test_the_test_suite_cannot_reach_the_internet():
    """The autouse guard in conftest refuses non-loopback connections (so no test can silently
    depend on a live service)."""
    import socket

    with socket.socket() as sock, pytest.raises(OSError, match="must not touch the network"):
        sock.connect(("192.0.2.1", 80))  # TEST-NET-1: would time out, never answer
