"""The route table: the packaged file validates, covers the embedded grades; bad files are typed errors."""

from __future__ import annotations

import pandas as pd
import pytest

import oilflows
from oilflows import routes
from oilflows.errors import AnalysisError, QueryError, SourceFormatError
from oilflows.routes import (
    COLUMNS,
    DEPENDS_ON_RUSSIA,
    ROUTES,
    grades_on_route,
    parse_route_table,
    route_of,
    route_table,
)

HEADER = ",".join(COLUMNS)


def _row(grade="KZ_CPC_BLN", origin="KZ", reporter="*", start="", end="", route="cpc",
         source="https://example.org", confidence="high") -> str:
    return f"{grade},{origin},{reporter},{start},{end},{route},terminal,pipe,desc,{source},{confidence},note"


def _write(tmp_path, *rows: str, header: str = HEADER):
    path = tmp_path / "routes.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return route_table()


@pytest.fixture(scope="module")
def coifpm_grades() -> list[str]:
    frame = oilflows.load_default(dataset="nrg_ti_coifpm")
    return sorted(frame["grade"].dropna().unique())


def test_packaged_table_loads_and_validates(table):
    assert list(table.columns) == list(COLUMNS)
    assert len(table) > 0
    assert set(table["route"]) <= set(ROUTES)
    assert set(table["confidence"]) <= {"high", "medium", "low"}
    assert (table["source"] != "").all()
    # Loading returns a copy: callers cannot corrupt the cached packaged table.
    table2 = route_table()
    table2.loc[0, "route"] = "bypass"
    assert route_table().loc[0, "route"] == table.loc[0, "route"]


def test_every_kazakh_grade_and_ru_cpc_has_a_default_row(table, coifpm_grades):
    wanted = [g for g in coifpm_grades if g.startswith(("KZ_", "AZ_", "TM_")) or g == "RU_CPC"]
    assert "KZ_CPC_BLN" in wanted and "KZ_MSC" in wanted and "RU_CPC" in wanted
    defaults = set(table.loc[table["reporter"] == "*", "grade"])
    assert not set(wanted) - defaults


def test_required_route_ids_and_their_grades(table):
    assert {"cpc", "russian_blends"} <= set(ROUTES)
    assert set(DEPENDS_ON_RUSSIA) == set(ROUTES)
    assert DEPENDS_ON_RUSSIA["cpc"] is DEPENDS_ON_RUSSIA["russian_blends"] is True
    assert DEPENDS_ON_RUSSIA["russian_pipeline"] is DEPENDS_ON_RUSSIA["russian_port"] is True
    assert DEPENDS_ON_RUSSIA["bypass"] is False and DEPENDS_ON_RUSSIA["unknown"] is None
    for reporter in ("DE", "IT", "EU_V"):
        assert route_of(table, "KZ_CPC_BLN", reporter, "2023-06") == "cpc"
        assert route_of(table, "RU_CPC", reporter, "2023-06") == "cpc"
        assert route_of(table, "KZ_URL", reporter, "2021-03") == "russian_blends"
        assert route_of(table, "KZ_SIB_LGHT", reporter, "2021-03") == "russian_blends"
    assert route_of(table, "AZ_AZR_BTC", "IT", "2023-06") == "bypass"
    assert grades_on_route(table, "russian_blends", origin="KZ") == ["KZ_SIB_LGHT", "KZ_URL"]
    assert "KZ_CPC_BLN" in grades_on_route(table, "cpc")


def test_de_kz_msc_override_from_2023_02_only(table):
    assert route_of(table, "KZ_MSC", "DE", "2023-01") == "unknown"
    assert route_of(table, "KZ_MSC", "DE", "2022-07") == "unknown"
    assert route_of(table, "KZ_MSC", "DE", "2023-02") == "russian_pipeline"
    assert route_of(table, "KZ_MSC", "DE", pd.Timestamp("2023-12-01")) == "russian_pipeline"
    assert route_of(table, "KZ_MSC", "DE", pd.Period("2024-05", "M")) == "russian_pipeline"
    # Other reporters without an override keep the default.
    assert route_of(table, "KZ_MSC", "FR", "2023-06") == "unknown"
    assert route_of(table, "KZ_MSC", "EU_V", "2023-06") == "unknown"
    assert grades_on_route(table, "russian_pipeline", reporter="DE", period="2023-03", origin="KZ") == \
        ["KZ_KEBCO_BLN", "KZ_MSC"]
    assert "KZ_MSC" not in grades_on_route(table, "russian_pipeline", reporter="DE", period="2023-01")


def test_route_of_precedence_on_a_hand_built_table():
    t = pd.DataFrame([
        {"grade": "KZ_X", "reporter": "*", "start": "", "end": "", "route": "unknown"},
        {"grade": "KZ_X", "reporter": "DE", "start": "2023-02", "end": "2023-06",
         "route": "russian_pipeline"},
        {"grade": "KZ_X", "reporter": "DE", "start": "2023-07", "end": None, "route": "bypass"},
        {"grade": "KZ_Y", "reporter": "IT", "start": "2022-01", "end": float("nan"), "route": "cpc"},
    ])
    assert route_of(t, "KZ_X", "DE", "2023-01") == "unknown"          # before the override: the '*' row
    assert route_of(t, "KZ_X", "DE", "2023-02") == "russian_pipeline"  # start is inclusive
    assert route_of(t, "KZ_X", "DE", "2023-06-01") == "russian_pipeline"  # end is inclusive
    assert route_of(t, "KZ_X", "DE", "2030-01") == "bypass"           # open end
    assert route_of(t, "KZ_X", "PL", "2023-03") == "unknown"          # no override for PL
    assert route_of(t, "KZ_Y", "IT", "2021-12") == "unknown"          # no '*' row, override not yet valid
    assert route_of(t, "KZ_Y", "IT", "2022-01") == "cpc"
    assert route_of(t, "ZZ_NOT_THERE", "DE", "2023-01") == "unknown"  # grade not in the table


def test_unknown_route_ids_are_typed_errors():
    t = pd.DataFrame([{"grade": "KZ_X", "reporter": "*", "start": "", "end": "", "route": "pipeline_x"}])
    with pytest.raises(AnalysisError, match="unknown route id 'pipeline_x'"):
        route_of(t, "KZ_X", "DE", "2023-01")
    with pytest.raises(AnalysisError, match="unknown route id 'pipeline_x'"):
        grades_on_route(route_table(), "pipeline_x")
    with pytest.raises(AnalysisError, match="unknown route id"):
        routes.depends_on_russia("via_moon")
    assert routes.depends_on_russia("cpc") is True


def test_ambiguous_hand_built_table_and_bad_period():
    t = pd.DataFrame([{"grade": "KZ_X", "reporter": "*", "start": "", "end": "", "route": "cpc"},
                      {"grade": "KZ_X", "reporter": "*", "start": "2023-01", "end": "", "route": "bypass"}])
    with pytest.raises(AnalysisError, match="ambiguous"):
        route_of(t, "KZ_X", "DE", "2023-05")
    with pytest.raises(QueryError, match="not a month"):
        route_of(route_table(), "KZ_MSC", "DE", "2023-13")
    with pytest.raises(QueryError, match="not a month"):
        route_of(route_table(), "KZ_MSC", "DE", "Feb 2023")


def test_a_valid_custom_file_loads(tmp_path):
    path = _write(tmp_path, _row(),
                  _row(grade="KZ_MSC", reporter="DE", start="2023-02", route="russian_pipeline"),
                  _row(grade="KZ_MSC", reporter="*", route="unknown", confidence="low"),
                  _row(grade="AUH_MRB", origin="AE", route="bypass"))
    t = route_table(path)
    assert len(t) == 4 and route_of(t, "KZ_MSC", "DE", "2023-03") == "russian_pipeline"
    assert t.loc[0, "start"] == "" and t.loc[1, "start"] == "2023-02"


@pytest.mark.parametrize(("rows", "header", "line", "field", "fragment"), [
    # missing column
    ((_row(),), HEADER.replace(",confidence", ""), 1, "confidence", "missing column"),
    # extra column
    ((_row() + ",x",), HEADER + ",extra", 1, "extra", "unexpected or repeated column"),
    # unknown route id
    ((_row(), _row(grade="KZ_URL", route="via_moon")), HEADER, 3, "route", "unknown route id 'via_moon'"),
    # overlapping rows for the same grade and reporter
    ((_row(grade="KZ_MSC", reporter="DE", start="2023-02", route="russian_pipeline"),
      _row(grade="KZ_MSC", reporter="DE", start="2022-01", end="2023-03", route="unknown")),
     HEADER, 3, "start", "overlap"),
    ((_row(), _row()), HEADER, 3, "start", "overlap"),
    # bad dates
    ((_row(start="2023-13"),), HEADER, 2, "start", "not a month YYYY-MM"),
    ((_row(end="2023/02"),), HEADER, 2, "end", "not a month YYYY-MM"),
    ((_row(start="2023-05", end="2023-02"),), HEADER, 2, "start", "after end"),
    # other field problems
    ((_row(origin="RU"),), HEADER, 2, "origin", "does not match grade"),
    ((_row(confidence="certain"),), HEADER, 2, "confidence", "not one of"),
    ((_row(source=""),), HEADER, 2, "source", "required"),
    ((_row(reporter="de"),), HEADER, 2, "reporter", "neither"),
    ((_row(grade="KZ"),), HEADER, 2, "grade", "not an nrg_ti_coifpm grade"),
])
def test_malformed_files_name_file_line_and_field(tmp_path, rows, header, line, field, fragment):
    path = _write(tmp_path, *rows, header=header)
    with pytest.raises(SourceFormatError, match=fragment) as info:
        route_table(path)
    err = info.value
    assert err.field == field
    assert err.source == f"{path}:{line}"
    assert str(path) in str(err) and f":{line}" in str(err) and f"[{field}]" in str(err)


def test_wrong_field_count_empty_file_and_missing_file(tmp_path):
    with pytest.raises(SourceFormatError, match="fields, expected 12"):
        route_table(_write(tmp_path, "KZ_CPC_BLN,KZ,*"))
    with pytest.raises(SourceFormatError, match="empty file"):
        parse_route_table("", "empty.csv")
    with pytest.raises(SourceFormatError, match="cannot read"):
        route_table(tmp_path / "nope.csv")


def test_line_numbers_count_quoted_newlines(tmp_path):
    first = _row().replace("desc", '"a description\nover two lines"')
    path = _write(tmp_path, first, _row(grade="KZ_URL", route="nowhere"))
    with pytest.raises(SourceFormatError) as info:
        route_table(path)
    assert info.value.source.endswith(":4")


def test_route_column_equals_route_of_on_every_cell_of_the_embedded_data():
    from oilflows.routes import route_column

    table = route_table()
    cells = oilflows.load_default(dataset="nrg_ti_coifpm", start="2020-01")
    cells = cells[cells["partner"] != "WORLD"][["reporter", "grade", "period"]].drop_duplicates()
    for reporter, group in cells.groupby("reporter"):
        fast = route_column(table, group["grade"], group["period"], reporter)
        slow = [route_of(table, g, reporter, p) for g, p in zip(group["grade"], group["period"], strict=True)]
        assert fast.tolist() == slow
