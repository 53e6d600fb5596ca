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

Untrusted input (issue 12). Partition values (source, dataset, reporter) must be codes of 1-64
characters ``A-Z a-z 0-9 _ . -`` (not ``.`` or ``..``), else the write raises :class:`SchemaError`
before anything is written: a value is never turned into a path it could escape. Every path read
from a manifest or a 0.1 journal must name a file of this store's layout, else :class:`StoreError`
and nothing is deleted, moved or overwritten; the store never follows a symbolic link out of itself
(``_data``, ``_vintages`` and the other ``_`` directories must not be links; links found in the
public view are moved aside, the link and not its target). One missing or corrupt data file blocks
only writes to its own partition; :meth:`Store.repair` restores it from the public view when that
still holds the committed bytes, else moves it to ``_quarantine`` and drops the partition (re-fetch
it). A read-only store, a malformed manifest and bad arguments are typed errors.

Releases that drop rows. ``Store.write(frame, replace={...})`` declares the slice a release replaces
in full: current rows of that slice that the release no longer holds are retired, at the release's
vintage. They move to ``_vintages`` (so ``read(as_of=)`` before the release still returns them) and
a tombstone file (``_vintages/.../<tx>.retired.parquet``) records when they stopped being current,
so neither ``read()`` nor ``read(as_of=)`` after the release returns them, and an old download that
repeats them does not bring them back.
"""

from __future__ import annotations

import datetime as _dt
import logging
import numbers
import os
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from filelock import FileLock

from . import _durable
from . import filters as filters_module
from . import store_manifest as manifests
from .errors import QueryError, SchemaError, StoreError, StoreQueryError
from .frames import latest as latest_vintages
from .schema import COLUMNS, KEY, OBSERVATION_KEY, SCHEMA, from_table, to_table, validate
from .store_manifest import FileEntry, Manifest

if TYPE_CHECKING:
    from .store_check import RepairReport, VerifyReport

log = logging.getLogger(__name__)

PARTITIONS: tuple[str, ...] = ("source", "dataset", "reporter")
PARTITION_SCHEMA = pa.schema([SCHEMA.field(name) for name in PARTITIONS])
FILE_SCHEMA = pa.schema([f for f in SCHEMA if f.name not in PARTITIONS])
DATA_FILE = "part-0.parquet"
DATA_DIR = "_data"
VINTAGE_DIR = "_vintages"
LOCK_FILE = "_store.lock"
QUARANTINE_DIR = "_quarantine"
#: The store's own directories: none of them may be a symbolic link.
INTERNAL_DIRS = (DATA_DIR, VINTAGE_DIR, QUARANTINE_DIR, "_journal", "_staging")
#: Suffix of the tombstone files under ``_vintages`` (rows a ``replace=`` write retired).
RETIRED_SUFFIX = ".retired.parquet"
#: The flag of a tombstone row.
RETIRED_FLAG = "retired"
#: Longest partition value (source, dataset, reporter code).
MAX_CODE_LENGTH = 64
_CODE = re.compile(rf"[A-Za-z0-9_.-]{{1,{MAX_CODE_LENGTH}}}")
_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\.parquet")
#: Columns a ``replace=`` scope may restrict (besides the period bounds and the vintage).
SCOPE_COLUMNS = ("source", "dataset", "reporter", "partner", "product", "flow", "freq")
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


def partition_key(values: Iterable[str]) -> str:
    """``source=S/dataset=D/reporter=R`` for the partition values in :data:`PARTITIONS` order."""
    return "/".join(f"{k}={v}" for k, v in zip(PARTITIONS, values, strict=True))


def partition_values(key: str) -> dict[str, str]:
    """The inverse of :func:`partition_key`."""
    return dict(part.split("=", 1) for part in key.split("/"))


# -- untrusted names: codes, manifest paths, symbolic links ------------------------------------------


def is_code(value: object) -> bool:
    """Whether `value` may be a partition value: 1-64 characters ``A-Z a-z 0-9 _ . -``, not ``.``/``..``."""
    return isinstance(value, str) and _CODE.fullmatch(value) is not None and value not in (".", "..")


def check_codes(frame: pd.DataFrame) -> None:
    """Raise :class:`SchemaError` naming the column and value if a partition value of `frame` is not
    a code (it would name a directory: ``XX/reporter=FR``, ``%41B``, ``..``, a NUL byte, ...)."""
    for name in PARTITIONS:
        for value in pd.unique(frame[name]):
            if not is_code(value):
                raise SchemaError(
                    f"column {name!r} has value {value!r}, which cannot name a store partition: codes "
                    f"are 1-{MAX_CODE_LENGTH} characters of A-Z a-z 0-9 _ . - (not '.' or '..'); "
                    "nothing was written")


def key_of(rel: object, tops: tuple[str, ...] = (DATA_DIR, VINTAGE_DIR)) -> str | None:
    """The partition key of `rel` if it is a root-relative path of this store's layout
    (``<top>/source=S/dataset=D/reporter=R/<name>.parquet`` with `top` in `tops`), else None."""
    if not isinstance(rel, str):
        return None
    parts = rel.split("/")
    if len(parts) != 5 or parts[0] not in tops or not _FILE_NAME.fullmatch(parts[4]):
        return None
    key = "/".join(parts[1:4])
    return key if is_key(key) else None


def is_key(key: object) -> bool:
    """Whether `key` is ``source=S/dataset=D/reporter=R`` with three codes."""
    if not isinstance(key, str):
        return False
    parts = key.split("/")
    if len(parts) != len(PARTITIONS):
        return False
    for name, part in zip(PARTITIONS, parts, strict=True):
        label, _, value = part.partition("=")
        if label != name or not is_code(value):
            return False
    return True


def links_between(root: Path, path: Path) -> Path | None:
    """The first symbolic link among the existing directories from `root` (excluded) down to `path`
    (included), or None. Files are created, moved and deleted only where this is None, so nothing
    the store does can reach outside it through a link."""
    try:
        rel = path.relative_to(root)
    except ValueError:
        return path
    current = root
    for part in rel.parts:
        current = current / part
        if current.is_symlink():
            return current
        if not current.exists():
            return None
    return None


def require_no_links(root: Path, directory: Path, action: str) -> None:
    """Raise :class:`StoreError` if `directory` is reached through a symbolic link."""
    link = links_between(root, directory)
    if link is not None:
        raise StoreError(f"{root}: refusing to {action} under {link}: it is a symbolic link, and "
                         "oilflows never follows links out of its store (replace the link by a "
                         "directory, or run `oilflows store repair`)")


def check_layout(root: Path) -> None:
    """Raise :class:`StoreError` if one of the store's own directories is a symbolic link."""
    for name in INTERNAL_DIRS:
        if (root / name).is_symlink():
            raise StoreError(f"{root / name} is a symbolic link: oilflows never follows links out of "
                             "its store; move that directory into the store")


def load_manifest(root: Path) -> Manifest | None:
    """The committed manifest of the store at `root` (None if there is none), with every path it
    names checked: a path that is not of this store's layout, a partition key that is not three
    codes, or a retired file that is still current is a :class:`StoreError`, as is any malformed
    content (``[1, 2]``, wrong types), so nothing outside the store is ever deleted or read."""
    where = root / manifests.MANIFEST
    try:
        manifest = manifests.load(root)
    except StoreError:
        raise
    except (AttributeError, TypeError, ValueError, KeyError, RecursionError) as exc:
        raise StoreError(f"{where}: the manifest is damaged: {type(exc).__name__}: {exc}") from exc
    if manifest is None:
        return None
    _check_manifest(where, manifest)
    return manifest


def _check_manifest(where: Path, manifest: Manifest) -> None:
    def bad(problem: str) -> StoreError:
        return StoreError(f"{where}: the manifest is damaged or crafted: {problem}; nothing was "
                          "changed (restore the manifest from a backup, or remove the store)")

    if not isinstance(manifest.txid, str) or not isinstance(manifest.partitions, dict) \
            or not isinstance(manifest.vintages, list) or not isinstance(manifest.retired, list):
        raise bad("wrong types at the top level")
    for entry in [*manifest.partitions.values(), *manifest.vintages]:
        if not isinstance(entry, FileEntry):
            raise bad(f"an entry is {entry!r}, not a file entry")
        numbers_ok = all(isinstance(n, int) and not isinstance(n, bool) and n >= 0
                         for n in (entry.rows, entry.bytes))
        if not numbers_ok or not isinstance(entry.sha256, str) or len(entry.sha256) != 64:
            raise bad(f"entry {entry.file!r} has malformed rows, bytes or sha256")
    for key, entry in manifest.partitions.items():
        if not is_key(key):
            raise bad(f"partition {key!r} is not source=S/dataset=D/reporter=R of codes")
        if key_of(entry.file, (DATA_DIR,)) != key:
            raise bad(f"partition {key!r} names {entry.file!r}, not a file under {DATA_DIR}/{key}/")
    for entry in manifest.vintages:
        if key_of(entry.file, (VINTAGE_DIR,)) is None:
            raise bad(f"archive {entry.file!r} is not a file under {VINTAGE_DIR}/source=.../")
    live = {e.file for e in manifest.partitions.values()} | {e.file for e in manifest.vintages}
    for rel in manifest.retired:
        if key_of(rel) is None:
            raise bad(f"retired file {rel!r} is not a file of this store's layout")
        if rel in live:
            raise bad(f"retired file {rel!r} is still named as current or archived data")


# -- argument checks -----------------------------------------------------------------------------------


def _check_filters(filters: dict) -> dict:
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


def _check_columns(columns: Iterable[str] | str | None) -> list[str] | None:
    if columns is None:
        return None
    names = [columns] if isinstance(columns, str) else list(columns)
    unknown = [c for c in names if not isinstance(c, str) or c not in COLUMNS]
    if unknown:
        raise StoreQueryError(f"columns={names!r}: unknown {unknown!r}; columns are {list(COLUMNS)}")
    return names


def _stamp(value: object, argument: str) -> pd.Timestamp:
    """`value` as a naive Timestamp; :class:`StoreQueryError` naming `argument` if it is not a date
    or carries a time zone (vintages are naive: the publisher's wall clock, or UTC)."""
    if not isinstance(value, str | _dt.date | np.datetime64):  # pd.Timestamp is a datetime
        raise StoreQueryError(f"{argument}={value!r} is not a date (give e.g. '2024-03-01' or a "
                              "pandas Timestamp)")
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise StoreQueryError(f"{argument}={value!r} is not a date like '2024-03-01 11:00'") from exc
    if pd.isna(stamp):
        raise StoreQueryError(f"{argument}={value!r} is not a date (it is missing)")
    if stamp.tzinfo is not None:
        raise StoreQueryError(f"{argument}={value!r} carries a time zone, but vintages are naive "
                              "timestamps (the publisher's wall-clock time, or UTC for downloads "
                              "stamped by oilflows); pass e.g. stamp.tz_convert('UTC').tz_localize(None)")
    return stamp


@dataclass(frozen=True)
class _Scope:
    """One checked ``replace=`` scope: the slice a release replaces in full."""

    values: dict[str, frozenset[str]]
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    vintage: pd.Timestamp

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        hit = np.ones(len(frame), dtype=bool)
        for name, allowed in self.values.items():
            hit &= frame[name].isin(allowed).to_numpy()
        if self.start is not None:
            hit &= (frame["period"] >= self.start).to_numpy()
        if self.end is not None:
            hit &= (frame["period"] <= self.end).to_numpy()
        return hit

    def retirable(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows of the slice that this release may retire: not newer than its vintage (a null
        vintage is the oldest; a release without a vintage retires only rows without one)."""
        older = frame["vintage"].isna() if pd.isna(self.vintage) else (
            frame["vintage"].isna() | (frame["vintage"] <= self.vintage))
        return self.mask(frame) & older.to_numpy()

    def partition_filters(self) -> dict[str, list[str]]:
        return {name: sorted(self.values[name]) for name in PARTITIONS if name in self.values}


def _scopes(replace: object, incoming: pd.DataFrame) -> list[_Scope]:
    """Check ``replace=`` (a mapping or a list of mappings) before anything is written."""
    if replace is None:
        return []
    if isinstance(replace, Mapping):
        items = [replace]
    elif isinstance(replace, list | tuple):
        items = list(replace)
    else:
        raise StoreQueryError(f"replace={replace!r}: expected a mapping such as {{'source': "
                              "'eurostat', 'dataset': 'nrg_ti_coifpm', 'reporter': 'DE'}, or a list "
                              "of them")
    return [_scope(item, incoming) for item in items]


def _scope(item: object, incoming: pd.DataFrame) -> _Scope:
    if not isinstance(item, Mapping):
        raise StoreQueryError(f"replace: scope {item!r} is not a mapping of columns to values")
    allowed = (*SCOPE_COLUMNS, "start", "end", "vintage")
    unknown = sorted(str(k) for k in item if k not in allowed)
    if unknown:
        raise StoreQueryError(f"replace={dict(item)!r}: unknown keys {unknown}; a scope takes "
                              f"{', '.join(allowed)}")
    missing = [k for k in ("source", "dataset") if k not in item]
    if missing:
        raise StoreQueryError(f"replace={dict(item)!r}: a scope must name {' and '.join(missing)} "
                              "(a release replaces a slice of one dataset, never the whole store)")
    values = {}
    for name in SCOPE_COLUMNS:
        if name not in item:
            continue
        value = item[name]
        many = isinstance(value, list | tuple | set | frozenset)
        codes = list(value) if many else [value]
        if not codes or not all(isinstance(c, str) for c in codes) or (
                name in PARTITIONS and not all(is_code(c) for c in codes)):
            raise StoreQueryError(f"replace={dict(item)!r}: {name} must be a code or a non-empty "
                                  f"list of codes, not {value!r}")
        values[name] = frozenset(codes)
    try:
        start = filters_module._bound(item["start"], True) if item.get("start") is not None else None
        end = filters_module._bound(item["end"], False) if item.get("end") is not None else None
    except QueryError as exc:
        raise StoreQueryError(f"replace={dict(item)!r}: {exc}") from exc
    for name, bound in (("start", start), ("end", end)):
        if bound is not None and (pd.isna(bound) or bound.tzinfo is not None):
            raise StoreQueryError(f"replace={dict(item)!r}: {name} must be a naive date")
    scope = _Scope(values, start, end, pd.NaT)
    if item.get("vintage") is not None:
        vintage = _stamp(item["vintage"], "replace vintage")
    else:
        held = incoming.loc[scope.mask(incoming), "vintage"]
        if held.empty:
            raise StoreQueryError(f"replace={dict(item)!r}: the frame holds no row of this scope, so "
                                  "the release's vintage is unknown; give it as 'vintage'")
        vintage = held.max()
    return _Scope(values, start, end, pd.Timestamp(vintage) if pd.notna(vintage) else pd.NaT)


def release_scope(frame: pd.DataFrame) -> list[dict[str, object]]:
    """The ``replace=`` scopes of a downloaded release: for each (source, dataset) of `frame`, the
    reporters, partners, products, flows and frequencies it holds and its first and last period.

    A conservative slice: a row the store holds inside it that the release lacks (a reclassified
    grade, a withdrawn month) is retired; rows of partners, products or months the download did not
    ask for are not (so two downloads of one dataset with different filters do not retire each
    other's rows). A partner or reporter the release dropped entirely is not retired either: name it
    in an explicit scope.
    """
    scopes = []
    for (source, dataset), part in frame.groupby(["source", "dataset"], sort=True):
        scope: dict[str, object] = {"source": source, "dataset": dataset}
        for name in ("reporter", "partner", "product", "flow", "freq"):
            scope[name] = sorted(part[name].unique())
        scope["start"], scope["end"] = part["period"].min(), part["period"].max()
        scopes.append(scope)
    return scopes


def _file_problem(path: Path, entry: FileEntry, data: bytes | None = None) -> str | None:
    """Why the bytes of `path` (or `data`, read from it) are not `entry`'s; None if they are."""
    if data is None:
        data = path.read_bytes()
    if len(data) != entry.bytes:
        return f"size {len(data)} bytes, the manifest says {entry.bytes}"
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    if digest != entry.sha256:
        return f"sha256 {digest[:12]}... differs from the manifest's {entry.sha256[:12]}..."
    return None


def _read_entry(root: Path, entry: FileEntry, key: str) -> pd.DataFrame:
    """The rows of a committed file, checked against the manifest (size and sha256) as they are read:
    :class:`StoreError` naming the file if it is missing, a link, or damaged."""
    path = root / entry.file
    if path.is_symlink() or not path.is_file():
        raise StoreError(f"{path}: the data file of {key} is missing; run `oilflows store repair` "
                         "(it restores the file from the public view if that still holds it, else sets "
                         "the partition aside to be re-fetched); other partitions are unaffected")
    data = path.read_bytes()
    problem = _file_problem(path, entry, data)
    if problem is not None:
        raise StoreError(f"{path}: unreadable partition file: {problem} (damaged); run `oilflows "
                         "store repair`; other partitions are unaffected")
    try:
        table = pq.read_table(pa.BufferReader(data), schema=FILE_SCHEMA)
    except (pa.ArrowInvalid, OSError) as exc:
        raise StoreError(f"{path}: unreadable partition file: {exc}") from exc
    return _with_partition(table, partition_values(key))


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
        return self._dataset(self.manifest(), _check_filters(filters))

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
        ``as_of`` returns what the store knew at that time (rows of vintages up to ``as_of``; rows a
        ``replace=`` write retired count until the retiring release's vintage); it must be a naive
        date (vintages are naive). The result is one committed state: if a writer commits and removes
        files while this read runs, the read starts again on the new state.

        A bad argument (``reporter=5``, ``as_of="garbage"``, an unknown column) raises
        :class:`~oilflows.errors.StoreQueryError`, both a :class:`StoreError` and a :class:`QueryError`.
        """
        filters = _check_filters(filters)
        names = _check_columns(columns)
        stamp = _stamp(as_of, "as_of") if as_of is not None else None
        try:
            expression = filters_module.expression(start, end, **filters)
        except QueryError as exc:
            raise StoreQueryError(str(exc)) from exc
        for attempt in range(_READ_ATTEMPTS):
            manifest = self.manifest()  # one committed state for this attempt
            try:
                table = self._dataset(manifest, filters).to_table(filter=expression)
                if stamp is not None:
                    table = self._as_of(table, expression, stamp, manifest, filters, start, end)
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
            wanted = set(_select({_parent_key(e.file): None for e in manifest.vintages}, filters))
            found = [e.file for e in manifest.vintages if _parent_key(e.file) in wanted]
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
            known = known.loc[~_retired_mask(known, dead)]
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
        return [partition_values(k) for k in sorted(manifest.partitions)
                if manifest.partitions[k].rows > 0]

    # -- checking ---------------------------------------------------------------------------------

    def verify(self, *, deep: bool = True) -> VerifyReport:
        """Check every file against the manifest (size, sha256, rows) and the schema.

        Returns a :class:`~oilflows.store_check.VerifyReport`; ``report.ok`` is False if data are
        damaged or missing. Leftovers of an interrupted write are warnings (``repair`` clears them).
        ``deep=False`` skips hashing and the schema check (sizes and presence only). Takes no lock.
        """
        from .store_check import verify

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
        re-fetched). Returns a :class:`~oilflows.store_check.RepairReport` listing what it did.
        Raises :class:`StoreError` (and changes nothing) for a crafted manifest or journal, and for
        a read-only store.
        """
        from .store_check import repair

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
        validate(frame)
        check_codes(frame)
        incoming = from_table(to_table(frame))
        scopes = _scopes(replace, incoming)
        try:
            with self._locked():
                from .store_check import recover

                recover(self)
                return self._write_locked(incoming, scopes)
        except OSError as exc:  # the lock, the recovery or the clean-up could not touch the disk
            raise StoreError(f"{self.path}: cannot write the store, left as it was: {exc}") from exc

    def _write_locked(self, incoming: pd.DataFrame, scopes: list[_Scope]) -> WriteSummary:
        old = self.manifest() or Manifest()
        check_layout(self.path)
        new = Manifest(version=old.version + 1, txid=uuid.uuid4().hex[:12],
                       committed=pd.Timestamp.now(tz="UTC").isoformat(),
                       partitions=dict(old.partitions), vintages=list(old.vintages))
        created: list[Path] = []
        changed: list[str] = []
        counts = {"new": 0, "changed": 0, "unchanged": 0, "archived": 0, "retired": 0}
        groups = {partition_key(values): part for values, part in
                  incoming.groupby(list(PARTITIONS), sort=True, dropna=False)}
        scoped = {k for scope in scopes for k in _select(old.partitions, scope.partition_filters())}
        try:
            for key in sorted(set(groups) | scoped):
                part = groups.get(key, incoming.iloc[0:0])
                entry = old.partitions.get(key)
                existing = _read_entry(self.path, entry, key) if entry else None
                files = [e for e in old.vintages if _parent_key(e.file) == key]
                archives = [e for e in files if not e.file.endswith(RETIRED_SUFFIX)]
                tombstones = [e for e in files if e.file.endswith(RETIRED_SUFFIX)]
                stale = part.iloc[0:0]
                if tombstones and len(part):  # rows a replace= write retired do not come back
                    dead = pd.concat([_read_entry(self.path, e, key) for e in tombstones], ignore_index=True)
                    gone = _retired_mask(part, dead)
                    stale, part = part.loc[gone], part.loc[~gone]
                if len(part):
                    merged, superseded, stats = _merge(existing, part)
                else:
                    merged = existing if existing is not None else _sort(incoming.iloc[0:0])
                    superseded, stats = merged.iloc[0:0], {"new": 0, "changed": 0, "unchanged": 0}
                for k in ("new", "changed", "unchanged"):
                    counts[k] += stats[k]
                superseded = pd.concat([superseded, stale], ignore_index=True)
                retired = _retire(merged, groups.get(key), scopes)
                if len(superseded):  # rows archived by an earlier write are not archived again
                    fresh = _not_archived(superseded, self.path, archives, key)
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
                    tomb = _tombstones(gone_rows, scopes)
                    self._new_file(tomb, path, created)
                    new.vintages.append(FileEntry.of(self.path, path, len(tomb)))
                if len(superseded):
                    path = self.path / VINTAGE_DIR / key / f"{new.txid}.parquet"
                    self._new_file(superseded, path, created)
                    new.vintages.append(FileEntry.of(self.path, path, len(superseded)))
                if stats["new"] or stats["changed"] or retired.any():
                    path = self.path / DATA_DIR / key / f"{new.version:06d}-{new.txid}.parquet"
                    self._new_file(merged, path, created, presorted=True)  # sorted by the key
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
            self._collect(old, new)
        return WriteSummary(
            rows_in=len(incoming), rows_new=counts["new"], rows_changed=counts["changed"],
            rows_unchanged=counts["unchanged"], rows_archived=counts["archived"],
            partitions_changed=len(changed), version=new.version if created else old.version,
            rows_retired=counts["retired"],
        )

    def _new_file(self, frame: pd.DataFrame, path: Path, created: list[Path],
                  presorted: bool = False) -> None:
        """Write a new immutable file of this write (never through a symbolic link)."""
        require_no_links(self.path, path.parent, "write")
        created.append(path)
        _write_file(frame, path, presorted=presorted)

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


def publish_partition(root: Path, key: str, entry: FileEntry) -> None:
    """Atomically replace ``<key>/part-0.parquet`` in the public view with a link to `entry`'s file.

    Refuses (:class:`StoreError`) to write through a symbolic link on the way to the view's file."""
    if not is_key(key):
        raise StoreError(f"{root}: refusing to publish partition {key!r}: not a partition key")
    target = root / key / DATA_FILE
    require_no_links(root, target.parent, "publish")
    if not target.is_symlink() and _durable.same_file(target, root / entry.file):
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
    return _with_partition(table, partition)


def _with_partition(table: pa.Table, partition: dict[str, str]) -> pd.DataFrame:
    for name in PARTITIONS:
        field = SCHEMA.field(name)
        table = table.append_column(field, pa.array([partition[name]] * len(table), type=field.type))
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


def _not_archived(rows: pd.DataFrame, root: Path, entries: list[FileEntry], key: str) -> pd.DataFrame:
    """`rows` without those already in one of the archive files `entries` (identical in every column)."""
    if not entries or rows.empty:
        return rows
    archived = pd.concat([_read_entry(root, e, key) for e in entries], ignore_index=True)
    hit = rows.merge(archived.drop_duplicates(), how="left", on=list(COLUMNS), indicator=True)
    return rows.loc[(hit["_merge"] == "left_only").to_numpy()].reset_index(drop=True)


def _retired_mask(frame: pd.DataFrame, dead: pd.DataFrame) -> np.ndarray:
    """Rows of `frame` a tombstone in `dead` retired: the observation has a tombstone whose vintage
    is not older than the row's (a null vintage is the oldest; the tombstone wins a tie)."""
    if dead.empty or frame.empty:
        return np.zeros(len(frame), dtype=bool)
    obs = list(OBSERVATION_KEY)
    last = latest_vintages(dead)[[*obs, "vintage"]].rename(columns={"vintage": "_retired_at"})
    hit = frame[[*obs, "vintage"]].merge(last, how="left", on=obs, indicator=True)
    at, vintage = hit["_retired_at"], hit["vintage"]
    killed = hit["_merge"].eq("both") & (vintage.isna() | (at.notna() & (vintage <= at)))
    return killed.to_numpy()


def _retire(merged: pd.DataFrame, release: pd.DataFrame | None, scopes: list[_Scope]) -> np.ndarray:
    """Rows of `merged` (a partition's current rows after the merge) that a scope of this write
    holds and the release (`release`, its rows of this partition) no longer has."""
    mask = np.zeros(len(merged), dtype=bool)
    if not scopes or merged.empty:
        return mask
    for scope in scopes:
        mask |= scope.retirable(merged)
    if mask.any() and release is not None and len(release):
        obs = list(OBSERVATION_KEY)
        held = merged[obs].merge(release[obs].drop_duplicates(), how="left", on=obs,
                                 indicator=True)["_merge"].eq("both").to_numpy()
        mask &= ~held
    return mask


def _tombstones(rows: pd.DataFrame, scopes: list[_Scope]) -> pd.DataFrame:
    """Tombstone rows for the retired `rows`: their key, the retiring release's vintage (the latest
    of the scopes that retired them), no values, flag :data:`RETIRED_FLAG`."""
    stamps = pd.Series(pd.NaT, index=rows.index, dtype=rows["vintage"].dtype)
    for scope in scopes:
        if pd.isna(scope.vintage):
            continue
        later = scope.retirable(rows) & (stamps.isna() | (stamps < scope.vintage)).to_numpy()
        stamps[later] = scope.vintage
    tomb = rows[list(KEY)].copy()
    tomb["vintage"] = stamps
    for name in COLUMNS:
        if name not in KEY:
            tomb[name] = RETIRED_FLAG if name == "flag" else None
    return from_table(to_table(tomb[list(COLUMNS)]))


def _write_file(frame: pd.DataFrame, path: Path, presorted: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = to_table(frame if presorted else _sort(frame)).drop_columns(list(PARTITIONS))
    with open(path, "wb") as handle:
        pq.write_table(table, handle, **_PARQUET_OPTIONS)
        handle.flush()
        os.fsync(handle.fileno())

__all__ = ["DATA_DIR", "DATA_FILE", "FILE_SCHEMA", "INTERNAL_DIRS", "LOCK_FILE", "MAX_CODE_LENGTH",
           "PARTITIONS", "PARTITION_SCHEMA", "QUARANTINE_DIR", "RETIRED_FLAG", "RETIRED_SUFFIX",
           "ROW_GROUP_ROWS", "SCOPE_COLUMNS", "VINTAGE_DIR", "Store", "WriteSummary", "check_codes",
           "check_layout", "default_path", "is_code", "is_key", "key_of", "links_between",
           "load_manifest", "partition_key", "partition_values", "publish_partition",
           "release_scope", "require_no_links"]
