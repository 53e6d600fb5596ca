"""Every error of the command line is one line on stderr with a documented exit status, never a traceback:
1 data or analysis (and a missing file), 2 usage, 3 network, 4 store; a closed stdout exits quietly (141)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from oilflows import cli, errors


def one_line(capsys, command: str) -> str:
    """The single stderr line of a failed command (stdout empty), checked for the prefix."""
    out, err = capsys.readouterr()
    assert "Traceback" not in err and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"oilflows {command}: error: "), lines[0]
    return lines[0]


@pytest.fixture(autouse=True)
def no_store(monkeypatch, tmp_path):
    """No user store is read: $OILFLOWS_HOME points at a directory that does not exist."""
    monkeypatch.setenv("OILFLOWS_HOME", str(tmp_path / "no-home"))


# -- data, files (exit 1) ---------------------------------------------------------------------------


def test_reconcile_missing_published_file_names_the_path(capsys, tmp_path):
    missing = tmp_path / "missing.csv"
    assert cli.main(["reconcile", "--published", str(missing)]) == 1
    line = one_line(capsys, "reconcile")
    assert str(missing) in line and "No such file" in line


@pytest.mark.parametrize("row", ["2021,DE,KZ,crude_import_quantity,abc,kt,X",  # not a number
                                 "2021,DE,KZ,imports,abc,kt,X"])  # no usable row at all
def test_reconcile_published_with_a_non_number(capsys, tmp_path, row):
    bad = tmp_path / "bad.csv"
    bad.write_text("period,reporter,partner,metric,value,unit,publisher\n" + row + "\n")
    assert cli.main(["reconcile", "--published", str(bad)]) == 1
    line = one_line(capsys, "reconcile")
    assert str(bad) in line and "published figures" in line


def test_report_output_is_an_existing_file(capsys, tmp_path):
    existing = tmp_path / "report.txt"
    existing.write_text("keep me")
    assert cli.main(["report", "--output", str(existing)]) == 1
    line = one_line(capsys, "report")
    assert str(existing) in line and "not a directory" in line
    assert existing.read_text() == "keep me"


def test_report_unknown_reporter_lists_the_valid_codes(capsys):
    assert cli.main(["report", "--reporter", "zz"]) == 1
    line = one_line(capsys, "report")
    assert "unknown reporter 'ZZ'" in line and "valid: " in line
    assert all(code in line for code in ("DE", "FR", "PL", "EU_V"))


def test_report_close_match_is_suggested(capsys):
    assert cli.main(["report", "--reporter", "deu"]) == 1
    assert "did you mean DE?" in one_line(capsys, "report")


def test_report_substitute_without_data_for_the_reporter(capsys):
    assert cli.main(["report", "--substitute", "XX"]) == 1
    line = one_line(capsys, "report")
    assert "substitute 'XX'" in line and "no volume_bbl data for DE" in line
    assert "KZ" in line and "NO" in line  # the partners that have data


def test_report_substitute_equal_to_displaced(capsys):
    assert cli.main(["report", "--displaced", "RU", "--substitute", "ru"]) == 1
    line = one_line(capsys, "report")
    assert "substitute (RU) must differ from the displaced supplier (RU)" in line


def test_reconcile_unknown_partner(capsys):
    assert cli.main(["reconcile", "--partner", "qq"]) == 1
    line = one_line(capsys, "reconcile")
    assert "partner 'QQ'" in line and "oilflows list partners --reporter DE" in line


def test_unexpected_error_is_one_line_and_debug_shows_the_traceback(capsys, monkeypatch):
    def broken(args):
        raise RuntimeError("something broke")

    monkeypatch.setattr(cli, "_info", broken)
    assert cli.main(["info"]) == 1
    line = one_line(capsys, "info")
    assert "internal error: RuntimeError: something broke" in line and "--debug" in line
    assert cli.main(["--debug", "info"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and err.rstrip().splitlines()[-1] == line


# -- usage (exit 2) -----------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [["report", "--measure", "litres"], ["report", "--bogus"],
                                  ["info", "--format", "xml"], ["list", "grades"], ["nonsense"]])
def test_usage_errors_are_one_line_with_status_2(capsys, argv):
    assert cli.main(argv) == cli.EXIT_USAGE == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err and "usage:" not in err
    assert len(err.strip().splitlines()) == 1 and "error: " in err and "--help" in err


# -- network (3) and store (4) ------------------------------------------------------------------------


@pytest.mark.parametrize(("exc", "status"), [
    (errors.NetworkError("https://x.test/", "no network"), 3),
    (errors.FetchError("https://x.test/", "bad", status=500), 3),
    (errors.RateLimitedError("https://x.test/", "quota", status=429), 3),
    (errors.StoreError("locked"), 4),
    (errors.SourceFormatError("f.csv", "bad"), 1),
    (errors.SchemaError("bad"), 1),
    (errors.AnalysisError("bad"), 1),
    (errors.QueryError("bad"), 1),
    (FileNotFoundError(2, "No such file or directory", "f.csv"), 1),
])
def test_exit_status_of_each_error(capsys, monkeypatch, exc, status):
    def failing(args):
        raise exc

    monkeypatch.setattr(cli, "_info", failing)
    assert cli.exit_code(exc) == status
    assert cli.main(["info"]) == status
    one_line(capsys, "info")


def test_store_query_error_is_a_bad_question_not_a_broken_store():
    if not hasattr(errors, "StoreQueryError"):
        pytest.skip("no StoreQueryError in this version")
    assert cli.exit_code(errors.StoreQueryError("reporter=5")) == 1


@pytest.mark.parametrize("argv", [["info", "--store"], ["report", "--store"], ["reconcile", "--store"],
                                  ["list", "reporters", "--store"]])
def test_missing_store_is_a_store_error(capsys, tmp_path, argv):
    """A store named on the command line must exist: not "0 partitions" with status 0."""
    missing = tmp_path / "nonexistent"
    assert cli.main([*argv, str(missing)]) == cli.EXIT_STORE == 4
    line = one_line(capsys, argv[0])
    assert str(missing) in line and "no store there" in line
    assert not missing.exists()


# -- a closed stdout ----------------------------------------------------------------------------------


def test_broken_pipe_exits_quietly():
    """`oilflows info | head -1`: the reader is gone before oilflows writes; no traceback, status 141."""
    proc = subprocess.Popen([sys.executable, "-m", "oilflows", "info"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()  # long before the interpreter has started and printed anything
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait() == cli.EXIT_BROKEN_PIPE == 141
    assert err == b""
