"""Store.write against plain Parquet writers, and what a revision of one big partition costs.

1. Fresh write: the real Eurostat nrg_ti_coifpm file read into the canonical frame and replicated
   12 times (copy i > 0: reporter ``<reporter><i:02d>``, vintage + i days, so keys stay unique, as
   ``bench_store.py`` does): 783,324 rows in 84 partitions. Contenders, each into an empty
   directory, interleaved round by round, best of 5 (``--quick``: best of 2):
   ``Store.write(frame)``; ``pyarrow.dataset.write_dataset`` of the same rows as an Arrow table
   (built before the clock starts), hive-partitioned by source/dataset/reporter, zstd; DuckDB
   ``COPY (SELECT * FROM table) TO ... (FORMAT parquet, PARTITION_BY (...), COMPRESSION zstd)``;
   pandas ``to_parquet(partition_cols=...)``, zstd. The ratio is to ``write_dataset``. Only
   ``Store.write`` checks the rows, merges with what is stored, hashes, fsyncs and commits.
2. Revision: a store holding one partition of 1,000,000 rows (100 partners x 40 grades x 250
   months, 2004-01 to 2024-10, as ``bench_store_scale.py``), laid out as one file (the layout
   before period chunks; ``CHUNK_ROWS`` raised) and as year chunks (21 files, the default for a
   partition of more than ``CHUNK_ROWS`` rows). A newer vintage is written over a fresh copy of it:
   either of a random 0.1 %, 1 %, 10 % or 100 % of its observations (random rows fall in every
   year, so every chunk is rewritten), or of its latest 0.1 %, 1 % or 10 % (the newest periods:
   1,000 rows of the last month, the last 2.5 months, the last 25 months: what a statistical
   release revises). The copy hard-links the files, as a store holds them (a plain copy would make
   the write re-link every view file first). Seconds (best of 3, ``--quick``: 1), the data files
   the write created, and the bytes of all files it created (data, archive, manifest; the public
   view is a hard link and costs no bytes), also as a share of the partition's current files.
   Also: ``Store.read()`` of the whole partition and of 2024 in each layout.

    python benchmarks/bench_store_write.py            # writes benchmarks/results/store_write.md
    python benchmarks/bench_store_write.py --quick
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import duckdb  # noqa: E402
import pyarrow.dataset as ds  # noqa: E402
from _measure import machine  # noqa: E402

import oilflows.store.layout as store_layout  # noqa: E402
from oilflows.schema import COLUMNS, conform, to_table  # noqa: E402
from oilflows.sources import eurostat  # noqa: E402
from oilflows.store import PARTITIONS, Store  # noqa: E402

SHARED_DATA = Path(os.environ.get("OILFLOWS_SHARED_DATA", HERE.parents[1] / "shared" / "data"))
COIFPM_FILE = SHARED_DATA / "eurostat" / "nrg_ti_coifpm.csv.gz"
WORK = HERE / "_work" / "store_write"
RESULTS = HERE / "results" / "store_write.md"
COPIES = 12
PARTNERS = [f"{a}{b}" for a in "ABCDEFGHIJ" for b in "ABCDEFGHIJ"]
GRADES = [f"G{i:03d}" for i in range(40)]
MONTHS = 250
V1, V2 = pd.Timestamp("2024-01-15 11:00"), pd.Timestamp("2024-02-15 11:00")
FRACTIONS = (0.001, 0.01, 0.1, 1.0)
LATEST = (0.001, 0.01, 0.1)
#: The layouts compared: the threshold each is written with.
LAYOUTS = {"one file": 10**15, "year chunks": store_layout.CHUNK_ROWS}


def replicated_frame(copies: int = COPIES) -> pd.DataFrame:
    """The real file's canonical rows, `copies` times, with unique keys."""
    base = eurostat.read(COIFPM_FILE)
    frames = [base]
    for i in range(1, copies):
        copy = base.copy()
        copy["reporter"] = copy["reporter"] + f"{i:02d}"
        copy["vintage"] = copy["vintage"] + pd.Timedelta(days=i)
        frames.append(copy)
    return pd.concat(frames, ignore_index=True)


def partition_frame(seed: int = 0) -> pd.DataFrame:
    """1,000,000 canonical rows of one partition (reporter ``XA``) at vintage V1."""
    rng = np.random.default_rng(seed)
    periods = pd.date_range("2004-01-01", periods=MONTHS, freq="MS")
    index = pd.MultiIndex.from_product([PARTNERS, GRADES, periods], names=["partner", "grade", "period"])
    frame = index.to_frame(index=False)
    volume = rng.integers(1, 50_000, len(frame)) * 1000.0
    frame = frame.assign(
        source="eurostat", dataset="bench_coifpm", reporter="XA", vintage=V1, freq="M",
        flow="import", product="crude_oil", volume_bbl=volume, mass_t=np.nan, value=volume * 70.0,
        currency="USD", api_gravity=np.nan, sulphur_pct=np.nan, price_per_bbl=70.0, flag=None)
    return conform(frame[list(COLUMNS)])


def revision(base: pd.DataFrame, fraction: float, seed: int = 1) -> pd.DataFrame:
    """A newer vintage of a random `fraction` of `base`'s observations, with changed volumes."""
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(base), size=max(1, round(len(base) * fraction)), replace=False))
    revised = base.iloc[rows].copy()
    revised["vintage"] = V2
    revised["volume_bbl"] = revised["volume_bbl"] + 1000.0
    return revised.reset_index(drop=True)


def latest(base: pd.DataFrame, fraction: float) -> pd.DataFrame:
    """A newer vintage of `base`'s newest `fraction` of observations (by period), changed volumes."""
    n = max(1, round(len(base) * fraction))
    revised = base.sort_values("period", kind="stable").iloc[len(base) - n:].copy()
    revised["vintage"] = V2
    revised["volume_bbl"] = revised["volume_bbl"] + 1000.0
    return revised.reset_index(drop=True)


def timed(func: Callable[[], object], setup: Callable[[], None]) -> float:
    setup()
    gc.collect()
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def fresh_write(frame: pd.DataFrame, rounds: int) -> dict[str, float]:
    """Best seconds of each contender, interleaved: every round runs each once, in turn."""
    table = to_table(frame)
    partitioning = ds.partitioning(table.select(list(PARTITIONS)).schema, flavor="hive")
    roots = {name: WORK / f"fresh-{name}" for name in ("store", "pyarrow", "duckdb", "pandas")}

    def store() -> None:
        Store(roots["store"]).write(frame)

    def pyarrow() -> None:
        ds.write_dataset(table, roots["pyarrow"], format="parquet", partitioning=partitioning,
                         file_options=ds.ParquetFileFormat().make_write_options(compression="zstd"))

    def duck() -> None:
        with duckdb.connect() as con:
            con.register("rows", table)
            con.execute(f"COPY (SELECT * FROM rows) TO '{roots['duckdb']}' (FORMAT parquet, "
                        f"PARTITION_BY ({', '.join(PARTITIONS)}), COMPRESSION zstd)")

    def pandas_() -> None:
        frame.to_parquet(roots["pandas"], partition_cols=list(PARTITIONS), index=False, compression="zstd")

    contenders = {"store": store, "pyarrow": pyarrow, "duckdb": duck, "pandas": pandas_}
    best = {name: float("inf") for name in contenders}
    for _ in range(rounds):
        for name, func in contenders.items():
            def clear(n: str = name) -> None:
                shutil.rmtree(roots[n], ignore_errors=True)

            best[name] = min(best[name], timed(func, clear))
    for root in roots.values():
        shutil.rmtree(root, ignore_errors=True)
    return best


def written_bytes(root: Path, before: set[str]) -> int:
    """Bytes of the files under `root` the write created (not in `before`), hard links once."""
    seen, total = set(), 0
    for path in root.rglob("*"):
        rel = path.relative_to(root).as_posix()
        if not path.is_file() or rel in before or rel == "_store.lock":
            continue
        stat = path.stat()
        if (stat.st_dev, stat.st_ino) in seen:
            continue
        seen.add((stat.st_dev, stat.st_ino))
        total += stat.st_size
    return total


def current_files(root: Path) -> list[str]:
    manifest = Store(root).manifest()
    return [e.file for e in manifest.current_files()]


def revisions(rounds: int) -> tuple[list[dict], list[dict]]:
    """The revision rows (each case in each layout) and the read rows (each layout)."""
    base = partition_frame()
    cases = [("random", f, revision(base, f)) for f in FRACTIONS] + \
        [("latest", f, latest(base, f)) for f in LATEST]
    rows, reads = [], []
    default = store_layout.CHUNK_ROWS
    try:
        for layout, threshold in LAYOUTS.items():
            store_layout.CHUNK_ROWS = threshold
            base_root = WORK / "revision-base"
            shutil.rmtree(base_root, ignore_errors=True)
            Store(base_root).write(base)
            files = current_files(base_root)
            partition_bytes = sum((base_root / f).stat().st_size for f in files)
            before = {p.relative_to(base_root).as_posix() for p in base_root.rglob("*") if p.is_file()}
            read = {}
            for label, kwargs in (("all", {}), ("2024", {"start": "2024-01"})):
                read[label] = min(timed(lambda k=kwargs, r=base_root: Store(r).read(**k), lambda: None)
                                  for _ in range(3))
            reads.append({"layout": layout, "files": len(files), "bytes": partition_bytes, **read})
            print(f"{layout}: {len(files)} files, {partition_bytes / 1e6:.2f} MB; read all "
                  f"{read['all']:.3f} s, read 2024 {read['2024']:.3f} s", flush=True)
            for kind, fraction, update in cases:
                root = WORK / "revision"
                best, nbytes, summary, created = float("inf"), 0, None, 0
                for _ in range(rounds):
                    shutil.rmtree(root, ignore_errors=True)
                    shutil.copytree(base_root, root, copy_function=os.link)  # hard links, as committed
                    gc.collect()
                    start = time.perf_counter()
                    summary = Store(root).write(update)
                    best = min(best, time.perf_counter() - start)
                    nbytes = written_bytes(root, before)
                    created = len(set(current_files(root)) - set(files))
                rows.append({"kind": kind, "fraction": fraction, "layout": layout, "rows": len(update),
                             "seconds": best, "bytes": nbytes, "partition_bytes": partition_bytes,
                             "files": created, "archived": summary.rows_archived})
                print(f"  {layout}, {kind} {fraction:.1%}: {len(update):,} rows, {best:.3f} s, "
                      f"{created} data files, {nbytes / 1e6:.2f} MB written "
                      f"({nbytes / partition_bytes:.2f}x the partition's files)", flush=True)
    finally:
        store_layout.CHUNK_ROWS = default
        shutil.rmtree(WORK / "revision-base", ignore_errors=True)
        shutil.rmtree(WORK / "revision", ignore_errors=True)
    return rows, reads


def write_results(frame_rows: int, fresh: dict[str, float], revs: list[dict], reads: list[dict],
                  rounds: int, rev_rounds: int) -> str:
    ref = fresh["pyarrow"]
    names = {"store": "oilflows `Store.write` (check, merge, hash, fsync, commit, publish)",
             "pyarrow": "pyarrow `dataset.write_dataset` (Arrow table, zstd)",
             "duckdb": "DuckDB `COPY ... TO` Parquet, `PARTITION_BY` (zstd)",
             "pandas": "pandas `to_parquet(partition_cols=...)` (zstd)"}
    lines = [f"Fresh write of {frame_rows:,} canonical rows (the real nrg_ti_coifpm file x{COPIES}, "
             f"84 partitions) into an empty directory; best of {rounds}, contenders interleaved.", "",
             "| writer | seconds | ratio to write_dataset |", "|---|---:|---:|"]
    for key, label in names.items():
        lines.append(f"| {label} | {fresh[key]:.3f} | {fresh[key] / ref:.2f}x |")
    lines += ["", "Revision of one 1,000,000-row partition (2004-01 to 2024-10) by a newer vintage of "
              "a random share of its observations (random rows fall in every year) or of its latest "
              f"share (the newest periods, as a release revises), over a copy of the store laid out "
              f"as one file or as year chunks (21 files); best of {rev_rounds}; data files and bytes "
              "= files the write created (data, archive, manifest).", "",
              "| revised | rows | layout | seconds | data files written | bytes written | "
              "of the partition's files |", "|---|---:|---|---:|---:|---:|---:|"]
    for r in sorted(revs, key=lambda r: (r["kind"] != "random", r["fraction"], r["layout"])):
        lines.append(f"| {r['kind']} {r['fraction']:.1%} | {r['rows']:,} | {r['layout']} | "
                     f"{r['seconds']:.3f} | {r['files']} | {r['bytes'] / 1e6:.2f} MB | "
                     f"{r['bytes'] / r['partition_bytes']:.2f}x |")
    lines += ["", "`Store.read()` of that partition (best of 3): all of it, and `start=\"2024-01\"`.",
              "", "| layout | files | bytes | read all | read 2024 |", "|---|---:|---:|---:|---:|"]
    for r in reads:
        lines.append(f"| {r['layout']} | {r['files']} | {r['bytes'] / 1e6:.2f} MB | {r['all']:.3f} s | "
                     f"{r['2024']:.3f} s |")
    lines += ["", f"Machine: {machine()}", ""]
    text = "\n".join(lines)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="best of 2 (fresh) and 1 (revisions)")
    args = parser.parse_args(argv)
    rounds = 2 if args.quick else 5
    WORK.mkdir(parents=True, exist_ok=True)
    frame = replicated_frame()
    print(f"fresh write of {len(frame):,} rows, best of {rounds}", flush=True)
    fresh = fresh_write(frame, rounds)
    for name, seconds in fresh.items():
        print(f"  {name}: {seconds:.3f} s ({seconds / fresh['pyarrow']:.2f}x write_dataset)", flush=True)
    frame_rows = len(frame)
    del frame
    rev_rounds = 1 if args.quick else 3
    revs, reads = revisions(rev_rounds)
    print(write_results(frame_rows, fresh, revs, reads, rounds, rev_rounds))
    print(json.dumps({"ratio": fresh["store"] / fresh["pyarrow"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
