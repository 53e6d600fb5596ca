"""Benchmark 2: one reporter-partner series out of a 50-million-row store, against a full scan,
pyarrow.dataset, DuckDB and pandas on the same files.

The store is built once under ``benchmarks/_work/store_scale`` through :meth:`oilflows.Store.write`
(reused while its manifest says it holds the requested rows): ``--reporters`` partitions (default
50) of 100 partners x 40 grades x 250 months = 1,000,000 rows each at a first vintage, then a second
vintage revising the last 12 months of a fifth of the reporters (the superseded rows go to
``_vintages``). Each query runs in a fresh subprocess (so peak RSS is per contender), warm-up once,
then best of ``--repeat``; the OS page cache is warm for all of them alike.

    python benchmarks/bench_store_scale.py            # 50 M rows (builds in a few minutes once)
    python benchmarks/bench_store_scale.py --quick    # 5 M rows

Writes ``benchmarks/results/store_scale.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from _measure import machine, peak_rss_mb  # noqa: E402

from oilflows.schema import COLUMNS, conform  # noqa: E402
from oilflows.store import Store  # noqa: E402

WORK = HERE / "_work"
RESULTS = HERE / "results" / "store_scale.md"
PARTNERS = [f"{a}{b}" for a in "ABCDEFGHIJ" for b in "ABCDEFGHIJ"]
GRADES = [f"G{i:03d}" for i in range(40)]
MONTHS = 250
REPORTER_CODES = [f"{a}{b}" for a in "KLMNOPQRSTUVWXYZ" for b in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"]
QUERY = {"reporter": REPORTER_CODES[0], "partner": PARTNERS[37]}
V1, V2 = pd.Timestamp("2024-01-15 11:00"), pd.Timestamp("2024-02-15 11:00")


def partition_frame(reporter: str, vintage: pd.Timestamp, months: slice = slice(None), seed: int = 0
                    ) -> pd.DataFrame:
    """1,000,000 canonical rows for one reporter (fewer for a slice of the months)."""
    rng = np.random.default_rng(seed)
    periods = pd.date_range("2004-01-01", periods=MONTHS, freq="MS")[months]
    index = pd.MultiIndex.from_product([PARTNERS, GRADES, periods], names=["partner", "grade", "period"])
    frame = index.to_frame(index=False)
    volume = rng.integers(1, 50_000, len(frame)) * 1000.0
    frame = frame.assign(
        source="eurostat", dataset="bench_coifpm", reporter=reporter, vintage=vintage, freq="M",
        flow="import", product="crude_oil", volume_bbl=volume, mass_t=np.nan, value=volume * 70.0,
        currency="USD", api_gravity=np.nan, sulphur_pct=np.nan, price_per_bbl=70.0, flag=None)
    return conform(frame[list(COLUMNS)])


def build(root: Path, reporters: int) -> dict:
    """Build (or reuse) the store; returns its size and how long the build took."""
    store = Store(root)
    manifest = store.manifest()
    want = reporters * len(PARTNERS) * len(GRADES) * MONTHS
    if manifest is not None and sum(e.rows for e in manifest.current_files()) == want:
        return json.loads((root.parent / (root.name + ".build.json")).read_text())
    import shutil

    shutil.rmtree(root, ignore_errors=True)
    started = time.perf_counter()
    for i, code in enumerate(REPORTER_CODES[:reporters]):
        store.write(partition_frame(code, V1, seed=i))
    first = time.perf_counter() - started
    revised = REPORTER_CODES[: max(1, reporters // 5)]
    started = time.perf_counter()
    for i, code in enumerate(revised):
        store.write(partition_frame(code, V2, slice(MONTHS - 12, None), seed=1000 + i))
    second = time.perf_counter() - started
    manifest = store.manifest()
    info = {
        "current_rows": sum(e.rows for e in manifest.current_files()),
        "archived_rows": sum(e.rows for e in manifest.vintages),
        "partitions": len(manifest.partition_keys()),
        "files": len(manifest.current_files()),
        "bytes": sum(e.bytes for e in manifest.current_files()),
        "write_first_s": first, "write_revisions_s": second, "revised_reporters": len(revised),
    }
    (root.parent / (root.name + ".build.json")).write_text(json.dumps(info))
    return info


# -- contenders: each returns the number of rows it found -------------------------------------------


def oilflows_read(root: Path) -> int:
    return len(Store(root).read(**QUERY))


def full_scan(root: Path) -> int:
    """The same series with no partition pruning and no pushdown: decode every row, then filter."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    dataset = Store(root).dataset()
    found = 0
    for batch in dataset.to_batches():
        mask = pc.and_(pc.equal(batch["reporter"], QUERY["reporter"]),
                       pc.equal(batch["partner"], QUERY["partner"]))
        found += batch.filter(mask).num_rows
    assert isinstance(dataset, ds.Dataset)
    return found


def pyarrow_view(root: Path) -> int:
    import pyarrow.dataset as ds

    dataset = ds.dataset(root, format="parquet", partitioning="hive", ignore_prefixes=[".", "_"])
    expr = (ds.field("reporter") == QUERY["reporter"]) & (ds.field("partner") == QUERY["partner"])
    return dataset.to_table(filter=expr).num_rows


def duckdb_view(root: Path) -> int:
    import duckdb

    glob = f"{root.as_posix()}/source=*/dataset=*/reporter=*/*.parquet"
    with duckdb.connect() as con:
        con.execute("SET threads TO 2")
        sql = (f"SELECT * FROM read_parquet('{glob}', hive_partitioning=true) "
               "WHERE reporter = ? AND partner = ?")
        return con.execute(sql, [QUERY["reporter"], QUERY["partner"]]).to_arrow_table().num_rows


def pandas_view(root: Path) -> int:
    frame = pd.read_parquet(root, filters=[("reporter", "==", QUERY["reporter"]),
                                           ("partner", "==", QUERY["partner"])])
    return len(frame)


CONTENDERS = {
    "oilflows Store.read (manifest pruning + pushdown, to pandas)": oilflows_read,
    "full scan (every file decoded, then filtered)": full_scan,
    "pyarrow.dataset on the public view (hive + pushdown)": pyarrow_view,
    "DuckDB read_parquet on the public view": duckdb_view,
    "pandas.read_parquet(filters=) on the public view": pandas_view,
}


def run_contender(name: str, root: Path, repeat: int) -> dict:
    func = CONTENDERS[name]
    rows = func(root)  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        assert func(root) == rows
        times.append(time.perf_counter() - start)
    return {"name": name, "seconds": min(times), "rows": rows, "peak_mb": peak_rss_mb()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 reporters (5 M rows)")
    parser.add_argument("--reporters", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--contender", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.contender:  # child mode
        print(json.dumps(run_contender(args.contender, Path(args.root), args.repeat)))
        return 0
    reporters = args.reporters or (5 if args.quick else 50)
    root = WORK / f"store_scale_{reporters}"
    WORK.mkdir(parents=True, exist_ok=True)
    info = build(root, reporters)
    print(f"store: {info['current_rows']:,} current rows, {info['archived_rows']:,} archived, "
          f"{info['partitions']} partitions, {info['bytes'] / 2**20:.0f} MiB", flush=True)
    results = []
    for name in CONTENDERS:
        out = subprocess.run([sys.executable, __file__, "--contender", name, "--root", str(root),
                              "--repeat", str(args.repeat)], capture_output=True, text=True,
                             check=True, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"  {name}: {results[-1]['seconds']:.3f} s", flush=True)
    write_results(results, info, reporters, args.repeat)
    return 0


def write_results(results: list[dict], info: dict, reporters: int, repeat: int) -> None:
    ours = results[0]["seconds"]
    scan = results[1]["seconds"]
    lines = [
        "# Store scale: one series out of the store", "",
        f"Machine: {machine()}.", "",
        f"Store: {info['current_rows']:,} current rows in {info['partitions']} reporter partitions "
        f"({info.get('files', info['partitions'])} files: a partition of more than 262,144 rows is one "
        f"file per year of period; {info['bytes'] / 2**20:.0f} MiB zstd Parquet) plus "
        f"{info['archived_rows']:,} archived rows "
        f"(a second vintage for {info['revised_reporters']} reporters). Built through Store.write in "
        f"{info['write_first_s']:.0f} s ({info['current_rows'] / info['write_first_s'] / 1e6:.2f} M rows/s)"
        f" plus {info['write_revisions_s']:.0f} s for the revisions.", "",
        f"Query: reporter={QUERY['reporter']}, partner={QUERY['partner']} "
        f"({results[0]['rows']:,} rows: 40 grades x 250 months). Best of {repeat} after a warm-up, "
        "each contender in its own process.", "",
        "| contender | seconds | x oilflows | full scan / contender | peak RSS MB |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(f"| {r['name']} | {r['seconds']:.3f} | {r['seconds'] / ours:.1f} | "
                     f"{scan / r['seconds']:.0f} | {r['peak_mb']:.0f} |")
    lines += ["", f"Targets: under 0.2 s ({'met' if ours < 0.2 else 'MISSED'}: {ours:.3f} s); at least "
              f"20x faster than the full scan ({'met' if scan / ours >= 20 else 'MISSED'}: "
              f"{scan / ours:.0f}x).", ""]
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
