"""Refresh under faults, against the real fetchers pointed at a loopback server.

A refresh either completes with exactly the data the server sent (checked against hand-written values)
or fails with a typed error and the store byte-identical (every file hashed, the lock file excepted).
Two refresh processes on one store lose no update and corrupt nothing.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from _fault_server import (
    COIFPM_PATH,
    COIFPM_SPEC,
    COMTRADE_PREVIEW_PATH,
    GENESIS_TABLEFILE_PATH,
    OIL_PATH,
    OIL_SPEC,
    OILM_PATH,
    OILM_SPEC,
    Chunked,
    Delay,
    Drip,
    FaultServer,
    Group,
    Meet,
    Reply,
    Reset,
    ResetMidBody,
    Truncate,
    coifpm_csv,
    csv_reply,
    oil_csv,
    point_sources_at,
)

from oilflows import http
from oilflows.errors import FetchError, NetworkError, SourceFormatError
from oilflows.refresh import refresh
from oilflows.store import Store

TESTS = Path(__file__).resolve().parent
#: Timeouts, seconds: answers that must arrive get TIMEOUT however loaded the machine; the read-timeout
#: faults use a short read timeout only where no answer has to come in time (see FAULTS).
TIMEOUT = "10,10"
#: A server that never answers: its handler waits until the next test's reset releases it.
HANG = 300.0

# Hand-written releases: kbbl (coifpm) and kt (nrg_ti_oil); None is a confidential cell (flag c).
OLD_COIFPM = {("KZ_CPC_BLN", "2023-01"): 1000.0, ("KZ_CPC_BLN", "2023-02"): 1100.0,
              ("RU_EXP_BLN", "2023-01"): None}
NEW_COIFPM = {("KZ_CPC_BLN", "2023-01"): 1000.0, ("KZ_CPC_BLN", "2023-02"): 1150.5,
              ("KZ_CPC_BLN", "2023-03"): 1200.25, ("RU_EXP_BLN", "2023-01"): None}
OLD_OIL = {("KZ", "2022"): 7427.0, ("RU", "2022"): 5000.0}
NEW_OIL = {("KZ", "2022"): 7500.0, ("RU", "2022"): 5000.0, ("KZ", "2023"): 8000.0}
OLD_STAMPS = ("28/02/24 11:00:00", "15/01/24 23:00:00")
NEW_STAMPS = ("28/03/24 11:00:00", "15/02/24 23:00:00")


def coifpm_expected(values: dict, stamp: str) -> dict:
    """{(grade, period): (volume_bbl, flag, vintage)}: kbbl x 1000; a None cell is NaN with flag c."""
    vintage = pd.Timestamp(pd.to_datetime(stamp, format="%d/%m/%y %H:%M:%S"))
    return {(crude, pd.Timestamp(period + "-01")): (None if v is None else v * 1000, None if v is not None
                                                    else "c", vintage)
            for (crude, period), v in values.items()}


def merged(old: dict, new: dict) -> dict:
    """What the store holds after `new` is written over `old` (expected dicts): an observation whose
    value and flag did not change keeps its older vintage; a changed or new one takes the new."""
    out = dict(new)
    for key, (value, flag, _) in new.items():
        if key in old and old[key][:2] == (value, flag):
            out[key] = old[key]
    return out


def oil_expected(values: dict, stamp: str) -> dict:
    """{(partner, period): (mass_t, None, vintage)}: kt x 1000."""
    vintage = pd.Timestamp(pd.to_datetime(stamp, format="%d/%m/%y %H:%M:%S"))
    return {(partner, pd.Timestamp(f"{year}-01-01")): (v * 1000, None, vintage)
            for (partner, year), v in values.items()}


def stored(store: Store, dataset: str, as_of=None) -> dict:
    frame = store.read(dataset=dataset, as_of=as_of)
    if dataset == "nrg_ti_coifpm":
        keys, measure = ["grade", "period"], "volume_bbl"
    else:
        keys, measure = ["partner", "period"], "mass_t"
    out = {}
    for row in frame.itertuples(index=False):
        value = getattr(row, measure)
        flag = row.flag if isinstance(row.flag, str) else None
        out[tuple(getattr(row, k) for k in keys)] = (None if pd.isna(value) else value, flag,
                                                      pd.Timestamp(row.vintage))
    return out


def snapshot(root: Path) -> dict[str, str]:
    """sha256 of every file under `root` but lock files."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.name.endswith(".lock")}


@pytest.fixture(scope="module")
def server():
    with FaultServer() as srv:
        yield srv


@pytest.fixture
def srv(server, monkeypatch):
    server.reset()
    point_sources_at(server.base, monkeypatch.setattr)
    monkeypatch.setenv("OILFLOWS_NO_CACHE", "1")
    monkeypatch.setenv("OILFLOWS_HTTP_BACKOFF", "0")
    monkeypatch.setenv("OILFLOWS_HTTP_TIMEOUT", TIMEOUT)
    http._sessions.clear()
    yield server
    http._sessions.clear()


def serve_release(srv: FaultServer, coifpm: dict, oil: dict, stamps: tuple[str, str]) -> None:
    srv.script(COIFPM_PATH, then=csv_reply(coifpm_csv(coifpm, stamps[0])))
    srv.script(OIL_PATH, then=csv_reply(oil_csv(oil, stamps[1])))


@pytest.fixture(scope="module")
def old_store(server, tmp_path_factory):
    """A store holding the OLD release of both datasets (built once, copied per test)."""
    root = tmp_path_factory.mktemp("old") / "store"
    mp = pytest.MonkeyPatch()
    try:
        point_sources_at(server.base, mp.setattr)
        mp.setenv("OILFLOWS_NO_CACHE", "1")
        http._sessions.clear()
        server.reset()
        serve_release(server, OLD_COIFPM, OLD_OIL, OLD_STAMPS)
        result = refresh([COIFPM_SPEC, OIL_SPEC], Store(root), progress=False)
        assert result.ok and result.write.rows_new == 3 + 2, result.summary()
    finally:
        mp.undo()
        http._sessions.clear()
    return root


@pytest.fixture
def store(old_store, tmp_path):
    root = tmp_path / "store"
    shutil.copytree(old_store, root)
    return Store(root, lock_timeout=30)


def test_old_store_holds_the_old_release(store):
    assert stored(store, "nrg_ti_coifpm") == coifpm_expected(OLD_COIFPM, OLD_STAMPS[0])
    assert stored(store, "nrg_ti_oil") == oil_expected(OLD_OIL, OLD_STAMPS[1])


@dataclass
class Fault:
    name: str
    actions: tuple  # served to the nrg_ti_oil request(s) before the good answer
    then: object | None  # None: the NEW release
    requests: int  # nrg_ti_oil requests the server must see
    error: type[Exception] | None = None  # None: the refresh must complete
    fragment: str = ""
    env: dict | None = None


NEW_COIFPM_STORED = merged(coifpm_expected(OLD_COIFPM, OLD_STAMPS[0]),
                           coifpm_expected(NEW_COIFPM, NEW_STAMPS[0]))
NEW_OIL_STORED = merged(oil_expected(OLD_OIL, OLD_STAMPS[1]), oil_expected(NEW_OIL, NEW_STAMPS[1]))
GOOD = csv_reply(oil_csv(NEW_OIL, NEW_STAMPS[1]))
BIG = csv_reply(oil_csv({(f"X{i}", "2023"): float(i) for i in range(200)}, NEW_STAMPS[1]))
HTML = Reply(200, b"<html lang='en' class='no-js'><head><title>Eurostat - maintenance</title></head></html>",
             content_type="text/html")
GZ = gzip.compress(oil_csv(NEW_OIL, NEW_STAMPS[1]))
GZ_50 = gzip.compress(oil_csv({(f"X{i}", "2023"): float(i) for i in range(50)}, NEW_STAMPS[1]))

FAULTS = [
    # survived: the refresh completes with the NEW release
    Fault("503 502 then data", (Reply(503), Reply(502)), None, 3),
    Fault("reset before the answer, then data", (Reset(),), None, 2),
    Fault("read timeout, then data", (Delay(HANG),), None, 2, env={"OILFLOWS_HTTP_TIMEOUT": "10,2"}),
    Fault("429 Retry-After 1, then data", (Reply(429, b"", {"Retry-After": "1"}),), None, 2),
    Fault("truncated body, then data", (Truncate(GOOD, 50),), None, 2),
    Fault("reset mid-body, then data", (ResetMidBody(GOOD, 50),), None, 2),
    Fault("gzip body", (), Reply(body=GZ, content_type="application/octet-stream"), 1),
    # failed: a typed error, nothing written
    Fault("500 always", (), Reply(500, b"<S:Fault><faultcode>500</faultcode></S:Fault>"), 5, FetchError,
          "HTTP 500"),
    Fault("reset always", (), Reset(), 5, FetchError, "closed the connection"),
    Fault("read timeout always", (), Delay(HANG), 5, http.FetchTimeoutError, "timed out",
          {"OILFLOWS_HTTP_TIMEOUT": "10,0.4"}),
    Fault("truncated always", (), Truncate(GOOD, 50), 3, http.TruncatedBodyError, "after 50 of"),
    Fault("chunked body cut", (), Chunked(GOOD, 40, cut=True), 3, http.TruncatedBodyError,
          "connection ended"),
    Fault("HTML page with 200", (), HTML, 1, FetchError, "Eurostat - maintenance"),
    Fault("403 authentication", (), Reply(403, b"Forbidden"), 1, http.AccessDeniedError, "access refused"),
    Fault("429 asking for an hour", (), Reply(429, b"", {"Retry-After": "3600"}), 1,
          http.RateLimitedError, "3600 s"),
    Fault("body over the limit", (), BIG, 1, http.BodyTooLargeError, "limit of 2,000 bytes",
          {"OILFLOWS_MAX_BODY_BYTES": "2000"}),
    Fault("slow drip", (), Drip(GOOD, 4, 0.05), 1, http.FetchTimeoutError, "body not complete",
          {"OILFLOWS_HTTP_DEADLINE": "1"}),
    Fault("changed CSV header", (), csv_reply(oil_csv(NEW_OIL).replace(b"OBS_VALUE", b"VALUE")), 1,
          SourceFormatError, "OBS_VALUE"),
    Fault("empty body with 200", (), csv_reply(b""), 1, SourceFormatError, "empty"),
    Fault("gzip stream cut inside a complete answer", (), Reply(body=GZ_50[: len(GZ_50) // 2]), 1,
          SourceFormatError, "gzip"),
]


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_refresh_completes_or_writes_nothing(srv, store, fault, monkeypatch):
    for name, value in (fault.env or {}).items():
        monkeypatch.setenv(name, value)
    srv.script(COIFPM_PATH, then=csv_reply(coifpm_csv(NEW_COIFPM, NEW_STAMPS[0])))
    srv.script(OIL_PATH, *fault.actions, then=fault.then or GOOD)
    before = snapshot(store.path)

    result = refresh([COIFPM_SPEC, OIL_SPEC], store, progress=False)

    assert srv.count(COIFPM_PATH) == 1 and srv.count(OIL_PATH) == fault.requests
    if fault.error is None:
        assert result.ok, result.summary()
        assert stored(store, "nrg_ti_coifpm") == NEW_COIFPM_STORED
        assert stored(store, "nrg_ti_oil") == NEW_OIL_STORED
        # The old release is still readable as of before the new one (nothing lost).
        assert stored(store, "nrg_ti_oil", as_of="2024-01-31") == oil_expected(OLD_OIL, OLD_STAMPS[1])
        assert snapshot(store.path) != before
    else:
        assert not result.ok and result.write is None
        failed = result.items[1]
        assert type(failed.exception) is fault.error and failed.error == str(failed.exception)
        assert fault.fragment in failed.error and OIL_PATH.split("/")[-2] in failed.error
        assert result.items[0].rows == 4 and not result.items[0].written  # fetched, then dropped
        assert "nothing written" in result.summary()
        assert snapshot(store.path) == before  # byte-identical


def test_first_failure_stops_the_refresh(srv, store):
    srv.script(COIFPM_PATH, then=Reply(500, b"down"))
    srv.script(OIL_PATH, then=GOOD)
    before = snapshot(store.path)
    result = refresh([COIFPM_SPEC, OIL_SPEC], store, progress=False)
    assert [i.attempted for i in result.items] == [True, False]
    assert srv.count(OIL_PATH) == 0 and "not fetched" in result.summary()
    assert snapshot(store.path) == before


def test_keep_going_writes_what_worked_and_keeps_the_rest(srv, store):
    srv.script(COIFPM_PATH, then=csv_reply(coifpm_csv(NEW_COIFPM, NEW_STAMPS[0])))
    srv.script(OIL_PATH, then=Reset())
    result = refresh([COIFPM_SPEC, OIL_SPEC], store, progress=False, keep_going=True)
    assert not result.ok and result.keep_going
    assert result.items[0].written and result.items[0].summary.rows_new == 1  # 2023-03 is new
    assert result.items[0].summary.rows_changed == 1  # 2023-02 revised; two cells unchanged
    assert not result.items[1].written and isinstance(result.items[1].exception, FetchError)
    assert stored(store, "nrg_ti_coifpm") == NEW_COIFPM_STORED
    assert stored(store, "nrg_ti_oil") == oil_expected(OLD_OIL, OLD_STAMPS[1])


def test_unreachable_host_raises_and_writes_nothing(srv, store, monkeypatch):
    from oilflows.sources import eurostat

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setattr(eurostat, "BASE_URL", f"http://127.0.0.1:{port}/eurostat")
    before = snapshot(store.path)
    with pytest.raises(NetworkError, match="no network"):
        refresh([COIFPM_SPEC, OIL_SPEC], store, progress=False)
    assert snapshot(store.path) == before


# -- every source through the server ----------------------------------------------------------------------

FIXTURES = TESTS / "fixtures"


def _three_sources(srv: FaultServer, monkeypatch) -> list[dict]:
    monkeypatch.setenv("GENESIS_TOKEN", "token-for-the-fault-server")
    srv.script(COIFPM_PATH, then=csv_reply(coifpm_csv(NEW_COIFPM, NEW_STAMPS[0])))
    srv.script(COMTRADE_PREVIEW_PATH, then=Reply(
        body=(FIXTURES / "comtrade" / "comtrade_data_v1_get_C_A_HS_china_annual.json").read_bytes(),
        content_type="application/json"))
    return [COIFPM_SPEC,
            {"source": "comtrade", "incremental": False,
             "params": {"reporter": "CN", "partner": ["AR", "DE"], "period": "2010", "cmd": "TOTAL",
                        "min_interval": 0}},
            {"source": "genesis", "incremental": False,
             "params": {"start_year": 2023, "months": [1], "base_url": srv.url("/genesis/")}}]


def test_three_sources_complete(srv, tmp_path, monkeypatch):
    specs = _three_sources(srv, monkeypatch)
    srv.script(GENESIS_TABLEFILE_PATH, Reset(), then=Reply(
        body=(FIXTURES / "genesis" / "51000-0017_2023-01_de_flat.zip").read_bytes(),
        content_type="application/zip"))
    store = Store(tmp_path / "s")
    result = refresh(specs, store, progress=False)
    assert result.ok, result.summary()
    assert srv.count(GENESIS_TABLEFILE_PATH) == 2  # the reset was retried
    assert stored(store, "nrg_ti_coifpm") == coifpm_expected(NEW_COIFPM, NEW_STAMPS[0])
    comtrade = store.read(source="comtrade", partner="DE", flow="import")
    assert comtrade["value"].tolist() == [74251272075.0]  # China's 2010 imports from Germany, USD
    destatis = store.read(source="destatis", partner="KZ", start="2023-01", end="2023-01")
    # The fixture's KZ row: 928000,0 t of WA27090090 (crude, n.e.s.) in January 2023.
    assert 928000.0 in destatis["mass_t"].tolist()


def test_three_sources_one_failure_writes_nothing(srv, tmp_path, monkeypatch):
    specs = _three_sources(srv, monkeypatch)
    srv.script(GENESIS_TABLEFILE_PATH, then=Reply(
        body=(FIXTURES / "genesis" / "status_99_job_created.json").read_bytes(),
        content_type="application/json"))
    store = Store(tmp_path / "s")
    result = refresh(specs, store, progress=False)
    assert [i.rows > 0 for i in result.items] == [True, True, False]
    assert isinstance(result.items[2].exception, FetchError) and "status 99" in result.items[2].error
    assert not store.path.exists() or store.read().empty


# -- two processes, one store ----------------------------------------------------------------------

CHILD = r"""
import json, sys
sys.path.insert(0, {tests!r})
from _fault_server import point_sources_at
point_sources_at({base!r})
from oilflows.refresh import refresh
from oilflows.store import Store
specs = json.loads(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()  # wait for the parent's go: both refreshes start together
result = refresh(specs, Store(sys.argv[2], lock_timeout=60), progress=False)
print(json.dumps({{"ok": result.ok, "rows": [i.rows for i in result.items], "summary": result.summary()}}))
"""
KZ_ONLY_PATH = "/eurostat/sdmx/2.1/data/nrg_ti_coifpm/.KZ_CPC_BLN.VOL_THS_BBL.DE"
KZ_ONLY_SPEC = {**COIFPM_SPEC, "filters": {"geo": "DE", "indic_nrg": "VOL_THS_BBL", "crudeoil": "KZ_CPC_BLN"}}
OILM = {("KZ", "2023-01"): 600.0, ("RU", "2023-01"): 0.0, ("KZ", "2023-02"): 650.0}


def test_two_refresh_processes_on_one_store(srv, tmp_path):
    """P1 writes coifpm (all grades, older release) and nrg_ti_oil; P2 writes coifpm KZ_CPC_BLN (newer
    release, overlapping P1's KZ cells) and nrg_ti_oilm. Whatever the order, nothing is lost."""
    kz_new = {k: v for k, v in NEW_COIFPM.items() if k[0] == "KZ_CPC_BLN"}
    # Each process's first request is held until the other's has arrived too: they overlap for certain.
    first = Group(2, timeout=60)
    coifpm = csv_reply(coifpm_csv(OLD_COIFPM, OLD_STAMPS[0]))
    kz = csv_reply(coifpm_csv(kz_new, NEW_STAMPS[0]))
    srv.script(COIFPM_PATH, Meet(first, coifpm), then=Delay(0.5, coifpm))
    srv.script(OIL_PATH, then=Delay(0.5, csv_reply(oil_csv(NEW_OIL, NEW_STAMPS[1]))))
    srv.script(KZ_ONLY_PATH, Meet(first, kz), then=Delay(0.5, kz))
    srv.script(OILM_PATH, then=Delay(0.5, csv_reply(oil_csv(OILM, NEW_STAMPS[1], "nrg_ti_oilm"))))
    root = tmp_path / "store"
    env = {**os.environ, "OILFLOWS_NO_CACHE": "1", "OILFLOWS_HTTP_BACKOFF": "0",
           "OILFLOWS_HTTP_TIMEOUT": "10,120"}  # longer than the hold
    code = CHILD.format(tests=str(TESTS), base=srv.base)
    children = [subprocess.Popen([sys.executable, "-c", code, json.dumps(specs), str(root)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, env=env)
                for specs in ([COIFPM_SPEC, OIL_SPEC], [KZ_ONLY_SPEC, OILM_SPEC])]
    try:
        for child in children:
            assert child.stdout.readline().strip() == "ready"
        for child in children:
            child.stdin.write("go\n")
            child.stdin.flush()
        outputs = [child.communicate(timeout=600) for child in children]  # bounds the test only
    finally:
        for child in children:
            child.kill()
    for (out, err), child in zip(outputs, children, strict=True):
        assert child.returncode == 0, err[-2000:]
        assert json.loads(out.strip().splitlines()[-1])["ok"], out
    assert srv.max_in_flight >= 2  # the two refreshes really overlapped

    for file in root.rglob("*.parquet"):  # every file readable
        pq.read_table(file)
    store = Store(root)
    expected = coifpm_expected(OLD_COIFPM, OLD_STAMPS[0])
    expected.update(coifpm_expected(kz_new, NEW_STAMPS[0]))  # the newer release wins per observation
    got = stored(store, "nrg_ti_coifpm")
    assert {k: v[:2] for k, v in got.items()} == {k: v[:2] for k, v in expected.items()}
    old = coifpm_expected(OLD_COIFPM, OLD_STAMPS[0])
    for key, (value, flag, vintage) in got.items():
        # A cell the newer release did not change keeps the vintage of whichever write came first.
        unchanged = key in old and old[key][:2] == (value, flag)
        assert vintage == expected[key][2] or (unchanged and vintage == old[key][2]), key
    assert stored(store, "nrg_ti_oil") == oil_expected(NEW_OIL, NEW_STAMPS[1])
    assert stored(store, "nrg_ti_oilm") == {(p, pd.Timestamp(f"{m}-01")): (v * 1000, None, pd.Timestamp(
        "2024-02-15 23:00")) for (p, m), v in OILM.items()}
    assert len(store.read()) == len(expected) + len(NEW_OIL) + len(OILM)
    # P1's older KZ cells are kept as a vintage whichever process wrote first.
    older = stored(store, "nrg_ti_coifpm", as_of="2024-03-01")
    assert older == coifpm_expected(OLD_COIFPM, OLD_STAMPS[0])


def test_fixture_zip_holds_one_csv():  # guards the GENESIS fixture the tests above serve
    with zipfile.ZipFile(FIXTURES / "genesis" / "51000-0017_2023-01_de_flat.zip") as archive:
        assert len([n for n in archive.namelist() if n.endswith(".csv")]) == 1


# -- the HTTP cache and release stamps --------------------------------------------------------------------

INCREMENTAL_COIFPM = {**COIFPM_SPEC, "incremental": True}


@pytest.mark.parametrize("invalidating", [True, False], ids=["as shipped", "without invalidation"])
def test_a_newer_release_is_not_served_from_the_cache(srv, tmp_path, monkeypatch, invalidating):
    """The first refresh caches Eurostat's answer; the TOC then announces a release today. The second
    refresh must download again rather than re-read the cached pre-release answer (the control run,
    with invalidation switched off, shows that it would)."""
    monkeypatch.delenv("OILFLOWS_NO_CACHE")
    monkeypatch.setenv("OILFLOWS_CACHE_DIR", str(tmp_path / "cache"))
    if not invalidating:
        monkeypatch.setattr(http, "invalidate", lambda *a, **k: 0)
    toc = (FIXTURES / "eurostat" / "toc_txt_en.tsv").read_bytes()
    today = pd.Timestamp.now(tz="UTC").strftime("%d.%m.%Y").encode()
    srv.script(COIFPM_PATH, csv_reply(coifpm_csv(OLD_COIFPM, OLD_STAMPS[0])),
               then=csv_reply(coifpm_csv(NEW_COIFPM, NEW_STAMPS[0])))
    srv.script("/eurostat/catalogue/toc/txt", Reply(body=toc),  # 28.02.2024: no release since
               then=Reply(body=toc.replace(b"28.02.2024", today)))
    store = Store(tmp_path / "s")
    assert refresh([INCREMENTAL_COIFPM], store, progress=False).ok
    unchanged = refresh([INCREMENTAL_COIFPM], store, progress=False)
    assert unchanged.items[0].skipped and srv.count(COIFPM_PATH) == 1
    again = refresh([INCREMENTAL_COIFPM], store, progress=False)
    assert again.ok
    if invalidating:
        assert again.items[0].skipped is None
        assert srv.count("/eurostat/catalogue/toc/txt") == 2 and srv.count(COIFPM_PATH) == 2
        assert stored(store, "nrg_ti_coifpm") == NEW_COIFPM_STORED
    else:  # the TOC comes from the cache (6 h): the release is not even seen
        assert again.items[0].skipped and "2024-02-28" in again.items[0].skipped
        assert srv.count("/eurostat/catalogue/toc/txt") == 1 and srv.count(COIFPM_PATH) == 1
        assert stored(store, "nrg_ti_coifpm") == coifpm_expected(OLD_COIFPM, OLD_STAMPS[0])


def test_data_cached_before_a_release_is_dropped(srv, tmp_path, monkeypatch):
    """The TOC is fresh but the data answer was cached before the release: refresh drops it."""
    monkeypatch.delenv("OILFLOWS_NO_CACHE")
    monkeypatch.setenv("OILFLOWS_CACHE_DIR", str(tmp_path / "cache"))
    toc = (FIXTURES / "eurostat" / "toc_txt_en.tsv").read_bytes()
    today = pd.Timestamp.now(tz="UTC").strftime("%d.%m.%Y").encode()
    srv.script(COIFPM_PATH, csv_reply(coifpm_csv(OLD_COIFPM, OLD_STAMPS[0])),
               then=csv_reply(coifpm_csv(NEW_COIFPM, NEW_STAMPS[0])))
    srv.script("/eurostat/catalogue/toc/txt", then=Reply(body=toc.replace(b"28.02.2024", today)))
    store = Store(tmp_path / "s")
    assert refresh([INCREMENTAL_COIFPM], store, progress=False).ok
    calls = []
    real = http.invalidate
    monkeypatch.setattr(http, "invalidate", lambda prefix, **kw: calls.append(prefix) or real(prefix, **kw))
    again = refresh([INCREMENTAL_COIFPM], store, progress=False)
    assert again.ok and srv.count(COIFPM_PATH) == 2
    assert srv.url(COIFPM_PATH.rsplit("/", 1)[0] + "/") in calls  # the dataset's prefix was dropped
    assert stored(store, "nrg_ti_coifpm") == NEW_COIFPM_STORED
