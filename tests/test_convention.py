"""One argument convention over every public analytic (issue 14), and the deprecated call forms.

The convention (docs/analytics.md, "Argument convention"): ``f(frame, who, *, ...)`` -- after the
second parameter everything is keyword-only; no case-study default (DE, RU, KZ, PL, grade codes);
windows are ``baseline``/``post`` (before-after), ``start``/``end`` (a span), ``pre``/``post`` (a
model's windows). The old call forms still work for one release, with a DeprecationWarning at the
caller's line naming the replacement.
"""

from __future__ import annotations

import inspect
import warnings

import pandas as pd
import pytest

import oilflows
import oilflows.analytics as A
from oilflows.analytics import _signature, panel_run
from oilflows.analytics.counterfactual import partner_series
from oilflows.routes import caveat_table, grade_caveats
from oilflows.schema import conform

CASE_STUDY = {"DE", "RU", "KZ", "PL", ("DE", "PL"), "KZ_CPC_BLN", "RU_EXP_BLN", "KZ_MSC"}
#: Parameter names that meant a window before issue 14, each with its replacement.
OLD_WINDOW_NAMES = {"base", "comparison", "before", "after", "period", "periods"}
WINDOW_PAIRS = ({"baseline", "post"}, {"start", "end"}, {"pre", "post"})


def _analytics() -> list[tuple[str, object]]:
    """Every public function of oilflows.analytics and of panel_run that takes a canonical frame."""
    found = {}
    for module in (A, panel_run):
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj) and next(iter(inspect.signature(obj).parameters)) == "frame":
                found[name] = obj
    return sorted(found.items())


ANALYTICS = _analytics()


def test_the_scan_finds_the_analytics():
    names = {name for name, _ in ANALYTICS}
    assert {"substitution", "shift_share", "mirror", "did", "counterfactual", "panel_substitution",
            "feenstra", "exporter_balance", "substitute_ranking"} <= names
    assert "hhi" not in names and "chow_test" not in names  # index and series helpers are exempt


@pytest.mark.parametrize(("name", "func"), ANALYTICS, ids=[n for n, _ in ANALYTICS])
def test_signature_follows_the_convention(name, func):
    params = list(inspect.signature(func).parameters.values())
    assert params[0].name == "frame"
    for p in params[2:]:
        assert p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD), f"{name}: {p.name} must be keyword-only"
    for p in params:
        default = tuple(p.default) if isinstance(p.default, list) else p.default
        assert not (isinstance(default, str | tuple) and default in CASE_STUDY), (
            f"{name}: {p.name} defaults to the case study's {p.default!r}")
    names = {p.name for p in params}
    assert not names & OLD_WINDOW_NAMES, f"{name}: old window name(s) {names & OLD_WINDOW_NAMES}"
    windows = names & {"baseline", "post", "start", "end", "pre"}
    assert any(windows <= pair for pair in WINDOW_PAIRS), f"{name}: windows {sorted(windows)} mix conventions"
    for p in params:  # a (first, last) month window is named baseline/post or pre/post
        if "tuple[str, str]" in str(p.annotation):
            assert p.name in {"baseline", "post", "pre"}, f"{name}: window {p.name} has no convention name"
    who = params[1]
    assert who.name in {"reporter", "treated", "reporters", "series"} or who.kind == who.KEYWORD_ONLY


def test_dataset_and_measure_are_keywords_everywhere():
    for name, func in ANALYTICS:
        for p in inspect.signature(func).parameters.values():
            if p.name in ("dataset", "measure"):
                assert p.kind == p.KEYWORD_ONLY, name


def test_signature_shows_the_new_form_for_the_api_reference():
    sig = inspect.signature(A.shift_share)
    assert "baseline" in sig.parameters and "base" not in sig.parameters
    assert A.shift_share.__wrapped__.__name__ == "shift_share"
    assert A.shift_share.__doc__ and "baseline, post" in A.shift_share.__doc__


# -- old call forms: warned at the caller's line, same result ------------------------------------------


@pytest.fixture(scope="module")
def default() -> pd.DataFrame:
    return oilflows.load_default()


def _warned(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    ours = [w for w in caught if issubclass(w.category, DeprecationWarning)
            and str(w.message).startswith(_signature.DEPRECATION_PREFIX)]
    return result, ours


def test_old_positional_and_keywords_warn_at_the_caller_and_give_the_same_result(default):
    new = A.shift_share(default, "DE", baseline=("2021-01", "2021-12"), post=("2023-01", "2023-12"))
    old, caught = _warned(lambda: A.shift_share(default, "DE", base=("2021-01", "2021-12"),
                                                comparison=("2023-01", "2023-12")))
    pd.testing.assert_frame_equal(old.to_frame(), new.to_frame())
    words = {m for w in caught for m in str(w.message).split()}
    assert len(caught) == 2 and {"base=", "comparison="} <= words
    assert all(w.filename == __file__ for w in caught)  # stacklevel: the caller's line, not the wrapper's
    assert "use baseline= instead" in str(caught[0].message)
    positional, caught = _warned(lambda: A.shift_share(default, "DE", ("2021-01", "2021-12"),
                                                       ("2023-01", "2023-12")))
    pd.testing.assert_frame_equal(positional.to_frame(), new.to_frame())
    assert len(caught) == 1 and "baseline=, post=" in str(caught[0].message)
    assert caught[0].filename == __file__


def test_old_substitution_call_gives_identical_figures(default):
    new = A.substitution(default, "DE", displaced="RU", substitute="KZ")
    old, caught = _warned(lambda: A.substitution(default, "DE", "RU", "KZ"))
    assert caught and "displaced=, substitute=" in str(caught[0].message)
    assert (old.shortfall, old.gain, old.coverage) == (new.shortfall, new.gain, new.coverage)
    assert old.caveats == new.caveats


def _flows() -> pd.DataFrame:
    """DE's imports from KZ and KZ's exports to DE, two years (tonnes)."""
    records = [("DE", "KZ", "import", 2021, 8_000e3), ("KZ", "DE", "export", 2021, 7_500e3),
               ("DE", "KZ", "import", 2022, 9_000e3), ("KZ", "DE", "export", 2022, 9_500e3)]
    frame = pd.DataFrame([{"source": "test", "dataset": "hand", "freq": "A",
                           "period": pd.Timestamp(f"{y}-01-01"), "reporter": r, "partner": p,
                           "flow": f, "product": "crude_oil", "mass_t": t}
                          for r, p, f, y, t in records])
    return conform(frame, complete=True)


def test_renamed_keywords_map_to_the_new_names(default):
    flows = _flows()
    new = A.mirror(flows, "DE", partner="KZ", measure="mass_t")
    old, caught = _warned(lambda: A.mirror(flows, importer="DE", exporter="KZ", measure="mass_t"))
    pd.testing.assert_frame_equal(old.to_frame(), new.to_frame())
    assert len(caught) == 2 and "use reporter= instead" in str(caught[0].message)
    series, caught = _warned(lambda: partner_series(default, "DE", partner="KZ", dataset="nrg_ti_coifpm",
                                                    period=("2021-01", "2021-12")))
    assert "start=..., end=..." in str(caught[0].message)
    expected = partner_series(default, "DE", partner="KZ", dataset="nrg_ti_coifpm", start="2021-01",
                              end="2021-12")
    pd.testing.assert_series_equal(series, expected)


def test_stable_functions_keep_their_old_default_one_release_with_a_warning(default):
    old, caught = _warned(lambda: A.supplier_shares(default, dataset="nrg_ti_coifpm"))
    assert old.reporter == "DE" and len(caught) == 1
    assert "pass reporter='DE' explicitly" in str(caught[0].message)
    _, caught = _warned(lambda: A.reconcile(default))
    assert len(caught) == 2  # reporter and partner


def test_experimental_functions_require_what_was_a_case_study_default(default):
    with pytest.raises(TypeError, match="reporter"):
        A.substitution(default, displaced="RU", substitute="KZ")
    with pytest.raises(TypeError, match="displaced"):
        A.substitution(default, "DE", substitute="KZ")
    with pytest.raises(TypeError, match="treated"):
        A.did(default, partner="KZ")
    with pytest.raises(TypeError, match="partner"):
        A.synthetic_control(default, "DE")
    with pytest.raises(TypeError, match="displaced_grade"):
        A.substitute_ranking(default)


def test_misuse_of_the_old_forms_is_a_type_error(default):
    with pytest.raises(TypeError, match="both 'base'"):
        A.shift_share(default, "DE", base=("2021-01", "2021-12"), baseline=("2021-01", "2021-12"))
    with pytest.raises(TypeError, match="multiple values"):
        A.shift_share(default, "DE", ("2021-01", "2021-12"), baseline=("2021-01", "2021-12"))
    with pytest.raises(TypeError, match="at most"):
        A.supplier_shares(default, "DE", "volume_bbl", "M", None, "extra")


def test_call_forms_refuses_unknown_parameter_names():
    with pytest.raises(TypeError, match="unknown parameter 'nope'"):
        _signature.call_forms(old_positional=("nope",))(lambda frame, reporter, *, a=1: None)
    with pytest.raises(TypeError, match="unknown 'b'"):
        _signature.call_forms(renamed={"x": "b"})(lambda frame, reporter, *, a=1: None)


# -- the case study's grade caveats are data ---------------------------------------------------------


def test_caveat_table_is_data_with_sources():
    table = caveat_table()
    assert list(table.columns) == ["partner", "grade", "reporter", "caveat", "source"]
    assert (table["caveat"] != "").all() and (table["source"] != "").all()


def test_grade_caveats_follow_the_partner():
    assert any("KEBCO" in c for c in grade_caveats(["KZ_MSC"], partner="KZ", reporter="DE"))
    assert grade_caveats(["KZ_MSC"], partner="NO", reporter="DE") == []
    assert grade_caveats(["NO_EKOFISK"], partner="NO") == []


def test_substitution_caveats_come_from_the_table(default):
    kz = A.substitution(default, "DE", displaced="RU", substitute="KZ")
    assert any("KEBCO" in c for c in kz.caveats) and any("CPC Blend" in c for c in kz.caveats)
    no = A.substitution(default, "DE", displaced="RU", substitute="NO")
    assert not any("KEBCO" in c or "KZ_MSC" in c for c in no.caveats)
