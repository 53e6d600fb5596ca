"""Explicit unit conversions: barrels <-> tonnes through API gravity. Never applied silently."""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import pandas as pd

#: Cubic metres per US oil barrel (42 US gallons).
M3_PER_BBL = 0.158987

#: API gravity used when a grade's own gravity is unknown, degrees API. 33 degrees is a generic
#: medium crude and gives 7.31 bbl/t, close to the flat 7.33 bbl/t often quoted. It is not Germany's
#: mix: its disclosed imports in Eurostat nrg_ti_coifpm 2020-2023 average 36.2 degrees by volume
#: (7.46 bbl/t). It is wrong by up to 8 % for a light grade such as CPC Blend (45.9 degrees,
#: 7.89 bbl/t): pass the grade's gravity wherever it is known.
DEFAULT_API_GRAVITY = 33.0

ArrayLike: TypeAlias = float | np.ndarray | pd.Series


def specific_gravity(api_gravity: ArrayLike) -> ArrayLike:
    """Specific gravity at 60 F (dimensionless) from API gravity (degrees): 141.5 / (API + 131.5)."""
    return 141.5 / (api_gravity + 131.5)


def barrels_per_tonne(api_gravity: ArrayLike = DEFAULT_API_GRAVITY) -> ArrayLike:
    """Barrels per metric tonne of crude of the given API gravity: 1 / (SG * 0.158987).

    Examples: Urals (31 degrees) 7.22, KEBCO (30.6) 7.21, CPC Blend (45.9) 7.89 bbl/t.
    """
    return 1.0 / (specific_gravity(api_gravity) * M3_PER_BBL)


def tonnes_to_barrels(tonnes: ArrayLike, api_gravity: ArrayLike = DEFAULT_API_GRAVITY) -> ArrayLike:
    """Convert metric tonnes to barrels at the given API gravity (degrees; default documented above)."""
    return tonnes * barrels_per_tonne(api_gravity)


def barrels_to_tonnes(barrels: ArrayLike, api_gravity: ArrayLike = DEFAULT_API_GRAVITY) -> ArrayLike:
    """Convert barrels to metric tonnes at the given API gravity (degrees; default documented above)."""
    return barrels / barrels_per_tonne(api_gravity)

__all__ = ["DEFAULT_API_GRAVITY", "M3_PER_BBL", "ArrayLike", "barrels_per_tonne",
           "barrels_to_tonnes", "specific_gravity", "tonnes_to_barrels"]
