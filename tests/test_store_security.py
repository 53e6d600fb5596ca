"""Attacks on the store (issue 12): crafted codes, crafted manifests and journals, symbolic links,
missing and corrupt files, a read-only file system, bad arguments, and revisions that drop rows.

Each test stands for one attack run that misbehaved on oilflows before issue 12 (rows misfiled,
files deleted or moved outside the store, writes blocked by one bad file, untyped exceptions, a
reclassified grade counted twice). Every store lives in ``tmp_path``.
"""

from __future__ import annotations

import builtins
import errno
import hashlib
import io
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_store import (  # noqa: E402
    V1,
    V2,
    V3,
    assert_same_rows,
    assert_same_values,
    canonical_row,
    duckdb_table,
    make_frame,
    partition_file,
    small_frame,
    snapshot,
    with_newer_vintage,
)

from oilflows import cli  # noqa: E402
from oilflows.errors import QueryError, SchemaError, StoreError  # noqa: E402
from oilflows.store import Store  # noqa: E402

DE_KEY = "source=eurostat/dataset=nrg_ti_coifpm/reporter=DE"


def _not_de(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` without the rows of the partition DE_KEY."""
    return frame[(frame["reporter"] != "DE") | (frame["source"] != "eurostat")]


@pytest.fixture
def small() -> pd.DataFrame:
    return small_frame()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- crafted codes ------------------------------------------------------------------------------------

BAD_CODES = [
    ("reporter", "XX/reporter=FR"),  # was stored under reporter=XX/reporter=FR/, read back as XX
    ("reporter", "%41B"),  # read back as AB (hive partitions are URL-decoded)
    ("dataset", "ds/reporter=ZZ"),  # read back as reporter ZZ
    ("reporter", "DE\x00"),  # an untyped ValueError (embedded null byte)
    ("reporter", ".."),
    ("reporter", "."),
    ("source", "a=b"),
    ("reporter", "DE\\FR"),
    ("reporter", "D E"),
    ("reporter", ""),
    ("dataset", "x" * 65),
]


@pytest.mark.parametrize(("column", "code"), BAD_CODES, ids=[repr(c) for _, c in BAD_CODES])
def test_partition_code_outside_the_grammar_is_refused_before_anything_is_written(
    tmp_path: Path, small: pd.DataFrame, column: str, code: str
) -> None:
    store = Store(tmp_path / "store")
    row = make_frame([canonical_row(**{column: code})])
    with pytest.raises((SchemaError, StoreError)) as raised:
        store.write(row)
    assert column in str(raised.value) and repr(code) in str(raised.value)
    assert not store.path.exists()  # nothing was created
    store.write(small)
    before = snapshot(store.path)
    with pytest.raises((SchemaError, StoreError)):
        store.write(pd.concat([with_newer_vintage(small, np.ones(len(small), dtype=bool)), row],
                              ignore_index=True))
    assert snapshot(store.path) == before
    assert_same_rows(store.read(), small)


def test_codes_inside_the_grammar_round_trip(tmp_path: Path) -> None:
    frame = make_frame([canonical_row(reporter="EU27_2020"), canonical_row(reporter="ID-AYU1"),
                        canonical_row(source="destatis", dataset="51000-0013", reporter="DE"),
                        canonical_row(dataset="a.b", reporter="x" * 64)])
    store = Store(tmp_path)
    store.write(frame)
    assert_same_rows(store.read(), frame)
    assert_same_values(duckdb_table(tmp_path), frame)


# -- paths from the manifest and the journal -----------------------------------------------------------


def _crafted(store: Store, edit) -> None:
    path = store.path / "_manifest.json"
    payload = json.loads(path.read_text())
    edit(payload)
    path.write_text(json.dumps(payload))


def _retire_outside(payload):
    payload["retired"] = ["../victim.txt"]


def _retire_absolute(payload, victim):
    payload["retired"] = [str(victim)]


def _partition_outside(payload):
    key = "source=eurostat/dataset=nrg_ti_coifpm/reporter=DE"
    entry = payload["partitions"].pop(key)
    entry["file"] = "../victim.txt"
    payload["partitions"]["../../.."] = entry


def _retire_current(payload):
    payload["retired"] = [payload["partitions"][DE_KEY]["file"]]


@pytest.mark.parametrize("attack", ["relative", "absolute", "partition", "current"])
def test_manifest_paths_outside_the_store_are_refused(tmp_path: Path, small: pd.DataFrame,
                                                      attack: str) -> None:
    """``"retired": ["../victim.txt"]`` made the next write delete that file."""
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    store = Store(tmp_path / "store")
    store.write(small)
    edit = {"relative": _retire_outside, "absolute": lambda p: _retire_absolute(p, victim),
            "partition": _partition_outside, "current": _retire_current}[attack]
    _crafted(store, edit)
    before = snapshot(store.path)
    with pytest.raises(StoreError, match="manifest"):
        store.write(make_frame([canonical_row(reporter="PL")]))
    with pytest.raises(StoreError, match="manifest"):
        store.repair()
    with pytest.raises(StoreError, match="manifest"):
        store.read()
    assert not store.verify().ok
    assert victim.read_text() == "keep me"
    assert snapshot(store.path) == before


def test_journal_naming_paths_outside_the_store_moves_nothing(tmp_path: Path, small) -> None:
    """A 0.1 journal entry naming outside paths moved (and could overwrite) them."""
    store = Store(tmp_path / "store")
    store.write(small)
    source, target = tmp_path / "mine.txt", tmp_path / "precious.txt"
    source.write_text("moved?")
    target.write_text("overwritten?")
    journal = store.path / "_journal" / "deadbeef0001.json"
    journal.parent.mkdir()
    journal.write_text(json.dumps([[str(source), str(target)], ["../mine.txt", "../precious.txt"]]))
    before = snapshot(store.path)
    with pytest.raises(StoreError, match="journal"):
        store.write(make_frame([canonical_row(reporter="PL")]))
    with pytest.raises(StoreError, match="journal"):
        store.repair()
    assert source.read_text() == "moved?" and target.read_text() == "overwritten?"
    assert snapshot(store.path) == before


def test_copied_0_1_store_is_repaired_inside_the_copy(tmp_path: Path, small: pd.DataFrame) -> None:
    """A 0.1 store copied A -> B (absolute paths in its journal): repairing B changed A."""
    from test_store import _stage, by_key, replace_observations

    a = tmp_path / "a"
    Store(a).write(small)
    (a / "_manifest.json").unlink()
    shutil.rmtree(a / "_data")
    update = with_newer_vintage(small, ((small["reporter"] == "DE") & (small["source"] == "eurostat"))
                                .to_numpy())
    merged = replace_observations(small, update)
    txid = "deadbeef0002"
    target = partition_file(a, "DE")
    staged = a / "_staging" / txid / target.relative_to(a)
    _stage(merged[(merged["reporter"] == "DE") & (merged["source"] == "eurostat")], staged)
    (a / "_journal").mkdir()
    (a / "_journal" / f"{txid}.json").write_text(json.dumps([[str(staged), str(target)]]))
    shutil.copytree(a, tmp_path / "b")
    before_a = snapshot(a)
    report = Store(tmp_path / "b").repair()
    assert any("completed 0.1 commit" in action for action in report.actions)
    assert snapshot(a) == before_a  # the original was not touched
    assert_same_rows(Store(tmp_path / "b").read(), by_key(merged))
    assert Store(tmp_path / "b").verify().clean


def test_repair_does_not_follow_a_symlink_out_of_the_view(tmp_path: Path, small) -> None:
    """`repair` followed a partition symlink and moved a user's file into _quarantine/."""
    store = Store(tmp_path / "store")
    store.write(small)
    home = tmp_path / "home"
    (home / "reporter=XX").mkdir(parents=True)
    user_file = home / "reporter=XX" / "thesis.parquet"
    user_file.write_text("my thesis")
    (store.path / "source=evil").symlink_to(home, target_is_directory=True)
    dataset_dir = partition_file(store.path, "DE").parent.parent
    (dataset_dir / "reporter=YY").symlink_to(home / "reporter=XX", target_is_directory=True)
    report = store.verify()
    assert {p.path for p in report.problems if p.severity == "error"} == {
        "source=evil", dataset_dir.relative_to(store.path).as_posix() + "/reporter=YY"}
    store.repair()
    assert user_file.read_text() == "my thesis"
    assert sorted(p.name for p in home.rglob("*")) == ["reporter=XX", "thesis.parquet"]
    assert not (store.path / "source=evil").exists()  # the link itself was set aside
    assert (store.path / "_quarantine" / "source=evil").is_symlink()
    assert store.verify().clean
    assert_same_rows(store.read(), small)


def test_publishing_never_writes_through_a_symlinked_partition_directory(tmp_path: Path, small) -> None:
    store = Store(tmp_path / "store")
    store.write(small)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "part-0.parquet").write_text("user data")
    view_dir = partition_file(store.path, "DE").parent
    shutil.rmtree(view_dir)
    view_dir.symlink_to(outside, target_is_directory=True)
    store.write(with_newer_vintage(small, (small["reporter"] == "DE").to_numpy()))
    store.repair()
    assert sorted(p.name for p in outside.iterdir()) == ["part-0.parquet"]
    assert (outside / "part-0.parquet").read_text() == "user data"
    assert not view_dir.is_symlink()
    assert store.verify().clean


def test_symlinked_data_directory_is_refused(tmp_path: Path, small: pd.DataFrame) -> None:
    store = Store(tmp_path / "store")
    store.write(small)
    elsewhere = tmp_path / "elsewhere"
    shutil.move(store.path / "_data", elsewhere)
    (store.path / "_data").symlink_to(elsewhere, target_is_directory=True)
    (elsewhere / "notes.txt").write_text("mine")
    before = snapshot(elsewhere)
    with pytest.raises(StoreError, match="symbolic link"):
        store.write(make_frame([canonical_row(reporter="PL")]))
    with pytest.raises(StoreError, match="symbolic link"):
        store.repair()
    assert snapshot(elsewhere) == before


# -- missing and corrupt files ------------------------------------------------------------------------


def _lose_de(store: Store) -> str:
    """Delete DE's committed data file and its view (a hard link to it); return its path."""
    rel = store.manifest().partitions[DE_KEY].file
    (store.path / rel).unlink()
    partition_file(store.path, "DE").unlink()
    return rel


def test_missing_data_file_blocks_no_write_to_another_partition(tmp_path: Path, small) -> None:
    """One missing data file blocked every write (untyped FileNotFoundError)."""
    store = Store(tmp_path)
    store.write(small)
    rel = _lose_de(store)
    extra = make_frame([canonical_row(reporter="PL")])
    assert store.write(extra).rows_new == 1
    fr = small[small["reporter"] == "FR"]
    assert store.write(with_newer_vintage(fr, np.ones(len(fr), dtype=bool))).rows_changed == len(fr)
    assert len(store.read(reporter="PL")) == 1
    problems = {p.path: p.problem for p in store.verify().problems if p.severity == "error"}
    assert list(problems) == [rel] and "missing" in problems[rel]
    before = snapshot(tmp_path)
    with pytest.raises(StoreError, match="reporter=DE.*missing"):  # a write to DE itself
        store.write(with_newer_vintage(small, (small["reporter"] == "DE").to_numpy()))
    assert snapshot(tmp_path) == before


def test_repair_cli_quarantines_a_missing_partition_without_traceback(tmp_path: Path, small,
                                                                      capsys) -> None:
    store = Store(tmp_path)
    store.write(small)
    _lose_de(store)
    assert cli.main(["store", "verify", "--store", str(tmp_path)]) == 1
    status = cli.main(["store", "repair", "--store", str(tmp_path)])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "Traceback" not in out + err
    assert "reporter=DE" in out and "re-fetch" in out
    assert DE_KEY not in store.manifest().partitions
    assert cli.main(["store", "verify", "--store", str(tmp_path)]) == 0
    assert_same_rows(store.read(), _not_de(small))
    assert_same_values(duckdb_table(tmp_path), _not_de(small))
    # The partition comes back with the next write of its rows.
    de = small.drop(index=_not_de(small).index)
    assert store.write(de).rows_new == len(de)
    assert_same_rows(store.read(), small)


def test_repair_quarantines_a_corrupt_file_or_restores_it_from_a_good_view(tmp_path: Path, small) -> None:
    store = Store(tmp_path)
    store.write(small)
    entry = store.manifest().partitions[DE_KEY]
    data = store.path / entry.file
    flipped = bytearray(data.read_bytes())
    flipped[len(flipped) // 2] ^= 0xFF
    data.unlink()  # breaks the hard link: the view keeps the good bytes
    data.write_bytes(bytes(flipped))
    report = store.repair()
    assert any("restored" in a and entry.file in a for a in report.actions)
    assert _sha(data) == entry.sha256 and store.verify().clean
    assert_same_rows(store.read(), small)
    # Both copies bad (the view is a hard link to the data file): quarantined, partition dropped.
    partition_file(tmp_path, "DE").write_bytes(bytes(flipped))
    assert not store.verify().ok
    report = store.repair()
    assert any("quarantine" in a and "reporter=DE" in a for a in report.actions)
    assert (tmp_path / "_quarantine" / entry.file).exists()
    assert store.verify().clean
    assert_same_rows(store.read(), _not_de(small))


def test_failing_write_never_relinks_the_view_to_corrupt_bytes(tmp_path: Path, small) -> None:
    """After a corrupted data file, a failing write re-linked the public view to the corrupt bytes."""
    store = Store(tmp_path)
    store.write(small)
    entry = store.manifest().partitions[DE_KEY]
    data, view = store.path / entry.file, partition_file(tmp_path, "DE")
    good = view.read_bytes()
    data.unlink()
    data.write_bytes(b"\x00garbage" * 64)  # corrupt, a separate file; the view keeps good bytes
    view.unlink()
    view.write_bytes(b"\x00other garbage" * 64)  # and the view corrupt too, differently
    view_bytes = view.read_bytes()
    with pytest.raises(StoreError, match="reporter=DE"):
        store.write(with_newer_vintage(small, (small["reporter"] == "DE").to_numpy()))
    assert view.read_bytes() == view_bytes  # not re-linked to the corrupt data file
    assert not os.path.samefile(view, data)
    # With a good view, the next write restores the data file from it instead of spreading damage.
    view.unlink()
    view.write_bytes(good)
    fr = small[small["reporter"] == "FR"]
    store.write(with_newer_vintage(fr, np.ones(len(fr), dtype=bool)))
    assert _sha(data) == entry.sha256 and _sha(view) == entry.sha256
    assert store.verify().clean


@pytest.mark.parametrize("text", ["[1, 2]", '"manifest"', "null", "[" * 100_000,
                                  '{"format": "oilflows-store", "format_version": 2, "version": 1, '
                                  '"txid": "x", "committed": "", "partitions": [1], "vintages": [],'
                                  ' "retired": []}'],
                         ids=["list", "string", "null", "deep", "partitions-list"])
def test_malformed_manifest_is_a_store_error(tmp_path: Path, small: pd.DataFrame, text: str) -> None:
    store = Store(tmp_path)
    store.write(small)
    (tmp_path / "_manifest.json").write_text(text)
    before = snapshot(tmp_path)
    for call in (store.read, store.repair, lambda: store.write(small), store.partitions):
        with pytest.raises(StoreError, match="manifest"):
            call()
    report = store.verify()
    assert not report.ok and report.problems[0].path == "_manifest.json"
    assert snapshot(tmp_path) == before


def _read_only(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    """Make every change under `root` fail as on a read-only file system (EROFS); root-proof."""
    root = str(root)

    def guard(func, arg_index=0):
        def wrapped(*args, **kwargs):
            if str(args[arg_index]).startswith(root):
                raise OSError(errno.EROFS, "Read-only file system", str(args[arg_index]))
            return func(*args, **kwargs)
        return wrapped

    real_open, real_os_open = io.open, os.open

    def open_(file, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+") and str(file).startswith(root):
            raise OSError(errno.EROFS, "Read-only file system", str(file))
        return real_open(file, mode, *args, **kwargs)

    def os_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and str(path).startswith(root):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_os_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", open_)
    monkeypatch.setattr(io, "open", open_)
    monkeypatch.setattr(os, "open", os_open)
    for name in ("mkdir", "replace", "rename", "unlink", "rmdir", "link", "symlink"):
        monkeypatch.setattr(os, name, guard(getattr(os, name)))


def test_read_only_store_is_a_store_error_naming_the_path(tmp_path: Path, small,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path / "store")
    store.write(small)
    (store.path / "_manifest.json.deadbeef.tmp").write_text("{")  # something for repair to do
    before = snapshot(store.path)
    update = with_newer_vintage(small, np.ones(len(small), dtype=bool))
    fresh = Store(tmp_path / "fresh")
    _read_only(monkeypatch, tmp_path)
    for call in (lambda: store.write(update), store.repair, lambda: fresh.write(small)):
        with pytest.raises(StoreError, match="[Rr]ead-only file system") as raised:
            call()
        assert str(tmp_path) in str(raised.value)
    assert_same_rows(store.read(), small)  # reading needs no write access
    assert store.verify().ok
    monkeypatch.undo()
    assert snapshot(store.path) == before
    assert not fresh.path.exists()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="chmod does not stop root")
def test_read_only_directory_is_a_store_error(tmp_path: Path, small: pd.DataFrame) -> None:
    store = Store(tmp_path / "store")
    store.write(small)
    dirs = [store.path, *(p for p in store.path.rglob("*") if p.is_dir())]
    for d in dirs:
        d.chmod(0o555)
    try:
        with pytest.raises(StoreError, match=str(store.path)):
            store.write(with_newer_vintage(small, np.ones(len(small), dtype=bool)))
    finally:
        for d in dirs:
            d.chmod(0o755)
    assert_same_rows(store.read(), small)


# -- bad arguments ------------------------------------------------------------------------------------


@pytest.mark.parametrize("as_of", ["garbage", pd.Timestamp("2031-01-01", tz="UTC"), "2030-13-01",
                                   pd.NaT, 5.5],
                         ids=["garbage", "tz-aware", "month-13", "NaT", "float"])
def test_bad_as_of_is_a_query_error(tmp_path: Path, small: pd.DataFrame, as_of) -> None:
    store = Store(tmp_path)
    store.write(small)
    with pytest.raises(QueryError, match="as_of") as raised:
        store.read(as_of=as_of)
    assert isinstance(raised.value, StoreError)  # what Store.read raised before, still caught


@pytest.mark.parametrize("filters", [{"reporter": 5}, {"reporter": ["DE", 5]}, {"partner": 5},
                                     {"source": b"eurostat"}, {"volume_bbl": "lots"},
                                     {"columns": ["reporter", "nope"]}],
                         ids=["reporter-int", "reporter-list", "partner-int", "bytes", "float-str",
                              "columns"])
def test_bad_filter_value_is_a_query_error_naming_the_argument(tmp_path: Path, small, filters) -> None:
    store = Store(tmp_path)
    store.write(small)
    name = next(iter(filters))
    with pytest.raises(QueryError, match=name) as raised:
        store.read(**filters)
    assert isinstance(raised.value, StoreError)


def test_good_filter_values_still_work(tmp_path: Path, small: pd.DataFrame) -> None:
    store = Store(tmp_path)
    store.write(small)
    de = small[small["reporter"] == "DE"]
    assert_same_rows(store.read(reporter=iter(["DE"])), de)  # any iterable, even a generator
    assert_same_rows(store.read(reporter=("DE",), volume_bbl=de["volume_bbl"].dropna().tolist()),
                     de[de["volume_bbl"].notna()])
    assert list(store.read(columns="reporter", reporter="DE").columns) == ["reporter"]
    assert_same_rows(store.read(as_of=np.datetime64("2031-01-01")), small)


# -- releases that drop rows: replace= ----------------------------------------------------------------


def _release(vintage, grade_kz: str, volume: float = 1000.0) -> pd.DataFrame:
    """A two-partner release of DE's crude imports in 2021-01 and 2021-02 at `vintage`."""
    rows = []
    for period in ("2021-01-01", "2021-02-01"):
        rows.append(canonical_row(vintage=vintage, period=pd.Timestamp(period), grade=grade_kz,
                                  volume_bbl=volume))
        rows.append(canonical_row(vintage=vintage, period=pd.Timestamp(period), partner="RU",
                                  grade="RU_EXP_BLN", volume_bbl=2000.0))
    return make_frame(rows)


SCOPE = {"source": "eurostat", "dataset": "nrg_ti_coifpm", "reporter": "DE"}


def test_reclassified_grade_is_retired_not_counted_twice(tmp_path: Path) -> None:
    """A revision that omits a row kept the old row current: a reclassified grade counted twice."""
    store = Store(tmp_path)
    first = _release(V1, "KZ_CPC_BLN")
    store.write(first)
    second = _release(V2, "KZ_KEBCO")  # the same Kazakh barrels, now under another grade
    summary = store.write(second, replace=SCOPE)
    assert summary.rows_retired == 2 and summary.rows_new == 2
    # RU repeats its values: those rows keep the vintage since which they are known (V1).
    now = pd.concat([second[second["partner"] == "KZ"], first[first["partner"] == "RU"]])
    current = store.read()
    assert_same_rows(current, now)
    assert current.groupby("partner")["volume_bbl"].sum().to_dict() == {"KZ": 2000.0, "RU": 4000.0}
    # What was known before the revision is still there; after it, the old grade is gone.
    assert_same_rows(store.read(as_of=V1), first)
    assert_same_rows(store.read(as_of=V2 - pd.Timedelta(seconds=1)), first)
    assert_same_rows(store.read(as_of=V2), now)
    assert_same_rows(store.read(as_of=V3, partner="KZ"), second[second["partner"] == "KZ"])
    assert_same_values(duckdb_table(tmp_path), now)
    assert store.verify().clean
    # Writing the same release again changes nothing.
    before = snapshot(tmp_path)
    again = store.write(second, replace=SCOPE)
    assert not again.changed and again.rows_retired == 0
    assert snapshot(tmp_path) == before
    # An old download of the first release does not bring the retired grade back.
    store.write(first)
    assert_same_rows(store.read(), now)
    assert_same_rows(store.read(as_of=V1), first)


def test_without_replace_a_write_is_still_an_upsert(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.write(_release(V1, "KZ_CPC_BLN"))
    summary = store.write(_release(V2, "KZ_KEBCO"))
    assert summary.rows_retired == 0 and len(store.read()) == 6


def test_replace_retires_only_inside_its_scope(tmp_path: Path, small: pd.DataFrame) -> None:
    store = Store(tmp_path)
    store.write(small)
    de = small[(small["reporter"] == "DE") & (small["source"] == "eurostat")]
    # A release of DE, 2021 only, without partner NO: retires DE-NO in 2021 and nothing else.
    release = with_newer_vintage(de, (de["period"].dt.year == 2021).to_numpy()
                                 & (de["partner"] != "NO").to_numpy())
    scope = {**SCOPE, "start": "2021-01", "end": "2021"}
    summary = store.write(release, replace=scope)
    retired = de[(de["period"].dt.year == 2021) & (de["partner"] == "NO")]
    assert summary.rows_retired == len(retired) > 0
    kept = small.drop(index=retired.index)
    expected = pd.concat([kept.drop(index=kept.index.intersection(
        de.index[(de["period"].dt.year == 2021) & (de["partner"] != "NO")])), release],
        ignore_index=True)
    assert_same_rows(store.read(), expected)
    assert_same_rows(store.read(as_of=V1), small)


def test_replace_of_an_older_release_retires_nothing_newer(tmp_path: Path) -> None:
    store = Store(tmp_path)
    newer = _release(V2, "KZ_KEBCO")
    store.write(newer)
    older = _release(V1, "KZ_CPC_BLN")
    summary = store.write(older, replace=SCOPE)
    assert summary.rows_retired == 0  # KZ_KEBCO (V2) is newer than this release
    # As without replace=: CPC is a new observation (current), RU's V1 rows are archived.
    assert_same_rows(store.read(), pd.concat([newer, older[older["partner"] == "KZ"]]))


def test_replace_scope_holding_no_row_retires_the_whole_slice(tmp_path: Path) -> None:
    """A reporter that stopped reporting: an empty release of its slice, with the release's vintage."""
    store = Store(tmp_path)
    first = _release(V1, "KZ_CPC_BLN")
    store.write(first)
    empty = first.iloc[0:0]
    with pytest.raises(QueryError, match="vintage"):
        store.write(empty, replace=SCOPE)
    summary = store.write(empty, replace={**SCOPE, "vintage": V2})
    assert summary.rows_retired == len(first)
    assert store.read().empty and store.partitions() == []
    assert_same_rows(store.read(as_of=V1), first)
    assert store.verify().clean


@pytest.mark.parametrize("scope", [{"dataset": "nrg_ti_coifpm"}, {"source": "eurostat"},
                                   {**SCOPE, "grade": "KZ_KEBCO"}, {**SCOPE, "reporter": 5},
                                   {**SCOPE, "start": "garbage"}, "eurostat", [SCOPE, 3]],
                         ids=["no-source", "no-dataset", "unknown-key", "int", "bad-start", "str",
                              "list-with-int"])
def test_malformed_replace_scope_is_refused_before_anything_is_written(tmp_path: Path, scope) -> None:
    store = Store(tmp_path)
    store.write(_release(V1, "KZ_CPC_BLN"))
    before = snapshot(tmp_path)
    with pytest.raises(QueryError, match="replace"):
        store.write(_release(V2, "KZ_KEBCO"), replace=scope)
    assert snapshot(tmp_path) == before


def test_repair_never_moves_a_file_reached_through_a_linked_data_directory(tmp_path: Path, small) -> None:
    """A link inside ``_data`` to a user's directory: repair removes the link (not its target) and
    restores the data files from the view; the user's directory is untouched."""
    store = Store(tmp_path / "store")
    store.write(small)
    elsewhere = tmp_path / "elsewhere"
    shutil.move(store.path / "_data" / "source=eurostat", elsewhere)
    (store.path / "_data" / "source=eurostat").symlink_to(elsewhere, target_is_directory=True)
    (elsewhere / "notes.txt").write_text("mine")
    before = snapshot(elsewhere)
    assert not store.verify().ok
    store.repair()
    assert snapshot(elsewhere) == before
    assert not (store.path / "_data" / "source=eurostat").is_symlink()
    assert store.verify().clean
    assert_same_rows(store.read(), small)


def test_linked_lock_file_is_refused(tmp_path: Path, small: pd.DataFrame) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    store = Store(tmp_path / "store")
    store.write(small)
    (store.path / "_store.lock").unlink()
    (store.path / "_store.lock").symlink_to(victim)
    with pytest.raises(StoreError, match="symbolic link"):
        store.write(make_frame([canonical_row(reporter="PL")]))
    assert victim.read_text() == "keep me"
