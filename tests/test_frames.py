"""Combining frames: the latest vintage of an observation wins, nothing is counted twice."""

from __future__ import annotations

import pandas as pd

from oilflows.frames import combine, latest
from oilflows.schema import COLUMNS, conform


def _row(vintage, volume):
    frame = pd.DataFrame([{
        "source": "eurostat", "dataset": "nrg_ti_coifpm", "vintage": vintage, "freq": "M",
        "period": pd.Timestamp("2023-01-01"), "reporter": "DE", "partner": "KZ", "flow": "import",
        "product": "crude_oil", "grade": "KZ_CPC_BLN", "volume_bbl": volume}])
    for column in COLUMNS:
        if column not in frame:
            frame[column] = None
    return conform(frame[list(COLUMNS)])


def test_latest_vintage_wins():
    old, new, unknown = _row(pd.Timestamp("2024-02-28"), 1.0), _row(pd.Timestamp("2025-01-10"), 2.0), \
        _row(pd.NaT, 3.0)
    assert combine(new, old)["volume_bbl"].tolist() == [2.0]
    assert combine(old, new)["volume_bbl"].tolist() == [2.0]
    assert combine(unknown, old)["volume_bbl"].tolist() == [1.0]  # a null vintage counts as oldest
    assert len(latest(pd.concat([old, new, unknown]))) == 1


def test_combine_empty():
    assert list(combine(None).columns) == list(COLUMNS) and combine().empty
