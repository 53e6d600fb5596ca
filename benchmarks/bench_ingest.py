"""Ingest benchmark: oilflows' Eurostat reader against pyarrow, DuckDB and pandas on nrg_ti_coifpm SDMX-CSV.

Run from the project root::

    python benchmarks/bench_ingest.py            # 5,000,000-row synthetic file, real-shaped, real file
    python benchmarks/bench_ingest.py --quick    # 500,000-row synthetic file, real-shaped, real file

Three files:

- synthetic: made by ``benchmarks/make_coifpm_csv.py`` (same header, codes and flags as the real file,
  but denser: grade detail in every month; see its docstring);
- real-shaped: the real file's 176,175 records replicated 12 times with unique reporter codes
  (``benchmarks/make_coifpm_replicated.py``: copy *i* > 0 has ``geo`` = ``<geo><i:02d>``), 2,114,100
  records shaped exactly like the real data;
- real: ``$OILFLOWS_SHARED_DATA/eurostat/nrg_ti_coifpm.csv.gz`` itself.

Generated files go to ``benchmarks/_work/`` (made if not there yet); the last two are skipped when the
real file is absent.

Contenders, each on the same gzip file, each in a fresh Python process (so that its peak RSS is its
own; the libraries are imported before the clock starts):

- ``oilflows``: ``oilflows.sources.eurostat.read(path)`` -> the canonical frame (parse, pivot of the
  indicators into measure columns, thousands multiplied out, periods parsed, codes mapped, flags
  folded, checks; pandas output).
- ``pyarrow``: ``pyarrow.csv.read_csv(path)``: the raw parse into an Arrow table (types inferred),
  the practical lower bound; the ratio column is relative to it.
- ``duckdb``: ``duckdb.connect().read_csv(path).to_arrow_table()``: DuckDB's parser, materialised
  as an Arrow table.
- ``pandas``: ``pandas.read_csv(path)`` then ``pivot_table`` of ``OBS_VALUE`` by ``indic_nrg`` into
  one row per (freq, crudeoil, geo, TIME_PERIOD), joined with the volume's ``OBS_FLAG`` (the same wide
  shape as oilflows' frame, without its code mapping, period parsing, scaling and checks).

Reported per contender: best wall-clock seconds of N runs, ratio to pyarrow, input rows per second,
the output's row count, and the process's peak RSS (``ru_maxrss``) with the part above the RSS after
imports. Besides, for each file, oilflows and pyarrow are timed interleaved in one process (oilflows,
pyarrow, oilflows, pyarrow, ...; best of N each), so that both see the same load: that ratio is the
one the target (issue 15: at most 1.5 on the real-shaped file) is judged by. Writes
``benchmarks/results/ingest.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a checkout without installing
sys.path.insert(0, str(HERE))

from _measure import machine  # noqa: E402

RESULTS = HERE / "results" / "ingest.md"
WORK = HERE / "_work"
SHARED_DATA = Path(os.environ.get("OILFLOWS_SHARED_DATA", HERE.parents[1] / "shared" / "data"))
REAL_FILE = SHARED_DATA / "eurostat" / "nrg_ti_coifpm.csv.gz"
REAL_SHAPED = WORK / "nrg_ti_coifpm_real_x12.csv.gz"  # make_coifpm_replicated.default_path(12)
CONTENDERS = ("oilflows", "pyarrow", "duckdb", "pandas")
INDEX = ["freq", "crudeoil", "geo", "TIME_PERIOD"]


# -- one contender in this (child) process ------------------------------------------------------


def _loader(contender: str):
    """Import the contender's library (before timing) and return a function path -> output rows."""
    if contender == "oilflows":
        from oilflows.sources import eurostat

        return lambda path: len(eurostat.read(path))
    if contender == "pyarrow":
        import pyarrow.csv as pacsv

        return lambda path: pacsv.read_csv(path).num_rows
    if contender == "duckdb":
        import duckdb

        def run(path: str) -> int:
            with duckdb.connect() as con:
                return con.read_csv(path).to_arrow_table().num_rows

        return run
    if contender == "pandas":
        import pandas as pd

        def run(path: str) -> int:
            long = pd.read_csv(path)
            wide = long.pivot_table(index=INDEX, columns="indic_nrg", values="OBS_VALUE", aggfunc="first")
            volume = long[long["indic_nrg"] == "VOL_THS_BBL"].set_index(INDEX)["OBS_FLAG"]
            return len(wide.join(volume, how="outer"))

        return run
    raise SystemExit(f"unknown contender {contender!r}; expected one of {CONTENDERS}")


def _maxrss_mb() -> float:
    """This process's peak resident set size in MB.

    ``VmHWM`` of ``/proc/self/status`` where there is one (Linux: the peak of this program only), else
    ``ru_maxrss`` (which on Linux also counts the parent's RSS at fork time; the parent is kept lean).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        pass
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 1e6


def child_pair(path: str, repeat: int) -> dict:
    """oilflows and pyarrow on `path`, interleaved in this process, `repeat` times each."""
    runs = {"oilflows": _loader("oilflows"), "pyarrow": _loader("pyarrow")}
    times: dict[str, list[float]] = {contender: [] for contender in runs}
    for _ in range(repeat):
        for contender, run in runs.items():
            start = time.perf_counter()
            run(path)
            times[contender].append(time.perf_counter() - start)
    return times


def child(contender: str, path: str, repeat: int) -> dict:
    """Time `contender` on `path` `repeat` times in this process; return times, rows and RSS."""
    run = _loader(contender)
    base = _maxrss_mb()
    times, rows = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        rows = run(path)
        times.append(time.perf_counter() - start)
    return {"contender": contender, "times": times, "rows": rows, "rss_base_mb": base,
            "rss_peak_mb": _maxrss_mb()}


# -- parent: run every contender in a fresh process -----------------------------------------------------


def run_contender(contender: str, path: Path, repeat: int) -> dict:
    """Run one contender in a fresh Python process and return its JSON report (``pair``: oilflows and
    pyarrow interleaved, :func:`child_pair`)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", contender, str(path),
               "--repeat", str(repeat)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{contender} on {path} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine_line() -> str:
    """The machine (``_measure.machine``: no library is imported, so the parent's RSS, inherited by
    each child, stays small) and the load average at the start."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{machine()}; load average {load} (1/5/15 min) at the start"


def bench_file(label: str, path: Path, repeat: int) -> list[str]:
    """Markdown table rows for every contender on one file."""
    reports = {}
    for contender in CONTENDERS:
        print(f"  {label}: {contender} ...", flush=True)
        reports[contender] = run_contender(contender, path, repeat)
    print(f"  {label}: oilflows and pyarrow interleaved ...", flush=True)
    pair = run_contender("pair", path, repeat)
    rows_in = reports["pyarrow"]["rows"]  # pyarrow's raw table has one row per CSV record
    reference = min(reports["pyarrow"]["times"])
    lines = []
    for contender, report in reports.items():
        best = min(report["times"])
        lines.append(
            f"| {label} | {contender} | {best:.3f} | {best / reference:.2f} | {rows_in / best / 1e6:.2f} | "
            f"{report['rows']:,} | {report['rss_peak_mb']:,.0f} | "
            f"{report['rss_peak_mb'] - report['rss_base_mb']:,.0f} |")
    ours, theirs = min(pair["oilflows"]), min(pair["pyarrow"])
    header = (f"**{label}**: `{path.name}`, {rows_in:,} CSV records, {path.stat().st_size / 1e6:.1f} MB "
              f"gzip; best of {repeat}. Interleaved in one process (best of {repeat} each): oilflows "
              f"{ours:.3f} s, pyarrow {theirs:.3f} s, ratio **{ours / theirs:.2f}**.")
    return [header, *lines]


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring); returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500,000-row file instead of 5,000,000")
    parser.add_argument("--repeat", type=int, default=None, help="runs per contender (default 3, quick 2)")
    parser.add_argument("--rows", type=int, default=None, help="rows of the synthetic file")
    parser.add_argument("--child", nargs=2, metavar=("CONTENDER", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    repeat = args.repeat or (2 if args.quick else 3)
    if args.child:
        if args.child[0] == "pair":
            print(json.dumps(child_pair(args.child[1], repeat)))
        else:
            print(json.dumps(child(args.child[0], args.child[1], repeat)))
        return 0

    rows = args.rows or (500_000 if args.quick else 5_000_000)
    synthetic = WORK / f"nrg_ti_coifpm_{rows}.csv.gz"  # make_coifpm_csv.default_path(rows)
    if not synthetic.is_file():
        print(f"generating {synthetic} ...", flush=True)
        made = subprocess.run([sys.executable, str(HERE / "make_coifpm_csv.py"), "--rows", str(rows),
                               "--out", str(synthetic)], check=False)
        if made.returncode != 0:
            return made.returncode
    machine = machine_line()
    started = time.strftime("%Y-%m-%d %H:%M")
    if REAL_FILE.is_file() and not REAL_SHAPED.is_file():
        print(f"generating {REAL_SHAPED} ...", flush=True)
        made = subprocess.run([sys.executable, str(HERE / "make_coifpm_replicated.py"), "--copies", "12",
                               "--source", str(REAL_FILE), "--out", str(REAL_SHAPED)], check=False)
        if made.returncode != 0:
            return made.returncode
    table = []
    table += bench_file("synthetic", synthetic, repeat)
    if REAL_FILE.is_file():
        table += ["", *bench_file("real-shaped", REAL_SHAPED, max(repeat, 5))]
        table += ["", *bench_file("real", REAL_FILE, max(repeat, 10))]
    load_end = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    head = ["| file | contender | seconds (best) | ratio to pyarrow | M rows/s | output rows | peak RSS MB | "
            "RSS over imports MB |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    body, notes = [], []
    for line in table:
        (body if line.startswith("|") else notes).append(line)
    text = "\n".join([
        f"# Ingest benchmark: nrg_ti_coifpm SDMX-CSV ({started}{', quick' if args.quick else ''})", "",
        f"Machine: {machine}; load average {load_end} at the end. Timings on a shared machine are noisy: "
        "compare ratios within one run.", "",
        *[f"- {n}" for n in notes if n], "",
        *head, *body, "",
        "The ratio column compares each contender's own process with pyarrow's; the interleaved ratio "
        "in the notes above (oilflows and pyarrow alternating in one process) is the one to judge "
        "oilflows by on a shared machine. "
        "oilflows returns the canonical frame (one row per crudeoil x reporter x month, measures in base "
        "units, codes mapped, checked); pyarrow and DuckDB return the raw long table (one row per CSV "
        "record); pandas returns the wide pivot without mapping, scaling or checks. Peak RSS is the "
        "contender's own process (VmHWM), 'over imports' subtracts the RSS after importing its library.",
        "",
    ])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
