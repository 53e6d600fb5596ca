"""The report's before/after context, against the methods note and the concentration module."""

from __future__ import annotations

import pytest

import oilflows
from oilflows.analytics.concentration import concentration
from oilflows.report import build_report


@pytest.fixture(scope="module")
def report():
    return build_report(oilflows.load_default(reporter="DE"))


def _row(report, measure):
    return report.context.set_index("measure").loc[measure]


def test_slate_quality_matches_reference(report):
    # Methods note section 11: Germany's disclosed slate, volume-weighted API 2021 = 35.82, 2023 = 38.48.
    api = _row(report, "slate API gravity, degrees (volume-weighted)")
    assert (api["baseline"], api["post"]) == ("35.82", "38.48")
    sulphur = _row(report, "slate sulphur, % (mass-weighted)")
    assert float(sulphur["post"]) < float(sulphur["baseline"])  # lighter and sweeter after 2023


def test_window_concentration_equals_annual_concentration(report):
    annual = concentration(oilflows.load_default(reporter="DE"), "DE", dataset="nrg_ti_coifpm").table
    hhi = _row(report, "HHI, shares of disclosed volume")
    assert float(hhi["baseline"].replace(",", "")) == pytest.approx(
        annual.loc["2021-01-01", "hhi_disclosed"], abs=0.5)
    assert float(hhi["post"].replace(",", "")) == pytest.approx(
        annual.loc["2023-01-01", "hhi_disclosed"], abs=0.5)
    lower = _row(report, "HHI, shares of WORLD (lower bound)")
    expected = annual.loc["2023-01-01", "hhi_world"]
    assert float(lower["post"].replace(",", "")) == pytest.approx(expected, abs=0.5)


def test_context_in_every_format(report):
    assert "Before and after" in report.text()
    assert "## Before and after" in report.markdown()
    assert "<h2>Before and after</h2>" in report.html()


def test_counterfactual_in_the_report(report):
    c = report.counterfactual
    assert c is not None, report.counterfactual_error
    post = c.table[c.table["window"] == "post"]
    # The actuals are the disclosed Kazakh barrels of 2023 (methods note R3: 49,550 kbbl).
    assert post["actual"].sum() / 1e3 == pytest.approx(49_550, abs=0.5)
    assert c.cumulative_excess == pytest.approx((post["actual"] - post["counterfactual"]).sum())
    assert c.coverage == pytest.approx(c.cumulative_excess / c.shortfall)
    assert c.coverage_interval[0] < c.coverage < c.coverage_interval[1]
    text = "\n".join(report.counterfactual_lines())
    assert f"{c.coverage:.1%}" in text and "interval" in text
    assert "## Counterfactual" in report.markdown() and "<h2>Counterfactual</h2>" in report.html()
