"""Kill -9 trials against Store.write, shared by tests/test_store_crash.py and
benchmarks/store_crash_trials.py.

A trial copies a base store, starts a writer process (forked from a forkserver that has already
imported oilflows, so a trial costs milliseconds, not an interpreter start), waits until the writer
is about to call ``Store.write``, sleeps a random fraction of the measured write time and sends
SIGKILL. The parent then checks that oilflows reads exactly the state before or after the write,
that ``verify`` finds no damage, that ``repair`` leaves nothing to report, and that the public view
(read with plain pyarrow, as another engine would) holds the same rows. The timing only chooses the
kill moments: on a loaded machine more kills may land after the write ended, and nothing asserts
how many interrupted it (the step trials hit every I/O step of a write for certain).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.dataset as ds

from oilflows.schema import COLUMNS, KEY, OBSERVATION_KEY, conform
from oilflows.store import Store

V1 = pd.Timestamp("2024-01-15 11:00:00")
V2 = pd.Timestamp("2024-02-15 11:00:00")
PARTNERS = ("KZ", "RU", "NO", "US", "NG", "IQ", "LY", "SA", "AZ", "GB")


def base_frame(reporters: int = 8, months: int = 60, seed: int = 7) -> pd.DataFrame:
    """A canonical frame over `reporters` partitions: every partner in every month at vintage V1."""
    rng = np.random.default_rng(seed)
    codes = ["DE", "FR", "IT", "ES", "NL", "PL", "AT", "CZ", "BE", "SE", "FI", "GR"][:reporters]
    periods = pd.date_range("2018-01-01", periods=months, freq="MS")
    index = pd.MultiIndex.from_product([codes, PARTNERS, periods], names=["reporter", "partner", "period"])
    frame = index.to_frame(index=False)
    n = len(frame)
    volume = rng.integers(1, 50_000, n) * 1000.0
    price = np.round(rng.uniform(40, 110, n), 2)
    frame = frame.assign(
        source="eurostat", dataset="nrg_ti_coifpm", vintage=V1, freq="M", flow="import",
        product="crude_oil", grade=None, volume_bbl=volume, mass_t=None, value=volume * price,
        currency="USD", api_gravity=None, sulphur_pct=None, price_per_bbl=price, flag=None,
    )
    return conform(frame[list(COLUMNS)])


def update_frame(base: pd.DataFrame, seed: int = 8) -> pd.DataFrame:
    """A newer release revising every other row of every partition, plus two new partitions."""
    rng = np.random.default_rng(seed)
    revised = base.iloc[::2].copy()
    revised["vintage"] = V2
    revised["volume_bbl"] = revised["volume_bbl"] + rng.integers(1, 9, len(revised)) * 1000.0
    newcomers = base[base["reporter"] == base["reporter"].iloc[0]].copy()
    extra = [newcomers.assign(reporter=code, vintage=V2) for code in ("HU", "SK")]
    return conform(pd.concat([revised, *extra], ignore_index=True))


def expected_after(base: pd.DataFrame, update: pd.DataFrame) -> pd.DataFrame:
    """The current rows after writing `update` over `base`, computed with plain pandas."""
    obs = list(OBSERVATION_KEY)
    hit = base[obs].merge(update[obs].drop_duplicates(), how="left", on=obs, indicator=True)
    kept = base.loc[(hit["_merge"] == "left_only").to_numpy()]
    return sorted_rows(pd.concat([kept, update], ignore_index=True))


def sorted_rows(frame: pd.DataFrame) -> pd.DataFrame:
    frame = conform(frame[list(COLUMNS)])
    return frame.sort_values(list(KEY), kind="stable").reset_index(drop=True)


def _writer(root: str, update: pd.DataFrame, ready) -> None:
    store = Store(root)
    ready.set()
    store.write(update)


class _OsProxy:
    """The ``os`` module with ``replace`` swapped for a counting wrapper."""

    def __init__(self, replace):
        self.replace = replace

    def __getattr__(self, name):
        return getattr(os, name)


def _writer_killed_at_step(root: str, update: pd.DataFrame, kill_at: int, steps) -> None:
    """Write `update`, sending ourselves SIGKILL just before I/O step number `kill_at` (1-based):
    each data or archive file written, each directory fsync, each hard link, each rename (the
    manifest's and the public view's). ``kill_at`` past the last step kills right after the write
    returns. ``steps`` (a shared int) receives the number of steps taken."""
    import oilflows.store.durable as durable
    import oilflows.store.files as files_module
    import oilflows.store.manifest as manifest_module

    def step(func):
        def wrapped(*args, **kwargs):
            with steps.get_lock():  # the writer runs some steps in threads, side by side
                steps.value += 1
                now = steps.value
            if now == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            return func(*args, **kwargs)
        return wrapped

    files_module.write_file = step(files_module.write_file)
    durable.fsync_dir = step(durable.fsync_dir)
    durable.link_or_copy = step(durable.link_or_copy)
    manifest_module.os = _OsProxy(step(os.replace))
    files_module.os = _OsProxy(step(os.replace))
    Store(root).write(update)
    os.kill(os.getpid(), signal.SIGKILL)


def run_step_trials(work: Path, reporters: int = 3, months: int = 12) -> TrialStats:
    """Kill the writer before every I/O step of a write in turn (and once after it returned)."""
    base = base_frame(reporters, months)
    update = update_frame(base)
    before, after = sorted_rows(base), expected_after(base, update)
    base_store = work / "base"
    Store(base_store).write(base)
    ctx = context()
    stats = TrialStats()
    kill_at, total = 1, None
    while total is None or kill_at <= total + 1:
        root = work / f"step-{kill_at}"
        shutil.copytree(base_store, root)
        steps = ctx.Value("i", 0)
        proc = ctx.Process(target=_writer_killed_at_step, args=(str(root), update, kill_at, steps))
        proc.start()
        proc.join(120)
        assert proc.exitcode == -signal.SIGKILL, f"step {kill_at}: exit code {proc.exitcode}"
        if steps.value < kill_at:  # the write finished: now we know how many steps it has
            total = steps.value
        stats.outcomes[check_state(root, before, after, stats)] += 1
        stats.trials += 1
        shutil.rmtree(root)
        kill_at += 1
    stats.steps = total
    return stats


def context() -> mp.context.BaseContext:
    """A forkserver context whose server has imported oilflows' store (fast, thread-safe forks)."""
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["oilflows.store"])
    return ctx


@dataclass
class TrialStats:
    """Outcomes of the trials: the state each kill left, and what repair had to clean."""

    trials: int = 0
    outcomes: Counter = field(default_factory=Counter)
    repairs: Counter = field(default_factory=Counter)
    write_seconds: float = 0.0
    killed_before_end: int = 0
    steps: int = 0  # I/O steps of the write (step trials only)

    def line(self) -> str:
        if self.steps:
            return (f"{self.trials} kill -9 trials, one before each of the write's {self.steps} I/O "
                    f"steps and one after it returned: {dict(self.outcomes)}; repair actions "
                    f"{dict(self.repairs)}")
        return (f"{self.trials} kill -9 trials (write takes {self.write_seconds * 1000:.0f} ms): "
                f"{dict(self.outcomes)}; repair actions {dict(self.repairs)}; "
                f"{self.killed_before_end} writers killed before they finished")


def measure_write(ctx, base_store: Path, work: Path, update: pd.DataFrame) -> float:
    """Seconds from the writer's 'ready' to its exit, median of 3 unkilled runs."""
    times = []
    for i in range(3):
        root = work / f"measure-{i}"
        shutil.copytree(base_store, root)
        ready = ctx.Event()
        proc = ctx.Process(target=_writer, args=(str(root), update, ready))
        proc.start()
        ready.wait(60)
        start = time.perf_counter()
        proc.join(120)
        times.append(time.perf_counter() - start)
        assert proc.exitcode == 0, f"writer failed with exit code {proc.exitcode}"
        shutil.rmtree(root)
    return float(np.median(times))


def run_trials(work: Path, trials: int, seed: int = 2024, reporters: int = 8, months: int = 60
               ) -> TrialStats:
    """Run `trials` kill -9 trials under `work`; raise AssertionError on the first bad state.

    Even trials kill at a uniform time over the whole write (0 to 1.1 x its duration); odd trials
    at a uniform time over its last part (0.8 to 1.05 x), where the commit and publish happen. Every
    trial is checked (:func:`check_state`), whether its kill interrupted the writer or came after it
    had finished; ``stats.killed_before_end`` counts the former, for the report only.
    """
    base = base_frame(reporters, months)
    update = update_frame(base)
    before, after = sorted_rows(base), expected_after(base, update)
    base_store = work / "base"
    Store(base_store).write(base)
    ctx = context()
    stats = TrialStats(write_seconds=measure_write(ctx, base_store, work, update))
    rng = np.random.default_rng(seed)
    for i in range(trials):
        root = work / f"trial-{i}"
        shutil.copytree(base_store, root)
        ready = ctx.Event()
        proc = ctx.Process(target=_writer, args=(str(root), update, ready))
        proc.start()
        assert ready.wait(60), "the writer never started"
        low, high = (0.0, 1.1) if i % 2 == 0 else (0.8, 1.05)
        time.sleep(rng.uniform(low, high) * stats.write_seconds)
        if proc.is_alive():
            stats.killed_before_end += 1
        proc.kill()  # SIGKILL: no cleanup handler runs
        proc.join(120)
        # Killed, or finished before the kill (a writer that failed would leave "before" untested).
        assert proc.exitcode in (0, -signal.SIGKILL), f"trial {i}: writer exit code {proc.exitcode}"
        stats.outcomes[check_state(root, before, after, stats)] += 1
        stats.trials += 1
        shutil.rmtree(root)
    return stats


def check_state(root: Path, before: pd.DataFrame, after: pd.DataFrame, stats: TrialStats) -> str:
    """Assert the store holds `before` or `after` whole, verifies, repairs clean; name which."""
    store = Store(root, lock_timeout=30)
    got = sorted_rows(store.read())
    if _equal(got, before):
        outcome = "before"
    elif _equal(got, after):
        outcome = "after"
    else:
        raise AssertionError(f"{root}: the store holds neither the old nor the new state "
                             f"({len(got)} rows; expected {len(before)} or {len(after)})")
    report = store.verify()
    assert report.ok, report.summary()
    repaired = store.repair()
    for action in repaired.actions:
        stats.repairs[action.split(" ")[0]] += 1
    final = store.verify()
    assert final.clean, final.summary()
    assert _equal(sorted_rows(store.read()), got), "repair changed the data"
    view = ds.dataset(root, format="parquet", partitioning="hive", ignore_prefixes=[".", "_"])
    table = view.to_table(columns=["volume_bbl"])
    assert table.num_rows == len(got), "the public view disagrees with the manifest after repair"
    assert abs(float(np.nansum(table["volume_bbl"].to_numpy(zero_copy_only=False)))
               - float(got["volume_bbl"].sum())) < 1e-3
    return outcome


def _equal(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    if len(a) != len(b):
        return False
    try:
        pd.testing.assert_frame_equal(a, b)
    except AssertionError:
        return False
    return True


if __name__ == "__main__":  # pragma: no cover - manual run
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print(run_trials(Path(tmp), int(os.environ.get("TRIALS", "20"))).line())
