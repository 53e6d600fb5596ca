"""oilflows: where a country's crude oil comes from, from public trade and energy statistics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .default import default_provenance, load_default
from .errors import (
    AccessDeniedError,
    AnalysisError,
    BodyTooLargeError,
    ConfigError,
    DecompressionLimitError,
    ExecutorError,
    FetchError,
    FetchTimeoutError,
    NetworkError,
    OilflowsError,
    QueryError,
    RateLimitedError,
    SchemaError,
    SourceFormatError,
    StoreError,
    StoreQueryError,
    TruncatedBodyError,
    UnknownDatasetError,
)

if TYPE_CHECKING:  # type checkers see the function that calling oilflows.refresh(...) runs
    from .refresh import refresh
else:  # at run time oilflows.refresh is the module (import oilflows.refresh works), callable as refresh()
    from . import refresh
from .schema import KEY, SCHEMA
from .sources.registry import datasets
from .store import Store

__version__ = "0.1.0"

__all__ = [
    "KEY",
    "SCHEMA",
    "AccessDeniedError",
    "AnalysisError",
    "BodyTooLargeError",
    "ConfigError",
    "DecompressionLimitError",
    "ExecutorError",
    "FetchError",
    "FetchTimeoutError",
    "NetworkError",
    "OilflowsError",
    "QueryError",
    "RateLimitedError",
    "SchemaError",
    "SourceFormatError",
    "Store",
    "StoreError",
    "StoreQueryError",
    "TruncatedBodyError",
    "UnknownDatasetError",
    "__version__",
    "datasets",
    "default_provenance",
    "load_default",
    "refresh",
]
