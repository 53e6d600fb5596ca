"""The :class:`Store` class: reading (current data, ``as_of``), writing (merge, archive, retire, commit,
publish), verify and repair (see :mod:`oilflows.store.check`). The layout and commit protocol are
described in :mod:`oilflows.store`."""

from __future__ import annotations

import logging
import numbers
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
from filelock import FileLock

from ..errors import QueryError, SchemaError, StoreError, StoreQueryError
from ..frames import latest as latest_vintages
from ..schema import COLUMNS, OBSERVATION_KEY, SCHEMA, from_table, to_table
from . import durable, files, layout
from . import filters as filters_module
from . import manifest as manifests
from .check import RepairReport, VerifyReport, recover, repair, verify
from .chunks import same_rows, sort_by_year, touched_years, year_runs
from .files import read_entries, read_entry, sort_rows
from .filters import period_bound
from .incoming import Incoming, prepare, sorted_order
from .layout import (
    CHUNK_YEARS,
    DATA_DIR,
    DATA_FILE,
    LOCK_FILE,
    PARTITION_SCHEMA,
    RETIRED_SUFFIX,
    VINTAGE_DIR,
    check_layout,
    key_of,
    links_between,
    load_manifest,
    parent_key,
    partition_values,
    require_no_links,
    select_keys,
    view_files,
)
from .manifest import FileEntry, Manifest
from .merge import (
    Scope,
    check_scopes,
    merge_release,
    naive_stamp,
    not_archived,
    retire,
    retired_mask,
)
from .merge import tombstones as tombstone_rows

log = logging.getLogger(__name__)

_READ_ATTEMPTS = 5
_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass(frozen=True)
class WriteSummary:
    """What a :meth:`Store.write` changed.

    Attributes: ``rows_in`` rows offered; ``rows_new`` observations not in the store before;
    ``rows_changed`` observations whose values or vintage changed; ``rows_unchanged`` identical
    rows; ``rows_archived`` rows moved to ``_vintages``; ``partitions_changed`` partitions whose
    files were rewritten (a chunked partition counts once, however many of its year files);
    ``version`` the manifest version after the write; ``rows_retired`` current rows a ``replace=``
    scope held that the release no longer has (archived and no longer current).
    """

    rows_in: int
    rows_new: int
    rows_changed: int
    rows_unchanged: int
    rows_archived: int
    partitions_changed: int
    version: int = 0
    rows_retired: int = 0

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



# -- argument checks -----------------------------------------------------------------------------------


def check_filters(filters: dict) -> dict:
    """`filters` with many-valued filters as lists; :class:`StoreQueryError` for a value whose type
    cannot match its column (``reporter=5``: strings; ``volume_bbl="lots"``: numbers)."""
    checked = {}
    for name, value in filters.items():
        if name not in COLUMNS:
            checked[name] = value  # filters.expression names the unknown column
            continue
        many = not isinstance(value, str | bytes | pd.Timestamp) and isinstance(value, Iterable)
        items = list(value) if many else [value]
        kind = SCHEMA.field(name).type
        for item in items:
            if item is None:
                continue
            if pa.types.is_string(kind) and not isinstance(item, str):
                raise StoreQueryError(f"filter {name}={value!r}: {item!r} is not a string; {name} "
                                      f"takes a string or a list of strings")
            if pa.types.is_floating(kind) and (isinstance(item, bool) or not isinstance(item, numbers.Real)):
                raise StoreQueryError(f"filter {name}={value!r}: {item!r} is not a number; {name} "
                                      "takes a number or a list of numbers")
        checked[name] = items if many else value
    return checked


def check_columns(columns: Iterable[str] | str | None) -> list[str] | None:
    if columns is None:
        return None
    names = [columns] if isinstance(columns, str) else list(columns)
    unknown = [c for c in names if not isinstance(c, str) or c not in COLUMNS]
    if unknown:
        raise StoreQueryError(f"columns={names!r}: unknown {unknown!r}; columns are {list(COLUMNS)}")
    return names


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
        """The committed manifest, or None for an empty store (or one written by oilflows 0.1).

        A malformed or crafted manifest (a path outside the store, ``[1, 2]``) is a :class:`StoreError`."""
        return load_manifest(self.path)

    def dataset(self, **filters: object) -> ds.Dataset:
        """The current data as a :class:`pyarrow.dataset.Dataset` over the files the manifest names.

        Partition filters (``source=``, ``dataset=``, ``reporter=``) select files before any is opened.
        """
        return self._dataset(self.manifest(), check_filters(filters))

    def _dataset(self, manifest: Manifest | None, filters: dict,
                 years: tuple[int | None, int | None] = (None, None)) -> ds.Dataset:
        """The current files of the partitions `filters` select; of a chunked partition, only the
        chunks of `years` (first, last; None: unbounded), so a read of recent periods opens no
        file of other years."""
        if manifest is None:
            return self._legacy_dataset()
        keys = select_keys(manifest.partition_keys(), filters)
        low, high = years
        files = []
        for key in keys:
            if key in manifest.chunks:
                files += [str(self.path / e.file) for year, e in sorted(manifest.chunks[key].items())
                          if (low is None or year >= low) and (high is None or year <= high)]
            else:
                files += [str(self.path / e.file) for e in manifest.current(key)]
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
        ``as_of`` returns what the store knew at that time (rows of vintages up to ``as_of``; rows a
        ``replace=`` write retired count until the retiring release's vintage); it must be a naive
        date (vintages are naive). The result is one committed state: if a writer commits and removes
        files while this read runs, the read starts again on the new state.

        A bad argument (``reporter=5``, ``as_of="garbage"``, an unknown column) raises
        :class:`~oilflows.errors.StoreQueryError`, both a :class:`StoreError` and a :class:`QueryError`.
        """
        filters = check_filters(filters)
        names = check_columns(columns)
        stamp = naive_stamp(as_of, "as_of") if as_of is not None else None
        try:
            expression = filters_module.expression(start, end, **filters)
        except QueryError as exc:
            raise StoreQueryError(str(exc)) from exc
        years = (period_bound(start, True).year if start is not None else None,
                 period_bound(end, False).year if end is not None else None)
        for attempt in range(_READ_ATTEMPTS):
            manifest = self.manifest()  # one committed state for this attempt
            try:
                table = self._dataset(manifest, filters, years).to_table(filter=expression)
                if stamp is not None:  # sorted by the key
                    table = self._as_of(table, expression, stamp, manifest, filters, start, end)
                elif manifest is not None and select_keys(manifest.chunks, filters):
                    # Each chunk is sorted by the key; so is the result, as for one-file partitions.
                    table = table.combine_chunks()  # a take on one chunk a column: ~4x faster
                    table = table.take(pa.array(sorted_order(table), type=pa.int64()))
                break
            except FileNotFoundError as exc:  # a writer garbage-collected a file of an old state
                if attempt + 1 < _READ_ATTEMPTS and self._version() != _version_of(manifest):
                    continue
                raise StoreError(f"{self.path}: a file named by the manifest is missing: {exc}; "
                                 "run `oilflows store verify`, then `oilflows store repair`") from exc
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
                raise StoreError(f"{self.path}: cannot read the store: {exc}") from exc
        frame = from_table(table)
        if names is not None:
            frame = frame[names]
        return frame.reset_index(drop=True)

    def _version(self) -> int:
        try:
            manifest = self.manifest()
        except StoreError:
            return -1
        return _version_of(manifest)

    def _vintage_files(self, manifest: Manifest | None, filters: dict) -> tuple[list[str], list[str]]:
        """(archive files, tombstone files) of the partitions `filters` select."""
        if manifest is None:
            archive = self.path / VINTAGE_DIR
            found = [p.relative_to(self.path).as_posix() for p in sorted(archive.rglob("*.parquet"))
                     if p.is_file() and not p.is_symlink()] if archive.is_dir() else []
        else:
            wanted = set(select_keys({parent_key(e.file): None for e in manifest.vintages}, filters))
            found = [e.file for e in manifest.vintages if parent_key(e.file) in wanted]
        archives = [str(self.path / f) for f in found if not f.endswith(RETIRED_SUFFIX)]
        tombstones = [str(self.path / f) for f in found if f.endswith(RETIRED_SUFFIX)]
        return archives, tombstones

    def _archive_dataset(self, files: list[str]) -> ds.Dataset:
        return ds.dataset(files, format="parquet", schema=SCHEMA,
                          partitioning=ds.partitioning(PARTITION_SCHEMA, flavor="hive"),
                          partition_base_dir=str(self.path / VINTAGE_DIR))

    def _as_of(self, current: pa.Table, expression: ds.Expression | None, as_of: pd.Timestamp,
               manifest: Manifest | None, filters: dict, start: str | pd.Timestamp | None,
               end: str | pd.Timestamp | None) -> pa.Table:
        tables = [current]
        archives, tombstones = self._vintage_files(manifest, filters)
        if archives:
            tables.append(self._archive_dataset(archives).to_table(filter=expression))
        known = from_table(pa.concat_tables(tables))
        known = known[known["vintage"].isna() | (known["vintage"] <= as_of)]
        if tombstones:
            # Tombstones carry no values: select them on the observation key only.
            keys = {k: v for k, v in filters.items() if k in OBSERVATION_KEY}
            dead = from_table(self._archive_dataset(tombstones).to_table(
                filter=filters_module.expression(start, end, **keys)))
            dead = dead[dead["vintage"].isna() | (dead["vintage"] <= as_of)]
            known = known.loc[~retired_mask(known, dead)]
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
        return [partition_values(k) for k in sorted(manifest.partition_keys()) if manifest.rows(k) > 0]

    # -- checking ---------------------------------------------------------------------------------

    def verify(self, *, deep: bool = True) -> VerifyReport:
        """Check every file against the manifest (size, sha256, rows) and the schema.

        Returns a :class:`~oilflows.store.check.VerifyReport`; ``report.ok`` is False if data are
        damaged or missing. Leftovers of an interrupted write are warnings (``repair`` clears them).
        ``deep=False`` skips hashing and the schema check (sizes and presence only). Takes no lock.
        """
        try:
            return verify(self, deep=deep)
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot verify the store: {exc}") from exc

    def repair(self) -> RepairReport:
        """Roll back an incomplete commit and bring the public view in line with the manifest.

        Under the write lock: deletes temporary manifests and files no manifest names, completes a
        0.1-format journal (inside this store only), adopts a 0.1 store (no manifest) by writing
        one, re-links stale partition files, moves foreign files and symbolic links out of the
        public view into ``_quarantine``, and checks every committed file (size and sha256): a
        damaged or missing one is restored from the public view if that holds its committed bytes,
        else moved to ``_quarantine`` and dropped from the manifest (its partition must be
        re-fetched). Returns a :class:`~oilflows.store.check.RepairReport` listing what it did.
        Raises :class:`StoreError` (and changes nothing) for a crafted manifest or journal, and for
        a read-only store.
        """
        try:
            with self._locked():
                return repair(self)
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot repair the store: {exc}") from exc

    # -- writing ----------------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the writers' lock; a :class:`StoreError` after ``lock_timeout`` seconds of waiting."""
        self.path.mkdir(parents=True, exist_ok=True)
        if (self.path / LOCK_FILE).is_symlink():  # taking the lock opens (and may truncate) it
            raise StoreError(f"{self.path / LOCK_FILE} is a symbolic link: oilflows never follows links "
                             "out of its store; delete it (it is re-created)")
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

    def write(self, frame: pd.DataFrame, *,
              replace: Mapping | Iterable[Mapping] | None = None) -> WriteSummary:
        """Upsert a canonical frame atomically; return what changed.

        Rows are matched on the key without ``vintage``. For each observation the row of the latest
        vintage is current (an equal vintage: the new row wins); superseded rows move to
        ``_vintages``. Writing the same data twice changes nothing (no file is touched).

        ``replace`` declares the slice of the store this frame is a full release of, so that rows
        the release no longer holds stop being current (a grade reclassified, a month withdrawn). A
        mapping, or a list of them (their union), with:

        - ``source``, ``dataset`` (required): a code or a list of codes;
        - ``reporter``, ``partner``, ``product``, ``flow``, ``freq`` (optional): a value or a list;
        - ``start``, ``end`` (optional): period bounds, inclusive, as in :meth:`read` (``"2021"`` as
          ``end`` includes December 2021);
        - ``vintage`` (optional): the release's vintage; by default the latest vintage of the
          frame's rows in the slice (required when the frame has none, i.e. the release is empty).

        Current rows of the slice whose observation is not in the frame and whose vintage is not
        newer than the release's are retired: moved to ``_vintages`` and recorded in a tombstone
        file, so that ``read()`` no longer returns them, ``read(as_of=t)`` returns them for t
        before the release's vintage only, and a later write of an older release does not make them
        current again. Without ``replace`` (the default) a write only upserts, as before; a release
        that omits a row then leaves the old row current. :func:`release_scope` gives the slice a
        download covers (what :func:`oilflows.refresh.refresh` passes).

        Partition values must be codes (see the module docstring). Invalid frames raise
        :class:`SchemaError`, a bad ``replace`` :class:`~oilflows.errors.StoreQueryError` (both
        before anything is touched), a failed write :class:`StoreError` (also for a read-only
        store, naming the path); in every case the store is left as it was.
        """
        incoming = prepare(frame)  # the checks of schema.validate and check_codes, once, in Arrow
        scopes = check_scopes(replace, from_table(incoming.table)) if replace is not None else []
        try:
            with self._locked():
                recover(self)
                return self._write_locked(incoming, scopes)
        except OSError as exc:  # the lock, the recovery or the clean-up could not touch the disk
            raise StoreError(f"{self.path}: cannot write the store, left as it was: {exc}") from exc

    def _write_locked(self, incoming: Incoming, scopes: list[Scope]) -> WriteSummary:
        old = self.manifest() or Manifest()
        check_layout(self.path)
        new = Manifest(version=old.version + 1, txid=uuid.uuid4().hex[:12],
                       committed=pd.Timestamp.now(tz="UTC").isoformat(),
                       partitions=dict(old.partitions), vintages=list(old.vintages),
                       chunks={key: dict(years) for key, years in old.chunks.items()})
        created: list[Path] = []
        changed: list[str] = []
        counts = {"new": 0, "changed": 0, "unchanged": 0, "archived": 0, "retired": 0}
        scoped = {k for scope in scopes for k in select_keys(old.partition_keys(), scope.partition_filters())}
        vintage_files: dict[str, list[FileEntry]] = {}
        for e in old.vintages:
            vintage_files.setdefault(parent_key(e.file), []).append(e)
        fresh_files: dict[str, Path] = {}
        # Chunk files to write (partition, year, sorted rows, path), side by side after the loop.
        chunk_writes: list[tuple[str, int, pd.DataFrame | pa.Table, Path]] = []
        try:
            for key in sorted(set(incoming.slices) | scoped):
                entry = old.partitions.get(key)
                chunked = old.chunks.get(key)  # None: one file (or a new partition)
                held = vintage_files.get(key, [])
                if entry is None and chunked is None and not held and incoming.one_vintage_each(key):
                    # A fresh partition: every row is new and current, nothing to merge or archive
                    # (a replace= scope retires nothing the release itself holds).
                    counts["new"] += incoming.slices[key][1]
                    changed.append(key)
                    if incoming.slices[key][1] > layout.CHUNK_ROWS:
                        table = incoming.file_rows(key)
                        order, runs = year_runs(table.column("period"))
                        if all(year in CHUNK_YEARS for year in runs):  # big: one file per year
                            table = table.take(pa.array(order, type=pa.int64()))
                            new.chunks[key] = {}
                            for year, run in runs.items():
                                chunk_writes.append((key, year, table.slice(run.start, run.stop - run.start),
                                                     self._chunk_path(new, key, year, created)))
                            continue
                    path = self.path / DATA_DIR / key / f"{new.version:06d}-{new.txid}.parquet"
                    require_no_links(self.path, path.parent, "write")
                    created.append(path)
                    fresh_files[key] = path
                    continue
                release = from_table(incoming.rows(key)) if key in incoming.slices else None
                part = release if release is not None else from_table(incoming.rows(key))
                archives = [e for e in held if not e.file.endswith(RETIRED_SUFFIX)]
                tombstones = [e for e in held if e.file.endswith(RETIRED_SUFFIX)]
                stale = part.iloc[0:0]
                if tombstones and len(part):  # rows a replace= write retired do not come back
                    dead = pd.concat([read_entry(self.path, e, key) for e in tombstones], ignore_index=True)
                    gone = retired_mask(part, dead)
                    stale, part = part.loc[gone], part.loc[~gone]
                stored: dict[int, pd.DataFrame] = {}
                if chunked is not None:
                    # Only the years the release's rows or a replace= scope's periods touch are read,
                    # merged and (if they change) rewritten; an observation's period fixes its year.
                    years = [y for y in sorted(touched_years(key, chunked, part, scopes)) if y in chunked]
                    existing = None
                    if years:
                        existing, sizes = read_entries(self.path, [chunked[y] for y in years], key)
                        offset = 0
                        for year, size in zip(years, sizes, strict=True):  # one run a year, by key
                            stored[year] = existing.iloc[offset:offset + size]
                            offset += size
                else:
                    existing = read_entry(self.path, entry, key) if entry else None
                if len(part):
                    merged, superseded, stats = merge_release(
                        existing, part, sort_rows if chunked is None else sort_by_year)
                else:
                    merged = existing if existing is not None else part
                    superseded, stats = merged.iloc[0:0], {"new": 0, "changed": 0, "unchanged": 0}
                for k in ("new", "changed", "unchanged"):
                    counts[k] += stats[k]
                superseded = pd.concat([superseded, stale], ignore_index=True)
                retired = retire(merged, release, scopes)
                if len(superseded):  # rows archived by an earlier write are not archived again
                    fresh = not_archived(superseded, self.path, archives, key)
                    counts["unchanged"] += len(superseded) - len(fresh)
                    superseded = fresh
                counts["archived"] += len(superseded)
                if retired.any():
                    gone_rows = merged.loc[retired].reset_index(drop=True)
                    merged = merged.loc[~retired].reset_index(drop=True)
                    counts["retired"] += len(gone_rows)
                    counts["archived"] += len(gone_rows)
                    superseded = pd.concat([superseded, gone_rows], ignore_index=True)
                    path = self.path / VINTAGE_DIR / key / f"{new.txid}{RETIRED_SUFFIX}"
                    tomb = tombstone_rows(gone_rows, scopes)
                    new.vintages.append(self._new_file(tomb, path, created))
                if len(superseded):
                    path = self.path / VINTAGE_DIR / key / f"{new.txid}.parquet"
                    new.vintages.append(self._new_file(superseded, path, created))
                if not (stats["new"] or stats["changed"] or retired.any()):
                    continue
                if chunked is not None:
                    if self._rewrite_chunks(new, key, merged, stored, chunk_writes, created):
                        changed.append(key)
                    continue
                order, runs = np.zeros(0, dtype=np.int64), {}
                if len(merged) > layout.CHUNK_ROWS:
                    order, runs = year_runs(merged["period"])
                if runs and all(year in CHUNK_YEARS for year in runs):
                    # grown past the threshold: laid out as chunks from now on
                    ordered = merged.take(order)
                    new.partitions.pop(key, None)
                    new.chunks[key] = {}
                    for year, run in runs.items():
                        chunk_writes.append((key, year, ordered.iloc[run],
                                             self._chunk_path(new, key, year, created)))
                    if entry is not None:
                        new.retired.append(entry.file)
                    changed.append(key)
                else:
                    path = self.path / DATA_DIR / key / f"{new.version:06d}-{new.txid}.parquet"
                    # sorted by the key
                    new.partitions[key] = self._new_file(merged, path, created, presorted=True)
                    if entry is not None:
                        new.retired.append(entry.file)
                    changed.append(key)
            if chunk_writes:  # encoded, hashed and written side by side; directories synced below
                entries = _in_parallel(lambda job: files.write_file(
                    job[2], job[3], self.path, presorted=True,
                    row_group_size=layout.CHUNK_ROW_GROUP_ROWS), chunk_writes)
                for (key, year, _, _), chunk in zip(chunk_writes, entries, strict=True):
                    new.chunks[key][year] = chunk
            if fresh_files:  # encoded, hashed, written and fsynced side by side (fsync waits on the disk)
                entries = _in_parallel(lambda key: self._write_fresh(incoming, key, fresh_files[key]),
                                       list(fresh_files))
                new.partitions.update(zip(fresh_files, entries, strict=True))
            if created:
                # The new files' directories, and every directory above them that may be new too;
                # every one is synced before the commit, in any order (all entries exist by now). A
                # fresh partition's own directory was synced by the thread that wrote its file.
                synced = {path.parent for path in fresh_files.values()}
                folders = {d for p in created for d in p.parents
                           if (d == self.path or self.path in d.parents) and d not in synced}
                _in_parallel(lambda folder: durable.fsync_dir(folder),
                             sorted(folders, key=lambda d: len(d.parts), reverse=True))
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
            self._collect(old, new)
        return WriteSummary(
            rows_in=incoming.num_rows, rows_new=counts["new"], rows_changed=counts["changed"],
            rows_unchanged=counts["unchanged"], rows_archived=counts["archived"],
            partitions_changed=len(changed), version=new.version if created else old.version,
            rows_retired=counts["retired"],
        )

    def _write_fresh(self, incoming: Incoming, key: str, path: Path) -> FileEntry:
        """Write the file of a fresh partition (its directory holds nothing else) and fsync it, then
        its directory: one thread waits on both, other partitions' threads meanwhile encode theirs."""
        entry = files.write_file(incoming.file_rows(key), path, self.path, presorted=True)
        durable.fsync_dir(path.parent)
        return entry

    def _chunk_path(self, new: Manifest, key: str, year: int, created: list[Path]) -> Path:
        """The path of this write's new chunk file of `year` (never reached through a link)."""
        path = self.path / DATA_DIR / key / f"{new.version:06d}-{new.txid}-{year:04d}.parquet"
        require_no_links(self.path, path.parent, "write")
        created.append(path)
        return path

    def _rewrite_chunks(self, new: Manifest, key: str, merged: pd.DataFrame,
                        stored: dict[int, pd.DataFrame], chunk_writes: list, created: list[Path]) -> bool:
        """Lay out `merged` (the current rows of the years of chunked partition `key` this write
        read, `stored`, and of the new years it brings) as chunks: a year whose rows changed gets a
        new file, a year left without rows is dropped, an unchanged one keeps its file. Whether any
        file of the partition changed."""
        order, runs = year_runs(merged["period"])
        grouped = bool((order[1:] > order[:-1]).all()) if len(order) > 1 else True
        ordered = merged if grouped else merged.take(order)
        current = new.chunks[key]
        changed = False
        for year in sorted(set(stored) | set(runs)):
            rows = ordered.iloc[runs[year]] if year in runs else ordered.iloc[0:0]
            previous = current.get(year)
            if rows.empty:
                if previous is not None:  # every row of the year retired: no file, no view file
                    del current[year]
                    new.retired.append(previous.file)
                    changed = True
                continue
            if year not in CHUNK_YEARS:
                raise SchemaError(f"{key}: period year {year} cannot be stored (years "
                                  f"{CHUNK_YEARS.start}-{CHUNK_YEARS.stop - 1}); nothing was written")
            if year in stored and same_rows(rows, stored[year]):
                continue  # read because the release or a scope touched it, but unchanged
            chunk_writes.append((key, year, rows, self._chunk_path(new, key, year, created)))
            if previous is not None:
                new.retired.append(previous.file)
            changed = True
        return changed

    def _new_file(self, rows: pd.DataFrame | pa.Table, path: Path, created: list[Path],
                  presorted: bool = False) -> FileEntry:
        """Write a new immutable file of this write (never through a symbolic link); its entry."""
        require_no_links(self.path, path.parent, "write")
        created.append(path)
        return files.write_file(rows, path, self.path, presorted=presorted)

    def _publish(self, manifest: Manifest, keys: Iterable[str]) -> None:
        """Point each partition's public ``part-0.parquet`` (or chunks' ``part-<YYYY>.parquet``) at
        its committed data file(s), and remove view files the partition no longer has.

        After the commit, so a failure here loses nothing: it is logged, and the next write or
        :meth:`repair` publishes again (``verify`` reports the lag meanwhile).
        """
        try:  # each thread links one partition's file and syncs its directory
            _in_parallel(lambda key: files.publish_view(self.path, key, view_files(manifest, key)),
                         list(keys))
        except Exception as exc:  # noqa: BLE001 - the commit stands; the view is re-derivable
            log.warning("%s: committed version %d, but the public view is not up to date (%s); "
                        "`oilflows store repair` fixes it", self.path, manifest.version, exc)

    def _collect(self, old: Manifest, new: Manifest) -> None:
        """Delete the files the previous commit retired (no current reader can still need them)."""
        keep = new.files()
        for rel in old.retired:
            path = self.path / rel
            if rel in keep or key_of(rel) is None or links_between(self.path, path.parent) is not None:
                continue  # load_manifest refuses such names; never delete outside the store
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                log.warning("%s: cannot delete retired file %s (%s)", self.path, rel, exc)


#: Threads that write new files and fsync directories side by side.
WRITE_THREADS = 8


def _in_parallel(func: Callable[[_T], _R], items: list[_T]) -> list[_R]:
    """``[func(item) for item in items]``, run by up to :data:`WRITE_THREADS` threads (the work is
    Parquet encoding, hashing and fsync, which release the GIL); the first exception is raised after
    every call has finished, so no thread still writes when the caller cleans up."""
    if len(items) <= 1:
        return [func(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(WRITE_THREADS, len(items))) as pool:
        futures = [pool.submit(func, item) for item in items]
        wait(futures)
    return [future.result() for future in futures]


def _committed(root: Path, txid: str) -> bool:
    """Whether the manifest on disk is the one of `txid` (True when that cannot be told: keeping an
    uncommitted file is harmless, deleting a committed one is not)."""
    try:
        manifest = load_manifest(root)
    except (StoreError, OSError):
        return True
    return manifest is not None and manifest.txid == txid


def _version_of(manifest: Manifest | None) -> int:
    return manifest.version if manifest is not None else 0

__all__ = ["Store", "WRITE_THREADS", "WriteSummary", "default_path"]
