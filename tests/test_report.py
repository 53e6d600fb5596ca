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


# -- the interval leads -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def full_report():
    return build_report(oilflows.load_default())


def test_report_leads_with_the_identified_interval(full_report):
    from oilflows.analytics import substitution_bounds

    frame = oilflows.load_default()
    windows = (("2021-01", "2021-12"), ("2023-01", "2023-12"))
    detail = substitution_bounds(frame, "DE", "RU", "KZ", *windows)
    fused = substitution_bounds(frame, "DE", "RU", "KZ", *windows, totals=["nrg_ti_oil", "published"])
    first = full_report.text().splitlines()[0]
    assert first.startswith("KZ crude covered between")
    assert f"{detail.coverage[0]:.1%} and {detail.coverage[1]:.1%}" in first
    assert f"{fused.coverage[0]:.1%} to {fused.coverage[1]:.1%} with partner totals and published" in first
    assert first.endswith("the disclosed grades alone give 2.0%.")
    # Each further source narrows the interval, and every interval holds the disclosed figure.
    intervals = [b.coverage for _, b in full_report.bounds]
    assert [label for label, _ in full_report.bounds] == [
        "grade detail alone", "with partner totals (nrg_ti_oil)",
        "with partner totals and published figures"]
    for (lo0, hi0), (lo1, hi1) in zip(intervals, intervals[1:], strict=False):
        assert lo0 <= lo1 <= hi1 <= hi0
    assert all(lo <= 0.020 <= hi for lo, hi in intervals)
    for text in (full_report.markdown(), full_report.html()):
        assert text.index("KZ crude covered between") < text.index("RU shortfall")


def test_since_section_lists_published_figures_with_publisher_and_date(full_report):
    since = full_report.since
    assert not since.empty and (since["period"].str[:4].astype(int) >= 2024).all()
    kebco_2024 = since[(since["period"] == "2024") & (since["what"] == "KZ (KEBCO)")]
    assert set(kebco_2024["figure"]) == {"1.5 Mt"} and kebco_2024["publisher"].str.len().min() > 0
    totals = since[since["what"] == "all origins"]
    assert "75.7 Mt" in set(totals["figure"])  # Destatis, 9 March 2026
    text = full_report.text()
    assert "Since 2023 (published figures" in text and "2025 all origins: 75.7 Mt" in text
    assert "## Since 2023: published figures" in full_report.markdown()


def test_report_without_other_sources_gives_the_detail_interval_only():
    frame = oilflows.load_default(dataset="nrg_ti_coifpm")
    report = build_report(frame)
    assert [label for label, _ in report.bounds] == ["grade detail alone"]
    assert report.since.empty and "Since 2023" not in report.text()


def test_report_states_the_russian_infrastructure_share_as_an_interval(full_report):
    from oilflows.analytics.route_exposure import route_exposure

    frame = oilflows.load_default()
    detail = route_exposure(frame, "DE", "KZ", "2023-01", "2023-12")
    fused = route_exposure(frame, "DE", "KZ", "2023-01", "2023-12", totals=["nrg_ti_oil", "published"])
    lines = full_report.infrastructure_lines()
    assert lines[0].startswith(f"Between {fused.russian_share[0]:.1%} and {fused.russian_share[1]:.1%} "
                               "of the KZ crude DE imported")
    assert f"grade detail alone: {detail.russian_share[0]:.1%} to {detail.russian_share[1]:.1%}" in lines[0]
    assert sum(line.startswith("- ") for line in lines) == 5  # four relabelling signals, mass balance
    balance = [line for line in lines if line.startswith("- exporter_balance")][0]
    # nrg_ti_oil's 18 importers from KZ in 2022 against KZ's published 64.3 Mt of exports.
    assert "2022: importers 40,817-40,821 kt against exports 64,250-64,350 kt" in balance
    assert all("Cannot show:" in line for line in lines if line.startswith("- "))
    assert "## KZ and Russian infrastructure" in full_report.markdown()
    assert "<h2>KZ and Russian infrastructure</h2>" in full_report.html()
