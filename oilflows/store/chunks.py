"""Period chunks: how a big partition's rows fall into one file per calendar year of ``period``
(see :mod:`oilflows.store`, "Period chunks"): the grouping of rows by year, the years a write must
read, and whether a year's rows came out of a write unchanged. Pure functions on frames and tables;
:class:`~oilflows.store.core.Store` decides which files to write."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import KEY, to_table
from .layout import select_keys
from .manifest import FileEntry
from .merge import Scope


def year_runs(period: pa.ChunkedArray | pd.Series) -> tuple[np.ndarray, dict[int, slice]]:
    """The stable order that groups rows by calendar year of `period` (rows sorted by the key stay
    so within a year; the identity if they are grouped already) and each year's slice of that
    order, years ascending."""
    series = isinstance(period, pd.Series)
    years = period.dt.year.to_numpy() if series else pc.year(period).to_numpy()
    grouped = len(years) < 2 or bool((years[1:] >= years[:-1]).all())
    order = np.arange(len(years)) if grouped else np.argsort(years, kind="stable")
    distinct, starts = np.unique(years[order], return_index=True)
    stops = [*starts[1:].tolist(), len(years)] if len(years) else []
    return order, {int(y): slice(int(a), int(b)) for y, a, b in zip(distinct, starts, stops, strict=True)}


def touched_years(key: str, chunked: dict[int, FileEntry], part: pd.DataFrame,
                   scopes: list[Scope]) -> set[int]:
    """The years of chunked partition `key` a write must read: those of its incoming rows `part`,
    and the chunks whose years a ``replace=`` scope selecting `key` overlaps (all if unbounded)."""
    years = set(part["period"].dt.year.unique().tolist()) if len(part) else set()
    for scope in scopes:
        if not select_keys([key], scope.partition_filters()):
            continue
        low = scope.start.year if scope.start is not None else None
        high = scope.end.year if scope.end is not None else None
        years |= {year for year in chunked
                  if (low is None or year >= low) and (high is None or year <= high)}
    return years


def same_rows(rows: pd.DataFrame, stored: pd.DataFrame) -> bool:
    """Whether `rows` are `stored` (both sorted by the key): the vintages are compared first (a
    revision changes them, and they are cheap to compare), every column only if they are equal."""
    if len(rows) != len(stored):
        return False
    if not rows["vintage"].reset_index(drop=True).equals(stored["vintage"].reset_index(drop=True)):
        return False
    return to_table(rows).equals(to_table(stored))


def sort_by_year(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` sorted by calendar year of ``period``, then by the key: one run of rows a year, each
    in the order of a chunk file."""
    keyed = frame[list(KEY)].assign(_year=frame["period"].dt.year).reset_index(drop=True)
    order = keyed.sort_values(["_year", *KEY], na_position="first", kind="stable").index.to_numpy()
    return frame.take(order).reset_index(drop=True)

__all__ = ["same_rows", "sort_by_year", "touched_years", "year_runs"]
