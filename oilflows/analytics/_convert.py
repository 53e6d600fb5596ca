"""Barrels and tonnes side by side for one flow, converted through each grade's own API gravity."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..units import DEFAULT_API_GRAVITY, barrels_per_tonne


def partner_api(frame: pd.DataFrame, reporter: str, partner: str) -> float | None:
    """Volume-weighted API gravity (degrees) of `partner`'s crude in `reporter`'s imports, if any
    source in `frame` discloses grade qualities (e.g. nrg_ti_coifpm); None otherwise."""
    rows = frame[(frame["reporter"] == reporter) & (frame["partner"] == partner)
                 & frame["api_gravity"].notna() & frame["volume_bbl"].notna()]
    if rows.empty or rows["volume_bbl"].sum() <= 0:
        return None
    return float(np.average(rows["api_gravity"], weights=rows["volume_bbl"]))


def with_both_units(rows: pd.DataFrame, api: float | None) -> tuple[pd.DataFrame, str]:
    """Add `mass_t_all` and `volume_bbl_all`: each row's quantity in both units.

    A row with only barrels is converted to tonnes at its own `api_gravity` (else `api`, else the
    default); a row with only tonnes to barrels at `api` (else the default). Returns the rows and
    a note saying which conversion was used.
    """
    rows = rows.copy()
    fallback = api if api is not None else DEFAULT_API_GRAVITY
    gravity = rows["api_gravity"].fillna(fallback)
    factor = barrels_per_tonne(gravity)
    rows["mass_t_all"] = rows["mass_t"].where(rows["mass_t"].notna(), rows["volume_bbl"] / factor)
    rows["volume_bbl_all"] = rows["volume_bbl"].where(rows["volume_bbl"].notna(),
                                                      rows["mass_t"] * factor)
    own = rows["api_gravity"].notna() & rows["mass_t"].isna() & rows["volume_bbl"].notna()
    converted = rows["mass_t"].isna() ^ rows["volume_bbl"].isna()
    if not converted.any():
        note = "both units reported"
    elif own[converted].all():
        note = "converted at each grade's own API gravity"
    else:
        source = f"{fallback:.1f} API ({'partner mean' if api is not None else 'default'})"
        note = ("converted at each grade's own API gravity, else " if own.any() else "converted at ") + source
    return rows, note
