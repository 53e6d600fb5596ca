"""Coverage bounds for every reporter x (displaced, substitute) pair of the embedded default (issue 15).

Run from the project root::

    python benchmarks/bench_bounds.py            # writes benchmarks/results/bounds.md
    python benchmarks/bench_bounds.py --quick    # one run; table kept in benchmarks/_work/

Workload: :func:`oilflows.analytics.panel_bounds` on :func:`oilflows.load_default` (``nrg_ti_coifpm``,
baseline 2021, post 2023, grade detail alone): every reporter and every ordered pair of partners
with a cell in the windows. Reported: wall seconds (best of ``--repeat`` runs in this process,
``time.perf_counter``; serial executor, the default), pairs, how each pair was solved (closed-form
identity bounds, the exact polygon of a shared residual, or linear programs) and the linear programs
solved (counted in :mod:`oilflows.analytics._accounting`). For scale, the script also times
``substitution_bounds`` (one call per pair, LPs throughout) on a fixed sample of pairs and
extrapolates to all pairs, and checks that sample against the panel run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from _measure import machine, write_results  # noqa: E402

import oilflows  # noqa: E402
from oilflows.analytics import _accounting  # noqa: E402
from oilflows.analytics.bounds import substitution_bounds  # noqa: E402
from oilflows.analytics.panel_run import panel_bounds  # noqa: E402

RESULTS = HERE / "results" / "bounds.md"
WORK = HERE / "_work"
TARGET_SECONDS = 10.0
WINDOWS = {"baseline": ("2021-01", "2021-12"), "post": ("2023-01", "2023-12")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run, 10 reference pairs")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the panel (best is reported)")
    parser.add_argument("--sample", type=int, default=30, help="pairs timed with substitution_bounds")
    args = parser.parse_args(argv)
    repeat, sample = (1, 10) if args.quick else (args.repeat, args.sample)
    load_before = "/".join(f"{x:.1f}" for x in os.getloadavg())
    frame = oilflows.load_default()
    times, result, lps = [], None, 0
    for _ in range(repeat):
        before = _accounting.LP_SOLVES[0]
        start = time.perf_counter()
        result = panel_bounds(frame, **WINDOWS)
        times.append(time.perf_counter() - start)
        lps = _accounting.LP_SOLVES[0] - before
    assert result is not None
    table = result.ok
    methods = table["method"].value_counts()
    per_reporter = table.groupby("reporter")["method"].value_counts().unstack(fill_value=0)
    rng = np.random.default_rng(15)
    picks = table.iloc[rng.choice(len(table), size=min(sample, len(table)), replace=False)]
    before, start, worst = _accounting.LP_SOLVES[0], time.perf_counter(), 0.0
    for row in picks.itertuples():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = substitution_bounds(frame, row.reporter, displaced=row.displaced,
                                      substitute=row.substitute, **WINDOWS)
        ours = [row.gain_lower, row.gain_upper, row.shortfall_lower, row.shortfall_upper,
                row.coverage_lower, row.coverage_upper]
        for a, b in zip(ours, [*ref.gain, *ref.shortfall, *ref.coverage], strict=True):
            if np.isfinite(a) and np.isfinite(b):
                worst = max(worst, abs(a - b) / max(abs(b), 1e-12))
            elif not (a == b or (np.isnan(a) and np.isnan(b))):
                worst = np.inf
    per_pair = (time.perf_counter() - start) / len(picks)
    ref_lps = (_accounting.LP_SOLVES[0] - before) / len(picks)
    best = min(times)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Coverage bounds for every reporter x (displaced, substitute) pair (`bench_bounds.py`)", "",
        f"- Date: {stamp}", f"- Machine: {machine()}",
        f"- Load average (1/5/15 min) before: {load_before}.",
        f"- Command: `python benchmarks/bench_bounds.py{' --quick' if args.quick else ''}`; "
        f"`panel_bounds(load_default())` (nrg_ti_coifpm, baseline 2021, post 2023, grade detail "
        f"alone, serial executor), best of {repeat} run(s) in one process, wall seconds "
        "(`time.perf_counter`); LPs counted in `oilflows.analytics._accounting`.",
        "",
        "| figure | value |", "|---|---:|",
        f"| reporters | {result.n_tasks} |",
        f"| (displaced, substitute) pairs | {len(table):,} |",
        f"| pairs in closed form (identity bounds, rectangle) | {methods.get('identity', 0):,} |",
        f"| pairs sharing a residual (exact polygon, no LP) | {methods.get('polygon', 0):,} |",
        f"| pairs solved by linear programs | {methods.get('lp', 0):,} |",
        f"| linear programs solved | {lps:,} |",
        f"| seconds, all pairs (best of {repeat}; runs: {', '.join(f'{t:.2f}' for t in times)}) "
        f"| {best:.2f} |",
        f"| `substitution_bounds` per pair ({len(picks)} sampled pairs): seconds, LPs | "
        f"{per_pair:.3f} s, {ref_lps:.1f} |",
        f"| the same for all pairs, extrapolated | {per_pair * len(table):,.0f} s |",
        f"| largest relative difference from `substitution_bounds` on the sample | {worst:.1e} |",
        "",
        f"Target (issue 15): every pair in under {TARGET_SECONDS:.0f} s: {best:.2f} s, "
        f"{'MET' if best < TARGET_SECONDS else 'NOT MET'}.",
        "",
        "Pairs by reporter and method:", "",
        "| reporter | " + " | ".join(per_reporter.columns) + " |",
        "|---|" + "---:|" * len(per_reporter.columns),
        *[f"| {r} | " + " | ".join(f"{v:,}" for v in row) + " |"
          for r, row in zip(per_reporter.index, per_reporter.to_numpy(), strict=True)],
        "",
    ]
    text = "\n".join(lines)
    print(text)
    write_results(text, RESULTS, WORK / "bounds_quick.md" if args.quick else None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
