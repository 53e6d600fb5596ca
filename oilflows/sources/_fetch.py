"""The fetch protocol shared by every source: periods, credentials, deprecations, splitting a query.

Every ``fetch`` has one signature (docs/fetching.md)::

    fetch(dataset, *, reporter=None, partner=None, product=None, start=None, end=None, base_url=None,
          **source_specific)

This module holds the pieces each source would otherwise write itself:

- :func:`check_periods`: ``start``/``end`` are ``YYYY`` or ``YYYY-MM`` everywhere; a malformed period
  (``2020-13``) or a start after the end is a :class:`~oilflows.errors.QueryError`, raised before any
  request. :func:`month_index`, :func:`period_text` and :func:`halve_periods` do the period arithmetic.
- :func:`credential`: an explicit ``api_key=``/``token=`` if given, else :func:`oilflows.http.credential`
  (the environment variable, else the OS keyring); either way registered for redaction.
- :func:`deprecated`: the one :class:`DeprecationWarning` of an old call form, naming the new call.
- :func:`fetch_split`: send queries one after another; a part the service finds too big
  (:class:`TooBig`) is split by the source's own rule and its halves fetched in its place (depth
  first), under an optional :class:`Budget` of requests.

Pacing lives in :mod:`oilflows.http` (``RATE_LIMITS``) and decompression in :mod:`oilflows._io`, not here.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from .. import http
from ..errors import FetchError, QueryError

#: A period of the fetch signature: ``YYYY`` or ``YYYY-MM``.
PERIOD = re.compile(r"^(\d{4})(?:-(\d{2}))?$")
#: The text every deprecation warning of an old fetch form starts with (pyproject filters may name it).
DEPRECATION_PREFIX = "old fetch signature"

Q = TypeVar("Q")
R = TypeVar("R")


# -- periods ------------------------------------------------------------------------------------------


def check_period(value: Any, label: str, source: str) -> str | None:
    """`value` as ``YYYY`` or ``YYYY-MM`` text (None stays None); QueryError otherwise."""
    if value is None:
        return None
    text = str(value).strip()
    match = PERIOD.match(text)
    if isinstance(value, bool) or not match or (match.group(2) and not 1 <= int(match.group(2)) <= 12):
        raise QueryError(f"{source}: {label} {value!r} is not a period YYYY or YYYY-MM")
    return text


def check_periods(start: Any, end: Any, source: str,
                  labels: tuple[str, str] = ("start", "end")) -> tuple[str | None, str | None]:
    """Checked ``(start, end)``; QueryError for a malformed period or a start after the end (a year
    covers its twelve months: ``start="2021", end="2020-12"`` is refused, ``"2020"``/``"2020-06"`` not).
    `labels` name the two in messages (e.g. the API's ``startPeriod``/``endPeriod``)."""
    start, end = check_period(start, labels[0], source), check_period(end, labels[1], source)
    if start is not None and end is not None and month_index(start) > month_index(end, is_end=True):
        raise QueryError(f"{source}: {labels[0]} {start} is after {labels[1]} {end}")
    return start, end


def month_index(period: str, *, is_end: bool = False) -> int:
    """A checked period as a count of months; ``YYYY`` is its January (or December with `is_end`)."""
    match = PERIOD.match(period)
    assert match is not None, f"not a checked period: {period!r}"
    year, month = match.groups()
    return int(year) * 12 + (int(month) if month else (12 if is_end else 1)) - 1


def period_text(index: int, freq: str) -> str:
    """The period of a month count: ``YYYY-MM`` (freq M) or ``YYYY`` (freq A)."""
    return f"{index // 12:04d}" if freq == "A" else f"{index // 12:04d}-{index % 12 + 1:02d}"


def halve_periods(start: str | None, end: str | None, freq: str) -> list[tuple[str, str]]:
    """The two halves of the range ``start..end`` at frequency `freq` (M or A), or [] when the range is
    open or holds one period. ``("2022-12", "2023-02", "M")`` -> ``[("2022-12", "2023-01"),
    ("2023-02", "2023-02")]``."""
    if start is None or end is None:
        return []
    first, last = month_index(start), month_index(end, is_end=True)
    if freq == "A":
        first, last = first // 12, last // 12
    if last <= first:
        return []
    middle = (first + last) // 2

    def text(i: int) -> str:
        return str(i) if freq == "A" else period_text(i, "M")

    return [(text(first), text(middle)), (text(middle + 1), text(last))]


# -- credentials --------------------------------------------------------------------------------------


def credential(explicit: str | None, env: str) -> str | None:
    """The key or token of a fetch: `explicit` (the source-specific ``api_key=``/``token=``) if given,
    else :func:`oilflows.http.credential` of `env` (the environment variable, else the OS keyring).
    Stripped, registered for :func:`oilflows.http.redact`; None when there is none."""
    value = explicit if explicit is not None else http.credential(env)
    value = str(value).strip() if value else ""
    http.register_secret(value)
    return value or None


# -- deprecations -------------------------------------------------------------------------------------


def call_text(source: str, dataset: str, **kwargs: Any) -> str:
    """``source.fetch('dataset', key=value, ...)`` for a message (None values left out; secrets not
    shown)."""
    shown = []
    for name, value in kwargs.items():
        if value is None:
            continue
        if name in ("api_key", "token"):
            value = "..."
        shown.append(f"{name}={value!r}")
    return f"{source}.fetch({', '.join([repr(dataset), *shown])})"


def deprecated(source: str, old: str, new: str, *, stacklevel: int = 3) -> None:
    """Warn (:class:`DeprecationWarning`) that the call form `old` of ``source.fetch`` goes away in the
    next release, naming the call `new` (see :func:`call_text`) to use instead."""
    warnings.warn(f"{DEPRECATION_PREFIX}: {source}.fetch({old}) is deprecated and will be removed in the "
                  f"next release; call {new} instead (docs/fetching.md)", DeprecationWarning,
                  stacklevel=stacklevel)


def unexpected(source: str, kwargs: dict[str, Any], known: Iterable[str]) -> None:
    """TypeError naming the keyword arguments of `kwargs` not in `known` (as Python would)."""
    bad = sorted(set(kwargs) - set(known))
    if bad:
        raise TypeError(f"{source}.fetch() got unexpected keyword arguments {bad}")


# -- splitting ----------------------------------------------------------------------------------------


class TooBig(Exception):
    """Raised by a source's one-request function: the service refused the query as too big (Eurostat
    and Comext 413 EXTRACTION_TOO_BIG / "too large", GENESIS status 98, a Comtrade result at its
    record cap). :func:`fetch_split` splits the query and fetches the parts instead."""

    def __init__(self, where: str, detail: str, status: int | None = None):
        super().__init__(detail)
        self.where, self.detail, self.status = where, detail, status


@dataclass
class Budget:
    """At most `limit` requests (None: no limit); `exceeded(sent)` builds the error raised before a
    request past it."""

    limit: int | None
    exceeded: Callable[[int], FetchError]
    sent: int = 0

    def spend(self) -> None:
        if self.limit is not None and self.sent >= self.limit:
            raise self.exceeded(self.sent)
        self.sent += 1


def fetch_split(
    queries: Iterable[Q],
    fetch_one: Callable[[Q], R],
    split: Callable[[Q], list[Q] | tuple[Q, ...] | None],
    cannot_split: Callable[[Q, TooBig], FetchError],
    *,
    budget: Budget | None = None,
) -> list[R]:
    """The results of `queries`, in order, fetched one after another by `fetch_one`.

    When `fetch_one` raises :class:`TooBig`, `split` gives the parts of that query (fetched in its place,
    depth first); no parts (``[]`` or None) raises ``cannot_split(query, too_big)``. With a `budget`,
    :meth:`Budget.spend` is called before every request.
    """
    pending = list(queries)
    results: list[R] = []
    while pending:
        query = pending.pop(0)
        if budget is not None:
            budget.spend()
        try:
            result = fetch_one(query)
        except TooBig as too_big:
            parts = split(query)
            if not parts:
                raise cannot_split(query, too_big) from None
            pending[:0] = list(parts)
            continue
        results.append(result)
    return results
