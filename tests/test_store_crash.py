"""Fault injection against the store: kill -9 of writers, concurrent writers, readers during writes.

Each kill -9 trial checks the store against independent expectations computed with pandas (the
state before or after the write), then ``verify`` and ``repair``; see tests/_crash_harness.py.
"""

from __future__ import annotations

import shutil
import signal
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import oilflows.store.layout as layout
from oilflows.schema import conform
from oilflows.store import DATA_FILE, Store

sys.path.insert(0, str(Path(__file__).parent))
import _crash_harness as harness  # noqa: E402

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="forkserver and SIGKILL are POSIX")


def test_kill_9_during_write_leaves_old_or_new_state(tmp_path: Path) -> None:
    """Every trial, wherever its kill lands, must leave the old or the new state whole, verifying
    clean (run_trials checks each one and raises on the first bad state). How many writers a kill
    interrupts, and which side of the commit it hits, depends on timing, so it is reported, not
    required; the step-by-step test below hits every step of the write for certain."""
    stats = harness.run_trials(tmp_path, trials=50, months=36)
    print(stats.line())
    assert stats.trials == 50 and sum(stats.outcomes.values()) == 50
    assert set(stats.outcomes) <= {"before", "after"}


def _batch(i: int, reporters: tuple[str, ...]) -> pd.DataFrame:
    """Rows for month i in every reporter of `reporters` (one write touches all their partitions)."""
    base = harness.base_frame(reporters=12, months=1)
    rows = base[base["reporter"].isin(reporters)].copy()
    rows["period"] = pd.Timestamp("2000-01-01") + pd.DateOffset(months=i)
    rows["volume_bbl"] = 1000.0 * (i + 1)
    return conform(rows)


def _writer_loop(root: str, reporters: tuple[str, ...], batches: range) -> None:
    store = Store(root, lock_timeout=60)
    for i in batches:
        store.write(_batch(i, reporters))


def _reader_loop(root: str, reporters: tuple[str, ...], until: float, seen) -> None:
    """Read while the writers write (at least once, however late this process starts): every batch
    must be whole (all reporters or none)."""
    store = Store(root)
    reads = 0
    while reads == 0 or time.time() < until:
        frame = store.read(reporter=list(reporters))
        per_batch = frame.groupby("period")["reporter"].nunique()
        assert (per_batch == len(reporters)).all(), f"a read saw half a commit: {per_batch.to_dict()}"
        assert frame.groupby(["period", "reporter"]).size().eq(len(harness.PARTNERS)).all()
        reads += 1
    seen.value = reads


def test_concurrent_writers_lose_no_update_and_readers_never_see_half_a_commit(tmp_path: Path) -> None:
    ctx = harness.context()
    root = str(tmp_path / "store")
    shared = ("DE", "FR")  # both writers write these partitions: the lock must serialize them
    a = ctx.Process(target=_writer_loop, args=(root, shared + ("IT",), range(0, 40, 2)))
    b = ctx.Process(target=_writer_loop, args=(root, shared + ("ES",), range(1, 40, 2)))
    Store(root).write(_batch(99, shared + ("IT", "ES")))  # so readers have something from the start
    seen = ctx.Value("i", 0)
    for proc in (a, b):
        proc.start()
    reader_deadline = time.time() + 8
    reader = ctx.Process(target=_reader_loop, args=(root, shared, reader_deadline, seen))
    reader.start()
    for proc in (a, b):  # the joins only bound the test (about 10 s, 25 s on a loaded machine)
        proc.join(600)
        assert proc.exitcode == 0
    reader.join(600)
    assert reader.exitcode == 0, "the reader saw an inconsistent state (see its traceback above)"
    assert seen.value > 0
    store = Store(root)
    frame = store.read()
    n = len(harness.PARTNERS)
    # Every batch of both writers is there: 41 months for DE and FR, 21 for IT and for ES.
    counts = frame.groupby("reporter")["period"].nunique().to_dict()
    assert counts == {"DE": 41, "FR": 41, "IT": 21, "ES": 21}
    assert len(frame) == (41 * 2 + 21 * 2) * n
    assert store.manifest().version == 41
    assert store.verify().clean


def test_kill_9_before_every_io_step_of_a_write(tmp_path: Path) -> None:
    """Deterministic complement of the random trials: a kill before each file write, fsync, link
    and rename in turn, so the commit rename and every publish step are hit for certain."""
    stats = harness.run_step_trials(tmp_path)
    print(stats.line())
    steps = stats.steps
    assert steps >= 15 and stats.trials == steps + 1
    assert set(stats.outcomes) == {"before", "after"}
    # Kills after the manifest's rename leave the new state, with the view re-linked by repair.
    assert stats.repairs["re-linked"] >= 1 and stats.repairs["deleted"] >= 1


def _chunked_writer_killed_at_step(root: str, update: pd.DataFrame, kill_at: int, steps,
                                   chunk_rows: int) -> None:
    """The harness's step-killed writer, with partitions of more than `chunk_rows` rows chunked."""
    layout.CHUNK_ROWS = chunk_rows
    harness._writer_killed_at_step(root, update, kill_at, steps)


def _chunked_step_trials(work: Path, base: pd.DataFrame, update: pd.DataFrame,
                         chunk_rows: int) -> harness.TrialStats:
    """As harness.run_step_trials, over the store at ``work/base``, the writer chunking at `chunk_rows`."""
    before, after = harness.sorted_rows(base), harness.expected_after(base, update)
    ctx = harness.context()
    stats = harness.TrialStats()
    kill_at, total = 1, None
    while total is None or kill_at <= total + 1:
        root = work / f"step-{kill_at}"
        shutil.copytree(work / "base", root)
        steps = ctx.Value("i", 0)
        proc = ctx.Process(target=_chunked_writer_killed_at_step,
                           args=(str(root), update, kill_at, steps, chunk_rows))
        proc.start()
        proc.join(120)
        assert proc.exitcode == -signal.SIGKILL, f"step {kill_at}: exit code {proc.exitcode}"
        if steps.value < kill_at:
            total = steps.value
        stats.outcomes[harness.check_state(root, before, after, stats)] += 1
        stats.trials += 1
        shutil.rmtree(root)
        kill_at += 1
    stats.steps = total or 0
    return stats


def test_kill_9_before_every_io_step_of_a_chunked_revision(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Period chunks: a newer vintage of the last 3 months of two chunked partitions (3 years of
    chunks each) rewrites their last year only; a kill before any step leaves the old or new state."""
    monkeypatch.setattr(layout, "CHUNK_ROWS", 100)
    base = harness.base_frame(reporters=2, months=36)  # 360 rows a partition: 3 chunks of 120
    update = base[base["period"] >= "2020-10-01"].copy()
    update["vintage"] = harness.V2
    update["volume_bbl"] = update["volume_bbl"] + 1000.0
    update = conform(update)
    Store(tmp_path / "base").write(base)
    assert all(sorted(years) == [2018, 2019, 2020] for years in
               Store(tmp_path / "base").manifest().chunks.values())
    stats = _chunked_step_trials(tmp_path, base, update, 100)
    print(stats.line())
    assert stats.steps >= 8 and stats.trials == stats.steps + 1
    assert set(stats.outcomes) == {"before", "after"}
    assert stats.repairs["re-linked"] >= 1


def test_kill_9_before_every_io_step_of_a_partition_becoming_chunks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that makes one-file partitions exceed the threshold lays them out as chunks; the
    view's part-0.parquet goes after the year files are linked. A kill anywhere leaves the old or
    new state, and repair removes a part-0.parquet left beside the year files."""
    base = harness.base_frame(reporters=2, months=24)  # 240 rows a partition: one file
    more = harness.base_frame(reporters=2, months=36)
    update = conform(more[more["period"] >= "2020-01-01"].assign(vintage=harness.V2))
    monkeypatch.setattr(layout, "CHUNK_ROWS", 300)
    Store(tmp_path / "base").write(base)
    assert not Store(tmp_path / "base").manifest().chunks
    stats = _chunked_step_trials(tmp_path, base, update, 300)
    print(stats.line())
    assert set(stats.outcomes) == {"before", "after"}
    assert stats.repairs["removed"] >= 1  # a part-0.parquet beside the chunks, from some kill
    done = tmp_path / "done"
    shutil.copytree(tmp_path / "base", done)
    Store(done).write(update)
    assert all(not (done / key / DATA_FILE).exists() for key in Store(done).manifest().chunks)
