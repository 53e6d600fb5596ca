"""The UN Comtrade API v1: a request (:class:`Query`), its codes and periods, the plan of calls within the
record and URL limits, the paced and checked call (:class:`_Caller`) and the messages of refused answers.
The endpoints and :func:`oilflows.sources.comtrade.fetch` are in the public module.
"""

from __future__ import annotations

import email.utils
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
import requests

from .. import http
from .._io import markup_title, sniff_text_kind
from ..errors import FetchError, QueryError, SourceFormatError
from ._comtrade_codes import PARTNER_COMTRADE, SOURCE
from ._comtrade_parse import _load_json, _records, _service_error
from ._fetch import (
    check_periods,
    month_index,
    period_text,
)

# The key's header is a credential: redacted, never cached, dropped on a redirect to another origin.
http.register_credential_header("Ocp-Apim-Subscription-Key")

#: Environment variable holding the subscription key.
API_KEY_ENV = "COMTRADE_API_KEY"
#: Record caps per call: preview 500; keyed 100,000 (the free tier; premium allows 250,000).
PREVIEW_MAX_RECORDS = 500
DATA_MAX_RECORDS = 100_000
#: Periods per call: one for the preview endpoint, twelve for the keyed endpoint.
PREVIEW_PERIODS_PER_CALL = 1
DATA_PERIODS_PER_CALL = 12
#: Longest request URL Comtrade accepts ("Request URL Too Long" above it).
MAX_URL_CHARS = 4095
#: Seconds between two calls (10 calls a minute, comtradr's default). The pacing itself is done by
#: :mod:`oilflows.http` only (``http.RATE_LIMITS["comtradeapi.un.org"]``, one call per this many
#: seconds); this constant documents it and is kept for compatibility.
MIN_INTERVAL_SECONDS = 6.0
#: Most calls one fetch may make (the free tier allows 500 calls a day).
MAX_CALLS = 50
#: HTTP statuses whose bodies fetch reads itself (429 arrives here only after the retries).
HANDLED_STATUSES = (200, 400, 401, 403, 404, 414, 429)
_FLOW_ALIASES = {"M": "M", "X": "X", "IMPORT": "M", "EXPORT": "X"}
_CMD = re.compile(r"^(\d{2}|\d{4}|\d{6}|TOTAL|AG2|AG4|AG6)$")
_TRY_AGAIN = re.compile(r"try again in (\d+(?:\.\d+)?) seconds?", re.IGNORECASE)
_REPLENISHED = re.compile(r"replenished in (?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})", re.IGNORECASE)


@dataclass(frozen=True)
class Query:
    """One Comtrade request: codes are Comtrade's (numeric areas, ``YYYY``/``YYYYMM`` periods)."""

    freq: str
    reporters: tuple[int, ...]
    partners: tuple[int, ...] | None  # None: every partner
    periods: tuple[str, ...]
    cmds: tuple[str, ...]
    flows: tuple[str, ...]

    def params(self, max_records: int) -> dict[str, str]:
        """Query parameters, totals pinned (sources.md 3.2 / 3.5)."""
        params = {"reporterCode": _join(self.reporters)}
        if self.partners is not None:
            params["partnerCode"] = _join(self.partners)
        params.update({
            "period": ",".join(self.periods), "cmdCode": ",".join(self.cmds),
            "flowCode": ",".join(self.flows), "partner2Code": "0", "customsCode": "C00",
            "motCode": "0", "breakdownMode": "classic", "maxRecords": str(max_records),
            "includeDesc": "true",
        })
        return params

    def split(self) -> list[Query]:
        """Two halves along the first dimension with more than one code (periods, partners, cmds,
        flows, reporters), or [] if every dimension has one code (or partners are 'all')."""
        for dim in ("periods", "partners", "cmds", "flows", "reporters"):
            codes = getattr(self, dim)
            if codes is not None and len(codes) > 1:
                half = len(codes) // 2
                return [replace(self, **{dim: codes[:half]}), replace(self, **{dim: codes[half:]})]
        return []


def _join(codes: Iterable[int]) -> str:
    return ",".join(str(c) for c in codes)


def _as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, str | int):
        return [value]
    return list(value)


def _area_codes(areas: Any, role: str) -> tuple[int, ...]:
    codes = []
    for area in _as_list(areas):
        key = str(area).strip().upper()
        if key not in PARTNER_COMTRADE:
            raise QueryError(f"comtrade: no Comtrade code for {role} {area!r}; use ISO alpha-2 codes, "
                             "WORLD, or a code of comtrade.PARTNER_COMTRADE")
        codes.append(PARTNER_COMTRADE[key])
    if not codes:
        raise QueryError(f"comtrade: give at least one {role}")
    return tuple(sorted(set(codes)))


def _period_codes(period: Any, freq: str) -> tuple[str, ...]:
    """``YYYY`` (A) or ``YYYYMM``/``YYYY-MM`` (M; a bare ``YYYY`` means its twelve months)."""
    out: set[str] = set()
    for item in _as_list(period):
        text = str(item).strip().replace("-", "")
        shape = r"\d{4}" if freq == "A" else r"\d{4}(0[1-9]|1[0-2])"
        if re.fullmatch(shape, text):
            out.add(text)
        elif freq == "M" and re.fullmatch(r"\d{4}", text):
            out.update(f"{text}{m:02d}" for m in range(1, 13))
        else:
            raise QueryError(f"comtrade: period {item!r} is not {'YYYY' if freq == 'A' else 'YYYY-MM'}")
    if not out:
        raise QueryError("comtrade: give at least one period")
    return tuple(sorted(out))


def build_query(reporter: Any, partner: Any, period: Any, *, cmd: Any = "2709", flow: Any = "M",
                freq: str = "A") -> Query:
    """Validate a request and translate it to Comtrade codes (no network).

    ``reporter``/``partner`` are ISO alpha-2 codes (or WORLD, or codes of :data:`PARTNER_COMTRADE`),
    one or a list; ``partner=None`` asks for every partner. ``period`` is ``YYYY`` (annual) or
    ``YYYY-MM``/``YYYYMM`` (monthly; a bare year means its twelve months), one or a list. ``cmd`` is
    an HS code (2, 4 or 6 digits) or TOTAL; ``flow`` M/X (or import/export). Raises QueryError.
    """
    freq = str(freq).upper()
    if freq not in ("A", "M"):
        raise QueryError(f"comtrade: freq {freq!r} is not A or M")
    cmds = tuple(sorted({str(c).strip().upper() for c in _as_list(cmd)}))
    if not cmds or any(not _CMD.match(c) for c in cmds):
        raise QueryError(f"comtrade: cmd {cmd!r} is not an HS code of 2, 4 or 6 digits or TOTAL")
    flows = []
    for item in _as_list(flow):
        code = _FLOW_ALIASES.get(str(item).strip().upper())
        if code is None:
            raise QueryError(f"comtrade: flow {item!r} is not M, X, import or export")
        flows.append(code)
    if not flows:
        raise QueryError("comtrade: give at least one flow")
    partners = None if partner is None else _area_codes(partner, "partner")
    return Query(freq, _area_codes(reporter, "reporter"), partners, _period_codes(period, freq), cmds,
                 tuple(sorted(set(flows))))


def plan(query: Query, *, keyed: bool) -> list[Query]:
    """Split `query` into calls of at most 12 (keyed) or 1 (preview) periods each."""
    size = DATA_PERIODS_PER_CALL if keyed else PREVIEW_PERIODS_PER_CALL
    periods = query.periods
    return [replace(query, periods=periods[i : i + size]) for i in range(0, len(periods), size)]


def _dash(period: str, freq: str) -> str:
    """A Comtrade period (``YYYY`` or ``YYYYMM``) in the fetch signature's form (``YYYY-MM``)."""
    return period if freq == "A" else f"{period[:4]}-{period[4:]}"


def _freq(start: Any, end: Any, freq: str | None) -> str:
    """`freq`, else M when `start` or `end` names a month, else A."""
    if freq is not None:
        return str(freq).strip().upper()
    return "M" if any(p is not None and "-" in str(p) for p in (start, end)) else "A"


def _period_range(start: Any, end: Any, freq: str | None) -> list[str]:
    """The periods from `start` to `end` (default `start`) in Comtrade's codes; QueryError first."""
    start, end = check_periods(start, end, SOURCE)
    if start is None:
        raise QueryError("comtrade: give start= (YYYY or YYYY-MM; end= defaults to start)")
    end = start if end is None else end
    if _freq(start, end, freq) == "A":
        if "-" in start or "-" in end:
            raise QueryError(f"comtrade: freq A takes YYYY periods, not {start!r}/{end!r}")
        return [str(year) for year in range(int(start), int(end) + 1)]
    first, last = month_index(start), month_index(end, is_end=True)
    return [period_text(i, "M") for i in range(first, last + 1)]


#: Release-date fields of an availability record; :func:`last_update` takes the latest present.
#: ``publicationDate`` is in the real bulk listing; ``lastReleased``/``firstReleased`` are
#: documented by third parties for getDa only [U].
RELEASE_FIELDS: tuple[str, ...] = ("lastReleased", "publicationDate", "firstReleased")


def _release_stamp(value: Any, field: str, where: str) -> pd.Timestamp:
    """An ISO timestamp -> naive UTC floored to the second (a naive value is taken as UTC)."""
    try:
        stamp = pd.Timestamp(str(value))
    except (TypeError, ValueError) as exc:
        raise SourceFormatError(where, f"unreadable {field} {value!r}", field) from exc
    if stamp is pd.NaT:
        raise SourceFormatError(where, f"unreadable {field} {value!r}", field)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.floor("s")


class _Caller:
    """Sends calls through :mod:`oilflows.http` (which paces them) and checks each answer."""

    def __init__(self, key: str | None, *, cache: bool = True):
        self.key = key
        self.cache = cache
        self.calls = 0
        self.first_date: pd.Timestamp | None = None

    def call(self, url: str, params: dict[str, str]) -> tuple[dict, str]:
        """One GET; returns (checked JSON body, response URL) or raises FetchError/SourceFormatError."""
        headers = {"Ocp-Apim-Subscription-Key": self.key} if self.key else None
        try:
            # A keyed call is never cached (http also refuses to cache credentialed requests). A keyless
            # 200 is cached only if _document accepted it (never an HTML page or an error body).
            # Errors are redacted when built (http.redact masks the key and every other secret).
            response = http.get(url, params=params, headers=headers, ok=HANDLED_STATUSES,
                                cache=self.cache and self.key is None, validate=_document)
        except FetchError as exc:
            raise exc from None  # never chained: a context could hold the request, key header included
        finally:
            self.calls += 1
        where = http.redact(response.url or url)
        if self.first_date is None:
            self.first_date = _http_date(response.headers.get("Date"))
        if response.status_code != 200:  # 401/403 bad key -> AccessDeniedError, 429/quota -> RateLimitedError
            error = http.error_type(response)(where, _status_problem(response), status=response.status_code)
            error.retry_after = http.retry_after(response)
            raise error
        return response.validated, where  # type: ignore[attr-defined]  # set by http.request(validate=)


def _document(response: requests.Response) -> dict:
    """The checked JSON document of a 200 answer; http's validator, so only such a body is cached.
    FetchError for an HTML/XML page or an error the body reports, SourceFormatError for broken JSON."""
    where = http.redact(response.url or "")
    body = response.content
    if sniff_text_kind(body) == "markup":
        raise FetchError(where, "the service sent an HTML/XML page instead of JSON: "
                         f"{markup_title(body)!r}", status=200)
    document = _load_json(body, where)
    problem = _service_error(document)
    if problem is not None:
        raise FetchError(where, f"the service reported an error: {problem}", status=200)
    _records(document, where)
    return document


def _http_date(value: str | None) -> pd.Timestamp | None:
    if not value:
        return None
    try:
        stamp = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return pd.Timestamp(stamp).tz_convert("UTC").tz_localize(None)


def _body_message(body: bytes) -> str:
    """A one-line message from an error body: JSON errorObject/message/error, an HTML title, or text."""
    kind = sniff_text_kind(body)
    if kind == "json":
        try:
            document = json.loads(body.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            document = None
        if isinstance(document, dict):
            message = _service_error(document)
            if message:
                return " ".join(message.split())[:300]
    if kind == "markup":
        return markup_title(body)
    return " ".join(body[:300].decode("utf-8", "replace").split())


def _status_problem(response: requests.Response) -> str:
    """Explain a non-200 answer: rate limit (with the wait), quota (with the replenish time), ..."""
    status = response.status_code
    message = _body_message(response.content) or response.reason or "error"
    retry_after = response.headers.get("Retry-After")
    if status == 429:
        match = _TRY_AGAIN.search(message)
        if retry_after and retry_after.strip() not in ("", "0"):
            wait = f"{retry_after.strip()} s"
        else:
            wait = f"{match.group(1)} s" if match else "a while"
        return f"rate limit exceeded after retries; wait {wait} and try again ({message})"
    quota = _REPLENISHED.search(message)
    if status == 403 and quota:
        days, hours, minutes, seconds = (int(g) if g else 0 for g in quota.groups())
        total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
        return (f"out of call volume quota; it is replenished in {hours:02d}:{minutes:02d}:{seconds:02d}"
                f"{f' plus {days} d' if days else ''} ({total} s) ({message})")
    if status in (401, 403):
        return f"access refused ({message}); check the subscription key in ${API_KEY_ENV}"
    if status == 414 or "request url too long" in message.lower():
        return f"request URL too long; ask for fewer codes per call ({message})"
    return message


__all__ = ["API_KEY_ENV", "DATA_MAX_RECORDS", "DATA_PERIODS_PER_CALL", "HANDLED_STATUSES", "MAX_CALLS",
           "MAX_URL_CHARS", "MIN_INTERVAL_SECONDS", "PREVIEW_MAX_RECORDS", "PREVIEW_PERIODS_PER_CALL",
           "Query", "RELEASE_FIELDS", "build_query", "plan"]
