"""Issue 15: the faster counterfactual (direct forecast means in the delta method, no smoother, one
panel per task, the anticipation re-fit on the same panel) gives the results of the code before it.

``tests/fixtures/counterfactual/pre_issue15.json`` holds figures computed by the code *before* the
change (commit b1ac962, by running this file as a script against that checkout; see its
``provenance``), so the comparison does not depend on the new code. Tolerance: 1e-6 relative (the
full comparison over all 220 real series and 300 simulated ones differed by at most 7e-11).
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import oilflows
from oilflows.analytics.counterfactual import counterfactual
from oilflows.analytics.panel_run import SeriesSpec, panel_counterfactual
from oilflows.schema import COLUMNS, conform

FIXTURE = Path(__file__).parent / "fixtures" / "counterfactual" / "pre_issue15.json"
RTOL = 1e-6

#: (label, reporter, partner, keyword arguments) on the default snapshot ("real") or sim_frame().
CASES = [
    ("real", "DE", "KZ", {"shock": "2023-01", "post": ("2023-01", "2023-12"), "displaced": "RU",
                          "dataset": "eurostat/nrg_ti_coifpm"}),
    ("real", "DE", "KZ", {"shock": "2023-01", "post": ("2023-01", "2023-12"), "displaced": "RU",
                          "dataset": "eurostat/nrg_ti_coifpm", "target": "share"}),
    ("real", "IT", "IQ", {"shock": "2019-01", "post": ("2019-01", "2019-12"), "dataset": "coir",
                          "displaced": None}),
    ("real", "NL", "SA", {"shock": "2023-01", "post": ("2023-01", "2023-12"), "displaced": None,
                          "dataset": "eurostat/nrg_ti_coifpm", "parameter_uncertainty": False}),
    ("sim", "S01", "P1", {"shock": "2019-01", "post": ("2019-01", "2019-12"), "displaced": "P2",
                          "dataset": "sim"}),
    ("sim", "S01", "P3", {"shock": "2019-01", "post": ("2019-01", "2019-12"), "displaced": None,
                          "dataset": "sim"}),
]
SCALARS = ("cumulative_excess", "mean_excess", "coverage", "shortfall", "residual_correlation")
PAIRS = ("cumulative_interval", "coverage_interval", "shortfall_interval")
TABLE = ("counterfactual", "lower", "upper", "cumulative_lower", "cumulative_upper")


def sim_frame() -> pd.DataFrame:
    """Reporter S01, partners P1-P3: seasonal AR(1) series 2016-01..2019-12 around 2 Mbbl (one month
    of P1 missing), a step of +3e5 bbl in P1 and -3e5 in P2 from 2019-01; WORLD = their sum."""
    rng = np.random.default_rng(15)
    months = pd.date_range("2016-01-01", "2019-12-01", freq="MS")
    n, burn = len(months), 60
    rows = []
    world = np.zeros(n)
    for i, (partner, step) in enumerate((("P1", 3e5), ("P2", -3e5), ("P3", 0.0))):
        e = rng.normal(0.0, 1e5, n + burn)
        x = np.zeros(n + burn)
        for t in range(13, n + burn):
            x[t] = 0.5 * x[t - 1] + 0.3 * x[t - 12] - 0.15 * x[t - 13] + e[t]
        y = 2e6 + (i + 1) * 1e5 + x[burn:] + step * (months >= "2019-01-01")
        world += y
        if partner == "P1":
            y[7] = np.nan
        rows.append(pd.DataFrame({"period": months, "partner": partner, "grade": f"{partner}_A",
                                  "volume_bbl": y}))
    rows.append(pd.DataFrame({"period": months, "partner": "WORLD", "grade": None, "volume_bbl": world}))
    frame = pd.concat(rows, ignore_index=True)
    frame["flag"] = np.where(frame["volume_bbl"].isna(), "c", None)
    frame = frame.assign(source="simulated", dataset="sim", vintage=pd.NaT, freq="M",
                         reporter="S01", flow="import", product="crude_oil")
    for column in COLUMNS:
        if column not in frame:
            frame[column] = None
    return conform(frame[list(COLUMNS)])


def figures(result) -> dict:
    """The figures compared: scalars, intervals, the table's forecast columns, the anticipation."""
    out = {name: float(getattr(result, name)) for name in SCALARS}
    out |= {name: [float(v) for v in getattr(result, name)] for name in PAIRS}
    out |= {f"table.{c}": result.table[c].astype(float).tolist() for c in TABLE}
    if result.anticipation is not None:
        out["anticipation.cumulative_excess"] = float(result.anticipation.cumulative_excess)
        out["anticipation.cumulative_interval"] = [float(v) for v in
                                                   result.anticipation.cumulative_interval]
    return out


def compute(default: pd.DataFrame, sim: pd.DataFrame) -> list[dict]:
    out = []
    for label, reporter, partner, options in CASES:
        frame = default if label == "real" else sim
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out.append(figures(counterfactual(frame, reporter, partner=partner, **options)))
    return out


def assert_close(new: dict, old: dict, where: str) -> None:
    assert set(new) == set(old), where
    for name in old:
        a, b = np.asarray(new[name], dtype=float), np.asarray(old[name], dtype=float)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=f"{where} {name}")
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=0, equal_nan=True, err_msg=f"{where} {name}")


@pytest.fixture(scope="module")
def recorded() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    return oilflows.load_default(), sim_frame()


def test_counterfactuals_equal_the_figures_of_the_code_before_issue_15(recorded, frames):
    new = compute(*frames)
    assert len(new) == len(recorded["cases"]) == len(CASES)
    for (label, reporter, partner, _), got, old in zip(CASES, new, recorded["cases"], strict=True):
        assert_close(got, old, f"{label} {reporter}<-{partner}")


def test_panel_run_rows_equal_the_figures_of_the_code_before_issue_15(recorded, frames):
    default, sim = frames
    frame = pd.concat([default, sim], ignore_index=True)
    rows = [(i, c) for i, c in enumerate(CASES) if c[3].get("target", "volume") == "volume"
            and c[3].get("parameter_uncertainty", True)]
    specs = [SeriesSpec(r, p, o["dataset"], o["shock"], o["post"]) for _, (_, r, p, o) in rows]
    table = panel_counterfactual(frame, specs, executor="serial", displaced=None).table
    for (i, _), record in zip(rows, table.to_dict("records"), strict=True):
        if CASES[i][3].get("displaced") is not None:
            continue  # the recorded figures include the coverage fit; the panel run has none here
        old = recorded["cases"][i]
        np.testing.assert_allclose(record["cumulative_excess"], old["cumulative_excess"], rtol=RTOL)
        np.testing.assert_allclose([record["cumulative_lower"], record["cumulative_upper"]],
                                   old["cumulative_interval"], rtol=RTOL)


def test_the_fixture_is_not_trivially_satisfied(recorded, frames):
    """The comparison can fail: a 1e-5 relative change of a figure is detected."""
    new = compute(*frames)[0]
    new["cumulative_excess"] *= 1 + 1e-5
    with pytest.raises(AssertionError):
        assert_close(new, recorded["cases"][0], "perturbed")


if __name__ == "__main__":  # record: python tests/test_counterfactual_fast.py OUT (old checkout)
    import subprocess

    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    payload = {
        "provenance": (f"Recorded with the code before issue 15 (oilflows at {oilflows.__file__}, "
                       f"commit {sys.argv[2] if len(sys.argv) > 2 else commit}) by running "
                       f"tests/test_counterfactual_fast.py as a script; numpy {np.__version__}, "
                       f"pandas {pd.__version__}."),
        "cases": compute(oilflows.load_default(), sim_frame()),
    }
    Path(sys.argv[1]).write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
