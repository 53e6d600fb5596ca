"""The store's manifest: the one file whose atomic replacement commits a write.

``_manifest.json`` at the store root names, for every partition, the immutable data file holding
its current rows (``partitions``) or, for a partition stored as period chunks, one file per
calendar year of ``period`` (``chunks``: the partition's list of ``{"year": ..., "file": ...}``
entries), and every archive file of superseded rows, each with its row count, size in bytes and
sha256. A partition is in ``partitions`` or in ``chunks``, never both. Paths are relative to the
store root, so a store can be moved or copied. A write creates new files, fsyncs them, then
replaces the manifest with ``os.replace`` (atomic on POSIX and Windows) and fsyncs the root
directory: before that rename the store is in its old state, after it in its new state.
``retired`` lists the data files the commit replaced; they are deleted by the next commit, so a
reader that loaded the previous manifest can still open its files.

Format versions: 3 (written since period chunks) adds ``chunks``; a version 2 manifest (one file per
partition, no ``chunks``) is still read, and the next commit writes version 3.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import StoreError
from . import durable

MANIFEST = "_manifest.json"
FORMAT = "oilflows-store"
FORMAT_VERSION = 3
#: The format versions :func:`load` reads (2: one file per partition, before period chunks).
READABLE_VERSIONS = (2, 3)


@dataclass(frozen=True)
class FileEntry:
    """One immutable Parquet file of the store: path relative to the root, rows, bytes, sha256."""

    file: str
    rows: int
    bytes: int
    sha256: str

    @classmethod
    def of(cls, root: Path, file: Path, rows: int) -> FileEntry:
        """Describe `file` (under `root`) as it is on disk now."""
        return cls(file.relative_to(root).as_posix(), int(rows), file.stat().st_size,
                   durable.sha256_file(file))

    def to_json(self) -> dict:
        return {"file": self.file, "rows": self.rows, "bytes": self.bytes, "sha256": self.sha256}


@dataclass
class Manifest:
    """The committed state: ``partitions`` maps ``source=S/dataset=D/reporter=R`` to its data file,
    ``chunks`` a partition stored as period chunks to its files by calendar year of ``period``."""

    version: int = 0
    txid: str = ""
    committed: str = ""
    partitions: dict[str, FileEntry] = field(default_factory=dict)
    vintages: list[FileEntry] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    chunks: dict[str, dict[int, FileEntry]] = field(default_factory=dict)

    def partition_keys(self) -> set[str]:
        """Every partition this manifest names (one file or chunks)."""
        return set(self.partitions) | set(self.chunks)

    def current(self, key: str) -> list[FileEntry]:
        """The files holding partition `key`'s current rows (none if it has none)."""
        if key in self.chunks:
            return [self.chunks[key][year] for year in sorted(self.chunks[key])]
        return [self.partitions[key]] if key in self.partitions else []

    def current_files(self) -> list[FileEntry]:
        """Every file of current rows, one-file partitions and chunks."""
        return [*self.partitions.values(), *(e for years in self.chunks.values() for e in years.values())]

    def rows(self, key: str) -> int:
        """Current rows of partition `key`."""
        return sum(e.rows for e in self.current(key))

    def files(self) -> set[str]:
        """Every file this manifest keeps alive (current, archived and retired), root-relative."""
        return ({e.file for e in self.current_files()} | {e.file for e in self.vintages}
                | set(self.retired))

    def to_json(self) -> dict:
        return {
            "format": FORMAT, "format_version": FORMAT_VERSION, "version": self.version,
            "txid": self.txid, "committed": self.committed,
            "partitions": {k: v.to_json() for k, v in sorted(self.partitions.items())},
            "chunks": {k: [{"year": year, **years[year].to_json()} for year in sorted(years)]
                       for k, years in sorted(self.chunks.items())},
            "vintages": [v.to_json() for v in self.vintages],
            "retired": sorted(self.retired),
        }


def load(root: Path) -> Manifest | None:
    """The committed manifest of the store at `root`, or None if there is none."""
    path = root / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"{path}: cannot read the manifest: {exc}") from exc
    try:
        payload = json.loads(text)
        if payload.get("format") != FORMAT:
            raise ValueError(f"not an oilflows manifest (format {payload.get('format')!r})")
        version = payload.get("format_version")
        if isinstance(version, bool) or version not in READABLE_VERSIONS:
            raise ValueError(f"format_version {version!r}, this oilflows reads "
                             f"{' and '.join(map(str, READABLE_VERSIONS))}")
        return Manifest(
            version=int(payload["version"]), txid=str(payload["txid"]),
            committed=str(payload["committed"]),
            partitions={k: FileEntry(**v) for k, v in payload["partitions"].items()},
            vintages=[FileEntry(**v) for v in payload["vintages"]],
            retired=list(payload["retired"]),
            chunks=_chunks(payload["chunks"]) if version >= 3 else {},
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"{path}: the manifest is damaged: {exc}") from exc


def _chunks(payload: dict) -> dict[str, dict[int, FileEntry]]:
    """``chunks`` of a version 3 manifest: each partition's list of entries, by year (a year listed
    twice, or not an integer, is a :class:`ValueError`)."""
    chunks: dict[str, dict[int, FileEntry]] = {}
    for key, items in payload.items():
        if not isinstance(items, list):
            raise ValueError(f"chunks of {key!r} are not a list")
        years: dict[int, FileEntry] = {}
        for item in items:
            fields = dict(item)
            year = fields.pop("year")
            if not isinstance(year, int) or isinstance(year, bool):
                raise ValueError(f"a chunk of {key!r} has year {year!r}, not an integer")
            if year in years:
                raise ValueError(f"partition {key!r} lists year {year} twice")
            years[year] = FileEntry(**fields)
        chunks[key] = years
    return chunks


def commit(root: Path, manifest: Manifest) -> None:
    """Publish `manifest` atomically: temporary file, fsync, rename over the old one, fsync root."""
    tmp = root / f"{MANIFEST}.{manifest.txid}.tmp"
    durable.write_bytes(tmp, json.dumps(manifest.to_json(), indent=1).encode("utf-8"))
    try:
        os.replace(tmp, root / MANIFEST)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    durable.fsync_dir(root)


def temporaries(root: Path) -> list[Path]:
    """Manifests written by a commit that did not finish (removed by a repair)."""
    return sorted(root.glob(f"{MANIFEST}.*.tmp"))

__all__ = ["FORMAT", "FORMAT_VERSION", "MANIFEST", "READABLE_VERSIONS", "FileEntry", "Manifest",
           "commit", "load", "temporaries"]
