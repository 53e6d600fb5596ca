"""The command line: `oilflows report` on the embedded default, `refresh` without a network, `--help`."""

from __future__ import annotations

import subprocess
import sys

import pytest
import requests
import responses

from oilflows import cli, http


def test_report_prints_the_reference_figures(capsys):
    assert cli.main(["report"]) == 0
    out = capsys.readouterr().out
    # Germany, disclosed grades, thousand barrels (methods note R3).
    for figure in ("186,493 -> 0", "45,806 -> 49,550", "coverage", "undisclosed share of WORLD"):
        assert figure in out
    assert "KZ_MSC" in out and "Novorossiysk" in out and "origin" in out


def test_report_options(capsys):
    assert cli.main(["report", "--substitute", "NO", "--measure", "volume_bbl",
                     "--post", "2022-07", "2022-12"]) == 0
    out = capsys.readouterr().out
    assert "Substitution of RU by NO" in out and "2022-07..2022-12 (6 months)" in out


def test_report_output_files(tmp_path, capsys):
    assert cli.main(["report", "--output", str(tmp_path)]) == 0
    capsys.readouterr()
    md = (tmp_path / "report.md").read_text()
    html = (tmp_path / "report.html").read_text()
    assert "186,493 -> 0" in md and "](shares.png)" in md and "## Caveats" in md
    assert html.startswith("<!doctype html>") and 'src="replacement.png"' in html
    for png in ("shares.png", "replacement.png"):
        data = (tmp_path / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_report_error_is_one_line(capsys):
    assert cli.main(["report", "--reporter", "ZZ"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("oilflows report: error:") and "\n" not in err


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    monkeypatch.setenv("OILFLOWS_NO_CACHE", "1")
    monkeypatch.setenv("OILFLOWS_HTTP_BACKOFF", "0")
    monkeypatch.setenv("OILFLOWS_HOME", str(tmp_path / "store"))
    http._sessions.clear()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.GET, "https://ec.europa.eu/eurostat/api/dissemination/sdmx/2.1/data/"
                 "nrg_ti_coifpm/...DE+FR+IT+ES+NL+PL+AT+CZ",
                 body=requests.exceptions.ConnectionError("Failed to resolve 'ec.europa.eu'"))
        yield mock
    http._sessions.clear()


def test_refresh_without_network_fails_with_one_line(no_network, capsys, tmp_path):
    assert cli.main(["refresh", "--no-progress"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no network" in err and "ec.europa.eu" in err
    assert not (tmp_path / "store").exists() or not any((tmp_path / "store").glob("source=*"))


def test_help_documents_every_command():
    result = subprocess.run([sys.executable, "-m", "oilflows", "--help"], capture_output=True,
                            text=True, check=True)
    for command in ("report", "refresh", "info", "store"):
        assert command in result.stdout
    for command in ("report", "refresh", "info", "store"):
        sub = subprocess.run([sys.executable, "-m", "oilflows", command, "--help"],
                             capture_output=True, text=True, check=True)
        assert "usage: oilflows " + command in sub.stdout


def test_info(capsys, tmp_path):
    assert cli.main(["info", "--store", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "eurostat/nrg_ti_coifpm" in out and "0 partitions" in out


def test_reconcile_command(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("OILFLOWS_HOME", str(tmp_path / "none"))
    assert cli.main(["reconcile", "--reporter", "DE", "--partner", "KZ"]) == 0
    out = capsys.readouterr().out
    # nrg_ti_oil DE<-KZ 2021 = 8,000 kt (reference) against the disclosed coifpm grades (5,839 kt).
    assert "eurostat/nrg_ti_oil (ref)" in out and "8,000" in out and "5,839" in out
    assert "KEBCO" in out and "pipeline" in out


def test_store_verify_and_repair(capsys, tmp_path):
    """`oilflows store verify` exits 1 on a damaged file and names it; `repair` clears leftovers."""
    from oilflows import load_default
    from oilflows.store import Store

    store = Store(tmp_path)
    store.write(load_default(dataset="nrg_ti_oil"))
    assert cli.main(["store", "verify", "--store", str(tmp_path)]) == 0
    assert "6,270 rows checked: OK" in capsys.readouterr().out
    leftover = tmp_path / "_manifest.json.0123abcd.tmp"
    leftover.write_text("{")
    assert cli.main(["store", "verify", "--store", str(tmp_path)]) == 0
    assert "OK with warnings" in capsys.readouterr().out
    assert cli.main(["store", "repair", "--store", str(tmp_path)]) == 0
    assert "deleted _manifest.json.0123abcd.tmp" in capsys.readouterr().out
    assert not leftover.exists()
    entry = next(iter(store.manifest().partitions.values()))
    (tmp_path / entry.file).write_bytes(b"PAR1 not really")
    assert cli.main(["store", "verify", "--store", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "DAMAGED" in out and entry.file in out
    assert cli.main(["store", "verify", "--quick", "--store", str(tmp_path)]) == 1
    capsys.readouterr()
    missing = tmp_path / "no-such-store"
    assert cli.main(["store", "repair", "--store", str(missing)]) == 1
    assert "no store there" in capsys.readouterr().err and not missing.exists()
