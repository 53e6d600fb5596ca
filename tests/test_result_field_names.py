"""Result fields renamed to the argument convention (issue 14): the new name holds the value, the old
name still reads it for one minor release with a DeprecationWarning at the caller's line.

The results come from real calls: on the embedded default data, and for `mirror` (the default holds no
exporter-side flows of a pair) on the two-sided annual frame of tests/test_result_contract.py.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from test_result_contract import _mirror_frame  # the same two-sided annual frame

import oilflows
import oilflows.analytics as A

# (result builder key, class name, old name, new name)
RENAMES = [
    ("shift_share", "ShiftShareResult", "base", "baseline"),
    ("shift_share", "ShiftShareResult", "comparison", "post"),
    ("shift_share", "ShiftShareResult", "base_months", "baseline_months"),
    ("shift_share", "ShiftShareResult", "comparison_months", "post_months"),
    ("exposure", "ExposureResult", "dose_partner", "displaced"),
    ("exposure", "ExposureResult", "base", "baseline"),
    ("mirror", "MirrorResult", "importer", "reporter"),
    ("mirror", "MirrorResult", "exporter", "partner"),
    ("mirror", "MirrorResult", "importer_dataset", "reporter_dataset"),
    ("mirror", "MirrorResult", "exporter_dataset", "partner_dataset"),
    ("exporter_balance", "MassBalanceResult", "exporter", "reporter"),
    ("relabelling", "RelabellingResult", "origin", "partner"),
    ("relabelling", "RelabellingResult", "before", "baseline"),
    ("relabelling", "RelabellingResult", "after", "post"),
    ("routes", "RouteExposureResult", "origin", "partner"),
]


@pytest.fixture(scope="module")
def results() -> dict[str, object]:
    default = oilflows.load_default()
    return {
        "shift_share": A.shift_share(default, "DE", baseline=("2021-01", "2021-12"),
                                     post=("2023-01", "2023-12"), dataset="nrg_ti_coifpm"),
        "exposure": A.exposure(default, reporters=["DE", "ES", "FR", "IT", "NL"], partner="KZ",
                               displaced="RU", baseline=("2021-01", "2021-12"),
                               confidential="lower_bound"),
        "mirror": A.mirror(_mirror_frame(), "DE", partner="KZ"),
        "exporter_balance": A.exporter_balance(default, "KZ", context=False),
        "relabelling": A.relabelling_signals(default, "DE", partner="KZ", displaced="RU",
                                             baseline=("2021-01", "2021-12"), post=("2022-06", "2023-12")),
        "routes": A.route_exposure(default, "DE", partner="KZ", start="2023-01", end="2023-12"),
    }


# What each new field holds, from the call's arguments and the data.
EXPECTED = {
    ("shift_share", "baseline"): (pd.Timestamp("2021-01-01"), pd.Timestamp("2021-12-01")),
    ("shift_share", "post"): (pd.Timestamp("2023-01-01"), pd.Timestamp("2023-12-01")),
    ("shift_share", "baseline_months"): 12,
    ("shift_share", "post_months"): 12,
    ("exposure", "displaced"): "RU",
    ("exposure", "baseline"): (pd.Timestamp("2021-01-01"), pd.Timestamp("2021-12-01")),
    ("mirror", "reporter"): "DE",
    ("mirror", "partner"): "KZ",
    ("mirror", "reporter_dataset"): "test/hand",
    ("mirror", "partner_dataset"): "test/hand",
    ("exporter_balance", "reporter"): "KZ",
    ("relabelling", "partner"): "KZ",
    ("relabelling", "baseline"): (pd.Timestamp("2021-01-01"), pd.Timestamp("2021-12-01")),
    ("relabelling", "post"): (pd.Timestamp("2022-06-01"), pd.Timestamp("2023-12-01")),
    ("routes", "partner"): "KZ",
}


@pytest.mark.parametrize(("key", "cls", "old", "new"), RENAMES, ids=[f"{c}.{o}" for _, c, o, _ in RENAMES])
def test_renamed_field(results, key, cls, old, new):
    result = results[key]
    assert type(result).__name__ == cls
    value = getattr(result, new)
    assert value == EXPECTED[key, new]
    names = [f.name for f in dataclasses.fields(result)]
    assert new in names and old not in names
    with pytest.warns(DeprecationWarning) as record:
        old_value = getattr(result, old)
    assert old_value == value
    assert len(record) == 1
    assert str(record[0].message) == (f"{cls}.{old} is deprecated: use .{new} (the old name goes away "
                                      "in the next minor release)")
    assert record[0].filename == __file__


def test_old_names_are_read_only(results):
    with pytest.raises(AttributeError):
        results["mirror"].importer = "FR"


def test_old_names_are_documented_as_deprecated():
    for _, cls, old, new in RENAMES:
        doc = getattr(getattr(A, cls), old).__doc__
        assert doc.startswith(f"Deprecated: use ``{new}``")


def test_positional_order_of_mirror_result_kept(results):
    # mirror() builds its result positionally: reporter, partner, measure, freq, datasets ...
    names = [f.name for f in dataclasses.fields(results["mirror"])]
    assert names[:6] == ["reporter", "partner", "measure", "freq", "reporter_dataset", "partner_dataset"]
