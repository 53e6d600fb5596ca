"""Opt-in live checks against Eurostat (run with `pytest -m live`; they need the internet)."""

from __future__ import annotations

import pytest

from oilflows.schema import validate
from oilflows.sources import eurostat

pytestmark = pytest.mark.live


def test_live_coifpm_germany_kazakh_cpc():
    frame = eurostat.fetch("nrg_ti_coifpm", geo="DE", crudeoil="KZ_CPC_BLN", indic_nrg="VOL_THS_BBL",
                           start="2021-01", end="2021-12")
    validate(frame)
    # Methods note R3 (snapshot 2024): 45,806 kbbl in 2021; a later release may revise it slightly.
    assert frame["volume_bbl"].sum() / 1e3 == pytest.approx(45_806, rel=0.02)


def test_live_toc_lists_coifpm():
    assert eurostat.last_update("nrg_ti_coifpm") is not None
