"""Eurostat Comext: DS-045409 SDMX-CSV reader, SDMX 2.1 fetcher (split on 413, async, errors), bulk files.

No real Comext response exists here: the fixtures in ``fixtures/comext/`` are hand-written to the layouts
of ``shared/docs/sources.md`` section 2 (see the README there). Expected numbers are typed from the
fixture text by hand or recomputed with the ``csv`` module, never with oilflows. Error and async bodies
are hand-written like those of ``test_eurostat_fetch.py`` (the EXTRACTION_TOO_BIG fault is quoted
verbatim in sources.md 1.6). No test touches the network.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pandas as pd
import pyarrow.csv as pacsv
import pytest
import requests
import responses
from responses import matchers

from oilflows import codes, schema
from oilflows.errors import FetchError, QueryError, SchemaError, SourceFormatError
from oilflows.sources import _comext_stream, comext

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "comext"
MONTHLY = FIXTURES / "ds045409_DE_KZ_RU_2709_M.csv"
ANNUAL = FIXTURES / "ds045409_DE_2709_A_noflags.csv"
BULK = FIXTURES / "full_v2_202402_sample.csv"

BASE = "https://ec.europa.eu/eurostat/api/comext/dissemination"
DATA = f"{BASE}/sdmx/2.1/data/DS-045409"
KEY = "M.DE.KZ+RU.27090010+27090090.1.VALUE_IN_EUROS+QUANTITY_IN_100KG"
URL = f"{DATA}/{KEY}"
QUERY = {"start": "2022-12", "end": "2023-02"}
PARAMS = {"startPeriod": "2022-12", "endPeriod": "2023-02", "format": "SDMX-CSV"}
VINTAGE = pd.Timestamp("2025-07-16 11:00:00")
CSV_TYPE = "application/vnd.sdmx.data+csv;version=1.0.0"

# sources.md 2.2, both documented forms, verbatim (the second with the "..." host prefix written out).
DOC_TEMPLATE = ("https://ec.europa.eu/eurostat/api/comext/dissemination/sdmx/2.1/data/DS-045409/"
                "{freq}.{reporter}.{partner}.{product}.{flow}.{indicators}"
                "?startPeriod=2024-01&endPeriod=2024-12&format=SDMX-CSV")
DOC_EXAMPLE = ("https://ec.europa.eu/eurostat/api/comext/dissemination/sdmx/2.1/data/DS-045409/"
               "M.DE.KZ+RU.27090090+27090010.1.VALUE_IN_EUROS+QUANTITY_IN_100KG"
               "?startPeriod=2020-01&format=SDMX-CSV")

# sources.md 1.6, "Extraction above the hard cap", verbatim.
TOO_BIG = (
    '<S:Fault xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><faultcode>413</faultcode>'
    "<faultstring>EXTRACTION_TOO_BIG: The requested extraction is too big, estimated 420709314 rows, "
    "max authorised is 5000000, please change your filters to reduce the extraction size"
    "</faultstring></S:Fault>"
)
# Hand-written per sources.md 1.6 (fault 510 "Response size exceeds service limit").
SIZE_LIMIT = ("<S:Fault><faultcode>510</faultcode><faultstring>Response size exceeds service limit"
              "</faultstring></S:Fault>")
# Hand-written per sources.md 1.6 (fault 100 "No results found").
NO_RESULTS = ('<S:Fault xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><faultcode>100</faultcode>'
              "<faultstring>No results found</faultstring></S:Fault>")
# Hand-written per sources.md 1.6/2.1 (ERR_NOT_FOUND for a dataflow the host does not have).
NOT_FOUND = ('{"error":[{"status":404,"id":100,"label":"ERR_NOT_FOUND_4: DS-045409 (DATA_SET:ESTAT,1.0) '
             'is not available for dissemination."}]}')
# sources.md 1.6, outage: an HTML page instead of data.
HTML_OUTAGE = ('<!DOCTYPE html>\n<html lang="en" class="no-js">\n<head><title>Eurostat - Service unavailable'
               "</title></head>\n<body>Our services are temporarily unavailable.</body>\n</html>\n")
ASYNC_KEY = "0a1b2c3d-4e5f-6789-abcd-ef0123456789"
# Hand-written per sources.md 1.5/1.7 (as in test_eurostat_fetch.py): a queued extraction's message.
ASYNC_BODY = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>'
    '<ns0:syncResponse xmlns:ns0="http://estat.ec.europa.eu/disschain/soap/extraction">'
    f"<queued><id>{ASYNC_KEY}</id><status>SUBMITTED</status>"
    "<message>ASYNCHRONOUS_RESPONSE: the extraction was queued</message></queued>"
    "</ns0:syncResponse></S:Body></S:Envelope>"
)
STATUS_URL = f"{BASE}/1.0/async/status/{ASYNC_KEY}"
ASYNC_DATA_URL = f"{BASE}/1.0/async/data/{ASYNC_KEY}"


def status_body(status: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>'
        '<ns0:getStatusResponse xmlns:ns0="http://estat.ec.europa.eu/disschain/soap/asyncextraction">'
        f"<key>{ASYNC_KEY}</key><status>{status}</status></ns0:getStatusResponse></S:Body></S:Envelope>"
    )


# -- helpers ---------------------------------------------------------------------------------------


def raw_rows(path: Path) -> list[dict[str, str]]:
    """Data rows of a CSV file as dicts of strings, read with the csv module only."""
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def lines(path: Path = MONTHLY) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def body_for(periods: set[str], path: Path = MONTHLY) -> bytes:
    """The fixture's header and the rows of the given TIME_PERIODs (as Eurostat would answer)."""
    header, *rows = lines(path)
    return (header + "".join(r for r in rows if r.split(",")[8] in periods)).encode()


def one(frame: pd.DataFrame, **match) -> pd.Series:
    rows = frame
    for column, value in match.items():
        rows = rows[rows[column] == value]
    assert len(rows) == 1, f"{len(rows)} rows match {match}"
    return rows.iloc[0]


def mutate(header: str | None = None, rows: list[str] | None = None) -> bytes:
    """The monthly fixture with its header and/or data rows replaced."""
    head, *data = lines()
    return ((header or head) + "".join(rows if rows is not None else data)).encode()


ROW = ("ESTAT:DS-045409(1.0),16/07/25 11:00:00,M,{reporter},{partner},{product},{flow},{ind},{period},"
       "{value},,\n")


def row(reporter="DE", partner="KZ", product="27090090", flow="1", ind="VALUE_IN_EUROS", period="2023-01",
        value="1") -> str:
    return ROW.format(reporter=reporter, partner=partner, product=product, flow=flow, ind=ind,
                      period=period, value=value)


@pytest.fixture(scope="module")
def monthly() -> pd.DataFrame:
    return comext.read(MONTHLY)


@pytest.fixture
def rsps(mocked_responses):
    return mocked_responses


def add_data(rsps, status: int = 200, params: dict | None = None, url: str = URL, **kwargs) -> None:
    kwargs.setdefault("body", MONTHLY.read_bytes())
    kwargs.setdefault("content_type", CSV_TYPE)
    rsps.add(responses.GET, url, status=status,
             match=[matchers.query_param_matcher(params if params is not None else PARAMS)], **kwargs)


def called(rsps) -> list[tuple[str, str | None, str | None]]:
    """(path, startPeriod, endPeriod) of every request sent."""
    out = []
    for call in rsps.calls:
        parts = urlsplit(call.request.url)
        query = parse_qs(parts.query)
        out.append((f"{parts.scheme}://{parts.netloc}{parts.path}", *(query.get(k, [None])[0]
                                                                      for k in ("startPeriod", "endPeriod"))))
    return out


# == read: SDMX-CSV =====================================================================================


def test_read_values_typed_from_the_fixture(monthly):
    schema.validate(monthly)
    assert list(monthly.columns) == list(schema.COLUMNS)
    kz = one(monthly, partner="KZ", grade="27090090", period=pd.Timestamp("2023-01-01"))
    assert kz["mass_t"] == pytest.approx(845_678.9)  # 8,456,789 x 100 kg
    assert kz["value"] == 497_654_321
    assert kz["currency"] == "EUR"
    assert (kz["source"], kz["dataset"], kz["reporter"], kz["flow"], kz["freq"], kz["product"]) == (
        "comext", "ds-045409", "DE", "import", "M", "crude_oil")
    assert kz["vintage"] == VINTAGE
    assert pd.isna(kz["flag"]) and pd.isna(kz["volume_bbl"])
    ru = one(monthly, partner="RU", grade="27090090", period=pd.Timestamp("2022-12-01"))
    assert ru["mass_t"] == pytest.approx(987_654.32)
    assert ru["value"] == 612_345_678


def test_read_every_quantity_is_the_raw_value_divided_by_ten(monthly):
    raw = [r for r in raw_rows(MONTHLY) if r["indicators"] == "QUANTITY_IN_100KG" and r["OBS_VALUE"]]
    assert len(raw) == 11
    for r in raw:
        partner = {"QZ": "CONFIDENTIAL_EXTRA_EU"}.get(r["partner"], r["partner"])
        got = one(monthly, partner=partner, grade=r["product"], period=pd.Timestamp(r["TIME_PERIOD"] + "-01"))
        assert got["mass_t"] == pytest.approx(float(r["OBS_VALUE"]) / 10, rel=1e-12)


def test_read_shape(monthly):
    # 24 data lines = 12 (quantity, value) pairs -> 12 rows, one per partner x CN8 x month.
    assert len(lines()) - 1 == 24
    assert len(monthly) == 12
    assert set(monthly["partner"]) == {"KZ", "RU", "WORLD", "EU27_2020_EXTRA", "CONFIDENTIAL_EXTRA_EU"}
    assert set(monthly["grade"]) == {"27090010", "27090090"}
    assert set(monthly["product"]) == {"crude_oil"}
    assert list(monthly["period"].drop_duplicates().sort_values().dt.strftime("%Y-%m")) == [
        "2022-12", "2023-01", "2023-02"]


def test_confidential_cell_is_null_with_flag_c(monthly):
    cell = one(monthly, partner="KZ", grade="27090010", period=pd.Timestamp("2023-01-01"))
    assert cell["flag"] == "c"  # CONF_STATUS C folded into "c"
    assert pd.isna(cell["mass_t"]) and pd.isna(cell["value"]) and pd.isna(cell["currency"])


def test_other_flags_and_real_zeros_are_kept(monthly):
    provisional = one(monthly, partner="KZ", grade="27090010", period=pd.Timestamp("2023-02-01"))
    assert provisional["flag"] == "p"
    assert provisional["mass_t"] == pytest.approx(25_000.0)
    zero = one(monthly, partner="RU", grade="27090090", period=pd.Timestamp("2023-01-01"))
    assert zero["mass_t"] == 0.0 and zero["value"] == 0.0  # a zero stays zero, not missing
    # RU has no row at all in 2023-02: nothing is invented.
    assert monthly[(monthly["partner"] == "RU") & (monthly["period"] == "2023-02-01")].empty


def test_row_flag_is_the_mass_flag():
    # Value confidential, mass disclosed and estimated: the row keeps its mass and the mass's flag.
    rows = [row(ind="QUANTITY_IN_100KG", value="500").replace(",,\n", ",e,\n"),
            row(ind="VALUE_IN_EUROS", value="").replace(",,\n", ",,C\n")]
    got = one(comext.read(mutate(rows=rows)), partner="KZ")
    assert got["flag"] == "e" and got["mass_t"] == 50.0 and pd.isna(got["value"])
    # No mass row at all: the value's flag.
    got = one(comext.read(mutate(rows=[row(value="7").replace(",,\n", ",p,\n")])), partner="KZ")
    assert got["flag"] == "p" and got["value"] == 7 and pd.isna(got["mass_t"])


def test_a_confidential_mass_never_leaks():
    # A mass cell marked confidential but carrying a number: the number is dropped, not published.
    rows = [row(ind="QUANTITY_IN_100KG", value="500").replace(",,\n", ",,C\n"), row(value="9")]
    frame = comext.read(mutate(rows=rows))
    schema.validate(frame)
    got = one(frame, partner="KZ")
    assert got["flag"] == "c" and pd.isna(got["mass_t"]) and got["value"] == 9


def test_partner_codes(monthly):
    secret = one(monthly, partner="CONFIDENTIAL_EXTRA_EU")
    assert secret["mass_t"] == pytest.approx(1_234.56) and pd.isna(secret["flag"])
    for partner in ("EU27_2020_EXTRA", "CONFIDENTIAL_EXTRA_EU", "WORLD"):
        assert not codes.is_iso_country(partner)


def test_world_exceeds_kz_and_ru(monthly):
    jan = monthly[monthly["period"] == "2023-01-01"]
    world = jan.loc[jan["partner"] == "WORLD", "mass_t"].sum()
    assert world == pytest.approx(7_123_456.78 + 123_456.7)
    assert world > jan.loc[jan["partner"].isin(["KZ", "RU"]), "mass_t"].sum()


def test_annual_layout_without_flag_columns():
    frame = comext.read(ANNUAL)
    schema.validate(frame)
    assert len(frame) == 3
    assert set(frame["freq"]) == {"A"}
    assert set(frame["period"]) == {pd.Timestamp("2022-01-01")}
    assert frame["flag"].isna().all()
    gb = one(frame, partner="GB")  # Eurostat UK -> ISO GB
    assert gb["mass_t"] == pytest.approx(2_123_456.7)
    assert gb["value"] == 1_512_345_678
    export = one(frame, flow="export")
    assert (export["partner"], export["mass_t"], export["value"]) == ("PL", pytest.approx(123.45), 98_765)
    assert frame["vintage"].unique().tolist() == [pd.Timestamp("2025-09-15 11:00:00")]


def test_gzip_and_file_objects_read_the_same(monthly):
    pd.testing.assert_frame_equal(comext.read(gzip.compress(MONTHLY.read_bytes())), monthly)
    with MONTHLY.open("rb") as fh:
        pd.testing.assert_frame_equal(comext.read(fh), monthly)


def test_last_update_as_a_date_alone():
    header, *rows = lines()
    body = header + "".join(r.replace("16/07/25 11:00:00", "16/07/25") for r in rows)
    assert comext.read(body.encode())["vintage"].unique().tolist() == [pd.Timestamp("2025-07-16")]


def test_supplementary_quantity_is_ignored(monthly):
    extra = row(ind="SUPPLEMENTARY_QUANTITY", value="123")
    pd.testing.assert_frame_equal(comext.read(mutate(rows=lines()[1:] + [extra])), monthly)


def test_reporter_el_uk_and_unknown_partners():
    rows = [row(reporter="EL", partner="KZ"), row(reporter="UK", partner="QA"),
            row(reporter="DE", partner="QM"), row(reporter="DE", partner="XS"),
            row(reporter="EU27_2020", partner="EXT_EU27_2020")]
    frame = comext.read(mutate(rows=rows))
    got = set(zip(frame["reporter"], frame["partner"], strict=True))
    assert got == {("GR", "KZ"), ("GB", "QA"), ("DE", "COMEXT_QM"), ("DE", "RS"),
                   ("EU27_2020", "EU27_2020_EXTRA")}


@pytest.mark.parametrize(
    ("code", "expected"),
    [("KZ", "KZ"), ("EL", "GR"), ("UK", "GB"), ("WORLD", "WORLD"), ("TOTAL", "WORLD"), ("QA", "QA"),
     ("QP", "HIGH_SEAS"), ("QV", "NOT_SPECIFIED_INTRA_EU"), ("QX", "CONFIDENTIAL"), ("QT", "COMEXT_QT"),
     ("XC", "CEUTA"), ("XL", "MELILLA"), ("XK", "XK"), ("XI", "UK_NORTHERN_IRELAND"), ("", "UNKNOWN"),
     ("EU27_2020_INTRA", "EU27_2020_INTRA"), ("INT_EU27_2020", "EU27_2020_INTRA")],
)
def test_partner_code(code, expected):
    assert comext.partner_code(code) == expected


def test_mapped_partner_codes_are_documented():
    for canonical in set(comext.PARTNER_CODES.values()):
        assert canonical in comext.PARTNER_REGIONS or codes.is_iso_country(canonical) or canonical == "WORLD"


@pytest.mark.parametrize(
    ("code", "expected"),
    [("27090090", ("crude_oil", "27090090")), ("27090010", ("crude_oil", "27090010")),
     ("2709", ("crude_oil", None)), ("270900", ("crude_oil", None)), ("2709XXXX", ("crude_oil", "2709XXXX")),
     ("27101943", ("cn_27101943", None)), ("27", ("cn_27", None)), ("27XXXXXX", ("cn_27XXXXXX", None))],
)
def test_product_and_grade(code, expected):
    assert comext.product_and_grade(code) == expected


def test_heading_level_rows_read_with_null_grade():
    frame = comext.read(mutate(rows=[row(product="2709", ind="QUANTITY_IN_100KG", value="50"),
                                     row(product="2709", value="3000")]))
    got = one(frame, product="crude_oil")
    assert pd.isna(got["grade"]) and got["mass_t"] == 5.0 and got["value"] == 3000


# -- combine_cn8 / sum_cn8 -------------------------------------------------------------------------


def test_combine_cn8(monthly):
    combined = comext.read(MONTHLY, combine_cn8=True)
    schema.validate(combined)
    assert combined["grade"].isna().all()
    assert len(combined) == 8  # 12 rows, 4 keys with both CN8 codes
    ru = one(combined, partner="RU", period=pd.Timestamp("2022-12-01"))
    assert ru["mass_t"] == pytest.approx((9_876_543.2 + 180_000) / 10)
    assert ru["value"] == 612_345_678 + 9_876_543
    feb = one(combined, partner="KZ", period=pd.Timestamp("2023-02-01"))
    assert feb["mass_t"] == pytest.approx(698_765.43 + 25_000) and feb["flag"] == "p"
    # A confidential part makes the total unknown, not understated.
    jan = one(combined, partner="KZ", period=pd.Timestamp("2023-01-01"))
    assert pd.isna(jan["mass_t"]) and pd.isna(jan["value"]) and jan["flag"] == "c"
    # Totals over the disclosed parts are unchanged where every part is disclosed.
    complete = combined["mass_t"].notna()
    keys = ["partner", "period"]
    by_key = monthly.groupby(keys)["mass_t"].sum().reindex(pd.MultiIndex.from_frame(combined.loc[complete,
                                                                                                keys]))
    assert np.allclose(by_key.to_numpy(), combined.loc[complete, "mass_t"].to_numpy())


def test_sum_cn8_leaves_other_sources_alone(monthly):
    other = monthly.head(2).assign(source="eurostat", dataset="nrg_ti_coifpm", grade=["KZ_CPC_BLN", "KZ_MSC"],
                                   partner="KZ", period=pd.Timestamp("2020-01-01"))
    mixed = pd.concat([monthly, other], ignore_index=True)
    out = comext.sum_cn8(mixed)
    assert set(out.loc[out["source"] == "eurostat", "grade"]) == {"KZ_CPC_BLN", "KZ_MSC"}


def test_sum_cn8_refuses_to_collide_with_heading_rows(monthly):
    heading = monthly.head(1).assign(grade=None)
    with pytest.raises(SchemaError, match="collide"):
        comext.sum_cn8(pd.concat([monthly, heading], ignore_index=True))


# -- read: errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        (b"", ["empty"]),
        (b"  \n", ["empty"]),
        (HTML_OUTAGE.encode(), ["HTML", "Service unavailable"]),
        (NOT_FOUND.encode(), ["JSON", "ERR_NOT_FOUND_4"]),
        (b"a,b,c\n1,2,3\n", ["not SDMX-CSV"]),
    ],
)
def test_read_rejects_non_data(body, fragments):
    with pytest.raises(SourceFormatError) as info:
        comext.read(body, name="resp")
    for fragment in fragments:
        assert fragment in str(info.value)
    assert str(info.value).startswith("resp")


def test_header_only_is_an_error_for_read():
    with pytest.raises(SourceFormatError, match="no observations"):
        comext.read(lines()[0].encode())


def test_missing_dimension_column():
    header = lines()[0].replace("indicators,", "")
    rows = [",".join(r.split(",")[:7] + r.split(",")[8:]) for r in lines()[1:]]
    with pytest.raises(SourceFormatError) as info:
        comext.read(mutate(header, rows))
    assert info.value.field == "indicators"


def test_unexpected_column_is_a_changed_layout():
    header = lines()[0].replace("flow,", "flow,stat_procedure,")
    rows = [r.replace(",1,", ",1,1,", 1) for r in lines()[1:]]
    with pytest.raises(SourceFormatError, match="layout of DS-045409 changed") as info:
        comext.read(mutate(header, rows))
    assert info.value.field == "stat_procedure"


def test_other_dataflow():
    body = MONTHLY.read_text().replace("ESTAT:DS-045409(1.0)", "ESTAT:DS-059341(1.0)")
    with pytest.raises(SourceFormatError, match="DS-059341") as info:
        comext.read(body.encode())
    assert info.value.field == "DATAFLOW"


@pytest.mark.parametrize(
    ("rows", "field", "fragment"),
    [
        ([row(ind="VALUE_EUR")], "indicators", "unknown indicators ['VALUE_EUR']"),
        ([row(flow="3")], "flow", "unknown flow codes ['3']"),
        ([row(period="2023-13")], "TIME_PERIOD", "unreadable periods"),
        ([row(), row()], "OBS_VALUE", "duplicate"),
        ([row(partner="EXT_EU27_2020"), row(partner="EU27_2020_EXTRA")], "partner", "share a key"),
        ([row(product="2709"), row(product="27090090")], "product", "overlap"),
        ([row(ind="SUPPLEMENTARY_QUANTITY")], "indicators", "no observations"),
        ([row().replace(",M,", ",Q,")], "freq", "frequencies"),
    ],
)
def test_read_rejects_bad_content(rows, field, fragment):
    with pytest.raises(SourceFormatError) as info:
        comext.read(mutate(rows=rows))
    assert info.value.field == field
    assert fragment in str(info.value)


def test_truncated_csv_body():
    body = MONTHLY.read_bytes()
    with pytest.raises(SourceFormatError, match="malformed"):
        comext.read(body[: body.index(b"\n", 500) + 30], name="cut")


def test_truncated_gzip_body():
    data = gzip.compress(MONTHLY.read_bytes())
    with pytest.raises(SourceFormatError, match="truncated"):
        comext.read(data[: len(data) // 2])


# == request_url ========================================================================================


def test_request_url_matches_the_documented_example_byte_for_byte():
    url, params = comext.request_url("DE", ("KZ", "RU"), ("27090090", "27090010"), "import", start="2020-01")
    assert requests.Request("GET", url, params=params).prepare().url == DOC_EXAMPLE


def test_request_url_matches_the_documented_template():
    url, params = comext.request_url("DE", "KZ", "27090090", 1, start="2024-01", end="2024-12")
    expected = DOC_TEMPLATE.format(freq="M", reporter="DE", partner="KZ", product="27090090", flow="1",
                                   indicators="VALUE_IN_EUROS+QUANTITY_IN_100KG")
    assert requests.Request("GET", url, params=params).prepare().url == expected


def test_request_url_defaults_and_wildcards():
    url, params = comext.request_url()
    assert url == URL
    assert params == {"format": "SDMX-CSV"}
    url, params = comext.request_url("de", None, None, ("import", "export"), freq="a",
                                     indicators="VALUE_IN_EUROS", start="2020", end="2022")
    assert url == f"{DATA}/A.DE...1+2.VALUE_IN_EUROS"
    assert list(params.items()) == [("startPeriod", "2020"), ("endPeriod", "2022"), ("format", "SDMX-CSV")]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"reporter": "004"}, "bad reporter codes ['004']"),
        ({"partner": ("KZ", "1A")}, "numeric Comext codes"),
        ({"product": "2709001000"}, "CN8 is the finest"),
        ({"product": ()}, "bad product codes"),
        ({"flow": "re-export"}, "flow 're-export'"),
        ({"flow": 3}, "flow 3"),
        ({"freq": "Q"}, "freq 'Q'"),
        ({"indicators": "VALUE_EUR"}, "unknown indicators ['VALUE_EUR']"),
        ({"start": "2020-13"}, "startPeriod '2020-13'"),
        ({"end": "2020/01"}, "endPeriod '2020/01'"),
        ({"freq": "A", "start": "2020-01"}, "freq A takes YYYY"),
        ({"partner": "KZ;DROP"}, "bad partner codes"),
    ],
)
def test_request_url_rejects(kwargs, fragment):
    with pytest.raises(QueryError) as info:
        comext.request_url(**kwargs)
    assert fragment in str(info.value)


def test_fetch_rejects_bad_query_without_a_request(rsps):
    with pytest.raises(QueryError):
        comext.fetch(reporter="004")
    assert len(rsps.calls) == 0


# == split_query ========================================================================================


def test_split_query_by_period_then_partner_then_product():
    query = comext.build_query(start="2022-12", end="2023-02")
    first, second = comext.split_query(query)
    assert (first.start, first.end, second.start, second.end) == ("2022-12", "2023-01", "2023-02", "2023-02")
    assert first.partner == second.partner == ("KZ", "RU")
    single = comext.build_query(start="2023-02", end="2023-02")
    by_partner = comext.split_query(single)
    assert [q.partner for q in by_partner] == [("KZ",), ("RU",)]
    by_product = comext.split_query(by_partner[0])
    assert [q.product for q in by_product] == [("27090010",), ("27090090",)]
    assert comext.split_query(by_product[0]) == []


def test_split_query_years_and_whole_year_bounds():
    parts = comext.split_query(comext.build_query(start="2020", end="2021"))
    assert [(q.start, q.end) for q in parts] == [("2020-01", "2020-12"), ("2021-01", "2021-12")]
    annual = comext.split_query(comext.build_query(freq="A", start="2018", end="2022"))
    assert [(q.start, q.end) for q in annual] == [("2018", "2020"), ("2021", "2022")]
    assert comext.split_query(comext.build_query(partner=None, product="27090090")) == []


# == fetch ==============================================================================================


def test_fetch_replays_the_fixture(rsps, monthly):
    add_data(rsps)
    got = comext.fetch(**QUERY)
    pd.testing.assert_frame_equal(got, monthly)
    assert len(rsps.calls) == 1
    assert rsps.calls[0].request.url.startswith(URL + "?")


def test_fetch_combine_cn8(rsps):
    add_data(rsps)
    got = comext.fetch(combine_cn8=True, **QUERY)
    pd.testing.assert_frame_equal(got, comext.read(MONTHLY, combine_cn8=True))


def test_retry_after_503(rsps, monthly):
    add_data(rsps, status=503, body="Service Unavailable", content_type="text/plain")
    add_data(rsps)
    pd.testing.assert_frame_equal(comext.fetch(**QUERY), monthly)
    assert [c.response.status_code for c in rsps.calls] == [503, 200]


def test_retry_after_429_with_retry_after(rsps, monthly):
    add_data(rsps, status=429, body="Too Many Requests", content_type="text/plain",
             headers={"Retry-After": "0"})
    add_data(rsps)
    pd.testing.assert_frame_equal(comext.fetch(**QUERY), monthly)
    assert [c.response.status_code for c in rsps.calls] == [429, 200]


def test_retries_exhausted(rsps):
    add_data(rsps, status=502, body="Bad Gateway", content_type="text/plain")
    with pytest.raises(FetchError) as info:
        comext.fetch(**QUERY)
    assert info.value.status == 502
    assert URL in str(info.value)
    assert len(rsps.calls) == 5  # the first try and 4 retries


@pytest.mark.parametrize("error", [requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout])
def test_timeout(rsps, error):
    add_data(rsps, body=error("timed out"))
    with pytest.raises(FetchError) as info:
        comext.fetch(**QUERY)
    assert "timed out" in str(info.value) and URL in str(info.value)
    assert "\n" not in str(info.value)


def test_no_network(rsps):
    add_data(rsps, body=requests.exceptions.ConnectionError("Failed to resolve 'ec.europa.eu'"))
    with pytest.raises(FetchError, match="no network"):
        comext.fetch(**QUERY)


def test_too_big_is_split_by_period_and_retried(rsps, monthly):
    add_data(rsps, status=413, body=TOO_BIG, content_type="text/xml")
    add_data(rsps, params={"startPeriod": "2022-12", "endPeriod": "2023-01", "format": "SDMX-CSV"},
             body=body_for({"2022-12", "2023-01"}))
    add_data(rsps, params={"startPeriod": "2023-02", "endPeriod": "2023-02", "format": "SDMX-CSV"},
             body=body_for({"2023-02"}))
    got = comext.fetch(**QUERY)
    pd.testing.assert_frame_equal(got, monthly)
    assert called(rsps) == [(URL, "2022-12", "2023-02"), (URL, "2022-12", "2023-01"),
                            (URL, "2023-02", "2023-02")]


def test_too_big_splits_recursively_and_skips_empty_parts(rsps, monthly):
    add_data(rsps, status=413, body=TOO_BIG, content_type="text/xml")
    first = {"startPeriod": "2022-12", "endPeriod": "2023-01", "format": "SDMX-CSV"}
    add_data(rsps, status=413, params=first, body=SIZE_LIMIT, content_type="text/xml")
    for period, body in (("2022-12", NO_RESULTS), ("2023-01", None), ("2023-02", None)):
        status = 404 if body else 200
        params = {"startPeriod": period, "endPeriod": period, "format": "SDMX-CSV"}
        add_data(rsps, status=status, params=params, body=body or body_for({period}),
                 content_type="text/xml" if body else CSV_TYPE)
    got = comext.fetch(**QUERY)
    expected = monthly[monthly["period"] != "2022-12-01"].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected)
    assert [c[1] for c in called(rsps)] == ["2022-12", "2022-12", "2022-12", "2023-01", "2023-02"]


def test_too_big_without_period_splits_partners(rsps, monthly):
    add_data(rsps, status=413, params={"format": "SDMX-CSV"}, body=TOO_BIG, content_type="text/xml")
    kz_rows = "".join(r for r in lines()[1:] if ",KZ," in r)
    ru_rows = "".join(r for r in lines()[1:] if ",RU," in r)
    for partner, data in (("KZ", kz_rows), ("RU", ru_rows)):
        add_data(rsps, url=URL.replace("KZ+RU", partner), params={"format": "SDMX-CSV"},
                 body=(lines()[0] + data).encode())
    got = comext.fetch()
    assert set(got["partner"]) == {"KZ", "RU"}
    assert len(got) == 8
    expected = monthly[monthly["partner"].isin(["KZ", "RU"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected)


def test_too_big_that_cannot_be_split(rsps):
    url = f"{DATA}/M.DE.KZ.27090090.1.VALUE_IN_EUROS+QUANTITY_IN_100KG"
    params = {"startPeriod": "2023-01", "endPeriod": "2023-01", "format": "SDMX-CSV"}
    add_data(rsps, status=413, url=url, params=params, body=TOO_BIG, content_type="text/xml")
    with pytest.raises(FetchError) as info:
        comext.fetch("DE", "KZ", "27090090", start="2023-01", end="2023-01")
    assert info.value.status == 413
    assert "cannot be split" in str(info.value) and "5000000" in str(info.value)
    assert len(rsps.calls) == 1  # never retried as such


def test_too_big_gives_up_after_max_requests(rsps):
    rsps.add(responses.GET, URL, status=413, body=TOO_BIG, content_type="text/xml")
    with pytest.raises(FetchError, match="max_requests"):
        comext.fetch(start="2000-01", end="2023-12", max_requests=5)
    assert len(rsps.calls) == 5


def test_other_413_is_an_error(rsps):
    body = "<S:Fault><faultcode>130</faultcode><faultstring>Bad client request</faultstring></S:Fault>"
    add_data(rsps, status=413, body=body, content_type="text/xml")
    with pytest.raises(FetchError, match="Bad client request") as info:
        comext.fetch(**QUERY)
    assert info.value.status == 413
    assert len(rsps.calls) == 1


@pytest.mark.parametrize(("status", "body"), [(404, NO_RESULTS), (200, lines()[0])])
def test_no_results_is_an_empty_frame_with_a_warning(rsps, status, body):
    add_data(rsps, status=status, body=body, content_type="text/xml" if status == 404 else CSV_TYPE)
    with pytest.warns(UserWarning, match="check the codes"):
        got = comext.fetch(**QUERY)
    assert len(got) == 0
    assert schema.to_table(got).schema.equals(schema.SCHEMA)


def test_unknown_dataflow_404(rsps):
    add_data(rsps, status=404, body=NOT_FOUND, content_type="application/json")
    with pytest.raises(FetchError) as info:
        comext.fetch(**QUERY)
    assert info.value.status == 404 and "ERR_NOT_FOUND_4" in str(info.value)


def test_html_outage_page(rsps):
    add_data(rsps, body=HTML_OUTAGE, content_type="text/html")
    with pytest.raises(FetchError) as info:
        comext.fetch(**QUERY)
    assert "HTML" in str(info.value) and "Service unavailable" in str(info.value)
    assert info.value.status == 200


def test_truncated_body_names_the_url(rsps):
    add_data(rsps, body=MONTHLY.read_bytes()[:700])
    with pytest.raises(SourceFormatError) as info:
        comext.fetch(**QUERY)
    assert "ec.europa.eu/eurostat/api/comext" in str(info.value)


def test_truncated_gzip_body_names_the_url(rsps):
    data = gzip.compress(MONTHLY.read_bytes())
    add_data(rsps, body=data[: len(data) // 2])
    with pytest.raises(SourceFormatError, match="truncated") as info:
        comext.fetch(**QUERY)
    assert "ec.europa.eu/eurostat/api/comext" in str(info.value)


def test_response_too_large_fault_130_is_split_too(rsps, monthly):
    fault = ("<S:Fault><faultcode>130</faultcode><faultstring>Response too large due to client request"
             "</faultstring></S:Fault>")
    add_data(rsps, status=413, body=fault, content_type="text/xml")
    add_data(rsps, params={"startPeriod": "2022-12", "endPeriod": "2023-01", "format": "SDMX-CSV"},
             body=body_for({"2022-12", "2023-01"}))
    add_data(rsps, params={"startPeriod": "2023-02", "endPeriod": "2023-02", "format": "SDMX-CSV"},
             body=body_for({"2023-02"}))
    pd.testing.assert_frame_equal(comext.fetch(**QUERY), monthly)


def test_changed_column_set_in_a_response(rsps):
    header = lines()[0].replace("TIME_PERIOD", "time")
    add_data(rsps, body=mutate(header))
    with pytest.raises(SourceFormatError, match="TIME_PERIOD"):
        comext.fetch(**QUERY)


@pytest.mark.parametrize("first_status", [200, 413])
def test_async_extraction_on_the_comext_host(rsps, monthly, first_status):
    add_data(rsps, status=first_status, body=ASYNC_BODY, content_type="text/xml")
    rsps.add(responses.GET, STATUS_URL, body=status_body("PROCESSING"), content_type="text/xml")
    rsps.add(responses.GET, STATUS_URL, body=status_body("AVAILABLE"), content_type="text/xml")
    rsps.add(responses.GET, ASYNC_DATA_URL, body=gzip.compress(MONTHLY.read_bytes()), content_type=CSV_TYPE)
    got = comext.fetch(poll_seconds=0, **QUERY)
    pd.testing.assert_frame_equal(got, monthly)
    assert [c[0] for c in called(rsps)] == [URL, STATUS_URL, STATUS_URL, ASYNC_DATA_URL]


@pytest.mark.parametrize("final", ["ERROR", "EXPIRED", "UNKNOWN_REQUEST"])
def test_async_extraction_fails(rsps, final):
    add_data(rsps, body=ASYNC_BODY, content_type="text/xml")
    rsps.add(responses.GET, STATUS_URL, body=status_body("SUBMITTED"), content_type="text/xml")
    rsps.add(responses.GET, STATUS_URL, body=status_body(final), content_type="text/xml")
    with pytest.raises(FetchError) as info:
        comext.fetch(poll_seconds=0, **QUERY)
    assert final in str(info.value) and ASYNC_KEY in str(info.value)


def test_async_extraction_gives_up(rsps):
    add_data(rsps, body=ASYNC_BODY, content_type="text/xml")
    rsps.add(responses.GET, STATUS_URL, body=status_body("PROCESSING"), content_type="text/xml")
    with pytest.raises(FetchError, match="still PROCESSING"):
        comext.fetch(poll_seconds=0, max_wait_seconds=0, **QUERY)


# == bulk files =========================================================================================


def bulk_expected() -> dict[tuple[str, str, str, str], tuple[float, float]]:
    """Chapter-27 rows of the bulk sample summed with the csv module: key -> (EUR, kg)."""
    out: dict[tuple[str, str, str, str], tuple[float, float]] = {}
    for r in raw_rows(BULK):
        if r["PRODUCT_NC"].startswith("27"):
            key = (r["REPORTER"], r["PARTNER"], r["PRODUCT_NC"], r["FLOW"])
            value, kg = out.get(key, (0.0, 0.0))
            out[key] = (value + float(r["VALUE_EUR"]), kg + float(r["QUANTITY_KG"]))
    return out


@pytest.fixture(scope="module")
def bulk() -> pd.DataFrame:
    return comext.read_bulk(BULK)


def test_bulk_chapter_27(bulk):
    schema.validate(bulk)
    expected = bulk_expected()
    assert len(bulk) == len(expected) == 11
    assert set(bulk["freq"]) == {"M"} and set(bulk["period"]) == {pd.Timestamp("2024-02-01")}
    assert bulk["vintage"].isna().all() and bulk["flag"].isna().all()
    for (reporter, partner, product, flow), (value, kg) in expected.items():
        canonical_product, grade = comext.product_and_grade(product)
        rows = bulk[(bulk["reporter"] == reporter) & (bulk["partner"] == comext.partner_code(partner))
                    & (bulk["product"] == canonical_product) & (bulk["flow"] == comext.FLOWS[flow])]
        rows = rows[rows["grade"] == grade] if grade else rows[rows["grade"].isna()]
        assert len(rows) == 1
        assert rows.iloc[0]["value"] == value
        assert rows.iloc[0]["mass_t"] == pytest.approx(kg / 1000)


def test_bulk_sums_statistical_procedures(bulk):
    kz = one(bulk, reporter="DE", partner="KZ", grade="27090090")
    assert kz["value"] == 401_234_567 + 12_345_678
    assert kz["mass_t"] == pytest.approx((702_345_678 + 21_098_765) / 1000)  # kg -> t
    normal = comext.read_bulk(BULK, stat_procedures=(1,))
    assert one(normal, reporter="DE", partner="KZ", grade="27090090")["value"] == 401_234_567


def test_bulk_filters():
    crude = comext.read_bulk(BULK, products=comext.CRUDE_CN8, reporters=["DE"], flows=["import"])
    assert set(crude["product"]) == {"crude_oil"} and set(crude["reporter"]) == {"DE"}
    assert set(crude["flow"]) == {"import"}
    assert set(crude["partner"]) == {"KZ", "NO", "CONFIDENTIAL_EXTRA_EU"}
    greece = comext.read_bulk(BULK, reporters="EL")  # Eurostat's code finds the ISO-coded rows
    assert list(greece["reporter"]) == ["GR"]
    kz = comext.read_bulk(BULK, chapters=("2709",), partners=["KZ"])
    assert sorted(kz["reporter"]) == ["DE", "DE", "FR", "GR"]
    everything = comext.read_bulk(BULK, chapters=None)
    assert len(everything) == 11 + 13 + 1  # every row of a distinct key: 13 AT->AD, 1 chapter 84
    assert one(everything, reporter="AT", product="cn_39XXXXXX")["value"] == 89


def test_bulk_combine_cn8(bulk):
    combined = comext.read_bulk(BULK, combine_cn8=True, vintage="2024-04-15")
    no = one(combined, reporter="DE", partner="NO", product="crude_oil")
    assert pd.isna(no["grade"])
    assert no["value"] == 789_012_345 + 23_456_789
    assert no["mass_t"] == pytest.approx((1_334_567_890 + 41_234_567) / 1000)
    assert combined["vintage"].unique().tolist() == [pd.Timestamp("2024-04-15")]


def test_bulk_gzip_and_dat(tmp_path, bulk):
    gz = tmp_path / "full_202402.csv.gz"
    gz.write_bytes(gzip.compress(BULK.read_bytes()))
    pd.testing.assert_frame_equal(comext.read_bulk(gz), bulk)
    dat = tmp_path / "full_202402.dat"
    dat.write_bytes(BULK.read_bytes())
    pd.testing.assert_frame_equal(comext.read_bulk(dat), bulk)


def test_bulk_7z(tmp_path, bulk):
    py7zr = pytest.importorskip("py7zr")
    archive = tmp_path / "full_v2_202402.7z"
    with py7zr.SevenZipFile(archive, "w") as z:
        z.writestr(BULK.read_bytes(), "full_202402.dat")
    pd.testing.assert_frame_equal(comext.read_bulk(archive), bulk)


def test_bulk_7z_truncated_or_with_two_members(tmp_path):
    py7zr = pytest.importorskip("py7zr")
    archive = tmp_path / "full_v2_202402.7z"
    with py7zr.SevenZipFile(archive, "w") as z:
        z.writestr(BULK.read_bytes() * 20, "full_202402.dat")
    cut = tmp_path / "cut.7z"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(SourceFormatError, match="truncated or corrupt") as info:
        comext.read_bulk(cut)
    assert "cut.7z" in str(info.value)
    two = tmp_path / "two.7z"
    with py7zr.SevenZipFile(two, "w") as z:
        z.writestr(b"x", "a.dat")
        z.writestr(b"y", "b.dat")
    with pytest.raises(SourceFormatError, match="one data file"):
        comext.read_bulk(two)


def test_bulk_7z_without_py7zr_names_the_extra(tmp_path, monkeypatch):
    archive = tmp_path / "full_v2_202402.7z"
    archive.write_bytes(b"7z\xbc\xaf\x27\x1c" + b"\0" * 32)
    monkeypatch.setitem(sys.modules, "py7zr", None)
    with pytest.raises(ImportError, match=r"oilflows\[comext\]"):
        comext.read_bulk(archive)


def test_bulk_annual_period_and_v1_layout(tmp_path):
    v1 = tmp_path / "full202252.dat"
    v1.write_text(
        "DECLARANT,DECLARANT_ISO,PARTNER,PARTNER_ISO,TRADE_TYPE,PRODUCT_NC,PRODUCT_SITC,PRODUCT_CPA2002,"
        "PRODUCT_CPA2008,PRODUCT_CPA2_1,PRODUCT_BEC,PRODUCT_SECTION,FLOW,STAT_REGIME,SUPP_UNIT,PERIOD,"
        "VALUE_IN_EUROS,QUANTITY_IN_KG,SUP_QUANTITY\n"
        "004,DE,0000,KZ,E,27090090,33300,1110,0610,0610,31,05,1,1,NO_SU,202252,6123456789,9456789012,0\n"
    )
    frame = comext.read_bulk(v1)
    got = one(frame, partner="KZ")
    assert (got["freq"], got["period"]) == ("A", pd.Timestamp("2022-01-01"))
    assert got["mass_t"] == pytest.approx(9_456_789.012)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("REPORTER,PARTNER,PRODUCT_NC,FLOW,PERIOD,VALUE_EUR\nDE,KZ,27090090,1,202402,1\n", "QUANTITY_KG"),
        (BULK.read_text().replace(",202402,401234567,", ",2024-02,401234567,"), "unreadable periods"),
        (BULK.read_text().replace(",401234567,401234567,", ",4O1234567,401234567,"), "malformed"),
        (BULK.read_text()[:-40], "malformed"),
        (BULK.read_text().replace("DE,KZ,E,27090010,33300,0620,0620,31,111000,05,1,1",
                                  "DE,KZ,E,27090010,33300,0620,0620,31,111000,05,3,1"), "unknown flow"),
    ],
)
def test_bulk_bad_files(tmp_path, text, fragment):
    path = tmp_path / "full_202402.dat"
    path.write_text(text)
    with pytest.raises(SourceFormatError, match=fragment) as info:
        comext.read_bulk(path)
    assert str(path) in str(info.value)


def test_bulk_truncated_gzip(tmp_path):
    path = tmp_path / "full_202402.csv.gz"
    data = gzip.compress((BULK.read_text() * 40).encode())
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceFormatError, match="truncated or corrupt|malformed"):
        comext.read_bulk(path)


def test_bulk_missing_file(tmp_path):
    with pytest.raises(SourceFormatError, match="cannot read file"):
        comext.read_bulk(tmp_path / "nope.7z")


def test_bulk_argument_checks_are_immediate():
    with pytest.raises(QueryError, match="not in chapters"):
        comext.iter_bulk(BULK, chapters=("27",), products=("84713000",))
    with pytest.raises(QueryError, match="chunk_rows"):
        comext.iter_bulk(BULK, chunk_rows=0)
    with pytest.raises(QueryError, match="flow"):
        comext.iter_bulk(BULK, flows=("transit",))


def big_bulk(path: Path, rows: int) -> Path:
    """A bulk v2 file of `rows` rows: row i has 1 EUR and i kg; every 10th is DE crude from KZ, the rest
    chapter 84."""
    header = lines(BULK)[0]
    buf = io.StringIO()
    buf.write(header)
    for i in range(rows):
        product = "27090090" if i % 10 == 0 else "84713000"
        buf.write(f"DE,KZ,E,{product},33300,0610,0610,31,111000,05,1,{1 + i % 2},NO_SU,202402,1,1,{i},0\n")
    path.write_text(buf.getvalue())
    return path


def test_bulk_is_streamed_in_batches_of_chunk_rows(tmp_path, monkeypatch):
    path = big_bulk(tmp_path / "full_202402.dat", 5_000)
    reads: list[int] = []
    parsed: list[int] = []
    real_chunks, real_parse = _comext_stream._file_chunks, _comext_stream._parse

    def spy_chunks(source, block_bytes):
        for chunk in real_chunks(source, block_bytes):
            reads.append(len(chunk))
            yield chunk

    def spy_parse(kept, line_numbers, plan):
        assert len(line_numbers) <= 200, "parsed more rows at once than chunk_rows"
        assert kept.count(b"\n") == len(line_numbers)
        parsed.append(len(line_numbers))
        return real_parse(kept, line_numbers, plan)

    def no_whole_file_read(*args, **kwargs):
        raise AssertionError("the bulk reader must stream, not read the whole file")

    monkeypatch.setattr(_comext_stream, "_file_chunks", spy_chunks)
    monkeypatch.setattr(_comext_stream, "_parse", spy_parse)
    monkeypatch.setattr(pacsv, "open_csv", no_whole_file_read)
    monkeypatch.setattr(pd, "read_csv", no_whole_file_read)
    monkeypatch.setattr(Path, "read_bytes", no_whole_file_read)
    batches = list(comext.iter_bulk(path, chapters=None, chunk_rows=200))
    assert sum(b.num_rows for b in batches) == 5_000
    assert max(b.num_rows for b in batches) <= 200
    assert len(batches) >= math.ceil(5_000 / 200)
    assert max(reads) == 200 * comext.BULK_ROW_BYTES  # blocks of chunk_rows * BULK_ROW_BYTES bytes
    assert len(reads) > 1 and path.stat().st_size > max(reads)
    assert sum(parsed) == 5_000

    frame = comext.read_bulk(path, chunk_rows=200)
    kz = one(frame, partner="KZ")
    assert kz["value"] == 500  # 5,000 rows, every 10th is crude, 1 EUR each
    # kg of rows 0, 10, ..., 4990: 10 x (0 + 1 + ... + 499) = 10 x 124,750 = 1,247,500 kg.
    assert kz["mass_t"] == pytest.approx(1_247.5)


def test_bulk_filtered_batches_hold_only_wanted_rows(tmp_path):
    path = big_bulk(tmp_path / "full_202402.dat", 1_000)
    batches = list(comext.iter_bulk(path, chunk_rows=10))
    assert len(batches) >= 10  # 100 kept rows, at most 10 parsed at a time
    assert max(b.num_rows for b in batches) <= 10
    products = {p for b in batches for p in b.column("product").to_pylist()}
    assert products == {"27090090"}
    assert sum(b.num_rows for b in batches) == 100
    assert batches[0].schema.names == list(comext.BULK_COLUMNS)
