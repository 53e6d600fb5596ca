"""The store's layout: partition columns, directory and file names, and the checks that keep every
path the store touches inside it (codes, partition keys, manifest paths, symbolic links).

See :mod:`oilflows.store` for the layout itself. Nothing here reads or writes Parquet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pyarrow as pa

from ..errors import SchemaError, StoreError
from ..schema import SCHEMA
from . import manifest as manifests
from .manifest import FileEntry, Manifest

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
#: A partition with more current rows than this is stored as period chunks: one file per calendar
#: year of ``period`` (``part-<YYYY>.parquet`` in the public view), so that a revision rewrites only
#: the years it touches. Smaller partitions are one file (``part-0.parquet``). Read at each write.
CHUNK_ROWS = 4 * ROW_GROUP_ROWS
#: Years a chunk may have (four digits: ``part-<YYYY>.parquet`` never clashes with ``part-0``).
CHUNK_YEARS = range(1000, 10000)
#: Names of the public view's files: ``part-0.parquet`` (one file) or ``part-<YYYY>.parquet``.
_VIEW_NAME = re.compile(r"part-(0|[1-9][0-9]{3})\.parquet")
_CHUNK_SUFFIX = re.compile(r"-([1-9][0-9]{3})\.parquet\Z")
#: Options of every Parquet file the store writes.
PARQUET_OPTIONS = {"compression": "zstd", "write_statistics": True, "row_group_size": ROW_GROUP_ROWS}
#: Rows per row group of a chunk file. A year's file holds every partner of that year, so a query
#: for one series reads one row group from each year. On the 21 year files of a 1 M-row partition
#: (48,000 rows each), one reporter-partner series / the whole partition / the bytes: 64 Ki rows
#: 0.081 s / 0.081 s / 9.1 MB; 16 Ki rows 0.033 s / 0.087 s / 10.7 MB; 8 Ki rows 0.023 s / 0.113 s /
#: 11.2 MB (one file of 64 Ki-row groups: 0.006 s / 0.070 s / 8.8 MB). 16 Ki keeps whole reads
#: within a quarter of one file's.
CHUNK_ROW_GROUP_ROWS = 16 * 1024


def chunk_view(year: int) -> str:
    """The public view's file name of a partition's chunk of `year`: ``part-<YYYY>.parquet``."""
    return f"part-{year:04d}.parquet"


def is_view_name(name: str) -> bool:
    """Whether `name` is a name the store gives the public view's files (``part-0.parquet`` or
    ``part-<YYYY>.parquet``)."""
    return _VIEW_NAME.fullmatch(name) is not None


def chunk_file_year(name: str) -> int | None:
    """The year in the name of a chunk's data file (``<version>-<txid>-<YYYY>.parquet``), or None."""
    match = _CHUNK_SUFFIX.search(name)
    return int(match.group(1)) if match else None


def view_files(manifest: Manifest, key: str) -> dict[str, FileEntry]:
    """The public view's files of partition `key` (file name -> the entry it links to)."""
    if key in manifest.chunks:
        return {chunk_view(year): entry for year, entry in sorted(manifest.chunks[key].items())}
    return {DATA_FILE: manifest.partitions[key]} if key in manifest.partitions else {}


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
            or not isinstance(manifest.vintages, list) or not isinstance(manifest.retired, list) \
            or not isinstance(manifest.chunks, dict) \
            or not all(isinstance(years, dict) for years in manifest.chunks.values()):
        raise bad("wrong types at the top level")
    for entry in [*manifest.current_files(), *manifest.vintages]:
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
    for key, years in manifest.chunks.items():
        if not is_key(key):
            raise bad(f"chunked partition {key!r} is not source=S/dataset=D/reporter=R of codes")
        if key in manifest.partitions:
            raise bad(f"partition {key!r} is named both as one file and as chunks")
        for year, entry in years.items():
            if not isinstance(year, int) or isinstance(year, bool) or year not in CHUNK_YEARS:
                raise bad(f"partition {key!r} has a chunk of year {year!r}, not a year of four digits")
            if key_of(entry.file, (DATA_DIR,)) != key:
                raise bad(f"chunk {year} of {key!r} names {entry.file!r}, not a file under "
                          f"{DATA_DIR}/{key}/")
            if chunk_file_year(entry.file.rsplit("/", 1)[-1]) != year:
                raise bad(f"chunk {year} of {key!r} names {entry.file!r}, whose name does not end "
                          f"in -{year}.parquet")
    for entry in manifest.vintages:
        if key_of(entry.file, (VINTAGE_DIR,)) is None:
            raise bad(f"archive {entry.file!r} is not a file under {VINTAGE_DIR}/source=.../")
    named = [e.file for e in manifest.current_files()] + [e.file for e in manifest.vintages]
    if len(set(named)) != len(named):
        twice = sorted({f for f in named if named.count(f) > 1})
        raise bad(f"{twice[0]!r} is named twice")
    live = set(named)
    for rel in manifest.retired:
        if key_of(rel) is None:
            raise bad(f"retired file {rel!r} is not a file of this store's layout")
        if rel in live:
            raise bad(f"retired file {rel!r} is still named as current or archived data")



def parent_key(rel: str) -> str:
    """``source=S/dataset=D/reporter=R`` of a root-relative file path under ``_data``/``_vintages``."""
    return "/".join(rel.split("/")[1:-1])


def select_keys(keys: Iterable[str], filters: dict) -> list[str]:
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

__all__ = ["CHUNK_ROWS", "CHUNK_ROW_GROUP_ROWS", "CHUNK_YEARS", "DATA_DIR", "DATA_FILE", "FILE_SCHEMA",
           "INTERNAL_DIRS",
           "LOCK_FILE", "MAX_CODE_LENGTH", "PARQUET_OPTIONS", "PARTITIONS", "PARTITION_SCHEMA",
           "QUARANTINE_DIR", "RETIRED_FLAG", "RETIRED_SUFFIX", "ROW_GROUP_ROWS", "SCOPE_COLUMNS",
           "VINTAGE_DIR", "check_codes", "check_layout", "chunk_file_year", "chunk_view", "is_code",
           "is_key", "is_view_name", "key_of", "links_between", "load_manifest", "parent_key",
           "partition_key", "partition_values", "require_no_links", "select_keys", "view_files"]
