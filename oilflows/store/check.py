"""Store verification and repair: check files against the manifest, roll back incomplete commits.

:func:`verify` reads without a lock and changes nothing; :func:`repair` runs under the store's write
lock (call it through :meth:`Store.repair`), as does :func:`recover`, which every write runs first.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pandas as pd
import pyarrow.parquet as pq

from ..errors import SchemaError, StoreError
from ..schema import validate
from . import durable
from . import manifest as manifests
from .files import obsolete_views, publish_partition, read_partition
from .layout import (
    DATA_DIR,
    DATA_FILE,
    INTERNAL_DIRS,
    QUARANTINE_DIR,
    VINTAGE_DIR,
    check_layout,
    chunk_view,
    is_key,
    is_view_name,
    key_of,
    links_between,
    load_manifest,
    parent_key,
    partition_values,
    require_no_links,
    view_files,
)
from .manifest import FileEntry, Manifest


class StoreLike(Protocol):
    """What verify and repair need of a :class:`oilflows.store.Store`: its root directory."""

    path: Path

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


def verify(store: StoreLike, *, deep: bool = True) -> VerifyReport:
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
        manifest = load_manifest(root)
    except StoreError:
        return None
    return manifest.version if manifest else None


def _verify_once(store: StoreLike, deep: bool) -> VerifyReport:

    root = store.path
    try:
        manifest = load_manifest(root)
    except StoreError as exc:
        report = VerifyReport(root, None)
        report.problems.append(Problem(ERROR, manifests.MANIFEST, str(exc)))
        return report
    report = VerifyReport(root, manifest.version if manifest else None)
    links = [name for name in INTERNAL_DIRS if (root / name).is_symlink()]
    for name in links:
        report.problems.append(Problem(ERROR, name, "a symbolic link: oilflows does not follow links "
                                       "out of its store, so writes and repairs refuse to run; move "
                                       "the directory into the store"))
    if links:
        return report
    _leftovers(root, report)
    if manifest is None:
        if _view_entries(root):
            report.problems.append(Problem(WARNING, manifests.MANIFEST,
                                           "no manifest (a store written by oilflows 0.1); "
                                           "`repair` adopts its files"))
        return report
    for key in sorted(manifest.partition_keys()):
        for year, entry in _current(manifest, key):
            _check_entry(root, entry, key, deep, report, year)
    for entry in manifest.vintages:
        _check_entry(root, entry, parent_key(entry.file), deep, report)
    for rel in _unreferenced(root, manifest):
        report.problems.append(Problem(WARNING, rel, "not named by the manifest (left by an "
                                       "interrupted write); `repair` deletes it"))
    _check_view(root, manifest, deep, report)
    return report


def _current(manifest: Manifest, key: str) -> list[tuple[int | None, FileEntry]]:
    """The files of partition `key`'s current rows, each with its chunk's year (None: one file)."""
    if key in manifest.chunks:
        return sorted(manifest.chunks[key].items())
    return [(None, manifest.partitions[key])] if key in manifest.partitions else []


def _expected_views(manifest: Manifest) -> dict[str, FileEntry]:
    """The public view's files the manifest calls for (root-relative path -> entry)."""
    return {f"{key}/{name}": entry for key in manifest.partition_keys()
            for name, entry in view_files(manifest, key).items()}


def _walk(top: Path) -> list[tuple[Path, bool]]:
    """Every file and symbolic link under `top` (or `top` itself if it is a link), as
    ``(path, is_link)``, without following links: nothing outside the store is ever listed."""
    if top.is_symlink():
        return [(top, True)]
    if not top.is_dir():
        return []
    found = []
    for folder, dirs, files in os.walk(top, followlinks=False):
        base = Path(folder)
        for name in sorted(dirs):  # a link to a directory is listed here, and not entered
            if (base / name).is_symlink():
                found.append((base / name, True))
        for name in sorted(files):
            found.append((base / name, (base / name).is_symlink()))
    return sorted(found)


def _unreferenced(root: Path, manifest: Manifest) -> list[str]:
    """Root-relative paths of files (and links) under ``_data``/``_vintages`` the manifest does not name."""

    known = manifest.files()
    found = []
    for folder in (DATA_DIR, VINTAGE_DIR):
        for path, is_link in _walk(root / folder):
            rel = path.relative_to(root).as_posix()
            if is_link or rel not in known:
                found.append(rel)
    return found


def _view_matches(root: Path, view: Path, entry: FileEntry, deep: bool) -> bool:
    """Whether the public view file holds `entry`'s bytes: the same file (a hard link), or a copy of
    the same size (and, if `deep`, the same sha256)."""
    if view.is_symlink():
        return False
    if durable.same_file(view, root / entry.file):
        return True
    try:
        if view.stat().st_size != entry.bytes:
            return False
        return not deep or durable.sha256_file(view) == entry.sha256
    except OSError:
        return False


_TEMPORARY_VIEW = re.compile(r"\.part-(0|[1-9][0-9]{3})\.parquet\..*\.tmp")


def _view_kind(rel: str, expected: set[str] | dict, is_link: bool = False,
               keys: set[str] | dict | None = None) -> str:
    """What an entry of the public view is: 'current' (named by the manifest), 'temporary' (a link
    oilflows was publishing), 'hidden' (a ``.`` or ``_`` name other engines skip, left alone),
    'link' (a symbolic link: other engines would follow it out of the store), 'obsolete' (a view
    file of a partition in `keys` that the manifest no longer calls for: the ``part-0.parquet`` of
    a partition now stored as chunks, a chunk whose rows were all retired) or 'foreign' (anything
    else: other engines would read it as data)."""

    folder, _, name = rel.rpartition("/")
    if _TEMPORARY_VIEW.fullmatch(name):
        return "temporary"
    if name.startswith((".", "_")):
        return "hidden"
    if is_link:
        return "link"
    if rel in expected:
        return "current"
    if keys is not None and folder in keys and is_view_name(name):
        return "obsolete"
    return "foreign"


def _leftovers(root: Path, report: VerifyReport) -> None:
    for tmp in manifests.temporaries(root):
        report.problems.append(Problem(WARNING, tmp.name, "manifest of a write that did not commit; "
                                       "`repair` deletes it"))
    for folder in ("_staging", "_journal"):
        if (root / folder).exists() and any((root / folder).iterdir()):
            report.problems.append(Problem(WARNING, folder, "an oilflows 0.1 write was interrupted; "
                                           "`repair` completes or removes it"))


def _entry_problem(root: Path, entry: FileEntry, deep: bool) -> str | None:
    """Why the committed file of `entry` is not as the manifest says (None if it is): missing, a
    symbolic link, reached through one, another size, or (if `deep`) another sha256."""

    path = root / entry.file
    if links_between(root, path.parent) is not None:
        return "reached through a symbolic link"
    if path.is_symlink():
        return "a symbolic link, not a data file"
    try:
        size = path.stat().st_size
    except OSError:
        return "missing"
    if size != entry.bytes:
        return f"size {size} bytes, the manifest says {entry.bytes}"
    if not deep:
        return None
    try:
        digest = durable.sha256_file(path)
    except OSError as exc:
        return f"unreadable: {exc}"
    if digest != entry.sha256:
        return f"sha256 {digest[:12]}... differs from the manifest's {entry.sha256[:12]}..."
    return None


def _check_entry(root: Path, entry: FileEntry, key: str, deep: bool, report: VerifyReport,
                 year: int | None = None) -> None:
    path = root / entry.file
    report.files_checked += 1
    problem = _entry_problem(root, entry, deep)
    if problem is not None:
        report.problems.append(Problem(ERROR, entry.file, problem))
        return
    if not deep:
        report.rows_checked += entry.rows
        return

    try:
        frame = read_partition(path, partition_values(key))
        if frame is None:
            raise StoreError(f"{path}: missing")
        validate(frame)
    except (StoreError, SchemaError) as exc:
        report.problems.append(Problem(ERROR, entry.file, str(exc)))
        return
    if len(frame) != entry.rows:
        report.problems.append(Problem(ERROR, entry.file,
                                       f"{len(frame)} rows, the manifest says {entry.rows}"))
        return
    if year is not None and (frame["period"].dt.year != year).any():
        report.problems.append(Problem(ERROR, entry.file, f"holds rows of other years than its "
                                       f"chunk's, {year}"))
        return
    report.rows_checked += len(frame)


def _view_entries(root: Path) -> list[tuple[Path, bool]]:
    """Files and links of the public view (everything under ``source=*``), links not followed."""
    tops = sorted(p for p in root.iterdir() if p.name.startswith("source=")) if root.is_dir() else []
    return [found for top in tops for found in _walk(top)]


def _check_view(root: Path, manifest: Manifest, deep: bool, report: VerifyReport) -> None:

    expected = _expected_views(manifest)
    keys = manifest.partition_keys()
    present = {path.relative_to(root).as_posix(): is_link for path, is_link in _view_entries(root)}
    for rel, entry in sorted(expected.items()):
        if rel not in present:
            report.problems.append(Problem(WARNING, rel, "public view lacks this partition "
                                           "(publishing was interrupted); `repair` links it"))
        elif not present[rel] and not _view_matches(root, root / rel, entry, deep):
            report.problems.append(Problem(WARNING, rel, "public view is older than the manifest "
                                           "(publishing was interrupted); `repair` re-links it"))
    for rel, is_link in sorted(present.items()):
        kind = _view_kind(rel, expected, is_link, keys)
        if kind == "temporary":
            report.problems.append(Problem(WARNING, rel, "temporary link of an interrupted publish; "
                                           "`repair` deletes it"))
        elif kind == "obsolete":
            report.problems.append(Problem(WARNING, rel, "view file the partition no longer has "
                                           "(publishing was interrupted): other engines read its "
                                           "rows besides the current ones; `repair` removes it"))
        elif kind == "link":
            report.problems.append(Problem(ERROR, rel, "symbolic link in the public view: other "
                                           "engines would follow it out of the store; `repair` moves "
                                           "the link (not what it points to) to _quarantine"))
        elif kind == "foreign":
            report.problems.append(Problem(ERROR, rel, "foreign file in the public view: other "
                                           "engines read it as data; `repair` moves it to _quarantine"))


# -- repair -------------------------------------------------------------------------------------------


def recover(store: StoreLike) -> None:
    """Run the light :func:`repair` before a write (the lock is held); log what it did.

    Light: committed files are checked by presence and size only (and by sha256 before the view is
    re-linked to one), and a damaged one is never dropped here: it only blocks writes to its own
    partition (the write reading it fails), until :meth:`Store.repair`."""
    report = repair(store, thorough=False)
    for action in report.actions:
        log.info("%s: %s", store.path, action)


def repair(store: StoreLike, *, thorough: bool = True) -> RepairReport:
    """Roll back what an interrupted write left and re-publish the view; the caller holds the lock.

    Everything that can refuse (a crafted journal or manifest, a linked store directory) is checked
    before anything is changed. `thorough` also hashes every committed file and sets damaged ones
    aside (see :meth:`Store.repair`)."""

    root = store.path
    report = RepairReport(root, None)
    if not root.exists():
        return report
    check_layout(root)
    journals = _legacy_journals(root)
    manifest = load_manifest(root)
    _finish_legacy_journal(root, journals, report)
    for tmp in manifests.temporaries(root):
        tmp.unlink()
        report.actions.append(f"deleted {tmp.name} (a write that did not commit)")
    if manifest is None:
        manifest = _adopt_legacy(root, report)
        if manifest is None:
            return report
    report.version = manifest.version
    for rel in _unreferenced(root, manifest):
        (root / rel).unlink()
        report.actions.append(f"deleted {rel} (written by a write that did not commit)")
    expected = _expected_views(manifest)
    keys = manifest.partition_keys()
    for path, is_link in _view_entries(root):
        rel = path.relative_to(root).as_posix()
        kind = _view_kind(rel, expected, is_link, keys)
        if kind == "temporary":
            path.unlink()
            report.actions.append(f"deleted {rel} (temporary link of an interrupted publish)")
        elif kind in ("foreign", "link"):
            _quarantine(root, rel)
            what = "symbolic link (not its target)" if kind == "link" else "foreign file"
            report.actions.append(f"moved {what} {rel} to _quarantine/")
    dropped: list[str] = []
    for rel, entry in sorted(expected.items()):
        key, _, name = rel.rpartition("/")
        view = root / rel
        problem = _entry_problem(root, entry, deep=thorough)
        if problem is None and not thorough and not durable.same_file(view, root / entry.file):
            problem = _entry_problem(root, entry, deep=True)  # never link the view to bad bytes
        if problem is not None:
            if _restore_from_view(root, key, entry, problem, report, name):
                problem = None
            elif thorough:
                _set_aside(root, key, entry, problem, report, name)
                dropped.append(entry.file)
                continue
            else:
                report.actions.append(f"left {rel} unpublished: its data file {entry.file} is {problem}"
                                      "; `oilflows store repair` sets it aside")
                continue
        if not durable.same_file(view, root / entry.file):  # stale, or a copy (a copied store)
            publish_partition(root, key, entry, name=name)
            report.actions.append(f"re-linked {rel} to {entry.file}")
    for key in sorted(keys):  # after the current files are linked: never a moment with neither
        for path in obsolete_views(root, key, view_files(manifest, key)):
            path.unlink()
            report.actions.append(f"removed {path.relative_to(root).as_posix()} (a view file the "
                                  "partition no longer has)")
    if thorough:
        for entry in manifest.vintages:
            problem = _entry_problem(root, entry, deep=True)
            if problem is not None:
                if (root / entry.file).exists() or (root / entry.file).is_symlink():
                    _quarantine(root, entry.file)
                dropped.append(entry.file)
                report.actions.append(f"moved archive {entry.file} ({problem}) to _quarantine/ and "
                                      "dropped it from the manifest: read(as_of=) no longer has its rows")
    if dropped:
        _commit_without(root, manifest, set(dropped), report)
    return report


def _quarantine(root: Path, rel: str) -> Path:
    """Move the file or link `rel` (not what a link points to) to ``_quarantine/rel``, never
    overwriting what an earlier repair set aside."""

    link = links_between(root, (root / rel).parent)
    if link is not None:  # reached through a link: set the link aside, never what it points to
        rel = link.relative_to(root).as_posix()
    target = root / QUARANTINE_DIR / rel
    while target.exists() or target.is_symlink():
        target = target.with_name(target.name + ".1")
    require_no_links(root, target.parent, "quarantine a file")
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(root / rel, target)
    return target


def _restore_from_view(root: Path, key: str, entry: FileEntry, problem: str, report: RepairReport,
                       name: str = DATA_FILE) -> bool:
    """Put the committed bytes back from the public view's file `name` if it still holds them (a
    regular file of the manifest's size and sha256); the damaged file goes to ``_quarantine``. True
    if restored."""

    view = root / key / name
    if view.is_symlink() or not view.is_file() or links_between(root, view.parent) is not None:
        return False
    try:
        if view.stat().st_size != entry.bytes or durable.sha256_file(view) != entry.sha256:
            return False
    except OSError:
        return False
    data = root / entry.file
    if data.exists() or data.is_symlink():
        _quarantine(root, entry.file)
    require_no_links(root, data.parent, "restore a data file")
    tmp = data.with_name(f".{data.name}.restore.tmp")
    durable.link_or_copy(view, tmp)
    os.replace(tmp, data)
    durable.fsync_dir(data.parent)
    report.actions.append(f"restored {entry.file} ({problem}) from the public view {key}/{name}, "
                          "which holds the committed bytes")
    return True


def _set_aside(root: Path, key: str, entry: FileEntry, problem: str, report: RepairReport,
               name: str = DATA_FILE) -> None:
    """Quarantine a partition (or a chunk: view file `name`) whose data file is damaged or missing
    and no good copy exists."""

    moved = []
    for rel in (entry.file, f"{key}/{name}"):
        if (root / rel).exists() or (root / rel).is_symlink():
            _quarantine(root, rel)
            moved.append(rel)
    where = f"moved {' and '.join(moved)} to _quarantine/" if moved else "nothing left to move"
    what = f"partition {key}" if name == DATA_FILE else f"chunk {name} of partition {key}"
    report.actions.append(f"dropped {what} from the manifest: its data file {entry.file} is "
                          f"{problem} and no good copy exists ({where}); re-fetch it (e.g. `oilflows "
                          "refresh`); its archived vintages are kept")


def _commit_without(root: Path, manifest: Manifest, dropped: set[str], report: RepairReport) -> None:
    """Commit a manifest without the files of `dropped` (a new version, like any write)."""
    import uuid

    new = Manifest(version=manifest.version + 1, txid=uuid.uuid4().hex[:12],
                   committed=pd.Timestamp.now(tz="UTC").isoformat(),
                   partitions={k: e for k, e in manifest.partitions.items() if e.file not in dropped},
                   vintages=[e for e in manifest.vintages if e.file not in dropped],
                   retired=list(manifest.retired),
                   chunks={k: {y: e for y, e in years.items() if e.file not in dropped}
                           for k, years in manifest.chunks.items()})
    manifests.commit(root, new)
    report.version = new.version
    report.actions.append(f"committed manifest version {new.version} without {len(dropped)} damaged "
                          "file(s)")


def _legacy_journals(root: Path) -> list[tuple[Path, list[tuple[Path, Path]] | None]]:
    """The 0.1 journals under ``_journal``, each with its moves re-rooted in this store (None for a
    torn journal). :class:`StoreError`, before anything is moved, for an entry that does not move a
    file of this store's ``_staging/<txid>`` to its place in this store."""
    journal_dir = root / "_journal"
    if not journal_dir.is_dir():
        return []
    found: list[tuple[Path, list[tuple[Path, Path]] | None]] = []
    for journal in sorted(journal_dir.glob("*.json")):
        if journal.is_symlink() or not journal.is_file():
            raise StoreError(f"{journal}: refusing a 0.1 journal that is not a regular file")
        try:
            moves = json.loads(journal.read_text(encoding="utf-8"))
        except (ValueError, RecursionError):  # torn while being written: no file had been moved yet
            found.append((journal, None))
            continue
        if not isinstance(moves, list):
            raise StoreError(f"{journal}: refusing a 0.1 journal that is not a list of moves; "
                             "nothing was moved (delete it if it is not oilflows')")
        found.append((journal, [_rerooted(root, journal, move) for move in moves]))
    return found


def _rerooted(root: Path, journal: Path, move: object) -> tuple[Path, Path]:
    """One 0.1 journal move, ``[<any root>/_staging/<txid>/<rel>, <any root>/<rel>]``, as the same
    move inside `root` (a store copied with a journal keeps the old root's absolute paths)."""

    txid = journal.stem

    def refuse(why: str) -> StoreError:
        return StoreError(f"{journal}: refusing the 0.1 journal entry {move!r}: {why}; nothing was "
                          "moved (delete the journal if it is not oilflows')")

    if not (isinstance(move, list) and len(move) == 2 and all(isinstance(p, str) for p in move)):
        raise refuse("not a [source, target] pair of paths")
    source, target = (Path(p).parts for p in move)
    starts = [i for i in range(len(source) - 1) if source[i] == "_staging" and source[i + 1] == txid]
    if not starts:
        raise refuse(f"the source is not under _staging/{txid}")
    rest = source[starts[-1] + 2:]
    rel = "/".join(rest)
    valid = (len(rest) == 4 and rest[3] == DATA_FILE and is_key("/".join(rest[:3]))) or (
        rest[:1] == (VINTAGE_DIR,) and key_of(rel, (VINTAGE_DIR,)) is not None)
    if not valid:
        raise refuse("it does not move a partition file or an archive of this store's layout")
    if tuple(target[-len(rest):]) != tuple(rest):
        raise refuse("the target is not the place of the staged file")
    staged, final = root / "_staging" / txid / rel, root / rel
    for path in (staged, final):
        link = links_between(root, path.parent)
        if link is not None:
            raise refuse(f"{link} is a symbolic link")
    return staged, final


def _finish_legacy_journal(root: Path, journals: list, report: RepairReport) -> None:
    """Complete an interrupted oilflows 0.1 commit (journal of staged -> target renames), with the
    moves checked and re-rooted by :func:`_legacy_journals`."""
    journal_dir = root / "_journal"
    for journal, moves in journals:
        if moves is None:
            journal.unlink()
            report.actions.append(f"deleted torn 0.1 journal {journal.name}")
            continue
        for source, target in moves:
            if source.exists() or source.is_symlink():
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(source, target)
        journal.unlink()
        report.actions.append(f"completed 0.1 commit {journal.stem}")
    if journal_dir.is_dir() and not any(journal_dir.iterdir()):
        journal_dir.rmdir()
    if (root / "_staging").exists():
        shutil.rmtree(root / "_staging")
        report.actions.append("deleted _staging (0.1 write that did not commit)")


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _adopt_legacy(root: Path, report: RepairReport) -> Manifest | None:
    """Write a manifest for a store whose files were written by oilflows 0.1 (no manifest).

    Only regular files at places of the layout (valid partition codes, no links on the way) are
    adopted; others are left to the view check (quarantined) or deleted as unreferenced."""

    views: dict[str, dict[str, Path]] = {}
    for path, is_link in _view_entries(root):
        rel = path.relative_to(root).as_posix()
        key = rel.rsplit("/", 1)[0]
        if not is_link and is_view_name(path.name) and rel.count("/") == 3 and is_key(key):
            views.setdefault(key, {})[path.name] = path
    found = [(key_of(path.relative_to(root).as_posix(), (VINTAGE_DIR,)), path)
             for path, is_link in _walk(root / VINTAGE_DIR) if not is_link]
    archives = [(key, path) for key, path in found if key is not None]
    if not views and not archives:
        return None
    manifest = Manifest(version=1, txid="adopted", committed=pd.Timestamp.now(tz="UTC").isoformat())
    for key, names in sorted(views.items()):
        # A 0.1 store has one part-0.parquet a partition; year files (a store whose manifest was
        # lost) are adopted as chunks, unless a part-0.parquet beside them was written later.
        years = {int(name[5:9]): path for name, path in names.items() if name != DATA_FILE}
        if years and DATA_FILE in names and _mtime(names[DATA_FILE]) > max(map(_mtime, years.values())):
            years = {}
        chosen = {year: (chunk_view(year), f"000001-adopted-{year}.parquet", path)
                  for year, path in sorted(years.items())} if years else \
            {None: (DATA_FILE, "000001-adopted.parquet", names[DATA_FILE])}
        for year, (name, file_name, view) in chosen.items():
            try:
                rows = pq.read_metadata(view).num_rows
            except (OSError, ValueError) as exc:  # ArrowInvalid is a ValueError
                report.actions.append(f"not adopted: {key}/{name} is unreadable ({exc})")
                continue
            data = root / DATA_DIR / key / file_name
            data.unlink(missing_ok=True)
            durable.link_or_copy(view, data)
            if year is None:
                manifest.partitions[key] = FileEntry.of(root, data, rows)
            else:
                manifest.chunks.setdefault(key, {})[year] = FileEntry.of(root, data, rows)
    for key, archive in archives:
        try:
            read_partition(archive, partition_values(key))
            rows = pq.read_metadata(archive).num_rows
        except (StoreError, OSError, ValueError) as exc:
            report.actions.append(f"not adopted: {archive.relative_to(root).as_posix()} is "
                                  f"unreadable ({exc})")
            continue
        manifest.vintages.append(FileEntry.of(root, archive, rows))
    manifests.commit(root, manifest)
    report.actions.append(f"adopted an oilflows 0.1 store: "
                          f"{len(manifest.partition_keys())} partitions, "
                          f"{len(manifest.vintages)} archive files")
    return manifest

__all__ = ["Problem", "RepairReport", "VerifyReport", "recover", "repair", "verify"]
