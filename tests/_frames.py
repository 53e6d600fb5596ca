"""Hand-built canonical frames for the bounds tests.

Every column of oilflows.schema.SCHEMA; a confidential cell has flag "c" and no value, as Eurostat
publishes it. ``build`` takes, per month, the WORLD total (None: confidential) and the cells
``{(partner, grade): value or None}``.
"""

from __future__ import annotations

import pandas as pd

import oilflows

MONTHS = ["2021-01", "2021-02", "2021-03", "2021-04"]


def _row(period, partner, grade, value, *, dataset="grades", freq="M", measure="volume_bbl",
         api=None, flag=None):
    hidden = value is None and flag is None
    return {
        "source": "test", "dataset": dataset, "vintage": pd.NaT, "freq": freq,
        "period": pd.Timestamp(period), "reporter": "AA", "partner": partner, "flow": "import",
        "product": "crude_oil", "grade": grade,
        "volume_bbl": value if measure == "volume_bbl" else None,
        "mass_t": value if measure == "mass_t" else None, "value": None, "currency": None,
        "api_gravity": api, "sulphur_pct": None, "price_per_bbl": None,
        "flag": "c" if hidden else flag,
    }


def build(months: dict[str, dict], measure="volume_bbl", extra=()) -> pd.DataFrame:
    """months: period -> {"WORLD": value or None, "cells": {(partner, grade): value or None}}."""
    rows = []
    for period, spec in months.items():
        rows.append(_row(period, "WORLD", None, spec["WORLD"], measure=measure))
        for (partner, grade), value in spec["cells"].items():
            rows.append(_row(period, partner, grade, value, measure=measure))
    rows.extend(extra)
    return oilflows.schema.conform(pd.DataFrame(rows))
