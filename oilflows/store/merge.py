"""Merging a release into a partition: which rows stay current, which are superseded (archived),
which a ``replace=`` scope retires (tombstones), and the checked form of ``replace=`` scopes."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import QueryError, StoreQueryError
from ..frames import latest as latest_vintages
from ..schema import COLUMNS, KEY, OBSERVATION_KEY, from_table, to_table
from .files import read_entry, sort_rows
from .filters import period_bound
from .layout import PARTITIONS, RETIRED_FLAG, SCOPE_COLUMNS, is_code
from .manifest import FileEntry


def naive_stamp(value: object, argument: str) -> pd.Timestamp:
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
class Scope:
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


def check_scopes(replace: object, incoming: pd.DataFrame) -> list[Scope]:
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


def _scope(item: object, incoming: pd.DataFrame) -> Scope:
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
        start = period_bound(item["start"], True) if item.get("start") is not None else None
        end = period_bound(item["end"], False) if item.get("end") is not None else None
    except QueryError as exc:
        raise StoreQueryError(f"replace={dict(item)!r}: {exc}") from exc
    for name, bound in (("start", start), ("end", end)):
        if bound is not None and (pd.isna(bound) or bound.tzinfo is not None):
            raise StoreQueryError(f"replace={dict(item)!r}: {name} must be a naive date")
    scope = Scope(values, start, end, pd.NaT)
    if item.get("vintage") is not None:
        vintage = naive_stamp(item["vintage"], "replace vintage")
    else:
        held = incoming.loc[scope.mask(incoming), "vintage"]
        if held.empty:
            raise StoreQueryError(f"replace={dict(item)!r}: the frame holds no row of this scope, so "
                                  "the release's vintage is unknown; give it as 'vintage'")
        vintage = held.max()
    return Scope(values, start, end, pd.Timestamp(vintage) if pd.notna(vintage) else pd.NaT)


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


def merge_release(
    existing: pd.DataFrame | None, incoming: pd.DataFrame,
    sort: Callable[[pd.DataFrame], pd.DataFrame] = sort_rows,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """Merge `incoming` into `existing`: (current rows, superseded rows, counts). `sort` orders the
    current rows when the merge changed them (by default by the key; a chunked partition's by year,
    then the key, so each year's rows are one run)."""
    incoming = sort_rows(incoming)
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
    merged = sort(pd.concat([existing.loc[~hit], latest], ignore_index=True))
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
    combined = sort_rows(pd.concat([existing_kept, candidates], ignore_index=True))
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


def not_archived(rows: pd.DataFrame, root: Path, entries: list[FileEntry], key: str) -> pd.DataFrame:
    """`rows` without those already in one of the archive files `entries` (identical in every column).

    Only the archive files that may hold a row of `rows`' vintages are read: a file whose footer
    statistics put every ``vintage`` outside the range of `rows`' vintages (and that holds no null
    vintage when `rows` have one) cannot hold an identical row, so a revision reads the archives of
    its own vintages, not the partition's whole history."""
    if not entries or rows.empty:
        return rows
    vintages = rows["vintage"]
    dated = vintages.dropna()
    span = (dated.min(), dated.max()) if len(dated) else None
    undated = bool(vintages.isna().any())
    entries = [e for e in entries if _may_hold(root / e.file, span, undated)]
    if not entries:
        return rows
    archived = pd.concat([read_entry(root, e, key) for e in entries], ignore_index=True)
    hit = rows.merge(archived.drop_duplicates(), how="left", on=list(COLUMNS), indicator=True)
    return rows.loc[(hit["_merge"] == "left_only").to_numpy()].reset_index(drop=True)


def _may_hold(path: Path, span: tuple[pd.Timestamp, pd.Timestamp] | None, undated: bool) -> bool:
    """Whether the Parquet file at `path` may hold a row whose vintage is in `span` (first, last), or
    a null vintage if `undated`, by its footer's row-group statistics. True whenever that cannot be
    told (no statistics, a footer that cannot be read, a link): the caller then reads the file,
    which checks it against the manifest and names any problem."""
    try:
        if path.is_symlink():
            return True
        meta = pq.ParquetFile(path).metadata
        column = meta.schema.names.index("vintage")
    except (OSError, ValueError, pa.ArrowException):
        return True
    for group in range(meta.num_row_groups):
        stats = meta.row_group(group).column(column).statistics
        if stats is None or (not stats.has_min_max and not stats.has_null_count):
            return True
        if undated and (not stats.has_null_count or stats.null_count > 0):
            return True
        if span is not None and stats.has_min_max \
                and pd.Timestamp(stats.min) <= span[1] and pd.Timestamp(stats.max) >= span[0]:
            return True
    return False


def retired_mask(frame: pd.DataFrame, dead: pd.DataFrame) -> np.ndarray:
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


def retire(merged: pd.DataFrame, release: pd.DataFrame | None, scopes: list[Scope]) -> np.ndarray:
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


def tombstones(rows: pd.DataFrame, scopes: list[Scope]) -> pd.DataFrame:
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

__all__ = ["Scope", "check_scopes", "merge_release", "naive_stamp", "not_archived", "release_scope",
           "retire", "retired_mask", "tombstones"]
