"""UN Comtrade v1: reading bodies, the code table, request building, replayed fetches and error paths.

No test touches the network: ``responses`` intercepts every request. Real bodies are the recordings in
``fixtures/comtrade/`` (see its README); the error bodies there are hand-written after sources.md 3.4.
Records for units, flags, breakdowns and truncation are the first real China record with only the
fields named in each helper changed. Expected values are typed from the sample or computed by hand.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import logging
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
import requests
import responses
from responses import matchers

from oilflows import codes, http, schema
from oilflows.errors import FetchError, QueryError, SourceFormatError
from oilflows.sources import comtrade

ROOT = Path(__file__).resolve().parents[1]
FIX = Path(__file__).resolve().parent / "fixtures" / "comtrade"
CHINA = FIX / "comtrade_data_v1_get_C_A_HS_china_annual.json"
EMPTY = FIX / "comtrade_bulk_v1_get_empty_result.json"
HTTR2 = FIX / "comtrade_data_v1_get_httr2_mock_with_headers.R.txt"
KEY = "f00dfeedc0ffee00a11ce5ba5eba11aa"  # a made-up subscription key
DATA_A = "https://comtradeapi.un.org/data/v1/get/C/A/HS"
DATA_M = "https://comtradeapi.un.org/data/v1/get/C/M/HS"
PREVIEW_A = "https://comtradeapi.un.org/public/v1/preview/C/A/HS"
PREVIEW_M = "https://comtradeapi.un.org/public/v1/preview/C/M/HS"
JSON = "application/json; charset=utf-8"
# sources.md 3.2, the keyed request for DE crude imports from KZ and RU, verbatim.
DOC_EXAMPLE = (
    "https://comtradeapi.un.org/data/v1/get/C/M/HS?reporterCode=276&partnerCode=398,643&cmdCode=2709"
    "&flowCode=M&period=202301,202302,202303&partner2Code=0&customsCode=C00&motCode=0"
    "&breakdownMode=classic&includeDesc=true"
)


@pytest.fixture(autouse=True)
def no_key_no_wait(monkeypatch):
    """No developer key leaks into a test, and calls are not spaced out unless a test asks."""
    monkeypatch.delenv("COMTRADE_API_KEY", raising=False)
    monkeypatch.setattr(comtrade, "MIN_INTERVAL_SECONDS", 0.0)


@pytest.fixture
def rsps(mocked_responses):
    return mocked_responses


# -- records and bodies built from the real sample --------------------------------------------------


def real_record() -> dict:
    """The first record of the China sample (reporter 156, partner 32, 2010, TOTAL, import)."""
    return json.loads(CHINA.read_text())["data"][0]


def record(**changes) -> dict:
    rec = real_record()
    rec.update(changes)
    return rec


def crude(partner: int = 398, period: str = "2023", **changes) -> dict:
    """A DE crude-oil import record: changes reporter, partner, period, cmd, units and value fields."""
    monthly = len(period) == 6
    rec = record(
        reporterCode=276, reporterISO="DEU", reporterDesc="Germany", partnerCode=partner,
        partnerISO=None, partnerDesc=None, cmdCode="2709", cmdDesc="Petroleum oils, crude",
        aggrLevel=4, isLeaf=True, freqCode="M" if monthly else "A", period=period,
        refYear=int(period[:4]), refMonth=int(period[4:]) if monthly else 52,
        refPeriodId=int(period[:4] + (period[4:] if monthly else "01") + "01"),
        qtyUnitCode=8, qtyUnitAbbr="kg", qty=1_000_000.0, netWgt=1_000_000.0,
        cifvalue=600_000.0, primaryValue=600_000.0,
    )
    rec.update(changes)
    return rec


def body(records: list[dict], count: int | None = None, error: str = "") -> bytes:
    """A data body in the shape of sources.md 3.3."""
    return json.dumps({"elapsedTime": "0.01 secs", "count": len(records) if count is None else count,
                       "data": records, "error": error}).encode()


def httr2_recording() -> tuple[dict[str, str], str]:
    """Headers and body of the httptest2 recording (R source text)."""
    text = HTTR2.read_text()
    block = re.search(r"headers = structure\(list\((.*?)\), class = \"httr2_headers\"\)", text, re.S)
    headers = dict(re.findall(r'`?([A-Za-z][\w-]*)`? = "((?:[^"\\]|\\.)*)"', block.group(1)))
    raw = re.search(r'body = charToRaw\("((?:[^"\\]|\\.)*)"\)', text, re.S).group(1)
    return headers, json.loads(f'"{raw}"')


def one(frame: pd.DataFrame, **where) -> pd.Series:
    rows = frame
    for column, value in where.items():
        rows = rows[rows[column] == value]
    assert len(rows) == 1, f"expected one row for {where}, found {len(rows)}"
    return rows.iloc[0]


# -- read: the real sample ----------------------------------------------------------------------------


def test_read_china_sample_values():
    frame = comtrade.read(CHINA)
    schema.validate(frame)
    assert list(frame.columns) == list(schema.COLUMNS)
    assert len(frame) == 4
    typed = {  # primaryValue of each record, typed from the sample
        ("AR", "import"): 6804128143.0, ("DE", "import"): 74251272075.0,
        ("AR", "export"): 6115764185.0, ("DE", "export"): 68047133397.0,
    }
    for (partner, flow), value in typed.items():
        assert one(frame, partner=partner, flow=flow)["value"] == value
    assert frame["value"].sum() == 155_218_297_800.0  # added by hand
    assert set(frame["reporter"]) == {"CN"}
    assert set(frame["source"]) == {"comtrade"} and set(frame["dataset"]) == {"hs"}
    assert set(frame["freq"]) == {"A"}
    assert set(frame["period"]) == {pd.Timestamp("2010-01-01")}
    assert set(frame["product"]) == {"hs_total"}
    assert set(frame["currency"]) == {"USD"}
    assert frame["mass_t"].isna().all()  # netWgt and qty are null in the sample: missing, not 0
    assert frame["flag"].isna().all() and frame["grade"].isna().all() and frame["vintage"].isna().all()


def test_read_vintage_argument():
    frame = comtrade.read(CHINA, vintage="2024-11-15 16:12:34")
    assert set(frame["vintage"]) == {pd.Timestamp("2024-11-15 16:12:34")}
    frame = comtrade.read(CHINA, vintage="2024-11-15T17:12:34.9+01:00")  # to UTC, to the second
    assert set(frame["vintage"]) == {pd.Timestamp("2024-11-15 16:12:34")}
    with pytest.raises(SourceFormatError, match="vintage"):
        comtrade.read(CHINA, vintage="not a date")


def test_read_bytes_gzip_and_file_object():
    expected = comtrade.read(CHINA)
    pd.testing.assert_frame_equal(comtrade.read(CHINA.read_bytes()), expected)
    pd.testing.assert_frame_equal(comtrade.read(gzip.compress(CHINA.read_bytes())), expected)
    with CHINA.open("rb") as handle:
        pd.testing.assert_frame_equal(comtrade.read(handle), expected)


def test_read_httr2_body_gives_the_same_figures():
    _, text = httr2_recording()
    a = comtrade.read(text.encode()).sort_values(["partner", "flow"]).reset_index(drop=True)
    b = comtrade.read(CHINA).sort_values(["partner", "flow"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_read_empty_result():
    frame = comtrade.read(EMPTY)
    assert len(frame) == 0
    assert schema.to_table(frame).schema.equals(schema.SCHEMA)


# -- the code table ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [(156, "CN"), (276, "DE"), (32, "AR"), (643, "RU"), (398, "KZ"), (251, "FR"), (250, "FR"),
     (381, "IT"), (579, "NO"), (699, "IN"), (356, "IN"), (757, "CH"), (842, "US"), (840, "US"),
     (490, "TW"), (0, "WORLD"), (899, "UNKNOWN"), (280, "DE"), (492, "EU_NES"), (810, "SUHH"),
     (536, "NEUTRAL_ZONE"), (839, "SPECIAL_CATEGORIES"), (568, "EUROPE"), (97, "EU")],
)
def test_comtrade_code_to_partner(code, expected):
    assert comtrade.COMTRADE_PARTNER[code] == expected


@pytest.mark.parametrize(
    ("iso", "expected"),
    [("DE", 276), ("KZ", 398), ("RU", 643), ("CN", 156), ("FR", 251), ("IT", 381), ("NO", 579),
     ("IN", 699), ("CH", 757), ("US", 842), ("TW", 490), ("WORLD", 0), ("UNKNOWN", 899)],
)
def test_partner_to_request_code(iso, expected):
    assert comtrade.PARTNER_COMTRADE[iso] == expected


def test_areas_are_mapped_in_read():
    frame = comtrade.read(body([crude(partner=490, reporterCode=842), crude(partner=0, reporterCode=251),
                                crude(partner=899, reporterCode=699)]))
    assert list(zip(frame["reporter"], frame["partner"], strict=True)) == [
        ("US", "TW"), ("FR", "WORLD"), ("IN", "UNKNOWN")]


def test_code_table_is_consistent():
    rows = list(pd.read_csv(ROOT / "oilflows" / "sources" / "comtrade_codes.csv", dtype=str,
                            keep_default_na=False).itertuples(index=False))
    assert len(rows) > 249  # every ISO 3166-1 country and Comtrade's additions
    assert len({r.comtrade_code for r in rows}) == len(rows)
    per_code = pd.Series([r.oilflows_code for r in rows if r.request == "1"])
    assert not per_code.duplicated().any()
    assert set(per_code) == {r.oilflows_code for r in rows}  # each oilflows code has one request code
    documented = set(codes.REGIONS) | set(comtrade.COMTRADE_REGIONS)
    for r in rows:
        assert codes.is_iso_country(r.oilflows_code) or r.oilflows_code in documented, r
    assert "MC" not in comtrade.PARTNER_COMTRADE  # Comtrade counts Monaco in France (251)


def test_code_table_is_reproducible():
    pytest.importorskip("pycountry")
    spec = importlib.util.spec_from_file_location("make_comtrade_codes",
                                                  ROOT / "data_sources" / "make_comtrade_codes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = [{k: str(v) for k, v in row.items()} for row in module.build()]
    on_disk = pd.read_csv(ROOT / "oilflows" / "sources" / "comtrade_codes.csv", dtype=str,
                          keep_default_na=False).to_dict("records")
    assert built == on_disk


# -- read: units, flags, periods, breakdowns --------------------------------------------------------


def test_units_and_flags():
    records = [
        crude(partner=398, netWgt=1_234_567_000.0, qty=1_234_567_000.0, primaryValue=987_654_321.0),
        crude(partner=643, netWgt=None, qty=2_500_000.0, isQtyEstimated=True),  # qty in kg
        crude(partner=268, netWgt=None, qty=1000.0, qtyUnitCode=7, qtyUnitAbbr="l"),  # litres
        crude(partner=12, netWgt=0.0, qty=0.0),  # an explicit zero
        crude(partner=566, netWgt=5000.0, isNetWgtEstimated=True, isAggregate=True),
        crude(partner=434, primaryValue=None, cifvalue=None),
        crude(partner=368, netWgt=7000.0, qty=None, isQtyEstimated=True),  # qty flag: not the mass's
    ]
    frame = comtrade.read(body(records))
    schema.validate(frame)
    assert set(frame["product"]) == {"crude_oil"}
    kz = one(frame, partner="KZ")
    assert kz["mass_t"] == 1_234_567.0 and kz["value"] == 987_654_321.0 and pd.isna(kz["flag"])
    ru = one(frame, partner="RU")
    assert ru["mass_t"] == 2500.0 and ru["flag"] == "e"
    ge = one(frame, partner="GE")
    assert pd.isna(ge["mass_t"]) and pd.isna(ge["flag"])
    assert one(frame, partner="DZ")["mass_t"] == 0.0
    ng = one(frame, partner="NG")
    assert ng["mass_t"] == 5.0 and ng["flag"] == "ea"
    ly = one(frame, partner="LY")
    assert pd.isna(ly["value"]) and pd.isna(ly["currency"]) and ly["mass_t"] == 1000.0
    iq = one(frame, partner="IQ")
    assert iq["mass_t"] == 7.0 and pd.isna(iq["flag"])


def test_monthly_period():
    frame = comtrade.read(body([crude(period="202303"), crude(period="202312"),
                                crude(period="202311", refYear=None, refMonth=None)]))
    assert list(frame["freq"]) == ["M", "M", "M"]
    assert list(frame["period"]) == [pd.Timestamp("2023-03-01"), pd.Timestamp("2023-12-01"),
                                     pd.Timestamp("2023-11-01")]


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"refMonth": 12}, "refMonth"),  # annual data has refMonth 52
     ({"refYear": 2011}, "refMonth"),
     ({"freqCode": "M"}, "period"),  # "2023" is not YYYYMM
     ({"period": "2023-01"}, "period"),
     ({"freqCode": "Q"}, "freqCode")],
)
def test_inconsistent_periods_raise(changes, field):
    with pytest.raises(SourceFormatError) as info:
        comtrade.read(body([crude(**changes)]), name="x.json")
    assert info.value.field == field
    assert str(info.value).startswith("x.json")


def test_breakdowns_are_dropped():
    records = [
        crude(primaryValue=100.0),
        crude(primaryValue=60.0, partner2Code=643, partner2ISO="RUS"),
        crude(primaryValue=70.0, customsCode="C01"),
        crude(primaryValue=80.0, motCode=2100, motDesc="Sea"),
    ]
    frame = comtrade.read(body(records))
    assert len(frame) == 1 and frame["value"].iloc[0] == 100.0


def test_null_pins_count_as_total():
    frame = comtrade.read(body([crude(partner2Code=None, customsCode=None, motCode=None)]))
    assert len(frame) == 1


def test_re_flows_are_dropped():
    records = [crude(flowCode="M"), crude(flowCode="X", primaryValue=5.0),
               crude(flowCode="RM", primaryValue=7.0), crude(flowCode="RX", primaryValue=9.0)]
    frame = comtrade.read(body(records))
    assert sorted(zip(frame["flow"], frame["value"], strict=True)) == [("export", 5.0), ("import", 600_000.0)]


def test_all_rows_filtered_is_an_empty_frame():
    frame = comtrade.read(body([crude(flowCode="RX")]))
    assert len(frame) == 0 and list(frame.columns) == list(schema.COLUMNS)


def test_identical_duplicates_collapse():
    frame = comtrade.read(body([crude(), crude()]))
    assert len(frame) == 1


@pytest.mark.parametrize(
    "records",
    [[crude(), crude(primaryValue=1.0)],
     # 280 (Fmr Fed. Rep. of Germany) and 276 (Germany) are both DE
     [crude(reporterCode=156, partner=276), crude(reporterCode=156, partner=280, primaryValue=1.0)]],
)
def test_disagreeing_duplicates_raise(records):
    with pytest.raises(SourceFormatError, match="disagree"):
        comtrade.read(body(records))


# -- read: bad bodies ---------------------------------------------------------------------------------


def test_error_string_raises():
    with pytest.raises(SourceFormatError, match="Invalid reporterCode"):
        comtrade.read(FIX / "error_in_body.json")


def test_error_object_raises():
    with pytest.raises(SourceFormatError, match="period 2023-13 is not a valid period"):
        comtrade.read(FIX / "error_errorobject.json")


def test_html_body_raises():
    with pytest.raises(SourceFormatError, match="HTML.*Request URL Too Long"):
        comtrade.read(FIX / "error_request_url_too_long.html")


def test_truncated_body_raises():
    with pytest.raises(SourceFormatError, match="truncated"):
        comtrade.read(CHINA.read_bytes()[:3000], name="cut.json")


def test_empty_body_raises():
    with pytest.raises(SourceFormatError, match="empty"):
        comtrade.read(b"  \n")


def test_count_disagreeing_with_data_raises():
    with pytest.raises(SourceFormatError) as info:
        comtrade.read(body([crude()], count=2))
    assert info.value.field == "count"


@pytest.mark.parametrize("field", ["netWgt", "primaryValue", "partnerCode", "motCode"])
def test_changed_column_set_raises(field):
    rec = crude()
    rec[field + "X"] = rec.pop(field)
    with pytest.raises(SourceFormatError, match="lack fields") as info:
        comtrade.read(body([rec]))
    assert info.value.field == field


def test_unknown_area_code_raises():
    with pytest.raises(SourceFormatError, match=r"999.*Atlantis") as info:
        comtrade.read(body([crude(partner=999, partnerDesc="Atlantis")]))
    assert info.value.field == "partnerCode"


def test_services_are_refused():
    with pytest.raises(SourceFormatError, match="typeCode"):
        comtrade.read(body([crude(typeCode="S")]))


# -- requests -----------------------------------------------------------------------------------------


def test_request_matches_the_documented_example():
    query = comtrade.build_query("DE", ["KZ", "RU"], ["2023-01", "2023-02", "202303"], freq="M")
    url, params = comtrade.request_url(query, keyed=True)
    prepared = urlsplit(requests.Request("GET", url, params=params).prepare().url)
    doc = urlsplit(DOC_EXAMPLE)
    assert (prepared.scheme, prepared.netloc, prepared.path) == (doc.scheme, doc.netloc, doc.path)
    assert parse_qs(prepared.query) == {**parse_qs(doc.query), "maxRecords": ["100000"]}


def test_preview_request():
    query = comtrade.build_query("de", "world", 2023)
    url, params = comtrade.request_url(query, keyed=False)
    assert url == PREVIEW_A
    assert params == {"reporterCode": "276", "partnerCode": "0", "period": "2023", "cmdCode": "2709",
                      "flowCode": "M", "partner2Code": "0", "customsCode": "C00", "motCode": "0",
                      "breakdownMode": "classic", "maxRecords": "500", "includeDesc": "true"}


def test_every_partner_omits_partner_code():
    _, params = comtrade.request_url(comtrade.build_query("DE", None, "2023"), keyed=True)
    assert "partnerCode" not in params


def test_build_query_translations():
    query = comtrade.build_query(["FR", "US"], ["TW", "IN", "CH"], "2022", freq="m",
                                 cmd=["2709", "total"], flow=["import", "X"])
    assert query.reporters == (251, 842)
    assert query.partners == (490, 699, 757)
    assert query.periods == tuple(f"2022{m:02d}" for m in range(1, 13))  # a bare year: 12 months
    assert query.cmds == ("2709", "TOTAL") and query.flows == ("M", "X") and query.freq == "M"


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [({"reporter": "XX"}, "reporter 'XX'"), ({"partner": "MC"}, "partner 'MC'"),
     ({"period": "2023-13", "freq": "M"}, "2023-13"), ({"period": "2023-01"}, "YYYY"),
     ({"freq": "Q"}, "freq"), ({"cmd": "270"}, "cmd"), ({"flow": "RM"}, "flow 'RM'"),
     ({"period": []}, "at least one period"), ({"reporter": []}, "at least one reporter")],
)
def test_build_query_rejects(kwargs, fragment):
    args = {"reporter": "DE", "partner": "RU", "period": "2023", **kwargs}
    with pytest.raises(QueryError, match=re.escape(fragment)):
        comtrade.build_query(args.pop("reporter"), args.pop("partner"), args.pop("period"), **args)


def test_request_url_limits():
    query = comtrade.build_query("DE", "RU", ["2023-01", "2023-02"], freq="M")
    with pytest.raises(QueryError, match="at most 1"):
        comtrade.request_url(query, keyed=False)
    many_cmds = [f"{c:06d}" for c in range(100000, 100700)]
    with pytest.raises(QueryError, match="exceeds Comtrade's 4095"):
        comtrade.request_url(comtrade.build_query("DE", "RU", "2023", cmd=many_cmds), keyed=True)


def test_plan_splits_periods():
    query = comtrade.build_query("DE", "RU", [f"2023-{m:02d}" for m in range(1, 13)] + ["2024-01"],
                                 freq="M")
    assert [len(q.periods) for q in comtrade.plan(query, keyed=True)] == [12, 1]
    assert [q.periods for q in comtrade.plan(query, keyed=False)] == [(p,) for p in query.periods]


def test_query_split_order():
    query = comtrade.build_query("DE", ["KZ", "RU"], ["2023-01", "2023-02"], freq="M")
    assert [q.periods for q in query.split()] == [("202301",), ("202302",)]
    single = comtrade.build_query("DE", ["KZ", "RU"], "2023")
    assert [q.partners for q in single.split()] == [(398,), (643,)]
    assert comtrade.build_query("DE", None, "2023").split() == []


# -- fetch: replayed responses --------------------------------------------------------------------------


def calls_params(rsps) -> list[dict[str, list[str]]]:
    return [parse_qs(urlsplit(c.request.url).query) for c in rsps.calls]


def test_fetch_replays_the_httr2_recording(rsps, monkeypatch):
    monkeypatch.setenv("COMTRADE_API_KEY", KEY)
    headers, text = httr2_recording()
    assert headers["Content-Encoding"] == "gzip" and headers["Transfer-Encoding"] == "chunked"
    content_type = headers.pop("Content-Type")
    params = {"reporterCode": "156", "partnerCode": "32,276", "period": "2010", "cmdCode": "TOTAL",
              "flowCode": "M,X", "partner2Code": "0", "customsCode": "C00", "motCode": "0",
              "breakdownMode": "classic", "maxRecords": "100000", "includeDesc": "true"}
    rsps.add(responses.GET, DATA_A, body=gzip.compress(text.encode()), headers=headers,
             content_type=content_type,
             match=[matchers.query_param_matcher(params),
                    matchers.header_matcher({"Ocp-Apim-Subscription-Key": KEY})])
    got = comtrade.fetch("CN", ["AR", "DE"], 2010, cmd="TOTAL", flow=["M", "X"], vintage="date")
    schema.validate(got)
    assert set(got["vintage"]) == {pd.Timestamp("2024-11-15 16:12:34")}  # the recorded Date header
    expected = comtrade.read(CHINA, vintage="2024-11-15 16:12:34")
    key = ["partner", "flow"]
    pd.testing.assert_frame_equal(got.sort_values(key).reset_index(drop=True),
                                  expected.sort_values(key).reset_index(drop=True))
    assert KEY not in rsps.calls[0].request.url
    assert len(rsps.calls) == 1


def test_fetch_without_key_uses_the_preview(rsps):
    rsps.add(responses.GET, PREVIEW_A, body=body([crude(partner=398), crude(partner=643)]),
             content_type=JSON)
    got = comtrade.fetch("DE", ["KZ", "RU"], "2023")
    assert sorted(got["partner"]) == ["KZ", "RU"]
    assert got["vintage"].isna().all()
    got = comtrade.fetch("DE", ["KZ", "RU"], "2023", vintage="2025-01-02")
    assert set(got["vintage"]) == {pd.Timestamp("2025-01-02")}
    assert "Ocp-Apim-Subscription-Key" not in rsps.calls[0].request.headers
    assert calls_params(rsps)[0]["maxRecords"] == ["500"]


def test_explicit_api_key_beats_the_environment(rsps, monkeypatch):
    monkeypatch.setenv("COMTRADE_API_KEY", "the-environment-key")
    rsps.add(responses.GET, DATA_A, body=body([crude()]), content_type=JSON)
    comtrade.fetch("DE", "KZ", "2023", api_key=KEY)
    assert rsps.calls[0].request.headers["Ocp-Apim-Subscription-Key"] == KEY


def test_fetch_splits_periods_keyed(rsps):
    months = [f"2023{m:02d}" for m in range(1, 13)]
    rsps.add(responses.GET, DATA_M, body=body([crude(period=p) for p in months]), content_type=JSON)
    rsps.add(responses.GET, DATA_M, body=body([crude(period="202401")]), content_type=JSON)
    got = comtrade.fetch("DE", "KZ", [f"{p[:4]}-{p[4:]}" for p in months] + ["2024-01"], freq="M",
                         api_key=KEY)
    assert [p["period"] for p in calls_params(rsps)] == [[",".join(months)], ["202401"]]
    assert len(got) == 13
    assert got["mass_t"].sum() == 13 * 1000.0  # 1,000,000 kg each


def test_preview_makes_one_call_per_period(rsps):
    for month in ("202301", "202302", "202303"):
        rsps.add(responses.GET, PREVIEW_M, body=body([crude(period=month)]), content_type=JSON,
                 match=[matchers.query_param_matcher({"period": month}, strict_match=False)])
    got = comtrade.fetch("DE", "KZ", ["2023-01", "2023-02", "2023-03"], freq="M")
    assert len(rsps.calls) == 3
    assert list(got["period"]) == [pd.Timestamp(f"2023-0{m}-01") for m in (1, 2, 3)]


def test_fetch_empty_result(rsps):
    rsps.add(responses.GET, PREVIEW_A, body=EMPTY.read_bytes(), content_type=JSON)
    got = comtrade.fetch("DE", "KZ", "2023")
    assert len(got) == 0
    assert schema.to_table(got).schema.equals(schema.SCHEMA)


def test_truncated_result_is_split(rsps):
    capped = body([crude()] * 500)  # count == the preview cap: partial
    rsps.add(responses.GET, PREVIEW_A, body=capped, content_type=JSON,
             match=[matchers.query_param_matcher({"partnerCode": "398,643"}, strict_match=False)])
    for code in (398, 643):
        rsps.add(responses.GET, PREVIEW_A, body=body([crude(partner=code)]), content_type=JSON,
                 match=[matchers.query_param_matcher({"partnerCode": str(code)}, strict_match=False)])
    got = comtrade.fetch("DE", ["KZ", "RU"], "2023")
    assert [p["partnerCode"] for p in calls_params(rsps)] == [["398,643"], ["398"], ["643"]]
    assert sorted(got["partner"]) == ["KZ", "RU"]


def test_truncated_result_that_cannot_be_split(rsps):
    rsps.add(responses.GET, DATA_A, body=body([crude()] * 3), content_type=JSON)
    with pytest.raises(FetchError, match="truncated at the cap of 3 records"):
        comtrade.fetch("DE", "KZ", "2023", api_key=KEY, max_records=3)


def test_error_string_is_a_fetch_error(rsps):
    rsps.add(responses.GET, PREVIEW_A, body=(FIX / "error_in_body.json").read_bytes(), content_type=JSON)
    with pytest.raises(FetchError, match="Invalid reporterCode") as info:
        comtrade.fetch("DE", "KZ", "2023")
    assert info.value.status == 200


def test_error_object_body(rsps):
    rsps.add(responses.GET, DATA_A, status=400, body=(FIX / "error_errorobject.json").read_bytes(),
             content_type=JSON)
    with pytest.raises(FetchError, match="period 2023-13 is not a valid period") as info:
        comtrade.fetch("DE", "KZ", "2023", api_key=KEY)
    assert info.value.status == 400


def test_429_with_retry_after_then_success(rsps):
    rsps.add(responses.GET, PREVIEW_A, status=429, body=(FIX / "error_429_rate_limit.json").read_bytes(),
             content_type=JSON, headers={"Retry-After": "0"})
    rsps.add(responses.GET, PREVIEW_A, body=body([crude()]), content_type=JSON)
    got = comtrade.fetch("DE", "KZ", "2023")
    assert [c.response.status_code for c in rsps.calls] == [429, 200]
    assert one(got, partner="KZ")["value"] == 600_000.0


def test_429_after_retries_names_the_wait(rsps):
    rsps.add(responses.GET, PREVIEW_A, status=429, body=(FIX / "error_429_rate_limit.json").read_bytes(),
             content_type=JSON)
    with pytest.raises(FetchError) as info:
        comtrade.fetch("DE", "KZ", "2023")
    assert info.value.status == 429
    assert "wait 2 s" in str(info.value) and "Try again in 2 seconds" in str(info.value)
    assert len(rsps.calls) == 1 + 4  # http.retry_policy() retried four times


def test_429_retry_after_header_wins(rsps):
    rsps.add(responses.GET, PREVIEW_A, status=429, body=(FIX / "error_429_rate_limit.json").read_bytes(),
             content_type=JSON, headers={"Retry-After": "7"})
    with pytest.raises(FetchError, match="wait 7 s"):
        comtrade.fetch("DE", "KZ", "2023")


def test_403_quota_is_not_retried_and_names_the_wait(rsps):
    rsps.add(responses.GET, DATA_A, status=403, body=(FIX / "error_403_quota.json").read_bytes(),
             content_type=JSON)
    with pytest.raises(FetchError) as info:
        comtrade.fetch("DE", "KZ", "2023", api_key=KEY)
    message = str(info.value)
    assert info.value.status == 403
    assert "replenished in 03:14:17" in message and "(11657 s)" in message  # 3*3600 + 14*60 + 17
    assert len(rsps.calls) == 1


def test_5xx_then_success(rsps):
    rsps.add(responses.GET, PREVIEW_A, status=503, body="Service Unavailable", content_type="text/plain")
    rsps.add(responses.GET, PREVIEW_A, body=body([crude()]), content_type=JSON)
    got = comtrade.fetch("DE", "KZ", "2023")
    assert len(got) == 1 and [c.response.status_code for c in rsps.calls] == [503, 200]


def test_timeout(rsps):
    for _ in range(6):
        rsps.add(responses.GET, PREVIEW_A, body=requests.exceptions.ReadTimeout("timed out"))
    with pytest.raises(FetchError, match="timed out") as info:
        comtrade.fetch("DE", "KZ", "2023")
    assert PREVIEW_A in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("status", "fixture", "fragment"),
    [(200, "error_resource_removed.html", "HTML/XML page instead of JSON"),
     (414, "error_request_url_too_long.html", "request URL too long"),
     (404, "error_resource_removed.html", "404 - File or directory not found.")],
)
def test_html_pages(rsps, status, fixture, fragment):
    rsps.add(responses.GET, PREVIEW_A, status=status, body=(FIX / fixture).read_bytes(),
             content_type="text/html")
    with pytest.raises(FetchError, match=re.escape(fragment)) as info:
        comtrade.fetch("DE", "KZ", "2023")
    assert info.value.status == status


def test_truncated_body_names_the_url(rsps):
    rsps.add(responses.GET, PREVIEW_A, body=body([crude(), crude(partner=643)])[:700], content_type=JSON)
    with pytest.raises(SourceFormatError, match="truncated") as info:
        comtrade.fetch("DE", ["KZ", "RU"], "2023")
    assert "comtradeapi.un.org/public/v1/preview" in str(info.value)


def test_changed_column_set_in_a_response(rsps):
    rec = crude()
    del rec["netWgt"]
    rsps.add(responses.GET, PREVIEW_A, body=body([rec]), content_type=JSON)
    with pytest.raises(SourceFormatError, match="netWgt"):
        comtrade.fetch("DE", "KZ", "2023")


def test_too_many_calls_fail_before_any_request(rsps):
    with pytest.raises(QueryError, match="24 calls"):
        comtrade.fetch("DE", "KZ", ["2023", "2024"], freq="M", max_calls=12)
    with pytest.raises(QueryError):
        comtrade.fetch("DE", "XX", "2023")
    assert len(rsps.calls) == 0


def test_calls_are_spaced(rsps, monkeypatch):
    """Calls are paced by oilflows.http only (issue 13): its RATE_LIMITS space Comtrade calls
    MIN_INTERVAL_SECONDS apart (the waits on the wire: tests/test_fetch_signature.py); the source never
    sleeps itself, and min_interval= is deprecated."""
    import time

    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    rsps.add(responses.GET, PREVIEW_M, body=body([crude(period="202301")]), content_type=JSON)
    with pytest.warns(DeprecationWarning, match="min_interval"):
        comtrade.fetch("DE", "KZ", ["2023-01", "2023-02", "2023-03"], freq="M", min_interval=6.0)
    assert len(rsps.calls) == 3 and slept == []
    limit = http.RATE_LIMITS["comtradeapi.un.org"]
    assert limit.burst == 1 and 1 / limit.per_second == pytest.approx(6.0)  # 10 calls a minute


# -- the key stays secret -------------------------------------------------------------------------------


def test_key_is_masked_when_the_server_echoes_it(rsps):
    echo = json.dumps({"statusCode": 401, "message": f"Access denied due to invalid subscription key {KEY}."})
    rsps.add(responses.GET, DATA_A, status=401, body=echo, content_type=JSON)
    with pytest.raises(FetchError) as info:
        comtrade.fetch("DE", "KZ", "2023", api_key=KEY)
    assert KEY not in str(info.value) and "***" in str(info.value)
    assert "COMTRADE_API_KEY" in str(info.value)
    assert KEY not in str(info.value.__context__ or "")


def test_key_never_in_errors_or_logs(rsps, monkeypatch, caplog):
    monkeypatch.setenv("COMTRADE_API_KEY", KEY)
    caplog.set_level(logging.DEBUG)
    rsps.add(responses.GET, DATA_A, status=500, body=f"internal error for key {KEY}",
             content_type="text/plain")
    with pytest.raises(FetchError) as info:
        comtrade.fetch("DE", "KZ", "2023")
    assert info.value.status == 500
    assert KEY not in str(info.value) and KEY not in info.value.url
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert all(KEY not in r.getMessage() for r in caplog.records)
    assert all(KEY not in c.request.url for c in rsps.calls)


def test_keyed_calls_are_never_cached(monkeypatch, tmp_path):
    """The HTTP cache would store request headers on disk: keyed calls bypass it, preview calls use it."""
    monkeypatch.setenv("OILFLOWS_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("OILFLOWS_NO_CACHE", raising=False)
    monkeypatch.setenv("OILFLOWS_HTTP_BACKOFF", "0")
    http._sessions.clear()
    try:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            mock.add(responses.GET, DATA_A, body=body([crude()]), content_type=JSON)
            mock.add(responses.GET, PREVIEW_A, body=body([crude()]), content_type=JSON)
            for _ in range(2):
                comtrade.fetch("DE", "KZ", "2023", api_key=KEY)
                comtrade.fetch("DE", "KZ", "2023")
            assert [c.request.url.split("?")[0] for c in mock.calls] == [DATA_A, PREVIEW_A, DATA_A]
    finally:
        http._sessions.clear()
    stored = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert stored  # the preview answer was cached ...
    assert KEY.encode() not in stored  # ... and the key is nowhere on disk


# -- live (opt-in) ------------------------------------------------------------------------------------


@pytest.mark.live
def test_live_preview_de_crude_imports():
    got = comtrade.fetch("DE", ["KZ", "RU"], "2021")
    schema.validate(got)
    assert set(got["partner"]) <= {"KZ", "RU"}
    assert (got["mass_t"] > 1e6).all()  # millions of tonnes a year from each


# -- last_update (getDa) ----------------------------------------------------------------------------

GETDA = FIX / "getda_availability.json"
GETDA_PUBLIC = "https://comtradeapi.un.org/public/v1/getDa/C/A/HS"
GETDA_DATA = "https://comtradeapi.un.org/data/v1/getDa/C/A/HS"


def test_last_update_returns_the_latest_release(rsps):
    rsps.get(GETDA_PUBLIC, body=GETDA.read_bytes(), content_type=JSON, match=[
        matchers.query_param_matcher({"reporterCode": "251,276,842", "period": "2022,2023"})])
    got = comtrade.last_update(["DE", "US", "FR"], [2022, 2023])
    assert got == pd.Timestamp("2025-03-01 00:00:00")  # US 2023 lastReleased
    assert got.tzinfo is None
    assert "Ocp-Apim-Subscription-Key" not in rsps.calls[0].request.headers


@pytest.mark.parametrize(("reporter", "period", "expected"), [
    ("DE", "2023", "2025-01-20 13:03:07"),  # lastReleased, +01:00 -> UTC, floored to the second
    ("DE", "2022", "2024-11-05 16:45:59"),  # .999 floored, not rounded
    ("FR", "2023", "2024-07-15 12:00:00"),  # only publicationDate
    (["DE", "FR"], "2023", "2025-01-20 13:03:07"),  # US 2023 (later) filtered out
])
def test_last_update_filters_by_reporter_and_period(rsps, reporter, period, expected):
    rsps.get(GETDA_PUBLIC, body=GETDA.read_bytes(), content_type=JSON)
    assert comtrade.last_update(reporter, period) == pd.Timestamp(expected)


def test_last_update_empty_is_none(rsps):
    rsps.get(GETDA_PUBLIC, body=EMPTY.read_bytes(), content_type=JSON)
    assert comtrade.last_update("DE", 2023) is None
    rsps.replace(responses.GET, GETDA_PUBLIC, body=GETDA.read_bytes(), content_type=JSON)
    assert comtrade.last_update("CN", 2023) is None  # records, none of them requested


def test_last_update_error_string_is_fetcherror(rsps):
    rsps.get(GETDA_PUBLIC, body=(FIX / "error_in_body.json").read_bytes(), content_type=JSON)
    with pytest.raises(FetchError, match="Invalid reporterCode"):
        comtrade.last_update("DE", 2023)


def test_last_update_body_without_data_is_sourceformaterror(rsps):
    rsps.get(GETDA_PUBLIC, json={"elapsedTime": "0.01 secs", "count": 0, "error": ""})
    with pytest.raises(SourceFormatError):
        comtrade.last_update("DE", 2023)


def test_last_update_bad_query_before_any_call(rsps):
    for kwargs in ({"freq": "Q"}, {"cmd_type": "X"}, {"classification": "HS6"}):
        with pytest.raises(QueryError):
            comtrade.last_update("DE", 2023, **kwargs)
    with pytest.raises(QueryError):
        comtrade.last_update("XX", 2023)
    assert not rsps.calls


def test_last_update_keyed_sends_header_uncached_and_masks_key(rsps, monkeypatch):
    monkeypatch.setenv("COMTRADE_API_KEY", KEY)
    seen = []
    real_get = http.get
    monkeypatch.setattr(http, "get", lambda url, **kw: seen.append(kw["cache"]) or real_get(url, **kw))
    rsps.get(GETDA_DATA, body=GETDA.read_bytes(), content_type=JSON,
             match=[matchers.header_matcher({"Ocp-Apim-Subscription-Key": KEY})])
    assert comtrade.last_update("DE", 2023) == pd.Timestamp("2025-01-20 13:03:07")
    assert KEY not in rsps.calls[0].request.url
    rsps.replace(responses.GET, GETDA_DATA, status=401,
                 json={"statusCode": 401, "message": f"Invalid subscription key {KEY}."})
    with pytest.raises(FetchError) as info:
        comtrade.last_update("DE", 2023)
    assert KEY not in str(info.value) and KEY not in info.value.url
    assert "***" in str(info.value)
    assert seen == [False, False]
