"""Sharp bounds under confidentiality: checked against brute force on small frames and real figures.

The small frames are hand-built canonical frames (every column of oilflows.schema.SCHEMA; a
confidential cell has flag "c" and no value, as Eurostat publishes it). Brute force enumerates the
vertices of each month's feasible set (the whole residual in one confidential cell), where a linear
objective and a linear-fractional one (coverage) attain their extremes, or every integer split of the
residual where totals add constraints (their vertices are integral).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from _frames import MONTHS, _row, build

import oilflows
from oilflows.analytics.bounds import substitution_bounds, volume_bounds
from oilflows.errors import AnalysisError, SchemaError
from oilflows.schema import parse_interval_flag
from oilflows.units import barrels_per_tonne


def random_case(rng: np.random.Generator, partners=("P", "Q", "R"), months=MONTHS, integer=False):
    spec = {}
    for period in months:
        cells = {}
        for partner in partners:
            for grade in range(int(rng.integers(1, 3))):
                hidden = rng.random() < 0.45
                cells[(partner, f"{partner}_{grade}")] = None if hidden else float(rng.integers(0, 9))
        hidden_total = float(rng.integers(0, 6)) if any(v is None for v in cells.values()) else 0.0
        world = sum(v for v in cells.values() if v is not None) + hidden_total
        spec[period] = {"WORLD": world, "cells": cells}
    return spec


def vertex_options(spec: dict, period: str, partners: list[str]) -> list[tuple[float, ...]]:
    """Each vertex of a month: the partners' hidden parts when the residual sits in one cell."""
    month = spec[period]
    hidden = [key for key, v in month["cells"].items() if v is None]
    if not hidden:
        return [tuple(0.0 for _ in partners)]
    if month["WORLD"] is None:
        raise ValueError("unbounded")
    residual = month["WORLD"] - sum(v for v in month["cells"].values() if v is not None)
    return [tuple(residual if key[0] == p else 0.0 for p in partners) for key in hidden]


def integer_options(spec: dict, period: str, partners: list[str]) -> list[tuple[float, ...]]:
    """Every integer split of the month's residual over its confidential cells (partners' parts)."""
    month = spec[period]
    hidden = [key for key, v in month["cells"].items() if v is None]
    if not hidden:
        return [tuple(0.0 for _ in partners)]
    residual = int(month["WORLD"] - sum(v for v in month["cells"].values() if v is not None))
    out = set()
    for split in itertools.product(range(residual + 1), repeat=len(hidden)):
        if sum(split) == residual:
            out.add(tuple(float(sum(x for x, key in zip(split, hidden, strict=True) if key[0] == p))
                          for p in partners))
    return sorted(out)


def disclosed(spec, period, partner):
    return sum(v for (p, _), v in spec[period]["cells"].items() if p == partner and v is not None)


# -- volume_bounds -----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(60))
def test_volume_bounds_equal_vertex_enumeration(seed):
    rng = np.random.default_rng(seed)
    spec = random_case(rng)
    frame = build(spec)
    for partner in ("P", "Q", "R"):
        sums = [sum(combo) for combo in itertools.product(
            *[[disclosed(spec, m, partner) + v[0] for v in vertex_options(spec, m, [partner])]
              for m in MONTHS])]
        result = volume_bounds(frame, "AA", partner=partner, start=MONTHS[0], end=MONTHS[-1],
                               dataset="grades")
        assert result.lower == pytest.approx(min(sums))
        assert result.upper == pytest.approx(max(sums))
        assert result.disclosed == pytest.approx(sum(disclosed(spec, m, partner) for m in MONTHS))
        # every split of the residual (random Dirichlet shares) lies inside
        for _ in range(20):
            total = 0.0
            for m in MONTHS:
                cells = spec[m]["cells"]
                hidden = [k for k, v in cells.items() if v is None]
                share = rng.dirichlet(np.ones(len(hidden))) if hidden else []
                residual = spec[m]["WORLD"] - sum(v for v in cells.values() if v is not None)
                total += disclosed(spec, m, partner) + sum(
                    s * residual for s, k in zip(share, hidden, strict=True) if k[0] == partner)
            assert result.lower - 1e-9 <= total <= result.upper + 1e-9


def test_month_rules_by_hand():
    spec = {
        "2021-01": {"WORLD": 100.0, "cells": {("P", "P_a"): 30.0, ("Q", "Q_a"): None,
                                               ("R", "R_a"): None}},     # shared residual 70
        "2021-02": {"WORLD": 100.0, "cells": {("P", "P_a"): 30.0, ("Q", "Q_a"): None,
                                               ("R", "R_a"): 10.0}},     # Q sole holder: 60
        "2021-03": {"WORLD": None, "cells": {("P", "P_a"): 30.0, ("Q", "Q_a"): None}},
        "2021-04": {"WORLD": 80.0, "cells": {}},                         # no partner detail
    }
    frame = build(spec)
    q = volume_bounds(frame, "AA", partner="Q", start="2021-01", end="2021-04", dataset="grades").to_frame()
    assert q["lower"].tolist() == [0.0, 60.0, 0.0, 0.0]
    assert q["upper"].tolist() == [70.0, 60.0, math.inf, 80.0]
    assert q["binds"].str.startswith("sole holder").tolist() == [False, True, False, False]
    p = volume_bounds(frame, "AA", partner="P", start="2021-01", end="2021-03", dataset="grades")
    assert (p.lower, p.upper) == (90.0, 90.0) and p.exact  # P has no confidential cell
    r = volume_bounds(frame, "AA", partner="R", start="2021-04", end="2021-04", dataset="grades")
    assert (r.lower, r.upper) == (0.0, 80.0)


def test_real_de_kz_2021_detail_only():
    # The worked example, computed from ../shared data: [45,806,000, 241,988,000] barrels.
    result = volume_bounds(oilflows.load_default(), "DE", partner="KZ", start="2021-01", end="2021-12")
    assert (result.lower, result.upper) == (45_806_000.0, 241_988_000.0)
    assert result.disclosed == 45_806_000.0
    assert len(result.to_frame()) == 12 and not result.exact


def test_real_de_kz_2021_with_nrg_ti_oil():
    frame = oilflows.load_default()
    result = volume_bounds(frame, "DE", partner="KZ", start="2021-01", end="2021-12",
                           totals=["nrg_ti_oil"])
    # nrg_ti_oil: DE <- KZ 8,000 kt in 2021. CPC Blend (45.9 API) is 7.89 bbl/t, KEBCO (30.6) 7.21.
    assert result.lower >= result.detail_lower and result.upper <= result.detail_upper
    assert 8e6 * barrels_per_tonne(30.6) < result.lower < result.upper < 8e6 * barrels_per_tonne(45.9) + 1e6
    assert result.upper - result.lower < 3e6
    assert [t.status for t in result.totals] == ["used"]
    # Monthly bounds are each within the detail bounds; the window is jointly constrained, so it is
    # narrower than the sum of the monthly intervals.
    months = result.to_frame()
    assert (months["lower"] >= months["detail_lower"] - 1e-6).all()
    assert (months["upper"] <= months["detail_upper"] + 1e-6).all()
    assert months["upper"].sum() > result.upper


def test_contradicting_sources_keep_detail_bounds_and_say_why():
    frame = oilflows.load_default()
    result = volume_bounds(frame, "NL", partner="RU", start="2021-01", end="2021-12",
                           totals=["nrg_ti_oil"])
    assert (result.lower, result.upper) == (result.detail_lower, result.detail_upper)
    assert result.lower <= result.upper
    assert [t.status for t in result.totals] == ["contradicts the grade detail"]
    text = " ".join(result.caveats)
    assert "16,930" in text and "77,474" in text and "disagree" in text


def test_nothing_confidential_is_exact():
    frame = oilflows.load_default()
    result = volume_bounds(frame, "IT", partner="KZ", start="2021-01", end="2021-12")
    assert result.lower == result.upper == result.disclosed > 0


def test_unbounded_where_world_is_confidential():
    frame = oilflows.load_default()
    result = volume_bounds(frame, "PL", partner="RU", start="2021-01",
                           end="2021-12")  # PL's WORLD is confidential
    assert result.upper == math.inf and "confidential WORLD" in " ".join(result.caveats)
    fused = volume_bounds(frame, "PL", partner="RU", start="2021-01", end="2021-12", totals=["nrg_ti_oil"])
    assert math.isfinite(fused.upper) and fused.lower > result.lower


def test_annual_total_constrains_months_jointly_by_integer_enumeration():
    # Hand-built: partner P hides cells in four months of 2021; a second dataset gives P's 2021
    # total as 40 t (values all multiples of 10, so the printed total means 35-45 t).
    spec = {
        "2021-01": {"WORLD": 20.0, "cells": {("P", "P_a"): 2.0, ("P", "P_b"): None, ("Q", "Q_a"): None}},
        "2021-02": {"WORLD": 15.0, "cells": {("P", "P_a"): None, ("Q", "Q_a"): None, ("R", "R_a"): 5.0}},
        "2021-03": {"WORLD": 12.0, "cells": {("P", "P_a"): 4.0, ("Q", "Q_a"): None}},
        "2021-04": {"WORLD": 30.0, "cells": {("P", "P_a"): None, ("R", "R_a"): None, ("Q", "Q_a"): 3.0}},
    }
    for month in range(5, 13):  # the rest of the year: P exact at 1 t a month (8 t)
        spec[f"2021-{month:02d}"] = {"WORLD": 5.0, "cells": {("P", "P_a"): 1.0, ("Q", "Q_a"): 4.0}}
    total = [_row("2021-01", "P", None, 40.0, dataset="totals", freq="A", measure="mass_t"),
             _row("2021-01", "Q", None, 20.0, dataset="totals", freq="A", measure="mass_t")]
    frame = build(spec, measure="mass_t", extra=total)
    options = [[disclosed(spec, m, "P") + o[0] for o in integer_options(spec, m, ["P"])] for m in MONTHS]
    feasible = [sum(c) for c in itertools.product(*options) if 35 <= sum(c) + 8 <= 45]
    result = volume_bounds(frame, "AA", partner="P", start=MONTHS[0], end=MONTHS[-1], dataset="grades",
                           measure="mass_t", totals=["totals"])
    assert (result.lower, result.upper) == pytest.approx((min(feasible), max(feasible)))
    detail = [sum(c) for c in itertools.product(*options)]
    assert (result.detail_lower, result.detail_upper) == pytest.approx((min(detail), max(detail)))
    assert result.detail_lower < result.lower  # the total binds
    # The first two months only: the other months' freedom limits what the total says of them.
    part = volume_bounds(frame, "AA", partner="P", start="2021-01", end="2021-02", dataset="grades",
                         measure="mass_t", totals=["totals"])
    pairs = [(sum(c[:2]), sum(c) + 8) for c in itertools.product(*options)]
    inside = [a for a, s in pairs if 35 <= s <= 45]
    assert (part.lower, part.upper) == pytest.approx((min(inside), max(inside)))
    # A total of another year says nothing about this window.
    other_year = volume_bounds(build(spec, measure="mass_t", extra=[
        _row("2020-01", "P", None, 40.0, dataset="totals", freq="A", measure="mass_t")]),
                               "AA", partner="P", start=MONTHS[0], end=MONTHS[-1], dataset="grades",
                               measure="mass_t", totals=["totals"])
    assert (other_year.lower, other_year.upper) == (result.detail_lower, result.detail_upper)


# -- joint bounds of a substitution ------------------------------------------------------------------


def _coverage_extremes(spec, options_of, base, post):
    values = []
    per_month = [options_of(spec, m, ["D", "S"]) for m in base + post]
    for combo in itertools.product(*per_month):
        vol = {who: {m: disclosed(spec, m, who) + combo[i][j] for i, m in enumerate(base + post)}
               for j, who in enumerate(("D", "S"))}
        gain = np.mean([vol["S"][m] for m in post]) - np.mean([vol["S"][m] for m in base])
        short = np.mean([vol["D"][m] for m in base]) - np.mean([vol["D"][m] for m in post])
        values.append((gain, short))
    return np.array(values)


@pytest.mark.parametrize("seed", range(40))
def test_substitution_bounds_equal_vertex_enumeration(seed):
    rng = np.random.default_rng(1000 + seed)
    spec = random_case(rng, partners=("D", "S", "O"))
    for m in MONTHS[:2]:  # make the displaced partner large in the baseline, so shortfalls are positive
        spec[m]["cells"][("D", "D_big")] = 40.0
        spec[m]["WORLD"] += 40.0
    frame = build(spec)
    values = _coverage_extremes(spec, vertex_options, MONTHS[:2], MONTHS[2:])
    result = substitution_bounds(frame, "AA", displaced="D", substitute="S",
                                 baseline=(MONTHS[0], MONTHS[1]), post=(MONTHS[2], MONTHS[3]),
                                 dataset="grades")
    assert result.gain == pytest.approx((values[:, 0].min(), values[:, 0].max()))
    assert result.shortfall == pytest.approx((values[:, 1].min(), values[:, 1].max()))
    assert values[:, 1].min() > 0
    ratios = values[:, 0] / values[:, 1]
    assert result.coverage == pytest.approx((ratios.min(), ratios.max()))


def test_joint_bounds_are_tighter_than_separate_ones():
    # One month's residual of 10 is shared by D and S only: D's loss there is S's gain.
    spec = {
        "2021-01": {"WORLD": 50.0, "cells": {("D", "D_a"): 50.0, ("S", "S_a"): 0.0}},
        "2021-02": {"WORLD": 10.0, "cells": {("D", "D_a"): None, ("S", "S_a"): None}},
    }
    frame = build(spec)
    result = substitution_bounds(frame, "AA", displaced="D", substitute="S",
                                 baseline=("2021-01", "2021-01"), post=("2021-02", "2021-02"),
                                 dataset="grades")
    # gain = x_S, shortfall = 50 - x_D with x_D + x_S = 10: coverage x/(40 + x) for x in [0, 10].
    assert result.coverage == pytest.approx((0.0, 10 / 50))
    separate = (0.0 / 50, 10 / 40)  # what independent bounds on gain and shortfall would give
    assert result.coverage[1] < separate[1]


def test_substitution_bounds_with_totals_by_integer_enumeration():
    spec = {
        "2021-01": {"WORLD": 26.0, "cells": {("D", "D_a"): 20.0, ("D", "D_b"): None, ("S", "S_a"): None}},
        "2021-02": {"WORLD": 12.0, "cells": {("D", "D_a"): 6.0, ("S", "S_a"): None, ("O", "O_a"): None}},
        "2021-03": {"WORLD": 9.0, "cells": {("D", "D_a"): None, ("S", "S_a"): None, ("O", "O_a"): 2.0}},
        "2021-04": {"WORLD": 8.0, "cells": {("S", "S_a"): 1.0, ("D", "D_a"): None, ("O", "O_a"): None}},
    }
    total = [_row("2021-01", "S", None, 10.0, dataset="totals", freq="A", measure="mass_t")]  # 5-15 t
    frame = build(spec, measure="mass_t", extra=total)
    values = []
    per_month = [integer_options(spec, m, ["D", "S"]) for m in MONTHS]
    for combo in itertools.product(*per_month):
        s_total = sum(disclosed(spec, m, "S") + combo[i][1] for i, m in enumerate(MONTHS))
        if not 5 <= s_total <= 15:
            continue
        vol = {who: [disclosed(spec, m, who) + combo[i][j] for i, m in enumerate(MONTHS)]
               for j, who in enumerate(("D", "S"))}
        gain = np.mean(vol["S"][2:]) - np.mean(vol["S"][:2])
        short = np.mean(vol["D"][:2]) - np.mean(vol["D"][2:])
        values.append((gain, short))
    values = np.array(values)
    assert values[:, 1].min() > 0
    result = substitution_bounds(frame, "AA", displaced="D", substitute="S",
                                 baseline=("2021-01", "2021-02"), post=("2021-03", "2021-04"),
                                 dataset="grades", measure="mass_t", totals=["totals"])
    assert result.gain == pytest.approx((values[:, 0].min(), values[:, 0].max()))
    assert result.shortfall == pytest.approx((values[:, 1].min(), values[:, 1].max()))
    ratios = values[:, 0] / values[:, 1]
    assert result.coverage == pytest.approx((ratios.min(), ratios.max()))


def test_shortfall_reaching_zero_makes_coverage_unbounded():
    spec = {
        "2021-01": {"WORLD": 11.0, "cells": {("D", "D_a"): None, ("S", "S_a"): 1.0, ("O", "O_a"): None}},
        "2021-02": {"WORLD": 10.0, "cells": {("D", "D_a"): 0.0, ("S", "S_a"): 2.0, ("O", "O_a"): 8.0}},
    }
    result = substitution_bounds(build(spec), "AA", displaced="D", substitute="S",
                                 baseline=("2021-01", "2021-01"), post=("2021-02", "2021-02"),
                                 dataset="grades")
    assert result.shortfall == pytest.approx((0.0, 10.0))
    assert result.gain == pytest.approx((1.0, 1.0))
    assert result.coverage[1] == math.inf  # a gain of 1 over a shortfall that can approach 0
    assert result.coverage[0] == pytest.approx(1 / 10)
    assert "unbounded above" in result.note
    # If S's baseline is hidden too, the gain at a zero shortfall can be negative: both ends open.
    spec["2021-01"]["cells"][("S", "S_a")] = None
    both = substitution_bounds(build(spec), "AA", displaced="D", substitute="S",
                               baseline=("2021-01", "2021-01"), post=("2021-02", "2021-02"),
                               dataset="grades")
    assert both.coverage == (-math.inf, math.inf)


def test_unbounded_shortfall_gives_coverage_down_to_zero():
    # D's baseline month has a confidential WORLD: its shortfall has no upper bound, so the coverage
    # of an exact gain of 2 runs from 0 (not attained) to +inf.
    spec = {
        "2021-01": {"WORLD": None, "cells": {("D", "D_a"): None, ("S", "S_a"): 1.0}},
        "2021-02": {"WORLD": 10.0, "cells": {("D", "D_a"): 0.0, ("S", "S_a"): 3.0, ("O", "O_a"): 7.0}},
    }
    result = substitution_bounds(build(spec), "AA", displaced="D", substitute="S",
                                 baseline=("2021-01", "2021-01"), post=("2021-02", "2021-02"),
                                 dataset="grades")
    assert result.gain == pytest.approx((2.0, 2.0))
    assert result.shortfall == (0.0, math.inf)
    assert result.coverage == (0.0, math.inf)
    assert math.copysign(1.0, result.coverage[0]) == 1.0  # +0.0, never printed as -0.0 %


def test_real_de_coverage_holds_the_disclosed_figure():
    frame = oilflows.load_default()
    result = substitution_bounds(frame, "DE", displaced="RU", substitute="KZ",
                                 baseline=("2021-01", "2021-12"), post=("2023-01", "2023-12"))
    assert result.disclosed_coverage == pytest.approx(0.020, abs=5e-4)
    assert result.coverage[0] <= result.disclosed_coverage <= result.coverage[1]
    fused = substitution_bounds(frame, "DE", displaced="RU", substitute="KZ",
                                baseline=("2021-01", "2021-12"), post=("2023-01", "2023-12"),
                                totals=["nrg_ti_oil"])
    assert result.coverage[0] <= fused.coverage[0] <= fused.coverage[1] <= result.coverage[1]
    assert fused.coverage[1] - fused.coverage[0] < result.coverage[1] - result.coverage[0]


# -- errors --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"reporter": "XX"}, "reporter 'XX' is not in eurostat/nrg_ti_coifpm"),
    ({"partner": "kz"}, "did you mean 'KZ'"),
    ({"partner": "ZZ"}, "partner 'ZZ' does not occur"),
    ({"start": "1990-01", "end": "1990-12"}, "has no data for DE in 1990-01..1990-12"),
    ({"start": "2021-12", "end": "2021-01"}, "ends before it starts"),
    ({"start": "soon", "end": "2021-01"}, "is not a pair of months"),
    ({"totals": ["nrg_ti_oilm"]}, "totals dataset 'nrg_ti_oilm' is not in the frame"),
    ({"dataset": "nope"}, "dataset 'nope' is not in the frame"),
    ({"measure": "api_gravity"}, "measure must be one of"),
    ({"measure": "mass_t"}, "has no mass_t values for DE"),
])
def test_bad_input_gives_typed_errors(kwargs, fragment):
    args = {"reporter": "DE", "partner": "KZ", "start": "2021-01", "end": "2021-12", **kwargs}
    with pytest.raises(AnalysisError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        volume_bounds(oilflows.load_default(), args.pop("reporter"), partner=args.pop("partner"),
                      start=args.pop("start"), end=args.pop("end"), **args)


def test_same_partner_twice_is_an_error():
    with pytest.raises(AnalysisError, match="same partner"):
        substitution_bounds(oilflows.load_default(), "DE", displaced="RU", substitute="RU",
                            baseline=("2021-01", "2021-12"), post=("2023-01", "2023-12"))


@pytest.mark.parametrize(("flag", "expected"), [
    ("[9050000,9150000]", (9_050_000.0, 9_150_000.0, False)), ("[8000000,inf]", (8e6, math.inf, False)),
    ("[7,8] bbl", (7.0, 8.0, True))])
def test_interval_flag(flag, expected):
    assert parse_interval_flag(flag) == expected


@pytest.mark.parametrize("flag", [None, "c", "[1;2]", "9.1 Mt", "[2,1]"])
def test_interval_flag_refuses_malformed(flag):
    with pytest.raises(SchemaError, match="flag"):
        parse_interval_flag(flag)


def test_published_revision_replaces_the_provisional_figure():
    # Hand-built: one publisher gives P's 2021 total as 40 t (provisional) and then 60 t (revised).
    spec = {f"2021-{m:02d}": {"WORLD": 10.0, "cells": {("P", "P_a"): None, ("Q", "Q_a"): None}}
            for m in range(1, 13)}
    rows = []
    for vintage, flag in (("2022-01-01", "[35,45]"), ("2022-06-01", "[55,65]")):
        row = _row("2021-01", "P", None, 0.0, dataset="office", freq="A", measure="mass_t", flag=flag)
        rows.append({**row, "source": "published", "vintage": pd.Timestamp(vintage)})
    frame = build(spec, measure="mass_t", extra=rows)
    result = volume_bounds(frame, "AA", partner="P", start="2021-01", end="2021-12", dataset="test/grades",
                           measure="mass_t", totals=["published"])
    assert (result.lower, result.upper) == pytest.approx((55.0, 65.0))


def test_plot_shows_band_and_hatches_unbounded_months():
    pytest.importorskip("matplotlib")
    result = volume_bounds(oilflows.load_default(), "PL", partner="RU", start="2021-01", end="2021-06")
    ax = result.plot()
    assert any(c.get_hatch() == "//" for c in ax.collections)
    line = ax.get_lines()[0]
    assert np.allclose(np.asarray(line.get_ydata(), float), result.to_frame()["disclosed"] / 1e3)


@pytest.mark.parametrize("seed", range(20))
def test_partner_change_bounds_equal_vertex_enumeration(seed):
    from oilflows.analytics.bounds import partner_change_bounds

    rng = np.random.default_rng(2000 + seed)
    spec = random_case(rng)
    table = partner_change_bounds(build(spec), "AA", ["P", "Q", "R"], (MONTHS[0], MONTHS[1]),
                                  (MONTHS[2], MONTHS[3]), dataset="grades")
    for partner in ("P", "Q", "R"):
        options = [[disclosed(spec, m, partner) + v[0] for v in vertex_options(spec, m, [partner])]
                   for m in MONTHS]
        changes = [(c[2] + c[3]) / 2 - (c[0] + c[1]) / 2 for c in itertools.product(*options)]
        row = table.loc[partner]
        assert (row["change_lower"], row["change_upper"]) == pytest.approx((min(changes), max(changes)))


def test_substitution_rows_carry_each_partners_identified_change():
    from oilflows.analytics import substitution

    result = substitution(oilflows.load_default(), "DE", displaced="RU", substitute="KZ")
    table = result.to_frame().set_index("partner")
    partners = table.drop(index=["WORLD", "undisclosed"])
    assert (partners["change_lower"] <= partners["change"] + 1e-6).all()
    assert (partners["change"] <= partners["change_upper"] + 1e-6).all()
    assert table.loc[["WORLD", "undisclosed"], "change_lower"].isna().all()
    kz = table.loc["KZ"]
    assert (kz["change_lower"], kz["change_upper"]) == pytest.approx(result.gain_bounds)  # alone = joint
    assert "identified change" in result.summary()


def test_statistical_totals_picks_the_datasets_that_can_bound_the_pair() -> None:
    """Hand-built: which other datasets hold a total of either partner in the windows (issue 14: the
    report used to compute this itself)."""
    from oilflows.analytics.bounds import statistical_totals

    def annual(dataset, year, partner, source="test", reporter="AA"):
        row = _row(f"{year}-01", partner, None, 1.0, dataset=dataset, freq="A", measure="mass_t")
        return {**row, "source": source, "reporter": reporter}

    extra = [
        annual("annual_ok", 2020, "P"),            # one year before the baseline: counts
        annual("too_early", 2019, "Q"),            # before that: does not
        annual("too_late", 2022, "P"),             # after the post window's last month: does not
        annual("other_partner", 2021, "R"),        # a partner outside the pair: does not
        annual("other_reporter", 2021, "P", reporter="BB"),
        annual("pub", 2021, "Q", source="published"),  # published figures are asked for by name
    ]
    frame = build({m: {"WORLD": 10.0, "cells": {("P", "P1"): 4.0, ("Q", "Q1"): None}} for m in MONTHS},
                  extra=extra)
    got = statistical_totals(frame, "AA", partners=("P", "Q"), baseline=("2021-01", "2021-02"),
                             post=("2021-03", "2021-04"), exclude=("test", "grades"))
    assert got == ["annual_ok"]
    # Without the exclusion the bounded dataset itself qualifies too.
    assert statistical_totals(frame, "AA", partners=("P",), baseline=("2021-01", "2021-02"),
                              post=("2021-03", "2021-04")) == ["annual_ok", "grades"]
    with pytest.raises(TypeError):
        statistical_totals(frame, "AA", ("P", "Q"))  # type: ignore[misc]  # keyword-only after reporter
