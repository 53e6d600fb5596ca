"""Eurostat Comext (international trade in goods, CN8): dataset DS-045409 via SDMX 2.1, and the bulk files.

Three entry points, all returning the canonical frame (source ``"comext"``, dataset ``"ds-045409"``):

- :func:`read` parses SDMX-CSV 1.0 of DS-045409 (plain or gzip), as :func:`fetch` downloads it;
- :func:`fetch` downloads from the Comext SDMX 2.1 API (its own host, not Eurostat's main one), with the
  fetch signature of every source (docs/fetching.md): ``fetch("DS-045409", *, reporter=None,
  partner=None, product=None, start=None, end=None, base_url=None, flow="import", ...)``;
- :func:`read_bulk` streams a bulk file ``full_v2_YYYYMM.7z`` (or the CSV inside it, plain or gzip),
  keeping only the rows of the chosen CN chapters; :func:`iter_bulk` yields the filtered raw rows.

Comext quirks handled here and nowhere else (sources.md section 2):

- **Host and key.** DS-045409 exists only under ``/api/comext/dissemination``. The SDMX key is
  ``freq.reporter.partner.product.flow.indicators`` [3P]; reporter and partner are ISO-2 codes, and the
  old numeric Comext codes (``1A``, ``004``) silently give an empty set, so :func:`request_url` rejects
  them.
- **Indicators arrive as rows** and are pivoted into measure columns (:data:`INDICATORS`):
  ``VALUE_IN_EUROS`` -> ``value`` (EUR), ``QUANTITY_IN_100KG`` -> ``mass_t`` (divided by 10).
  ``SUPPLEMENTARY_QUANTITY`` is dropped: its unit depends on the CN8 code (litres, pieces, ...) and
  the crude-oil codes have none. The bulk files' quantity is in **kg** (divided by 1000).
- **Products.** CN8 ``27090010`` is "natural gas condensates", ``27090090`` "other" (crude oil proper)
  (:data:`CN8_LABELS`). Both are HS 2709 ("petroleum oils ..., crude"), so both map to ``crude_oil``
  and the CN8 code is kept in ``grade``: one row per CN8 code, the key stays unique, and a user who
  does not count condensates as crude can drop ``grade == "27090010"``. :func:`sum_cn8` (or
  ``combine_cn8=True``) sums them into one HS-2709 row per key with ``grade`` null. Heading-level codes
  (``2709``, ``270900``) also map to ``crude_oil`` with ``grade`` null; a file that holds crude at both
  levels is refused (the levels overlap). A masked bulk code such as ``2709XXXX`` is ``crude_oil`` with
  that code as ``grade``. Every other code becomes ``cn_<code>`` (``cn_27101943``, ``cn_27XXXXXX``).
  Beware: other national nomenclatures reuse the digits with other meanings (Brazil's NCM 27090010 is
  crude oil); these are EU CN codes.
- **Partners** (:data:`PARTNER_CODES`): ``EL`` -> ``GR``, ``UK`` -> ``GB``, ``WORLD``/``TOTAL`` ->
  ``WORLD``; extra/intra-EU aggregates keep one spelling (``EXT_EU27_2020`` -> ``EU27_2020_EXTRA``);
  the geonomenclature's pseudo-partners ``QP``-``QZ`` (high seas, stores and provisions, "not
  specified", and "not specified for commercial or military reasons", i.e. secret) get descriptive
  non-ISO codes (``QZ`` -> ``CONFIDENTIAL_EXTRA_EU``); an unlisted two-letter code in the ISO
  user-assigned range ``QM``-``QZ`` becomes ``COMEXT_Q?``. ``QA`` is Qatar and stays ``QA``.
  ``XC``/``XL`` (Ceuta, Melilla) -> ``CEUTA``/``MELILLA``, ``XS`` (Serbia) -> ``RS``, ``XK`` (Kosovo)
  stays; ``XI``/``XU`` (UK: Northern Ireland / excluding it) -> ``UK_NORTHERN_IRELAND``/``UK_EXCL_NI``.
  An empty partner cell (seen live by a third party) -> ``UNKNOWN``. Other codes pass through.
  A partner being secret is not a confidential *cell*: those rows carry their quantity and no flag.
- **Flows**: ``1`` import, ``2`` export (:data:`FLOWS`); any other code is refused.
- **Flags**: ``OBS_FLAG`` and ``CONF_STATUS`` may be absent (Comext answers seen by third parties have
  neither). When present they are read as for Eurostat: ``C``/``N``/``P`` or ``c`` -> a flag containing
  ``c`` and a null quantity. ``flag`` is the flag of the mass (of the value when there is no mass).
- **Vintage**: ``LAST UPDATE`` (``DD/MM/YY HH:MM:SS``; a date alone is accepted), Luxembourg wall-clock
  time. The bulk files carry no stamp: pass ``vintage=`` to :func:`read_bulk`.
- **Size limits**: a query above 5,000,000 cells gets 413 ``EXTRACTION_TOO_BIG``; :func:`fetch` then
  splits the query (period halves, then partners, then products, then reporters) and retries. A queued
  (asynchronous) extraction is polled on the Comext host's ``/1.0/async/`` endpoints.
- **Bulk files** (:data:`BULK_LAYOUTS`): one CSV per archive (``full_YYYYMM.dat``, about 400 MB a
  month), with rows split by ``TRADE_TYPE`` and ``STAT_PROCEDURE`` (normal, inward/outward processing,
  not from customs). :func:`read_bulk` sums them per key (or keeps only ``stat_procedures=``).
  ``PERIOD`` ``YYYY52`` is the annual total (``full_v2_YYYY52.7z``). Reading needs ``py7zr`` for the
  ``.7z`` (optional extra ``oilflows[comext]``). Files are streamed with bounded memory whatever their
  size (:mod:`oilflows.sources._comext_stream`): blocks of bytes (the 7z member decompressed in a
  worker thread, no temporary file), rows selected on the raw bytes of their product code, only the
  kept rows parsed; a 7z member or gzip stream larger than ``max_uncompressed_bytes`` is refused
  (:class:`DecompressionLimitError`).

Where the pieces live (this module is the public face: ``read``, ``fetch``, ``request_url``; the parts
never import it): code tables in ``_comext_codes``, SDMX-CSV parsing and the canonical conversion in
``_comext_parse``, the API request model in ``_comext_api``, the bulk files in ``_comext_bulk``
(streaming in ``_comext_stream``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import pandas as pd

from .._io import (
    Source,
    body_head,
    gunzip_if_needed,
    markup_title,
    read_bytes,
    sniff_text_kind,
)
from ..errors import FetchError, SourceFormatError
from ..formats import sdmx_csv

# Reused from the Eurostat module (same SDMX-CSV flags, periods and async messages); see its docstrings.
from ..formats.sdmx_csv import check_flags, parse_periods
from ..schema import conform, empty_frame
from ._comext_api import (  # noqa: F401 - re-exported: this module is the public face of its parts
    ASYNC_MAX_WAIT_SECONDS,
    ASYNC_POLL_SECONDS,
    MAX_REQUESTS,
    Query,
    build_query,
    split_query,
)
from ._comext_bulk import (  # noqa: F401 - re-exported: this module is the public face of its parts
    ANNUAL_MONTH,
    iter_bulk,
    read_bulk,
)
from ._comext_codes import (  # noqa: F401 - re-exported: this module is the public face of its parts
    CN8_LABELS,
    CRUDE_CN8,
    DATAFLOW,
    DATASET,
    DEFAULT_INDICATORS,
    DIMS,
    DROPPED_INDICATORS,
    FLOW_CODES,
    FLOWS,
    INDICATORS,
    PARTNER_CODES,
    PARTNER_REGIONS,
    PRODUCT_HEADINGS,
    REPORTER_CODES,
    SOURCE,
    partner_code,
    product_and_grade,
)
from ._comext_parse import (  # noqa: F401 - re-exported: this module is the public face of its parts
    SDMX_EXTRA_COLUMNS,
    _check_dataflow,
    _check_freq,
    _check_sdmx_columns,
    _long_frame,
    _pivot_indicators,
    _sorted,
    _to_canonical,
    _vintage,
    sum_cn8,
)
from ._comext_stream import (  # noqa: F401  (re-exported: the bulk layout is part of this module's API)
    BULK_COLUMNS,
    BULK_COLUMNS_V1,
    BULK_LAYOUTS,
    BULK_NUMERIC,
    BULK_ROW_BYTES,
    DEFAULT_CHUNK_ROWS,
    MAX_LINE_BYTES,
    MAX_UNCOMPRESSED_BYTES,
    BulkFilters,
    DecompressionLimitError,
    bulk_schema,
    stream_batches,
)
from ._eurostat_api import get_data
from ._fetch import Budget, TooBig, call_text, check_periods, deprecated, fetch_split

#: Comext's own API host (DS-045409 is not on the main Eurostat host).
BASE_URL = "https://ec.europa.eu/eurostat/api/comext/dissemination"


def read(src: Source, *, combine_cn8: bool = False, name: str | None = None) -> pd.DataFrame:
    """Read an SDMX-CSV 1.0 file of DS-045409 (plain or gzip) into the canonical frame.

    Parameters
    ----------
    src : path, bytes or binary file object
        The body :func:`fetch` downloads (``format=SDMX-CSV``), header
        ``DATAFLOW,LAST UPDATE,freq,reporter,partner,product,flow,indicators,TIME_PERIOD,OBS_VALUE``
        optionally followed by ``OBS_FLAG`` and ``CONF_STATUS``.
    combine_cn8 : bool
        Sum the crude-oil CN8 codes into one row per key (``grade`` null); see :func:`sum_cn8`.
    name : str, optional
        Name used in error messages (defaults to the path).

    Returns
    -------
    pandas.DataFrame
        The canonical frame: ``value`` in EUR, ``mass_t`` in tonnes, one row per CN8 code.

    Raises
    ------
    SourceFormatError
        Empty file, HTML/XML/JSON instead of CSV, another dataflow, missing or unexpected columns,
        unknown indicator or flow codes, duplicate observations, overlapping product levels.
    """
    data, name = read_bytes(src, name)
    data = gunzip_if_needed(data, name)
    if not data.strip():
        raise SourceFormatError(name, "the file is empty")
    kind = sniff_text_kind(data)
    if kind == "markup":
        raise SourceFormatError(name, f"expected SDMX-CSV, found an HTML/XML page: {markup_title(data)!r}")
    if kind == "json":
        excerpt = " ".join(data[:300].decode("utf-8", "replace").split())
        raise SourceFormatError(name, f"expected SDMX-CSV, found JSON: {excerpt}")
    table = sdmx_csv.parse(data, name)
    _check_sdmx_columns(table.column_names, name)
    if table.num_rows == 0:
        raise SourceFormatError(name, "SDMX-CSV file has a header but no observations")
    _check_dataflow(table, name)
    check_flags(table["OBS_FLAG"].unique().to_pylist(), name)  # letters only, as in eurostat.read
    vintage = _vintage(table, name)
    long = _long_frame(table)
    _check_freq(long, name)
    wide = _pivot_indicators(long, name)
    wide["period"] = parse_periods(wide["period"], wide["freq"], name)
    frame = _to_canonical(wide, vintage, name)
    return sum_cn8(frame) if combine_cn8 else frame


def request_url(
    reporter: str | Sequence[str] | None = "DE",
    partner: str | Sequence[str] | None = ("KZ", "RU"),
    product: str | Sequence[str] | None = CRUDE_CN8,
    flow: str | int | Sequence[str | int] = "import",
    *,
    start: str | None = None,
    end: str | None = None,
    freq: str = "M",
    indicators: str | Sequence[str] = DEFAULT_INDICATORS,
) -> tuple[str, dict[str, str]]:
    """The SDMX 2.1 data URL and query parameters of a DS-045409 request.

    ``None`` for reporter, partner or product is a wildcard (an empty key position). Codes keep the order
    given. Example: ``request_url("DE", ("KZ", "RU"), ("27090090", "27090010"), start="2020-01")`` gives
    ``{BASE_URL}/sdmx/2.1/data/DS-045409/M.DE.KZ+RU.27090090+27090010.1.VALUE_IN_EUROS+QUANTITY_IN_100KG``
    with ``{"startPeriod": "2020-01", "format": "SDMX-CSV"}``.
    """
    query = build_query(reporter, partner, product, flow, start=start, end=end, freq=freq,
                        indicators=indicators)
    return _url(query), query.params()


def _url(query: Query, base_url: str | None = None) -> str:
    return f"{(base_url or BASE_URL).rstrip('/')}/sdmx/2.1/data/{DATAFLOW}/{query.key()}"


#: The defaults of the deprecated call form ``fetch(reporter, partner, product, flow, ...)``.
_OLD_DEFAULTS = {"reporter": "DE", "partner": ("KZ", "RU"), "product": CRUDE_CN8, "flow": "import"}
_UNSET = object()


def fetch(
    dataset: str | None = None,
    *old_args: object,
    reporter: str | Sequence[str] | None = _UNSET,  # type: ignore[assignment]
    partner: str | Sequence[str] | None = _UNSET,  # type: ignore[assignment]
    product: str | Sequence[str] | None = _UNSET,  # type: ignore[assignment]
    start: str | None = None,
    end: str | None = None,
    base_url: str | None = None,
    flow: str | int | Sequence[str | int] = _UNSET,  # type: ignore[assignment]
    freq: str = "M",
    indicators: str | Sequence[str] = DEFAULT_INDICATORS,
    combine_cn8: bool = False,
    poll_seconds: float = ASYNC_POLL_SECONDS,
    max_wait_seconds: float = ASYNC_MAX_WAIT_SECONDS,
    max_requests: int = MAX_REQUESTS,
) -> pd.DataFrame:
    """Download DS-045409 from the Comext SDMX 2.1 API and return the canonical frame.

    The fetch signature of every source (docs/fetching.md)::

        fetch("DS-045409", reporter="DE", partner=["KZ", "RU"], product=CRUDE_CN8, start="2020-01",
              end="2023-12", flow="import")

    `dataset` is the dataflow id ``"DS-045409"`` (the only one; ``"ds-045409"`` too). `reporter`,
    `partner` are ISO-2 codes and `product` CN codes (2, 4, 6 or 8 digits), one or a list; ``None`` (the
    default) is a wildcard for `reporter` and `partner`, and crude oil (:data:`CRUDE_CN8`) for `product`
    (as for Comtrade and GENESIS: all of CN is always too big). `start`/`end` are ``YYYY`` or
    ``YYYY-MM`` (QueryError before any request for a malformed period, a start after the end, or a month
    with ``freq="A"``). `base_url` replaces
    :data:`BASE_URL`. No credential is needed. Source-specific: `flow` (import/export or 1/2, default
    import), `freq` (M or A), `indicators`, `combine_cn8` (see :func:`sum_cn8`), the asynchronous-extraction
    polling interval and limit (seconds), and `max_requests`, the most data requests sent while
    splitting a too-big query.

    Deprecated (until the next release, with a DeprecationWarning): the old form
    ``fetch(reporter="DE", partner=("KZ", "RU"), product=CRUDE_CN8, flow="import", *, start, end, ...)``,
    positional or keyword, without `dataset`; its defaults (DE, KZ+RU, the crude CN8 codes) apply there.

    Handles (:func:`oilflows.sources._eurostat_api.classify`, shared with Eurostat): retries of 429/5xx
    honouring Retry-After (:mod:`oilflows.http`); 413 EXTRACTION_TOO_BIG, "too large" and "exceeds" (the
    query is split: period halves first, then partners, products, reporters, and each part fetched;
    :class:`FetchError` if it cannot be split further or `max_requests` is exceeded); a queued extraction
    (polled at ``/1.0/async/status/{key}``, then downloaded); 404 "No results found" or a header-only
    body (an empty frame and a warning: wrong codes also answer so); an HTML outage page
    (:class:`FetchError`). Bodies that do not parse raise :class:`SourceFormatError` naming the URL.
    """
    given: dict[str, Any] = {"reporter": reporter, "partner": partner, "product": product, "flow": flow}
    if dataset is not None and str(dataset).upper() == DATAFLOW:
        if old_args:
            raise TypeError("comext.fetch() takes only the dataset as a positional argument")
        given = {k: (None if v is _UNSET else v) for k, v in given.items()}
        given["flow"] = "import" if flow is _UNSET else flow
        given["product"] = CRUDE_CN8 if product is _UNSET or product is None else product
    else:
        if dataset is not None and str(dataset).upper().startswith("DS-"):
            from ..errors import UnknownDatasetError

            raise UnknownDatasetError(str(dataset), (DATAFLOW,), source=SOURCE)
        positional = ([] if dataset is None else [dataset]) + list(old_args)
        if len(positional) > 4:
            raise TypeError(f"comext.fetch() takes at most 4 positional arguments in its old form "
                            f"({len(positional)} given)")
        for name, value in zip(_OLD_DEFAULTS, positional, strict=False):
            if given[name] is not _UNSET:
                raise TypeError(f"comext.fetch() got multiple values for argument {name!r}")
            given[name] = value
        given = {k: (_OLD_DEFAULTS[k] if v is _UNSET else v) for k, v in given.items()}
        deprecated(SOURCE, "reporter, partner, product, flow, ...", call_text(
            SOURCE, DATAFLOW, **{k: v for k, v in given.items() if k != "flow"}, start=start, end=end,
            flow=given["flow"]))
    check_periods(start, end, f"comext {DATAFLOW}", ("startPeriod", "endPeriod"))
    query = build_query(given["reporter"], given["partner"], given["product"], given["flow"], start=start,
                        end=end, freq=freq, indicators=indicators)
    base = (base_url or BASE_URL).rstrip("/")

    def fetch_one(part: Query) -> pd.DataFrame | None:
        return get_data(_url(part, base), part.params(), _frame, base_url=base, poll_seconds=poll_seconds,
                        max_wait_seconds=max_wait_seconds)

    def cannot_split(part: Query, too_big: TooBig) -> FetchError:
        return FetchError(too_big.where, f"extraction too big for Comext ({too_big.detail}) and the query "
                          "cannot be split further (one period, partner, product and reporter); "
                          "pass start= and end=, or name the partners", status=too_big.status)

    budget = Budget(max_requests, lambda sent: FetchError(
        _url(query, base), f"gave up splitting a too-big query after {sent} requests (max_requests); "
        "narrow the query"))
    frames = [f for f in fetch_split([query], fetch_one, split_query, cannot_split, budget=budget)
              if f is not None]
    if not frames:
        warnings.warn(f"comext: no observations for {_url(query, base)} {query.params()}; check the codes "
                      "(wrong or numeric codes also give an empty answer)", UserWarning, stacklevel=2)
        return empty_frame()
    frame = frames[0] if len(frames) == 1 else _sorted(conform(pd.concat(frames, ignore_index=True)))
    return sum_cn8(frame) if combine_cn8 else frame


def _frame(body: bytes, url: str) -> pd.DataFrame | None:
    """The frame of a data body, None for a header-only body (how an empty selection may answer)."""
    return None if _header_only(body) else read(body, name=url)


def _header_only(body: bytes, name: str | None = None) -> bool:
    """True for an SDMX-CSV body with a header and no rows (how an empty selection may answer); looks
    at the first 64 KiB of the text only (:func:`oilflows._io.body_head`)."""
    head, complete = body_head(body, 1 << 16)
    if not complete:
        return False
    lines = [line for line in head.splitlines() if line.strip()]
    return len(lines) == 1 and lines[0].lstrip(b"\xef\xbb\xbf").startswith(b"DATAFLOW")

__all__ = ["BASE_URL", "CRUDE_CN8", "DATASET", "DEFAULT_INDICATORS", "FLOWS", "INDICATORS",
           "SOURCE", "Query", "build_query", "fetch", "iter_bulk", "partner_code",
           "product_and_grade", "read", "read_bulk", "request_url", "split_query", "sum_cn8"]
