"""Destatis GENESIS-Online: ``parse_ffcsv`` flat files, ``read`` foreign-trade table 51000-0017, ``fetch``.

GENESIS-Online is the database of the Federal Statistical Office (Destatis). Table **51000-0017** is the
monthly foreign trade of Germany by country (``STLAH``) and 8-digit goods code (``WAM8``, ``WA`` + CN8);
its contents are ``GEWE``/``WERTE``/``WERTES``/``BME`` (imports: weight, value in EUR, value in USD,
supplementary unit) and ``GEWA``/``WERTA``/``WERTAS``/``BMA`` (exports). ``read`` returns the canonical
frame (``source="destatis"``, ``dataset="51000-0017"``; the yearly table 51000-0010 as well, with
``freq="A"``), ``parse_ffcsv`` any GENESIS flat file as a long frame, ``fetch`` downloads through the REST
web service (sources.md section 4).

Country labels, as real answers write them (fixtures recorded by the pystatis project,
``tests/fixtures/genesis/real/``): a ``STLAH`` code is looked up in ``oilflows/data/genesis_countries.csv``
(all 262 codes of the foreign-trade statistics, German and English labels, the ISO code or a declared
non-country code); validity notes such as ``(ab 05/1992)``, ``(since 05/1992)`` or ``(01/1993 - 05/2005)``
are stripped before the label is checked against that code; official long names (``Islamische Republik
Iran``) and historical aggregates (``Belgien und Luxemburg`` -> ``BELUX``) come from the same list. Units
are accepted in both languages (``Tsd. EUR``/``EUR 1000``, ``Tsd. US $``/``US-$ 1000``, ``t``). The old
layout is read with or without its ``__q`` quality columns, and the English old layout's repeated
``<n>_variable_code`` header names are read by position.

Where the pieces live (this module is the public face; the parts never import it):

- :mod:`oilflows.sources._genesis_parse`: flat files (``ffcsv``) -> long frame, :func:`parse_ffcsv`.
- :mod:`oilflows.sources._genesis_codes`: contents, units, STLAH codes, country names (data in
  ``oilflows/data/genesis_*.csv``), :func:`country_iso`.
- :mod:`oilflows.sources._genesis_canonical`: long frame -> canonical frame (used by :func:`read`).
- :mod:`oilflows.sources._genesis_api`: the REST web service (:class:`Query`, planning, POST, status
  messages, :func:`stlah_catalogue`, :func:`last_update`), used by :func:`fetch`.

The flat-file format, its special signs and the decision on ``-`` are documented in
:mod:`oilflows.sources._genesis_parse`.

51000-0017 -> canonical frame (:func:`read`)
--------------------------------------------
- ``period``: year from ``time`` + month from the ``MONAT`` attribute code (``MONAT01`` .. ``MONAT12``).
- ``partner``: from the country **label** through :data:`COUNTRY_NAMES` (German and English names ->
  ISO 3166-1 alpha-2); the ``STLAH`` code is cross-checked against :data:`STLAH_ISO` where listed. An
  unknown label, or a code whose listed country differs from its label's, raises
  :class:`SourceFormatError` naming both. Two codes that map to one partner raise as well.
- ``product``: ``crude_oil`` for CN 2709 (``WA27090010`` natural-gas condensates, ``WA27090090`` other
  crude); each CN8 code is kept as ``grade`` (``CN27090010``, ``CN27090090``) and **not summed**: the
  canonical frame has no commodity-code column and ``grade`` is the sub-division of a product whose
  sum is the product (docs/schema.md), so the HS 2709 total is the sum over the two grades. Any other
  CN8 code becomes product ``cn8_<code>`` with grade null.
- ``flow``/measures (:data:`CONTENTS`): ``GEWE``/``GEWA`` -> ``mass_t`` (unit ``t``, checked),
  ``WERTE``/``WERTA`` -> ``value`` in EUR (unit ``Tsd. EUR``, multiplied by 1000), ``WERTES``/``WERTAS`` ->
  ``value`` in USD only when the file has no EUR value for that flow. ``BME``/``BMA`` (supplementary
  units) are dropped. Units are read from ``value_unit`` and checked against :data:`UNITS`, never assumed.
- ``flag``: the special-sign flag (:data:`CANONICAL_FLAG`) followed by ``value_q`` of the row's mass cell
  (of the value cell when the file has no mass content), e.g. ``"e"``, ``"-e"``, ``"c"``.
- ``vintage``: the flat file carries no release stamp, so it is null unless passed (``vintage=``).
  GENESIS overwrites provisional months in place; a re-fetch with a null vintage replaces the stored
  rows (the store's tie rule); pass a retrieval stamp to keep a revision history instead.

Web service (:func:`fetch`)
---------------------------
``fetch("51000-0017", *, reporter=None, partner=None, product=None, start=None, end=None, base_url=None,
token=None, ...)`` is the fetch signature of every source (docs/fetching.md): `partner` -> ``STLAH``,
`product` -> ``WAM8``, `start`/`end` (``YYYY`` or ``YYYY-MM``) -> ``startyear``/``endyear`` and the
``MONAT`` keys; the token comes from ``token=`` or :func:`oilflows.http.credential`.
POST (never GET) to ``.../genesisWS/rest/2020/data/tablefile`` with a form-encoded body; the API token
goes in the ``username`` header with an empty ``password`` header, read from ``token=`` or the
``GENESIS_TOKEN`` environment variable. The token is never logged and is scrubbed from every error
message; responses are not cached (a request carrying a credential never reaches the HTTP cache).
The response is dispatched on its Content-Type: ``application/json`` is a status message even on
HTTP 200 (0/22 success, 98 too big -> split and retry, 99 job created -> :class:`FetchError`, 104 no data
-> empty frame); ``application/zip`` or ``text/csv`` is data. Requests are planned to stay under the
40,000-value dialog limit and sent one after another (GENESIS allows at most 3 in parallel).
:func:`last_update` asks ``catalogue/modifieddata`` when a table was last changed (sources.md 4, item 6),
with the same POST, token and status handling.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from .._io import Source
from ..errors import FetchError, QueryError, SourceFormatError
from ..schema import conform, empty_frame, validate
from ._fetch import TooBig, call_text, check_periods, deprecated, fetch_split, month_index
from ._genesis_api import (  # noqa: F401 - re-exported: the public names of this source
    BASE_URL,
    DATA_TYPES,
    DEFAULT_CONTENTS,
    DEFAULT_GOODS,
    MAX_KEYS,
    MAX_PARALLEL,
    MAX_VALUES,
    MODIFIEDDATA,
    STATUS_JOB,
    STATUS_NO_DATA,
    STATUS_OK,
    STATUS_TOO_BIG,
    STLAH_VALUES_ESTIMATE,
    TABLEFILE,
    TOKEN_ENV,
    VALUES2VARIABLE,
    Query,
    _download_one,
    _token,
    build_query,
    last_update,
    plan_requests,
    split_query,
    stlah_catalogue,
    verify_stlah,
)
from ._genesis_canonical import (  # noqa: F401 - re-exported: the public names of this source
    _canonical,
    _cells,
    _check_statistic,
)
from ._genesis_codes import (  # noqa: F401 - re-exported: the public names of this source
    CONTENTS,
    COUNTRIES_FILE,
    COUNTRY_NAMES,
    COUNTRY_NAMES_BY_ISO,
    COUNTRY_NAMES_FILE,
    CRUDE_HEADINGS,
    CURRENCY,
    DROPPED_CONTENTS,
    ISO_STLAH,
    LIST_NAMES,
    READ_DIMENSIONS,
    SOURCE,
    STLAH_ISO,
    STLAH_ISO_FILE,
    STLAH_LABELS,
    STLAH_PARTNER,
    STLAH_VERIFIED,
    TABLES,
    UNITS,
    _name_table,
    country_iso,
    strip_validity_note,
)
from ._genesis_parse import (  # noqa: F401 - re-exported: the public names of this source
    CANONICAL_FLAG,
    DECIMAL_OF_LANGUAGE,
    LIMITED_RELIABILITY,
    MAX_DIMENSIONS,
    NEW_GROUP,
    NEW_PREFIX,
    NEW_QUALITY,
    NEW_SUFFIX,
    OLD_EN_GROUP,
    OLD_GROUP,
    OLD_PREFIX,
    OLD_QUALITY_SUFFIX,
    QUALITY_MARKS,
    SPECIAL_VALUES,
    TIME_LABELS,
    ZIP_MAGIC,
    dimensions,
    parse_ffcsv,
)

# -- table 51000-0017: read -------------------------------------------------------------------------


def read(
    src: Source,
    *,
    name: str | None = None,
    vintage: pd.Timestamp | str | None = None,
    decimal: str | None = None,
    language: str | None = None,
) -> pd.DataFrame:
    """Read a GENESIS flat file of table 51000-0017 (foreign trade by country and CN8) as canonical.

    A file of table 51000-0010 (yearly, by country and 4-digit goods code: no ``MONAT``, ``WAM4`` instead
    of ``WAM8``) is read the same way with ``dataset="51000-0010"``, ``freq="A"`` and product
    ``crude_oil`` (no grade) for ``WA2709``, ``cn4_<code>`` otherwise. Country labels may carry validity
    notes (``Kasachstan (ab 05/1992)``) and are mapped through ``oilflows/data/genesis_countries.csv``;
    both languages and both layouts (with or without quality columns) are read.

    Parameters
    ----------
    src : path, bytes or binary file object
        The ``ffcsv`` ZIP or CSV (new or old layout), e.g. the body of a ``data/tablefile`` answer.
    name : str, optional
        Name used in error messages (defaults to the path).
    vintage : timestamp or str, optional
        Stamp for the ``vintage`` column; the flat file has none, so it is null by default.
    decimal, language : optional
        See :func:`parse_ffcsv`.

    Returns
    -------
    pandas.DataFrame
        The canonical frame: ``source="destatis"``, ``dataset="51000-0017"``, ``freq="M"``, reporter
        ``DE``, partner ISO alpha-2, product ``crude_oil`` with the CN8 code as grade (``CN27090090``),
        ``mass_t`` in tonnes, ``value`` in EUR (thousands multiplied out) or USD, ``flag`` as in the
        module docstring. A file with a header and no rows gives an empty frame.

    Raises
    ------
    SourceFormatError
        Everything :func:`parse_ffcsv` raises, plus: not a foreign-trade (51000) table; no MONAT,
        STLAH or WAM8 dimension; an unknown content, unit, goods code or country label; a STLAH code
        whose label names another country than :data:`STLAH_ISO`; a cell given twice.
    """
    long = parse_ffcsv(src, name=name, decimal=decimal, language=language)
    name = long.attrs["name"]
    if long.empty:
        return empty_frame()
    _check_statistic(long, name)
    dims = dimensions(long, name)
    table = "51000-0010" if "MONAT" not in dims and "WAM4" in dims else "51000-0017"
    missing = [v for v in READ_DIMENSIONS[table] if v not in dims]
    if missing:
        raise SourceFormatError(name, f"table 51000-0017 has the dimensions MONAT, STLAH and WAM8 "
                                      f"(51000-0010: STLAH and WAM4, yearly); this file has "
                                      f"{sorted(dims)}", missing[0])
    cells = _cells(long, dims, name)
    return _canonical(cells, name, vintage, dataset=table, freq="M" if "MONAT" in dims else "A")




# -- fetch ------------------------------------------------------------------------------------------

_MODULE = "genesis"
#: The arguments of the deprecated call form ``fetch(table, start_year, end_year, months, countries,
#: goods, contents, token, language)``, in order.
_OLD_POSITIONAL = ("start_year", "end_year", "months", "countries", "goods", "contents", "token", "language")
#: Keywords only the deprecated form has (the new form's partner=, product=, start=, end= replace them).
_OLD_ONLY = ("table", "start_year", "end_year", "countries", "goods")


def fetch(
    dataset: str | None = None,
    *old_args: object,
    reporter: str | None = None,
    partner: str | Iterable[str] | None = None,
    product: str | Iterable[str] | None = None,
    start: str | int | None = None,
    end: str | int | None = None,
    base_url: str | None = None,
    months: Iterable[int | str] | None = None,
    contents: str | Iterable[str] = DEFAULT_CONTENTS,
    token: str | None = None,
    language: str = "de",
    vintage: pd.Timestamp | str | None = None,
    **old_kwargs: object,
) -> pd.DataFrame:
    """Download 51000-0017 from GENESIS-Online (``data/tablefile``, ffcsv) and return the canonical frame.

    The fetch signature of every source (docs/fetching.md)::

        fetch("51000-0017", partner=["KZ", "RU"], start="2022-11", end="2023-02", token=...)

    Parameters
    ----------
    dataset : str
        The table id, ``"51000-0017"`` (the only table :func:`read` knows).
    reporter : str, optional
        Always Germany: None or ``"DE"``.
    partner : str or iterable of str, optional
        ISO alpha-2 (through :data:`ISO_STLAH`) or STLAH codes (``STLAH``); all countries by default.
    product : str or iterable of str, optional
        CN8 codes (``WAM8``; ``27090090`` or ``WA27090090``); default HS 2709 (:data:`DEFAULT_GOODS`, also
        for ``"crude_oil"``).
    start, end : str
        ``YYYY`` or ``YYYY-MM`` (`end` defaults to `start`): mapped to ``startyear``/``endyear`` and the
        ``MONAT`` keys (a range across years is sent as up to three requests: the first year's months,
        the whole years, the last year's months). A malformed period or a start after the end is a
        QueryError before any request.
    base_url : str, optional
        Another GENESIS instance with the same API (e.g. the Bavarian one); default :data:`BASE_URL`.
    months : iterable of int, optional
        Source-specific: months 1..12 within every year (only with ``YYYY`` periods).
    contents : iterable of str
        Source-specific: contents of :data:`CONTENTS` (``GEWE`` import weight and ``WERTE`` import
        value by default).
    token : str, optional
        Source-specific: the GENESIS API token; by default ``$GENESIS_TOKEN`` (else the OS keyring),
        looked up by :func:`oilflows.http.credential`. Sent in the ``username`` header only.
    language : {"de", "en"}
        Source-specific: language of labels and numbers in the answer.
    vintage : timestamp or str, optional
        Stamp for the ``vintage`` column (null by default; see the module docstring).

    Deprecated (until the next release, with a DeprecationWarning): the old form ``fetch(table,
    start_year, end_year, months, countries, goods, contents, token, language)``, positional or keyword
    (``start_year=``, ``end_year=``, ``countries=``, ``goods=``, ``table=``).

    Returns
    -------
    pandas.DataFrame
        The canonical frame of all answers (see :func:`read`); empty if GENESIS has no data (104).

    Raises
    ------
    QueryError
        A malformed request or no token (before anything is sent).
    FetchError
        HTTP errors (429/5xx are retried by :mod:`oilflows.http` first), an HTML page, status 99 or any
        other error status, a request still too big after splitting to one cell. Never contains the token.
    SourceFormatError
        A truncated ZIP, a ZIP without exactly one CSV, a changed column set (see :func:`read`).
    """
    unknown = set(old_kwargs) - set(_OLD_ONLY)
    if unknown:
        raise TypeError(f"genesis.fetch() got unexpected keyword arguments {sorted(unknown)}")
    if old_args or old_kwargs or dataset is None:
        query, token = _old_query(dataset, old_args, old_kwargs, months, contents, token, language,
                                  reporter, partner, product, start, end)
        queries = [query]
    else:
        queries = _new_queries(str(dataset), reporter, partner, product, start, end, months, contents,
                               language)
    secret = _token(token)
    url = (base_url or BASE_URL).rstrip("/") + "/" + TABLEFILE
    parts = [part for query in queries for part in plan_requests(query)]

    def fetch_one(part: Query) -> list[tuple[str, bytes]]:
        return _download_one(part, url, secret)

    def cannot_split(part: Query, too_big: TooBig) -> FetchError:
        return FetchError(too_big.where, f"GENESIS status 98 (too big for a dialog request: "
                          f"{too_big.detail}) even for one month, country, good and content",
                          status=too_big.status)

    frames = []
    # one after another: GENESIS tolerates at most 3 in parallel (and http caps it at 3)
    for bodies in fetch_split(parts, fetch_one, split_query, cannot_split):
        for label, body in bodies:
            frames.append(read(body, name=label, vintage=vintage, language=queries[0].language))
    frames = [frame for frame in frames if len(frame)]
    if not frames:
        return empty_frame()
    return validate(conform(pd.concat(frames, ignore_index=True)))


def _old_query(dataset: str | None, old_args: tuple[object, ...], old_kwargs: dict[str, object],
               months: Iterable[int | str] | None, contents: str | Iterable[str], token: str | None,
               language: str, reporter: str | None, partner: str | Iterable[str] | None,
               product: str | Iterable[str] | None, start: str | int | None,
               end: str | int | None) -> tuple[Query, str | None]:
    """The Query and token of a call in the deprecated form (DeprecationWarning naming the new call)."""
    if any(v is not None for v in (reporter, partner, product, start, end)):
        raise TypeError("genesis.fetch(): reporter=/partner=/product=/start=/end= belong to the new form "
                        "fetch('51000-0017', ...); do not mix them with start_year=/countries=/goods=")
    if len(old_args) > len(_OLD_POSITIONAL):
        raise TypeError(f"genesis.fetch() takes at most {len(_OLD_POSITIONAL) + 1} positional arguments")
    given: dict[str, Any] = {"table": "51000-0017" if dataset is None else dataset, "start_year": None,
                                "end_year": None, "months": months, "countries": None, "goods": DEFAULT_GOODS,
                                "contents": contents, "token": token, "language": language}
    if "table" in old_kwargs and dataset is not None and dataset not in (old_kwargs["table"], TABLES[0]):
        raise TypeError("genesis.fetch() got multiple values for argument 'table'")
    given.update(old_kwargs)
    for name, value in zip(_OLD_POSITIONAL, old_args, strict=False):
        given[name] = value
    query = build_query(given["table"], given["start_year"], given["end_year"], given["months"],
                        given["countries"], given["goods"], given["contents"], given["language"])
    first = f"{query.start_year}-{query.months[0]:02d}" if query.months else str(query.start_year)
    last = f"{query.end_year}-{query.months[-1]:02d}" if query.months else str(query.end_year)
    exact = not query.months or query.start_year == query.end_year and len(query.months) == (
        query.months[-1] - query.months[0] + 1)
    new = call_text(_MODULE, query.table, partner=list(given["countries"]) if given["countries"] else None,
                    product=list(query.goods), start=first, end=last,
                    months=None if exact or query.months is None else list(query.months),
                    contents=list(query.contents))
    deprecated(_MODULE, "table, start_year, end_year, months, countries, goods, ...", new, stacklevel=4)
    return query, given["token"]


def _new_queries(dataset: str, reporter: str | None, partner: str | Iterable[str] | None,
                 product: str | Iterable[str] | None, start: str | int | None, end: str | int | None,
                 months: Iterable[int | str] | None, contents: str | Iterable[str],
                 language: str) -> list[Query]:
    """The Queries of a call in the new form: `start`..`end` as year ranges and their MONAT keys."""
    if reporter is not None and str(reporter).strip().upper() != "DE":
        raise QueryError(f"destatis {dataset}: the reporter is always Germany (DE), not {reporter!r}")
    start, end = check_periods(start, end, f"destatis {dataset}")
    if start is None:
        raise QueryError(f"destatis {dataset}: start is required (YYYY or YYYY-MM; end defaults to start)")
    end = start if end is None else end
    if months is not None and ("-" in start or "-" in end):
        raise QueryError(f"destatis {dataset}: months= goes with YYYY periods only, not {start!r}/{end!r}")
    if product is None or (isinstance(product, str) and product.lower() == "crude_oil"):
        product = DEFAULT_GOODS
    first, last = month_index(start), month_index(end, is_end=True)
    (y1, m1), (y2, m2) = divmod(first, 12), divmod(last, 12)
    m1, m2 = m1 + 1, m2 + 1
    spans: list[tuple[int, int, Iterable[int] | None]] = []
    if y1 == y2:
        spans.append((y1, y1, None if (m1, m2) == (1, 12) else range(m1, m2 + 1)))
    else:
        if m1 != 1:
            spans.append((y1, y1, range(m1, 13)))
        whole = (y1 if m1 == 1 else y1 + 1, y2 if m2 == 12 else y2 - 1)
        if whole[0] <= whole[1]:
            spans.append((whole[0], whole[1], None))
        if m2 != 12:
            spans.append((y2, y2, range(1, m2 + 1)))
    return [build_query(dataset, a, b, months if span is None else list(span), partner, product, contents,
                        language) for a, b, span in spans]


__all__ = ["BASE_URL", "CONTENTS", "COUNTRY_NAMES", "DEFAULT_CONTENTS", "DEFAULT_GOODS",
           "ISO_STLAH", "SOURCE", "STLAH_ISO", "TABLES", "TOKEN_ENV", "Query", "build_query",
           "country_iso", "dimensions", "fetch", "last_update", "parse_ffcsv", "plan_requests",
           "read", "split_query", "stlah_catalogue", "verify_stlah"]
