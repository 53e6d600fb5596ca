"""The report's before/after context, against the methods note and the concentration module."""

from __future__ import annotations

import pandas as pd
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
    windows = {"baseline": ("2021-01", "2021-12"), "post": ("2023-01", "2023-12")}
    detail = substitution_bounds(frame, "DE", displaced="RU", substitute="KZ", **windows)
    fused = substitution_bounds(frame, "DE", displaced="RU", substitute="KZ", **windows,
                                totals=["nrg_ti_oil", "published"])
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
    detail = route_exposure(frame, "DE", partner="KZ", start="2023-01", end="2023-12")
    fused = route_exposure(frame, "DE", partner="KZ", start="2023-01", end="2023-12",
                           totals=["nrg_ti_oil", "published"])
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


# -- the report renders results and computes nothing itself (issue 14) ------------------------------


def test_report_imports_no_private_analytics_module():
    import ast
    import inspect

    import oilflows.report

    tree = ast.parse(inspect.getsource(oilflows.report))
    imported = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            imported += [module] + [f"{module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            imported += [a.name for a in node.names]
    private = [m for m in imported if any(p.startswith("_") and not p.startswith("__")
                                          for p in m.lstrip(".").split("."))]
    assert not private, f"oilflows.report imports private modules: {private}"
    # The check can fail: the import the report used to have is caught.
    bad = ast.parse("from .analytics._panel import fmt\nfrom .analytics import _plot\n")
    caught = [f"{n.module}.{a.name}" for n in ast.walk(bad) if isinstance(n, ast.ImportFrom)
              for a in n.names]
    assert all(any(p.startswith("_") for p in m.split(".")) for m in caught)


def test_before_after_builds_no_panel_and_the_report_builds_each_once(monkeypatch):
    """The slate reuses the substitution's panel: build_panel runs once per caller in one report,
    and before_after (the report's own context) builds none. Calls are counted per calling module."""
    import collections
    import importlib
    import pkgutil
    import sys

    import oilflows.analytics as analytics
    from oilflows.analytics import _panel
    from oilflows.report import before_after

    frame = oilflows.load_default(reporter="DE")
    calls: collections.Counter = collections.Counter()
    original = _panel.build_panel

    def counting(frame_, reporter, measure, freq, dataset=None, periods=None):
        caller = sys._getframe(1).f_globals["__name__"]
        calls[(id(frame_), caller, measure)] += 1
        return original(frame_, reporter, measure, freq, dataset, periods)

    for info in pkgutil.iter_modules(analytics.__path__):
        module = importlib.import_module(f"oilflows.analytics.{info.name}")
        if getattr(module, "build_panel", None) is original:
            monkeypatch.setattr(module, "build_panel", counting)
    report = build_report(frame)
    assert calls, "the counting wrapper saw no call"
    assert {f for f, _, _ in calls} == {id(frame)}
    assert calls[(id(frame), "oilflows.analytics.quality", "volume_bbl")] == 0  # slate: reused panel
    assert calls[(id(frame), "oilflows.analytics.substitution", "volume_bbl")] == 1
    # issue 14: the shares and the counterfactual (with its anticipation re-fit) reuse it too
    assert calls[(id(frame), "oilflows.analytics.shares", "volume_bbl")] == 0
    assert calls[(id(frame), "oilflows.analytics.counterfactual", "volume_bbl")] == 0
    assert sum(calls.values()) == 1
    calls.clear()
    context = before_after(frame, report.substitution)
    assert sum(calls.values()) == 0
    assert context.equals(report.context)


def test_window_concentration_reproduces_the_printed_hhi():
    from oilflows.analytics import substitution
    from oilflows.analytics.concentration import window_concentration

    result = substitution(oilflows.load_default(reporter="DE"), "DE", displaced="RU", substitute="KZ",
                          baseline=("2021-01", "2021-12"), post=("2023-01", "2023-12"))
    table = window_concentration(result.panel, {"baseline": result.baseline, "post": result.post})
    assert list(table["window"]) == ["baseline", "post"]
    # Hand computation: sum of squared shares of the disclosed partners' window totals, in points.
    panel = result.panel
    for row in table.itertuples(index=False):
        lo, hi = result.baseline if row.window == "baseline" else result.post
        totals = panel.values.loc[(panel.values.index >= lo) & (panel.values.index <= hi)].sum()
        assert row.hhi_disclosed == pytest.approx(10_000 * ((totals / totals.sum()) ** 2).sum())
        assert row.effective_n_disclosed == pytest.approx(10_000 / row.hhi_disclosed)
    # As `oilflows report` printed them: HHI on disclosed volume 3,016 (2021) and 1,953 (2023),
    # on WORLD 1,292 and 793.
    assert [f"{x:,.0f}" for x in table["hhi_disclosed"]] == ["3,016", "1,953"]
    assert [f"{x:,.0f}" for x in table["hhi_world"]] == ["1,292", "793"]


def test_window_slate_reproduces_the_printed_slate():
    from oilflows.analytics import substitution
    from oilflows.analytics.quality import crude_slate, window_slate

    frame = oilflows.load_default(reporter="DE")
    result = substitution(frame, "DE", displaced="RU", substitute="KZ", baseline=("2021-01", "2021-12"),
                          post=("2023-01", "2023-12"))
    windows = {"baseline": result.baseline, "post": result.post}
    reused = window_slate(frame, "DE", windows=windows, dataset="eurostat/nrg_ti_coifpm",
                          panel=result.panel)
    built = window_slate(frame, "DE", windows=windows, dataset="eurostat/nrg_ti_coifpm")
    pd.testing.assert_frame_equal(reused, built)
    # Printed by `oilflows report`: API 35.82 -> 38.48, sulphur 0.89 -> 0.57, coverage 65 % -> 64 %.
    assert [f"{x:.2f}" for x in reused["api_gravity"]] == ["35.82", "38.48"]
    assert [f"{x:.2f}" for x in reused["sulphur_pct_mass"]] == ["0.89", "0.57"]
    assert [f"{x:.0%}" for x in reused["coverage"]] == ["65%", "64%"]
    # Hand computation for 2023: volume-weighted API of the monthly slate.
    slate = crude_slate(frame, "DE", dataset="eurostat/nrg_ti_coifpm", freq="M").table
    w = slate.loc["2023-01-01":"2023-12-01"].dropna(subset=["api_gravity"])
    assert reused["api_gravity"].iloc[1] == pytest.approx(
        (w["api_gravity"] * w["quality_bbl"]).sum() / w["quality_bbl"].sum())
