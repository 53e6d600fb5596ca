"""Issue 15: the fast path of Store.write (a fresh partition, checked and sorted once in Arrow,
hashed while written) gives exactly what the merge path gives, refuses what schema.validate refuses,
and does not read back or re-hash what it wrote. Counts, never times."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from test_store import V1, V2, assert_same_rows, small_frame, snapshot

import oilflows.store.durable as durable
import oilflows.store.files as files_module
from oilflows.errors import SchemaError
from oilflows.schema import COLUMNS, KEY, conform, validate
from oilflows.store import Store
from oilflows.store.incoming import key_order, prepare


def _reverse(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.iloc[::-1].reset_index(drop=True)


def test_fresh_write_equals_the_merge_path(tmp_path: Path) -> None:
    """Writing everything at once (every partition fresh) and writing it in two halves of the rows
    (the second half merged into existing partitions) give the same current rows, the same rows
    in the same order in every file, and the same counts."""
    frame = small_frame()
    at_once, in_halves = Store(tmp_path / "a"), Store(tmp_path / "b")
    summary = at_once.write(_reverse(frame))
    assert (summary.rows_new, summary.rows_archived, summary.partitions_changed) == (len(frame), 0, 4)
    half = np.arange(len(frame)) % 2 == 0
    in_halves.write(frame.loc[half])
    second = in_halves.write(frame.loc[~half])
    assert second.rows_new == int((~half).sum()) and second.rows_archived == 0
    assert_same_rows(at_once.read(), frame)
    assert_same_rows(in_halves.read(), frame)
    for key, entry in at_once.manifest().partitions.items():
        other = in_halves.manifest().partitions[key]
        assert pq.read_table(tmp_path / "a" / entry.file).equals(pq.read_table(tmp_path / "b" / other.file))
    assert at_once.verify().clean


def test_file_order_is_the_key_order(tmp_path: Path) -> None:
    """Files hold their rows sorted by the key, nulls first (what row-group pruning relies on), and
    the Arrow sort of the fast path is the same order as pyarrow's own sort."""
    frame = small_frame()
    prepared = prepare(_reverse(frame))
    assert prepared.table.equals(prepared.table.take(key_order(prepared.table)))
    store = Store(tmp_path)
    store.write(_reverse(frame))
    for entry in store.manifest().partitions.values():
        rows = pq.read_table(tmp_path / entry.file).to_pandas()
        keys = [k for k in KEY if k in rows.columns]
        expected = rows.sort_values(keys, na_position="first", kind="stable").reset_index(drop=True)
        pd.testing.assert_frame_equal(rows, expected)


def test_a_fresh_write_reads_and_rehashes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No stored file is opened and no file is hashed by reading it back: the manifest's sha256 and
    size come from the bytes as they were written, and they match the files on disk."""
    reads, hashes = [], []
    monkeypatch.setattr("oilflows.store.core.read_entry", lambda *a, **k: reads.append(a) or None)
    real_sha = durable.sha256_file
    monkeypatch.setattr(durable, "sha256_file", lambda path: hashes.append(path) or real_sha(path))
    store = Store(tmp_path)
    store.write(small_frame())
    assert reads == [] and hashes == []
    monkeypatch.undo()
    for entry in store.manifest().partitions.values():
        data = (tmp_path / entry.file).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (entry.bytes, entry.sha256)


def test_fresh_partition_with_several_vintages_archives_the_older(tmp_path: Path) -> None:
    """A new partition whose release holds two vintages of an observation is not a plain fresh
    write: the older row goes to _vintages, as before."""
    frame = small_frame()
    older = frame[frame["reporter"] == "FR"].assign(vintage=V1)
    newer = older.assign(vintage=V2, volume_bbl=older["volume_bbl"] + 1)
    summary = Store(tmp_path).write(pd.concat([frame[frame["reporter"] != "FR"], older, newer]))
    assert summary.rows_archived == len(older)
    assert_same_rows(Store(tmp_path).read(reporter="FR"), newer)


def test_one_write_counts_fresh_and_merged_partitions(tmp_path: Path) -> None:
    """A write holding a revision of one partition and a new partition: the new one is written
    once, the revised one merged (its superseded rows archived)."""
    frame = small_frame()
    store = Store(tmp_path)
    store.write(frame[frame["reporter"] != "IT"])
    revised = frame[(frame["reporter"] == "DE") & (frame["source"] == "eurostat")].head(10)
    revised = revised.assign(vintage=V2, volume_bbl=revised["volume_bbl"] + 5)
    update = pd.concat([revised, frame[frame["reporter"] == "IT"]], ignore_index=True)
    written: list[Path] = []
    real = files_module.write_file
    original = store.manifest()

    def counting(rows, path, root, presorted=False):
        written.append(path)
        return real(rows, path, root, presorted)

    files_module.write_file = counting
    try:
        summary = store.write(update)
    finally:
        files_module.write_file = real
    assert summary.rows_new == int((frame["reporter"] == "IT").sum())
    assert summary.rows_changed == 10 and summary.rows_archived == 10
    assert len(written) == 3  # the IT partition, the rewritten DE partition, one archive file
    assert len(store.manifest().partitions) == len(original.partitions) + 1


def _bad_frames() -> dict[str, pd.DataFrame]:
    base = small_frame()
    duplicated = pd.concat([base, base.head(3)], ignore_index=True)
    leaked = base.copy()
    leaked.loc[0, "flag"] = "c"
    freq = base.copy()
    freq.loc[1, "freq"] = "Q"
    flow = base.copy()
    flow.loc[2, "flow"] = "transit"
    period = base.copy()
    period.loc[3, "period"] = pd.Timestamp("2021-01-15")
    annual = base.copy()
    annual.loc[annual["freq"] == "A", "period"] = pd.Timestamp("2021-06-01")
    missing = base.drop(columns=["flag"])
    code = base.copy()
    code.loc[4, "reporter"] = "../x"
    null_key = base.astype({"partner": object})
    null_key.loc[5, "partner"] = None
    return {"duplicated": duplicated, "leaked": leaked, "freq": freq, "flow": flow, "period": period,
            "annual": annual, "missing": missing, "code": code, "null_key": null_key}


@pytest.mark.parametrize("name", sorted(_bad_frames()))
def test_bad_frames_are_refused_as_validate_refuses_them(tmp_path: Path, name: str) -> None:
    """The Arrow checks of the write path raise the SchemaError schema.validate raises (the same
    message), and the store is left exactly as it was."""
    frame = _bad_frames()[name]
    store = Store(tmp_path)
    store.write(small_frame().head(20))
    before = snapshot(tmp_path)
    with pytest.raises(SchemaError) as raised:
        store.write(frame)
    if name != "code":  # partition codes are the store's own rule, not the schema's
        with pytest.raises(SchemaError) as expected:
            validate(frame)
        # the examples of a duplicated key may be other rows (the write finds them sorted)
        assert str(raised.value).split(", e.g.")[0] == str(expected.value).split(", e.g.")[0]
    assert snapshot(tmp_path) == before


def test_a_key_column_of_nulls_only(tmp_path: Path) -> None:
    frame = small_frame().assign(grade=None)
    frame = frame.drop_duplicates(subset=[k for k in KEY if k != "grade"])
    store = Store(tmp_path)
    assert store.write(frame).rows_new == len(frame)
    assert_same_rows(store.read(), frame)


def test_empty_write_changes_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.write(small_frame())
    before = snapshot(tmp_path)
    summary = store.write(conform(pd.DataFrame(columns=list(COLUMNS))))
    assert (summary.rows_in, summary.partitions_changed, summary.changed) == (0, 0, False)
    assert snapshot(tmp_path) == before


def _shuffled_with_nulls(seed: int = 3) -> pd.DataFrame:
    frame = small_frame()
    rng = np.random.default_rng(seed)
    frame.loc[rng.random(len(frame)) < 0.3, "grade"] = None
    frame = frame.drop_duplicates(subset=list(KEY)).reset_index(drop=True)
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)


@pytest.mark.parametrize("word", [1 << 62, 1 << 4, 2])
def test_packed_key_sorts_as_arrow_in_any_number_of_words(monkeypatch: pytest.MonkeyPatch, word: int) -> None:
    """The key columns packed into one int64 word, or spread over several (a small word size forces
    one column a word), sort as pyarrow's own sort, and give the same partitions and repeats."""
    import oilflows.store.incoming as incoming_module

    frame = _shuffled_with_nulls()
    reference = prepare(frame)
    monkeypatch.setattr(incoming_module, "_WORD", word)
    prepared = prepare(frame)
    order = key_order(prepared.source).to_numpy()
    assert (prepared.order == order).all()
    assert prepared.slices == reference.slices
    assert (prepared.repeats == reference.repeats).all()
    twice = pd.concat([frame, frame.iloc[:1]], ignore_index=True)
    with pytest.raises(SchemaError, match="share a key"):
        prepare(twice)


def test_repeats_mark_vintages_of_one_observation(monkeypatch: pytest.MonkeyPatch) -> None:
    """A row repeats the observation of the row before it when only its vintage differs, whether the
    vintage shares a word with the rest of the key or has one of its own."""
    import oilflows.store.incoming as incoming_module

    frame = small_frame()
    newer = frame.iloc[:3].assign(vintage=V2)
    both = pd.concat([frame, newer], ignore_index=True)
    for word in (1 << 62, 2):
        monkeypatch.setattr(incoming_module, "_WORD", word)
        prepared = prepare(both)
        assert int(prepared.repeats.sum()) == 3
        sorted_rows = prepared.table.to_pandas()
        marked = sorted_rows.loc[prepared.repeats]
        assert (marked["vintage"] == V2).all()


def test_fresh_write_syncs_each_directory_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before the commit every directory of the write is fsynced once (a fresh partition's directory
    by the thread that wrote its file), the root again after the manifest's rename; the public
    view's directories once each after the commit; publishing writes no bytes (hard links)."""
    synced: list[Path] = []
    real = durable.fsync_dir
    monkeypatch.setattr(durable, "fsync_dir", lambda path: synced.append(Path(path)) or real(path))
    store = Store(tmp_path)
    store.write(small_frame())
    manifest = store.manifest()
    others = [path for path in synced if path != tmp_path]
    assert len(others) == len(set(others))
    assert synced.count(tmp_path) == 2  # data/ made before the commit; the manifest renamed after it
    data_dirs = {(tmp_path / e.file).parent for e in manifest.partitions.values()}
    view_dirs = {tmp_path / key for key in manifest.partitions}
    assert data_dirs | view_dirs | {tmp_path} <= set(synced)
    for key, entry in manifest.partitions.items():
        view = tmp_path / key / "part-0.parquet"
        assert view.samefile(tmp_path / entry.file) and (tmp_path / entry.file).stat().st_nlink == 2


def test_a_bad_value_in_every_row_is_refused(tmp_path: Path) -> None:
    """A key column holding one value (coded without hashing) is still checked: a flow, a frequency
    or a partition code that is wrong in every row is refused as in any one row."""
    base = small_frame()
    for column, value, match in (("flow", "transit", "column 'flow'"), ("freq", "Q", "column 'freq'"),
                                 ("reporter", "../x", "cannot name a store partition")):
        frame = base.assign(**{column: value}).drop_duplicates(subset=list(KEY))
        with pytest.raises(SchemaError, match=match):
            Store(tmp_path).write(frame)
    assert not (tmp_path / "_manifest.json").exists() or Store(tmp_path).manifest() is None


def test_a_frame_of_many_chunks_is_gathered_from_one(tmp_path: Path) -> None:
    """A frame concatenated from several converts to chunked columns; the write gathers partitions
    from one contiguous chunk a column, and writes the same files as from the frame in one piece."""
    frame = small_frame()
    pieces = pd.concat([frame.iloc[: len(frame) // 2], frame.iloc[len(frame) // 2:]], ignore_index=True)
    prepared = prepare(pieces)
    assert all(column.num_chunks == 1 for column in prepared.source.columns)
    one, many = Store(tmp_path / "one"), Store(tmp_path / "many")
    one.write(frame)
    many.write(pieces)
    for key, entry in one.manifest().partitions.items():
        other = many.manifest().partitions[key]
        ours = pq.read_table(tmp_path / "one" / entry.file)
        assert ours.equals(pq.read_table(tmp_path / "many" / other.file))
