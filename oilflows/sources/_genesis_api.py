"""The GENESIS-Online REST web service: requests (:class:`Query`), planning and splitting, the POST with
the token, status messages, the STLAH catalogue and the last-update check (documented in
:mod:`oilflows.sources.genesis`, section "Web service"). Bodies are handed back unread: parsing is
:mod:`oilflows.sources._genesis_parse`, and the facade :mod:`oilflows.sources.genesis` puts the two together.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from .._io import (
    markup_title,
    sniff_text_kind,
)
from ..errors import FetchError, QueryError, SourceFormatError, UnknownDatasetError
from ._fetch import TooBig, credential
from ._genesis_codes import (
    _STLAH,
    CONTENTS,
    ISO_STLAH,
    SOURCE,
    STLAH_ISO,
    TABLES,
    country_iso,
)
from ._genesis_parse import (
    DECIMAL_OF_LANGUAGE,
    ZIP_MAGIC,
)

if TYPE_CHECKING:
    import requests

# -- fetch -------------------------------------------------------------------------------------------

#: The GENESIS-Online REST web service (POST only since July 2025).
BASE_URL = "https://www-genesis.destatis.de/genesisWS/rest/2020/"
TABLEFILE = "data/tablefile"
VALUES2VARIABLE = "catalogue/values2variable"
MODIFIEDDATA = "catalogue/modifieddata"
#: Environment variable holding the API token.
TOKEN_ENV = "GENESIS_TOKEN"
#: Most values one dialog (``job=false``) request may return (as of 24 March 2025).
MAX_VALUES = 40_000
#: Most parallel requests GENESIS tolerates; oilflows sends its requests one after another.
MAX_PARALLEL = 3
#: Assumed number of STLAH values when all countries are requested (``pagelength=350`` lists them all).
STLAH_VALUES_ESTIMATE = 350
#: Most keys sent in one ``classifyingkey`` list (comma-separated; the exact length limit is unknown [U]).
MAX_KEYS = 25
DEFAULT_GOODS: tuple[str, ...] = ("WA27090010", "WA27090090")
DEFAULT_CONTENTS: tuple[str, ...] = ("GEWE", "WERTE")
#: GENESIS ``Status.Code`` values (sources.md 4.4; restatis and pystatis handling).
STATUS_OK = (0, 22)  # 0 success; 22 success with adjusted parameters (a warning)
STATUS_TOO_BIG = 98  # table too big for a dialog request: split and retry
STATUS_JOB = 99  # a batch job was created: a token cannot run jobs
STATUS_NO_DATA = 104  # no objects for the selection: an empty result
DATA_TYPES = ("application/zip", "application/x-zip-compressed", "application/octet-stream", "text/csv")


@dataclass(frozen=True)
class Query:
    """One ``data/tablefile`` request of a 51000-0017 extract (codes as GENESIS spells them)."""

    table: str
    start_year: int
    end_year: int
    months: tuple[int, ...] | None  # None: all months
    countries: tuple[str, ...] | None  # STLAH codes; None: all countries
    goods: tuple[str, ...]  # WA + CN8
    contents: tuple[str, ...]
    language: str = "de"

    def values(self) -> int:
        """Upper estimate of the number of values the request returns (years x months x ...)."""
        return ((self.end_year - self.start_year + 1) * len(self.months or range(12))
                * len(self.countries or range(STLAH_VALUES_ESTIMATE)) * len(self.goods) * len(self.contents))

    def form(self) -> dict[str, str]:
        """The form fields of the request, in the order of the documented example (sources.md 4.2)."""
        return {
            "name": self.table,
            "startyear": str(self.start_year),
            "endyear": str(self.end_year),
            "format": "ffcsv",
            "job": "false",
            "compress": "false",
            "classifyingvariable1": "MONAT",
            "classifyingkey1": ",".join(f"MONAT{m:02d}" for m in self.months) if self.months else "*",
            "classifyingvariable2": "STLAH",
            "classifyingkey2": ",".join(self.countries) if self.countries else "*",
            "classifyingvariable3": "WAM8",
            "classifyingkey3": ",".join(self.goods),
            "contents": ",".join(self.contents),
            "language": self.language,
        }

    def describe(self) -> str:
        """A short description for messages, e.g. ``51000-0017 2023 MONAT01-MONAT06 STLAH* ...``."""
        years = f"{self.start_year}" + (f"-{self.end_year}" if self.end_year != self.start_year else "")
        months = (f"MONAT{self.months[0]:02d}-MONAT{self.months[-1]:02d}" if self.months else "MONAT*")
        countries = ",".join(self.countries) if self.countries else "STLAH*"
        return f"{self.table} {years} {months} {countries} {','.join(self.goods)} {','.join(self.contents)}"


def build_query(
    table: str = "51000-0017",
    start_year: int | str | None = None,
    end_year: int | str | None = None,
    months: Iterable[int | str] | None = None,
    countries: str | Iterable[str] | None = None,
    goods: str | Iterable[str] = DEFAULT_GOODS,
    contents: str | Iterable[str] = DEFAULT_CONTENTS,
    language: str = "de",
) -> Query:
    """Check and normalise a request; :class:`QueryError` on anything GENESIS would not understand.

    `months` are 1..12 (or ``MONAT03``); `countries` are ISO alpha-2 codes (mapped through
    :data:`ISO_STLAH`) or STLAH codes; `goods` are CN8 codes with or without the ``WA`` prefix;
    `contents` are codes of :data:`CONTENTS`; `end_year` defaults to `start_year`.
    """
    if table not in TABLES:
        raise UnknownDatasetError(table, TABLES, source=SOURCE)
    start = _year(start_year, "start_year")
    end = start if end_year is None else _year(end_year, "end_year")
    if end < start:
        raise QueryError(f"destatis: end_year {end} is before start_year {start}")
    if language not in DECIMAL_OF_LANGUAGE:
        raise QueryError(f"destatis: language must be 'de' or 'en', not {language!r}")
    return Query(table, start, end, _months(months), _countries(countries), _goods(goods),
                 _contents(contents), language)


def _year(value: int | str | None, label: str) -> int:
    if value is None:
        raise QueryError(f"destatis: {label} is required (a year such as 2023)")
    if not re.fullmatch(r"\d{4}", str(value).strip()):
        raise QueryError(f"destatis: {label} {value!r} is not a year (YYYY)")
    return int(str(value).strip())


def _as_list(values: str | Iterable) -> list[str]:
    return [values] if isinstance(values, str | int) else list(values)


def _months(months: Iterable[int | str] | None) -> tuple[int, ...] | None:
    if months is None:
        return None
    found = set()
    for month in _as_list(months):
        text = str(month).strip().upper().removeprefix("MONAT")
        if not text.isdigit() or not 1 <= int(text) <= 12:
            raise QueryError(f"destatis: month {month!r} is not 1..12 or MONAT01..MONAT12")
        found.add(int(text))
    if not found:
        raise QueryError("destatis: months is empty; pass None for all months")
    return tuple(sorted(found))


def _countries(countries: str | Iterable[str] | None) -> tuple[str, ...] | None:
    if countries is None:
        return None
    codes = []
    for country in _as_list(countries):
        text = str(country).strip().upper()
        if _STLAH.match(text):
            code = text
        elif text in ISO_STLAH:
            code = ISO_STLAH[text]
        else:
            raise QueryError(f"destatis: no STLAH code known for {country!r}; pass the STLAH code "
                             f"(list them with stlah_catalogue())")
        if code not in codes:
            codes.append(code)
    if not codes:
        raise QueryError("destatis: countries is empty; pass None for all countries")
    return tuple(codes)


def _goods(goods: str | Iterable[str]) -> tuple[str, ...]:
    codes = []
    for item in _as_list(goods):
        text = re.sub(r"\s", "", str(item)).upper()
        match = re.fullmatch(r"(?:WA)?(\d{8})", text)
        if not match:
            raise QueryError(f"destatis: goods code {item!r} is not a CN8 code (WA27090090 or 27090090)")
        if f"WA{match.group(1)}" not in codes:
            codes.append(f"WA{match.group(1)}")
    if not codes:
        raise QueryError("destatis: goods is empty")
    return tuple(codes)


def _contents(contents: str | Iterable[str]) -> tuple[str, ...]:
    codes = []
    for item in _as_list(contents):
        text = str(item).strip().upper()
        if text not in CONTENTS:
            raise QueryError(f"destatis: unknown content {item!r}; known: {', '.join(CONTENTS)}")
        if text not in codes:
            codes.append(text)
    if not codes:
        raise QueryError("destatis: contents is empty")
    return tuple(codes)


def _halves(values: tuple) -> tuple[tuple, tuple]:
    middle = (len(values) + 1) // 2
    return values[:middle], values[middle:]


def split_query(query: Query) -> tuple[Query, Query] | None:
    """Split a request in two: by years, then months, countries, goods, contents; None if it is one cell."""
    if query.end_year > query.start_year:
        middle = (query.start_year + query.end_year) // 2
        return replace(query, end_year=middle), replace(query, start_year=middle + 1)
    months = query.months or tuple(range(1, 13))
    if len(months) > 1:
        first, second = _halves(months)
        return replace(query, months=first), replace(query, months=second)
    for field in ("countries", "goods", "contents"):
        values = getattr(query, field)
        if values is not None and len(values) > 1:
            first, second = _halves(values)
            return _replace_field(query, field, first), _replace_field(query, field, second)
    return None


def _replace_field(query: Query, field: str, values: tuple) -> Query:
    """`query` with the list `field` (named at run time) replaced by `values`."""
    changes: dict[str, Any] = {field: values}  # which field is known only at run time
    return replace(query, **changes)


def plan_requests(query: Query) -> list[Query]:
    """Split `query` until every request has at most :data:`MAX_KEYS` keys per list and an estimated
    :data:`MAX_VALUES` values (all countries count as :data:`STLAH_VALUES_ESTIMATE`)."""
    for field in ("countries", "goods"):
        values = getattr(query, field)
        if values is not None and len(values) > MAX_KEYS:
            first, second = _halves(values)
            return [*plan_requests(_replace_field(query, field, first)),
                    *plan_requests(_replace_field(query, field, second))]
    if query.values() > MAX_VALUES and (parts := split_query(query)) is not None:
        return [*plan_requests(parts[0]), *plan_requests(parts[1])]
    return [query]


#: The module's name in messages (its rows' ``source`` is "destatis").


def _token(token: str | None) -> str:
    # $GENESIS_TOKEN, else the OS keyring (service "oilflows", name GENESIS_TOKEN); registered for redaction.
    value = credential(token, TOKEN_ENV)
    if not value:
        raise QueryError(f"destatis: GENESIS-Online needs an API token: set the environment variable "
                         f"{TOKEN_ENV} (or the keyring entry oilflows/{TOKEN_ENV}) or pass token=... "
                         f"(free registration at https://www-genesis.destatis.de, menu "
                         f"'Webservice-Schnittstelle (API)')")
    return value


def _download_one(query: Query, url: str, token: str) -> list[tuple[str, bytes]]:
    """The data body answering `query` (none for status 104); :class:`TooBig` on status 98."""
    label = f"{url} [{query.describe()}]"
    response = _post(url, query.form(), token)
    try:
        body = _data_or_status(response, label, token)
    except _TooBig as exc:
        raise TooBig(label, str(exc), response.status_code) from None
    return [] if body is None else [(label, body)]


class _TooBig(Exception):
    """Internal: GENESIS answered status 98 for a request."""


def _post(url: str, form: Mapping[str, str], token: str) -> requests.Response:
    """POST a form with the token in the ``username`` header; FetchError messages never hold the token."""
    from .. import http

    # The token headers are credentials: redacted, never cached, dropped on a redirect to another origin.
    http.register_credential_header("username")
    http.register_credential_header("password")
    headers = {"Content-Type": "application/x-www-form-urlencoded", "username": token, "password": ""}
    try:
        # Not cached (http also refuses to cache credentialed requests: the token stays off disk).
        return http.post(url, data=dict(form), headers=headers, ok=(200,), cache=False)
    except FetchError as exc:  # redacted when built (http.redact masks every registered secret)
        raise exc from None  # never chained: the context holds the request, token header included


def _data_or_status(response: requests.Response, label: str, token: str) -> bytes | None:
    """The data body of a response, None for status 104; raise on errors, _TooBig on status 98."""
    body = response.content
    status = response.status_code
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if not body:
        raise FetchError(label, f"empty response body (Content-Type {content_type!r})", status=status)
    if body.startswith(ZIP_MAGIC):
        return body
    kind = sniff_text_kind(body)
    if content_type == "application/json" or kind == "json":
        return _status_body(_json(body, label, status), label, token, status)
    if kind == "markup" or content_type in ("text/html", "application/xhtml+xml"):
        raise FetchError(label, f"the service sent an HTML/XML page instead of data: {markup_title(body)!r}",
                         status=status)  # FetchError redacts every registered secret, the token included
    if content_type in DATA_TYPES or content_type.startswith("text/"):
        return body
    raise FetchError(label, f"unexpected Content-Type {content_type!r}", status=status)


def _json(body: bytes, label: str, status: int) -> dict:
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FetchError(label, f"unreadable JSON body ({exc})", status=status) from None
    if not isinstance(document, dict):
        raise FetchError(label, "JSON body is not an object", status=status)
    return document


def _status_code(document: dict, label: str, token: str, status: int) -> tuple[int, str]:
    """``Status.Code`` and ``Status.Content`` (whitespace collapsed, every secret redacted)."""
    from .. import http

    block = document.get("Status")
    if not isinstance(block, dict):
        block = {}
    code = block.get("Code")
    try:
        if code is None:
            raise TypeError("no Status.Code")
        number = int(code)
    except (TypeError, ValueError):
        excerpt = http.redact(" ".join(json.dumps(document, ensure_ascii=False).split())[:300])
        raise FetchError(label, f"JSON without a GENESIS Status.Code: {excerpt}", status=status) from None
    return number, http.redact(" ".join(str(block.get("Content", "")).split()))


def _status_body(document: dict, label: str, token: str, status: int) -> bytes | None:
    """Act on a GENESIS status message (sources.md 4.4)."""
    code, content = _status_code(document, label, token, status)
    if code in STATUS_OK:
        table = document.get("Object")
        text = table.get("Content") if isinstance(table, dict) else None
        if isinstance(text, str) and text.strip():
            return text.encode("utf-8")
        raise FetchError(label, f"GENESIS status {code} ({content}) but no table in the answer",
                         status=status)
    if code == STATUS_TOO_BIG:
        raise _TooBig(content)
    if code == STATUS_NO_DATA:
        return None
    if code == STATUS_JOB:
        raise FetchError(label, f"GENESIS created a batch job (status 99: {content}). An API token cannot "
                                f"run jobs or fetch their results (job=true needs user name and password); "
                                f"oilflows sends job=false and splits large requests, so request fewer "
                                f"years, months, countries or goods", status=status)
    raise FetchError(label, f"GENESIS status {code}: {content}", status=status)


def stlah_catalogue(
    token: str | None = None, language: str = "de", *, base_url: str = BASE_URL
) -> dict[str, str]:
    """All STLAH codes and their country labels (``catalogue/values2variable``, ``pagelength=350``).

    Returns ``{"STLAH003": "Niederlande", ...}``; empty if GENESIS answers 104. Use it with
    :func:`verify_stlah` to confirm :data:`STLAH_ISO`.
    """
    url = base_url.rstrip("/") + "/" + VALUES2VARIABLE
    secret = _token(token)
    response = _post(url, {"name": "STLAH", "pagelength": "350", "language": language}, secret)
    document = _json(response.content, url, response.status_code)
    code, content = _status_code(document, url, secret, response.status_code)
    if code == STATUS_NO_DATA:
        return {}
    if code not in STATUS_OK:
        raise FetchError(url, f"GENESIS status {code}: {content}", status=response.status_code)
    entries = document.get("List") or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) and "Code" in e for e in entries):
        raise FetchError(url, "catalogue answer without a List of {Code, Content}",
                         status=response.status_code)
    return {str(e["Code"]): str(e.get("Content", "")) for e in entries}


def verify_stlah(catalogue: Mapping[str, str]) -> list[str]:
    """Problems of :data:`STLAH_ISO` against a STLAH catalogue (code -> label); empty if all agree."""
    problems = []
    for code, iso in STLAH_ISO.items():
        label = catalogue.get(code)
        if label is None:
            problems.append(f"{code} ({iso}) is not in the catalogue")
        elif country_iso(label) != iso:
            problems.append(f"{code} is {iso} in STLAH_ISO but the catalogue says {label!r} "
                            f"({country_iso(label)})")
    return problems


_GENESIS_DATE = re.compile(r"^(\d{2})\.(\d{2})\.(\d{4})(?:[ T]+(\d{2}):(\d{2})(?::(\d{2}))?)?$")


def last_update(
    table: str = "51000-0017", *, token: str | None = None,
    since: str | pd.Timestamp | None = None, base_url: str = BASE_URL
) -> pd.Timestamp | None:
    """The latest modification date GENESIS reports for `table` (``catalogue/modifieddata``).

    POSTs ``selection=<table>``, ``type=Tabellen``, ``date=<since as DD.MM.YYYY>`` (only when `since` is
    given), ``pagelength=100`` and ``language=de``, with the token in the ``username`` header (from
    `token` or ``GENESIS_TOKEN``); not cached. The answer's shape (``List`` of ``{Code, Content, Date,
    Added, Type, Version}`` under the usual ``Ident``/``Status`` envelope) is [U]: taken from the restatis
    client's handling, not from a recording.

    Returns
    -------
    pandas.Timestamp or None
        The latest ``Date`` (``DD.MM.YYYY``, optionally ``HH:MM[:SS]``) among the ``List`` entries whose
        ``Code`` equals `table`, as a naive timestamp; None if GENESIS answers status 104 (nothing
        modified / no objects) or no entry is for `table`.

    Raises
    ------
    QueryError
        Without a token.
    SourceFormatError
        On a body without ``Status`` or ``List``, or an unreadable ``Date``.
    FetchError
        On HTTP or network errors and on GENESIS status codes other than 0, 22 and 104.
    """
    url = base_url.rstrip("/") + "/" + MODIFIEDDATA
    table = str(table).strip()
    form = {"selection": table, "type": "Tabellen"}
    if since is not None:
        form["date"] = pd.Timestamp(since).strftime("%d.%m.%Y")
    form.update(pagelength="100", language="de")
    secret = _token(token)
    response = _post(url, form, secret)
    document = _json(response.content, url, response.status_code)
    if not isinstance(document.get("Status"), dict):
        raise SourceFormatError(url, "catalogue/modifieddata answer without a GENESIS Status block", "Status")
    code, content = _status_code(document, url, secret, response.status_code)
    if code == STATUS_NO_DATA:
        return None
    if code not in STATUS_OK:
        raise FetchError(url, f"GENESIS status {code}: {content}", status=response.status_code)
    if "List" not in document:
        raise SourceFormatError(url, "catalogue/modifieddata answer without a List", "List")
    entries = document["List"] or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise SourceFormatError(url, "List is not a list of objects", "List")
    dates = [_genesis_date(e.get("Date"), url) for e in entries if str(e.get("Code", "")).strip() == table]
    return max(dates) if dates else None


def _genesis_date(value: object, label: str) -> pd.Timestamp:
    """``DD.MM.YYYY`` with an optional ``HH:MM`` or ``HH:MM:SS`` -> naive Timestamp."""
    match = _GENESIS_DATE.match(str(value).strip()) if value is not None else None
    if match is None:
        raise SourceFormatError(label, f"date {value!r} is not DD.MM.YYYY [HH:MM[:SS]]", "Date")
    day, month, year, hour, minute, second = (int(g) if g else 0 for g in match.groups())
    try:
        return pd.Timestamp(year=year, month=month, day=day, hour=hour, minute=minute, second=second)
    except ValueError:
        raise SourceFormatError(label, f"date {value!r} is not a valid date", "Date") from None
