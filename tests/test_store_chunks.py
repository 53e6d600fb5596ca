"""Period chunks (issue 15): a big partition is one file per calendar year of ``period``, so that a
revision of recent months rewrites only those years' files.

``CHUNK_ROWS`` is lowered to 100 here (``chunked`` fixture) so the fixtures stay small: the big
partition (DE) holds 10 partners x 60 months (2019-2023, 600 rows, 5 chunks of 120), the small one
(FR) 10 partners x 6 months (60 rows, one file as before).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pytest

import oilflows.store.layout as layout
from oilflows.errors import StoreError
from oilflows.schema import COLUMNS, KEY, OBSERVATION_KEY, conform
from oilflows.store import DATA_FILE, Store

V1 = pd.Timestamp("2030-01-15 11:00:00")
V2 = pd.Timestamp("2030-02-28 11:00:00")
V3 = pd.Timestamp("2030-03-27 23:00:00")
PARTNERS = ("KZ", "RU", "NO", "US", "NG", "IQ", "LY", "SA", "AZ", "GB")
DE = "source=eurostat/dataset=nrg_ti_coifpm/reporter=DE"
FR = "source=eurostat/dataset=nrg_ti_coifpm/reporter=FR"
YEARS = [2019, 2020, 2021, 2022, 2023]


@pytest.fixture
def chunked(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(layout, "CHUNK_ROWS", 100)
    return 100


def frame(reporter: str = "DE", start: str = "2019-01-01", months: int = 60, seed: int = 1,
          vintage: pd.Timestamp = V1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    periods = pd.date_range(start, periods=months, freq="MS")
    index = pd.MultiIndex.from_product([PARTNERS, periods], names=["partner", "period"])
    rows = index.to_frame(index=False)
    volume = rng.integers(1, 50_000, len(rows)) * 1000.0
    rows = rows.assign(source="eurostat", dataset="nrg_ti_coifpm", reporter=reporter, vintage=vintage,
                       freq="M", flow="import", product="crude_oil", grade=None, volume_bbl=volume,
                       mass_t=None, value=volume * 70.0, currency="USD", api_gravity=None,
                       sulphur_pct=None, price_per_bbl=70.0, flag=None)
    return conform(rows[list(COLUMNS)])


def base() -> pd.DataFrame:
    return conform(pd.concat([frame("DE"), frame("FR", start="2023-07-01", months=6, seed=2)],
                             ignore_index=True))


def revised(rows: pd.DataFrame, vintage: pd.Timestamp = V2) -> pd.DataFrame:
    out = rows.copy()
    out["vintage"] = vintage
    out["volume_bbl"] = out["volume_bbl"] + 1000.0
    return conform(out)


def by_key(rows: pd.DataFrame) -> pd.DataFrame:
    rows = conform(rows[list(COLUMNS)])
    return rows.sort_values(list(KEY), na_position="first", kind="stable").reset_index(drop=True)


def upserted(current: pd.DataFrame, update: pd.DataFrame) -> pd.DataFrame:
    obs = list(OBSERVATION_KEY)
    hit = current[obs].merge(update[obs], how="left", on=obs, indicator=True)["_merge"] == "both"
    return by_key(pd.concat([current.loc[~hit.to_numpy()], update], ignore_index=True))


def data_files(root: Path) -> dict[str, tuple[int, str]]:
    """Every file under _data and _vintages: (inode, sha256)."""
    found = {}
    for top in ("_data", "_vintages"):
        for path in sorted((root / top).rglob("*.parquet")):
            found[path.relative_to(root).as_posix()] = (path.stat().st_ino,
                                                        hashlib.sha256(path.read_bytes()).hexdigest())
    return found


def view_names(root: Path, key: str = DE) -> list[str]:
    return sorted(p.name for p in (root / key).iterdir())


def plain_rows(root: Path) -> pd.DataFrame:
    """The public view read by pyarrow alone, as another engine would."""
    table = ds.dataset(root, format="parquet", partitioning="hive",
                       ignore_prefixes=[".", "_"]).to_table()
    return by_key(table.to_pandas())


def assert_view_is(root: Path, expected: pd.DataFrame) -> None:
    got = plain_rows(root)
    assert not got.duplicated(list(OBSERVATION_KEY)).any()
    assert len(got) == len(expected)
    pd.testing.assert_frame_equal(got[["reporter", "partner", "period", "volume_bbl"]].reset_index(drop=True),
                                  by_key(expected)[["reporter", "partner", "period", "volume_bbl"]],
                                  check_dtype=False, check_categorical=False)


# -- layout ----------------------------------------------------------------------------------------


def test_big_partition_is_year_chunks_and_reads_as_one_file_would(tmp_path: Path, chunked: int,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    rows = base()
    store = Store(tmp_path / "chunked")
    summary = store.write(rows)
    assert summary.rows_new == len(rows) and summary.partitions_changed == 2
    manifest = store.manifest()
    assert sorted(manifest.chunks[DE]) == YEARS and DE not in manifest.partitions
    assert all(e.rows == 120 for e in manifest.chunks[DE].values())
    assert FR in manifest.partitions and FR not in manifest.chunks  # 60 rows: one file, as before
    assert view_names(tmp_path / "chunked") == [f"part-{y}.parquet" for y in YEARS]
    assert view_names(tmp_path / "chunked", FR) == [DATA_FILE]
    payload = json.loads((tmp_path / "chunked" / "_manifest.json").read_text())
    assert payload["format_version"] == 3 and [c["year"] for c in payload["chunks"][DE]] == YEARS
    assert store.verify().clean

    monkeypatch.setattr(layout, "CHUNK_ROWS", 10**9)
    plain = Store(tmp_path / "plain")
    plain.write(rows)
    assert not plain.manifest().chunks
    pd.testing.assert_frame_equal(store.read(), plain.read())  # same rows, same order (by the key)
    pd.testing.assert_frame_equal(store.read(), by_key(rows))
    for kwargs in ({"start": "2021-06", "end": "2022-02"}, {"partner": ["KZ", "NO"]},
                   {"reporter": "DE", "columns": ["period", "volume_bbl"]}):
        pd.testing.assert_frame_equal(store.read(**kwargs), plain.read(**kwargs))
    assert store.partitions() == plain.partitions()
    assert store.dataset().count_rows() == len(rows)
    assert store.dataset(reporter="DE").count_rows() == 600
    assert_view_is(tmp_path / "chunked", rows)


def test_small_store_is_unchanged_byte_for_byte(tmp_path: Path) -> None:
    """Below the threshold the data files are those of one-file partitions, as before chunks."""
    rows = frame("FR", months=12)
    store = Store(tmp_path)
    store.write(rows)
    manifest = store.manifest()
    assert not manifest.chunks and list(manifest.partitions) == [FR]
    assert view_names(tmp_path, FR) == [DATA_FILE]


# -- revisions -------------------------------------------------------------------------------------


def test_revision_of_recent_months_rewrites_only_their_year(tmp_path: Path, chunked: int) -> None:
    rows = base()
    store = Store(tmp_path)
    store.write(rows)
    before = data_files(tmp_path)
    views_before = {n: (tmp_path / DE / n).stat().st_ino for n in view_names(tmp_path)}
    partition_bytes = sum(e.bytes for e in store.manifest().chunks[DE].values())
    de = rows[rows["reporter"] == "DE"]
    update = revised(de[de["period"] >= "2023-10-01"])  # the last 3 months: 30 rows, 5 %
    summary = store.write(update)
    assert (summary.rows_changed, summary.rows_new, summary.rows_archived) == (30, 0, 30)
    assert summary.partitions_changed == 1
    after = data_files(tmp_path)
    created = sorted(set(after) - set(before))
    assert len(created) == 2  # the 2023 chunk and the archive of the 30 superseded rows
    assert [f for f in created if f.startswith("_data/")][0].endswith("-2023.parquet")
    written = sum((tmp_path / f).stat().st_size for f in created if f.startswith("_data/"))
    assert written < partition_bytes / 3  # one year of five
    for rel, ident in before.items():  # untouched chunks keep their files (same inode and bytes)
        if "-2023" not in rel:
            assert after[rel] == ident
    for name, inode in views_before.items():
        assert ((tmp_path / DE / name).stat().st_ino == inode) == (name != "part-2023.parquet")
    expected = upserted(rows, update)
    pd.testing.assert_frame_equal(store.read(), expected)
    pd.testing.assert_frame_equal(store.read(as_of=V1), by_key(rows))
    pd.testing.assert_frame_equal(store.read(as_of=V2), expected)
    assert store.verify().clean
    assert_view_is(tmp_path, expected)

    # Across a year boundary: two chunks; the retired 2023 file of the last write is collected.
    old_2023 = store.manifest().chunks[DE][2023].file
    update2 = revised(de[de["period"].between("2022-12-01", "2023-01-01")], V3)
    store.write(update2)
    chunks = store.manifest().chunks[DE]
    assert {y for y, e in chunks.items() if e.file.split("/")[-1].startswith("000003-")} == {2022, 2023}
    store.write(revised(de[de["period"] == "2019-05-01"], V3))  # the next commit deletes the retired
    assert not (tmp_path / old_2023).exists()
    pd.testing.assert_frame_equal(store.read(as_of=V2), expected)
    assert store.verify().clean


def test_identical_rewrite_and_touched_but_unchanged_years_write_nothing(tmp_path: Path,
                                                                         chunked: int) -> None:
    rows = base()
    store = Store(tmp_path)
    store.write(rows)
    before = data_files(tmp_path)
    assert not store.write(rows).changed
    de = rows[rows["reporter"] == "DE"]
    # 2020 repeated as it is, one month of 2022 revised: only 2022 is rewritten.
    update = conform(pd.concat([de[de["period"].dt.year == 2020],
                                revised(de[de["period"] == "2022-03-01"])], ignore_index=True))
    summary = store.write(update)
    assert (summary.rows_unchanged, summary.rows_changed) == (120, 10)
    new = sorted(f for f in set(data_files(tmp_path)) - set(before) if f.startswith("_data/"))
    assert len(new) == 1 and new[0].endswith("-2022.parquet")


def test_replace_scope_retires_in_one_year_and_in_all_years(tmp_path: Path, chunked: int) -> None:
    rows = base()
    store = Store(tmp_path)
    store.write(rows)
    de = rows[rows["reporter"] == "DE"]
    before = data_files(tmp_path)
    # A release of 2021 that no longer has partner KZ: KZ's 2021 rows retire, other years stay.
    release = revised(de[(de["period"].dt.year == 2021) & (de["partner"] != "KZ")])
    scope = {"source": "eurostat", "dataset": "nrg_ti_coifpm", "reporter": "DE",
             "start": "2021-01", "end": "2021"}
    summary = store.write(release, replace=scope)
    assert summary.rows_retired == 12 and summary.partitions_changed == 1
    new = sorted(f for f in set(data_files(tmp_path)) - set(before) if f.startswith("_data/"))
    assert len(new) == 1 and new[0].endswith("-2021.parquet")
    gone = (rows["reporter"] == "DE") & (rows["partner"] == "KZ") & (rows["period"].dt.year == 2021)
    expected = upserted(rows.loc[~gone.to_numpy()], release)
    pd.testing.assert_frame_equal(store.read(), expected)
    pd.testing.assert_frame_equal(store.read(as_of=V1), by_key(rows))
    assert store.verify().clean
    assert_view_is(tmp_path, expected)

    # An unbounded scope whose release (the same values, a newer vintage) lacks NO: NO retires in
    # every year, so every year's file is rewritten.
    before = data_files(tmp_path)
    current_de = expected[expected["reporter"] == "DE"]
    release2 = conform(current_de[current_de["partner"] != "NO"].assign(vintage=V3))
    summary = store.write(release2, replace={"source": "eurostat", "dataset": "nrg_ti_coifpm",
                                             "reporter": "DE"})
    assert (summary.rows_retired, summary.rows_changed, summary.rows_new) == (60, 0, 0)
    new = sorted(f for f in set(data_files(tmp_path)) - set(before) if f.startswith("_data/"))
    assert [f[-12:-8] for f in new] == [str(y) for y in YEARS]
    expected2 = by_key(expected[~((expected["reporter"] == "DE") & (expected["partner"] == "NO"))])
    pd.testing.assert_frame_equal(store.read(), expected2)
    pd.testing.assert_frame_equal(store.read(as_of=V2), expected)
    assert store.verify().clean
    assert_view_is(tmp_path, expected2)


def test_release_that_empties_a_year_drops_its_chunk(tmp_path: Path, chunked: int) -> None:
    rows = base()
    store = Store(tmp_path)
    store.write(rows)
    empty = rows.iloc[0:0]
    summary = store.write(empty, replace={"source": "eurostat", "dataset": "nrg_ti_coifpm",
                                          "reporter": "DE", "start": "2019", "end": "2019",
                                          "vintage": V2})
    assert summary.rows_retired == 120
    assert sorted(store.manifest().chunks[DE]) == YEARS[1:]
    assert view_names(tmp_path) == [f"part-{y}.parquet" for y in YEARS[1:]]
    expected = by_key(rows[~((rows["reporter"] == "DE") & (rows["period"].dt.year == 2019))])
    pd.testing.assert_frame_equal(store.read(), expected)
    pd.testing.assert_frame_equal(store.read(as_of=V1), by_key(rows))
    assert store.verify().clean
    assert_view_is(tmp_path, expected)
    # Below the threshold now (480 rows > 100 still, but even so): a chunked partition stays chunked.
    store.write(empty, replace={"source": "eurostat", "dataset": "nrg_ti_coifpm", "reporter": "DE",
                                "start": "2020", "end": "2022", "vintage": V3})
    assert sorted(store.manifest().chunks[DE]) == [2023] and DE not in store.manifest().partitions
    assert view_names(tmp_path) == ["part-2023.parquet"]
    assert store.verify().clean


def test_partition_growing_past_the_threshold_becomes_chunks(tmp_path: Path, chunked: int) -> None:
    store = Store(tmp_path)
    first = frame("DE", months=9)  # 90 rows: one file
    store.write(first)
    assert DE in store.manifest().partitions and view_names(tmp_path) == [DATA_FILE]
    old_file = store.manifest().partitions[DE].file
    more = frame("DE", start="2019-10-01", months=6, seed=5)  # 150 rows in all: chunks
    summary = store.write(more)
    assert summary.rows_new == 60 and summary.partitions_changed == 1
    manifest = store.manifest()
    assert DE not in manifest.partitions and sorted(manifest.chunks[DE]) == [2019, 2020]
    assert old_file in manifest.retired
    assert view_names(tmp_path) == ["part-2019.parquet", "part-2020.parquet"]  # part-0 removed
    expected = by_key(pd.concat([first, more], ignore_index=True))
    pd.testing.assert_frame_equal(store.read(), expected)
    assert store.verify().clean
    assert_view_is(tmp_path, expected)
    # A fresh partition written with several vintages of an observation is chunked too.
    multi = conform(pd.concat([frame("IT"), revised(frame("IT").iloc[:5])], ignore_index=True))
    store.write(multi)
    assert sorted(store.manifest().chunks[DE.replace("DE", "IT")]) == YEARS
    assert store.verify().clean


def test_external_engines_read_exactly_the_current_rows(tmp_path: Path, chunked: int) -> None:
    rows = base()
    store = Store(tmp_path)
    store.write(rows)
    de = rows[rows["reporter"] == "DE"]
    update = revised(de[de["period"] >= "2023-11-01"])
    store.write(update)
    expected = upserted(rows, update)
    assert_view_is(tmp_path, expected)
    duckdb = pytest.importorskip("duckdb")
    got = duckdb.sql(f"SELECT reporter, partner, period, volume_bbl FROM read_parquet("
                     f"'{tmp_path}/source=*/dataset=*/reporter=*/*.parquet', hive_partitioning=true)"
                     ).df()
    assert len(got) == len(expected)
    assert not got.duplicated(["reporter", "partner", "period"]).any()
    assert got["volume_bbl"].sum() == pytest.approx(expected["volume_bbl"].sum())


# -- verify and repair -------------------------------------------------------------------------------


def test_repair_restores_a_deleted_or_damaged_chunk(tmp_path: Path, chunked: int) -> None:
    rows = base()
    store = Store(tmp_path)
    store.write(rows)
    chunk = store.manifest().chunks[DE][2021]
    (tmp_path / chunk.file).unlink()  # the view still holds the committed bytes
    report = store.verify()
    assert not report.ok and any(p.path == chunk.file for p in report.problems)
    repaired = store.repair()
    assert any(a.startswith(f"restored {chunk.file}") for a in repaired.actions)
    assert store.verify().clean
    pd.testing.assert_frame_equal(store.read(), by_key(rows))

    # Damaged in place (data file and view are one file): set aside, the other years stay.
    chunk = store.manifest().chunks[DE][2020]
    (tmp_path / chunk.file).write_bytes(b"PAR1 not really")
    assert not store.verify().ok
    repaired = store.repair()
    assert any("dropped chunk part-2020.parquet of partition" in a for a in repaired.actions)
    assert sorted(store.manifest().chunks[DE]) == [2019, 2021, 2022, 2023]
    assert store.verify().clean
    expected = by_key(rows[~((rows["reporter"] == "DE") & (rows["period"].dt.year == 2020))])
    pd.testing.assert_frame_equal(store.read(), expected)
    assert_view_is(tmp_path, expected)


def test_verify_reports_stale_and_obsolete_view_files_and_repair_fixes_them(tmp_path: Path,
                                                                          chunked: int) -> None:
    rows = base()
    store = Store(tmp_path)
    store.write(rows)
    view = tmp_path / DE
    # A part-0.parquet left beside the chunks (a publish interrupted when the partition was chunked),
    # a year file of a chunk that no longer exists, a missing chunk view and a stale one.
    (view / DATA_FILE).write_bytes((view / "part-2019.parquet").read_bytes())
    (view / "part-2011.parquet").write_bytes((view / "part-2019.parquet").read_bytes())
    (view / "part-2020.parquet").unlink()
    (view / "part-2021.parquet").unlink()
    (view / "part-2021.parquet").write_bytes((view / "part-2022.parquet").read_bytes())
    (view / "notes.parquet").write_bytes(b"user data")
    report = store.verify()
    found = {(p.path.rsplit("/", 1)[-1], p.severity) for p in report.problems}
    assert found == {(DATA_FILE, "warning"), ("part-2011.parquet", "warning"),
                     ("part-2020.parquet", "warning"), ("part-2021.parquet", "warning"),
                     ("notes.parquet", "error")}
    repaired = store.repair()
    assert any(a.startswith(f"removed {DE}/{DATA_FILE}") for a in repaired.actions)
    assert any(a.startswith(f"re-linked {DE}/part-2020.parquet") for a in repaired.actions)
    assert (tmp_path / "_quarantine" / DE / "notes.parquet").exists()
    assert store.verify().clean
    assert view_names(tmp_path) == [f"part-{y}.parquet" for y in YEARS]
    assert_view_is(tmp_path, rows)


def test_deep_verify_finds_rows_of_another_year_in_a_chunk(tmp_path: Path, chunked: int) -> None:
    store = Store(tmp_path)
    store.write(base())
    payload = json.loads((tmp_path / "_manifest.json").read_text())
    # Swap the 2019 and 2020 chunks' entries, with file names made to match their new years.
    chunks = {c["year"]: c for c in payload["chunks"][DE]}
    for year, other in ((2019, 2020), (2020, 2019)):
        src = tmp_path / chunks[other]["file"]
        dst = src.with_name(src.name.replace(f"-{other}.", f"-{year}.") + ".x")
        dst.write_bytes(src.read_bytes())
    for year in (2019, 2020):
        path = tmp_path / chunks[year]["file"]
        path.unlink()
        path.with_name(path.name + ".x").rename(path)
        chunks[year]["bytes"], chunks[year]["sha256"] = path.stat().st_size, hashlib.sha256(
            path.read_bytes()).hexdigest()
    (tmp_path / "_manifest.json").write_text(json.dumps(payload))
    problems = [p for p in store.verify().problems if p.severity == "error"]
    assert {p.path.rsplit("-", 1)[-1] for p in problems} == {"2019.parquet", "2020.parquet"}
    assert all("other years" in p.problem for p in problems)


def test_store_with_lost_manifest_adopts_its_chunks(tmp_path: Path, chunked: int) -> None:
    rows = base()
    store = Store(tmp_path)
    store.write(rows)
    (tmp_path / "_manifest.json").unlink()
    repaired = store.repair()
    assert any(a.startswith("adopted an oilflows 0.1 store: 2 partitions") for a in repaired.actions)
    assert sorted(store.manifest().chunks[DE]) == YEARS and FR in store.manifest().partitions
    pd.testing.assert_frame_equal(store.read(), by_key(rows))
    assert store.verify().clean


# -- manifests ---------------------------------------------------------------------------------------


def test_version_2_manifest_is_read_and_upgraded_by_the_next_write(tmp_path: Path, chunked: int,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    rows = base()
    monkeypatch.setattr(layout, "CHUNK_ROWS", 10**9)
    store = Store(tmp_path)
    store.write(rows)
    payload = json.loads((tmp_path / "_manifest.json").read_text())
    del payload["chunks"]
    payload["format_version"] = 2
    (tmp_path / "_manifest.json").write_text(json.dumps(payload, indent=1))
    pd.testing.assert_frame_equal(store.read(), by_key(rows))
    assert store.verify().clean and DE in store.manifest().partitions
    monkeypatch.setattr(layout, "CHUNK_ROWS", 100)
    assert not store.write(rows).changed  # nothing to write: the manifest stays as it is
    de = rows[rows["reporter"] == "DE"]
    update = revised(de[de["period"] >= "2023-12-01"])
    store.write(update)  # a change to the 600-row partition lays it out as chunks
    payload = json.loads((tmp_path / "_manifest.json").read_text())
    assert payload["format_version"] == 3 and DE in payload["chunks"] and FR in payload["partitions"]
    pd.testing.assert_frame_equal(store.read(), upserted(rows, update))
    assert store.verify().clean
    assert_view_is(tmp_path, upserted(rows, update))


def _crafted(payload: dict, how: str) -> None:
    chunks = payload["chunks"][DE]
    if how == "outside":
        chunks[0]["file"] = "../../etc/passwd-2019.parquet"
    elif how == "other-partition":
        chunks[0]["file"] = chunks[0]["file"].replace("reporter=DE", "reporter=FR")
    elif how == "vintages-dir":
        chunks[0]["file"] = chunks[0]["file"].replace("_data/", "_vintages/")
    elif how == "year-string":
        chunks[0]["year"] = "2019"
    elif how == "year-bool":
        chunks[0]["year"] = True
    elif how == "year-short":
        chunks[0]["year"] = 999
    elif how == "duplicate-year":
        chunks.append(dict(chunks[1], year=chunks[0]["year"]))
    elif how == "name-mismatch":
        chunks[0]["year"], chunks[1]["year"] = chunks[1]["year"], chunks[0]["year"]
    elif how == "file-twice":
        payload["chunks"][DE][1] = dict(chunks[0], year=chunks[1]["year"])
    elif how == "both":
        payload["partitions"][DE] = {k: v for k, v in chunks[0].items() if k != "year"}
    elif how == "bad-key":
        payload["chunks"]["../.."] = payload["chunks"].pop(DE)
    elif how == "not-a-list":
        payload["chunks"][DE] = {"2019": chunks[0]}
    elif how == "entry-not-dict":
        chunks[0] = [1, 2]
    elif how == "bad-rows":
        chunks[0]["rows"] = -1
    elif how == "chunks-list":
        payload["chunks"] = [1]
    elif how == "no-chunks":
        del payload["chunks"]
    else:  # pragma: no cover
        raise AssertionError(how)


CRAFTED = ["outside", "other-partition", "vintages-dir", "year-string", "year-bool", "year-short",
           "duplicate-year", "name-mismatch", "file-twice", "both", "bad-key", "not-a-list",
           "entry-not-dict", "bad-rows", "chunks-list", "no-chunks"]


@pytest.mark.parametrize("how", CRAFTED)
def test_crafted_version_3_manifest_is_refused(tmp_path: Path, chunked: int, how: str) -> None:
    store = Store(tmp_path)
    store.write(base())
    payload = json.loads((tmp_path / "_manifest.json").read_text())
    _crafted(payload, how)
    (tmp_path / "_manifest.json").write_text(json.dumps(payload))
    files_before = data_files(tmp_path)
    views_before = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.glob("source=*/*/*/*"))
    for call in (store.read, store.repair, lambda: store.write(frame("PL", months=2)), store.partitions):
        with pytest.raises(StoreError, match="manifest"):
            call()
    assert not store.verify().ok
    assert data_files(tmp_path) == files_before
    assert sorted(p.relative_to(tmp_path).as_posix()
                  for p in tmp_path.glob("source=*/*/*/*")) == views_before


def test_damaged_chunk_blocks_only_writes_touching_its_year(tmp_path: Path, chunked: int) -> None:
    rows = base()
    store = Store(tmp_path)
    store.write(rows)
    chunk = store.manifest().chunks[DE][2019]
    (tmp_path / chunk.file).write_bytes(b"PAR1 not really")  # the view too: one file
    de = rows[rows["reporter"] == "DE"]
    update = revised(de[de["period"] >= "2023-12-01"])
    assert store.write(update).rows_changed == 10  # 2023 only: the damaged 2019 is not read
    with pytest.raises(StoreError, match="2019"):
        store.write(revised(de[de["period"] == "2019-03-01"], V3))
    assert store.read(start="2020-01").shape[0] == 480 + 60  # start/end: other years' files unopened
    with pytest.raises(StoreError, match="2019"):
        store.read(end="2019-06")
    pd.testing.assert_frame_equal(store.read(start="2020-01", as_of=V1),
                                  by_key(rows[rows["period"] >= "2020-01-01"]))


def test_partition_whose_every_row_is_retired(tmp_path: Path, chunked: int) -> None:
    rows = base()
    store = Store(tmp_path)
    store.write(rows)
    summary = store.write(rows.iloc[0:0], replace={"source": "eurostat", "dataset": "nrg_ti_coifpm",
                                                   "reporter": "DE", "vintage": V2})
    assert summary.rows_retired == 600 and summary.partitions_changed == 1
    assert store.manifest().chunks[DE] == {}  # still a chunked partition, without files
    assert store.partitions() == [{"source": "eurostat", "dataset": "nrg_ti_coifpm", "reporter": "FR"}]
    assert view_names(tmp_path) == []
    pd.testing.assert_frame_equal(store.read(), by_key(rows[rows["reporter"] == "FR"]))
    pd.testing.assert_frame_equal(store.read(as_of=V1), by_key(rows))
    assert store.verify().clean
    assert_view_is(tmp_path, rows[rows["reporter"] == "FR"])
    # A newer release brings it back, as chunks.
    again = frame("DE", seed=9, vintage=V3)
    assert store.write(again).rows_new == 600
    assert sorted(store.manifest().chunks[DE]) == YEARS
    assert store.verify().clean


def test_every_chunk_file_is_sorted_by_the_key(tmp_path: Path, chunked: int) -> None:
    """Chunk files are written as presorted: after fresh writes, a growth into chunks and
    revisions over years, each holds its year's rows in key order (null grades first, annual
    rows among monthly ones)."""
    rows = frame("DE", months=9)
    rows.loc[rows.index % 3 == 0, "grade"] = "G1"
    annual = frame("DE", start="2019-01-01", months=1, seed=3).assign(freq="A", grade="G0")
    store = Store(tmp_path)
    store.write(conform(pd.concat([rows, annual], ignore_index=True)))  # 100 rows: one file
    more = frame("DE", start="2019-10-01", months=18, seed=4)
    more.loc[more.index % 4 == 1, "grade"] = "G2"
    store.write(more)  # into chunks
    de = store.read()
    store.write(revised(de[de["period"].isin(pd.to_datetime(["2019-01-01", "2020-12-01", "2021-02-01"]))],
                        V2))
    chunks = store.manifest().chunks[DE]
    assert sorted(chunks) == [2019, 2020, 2021]
    for year, entry in chunks.items():
        stored = pd.read_parquet(tmp_path / entry.file)
        assert (stored["period"].dt.year == year).all()
        key = [k for k in KEY if k in stored.columns]
        expected = stored.sort_values(key, na_position="first", kind="stable").reset_index(drop=True)
        pd.testing.assert_frame_equal(stored, expected)
    assert store.verify().clean
    pd.testing.assert_frame_equal(store.read(), by_key(store.read()))


def test_chunk_files_have_small_row_groups_so_one_series_skips_most_of_each(
        tmp_path: Path, chunked: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A year's file holds every partner of the year: its row groups are CHUNK_ROW_GROUP_ROWS, so a
    filter on one partner reads one group a year (row-group statistics), not the whole year; a
    one-file partition keeps ROW_GROUP_ROWS. Counted in row groups read, not timed."""
    import pyarrow.parquet as pq

    monkeypatch.setattr(layout, "CHUNK_ROW_GROUP_ROWS", 12)  # 12 months: one partner-year a group
    store = Store(tmp_path)
    store.write(base())
    manifest = store.manifest()
    for year, entry in manifest.chunks[DE].items():
        meta = pq.ParquetFile(tmp_path / entry.file).metadata
        assert meta.num_rows == 120 and meta.num_row_groups == 10, year  # 120 rows of 10 partners
    assert pq.ParquetFile(tmp_path / manifest.partitions[FR].file).metadata.num_row_groups == 1
    fragments = ds.dataset([str(tmp_path / e.file) for e in manifest.chunks[DE].values()], format="parquet")
    kz = ds.field("partner") == "KZ"
    kept = sum(len(list(f.split_by_row_group(kz))) for f in fragments.get_fragments())
    assert kept == len(YEARS)  # one row group of each year's file, of 50 groups in all
    assert len(store.read(partner="KZ", reporter="DE")) == 60
