"""oilflows: where a country's crude oil comes from, from public trade and energy statistics."""

from __future__ import annotations

from .default import default_provenance, load_default
from .errors import (
    AnalysisError,
    FetchError,
    OilflowsError,
    SchemaError,
    SourceFormatError,
    StoreError,
    UnknownDatasetError,
)
from .refresh import refresh
from .schema import KEY, SCHEMA
from .sources.registry import datasets
from .store import Store

__version__ = "0.1.0"

__all__ = [
    "KEY",
    "SCHEMA",
    "AnalysisError",
    "FetchError",
    "OilflowsError",
    "SchemaError",
    "SourceFormatError",
    "Store",
    "StoreError",
    "UnknownDatasetError",
    "__version__",
    "datasets",
    "default_provenance",
    "load_default",
    "refresh",
]
