"""The source registry: one :class:`Source` registration per data source, the single place that says
what a source offers and how to reach it.

Everything that used to be spread over the package reads from here:

- :mod:`oilflows.refresh`: which sources a config may name, the default dataset label, which keys and
  codes a config entry may hold, which downloads carry no release stamp, and the per-source
  release check (:attr:`Source.release`) that decides whether a dataset is unchanged;
- :mod:`oilflows.http`: the per-host rate limits (each registration calls :func:`oilflows.http.set_rate_limit`
  for its hosts);
- :mod:`oilflows.analytics.reconcile`: the known causes of disagreement per (source, dataset)
  (:data:`KNOWN_CAUSES`);
- :func:`oilflows.datasets` and ``oilflows list``: titles, units, frequencies and period coverage.

A registration names the source module (``module``) and the names of its functions; they are imported
when first used (:attr:`Source.read`, :attr:`Source.fetch`, :attr:`Source.last_update`), so importing
the registry imports no source module. Adding a source is one module plus one :func:`register` call
here (docs/sources.md).
"""

from __future__ import annotations

import csv
import difflib
import importlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from .. import http
from ..errors import ConfigError, UnknownDatasetError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["KNOWN_CAUSES", "DatasetInfo", "ReleaseCheck", "Source", "all_sources", "check_codes",
           "get", "iso_countries", "register"]


@dataclass(frozen=True)
class DatasetInfo:
    """One dataset (or table) of a source: its id, title, native unit(s), frequency (``M``, ``A`` or
    ``M,A``) and, where known, the period coverage (``YYYY-MM``; None when not known)."""

    id: str
    title: str
    units: tuple[str, ...]
    freq: str
    start: str | None = None
    end: str | None = None


@dataclass(frozen=True)
class ReleaseCheck:
    """How to tell whether one config entry's dataset has a release newer than the store's vintage.

    ``store_source`` and ``filters`` select the stored rows (``Store.latest_vintage``); ``released``
    asks the source for its last release (a Timestamp or None); ``where`` names it in the summary;
    ``prefixes`` are the URL prefixes whose cached answers a newer release makes stale."""

    store_source: str
    filters: Mapping[str, Any]
    released: Callable[[], Any]
    where: str
    prefixes: tuple[str, ...]


@dataclass(frozen=True)
class Source:
    """What oilflows knows of one data source.

    Parameters
    ----------
    id : str
        The name used in a refresh config (``source = "..."``) and by :func:`get`.
    title : str
        One line for humans.
    module : str
        The module holding the reader/fetcher (``"oilflows.sources.eurostat"``).
    datasets : tuple of DatasetInfo
        The datasets or tables it offers; the first is the default of a config entry without one.
    reader, fetcher, last_updater : str or None
        Names of the module's read, fetch and release-date functions (None: the source has none).
    store_source : str
        The ``source`` column of the rows it produces (GENESIS rows are ``destatis``).
    hosts : tuple of str
        Hosts it downloads from, each paced by ``rate_limit``.
    rate_limit : oilflows.http.RateLimit or None
    credential_env : str or None
        The environment variable (or OS keyring entry) holding its key or token.
    credential_headers : tuple of str
        HTTP headers or parameters that carry the credential (redacted, never cached).
    non_country : callable
        Returns the non-country codes (regions, aggregates) its reporter/partner columns may hold.
    aliases : mapping
        Source-specific spellings of countries accepted in a request (Eurostat ``EL`` for ``GR``).
    code_pattern : str or None
        A regular expression for the source's own aggregate codes accepted in a request as well
        (Eurostat ``EU27_2020``, ``EXT_EU27_2020``); a country name in capitals is still refused.
    known_causes : mapping
        Dataset -> why this source disagrees with the others by construction (reconcile).
    config : str
        How a refresh config entry passes arguments: ``"filters"`` (``dataset``, ``start``, ``end``,
        ``filters = {dimension = codes}``) or ``"params"`` (``params = {keyword arguments of fetch}``).
    code_params : tuple of str
        The config arguments (params keys, or filter dimensions) whose values are country codes.
    period_params : tuple of (str, str)
        Pairs of (start, end) argument names checked as periods (``YYYY`` or ``YYYY-MM``).
    period_lists : tuple of str
        Arguments holding a list of periods (Comtrade ``period``).
    legacy_params : tuple of str
        Deprecated keyword arguments a fetch still takes through ``**kwargs``; a config may use them,
        any other name is refused.
    stamped : bool
        False when its downloads carry no release stamp: the refresh stamps them with the download time.
    release : callable or None
        ``release(spec) -> ReleaseCheck | None`` for the incremental refresh (None: always downloaded).
    release_urls : callable or None
        URLs of release metadata read fresh at the start of an incremental refresh (their cached
        answers are dropped once, then cached for the run): Eurostat's table of contents.
    call_fetch : callable or None
        The adapter to the unified signature ``fetch(dataset, *, reporter=None, partner=None,
        product=None, start=None, end=None, base_url=None, **source_specific)``.
    """

    id: str
    title: str
    module: str
    datasets: tuple[DatasetInfo, ...]
    reader: str | None = "read"
    fetcher: str | None = "fetch"
    last_updater: str | None = None
    store_source: str = ""
    hosts: tuple[str, ...] = ()
    rate_limit: http.RateLimit | None = None
    credential_env: str | None = None
    credential_headers: tuple[str, ...] = ()
    non_country: Callable[[], frozenset[str]] = field(default=lambda: frozenset())
    aliases: Mapping[str, str] = field(default_factory=dict)
    code_pattern: str | None = None
    known_causes: Mapping[str, str] = field(default_factory=dict)
    config: str = "params"
    code_params: tuple[str, ...] = ()
    period_params: tuple[tuple[str, str], ...] = ()
    period_lists: tuple[str, ...] = ()
    legacy_params: tuple[str, ...] = ()
    stamped: bool = True
    release: Callable[[dict], ReleaseCheck | None] | None = None
    release_urls: Callable[[], tuple[str, ...]] | None = None
    call_fetch: Callable[..., Any] | None = None

    def _function(self, name: str | None) -> Callable[..., Any] | None:
        return None if name is None else getattr(importlib.import_module(self.module), name)

    @property
    def read(self) -> Callable[..., Any] | None:
        """The source's reader (parses local bytes into a canonical frame)."""
        return self._function(self.reader)

    @property
    def fetch(self) -> Callable[..., Any] | None:
        """The source's fetcher (downloads, then reads), or None for a file-only source."""
        return self._function(self.fetcher)

    @property
    def last_update(self) -> Callable[..., Any] | None:
        """The source's release-date function, or None."""
        return self._function(self.last_updater)

    @property
    def default_dataset(self) -> str:
        return self.datasets[0].id if self.datasets else self.id

    def dataset(self, dataset: str) -> DatasetInfo:
        """The :class:`DatasetInfo` of `dataset` (case-insensitive); UnknownDatasetError otherwise."""
        for info in self.datasets:
            if info.id.lower() == str(dataset).lower():
                return info
        raise UnknownDatasetError(str(dataset), [d.id for d in self.datasets], self.id)

    def codes(self) -> frozenset[str]:
        """Every code accepted as a reporter/partner in a request: ISO alpha-2, the source's aliases
        and its non-country codes."""
        return iso_countries() | frozenset(self.aliases) | self.non_country()


_REGISTRY: dict[str, Source] = {}


def register(source: Source) -> Source:
    """Add (or replace) `source`; its hosts get its rate limit in :mod:`oilflows.http`."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", source.id):
        raise ValueError(f"source id {source.id!r}: lower-case letters, digits and _ only")
    if source.config not in ("params", "filters"):
        raise ValueError(f"source {source.id!r}: config must be 'params' or 'filters'")
    _REGISTRY[source.id] = source
    if source.rate_limit is not None:
        for host in source.hosts:
            http.set_rate_limit(host, source.rate_limit)
    for header in source.credential_headers:
        http.register_credential_header(header)
    return source


def get(source_id: str) -> Source:
    """The registration of `source_id`; a :class:`ConfigError` naming the known ones (and the
    closest) otherwise."""
    try:
        return _REGISTRY[source_id]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown source {source_id!r}{suggest(str(source_id), _REGISTRY)}; "
                          f"known: {', '.join(_REGISTRY)}") from None


def all_sources() -> tuple[Source, ...]:
    """Every registered source, in registration order."""
    return tuple(_REGISTRY.values())


def suggest(word: str, choices: Iterable[str]) -> str:
    """``" (did you mean X?)"`` for the closest of `choices` to `word`, or ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


class _KnownCauses(Mapping):
    """(source id or store source, dataset) -> known cause, over the current registrations."""

    def _table(self) -> dict[tuple[str, str], str]:
        table = {}
        for source in _REGISTRY.values():
            for dataset, cause in source.known_causes.items():
                table[(source.store_source or source.id, dataset)] = cause
        return table

    def __getitem__(self, key: tuple[str, str]) -> str:
        return self._table()[key]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())

    def __repr__(self) -> str:
        return f"KNOWN_CAUSES({self._table()!r})"


#: Why sources disagree by construction, per (source, dataset): a live view of the registrations.
KNOWN_CAUSES: Mapping[tuple[str, str], str] = _KnownCauses()


# -- codes ----------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _iso_table() -> dict[str, str]:
    """ISO 3166-1 alpha-2 code -> English name (from the Comtrade code table, ISO rows)."""
    text = resources.files("oilflows.sources").joinpath("comtrade_codes.csv").read_text(encoding="utf-8")
    table: dict[str, str] = {}
    for row in csv.DictReader(text.splitlines()):
        code = row["oilflows_code"]
        if row["basis"].startswith("iso3166-1") and len(code) == 2 and code.isalpha():
            table.setdefault(code, row["name"])
    return table


def iso_countries() -> frozenset[str]:
    """The country codes oilflows accepts (:data:`oilflows.codes.COUNTRIES`: ISO 3166-1 alpha-2 and XK)."""
    from .. import codes

    return frozenset(getattr(codes, "COUNTRIES", None) or _iso_table())


def _non_country(source: str) -> frozenset[str]:
    """The non-country codes of `source`: :func:`oilflows.codes.non_country_codes` (the one vocabulary),
    or, in a tree without it, the lists kept before (``codes.REGIONS``, Comext's and Comtrade's tables)."""
    from .. import codes

    shared = getattr(codes, "non_country_codes", None)
    if shared is not None:
        return frozenset(shared(source))
    found = set(codes.REGIONS)
    if source == "comext":
        from . import comext

        found |= set(comext.PARTNER_REGIONS)
    elif source == "comtrade":
        from . import comtrade

        found |= set(comtrade.COMTRADE_REGIONS)
    elif source in ("eurostat", "dg_ener", "published"):
        found |= {"EU27_2020", "EU28", "EU_V", "EU27", "EA"}
    return frozenset(found)


def _name_suggestion(value: str, known: frozenset[str]) -> str:
    """`` (did you mean DE?)`` for a country name or a lower-case code, or a close code."""
    names = {name.casefold(): code for code, name in _iso_table().items()}
    folded = value.strip().casefold()
    if folded in names:
        return f" (did you mean {names[folded]}?)"
    if value.upper() in known:
        return f" (did you mean {value.upper()}?)"
    close = difflib.get_close_matches(folded, list(names), n=1, cutoff=0.75)
    if close:
        return f" (did you mean {names[close[0]]}?)"
    return suggest(value, sorted(known))


def _native(source: Source, value: str) -> bool:
    """True for a code of the source's own aggregate pattern that is not a country's name."""
    if source.code_pattern is None or not re.fullmatch(source.code_pattern, value):
        return False
    return value.casefold() not in {name.casefold() for name in _iso_table().values()}


def check_codes(source: Source, name: str, values: Any, where: str) -> None:
    """Refuse (:class:`ConfigError`) a `values` entry of argument `name` that is not a code the source
    accepts: ISO alpha-2, the source's aliases or non-country codes."""
    if values is None:
        return
    items = [values] if isinstance(values, str | int) else values
    if not isinstance(items, list | tuple):
        raise ConfigError(f"{where}: {name} must be a code or a list of codes, not {values!r}")
    known = source.codes()
    for value in items:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {name} {value!r} is not a code (a string such as \"DE\")")
        if value not in known and not _native(source, value):
            raise ConfigError(f"{where}: {name} {value!r} is not a {source.id} code (ISO alpha-2 or one of "
                              f"`oilflows list partners --source {source.id}`)"
                              f"{_name_suggestion(value, known)}")


# -- registrations ---------------------------------------------------------------------------------------

_EU_HOST = http.RateLimit(per_second=2.0, burst=4)  # sources.md 1.7: fair use, no documented limit


def _eurostat_release(spec: dict) -> ReleaseCheck:
    from . import eurostat

    dataset = spec["dataset"]
    code = eurostat.dataset_info(dataset).code
    return ReleaseCheck("eurostat", {"dataset": dataset.lower()}, lambda: eurostat.last_update(dataset),
                        "Eurostat last update", (f"{eurostat.BASE_URL}/sdmx/2.1/data/{code}/",))


def _eurostat_fetch(dataset: str, *, reporter: Any = None, partner: Any = None,
                    product: Any = None, start: Any = None, end: Any = None, base_url: str | None = None,
                    **filters: Any) -> pd.DataFrame:
    from . import eurostat  # eurostat.fetch has the unified signature

    return eurostat.fetch(dataset, reporter=reporter, partner=partner, product=product, start=start, end=end,
                          base_url=base_url, **filters)


def _eurostat_datasets() -> tuple[DatasetInfo, ...]:
    units = {"nrg_ti_coifpm": ("THS_BBL", "USD_BBL"), "nrg_ti_oilm": ("THS_T",), "nrg_ti_oil": ("THS_T",)}
    titles = {
        "nrg_ti_coifpm": ("Crude oil imports and prices by field of origin - monthly data", "M"),
        "nrg_ti_oilm": ("Imports of oil and petroleum products by partner country - monthly data", "M"),
        "nrg_ti_oil": ("Imports of oil and petroleum products by partner country - annual data", "A"),
    }
    return tuple(DatasetInfo(code, title, units[code], freq) for code, (title, freq) in titles.items())


register(Source(
    id="eurostat",
    title="Eurostat energy statistics (SDMX 2.1 dissemination API)",
    module="oilflows.sources.eurostat",
    datasets=_eurostat_datasets(),
    last_updater="last_update",
    store_source="eurostat",
    hosts=("ec.europa.eu",),
    rate_limit=_EU_HOST,
    non_country=lambda: _non_country("eurostat"),
    aliases={"EL": "GR", "UK": "GB"},
    code_pattern=r"[A-Z][A-Z0-9_]{2,}",
    known_causes={
        "nrg_ti_coifpm": "energy statistics by country of origin (company returns); grade cells below the "
        "confidentiality threshold are excluded (e.g. KZ_MSC, where KEBCO lands); barrels",
        "nrg_ti_oil": "energy statistics by country of origin; annual; tonnes",
        "nrg_ti_oilm": "energy statistics by country of origin; monthly; tonnes",
    },
    config="filters",
    code_params=("geo", "partner"),
    period_params=(("start", "end"),),
    release=_eurostat_release,
    release_urls=lambda: (importlib.import_module("oilflows.sources.eurostat").TOC_URL,),
    call_fetch=_eurostat_fetch,
))


def _comext_fetch(dataset: str = "ds-045409", *, reporter: Any = None, partner: Any = None,
                  product: Any = None, start: Any = None, end: Any = None, base_url: str | None = None,
                  **kwargs: Any) -> pd.DataFrame:
    from . import comext  # the unified signature: reporter/partner None = all of them, product None = crude

    args = {k: v for k, v in (("reporter", reporter), ("partner", partner), ("product", product))
            if v is not None}
    return comext.fetch(dataset, start=start, end=end, base_url=base_url, **args, **kwargs)


register(Source(
    id="comext",
    title="Eurostat Comext international trade in goods (DS-045409, CN8)",
    module="oilflows.sources.comext",
    datasets=(DatasetInfo("ds-045409", "EU trade since 1988 by HS2-4-6 and CN8", ("EUR", "100KG"), "M,A"),),
    store_source="comext",
    hosts=("ec.europa.eu",),
    rate_limit=_EU_HOST,
    non_country=lambda: _non_country("comext"),
    aliases={"EL": "GR", "UK": "GB"},
    known_causes={
        "ds-045409": "customs: extra-EU imports by origin, intra-EU arrivals by member state of consignment "
        "(Kazakh crude piped from Trieste can count as Italian); 100 kg",
    },
    code_params=("reporter", "partner"),
    period_params=(("start", "end"),),
    call_fetch=_comext_fetch,
))


def _comtrade_release(spec: dict) -> ReleaseCheck | None:
    from . import comtrade

    params = spec.get("params", {})
    period = params.get("period")
    if period is None and params.get("start") and str(params.get("freq") or "A").upper() == "A":
        first, last = int(str(params["start"])[:4]), int(str(params.get("end") or params["start"])[:4])
        period = [str(year) for year in range(first, last + 1)]
    if not (params.get("reporter") and period):
        return None
    freq = str(params.get("freq") or "A").upper()
    return ReleaseCheck(
        "comtrade", {"reporter": params["reporter"]},
        lambda: comtrade.last_update(params["reporter"], period, freq=freq),
        "Comtrade last release",
        (comtrade.PREVIEW_URL.format(freq=freq), comtrade.DATA_URL.format(freq=freq)))


def _comtrade_fetch(dataset: str = "hs", *, reporter: Any = None, partner: Any = None,
                    product: Any = None, start: Any = None, end: Any = None, base_url: str | None = None,
                    **kwargs: Any) -> pd.DataFrame:
    from . import comtrade  # comtrade.fetch has the unified signature

    if partner is not None:
        kwargs["partner"] = partner
    return comtrade.fetch(dataset, reporter=reporter, product=product, start=start, end=end,
                          base_url=base_url, **kwargs)


register(Source(
    id="comtrade",
    title="UN Comtrade (HS, reporters' customs data)",
    module="oilflows.sources.comtrade",
    datasets=(DatasetInfo("hs", "Commodity trade by HS code, reporter and partner", ("kg", "USD"), "A,M"),),
    last_updater="last_update",
    store_source="comtrade",
    hosts=("comtradeapi.un.org",),
    rate_limit=http.RateLimit(per_second=10 / 60, burst=1),  # sources.md 3.4: 10 calls a minute
    credential_env="COMTRADE_API_KEY",
    credential_headers=("Ocp-Apim-Subscription-Key",),
    non_country=lambda: _non_country("comtrade"),
    known_causes={"hs": "derived from the reporter's customs data (EU members: from Eurostat); kg"},
    code_params=("reporter", "partner"),
    period_params=(("start", "end"),),
    period_lists=("period",),
    stamped=False,
    release=_comtrade_release,
    call_fetch=_comtrade_fetch,
))


def _genesis_release(spec: dict) -> ReleaseCheck:
    from . import genesis

    params = spec.get("params", {})
    table = spec.get("dataset") or params.get("table") or "51000-0017"
    base_url = params.get("base_url", genesis.BASE_URL)
    return ReleaseCheck("destatis", {"dataset": table}, lambda: genesis.last_update(table, base_url=base_url),
                        "GENESIS last modification", (base_url.rstrip("/") + "/" + genesis.TABLEFILE,))


def _genesis_fetch(dataset: str = "51000-0017", *, reporter: Any = None, partner: Any = None,
                   product: Any = None, start: Any = None, end: Any = None, base_url: str | None = None,
                   **kwargs: Any) -> pd.DataFrame:
    from . import genesis  # genesis.fetch has the unified signature

    return genesis.fetch(dataset, reporter=reporter, partner=partner, product=product, start=start, end=end,
                         base_url=base_url, **kwargs)


register(Source(
    id="genesis",
    title="Destatis GENESIS-Online (German foreign trade statistics)",
    module="oilflows.sources.genesis",
    datasets=(DatasetInfo("51000-0017", "Foreign trade: imports and exports by country and CN8, monthly",
                          ("t", "EUR"), "M"),
              DatasetInfo("51000-0010",
                          "Foreign trade: imports and exports by country and WA4 heading, yearly",
                          ("t", "EUR"), "A")),
    last_updater="last_update",
    store_source="destatis",
    hosts=("www-genesis.destatis.de",),
    rate_limit=http.RateLimit(per_second=1.0, burst=3, concurrent=3),  # sources.md 4.1: 3 in parallel
    credential_env="GENESIS_TOKEN",
    credential_headers=("username", "password"),
    non_country=lambda: _non_country("genesis"),
    code_pattern=r"STLAH\d{3}",  # GENESIS's own country codes, accepted by genesis.fetch as well
    known_causes={"51000-0017": "German customs trade by country of origin; provisional months revised"},
    code_params=("partner", "countries"),
    period_params=(("start", "end"), ("start_year", "end_year")),
    legacy_params=("table", "start_year", "end_year", "countries", "goods"),
    stamped=False,
    release=_genesis_release,
    call_fetch=_genesis_fetch,
))


register(Source(
    id="dg_ener",
    title="EU crude oil imports register (DG ENER, company declarations by origin)",
    module="oilflows.sources.dg_ener",
    datasets=(DatasetInfo("coir", "Crude oil imports and supply cost by origin and reporting country",
                          ("kbbl", "USD_BBL"), "M,A"),),
    reader="read_coir",
    fetcher=None,
    store_source="dg_ener",
    non_country=lambda: _non_country("dg_ener"),
    known_causes={"coir": "register of company declarations by origin; Germany reports no pipeline imports "
                          "before 2020 (Druzhba crude missing); barrels"},
))

register(Source(
    id="published",
    title="Published figures (curated: ministries, operators, press), each with its rounding",
    module="oilflows.sources.published",
    datasets=(DatasetInfo("published", "Curated figures quoted from publications", ("t", "bbl", "b/d"),
                          "M,A"),),
    fetcher=None,
    store_source="published",
    non_country=lambda: _non_country("published"),
    known_causes={"published": "a published figure at its rounding (e.g. BAFA to 0.1 Mt: +/-0.05 Mt)"},
))


# -- discovery ---------------------------------------------------------------------------------------------

DATASET_COLUMNS = ("source", "dataset", "title", "units", "freq", "first", "last", "fetch", "credential")


def _coverage(store: Any = None) -> dict[tuple[str, str], tuple[str, str]]:
    """(store source, dataset) -> (first, last) period ``YYYY-MM``: from the store when given, else the
    embedded default's provenance. Published figures (one dataset per publisher) count as ``published``."""
    spans: dict[tuple[str, str], tuple[str, str]] = {}

    def add(source: str, dataset: str, first: str, last: str) -> None:
        if source == "published":
            dataset = "published"
        old = spans.get((source, dataset))
        spans[(source, dataset)] = (min(first, old[0]), max(last, old[1])) if old else (first, last)

    if store is not None:
        frame = store.read()
        if len(frame):
            months = frame["period"].dt.strftime("%Y-%m")
            grouped = frame.assign(month=months).groupby(["source", "dataset"], observed=True)["month"]
            for (source, dataset), (first, last) in grouped.agg(["min", "max"]).iterrows():
                add(str(source), str(dataset), first, last)
        return spans
    from ..default import default_provenance

    for key, (first, last) in default_provenance().get("periods", {}).items():
        source, _, dataset = key.partition("/")
        add(source, dataset, first[:7], last[:7])
    return spans


def datasets(source: str | None = None, *, store: Any = None) -> Any:
    """Every dataset of every registered source (or of `source`): a DataFrame with its source, dataset,
    title, native unit(s), frequency, the first and last period held (``YYYY-MM``: in `store` when given,
    else in the embedded default; empty when none is held), whether oilflows can fetch it, and the
    credential variable it needs (empty: none).

    >>> import oilflows
    >>> oilflows.datasets("eurostat")[["dataset", "freq"]].values.tolist()[:1]
    [['nrg_ti_coifpm', 'M']]
    """
    import pandas as pd

    chosen = [get(source)] if source is not None else all_sources()
    spans = _coverage(store)
    rows = []
    for src in chosen:
        for info in src.datasets:
            first, last = spans.get((src.store_source or src.id, info.id), (info.start, info.end))
            rows.append((src.id, info.id, info.title, ",".join(info.units), info.freq, first or "",
                         last or "", src.fetcher is not None, src.credential_env or ""))
    return pd.DataFrame(rows, columns=list(DATASET_COLUMNS))
