"""A frame offered to :meth:`Store.write`, checked once and sorted once, in Arrow.

:func:`prepare` converts the frame to the canonical Arrow table (one pandas -> Arrow conversion),
checks the same invariants as :func:`oilflows.schema.validate` and :func:`~oilflows.store.layout.
check_codes` (same errors, same order), sorts the rows by :data:`~oilflows.schema.KEY` (which starts
with the partition columns, so each partition is one contiguous slice) and marks rows that repeat
the observation of the row before (a release holding several vintages of one observation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import SchemaError
from ..schema import CONFIDENTIAL, FLOWS, FREQS, KEY, OBSERVATION_KEY, to_table
from .layout import MAX_CODE_LENGTH, PARTITIONS, is_code, partition_key


@dataclass(frozen=True)
class Incoming:
    """The checked rows of a write: ``source`` as offered, ``order`` the permutation that sorts it by
    the key, ``slices`` maps each partition key to its (offset, length) in that order, and
    ``repeats[i]`` is True where the i-th sorted row has the observation of the row before it.
    Partitions are gathered in key order only when they are written (side by side)."""

    source: pa.Table
    order: np.ndarray
    slices: dict[str, tuple[int, int]]
    repeats: np.ndarray

    @property
    def num_rows(self) -> int:
        return self.source.num_rows

    @property
    def table(self) -> pa.Table:
        """All rows, sorted by the key."""
        return self.source.take(pa.array(self.order))

    def rows(self, key: str) -> pa.Table:
        """The sorted rows of partition `key` (none if the write has none)."""
        offset, length = self.slices.get(key, (0, 0))
        return self.source.take(pa.array(self.order[offset:offset + length], type=pa.int64()))

    def one_vintage_each(self, key: str) -> bool:
        """Whether partition `key` holds at most one row per observation."""
        offset, length = self.slices.get(key, (0, 0))
        return not self.repeats[offset + 1:offset + length].any() if length > 1 else True


_PER_KEY_NULLS = int(pa.__version__.split(".")[0]) >= 25


def key_order(table: pa.Table) -> pa.Array:
    """The indices that sort `table` by :data:`KEY`, nulls first (the order of the store's files)."""
    if _PER_KEY_NULLS:
        return pc.sort_indices(table, sort_keys=[(k, "ascending", "at_start") for k in KEY])
    return pc.sort_indices(table, sort_keys=[(k, "ascending") for k in KEY], null_placement="at_start")


def _codes(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray | None]:
    """`column` as int64 codes that sort and compare like its values (strings: their rank among the
    column's distinct values), and its null mask (None without nulls; a null's code is 0)."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    nulls = array.is_null().to_numpy(zero_copy_only=False) if array.null_count else None
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        encoded = pc.dictionary_encode(array)
        values = encoded.dictionary
        rank = np.zeros(max(len(values), 1), dtype=np.int64)  # a column of nulls has no values
        rank[pc.sort_indices(values).to_numpy()] = np.arange(len(values), dtype=np.int64)
        indices = pc.fill_null(encoded.indices, 0) if nulls is not None else encoded.indices
        index = indices.to_numpy()
        return rank[index.astype(np.int64)], nulls
    as_int = array.cast(pa.int64())
    values = pc.fill_null(as_int, 0).to_numpy() if nulls is not None else as_int.to_numpy()
    return np.asarray(values, dtype=np.int64), nulls


def _sorted_codes(table: pa.Table) -> tuple[np.ndarray, dict[str, tuple[np.ndarray, np.ndarray | None]]]:
    """The order that sorts `table` by :data:`KEY` with nulls first (a stable ``np.lexsort`` of the
    key's codes: the same order as :func:`key_order`), and each key column's codes in that order."""
    codes = {name: _codes(table.column(name)) for name in KEY}
    keys: list[np.ndarray] = []
    for name in reversed(KEY):  # np.lexsort sorts by its last key first
        values, nulls = codes[name]
        keys.append(values)
        if nulls is not None:
            keys.append(~nulls)  # a null (False) before any value (True)
    order = np.lexsort(keys) if table.num_rows else np.zeros(0, dtype=np.int64)
    return order, {name: (values[order], None if nulls is None else nulls[order])
                   for name, (values, nulls) in codes.items()}


def _same_as_previous(codes: dict[str, tuple[np.ndarray, np.ndarray | None]], names: tuple[str, ...],
                      n: int) -> np.ndarray:
    """Row i equals row i-1 in every column of `names` (null equals null); row 0 is False."""
    same = np.ones(max(n - 1, 0), dtype=bool)
    for name in names:
        values, nulls = codes[name]
        same &= values[1:] == values[:-1]
        if nulls is not None:
            same &= nulls[1:] == nulls[:-1]
    return np.concatenate([[False], same]) if n else np.zeros(0, dtype=bool)


def prepare(frame: pd.DataFrame) -> Incoming:
    """Check `frame` and return it sorted in Arrow; :class:`SchemaError` (nothing written) if it
    breaks an invariant of :func:`oilflows.schema.validate` or a partition value is not a code."""
    table = to_table(frame)  # SchemaError for missing/extra columns, bad types, nulls in key columns
    for name, allowed, expected in (("freq", FREQS, "M or A"), ("flow", FLOWS, "import or export")):
        bad = set(pc.unique(table.column(name)).to_pylist()) - set(allowed)
        if bad:
            raise SchemaError(f"column {name!r} has values {sorted(bad)}; expected {expected}")
    period = table.column("period")
    first_day = pc.all(pc.equal(pc.day(period), 1)).as_py() is not False
    annual_in_january = pc.all(pc.or_(pc.not_equal(table.column("freq"), "A"),
                                      pc.equal(pc.month(period), 1))).as_py() is not False
    if not (first_day and annual_in_january):
        raise SchemaError("column 'period' must be the first day of the month (M) or year (A)")
    order, codes = _sorted_codes(table)
    n = table.num_rows
    duplicated = _same_as_previous(codes, KEY, n)
    if duplicated.any():
        mask = duplicated | np.concatenate([duplicated[1:], [False]])
        example = (table.take(pa.array(order[mask][:2])).select(list(KEY))
                   .to_pandas(coerce_temporal_nanoseconds=False).to_dict("records"))
        raise SchemaError(f"{int(mask.sum())} rows share a key, e.g. {example}")
    flag = table.column("flag")
    confidential = pc.fill_null(pc.match_substring(flag, CONFIDENTIAL), False)
    quantity = pc.or_(pc.is_valid(table.column("volume_bbl")), pc.is_valid(table.column("mass_t")))
    leaked = pc.sum(pc.and_(confidential, quantity).cast(pa.int64())).as_py() or 0
    if leaked:
        raise SchemaError(f"{leaked} confidential rows carry a quantity")
    for name in PARTITIONS:
        for value in pc.unique(table.column(name)).to_pylist():
            if not is_code(value):
                raise SchemaError(
                    f"column {name!r} has value {value!r}, which cannot name a store partition: codes "
                    f"are 1-{MAX_CODE_LENGTH} characters of A-Z a-z 0-9 _ . - (not '.' or '..'); "
                    "nothing was written")
    boundaries = np.flatnonzero(~_same_as_previous(codes, PARTITIONS, n))
    ends = [*boundaries[1:].tolist(), n] if n else []
    firsts = table.select(list(PARTITIONS)).take(pa.array(order[boundaries], type=pa.int64())).to_pylist()
    slices = {}
    for start, end, first in zip(boundaries.tolist(), ends, firsts, strict=True):
        slices[partition_key([first[name] for name in PARTITIONS])] = (start, end - start)
    return Incoming(table, order, slices, _same_as_previous(codes, OBSERVATION_KEY, n))


__all__ = ["Incoming", "key_order", "prepare"]
