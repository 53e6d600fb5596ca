"""JSON-stat 2.0 datasets -> a long pandas frame: one column per dimension, ``value`` and ``status``."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from ..errors import SourceFormatError


def _positions(obj: Any, size: int, name: str, key: str) -> tuple[np.ndarray, list[Any]]:
    """Flat indices and items of a JSON-stat `value` or `status`: a sparse object or a dense array."""
    if obj is None:
        return np.empty(0, dtype=np.int64), []
    if isinstance(obj, dict):
        try:
            index = np.fromiter((int(k) for k in obj), dtype=np.int64, count=len(obj))
        except ValueError as exc:
            raise SourceFormatError(name, f"keys must be integer positions ({exc})", key) from exc
        items = list(obj.values())
    elif isinstance(obj, list):
        if key == "status" and len(obj) == 1 and size > 1:  # one status for all cells
            obj = obj * size
        index = np.arange(len(obj), dtype=np.int64)
        items = obj
    elif isinstance(obj, str) and key == "status":  # a single status string applies to every cell
        return np.arange(size, dtype=np.int64), [obj] * size
    else:
        raise SourceFormatError(name, f"expected an object or array, found {type(obj).__name__}", key)
    if index.size and (index.min() < 0 or index.max() >= size):
        raise SourceFormatError(name, f"position outside the cube of {size} cells", key)
    return index, items


def _categories(dimension: dict, dim: str, n: int, name: str) -> np.ndarray:
    """The category codes of a dimension, ordered by their position."""
    try:
        category = dimension[dim]["category"]
    except (KeyError, TypeError) as exc:
        raise SourceFormatError(name, "dimension has no category", f"dimension.{dim}") from exc
    index = category.get("index")
    if index is None:  # a single category may omit index; its only label key is the code
        codes = list(category.get("label", {}))
    elif isinstance(index, list):
        codes = index
    else:
        codes = [None] * len(index)
        for code, pos in index.items():
            codes[pos] = code
    if len(codes) != n:
        raise SourceFormatError(name, f"has {len(codes)} categories, size says {n}", f"dimension.{dim}")
    return np.asarray(codes, dtype=object)


def parse(data: bytes | dict, name: str) -> tuple[pd.DataFrame, dict]:
    """Parse a JSON-stat 2.0 dataset into (long frame, top-level metadata).

    The frame has one column per dimension id (codes), ``value`` (float, null where the cube has a
    status but no value, e.g. a confidential cell) and ``status`` (the cell's status, or null). Cells
    with neither value nor status are absent. Metadata holds ``updated``, ``label`` and ``extension``.
    """
    if isinstance(data, dict):
        doc = data
    else:
        try:
            doc = json.loads(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SourceFormatError(name, f"not valid JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise SourceFormatError(name, "expected a JSON-stat object at the top level")
    if "error" in doc and "value" not in doc:
        raise SourceFormatError(name, f"the service returned an error: {doc['error']}", "error")
    for key in ("id", "size", "dimension"):
        if key not in doc:
            raise SourceFormatError(name, "not a JSON-stat 2.0 dataset: key missing", key)
    ids, sizes = list(doc["id"]), [int(s) for s in doc["size"]]
    if len(ids) != len(sizes):
        raise SourceFormatError(name, f"{len(ids)} dimension ids but {len(sizes)} sizes", "size")
    total = int(np.prod(sizes)) if sizes else 0
    v_index, v_items = _positions(doc.get("value"), total, name, "value")
    s_index, s_items = _positions(doc.get("status"), total, name, "status")
    values = pd.Series(pd.to_numeric(pd.Series(v_items, dtype=object), errors="coerce").to_numpy(),
                       index=v_index, dtype="float64")
    status = pd.Series(s_items, index=s_index, dtype=object)
    values = values[values.notna()]
    status = status[status.notna() & (status != "")]
    cells = values.index.union(status.index).to_numpy(dtype=np.int64)
    frame = pd.DataFrame(index=range(len(cells)))
    empty = [np.empty(0, dtype=np.int64)] * len(ids)
    coords = np.unravel_index(cells, sizes) if len(cells) else empty
    for dim, n, pos in zip(ids, sizes, coords, strict=True):
        frame[dim] = _categories(doc["dimension"], dim, n, name)[pos]
    frame["value"] = values.reindex(cells).to_numpy()
    frame["status"] = status.reindex(cells).to_numpy()
    meta = {k: doc.get(k) for k in ("updated", "label", "extension", "source")}
    return frame, meta
