"""The Comext SDMX 2.1 API: a request (:class:`Query`), its codes and periods checked before anything
is sent, and the split of a too-big query. The download itself is :func:`oilflows.sources.comext.fetch`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from ..errors import QueryError
from ._comext_codes import CRUDE_CN8, DEFAULT_INDICATORS, DROPPED_INDICATORS, FLOW_CODES, FLOWS, INDICATORS
from ._fetch import halve_periods

#: Seconds between polls of an asynchronous extraction, and the most to wait for it.
ASYNC_POLL_SECONDS = 10.0
ASYNC_MAX_WAIT_SECONDS = 1800.0
#: The most data requests one :func:`fetch` sends while splitting a too-big query.
MAX_REQUESTS = 64
_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_PRODUCT = re.compile(r"^(\d{2}|\d{4}|\d{6}|\d{8}|TOTAL)$")
_PERIOD = re.compile(r"^(\d{4})(?:-(\d{2}))?$")


@dataclass(frozen=True)
class Query:
    """One DS-045409 request: codes per dimension (``None`` = wildcard) and a period range."""

    freq: str
    reporter: tuple[str, ...] | None
    partner: tuple[str, ...] | None
    product: tuple[str, ...] | None
    flow: tuple[str, ...]
    indicators: tuple[str, ...]
    start: str | None = None
    end: str | None = None

    def key(self) -> str:
        """The SDMX 2.1 key ``freq.reporter.partner.product.flow.indicators``."""
        positions = [(self.freq,), self.reporter, self.partner, self.product, self.flow, self.indicators]
        return ".".join("+".join(p) if p else "" for p in positions)

    def params(self) -> dict[str, str]:
        """Query parameters in the documented order: startPeriod, endPeriod, format."""
        params = {}
        if self.start is not None:
            params["startPeriod"] = self.start
        if self.end is not None:
            params["endPeriod"] = self.end
        params["format"] = "SDMX-CSV"
        return params


def _codes(value: str | Iterable[str] | None, dim: str, pattern: re.Pattern, hint: str = "") -> tuple | None:
    if value is None:
        return None
    values = [value] if isinstance(value, str) else [str(v) for v in value]
    bad = [v for v in values if not pattern.match(v)]
    if not values or bad:
        raise QueryError(f"comext DS-045409: bad {dim} codes {bad or values!r}{hint}")
    return tuple(v.upper() for v in values)


def _flows(flow: str | int | Iterable[str | int]) -> tuple[str, ...]:
    values = [flow] if isinstance(flow, str | int) else list(flow)
    out = []
    for v in values:
        code = FLOW_CODES.get(str(v).lower(), str(v))
        if code not in FLOWS:
            raise QueryError(f"comext DS-045409: flow {v!r} is not import/export (1/2)")
        out.append(code)
    if not out:
        raise QueryError("comext DS-045409: no flow given")
    return tuple(out)


def build_query(
    reporter: str | Sequence[str] | None = "DE",
    partner: str | Sequence[str] | None = ("KZ", "RU"),
    product: str | Sequence[str] | None = CRUDE_CN8,
    flow: str | int | Sequence[str | int] = "import",
    *,
    start: str | None = None,
    end: str | None = None,
    freq: str = "M",
    indicators: str | Sequence[str] = DEFAULT_INDICATORS,
) -> Query:
    """Validate the arguments of :func:`fetch` into a :class:`Query` (:class:`QueryError` if bad)."""
    freq = str(freq).upper()
    if freq not in ("M", "A"):
        raise QueryError(f"comext DS-045409: freq {freq!r} is not M or A")
    numeric = " (reporter and partner are ISO-2 codes; old numeric Comext codes give an empty answer)"
    query = Query(
        freq=freq,
        reporter=_codes(reporter, "reporter", _CODE, numeric),
        partner=_codes(partner, "partner", _CODE, numeric),
        product=_codes(product, "product", _PRODUCT, " (2, 4, 6 or 8 digits; CN8 is the finest level)"),
        flow=_flows(flow),
        indicators=_codes(indicators, "indicators", re.compile(r"^[A-Z_0-9]+$"), "") or (),
    )
    unknown = set(query.indicators) - set(INDICATORS) - set(DROPPED_INDICATORS)
    if unknown or not query.indicators:
        raise QueryError(f"comext DS-045409: unknown indicators {sorted(unknown)}; known: "
                         f"{sorted(INDICATORS) + list(DROPPED_INDICATORS)}")
    for label, period in (("startPeriod", start), ("endPeriod", end)):
        if period is not None and not _period_ok(str(period), freq):
            raise QueryError(f"comext DS-045409: {label} {period!r} is not YYYY or YYYY-MM"
                             + (" (freq A takes YYYY)" if freq == "A" else ""))
    return replace(query, start=None if start is None else str(start), end=None if end is None else str(end))


def _period_ok(period: str, freq: str) -> bool:
    match = _PERIOD.match(period)
    if not match:
        return False
    if match.group(2) is None:
        return True
    return freq == "M" and 1 <= int(match.group(2)) <= 12


def split_query(query: Query) -> list[Query]:
    """Two smaller queries covering `query`, or [] if it cannot be split.

    Splits the period range in halves when both ``start`` and ``end`` are given and span more than one
    period (:func:`oilflows.sources._fetch.halve_periods`); otherwise halves the partners, then the
    products, then the reporters.
    """
    halves = halve_periods(query.start, query.end, query.freq)
    if halves:
        return [replace(query, start=s, end=e) for s, e in halves]
    for dim in ("partner", "product", "reporter"):
        values = getattr(query, dim)
        if values and len(values) > 1:
            half = math.ceil(len(values) / 2)
            return [replace(query, **{dim: values[:half]}), replace(query, **{dim: values[half:]})]
    return []


__all__ = ["ASYNC_MAX_WAIT_SECONDS", "ASYNC_POLL_SECONDS", "MAX_REQUESTS", "Query", "build_query",
           "split_query"]
