"""The command line: `oilflows report` on the embedded default, `refresh` without a network, `--help`,
the output formats, `info` and `list`. Error paths: tests/test_cli_errors.py."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pandas as pd
import pytest
import requests
import responses

import oilflows
from oilflows import cli, http


@pytest.fixture(scope="module")
def built():
    """The default report, built once for the tests that check what the CLI does with it."""
    from oilflows.report import build_report

    return build_report(oilflows.load_default())


@pytest.fixture
def fast_report(monkeypatch, built):
    """`oilflows report` without recomputing the report: the codes it was asked for are recorded."""
    calls = []

    def fake(frame, reporter, displaced, substitute, *args, **kwargs):
        calls.append((reporter, displaced, substitute))
        return built

    monkeypatch.setattr("oilflows.report.build_report", fake)
    return calls


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


def test_report_output_files(tmp_path, capsys, fast_report):
    """report.md links the PNGs; report.html embeds them (self-contained); the note goes to stderr."""
    pytest.importorskip("matplotlib")
    assert cli.main(["report", "--output", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert "186,493 -> 0" in out and "wrote" not in out
    assert err.startswith("oilflows report: wrote ") and str(tmp_path / "report.html") in err
    md = (tmp_path / "report.md").read_text()
    html = (tmp_path / "report.html").read_text()
    assert "186,493 -> 0" in md and "](shares.png)" in md and "## Caveats" in md
    assert html.startswith("<!doctype html>") and html.count('src="data:image/png;base64,') == 2
    assert 'src="replacement.png"' not in html
    for png in ("shares.png", "replacement.png"):
        data = (tmp_path / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_report_output_without_matplotlib(tmp_path, capsys, fast_report, monkeypatch):
    """No matplotlib: report.md and report.html are still written, and stderr says the figures were
    skipped (one line), exit 0."""
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` raises ImportError
    assert cli.main(["report", "--output", str(tmp_path / "out")]) == 0
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "figures skipped" in err and "matplotlib" in err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["report.html", "report.md"]
    md = (tmp_path / "out" / "report.md").read_text()
    assert "## Caveats" in md and ".png" not in md
    assert "<img" not in (tmp_path / "out" / "report.html").read_text()


def test_report_codes_are_case_insensitive(capsys, fast_report):
    assert cli.main(["report", "--reporter", "de", "--displaced", "ru", "--substitute", "kz"]) == 0
    assert fast_report == [("DE", "RU", "KZ")]
    assert "coverage" in capsys.readouterr().out


def test_report_json_and_csv(capsys, fast_report):
    assert cli.main(["report", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["reporter"], data["displaced"], data["substitute"]) == ("DE", "RU", "KZ")
    assert data["baseline"] == ["2021-01", "2021-12"] and data["dataset"] == "nrg_ti_coifpm"
    lo, hi = data["coverage_bounds"]
    assert lo <= data["bounds"][0]["disclosed_coverage"] <= hi
    rows = {r["partner"]: r for r in data["replacement"]}
    assert rows["RU"]["baseline_total"] == pytest.approx(186_493_000) and rows["RU"]["post_total"] == 0
    assert cli.main(["report", "--format", "csv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert table.columns[0] == "partner" and {"RU", "KZ", "WORLD"} <= set(table["partner"])


def test_quiet_and_verbose(tmp_path, capsys, fast_report):
    """-q: nothing on stderr but errors (before or after the command name); -v is accepted."""
    assert cli.main(["report", "-q", "--output", str(tmp_path)]) == 0
    assert capsys.readouterr().err == ""
    assert cli.main(["-q", "report", "--output", str(tmp_path)]) == 0
    assert capsys.readouterr().err == ""
    assert cli.main(["-v", "report"]) == 0 and cli.main(["report", "-vv"]) == 0
    capsys.readouterr()


def test_report_error_is_one_line(capsys):
    assert cli.main(["report", "--reporter", "ZZ"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("oilflows report: error:") and "\n" not in err


def test_log_levels(capsys, monkeypatch):
    """Library log messages: errors by default, warnings and info with -v, debug with -vv, none with -q."""
    import logging

    def chatty(args):
        log = logging.getLogger("oilflows.test")
        log.debug("d-message")
        log.info("i-message")
        log.warning("w-message")
        log.error("e-message")
        return 0

    monkeypatch.setattr(cli, "_info", chatty)
    before = list(logging.getLogger("oilflows").handlers)
    seen = {}
    for flags in ((), ("-v",), ("-vv",), ("-q",)):
        assert cli.main([*flags, "info"]) == 0
        err = capsys.readouterr().err
        seen[flags] = [m for m in ("d", "i", "w", "e") if f"{m}-message" in err]
    assert seen == {(): ["e"], ("-v",): ["i", "w", "e"], ("-vv",): ["d", "i", "w", "e"], ("-q",): []}
    assert logging.getLogger("oilflows").handlers == before  # main() removes its handler


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
    assert cli.main(["refresh", "--no-progress"]) == cli.EXIT_NETWORK == 3
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no network" in err and "ec.europa.eu" in err
    assert not (tmp_path / "store").exists() or not any((tmp_path / "store").glob("source=*"))


def test_help_documents_every_command():
    result = subprocess.run([sys.executable, "-m", "oilflows", "--help"], capture_output=True,
                            text=True, check=True)
    for command in ("report", "refresh", "info", "list", "store"):
        assert command in result.stdout
    assert "Exit status" in result.stdout and "3 network" in result.stdout
    for command in ("report", "refresh", "info", "list", "store"):
        sub = subprocess.run([sys.executable, "-m", "oilflows", command, "--help"],
                             capture_output=True, text=True, check=True)
        assert "usage: oilflows " + command in sub.stdout


def test_info(capsys, tmp_path):
    assert cli.main(["info", "--store", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "eurostat/nrg_ti_coifpm" in out and "0 partitions" in out


def test_info_shows_paths_and_environment_never_secrets(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("OILFLOWS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("OILFLOWS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COMTRADE_API_KEY", "s3cret-comtrade-value")
    monkeypatch.setenv("OILFLOWS_TEST_TOKEN", "s3cret-token-value")
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert f"store {tmp_path / 'home'}: not created yet" in out and f"cache {tmp_path / 'cache'}" in out
    assert "config:" in out and f"OILFLOWS_HOME={tmp_path / 'home'}" in out
    assert "COMTRADE_API_KEY=<set>" in out and "OILFLOWS_TEST_TOKEN=<set>" in out
    assert "s3cret" not in out
    assert cli.main(["info", "--format", "json"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert data["store"] == {"path": str(tmp_path / "home"), "exists": False, "partitions": []}
    assert data["cache"]["path"] == str(tmp_path / "cache")
    assert data["environment"]["COMTRADE_API_KEY"] == "<set>" and "s3cret" not in out
    assert data["default"]["datasets"]["eurostat/nrg_ti_coifpm"]["rows"] > 60_000
    assert cli.main(["info", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    table = pd.read_csv(io.StringIO(out))
    assert list(table.columns) == ["section", "name", "value"] and "s3cret" not in out
    assert {"default", "store", "cache", "config", "environment"} <= set(table["section"])


def test_list(capsys):
    assert cli.main(["list", "datasets"]) == 0
    out = capsys.readouterr().out
    assert "nrg_ti_coifpm" in out and "65,277" in out and "2005-01" in out
    assert cli.main(["list", "reporters", "--format", "json"]) == 0
    reporters = {r["reporter"] for r in json.loads(capsys.readouterr().out)}
    assert {"DE", "FR", "PL"} <= reporters
    assert cli.main(["list", "partners", "--reporter", "de", "--dataset", "nrg_ti_coifpm",
                     "--format", "csv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out), keep_default_na=False)
    assert {"KZ", "RU", "WORLD"} <= set(table["partner"]) and set(table["datasets"]) == {"nrg_ti_coifpm"}
    assert "Africa" in table.set_index("partner").loc["AFRICA", "meaning"]


def test_list_store(capsys, tmp_path):
    from oilflows.store import Store

    Store(tmp_path).write(oilflows.load_default(dataset="nrg_ti_oil", reporter="DE"))
    assert cli.main(["list", "reporters", "--store", str(tmp_path), "--format", "json"]) == 0
    assert [r["reporter"] for r in json.loads(capsys.readouterr().out)] == ["DE"]


def test_refresh_progress_only_on_a_terminal(capsys, monkeypatch):
    """The bar is asked for only when stderr is a terminal and neither -q nor --no-progress is given."""
    refresh_module = sys.modules["oilflows.refresh"]
    asked = []

    class Result:
        ok = True

        def summary(self):
            return "ok"

    def fake(config, store, progress=True, keep_going=None):
        asked.append(progress)
        return Result()

    monkeypatch.setattr(refresh_module, "refresh", fake)
    assert cli.main(["refresh"]) == 0  # capsys: stderr is not a terminal
    tty = io.StringIO()
    tty.isatty = lambda: True
    monkeypatch.setattr(sys, "stderr", tty)
    assert cli.main(["refresh"]) == 0
    assert cli.main(["refresh", "-q"]) == 0 and cli.main(["refresh", "--no-progress"]) == 0
    assert asked == [False, True, False, False]


def test_reconcile_command(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("OILFLOWS_HOME", str(tmp_path / "none"))
    assert cli.main(["reconcile", "--reporter", "DE", "--partner", "KZ"]) == 0
    out = capsys.readouterr().out
    # nrg_ti_oil DE<-KZ 2021 = 8,000 kt (reference) against the disclosed coifpm grades (5,839 kt).
    assert "eurostat/nrg_ti_oil (ref)" in out and "8,000" in out and "5,839" in out
    assert "KEBCO" in out and "pipeline" in out


def test_reconcile_json_and_csv(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("OILFLOWS_HOME", str(tmp_path / "none"))
    assert cli.main(["reconcile", "--reporter", "de", "--partner", "kz", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["reporter"], data["partner"]) == ("DE", "KZ") and data["rows"]
    assert "eurostat/nrg_ti_oil" in {r["name"] for r in data["rows"]}
    assert cli.main(["reconcile", "--format", "csv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert "name" in table.columns and "mass_t" in table.columns and len(table) == len(data["rows"])


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
    assert cli.main(["store", "repair", "--store", str(missing)]) == cli.EXIT_STORE  # 4
    assert "no store there" in capsys.readouterr().err and not missing.exists()
