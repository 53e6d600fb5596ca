"""Deprecated: verification and repair moved to :mod:`oilflows.store.check`; this module re-exports it.

Importing ``oilflows.store_check`` emits a :class:`DeprecationWarning`; it goes away in the next minor
release (docs/api_policy.md).
"""

from __future__ import annotations

import warnings
from typing import Any

from .store import check as _target
from .store.check import *  # noqa: F403

warnings.warn("oilflows.store_check is deprecated: import oilflows.store.check instead (the old name goes "
              "away in the next minor release)", DeprecationWarning, stacklevel=2)


def __getattr__(name: str) -> Any:
    return getattr(_target, name)
