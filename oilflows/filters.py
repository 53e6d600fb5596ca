"""Deprecated: row filters moved to :mod:`oilflows.store.filters`; this module re-exports it.

Importing ``oilflows.filters`` emits a :class:`DeprecationWarning`; it goes away in the next minor
release (docs/api_policy.md).
"""

from __future__ import annotations

import warnings
from typing import Any

from .store import filters as _target
from .store.filters import *  # noqa: F403

warnings.warn("oilflows.filters is deprecated: import oilflows.store.filters instead (the old name goes "
              "away in the next minor release)", DeprecationWarning, stacklevel=2)


def __getattr__(name: str) -> Any:
    return getattr(_target, name)
