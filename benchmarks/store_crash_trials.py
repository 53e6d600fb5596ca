"""Many kill -9 trials against Store.write (the tests run 50): counts of the states left behind.

    python benchmarks/store_crash_trials.py [--trials 300]

Uses tests/_crash_harness.py; every trial asserts the store reads exactly the state before or after
the write, that verify finds no damage and that repair leaves nothing to report. Also a kill before
every I/O step of a revision of period chunks (tests/test_store_crash.py's step trials, with
``CHUNK_ROWS`` lowered so that 8 partitions of 3 years are chunked). Writes
``benchmarks/results/store_crash.md`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent))

import _crash_harness as harness  # noqa: E402
import pandas as pd  # noqa: E402
import test_store_crash as crash_tests  # noqa: E402

import oilflows.store.layout as store_layout  # noqa: E402
from oilflows.schema import conform  # noqa: E402
from oilflows.store import Store  # noqa: E402

#: Rows above which a partition is chunked, in the chunked trials (a partition holds 360 rows).
CHUNK_ROWS = 100


def chunked_step_trials(work: Path) -> harness.TrialStats:
    """A kill before every I/O step of a newer vintage of the last 3 months of 8 chunked partitions
    (36 months each: chunks of 2018, 2019, 2020; the write rewrites 2020's)."""
    base = harness.base_frame(reporters=8, months=36)
    update = base[base["period"] >= pd.Timestamp("2020-10-01")].copy()
    update["vintage"] = harness.V2
    update["volume_bbl"] = update["volume_bbl"] + 1000.0
    default = store_layout.CHUNK_ROWS
    store_layout.CHUNK_ROWS = CHUNK_ROWS
    try:
        Store(work / "base").write(base)
        return crash_tests._chunked_step_trials(work, base, conform(update), CHUNK_ROWS)
    finally:
        store_layout.CHUNK_ROWS = default


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="50 trials")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "store_crash.md")
    args = parser.parse_args(argv)
    trials = 50 if args.quick else args.trials
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        stats = harness.run_trials(Path(tmp), trials, seed=99, months=36)
        seconds = time.perf_counter() - started
        steps = harness.run_step_trials(Path(tmp) / "steps", reporters=8, months=36)
        chunked = chunked_step_trials(Path(tmp) / "chunked")
    lines = [
        "# Store: kill -9 trials", "",
        f"{stats.trials} trials in {seconds:.0f} s; the write (8 partitions revised + 2 new, "
        f"{len(harness.base_frame(months=36)):,} rows in the store) takes "
        f"{stats.write_seconds * 1000:.0f} ms unkilled.",
        f"Writers killed while still running: {stats.killed_before_end}.", "",
        "| state after the kill | trials |", "|---|---:|",
        *(f"| {k} | {v} |" for k, v in sorted(stats.outcomes.items())), "",
        "| repair action | count |", "|---|---:|",
        *(f"| {k} | {v} |" for k, v in sorted(stats.repairs.items())), "",
        "## A kill before every I/O step", "",
        steps.line() + ".", "",
        "| state after the kill | trials |", "|---|---:|",
        *(f"| {k} | {v} |" for k, v in sorted(steps.outcomes.items())), "",
        "| repair action | count |", "|---|---:|",
        *(f"| {k} | {v} |" for k, v in sorted(steps.repairs.items())), "",
        "## A kill before every I/O step of a revision of period chunks", "",
        chunked.line() + ".", "",
        "| state after the kill | trials |", "|---|---:|",
        *(f"| {k} | {v} |" for k, v in sorted(chunked.outcomes.items())), "",
        "| repair action | count |", "|---|---:|",
        *(f"| {k} | {v} |" for k, v in sorted(chunked.repairs.items())), "",
        "Every trial: oilflows read the old or the new state whole; `verify` found no damage; after "
        "`repair`, `verify` reported nothing and the public view held the same rows.", "",
    ]
    out = args.out
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
