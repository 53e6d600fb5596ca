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

    def file_rows(self, key: str) -> pa.Table:
        """The sorted rows of partition `key` without the partition columns (what its file holds)."""
        offset, length = self.slices.get(key, (0, 0))
        body = self.source.drop_columns(list(PARTITIONS))  # no copy; the take gathers only the rest
        return body.take(pa.array(self.order[offset:offset + length], type=pa.int64()))

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


def _codes(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, int, pa.Array]:
    """`column` as integer codes that sort and compare like its values, nulls first: a null is 0, a
    value its rank among the column's distinct values (plus 1 if the column has nulls); the number
    of codes (the radix of the column in a packed key; 1: every code is 0, and none are returned);
    and the distinct values in order of first appearance (as ``pc.unique``), a null last if any."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if len(array) and not array.null_count and pc.all(pc.equal(array, array[0])).as_py():
        return np.zeros(0, dtype=np.int64), 1, array.slice(0, 1)  # one value: a compare, no hashing
    encoded = pc.dictionary_encode(array)
    values = encoded.dictionary
    ranked = pc.sort_indices(values).to_numpy()
    if not array.null_count:
        if len(values) <= 1:  # one value (or none): every code is 0
            return np.zeros(0, dtype=np.int64), 1, values
        indices = encoded.indices.to_numpy()
        if (ranked[1:] > ranked[:-1]).all():  # the values came in sorted order: index = rank
            return indices, len(values), values
        rank = np.empty(len(values), dtype=np.int64)
        rank[ranked] = np.arange(len(values), dtype=np.int64)
        return rank[indices], len(values), values
    rank = np.empty(len(values), dtype=np.int64)
    rank[ranked] = np.arange(len(values), dtype=np.int64)
    rank = np.concatenate([[0], rank + 1])  # index 0 stands for null
    index = pc.fill_null(pc.add(encoded.indices.cast(pa.int64()), 1), 0).to_numpy()
    return rank[index], len(values) + 1, pa.concat_arrays([values, pa.nulls(1, values.type)])


# The packed key's prefixes give the partition and the observation of each row.
if KEY[:len(PARTITIONS)] != PARTITIONS or KEY[:len(OBSERVATION_KEY)] != OBSERVATION_KEY:
    raise ImportError("oilflows.store.incoming: KEY must start with PARTITIONS and OBSERVATION_KEY")

#: Largest product of radices packed into one int64 word of the sort key.
_WORD = 1 << 62


@dataclass(frozen=True)
class _SortedKey:
    """The key columns packed into int64 words (mixed radix, most significant first), in sorted order.

    ``place[i] = (w, divisor)``: the i-th key column is a digit of word ``w``; the word divided by
    ``divisor`` keeps the digits of key columns 0..i that lie in that word."""

    words: list[np.ndarray]
    place: list[tuple[int, int]]
    distinct: dict[str, pa.Array]  # each key column's distinct values (pc.unique's)

    def same_as_previous(self, columns: int, n: int) -> np.ndarray:
        """Row i equals row i-1 in the first `columns` key columns (null equals null); row 0 is False."""
        if not n:
            return np.zeros(0, dtype=bool)
        same = np.ones(n - 1, dtype=bool)
        last, divisor = self.place[columns - 1]
        for w in range(last + 1):
            word = self.words[w] if w < last or divisor == 1 else self.words[w] // divisor
            same &= word[1:] == word[:-1]
        return np.concatenate([[False], same])


def _sorted_key(table: pa.Table) -> tuple[np.ndarray, _SortedKey]:
    """The order that sorts `table` by :data:`KEY` with nulls first (stable: the same order as
    :func:`key_order`) and the packed key in that order. The key columns' codes are packed into as
    few int64 words as their radices allow (usually one), so the sort is one stable argsort."""
    n = table.num_rows
    digits = [_codes(table.column(name)) for name in KEY]
    words: list[np.ndarray] = []
    spans: list[list[tuple[np.ndarray, int]]] = [[]]
    product = 1
    for codes, radix, _ in digits:
        if product * radix > _WORD and spans[-1]:
            spans.append([])
            product = 1
        spans[-1].append((codes, radix))
        product *= radix
    place: list[tuple[int, int]] = []
    for w, span in enumerate(spans):
        word = np.zeros(n, dtype=np.int64)
        for codes, radix in span:
            if radix > 1:
                word *= radix
                word += codes
        words.append(word)
        radices = [radix for _, radix in span]
        for i in range(len(span)):
            place.append((w, int(np.prod(radices[i + 1:], dtype=object))))
    if not n:
        order = np.zeros(0, dtype=np.int64)
    elif len(words) == 1:
        order = np.argsort(words[0], kind="stable")
    else:
        order = np.lexsort(words[::-1])  # np.lexsort sorts by its last key first
    distinct = {name: values for name, (_, _, values) in zip(KEY, digits, strict=True)}
    return order, _SortedKey([word[order] for word in words], place, distinct)


def sorted_order(table: pa.Table) -> np.ndarray:
    """The indices that sort `table` (all :data:`KEY` columns) by the key, nulls first: the order of
    :func:`key_order`, found with one argsort of the packed key (several times faster)."""
    return _sorted_key(table)[0]


def prepare(frame: pd.DataFrame) -> Incoming:
    """Check `frame` and return it sorted in Arrow; :class:`SchemaError` (nothing written) if it
    breaks an invariant of :func:`oilflows.schema.validate` or a partition value is not a code."""
    table = to_table(frame)  # SchemaError for missing/extra columns, bad types, nulls in key columns
    # One chunk a column (a frame concatenated from others converts to many): Arrow's take on a
    # chunked column costs about 3x that on a contiguous one, and each partition is a take.
    table = table.combine_chunks()
    order, key = _sorted_key(table)  # also each key column's distinct values, for the checks
    for name, allowed, expected in (("freq", FREQS, "M or A"), ("flow", FLOWS, "import or export")):
        bad = set(key.distinct[name].to_pylist()) - set(allowed)
        if bad:
            raise SchemaError(f"column {name!r} has values {sorted(bad)}; expected {expected}")
    periods = key.distinct["period"]  # the checks on the distinct periods, rows only if need be
    first_day = pc.all(pc.equal(pc.day(periods), 1)).as_py() is not False
    annual_in_january = ("A" not in key.distinct["freq"].to_pylist()
                         or pc.all(pc.equal(pc.month(periods), 1)).as_py() is not False
                         or pc.all(pc.or_(pc.not_equal(table.column("freq"), "A"), pc.equal(
                             pc.month(table.column("period")), 1))).as_py() is not False)
    if not (first_day and annual_in_january):
        raise SchemaError("column 'period' must be the first day of the month (M) or year (A)")
    n = table.num_rows
    duplicated = key.same_as_previous(len(KEY), n)
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
        for value in key.distinct[name].to_pylist():
            if not is_code(value):
                raise SchemaError(
                    f"column {name!r} has value {value!r}, which cannot name a store partition: codes "
                    f"are 1-{MAX_CODE_LENGTH} characters of A-Z a-z 0-9 _ . - (not '.' or '..'); "
                    "nothing was written")
    boundaries = np.flatnonzero(~key.same_as_previous(len(PARTITIONS), n))
    ends = [*boundaries[1:].tolist(), n] if n else []
    firsts = table.select(list(PARTITIONS)).take(pa.array(order[boundaries], type=pa.int64())).to_pylist()
    slices = {}
    for start, end, first in zip(boundaries.tolist(), ends, firsts, strict=True):
        slices[partition_key([first[name] for name in PARTITIONS])] = (start, end - start)
    return Incoming(table, order, slices, key.same_as_previous(len(OBSERVATION_KEY), n))


__all__ = ["Incoming", "key_order", "prepare", "sorted_order"]
