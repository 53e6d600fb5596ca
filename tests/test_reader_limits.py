"""Hostile inputs to the source readers (issue 12, "Reliability and security, round two": readers).

Each test builds its hostile input here, small (in memory or in ``tmp_path``), and checks an outcome
that does not depend on the machine's speed: a typed error naming the file (and the field, the line or
the limit), memory measured with tracemalloc, or a count of the work done (comparisons of header
names, rows openpyxl yields, bytes handed to zlib, calls of the parser). No assertion is on wall-clock
time. The classes, as the attack runs found them:

- GENESIS header handling was quadratic in the number of columns (``list.count`` per column);
- an xlsx declaring the dimension ``A1:XFD1048576`` made openpyxl iterate a million padded rows;
- gzip, ZIP and 7z bombs under the 4 GiB absolute limit (1 MB of gzip took a reader to 6.3 GB): now
  also a limit relative to the compressed size (200:1 above 1 MiB, ``$OILFLOWS_MAX_COMPRESSION_RATIO``);
- an archive of blank lines read as an empty frame;
- a 10 MB cell in a Comext bulk line went to the parser;
- a JSON integer of 5,000 digits raised Python's untyped ValueError;
- a GENESIS quality mark ``xc`` gave a frame that fails :func:`oilflows.schema.validate`.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import re
import types
import zipfile
import zlib
from pathlib import Path

import pandas as pd
import pytest
from _fakes import peak_bytes
from openpyxl.worksheet import _read_only

from oilflows import _io, schema
from oilflows.errors import DecompressionLimitError, QueryError, SourceFormatError
from oilflows.formats import jsonstat
from oilflows.sources import _comext_stream, _genesis_parse, comext, comtrade, dg_ener, eurostat, genesis

FIX = Path(__file__).resolve().parent / "fixtures"
#: The real data files of the project (optional here: the tests that need them skip without them).
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MB = 1_000_000
COIR = FIX / "dg_ener" / "Crude_Oil_Imports_Reporting_Country_2013.xlsx"
JAN_CSV = FIX / "genesis" / "51000-0017_2023-01_de_flat.csv"
BULK_SAMPLE = FIX / "comext" / "full_v2_202402_sample.csv"
BULK_HEADER = BULK_SAMPLE.read_text().splitlines()[0]
BULK_ROW = "DE,KZ,E,27090090,33300,0610,0610,31,111000,05,1,1,NO_SU,202402,100,100,200,0"


@pytest.fixture(autouse=True)
def default_limits(monkeypatch):
    """Every test starts from the default limits, whatever the environment says."""
    monkeypatch.delenv("OILFLOWS_MAX_DECOMPRESSED_BYTES", raising=False)
    monkeypatch.delenv("OILFLOWS_MAX_COMPRESSION_RATIO", raising=False)


# == GENESIS: header handling is linear ==============================================================


class Counted(str):
    """A header name that counts the equality tests made on it, and stops the test past a budget."""

    comparisons = 0
    budget = math.inf

    def __eq__(self, other):
        Counted.comparisons += 1
        if Counted.comparisons > Counted.budget:
            raise AssertionError(f"more than {Counted.budget:,} comparisons of header names: quadratic")
        return str.__eq__(self, other)

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = str.__hash__

    def strip(self, chars=None):
        return Counted(str.strip(self, chars))


def count_header_comparisons(monkeypatch, header: list[str], budget: float) -> tuple[int, str]:
    """(comparisons of header names, error message) of genesis.read on a one-line file of `header`,
    with the header's names made :class:`Counted` as the csv module hands them to the reader."""

    def reader(*args, **kwargs):
        for number, row in enumerate(csv.reader(*args, **kwargs)):
            yield [Counted(cell) for cell in row] if number == 0 else row

    monkeypatch.setattr(_genesis_parse, "csv", types.SimpleNamespace(reader=reader, Error=csv.Error))
    Counted.comparisons, Counted.budget = 0, budget
    try:
        with pytest.raises(SourceFormatError) as info:
            genesis.read((";".join(header) + "\n").encode(), name="wide.csv")
    finally:
        Counted.budget = math.inf
    return Counted.comparisons, str(info.value)


@pytest.mark.parametrize("kind", ["unexpected", "duplicated"])
def test_genesis_header_comparisons_grow_linearly(monkeypatch, kind):
    """The attack: 100,000 header columns (889 KB) took over 170 s (``header.count(c)`` for every
    column, ``c not in list``). Counted here: comparisons of header names for 10,000 and 20,000
    columns; the old code needed n*n (it is stopped at 20 n)."""
    counts = {}
    for n in (10_000, 20_000):
        names = [f"c{i % (n // 2)}" if kind == "duplicated" else f"c{i}" for i in range(n)]
        counts[n], message = count_header_comparisons(monkeypatch, ["statistics_code", *names], budget=20 * n)
        assert "wide.csv" in message
        assert ("duplicated columns" if kind == "duplicated" else "unexpected columns") in message
        assert f"({n // 2 if kind == 'duplicated' else n:,} in all)" in message  # the list is cut short
    assert counts[20_000] <= 2.5 * counts[10_000] + 100, counts


def test_genesis_wide_header_gives_a_short_typed_error():
    """20,000 columns of junk: one typed error naming the first, a message of bounded length."""
    header = "statistics_code;" + ";".join(f"junk{i}" for i in range(20_000))
    with pytest.raises(SourceFormatError, match=r"wide\.csv \[junk0\]: changed column set") as info:
        genesis.read((header + "\n").encode(), name="wide.csv")
    assert len(str(info.value)) < 1000 and "(20,000 in all)" in str(info.value)


@pytest.mark.parametrize("number", [101, 200_000])
def test_genesis_header_naming_a_huge_dimension(number):
    """``200000_variable_code`` implied a list of 800,000 expected columns (``99999999_...`` 400
    million) before any check; at most MAX_DIMENSIONS (100) dimensions of four columns are accepted."""
    header = f"statistics_code;{number}_variable_code;value\n".encode()
    refused = rf"dimension {number:,}; a GENESIS flat file has at most 100"
    with pytest.raises(SourceFormatError, match=refused) as info:
        genesis.parse_ffcsv(header, name="dims.csv")
    assert info.value.field == f"{number}_variable_code"


def test_genesis_old_layout_melts_many_contents_in_one_pass(monkeypatch):
    """Old (wide) layout with 3,000 content pairs: melted with numpy, not one frame per content (the
    old code built 3,000 frames with ``assign`` and concatenated them). Values checked cell by cell."""
    fixed = ["Statistik_Code", "Statistik_Label", "Zeit_Code", "Zeit_Label", "Zeit", "1_Merkmal_Code",
             "1_Merkmal_Label", "1_Auspraegung_Code", "1_Auspraegung_Label"]
    pairs = 3_000
    header = fixed + [c for i in range(pairs) for c in (f"C{i}__Label {i}__t", f"C{i}__Label {i}__q")]
    rows = [["61111", "VPI", "JAHR", "Jahr", str(year), "DINSG", "D", "DG", "Deutschland"]
            + [c for i in range(pairs) for c in (f"{year - 2000},{i}", "e")] for year in (2021, 2022)]
    text = "\n".join(";".join(r) for r in [header, *rows]) + "\n"
    calls = {"assign": 0}
    real_assign = pd.DataFrame.assign

    def assign(self, **kwargs):
        calls["assign"] += 1
        return real_assign(self, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "assign", assign)
    long = genesis.parse_ffcsv(text.encode(), name="old.csv")
    assert calls["assign"] <= 5  # constant, not one per content
    assert len(long) == 2 * pairs
    assert long["value_variable_code"].tolist() == [f"C{i}" for i in range(pairs) for _ in (0, 1)]
    assert long["time"].tolist() == ["2021", "2022"] * pairs
    expected = [float(f"{year - 2000}.{i}") for i in range(pairs) for year in (2021, 2022)]
    assert long["value"].tolist() == expected
    assert set(long["value_q"]) == {"e"} and set(long["value_unit"]) == {"t"}


# == DG ENER xlsx: the declared dimension and the actual size, before iterating ======================


def xlsx_with_sheets(transform) -> bytes:
    """The real 2013 workbook with every worksheet part passed through `transform` (bytes -> bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(COIR) as source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                data = transform(data)
            target.writestr(item, data)
    return buffer.getvalue()


@pytest.fixture
def rows_yielded(monkeypatch):
    """Counts the rows openpyxl's read-only sheets yield; more than 20,000 stops the test."""
    seen = {"rows": 0}
    real = _read_only.ReadOnlyWorksheet._cells_by_row

    def spy(self, *args, **kwargs):
        for row in real(self, *args, **kwargs):
            seen["rows"] += 1
            if seen["rows"] > 20_000:
                raise AssertionError("openpyxl iterated more than 20,000 rows")
            yield row

    monkeypatch.setattr(_read_only.ReadOnlyWorksheet, "_cells_by_row", spy)
    return seen


def test_xlsx_declaring_a_million_rows_is_refused_before_iterating(rows_yielded):
    """The attack: a 218 KB workbook whose sheets declare ``A1:XFD1048576`` hung over 170 s."""
    declared = b'<dimension ref="A1:XFD1048576"'
    bomb = xlsx_with_sheets(lambda x: re.sub(rb'<dimension ref="[^"]+"', declared, x))
    assert len(bomb) < 300_000
    with pytest.raises(SourceFormatError) as info:
        dg_ener.read_coir(bomb, year=2013)
    message = str(info.value)
    assert message.startswith("<bytes> [EU COI - Jan]: the sheet declares the dimension A1:XFD1048576")
    assert info.value.field == "EU COI - Jan" and "1,048,576 rows x 16,384 columns" in message
    assert rows_yielded["rows"] == 0  # nothing was iterated


def test_xlsx_declaring_too_many_columns(tmp_path, rows_yielded):
    wide = xlsx_with_sheets(lambda x: re.sub(rb'<dimension ref="[^"]+"', b'<dimension ref="B1:ZZ200"', x))
    path = tmp_path / "Crude_Oil_Imports_Reporting_Country_2013.xlsx"
    path.write_bytes(wide)
    refused = r"declares the dimension B1:ZZ200 \(200 rows x 702 columns\)"
    with pytest.raises(SourceFormatError, match=refused) as info:
        dg_ener.read_coir(path)
    assert str(path) in str(info.value) and rows_yielded["rows"] == 0


def sheet_without_dimension(extra_row: bytes):
    """A transform: drop the sheet's <dimension> and add `extra_row` at the end of its sheetData."""
    def transform(xml: bytes) -> bytes:
        xml = re.sub(rb"<dimension [^>]*/>", b"", xml)
        return xml.replace(b"</sheetData>", extra_row + b"</sheetData>", 1)
    return transform


@pytest.mark.parametrize(("extra_row", "fragment"), [
    (b'<row r="1048576"><c r="B1048576" t="inlineStr"><is><t>x</t></is></c></row>',
     "holds more than 10,000 rows"),
    (b'<row r="500"><c r="XFD500" t="inlineStr"><is><t>x</t></is></c></row>',
     "row 500 reaches column 16,384"),
])
def test_xlsx_without_a_dimension_is_counted_while_read(rows_yielded, extra_row, fragment):
    """No <dimension>: the rows and columns are counted as they come (a row numbered 1,048,576 made
    openpyxl yield a million empty rows before it)."""
    data = xlsx_with_sheets(sheet_without_dimension(extra_row))
    with pytest.raises(SourceFormatError, match=fragment) as info:
        dg_ener.read_coir(data, year=2013)
    assert info.value.field == "EU COI - Jan"
    assert rows_yielded["rows"] <= dg_ener.MAX_SHEET_ROWS + 1


def test_real_workbook_without_its_dimension_still_reads(rows_yielded):
    data = xlsx_with_sheets(sheet_without_dimension(b""))
    assert len(dg_ener.read_coir(data, year=2013)) == len(dg_ener.read_coir(COIR))


# == compression-ratio limit: gzip, ZIP, xlsx, 7z ======================================================


@pytest.fixture(scope="module")
def zeros_gz() -> bytes:
    """20 MB of zeros, gzipped: about 20 KB, 1000:1 (the attack: 1 MB of gzip, 1 GB of zeros)."""
    return gzip.compress(b"\0" * (20 * MB), compresslevel=9, mtime=0)


@pytest.mark.parametrize("reader", ["genesis", "comtrade", "eurostat-csv", "eurostat-json", "comext",
                                    "eurostat-toc"])
def test_gzip_bomb_under_the_absolute_limit_is_stopped_by_the_ratio(zeros_gz, reader):
    """Under the default 4 GiB limit the attack's 1 MB gzip took genesis.read to 6.3 GB (comtrade.read
    to 2.2 GB). The ratio limit stops a 20 KB gzip at 200 x 20 KB = 4 MB of output."""
    name = f"bomb-{reader}.gz"
    data = gzip.compress(b"{" + b" " * (20 * MB), mtime=0) if reader == "eurostat-json" else zeros_gz
    call = {
        "genesis": lambda: genesis.read(data, name=name),
        "comtrade": lambda: comtrade.read(data, name=name),
        "eurostat-csv": lambda: eurostat.read(data, name=name),
        "eurostat-json": lambda: eurostat.read(data, name=name),
        "comext": lambda: comext.read(data, name=name),
        "eurostat-toc": lambda: eurostat.read_toc(data, name=name),
    }[reader]
    peak, raised = peak_bytes(call)
    assert isinstance(raised, DecompressionLimitError), raised
    message = str(raised)
    assert name in message and "compression-ratio limit of 200" in message and _io.RATIO_ENV in message
    assert peak < 12 * MB, f"peak {peak:,} bytes: the bomb was inflated"


def test_the_ratio_limit_is_configurable(zeros_gz, monkeypatch):
    with pytest.raises(DecompressionLimitError, match="limit of 200"):
        _io.gunzip_if_needed(zeros_gz, "z.gz")
    assert len(_io.gunzip_if_needed(zeros_gz, "z.gz", max_ratio=2000)) == 20 * MB  # the argument
    monkeypatch.setenv(_io.RATIO_ENV, "2000")  # the environment
    assert _io.check_gzip(zeros_gz, "z.gz") == 20 * MB
    monkeypatch.setenv(_io.RATIO_ENV, "inf")  # off
    assert _io.check_gzip(zeros_gz, "z.gz") == 20 * MB
    monkeypatch.setenv(_io.RATIO_ENV, "lots")
    with pytest.raises(ValueError, match=_io.RATIO_ENV):
        _io.compression_ratio_limit()
    monkeypatch.delenv(_io.RATIO_ENV)
    monkeypatch.setattr(_io, "MAX_COMPRESSION_RATIO", 50.0)  # the module constant, read at call time
    with pytest.raises(DecompressionLimitError, match="limit of 50"):
        _io.check_gzip(gzip.compress(b"a" * (3 * MB), mtime=0), "a.gz")
    with pytest.raises(ValueError, match="at least 1"):
        _io.compression_ratio_limit(0.5)


def test_the_ratio_limit_has_a_floor_for_small_files():
    """Up to 1 MiB of output is allowed whatever the ratio: a small, very regular file is no bomb."""
    small = gzip.compress(b"0" * _io.RATIO_MIN_BYTES, mtime=0)
    assert len(small) * 500 < _io.RATIO_MIN_BYTES  # more than 500:1
    assert len(_io.gunzip_if_needed(small, "s.gz")) == _io.RATIO_MIN_BYTES
    with pytest.raises(DecompressionLimitError):
        _io.gunzip_if_needed(gzip.compress(b"0" * (_io.RATIO_MIN_BYTES + 1), mtime=0), "s.gz")


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_zip_of_many_small_members_is_checked_as_a_whole(monkeypatch):
    """100 members of 1,000,000 zeros each: every member is under the 1 MiB floor of the member check,
    but the archive declares 100 MB from about 100 KB (and from 350 KB when added to the real
    workbook: still more than 200 times)."""
    members = {f"xl/media/image{i}.bin": b"\0" * MB for i in range(100)}
    bomb = zip_of(members)
    with pytest.raises(DecompressionLimitError, match=r"the archive declares at least [\d,]+ bytes from"
                                                      r".*compression-ratio limit of 200") as info:
        _io.check_zip(bomb, "many.zip")
    assert info.value.source == "many.zip"
    opened = []
    monkeypatch.setattr(dg_ener.openpyxl, "load_workbook", lambda *a, **k: opened.append(1))
    buffer = io.BytesIO()  # the same members added to the real workbook
    with zipfile.ZipFile(COIR) as source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(item, source.read(item.filename))
        for member, content in members.items():
            target.writestr(member, content)
    with pytest.raises(DecompressionLimitError, match="compression-ratio limit"):
        dg_ener.read_coir(buffer.getvalue(), year=2013)
    with pytest.raises(DecompressionLimitError, match="compression-ratio limit"):
        genesis.read(zip_of({"a_flat.csv": b"x", **members}), name="g.zip")
    assert opened == []


def real_compressed_files() -> list[Path]:
    found = [*FIX.rglob("*.gz"), *FIX.rglob("*.zip"), *FIX.rglob("*.xlsx")]
    if SHARED_DATA.is_dir():
        found += [*SHARED_DATA.rglob("*.gz"), *SHARED_DATA.rglob("*.xlsx")]
    return sorted(found)


def test_real_files_are_far_below_the_ratio_limit():
    """The real data and fixtures expand at most 23 times (the 200:1 default leaves a margin of 8)."""
    ratios = {}
    for path in real_compressed_files():
        data = path.read_bytes()
        if data.startswith(_io.GZIP_MAGIC):
            ratios[path.name] = _io.check_gzip(data, path.name) / len(data)
        else:
            infos = _io.check_zip(data, path.name)
            ratios[path.name] = sum(i.file_size for i in infos) / len(data)
    assert len(ratios) >= 10
    assert max(ratios.values()) < _io.MAX_COMPRESSION_RATIO / 8, ratios
    if SHARED_DATA.is_dir():
        assert 22 < ratios["nrg_ti_coifpm.csv.gz"] < 24  # 611,678 -> 14,092,185 bytes


@pytest.fixture(scope="module")
def py7zr():
    return pytest.importorskip("py7zr")


def seven_zip(path: Path, py7zr, body: bytes, member: str = "full_202402.dat") -> Path:
    with py7zr.SevenZipFile(path, "w") as archive:
        archive.writestr(body, member)
    return path


def test_7z_of_blank_lines_is_refused_before_decompressing(tmp_path, py7zr, monkeypatch):
    """The attack: a 46 KB .7z of blank lines took 21 s and 0.94 GB and returned an empty frame. Its
    member declares more than 200 times the archive: refused from the header, nothing inflated."""
    path = seven_zip(tmp_path / "full_v2_202402.7z", py7zr, (BULK_HEADER + "\n").encode() + b"\n" * (20 * MB))
    assert path.stat().st_size < 20 * MB / 200

    def never(*args):
        raise AssertionError("decompression started")

    monkeypatch.setattr(_comext_stream, "_seven_zip_stream", never)
    with pytest.raises(DecompressionLimitError, match=r"declares 20,000,\d+ bytes from a [\d,]+-byte file") \
            as info:
        comext.read_bulk(path)
    assert str(path) in str(info.value) and "compression-ratio limit of 200" in str(info.value)
    assert info.value.field == "full_202402.dat"


def test_7z_stream_past_the_ratio_is_stopped(tmp_path, py7zr, monkeypatch):
    """A header that understates the member (declared 0): the stream is counted against the ratio."""
    path = seven_zip(tmp_path / "full_v2_202402.7z", py7zr, (BULK_HEADER + "\n").encode() + b"\n" * (20 * MB))
    monkeypatch.setattr(_comext_stream, "declared_size", lambda info: 0)
    delivered = []
    real = _comext_stream._seven_zip_stream

    def spy(*args):
        for chunk in real(*args):
            delivered.append(len(chunk))
            yield chunk

    monkeypatch.setattr(_comext_stream, "_seven_zip_stream", spy)
    with pytest.raises(DecompressionLimitError, match="decompressed more than") as info:
        comext.read_bulk(path, chunk_rows=10_000)
    assert "compression-ratio limit of 200" in str(info.value)
    assert sum(delivered) <= 200 * path.stat().st_size + _io.RATIO_MIN_BYTES  # nothing past the cap


def test_bulk_gzip_past_the_ratio_is_stopped(tmp_path):
    path = tmp_path / "full_202402.dat.gz"
    path.write_bytes(gzip.compress((BULK_HEADER + "\n").encode() + b"\n" * (20 * MB), mtime=0))
    with pytest.raises(DecompressionLimitError, match="gzip stream decompresses to more than") as info:
        comext.read_bulk(path)
    assert str(path) in str(info.value) and "compression-ratio limit of 200" in str(info.value)


def test_bulk_ratio_argument(tmp_path, py7zr):
    """max_compression_ratio= raises or lifts the limit; with it off, the blank archive is still an
    error (no data line), never an empty frame."""
    path = seven_zip(tmp_path / "full_v2_202402.7z", py7zr, (BULK_HEADER + "\n").encode() + b"\n" * (3 * MB))
    with pytest.raises(DecompressionLimitError):
        comext.read_bulk(path)
    for ratio in (math.inf, 1e6):
        with pytest.raises(SourceFormatError, match="no data line") as info:
            comext.read_bulk(path, max_compression_ratio=ratio)
        assert not isinstance(info.value, DecompressionLimitError)
    with pytest.raises(QueryError, match="max_compression_ratio"):
        comext.iter_bulk(path, max_compression_ratio=0.5)


# == empty and blank files =============================================================================


@pytest.mark.parametrize("body", [BULK_HEADER + "\n", BULK_HEADER + "\n" * 50_000, BULK_HEADER + "\r\n" * 99])
def test_bulk_file_without_a_data_line_is_an_error(tmp_path, body):
    path = tmp_path / "full_202402.dat"
    path.write_bytes(body.encode())
    with pytest.raises(SourceFormatError, match="header but no data line") as info:
        comext.read_bulk(path, chunk_rows=1000)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(("reader", "body"), [
    ("genesis", b"\n\n \n"), ("genesis", gzip.compress(b"\n" * 1000)), ("comtrade", b" \n\t"),
    ("eurostat", gzip.compress(b"\n\n")), ("comext", b"\r\n\r\n"), ("genesis", zip_of({"a_flat.csv": b""})),
])
def test_blank_files_are_typed_errors(reader, body):
    module = {"genesis": genesis, "comtrade": comtrade, "eurostat": eurostat, "comext": comext}[reader]
    with pytest.raises(SourceFormatError, match="empty") as info:
        module.read(body, name="blank.x")
    assert "blank.x" in str(info.value)


# == Comext bulk: a bound on the line length ===========================================================


@pytest.mark.parametrize(("where", "row"), [
    ("reporter", BULK_ROW.replace("DE", "D" * (10 * MB), 1)),
    ("kept product", BULK_ROW.replace("27090090", "27" + "9" * (10 * MB))),
    ("other product", BULK_ROW.replace("27090090", "84" + "9" * (10 * MB))),
    ("value", BULK_ROW.replace(",100,100,", f",{'9' * (10 * MB)},100,")),
])
def test_a_10_mb_cell_is_refused_before_parsing(tmp_path, monkeypatch, where, row):
    """The attack: a 10 MB cell in one line took 15 s (and a 10 MB reporter code reached the frame).
    Every line is measured on the raw bytes; the parser never sees one longer than MAX_LINE_BYTES."""
    path = tmp_path / "full_202402.dat"
    path.write_text(BULK_HEADER + "\n" + BULK_ROW + "\n" + row + "\n" + BULK_ROW + "\n")
    parsed = []
    real = _comext_stream._parse
    monkeypatch.setattr(_comext_stream, "_parse", lambda *a: parsed.append(1) or real(*a))
    with pytest.raises(SourceFormatError, match=r"line 3 is longer than 16,384 bytes") as info:
        comext.read_bulk(path)
    assert str(path) in str(info.value) and parsed == []


@pytest.mark.parametrize("container", ["gzip", "unterminated", "header"])
def test_long_lines_in_other_places(tmp_path, container):
    path = tmp_path / "full_202402.dat"
    long_row = BULK_ROW.replace("NO_SU", "X" * 100_000)
    if container == "gzip":
        path = tmp_path / "full_202402.dat.gz"
        path.write_bytes(gzip.compress((BULK_HEADER + "\n" + BULK_ROW + "\n" + long_row + "\n").encode()))
        line = 3
    elif container == "unterminated":  # the last line, without its line end
        path.write_text(BULK_HEADER + "\n" + BULK_ROW + "\n" + long_row)
        line = 3
    else:
        path.write_text(BULK_HEADER + ",X" * 20_000 + "\n" + BULK_ROW + "\n")
        line = 1
    with pytest.raises(SourceFormatError, match=rf"line {line} .*longer than 16,384 bytes"):
        comext.read_bulk(path, chunk_rows=50_000)


def test_real_bulk_lines_are_far_below_the_bound():
    lines = BULK_SAMPLE.read_bytes().splitlines()
    assert max(len(line) for line in lines) * 50 < _comext_stream.MAX_LINE_BYTES
    assert comext.MAX_LINE_BYTES == _comext_stream.MAX_LINE_BYTES == 16_384


# == JSON: integers of thousands of digits ==============================================================


def test_comtrade_count_of_5000_digits_is_a_typed_error():
    """The attack: ``comtrade.read(b'{"count": ' + b'9' * 5000 + b'}')`` raised Python's untyped
    ValueError (the 4,300-digit limit of int())."""
    with pytest.raises(SourceFormatError) as info:
        comtrade.read(b'{"count": ' + b"9" * 5000 + b"}", name="ct.json")
    assert info.value.field == "count"
    assert str(info.value).startswith("ct.json [count]: an integer of 5,000 digits")


def jsonstat_doc(**changes) -> dict:
    doc = json.loads((FIX / "eurostat" / "nrg_ti_oilm_jsonstat.json").read_bytes())
    doc.update(changes)
    return doc


@pytest.mark.parametrize(("key", "make"), [
    ("value", lambda big: jsonstat_doc(value=[big])),
    ("size", lambda big: jsonstat_doc(size=[1, big])),
    ("0", lambda big: jsonstat_doc(value={"0": big})),
    ("index", lambda big: {"id": ["geo"], "dimension": {"geo": {"category": {"index": [[big]]}}}}),
])
def test_jsonstat_integers_of_thousands_of_digits_name_their_key(key, make):
    text = json.dumps(make("@BIG@")).replace('"@BIG@"', "-" + "7" * 6000).encode()
    for call in (lambda: eurostat.read(text, name="big.json"), lambda: jsonstat.parse(text, "big.json")):
        with pytest.raises(SourceFormatError) as info:
            call()
        assert info.value.field == key and "an integer of 6,000 digits" in str(info.value)


def test_json_integer_digit_bound():
    """Up to MAX_JSON_INT_DIGITS (320) digits an integer is parsed; one more is refused, also outside
    any object; digits inside a string are text."""
    limit = _io.MAX_JSON_INT_DIGITS
    assert _io.strict_json(b'{"a": ' + b"9" * limit + b"}", "j.json")["a"] == 10**limit - 1
    with pytest.raises(SourceFormatError, match=r"j\.json \[a\]"):
        _io.strict_json(b'{"a": ' + b"9" * (limit + 1) + b"}", "j.json")
    with pytest.raises(SourceFormatError, match=r"^j\.json: an integer of 5,000 digits"):
        _io.strict_json(b"[1, [" + b"9" * 5000 + b"]]", "j.json")
    assert _io.strict_json(b'{"s": "' + b"9" * 5000 + b'", "n": 5}', "j.json")["n"] == 5


# == GENESIS quality marks: a frame always passes validate ================================================


def genesis_with_mark(mark: str) -> bytes:
    """The January 2023 file with the quality mark of its first data line replaced by `mark`."""
    lines = JAN_CSV.read_bytes().split(b"\n")
    fields = lines[1].split(b";")
    fields[-1] = mark.encode()
    lines[1] = b";".join(fields)
    return b"\n".join(lines)


@pytest.mark.parametrize("mark", ["xc", "c", "C", "E", "ep", "x", ".", "?"])
def test_unknown_genesis_quality_marks_are_typed_errors(mark):
    """The attack: value_q ``xc`` gave a frame that fails validate (a confidential 'c' beside a mass)."""
    with pytest.raises(SourceFormatError, match=r"unknown quality marks") as info:
        genesis.read(genesis_with_mark(mark), name="q.csv")
    assert info.value.field == "value_q" and str(info.value).startswith("q.csv [value_q]")


@pytest.mark.parametrize("mark", ["e", "p", "r", "s", ""])
def test_known_genesis_quality_marks_give_a_valid_frame(mark):
    frame = genesis.read(genesis_with_mark(mark), name="q.csv")
    schema.validate(frame)
    assert set(frame["flag"].dropna()) <= {"e", "-e", "c", "ce", mark, f"-{mark}"}
    assert set(genesis.QUALITY_MARKS) == {"e", "p", "r", "s"}


# == gzip of many members: linear =======================================================================


class FedBytes:
    """A stand-in for :mod:`zlib` in :mod:`oilflows._io` that counts the input bytes handed to zlib."""

    def __init__(self):
        self.fed = 0
        self.error = zlib.error
        self.MAX_WBITS = zlib.MAX_WBITS

    def decompressobj(self, *args):
        inner = zlib.decompressobj(*args)
        outer = self

        class Counting:
            def decompress(self, data, max_length=0):
                outer.fed += len(data)
                return inner.decompress(data, max_length)

            def __getattr__(self, attribute):
                return getattr(inner, attribute)

        return Counting()

    def __getattr__(self, attribute):
        return getattr(zlib, attribute)


def test_gzip_of_many_members_is_inflated_in_linear_work(monkeypatch):
    """Concatenated gzip members are legal; the old code handed the whole rest of the file to every
    member (and copied it twice), quadratic in the number of members."""
    payload = b"a;b\n"
    members = 5_000
    data = b"".join(gzip.compress(payload, mtime=0) for _ in range(members))
    counter = FedBytes()
    monkeypatch.setattr(_io, "zlib", counter)
    assert _io.gunzip_if_needed(data, "many.gz") == payload * members
    assert counter.fed <= 4 * len(data), f"{counter.fed:,} bytes handed to zlib for a {len(data):,}-byte file"
    assert _io.gunzip_if_needed(data + b"\0" * 100, "many.gz") == payload * members  # zero padding
    with pytest.raises(SourceFormatError, match="not another gzip member"):
        _io.gunzip_if_needed(data + b"junk", "many.gz")


def test_bad_limit_settings_are_typed_config_errors(monkeypatch):
    # A mistyped environment variable is the user's configuration, not a bug: a typed ConfigError
    # (still a ValueError for old callers) naming the variable.
    from oilflows import _io
    from oilflows.errors import ConfigError

    monkeypatch.setenv(_io.RATIO_ENV, "two hundred")
    with pytest.raises(ConfigError, match=_io.RATIO_ENV):
        _io.compression_ratio_limit()
    monkeypatch.setenv(_io.LIMIT_ENV, "lots")
    with pytest.raises(ConfigError, match=_io.LIMIT_ENV):
        _io.decompressed_limit()
    with pytest.raises(ValueError):
        _io.compression_ratio_limit(0.5)


def test_streamed_gzip_lives_in_io_and_keeps_both_limits(tmp_path):
    # The Comext bulk reader streams gzip through oilflows._io (one place for decompression).
    import gzip

    from oilflows import _io
    from oilflows.sources import _comext_stream

    assert _comext_stream.iter_gzip_file is _io.iter_gzip_file
    path = tmp_path / "zeros.gz"
    path.write_bytes(gzip.compress(b"\0" * (4 * 1024**2)))  # ~4 KB that inflates 1000-fold
    with pytest.raises(DecompressionLimitError, match="compression-ratio limit"):
        list(_io.iter_gzip_file(path, None, 64 * 1024, _io.FileRatio(path, None)))
    with pytest.raises(DecompressionLimitError, match="max_uncompressed_bytes"):
        list(_io.iter_gzip_file(path, 100_000, 64 * 1024, _io.FileRatio(path, float("inf"))))
    assert b"".join(_io.iter_gzip_file(path, None, 64 * 1024, _io.FileRatio(path, float("inf")))) == (
        b"\0" * (4 * 1024**2))
