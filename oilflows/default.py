"""The embedded default snapshot: real Eurostat and EU-register data shipped inside the package."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .schema import from_table
from .store import filters as filters_module

_PACKAGE_DATA = "oilflows.data"


def _path(name: str) -> Traversable:
    return resources.files(_PACKAGE_DATA).joinpath(name)


@lru_cache(maxsize=1)
def _table() -> pa.Table:
    with resources.as_file(_path("default.parquet")) as path:
        return pq.read_table(path)


def load_default(
    *, start: str | None = None, end: str | None = None, **filters: object
) -> pd.DataFrame:
    """The embedded default snapshot as a canonical frame; no network, no ``shared/`` needed.

    It holds Eurostat nrg_ti_coifpm (monthly, by crude grade, 2005-01..2024-01 for DE, FR, IT,
    ES, NL, PL and EU_V; vintage 2024-02-28), the EU crude oil import register 2013-2019 (monthly,
    by reporter, origin and grade) and Eurostat nrg_ti_oil (annual, tonnes, DE by partner and
    18 importers from KZ and RU, 1990-2022). ``filters`` work as in :meth:`oilflows.Store.read`,
    e.g. ``load_default(dataset="nrg_ti_coifpm", reporter="DE")``.
    """
    table = _table()
    expression = filters_module.expression(start, end, **filters)
    if expression is not None:
        table = table.filter(expression)
    return from_table(table)


def default_provenance() -> dict:
    """Provenance of the embedded snapshot: inputs (with sha256), vintages, rows and licences."""
    return json.loads(_path("default.json").read_text(encoding="utf-8"))

__all__ = ["default_provenance", "load_default"]
