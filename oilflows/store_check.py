"""Store verification and repair: check files against the manifest, roll back incomplete commits.

:func:`verify` reads without a lock and changes nothing; :func:`repair` runs under the store's write
lock (call it through :meth:`Store.repair`), as does :func:`recover`, which every write runs first.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow.parquet as pq

from . import _durable
from . import store_manifest as manifests
from .errors import SchemaError, StoreError
from .schema import validate
from .store_manifest import FileEntry, Manifest

if TYPE_CHECKING:
    from .store import Store

log = logging.getLogger(__name__)

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Problem:
    """One finding of :func:`verify`: ``severity`` ('error' = data damaged or missing; 'warning' =
    leftovers of an interrupted write that ``repair`` clears), the root-relative ``path``, and what."""

    severity: str
    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.path}: {self.problem}"


@dataclass
class VerifyReport:
    """What :func:`verify` found. ``ok`` is True when no file is damaged or missing."""

    root: Path
    version: int | None
    files_checked: int = 0
    rows_checked: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.severity == ERROR for p in self.problems)

    @property
    def clean(self) -> bool:
        """True when there is nothing to report at all (no errors and no warnings)."""
        return not self.problems

    def summary(self) -> str:
        head = (f"store {self.root}: manifest version {self.version}, {self.files_checked} files, "
                f"{self.rows_checked:,} rows checked: "
                + ("OK" if self.clean else "OK with warnings" if self.ok else "DAMAGED"))
        return "\n".join([head, *(f"  {p}" for p in self.problems)])

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([vars(p) for p in self.problems], columns=["severity", "path", "problem"])


@dataclass
class RepairReport:
    """What :func:`repair` did (``actions``, one line each) and the manifest version afterwards."""

    root: Path
    version: int | None
    actions: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"store {self.root}: manifest version {self.version}: "
                 + (f"{len(self.actions)} repairs" if self.actions else "nothing to repair")]
        return "\n".join(lines + [f"  {a}" for a in self.actions])


# -- verify -------------------------------------------------------------------------------------------


_VERIFY_ATTEMPTS = 5


def verify(store: Store, *, deep: bool = True) -> VerifyReport:
    """Check the store at ``store.path`` against its manifest; see :meth:`Store.verify`.

    Takes no lock: if a writer commits while files are checked (and collects files of an old
    state), the check starts again on the new manifest.
    """
    for _ in range(_VERIFY_ATTEMPTS):
        report = _verify_once(store, deep)
        if report.ok or _version(store.path) == report.version:
            return report
    return report


def _version(root: Path) -> int | None:
    try:
        manifest = manifests.load(root)
    except StoreError:
        return None
    return manifest.version if manifest else None


def _verify_once(store: Store, deep: bool) -> VerifyReport:
    from .store import _parent_key

    root = store.path
    try:
        manifest = manifests.load(root)
    except StoreError as exc:
        report = VerifyReport(root, None)
        report.problems.append(Problem(ERROR, manifests.MANIFEST, str(exc)))
        return report
    report = VerifyReport(root, manifest.version if manifest else None)
    _leftovers(root, report)
    if manifest is None:
        if _view_files(root):
            report.problems.append(Problem(WARNING, manifests.MANIFEST,
                                           "no manifest (a store written by oilflows 0.1); "
                                           "`repair` adopts its files"))
        return report
    for key, entry in sorted(manifest.partitions.items()):
        _check_entry(root, entry, key, deep, report)
    for entry in manifest.vintages:
        _check_entry(root, entry, _parent_key(entry.file), deep, report)
    for rel in _unreferenced(root, manifest):
        report.problems.append(Problem(WARNING, rel, "not named by the manifest (left by an "
                                       "interrupted write); `repair` deletes it"))
    _check_view(root, manifest, deep, report)
    return report


def _unreferenced(root: Path, manifest: Manifest) -> list[str]:
    """Root-relative paths of files under ``_data``/``_vintages`` that `manifest` does not name."""
    from .store import DATA_DIR, VINTAGE_DIR

    known = manifest.files()
    found = []
    for folder in (DATA_DIR, VINTAGE_DIR):
        for path in sorted((root / folder).rglob("*")) if (root / folder).exists() else []:
            rel = path.relative_to(root).as_posix()
            if path.is_file() and rel not in known:
                found.append(rel)
    return found


def _view_matches(root: Path, view: Path, entry: FileEntry, deep: bool) -> bool:
    """Whether the public view file holds `entry`'s bytes: the same file (a hard link), or a copy of
    the same size (and, if `deep`, the same sha256)."""
    if _durable.same_file(view, root / entry.file):
        return True
    try:
        if view.stat().st_size != entry.bytes:
            return False
        return not deep or _durable.sha256_file(view) == entry.sha256
    except OSError:
        return False


def _view_kind(rel: str, expected: set[str] | dict) -> str:
    """What a file in the public view is: 'current' (named by the manifest), 'temporary' (a link
    oilflows was publishing), 'hidden' (a ``.`` or ``_`` name other engines skip, left alone) or
    'foreign' (anything else: other engines would read it as data)."""
    from .store import DATA_FILE

    name = rel.rsplit("/", 1)[-1]
    if rel in expected:
        return "current"
    if name.startswith(f".{DATA_FILE}.") and name.endswith(".tmp"):
        return "temporary"
    if name.startswith((".", "_")):
        return "hidden"
    return "foreign"


def _leftovers(root: Path, report: VerifyReport) -> None:
    for tmp in manifests.temporaries(root):
        report.problems.append(Problem(WARNING, tmp.name, "manifest of a write that did not commit; "
                                       "`repair` deletes it"))
    for folder in ("_staging", "_journal"):
        if (root / folder).exists() and any((root / folder).iterdir()):
            report.problems.append(Problem(WARNING, folder, "an oilflows 0.1 write was interrupted; "
                                           "`repair` completes or removes it"))


def _check_entry(root: Path, entry: FileEntry, key: str, deep: bool, report: VerifyReport) -> None:
    path = root / entry.file
    report.files_checked += 1
    try:
        size = path.stat().st_size
    except OSError:
        report.problems.append(Problem(ERROR, entry.file, "missing"))
        return
    if size != entry.bytes:
        report.problems.append(Problem(ERROR, entry.file,
                                       f"size {size} bytes, the manifest says {entry.bytes}"))
        return
    if not deep:
        report.rows_checked += entry.rows
        return
    try:
        digest = _durable.sha256_file(path)
    except OSError as exc:
        report.problems.append(Problem(ERROR, entry.file, f"unreadable: {exc}"))
        return
    if digest != entry.sha256:
        report.problems.append(Problem(ERROR, entry.file, f"sha256 {digest[:12]}... differs from "
                                       f"the manifest's {entry.sha256[:12]}..."))
        return
    from .store import _read_partition, partition_values

    try:
        frame = _read_partition(path, partition_values(key))
        validate(frame)
    except (StoreError, SchemaError) as exc:
        report.problems.append(Problem(ERROR, entry.file, str(exc)))
        return
    if len(frame) != entry.rows:
        report.problems.append(Problem(ERROR, entry.file,
                                       f"{len(frame)} rows, the manifest says {entry.rows}"))
        return
    report.rows_checked += len(frame)


def _view_files(root: Path) -> list[Path]:
    return sorted(p for p in root.glob("source=*/**/*") if p.is_file())


def _check_view(root: Path, manifest: Manifest, deep: bool, report: VerifyReport) -> None:
    from .store import DATA_FILE

    expected = {f"{key}/{DATA_FILE}": entry for key, entry in manifest.partitions.items()}
    for rel, entry in sorted(expected.items()):
        view = root / rel
        if not view.is_file():
            report.problems.append(Problem(WARNING, rel, "public view lacks this partition "
                                           "(publishing was interrupted); `repair` links it"))
        elif not _view_matches(root, view, entry, deep):
            report.problems.append(Problem(WARNING, rel, "public view is older than the manifest "
                                           "(publishing was interrupted); `repair` re-links it"))
    for path in _view_files(root):
        rel = path.relative_to(root).as_posix()
        kind = _view_kind(rel, expected)
        if kind == "temporary":
            report.problems.append(Problem(WARNING, rel, "temporary link of an interrupted publish; "
                                           "`repair` deletes it"))
        elif kind == "foreign":
            report.problems.append(Problem(ERROR, rel, "foreign file in the public view: other "
                                           "engines read it as data; `repair` moves it to _quarantine"))


# -- repair -------------------------------------------------------------------------------------------


def recover(store: Store) -> None:
    """Run :func:`repair` before a write (the lock is held); log what it did."""
    report = repair(store)
    for action in report.actions:
        log.info("%s: %s", store.path, action)


def repair(store: Store) -> RepairReport:
    """Roll back what an interrupted write left and re-publish the view; the caller holds the lock."""
    from .store import DATA_FILE, publish_partition

    root = store.path
    report = RepairReport(root, None)
    if not root.exists():
        return report
    _finish_legacy_journal(root, report)
    for tmp in manifests.temporaries(root):
        tmp.unlink()
        report.actions.append(f"deleted {tmp.name} (a write that did not commit)")
    manifest = manifests.load(root)
    if manifest is None:
        manifest = _adopt_legacy(root, report)
        if manifest is None:
            return report
    report.version = manifest.version
    for rel in _unreferenced(root, manifest):
        (root / rel).unlink()
        report.actions.append(f"deleted {rel} (written by a write that did not commit)")
    expected = {f"{key}/{DATA_FILE}" for key in manifest.partitions}
    for path in _view_files(root):
        rel = path.relative_to(root).as_posix()
        kind = _view_kind(rel, expected)
        if kind == "temporary":
            path.unlink()
            report.actions.append(f"deleted {rel} (temporary link of an interrupted publish)")
        elif kind == "foreign":
            target = root / "_quarantine" / rel
            while target.exists():  # never overwrite what an earlier repair set aside
                target = target.with_name(target.name + ".1")
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
            report.actions.append(f"moved foreign file {rel} to _quarantine/")
    for key, entry in sorted(manifest.partitions.items()):
        view = root / key / DATA_FILE
        if not _durable.same_file(view, root / entry.file):  # stale, or a copy (a copied store)
            publish_partition(root, key, entry)
            report.actions.append(f"re-linked {key}/{DATA_FILE} to {entry.file}")
    return report


def _finish_legacy_journal(root: Path, report: RepairReport) -> None:
    """Complete an interrupted oilflows 0.1 commit (journal of staged -> target renames)."""
    journal_dir = root / "_journal"
    for journal in sorted(journal_dir.glob("*.json")) if journal_dir.exists() else []:
        try:
            moves = json.loads(journal.read_text())
        except ValueError:  # torn while being written: no file had been moved yet
            journal.unlink()
            report.actions.append(f"deleted torn 0.1 journal {journal.name}")
            continue
        for source, target in moves:
            if Path(source).exists():
                Path(target).parent.mkdir(parents=True, exist_ok=True)
                os.replace(source, target)
        journal.unlink()
        report.actions.append(f"completed 0.1 commit {journal.stem}")
    if journal_dir.exists() and not any(journal_dir.iterdir()):
        journal_dir.rmdir()
    if (root / "_staging").exists():
        shutil.rmtree(root / "_staging")
        report.actions.append("deleted _staging (0.1 write that did not commit)")


def _adopt_legacy(root: Path, report: RepairReport) -> Manifest | None:
    """Write a manifest for a store whose files were written by oilflows 0.1 (no manifest)."""
    from .store import DATA_DIR, DATA_FILE, VINTAGE_DIR, _read_partition, partition_values

    views = sorted(root.glob(f"source=*/dataset=*/reporter=*/{DATA_FILE}"))
    archives = sorted((root / VINTAGE_DIR).rglob("*.parquet")) if (root / VINTAGE_DIR).exists() else []
    if not views and not archives:
        return None
    manifest = Manifest(version=1, txid="adopted", committed=pd.Timestamp.now(tz="UTC").isoformat())
    for view in views:
        key = view.parent.relative_to(root).as_posix()
        data = root / DATA_DIR / key / "000001-adopted.parquet"
        data.unlink(missing_ok=True)
        _durable.link_or_copy(view, data)
        rows = pq.read_metadata(data).num_rows
        manifest.partitions[key] = FileEntry.of(root, data, rows)
    for archive in archives:
        key = archive.parent.relative_to(root / VINTAGE_DIR).as_posix()
        _read_partition(archive, partition_values(key))  # unreadable files are not adopted
        manifest.vintages.append(FileEntry.of(root, archive, pq.read_metadata(archive).num_rows))
    manifests.commit(root, manifest)
    report.actions.append(f"adopted an oilflows 0.1 store: {len(views)} partitions, "
                          f"{len(archives)} archive files")
    return manifest
