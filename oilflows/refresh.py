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
    params = { reporter = "KZ", partner = "DE", period = ["2021", "2022"], flow = "X" }

    [[dataset]]
    source = "genesis"                      # token from $GENESIS_TOKEN
    params = { start_year = 2023, end_year = 2023 }

Without a config file, :data:`DEFAULT_DATASETS` is used (Eurostat only: no key needed).

Incremental: before downloading, each source's release metadata is compared with the latest vintage
in the store (Eurostat: the table of contents' "last update of data"; Comtrade: the release dates of
its data-availability endpoint; GENESIS: the modified-data catalogue), and an unchanged dataset is not
downloaded (``incremental = false`` in an entry forces the download). Comext is fetched every time;
the store's upsert makes an unchanged download a no-op. Sources without a release stamp
(Comtrade, GENESIS, Comext bulk) are stamped with the time of the download, so that
:meth:`Store.read(as_of=...) <oilflows.Store.read>` can tell what was known when.
"""

from __future__ import annotations

import importlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import NetworkError, OilflowsError, QueryError
from .store import Store, WriteSummary

_GEOS = ["DE", "FR", "IT", "ES", "NL", "PL", "AT", "CZ"]

#: What `oilflows refresh` keeps current by default: Germany and its neighbours' crude imports.
DEFAULT_DATASETS: list[dict] = [
    {"source": "eurostat", "dataset": "nrg_ti_coifpm", "start": "2020-01", "filters": {"geo": _GEOS}},
    {"source": "eurostat", "dataset": "nrg_ti_oilm", "start": "2015-01",
     "filters": {"siec": "O4100_TOT", "geo": _GEOS}},
    {"source": "eurostat", "dataset": "nrg_ti_oil", "filters": {"siec": "O4100_TOT", "geo": _GEOS}},
]
#: Sources whose downloads carry no release stamp: the download time becomes the vintage.
UNSTAMPED = ("comtrade", "genesis")
SOURCES = ("eurostat", "comext", "comtrade", "genesis")


@dataclass
class RefreshItem:
    """One dataset of a refresh: what was asked and what the store did with it."""

    source: str
    dataset: str
    rows: int = 0
    summary: WriteSummary | None = None
    skipped: str | None = None
    error: str | None = None


@dataclass
class RefreshResult:
    """All items of a refresh; ``ok`` is False if any failed."""

    items: list[RefreshItem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(item.error is None for item in self.items)

    def summary(self) -> str:
        lines = []
        for item in self.items:
            name = f"{item.source}/{item.dataset}"
            if item.error:
                lines.append(f"{name}: FAILED: {item.error}")
            elif item.skipped:
                lines.append(f"{name}: unchanged ({item.skipped})")
            elif item.summary is not None:
                s = item.summary
                lines.append(f"{name}: {item.rows:,} rows fetched; {s.rows_new:,} new, "
                             f"{s.rows_changed:,} changed, {s.rows_unchanged:,} unchanged, "
                             f"{s.rows_archived:,} archived as older vintages")
        return "\n".join(lines)


def load_config(path: str | Path | None) -> list[dict]:
    """The dataset list from a TOML file, or :data:`DEFAULT_DATASETS` when `path` is None."""
    if path is None:
        return [dict(d) for d in DEFAULT_DATASETS]
    path = Path(path)
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise QueryError(f"{path}: cannot read the refresh config: {exc}") from exc
    items = config.get("dataset")
    if not isinstance(items, list) or not items:
        raise QueryError(f"{path}: expected one or more [[dataset]] tables")
    for i, item in enumerate(items, start=1):
        if "source" not in item:
            raise QueryError(f"{path}: [[dataset]] number {i} lacks 'source'")
        if item["source"] not in SOURCES:
            raise QueryError(f"{path}: [[dataset]] number {i}: unknown source {item['source']!r}; "
                             f"known: {', '.join(SOURCES)}")
        if item["source"] == "eurostat" and "dataset" not in item:
            raise QueryError(f"{path}: [[dataset]] number {i} (eurostat) lacks 'dataset'")
    return items


def _label(spec: dict) -> str:
    default = {"comext": "ds-045409", "comtrade": "hs", "genesis": "51000-0017"}
    return spec.get("dataset") or spec.get("params", {}).get("table") or default.get(spec["source"], "?")


def _fetch(spec: dict, stamp: pd.Timestamp) -> pd.DataFrame:
    """Call the source's fetch() for one config entry."""
    source = spec["source"]
    if source == "eurostat":
        from .sources import eurostat

        return eurostat.fetch(spec["dataset"], start=spec.get("start"), end=spec.get("end"),
                              **spec.get("filters", {}))
    params = dict(spec.get("params", {}))
    fetch = importlib.import_module(f"oilflows.sources.{source}").fetch
    if source in UNSTAMPED:
        params.setdefault("vintage", stamp)
    try:
        return fetch(**params)
    except TypeError as exc:  # a misspelt parameter in the config
        raise QueryError(f"{source}: bad params {sorted(params)}: {exc}") from exc


def _stored_vintage(store: Store, source: str, **filters: object) -> pd.Timestamp | None:
    """The oldest of the latest vintages per reporter (so one stale reporter forces a download)."""
    reporters = filters.pop("reporter", None)
    if reporters is None:
        return store.latest_vintage(source=source, **filters)
    stamps = [store.latest_vintage(source=source, reporter=r, **filters)
              for r in ([reporters] if isinstance(reporters, str) else list(reporters))]
    return None if not stamps or any(s is None for s in stamps) else min(stamps)


def _unchanged(spec: dict, store: Store) -> str | None:
    """The reason to skip a dataset whose source shows no release since the store's latest vintage:
    Eurostat's table of contents, Comtrade's data availability, GENESIS's modified-data catalogue."""
    if not spec.get("incremental", True):
        return None
    source, params = spec["source"], spec.get("params", {})
    if source == "eurostat":
        from .sources import eurostat

        stored = _stored_vintage(store, "eurostat", dataset=spec["dataset"].lower())
        if stored is None:
            return None
        released, where = eurostat.last_update(spec["dataset"]), "Eurostat last update"
    elif source == "comtrade" and params.get("reporter") and params.get("period"):
        from .sources import comtrade

        stored = _stored_vintage(store, "comtrade", reporter=params["reporter"])
        if stored is None:
            return None
        released = comtrade.last_update(params["reporter"], params["period"],
                                        freq=params.get("freq", "A"), api_key=params.get("api_key"))
        where = "Comtrade last release"
    elif source == "genesis":
        from .sources import genesis

        table = params.get("table", "51000-0017")
        stored = _stored_vintage(store, "destatis", dataset=table)
        if stored is None:
            return None
        released = genesis.last_update(table, token=params.get("token"))
        where = "GENESIS last modification"
    else:
        return None
    if released is not None and released <= stored:
        return f"{where} {released:%Y-%m-%d}, store holds vintage {stored:%Y-%m-%d %H:%M}"
    return None


def refresh(
    config: str | Path | list[dict] | None = None,
    store: Store | None = None,
    progress: bool = True,
) -> RefreshResult:
    """Fetch every configured dataset and upsert it into `store` (default: :class:`Store`).

    Each dataset is written in its own all-or-nothing store write; a failed download leaves the
    store as it was for that dataset and is reported in the result (``ok`` False), and the other
    datasets are still refreshed. If the network is unreachable, :class:`NetworkError` is raised
    at the first dataset and nothing is written.
    """
    items = config if isinstance(config, list) else load_config(config)
    store = store or Store()
    stamp = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")
    result = RefreshResult()
    iterator = items
    if progress:
        from tqdm import tqdm

        iterator = tqdm(items, desc="refresh", unit="dataset")
    try:
        for spec in iterator:
            _refresh_one(spec, store, result, stamp)
    finally:
        if progress:
            iterator.close()
    return result


def _refresh_one(spec: dict, store: Store, result: RefreshResult, stamp: pd.Timestamp) -> None:
    """Fetch and write one dataset; a NetworkError stops the whole refresh (nothing is reachable)."""
    item = RefreshItem(spec["source"], _label(spec))
    result.items.append(item)
    try:
        item.skipped = _unchanged(spec, store)
        if item.skipped:
            return
        frame = _fetch(spec, stamp)
        item.rows = len(frame)
        item.summary = store.write(frame)
    except NetworkError:
        raise
    except OilflowsError as exc:
        item.error = str(exc)
