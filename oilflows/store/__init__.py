"""The Parquet store: a hive-partitioned dataset any engine reads, with atomic, durable commits.

Modules (none imports another in a circle): :mod:`~oilflows.store.layout` (names, paths and the checks
on them), :mod:`~oilflows.store.manifest` (the commit record), :mod:`~oilflows.store.durable`
(fsync'd writes, hashes, links), :mod:`~oilflows.store.files` (reading and writing the Parquet
files), :mod:`~oilflows.store.filters` (row filters), :mod:`~oilflows.store.incoming` (a write's
frame, checked and sorted once in Arrow), :mod:`~oilflows.store.merge` (merging a
release: supersede, retire), :mod:`~oilflows.store.chunks` (a big partition's rows by year),
:mod:`~oilflows.store.check` (verify, repair) and :mod:`~oilflows.store.core` (the :class:`Store`
class).

Layout under the store root::

    source=<s>/dataset=<d>/reporter=<r>/part-0.parquet    current data: the public view
    source=<s>/dataset=<d>/reporter=<r>/part-<YYYY>.parquet   (a big partition: one file a year)
    _manifest.json                                         the committed state (see store.manifest)
    _data/source=.../dataset=.../reporter=.../<v>-<tx>.parquet   immutable data files
    _data/source=.../dataset=.../reporter=.../<v>-<tx>-<YYYY>.parquet   (a big partition's chunks)
    _vintages/source=.../dataset=.../reporter=.../<tx>.parquet    superseded rows (immutable)
    _quarantine/                                           foreign files a repair moved aside
    _store.lock                                            the writers' lock

The current data hold, for each observation (the key without ``vintage``), the row of the latest
vintage; rows a newer vintage replaces move to ``_vintages``. Every data file is sorted by the key.

Period chunks (issue 15). A partition with more current rows than ``layout.CHUNK_ROWS`` (262,144:
four row groups) is stored as one file per calendar year of ``period`` (a chunk), so that a
revision costs in proportion to the years it touches, not to the partition: a write reads, merges
and rewrites only the chunks of the years its rows fall in (after rows retired earlier are set
aside), plus, for a ``replace=`` scope selecting the partition, the chunks of the years its period
range overlaps (all of them if it has none); a chunk whose rows come out unchanged keeps its file,
a chunk left without rows is dropped (and its view file removed). A statistical release revising
its latest months touches one or two years; a revision of random rows touches every year and
costs what one file did. A partition is laid out as chunks when it is first written with more than
``CHUNK_ROWS`` rows, or when a write that changes it takes it past that; it stays chunked after
(also if it shrinks), and a smaller partition stays one file, as before chunks. Archives
(``_vintages``) and tombstones stay one set of files per partition. :meth:`Store.read` returns the
rows sorted by the key in either layout; with ``start``/``end`` it opens only the chunks of those
years.

Commit protocol. A write (under a file lock, so writers are serialized; a writer that waits longer
than ``lock_timeout`` gets a :class:`StoreError`) writes new immutable files under ``_data`` and
``_vintages`` and fsyncs them and their directories; then it replaces ``_manifest.json`` with an
atomic rename and fsyncs the root. That rename is the commit: a crash before it leaves the old state
(plus unreferenced files, which the next write or :meth:`Store.repair` deletes), a crash after it
the new state. :meth:`Store.read` takes no lock: it reads the manifest and exactly the files it
names, so it sees the old or the new state, never a mix.

The public view (``source=*/dataset=*/reporter=*/*.parquet``: ``part-0.parquet``, or a chunked
partition's ``part-<YYYY>.parquet`` files) is for other engines: a set of plain, complete,
non-overlapping Parquet files (no delta files to apply), which pyarrow, DuckDB, Polars and Spark
read directly (they skip names starting with ``_``); Dask's ``read_parquet`` of the root does not
skip them, so give it the glob above. After a commit each changed file of the view is replaced, by
an atomic rename, with a hard link to its new data file, so an external reader sees each
partition (each year of a chunked one) whole, old or new, never twice: a chunk's boundaries are
fixed, so a new version of a year replaces a file of the same name. A reader that scans many files
while a commit is being published may see some old and some new. One moment differs: when a
partition becomes chunks, its year files are linked first and its ``part-0.parquet`` is removed
after them, so a reader listing that directory in between (milliseconds, once in the partition's
life) would read its rows twice (the other order would show it without rows). If a writer dies
between the commit and the end of publishing, the view lags the manifest until the next write or
``repair`` (``verify`` reports it, including a leftover ``part-0.parquet`` beside the chunks,
which ``repair`` removes).

Untrusted input (issue 12). Partition values (source, dataset, reporter) must be codes of 1-64
characters ``A-Z a-z 0-9 _ . -`` (not ``.`` or ``..``), else the write raises :class:`SchemaError`
before anything is written: a value is never turned into a path it could escape. Every path read
from a manifest or a 0.1 journal must name a file of this store's layout, else :class:`StoreError`
and nothing is deleted, moved or overwritten; the store never follows a symbolic link out of itself
(``_data``, ``_vintages`` and the other ``_`` directories must not be links; links found in the
public view are moved aside, the link and not its target). One missing or corrupt data file blocks
only writes to its own partition (a chunk: writes touching its year, reads including it);
:meth:`Store.repair` restores it from the public view when that still holds the committed bytes,
else moves it to ``_quarantine`` and drops the partition, or the chunk (re-fetch it). A read-only
store, a malformed manifest and bad arguments are typed errors.

Releases that drop rows. ``Store.write(frame, replace={...})`` declares the slice a release replaces
in full: current rows of that slice that the release no longer holds are retired, at the release's
vintage. They move to ``_vintages`` (so ``read(as_of=)`` before the release still returns them) and
a tombstone file (``_vintages/.../<tx>.retired.parquet``) records when they stopped being current,
so neither ``read()`` nor ``read(as_of=)`` after the release returns them, and an old download that
repeats them does not bring them back.
"""

from __future__ import annotations

from .core import Store, WriteSummary, default_path
from .files import publish_partition
from .layout import (
    DATA_DIR,
    DATA_FILE,
    FILE_SCHEMA,
    INTERNAL_DIRS,
    LOCK_FILE,
    MAX_CODE_LENGTH,
    PARTITION_SCHEMA,
    PARTITIONS,
    QUARANTINE_DIR,
    RETIRED_FLAG,
    RETIRED_SUFFIX,
    ROW_GROUP_ROWS,
    SCOPE_COLUMNS,
    VINTAGE_DIR,
    check_codes,
    check_layout,
    is_code,
    is_key,
    key_of,
    links_between,
    load_manifest,
    partition_key,
    partition_values,
    require_no_links,
)
from .merge import release_scope

__all__ = ["DATA_DIR", "DATA_FILE", "FILE_SCHEMA", "INTERNAL_DIRS", "LOCK_FILE", "MAX_CODE_LENGTH",
           "PARTITIONS", "PARTITION_SCHEMA", "QUARANTINE_DIR", "RETIRED_FLAG", "RETIRED_SUFFIX",
           "ROW_GROUP_ROWS", "SCOPE_COLUMNS", "VINTAGE_DIR", "Store", "WriteSummary", "check_codes",
           "check_layout", "default_path", "is_code", "is_key", "key_of", "links_between",
           "load_manifest", "partition_key", "partition_values", "publish_partition",
           "release_scope", "require_no_links"]
