"""Route exposure: sharp bounds by route class, checked by brute force and against the real file.

The small frames are hand-built canonical frames (see tests/test_bounds.py); the route table passed to
them is hand-built too, with the columns of oilflows/data/routes.csv.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from _frames import MONTHS, build

import oilflows
from oilflows.analytics import volume_bounds
from oilflows.analytics.route_exposure import route_exposure
from oilflows.errors import AnalysisError

ROUTE_OF = {"K_a": "cpc", "K_b": "russian_blends", "K_c": "bypass", "K_d": "unknown"}
DEPENDS = {"cpc": True, "russian_blends": True, "bypass": False, "unknown": None}


def _table(mapping: dict[str, str]) -> pd.DataFrame:
    # Hand-built route table with the packaged file's columns.
    return pd.DataFrame([{"grade": g, "origin": g.split("_")[0], "reporter": "*", "start": "", "end": "",
                          "route": r, "loading": "", "pipeline": "", "description": "", "source": "test",
                          "confidence": "high", "note": ""} for g, r in mapping.items()])


def _case(rng):
    spec = {}
    for period in MONTHS:
        cells = {}
        for grade in ("K_a", "K_b", "K_c", "K_d"):
            if rng.random() < 0.7:
                cells[("K", grade)] = None if rng.random() < 0.5 else float(rng.integers(1, 9))
        cells[("Q", "Q_a")] = None if rng.random() < 0.5 else float(rng.integers(0, 9))
        hidden = float(rng.integers(1, 6)) if any(v is None for v in cells.values()) else 0.0
        spec[period] = {"WORLD": sum(v for v in cells.values() if v is not None) + hidden, "cells": cells}
    return spec


def _vertices(spec, period):
    """Each vertex of a month: dict grade -> volume of K's cells (the residual in one hidden cell)."""
    cells = spec[period]["cells"]
    hidden = [k for k, v in cells.items() if v is None]
    residual = spec[period]["WORLD"] - sum(v for v in cells.values() if v is not None)
    base = {g: (v or 0.0) for (p, g), v in cells.items() if p == "K"}
    if not hidden:
        return [base]
    out = []
    for key in hidden:
        vertex = dict(base)
        if key[0] == "K":
            vertex[key[1]] += residual
        out.append(vertex)
    return out


@pytest.mark.parametrize("seed", range(30))
def test_route_bounds_and_share_equal_vertex_enumeration(seed):
    rng = np.random.default_rng(3000 + seed)
    spec = _case(rng)
    frame = build(spec)
    result = route_exposure(frame, "AA", partner="K", start=MONTHS[0], end=MONTHS[-1], dataset="grades",
                            routes=_table(ROUTE_OF))
    combos = []
    for choice in itertools.product(*[_vertices(spec, m) for m in MONTHS]):
        by_route = {r: sum(v.get(g, 0.0) for v in choice for g, rr in ROUTE_OF.items() if rr == r)
                    for r in DEPENDS}
        combos.append(by_route)
    table = result.to_frame().set_index("route")
    for r in table.index:
        values = [c[r] for c in combos]
        assert (table.loc[r, "lower"], table.loc[r, "upper"]) == pytest.approx((min(values), max(values)))
    totals = [sum(c.values()) for c in combos]
    assert result.total[:2] == pytest.approx((min(totals), max(totals)))
    if min(totals) > 0:
        low = [(c["cpc"] + c["russian_blends"]) / sum(c.values()) for c in combos]
        high = [(c["cpc"] + c["russian_blends"] + c["unknown"]) / sum(c.values()) for c in combos]
        assert result.russian_share == pytest.approx((min(low), max(high)))


def test_identity_with_volume_bounds_on_the_real_file():
    frame = oilflows.load_default()
    result = route_exposure(frame, "DE", partner="KZ", start="2023-01", end="2023-12")
    partner = volume_bounds(frame, "DE", partner="KZ", start="2023-01", end="2023-12")
    assert result.total == pytest.approx((partner.lower, partner.upper, partner.disclosed))
    # Hand sum from the file: DE's disclosed KZ_CPC_BLN barrels in 2023 (methods note R3: 49,550 kbbl).
    coifpm = frame[(frame["dataset"] == "nrg_ti_coifpm") & (frame["reporter"] == "DE")
                   & (frame["grade"] == "KZ_CPC_BLN") & (frame["period"].dt.year == 2023)]
    assert result.route("cpc")["disclosed"] == coifpm["volume_bbl"].sum() == 49_550_000
    assert result.route("cpc")["lower"] == result.route("cpc")["upper"]  # CPC Blend is never confidential
    lo, hi = result.russian_share
    assert 0 < lo <= result.russian_share_disclosed <= hi <= 1


def test_exact_where_nothing_is_confidential():
    result = route_exposure(oilflows.load_default(), "IT", partner="KZ", start="2023-01", end="2023-12")
    table = result.to_frame()
    assert (table["lower"] == table["upper"]).all() and (table["lower"] == table["disclosed"]).all()
    assert result.total[0] == result.total[1] > 0


def test_russian_crude_as_cpc_blend():
    # Hand-built: RU crude arrives as CPC Blend (RU_CPC, 5 t disclosed in January, confidential in
    # February, where it shares the residual 10 - 3 = 7 with K's cell) and as Urals (RU_URL, 3 t a month).
    spec = {"2021-01": {"WORLD": 10.0, "cells": {("RU", "RU_CPC"): 5.0, ("RU", "RU_URL"): 3.0,
                                                 ("K", "K_a"): 2.0}},
            "2021-02": {"WORLD": 10.0, "cells": {("RU", "RU_CPC"): None, ("RU", "RU_URL"): 3.0,
                                                 ("K", "K_a"): None}}}
    routes = _table({"RU_CPC": "cpc", "RU_URL": "russian_port", "K_a": "cpc"})
    result = route_exposure(build(spec), "AA", partner="RU", start="2021-01", end="2021-02",
                            dataset="grades", routes=routes)
    cpc, port = result.route("cpc"), result.route("russian_port")
    assert (cpc["disclosed"], cpc["lower"], cpc["upper"]) == (5.0, 5.0, 12.0)
    assert (port["lower"], port["upper"]) == (6.0, 6.0)
    assert result.russian_share == pytest.approx((1.0, 1.0))  # both routes run through Russia
    # On the embedded data no reporter lists RU_CPC in 2021: the route is exactly 0.
    real = route_exposure(oilflows.load_default(), "DE", partner="RU", start="2021-01", end="2021-12")
    assert "cpc" not in set(real.to_frame()["route"])
    assert (real.route("cpc")["lower"], real.route("cpc")["upper"]) == (0.0, 0.0)


@pytest.mark.parametrize(("args", "fragment"), [
    (("DE", "ZZ", "2023-01", "2023-12"), "partner|no ZZ cells"),
    (("DE", "KZ", "2015-01", "2015-12"), "no grade detail"),
    (("XX", "KZ", "2023-01", "2023-12"), "reporter 'XX' is not in"),
])
def test_bad_input_gives_typed_errors(args, fragment):
    with pytest.raises(AnalysisError, match=fragment):
        reporter, partner, start, end = args
        route_exposure(oilflows.load_default(), reporter, partner=partner, start=start, end=end)


def test_unknown_route_id_is_a_typed_error():
    result = route_exposure(oilflows.load_default(), "DE", partner="KZ", start="2023-01", end="2023-12")
    with pytest.raises(AnalysisError, match="unknown route id 'pipeline_x'"):
        result.route("pipeline_x")


def test_summary_and_plot():
    pytest.importorskip("matplotlib")
    result = route_exposure(oilflows.load_default(), "DE", partner="KZ", start="2023-01", end="2023-12")
    text = result.summary()
    assert "share depending on Russian infrastructure" in text and "cpc" in text
    ax = result.plot()
    assert len(ax.patches) == len(result.to_frame())
    assert not math.isnan(result.russian_share_disclosed)


def test_totals_narrow_the_routes_and_keep_the_truth_room():
    frame = oilflows.load_default()
    detail = route_exposure(frame, "DE", partner="KZ", start="2023-01",
                            end="2023-12").to_frame().set_index("route")
    fused = route_exposure(frame, "DE", partner="KZ", start="2023-01", end="2023-12",
                           totals=["nrg_ti_oil", "published"])
    table = fused.to_frame().set_index("route")
    assert (table["lower"] >= detail.loc[table.index, "lower"] - 1e-6).all()
    assert (table["upper"] <= detail.loc[table.index, "upper"] + 1e-6).all()
    # KEBCO 993 kt in 2023 (published) sits in DE's KZ_MSC cells: Druzhba from 2023-02 on, so the
    # pipeline route is bounded from below by what of it the January cell cannot hold.
    assert table.loc["russian_pipeline", "lower"] > 0 == detail.loc["russian_pipeline", "lower"]
    partner = volume_bounds(frame, "DE", partner="KZ", start="2023-01", end="2023-12",
                            totals=["nrg_ti_oil", "published"])
    assert partner.lower - 1e-6 <= fused.total[0] <= fused.total[1] <= partner.upper + 1e-6
    assert fused.russian_share[0] > route_exposure(frame, "DE", partner="KZ", start="2023-01",
                                                   end="2023-12").russian_share[0]
