"""Panel runs side by side: serial vs local processes vs a Dask LocalCluster (seconds, ratios, memory).

Run from the project root::

    python benchmarks/bench_panel.py            # full run, writes benchmarks/results/panel.md
    python benchmarks/bench_panel.py --quick    # 40 series; table printed and kept in benchmarks/_work/

Workloads, on the embedded default snapshot (no network, no ``shared/`` needed):

1. substitution for every reporter and origin: Eurostat ``nrg_ti_coifpm`` (RU displaced, 2021 vs 2023)
   and the EU register ``coir`` (RU displaced, 2013 vs 2019);
2. concentration (annual HHI etc.) for every (dataset, reporter) with a WORLD total;
3. counterfactuals (SARIMAX (1,0,0)x(1,0,0,12) with parameter uncertainty) for ``--series`` series
   (default 1,000): every real register series (reporter x origin with >= 24 months of positive volume
   before 2019-01; shock 2019-01, post 2019) and every real ``nrg_ti_coifpm`` series (>= 24 months
   in 2020-01..2022-12; shock 2023-01, post 2023), topped up with simulated series whose effect is
   known (seasonal AR(1), 36 pre months, a step of 0 / +-2 / +-5 innovation s.d. from the shock).

Each executor runs in a fresh Python process (so peak RSS is its own): ``serial``; ``processes``
(the default ``ProcessPoolExecutor``, 2 workers, created per call); ``dask`` (``LocalCluster`` with 2
worker processes, 1 thread each; its start-up is timed separately). All use ``OPENBLAS_NUM_THREADS=1``.
Peak RSS: ``resource.getrusage`` of the driver and of its largest (reaped) child process; with psutil
installed also the peak of the summed RSS of the driver and all its descendants (sampled every 50 ms;
an upper bound, shared pages count once per process) and the CPU seconds of all descendants (the pool's
workers are the fork server's children, which ``RUSAGE_CHILDREN`` does not count; without psutil the
CPU row counts reaped children only and is marked ``*``). The run also checks that the executors agree
(substitution and concentration exactly, counterfactuals to 1e-6) and scores the simulated series
against their known effects.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import pickle
import platform
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a checkout without installing
sys.path.insert(0, str(HERE))

from _measure import machine, write_results  # noqa: E402

import oilflows  # noqa: E402
from oilflows.analytics.panel_run import (  # noqa: E402
    SeriesSpec,
    counterfactual_series,
    panel_concentration,
    panel_counterfactual,
    panel_substitution,
)
from oilflows.schema import COLUMNS, conform  # noqa: E402

WORK = HERE / "_work"
RESULTS = HERE / "results" / "panel.md"
EXECUTORS = ("serial", "processes", "dask")
WORKERS = 2
SIGMA = 1e5  # innovation s.d. of the simulated series, barrels per month
SIM_EFFECTS = np.array([0.0, 2.0, -2.0, 5.0, -5.0]) * SIGMA
SIM_PARTNERS = 10
#: Issue 15: 1,000 counterfactuals in under 60 s on 2 cores with the default executor.
TARGET_SERIES, TARGET_SECONDS = 1000, 60.0
BLAS = {v: "1" for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}


# -- data ------------------------------------------------------------------------------------------


def simulated(n_series: int, seed: int = 2024) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A canonical frame of `n_series` simulated series and their known monthly effects.

    Reporters S001.. with up to SIM_PARTNERS partners each; monthly 2016-01..2019-12; each series is
    2 Mbbl + a seasonal AR(1) ``(1 - 0.5 L)(1 - 0.3 L^12) x = e``, ``e ~ N(0, SIGMA^2)``, plus a step
    of ``effect`` barrels per month from 2019-01. WORLD = the sum of the partners.
    """
    rng = np.random.default_rng(seed)
    months = pd.date_range("2016-01-01", "2019-12-01", freq="MS")
    burn, n = 60, len(months) + 60
    e = rng.normal(0.0, SIGMA, (n_series, n))
    x = np.zeros((n_series, n))
    for t in range(13, n):
        x[:, t] = 0.5 * x[:, t - 1] + 0.3 * x[:, t - 12] - 0.15 * x[:, t - 13] + e[:, t]
    effects = SIM_EFFECTS[np.arange(n_series) % len(SIM_EFFECTS)]
    y = 2e6 + x[:, burn:] + np.outer(effects, months >= "2019-01-01")
    reporters = [f"S{i // SIM_PARTNERS + 1:03d}" for i in range(n_series)]
    partners = [f"P{i % SIM_PARTNERS + 1:02d}" for i in range(n_series)]
    long = pd.DataFrame({"reporter": np.repeat(reporters, len(months)),
                         "partner": np.repeat(partners, len(months)),
                         "period": np.tile(months, n_series), "volume_bbl": y.ravel()})
    world = long.groupby(["reporter", "period"], as_index=False)["volume_bbl"].sum().assign(partner="WORLD")
    rows = pd.concat([long, world], ignore_index=True)
    rows = rows.assign(source="simulated", dataset="sim", vintage=pd.NaT, freq="M", flow="import",
                       product="crude_oil", grade=rows["partner"].where(rows["partner"] != "WORLD"),
                       flag=None)
    for column in COLUMNS:
        if column not in rows:
            rows[column] = None
    truth = pd.DataFrame({"reporter": reporters, "partner": partners, "effect": effects})
    return conform(rows[list(COLUMNS)]), truth


def workload(n_series: int) -> tuple[pd.DataFrame, list[SeriesSpec], dict]:
    """The frame (default + simulated) and the counterfactual series: real first, then simulated."""
    default = oilflows.load_default()
    real = (counterfactual_series(default, dataset="coir", shock="2019-01", post=("2019-01", "2019-12"))
            + counterfactual_series(default, dataset="nrg_ti_coifpm", shock="2023-01",
                                    post=("2023-01", "2023-12")))
    n_real = len(real)
    if n_series < n_real:  # --quick: a spread of the real series
        real = [real[i] for i in np.linspace(0, n_real - 1, max(n_series // 2, 1)).astype(int)]
    n_sim = max(n_series - len(real), 0)
    sim_frame, truth = simulated(n_sim) if n_sim else (default.iloc[:0], None)
    specs = real + [SeriesSpec(r, p, "simulated/sim", "2019-01", ("2019-01", "2019-12"))
                    for r, p in zip(truth["reporter"], truth["partner"], strict=True)] if n_sim else real
    frame = pd.concat([default, sim_frame], ignore_index=True)
    info = {"real_available": n_real, "real_used": len(real), "simulated": n_sim,
            "truth": truth, "rows_default": len(default), "rows_frame": len(frame)}
    return frame, specs, info


# -- one executor, in its own process -------------------------------------------------------------


class RssSampler:
    """Peak of the summed RSS of this process and its descendants, and the CPU seconds of each
    descendant (psutil, optional; sampled every 50 ms).

    The CPU figure is needed because the process pool's workers are children of multiprocessing's
    fork server, not of this process: ``RUSAGE_CHILDREN`` never counts them. Each descendant's
    ``cpu_times()`` is remembered at its last sample, so a worker that exits between two samples
    loses at most its last 50 ms.
    """

    def __init__(self) -> None:
        self.cpu: dict[tuple[int, float], float] = {}
        try:
            import psutil
        except ImportError:
            self.peak = None
            return
        self._proc, self.peak = psutil.Process(), 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        import psutil

        total = 0
        try:
            procs = [self._proc, *self._proc.children(recursive=True)]
        except psutil.Error:
            return
        for p in procs:
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
                if p.pid != self._proc.pid:
                    times = p.cpu_times()
                    self.cpu[(p.pid, p.create_time())] = times.user + times.system
        self.peak = max(self.peak, total)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self._sample()

    def stop(self) -> int | None:
        if self.peak is not None:
            self._stop.set()
            self._thread.join()
            self._sample()
        return self.peak

    def descendants_cpu(self) -> float | None:
        """CPU seconds of every descendant seen (None without psutil)."""
        return None if self.peak is None else sum(self.cpu.values())


def run_one(name: str, n_series: int, out: Path) -> None:
    """Run the three workloads on executor `name`; write timings, memory and tables to `out`."""
    sampler = RssSampler()
    frame, specs, info = workload(n_series)
    timings: dict[str, float] = {}
    cluster = client = None
    if name == "dask":
        from distributed import Client, LocalCluster

        start = time.perf_counter()
        cluster = LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
        timings["dask cluster start"] = time.perf_counter() - start
    executor = {"serial": "serial", "processes": None, "dask": client}[name]
    kwargs = {"executor": executor, "max_workers": WORKERS if name == "processes" else None}
    default = frame[frame["source"] != "simulated"]
    tables = {}
    try:
        start = time.perf_counter()
        subs = [panel_substitution(default, dataset="nrg_ti_coifpm", displaced="RU", **kwargs),
                panel_substitution(default, dataset="coir", baseline=("2013-01", "2013-12"),
                                   post=("2019-01", "2019-12"), displaced="RU", **kwargs)]
        timings["substitution"] = time.perf_counter() - start
        start = time.perf_counter()
        conc = panel_concentration(default, **kwargs)
        timings["concentration"] = time.perf_counter() - start
        start, cpu_start = time.perf_counter(), time.process_time()
        cf = panel_counterfactual(frame, specs, **kwargs)
        timings["counterfactual"] = time.perf_counter() - start
        # CPU seconds of this process: the whole workload for "serial" (a load-independent figure
        # of the work; other executors compute in their workers).
        timings["counterfactual cpu"] = time.process_time() - cpu_start
        label = cf.executor
    finally:
        if client is not None:
            client.close()
            cluster.close()
    tables = {"substitution": pd.concat([s.table for s in subs], ignore_index=True),
              "concentration": conc.table, "counterfactual": cf.table}
    tasks = {"substitution": sum(s.n_tasks for s in subs), "concentration": conc.n_tasks,
             "counterfactual": cf.n_tasks}
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    self_kb, child_kb = me.ru_maxrss, children.ru_maxrss
    tree_peak = sampler.stop()
    sampled = sampler.descendants_cpu()
    # Descendants as sampled when psutil is there (the pool's workers are the fork server's children,
    # which RUSAGE_CHILDREN misses); else the reaped children only (an undercount for "processes").
    others = sampled if sampled is not None else children.ru_utime + children.ru_stime
    cpu = me.ru_utime + me.ru_stime + others
    out.write_bytes(pickle.dumps({
        "name": name, "label": label, "timings": timings, "tasks": tasks, "tables": tables,
        "info": info, "n_specs": len(specs), "cpu_seconds": cpu, "cpu_sampled": sampled is not None,
        "rss_self_mb": self_kb / 1024, "rss_child_mb": child_kb / 1024,
        "rss_tree_mb": (tree_peak or 0) / 2**20 or None,
    }))


# -- comparison and report ------------------------------------------------------------------------


def agreement(base: dict, other: dict) -> dict[str, str]:
    out = {}
    for kind in ("substitution", "concentration"):
        try:
            pd.testing.assert_frame_equal(base["tables"][kind], other["tables"][kind], check_exact=True)
            out[kind] = "identical"
        except AssertionError as exc:
            out[kind] = f"DIFFERENT: {str(exc).splitlines()[0]}"
    a, b = base["tables"]["counterfactual"], other["tables"]["counterfactual"]
    cols = ["cumulative_excess", "cumulative_lower", "cumulative_upper"]
    same_keys = a[["reporter", "partner", "error"]].equals(b[["reporter", "partner", "error"]])
    x, y = a[cols].to_numpy(dtype=float), b[cols].to_numpy(dtype=float)
    scale = np.maximum(np.abs(x), SIGMA)
    diff = np.nanmax(np.abs(x - y) / scale) if np.isfinite(x).any() else 0.0
    out["counterfactual"] = (f"max rel. diff {diff:.1e}" if same_keys else "DIFFERENT series/errors")
    return out


def score_simulated(result: dict) -> str:
    truth = result["info"]["truth"]
    if truth is None:
        return "no simulated series"
    table = result["tables"]["counterfactual"]
    sim = table[table["dataset"] == "sim"].merge(truth, on=["reporter", "partner"])
    ok = sim[sim["error"].isna()]
    true_cum = 12 * ok["effect"]
    err = (ok["cumulative_excess"] - true_cum) / SIGMA
    covered = (ok["cumulative_lower"] <= true_cum) & (true_cum <= ok["cumulative_upper"])
    detect = ok[ok["effect"].abs() >= 5 * SIGMA]
    power = ((detect["cumulative_lower"] > 0) | (detect["cumulative_upper"] < 0)).mean()
    null = ok[ok["effect"] == 0]
    size = ((null["cumulative_lower"] > 0) | (null["cumulative_upper"] < 0)).mean()
    se = np.sqrt(covered.mean() * (1 - covered.mean()) / len(ok))
    return (f"{len(ok)} of {len(sim)} simulated series fitted; cumulative excess minus the known "
            f"12 x effect: mean {err.mean():+.2f}, s.d. {err.std():.2f} innovation s.d. (bias "
            f"{err.mean() / (err.std() / np.sqrt(len(err))):+.1f} standard errors); 95% intervals "
            f"cover the known effect in {covered.mean():.1%} (+-{1.96 * se:.1%}); effect 0 flagged "
            f"in {size:.1%}, effects of +-5 s.d. per month flagged in {power:.1%}")


def versions() -> str:
    import dask
    import statsmodels

    try:
        import distributed

        dist = f", distributed {distributed.__version__}"
    except ImportError:
        dist = ""
    return (f"Python {platform.python_version()}, oilflows {oilflows.__version__}, pandas {pd.__version__}, "
            f"NumPy {np.__version__}, statsmodels {statsmodels.__version__}, dask {dask.__version__}{dist}")


def load_average() -> str:
    try:
        return "/".join(f"{x:.1f}" for x in os.getloadavg())
    except (OSError, AttributeError):
        return "n/a"


def report(results: dict[str, dict], n_series: int, quick: bool, loads: tuple[str, str]) -> str:
    base = results["serial"]
    info = base["info"]
    names = [n for n in EXECUTORS if n in results]
    head = "| workload | tasks | " + " | ".join(
        f"{results[n]['label']}: s" + ("" if n == "serial" else " | speed-up") for n in names) + " |"
    rule = "|---|---:|" + "---:|" * (2 * len(names) - 1)
    rows = []
    for kind, label in (("substitution", "substitution, every reporter x origin (2 datasets)"),
                        ("concentration", "concentration, every (dataset, reporter)"),
                        ("counterfactual", f"counterfactual, {base['n_specs']} series"),
                        ("total", "total")):
        cells = []
        for n in names:
            t = results[n]["timings"]
            sec = sum(t[k] for k in ("substitution", "concentration", "counterfactual")) \
                if kind == "total" else t[kind]
            ref = sum(base["timings"][k] for k in ("substitution", "concentration", "counterfactual")) \
                if kind == "total" else base["timings"][kind]
            cells.append(f"{sec:.2f}" + ("" if n == "serial" else f" | {ref / sec:.2f}x"))
        tasks = sum(base["tasks"].values()) if kind == "total" else base["tasks"][kind]
        rows.append(f"| {label} | {tasks} | " + " | ".join(cells) + " |")
    if "dask" in results:
        cells = [""]
        for n in names[1:]:
            cells += [f"{results[n]['timings']['dask cluster start']:.2f}" if n == "dask" else "", ""]
        rows.append("| dask cluster start-up (not in the rows above) | | " + " | ".join(cells) + " |")
    mem = ["", "| whole run (fresh process: imports, data, cluster) | " + " | ".join(
        results[n]["label"] for n in names) + " |", "|---|" + "---:|" * len(names),
        "| wall seconds | " + " | ".join(f"{results[n]['wall_total']:.1f}" for n in names) + " |",
        "| CPU seconds, driver + descendant processes (* = reaped children only: psutil absent) | "
        + " | ".join(f"{results[n]['cpu_seconds']:.1f}" + ("" if results[n].get("cpu_sampled") else "*")
                     for n in names) + " |",
        "| cores obtained (CPU / wall; 2 idle cores would allow 2.0) | " + " | ".join(
            f"{results[n]['cpu_seconds'] / results[n]['wall_total']:.2f}" for n in names) + " |",
        "| peak RSS, MB: | " + " | ".join("" for _ in names) + " |"]
    for key, label in (("rss_self_mb", "- driver process"), ("rss_child_mb", "- largest child process"),
                       ("rss_tree_mb", "- driver + all descendants, summed (psutil)")):
        values = [results[n][key] for n in names]
        mem.append(f"| {label} | " + " | ".join("n/a" if v is None else f"{v:,.0f}" if v else "-"
                                                for v in values)
                   + " |")
    agree = [f"- {results[n]['label']} vs serial: "
             + ", ".join(f"{k} {v}" for k, v in agreement(base, results[n]).items()) for n in names[1:]]
    cf = base["tables"]["counterfactual"]
    real = cf[cf["dataset"] != "sim"]
    failed = real[real["error"].notna()]
    by_error = "; ".join(f"{k}: {v}" for k, v in failed.groupby("error_type").size().items()) or "none"
    stamp = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    busy = any(float(x.split("/")[0]) > (os.cpu_count() or 1) for x in loads if x != "n/a")
    return "\n".join([
        "# Panel runs: serial vs local processes vs Dask (`bench_panel.py`)", "",
        f"- Date: {stamp}", f"- Machine: {machine()}", f"- Versions: {versions()}",
        f"- Load average (1/5/15 min): {loads[0]} before, {loads[1]} after."
        + (" The machine was shared with other jobs: absolute seconds are noisy, and the speed-ups "
           "are lower bounds of what 2 idle cores give (see 'cores obtained' below)." if busy else ""),
        f"- Command: `python benchmarks/bench_panel.py{' --quick' if quick else ''}` "
        f"(--series {n_series}); one run per executor, each in a fresh process, "
        "`OPENBLAS_NUM_THREADS=1`; wall-clock seconds (`time.perf_counter`) including slicing, "
        "shipping and gathering; the process pool is created per call (its start-up is included).",
        f"- Data: embedded default snapshot ({info['rows_default']:,} rows). Counterfactual series: "
        f"{info['real_available']} real series qualify (register: reporter x origin with >= 24 months of "
        f"positive volume before 2019-01; nrg_ti_coifpm: >= 24 in 2020-01..2022-12); {info['real_used']} "
        f"used, plus {info['simulated']} simulated series with known effects "
        f"({info['rows_frame'] - info['rows_default']:,} rows) to reach {base['n_specs']}.",
        f"- Real series that failed (recorded, not raised): {len(failed)} ({by_error}).",
        "",
        head, rule, *rows, *mem, "",
        target_line(results, base["n_specs"]), "",
        "Agreement between executors:", *agree, "",
        "Simulated series (known answers, serial run): " + score_simulated(base) + ".",
        "",
    ])


def target_line(results: dict[str, dict], n_specs: int) -> str:
    """Whether the issue-15 target (TARGET_SERIES counterfactuals in TARGET_SECONDS on the default
    executor, 2 local processes) is met, on the counterfactual row of the processes run."""
    serial_cpu = results["serial"]["timings"].get("counterfactual cpu")
    work = ("" if serial_cpu is None else
            f" Work, independent of the load: the serial run used {serial_cpu:.1f} CPU s for the "
            f"{n_specs} series ({serial_cpu * TARGET_SERIES / n_specs / 2:.1f} s of wall time per "
            f"{TARGET_SERIES:,} on 2 idle cores at a perfect split, before pool start-up).")
    if "processes" not in results:
        return "Target (issue 15): not assessed (the processes executor was not run)." + work
    sec = results["processes"]["timings"]["counterfactual"]
    per_1000 = sec * TARGET_SERIES / n_specs
    verdict = "MET" if per_1000 < TARGET_SECONDS else "NOT MET"
    scaled = "" if n_specs == TARGET_SERIES else f" (scaled from {n_specs} series: {sec:.1f} s)"
    return (f"Target (issue 15): {TARGET_SERIES:,} counterfactuals in under {TARGET_SECONDS:.0f} s with "
            f"the default executor (2 processes): {per_1000:.1f} s{scaled}, {verdict}." + work)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 series; results in benchmarks/_work/")
    parser.add_argument("--series", type=int, default=None, help="counterfactual series (default 1000)")
    parser.add_argument("--executors", default=",".join(EXECUTORS), help="comma-separated subset")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one executor
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    n_series = args.series or (40 if args.quick else TARGET_SERIES)
    if args.one:
        run_one(args.one, n_series, Path(args.out))
        return 0
    names = [n.strip() for n in args.executors.split(",") if n.strip()]
    if "serial" not in names or not set(names) <= set(EXECUTORS):
        print(f"--executors must include serial and be among {EXECUTORS}", file=sys.stderr)
        return 2
    WORK.mkdir(parents=True, exist_ok=True)
    loads = [load_average()]
    results = {}
    for name in names:
        out = WORK / f"panel_{name}.pkl"
        print(f"[{name}] {n_series} series ...", flush=True)
        start = time.perf_counter()
        subprocess.run([sys.executable, str(Path(__file__).resolve()), "--one", name, "--out", str(out),
                        "--series", str(n_series)], check=True, env={**os.environ, **BLAS})
        results[name] = pickle.loads(out.read_bytes())
        results[name]["wall_total"] = time.perf_counter() - start
        print(f"[{name}] done in {results[name]['wall_total']:.1f} s: "
              + json.dumps({k: round(v, 2) for k, v in results[name]["timings"].items()}), flush=True)
    loads.append(load_average())
    text = report(results, n_series, args.quick, tuple(loads))
    print()
    print(text)
    write_results(text, RESULTS, WORK / "panel_quick.md" if args.quick else None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
