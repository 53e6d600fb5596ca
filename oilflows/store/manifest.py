"""The store's manifest: the one file whose atomic replacement commits a write.

``_manifest.json`` at the store root names, for every partition, the immutable data file holding
its current rows, and every archive file of superseded rows, each with its row count, size in bytes
and sha256. Paths are relative to the store root, so a store can be moved or copied. A write
creates new files, fsyncs them, then replaces the manifest with ``os.replace`` (atomic on POSIX and
Windows) and fsyncs the root directory: before that rename the store is in its old state, after it
in its new state. ``retired`` lists the data files the commit replaced; they are deleted by the next
commit, so a reader that loaded the previous manifest can still open its files.
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
FORMAT_VERSION = 2


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
    """The committed state: ``partitions`` maps ``source=S/dataset=D/reporter=R`` to its data file."""

    version: int = 0
    txid: str = ""
    committed: str = ""
    partitions: dict[str, FileEntry] = field(default_factory=dict)
    vintages: list[FileEntry] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)

    def files(self) -> set[str]:
        """Every file this manifest keeps alive (current, archived and retired), root-relative."""
        return ({e.file for e in self.partitions.values()} | {e.file for e in self.vintages}
                | set(self.retired))

    def to_json(self) -> dict:
        return {
            "format": FORMAT, "format_version": FORMAT_VERSION, "version": self.version,
            "txid": self.txid, "committed": self.committed,
            "partitions": {k: v.to_json() for k, v in sorted(self.partitions.items())},
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
        if payload.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"format_version {payload.get('format_version')!r}, "
                             f"this oilflows reads {FORMAT_VERSION}")
        return Manifest(
            version=int(payload["version"]), txid=str(payload["txid"]),
            committed=str(payload["committed"]),
            partitions={k: FileEntry(**v) for k, v in payload["partitions"].items()},
            vintages=[FileEntry(**v) for v in payload["vintages"]],
            retired=list(payload["retired"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"{path}: the manifest is damaged: {exc}") from exc


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

__all__ = ["FORMAT", "FORMAT_VERSION", "MANIFEST", "FileEntry", "Manifest", "commit", "load",
           "temporaries"]
