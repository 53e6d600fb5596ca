"""The Parquet store: a hive-partitioned dataset any engine reads, with atomic, durable commits.

Layout under the store root::

    source=<s>/dataset=<d>/reporter=<r>/part-0.parquet    current data: the public view
    _manifest.json                                         the committed state (see store_manifest)
    _data/source=.../dataset=.../reporter=.../<v>-<tx>.parquet   immutable data files
    _vintages/source=.../dataset=.../reporter=.../<tx>.parquet    superseded rows (immutable)
    _quarantine/                                           foreign files a repair moved aside
    _store.lock                                            the writers' lock

The current data hold, for each observation (the key without ``vintage``), the row of the latest
vintage; rows a newer vintage replaces move to ``_vintages``.

Commit protocol. A write (under a file lock, so writers are serialized; a writer that waits longer
than ``lock_timeout`` gets a :class:`StoreError`) writes new immutable files under ``_data`` and
``_vintages`` and fsyncs them and their directories; then it replaces ``_manifest.json`` with an
atomic rename and fsyncs the root. That rename is the commit: a crash before it leaves the old state
(plus unreferenced files, which the next write or :meth:`Store.repair` deletes), a crash after it
the new state. :meth:`Store.read` takes no lock: it reads the manifest and exactly the files it
names, so it sees the old or the new state, never a mix.

The public view (``source=*/dataset=*/reporter=*/part-0.parquet``) is for other engines: pyarrow,
DuckDB, Polars and Spark read it directly (they skip names starting with ``_``); Dask's
``read_parquet`` of the root does not skip them, so give it the glob above. After a
commit each changed partition's ``part-0.parquet`` is replaced, by an atomic rename, with a hard
link to its new data file, so an external reader sees each partition whole, old or new; a reader
that scans many partitions while a commit is being published may see some partitions old and some
new. If a writer dies between the commit and the end of publishing, the view lags the manifest
until the next write or ``repair`` (``verify`` reports it).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from filelock import FileLock

from . import _durable
from . import filters as filters_module
from . import store_manifest as manifests
from .errors import QueryError, SchemaError, StoreError
from .frames import latest as latest_vintages
from .schema import COLUMNS, KEY, OBSERVATION_KEY, SCHEMA, from_table, to_table, validate
from .store_manifest import FileEntry, Manifest

log = logging.getLogger(__name__)

PARTITIONS: tuple[str, ...] = ("source", "dataset", "reporter")
PARTITION_SCHEMA = pa.schema([SCHEMA.field(name) for name in PARTITIONS])
FILE_SCHEMA = pa.schema([f for f in SCHEMA if f.name not in PARTITIONS])
DATA_FILE = "part-0.parquet"
DATA_DIR = "_data"
VINTAGE_DIR = "_vintages"
LOCK_FILE = "_store.lock"
#: Rows per Parquet row group: small enough that a filter on partner/product skips most of a file.
ROW_GROUP_ROWS = 64 * 1024
_PARQUET_OPTIONS = {"compression": "zstd", "write_statistics": True, "row_group_size": ROW_GROUP_ROWS}
_READ_ATTEMPTS = 5


@dataclass(frozen=True)
class WriteSummary:
    """What a :meth:`Store.write` changed.

    Attributes: ``rows_in`` rows offered; ``rows_new`` observations not in the store before;
    ``rows_changed`` observations whose values or vintage changed; ``rows_unchanged`` identical
    rows; ``rows_archived`` rows moved to ``_vintages``; ``partitions_changed`` files rewritten;
    ``version`` the manifest version after the write.
    """

    rows_in: int
    rows_new: int
    rows_changed: int
    rows_unchanged: int
    rows_archived: int
    partitions_changed: int
    version: int = 0

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


def partition_key(values: Iterable[str]) -> str:
    """``source=S/dataset=D/reporter=R`` for the partition values in :data:`PARTITIONS` order."""
    return "/".join(f"{k}={v}" for k, v in zip(PARTITIONS, values, strict=True))


def partition_values(key: str) -> dict[str, str]:
    """The inverse of :func:`partition_key`."""
    return dict(part.split("=", 1) for part in key.split("/"))


class Store:
    """A hive-partitioned Parquet store of canonical frames with atomic commits.

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

    def manifest(self) -> Manifest | None:
        """The committed manifest, or None for an empty store (or one written by oilflows 0.1)."""
        return manifests.load(self.path)

    def dataset(self, **filters: object) -> ds.Dataset:
        """The current data as a :class:`pyarrow.dataset.Dataset` over the files the manifest names.

        Partition filters (``source=``, ``dataset=``, ``reporter=``) select files before any is opened.
        """
        return self._dataset(self.manifest(), filters)

    def _dataset(self, manifest: Manifest | None, filters: dict) -> ds.Dataset:
        if manifest is None:
            return self._legacy_dataset()
        keys = _select(manifest.partitions, filters)
        files = [str(self.path / manifest.partitions[k].file) for k in keys]
        if not files:
            return ds.dataset(SCHEMA.empty_table())
        return ds.dataset(files, format="parquet", schema=SCHEMA,
                          partitioning=ds.partitioning(PARTITION_SCHEMA, flavor="hive"),
                          partition_base_dir=str(self.path / DATA_DIR))

    def _legacy_dataset(self) -> ds.Dataset:
        if not any(self.path.glob(f"source=*/dataset=*/reporter=*/{DATA_FILE}")):
            return ds.dataset(SCHEMA.empty_table())
        return ds.dataset(self.path, format="parquet", schema=SCHEMA,
                          partitioning=ds.partitioning(PARTITION_SCHEMA, flavor="hive"),
                          ignore_prefixes=[".", "_"])

    def read(
        self,
        *,
        start: str | pd.Timestamp | None = None,
        end: str | pd.Timestamp | None = None,
        columns: Iterable[str] | None = None,
        as_of: str | pd.Timestamp | None = None,
        **filters: object,
    ) -> pd.DataFrame:
        """Read current data as a canonical frame, filtered in the scan; takes no lock.

        ``filters`` are column=value or column=[values] (e.g. ``reporter="DE"``,
        ``partner=["KZ", "RU"]``); partition columns (source, dataset, reporter) select files from
        the manifest, the others are pushed down to Parquet row-group statistics. ``start``/``end``
        bound ``period`` (inclusive). ``columns`` selects columns (default: all, canonical order).
        ``as_of`` returns what the store knew at that time (rows of vintages up to ``as_of``).
        The result is one committed state: if a writer commits and removes files while this read
        runs, the read starts again on the new state.
        """
        try:
            expression = filters_module.expression(start, end, **filters)
        except QueryError as exc:
            raise StoreError(str(exc)) from exc
        for attempt in range(_READ_ATTEMPTS):
            manifest = self.manifest()  # one committed state for this attempt
            try:
                table = self._dataset(manifest, filters).to_table(filter=expression)
                if as_of is not None:
                    table = self._as_of(table, expression, pd.Timestamp(as_of), manifest, filters)
                break
            except FileNotFoundError as exc:  # a writer garbage-collected a file of an old state
                if attempt + 1 < _READ_ATTEMPTS and self._version() != _version_of(manifest):
                    continue
                raise StoreError(f"{self.path}: a file named by the manifest is missing: {exc}; "
                                 "run `oilflows store verify`") from exc
            except (pa.ArrowInvalid, OSError) as exc:  # a damaged or foreign file in the store
                raise StoreError(f"{self.path}: cannot read the store: {exc}") from exc
        frame = from_table(table)
        if columns is not None:
            frame = frame[list(columns)]
        return frame.reset_index(drop=True)

    def _version(self) -> int:
        try:
            manifest = self.manifest()
        except StoreError:
            return -1
        return _version_of(manifest)

    def _vintage_files(self, manifest: Manifest | None, filters: dict) -> list[str]:
        if manifest is None:
            archive = self.path / VINTAGE_DIR
            return [str(p) for p in sorted(archive.rglob("*.parquet"))] if archive.exists() else []
        wanted = set(_select({_parent_key(e.file): None for e in manifest.vintages}, filters))
        return [str(self.path / e.file) for e in manifest.vintages if _parent_key(e.file) in wanted]

    def _as_of(self, current: pa.Table, expression, as_of: pd.Timestamp, manifest: Manifest | None,
               filters: dict) -> pa.Table:
        tables = [current]
        files = self._vintage_files(manifest, filters)
        if files:
            archived = ds.dataset(files, format="parquet", schema=SCHEMA,
                                  partitioning=ds.partitioning(PARTITION_SCHEMA, flavor="hive"),
                                  partition_base_dir=str(self.path / VINTAGE_DIR))
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
        manifest = self.manifest()
        if manifest is None:
            files = sorted(self.path.glob(f"source=*/dataset=*/reporter=*/{DATA_FILE}"))
            return [partition_values(f.parent.relative_to(self.path).as_posix()) for f in files]
        return [partition_values(k) for k in sorted(manifest.partitions)]

    # -- checking ---------------------------------------------------------------------------------

    def verify(self, *, deep: bool = True):
        """Check every file against the manifest (size, sha256, rows) and the schema.

        Returns a :class:`~oilflows.store_check.VerifyReport`; ``report.ok`` is False if data are
        damaged or missing. Leftovers of an interrupted write are warnings (``repair`` clears them).
        ``deep=False`` skips hashing and the schema check (sizes and presence only). Takes no lock.
        """
        from .store_check import verify

        return verify(self, deep=deep)

    def repair(self):
        """Roll back an incomplete commit and bring the public view in line with the manifest.

        Under the write lock: deletes temporary manifests and files no manifest names, completes a
        0.1-format journal, adopts a 0.1 store (no manifest) by writing one, re-links stale
        partition files, and moves foreign files out of the public view into ``_quarantine``.
        Returns a :class:`~oilflows.store_check.RepairReport` listing what it did.
        """
        from .store_check import repair

        with self._locked():
            return repair(self)

    # -- writing ----------------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the writers' lock; a :class:`StoreError` after ``lock_timeout`` seconds of waiting."""
        self.path.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.path / LOCK_FILE), timeout=self.lock_timeout)
        try:
            lock.acquire()
        except TimeoutError as exc:
            raise StoreError(f"{self.path}: another process holds the write lock "
                             f"({self.path / LOCK_FILE}) for more than {self.lock_timeout:g} s; "
                             "retry later or raise lock_timeout") from exc
        try:
            yield
        finally:
            lock.release()

    def write(self, frame: pd.DataFrame) -> WriteSummary:
        """Upsert a canonical frame atomically; return what changed.

        Rows are matched on the key without ``vintage``. For each observation the row of the latest
        vintage is current (an equal vintage: the new row wins); superseded rows move to
        ``_vintages``. Writing the same data twice changes nothing (no file is touched). Invalid
        frames raise :class:`SchemaError` and a failed write :class:`StoreError`; either way the store
        is left as it was.
        """
        validate(frame)
        incoming = from_table(to_table(frame))
        with self._locked():
            from .store_check import recover

            recover(self)
            return self._write_locked(incoming)

    def _write_locked(self, incoming: pd.DataFrame) -> WriteSummary:
        old = self.manifest() or Manifest()
        new = Manifest(version=old.version + 1, txid=uuid.uuid4().hex[:12],
                       committed=pd.Timestamp.now(tz="UTC").isoformat(),
                       partitions=dict(old.partitions), vintages=list(old.vintages))
        created: list[Path] = []
        changed: list[str] = []
        counts = {"new": 0, "changed": 0, "unchanged": 0, "archived": 0}
        try:
            for values, part in incoming.groupby(list(PARTITIONS), sort=True, dropna=False):
                key = partition_key(values)
                partition = partition_values(key)
                entry = old.partitions.get(key)
                existing = _read_partition(self.path / entry.file, partition) if entry else None
                merged, superseded, stats = _merge(existing, part)
                for k in ("new", "changed", "unchanged"):
                    counts[k] += stats[k]
                if len(superseded):  # rows archived by an earlier write are not archived again
                    archived = [self.path / e.file for e in old.vintages if _parent_key(e.file) == key]
                    fresh = _not_archived(superseded, archived, partition)
                    counts["unchanged"] += len(superseded) - len(fresh)
                    superseded = fresh
                if len(superseded):
                    counts["archived"] += len(superseded)
                    path = self.path / VINTAGE_DIR / key / f"{new.txid}.parquet"
                    created.append(path)
                    _write_file(superseded, path)
                    new.vintages.append(FileEntry.of(self.path, path, len(superseded)))
                if stats["new"] or stats["changed"]:
                    path = self.path / DATA_DIR / key / f"{new.version:06d}-{new.txid}.parquet"
                    created.append(path)
                    _write_file(merged, path, presorted=True)  # _merge returns it sorted by the key
                    new.partitions[key] = FileEntry.of(self.path, path, len(merged))
                    if entry is not None:
                        new.retired.append(entry.file)
                    changed.append(key)
            if created:
                # The new files' directories, and every directory above them that may be new too.
                folders = {d for p in created for d in p.parents if d == self.path or self.path in d.parents}
                for folder in sorted(folders, key=lambda d: len(d.parts), reverse=True):
                    _durable.fsync_dir(folder)
                manifests.commit(self.path, new)
        except BaseException as exc:
            if created and _committed(self.path, new.txid):
                raise  # interrupted after the rename: the files are committed data now, keep them
            for path in created:  # not committed: nothing may remain of this write
                path.unlink(missing_ok=True)
            if isinstance(exc, SchemaError | StoreError) or not isinstance(exc, Exception):
                raise
            raise StoreError(f"{self.path}: write failed, store left as it was: {exc}") from exc
        if created:
            self._publish(new, changed)
            self._collect(old)
        return WriteSummary(
            rows_in=len(incoming), rows_new=counts["new"], rows_changed=counts["changed"],
            rows_unchanged=counts["unchanged"], rows_archived=counts["archived"],
            partitions_changed=len(changed), version=new.version if created else old.version,
        )

    def _publish(self, manifest: Manifest, keys: Iterable[str]) -> None:
        """Point each partition's public ``part-0.parquet`` at its committed data file.

        After the commit, so a failure here loses nothing: it is logged, and the next write or
        :meth:`repair` publishes again (``verify`` reports the lag meanwhile).
        """
        try:
            for key in keys:
                publish_partition(self.path, key, manifest.partitions[key])
        except Exception as exc:  # noqa: BLE001 - the commit stands; the view is re-derivable
            log.warning("%s: committed version %d, but the public view is not up to date (%s); "
                        "`oilflows store repair` fixes it", self.path, manifest.version, exc)

    def _collect(self, old: Manifest) -> None:
        """Delete the files the previous commit retired (no current reader can still need them)."""
        for rel in old.retired:
            try:
                (self.path / rel).unlink(missing_ok=True)
            except OSError as exc:
                log.warning("%s: cannot delete retired file %s (%s)", self.path, rel, exc)


def _committed(root: Path, txid: str) -> bool:
    """Whether the manifest on disk is the one of `txid` (True when that cannot be told: keeping an
    uncommitted file is harmless, deleting a committed one is not)."""
    try:
        manifest = manifests.load(root)
    except (StoreError, OSError):
        return True
    return manifest is not None and manifest.txid == txid


def _version_of(manifest: Manifest | None) -> int:
    return manifest.version if manifest is not None else 0


def publish_partition(root: Path, key: str, entry: FileEntry) -> None:
    """Atomically replace ``<key>/part-0.parquet`` in the public view with a link to `entry`'s file."""
    target = root / key / DATA_FILE
    if _durable.same_file(target, root / entry.file):
        return
    tmp = target.with_name(f".{DATA_FILE}.{uuid.uuid4().hex[:8]}.tmp")
    _durable.link_or_copy(root / entry.file, tmp)
    try:
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _durable.fsync_dir(target.parent)


def _parent_key(rel: str) -> str:
    """``source=S/dataset=D/reporter=R`` of a root-relative file path under ``_data``/``_vintages``."""
    return "/".join(rel.split("/")[1:-1])


def _select(keys: Iterable[str], filters: dict) -> list[str]:
    """The partition keys that match the partition-column `filters` (others are ignored here)."""
    wanted = {}
    for name in PARTITIONS:
        if name not in filters:
            continue
        value = filters[name]
        if value is None:
            return []
        wanted[name] = {value} if isinstance(value, str) or not isinstance(value, Iterable) \
            else {str(v) for v in value}
    selected = []
    for key in sorted(keys):
        parts = partition_values(key)
        if all(parts[name] in values for name, values in wanted.items()):
            selected.append(key)
    return selected


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
    obs = list(OBSERVATION_KEY)
    if existing is None or existing.empty:
        if not incoming.duplicated(obs).any():  # one vintage per observation: all current
            return incoming, incoming.iloc[0:0], {"new": len(incoming), "changed": 0, "unchanged": 0}
        latest = latest_vintages(incoming)
        return latest, _superseded(incoming, latest), {
            "new": len(latest), "changed": 0, "unchanged": 0}
    # Files are written sorted by the key, so an identical re-write is recognised without sorting.
    if len(incoming) == len(existing) and to_table(incoming).equals(to_table(existing)):
        return existing, existing.iloc[0:0], {"new": 0, "changed": 0, "unchanged": len(incoming)}
    # Only the stored rows of observations that `incoming` touches take part in the merge (a revision
    # of the last months must not cost a merge over the whole history); the others stay as they are.
    hit = existing[obs].merge(incoming[obs].drop_duplicates(), how="left", on=obs,
                              indicator=True)["_merge"].eq("both").to_numpy()
    latest, superseded, stats = _merge_touched(existing.loc[hit].reset_index(drop=True), incoming)
    if not (stats["new"] or stats["changed"]):
        return existing, superseded, stats
    merged = _sort(pd.concat([existing.loc[~hit], latest], ignore_index=True))
    return merged, superseded, stats


def _merge_touched(
    existing: pd.DataFrame, incoming: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """:func:`_merge` for the stored rows of the observations `incoming` holds (may be empty)."""
    obs = list(OBSERVATION_KEY)
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


def _not_archived(rows: pd.DataFrame, files: list[Path], partition: dict[str, str]) -> pd.DataFrame:
    """`rows` without those already in one of the archive `files` (identical in every column)."""
    if not files:
        return rows
    archived = pd.concat([_read_partition(f, partition) for f in files], ignore_index=True)
    hit = rows.merge(archived.drop_duplicates(), how="left", on=list(COLUMNS), indicator=True)
    return rows.loc[(hit["_merge"] == "left_only").to_numpy()].reset_index(drop=True)


def _write_file(frame: pd.DataFrame, path: Path, presorted: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = to_table(frame if presorted else _sort(frame)).drop_columns(list(PARTITIONS))
    with open(path, "wb") as handle:
        pq.write_table(table, handle, **_PARQUET_OPTIONS)
        handle.flush()
        os.fsync(handle.fileno())
