"""The Parquet store: round trips through three engines, idempotence, upserts, pruning, atomicity.

Every test writes to its own ``tmp_path`` store. Small canonical frames are built by hand so the
tests always run; the real Eurostat nrg_ti_coifpm file (``$OILFLOWS_SHARED_DATA``) adds a realistic
case and is skipped when absent.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from filelock import FileLock

import oilflows.store.files as files_module
import oilflows.store.manifest as manifest_module
from oilflows.errors import SchemaError, StoreError
from oilflows.schema import COLUMNS, KEY, OBSERVATION_KEY, SCHEMA, conform, from_table, to_table
from oilflows.store import DATA_FILE, PARTITIONS, Store, default_path

SHARED_DATA = Path(
    os.environ.get("OILFLOWS_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
COIFPM_FILE = SHARED_DATA / "eurostat" / "nrg_ti_coifpm.csv.gz"
COIFPM_ROWS = 65_277

V1 = pd.Timestamp("2030-01-15 11:00:00")  # later than any real release
V2 = pd.Timestamp("2030-02-28 11:00:00")
V3 = pd.Timestamp("2030-03-27 23:00:00")

GRADES = {  # partner -> (grade, API gravity, sulphur %)
    "KZ": ("KZ_CPC_BLN", 45.9, 0.55),
    "RU": ("RU_EXP_BLN", 31.0, 1.6),
    "NO": ("NO_DRA", 39.5, 0.13),
    "WORLD": (None, 36.4, 0.6),
}


# -- frames -----------------------------------------------------------------------------------------


def canonical_row(**values: object) -> dict[str, object]:
    """One canonical row with plausible defaults; keyword arguments override columns."""
    row: dict[str, object] = {
        "source": "eurostat", "dataset": "nrg_ti_coifpm", "vintage": V1, "freq": "M",
        "period": pd.Timestamp("2021-01-01"), "reporter": "DE", "partner": "KZ", "flow": "import",
        "product": "crude_oil", "grade": "KZ_CPC_BLN", "volume_bbl": 1000.0, "mass_t": None,
        "value": 70_000.0, "currency": "USD", "api_gravity": 45.9, "sulphur_pct": 0.55,
        "price_per_bbl": 70.0, "flag": None,
    }
    unknown = set(values) - set(row)
    assert not unknown, unknown
    row.update(values)
    return row


def make_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    return conform(pd.DataFrame(rows, columns=list(COLUMNS)))


def small_frame() -> pd.DataFrame:
    """~300 rows over 5 partitions: two sources, three reporters, monthly and annual rows,
    confidential cells, null grades, a break flag."""
    rng = np.random.default_rng(20240228)
    rows = []
    months = pd.date_range("2020-11-01", "2022-02-01", freq="MS")
    for reporter in ("DE", "FR", "IT"):
        for partner, (grade, api, sulphur) in GRADES.items():
            for period in months:
                volume = float(rng.integers(100, 50_000)) * 1000.0
                price = round(float(rng.uniform(40, 110)), 2)
                confidential = reporter == "DE" and partner == "RU" and period >= pd.Timestamp(
                    "2021-06-01")
                rows.append(canonical_row(
                    reporter=reporter, partner=partner, grade=grade, period=period,
                    api_gravity=api, sulphur_pct=sulphur,
                    volume_bbl=None if confidential else volume,
                    value=None if confidential else volume * price,
                    price_per_bbl=None if confidential else price,
                    currency=None if confidential else "USD",
                    flag="c" if confidential else ("b" if period == months[0] else None),
                ))
        rows.append(canonical_row(reporter=reporter, partner="WORLD", grade=None, freq="A",
                                  period=pd.Timestamp("2021-01-01"), volume_bbl=5e8))
    for period in months[:6]:  # a second source and dataset, with masses and no vintage
        rows.append(canonical_row(source="dg_ener", dataset="coir", vintage=pd.NaT, period=period,
                                  partner="RU", grade="RU_URALS", mass_t=123_456.0,
                                  volume_bbl=891_852.0))
    return make_frame(rows)


@pytest.fixture
def small() -> pd.DataFrame:
    return small_frame()


@pytest.fixture(scope="module")
def coifpm() -> pd.DataFrame:
    if not COIFPM_FILE.exists():
        pytest.skip(f"real data not found: {COIFPM_FILE} (set OILFLOWS_SHARED_DATA)")
    from oilflows.sources import eurostat

    frame = eurostat.read(COIFPM_FILE)
    assert len(frame) == COIFPM_ROWS
    return frame


@pytest.fixture(params=["small", "coifpm"])
def frame(request: pytest.FixtureRequest) -> pd.DataFrame:
    """The hand-built frame, then the real nrg_ti_coifpm frame (skipped if the file is absent)."""
    return request.getfixturevalue(request.param).copy()


# -- helpers ----------------------------------------------------------------------------------------


def by_key(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(KEY), na_position="first", kind="stable").reset_index(drop=True)


def assert_same_rows(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(got.columns) == list(COLUMNS)
    pd.testing.assert_frame_equal(by_key(got), by_key(conform(expected)))


def assert_same_values(table: pa.Table, expected: pd.DataFrame) -> None:
    """Compare an engine's table with `expected` column by column, after casting to SCHEMA."""
    assert sorted(table.column_names) == sorted(COLUMNS)
    columns = {}
    for field in SCHEMA:
        column = table[field.name]
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        columns[field.name] = column.cast(field.type)  # a safe cast: fails on lost precision
    got = by_key(from_table(pa.table(columns)))
    want = by_key(conform(expected))
    assert len(got) == len(want)
    for name in COLUMNS:
        pd.testing.assert_series_equal(got[name], want[name], obj=f"column {name!r}")


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """sha256 and mtime_ns of every file under `root` except the lock file."""
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name != "_store.lock":
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            files[path.relative_to(root).as_posix()] = (digest, path.stat().st_mtime_ns)
    return files


def partition_file(root: Path, reporter: str, source: str = "eurostat",
                   dataset: str = "nrg_ti_coifpm") -> Path:
    return root / f"source={source}" / f"dataset={dataset}" / f"reporter={reporter}" / DATA_FILE


def read_vintages(root: Path) -> pd.DataFrame:
    """The archived rows, read with plain pyarrow (hive partitions under ``_vintages``)."""
    table = ds.dataset(root / "_vintages", format="parquet", partitioning="hive").to_table()
    return from_table(table.cast(pa.schema([table.schema.field(n).with_type(
        SCHEMA.field(n).type) for n in table.column_names])))


def with_newer_vintage(frame: pd.DataFrame, mask: np.ndarray, vintage=V2) -> pd.DataFrame:
    """The rows of `frame` selected by `mask`, re-released at `vintage` with revised values (+1 %
    volumes; sulphur +0.01 so that rows without a volume are revised too)."""
    newer = frame.loc[mask].copy()
    newer["vintage"] = vintage
    newer["volume_bbl"] = newer["volume_bbl"] * 1.01
    newer["sulphur_pct"] = newer["sulphur_pct"].fillna(0.0) + 0.01
    return newer.reset_index(drop=True)


def replace_observations(current: pd.DataFrame, update: pd.DataFrame) -> pd.DataFrame:
    """`current` with the observations of `update` replaced by its rows (pandas, for expectations)."""
    obs = list(OBSERVATION_KEY)
    hit = current[obs].merge(update[obs].drop_duplicates(), how="left", on=obs, indicator=True)
    kept = current.loc[(hit["_merge"] == "left_only").to_numpy()]
    return pd.concat([kept, update], ignore_index=True)


def duckdb_table(root: Path) -> pa.Table:
    query = (f"SELECT * FROM read_parquet('{root.as_posix()}/source=*/dataset=*/reporter=*/*.parquet',"
             " hive_partitioning=true)")
    with duckdb.connect() as con:
        return con.sql(query).to_arrow_table()


# -- round trip ---------------------------------------------------------------------------------


def test_round_trip_through_store_pyarrow_and_duckdb(tmp_path: Path, frame: pd.DataFrame) -> None:
    root = tmp_path / "store"
    store = Store(root)
    first = store.write(frame)
    assert first.rows_in == len(frame) and first.rows_new == len(frame)
    # A newer release of a quarter of the rows: the old rows move to _vintages.
    mask = np.arange(len(frame)) % 4 == 0
    update = with_newer_vintage(frame, mask)
    second = store.write(update)
    assert second.rows_changed == len(update) and second.rows_archived == len(update)
    expected = replace_observations(frame, update)
    assert len(expected) == len(frame)
    # Decoys: copies of a current partition file where no reader may look.
    data_file = sorted(root.glob(f"source=*/dataset=*/reporter=*/{DATA_FILE}"))[0]
    rel = data_file.relative_to(root)
    for decoy in (root / "_staging" / "0123456789ab" / rel, root / "_journal" / rel):
        decoy.parent.mkdir(parents=True)
        decoy.write_bytes(data_file.read_bytes())
    assert list((root / "_vintages").rglob("*.parquet"))

    assert_same_rows(store.read(), expected)
    assert_same_rows(Store(root).read(), expected)  # a fresh handle, nothing cached
    assert_same_values(ds.dataset(root, format="parquet", partitioning="hive").to_table(), expected)
    assert_same_values(duckdb_table(root), expected)


def test_round_trip_keeps_nulls_and_types(tmp_path: Path, small: pd.DataFrame) -> None:
    Store(tmp_path).write(small)
    got = Store(tmp_path).read()
    assert got["vintage"].isna().sum() == small["vintage"].isna().sum() > 0
    assert got["grade"].isna().sum() == small["grade"].isna().sum() > 0
    assert (got["flag"] == "c").sum() == (small["flag"] == "c").sum() > 0
    assert got["volume_bbl"].isna().sum() == small["volume_bbl"].isna().sum() > 0
    assert str(got["period"].dtype) == "datetime64[s]"
    assert to_table(got).schema == SCHEMA
    assert Store(tmp_path).partitions() == sorted(
        ({"source": s, "dataset": d, "reporter": r}
         for s, d, r in small[list(PARTITIONS)].drop_duplicates().itertuples(index=False)),
        key=lambda p: (p["source"], p["dataset"], p["reporter"]))


def test_read_of_missing_store_is_empty(tmp_path: Path) -> None:
    got = Store(tmp_path / "nowhere").read(reporter="DE")
    assert got.empty and list(got.columns) == list(COLUMNS)
    assert not (tmp_path / "nowhere").exists()


# -- idempotence ---------------------------------------------------------------------------------


def assert_idempotent(store: Store, frame: pd.DataFrame) -> None:
    before = snapshot(store.path)
    assert before
    summary = store.write(frame)
    assert summary.changed is False
    assert (summary.rows_new, summary.rows_changed, summary.rows_archived) == (0, 0, 0)
    assert summary.partitions_changed == 0
    assert summary.rows_unchanged == summary.rows_in == len(frame)
    assert snapshot(store.path) == before


def test_second_identical_write_changes_nothing(tmp_path: Path, frame: pd.DataFrame) -> None:
    store = Store(tmp_path)
    assert store.write(frame).changed
    assert_idempotent(store, frame)
    # Row order is not content.
    assert_idempotent(store, frame.sample(frac=1.0, random_state=7).reset_index(drop=True))


def test_rewrite_of_a_multi_vintage_frame_changes_nothing(tmp_path: Path, small: pd.DataFrame) -> None:
    """A frame holding two releases of the same observations: the second write must not archive
    the older release again."""
    both = pd.concat([small, with_newer_vintage(small, small["reporter"] == "FR")],
                     ignore_index=True)
    store = Store(tmp_path)
    first = store.write(both)
    assert first.rows_archived == int((small["reporter"] == "FR").sum())
    assert_idempotent(store, both)


def test_rewrite_of_an_older_vintage_changes_nothing(tmp_path: Path, small: pd.DataFrame) -> None:
    store = Store(tmp_path)
    newer = with_newer_vintage(small, np.ones(len(small), dtype=bool), vintage=V3)
    store.write(newer)
    older = small.loc[small["reporter"] == "IT"]
    assert store.write(older).rows_archived == len(older)
    assert_idempotent(store, older)


# -- upsert ------------------------------------------------------------------------------------------


def test_same_vintage_revision_replaces_the_value(tmp_path: Path, small: pd.DataFrame) -> None:
    store = Store(tmp_path)
    store.write(small)
    revised = small.iloc[[10]].copy()
    revised["volume_bbl"] = 4242.0
    summary = store.write(revised)
    assert (summary.rows_new, summary.rows_changed, summary.rows_unchanged) == (0, 1, 0)
    assert summary.rows_archived == 0 and summary.partitions_changed == 1
    assert not (tmp_path / "_vintages").exists()  # a same-vintage revision is not a release
    got = store.read()
    assert_same_rows(got, replace_observations(small, revised))
    assert (got["volume_bbl"] == 4242.0).sum() == 1


def test_newer_vintage_replaces_and_archives(tmp_path: Path, small: pd.DataFrame) -> None:
    store = Store(tmp_path)
    store.write(small)
    old = small.iloc[[3]]
    newer = with_newer_vintage(small, small.index == 3)
    untouched = snapshot(tmp_path)
    summary = store.write(newer)
    assert (summary.rows_new, summary.rows_changed, summary.rows_archived) == (0, 1, 1)
    assert summary.partitions_changed == 1
    assert_same_rows(store.read(), replace_observations(small, newer))
    archived = read_vintages(tmp_path)
    assert_same_rows(archived, old)
    # Only the one partition file was rewritten.
    changed = {k for k, v in snapshot(tmp_path).items() if untouched.get(k) != v}
    rel = partition_file(tmp_path, old["reporter"].iloc[0]).relative_to(tmp_path).as_posix()
    internal = ("_vintages/", "_data/", "_manifest.json")
    assert {c for c in changed if not c.startswith(internal)} == {rel}
    # ...plus one new immutable data file for that partition, and the new manifest.
    added = {c for c in changed if c.startswith("_data/")}
    assert len(added) == 1 and added.pop().startswith("_data/" + rel.rsplit("/", 1)[0] + "/")
    assert "_manifest.json" in changed


def test_older_vintage_does_not_replace_and_is_archived(tmp_path: Path, small: pd.DataFrame) -> None:
    store = Store(tmp_path)
    newer = with_newer_vintage(small, np.ones(len(small), dtype=bool))
    store.write(newer)
    skip = ("_vintages/", "_manifest.json")  # the archive grows; the manifest lists it
    data_before = {k: v for k, v in snapshot(tmp_path).items() if not k.startswith(skip)}
    older = small.iloc[[5, 6]]
    summary = store.write(older)
    assert summary.changed
    assert (summary.rows_new, summary.rows_changed, summary.rows_archived) == (0, 0, 2)
    assert summary.partitions_changed == 0
    assert_same_rows(store.read(), newer)
    assert {k: v for k, v in snapshot(tmp_path).items() if not k.startswith(skip)} == data_before
    assert_same_rows(read_vintages(tmp_path), older)


def test_mixed_write_counts_new_and_changed_observations(tmp_path: Path, small: pd.DataFrame) -> None:
    store = Store(tmp_path)
    store.write(with_newer_vintage(small, np.ones(len(small), dtype=bool)))
    older = small.iloc[[0]]  # superseded on arrival
    brand_new = make_frame([canonical_row(partner="US", grade="US_WTI", vintage=V1),
                            canonical_row(partner="US", grade="US_WTI", vintage=V2)])
    summary = store.write(pd.concat([older, brand_new], ignore_index=True))
    assert summary.rows_new == 1  # one observation, released twice
    assert summary.rows_changed == 0
    assert summary.rows_archived == 2  # the older row and the first US release


@pytest.mark.parametrize("order", ["nat_first", "dated_first"])
def test_missing_vintage_is_the_oldest(tmp_path: Path, order: str) -> None:
    undated = make_frame([canonical_row(vintage=pd.NaT, volume_bbl=1.0)])
    dated = make_frame([canonical_row(vintage=V1, volume_bbl=2.0)])
    store = Store(tmp_path)
    for part in ((undated, dated) if order == "nat_first" else (dated, undated)):
        store.write(part)
    assert_same_rows(store.read(), dated)
    assert_same_rows(read_vintages(tmp_path), undated)


def test_two_vintages_in_one_frame_keep_the_latest(tmp_path: Path) -> None:
    rows = make_frame([canonical_row(vintage=v, volume_bbl=float(i))
                       for i, v in enumerate([V2, pd.NaT, V3, V1])])
    summary = Store(tmp_path).write(rows)
    assert (summary.rows_new, summary.rows_archived) == (1, 3)
    assert_same_rows(Store(tmp_path).read(), rows.iloc[[2]])
    assert_same_rows(read_vintages(tmp_path), rows.iloc[[0, 1, 3]])


# -- filtered reads -------------------------------------------------------------------------------


def test_filtered_read_matches_pandas_filter(tmp_path: Path, frame: pd.DataFrame) -> None:
    store = Store(tmp_path)
    store.write(frame)
    got = store.read(reporter="DE", partner=["KZ", "RU"], start="2021-01", end="2021-12")
    period = frame["period"]
    want = frame[(frame["reporter"] == "DE") & frame["partner"].isin(["KZ", "RU"])
                 & (period >= pd.Timestamp("2021-01-01")) & (period <= pd.Timestamp("2021-12-01"))]
    assert len(want) > 12
    assert_same_rows(got, want)


def test_filtered_read_other_filters(tmp_path: Path, small: pd.DataFrame) -> None:
    store = Store(tmp_path)
    store.write(small)
    assert_same_rows(store.read(grade=None), small[small["grade"].isna()])
    assert_same_rows(store.read(source="dg_ener"), small[small["source"] == "dg_ener"])
    assert_same_rows(store.read(freq="A", reporter=["FR", "IT"]),
                     small[(small["freq"] == "A") & small["reporter"].isin(["FR", "IT"])])
    assert_same_rows(store.read(start=pd.Timestamp("2022-01-01")),
                     small[small["period"] >= pd.Timestamp("2022-01-01")])
    got = store.read(reporter="IT", columns=["period", "volume_bbl"])
    assert list(got.columns) == ["period", "volume_bbl"]
    assert len(got) == (small["reporter"] == "IT").sum()
    assert store.read(reporter="XX").empty


def test_partition_filter_prunes_directories(tmp_path: Path, small: pd.DataFrame) -> None:
    """A reporter filter must not open other reporters' files: garbage there goes unnoticed."""
    store = Store(tmp_path)
    store.write(small)
    broken = partition_file(tmp_path, "FR")
    broken.write_bytes(b"not parquet at all")  # a hard link: the committed data file is damaged too
    assert_same_rows(store.read(reporter="DE"), small[small["reporter"] == "DE"])
    with pytest.raises(StoreError, match="reporter=FR"):
        store.read()


def test_unknown_filter_column_raises(tmp_path: Path, small: pd.DataFrame) -> None:
    store = Store(tmp_path)
    store.write(small)
    with pytest.raises(StoreError, match="country"):
        store.read(country="DE")


# -- atomicity ---------------------------------------------------------------------------------


def _drop_flag(frame):
    return frame.drop(columns=["flag"])


def _duplicate_key(frame):
    return pd.concat([frame, frame.iloc[[0]]], ignore_index=True)


def _leak_confidential(frame):
    frame = frame.copy()
    row = frame.index[frame["flag"].eq("c").fillna(False)][0]
    frame.loc[row, "volume_bbl"] = 1.0
    return frame


def _quarterly(frame):
    frame = frame.copy()
    frame.loc[frame.index[-1], "freq"] = "Q"
    return frame


@pytest.mark.parametrize("spoil", [_drop_flag, _duplicate_key, _leak_confidential, _quarterly])
def test_invalid_frame_leaves_store_as_it_was(tmp_path: Path, small: pd.DataFrame, spoil) -> None:
    store = Store(tmp_path / "store")
    store.write(small)
    before = snapshot(store.path)
    update = with_newer_vintage(small, np.ones(len(small), dtype=bool))
    with pytest.raises(SchemaError):
        store.write(spoil(update))
    assert snapshot(store.path) == before
    fresh = Store(tmp_path / "fresh")
    with pytest.raises(SchemaError):
        fresh.write(spoil(small))
    assert not fresh.path.exists()


class _FailingOs:
    """Stands in for the ``os`` module of an oilflows module; ``replace`` fails on call number
    `fail_at` with `error` and works otherwise."""

    def __init__(self, fail_at: int, error: BaseException):
        self.fail_at = fail_at
        self.error = error
        self.calls = 0

    def replace(self, src, dst):
        self.calls += 1
        if self.calls == self.fail_at:
            raise self.error
        return os.replace(src, dst)

    def __getattr__(self, name):
        return getattr(os, name)


def _multi_partition_update(small: pd.DataFrame) -> pd.DataFrame:
    """A newer release for every reporter plus a brand-new partition."""
    update = with_newer_vintage(small, np.ones(len(small), dtype=bool))
    new_partition = small[small["reporter"] == "IT"].assign(reporter="PL")
    return pd.concat([update, new_partition], ignore_index=True)


@pytest.mark.parametrize("error", [OSError("disk on fire"), KeyboardInterrupt()])
def test_failed_commit_leaves_the_store_as_it_was(tmp_path: Path, small: pd.DataFrame,
                                                   monkeypatch: pytest.MonkeyPatch, error) -> None:
    """The manifest rename is the commit: if it fails, no trace of the write remains."""
    store = Store(tmp_path)
    store.write(small)
    before = snapshot(tmp_path)
    update = _multi_partition_update(small)
    failing = _FailingOs(1, error)
    monkeypatch.setattr(manifest_module, "os", failing)
    with pytest.raises(StoreError if isinstance(error, OSError) else KeyboardInterrupt,
                       match="disk on fire" if isinstance(error, OSError) else None):
        store.write(update)
    assert failing.calls == 1
    monkeypatch.undo()
    assert snapshot(tmp_path) == before
    assert_same_rows(store.read(), small)
    assert store.verify().clean
    # The store still works: the same write now succeeds.
    assert store.write(update).rows_archived == len(small)
    assert_same_rows(store.read(), replace_observations(small, update))


@pytest.mark.parametrize("fail_at", [1, 3, 4])
@pytest.mark.parametrize("error", [OSError("disk on fire"), KeyboardInterrupt()])
def test_failed_publish_keeps_the_commit_and_repair_relinks(
    tmp_path: Path, small: pd.DataFrame, monkeypatch: pytest.MonkeyPatch, fail_at: int, error
) -> None:
    """After the commit only the public view lags: oilflows reads the new state, verify warns,
    repair (or the next write) brings the view in line; DuckDB then reads the new state too."""
    store = Store(tmp_path)
    store.write(small)
    update = _multi_partition_update(small)
    expected = replace_observations(small, update)
    monkeypatch.setattr(files_module, "os", _FailingOs(fail_at, error))
    if isinstance(error, KeyboardInterrupt):
        with pytest.raises(KeyboardInterrupt):
            store.write(update)
    else:
        assert store.write(update).rows_archived == len(small)  # committed; a warning is logged
    monkeypatch.undo()
    assert_same_rows(store.read(), expected)
    report = store.verify()
    assert report.ok and not report.clean
    assert all(p.severity == "warning" and "public view" in p.problem for p in report.problems)
    with pytest.raises(AssertionError):  # other engines still see (part of) the old state
        assert_same_values(duckdb_table(tmp_path), expected)
    actions = store.repair().actions
    assert actions and all(a.startswith("re-linked") for a in actions)
    assert store.verify().clean
    assert_same_values(duckdb_table(tmp_path), expected)


def test_uncommitted_files_are_deleted_by_repair(tmp_path: Path, small: pd.DataFrame) -> None:
    """State of a writer killed before its commit: new files and a temporary manifest on disk."""
    store = Store(tmp_path)
    store.write(small)
    before = snapshot(tmp_path)
    orphan = tmp_path / "_data" / "source=eurostat" / "dataset=nrg_ti_coifpm" / "reporter=DE" / "x.parquet"
    orphan.write_bytes(b"half a parquet file")
    (tmp_path / "_vintages" / "source=eurostat").mkdir(parents=True)
    (tmp_path / "_vintages" / "source=eurostat" / "y.parquet").write_bytes(b"PAR1")
    (tmp_path / "_manifest.json.deadbeef.tmp").write_text("{")
    assert_same_rows(store.read(), small)  # readers never look at uncommitted files
    report = store.verify()
    assert report.ok and len(report.problems) == 3
    assert {p.severity for p in report.problems} == {"warning"}
    assert len(store.repair().actions) == 3
    assert store.verify().clean
    assert snapshot(tmp_path) == before


def test_foreign_file_in_public_view_is_an_error_and_quarantined(tmp_path: Path, small) -> None:
    store = Store(tmp_path)
    store.write(small)
    foreign = partition_file(tmp_path, "DE").with_name("part-1.parquet")
    foreign.write_bytes(partition_file(tmp_path, "DE").read_bytes())
    report = store.verify()
    assert not report.ok
    assert [p.path for p in report.problems] == [foreign.relative_to(tmp_path).as_posix()]
    store.repair()
    assert not foreign.exists()
    assert (tmp_path / "_quarantine" / foreign.relative_to(tmp_path)).exists()
    assert store.verify().clean
    assert_same_values(duckdb_table(tmp_path), small)


def test_verify_finds_damaged_missing_and_resized_files(tmp_path: Path, small: pd.DataFrame) -> None:
    store = Store(tmp_path)
    store.write(small)
    store.write(with_newer_vintage(small, np.arange(len(small)) % 2 == 0))
    manifest = store.manifest()
    prefix = "source=eurostat/dataset=nrg_ti_coifpm/reporter="
    de, fr = (manifest.partitions[prefix + r] for r in ["DE", "FR"])
    archive = manifest.vintages[0]
    assert store.verify().clean and store.verify().files_checked == len(manifest.partitions) + len(
        manifest.vintages)
    data = bytearray((tmp_path / de.file).read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped bit: same size, different hash
    (tmp_path / de.file).unlink()  # break the hard link so the view keeps the good bytes
    (tmp_path / de.file).write_bytes(bytes(data))
    (tmp_path / fr.file).unlink()
    with open(tmp_path / archive.file, "ab") as handle:
        handle.write(b"x")
    problems = {p.path: p.problem for p in store.verify().problems if p.severity == "error"}
    assert set(problems) == {de.file, fr.file, archive.file}
    assert "sha256" in problems[de.file] and problems[fr.file] == "missing"
    assert "size" in problems[archive.file]
    shallow = {p.path for p in store.verify(deep=False).problems if p.severity == "error"}
    assert shallow == {fr.file, archive.file}  # a same-size flip needs the hash


def test_store_of_version_0_1_is_adopted(tmp_path: Path, small: pd.DataFrame) -> None:
    """A store written by oilflows 0.1 has no manifest and no _data: reads work, a write adopts it."""
    store = Store(tmp_path)
    store.write(small)
    (tmp_path / "_manifest.json").unlink()
    shutil.rmtree(tmp_path / "_data")
    assert_same_rows(store.read(), small)
    assert [p.severity for p in store.verify().problems] == ["warning"]
    extra = make_frame([canonical_row(reporter="PL")])
    assert store.write(extra).rows_new == 1
    assert_same_rows(store.read(), pd.concat([small, extra], ignore_index=True))
    assert store.verify().clean


def _stage(frame: pd.DataFrame, path: Path) -> None:
    """Write a partition file the way oilflows 0.1 did (no partition columns, key order)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = to_table(by_key(frame)).drop_columns(list(PARTITIONS))
    pq.write_table(table, path)


def test_crash_after_0_1_journal_is_completed_by_next_write(tmp_path: Path, small: pd.DataFrame) -> None:
    """Hand-made state of an oilflows 0.1 process killed mid-commit: journal written, DE moved,
    FR still staged. The next write completes that commit, adopts the store, then writes."""
    store = Store(tmp_path)
    store.write(small)
    (tmp_path / "_manifest.json").unlink()
    shutil.rmtree(tmp_path / "_data")
    in_moved = small["reporter"].isin(["DE", "FR"]) & (small["source"] == "eurostat")
    update = with_newer_vintage(small, in_moved.to_numpy())
    merged = replace_observations(small, update)
    txid = "deadbeef0001"
    staging = tmp_path / "_staging" / txid
    moves = []
    for reporter in ("DE", "FR"):
        target = partition_file(tmp_path, reporter)
        staged = staging / target.relative_to(tmp_path)
        _stage(merged[(merged["reporter"] == reporter) & (merged["source"] == "eurostat")], staged)
        moves.append((staged, target))
    journal = tmp_path / "_journal" / f"{txid}.json"
    journal.parent.mkdir(exist_ok=True)
    journal.write_text(json.dumps([[str(s), str(t)] for s, t in moves]))
    os.replace(*moves[0])  # the crash came after the first rename

    extra = make_frame([canonical_row(reporter="PL")])
    summary = store.write(extra)
    assert summary.rows_new == 1
    assert_same_rows(store.read(), pd.concat([merged, extra], ignore_index=True))
    assert not journal.exists()
    assert not staging.exists()
    assert store.verify().clean


def test_concurrent_writer_times_out(tmp_path: Path, small: pd.DataFrame) -> None:
    store = Store(tmp_path, lock_timeout=0.1)
    store.write(small)
    before = snapshot(tmp_path)
    update = with_newer_vintage(small, np.ones(len(small), dtype=bool))
    with FileLock(str(tmp_path / "_store.lock")), pytest.raises(StoreError, match="lock"):
        store.write(update)
    assert snapshot(tmp_path) == before
    assert store.write(update).rows_changed == len(small)  # the lock was released


# -- paths and damaged files -----------------------------------------------------------------------


def test_default_path_follows_oilflows_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OILFLOWS_HOME", str(tmp_path / "home"))
    assert Store().path == tmp_path / "home"
    assert default_path() == tmp_path / "home"
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("OILFLOWS_HOME", "~/elsewhere")
    assert Store().path == tmp_path / "elsewhere"
    monkeypatch.delenv("OILFLOWS_HOME")
    assert Store().path != tmp_path / "elsewhere"
    assert "oilflows" in str(Store().path)
    assert Store(tmp_path / "explicit").path == tmp_path / "explicit"


def test_default_store_writes_under_oilflows_home(tmp_path: Path, small: pd.DataFrame,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OILFLOWS_HOME", str(tmp_path / "home"))
    Store().write(small)
    assert partition_file(tmp_path / "home", "DE").exists()


def test_corrupt_partition_file_is_named(tmp_path: Path, small: pd.DataFrame) -> None:
    store = Store(tmp_path)
    store.write(small)
    broken = partition_file(tmp_path, "DE")
    broken.write_bytes(b"\x00garbage" * 64)  # a hard link: damages the committed data file too
    before = snapshot(tmp_path)
    with pytest.raises(StoreError, match="reporter=DE.*unreadable partition file"):
        store.write(with_newer_vintage(small, np.ones(len(small), dtype=bool)))
    assert snapshot(tmp_path) == before
    report = store.verify()
    assert not report.ok
    assert [p.path.split("/")[3] for p in report.problems if p.severity == "error"] == ["reporter=DE"]
    with pytest.raises(StoreError, match="reporter=DE"):
        store.read(reporter="DE")
    # Other partitions stay writable and readable.
    fr = small[small["reporter"] == "FR"]
    assert store.write(with_newer_vintage(fr, np.ones(len(fr), dtype=bool))).rows_changed == len(fr)
    assert len(store.read(reporter="FR")) == len(fr)


def test_newer_release_with_the_same_values_changes_nothing(tmp_path: Path, small: pd.DataFrame) -> None:
    # A re-download stamped later (e.g. a source without release stamps) that repeats the stored
    # values keeps the vintage since which the observation is known: no rewrite, no archive.
    store = Store(tmp_path)
    store.write(small)
    before = snapshot(tmp_path)
    summary = store.write(small.assign(vintage=V2))
    assert not summary.changed and summary.rows_unchanged == len(small)
    assert snapshot(tmp_path) == before


def test_as_of_returns_what_was_known(tmp_path: Path, small: pd.DataFrame) -> None:
    store = Store(tmp_path)
    store.write(small)
    mask = np.arange(len(small)) % 3 == 0
    update = with_newer_vintage(small, mask)
    newcomer = small[small["reporter"] == "IT"].assign(reporter="PL", vintage=V2)
    store.write(pd.concat([update, newcomer], ignore_index=True))
    # Before the second release: exactly the first write (PL did not exist yet).
    assert_same_rows(store.read(as_of=V2 - pd.Timedelta(seconds=1)), small)
    # At the second release and later: the current data.
    assert_same_rows(store.read(as_of=V2), store.read())
    # Filters and as_of combine; null vintages count as always known.
    it_then = store.read(as_of=V2 - pd.Timedelta(days=1), reporter="IT")
    assert_same_rows(it_then, small[small["reporter"] == "IT"])
    assert store.latest_vintage(reporter="PL") == V2
    assert store.latest_vintage(reporter="ZZ") is None


def test_filter_on_period_and_vintage_takes_dates(tmp_path: Path, small: pd.DataFrame) -> None:
    store = Store(tmp_path)
    store.write(small)
    june = small[small["period"] == pd.Timestamp("2021-06-01")]
    assert_same_rows(store.read(period="2021-06-01"), june)
    two = small[small["period"].isin([pd.Timestamp("2021-06-01"), pd.Timestamp("2021-07-01")])]
    assert_same_rows(store.read(period=["2021-06", pd.Timestamp("2021-07-01")]), two)
    assert_same_rows(store.read(vintage=V1), small[small["vintage"] == V1])
    with pytest.raises(StoreError, match="period='2021-13-01'"):
        store.read(period="2021-13-01")


def test_reader_holding_an_old_manifest_starts_again(tmp_path: Path, small: pd.DataFrame,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A reader that loaded a manifest two commits old finds its files collected: it reloads the
    manifest and reads the current state; a file missing from the current manifest is an error."""
    store = Store(tmp_path)
    store.write(small)
    stale = store.manifest()
    second = with_newer_vintage(small, np.ones(len(small), dtype=bool))
    store.write(second)
    third = with_newer_vintage(second, np.ones(len(small), dtype=bool), vintage=V2 + pd.Timedelta(days=30))
    store.write(third)
    assert not any((tmp_path / e.file).exists() for e in stale.partitions.values())  # collected
    real = Store.manifest
    calls = []

    def first_stale(self):
        calls.append(1)
        return stale if len(calls) == 1 else real(self)

    monkeypatch.setattr(Store, "manifest", first_stale)
    assert_same_rows(store.read(), third)
    assert len(calls) >= 3  # stale, then the version check, then the current manifest
    monkeypatch.undo()
    current = store.manifest().partitions
    (tmp_path / next(iter(current.values())).file).unlink()
    with pytest.raises(StoreError, match="missing.*store verify"):
        store.read()


def test_interrupt_right_after_the_commit_rename_keeps_the_commit(
    tmp_path: Path, small: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C between the manifest's rename and the root's fsync: the files the new manifest names
    must survive (deleting them would destroy committed data)."""
    import oilflows.store.durable as durable

    store = Store(tmp_path)
    store.write(small)
    update = _multi_partition_update(small)

    class InterruptAtRootFsync:
        def __getattr__(self, name):
            return getattr(durable, name)

        def fsync_dir(self, path):
            if Path(path) == tmp_path and (tmp_path / "_manifest.json").read_text().find(
                    '"version": 2') >= 0:
                raise KeyboardInterrupt
            return durable.fsync_dir(path)

    monkeypatch.setattr(manifest_module, "durable", InterruptAtRootFsync())
    with pytest.raises(KeyboardInterrupt):
        store.write(update)
    monkeypatch.undo()
    assert store.manifest().version == 2
    assert_same_rows(store.read(), replace_observations(small, update))
    assert store.verify().ok
    store.repair()
    assert store.verify().clean


def test_copied_store_is_relinked_once_and_hidden_files_are_left_alone(tmp_path: Path, small) -> None:
    """`cp -r` turns the view's hard links into copies: repair re-links them once; files other
    engines skip (``_SUCCESS``, ``.DS_Store``) are neither errors nor touched."""
    Store(tmp_path / "a").write(small)
    shutil.copytree(tmp_path / "a", tmp_path / "b")  # copies: no hard links survive
    store = Store(tmp_path / "b")
    view = partition_file(store.path, "DE")
    entry = store.manifest().partitions["source=eurostat/dataset=nrg_ti_coifpm/reporter=DE"]
    assert not os.path.samefile(view, store.path / entry.file)
    for hidden in (view.with_name("_SUCCESS"), view.with_name(".DS_Store")):
        hidden.write_bytes(b"")
    assert store.verify().clean  # same bytes, checked by sha256
    relinked = [a for a in store.repair().actions if a.startswith("re-linked")]
    assert len(relinked) == len(store.manifest().partitions)
    assert os.path.samefile(view, store.path / entry.file)
    assert store.repair().actions == []  # once only
    assert view.with_name("_SUCCESS").exists() and view.with_name(".DS_Store").exists()
    assert_same_rows(store.read(), small)
