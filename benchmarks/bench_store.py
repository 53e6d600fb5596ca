"""Side-by-side timings of oilflows' reader and store against pandas, pyarrow and DuckDB.

Run from the project root::

    python benchmarks/bench_store.py            # full run, writes benchmarks/RESULTS.md
    python benchmarks/bench_store.py --quick    # one repetition each, no results file

Data: the real Eurostat nrg_ti_coifpm file (``$OILFLOWS_SHARED_DATA/eurostat/nrg_ti_coifpm.csv.gz``,
65,277 canonical rows) and a synthetic version 20 times larger (each copy with shifted reporter codes
and vintages, so keys stay unique). Scratch files go to ``benchmarks/_work/`` (gitignored).
See ``benchmarks/README.md`` for what each comparison means.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gc
import gzip
import io
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as ds

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a checkout without installing
sys.path.insert(0, str(HERE))

from _measure import machine  # noqa: E402

import oilflows  # noqa: E402
from oilflows.schema import to_table  # noqa: E402
from oilflows.sources import eurostat  # noqa: E402
from oilflows.store import PARTITIONS, Store  # noqa: E402

SHARED_DATA = Path(os.environ.get("OILFLOWS_SHARED_DATA", HERE.parents[1] / "shared" / "data"))
COIFPM_FILE = SHARED_DATA / "eurostat" / "nrg_ti_coifpm.csv.gz"
WORK = HERE / "_work"
RESULTS = HERE / "RESULTS.md"
SCALE = 20
FILTER = {"reporter": "DE", "partner": ["KZ", "RU"], "start": "2021-01", "end": "2023-12"}
START, END = pd.Timestamp("2021-01-01"), pd.Timestamp("2023-12-01")
ZSTD = "zstd"  # the store's compression; the alternatives use the same


# -- data ------------------------------------------------------------------------------------------


def scaled_csv(source: Path, target: Path, scale: int) -> Path:
    """`source` repeated `scale` times as one gzip SDMX-CSV; copy i > 0 has geo ``<geo><i:02d>``."""
    if target.exists():
        return target
    with gzip.open(source, "rt", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    geo = header.index("geo")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for i in range(scale):
        for row in rows:
            if i:
                row = row.copy()
                row[geo] = f"{row[geo]}{i:02d}"
            writer.writerow(row)
    tmp = target.with_suffix(".tmp")
    with gzip.open(tmp, "wt", compresslevel=6, newline="") as handle:
        handle.write(buffer.getvalue())
    tmp.replace(target)
    return target


def scaled_frame(frame: pd.DataFrame, scale: int) -> pd.DataFrame:
    """`frame` repeated `scale` times; copy i > 0 has reporter ``<reporter><i:02d>`` and its vintage
    shifted by i days (keys stay unique; DE, the filter's reporter, exists only in copy 0)."""
    copies = [frame]
    for i in range(1, scale):
        copy = frame.copy()
        copy["reporter"] = copy["reporter"] + f"{i:02d}"
        copy["vintage"] = copy["vintage"] + pd.Timedelta(days=i)
        copies.append(copy)
    return pd.concat(copies, ignore_index=True)


# -- timing ------------------------------------------------------------------------------------------


def best_of(n: int, func: Callable[[], object], setup: Callable[[], None] | None = None):
    """Best wall time of `n` calls of `func` (perf_counter; `setup` runs untimed before each)."""
    best, result = float("inf"), None
    for _ in range(n):
        if setup is not None:
            setup()
        gc.collect()
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result


def fresh(path: Path) -> Callable[[], None]:
    def setup() -> None:
        shutil.rmtree(path, ignore_errors=True)
    return setup


# -- the three comparisons -----------------------------------------------------------------------------


def bench_parse(path: Path, n: int) -> dict[str, tuple[float, int]]:
    def oilflows_read():
        return len(eurostat.read(path))

    def pandas_read():
        return len(pd.read_csv(path))

    def pyarrow_read():
        return pacsv.read_csv(path).num_rows

    def duckdb_read():
        with duckdb.connect() as con:
            return con.read_csv(str(path)).to_arrow_table().num_rows

    return {
        "oilflows `eurostat.read` (parse + canonical)": best_of(n, oilflows_read),
        "pandas `read_csv` (parse only)": best_of(n, pandas_read),
        "pyarrow `csv.read_csv` (parse only)": best_of(n, pyarrow_read),
        "DuckDB `read_csv` → Arrow (parse only)": best_of(n, duckdb_read),
    }


def bench_filtered_read(root: Path, n: int) -> dict[str, tuple[float, int]]:
    store = Store(root)
    glob = f"{root.as_posix()}/source=*/dataset=*/reporter=*/*.parquet"

    def oilflows_read():
        return len(store.read(**FILTER))

    def pyarrow_read():
        dataset = ds.dataset(root, format="parquet", partitioning="hive")
        expression = ((ds.field("reporter") == "DE") & ds.field("partner").isin(FILTER["partner"])
                      & (ds.field("period") >= pa.scalar(START.to_pydatetime(), pa.timestamp("s")))
                      & (ds.field("period") <= pa.scalar(END.to_pydatetime(), pa.timestamp("s"))))
        return len(dataset.to_table(filter=expression).to_pandas())

    def duckdb_read():
        query = (f"SELECT * FROM read_parquet('{glob}', hive_partitioning=true) "
                 "WHERE reporter = 'DE' AND partner IN ('KZ', 'RU') "
                 "AND period BETWEEN TIMESTAMP '2021-01-01' AND TIMESTAMP '2023-12-01'")
        with duckdb.connect() as con:
            return len(con.sql(query).df())

    def pandas_read():
        frame = pd.read_parquet(root)
        mask = ((frame["reporter"] == "DE") & frame["partner"].isin(FILTER["partner"])
                & frame["period"].between(START, END))
        return len(frame[mask])

    return {
        "oilflows `Store.read(...)`": best_of(n, oilflows_read),
        "pyarrow `dataset(...).to_table(filter=...)` → pandas": best_of(n, pyarrow_read),
        "DuckDB SQL over the same files → pandas": best_of(n, duckdb_read),
        "pandas `read_parquet` + boolean filter": best_of(n, pandas_read),
    }


def bench_write(frame: pd.DataFrame, work: Path, n: int) -> dict[str, tuple[float, int]]:
    out: dict[str, tuple[float, int]] = {}
    roots = {name: work / name for name in ("oilflows", "pyarrow", "pandas")}

    def oilflows_write():
        summary = Store(roots["oilflows"]).write(frame)
        return summary.rows_new + summary.rows_unchanged

    def pyarrow_write():
        table = to_table(frame)  # pandas -> Arrow with the canonical types is part of the job
        ds.write_dataset(
            table, roots["pyarrow"], format="parquet",
            partitioning=ds.partitioning(table.select(list(PARTITIONS)).schema, flavor="hive"),
            existing_data_behavior="delete_matching",
            file_options=ds.ParquetFileFormat().make_write_options(compression=ZSTD),
        )
        return table.num_rows

    def pandas_write():
        frame.to_parquet(roots["pandas"], partition_cols=list(PARTITIONS), index=False,
                         compression=ZSTD, existing_data_behavior="delete_matching")
        return len(frame)

    writers = {
        "oilflows `Store.write`": ("oilflows", oilflows_write),
        "pyarrow `dataset.write_dataset` (hive)": ("pyarrow", pyarrow_write),
        "pandas `to_parquet(partition_cols=...)`": ("pandas", pandas_write),
    }
    for label, (name, func) in writers.items():
        out[f"{label}: full write"] = best_of(n, func, setup=fresh(roots[name]))
    for label, (_name, func) in writers.items():
        out[f"{label}: identical re-write"] = best_of(n, func)  # onto the store just written
    for name, root in roots.items():  # every engine ends with the same rows, once
        rows = ds.dataset(root, format="parquet", partitioning="hive").count_rows()
        assert rows == len(frame), (name, rows, len(frame))
    return out


# -- report --------------------------------------------------------------------------------------------


def table_rows(task: str, small: dict, large: dict) -> list[str]:
    fastest_small = min(t for t, _ in small.values())
    fastest_large = min(t for t, _ in large.values())
    lines = []
    for method in small:
        (ts, rows_s), (tl, rows_l) = small[method], large[method]
        lines.append(f"| {task} | {method} | {ts:.3f} | {ts / fastest_small:.1f}× | {rows_s:,} "
                     f"| {tl:.3f} | {tl / fastest_large:.1f}× | {rows_l:,} |")
    return lines


def split_write(results: dict, kind: str) -> dict:
    return {k.rsplit(": ", 1)[0]: v for k, v in results.items() if k.endswith(kind)}


def load_average() -> str:
    try:
        return "/".join(f"{x:.1f}" for x in os.getloadavg())
    except (OSError, AttributeError):
        return "n/a"


def versions() -> str:
    return ", ".join([
        f"Python {platform.python_version()}", f"oilflows {oilflows.__version__}",
        f"pandas {pd.__version__}", f"pyarrow {pa.__version__}", f"DuckDB {duckdb.__version__}",
        f"NumPy {np.__version__}",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repetition, no RESULTS.md")
    args = parser.parse_args(argv)
    if not COIFPM_FILE.exists():
        print(f"benchmark data not found: {COIFPM_FILE} (set OILFLOWS_SHARED_DATA)", file=sys.stderr)
        return 2
    n_small, n_large = (1, 1) if args.quick else (5, 3)
    load_before = load_average()
    WORK.mkdir(parents=True, exist_ok=True)

    print("preparing data ...", flush=True)
    small_csv = COIFPM_FILE
    large_csv = scaled_csv(COIFPM_FILE, WORK / f"nrg_ti_coifpm_x{SCALE}.csv.gz", SCALE)
    small = eurostat.read(small_csv)
    large = scaled_frame(small, SCALE)
    assert len(small) == 65_277, len(small)
    labels = {"small": f"coifpm, {len(small):,} rows", "large": f"×{SCALE}, {len(large):,} rows"}

    results: dict[str, dict[str, dict]] = {}
    for size, frame, path, n in (("small", small, small_csv, n_small),
                                 ("large", large, large_csv, n_large)):
        print(f"[{labels[size]}] parse ...", flush=True)
        parse = bench_parse(path, n)
        print(f"[{labels[size]}] write ...", flush=True)
        write = bench_write(frame, WORK / f"write_{size}", n)
        print(f"[{labels[size]}] filtered read ...", flush=True)
        read = bench_filtered_read(WORK / f"write_{size}" / "oilflows", n)
        counts = {rows for _, rows in read.values()}
        assert len(counts) == 1, f"filtered reads disagree: {read}"
        results[size] = {"parse": parse, "read": read,
                         "write": split_write(write, "full write"),
                         "rewrite": split_write(write, "identical re-write")}

    header = [
        f"| task | method | {labels['small']}: s | × fastest | rows "
        f"| {labels['large']}: s | × fastest | rows |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    body = []
    for task, key in (("1. parse gzip SDMX-CSV", "parse"),
                      ("2. filtered read (DE; KZ, RU; 2021-01..2023-12)", "read"),
                      ("3a. full write (hive partitions)", "write"),
                      ("3b. identical re-write", "rewrite")):
        body += table_rows(task, results["small"][key], results["large"][key])
    table = "\n".join(header + body)
    print()
    print(table)
    if args.quick:
        return 0
    stamp = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    load_after = load_average()
    load = f"{load_before} before, {load_after} after"
    busy = ""
    if any(float(x.split("/")[0]) > (os.cpu_count() or 1) for x in (load_before, load_after)
           if x != "n/a"):
        busy = (" Other processes kept the machine busy: absolute seconds are noisy; compare the "
                "ratios within one task and size.")
    RESULTS.write_text(
        "# Benchmark results (`bench_store.py`)\n\n"
        f"- Date: {stamp}\n- Machine: {machine()}\n- Versions: {versions()}\n"
        f"- Load average (1/5/15 min): {load}.{busy}\n"
        f"- Command: `python benchmarks/bench_store.py`; best of {n_small} runs (real file) and "
        f"{n_large} runs (×{SCALE}), `time.perf_counter`, wall-clock seconds.\n"
        "- Rows: what each method returned or wrote (parse: raw CSV records for pandas, pyarrow "
        "and DuckDB, canonical rows for oilflows, which pivots 5 indicators into one row).\n"
        "- Ratios are to the fastest method of the same task and data size. See README.md for "
        "what each comparison measures; oilflows' write also validates, upserts, archives "
        "vintages and commits atomically.\n\n"
        f"{table}\n",
        encoding="utf-8",
    )
    print(f"\nwritten to {RESULTS.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
