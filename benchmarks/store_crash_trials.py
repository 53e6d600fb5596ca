"""Many kill -9 trials against Store.write (the tests run 50): counts of the states left behind.

    python benchmarks/store_crash_trials.py [--trials 300]

Uses tests/_crash_harness.py; every trial asserts the store reads exactly the state before or after
the write, that verify finds no damage and that repair leaves nothing to report. Writes
``benchmarks/results/store_crash.md``.
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="50 trials")
    args = parser.parse_args(argv)
    trials = 50 if args.quick else args.trials
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        stats = harness.run_trials(Path(tmp), trials, seed=99, months=36)
        seconds = time.perf_counter() - started
        steps = harness.run_step_trials(Path(tmp) / "steps", reporters=8, months=36)
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
        "Every trial: oilflows read the old or the new state whole; `verify` found no damage; after "
        "`repair`, `verify` reported nothing and the public view held the same rows.", "",
    ]
    out = HERE / "results" / "store_crash.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
