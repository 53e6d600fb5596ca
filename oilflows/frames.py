"""Operations on whole canonical frames: combining sources without counting an observation twice."""

from __future__ import annotations

import pandas as pd

from .schema import COLUMNS, KEY, OBSERVATION_KEY, conform


def latest(frame: pd.DataFrame) -> pd.DataFrame:
    """For each observation (the key without vintage) keep the row of the latest vintage; a null
    vintage counts as oldest. Rows come back sorted by the key."""
    ordered = frame.sort_values("vintage", na_position="first", kind="stable")
    kept = ordered.drop_duplicates(list(OBSERVATION_KEY), keep="last")
    return kept.sort_values(list(KEY), na_position="first", kind="stable").reset_index(drop=True)


def combine(*frames: pd.DataFrame) -> pd.DataFrame:
    """Concatenate canonical frames (e.g. the embedded default and the store); where several hold
    the same observation, the latest vintage wins (on a tie, the later frame)."""
    parts = [conform(f[list(COLUMNS)]) for f in frames if f is not None and len(f)]
    if not parts:
        return conform(pd.DataFrame({c: [] for c in COLUMNS}))
    return latest(pd.concat(parts, ignore_index=True))

__all__ = ["combine", "latest"]
