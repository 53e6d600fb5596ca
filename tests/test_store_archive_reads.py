"""A revision reads only the archive files that may hold rows of its own vintages (issue 15): the
check that keeps a superseded row from being archived twice must not read the partition's whole
history on every monthly release. Counted in files read, not timed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import oilflows.store.merge as merge
from oilflows.schema import COLUMNS, conform
from oilflows.store import Store

VINTAGES = [pd.Timestamp(f"2030-{m:02d}-15 11:00:00") for m in range(1, 7)]


def release(vintage: pd.Timestamp, bump: float) -> pd.DataFrame:
    periods = pd.date_range("2024-01-01", periods=12, freq="MS")
    rows = pd.MultiIndex.from_product([["KZ", "RU", "NO"], periods], names=["partner", "period"]).to_frame(
        index=False)
    rows = rows.assign(source="eurostat", dataset="nrg_ti_coifpm", reporter="DE", vintage=vintage, freq="M",
                       flow="import", product="crude_oil", grade=None, volume_bbl=1000.0 + bump,
                       mass_t=None, value=None, currency=None, api_gravity=None, sulphur_pct=None,
                       price_per_bbl=None, flag=None)
    return conform(rows[list(COLUMNS)])


@pytest.fixture
def archive_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The archive files `not_archived` reads, in order."""
    seen: list[str] = []
    real = merge.read_entry

    def counting(root, entry, key):
        seen.append(entry.file)
        return real(root, entry, key)

    monkeypatch.setattr(merge, "read_entry", counting)
    return seen


def test_a_monthly_revision_reads_no_older_archive(tmp_path: Path, archive_reads: list[str]) -> None:
    store = Store(tmp_path)
    for i, vintage in enumerate(VINTAGES):
        archive_reads.clear()
        summary = store.write(release(vintage, bump=i))
        assert summary.rows_changed == (36 if i else 0) and summary.rows_archived == (36 if i else 0)
        assert archive_reads == []  # each archive file holds older vintages than the rows superseded
    assert len(store.manifest().vintages) == len(VINTAGES) - 1
    assert (store.read()["vintage"] == VINTAGES[-1]).all()
    then = store.read(as_of=VINTAGES[2])  # the archives still answer as_of
    assert len(then) == 36 and (then["volume_bbl"] == 1002).all()


def test_an_old_release_written_again_is_found_in_its_archive(tmp_path: Path,
                                                              archive_reads: list[str]) -> None:
    """The case the check exists for: rows of an older vintage offered again are already archived.
    Only the archive file of that vintage is read, and nothing is archived twice."""
    store = Store(tmp_path)
    for i, vintage in enumerate(VINTAGES[:4]):
        store.write(release(vintage, bump=i))
    files_before = {e.file for e in store.manifest().vintages}
    holding = [e.file for e in store.manifest().vintages
               if (pd.read_parquet(tmp_path / e.file)["vintage"] == VINTAGES[1]).any()]
    assert len(holding) == 1 and len(files_before) == 3
    archive_reads.clear()
    summary = store.write(release(VINTAGES[1], bump=1))  # the second release again
    assert summary.rows_archived == 0 and summary.rows_unchanged == 36 and not summary.changed
    assert archive_reads == holding
    assert {e.file for e in store.manifest().vintages} == files_before


def test_undated_rows_read_the_archives_that_hold_undated_rows(tmp_path: Path,
                                                               archive_reads: list[str]) -> None:
    store = Store(tmp_path)
    store.write(release(pd.NaT, bump=0))  # no vintage
    store.write(release(VINTAGES[0], bump=1))  # supersedes the undated rows: archived
    store.write(release(VINTAGES[1], bump=2))  # archives the V1 rows; the undated archive is skipped
    assert archive_reads == [] and len(store.manifest().vintages) == 2
    undated_archive = [e.file for e in store.manifest().vintages
                       if pd.read_parquet(tmp_path / e.file)["vintage"].isna().all()]
    summary = store.write(release(pd.NaT, bump=0))  # the undated release again: already archived
    assert summary.rows_archived == 0 and not summary.changed
    assert archive_reads == undated_archive
