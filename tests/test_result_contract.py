"""The common Result contract (issue 14), checked on one real result of every result class.

Each result is built once (module scope) from the embedded default data or the hand frames of
``tests/_frames.py``, with cheap settings (asymptotic p-values, few bootstrap draws, serial panels).
"""

from __future__ import annotations

import dataclasses
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from _frames import MONTHS, build

import oilflows
from oilflows import analytics as A
from oilflows.analytics._result import Result, Summary
from oilflows.schema import conform


def _monthly(values, start="2018-01"):
    return pd.Series(np.asarray(values, dtype=float),
                     index=pd.period_range(start, periods=len(values), freq="M").to_timestamp())


def _breaks_series():
    rng = np.random.default_rng(0)
    return _monthly(np.r_[rng.normal(0, 1, 30), rng.normal(3, 1, 30)])


def _hand():
    spec = {m: {"WORLD": 100.0, "cells": {("D", "g1"): 40.0 if i < 2 else 10.0, ("S", "g2"): 20.0 + 10 * i,
                                          ("O", "g3"): None}} for i, m in enumerate(MONTHS)}
    return build(spec)


def _mirror_frame():
    """Two annual flows reported by both sides (as in test_reconcile)."""
    records = [("DE", "KZ", "import", 2021, 8_000e3), ("KZ", "DE", "export", 2021, 7_500e3),
               ("DE", "KZ", "import", 2022, 9_000e3), ("KZ", "DE", "export", 2022, 9_500e3)]
    frame = pd.DataFrame([{
        "source": "test", "dataset": "hand", "vintage": pd.NaT, "freq": "A",
        "period": pd.Timestamp(f"{y}-01-01"), "reporter": r, "partner": p, "flow": f,
        "product": "crude_oil", "grade": None, "mass_t": t, "flag": None,
    } for r, p, f, y, t in records])
    return conform(frame, complete=True)


BUILDERS = {
    "BoundsResult": lambda d: A.volume_bounds(d, "DE", partner="KZ", start="2021-01", end="2021-12"),
    "SubstitutionBounds": lambda d: A.substitution_bounds(_hand(), "AA", displaced="D", substitute="S",
                                                          baseline=(MONTHS[0], MONTHS[1]),
                                                          post=(MONTHS[2], MONTHS[3]), dataset="grades"),
    "ChowResult": lambda d: A.chow_test(_breaks_series(), "2020-07"),
    "SupFResult": lambda d: A.sup_f_test(_breaks_series(), pvalue="asymptotic"),
    "CusumResult": lambda d: A.cusum_test(_breaks_series()),
    "BreaksResult": lambda d: A.multiple_breaks(_breaks_series()),
    "ConcentrationResult": lambda d: A.concentration(d, "DE", dataset="coir"),
    "CounterfactualResult": lambda d: A.counterfactual(d, "DE", n_sims=200, anticipation_end=None,
                                                       partner="KZ", displaced="RU"),
    "FeenstraResult": lambda d: _quiet(A.feenstra, d, "DE", reference="DZ", dataset="coir"),
    "MassBalanceResult": lambda d: A.exporter_balance(d, "KZ", context=False),
    "MirrorResult": lambda d: A.mirror(_mirror_frame(), "DE", partner="KZ"),
    "DiDResult": lambda d: A.did(d, treated="DE", controls=["FR", "IT", "NL"], inference="cluster",
                                 partner="KZ"),
    "EventStudyResult": lambda d: A.event_study(d, treated="DE", controls=["FR", "IT", "NL"], leads=3,
                                                lags=3, inference="cluster", confidential="lower_bound",
                                                partner="KZ"),
    "ExposureResult": lambda d: A.exposure(d, reporters=["DE", "ES", "FR", "IT", "NL"],
                                           confidential="lower_bound", partner="KZ", displaced="RU"),
    "BoundsPanelResult": lambda d: A.panel_bounds(d, reporters=["DE", "IT"]),
    "PanelResult": lambda d: A.panel_concentration(d, reporters=["DE", "FR"], dataset="nrg_ti_coifpm",
                                                   executor="serial"),
    "UnitValuesResult": lambda d: A.unit_values(d, "DE", dataset="coir"),
    "PriceSpreadResult": lambda d: A.price_spread(d, "DE", substitute_grade="KZ_CPC_BLN",
                                                  displaced_grade="RU_EXP_BLN"),
    "SlateResult": lambda d: A.crude_slate(d, "DE"),
    "RankingResult": lambda d: A.substitute_ranking(d, displaced_grade="RU_EXP_BLN"),
    "ReconcileResult": lambda d: A.reconcile(d, "DE", partner="KZ"),
    "RelabellingResult": lambda d: A.relabelling_signals(d, "DE", partner="KZ", displaced="RU"),
    "RouteExposureResult": lambda d: A.route_exposure(d, "DE", partner="KZ", start="2023-01",
                                                      end="2023-12"),
    "SharesResult": lambda d: A.supplier_shares(d, "DE", dataset="nrg_ti_coifpm"),
    "ShiftShareResult": lambda d: A.shift_share(d, "DE", dataset="nrg_ti_coifpm"),
    "SubstitutionResult": lambda d: A.substitution(d, "DE", displaced="RU", substitute="KZ"),
    "SyntheticControlResult": lambda d: A.synthetic_control(d, "DE", donors=["FR", "IT", "NL"],
                                                            confidential="lower_bound", partner="KZ"),
}

# Results whose to_frame() keeps a meaningful index, with the reason (issue 14 leaves them as they are).
INDEX_EXCEPTIONS: dict[str, str] = {}


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _result_classes():
    return sorted(name for name in dir(A) if isinstance(getattr(A, name), type)
                  and issubclass(getattr(A, name), Result))


@pytest.fixture(scope="module")
def default():
    return oilflows.load_default()


_CACHE: dict[str, Result] = {}


@pytest.fixture(params=sorted(BUILDERS))
def result(request, default):
    name = request.param
    if name not in _CACHE:
        _CACHE[name] = _quiet(BUILDERS[name], default)
    r = _CACHE[name]
    assert type(r).__name__ == name
    return r


def test_every_result_class_is_covered():
    assert _result_classes() == sorted(BUILDERS)
    exported = {name for name in dir(A) if name.endswith("Result") and isinstance(getattr(A, name), type)}
    assert exported <= set(BUILDERS)


def test_is_a_result(result):
    assert isinstance(result, Result)
    assert dataclasses.is_dataclass(result)


def test_summary_is_a_str_with_renderings(result):
    s = result.summary()
    assert isinstance(s, Summary) and isinstance(s, str)
    text = s.as_text()
    assert type(text) is str and text and text == str(s)
    old = type(result).summary.__wrapped__(result)  # the method as written, before the wrapping
    assert type(old) is str and s == old  # the old string, unchanged
    assert "<pre>" in s.as_html() and "<" in s.as_html()
    assert text.splitlines()[0] in s.as_markdown()
    assert s.as_markdown().count("```") >= 2
    assert pickle.loads(pickle.dumps(s)) == s


def test_summary_html_is_escaped():
    s = Summary("a < b & c", caveats=["x > y", "a < b & c"], title="T")
    html = s.as_html()
    assert "a &lt; b &amp; c" in html and "<li>x &gt; y</li>" in html
    assert html.count("<li>") == 1  # a caveat already in the text is not repeated
    assert "- x > y" in s.as_markdown()


def test_repr_is_short(result):
    text = repr(result)
    assert text.startswith(type(result).__name__ + "(")
    assert len(text) <= 400 and len(text.splitlines()) <= 5
    assert type(result).__name__ in result._full_repr()


def test_repr_html(result):
    html = result._repr_html_()
    assert isinstance(html, str) and "<pre>" in html


def test_caveats_are_strings(result):
    caveats = result.caveats
    assert isinstance(caveats, list)
    assert all(isinstance(c, str) for c in caveats)
    if hasattr(result, "notes"):
        assert caveats == list(result.notes)


def test_to_frame_contract(result):
    frame = result.to_frame()
    assert isinstance(frame, pd.DataFrame)
    name = type(result).__name__
    if name in INDEX_EXCEPTIONS:
        pytest.skip(INDEX_EXCEPTIONS[name])
    assert isinstance(frame.index, pd.RangeIndex), frame.index
    assert "month" not in frame.columns
    assert "index" not in frame.columns


@pytest.mark.parametrize("name, keyword", [("SharesResult", "partners"), ("UnitValuesResult", "keys")])
def test_plot_takes_ax_first_and_the_old_order_still_works(default, name, keyword):
    plt = pytest.importorskip("matplotlib.pyplot")
    if name not in _CACHE:
        _CACHE[name] = _quiet(BUILDERS[name], default)
    r = _CACHE[name]
    keys = list(r.to_frame()["partner" if name == "SharesResult" else "grade"].dropna().unique()[:2])
    _, ax = plt.subplots()
    assert r.plot(ax) is ax  # positional ax, as in every other result
    assert r.plot(ax=ax, **{keyword: keys}) is ax
    _, old = plt.subplots()
    with pytest.warns(DeprecationWarning, match="ax is now the first parameter"):
        assert r.plot(keys, old) is old  # plot(partners, ax) of before issue 14
    plt.close("all")


def test_every_plot_accepts_ax_by_keyword():
    import inspect

    for name in BUILDERS:
        cls = getattr(A, name)
        if not hasattr(cls, "plot"):  # SubstitutionBounds: nothing to plot
            continue
        params = list(inspect.signature(cls.plot).parameters)
        assert params[1] == "ax", (name, params)
