"""Credentials come from the environment or the OS keyring and leave no trace: not in logs (urllib3's
included, at DEBUG), cache keys or the cache file, the store, error messages, exception reprs or
tracebacks. Every check scans bytes for a distinctive fake secret; each also checks that the secret
was really used (sent in its header), so the scan could find it."""

from __future__ import annotations

import json
import logging
import sys
import traceback
import types
from pathlib import Path

import pytest
from _fault_server import (
    COIFPM_PATH,
    COIFPM_SPEC,
    COMTRADE_DATA_PATH,
    COMTRADE_GETDA_PATH,
    GENESIS_MODIFIED_PATH,
    GENESIS_TABLEFILE_PATH,
    FaultServer,
    Reply,
    Reset,
    coifpm_csv,
    csv_reply,
    point_sources_at,
)

from oilflows import http
from oilflows.errors import FetchError, QueryError
from oilflows.refresh import load_config, refresh
from oilflows.sources import comtrade, genesis
from oilflows.store import Store

SECRET = "SECRET-7f3a9c"  # the Comtrade key
TOKEN = "SECRET-7f3a9c-genesis"  # the GENESIS token (contains SECRET: one scan finds both)
NEEDLE = SECRET.encode()
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="module")
def server():
    with FaultServer() as srv:
        yield srv


@pytest.fixture
def env(server, monkeypatch, tmp_path, caplog):
    """Server-pointed sources, the cache ON in tmp_path/cache, secrets in the environment, DEBUG logs."""
    server.reset()
    point_sources_at(server.base, monkeypatch.setattr)
    monkeypatch.delenv("OILFLOWS_NO_CACHE", raising=False)
    monkeypatch.setenv("OILFLOWS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("OILFLOWS_HTTP_BACKOFF", "0")
    monkeypatch.setenv("OILFLOWS_HTTP_TIMEOUT", "1,1")
    monkeypatch.setenv("COMTRADE_API_KEY", SECRET)
    monkeypatch.setenv("GENESIS_TOKEN", TOKEN)
    caplog.set_level(logging.DEBUG)  # the root logger: every library's records reach caplog
    for name in ("urllib3", "requests", "oilflows"):
        caplog.set_level(logging.DEBUG, logger=name)
    http._sessions.clear()
    yield server
    http._sessions.clear()


def files_with_secret(root: Path) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and NEEDLE in p.read_bytes()]


def log_text(caplog) -> str:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    parts = []
    for record in caplog.records:
        parts.append(formatter.format(record))  # includes a formatted exception, if any
        parts.append(repr(record.args))
    return "\n".join(parts)


def exception_text(exc: BaseException) -> str:
    """str, repr and the full traceback of `exc` and of every exception chained to it."""
    parts, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        parts += [str(exc), repr(exc), "".join(traceback.format_exception(exc)),
                  str(getattr(exc, "url", ""))]
        exc = exc.__cause__ or exc.__context__
    return "\n".join(parts)


SPECS = [COIFPM_SPEC,
         {"source": "comtrade", "params": {"reporter": "CN", "partner": ["AR", "DE"], "period": "2010",
                                           "cmd": "TOTAL", "min_interval": 0}},
         {"source": "genesis", "params": {"start_year": 2023, "months": [1]}}]


def _specs(srv: FaultServer) -> list[dict]:
    specs = json.loads(json.dumps(SPECS))
    specs[2]["params"]["base_url"] = srv.url("/genesis/")
    return specs


def test_refresh_with_credentials_leaves_no_trace(env, tmp_path, caplog):
    srv = env
    comtrade_body = (FIXTURES / "comtrade" / "comtrade_data_v1_get_C_A_HS_china_annual.json").read_bytes()
    srv.script(COIFPM_PATH, then=csv_reply(coifpm_csv({("KZ_CPC_BLN", "2023-01"): 1.0})))
    srv.script(COMTRADE_DATA_PATH, then=Reply(body=comtrade_body, content_type="application/json"))
    srv.script(GENESIS_TABLEFILE_PATH, Reset(), then=Reply(
        body=(FIXTURES / "genesis" / "51000-0017_2023-01_de_flat.zip").read_bytes(),
        content_type="application/zip"))
    store = Store(tmp_path / "store")

    first = refresh(_specs(srv), store, progress=False)
    assert first.ok, first.summary()

    # Second run: every source announces a newer release, then the keyed services fail, echoing the
    # credential in their error bodies (as an API gateway may).
    srv.reset()
    srv.script(COMTRADE_GETDA_PATH, then=Reply(body=json.dumps({
        "elapsedTime": "0.1 secs", "count": 1, "error": "", "data": [
            {"reporterCode": 156, "period": "2010", "lastReleased": "2099-01-01T00:00:00"}]}).encode(),
        content_type="application/json"))
    srv.script(COMTRADE_DATA_PATH, then=Reply(401, json.dumps(
        {"statusCode": 401, "message": f"Access denied due to invalid subscription key {SECRET}."}).encode(),
        content_type="application/json"))
    modified = (FIXTURES / "genesis" / "modifieddata_51000-0017.json").read_text(encoding="utf-8")
    srv.script(GENESIS_MODIFIED_PATH, then=Reply(body=modified.replace("15.03.2024", "15.03.2099").encode(),
                                                 content_type="application/json"))
    srv.script(GENESIS_TABLEFILE_PATH, then=Reply(500, f"internal error for user {TOKEN}".encode(),
                                                  content_type="text/plain"))
    srv.script(COIFPM_PATH, then=csv_reply(coifpm_csv({("KZ_CPC_BLN", "2023-01"): 1.0})))
    second = refresh(_specs(srv), store, progress=False, keep_going=True)
    assert not second.ok
    assert isinstance(second.items[1].exception, http.AccessDeniedError)
    assert isinstance(second.items[2].exception, FetchError) and second.items[2].exception.status == 500

    # The credentials were used, in headers only.
    sent = [s for s in srv.seen if s.path.startswith(("/comtrade/data/", "/genesis/"))]
    assert sent and all(s.headers.get("Ocp-Apim-Subscription-Key") == SECRET or s.headers.get("username")
                        == TOKEN for s in sent)
    assert not [s for s in srv.seen if NEEDLE in (s.path + s.query).encode() or NEEDLE in s.body]
    # ... and left no trace.
    assert (tmp_path / "cache" / http.CACHE_FILE).is_file()  # the keyless Eurostat answer was cached
    assert files_with_secret(tmp_path) == []  # cache file, store files, anything under tmp_path
    assert SECRET not in log_text(caplog)
    assert any("Retrying" in r.getMessage() for r in caplog.records)  # the retry records were captured
    assert SECRET not in first.summary() + second.summary()
    for item in second.items:
        if item.exception is not None:
            assert SECRET not in exception_text(item.exception)
            assert "***" in str(item.exception)  # the echo was masked, not dropped


@pytest.mark.parametrize("action", [Reply(500, f"no such key {SECRET}".encode()), Reset()],
                         ids=["500 echoing the key", "connection reset"])
def test_key_in_the_url_is_redacted(env, caplog, action):
    """A key passed as a query parameter (Comtrade accepts ``subscription-key=``) is masked in the
    error, its URL, its traceback and urllib3's retry warnings, and the request is not cached."""
    env.script("/q", then=action)
    url = env.url("/q") + f"?subscription-key={SECRET}&period=2023"
    with pytest.raises(FetchError) as info:
        http.get(url)
    text = exception_text(info.value)
    assert SECRET not in text and "subscription-key=***" in text
    assert env.count("/q") == 5 and f"subscription-key={SECRET}" in env.seen[0].query  # really sent
    assert SECRET not in log_text(caplog)
    assert files_with_secret(Path(http.cache_path()).parent) == []  # the cache dir and all of tmp_path


def test_comtrade_and_genesis_errors_never_show_the_credential(env):
    env.script(COMTRADE_DATA_PATH, then=Reset())
    with pytest.raises(FetchError) as info:
        comtrade.fetch("CN", "DE", "2010", min_interval=0)
    assert SECRET not in exception_text(info.value)
    assert env.seen[0].headers["Ocp-Apim-Subscription-Key"] == SECRET
    env.script(GENESIS_TABLEFILE_PATH, then=Reply(403, f"token {TOKEN} refused".encode()))
    with pytest.raises(http.AccessDeniedError) as denied:
        genesis.fetch(start_year=2023, months=[1], base_url=env.url("/genesis/"))
    assert SECRET not in exception_text(denied.value) and "***" in str(denied.value)
    assert env.count(GENESIS_TABLEFILE_PATH) == 1  # a refused credential is not retried


def test_third_party_log_records_are_redacted(caplog):
    http.register_secret(SECRET)
    caplog.set_level(logging.DEBUG)
    logging.getLogger("urllib3.connectionpool").debug('"GET /x?key=%s HTTP/1.1" 200 3', SECRET)
    logging.getLogger("urllib3.util.retry").warning("Retry for %s", f"http://h/?token={SECRET}")
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2 and all(SECRET not in m and "***" in m for m in messages)


# -- where credentials come from ------------------------------------------------------------------------


@pytest.fixture
def fake_keyring(monkeypatch):
    store: dict[tuple[str, str], str] = {}
    module = types.ModuleType("keyring")
    module.get_password = lambda service, name: store.get((service, name))
    monkeypatch.setitem(sys.modules, "keyring", module)
    return store


def test_environment_first_then_keyring(fake_keyring, monkeypatch):
    monkeypatch.delenv("COMTRADE_API_KEY", raising=False)
    assert http.credential("COMTRADE_API_KEY") is None
    fake_keyring[("oilflows", "COMTRADE_API_KEY")] = "  from-the-keyring-1  "
    assert http.credential("COMTRADE_API_KEY") == "from-the-keyring-1"
    assert http.redact("key from-the-keyring-1 here") == "key *** here"  # registered for redaction
    monkeypatch.setenv("COMTRADE_API_KEY", "from-the-environment")
    assert http.credential("COMTRADE_API_KEY") == "from-the-environment"
    monkeypatch.setenv("COMTRADE_API_KEY", "   ")  # blank: falls through to the keyring
    assert http.credential("COMTRADE_API_KEY") == "from-the-keyring-1"


def test_broken_or_missing_keyring_means_no_entry(monkeypatch):
    monkeypatch.delenv("GENESIS_TOKEN", raising=False)
    broken = types.ModuleType("keyring")

    def fail(service, name):
        raise RuntimeError("No recommended backend was available")

    broken.get_password = fail
    monkeypatch.setitem(sys.modules, "keyring", broken)
    assert http.credential("GENESIS_TOKEN") is None
    monkeypatch.setitem(sys.modules, "keyring", None)  # import keyring -> ImportError
    assert http.credential("GENESIS_TOKEN") is None
    with pytest.raises(QueryError, match="GENESIS_TOKEN"):
        genesis.fetch(start_year=2023)


def test_sources_read_the_keyring(fake_keyring, monkeypatch, env):
    monkeypatch.delenv("COMTRADE_API_KEY")
    fake_keyring[("oilflows", "COMTRADE_API_KEY")] = SECRET
    env.script(COMTRADE_DATA_PATH, then=Reply(
        body=(FIXTURES / "comtrade" / "comtrade_data_v1_get_C_A_HS_china_annual.json").read_bytes(),
        content_type="application/json"))
    assert len(comtrade.fetch("CN", "DE", "2010", cmd="TOTAL", min_interval=0)) == 4  # the fixture's 4
    assert env.seen[0].path == COMTRADE_DATA_PATH  # the keyed endpoint
    assert env.seen[0].headers["Ocp-Apim-Subscription-Key"] == SECRET


def test_config_refuses_credentials(tmp_path):
    config = tmp_path / "refresh.toml"
    config.write_text('[[dataset]]\nsource = "comtrade"\n'
                      f'params = {{ reporter = "DE", api_key = "{SECRET}" }}\n')
    with pytest.raises(QueryError, match="'api_key' does not belong in a config") as info:
        load_config(config)
    assert SECRET not in str(info.value) and "COMTRADE_API_KEY" in str(info.value)
    with pytest.raises(QueryError, match="'token'"):
        refresh([{"source": "genesis", "params": {"token": SECRET}}], Store(tmp_path / "s"), progress=False)
    assert not (tmp_path / "s").exists()


def test_redact_masks_credential_parameters():
    assert http.redact("https://h/p?subscription-key=abc123&period=2023") == \
        "https://h/p?subscription-key=***&period=2023"
    assert http.redact("x?TOKEN=t0k3n") == "x?TOKEN=***"
    assert http.redact("https://h/p?period=2023") == "https://h/p?period=2023"


def test_a_key_in_the_url_of_a_successful_request_is_not_cached(env):
    """The cache skips a request whose URL itself carries a credential (a 200 answer would
    otherwise be stored with its URL): the second call must reach the server again."""
    env.script("/ok", then=Reply(body=b"fine"))
    url = env.url("/ok") + f"?subscription-key={SECRET}&period=2023"
    assert http.get(url).content == b"fine"
    assert http.get(url).content == b"fine"
    assert env.count("/ok") == 2
    assert files_with_secret(Path(http.cache_path()).parent) == []


@pytest.mark.parametrize("key", ["API_KEY", "Subscription-Key", "access_token"])
def test_credential_keys_in_a_config_are_refused_whatever_their_case(tmp_path, key):
    config = tmp_path / "refresh.toml"
    config.write_text(f'[[dataset]]\nsource = "comtrade"\nparams = {{ "{key}" = "{SECRET}" }}\n')
    with pytest.raises(QueryError, match="does not belong in a config") as info:
        refresh(config, Store(tmp_path / "store"), progress=False)
    assert SECRET not in str(info.value)
