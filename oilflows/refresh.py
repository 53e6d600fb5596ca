"""Keep the store current: fetch a declared list of datasets and upsert them.

The list is a TOML file (``oilflows refresh --config FILE``) of ``[[dataset]]`` tables::

    [[dataset]]
    source = "eurostat"
    dataset = "nrg_ti_coifpm"
    start = "2020-01"                       # optional, YYYY or YYYY-MM
    filters = { geo = ["DE", "FR"] }        # optional, dimension = code or [codes]

Without a config file, :data:`DEFAULT_DATASETS` is used.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import NetworkError, OilflowsError, QueryError
from .store import Store, WriteSummary

#: What `oilflows refresh` keeps current by default: Germany and its neighbours' crude imports.
DEFAULT_DATASETS: list[dict] = [
    {"source": "eurostat", "dataset": "nrg_ti_coifpm", "start": "2020-01",
     "filters": {"geo": ["DE", "FR", "IT", "ES", "NL", "PL", "AT", "CZ"]}},
    {"source": "eurostat", "dataset": "nrg_ti_oilm", "start": "2015-01",
     "filters": {"siec": "O4100_TOT", "geo": ["DE", "FR", "IT", "ES", "NL", "PL", "AT", "CZ"]}},
    {"source": "eurostat", "dataset": "nrg_ti_oil",
     "filters": {"siec": "O4100_TOT", "geo": ["DE", "FR", "IT", "ES", "NL", "PL", "AT", "CZ"]}},
]


@dataclass
class RefreshItem:
    """One dataset of a refresh: what was asked and what the store did with it."""

    source: str
    dataset: str
    rows: int = 0
    summary: WriteSummary | None = None
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
    for i, item in enumerate(items):
        missing = {"source", "dataset"} - set(item)
        if missing:
            raise QueryError(f"{path}: [[dataset]] number {i + 1} lacks {sorted(missing)}")
    return items


def _fetcher(source: str) -> Callable[..., pd.DataFrame]:
    if source == "eurostat":
        from .sources import eurostat

        return eurostat.fetch
    raise QueryError(f"refresh cannot fetch source {source!r} yet; known: eurostat")


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
    result = RefreshResult()
    iterator = items
    if progress:
        from tqdm import tqdm

        iterator = tqdm(items, desc="refresh", unit="dataset")
    try:
        for spec in iterator:
            _refresh_one(spec, store, result)
    finally:
        if progress:
            iterator.close()
    return result


def _refresh_one(spec: dict, store: Store, result: RefreshResult) -> None:
    """Fetch and write one dataset; a NetworkError stops the whole refresh (nothing is reachable)."""
    item = RefreshItem(spec["source"], spec["dataset"])
    result.items.append(item)
    try:
        fetch = _fetcher(spec["source"])
        frame = fetch(spec["dataset"], start=spec.get("start"), end=spec.get("end"),
                      **spec.get("filters", {}))
        item.rows = len(frame)
        item.summary = store.write(frame)
    except NetworkError:
        raise
    except OilflowsError as exc:
        item.error = str(exc)
