"""The Eurostat reader on real-shaped input (issue 15): the real nrg_ti_coifpm records replicated with
unique reporter codes, as ``benchmarks/make_coifpm_replicated.py`` builds the benchmark's file, must
give the real file's frame once per copy; gzip is inflated once, and a bomb that parses as SDMX-CSV is
still stopped by the compression-ratio limit."""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from oilflows import _io
from oilflows.errors import DecompressionLimitError, SourceFormatError
from oilflows.formats import sdmx_csv
from oilflows.sources import eurostat

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "tests" / "fixtures" / "eurostat" / "nrg_ti_coifpm_DE_KZ_RU.csv.gz"
HEADER = b"DATAFLOW,LAST UPDATE,freq,crudeoil,indic_nrg,geo,TIME_PERIOD,OBS_VALUE,OBS_FLAG\n"
ROW = b"ESTAT:NRG_TI_COIFPM(1.0),28/02/24 11:00:00,M,KZ_CPC_BLN,VOL_THS_BBL,DE,2023-01,1234.5,\n"


def _generator():
    """benchmarks/make_coifpm_replicated.py as a module (benchmarks/ is no package)."""
    path = ROOT / "benchmarks" / "make_coifpm_replicated.py"
    spec = importlib.util.spec_from_file_location("make_coifpm_replicated", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def real(shared_data: Path) -> tuple[bytes, pd.DataFrame]:
    path = shared_data / "eurostat" / "nrg_ti_coifpm.csv.gz"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    text = gzip.decompress(path.read_bytes())
    return text, eurostat.read(path)


def _copy(frame: pd.DataFrame, reporters: dict[str, str]) -> pd.DataFrame:
    """The rows of `frame` whose reporter is a key of `reporters`, renamed to its value, reindexed."""
    part = frame[frame["reporter"].isin(list(reporters))].reset_index(drop=True)
    part["reporter"] = part["reporter"].map(reporters).astype(frame["reporter"].dtype)
    return part


def test_replicated_real_file_reads_as_copies_of_the_real_frame(real):
    text, frame = real
    copies = 3
    data = gzip.compress(_generator().replicate(text, copies), mtime=0)
    records = text.count(b"\n") - 1
    assert records == 176_175  # the real file (shared/data/README.md)
    assert gzip.decompress(data).count(b"\n") - 1 == copies * records
    got = eurostat.read(data, name="x3.csv.gz")
    assert len(got) == copies * len(frame) == copies * 65_277
    geos = sorted(frame["reporter"].unique())
    assert geos == ["DE", "ES", "EU_V", "FR", "IT", "NL", "PL"]
    for i in range(copies):
        renamed = {g if i == 0 else f"{g}{i:02d}": g for g in geos}
        pd.testing.assert_frame_equal(_copy(got, renamed), frame, obj=f"copy {i}")
    # hand-checked cells of copy 2: the real file's KZ_CPC_BLN volume into DE, 2023-01, unchanged
    de = got[(got["reporter"] == "DE02") & (got["grade"] == "KZ_CPC_BLN")
             & (got["period"] == pd.Timestamp("2023-01-01"))]
    line = next(x for x in text.split(b"\n") if x.startswith(b"ESTAT:NRG_TI_COIFPM(1.0),28/02/24 11:00:00,M,"
                                                            b"KZ_CPC_BLN,VOL_THS_BBL,DE,2023-01,"))
    assert len(de) == 1 and de["volume_bbl"].iloc[0] == float(line.split(b",")[7]) * 1000


def test_generator_refuses_what_it_cannot_replicate():
    module = _generator()
    with pytest.raises(SystemExit):
        module.replicate(HEADER + ROW, 0)
    with pytest.raises(SystemExit, match="geo"):
        module.replicate(HEADER.replace(b"geo", b"GEO") + ROW, 2)
    two = module.replicate(HEADER + ROW, 2).split(b"\n")
    assert two[0] + b"\n" == HEADER and two[1] + b"\n" == ROW
    assert b",DE01,2023-01," in two[2] and two[3] == b""


def test_gzip_is_inflated_once(monkeypatch):
    """The reader inflates gzip once, as it parses (the counting pass of check_gzip is gone)."""
    expected = eurostat.read(gzip.decompress(SMALL.read_bytes()))

    def second_pass(*args, **kwargs):
        raise AssertionError("gzip inflated a second time")

    monkeypatch.setattr(_io, "_gunzip", second_pass)  # behind check_gzip and gunzip_if_needed
    pd.testing.assert_frame_equal(eurostat.read(SMALL), expected)


def test_a_bomb_of_valid_rows_is_stopped_by_the_ratio_while_parsed(monkeypatch):
    """20 MB of one valid row (about 1000:1) parses as SDMX-CSV: the stream itself stops at the ratio
    limit (200 x the gzip size), and the error is the one gunzip_if_needed gives."""
    bomb = gzip.compress(HEADER + ROW * (20 * 1024**2 // len(ROW)), compresslevel=9, mtime=0)
    assert len(bomb) * 200 < 20 * 1024**2

    def second_pass(*args, **kwargs):
        raise AssertionError("the bomb was inflated a second time")

    with pytest.raises(DecompressionLimitError) as expected:
        _io.gunzip_if_needed(bomb, "bomb.csv.gz")
    monkeypatch.setattr(_io, "_gunzip", second_pass)  # behind check_gzip and gunzip_if_needed
    with pytest.raises(DecompressionLimitError) as info:
        eurostat.read(bomb, name="bomb.csv.gz")
    assert "compression-ratio limit of 200" in str(info.value) and "bomb.csv.gz" in str(info.value)
    assert str(info.value) == str(expected.value)


def test_a_bomb_with_a_bad_header_is_named_as_a_bomb():
    bomb = gzip.compress(b"\0" * (20 * 1024**2), compresslevel=9, mtime=0)
    with pytest.raises(DecompressionLimitError, match="compression-ratio limit"):
        sdmx_csv.parse_coded(bomb, "zeros.gz")
    bad_rows = gzip.compress(HEADER + b"a,b\n" * (5 * 1024**2), compresslevel=9, mtime=0)
    with pytest.raises(DecompressionLimitError, match="compression-ratio limit"):
        sdmx_csv.parse_coded(bad_rows, "rows.gz")


def test_gzip_limit_helpers_match_gunzip():
    data = gzip.compress(b"x" * (3 * 1024**2), mtime=0)
    assert _io.gzip_limits(len(data)) == max(1024**2, int(200 * len(data)))
    assert _io.gzip_limits(100_000) == 200 * 100_000
    assert _io.gzip_limits(len(data), limit=1000) == 1000
    assert _io.gzip_limits(len(data), max_ratio=float("inf")) == _io.decompressed_limit()
    with pytest.raises(DecompressionLimitError) as info:
        _io.gunzip_if_needed(data, "x.gz", limit=1000)
    assert str(_io.gzip_limit_error("x.gz", 1001, len(data), limit=1000)) == str(info.value)


# -- leading constant columns (DATAFLOW, LAST UPDATE, freq) read once from the first record ----------


def _coded_equal(fast: sdmx_csv.Coded, full: sdmx_csv.Coded) -> None:
    assert fast.rows == full.rows and fast.distinct == full.distinct
    assert list(fast.columns) == list(full.columns)
    np.testing.assert_array_equal(fast.value, full.value)
    for column, (codes, values) in full.columns.items():
        np.testing.assert_array_equal(fast.columns[column][1][fast.columns[column][0]], values[codes])
        assert list(fast.columns[column][1]) == list(values), column


@pytest.mark.parametrize("gzipped", [False, True])
def test_leading_constants_give_the_table_of_a_full_parse(monkeypatch, gzipped):
    text = gzip.decompress(SMALL.read_bytes())
    data = gzip.compress(text, mtime=0) if gzipped else text
    skipped = []
    original = sdmx_csv._read_table
    monkeypatch.setattr(sdmx_csv, "_read_table", lambda *a: skipped.append(a[-1]) or original(*a))
    fast = sdmx_csv.parse_coded(data, "small")
    assert skipped == [3]  # DATAFLOW, LAST UPDATE and freq were not parsed
    assert fast.distinct == {"DATAFLOW": ["ESTAT:NRG_TI_COIFPM(1.0)"], "LAST UPDATE": ["28/02/24 11:00:00"]}
    assert list(fast.columns["freq"][1]) == ["M"] and not fast.columns["freq"][0].any()
    monkeypatch.setattr(sdmx_csv, "CONSTANT_LEADERS", ())
    _coded_equal(fast, sdmx_csv.parse_coded(data, "small"))
    assert skipped == [3, 0]


@pytest.mark.parametrize("gzipped", [False, True])
def test_a_record_that_differs_in_a_leading_column_is_read_in_full(gzipped):
    """The count of records starting with the first record's leading cells decides; a quoted cell
    holding a line break and those cells (a record pyarrow does not end there) cannot fake it."""
    lines = gzip.decompress(SMALL.read_bytes()).splitlines(keepends=True)
    prefix = b"ESTAT:NRG_TI_COIFPM(1.0),28/02/24 11:00:00,M,"
    assert lines[1].startswith(prefix) and lines[7].endswith(b",c\n")
    other = lines[9].replace(b"ESTAT:NRG_TI_COIFPM(1.0)", b"ESTAT:NRG_TI_OIL(1.0)")
    cases = {
        "dataflow": (lines[:9] + [other] + lines[10:], "one dataflow"),
        "freq": (lines[:9] + [lines[9].replace(b",M,", b",A,", 1)] + lines[10:], "do not match their freq"),
        "quoted line break": (lines[:7] + [lines[7][:-2] + b'"c\n' + prefix + b'"\n'] + lines[8:9] + [other]
                              + lines[10:], "one dataflow"),
        "carriage returns": ([lines[0]] + [x.replace(b"\n", b"\r") for x in lines[1:20]] + [other]
                             + lines[21:], "one dataflow"),
    }
    for label, (rows, message) in cases.items():
        text = b"".join(rows)
        data = gzip.compress(text, mtime=0) if gzipped else text
        with pytest.raises(SourceFormatError, match=message):
            eurostat.read(data, name=label)


def test_inflating_reader_counts_the_needle_across_reads():
    text = gzip.decompress(SMALL.read_bytes())
    needle = b"\nESTAT:NRG_TI_COIFPM(1.0),28/02/24 11:00:00,M,"
    packed = gzip.compress(text[:70_000], mtime=0) + gzip.compress(text[70_000:] + b'"x"', mtime=0)
    for size in (7, 45, 46, 1000, 65_536, -1):
        reader = sdmx_csv._Inflated(packed, len(text) + 3, needle)
        while reader.read(size) and size > 0:
            pass
        assert reader.found == text.count(needle) == text.count(b"\n") - 1, size
        assert reader.quoted
    quoted = b'"DATAFLOW"' + text[8:]  # quotes at offsets 0 and 9, in the header only
    header = quoted.index(b"\n") + 1
    for after, size, seen in ((header, 7, False), (header, 1000, False), (10, 3, False), (9, 3, True),
                              (9, 1000, True), (2, 7, True), (0, -1, True)):
        reader = sdmx_csv._Inflated(gzip.compress(quoted, mtime=0), len(quoted), needle, after)
        while reader.read(size) and size > 0:
            pass
        assert reader.quoted == seen, (after, size)
        assert seen or reader.found == text.count(needle)
