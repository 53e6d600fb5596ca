"""The store's Parquet files: writing a new immutable file (fsync'd), reading a committed one checked
against its manifest entry (size, sha256), and publishing a partition's files in the public view."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import StoreError
from ..schema import KEY, SCHEMA, from_table, to_table
from . import durable
from .incoming import key_order
from .layout import (
    DATA_FILE,
    FILE_SCHEMA,
    PARQUET_OPTIONS,
    PARTITIONS,
    ROW_GROUP_ROWS,
    is_key,
    is_view_name,
    links_between,
    partition_values,
    require_no_links,
)
from .manifest import FileEntry


def file_problem(path: Path, entry: FileEntry, data: bytes | None = None) -> str | None:
    """Why the bytes of `path` (or `data`, read from it) are not `entry`'s; None if they are."""
    if data is None:
        data = path.read_bytes()
    if len(data) != entry.bytes:
        return f"size {len(data)} bytes, the manifest says {entry.bytes}"
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry.sha256:
        return f"sha256 {digest[:12]}... differs from the manifest's {entry.sha256[:12]}..."
    return None


def read_entry(root: Path, entry: FileEntry, key: str) -> pd.DataFrame:
    """The rows of a committed file, checked against the manifest (size and sha256) as they are read:
    :class:`StoreError` naming the file if it is missing, a link, or damaged."""
    return with_partition(_read_table(root, entry, key), partition_values(key))


def _read_table(root: Path, entry: FileEntry, key: str) -> pa.Table:
    path = root / entry.file
    if path.is_symlink() or not path.is_file():
        raise StoreError(f"{path}: the data file of {key} is missing; run `oilflows store repair` "
                         "(it restores the file from the public view if that still holds it, else sets "
                         "the partition aside to be re-fetched); other partitions are unaffected")
    data = path.read_bytes()
    problem = file_problem(path, entry, data)
    if problem is not None:
        raise StoreError(f"{path}: unreadable partition file: {problem} (damaged); run `oilflows "
                         "store repair`; other partitions are unaffected")
    try:
        return pq.read_table(pa.BufferReader(data), schema=FILE_SCHEMA)
    except (pa.ArrowInvalid, OSError) as exc:
        raise StoreError(f"{path}: unreadable partition file: {exc}") from exc



def read_entries(root: Path, entries: list[FileEntry], key: str) -> tuple[pd.DataFrame, list[int]]:
    """The rows of several committed files of partition `key` (a chunked partition's years), one
    file after the other, each checked as by :func:`read_entry`, with one conversion to pandas for
    all; and the number of rows of each file."""
    tables = [_read_table(root, entry, key) for entry in entries]
    table = pa.concat_tables(tables) if tables else FILE_SCHEMA.empty_table()
    return with_partition(table, partition_values(key)), [t.num_rows for t in tables]


def publish_partition(root: Path, key: str, entry: FileEntry, *, sync: bool = True,
                      name: str = DATA_FILE) -> bool:
    """Atomically replace ``<key>/<name>`` (``part-0.parquet``, or a chunk's ``part-<YYYY>.parquet``)
    in the public view with a link to `entry`'s file.

    Refuses (:class:`StoreError`) to write through a symbolic link on the way to the view's file.
    Returns whether the view changed; with ``sync=False`` the caller fsyncs the partition's
    directory afterwards (a writer publishing many partitions syncs them side by side)."""
    if not is_key(key) or not is_view_name(name):
        raise StoreError(f"{root}: refusing to publish {key!r}/{name!r}: not a partition's view file")
    target = root / key / name
    require_no_links(root, target.parent, "publish")
    if not target.is_symlink() and durable.same_file(target, root / entry.file):
        return False
    tmp = target.with_name(f".{name}.{uuid.uuid4().hex[:8]}.tmp")
    durable.link_or_copy(root / entry.file, tmp)
    try:
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if sync:
        durable.fsync_dir(target.parent)
    return True



def obsolete_views(root: Path, key: str, keep: set[str] | dict) -> list[Path]:
    """Files of partition `key`'s public view directory with a view file's name (``part-0.parquet``,
    ``part-<YYYY>.parquet``) that are not in `keep`: a ``part-0.parquet`` left when the partition
    became chunks, a chunk whose rows were all retired. Symbolic links are not listed (``repair``
    moves them aside)."""
    folder = root / key
    if links_between(root, folder) is not None or not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if is_view_name(p.name) and p.name not in keep and not p.is_symlink() and p.is_file())


def publish_view(root: Path, key: str, views: dict[str, FileEntry], *, sync: bool = True) -> bool:
    """Publish every file of partition `key`'s view (`views`: file name -> entry; see
    :func:`~oilflows.store.layout.view_files`), then remove the view files it no longer has.

    In that order: a partition that becomes chunks has its year files linked (and the directory
    synced) before ``part-0.parquet`` is removed, so an outside reader listing the directory in
    between sees the rows of the changed years twice, never none (see :mod:`oilflows.store`).
    Returns whether the view changed."""
    changed = False
    for name, entry in views.items():
        changed |= publish_partition(root, key, entry, sync=False, name=name)
    obsolete = obsolete_views(root, key, views)
    if obsolete and changed and sync:
        durable.fsync_dir(root / key)  # the new names are on disk before the old one goes
    for path in obsolete:
        path.unlink(missing_ok=True)
    changed |= bool(obsolete)
    if changed and sync and (root / key).is_dir():
        durable.fsync_dir(root / key)
    return changed


def read_partition(path: Path, partition: dict[str, str]) -> pd.DataFrame | None:
    if not path.exists():
        return None
    try:
        table = pq.read_table(path, schema=FILE_SCHEMA)
    except (pa.ArrowInvalid, OSError) as exc:
        raise StoreError(f"{path}: unreadable partition file: {exc}") from exc
    return with_partition(table, partition)


def with_partition(table: pa.Table, partition: dict[str, str]) -> pd.DataFrame:
    for name in PARTITIONS:
        field = SCHEMA.field(name)
        value = pa.scalar(partition[name], type=field.type)
        table = table.append_column(field, pa.repeat(value, len(table)))
    return from_table(table)



def sort_rows(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(KEY), na_position="first", kind="stable").reset_index(drop=True)


def write_file(rows: pd.DataFrame | pa.Table, path: Path, root: Path, presorted: bool = False,
               row_group_size: int = ROW_GROUP_ROWS) -> FileEntry:
    """Write `rows` (a canonical frame, or an Arrow table with :data:`SCHEMA`) as a new Parquet file
    at `path`, fsync it, and return its manifest entry (paths relative to `root`).

    The file is encoded in memory, hashed there and written with one call: its sha256 and size come
    from the bytes written, not from reading the file back. Rows are sorted by the key unless
    `presorted`; row groups hold `row_group_size` rows (:data:`~oilflows.store.layout.CHUNK_ROW_GROUP_ROWS`
    for a chunk file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(rows, pa.Table):
        table = rows if presorted else rows.take(key_order(rows))
    else:
        table = to_table(rows if presorted else sort_rows(rows))
    table = table.drop_columns([name for name in PARTITIONS if name in table.column_names])
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, **{**PARQUET_OPTIONS, "row_group_size": row_group_size})
    data = sink.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return FileEntry(path.relative_to(root).as_posix(), table.num_rows, data.size, digest)

__all__ = ["file_problem", "obsolete_views", "publish_partition", "publish_view", "read_entries",
           "read_entry", "read_partition", "sort_rows", "with_partition", "write_file"]
