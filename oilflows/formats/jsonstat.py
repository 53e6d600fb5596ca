"""JSON-stat 2.0 datasets -> a long pandas frame: one column per dimension, ``value`` and ``status``.

:func:`parse` checks the document against the JSON-stat 2.0 rules it relies on and raises
:class:`~oilflows.errors.SourceFormatError` naming the file and the key for anything else: a duplicate
JSON key, ``id``/``size``/``dimension`` that disagree, a category index that is not a permutation of
``0 .. size-1``, a dense ``value`` or ``status`` array whose length is not the product of the sizes, a
sparse position outside the cube or written twice (``"1"`` and ``"01"``), a value that is not a finite
number (or beyond :data:`MAX_ABS_VALUE`), a status that is not a string, a withheld (confidential) cell
that carries a value, and ``updated``/``extension`` of the wrong type.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .._io import strict_json
from ..errors import SourceFormatError
from ..schema import MAX_ABS_VALUE

#: Upper-case statuses that mean "not disclosed" (Eurostat's CONF_STATUS codes C, N and P, which the
#: statistics API may send as a cell status from 2025 on).
WITHHELD_STATUSES: frozenset[str] = frozenset({"C", "N", "P"})
#: Largest cube (product of the sizes) whose positions fit in a signed 64-bit integer.
MAX_CELLS = 2**62
_POSITION = re.compile(r"^(?:0|[1-9][0-9]*)$")
_ISO_STAMP = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?$"
)


def is_withheld(status: str) -> bool:
    """True for a status that marks a withheld cell: one containing Eurostat's ``c`` (confidential) or
    one of :data:`WITHHELD_STATUSES`. Such a cell must not carry a value."""
    return "c" in status or status.strip() in WITHHELD_STATUSES


def parse(
    data: bytes | dict, name: str, *, withheld: Callable[[str], bool] | None = is_withheld
) -> tuple[pd.DataFrame, dict]:
    """Parse a JSON-stat 2.0 dataset into (long frame, top-level metadata).

    Parameters
    ----------
    data : bytes or dict
        The document (UTF-8 bytes, a byte-order mark allowed) or its decoded JSON object.
    name : str
        The file name for error messages.
    withheld : callable, optional
        ``withheld(status)`` is True for a status whose cell must carry no value (default
        :func:`is_withheld`); a cell with such a status and a value raises. None: no such check.

    Returns
    -------
    frame : pandas.DataFrame
        One column per dimension id (category codes), ``value`` (float, null where the cube has a
        status but no value, e.g. a confidential cell) and ``status`` (the cell's status, or null),
        one row per cell that has a value or a status, in position order; cells with neither are
        absent (never 0).
    meta : dict
        ``updated`` (str or None), ``label``, ``extension`` (dict or None) and ``source``.

    Raises
    ------
    SourceFormatError
        Anything that is not a consistent JSON-stat 2.0 dataset (see the module docstring); the
        message names the file and the key.
    """
    doc = data if isinstance(data, dict) else _load(data, name)
    if not isinstance(doc, dict):
        raise SourceFormatError(name, f"expected a JSON-stat object at the top level, found "
                                      f"{type(doc).__name__}")
    if "error" in doc and "value" not in doc:
        raise SourceFormatError(name, f"the service returned an error: {doc['error']}", "error")
    if doc.get("class", "dataset") != "dataset":
        raise SourceFormatError(name, f"expected a JSON-stat dataset, found class {doc['class']!r}", "class")
    for key in ("id", "size", "dimension", "value"):
        if key not in doc:
            raise SourceFormatError(name, "not a JSON-stat 2.0 dataset: key missing", key)
    ids = _ids(doc["id"], name)
    sizes = _sizes(doc["size"], len(ids), name)
    total = math.prod(sizes)
    if total > MAX_CELLS:
        raise SourceFormatError(name, f"the sizes {sizes} give {total:,} cells, more than {MAX_CELLS:,}",
                                "size")
    dimension = doc["dimension"]
    if not isinstance(dimension, dict):
        raise SourceFormatError(name, f"expected an object, found {type(dimension).__name__}", "dimension")
    extra = sorted(set(dimension) - set(ids))
    if extra:
        raise SourceFormatError(name, f"dimensions {extra[:5]} are not listed in 'id' {ids}",
                                f"dimension.{extra[0]}")
    codes = [_categories(dimension, dim, n, name) for dim, n in zip(ids, sizes, strict=True)]

    v_index, v_items = _positions(doc["value"], total, name, "value")
    values = _numbers(v_items, name)
    s_index, s_items = _positions(doc.get("status"), total, name, "status")
    for item in s_items:
        if item is not None and not isinstance(item, str):
            raise SourceFormatError(name, f"a status must be a string or null, found {item!r}", "status")
    has_value = ~np.isnan(values)
    v_index, values = v_index[has_value], values[has_value]
    has_status = np.fromiter((bool(s) for s in s_items), dtype=bool, count=len(s_items))
    s_index = s_index[has_status]
    statuses = np.asarray(s_items, dtype=object)[has_status] if len(s_items) else np.empty(0, object)

    cells = np.union1d(v_index, s_index).astype(np.int64)
    value_of = np.full(len(cells), np.nan)
    value_of[np.searchsorted(cells, v_index)] = values
    status_of = np.full(len(cells), None, dtype=object)
    status_of[np.searchsorted(cells, s_index)] = statuses
    coords = _unravel(cells, sizes)
    if withheld is not None and len(cells):
        marks = {s for s in set(statuses) if withheld(s)}
        leaked = np.flatnonzero(pd.Series(status_of).isin(marks).to_numpy() & ~np.isnan(value_of))
        if len(leaked):
            first = leaked[0]
            where = ", ".join(f"{dim}={cats[pos[first]]}" for dim, cats, pos in zip(ids, codes, coords,
                                                                                      strict=True))
            raise SourceFormatError(
                name, f"{len(leaked)} cells have a withheld status and a value, e.g. cell "
                f"{int(cells[first])} ({where}): status {status_of[first]!r}, value {value_of[first]!r}",
                "status")
    frame = pd.DataFrame(index=range(len(cells)))
    for dim, cats, pos in zip(ids, codes, coords, strict=True):
        frame[dim] = cats[pos]
    frame["value"] = value_of
    frame["status"] = status_of
    return frame, _meta(doc, name)


# -- pieces ---------------------------------------------------------------------------------------


def _load(data: bytes, name: str) -> Any:
    """Decode JSON, refusing duplicate keys and the non-standard NaN/Infinity literals."""
    return strict_json(data, name, "JSON-stat dataset")


def _ids(ids: Any, name: str) -> list[str]:
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
        raise SourceFormatError(name, f"expected a non-empty list of dimension names, found {ids!r}"[:300],
                                "id")
    folded = [i.casefold() for i in ids]
    twice = sorted({i for i, f in zip(ids, folded, strict=True) if folded.count(f) > 1})
    if twice:  # Eurostat treats dimension codes case-insensitively (sources.md 1.2)
        raise SourceFormatError(name, f"dimension ids {twice} occur twice (case-insensitively)", "id")
    return ids


def _sizes(sizes: Any, n_ids: int, name: str) -> list[int]:
    if not isinstance(sizes, list) or not all(type(s) is int and s >= 0 for s in sizes):
        raise SourceFormatError(name, f"expected a list of non-negative integers, found {sizes!r}"[:300],
                                "size")
    if len(sizes) != n_ids:
        raise SourceFormatError(name, f"{n_ids} dimension ids but {len(sizes)} sizes", "size")
    return sizes


def _categories(dimension: dict, dim: str, n: int, name: str) -> np.ndarray:
    """The category codes of a dimension, ordered by their position (a permutation of 0..n-1)."""
    field = f"dimension.{dim}"
    entry = dimension.get(dim)
    category = entry.get("category") if isinstance(entry, dict) else None
    if not isinstance(category, dict):
        raise SourceFormatError(name, "dimension has no category object", field)
    index = category.get("index")
    label = category.get("label")
    if label is not None and not isinstance(label, dict):
        raise SourceFormatError(name, f"category label must be an object, found {type(label).__name__}",
                                f"{field}.category.label")
    if index is None:  # a single category may omit index; its only label key is the code
        if not label or len(label) != 1:
            raise SourceFormatError(name, "category has no index and not exactly one label",
                                    f"{field}.category.index")
        codes = list(label)
    elif isinstance(index, list):
        codes = index
    elif isinstance(index, dict):
        positions = list(index.values())
        if not all(type(p) is int for p in positions) or sorted(positions) != list(range(len(index))):
            raise SourceFormatError(name, f"category index positions must be 0..{len(index) - 1}, each "
                                          f"once; found {sorted(positions, key=str)[:10]}",
                                    f"{field}.category.index")
        codes = [None] * len(index)
        for code, pos in index.items():
            codes[pos] = code
    else:
        raise SourceFormatError(name, f"category index must be an array or an object, found "
                                      f"{type(index).__name__}", f"{field}.category.index")
    if not all(isinstance(c, str) and c for c in codes):
        raise SourceFormatError(name, "category codes must be non-empty strings", f"{field}.category.index")
    if len(set(codes)) != len(codes):
        twice = sorted({c for c in codes if codes.count(c) > 1})
        raise SourceFormatError(name, f"category codes {twice[:5]} occur twice", f"{field}.category.index")
    if len(codes) != n:
        raise SourceFormatError(name, f"has {len(codes)} categories, size says {n}", field)
    return np.asarray(codes, dtype=object)


def _positions(obj: Any, size: int, name: str, key: str) -> tuple[np.ndarray, list[Any]]:
    """Flat positions and items of a JSON-stat `value` or `status`: a sparse object or a dense array."""
    if obj is None and key == "status":
        return np.empty(0, dtype=np.int64), []
    if isinstance(obj, dict):
        keys = list(obj)
        bad = next((k for k in keys if not _POSITION.match(k)), None)
        if bad is not None:
            raise SourceFormatError(name, f"keys must be cell positions written as plain integers, found "
                                          f"{bad!r}", key)
        if any(len(k) > 18 for k in keys):  # cannot be below MAX_CELLS; would overflow int64
            raise SourceFormatError(name, f"position outside the cube of {size} cells", key)
        index = np.fromiter((int(k) for k in keys), dtype=np.int64, count=len(keys))
        items = list(obj.values())
    elif isinstance(obj, list):
        if key == "status" and len(obj) == 1 and size > 1:  # one status for all cells
            obj = obj * size
        if len(obj) != size:
            raise SourceFormatError(name, f"a dense array must have one entry per cell: {len(obj)} entries, "
                                          f"the sizes give {size} cells", key)
        index = np.arange(len(obj), dtype=np.int64)
        items = obj
    elif isinstance(obj, str) and key == "status":  # a single status string applies to every cell
        return np.arange(size, dtype=np.int64), [obj] * size
    else:
        raise SourceFormatError(name, f"expected an object or array, found {type(obj).__name__}", key)
    if index.size and (index.min() < 0 or index.max() >= size):
        raise SourceFormatError(name, f"position {int(index.max())} outside the cube of {size} cells", key)
    if len(np.unique(index)) != len(index):  # "1" and "01" cannot both pass the pattern; kept as a guard
        raise SourceFormatError(name, "a cell position is given twice", key)
    return index, items


def _numbers(items: list[Any], name: str) -> np.ndarray:
    """The values as float64 (NaN for null); raise for anything but a finite number or null."""
    bad = next((v for v in items if v is not None and type(v) not in (int, float)), None)
    if bad is not None:
        raise SourceFormatError(name, f"a value must be a number or null, found {bad!r}"[:200], "value")
    try:
        values = np.array([np.nan if v is None else v for v in items], dtype=np.float64)
    except OverflowError as exc:
        raise SourceFormatError(name, "a value is too large for a 64-bit float", "value") from exc
    if (np.abs(values) > MAX_ABS_VALUE).any():  # NaN compares False
        big = values[np.abs(values) > MAX_ABS_VALUE][0]
        raise SourceFormatError(name, f"value {big!r} is too large for a statistic (over "
                                      f"{MAX_ABS_VALUE:g} in magnitude)", "value")
    return values


def _unravel(cells: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    """Per-dimension positions of flat cell positions (last dimension fastest), for any number of
    dimensions (numpy's unravel_index stops at 32 or 64)."""
    coords: list[np.ndarray] = []
    rest = cells.copy()
    for n in reversed(sizes):
        coords.append(rest % n if n else rest)
        rest = rest // n if n else rest
    return coords[::-1]


def _meta(doc: dict, name: str) -> dict:
    """``updated``, ``label``, ``extension`` and ``source``, type-checked."""
    updated = doc.get("updated")
    if updated is not None:
        if not isinstance(updated, str) or not _ISO_STAMP.match(updated):
            raise SourceFormatError(name, f"expected an ISO 8601 date or time, found {updated!r}"[:200],
                                    "updated")
        try:
            pd.Timestamp(updated)
        except ValueError as exc:  # month 13, day 32, year 0
            raise SourceFormatError(name, f"impossible date {updated!r}", "updated") from exc
    extension = doc.get("extension")
    if extension is not None and not isinstance(extension, dict):
        raise SourceFormatError(name, f"expected an object, found {type(extension).__name__}", "extension")
    if extension and extension.get("id") is not None and not isinstance(extension["id"], str):
        raise SourceFormatError(name, f"expected a dataset code, found {extension['id']!r}"[:200],
                                "extension.id")
    return {k: doc.get(k) for k in ("updated", "label", "extension", "source")}

__all__ = ["MAX_CELLS", "WITHHELD_STATUSES", "is_withheld", "parse"]
