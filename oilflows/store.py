"""The Parquet store: a hive-partitioned dataset any engine reads, plus oilflows' commit protocol.

Layout under the store root::

    source=<source>/dataset=<dataset>/reporter=<reporter>/part-0.parquet   current data
    _vintages/source=.../dataset=.../reporter=.../<stamp>-<id>.parquet      superseded rows
    _staging/<txid>/...                                                     a write in progress
    _journal/<txid>.json                                                    a commit being applied
    _store.lock                                                             the writers' lock

The current data hold, for each observation (the key without ``vintage``), the row of the latest
vintage; rows a newer vintage replaces move to ``_vintages``. pyarrow, DuckDB, Polars and Spark
read the current data directly (they skip names starting with ``_``; with a glob, use
``source=*/dataset=*/reporter=*/*.parquet``).

A write is all-or-nothing: new partition files are staged under ``_staging``; the journal naming
them is written; then each file is moved into place with an atomic rename. An exception while
moving restores the replaced files; a crash after the journal was written is completed the next
time the store is opened for writing. Readers never see a half-written file.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from filelock import FileLock

from . import filters as filters_module
from .errors import QueryError, SchemaError, StoreError
from .frames import latest as latest_vintages
from .schema import COLUMNS, KEY, OBSERVATION_KEY, SCHEMA, from_table, to_table, validate

PARTITIONS: tuple[str, ...] = ("source", "dataset", "reporter")
PARTITION_SCHEMA = pa.schema([SCHEMA.field(name) for name in PARTITIONS])
FILE_SCHEMA = pa.schema([f for f in SCHEMA if f.name not in PARTITIONS])
DATA_FILE = "part-0.parquet"
_PARQUET_OPTIONS = {"compression": "zstd", "write_statistics": True}


@dataclass(frozen=True)
class WriteSummary:
    """What a :meth:`Store.write` changed.

    Attributes: ``rows_in`` rows offered; ``rows_new`` observations not in the store before;
    ``rows_changed`` observations whose values or vintage changed; ``rows_unchanged`` identical
    rows; ``rows_archived`` rows moved to ``_vintages``; ``partitions_changed`` files rewritten.
    """

    rows_in: int
    rows_new: int
    rows_changed: int
    rows_unchanged: int
    rows_archived: int
    partitions_changed: int

    @property
    def changed(self) -> bool:
        """True if the write changed the store."""
        return self.partitions_changed > 0 or self.rows_archived > 0


def default_path() -> Path:
    """``$OILFLOWS_HOME`` if set, else the platform's user data directory for oilflows."""
    env = os.environ.get("OILFLOWS_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("oilflows"))


class Store:
    """A hive-partitioned Parquet store of canonical frames.

    Parameters
    ----------
    path : str or Path, optional
        The store's root directory; created on first write. Defaults to :func:`default_path`.
    lock_timeout : float
        Seconds to wait for another process's write to finish before raising :class:`StoreError`.
    """

    def __init__(self, path: str | os.PathLike | None = None, *, lock_timeout: float = 600.0):
        self.path = Path(path) if path is not None else default_path()
        self.lock_timeout = lock_timeout

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    # -- reading ----------------------------------------------------------------------------------

    def dataset(self) -> ds.Dataset:
        """The current data as a :class:`pyarrow.dataset.Dataset` (hive partitions, `_` dirs skipped)."""
        if not self.path.exists():
            return ds.dataset(SCHEMA.empty_table())
        return ds.dataset(
            self.path,
            format="parquet",
            schema=SCHEMA,
            partitioning=ds.partitioning(PARTITION_SCHEMA, flavor="hive"),
            ignore_prefixes=[".", "_"],
        )

    def read(
        self,
        *,
        start: str | pd.Timestamp | None = None,
        end: str | pd.Timestamp | None = None,
        columns: Iterable[str] | None = None,
        as_of: str | pd.Timestamp | None = None,
        **filters: object,
    ) -> pd.DataFrame:
        """Read current data as a canonical frame, filtered in the scan.

        ``filters`` are column=value or column=[values] (e.g. ``reporter="DE"``,
        ``partner=["KZ", "RU"]``); partition columns (source, dataset, reporter) prune whole
        directories, the others are pushed down to Parquet row-group statistics. ``start``/``end``
        bound ``period`` (inclusive). ``columns`` selects columns (default: all, canonical order).
        """
        try:
            expression = filters_module.expression(start, end, **filters)
        except QueryError as exc:
            raise StoreError(str(exc)) from exc
        try:
            table = self.dataset().to_table(filter=expression)
            if as_of is not None:
                table = self._as_of(table, expression, pd.Timestamp(as_of))
        except (pa.ArrowInvalid, OSError) as exc:  # a damaged or foreign file in the store
            raise StoreError(f"{self.path}: cannot read the store: {exc}") from exc
        frame = from_table(table)
        if columns is not None:
            frame = frame[list(columns)]
        return frame.reset_index(drop=True)

    def _as_of(self, current: pa.Table, expression, as_of: pd.Timestamp) -> pa.Table:
        archive = self.path / "_vintages"
        tables = [current]
        if archive.exists():
            archived = ds.dataset(archive, format="parquet", schema=SCHEMA,
                                  partitioning=ds.partitioning(PARTITION_SCHEMA, flavor="hive"))
            tables.append(archived.to_table(filter=expression))
        known = from_table(pa.concat_tables(tables))
        known = known[known["vintage"].isna() | (known["vintage"] <= as_of)]
        return to_table(latest_vintages(known))

    def latest_vintage(self, **filters: object) -> pd.Timestamp | None:
        """The newest vintage among current rows matching `filters` (e.g. ``source="eurostat",
        dataset="nrg_ti_coifpm"``), or None if there are none or all are null."""
        frame = self.read(columns=["vintage"], **filters)
        stamp = frame["vintage"].max() if len(frame) else pd.NaT
        return None if pd.isna(stamp) else pd.Timestamp(stamp)

    def partitions(self) -> list[dict[str, str]]:
        """The (source, dataset, reporter) partitions that hold current data."""
        found = []
        for file in sorted(self.path.glob("source=*/dataset=*/reporter=*/" + DATA_FILE)):
            parts = dict(p.split("=", 1) for p in file.relative_to(self.path).parts[:-1])
            found.append(parts)
        return found

    # -- writing ----------------------------------------------------------------------------------

    def write(self, frame: pd.DataFrame) -> WriteSummary:
        """Upsert a canonical frame; return what changed.

        Rows are matched on the key without ``vintage``. For each observation the row of the latest
        vintage is current (an equal vintage: the new row wins); superseded rows move to
        ``_vintages``. Writing the same data twice changes nothing (no file is touched). Invalid
        frames raise :class:`SchemaError` and leave the store as it was.
        """
        validate(frame)
        table = to_table(frame)
        incoming = from_table(table)
        self.path.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.path / "_store.lock"), timeout=self.lock_timeout)
        try:
            lock.acquire()
        except TimeoutError as exc:
            raise StoreError(f"{self.path}: another process holds the write lock") from exc
        try:
            self._recover()
            return self._write_locked(incoming)
        finally:
            lock.release()

    def _write_locked(self, incoming: pd.DataFrame) -> WriteSummary:
        txid = uuid.uuid4().hex[:12]
        staging = self.path / "_staging" / txid
        moves: list[tuple[Path, Path]] = []
        counts = {"new": 0, "changed": 0, "unchanged": 0, "archived": 0}
        try:
            for values, part in incoming.groupby(list(PARTITIONS), sort=True, dropna=False):
                rel = Path(*(f"{k}={v}" for k, v in zip(PARTITIONS, values, strict=True)))
                target = self.path / rel / DATA_FILE
                existing = _read_partition(target, dict(zip(PARTITIONS, values, strict=True)))
                merged, superseded, stats = _merge(existing, part)
                for k in ("new", "changed", "unchanged"):
                    counts[k] += stats[k]
                if len(superseded):  # rows archived by an earlier write are not archived again
                    fresh = _not_archived(superseded, self.path / "_vintages" / rel,
                                          dict(zip(PARTITIONS, values, strict=True)))
                    counts["unchanged"] += len(superseded) - len(fresh)
                    superseded = fresh
                if len(superseded):
                    counts["archived"] += len(superseded)
                    archive = staging / "_vintages" / rel / f"{txid}.parquet"
                    _write_file(superseded, archive)
                    moves.append((archive, self.path / "_vintages" / rel / archive.name))
                if stats["new"] or stats["changed"]:
                    staged = staging / rel / DATA_FILE
                    _write_file(merged, staged)
                    moves.append((staged, target))
            if moves:
                self._commit(txid, moves)
        except SchemaError:
            raise
        except Exception as exc:
            raise StoreError(f"{self.path}: write failed, store left as it was: {exc}") from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return WriteSummary(
            rows_in=len(incoming), rows_new=counts["new"], rows_changed=counts["changed"],
            rows_unchanged=counts["unchanged"], rows_archived=counts["archived"],
            partitions_changed=sum(1 for _, t in moves if t.name == DATA_FILE),
        )

    def _commit(self, txid: str, moves: list[tuple[Path, Path]]) -> None:
        """Apply staged files: journal, then atomic renames; undo on an exception."""
        journal = self.path / "_journal" / f"{txid}.json"
        journal.parent.mkdir(parents=True, exist_ok=True)
        backups: list[tuple[Path, Path | None]] = []
        _write_json(journal, [[str(s), str(t)] for s, t in moves])
        try:
            for source, target in moves:
                target.parent.mkdir(parents=True, exist_ok=True)
                backup = None
                if target.exists():
                    backup = source.with_name(source.name + ".previous")
                    os.link(target, backup)  # keeps the old file reachable for an undo
                backups.append((target, backup))
                os.replace(source, target)
        except BaseException:
            for target, backup in reversed(backups):
                if backup is not None:
                    os.replace(backup, target)
                else:
                    target.unlink(missing_ok=True)
            journal.unlink(missing_ok=True)
            raise
        journal.unlink()

    def _recover(self) -> None:
        """Complete a commit interrupted by a crash (its journal exists), then clear staging."""
        journal_dir = self.path / "_journal"
        for journal in sorted(journal_dir.glob("*.json")) if journal_dir.exists() else []:
            try:
                moves = json.loads(journal.read_text())
            except ValueError:  # torn while being written: no file had been moved yet
                journal.unlink()
                continue
            for source, target in moves:
                if Path(source).exists():
                    Path(target).parent.mkdir(parents=True, exist_ok=True)
                    os.replace(source, target)
            journal.unlink()
        shutil.rmtree(self.path / "_staging", ignore_errors=True)


# -- helpers ----------------------------------------------------------------------------------------


def _read_partition(path: Path, partition: dict[str, str]) -> pd.DataFrame | None:
    if not path.exists():
        return None
    try:
        table = pq.read_table(path, schema=FILE_SCHEMA)
    except (pa.ArrowInvalid, OSError) as exc:
        raise StoreError(f"{path}: unreadable partition file: {exc}") from exc
    for name in PARTITIONS:
        table = table.append_column(SCHEMA.field(name), pa.array([partition[name]] * len(table)))
    return from_table(table)


def _sort(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(KEY), na_position="first", kind="stable").reset_index(drop=True)


def _merge(
    existing: pd.DataFrame | None, incoming: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """Merge `incoming` into `existing`: (current rows, superseded rows, counts)."""
    incoming = _sort(incoming)
    if existing is None or existing.empty:
        latest = latest_vintages(incoming)
        return latest, _superseded(incoming, latest), {
            "new": len(latest), "changed": 0, "unchanged": 0}
    existing = _sort(existing)
    obs = list(OBSERVATION_KEY)
    if len(incoming) == len(existing) and to_table(incoming).equals(to_table(existing)):
        return existing, existing.iloc[0:0], {"new": 0, "changed": 0, "unchanged": len(incoming)}
    # Identical rows (all columns equal) change nothing; nor does a newer release that repeats the
    # current value: the observation keeps the vintage since which it has been known.
    identical = incoming.merge(existing, how="left", indicator=True, on=list(COLUMNS))
    unchanged_mask = (identical["_merge"] == "both").to_numpy()
    same_values = [c for c in COLUMNS if c != "vintage"]
    repeat = incoming.merge(existing, how="left", on=same_values, suffixes=("", "_stored"),
                            indicator=True)
    older = repeat["vintage"] < repeat["vintage_stored"]  # False where either is null
    unchanged_mask = unchanged_mask | ((repeat["_merge"] == "both") & ~older).to_numpy()
    candidates = incoming.loc[~unchanged_mask]
    if candidates.empty:
        return existing, existing.iloc[0:0], {"new": 0, "changed": 0, "unchanged": len(incoming)}
    # New rows win ties on the full key (same vintage, revised value): drop the old copy first.
    keep_old = existing.merge(candidates[list(KEY)], how="left", on=list(KEY), indicator=True)
    existing_kept = existing.loc[(keep_old["_merge"] == "left_only").to_numpy()]
    combined = _sort(pd.concat([existing_kept, candidates], ignore_index=True))
    latest = latest_vintages(combined)
    superseded = _superseded(combined, latest)
    # Observations whose current row now comes from `incoming`: new if the store did not know them.
    won = latest.merge(candidates[list(KEY)], how="left", on=list(KEY), indicator=True)["_merge"]
    known = latest[obs].merge(existing[obs].drop_duplicates(), how="left", on=obs,
                              indicator=True)["_merge"]
    won, known = (won == "both").to_numpy(), (known == "both").to_numpy()
    new, changed = int((won & ~known).sum()), int((won & known).sum())
    return latest, superseded, {"new": new, "changed": changed,
                                "unchanged": int(unchanged_mask.sum())}


def _superseded(frame: pd.DataFrame, latest: pd.DataFrame) -> pd.DataFrame:
    marker = frame.merge(latest[list(KEY)], how="left", on=list(KEY), indicator=True)["_merge"]
    return frame.loc[(marker == "left_only").to_numpy()].reset_index(drop=True)


def _not_archived(rows: pd.DataFrame, folder: Path, partition: dict[str, str]) -> pd.DataFrame:
    """`rows` without those already in an archive file under `folder` (identical in every column)."""
    files = sorted(folder.glob("*.parquet")) if folder.exists() else []
    if not files:
        return rows
    archived = pd.concat([_read_partition(f, partition) for f in files], ignore_index=True)
    hit = rows.merge(archived.drop_duplicates(), how="left", on=list(COLUMNS), indicator=True)
    return rows.loc[(hit["_merge"] == "left_only").to_numpy()].reset_index(drop=True)


def _write_file(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = to_table(_sort(frame)).drop_columns(list(PARTITIONS))
    with open(path, "wb") as handle:
        pq.write_table(table, handle, **_PARQUET_OPTIONS)
        handle.flush()
        os.fsync(handle.fileno())


def _write_json(path: Path, payload: object) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(payload, handle)
        handle.flush()
        os.fsync(handle.fileno())
