"""Panel runs on serial, process-pool and Dask executors: same answers, known answers, recorded failures.

Also the scale-out snippets of docs/scale_out.md: a small store written by oilflows, read back with Dask,
DuckDB and pyarrow.dataset.
"""

from __future__ import annotations

import concurrent.futures as cf
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import oilflows
from oilflows.analytics import executor as executor_module
from oilflows.analytics.concentration import concentration
from oilflows.analytics.counterfactual import counterfactual
from oilflows.analytics.executor import ExecutorError, blas_threads, map_tasks
from oilflows.analytics.panel_run import (
    PanelResult,
    SeriesSpec,
    counterfactual_series,
    panel_concentration,
    panel_counterfactual,
    panel_substitution,
)
from oilflows.analytics.substitution import substitution
from oilflows.errors import AnalysisError, OilflowsError, SchemaError
from oilflows.schema import COLUMNS, conform

DOCS = Path(__file__).resolve().parents[1] / "docs" / "scale_out.md"
NUMERIC_CF = ["cumulative_excess", "cumulative_lower", "cumulative_upper", "mean_excess"]
SIGMA = 1e5  # innovation sd of the simulated series, barrels per month
EFFECTS = {"P1": 10 * SIGMA, "P2": -10 * SIGMA, "P3": 0.0}  # known monthly effect after the shock


@pytest.fixture(scope="module")
def default() -> pd.DataFrame:
    return oilflows.load_default()


def _simulated(seed: int = 7) -> pd.DataFrame:
    """Reporter SIM: partners P1..P3, monthly 2016-01..2019-12, seasonal AR(1) around 2 Mbbl with a
    known step (EFFECTS) from the shock 2019-01; WORLD = sum of partners (nothing undisclosed)."""
    rng = np.random.default_rng(seed)
    months = pd.date_range("2016-01-01", "2019-12-01", freq="MS")
    records = []
    world = np.zeros(len(months))
    for partner, effect in EFFECTS.items():
        n = len(months) + 60
        e = rng.normal(0, SIGMA, n)
        x = np.zeros(n)
        for t in range(13, n):  # (1 - 0.5 L)(1 - 0.3 L^12) x = e
            x[t] = 0.5 * x[t - 1] + 0.3 * x[t - 12] - 0.15 * x[t - 13] + e[t]
        y = 2e6 + x[60:] + np.where(months >= "2019-01-01", effect, 0.0)
        world += y
        records += [(m, partner, v) for m, v in zip(months, y, strict=True)]
    records += [(m, "WORLD", v) for m, v in zip(months, world, strict=True)]
    frame = pd.DataFrame([
        {"source": "simulated", "dataset": "sim", "vintage": pd.NaT, "freq": "M", "period": m,
         "reporter": "SIM", "partner": p, "flow": "import", "product": "crude_oil",
         "grade": None if p == "WORLD" else p, "volume_bbl": v, "flag": None} for m, p, v in records])
    for column in COLUMNS:
        if column not in frame:
            frame[column] = None
    return conform(frame[list(COLUMNS)])


@pytest.fixture(scope="module")
def frame(default) -> pd.DataFrame:
    """The embedded default plus the simulated reporter."""
    return pd.concat([default, _simulated()], ignore_index=True)


@pytest.fixture(scope="module")
def specs(frame) -> list[SeriesSpec]:
    """Real series (DE and IT in coifpm, AT in the register), the simulated ones, and two that fail."""
    real = counterfactual_series(frame, dataset="nrg_ti_coifpm", shock="2023-01",
                                 post=("2023-01", "2023-12"), reporters=["DE"])[:3]
    real += counterfactual_series(frame, dataset="coir", shock="2019-01", post=("2019-01", "2019-12"),
                                  reporters=["AT"])[:2]
    sim = [SeriesSpec("SIM", p, "simulated/sim", "2019-01", ("2019-01", "2019-12")) for p in EFFECTS]
    failing = [SeriesSpec("CZ", "RU", "coir", "2019-01", ("2019-01", "2019-12")),  # no WORLD after 2015
               SeriesSpec("SIM", "P1", "sim", "2019-01", ("2019-01", "2019-12"),
                          pre=("2018-01", "2018-12"))]  # 12 pre months: too few
    return real + sim + failing


@pytest.fixture(scope="module")
def serial(frame, specs) -> dict[str, PanelResult]:
    return {"substitution": panel_substitution(frame, executor="serial", displaced="RU"),
            "concentration": panel_concentration(frame, executor="serial"),
            "counterfactual": panel_counterfactual(frame, specs, executor="serial", n_sims=500)}


@pytest.fixture(scope="module")
def processes(frame, specs) -> dict[str, PanelResult]:
    return {"substitution": panel_substitution(frame, max_workers=2, displaced="RU"),
            "concentration": panel_concentration(frame, max_workers=2),
            "counterfactual": panel_counterfactual(frame, specs, max_workers=2, chunk_size=2, n_sims=500)}


def _row(result: PanelResult, **where) -> pd.Series:
    table = result.table
    mask = np.logical_and.reduce([table[k] == v for k, v in where.items()])
    rows = table[mask]
    assert len(rows) == 1, where
    return rows.iloc[0]


def _assert_same(a: PanelResult, b: PanelResult, exact: bool) -> None:
    if exact:
        pd.testing.assert_frame_equal(a.table, b.table, check_exact=True)
        return
    numeric = a.table.select_dtypes("number").columns
    pd.testing.assert_frame_equal(a.table.drop(columns=numeric), b.table.drop(columns=numeric))
    pd.testing.assert_frame_equal(a.table[numeric], b.table[numeric], rtol=1e-6, atol=1e-6)


# -- answers against independent truth ------------------------------------------------------------


def test_substitution_germany_matches_methods_r3(serial):
    """methods note R3 (kbbl): RU 186,493 -> 0, KZ 45,806 -> 49,550, NO 27,044 -> 86,272,
    US 48,043 -> 104,873, WORLD 567,881 -> 546,621, confidential gap 196,182 -> 198,280."""
    result = serial["substitution"]
    expected = {"RU": (186_493, 0), "KZ": (45_806, 49_550), "NO": (27_044, 86_272),
                "US": (48_043, 104_873), "WORLD": (567_881, 546_621), "undisclosed": (196_182, 198_280)}
    for partner, (before, after) in expected.items():
        row = _row(result, dataset="nrg_ti_coifpm", reporter="DE", partner=partner)
        assert (round(row["baseline_total"] / 1e3), round(row["post_total"] / 1e3)) == (before, after)
        assert pd.isna(row["error"])
    assert _row(result, dataset="nrg_ti_coifpm", reporter="DE", partner="RU")["role"] == "displaced"
    # KZ's share of the shortfall = its gain / RU's loss, per month
    kz = _row(result, dataset="nrg_ti_coifpm", reporter="DE", partner="KZ")
    assert kz["share_of_shortfall"] == pytest.approx((49_550 - 45_806) / 186_493, rel=1e-4)


def test_substitution_gap_filling_identity_every_reporter(serial):
    """Shares of every partner, the undisclosed residual and the WORLD (demand) part sum to 1."""
    ok = serial["substitution"].ok
    checked = 0
    for _, group in ok.groupby(["dataset", "reporter"]):
        if group["shortfall"].iloc[0] <= 0:
            continue
        shares = group.loc[group["role"] != "displaced", "share_of_shortfall"]
        assert shares.sum() == pytest.approx(1.0, abs=1e-9)
        checked += 1
    assert checked >= 5


def test_substitution_rows_equal_the_single_reporter_function(default, serial):
    for reporter in ("DE", "IT", "EU_V"):
        direct = substitution(default, reporter, displaced="RU", substitute="KZ").replacement
        rows = serial["substitution"].ok.set_index("partner")
        rows = rows[(rows["reporter"] == reporter) & (rows["dataset"] == "nrg_ti_coifpm")]
        for partner in ("RU", "KZ", "undisclosed", "WORLD"):
            for column in ("baseline_mean", "post_mean", "change", "share_of_shortfall"):
                assert rows.loc[partner, column] == pytest.approx(direct.loc[partner, column],
                                                                  rel=1e-12, nan_ok=True)


def test_concentration_register_germany_matches_methods_r4(serial):
    rows = serial["concentration"].ok
    de = rows[(rows["dataset"] == "coir") & (rows["reporter"] == "DE")]
    got = {p.year: round(v) for p, v in zip(de["period"], de["hhi_world"], strict=True)}
    assert got == {2013: 1664, 2014: 1731, 2015: 1756, 2016: 1954, 2017: 1626, 2018: 1708, 2019: 1364}


def test_concentration_equals_hand_hhi_for_every_reporter(frame, serial):
    """HHI of WORLD shares from a plain groupby of the raw rows (months with a WORLD total only)."""
    rows = frame[(frame["freq"] == "M") & (frame["flow"] == "import") & (frame["product"] == "crude_oil")]
    key = ["dataset", "reporter", "period"]
    world = rows[rows["partner"] == "WORLD"].groupby(key)["volume_bbl"].sum(min_count=1).dropna()
    partners = rows[rows["partner"] != "WORLD"].groupby([*key, "partner"])["volume_bbl"].sum()
    partners = partners[partners.index.droplevel("partner").isin(world.index)].reset_index()
    partners["year"] = partners["period"].dt.year
    annual = partners.groupby(["dataset", "reporter", "year", "partner"])["volume_bbl"].sum()
    world_year = world.reset_index().assign(year=lambda f: f["period"].dt.year).groupby(
        ["dataset", "reporter", "year"])["volume_bbl"].sum()
    shares = annual / world_year.reindex(annual.index.droplevel("partner")).to_numpy()
    hand = 10_000 * (shares**2).groupby(["dataset", "reporter", "year"]).sum()
    ok = serial["concentration"].ok.dropna(subset=["hhi_world"])
    got = pd.Series(ok["hhi_world"].to_numpy(), index=pd.MultiIndex.from_arrays(
        [ok["dataset"], ok["reporter"], ok["period"].dt.year], names=["dataset", "reporter", "year"]))
    assert len(got) > 150
    np.testing.assert_allclose(got.to_numpy(), hand.reindex(got.index).to_numpy(), rtol=1e-9)


def test_concentration_rows_equal_the_single_reporter_function(default, serial):
    direct = concentration(default, "IT", dataset="coir").table
    rows = serial["concentration"].ok
    rows = rows[(rows["dataset"] == "coir") & (rows["reporter"] == "IT")].set_index("period")
    for column in ("hhi_world", "hhi_disclosed", "effective_n_world", "cr3_world", "shannon_world"):
        np.testing.assert_allclose(rows[column].to_numpy(), direct[column].to_numpy(), rtol=1e-12)


def test_counterfactual_recovers_known_simulated_effects(serial):
    """The simulated step is known: the realised cumulative excess over 12 months is 12 x effect."""
    for partner, effect in EFFECTS.items():
        row = serial["counterfactual"].ok.set_index(["reporter", "partner"]).loc[("SIM", partner)]
        truth = 12 * effect
        half = (row["cumulative_upper"] - row["cumulative_lower"]) / 2
        assert abs(row["cumulative_excess"] - truth) < 2.5 * half  # well inside a 95% interval's scale
        if effect:
            assert abs(row["cumulative_excess"] - truth) < 0.25 * abs(truth)
            assert np.sign(row["cumulative_lower"]) == np.sign(row["cumulative_upper"]) == np.sign(effect)
        assert row["pre_months"] == 36 and row["post_months"] == 12


def test_counterfactual_rows_equal_the_single_series_function(frame, specs, serial):
    table = serial["counterfactual"].table
    for position in (0, 3, 5):
        spec = specs[position]
        direct = counterfactual(frame, spec.reporter, partner=spec.partner, shock=spec.shock,
                                post=spec.post, pre=spec.pre, dataset=spec.dataset, displaced=None,
                                n_sims=500)
        row = table.iloc[position]
        assert (row["reporter"], row["partner"]) == (spec.reporter, spec.partner)
        assert row["cumulative_excess"] == pytest.approx(direct.cumulative_excess, rel=1e-9)
        assert (row["cumulative_lower"], row["cumulative_upper"]) == pytest.approx(
            direct.cumulative_interval, rel=1e-9)


# -- the same answers on every executor -----------------------------------------------------------


@pytest.mark.parametrize("analysis", ["substitution", "concentration"])
def test_process_pool_is_identical_to_serial(serial, processes, analysis):
    assert processes[analysis].executor == "processes (2 workers)"
    _assert_same(serial[analysis], processes[analysis], exact=True)


def test_process_pool_counterfactuals_agree_with_serial(serial, processes):
    # chunk_size=2 per (dataset, reporter): DE 3 series -> 2 tasks, AT 2 -> 1, SIM 4 -> 2, CZ 1 -> 1
    assert processes["counterfactual"].n_tasks == 6
    _assert_same(serial["counterfactual"], processes["counterfactual"], exact=False)


def test_a_thread_pool_instance_is_used_as_given(frame, serial):
    with cf.ThreadPoolExecutor(max_workers=2) as pool:
        result = panel_concentration(frame, executor=pool)
        assert not pool._shutdown  # not ours to shut down
    assert result.executor.startswith("ThreadPoolExecutor")
    _assert_same(serial["concentration"], result, exact=True)


def test_dask_local_cluster_gives_the_same_results(frame, specs, serial):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(processes=False, n_workers=2, threads_per_worker=1,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        results = {"substitution": panel_substitution(frame, executor=client, displaced="RU"),
                   "concentration": panel_concentration(frame, executor=client)}
    assert results["substitution"].executor.startswith("dask Client (2 workers")
    _assert_same(serial["substitution"], results["substitution"], exact=True)
    _assert_same(serial["concentration"], results["concentration"], exact=True)


def test_dask_worker_processes_give_the_same_counterfactuals(frame, specs, serial):
    """Worker processes: the slices and the records travel through Dask's serialisation."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        result = panel_counterfactual(frame, specs[3:], executor=client, chunk_size=2, n_sims=500)
    expected = serial["counterfactual"].table.iloc[3:].reset_index(drop=True)
    _assert_same(PanelResult(**{**vars(result), "table": expected}), result, exact=False)
    assert len(result.errors) == 2 and len(result.ok) == len(specs) - 5


def test_output_order_follows_the_series_given_not_the_workers(frame, specs, serial):
    reordered = list(reversed(specs))
    result = panel_counterfactual(frame, reordered, max_workers=2, chunk_size=1, n_sims=500)
    assert list(zip(result.table["reporter"], result.table["partner"], strict=True)) == [
        (s.reporter, s.partner) for s in reordered]
    back = result.table.iloc[::-1].reset_index(drop=True)
    _assert_same(serial["counterfactual"], PanelResult(**{**vars(result), "table": back}), exact=False)
    keys = serial["substitution"].table[["source", "dataset", "reporter"]].drop_duplicates()
    assert list(map(tuple, keys.to_numpy())) == sorted(map(tuple, keys.to_numpy()))


def test_worker_processes_run_blas_on_one_thread():
    if not blas_threads():
        pytest.skip("no OpenBLAS found in this process")
    executor_module._set_openblas_threads(2)
    try:
        assert set(blas_threads().values()) == {2}
        in_workers = map_tasks(blas_threads, [(), (), ()], max_workers=2)
        assert all(set(d.values()) == {1} for d in in_workers)
        # the caller's own process is left alone
        assert all(set(d.values()) == {2} for d in map_tasks(blas_threads, [()], executor="serial"))
    finally:
        executor_module._set_openblas_threads(1)


# -- failures: recorded per task, typed errors for bad arguments ------------------------------------


def test_failed_series_are_recorded_not_raised(serial, specs):
    result = serial["counterfactual"]
    errors = result.errors
    assert len(errors) == 2
    assert len(result.ok) == len(specs) - 2
    cz = _row(result, reporter="CZ", partner="RU")
    assert cz["error_type"] == "AnalysisError"
    assert "CZ" in cz["error"] and "covering the requested windows" in cz["error"]
    assert np.isnan(cz["cumulative_excess"])
    short = result.table.iloc[-1]
    assert short["error_type"] == "AnalysisError"
    assert "only 12 observed pre-shock months" in short["error"] and "SIM<-P1" in short["error"]
    text = result.summary()
    assert "AnalysisError x2" in text and "only 12 observed pre-shock months" in text


def test_reporters_without_data_and_windows_without_data_are_recorded(frame):
    result = panel_substitution(frame, reporters=["DE", "XX"], executor="serial", displaced="RU")
    xx = _row(result, reporter="XX")
    assert xx["error_type"] == "AnalysisError" and "reporter XX" in xx["error"]
    coir_de = _row(result, dataset="coir", reporter="DE")  # the register ends in 2019
    assert "covering the requested windows" in coir_de["error"]
    assert len(result.ok[result.ok["reporter"] == "DE"]) > 5


def test_on_error_raise_raises_the_task_error(frame):
    with pytest.raises(AnalysisError, match="covering the requested windows"):
        panel_substitution(frame, dataset="coir", reporters=["DE"], executor="serial", on_error="raise",
                           displaced="RU")


@pytest.mark.parametrize("bad, words", [
    ("threads", "'threads' is not known"),
    (42, "type int is not usable"),
    (object(), "type object is not usable"),
])
def test_invalid_executor_raises_a_typed_error(frame, bad, words):
    with pytest.raises(ExecutorError, match=re.escape(words)) as info:
        panel_concentration(frame, executor=bad)
    assert isinstance(info.value, OilflowsError)


def test_bad_arguments_raise_before_any_work(frame, specs):
    with pytest.raises(ExecutorError, match="max_workers must be a positive integer"):
        panel_concentration(frame, max_workers=0)
    with pytest.raises(AnalysisError, match="unknown counterfactual option"):
        panel_counterfactual(frame, specs, executor="serial", n_sim=100)
    with pytest.raises(AnalysisError, match="model must be one of"):
        panel_counterfactual(frame, specs, executor="serial", model="arima")
    with pytest.raises(AnalysisError, match="must start after the baseline"):
        panel_substitution(frame, baseline=("2021-01", "2021-12"), post=("2021-06", "2021-12"),
                           displaced="RU")
    with pytest.raises(AnalysisError, match="freq must be"):
        panel_concentration(frame, freq="Q")
    with pytest.raises(AnalysisError, match="on_error must be one of"):
        panel_concentration(frame, on_error="ignore")
    with pytest.raises(AnalysisError, match="no reporter in dataset 'nope'"):
        panel_concentration(frame, dataset="nope")
    with pytest.raises(SchemaError, match=r"column\(s\) \['flag'\] missing"):
        panel_concentration(frame.drop(columns="flag"))


def test_a_single_reporter_may_be_given_as_a_string(frame):
    result = panel_concentration(frame, reporters="DE", dataset="coir", executor="serial")
    assert set(result.table["reporter"]) == {"DE"} and len(result.ok) == 7


def test_counterfactual_series_selects_partners_with_enough_months(default):
    """Hand count: partners with a positive volume in >= 24 distinct months of 2013-01..2018-12."""
    specs = counterfactual_series(default, dataset="coir", shock="2019-01", post=("2019-01", "2019-12"),
                                  reporters=["DE"])
    rows = default[(default["dataset"] == "coir") & (default["reporter"] == "DE")
                   & (default["partner"] != "WORLD") & (default["volume_bbl"] > 0)
                   & (default["period"] < "2019-01-01")]
    months = rows.groupby("partner")["period"].nunique()
    assert [s.partner for s in specs] == sorted(months[months >= 24].index)
    assert all(s.dataset == "dg_ener/coir" and s.pre is None for s in specs)


# -- result object ---------------------------------------------------------------------------------


def test_summary_and_plot(serial):
    text = serial["substitution"].summary()
    assert "serial" in text and "eurostat/nrg_ti_coifpm" in text and "NO 32%" in text
    assert "HHI" in serial["concentration"].summary()
    assert "series fitted" in serial["counterfactual"].summary()
    for result in serial.values():
        ax = result.plot()
        assert ax.has_data()


# -- docs/scale_out.md: the engine snippets run against a store oilflows wrote ---------------------


def _snippet(engine: str, root: Path) -> dict:
    """Run the python block of docs/scale_out.md that starts with ``# engine: <engine>``."""
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.S)
    code = [b for b in blocks if b.startswith(f"# engine: {engine}\n")]
    assert len(code) == 1, f"one '# engine: {engine}' block expected in {DOCS}"
    source, n = re.subn(r'^root = ".*"', f"root = {str(root)!r}", code[0], count=1, flags=re.M)
    assert n == 1
    namespace: dict = {}
    exec(compile(source, f"{DOCS}:{engine}", "exec"), namespace)  # noqa: S102 - our own docs
    return namespace


@pytest.fixture(scope="module")
def store_root(default, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("store")
    part = default[default["reporter"].isin(["DE", "FR"]) & (default["dataset"] != "nrg_ti_oil")]
    oilflows.Store(root).write(part)
    # a revision: 20 register rows of DE<-RU get a newer vintage; the old rows move to _vintages
    old = part[(part["reporter"] == "DE") & (part["partner"] == "RU") & (part["dataset"] == "coir")].head(20)
    summary = oilflows.Store(root).write(old.assign(vintage=old["vintage"] + pd.Timedelta(days=1),
                                                    volume_bbl=old["volume_bbl"] + 1))
    assert summary.rows_archived == 20
    return root


@pytest.mark.parametrize("engine", ["dask", "duckdb", "pyarrow"])
def test_scale_out_snippets_read_the_store(default, store_root, engine):
    if engine == "dask":
        pytest.importorskip("dask.dataframe")
    if engine == "duckdb":
        pytest.importorskip("duckdb")
    de = _snippet(engine, store_root)["de"]
    expected = default[(default["reporter"] == "DE") & (default["partner"].isin(["RU", "KZ"]))
                       & (default["dataset"] != "nrg_ti_oil")]
    assert len(de) == len(expected)  # current rows only: superseded vintages are not read twice
    ru_2021 = de[(de["partner"] == "RU") & (de["dataset"] == "nrg_ti_coifpm")
                 & (pd.to_datetime(de["period"]).dt.year == 2021)]["volume_bbl"].sum()
    assert round(ru_2021 / 1e3) == 186_493  # methods note R3, kbbl


def test_scale_out_dask_snippet_feeds_the_panel_run(store_root):
    pytest.importorskip("distributed")
    namespace = _snippet("dask-client", store_root)
    result = namespace["result"]
    assert result.executor.startswith("dask")
    rows = result.ok
    de = rows[(rows["dataset"] == "coir") & (rows["reporter"] == "DE")]
    assert [round(v) for v in de["hhi_world"]] == [1664, 1731, 1756, 1954, 1626, 1708, 1364]
