"""Deprecated: the store's manifest moved to :mod:`oilflows.store.manifest`; this module re-exports it.

Importing ``oilflows.store_manifest`` emits a :class:`DeprecationWarning`; it goes away in the next minor
release (docs/api_policy.md).
"""

from __future__ import annotations

import warnings
from typing import Any

from .store import manifest as _target
from .store.manifest import *  # noqa: F403

warnings.warn("oilflows.store_manifest is deprecated: import oilflows.store.manifest instead "
              "(the old name goes away in the next minor release)", DeprecationWarning, stacklevel=2)


def __getattr__(name: str) -> Any:
    return getattr(_target, name)
