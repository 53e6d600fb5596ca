"""The canonical schema: `validate` accepts good frames and rejects each violation; `conform` types."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from oilflows.errors import SchemaError
from oilflows.schema import (
    COLUMNS,
    KEY,
    OBSERVATION_KEY,
    SCHEMA,
    conform,
    empty_frame,
    from_table,
    to_table,
    validate,
)

NON_NULLABLE = [f.name for f in SCHEMA if not f.nullable]


def canonical_row(**values: object) -> dict[str, object]:
    row: dict[str, object] = {
        "source": "eurostat", "dataset": "nrg_ti_coifpm", "vintage": pd.Timestamp("2024-02-28 11:00"),
        "freq": "M", "period": pd.Timestamp("2021-01-01"), "reporter": "DE", "partner": "KZ",
        "flow": "import", "product": "crude_oil", "grade": "KZ_CPC_BLN", "volume_bbl": 1000.0,
        "mass_t": None, "value": 70_000.0, "currency": "USD", "api_gravity": 45.9,
        "sulphur_pct": 0.55, "price_per_bbl": 70.0, "flag": None,
    }
    assert not set(values) - set(row)
    row.update(values)
    return row


def good_frame() -> pd.DataFrame:
    """Raw (unconformed) rows covering the allowed variety: M and A, null grade and vintage,
    a confidential cell, an export, a mass-only row."""
    return pd.DataFrame([
        canonical_row(),
        canonical_row(period=pd.Timestamp("2021-02-01"), flag="b"),
        canonical_row(partner="RU", grade="RU_EXP_BLN", volume_bbl=None, value=None,
                      price_per_bbl=None, currency=None, flag="c"),
        canonical_row(partner="WORLD", grade=None, freq="A", period=pd.Timestamp("2021-01-01")),
        canonical_row(source="dg_ener", dataset="coir", vintage=None, partner="RU", grade=None),
        canonical_row(flow="export", reporter="NO", partner="DE", grade="NO_DRA"),
        canonical_row(dataset="nrg_ti_oil", freq="A", period=pd.Timestamp("2022-01-01"),
                      grade=None, volume_bbl=None, mass_t=8.1e6, value=None, price_per_bbl=None,
                      currency=None),
    ], columns=list(COLUMNS))


@pytest.fixture
def good() -> pd.DataFrame:
    return good_frame()


def test_validate_accepts_a_good_frame(good: pd.DataFrame) -> None:
    assert validate(good) is good
    assert validate(conform(good)) is not None


def test_validate_accepts_rows_differing_only_in_vintage(good: pd.DataFrame) -> None:
    again = good.iloc[[0]].assign(vintage=pd.Timestamp("2024-03-28 11:00"))
    validate(pd.concat([good, again], ignore_index=True))


def test_validate_accepts_empty_frame() -> None:
    validate(empty_frame())


def _set(column: str, value: object, row: int = 0):
    def spoil(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.astype({column: object})
        frame.at[row, column] = value
        return frame
    spoil.__name__ = f"{column}={value!r}"
    return spoil


VIOLATIONS = {
    "missing column": (lambda f: f.drop(columns=["currency"]), r"missing \['currency'\]"),
    "extra column": (lambda f: f.assign(unit="bbl"), r"extra \['unit'\]"),
    "text in a measure": (_set("volume_bbl", "lots"), "volume_bbl"),
    "unparseable period": (_set("period", "sometime"), "period"),
    "number in a code": (_set("reporter", 276), "reporter"),
    "quarterly freq": (_set("freq", "Q"), "freq"),
    "transit flow": (_set("flow", "transit"), "flow"),
    "mid-month period": (_set("period", pd.Timestamp("2021-01-15")), "period"),
    "annual period not Jan 1": (_set("period", pd.Timestamp("2021-07-01"), row=3), "period"),
    "duplicate key": (lambda f: pd.concat([f, f.iloc[[1]].assign(volume_bbl=2.0)],
                                          ignore_index=True), "share a key"),
    "duplicate key with null grade": (lambda f: pd.concat([f, f.iloc[[3]]], ignore_index=True),
                                      "share a key"),
    "confidential volume": (_set("volume_bbl", 5.0, row=2), "confidential"),
    "confidential mass": (_set("mass_t", 5.0, row=2), "confidential"),
    "confidential with break flag": (_set("flag", "bc", row=0), "confidential"),
}


@pytest.mark.filterwarnings("ignore:Could not infer format")
@pytest.mark.parametrize("name", list(VIOLATIONS))
def test_validate_rejects(good: pd.DataFrame, name: str) -> None:
    spoil, message = VIOLATIONS[name]
    bad = spoil(good)
    with pytest.raises(SchemaError, match=message):
        validate(bad)


@pytest.mark.parametrize("column", NON_NULLABLE)
def test_validate_rejects_null_in_non_nullable_column(good: pd.DataFrame, column: str) -> None:
    with pytest.raises(SchemaError, match=column):
        validate(_set(column, None, row=1)(good))


def test_nullable_columns_are_exactly_grade_vintage_and_measures() -> None:
    assert set(COLUMNS) - set(NON_NULLABLE) == {
        "vintage", "grade", "volume_bbl", "mass_t", "value", "currency", "api_gravity",
        "sulphur_pct", "price_per_bbl", "flag"}
    assert set(OBSERVATION_KEY) | {"vintage"} == set(KEY)


def test_conform_gives_exactly_the_schema(good: pd.DataFrame) -> None:
    shuffled = good[list(reversed(COLUMNS))].copy()
    shuffled["volume_bbl"] = shuffled["volume_bbl"].fillna(0).astype("int64")  # ints become floats
    shuffled["period"] = shuffled["period"].dt.strftime("%Y-%m-%d")  # ISO strings become stamps
    out = conform(shuffled)
    assert list(out.columns) == list(COLUMNS)
    for field in SCHEMA:
        dtype = out[field.name].dtype
        if pa.types.is_timestamp(field.type):
            assert dtype == "datetime64[s]", field.name
        elif pa.types.is_floating(field.type):
            assert dtype == "float64", field.name
        else:
            assert pd.api.types.is_string_dtype(dtype), field.name
    assert to_table(out).schema == SCHEMA
    assert pa.Table.from_pandas(out, preserve_index=False).schema.names == list(COLUMNS)
    assert out["period"].tolist() == good["period"].tolist()
    assert out["volume_bbl"].tolist() == good["volume_bbl"].fillna(0).tolist()
    pd.testing.assert_frame_equal(conform(out), out)  # idempotent


def test_conform_rejects_extra_columns(good: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match="extra"):
        conform(good.assign(note="x"))


def test_empty_frame_and_table_round_trip(good: pd.DataFrame) -> None:
    empty = empty_frame()
    assert empty.empty and list(empty.columns) == list(COLUMNS)
    assert to_table(empty).schema == SCHEMA
    table = to_table(good)
    assert table.schema == SCHEMA and table.num_rows == len(good)
    # from_table accepts any column order and extra columns.
    wider = table.append_column("extra", pa.array(range(len(good))))
    reordered = wider.select(list(reversed(wider.column_names)))
    pd.testing.assert_frame_equal(from_table(reordered), conform(good))


def test_conform_complete_adds_missing_columns_as_nulls_and_still_refuses_extras():
    import pandas as pd
    import pytest

    from oilflows.errors import SchemaError
    from oilflows.schema import COLUMNS, conform

    partial = pd.DataFrame({"source": ["t"], "dataset": ["d"], "freq": ["M"],
                            "period": [pd.Timestamp("2023-01-01")], "reporter": ["DE"],
                            "partner": ["KZ"], "flow": ["import"], "product": ["crude_oil"],
                            "volume_bbl": [5.0]})
    out = conform(partial, complete=True)
    assert list(out.columns) == list(COLUMNS) and out["volume_bbl"].tolist() == [5.0]
    assert out["mass_t"].isna().all() and out["flag"].isna().all()
    with pytest.raises(SchemaError, match="missing"):
        conform(partial)
    with pytest.raises(SchemaError, match="extra"):
        conform(partial.assign(bogus=1), complete=True)
