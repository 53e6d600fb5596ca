"""The Eurostat SDMX-CSV reader on bad input (a valid frame or a typed error) and against independent truth.

Property, for every input (``eurostat.read``): it returns a frame that passes
:func:`oilflows.schema.validate` with finite measures, or it raises an
:class:`~oilflows.errors.OilflowsError` whose message names the file. Any other exception fails.

Inputs start from real lines of ``fixtures/eurostat/nrg_ti_coifpm_DE_KZ_RU.csv.gz`` (and the 2025-layout
and nrg_ti_oil fixtures) and are mutated: byte flips and truncation at random offsets (plain and gzip),
truncated gzip, another delimiter, latin-1 / UTF-16 text, an HTML error page, missing or extra columns,
non-numeric values, duplicate keys (the same and conflicting values), impossible periods, an annual
period in a monthly file, random codes and flags. Each kind of bad input also has a test that names
the error it must give (type, file, field, problem).

Generated valid files are read and compared with an independent computation (:func:`expected_rows`,
plain Python over the CSV records: pivot of the indicators, thousands multiplied out, partners from a
hand-written prefix table), as is the whole real file when ``shared/data`` is present.

Hypothesis runs deterministically (``derandomize``) with the example counts of :data:`EXAMPLES`.
"""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from oilflows import schema
from oilflows.errors import OilflowsError, SourceFormatError
from oilflows.sources import eurostat

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "eurostat"
SMALL = FIXTURES / "nrg_ti_coifpm_DE_KZ_RU.csv.gz"
LAYOUT_2025 = FIXTURES / "nrg_ti_coifpm_DE_2025_layout.csv"
OIL_SDMX = FIXTURES / "nrg_ti_oil_DE_annual_sdmx.csv"
NAME = "sample.csv"

#: Examples per property (1,650 in all).
EXAMPLES = {"flips": 500, "truncation": 200, "mutations": 800, "generated": 150}

LINES = gzip.decompress(SMALL.read_bytes()).splitlines(keepends=True)
HEADER = LINES[0]
COLUMNS = HEADER.decode().rstrip("\r\n").split(",")
#: A small real base: DE, four crude codes, every indicator, 2023 (260 lines, confidential cells).
BASE_LINES = [line for line in LINES[1:] if b",DE,2023-" in line and line.split(b",")[3] in
              (b"TOTAL", b"KZ_CPC_BLN", b"KZ_MSC", b"RU_EXP_BLN")]
BASE = HEADER + b"".join(BASE_LINES)
BASE_GZ = gzip.compress(BASE, mtime=0)
BASES = {"coifpm": BASE, "coifpm 2025": LAYOUT_2025.read_bytes(), "oil": OIL_SDMX.read_bytes()}


def fuzz(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def outcome(data: bytes) -> str:
    """Read `data`: "ok" for a valid frame, the error's class name for a typed error naming the file.

    Any other exception propagates; a frame that fails validation raises SchemaError here (outside
    the try), which fails the test.
    """
    try:
        frame = eurostat.read(data, name=NAME)
    except OilflowsError as exc:
        assert NAME in str(exc), f"the error does not name the file: {exc}"
        if isinstance(exc, SourceFormatError):
            assert exc.source == NAME and exc.problem
        event(type(exc).__name__)
        return type(exc).__name__
    assert schema.validate(frame) is frame
    for column in schema.MEASURES:
        assert np.isfinite(frame[column].dropna().to_numpy(dtype=float)).all(), column
    event("valid frame")
    return "ok"


def error(data: bytes) -> SourceFormatError:
    with pytest.raises(SourceFormatError) as info:
        eurostat.read(data, name=NAME)
    assert NAME in str(info.value)
    return info.value


# -- independent truth -----------------------------------------------------------------------------

#: crudeoil prefix -> partner, written out here from shared/data/README.md and docs/schema.md (regions).
PARTNER = {"TOTAL": "WORLD", "UK": "GB", "EL": "GR", "AUH": "AE", "DXB": "AE", "SHJ": "AE", "AG": "AR",
           "NZ": "NEUTRAL_ZONE", "ME": "MIDEAST", "LA": "LATAM", "AFR": "AFRICA", "ASI": "ASIA",
           "EUR": "EUROPE", "LRS": "LRS", "UNK": "UNKNOWN"}
REPORTER = {"EL": "GR", "UK": "GB"}
#: indicator -> (column, factor); COMP_NR is not kept.
MEASURE = {"VOL_THS_BBL": ("volume_bbl", 1000.0), "VAL_THS_USD": ("value", 1000.0),
           "AVGPRC_USD_BBL": ("price_per_bbl", 1.0), "API_DEG": ("api_gravity", 1.0),
           "SULPH_PC": ("sulphur_pct", 1.0)}


def expected_rows(records: list[dict[str, str]]) -> list[dict]:
    """The canonical rows of nrg_ti_coifpm CSV records, computed in plain Python, in key order."""
    cells: dict[tuple, dict[str, dict[str, str]]] = {}
    for r in records:
        key = (r["freq"], r["crudeoil"], r["geo"], r["TIME_PERIOD"])
        cells.setdefault(key, {})[r["indic_nrg"]] = r
    rows = []
    for (freq, crude, geo, period), by_indicator in sorted(cells.items()):
        row = {c: None for c, _ in MEASURE.values()}
        for indicator, (column, factor) in MEASURE.items():
            text = by_indicator.get(indicator, {}).get("OBS_VALUE", "")
            row[column] = float(text) * factor if text else None
        volume = by_indicator.get("VOL_THS_BBL", {})
        flag = volume.get("OBS_FLAG", "") or ""
        if volume.get("CONF_STATUS", "").strip() in ("C", "N", "P") and "c" not in flag:
            flag += "c"
        row["flag"] = flag or None
        if row["flag"] is None and all(row[c] is None for c, _ in MEASURE.values()):
            continue
        year, _, month = period.partition("-")
        row.update(freq=freq, grade=None if crude == "TOTAL" else crude,
                   partner=PARTNER.get(crude.replace("-", "_").split("_")[0],
                                       crude.replace("-", "_").split("_")[0]),
                   reporter=REPORTER.get(geo, geo),
                   period=pd.Timestamp(int(year), int(month or 1), 1),
                   currency="USD" if row["value"] is not None or row["price_per_bbl"] is not None else None)
        rows.append(row)
    return rows


def assert_matches(frame: pd.DataFrame, rows: list[dict], vintage: pd.Timestamp) -> None:
    """`frame` has exactly `rows`, in that order, with the constant columns of nrg_ti_coifpm."""
    assert len(frame) == len(rows)
    for column in ("freq", "reporter", "partner", "grade", "currency", "flag"):
        got = [None if pd.isna(v) else v for v in frame[column]]
        assert got == [r[column] for r in rows], column
    for column, _ in MEASURE.values():
        want = np.array([np.nan if r[column] is None else r[column] for r in rows], dtype=float)
        np.testing.assert_array_equal(frame[column].to_numpy(dtype=float), want, err_msg=column)
    assert frame["period"].tolist() == [r["period"] for r in rows]
    assert frame["mass_t"].isna().all()
    for column, value in (("source", "eurostat"), ("dataset", "nrg_ti_coifpm"), ("flow", "import"),
                          ("product", "crude_oil"), ("vintage", vintage)):
        assert (frame[column] == value).all(), column
    assert list(frame.columns) == list(schema.COLUMNS)
    assert frame.dtypes.to_dict() == schema.empty_frame().dtypes.to_dict()
    assert isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0


def records(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


VINTAGE = pd.Timestamp("2024-02-28 11:00:00")


def test_fixture_equals_independent_computation():
    data = gzip.decompress(SMALL.read_bytes())
    rows = expected_rows(records(data))
    assert len(rows) == 1721
    assert_matches(eurostat.read(SMALL), rows, VINTAGE)


def test_2025_layout_equals_independent_computation():
    data = LAYOUT_2025.read_bytes()
    assert b"CONF_STATUS" in data.splitlines()[0]
    assert_matches(eurostat.read(data), expected_rows(records(data)), VINTAGE)


def test_real_file_equals_independent_computation(shared_data: Path):
    path = shared_data / "eurostat" / "nrg_ti_coifpm.csv.gz"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    raw = gzip.decompress(path.read_bytes())
    rows = expected_rows(records(raw))
    assert len(rows) == 65_277
    assert_matches(eurostat.read(path), rows, VINTAGE)


# -- generated valid files: the reader equals the independent computation --------------------------

CODES = sorted({line.split(b",")[3].decode() for line in LINES[1:]})
PREFIX = b"ESTAT:NRG_TI_COIFPM(1.0),28/02/24 11:00:00,M,"


@st.composite
def generated_file(draw) -> tuple[bytes, list[dict[str, str]]]:
    """A valid SDMX-CSV of real codes with random keys, values, flags and missing cells."""
    crude = draw(st.lists(st.sampled_from(CODES), min_size=1, max_size=4, unique=True))
    geo = draw(st.lists(st.sampled_from(["DE", "EL", "UK", "FR", "EU_V"]), min_size=1, max_size=3,
                        unique=True))
    months = draw(st.lists(st.sampled_from([f"{y}-{m:02d}" for y in (2005, 2019, 2023)
                                            for m in (1, 2, 11, 12)]), min_size=1, max_size=4, unique=True))
    indicators = [*MEASURE, "COMP_NR"]
    value = st.one_of(st.just(""), st.just("0"), st.integers(0, 400_000).map(str),
                      st.floats(0, 200, allow_nan=False).map(lambda x: f"{x:.3f}"))
    cells, conf_status = [], draw(st.booleans())
    for key in ((c, i, g, m) for c in crude for i in indicators for g in geo for m in months):
        if not draw(st.booleans()):
            continue
        flag = draw(st.sampled_from(["", "", "", "c", "b", "bc", "p"]))
        text = "" if "c" in flag else draw(value)
        conf = ""
        if conf_status and "c" in flag:
            flag, conf = flag.replace("c", ""), "C"
        cells.append(dict(zip(["crudeoil", "indic_nrg", "geo", "TIME_PERIOD", "OBS_VALUE", "OBS_FLAG",
                               "CONF_STATUS"], [*key, text, flag, conf], strict=True)))
    cells = draw(st.permutations(cells))
    header = HEADER.rstrip(b"\r\n") + (b",CONF_STATUS" if conf_status else b"") + b"\n"
    body = b"".join(
        PREFIX + ",".join([c["crudeoil"], c["indic_nrg"], c["geo"], c["TIME_PERIOD"], c["OBS_VALUE"],
                           c["OBS_FLAG"]] + ([c["CONF_STATUS"]] if conf_status else [])).encode() + b"\n"
        for c in cells)
    for c in cells:
        c["freq"] = "M"
    return header + body, cells


@fuzz(EXAMPLES["generated"])
@given(generated_file(), st.booleans())
def test_generated_files_equal_independent_computation(case, packed):
    data, cells = case
    rows = expected_rows(cells)
    if not rows:  # nothing but COMP_NR or empty cells: no observation at all
        assert outcome(data) != "ok" or len(eurostat.read(data)) == 0
        return
    frame = eurostat.read(gzip.compress(data, mtime=0) if packed else data, name=NAME)
    assert_matches(frame, rows, VINTAGE)
    assert schema.validate(frame) is frame


# -- byte flips and truncation at random offsets ----------------------------------------------------


def flip(data: bytes, flips: list[tuple[float, int]]) -> bytes:
    out = bytearray(data)
    for where, value in flips:
        out[min(int(where * len(out)), len(out) - 1)] = value
    return bytes(out)


#: (where, new byte): any byte, or one that keeps the text plausible (digits, separators, code letters).
PLAUSIBLE = list(b"0123456789,.-_\nAEKMUbcz")
FLIPS = st.lists(st.tuples(st.floats(0, 1, exclude_max=True),
                           st.one_of(st.integers(0, 255), st.sampled_from(PLAUSIBLE))),
                 min_size=1, max_size=6)


@fuzz(EXAMPLES["flips"])
@given(st.sampled_from(["coifpm", "coifpm 2025", "oil", "gzip"]), FLIPS)
def test_byte_flips(base, flips):
    data = BASE_GZ if base == "gzip" else BASES[base]
    outcome(flip(data, flips))


@fuzz(EXAMPLES["truncation"])
@given(st.sampled_from(["coifpm", "oil", "gzip"]), st.floats(0, 1))
def test_truncation_at_random_offsets(base, fraction):
    data = BASE_GZ if base == "gzip" else BASES[base]
    result = outcome(data[: int(fraction * len(data))])
    if base == "gzip" and fraction < 1:
        assert result != "ok"  # a gzip stream cut anywhere is refused, never read in part


# -- structured mutations ------------------------------------------------------------------------------

BAD_VALUES = ["abc", "1,5", ":", "nan", "NaN", "inf", "-inf", "1e999", "0x10", "1.2.3", "12 c", "--1"]
BAD_PERIODS = ["2021-13", "2021-00", "2021-02-30", "0000-01", "2021", "21-01", "2021M01", "2021-1",
               "", "2021-Q1", "2021-W05", "١٢٣٤-01"]


def split_rows(data: bytes) -> list[list[str]]:
    return [line.split(",") for line in data.decode("utf-8").splitlines()]


def join_rows(rows: list[list[str]], sep: str = ",", end: str = "\n") -> bytes:
    return "".join(sep.join(r) + end for r in rows).encode("utf-8")


MUTATION = st.one_of(
    st.tuples(st.just("value"), st.floats(0, 1, exclude_max=True), st.sampled_from(BAD_VALUES)),
    st.tuples(st.just("period"), st.floats(0, 1, exclude_max=True), st.sampled_from(BAD_PERIODS)),
    st.tuples(st.just("cell"), st.floats(0, 1, exclude_max=True), st.integers(0, 9),
              st.text(max_size=6)),
    st.tuples(st.just("duplicate"), st.floats(0, 1, exclude_max=True), st.booleans()),
    st.tuples(st.just("drop column"), st.integers(0, 9)),
    st.tuples(st.just("extra column"), st.integers(0, 9), st.booleans()),
    st.tuples(st.just("header only"), st.text(min_size=1, max_size=5)),
    st.tuples(st.just("drop row"), st.floats(0, 1, exclude_max=True)),
)


def mutate(data: bytes, mutations: list[tuple]) -> bytes:
    header, *rows = split_rows(data)
    for m in mutations:
        kind = m[0]
        if kind in ("value", "period", "cell", "duplicate", "drop row") and not rows:
            continue
        i = min(int(m[1] * len(rows)), len(rows) - 1) if kind not in ("drop column", "extra column",
                                                                        "header only") else 0
        if kind == "value" and "OBS_VALUE" in header:
            rows[i][header.index("OBS_VALUE")] = m[2]
        elif kind == "period" and "TIME_PERIOD" in header:
            rows[i][header.index("TIME_PERIOD")] = m[2]
        elif kind == "cell":
            j = m[2] % len(rows[i])
            rows[i][j] = m[3].replace(",", "").replace("\n", "").replace("\r", "").replace('"', "")
        elif kind == "duplicate":
            copy = list(rows[i])
            if m[2] and "OBS_VALUE" in header:  # conflicting value
                copy[header.index("OBS_VALUE")] = "12345"
            rows.append(copy)
        elif kind == "drop column" and len(header) > 1:
            j = m[1] % len(header)
            header = header[:j] + header[j + 1:]
            rows = [r[:j] + r[j + 1:] for r in rows]
        elif kind == "extra column":
            j = m[1] % (len(header) + 1)
            header = header[:j] + ["unit"] + header[j:]
            rows = [r[:j] + [f"U{k % 3}" if m[2] else "THS"] + r[j:] for k, r in enumerate(rows)]
        elif kind == "header only":
            header = [*header, m[1].replace(",", "").replace("\n", "")]
        elif kind == "drop row":
            del rows[i]
    return join_rows([header, *rows])


ENVELOPE = st.sampled_from(["plain", "gzip", "truncated gzip", ";", "\t", "crlf", "bom", "latin-1",
                            "utf-16", "utf-16-le", "html"])


def envelope(data: bytes, kind: str) -> bytes:
    if kind == "gzip":
        return gzip.compress(data, mtime=0)
    if kind == "truncated gzip":
        return gzip.compress(data, mtime=0)[:-7]
    if kind in (";", "\t"):
        return data.replace(b",", kind.encode())
    if kind == "crlf":
        return data.replace(b"\n", b"\r\n")
    if kind == "bom":
        return b"\xef\xbb\xbf" + data
    if kind == "latin-1":  # a non-ASCII code, written in latin-1
        return data.replace(b",DE,", ",DÉ,".encode("latin-1"), 1)
    if kind in ("utf-16", "utf-16-le"):
        return data.decode("utf-8", "replace").encode(kind)
    if kind == "html":
        return (b"<!DOCTYPE html>\n<html><head><title>Eurostat - Service temporarily unavailable</title>"
                b"</head><body>" + data[:200] + b"</body></html>")
    return data


@fuzz(EXAMPLES["mutations"])
@given(st.sampled_from(list(BASES)), st.lists(MUTATION, max_size=3), ENVELOPE)
def test_mutated_files(base, mutations, wrapping):
    data = envelope(mutate(BASES[base], mutations), wrapping)
    result = outcome(data)
    if wrapping in ("truncated gzip", ";", "\t", "latin-1", "utf-16", "utf-16-le", "html"):
        assert result != "ok", wrapping


# -- each kind of bad input: the error it must give -------------------------------------------------


def replace_cell(data: bytes, column: str, value: str, row: int = 0) -> bytes:
    header, *rows = split_rows(data)
    rows[row][header.index(column)] = value
    return join_rows([header, *rows])


NAMED_ERRORS = {
    # case: (bytes, field or None, fragments of the message)
    "truncated gzip": (BASE_GZ[:-7], None, ["gzip", "truncated"]),
    "gzip cut in the header": (BASE_GZ[:15], None, ["gzip"]),
    "corrupt gzip": (flip(BASE_GZ, [(0.5, 0)]), None, ["gzip"]),
    "semicolon delimiter": (BASE.replace(b",", b";"), "DATAFLOW", ["header lacks"]),
    "tab delimiter": (BASE.replace(b",", b"\t"), "DATAFLOW", ["header lacks"]),
    "latin-1 code": (BASE.replace(b",DE,", ",DÉ,".encode("latin-1"), 1), "geo", ["UTF8"]),
    "UTF-8 non-code": (BASE.replace(b",DE,", ",DÉ,".encode(), 1), "geo", ["not SDMX codes", "DÉ"]),
    "UTF-16": (BASE.decode().encode("utf-16"), "header", ["not UTF-8"]),
    "UTF-16-LE without BOM": (BASE.decode().encode("utf-16-le"), "DATAFLOW", ["header lacks"]),
    "HTML page": (b"<!DOCTYPE html><html><head><title>Eurostat - 503</title></head></html>", None,
                  ["HTML/XML page", "Eurostat - 503"]),
    "missing geo": (mutate(BASE, [("drop column", COLUMNS.index("geo"))]), "geo", ["missing ['geo']"]),
    "extra varying column": (mutate(BASE, [("extra column", 3, True)]), "unit",
                             ["unexpected column", "3 distinct values"]),
    "name in header only": (mutate(BASE, [("header only", "unit")]), None, ["Expected 10 columns"]),
    "column named twice": (BASE.replace(b"OBS_FLAG", b"geo", 1), "geo", ["twice"]),
    "non-numeric value": (replace_cell(BASE, "OBS_VALUE", "abc"), "OBS_VALUE", ["'abc'"]),
    "decimal comma": (replace_cell(BASE, "OBS_VALUE", '"1,5"'), "OBS_VALUE", ["'1,5'"]),
    "nan value": (replace_cell(BASE, "OBS_VALUE", "nan"), "OBS_VALUE", ["finite number"]),
    "overflowing value": (replace_cell(BASE, "OBS_VALUE", "1e999"), "OBS_VALUE", ["finite number"]),
    "duplicate row": (BASE + BASE_LINES[5], "OBS_VALUE", ["1 duplicate observations"]),
    "conflicting duplicate": (BASE + b",".join(BASE_LINES[5].split(b",")[:7] + [b"99", b"\n"]),
                              "OBS_VALUE", ["duplicate observations", "99.0"]),
    "month 13": (replace_cell(BASE, "TIME_PERIOD", "2021-13"), "TIME_PERIOD",
                 ["unreadable periods ['2021-13']"]),
    "day in period": (replace_cell(BASE, "TIME_PERIOD", "2021-02-30"), "TIME_PERIOD",
                      ["unreadable periods ['2021-02-30']"]),
    "year 0": (replace_cell(BASE, "TIME_PERIOD", "0000-01"), "TIME_PERIOD",
               ["unreadable periods ['0000-01']"]),
    "annual period in a monthly file": (replace_cell(BASE, "TIME_PERIOD", "2021"), "TIME_PERIOD",
                                        ["'2021' with freq 'M'", "M needs YYYY-MM"]),
    "empty period": (replace_cell(BASE, "TIME_PERIOD", ""), "TIME_PERIOD", ["unreadable periods"]),
    "empty reporter": (replace_cell(BASE, "geo", ""), "geo", ["not SDMX codes"]),
    "EL and GR": (replace_cell(BASE, "geo", "EL", 0) + BASE_LINES[0].replace(b",DE,", b",GR,"), "geo",
                  ["'EL' and 'GR' both mean 'GR'"]),
    "flag that is not letters": (replace_cell(BASE, "OBS_FLAG", "c?"), "OBS_FLAG", ["'c?'"]),
    "confidential cell with a value": (
        replace_cell(BASE, "OBS_FLAG", "c", [i for i, line in enumerate(BASE_LINES)
                                              if b",VOL_THS_BBL," in line and b",," not in line][0]),
        "OBS_VALUE", ["confidential", "carry a value"]),
    "unknown CONF_STATUS": (replace_cell(LAYOUT_2025.read_bytes(), "CONF_STATUS", "X", 1), "CONF_STATUS",
                            ["'X'"]),
    "crude code without origin": (replace_cell(BASE, "crudeoil", "_X"), "crudeoil", ["origin"]),
}


@pytest.mark.parametrize("case", list(NAMED_ERRORS))
def test_named_errors(case):
    data, field, fragments = NAMED_ERRORS[case]
    exc = error(data)
    message = str(exc)
    if field is not None:
        assert exc.field == field, message
        assert f"[{field}]" in message
    for fragment in fragments:
        assert fragment in message, message


# -- inputs that are unusual but valid -------------------------------------------------------------------


def test_line_ends_bom_row_order_and_gzip_members_do_not_change_the_frame():
    reference = eurostat.read(BASE)
    assert_matches(reference, expected_rows(records(BASE)), VINTAGE)
    header, *rows = BASE.splitlines(keepends=True)
    variants = {
        "crlf": BASE.replace(b"\n", b"\r\n"),
        "bom": b"\xef\xbb\xbf" + BASE,
        "reversed rows": header + b"".join(reversed(rows)),
        "no final newline": BASE.rstrip(b"\n"),
        "two gzip members": gzip.compress(BASE[:5000], mtime=0) + gzip.compress(BASE[5000:], mtime=0),
        "gzip with trailing zeros": BASE_GZ + b"\0" * 8,
        "constant extra column": mutate(BASE, [("extra column", 3, False)]),
        "quoted header": b",".join(b'"%s"' % c.encode() for c in COLUMNS) + b"\n" + b"".join(rows),
    }
    for label, data in variants.items():
        pd.testing.assert_frame_equal(eurostat.read(data), reference, obj=label)


def test_streamed_gzip_of_many_blocks_equals_the_plain_file():
    # 3.4 MB of text: several pyarrow blocks and inflate chunks, in one and in two gzip members.
    body = b"".join(LINES[1:])
    plain = HEADER + b"".join(body.replace(b",DE,", f",{geo},".encode()).replace(
        b",EU_V,", f",EU_{geo},".encode()) for geo in ("DE", "FR", "IT", "ES", "NL", "PL", "AT", "BE"))
    assert len(plain) > 3_000_000
    rows = expected_rows(records(plain))
    half = len(plain) // 2
    for label, data in {"plain": plain, "gzip": gzip.compress(plain, compresslevel=1, mtime=0),
                        "two members": gzip.compress(plain[:half], mtime=0)
                        + gzip.compress(plain[half:], mtime=0)}.items():
        frame = eurostat.read(data)
        assert len(frame) == 8 * 1721, label
        assert_matches(frame, rows, VINTAGE)


def test_inflating_reader_returns_exactly_the_text():
    from oilflows.formats.sdmx_csv import _Inflated

    text = b"".join(LINES[:3000])
    packed = gzip.compress(text[:70_000], mtime=0) + gzip.compress(text[70_000:], mtime=0)
    for size in (7, 1000, 65_536, 1 << 20, -1):
        reader = _Inflated(packed, limit=len(text))
        parts = []
        while part := reader.read(size):
            assert size < 0 or len(part) == size or len(b"".join(parts)) + len(part) == len(text)
            parts.append(part)
            if size < 0:
                break
        assert b"".join(parts) == text, size


def test_missing_obs_flag_column_means_no_flags():
    data = mutate(BASE, [("drop column", COLUMNS.index("OBS_FLAG"))])
    frame = eurostat.read(data)
    assert frame["flag"].isna().all()
    # Without flags, a key whose cells are all confidential (empty) has nothing left: no row.
    assert_matches(frame, expected_rows(records(data)), VINTAGE)
    assert len(frame) < len(eurostat.read(BASE))


def test_decompression_limit_applies_to_the_streaming_reader(monkeypatch):
    from oilflows.errors import DecompressionLimitError
    from oilflows.formats import sdmx_csv

    def inflate_again(*args, **kwargs):  # a bomb must not be inflated a second time to name it
        raise AssertionError("gunzip_if_needed called after the stream passed the limit")

    monkeypatch.setattr(sdmx_csv, "gunzip_if_needed", inflate_again)
    monkeypatch.setenv("OILFLOWS_MAX_DECOMPRESSED_BYTES", str(len(BASE) // 2))
    with pytest.raises(DecompressionLimitError) as info:
        eurostat.read(BASE_GZ, name=NAME)
    assert "limit" in str(info.value) and NAME in str(info.value)
    monkeypatch.undo()
    monkeypatch.setenv("OILFLOWS_MAX_DECOMPRESSED_BYTES", str(len(BASE) + 1))
    assert len(eurostat.read(BASE_GZ)) == len(eurostat.read(BASE))


@pytest.mark.parametrize("distinct", [3, 2_000, 70_000])  # dense table, numpy.unique, column by column
def test_group_numbers_follow_the_sorted_keys(distinct):
    from oilflows.formats.sdmx_csv import Coded
    from oilflows.sources.eurostat import _group_ids

    rng = np.random.default_rng(distinct)
    rows = 20_000
    columns = {}
    for c in "abcd":
        values = np.array([f"{c}{i:06d}" for i in rng.permutation(distinct)], dtype=object)
        columns[c] = (rng.integers(0, distinct, rows), values)
    coded = Coded(rows=rows, columns=columns)
    group, n_groups = _group_ids(coded, tuple("abcd"))
    # Independent: pandas numbers the groups of the strings in sorted order.
    frame = pd.DataFrame({c: values[codes] for c, (codes, values) in columns.items()})
    expected = frame.groupby(list("abcd"), sort=True).ngroup().to_numpy()
    assert n_groups == len(set(map(tuple, frame.to_numpy())))
    np.testing.assert_array_equal(group, expected)
