"""Barrels <-> tonnes through API gravity, against hand computation and the methods note."""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from oilflows import units
from oilflows.units import (
    DEFAULT_API_GRAVITY,
    M3_PER_BBL,
    barrels_per_tonne,
    barrels_to_tonnes,
    specific_gravity,
    tonnes_to_barrels,
)

SHARED_DATA = Path(
    os.environ.get("OILFLOWS_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
COIFPM_FILE = SHARED_DATA / "eurostat" / "nrg_ti_coifpm.csv.gz"


@pytest.mark.parametrize(
    ("grade", "api", "bbl_per_t"),
    [("Urals", 31.0, 7.22), ("KEBCO", 30.6, 7.21), ("CPC Blend", 45.9, 7.89)],
)
def test_methods_note_factors(grade: str, api: float, bbl_per_t: float) -> None:
    assert round(barrels_per_tonne(api), 2) == bbl_per_t, grade


def test_against_hand_computation() -> None:
    # Urals: SG = 141.5 / 162.5 = 0.870769...; 1 t = 1 / 0.870769 m3 = 1.148410 m3 = 7.2233 bbl.
    sg = 141.5 / 162.5
    assert specific_gravity(31.0) == pytest.approx(0.8707692307692307, rel=1e-15)
    assert barrels_per_tonne(31.0) == pytest.approx(1 / sg / 0.158987, rel=1e-15)
    assert barrels_per_tonne(31.0) == pytest.approx(7.22329, abs=5e-6)
    assert tonnes_to_barrels(1_000_000.0, 45.9) == pytest.approx(7_885_614.8, abs=0.1)
    assert barrels_to_tonnes(7_885_614.8449, 45.9) == pytest.approx(1_000_000.0, abs=1e-3)
    # The methods note's Kazakhstan estimate: 49.55 Mbbl of CPC Blend is about 6.28 Mt.
    assert barrels_to_tonnes(49.55e6, 45.9) / 1e6 == pytest.approx(6.28, abs=0.005)


def test_water_has_specific_gravity_one() -> None:
    assert specific_gravity(10.0) == 1.0
    assert barrels_per_tonne(10.0) == pytest.approx(1 / M3_PER_BBL)  # 1 t of water = 1 m3
    assert abs(M3_PER_BBL - 42 * 3.785411784e-3) < 1e-6  # 42 US gallons, in m3


def test_lighter_crude_has_more_barrels_per_tonne() -> None:
    api = np.linspace(10, 60, 51)
    assert np.all(np.diff(barrels_per_tonne(api)) > 0)
    assert np.all(np.diff(specific_gravity(api)) < 0)


def test_round_trip_is_identity() -> None:
    rng = np.random.default_rng(42)
    tonnes = rng.uniform(0, 1e9, 10_000)
    api = rng.uniform(10, 60, 10_000)
    np.testing.assert_allclose(barrels_to_tonnes(tonnes_to_barrels(tonnes, api), api), tonnes,
                               rtol=1e-13)
    barrels = rng.uniform(0, 1e9, 10_000)
    np.testing.assert_allclose(tonnes_to_barrels(barrels_to_tonnes(barrels)), barrels, rtol=1e-13)


def test_numpy_arrays_and_pandas_series() -> None:
    api = np.array([31.0, 30.6, 45.9])
    np.testing.assert_allclose(barrels_per_tonne(api), [7.22329, 7.20551, 7.88561], atol=5e-6)
    tonnes = pd.Series([1.0, 2.0, np.nan], index=["a", "b", "c"])
    gravity = pd.Series([31.0, 45.9, 40.0], index=["a", "b", "c"])
    out = tonnes_to_barrels(tonnes, gravity)
    assert isinstance(out, pd.Series)
    assert list(out.index) == ["a", "b", "c"]
    assert out["a"] == pytest.approx(7.22329, abs=5e-6)
    assert out["b"] == pytest.approx(2 * 7.88561, abs=1e-5)
    assert np.isnan(out["c"])  # missing stays missing, never 0
    back = barrels_to_tonnes(out, gravity)
    pd.testing.assert_series_equal(back, tonnes, rtol=1e-13)
    scalar_vs_array = tonnes_to_barrels(np.array([3.0]), 31.0)
    assert scalar_vs_array[0] == pytest.approx(3 * barrels_per_tonne(31.0))


def test_default_api_gravity_is_documented() -> None:
    assert DEFAULT_API_GRAVITY == 33.0
    for func in (barrels_per_tonne, tonnes_to_barrels, barrels_to_tonnes):
        assert inspect.signature(func).parameters["api_gravity"].default == DEFAULT_API_GRAVITY
        assert func.__doc__
    assert tonnes_to_barrels(1.0) == barrels_per_tonne(DEFAULT_API_GRAVITY)
    # The module's comment states the default's factor; keep the two in step.
    source = inspect.getsource(units)
    assert "DEFAULT_API_GRAVITY = 33.0" in source
    factor = f"{barrels_per_tonne(DEFAULT_API_GRAVITY):.2f} bbl/t"
    assert factor == "7.31 bbl/t"
    assert f"gives {factor}" in source
    # Off by about 8 % for CPC Blend, as documented.
    assert barrels_per_tonne(45.9) / barrels_per_tonne() - 1 == pytest.approx(0.08, abs=0.005)


def test_documented_german_mix_against_real_data() -> None:
    """The comment on DEFAULT_API_GRAVITY quotes Germany's volume-weighted API gravity, 2020-2023."""
    if not COIFPM_FILE.exists():
        pytest.skip(f"real data not found: {COIFPM_FILE}")
    from oilflows.sources import eurostat

    frame = eurostat.read(COIFPM_FILE)
    de = frame[(frame["reporter"] == "DE") & frame["grade"].notna()
               & frame["period"].between("2020-01-01", "2023-12-01")
               & (frame["volume_bbl"] > 0)]
    assert de["api_gravity"].notna().all()  # every disclosed volume has its gravity
    mean = float(np.average(de["api_gravity"], weights=de["volume_bbl"]))
    source = inspect.getsource(units)
    assert f"average {mean:.1f} degrees by volume" in source
    assert f"({barrels_per_tonne(mean):.2f} bbl/t)" in source
    assert abs(mean - DEFAULT_API_GRAVITY) > 3  # the default is not the German mix
