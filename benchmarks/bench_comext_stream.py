"""Comext bulk streaming benchmark: a bulk file filtered to chapter 27; oilflows, DuckDB, pyarrow, pandas.

Run::

    python benchmarks/bench_comext_stream.py            # 200 MB and 3 GB .dat, 200 MB and 3 GB .7z
    python benchmarks/bench_comext_stream.py --quick    # 200 MB .dat and its .7z only

Inputs come from ``make_comext_bulk.py`` (hand-built v2 format, see there) and are kept in
``benchmarks/_work/comext/<size>mb/`` for the next run. Every contender runs once per input in a fresh
Python process; its peak RSS is that child's ``ru_maxrss`` (``os.wait4``), which includes the
interpreter and the imported libraries (see the "imports only" row). Seconds are the child's own
wall-clock time of the read after its imports. All contenders must keep the same rows (checked).

Contenders, each returning the chapter-27 rows (product code starting with ``27``):

- ``oilflows iter_bulk``: :func:`oilflows.sources.comext.iter_bulk` (raw rows as Arrow batches, the
  streaming core);
- ``oilflows read_bulk``: :func:`~oilflows.sources.comext.read_bulk`, the same plus summing over
  procedures and normalising to the canonical frame (its "rows" are canonical rows);
- ``DuckDB``: ``read_csv(all_varchar)`` with ``WHERE starts_with(PRODUCT_NC, '27')`` to Arrow;
- ``pyarrow open_csv``: streaming reader (9 needed columns), ``pc.starts_with`` filter per batch;
- ``pandas read_csv``: the whole file (codes as text), then a boolean filter; run only when its
  estimated peak memory (from the smaller size) fits ``--pandas-budget-gb``;
- for the ``.7z``: oilflows (streamed, no temporary file) against ``py7zr`` extraction to disk followed
  by DuckDB on the extracted file.

Writes ``benchmarks/results/comext_stream.md``. Exposes ``main(argv=None) -> int``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _measure import machine  # noqa: E402

ROOT = HERE.parent
WORK = HERE / "_work" / "comext"
RESULTS = HERE / "results" / "comext_stream.md"
PERIOD = "202402"
NEEDED = ["REPORTER", "PARTNER", "TRADE_TYPE", "PRODUCT_NC", "FLOW", "STAT_PROCEDURE", "PERIOD", "VALUE_EUR",
          "QUANTITY_KG"]
CODES = ["REPORTER", "PARTNER", "TRADE_TYPE", "PRODUCT_NC", "PRODUCT_SITC", "PRODUCT_CPA21", "PRODUCT_CPA22",
         "PRODUCT_BEC", "PRODUCT_BEC5", "PRODUCT_SECTION", "FLOW", "STAT_PROCEDURE", "SUPPL_UNIT", "PERIOD"]


# -- contenders (run in the child process) ------------------------------------------------------------


def child_imports(path: str) -> int:
    return 0


def child_oilflows_iter(path: str) -> int:
    from oilflows.sources import comext

    return sum(batch.num_rows for batch in comext.iter_bulk(path, chapters=("27",)))


def child_oilflows_read(path: str) -> int:
    from oilflows.sources import comext

    return len(comext.read_bulk(path, chapters=("27",)))


def child_duckdb(path: str) -> int:
    import duckdb

    columns = ", ".join(c for c in NEEDED if c not in ("VALUE_EUR", "QUANTITY_KG"))
    query = (f"SELECT {columns}, CAST(VALUE_EUR AS DOUBLE) AS VALUE_EUR, CAST(QUANTITY_KG AS DOUBLE) AS "
             f"QUANTITY_KG FROM read_csv('{path}', header = true, all_varchar = true) "
             "WHERE starts_with(PRODUCT_NC, '27')")
    result = duckdb.connect().execute(query)
    table = result.to_arrow_table() if hasattr(result, "to_arrow_table") else result.arrow()
    return table.num_rows


def child_pyarrow(path: str) -> int:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    types = {c: pa.float64() if c in ("VALUE_EUR", "QUANTITY_KG") else pa.string() for c in NEEDED}
    reader = pacsv.open_csv(path, convert_options=pacsv.ConvertOptions(include_columns=NEEDED,
                                                                        column_types=types))
    parts = [batch.filter(pc.starts_with(batch.column("PRODUCT_NC"), "27")) for batch in reader]
    return pa.Table.from_batches(parts).num_rows


def child_pandas(path: str) -> int:
    import pandas as pd

    frame = pd.read_csv(path, dtype={c: "str" for c in CODES})
    return len(frame[frame["PRODUCT_NC"].str.startswith("27")])


def child_7z_extract_duckdb(path: str) -> int:
    import py7zr

    with tempfile.TemporaryDirectory(dir=Path(path).parent) as tmp:
        with py7zr.SevenZipFile(path, "r") as archive:
            archive.extractall(path=tmp)
        (member,) = Path(tmp).iterdir()
        return child_duckdb(str(member))


OILFLOWS = ("oilflows.sources.comext",)
#: name -> (label, modules imported before the clock starts, function).
CHILDREN = {
    "imports": ("python + pandas, pyarrow, duckdb, oilflows imported (baseline)",
                ("pandas", "pyarrow.csv", "duckdb", *OILFLOWS), child_imports),
    "oilflows_iter": ("oilflows iter_bulk (raw rows, streamed)", OILFLOWS, child_oilflows_iter),
    "oilflows_read": ("oilflows read_bulk (canonical frame)", OILFLOWS, child_oilflows_read),
    "duckdb": ("DuckDB read_csv + WHERE", ("duckdb", "pyarrow"), child_duckdb),
    "pyarrow": ("pyarrow open_csv + filter per batch", ("pyarrow.csv", "pyarrow.compute"), child_pyarrow),
    "pandas": ("pandas read_csv whole file, then filter", ("pandas", "pyarrow"), child_pandas),
    "7z_duckdb": ("py7zr extract to disk, then DuckDB", ("py7zr", "duckdb", "pyarrow"),
                  child_7z_extract_duckdb),
}


def child_main(name: str, path: str) -> int:
    import importlib

    _label, modules, function = CHILDREN[name]
    for module in modules:
        importlib.import_module(module)
    start = time.perf_counter()
    rows = function(path)
    seconds = time.perf_counter() - start
    hwm = None
    try:  # the peak RSS of this process image (reset by exec, unlike ru_maxrss)
        for text in Path("/proc/self/status").read_text().splitlines():
            if text.startswith("VmHWM:"):
                hwm = int(text.split()[1]) / 1024
    except OSError:
        pass
    print(json.dumps({"seconds": seconds, "rows": rows, "vmhwm_mb": hwm}))
    return 0


# -- parent ---------------------------------------------------------------------------------------


def run_child(name: str, path: Path) -> dict:
    """Run one contender in a fresh interpreter; seconds and rows from it, peak RSS from wait4."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, __file__, "--child", name, str(path)], stdout=out,
                                stderr=err, env=env, cwd=ROOT)
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        text, error = out.read().decode(), err.read().decode()
    # ru_maxrss of a forked child starts at the parent's RSS: the parent keeps small (no numpy/pyarrow).
    result = {"name": name, "rss_mb": usage.ru_maxrss / 1024, "wall": wall, "code": proc.returncode}
    if proc.returncode == 0:
        result.update(json.loads(text.strip().splitlines()[-1]))
    else:
        result["error"] = (error.strip().splitlines() or ["?"])[-1][:200]
    return result


def inputs(size_mb: float, seven_zip: bool) -> dict:
    """The generated ``.dat`` (and ``.7z``) of `size_mb`, made once (in a subprocess) and reused."""
    folder = WORK / f"{size_mb:g}mb"
    dat = folder / f"full_{PERIOD}.dat"
    archive = folder / f"full_v2_{PERIOD}.7z"
    meta = folder / "meta.json"
    info = json.loads(meta.read_text()) if meta.exists() and dat.exists() else {}
    fresh = info.get("size_mb") != size_mb or info.get("bytes") != dat.stat().st_size
    if fresh or (seven_zip and not (archive.exists() and "archive_bytes" in info)):
        print(f"generating {dat}{' and .7z' if seven_zip else ''} ...", flush=True)
        command = [sys.executable, str(HERE / "make_comext_bulk.py"), "--size-mb", f"{size_mb:g}", "--out",
                   str(folder), "--period", PERIOD, "--json"] + (["--7z"] if seven_zip else [])
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        info = json.loads(output.strip().splitlines()[-1]) | {"size_mb": size_mb}
        meta.write_text(json.dumps(info))
    return info | {"dat": dat, "archive": archive if seven_zip else None}


def load_average() -> str:
    try:
        return "/".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def bench_size(size_mb: float, seven_zip: bool, pandas_budget_gb: float,
               pandas_per_mb: float | None) -> tuple:
    info = inputs(size_mb, seven_zip)
    dat: Path = info["dat"]
    mb = info["bytes"] / 1e6
    rows = []
    names = ["imports", "oilflows_iter", "oilflows_read", "duckdb", "pyarrow", "pandas"]
    for name in names:
        estimate = None if pandas_per_mb is None else pandas_per_mb * mb / 1024
        if name == "pandas" and estimate is not None and estimate > pandas_budget_gb:
            rows.append({"name": name, "skipped": f"not run: estimated peak {estimate:.0f} GB "
                         f"(from the smaller size) > budget {pandas_budget_gb:g} GB"})
            continue
        print(f"  {size_mb:g} MB .dat: {name} ...", flush=True)
        rows.append(run_child(name, dat) | {"input": ".dat", "mb": mb})
    if seven_zip:
        packed = info["archive_bytes"] / 1e6
        for name in ("oilflows_read", "oilflows_iter", "7z_duckdb"):
            print(f"  {size_mb:g} MB .7z: {name} ...", flush=True)
            rows.append(run_child(name, info["archive"]) | {"input": f".7z ({packed:,.0f} MB)", "mb": mb})
    return info, rows


def table(info: dict, rows: list[dict]) -> list[str]:
    mb = info["bytes"] / 1e6
    done = [r for r in rows if "seconds" in r and r["name"] != "imports"]
    best = {r["input"]: min(x["seconds"] for x in done if x["input"] == r["input"]) for r in done}
    out = [f"**{mb:,.0f} MB** `.dat`, {info['rows']:,} rows, {info['kept_27']:,} in chapter 27 "
           f"({100 * info['kept_27'] / info['rows']:.1f} %); generated in {info['generate_seconds']:.0f} s"
           + (f"; packed as .7z in {info['pack_seconds']:.0f} s ({mb / info['pack_seconds']:.0f} MB/s)"
              if "pack_seconds" in info else "") + ".", "",
           "| input | contender | seconds | MB/s (uncompressed) | x fastest | kept rows | peak RSS MB |",
           "|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        label = CHILDREN[r["name"]][0]
        if r.get("vmhwm_mb") and abs(r["vmhwm_mb"] - r.get("rss_mb", 0)) > 50:
            label += f" (VmHWM {r['vmhwm_mb']:,.0f} MB)"
        if "skipped" in r:
            out.append(f"| .dat | {label} | – | – | – | – | {r['skipped']} |")
        elif "error" in r:
            out.append(f"| {r['input']} | {label} | failed | – | – | – | {r['rss_mb']:,.0f} ({r['error']}) |")
        elif r["name"] == "imports":
            out.append(f"| – | {label} | {r['seconds']:.2f} | – | – | – | {r['rss_mb']:,.0f} |")
        else:
            out.append(f"| {r['input']} | {label} | {r['seconds']:.2f} | {r['mb'] / r['seconds']:,.0f} | "
                       f"{r['seconds'] / best[r['input']]:.2f} | {r['rows']:,} | {r['rss_mb']:,.0f} |")
    return out


def check(info: dict, rows: list[dict]) -> None:
    """Every contender returning raw rows keeps exactly the generator's chapter-27 rows."""
    for r in rows:
        if "rows" in r and r["name"] not in ("imports", "oilflows_read"):
            assert r["rows"] == info["kept_27"], (r["name"], r["input"], r["rows"], info["kept_27"])
    canonical = {r["rows"] for r in rows if r["name"] == "oilflows_read" and "rows" in r}
    assert len(canonical) <= 1, canonical


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 MB only")
    parser.add_argument("--small-mb", type=float, default=200.0)
    parser.add_argument("--large-mb", type=float, default=3000.0)
    parser.add_argument("--no-7z-large", action="store_true", help="skip the .7z of the large size")
    parser.add_argument("--pandas-budget-gb", type=float, default=8.0,
                        help="run pandas only if its estimated peak RSS is below this")
    parser.add_argument("--child", nargs=2, metavar=("NAME", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child_main(*args.child)
    load_before = load_average()
    started = time.perf_counter()
    sections, all_rows = [], []
    info, rows = bench_size(args.small_mb, True, args.pandas_budget_gb, None)
    check(info, rows)
    sections.append(table(info, rows))
    all_rows.append((info, rows))
    if not args.quick:
        pandas = next((r for r in rows if r["name"] == "pandas" and "rss_mb" in r and "seconds" in r), None)
        per_mb = pandas["rss_mb"] / (info["bytes"] / 1e6) if pandas else None
        info, rows = bench_size(args.large_mb, not args.no_7z_large, args.pandas_budget_gb, per_mb)
        check(info, rows)
        sections.append(table(info, rows))
        all_rows.append((info, rows))
    lines = ["# Comext bulk streaming: a bulk file filtered to chapter 27", "",
             f"Machine: {machine(('pandas', 'pyarrow', 'numpy', 'duckdb', 'py7zr'))}.", "",
             f"Run {time.strftime('%Y-%m-%d %H:%M')}, {time.perf_counter() - started:.0f} s in all; "
             f"load average {load_before} before and {load_average()} after (the machine is shared: "
             "timings are noisy). "
             "One run per contender and input, each in a fresh process; peak RSS is the child's "
             "`ru_maxrss` and includes Python and the imported libraries (first row). MB/s is uncompressed "
             "MB (10^6 bytes) per second of the read. oilflows reads on one thread (plus one 7z "
             "decompression thread); DuckDB and pyarrow use their default thread pools (2 cores).", "",
             "Input: `make_comext_bulk.py` (v2 layout of sources.md 2.3, hand-built: no real bulk file is "
             "available here). `read_bulk` rows are canonical rows (raw rows summed over statistical "
             "procedures), the others raw chapter-27 rows; all raw counts equal the generator's count.", ""]
    for section in sections:
        lines += section + [""]
    lines += targets(all_rows)
    text = "\n".join(lines) + "\n"
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)
    return 0


def targets(all_rows: list[tuple[dict, list[dict]]]) -> list[str]:
    info, rows = all_rows[-1]
    ours = [r for r in rows if r["name"].startswith("oilflows") and "rss_mb" in r]
    if not ours:
        return []
    peak = max(r["rss_mb"] for r in ours)
    size = info["bytes"] / 1e9
    verdict = "met" if peak < 1024 else "NOT met"
    return [f"Target: peak RSS under 1 GB for a multi-GB file: {verdict} (largest oilflows peak "
            f"{peak:,.0f} MB on the {size:.1f} GB input)."]


if __name__ == "__main__":
    sys.exit(main())
