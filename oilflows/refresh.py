"""Keep the store current: fetch a declared list of datasets, incrementally, keeping every vintage.

The list is a TOML file (``oilflows refresh --config FILE``) of ``[[dataset]]`` tables::

    [[dataset]]                             # Eurostat: dataset code, period bounds, dimension filters
    source = "eurostat"
    dataset = "nrg_ti_coifpm"
    start = "2020-01"
    filters = { geo = ["DE", "FR"] }

    [[dataset]]                             # other sources: keyword arguments of their fetch()
    source = "comext"
    params = { reporter = "DE", partner = ["KZ", "RU"], start = "2020-01" }

    [[dataset]]
    source = "comtrade"                     # key from $COMTRADE_API_KEY, else the keyless preview
    params = { reporter = "KZ", partner = "DE", start = "2021", end = "2022", flow = "X" }

    [[dataset]]
    source = "genesis"                      # token from $GENESIS_TOKEN
    dataset = "51000-0017"
    params = { start = "2023", end = "2023" }

`oilflows list datasets` (or :func:`oilflows.datasets`) lists the sources and datasets a config may name.

Without a config file, :data:`DEFAULT_DATASETS` is used (Eurostat only: no key needed).

Strict: the sources, their datasets, the keys an entry may hold and its code and period arguments come
from the source registry (:mod:`oilflows.sources.registry`). Before anything is downloaded, an unknown
key is refused with the closest known one (``keep_goin`` -> did you mean keep_going?; ``strat``,
``filter``), a period must be ``YYYY`` or ``YYYY-MM`` (month 01-12) with start <= end, and reporter,
partner and ``geo`` codes must be ISO alpha-2 or one of the source's non-country codes
(``geo = ["Germany"]``: did you mean DE?): each a one-line :class:`~oilflows.errors.ConfigError`
(a QueryError).

Incremental: before downloading, each source's release metadata is compared with the latest vintage
in the store (Eurostat: the table of contents' "last update of data"; Comtrade: the release dates of
its data-availability endpoint; GENESIS: the modified-data catalogue), and an unchanged dataset is not
downloaded (``incremental = false`` in an entry forces the download). Comext is fetched every time;
the store's upsert makes an unchanged download a no-op. Sources without a release stamp
(Comtrade, GENESIS, Comext bulk) are stamped with the time of the download, so that
:meth:`Store.read(as_of=...) <oilflows.Store.read>` can tell what was known when. When a release is
newer than the store, the HTTP cache entries of that dataset made before the release are dropped
(:func:`oilflows.http.invalidate`), so the download cannot be served a pre-release answer.

All or nothing: by default every dataset is fetched and parsed first and then written in ONE
:meth:`Store.write` (atomic), so a refresh either completes or fails with nothing written. With
``keep_going=True`` (or ``keep_going = true`` at the top of the config file) each dataset is written on
its own as soon as it is fetched, and a failed one does not stop the others; each write is still
atomic. A :class:`~oilflows.errors.NetworkError` (the host cannot be reached) always stops the refresh.

Credentials never come from the config: ``api_key``/``token`` entries are refused; the Comtrade key
and the GENESIS token are read from ``$COMTRADE_API_KEY`` / ``$GENESIS_TOKEN`` or the OS keyring
(:func:`oilflows.http.credential`).
"""

from __future__ import annotations

import inspect
import re
import sys
import tomllib
import types
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import pandas as pd

from . import http
from .errors import ConfigError, NetworkError, OilflowsError, QueryError
from .schema import KEY
from .sources import registry
from .sources.registry import suggest
from .store import Store, WriteSummary, release_scope

__all__ = ["DEFAULT_DATASETS", "ENTRY_KEYS", "SECRET_PARAMS", "SOURCES", "TOP_KEYS", "UNSTAMPED",
           "RefreshItem", "RefreshResult", "load_config", "refresh"]

_GEOS = ["DE", "FR", "IT", "ES", "NL", "PL", "AT", "CZ"]

#: What `oilflows refresh` keeps current by default: Germany and its neighbours' crude imports.
DEFAULT_DATASETS: list[dict] = [
    {"source": "eurostat", "dataset": "nrg_ti_coifpm", "start": "2020-01", "filters": {"geo": _GEOS}},
    {"source": "eurostat", "dataset": "nrg_ti_oilm", "start": "2015-01",
     "filters": {"siec": "O4100_TOT", "geo": _GEOS}},
    {"source": "eurostat", "dataset": "nrg_ti_oil", "filters": {"siec": "O4100_TOT", "geo": _GEOS}},
]
#: Sources whose downloads carry no release stamp: the download time becomes the vintage (registry).
UNSTAMPED = tuple(s.id for s in registry.all_sources() if s.fetcher and not s.stamped)
#: Sources a config may name: every registered source with a fetcher (see :mod:`oilflows.sources.registry`).
SOURCES = tuple(s.id for s in registry.all_sources() if s.fetcher)
#: Keys allowed at the top of a config file, and in a [[dataset]] table (by the source's config style).
TOP_KEYS = ("dataset", "keep_going")
ENTRY_KEYS = {"filters": ("source", "dataset", "start", "end", "filters", "incremental"),
              "params": ("source", "dataset", "params", "incremental")}
_PERIOD = re.compile(r"^(\d{4})(?:-(\d{2}))?$")
_COMPACT_PERIOD = re.compile(r"^(\d{4})(\d{2})$")


#: Config keys that would hold a credential: refused (keys come from the environment or the keyring).
#: Config keys refused in a refresh config (credentials come from the environment or the keyring):
#: the HTTP layer's credential names, compared case-insensitively.
SECRET_PARAMS = tuple(sorted({name.lower() for name in http.SECRET_FIELDS}))


@dataclass
class RefreshItem:
    """One dataset of a refresh: what was asked and what happened to it.

    ``rows`` rows fetched; ``skipped`` why it was not downloaded (unchanged at the source);
    ``error``/``exception`` the typed error that failed it; ``attempted`` False if the refresh stopped
    before it; ``written`` True once its rows are in the store; ``summary`` its own store write
    (``keep_going`` mode only; an all-or-nothing refresh has one write, :attr:`RefreshResult.write`).
    """

    source: str
    dataset: str
    rows: int = 0
    summary: WriteSummary | None = None
    skipped: str | None = None
    error: str | None = None
    exception: OilflowsError | None = None
    attempted: bool = True
    written: bool = False


@dataclass
class RefreshResult:
    """All items of a refresh; ``ok`` is False if any failed.

    ``keep_going`` records the mode; ``write`` is the one store write of an all-or-nothing refresh
    (None if nothing was written).
    """

    items: list[RefreshItem] = field(default_factory=list)
    keep_going: bool = False
    write: WriteSummary | None = None

    @property
    def ok(self) -> bool:
        return all(item.error is None for item in self.items)

    @property
    def errors(self) -> list[OilflowsError]:
        """The typed errors of the failed items, in order."""
        return [item.exception for item in self.items if item.exception is not None]

    def summary(self) -> str:
        lines = []
        for item in self.items:
            name = f"{item.source}/{item.dataset}"
            if item.error:
                lines.append(f"{name}: FAILED: {item.error}")
            elif item.skipped:
                lines.append(f"{name}: unchanged ({item.skipped})")
            elif not item.attempted:
                lines.append(f"{name}: not fetched (the refresh stopped at the first failure)")
            elif item.summary is not None:
                lines.append(f"{name}: {item.rows:,} rows fetched; {_counts(item.summary)}")
            else:
                lines.append(f"{name}: {item.rows:,} rows fetched"
                             + ("" if item.written else "; NOT written"))
        if not self.keep_going:
            if self.write is not None:
                lines.append(f"store: one write: {_counts(self.write)}")
            elif not self.ok:
                lines.append("store: nothing written (a refresh writes all datasets or none; "
                             "keep_going=True writes each dataset on its own)")
        return "\n".join(lines)


def _counts(s: WriteSummary) -> str:
    return (f"{s.rows_new:,} new, {s.rows_changed:,} changed, {s.rows_unchanged:,} unchanged, "
            f"{s.rows_archived:,} archived as older vintages")


def load_config(path: str | Path | None) -> list[dict]:
    """The dataset list from a TOML file, or :data:`DEFAULT_DATASETS` when `path` is None."""
    return _load(path)[0]


def _load(path: str | Path | None) -> tuple[list[dict], dict]:
    """The dataset list and the top-level options (``keep_going``) of a config file."""
    if path is None:
        return [dict(d) for d in DEFAULT_DATASETS], {}
    path = Path(path)
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise QueryError(f"{path}: cannot read the refresh config: {exc}") from exc
    for key in config:
        if key not in TOP_KEYS:
            raise ConfigError(f"{path}: unknown top-level key {key!r}{suggest(key, TOP_KEYS)}; "
                              "a config holds [[dataset]] tables and keep_going")
    items = config.get("dataset")
    if not isinstance(items, list) or not items:
        raise ConfigError(f"{path}: expected one or more [[dataset]] tables")
    keep_going = config.get("keep_going", False)
    if not isinstance(keep_going, bool):
        raise ConfigError(f"{path}: keep_going must be true or false, not {keep_going!r}")
    _check_specs(items, str(path))
    return items, {"keep_going": keep_going}


def _check_specs(items: list[dict], where: str) -> None:
    """Refuse (:class:`ConfigError`, one line) any entry oilflows cannot fetch as written: an unknown
    source or key (with the closest known one), a credential, a malformed period or start after end, a
    code the source does not know. Nothing here touches the network."""
    for i, item in enumerate(items, start=1):
        if not isinstance(item, dict) or "source" not in item:
            raise ConfigError(f"{where}: [[dataset]] number {i} lacks 'source'")
        if item["source"] not in SOURCES and item["source"] in {s.id for s in registry.all_sources()}:
            raise ConfigError(f"{where}: [[dataset]] number {i}: source {item['source']!r} has no fetch "
                              f"(its files are read with {registry.get(item['source']).module}); "
                              f"a refresh fetches {', '.join(SOURCES)}")
        if item["source"] not in SOURCES:
            raise ConfigError(f"{where}: [[dataset]] number {i}: unknown source {item['source']!r}"
                              f"{suggest(str(item['source']), SOURCES)}; known: {', '.join(SOURCES)}")
        _check_spec(item, registry.get(item["source"]), f"{where}: [[dataset]] number {i} ({item['source']})")


def _check_spec(item: dict, source: registry.Source, where: str) -> None:
    allowed = ENTRY_KEYS[source.config]
    for key in item:
        if key not in allowed:
            hint = suggest(str(key), allowed)
            if not hint and difflib_top(str(key)):  # a top-level option written inside the table
                hint = (" (did you mean keep_going? it is a top-level option: put it above the first "
                        "[[dataset]])")
            if str(key).lower() in SECRET_PARAMS:
                _refuse_secret(key, where)
            raise ConfigError(f"{where}: unknown key {key!r}{hint}; known: {', '.join(allowed)}")
    if "incremental" in item and not isinstance(item["incremental"], bool):
        raise ConfigError(f"{where}: incremental must be true or false, not {item['incremental']!r}")
    if source.config == "filters":
        if "dataset" not in item:
            raise ConfigError(f"{where} lacks 'dataset'")
        args = {k: item[k] for k in ("start", "end") if k in item}
        extra = _table(item, "filters", where)
        try:
            info = source.dataset(item["dataset"])
        except OilflowsError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        dims = _dims(source, info.id)
        for key in extra:
            if dims is not None and key not in dims:
                raise ConfigError(f"{where}: unknown filter {key!r}{suggest(str(key), dims)}; "
                                  f"{info.id} dimensions: {', '.join(dims)}")
        args.update(extra)
    else:
        args = _table(item, "params", where)
        secret = sorted(k for k in args if str(k).lower() in SECRET_PARAMS)
        if secret:
            _refuse_secret(secret[0], where)
        if "dataset" in item:
            try:
                source.dataset(item["dataset"])
            except OilflowsError as exc:
                raise ConfigError(f"{where}: {exc}") from None
        names = _parameters(source)
        for key in args:
            if names is not None and key not in names:
                raise ConfigError(f"{where}: unknown parameter {key!r}{suggest(str(key), names)} of "
                                  f"{source.id}.fetch; known: {', '.join(sorted(names))}")
    _check_periods(args, source, where)
    for name in source.code_params:
        registry.check_codes(source, name, args.get(name), where)


def difflib_top(key: str) -> bool:
    """True if `key` is (close to) a top-level option."""
    return bool(suggest(key, ("keep_going",)))


def _refuse_secret(key: object, where: str) -> None:  # the value is not echoed
    raise ConfigError(f"{where}: {key!r} does not belong in a config; set $COMTRADE_API_KEY / "
                      "$GENESIS_TOKEN or the OS keyring entry (service 'oilflows')")


def _table(item: dict, key: str, where: str) -> dict:
    value = item.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {key} must be a table ({key} = {{ ... }}), not {value!r}")
    return value


def _dims(source: registry.Source, dataset: str) -> tuple[str, ...] | None:
    """The filter dimensions of a filters-style dataset (Eurostat: its DSD dimensions)."""
    module = __import__(source.module, fromlist=["dataset_info"])
    info = getattr(module, "dataset_info", None)
    return None if info is None else tuple(info(dataset).dims)


def _parameters(source: registry.Source) -> set[str] | None:
    """The keyword arguments a params-style entry may pass (None: the fetch takes any)."""
    fetch = source.fetch
    assert fetch is not None  # a refresh entry names one of SOURCES, which all fetch
    parameters = inspect.signature(fetch).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters) and not source.legacy_params:
        return None
    named = {p.name for p in parameters if p.kind not in (inspect.Parameter.VAR_POSITIONAL,
                                                          inspect.Parameter.VAR_KEYWORD)}
    return {name for name in named | set(source.legacy_params) if name.lower() not in SECRET_PARAMS}


def _period(value: object, name: str, where: str, *, end: bool) -> str:
    """`value` (``YYYY`` or ``YYYY-MM``, or a year as an integer) as ``YYYY-MM`` (a year's first month,
    or its last when it is an end)."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    match = _PERIOD.match(text) if isinstance(text, str) else None
    if match is None:
        raise ConfigError(f"{where}: {name} {value!r} is not a period: write YYYY or YYYY-MM "
                          "(e.g. \"2020-01\")")
    year, month = match.groups()
    if month is not None and not 1 <= int(month) <= 12:
        raise ConfigError(f"{where}: {name} {value!r}: month {month} is not 01-12")
    return f"{year}-{month or ('12' if end else '01')}"


def _check_periods(args: dict, source: registry.Source, where: str) -> None:
    for first, last in source.period_params:
        start = _period(args[first], first, where, end=False) if args.get(first) is not None else None
        end = _period(args[last], last, where, end=True) if args.get(last) is not None else None
        if start and end and start > end:
            raise ConfigError(f"{where}: {first} {args[first]!r} is after {last} {args[last]!r}")
    for name in source.period_lists:
        value = args.get(name)
        if value is None:
            continue
        values = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else [value]
        for one in values:
            text = str(one).strip()
            compact = _COMPACT_PERIOD.match(text)
            _period(f"{compact[1]}-{compact[2]}" if compact else text, name, where, end=False)


def _label(spec: dict) -> str:
    return (spec.get("dataset") or spec.get("params", {}).get("table")
            or registry.get(spec["source"]).default_dataset)


def _fetch(spec: dict, stamp: pd.Timestamp) -> pd.DataFrame:
    """Call the source's fetch() for one config entry."""
    source = registry.get(spec["source"])
    fetch = source.fetch
    assert fetch is not None  # a checked entry names one of SOURCES, which all fetch
    if source.config == "filters":
        return fetch(spec["dataset"], start=spec.get("start"), end=spec.get("end"),
                     **spec.get("filters", {}))
    params = dict(spec.get("params", {}))
    if not source.stamped:
        params.setdefault("vintage", stamp)
    args = (spec["dataset"],) if "dataset" in spec else ()  # unified signatures take the dataset first
    try:
        return fetch(*args, **params)
    except TypeError as exc:  # a misspelt parameter in the config
        raise QueryError(f"{source.id}: bad params {sorted(params)}: {exc}") from exc


def _stored_vintage(store: Store, source: str, **filters: object) -> pd.Timestamp | None:
    """The oldest of the latest vintages per reporter (so one stale reporter forces a download)."""
    reporters = filters.pop("reporter", None)
    if reporters is None:
        return store.latest_vintage(source=source, **filters)
    codes = [reporters] if isinstance(reporters, str) else list(cast("Iterable[object]", reporters))
    stamps = [store.latest_vintage(source=source, reporter=r, **filters) for r in codes]
    known = [s for s in stamps if s is not None]
    return None if not stamps or len(known) < len(stamps) else min(known)


def _unchanged(spec: dict, store: Store) -> str | None:
    """The reason to skip a dataset whose source shows no release since the store's latest vintage:
    Eurostat's table of contents, Comtrade's data availability, GENESIS's modified-data catalogue.

    When the release is newer, the dataset's cached HTTP answers made before it are dropped."""
    if not spec.get("incremental", True):
        return None
    source = registry.get(spec["source"])
    check = source.release(spec) if source.release is not None else None
    if check is None:
        return None
    stored = _stored_vintage(store, check.store_source, **dict(check.filters))
    if stored is None:
        return None
    released, where, prefixes = check.released(), check.where, check.prefixes
    if released is not None and released <= stored:
        return f"{where} {released:%Y-%m-%d}, store holds vintage {stored:%Y-%m-%d %H:%M}"
    if released is not None:
        # A date without a time of day may be any time that day: answers cached that day are suspect.
        cutoff = released + pd.Timedelta(days=1) if released == released.normalize() else released
        for prefix in prefixes:
            http.invalidate(prefix, released=cutoff)
    return None


def refresh(
    config: str | Path | list[dict] | None = None,
    store: Store | None = None,
    progress: bool = True,
    *,
    keep_going: bool | None = None,
) -> RefreshResult:
    """Fetch every configured dataset and upsert it into `store` (default: :class:`Store`).

    Parameters
    ----------
    config : path, list of dict, or None
        A TOML file (see the module docstring), the list of its ``[[dataset]]`` tables, or None for
        :data:`DEFAULT_DATASETS`.
    store : Store, optional
        Where to write.
    progress : bool
        Show a progress bar.
    keep_going : bool, optional
        False (the default, or the config's top-level ``keep_going``): all or nothing - every dataset
        is fetched and parsed, then all are written in one atomic :meth:`Store.write`; at the first
        failed dataset the refresh stops and nothing is written. True: each dataset is written on its
        own as soon as it is fetched; failures are reported and the others still refreshed.

    Returns
    -------
    RefreshResult
        ``ok`` False if a dataset failed; the failed items carry the typed error (``exception``).

    Raises
    ------
    NetworkError
        A host cannot be reached: the refresh stops (all or nothing: nothing written).
    QueryError
        A bad config (including a credential in it).
    StoreError, SchemaError
        The store write failed; the store is left as it was.
    """
    options: dict[str, object]
    if isinstance(config, list):
        items, options = config, {}
        _check_specs(items, "refresh config")
    else:
        items, options = _load(config)
    keep_going = bool(options.get("keep_going", False)) if keep_going is None else keep_going
    store = store or Store()
    stamp = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")
    result = RefreshResult(keep_going=keep_going)
    # Release checks read fresh metadata (Eurostat's TOC), then cached for this run.
    for source_id in dict.fromkeys(spec["source"] for spec in items if spec.get("incremental", True)):
        urls = registry.get(source_id).release_urls
        for url in urls() if urls is not None else ():
            http.invalidate(url)
    result.items = [RefreshItem(spec["source"], _label(spec), attempted=False) for spec in items]
    fetched: list[tuple[RefreshItem, pd.DataFrame]] = []
    iterator: Iterable[int] = range(len(items))
    bar = None
    if progress:
        from tqdm import tqdm

        iterator = bar = tqdm(iterator, desc="refresh", unit="dataset")
    try:
        for i in iterator:
            item, spec = result.items[i], items[i]
            frame = _fetch_one(spec, store, item, stamp)
            if frame is None:
                if item.error is not None and not keep_going:
                    break  # all or nothing: nothing will be written, stop asking the servers
                continue
            if keep_going:
                # A download is a full release of what it covers: rows it no longer has are retired.
                item.summary = store.write(frame, replace=release_scope(frame))
                item.written = True
            else:
                fetched.append((item, frame))
    finally:
        if bar is not None:
            bar.close()
    frames = [frame for _, frame in fetched if len(frame)]
    if not keep_going and result.ok and frames:  # every dataset may legitimately be empty
        combined = pd.concat(frames, ignore_index=True)
        # Two entries may ask for the same observation: the later entry wins, as in separate writes.
        combined = combined.drop_duplicates(subset=list(KEY), keep="last").reset_index(drop=True)
        # Each download is a full release of what it covers: rows it no longer has are retired.
        result.write = store.write(combined, replace=[s for f in frames for s in release_scope(f)])
        for item, _ in fetched:
            item.written = True
    return result


def _fetch_one(spec: dict, store: Store, item: RefreshItem, stamp: pd.Timestamp) -> pd.DataFrame | None:
    """Check and fetch one dataset: its frame, or None (unchanged, or failed: the error is in `item`).

    A NetworkError is raised (nothing is reachable)."""
    from .schema import validate

    item.attempted = True
    try:
        item.skipped = _unchanged(spec, store)
        if item.skipped:
            return None
        frame = _fetch(spec, stamp)
        validate(frame)  # a bad frame fails its own dataset, before anything is written
    except NetworkError:
        raise
    except OilflowsError as exc:
        item.error = str(exc)
        item.exception = exc
        return None
    item.rows = len(frame)
    return frame


class _CallableModule(types.ModuleType):
    """This module, callable: ``oilflows.refresh(config)`` is :func:`refresh`.

    ``oilflows.refresh`` is this module (``import oilflows.refresh`` and
    ``importlib.import_module("oilflows.refresh")`` give it), and calling it calls :func:`refresh`,
    the form ``oilflows.refresh(...)`` users already write."""

    def __call__(
        self,
        config: str | Path | list[dict] | None = None,
        store: Store | None = None,
        progress: bool = True,
        *,
        keep_going: bool | None = None,
    ) -> RefreshResult:
        return refresh(config, store, progress, keep_going=keep_going)


sys.modules[__name__].__class__ = _CallableModule
