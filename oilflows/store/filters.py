"""Row filters as pyarrow expressions, shared by the store and the embedded default
(:mod:`oilflows.default`)."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds

from ..errors import QueryError
from ..schema import COLUMNS


def expression(
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    **filters: object,
) -> ds.Expression | None:
    """A filter on canonical columns: ``column=value`` or ``column=[values]``; ``None`` matches null.

    ``start``/``end`` bound ``period`` inclusively (``"2021-01"``, ``"2021"``, a Timestamp); an
    ``end`` given as a year includes every month of that year.
    Raises :class:`QueryError` for a column that is not canonical.
    """
    unknown = set(filters) - set(COLUMNS)
    if unknown:
        raise QueryError(f"unknown filter columns {sorted(unknown)}; columns are {list(COLUMNS)}")
    terms = []
    for column, value in filters.items():
        if column in _TIMESTAMPS and value is not None:
            value = _stamps(column, value)
        if value is None:
            terms.append(ds.field(column).is_null())
        elif isinstance(value, str | bytes) or not isinstance(value, Iterable):
            terms.append(ds.field(column) == value)
        else:
            terms.append(ds.field(column).isin(list(value)))
    for bound, lower in ((start, True), (end, False)):
        if bound is None:
            continue
        stamp = pa.scalar(period_bound(bound, lower).to_pydatetime(), type=pa.timestamp("s"))
        terms.append(ds.field("period") >= stamp if lower else ds.field("period") <= stamp)
    result = None
    for term in terms:
        result = term if result is None else result & term
    return result


_TIMESTAMPS = ("period", "vintage")


def _stamps(column: str, value: object) -> pa.Scalar | list[pa.Scalar]:
    """`value` (one or many dates: strings, Timestamps) as timestamp scalars of the schema's type."""
    many = not isinstance(value, str | bytes | pd.Timestamp) and isinstance(value, Iterable)
    out = []
    for item in (list(value) if many and isinstance(value, Iterable) else [value]):
        try:
            stamp = pd.Timestamp(item)
        except (TypeError, ValueError) as exc:
            raise QueryError(f"filter {column}={item!r} is not a date like 2021-06-01") from exc
        if pd.isna(stamp):
            raise QueryError(f"filter {column}={item!r} is not a date like 2021-06-01")
        out.append(pa.scalar(stamp.to_pydatetime(), type=pa.timestamp("s")))
    return out if many else out[0]


def period_bound(value: str | pd.Timestamp, lower: bool) -> pd.Timestamp:
    """A period bound: ``"2021"`` ends at 2021-12-01 when it is the upper bound."""
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise QueryError(f"period bound {value!r} is not a date like 2021 or 2021-06") from exc
    if not lower and isinstance(value, str) and len(value.strip()) == 4:
        stamp = stamp.replace(month=12)
    return stamp

__all__ = ["expression", "period_bound"]
