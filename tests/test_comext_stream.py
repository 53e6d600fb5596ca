"""Comext bulk streaming: equal results whatever the block size or container, bounded work per block, the
decompression limit, typed errors on bad input, and a property test over mutated bulk files."""

from __future__ import annotations

import csv
import gzip
import io
import random
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oilflows import schema
from oilflows.errors import OilflowsError, QueryError, SourceFormatError
from oilflows.sources import _comext_stream, comext

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "comext"
SAMPLE = FIXTURES / "full_v2_202402_sample.csv"
HEADER = SAMPLE.read_text().splitlines()[0]
COLUMNS = HEADER.split(",")


def line(reporter="DE", partner="KZ", product="27090090", flow="1", procedure="1", period="202402",
         value="100", kg="200", trade="E") -> str:
    """One v2 row; classification columns as in the fixture's chapter-27 rows."""
    return (f"{reporter},{partner},{trade},{product},33300,0610,0610,31,111000,05,{flow},{procedure},NO_SU,"
            f"{period},{value},{value},{kg},0")


def small_bulk_lines() -> list[str]:
    """About 400 rows: the fixture's 26, runs of chapter-27 rows (so blocks cut inside them), other
    chapters, rows whose first fields are wider or empty (the slow path), and keys split over procedures."""
    rng = random.Random(7)
    rows = SAMPLE.read_text().splitlines()[1:]
    partners = ["KZ", "NO", "US", "QZ", "NL", "", "EU27_2020_EXTRA"]
    for i in range(380):
        chapter27 = (i // 9) % 3 == 0  # runs of 9 chapter-27 rows, then 18 others
        product = rng.choice(["27090090", "27090010", "27101943", "27111100", "27XXXXXX"]) if chapter27 else \
            rng.choice(["84713000", "39XXXXXX", "72081000", "28044000", "02013000"])
        rows.append(line(reporter=rng.choice(["DE", "FR", "IT"]), partner=rng.choice(partners),
                         product=product, flow=rng.choice("12"), procedure=rng.choice("1129"),
                         value=str(rng.randint(0, 10**9)), kg=str(rng.randint(0, 10**9)),
                         trade=rng.choice(["E", "I", "EX"])))
    return rows


def write_bulk(path: Path, rows: list[str], newline: str = "\n") -> Path:
    path.write_bytes((newline.join([HEADER, *rows]) + newline).encode())
    return path


def expected_sums(rows: list[str], prefixes=("27",)) -> dict[tuple, tuple[float, float]]:
    """(reporter, partner, product, flow, period) -> (EUR, kg) summed with the csv module only."""
    sums: dict[tuple, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for r in csv.DictReader(io.StringIO("\n".join([HEADER, *rows]))):
        if r["PRODUCT_NC"].startswith(prefixes):
            key = (r["REPORTER"], r["PARTNER"], r["PRODUCT_NC"], r["FLOW"], r["PERIOD"])
            sums[key][0] += float(r["VALUE_EUR"])
            sums[key][1] += float(r["QUANTITY_KG"])
    return {k: (v[0], v[1]) for k, v in sums.items()}


def frame_sums(frame: pd.DataFrame) -> dict[tuple, tuple[float, float]]:
    """The same mapping read back from a canonical frame (codes mapped back to the file's)."""
    out = {}
    partner_back = {comext.partner_code(p): p for p in ["KZ", "NO", "US", "QZ", "NL", "", "EU27_2020_EXTRA",
                                                        "AD", "PL", "CN"]}
    flow_back = {v: k for k, v in comext.FLOWS.items()}
    for r in frame.itertuples():
        product = r.grade if isinstance(r.grade, str) else (r.product[3:] if r.product.startswith("cn_")
                                                              else "2709")
        key = (r.reporter, partner_back[r.partner], product, flow_back[r.flow], r.period.strftime("%Y%m"))
        out[key] = (r.value, r.mass_t * 1000)
    return out


@pytest.fixture(scope="module")
def rows() -> list[str]:
    return small_bulk_lines()


@pytest.fixture(scope="module")
def dat(tmp_path_factory, rows) -> Path:
    return write_bulk(tmp_path_factory.mktemp("bulk") / "full_202402.dat", rows)


@pytest.fixture(scope="module")
def reference(dat) -> pd.DataFrame:
    """One block for the whole file (nothing streamed)."""
    return comext.read_bulk(dat, chunk_rows=10**6)


def assert_sums(frame: pd.DataFrame, expected: dict) -> None:
    got = frame_sums(frame)
    assert got.keys() == expected.keys()
    for key, (value, kg) in expected.items():
        assert got[key][0] == pytest.approx(value) and got[key][1] == pytest.approx(kg, rel=1e-12), key


# -- streaming equals the whole-file read ------------------------------------------------------------


def test_reference_matches_the_hand_filtered_rows(rows, reference):
    schema.validate(reference)
    expected = expected_sums(rows)
    assert len(reference) == len(expected) > 40
    assert_sums(reference, expected)


@pytest.mark.parametrize(("chunk_rows", "row_bytes"), [(1, 100), (2, 13), (3, 100), (7, 29), (20, 100)])
def test_tiny_blocks_give_the_same_frame(dat, rows, reference, monkeypatch, chunk_rows, row_bytes):
    monkeypatch.setattr(_comext_stream, "MIN_BLOCK_BYTES", 1)
    monkeypatch.setattr(_comext_stream, "BULK_ROW_BYTES", row_bytes)
    block = chunk_rows * row_bytes
    text = dat.read_bytes()
    # The fixture cuts at least one chapter-27 line across a read block (the bridge path) ...
    starts = np.cumsum([0] + [len(x) + 1 for x in [HEADER, *rows]])
    cut = [i for i, r in enumerate(rows) if r.split(",")[3].startswith("27")
           and (starts[i + 1] // block) != ((starts[i + 2] - 1) // block)]
    assert cut and len(text) > 10 * block
    frame = comext.read_bulk(dat, chunk_rows=chunk_rows)
    pd.testing.assert_frame_equal(frame, reference)


def test_a_run_of_kept_rows_crosses_parse_batches(dat, monkeypatch):
    sizes: list[int] = []
    real = _comext_stream._parse

    def spy(kept, line_numbers, plan):
        sizes.append(len(line_numbers))
        return real(kept, line_numbers, plan)

    monkeypatch.setattr(_comext_stream, "_parse", spy)
    batches = list(comext.iter_bulk(dat, chunk_rows=4))
    assert max(sizes) <= 4 and len(sizes) > 10
    # Kept rows come in runs of 9 (see small_bulk_lines): a run of 9 is split over 3+ parse calls.
    assert sum(b.num_rows for b in batches) == sum(sizes)


@pytest.mark.parametrize("container", ["gzip", "7z", "crlf", "bom_and_blank_lines"])
def test_containers_and_line_ends_give_the_same_frame(tmp_path, rows, reference, monkeypatch, container):
    monkeypatch.setattr(_comext_stream, "MIN_BLOCK_BYTES", 1)
    if container == "gzip":
        path = tmp_path / "full_202402.dat.gz"
        path.write_bytes(gzip.compress(("\n".join([HEADER, *rows]) + "\n").encode()))
    elif container == "7z":
        py7zr = pytest.importorskip("py7zr")
        path = tmp_path / "full_v2_202402.7z"
        with py7zr.SevenZipFile(path, "w") as archive:
            archive.writestr(("\n".join([HEADER, *rows]) + "\n").encode(), "full_202402.dat")
    elif container == "crlf":
        path = write_bulk(tmp_path / "full_202402.dat", rows, newline="\r\n")
    else:
        body = [HEADER, *rows[:100], "", *rows[100:], "", ""]
        path = tmp_path / "full_202402.dat"
        path.write_bytes(b"\xef\xbb\xbf" + "\n".join(body).encode())
    for chunk_rows in (5, 10**6):
        pd.testing.assert_frame_equal(comext.read_bulk(path, chunk_rows=chunk_rows), reference)


def test_filters_match_the_hand_filtered_rows(dat, rows):
    frame = comext.read_bulk(dat, chapters=("2709",), chunk_rows=3)
    assert_sums(frame, expected_sums(rows, ("2709",)))
    crude = comext.read_bulk(dat, products=comext.CRUDE_CN8, reporters=["DE"], chunk_rows=3)
    expected = {k: v for k, v in expected_sums(rows, comext.CRUDE_CN8).items() if k[0] == "DE"}
    assert_sums(crude, expected)


def test_no_chapter_filter_keeps_every_row(dat, rows):
    batches = list(comext.iter_bulk(dat, chapters=None, chunk_rows=50))
    assert sum(b.num_rows for b in batches) == len(rows)
    assert max(b.num_rows for b in batches) <= 50


# -- bounded work ---------------------------------------------------------------------------------


def test_every_stage_holds_at_most_chunk_rows(dat, rows, monkeypatch):
    """Instrument each stage: bytes read per block, lines per block, rows per parse and per batch."""
    chunk_rows = 6
    block_bytes = chunk_rows * comext.BULK_ROW_BYTES
    monkeypatch.setattr(_comext_stream, "MIN_BLOCK_BYTES", 1)
    real_chunks, real_blocks, real_parse = (_comext_stream._file_chunks, _comext_stream._line_blocks,
                                            _comext_stream._parse)
    seen = {"chunks": 0, "blocks": 0, "parses": 0}

    def chunks(path, size):
        assert size == block_bytes
        for chunk in real_chunks(path, size):
            assert len(chunk) <= block_bytes
            seen["chunks"] += 1
            yield chunk

    def blocks(source, rows_at_once, name):
        for block in real_blocks(source, rows_at_once, name):
            if isinstance(block, _comext_stream._Block):
                assert len(block.starts) <= chunk_rows
                seen["blocks"] += 1
            yield block

    def parse(kept, line_numbers, plan):
        assert len(line_numbers) <= chunk_rows
        seen["parses"] += 1
        return real_parse(kept, line_numbers, plan)

    monkeypatch.setattr(_comext_stream, "_file_chunks", chunks)
    monkeypatch.setattr(_comext_stream, "_line_blocks", blocks)
    monkeypatch.setattr(_comext_stream, "_parse", parse)
    batches = list(comext.iter_bulk(dat, chunk_rows=chunk_rows))
    assert all(b.num_rows <= chunk_rows for b in batches)
    assert seen["chunks"] > 20 and seen["blocks"] >= len(rows) / chunk_rows and seen["parses"] > 10


def test_7z_blocks_are_bounded_and_the_thread_stops_on_close(tmp_path, rows, monkeypatch):
    py7zr = pytest.importorskip("py7zr")
    import threading

    path = tmp_path / "full_v2_202402.7z"
    with py7zr.SevenZipFile(path, "w") as archive:
        archive.writestr(("\n".join([HEADER, *rows * 20]) + "\n").encode(), "full_202402.dat")
    monkeypatch.setattr(_comext_stream, "MIN_BLOCK_BYTES", 1)
    real = _comext_stream._seven_zip_stream
    sizes: list[int] = []

    def spy(*args):
        for chunk in real(*args):
            sizes.append(len(chunk))
            yield chunk

    monkeypatch.setattr(_comext_stream, "_seven_zip_stream", spy)
    iterator = comext.iter_bulk(path, chunk_rows=10)
    first = next(iterator)
    assert first.num_rows <= 10
    iterator.close()
    assert max(sizes) <= 10 * comext.BULK_ROW_BYTES
    assert not [t for t in threading.enumerate() if t.name == "oilflows-comext-7z"]
    frame = comext.read_bulk(path, chunk_rows=10)
    assert len(sizes) > 20
    doubled = {k: (v * 20, kg * 20) for k, (v, kg) in expected_sums(rows).items()}
    assert_sums(frame, doubled)


# -- decompression limit --------------------------------------------------------------------------


@pytest.fixture
def archive(tmp_path, rows) -> tuple[Path, int]:
    py7zr = pytest.importorskip("py7zr")
    body = ("\n".join([HEADER, *rows * 5]) + "\n").encode()
    path = tmp_path / "full_v2_202402.7z"
    with py7zr.SevenZipFile(path, "w") as z:
        z.writestr(body, "full_202402.dat")
    return path, len(body)


def test_7z_member_declaring_more_than_the_limit_is_refused_before_decompressing(archive, monkeypatch):
    path, size = archive

    def never(*args):
        raise AssertionError("decompression started")

    monkeypatch.setattr(_comext_stream, "_seven_zip_stream", never)
    with pytest.raises(comext.DecompressionLimitError) as info:
        comext.read_bulk(path, max_uncompressed_bytes=size - 1)
    assert isinstance(info.value, SourceFormatError) and isinstance(info.value, OilflowsError)
    assert str(path) in str(info.value) and "full_202402.dat" in str(info.value)
    assert f"{size:,}" in str(info.value) and info.value.field == "full_202402.dat"


def test_7z_stream_beyond_the_limit_is_stopped(archive, monkeypatch):
    """A header that understates the member (declared 0 bytes): the stream itself is counted."""
    path, size = archive
    monkeypatch.setattr(_comext_stream, "declared_size", lambda info: 0)
    monkeypatch.setattr(_comext_stream, "MIN_BLOCK_BYTES", 1)
    limit = size // 3
    seen: list[int] = []
    real = _comext_stream._seven_zip_stream

    def spy(*args):
        for chunk in real(*args):
            seen.append(len(chunk))
            yield chunk

    monkeypatch.setattr(_comext_stream, "_seven_zip_stream", spy)
    with pytest.raises(comext.DecompressionLimitError, match="more than max_uncompressed_bytes") as info:
        comext.read_bulk(path, max_uncompressed_bytes=limit, chunk_rows=10)
    assert str(path) in str(info.value)
    assert sum(seen) <= limit  # nothing beyond the limit reached the parser
    assert comext.read_bulk(path, max_uncompressed_bytes=None).shape[0] > 0


def test_the_real_size_passes_the_limit(archive):
    path, size = archive
    assert len(comext.read_bulk(path, max_uncompressed_bytes=size)) > 0


def test_gzip_stream_beyond_the_limit_is_stopped(tmp_path, rows):
    path = tmp_path / "full_202402.dat.gz"
    body = ("\n".join([HEADER, *rows]) + "\n").encode()
    path.write_bytes(gzip.compress(body))
    with pytest.raises(comext.DecompressionLimitError, match="gzip") as info:
        comext.read_bulk(path, max_uncompressed_bytes=len(body) // 2, chunk_rows=5)
    assert str(path) in str(info.value)


def test_a_highly_compressible_7z_bomb_is_refused_quickly(tmp_path):
    py7zr = pytest.importorskip("py7zr")
    path = tmp_path / "bomb.7z"
    with py7zr.SevenZipFile(path, "w") as z:
        z.writestr((HEADER + "\n").encode() + b"0" * 30_000_000, "full_202402.dat")
    assert path.stat().st_size < 100_000
    with pytest.raises(comext.DecompressionLimitError, match="declares 30,000,"):
        comext.read_bulk(path, max_uncompressed_bytes=10_000_000)


def test_old_py7zr_without_streaming_writers_extracts_to_a_temporary_file(archive, rows, monkeypatch):
    py7zr = pytest.importorskip("py7zr")
    path, size = archive
    monkeypatch.delattr(py7zr.io, "WriterFactory")
    frame = comext.read_bulk(path, chunk_rows=7)
    assert_sums(frame, {k: (v * 5, kg * 5) for k, (v, kg) in expected_sums(rows).items()})
    with pytest.raises(comext.DecompressionLimitError, match="more than max_uncompressed_bytes"):
        monkeypatch.setattr(_comext_stream, "declared_size", lambda info: 0)
        comext.read_bulk(path, max_uncompressed_bytes=size - 1)


def test_limit_argument_is_checked(dat):
    with pytest.raises(QueryError, match="max_uncompressed_bytes"):
        comext.iter_bulk(dat, max_uncompressed_bytes=0)


# -- bad input: typed errors naming file and field -------------------------------------------------


def sample_text() -> str:
    return SAMPLE.read_text()


def replace_column(text: str, column: str, old: str, new: str, row: int = 14) -> str:
    """`text` with field `column` of data row `row` (1-based; 14 is DE,KZ crude) changed from old to new."""
    lines = text.splitlines()
    fields = lines[row].split(",")
    index = COLUMNS.index(column)
    assert fields[index] == old
    fields[index] = new
    lines[row] = ",".join(fields)
    return "\n".join(lines) + "\n"


BAD_FILES = {
    "truncated dat": (lambda: sample_text()[:-30], "line 27\\) has 15 of 18 fields, ends before VALUE_NAC: "
                      "the file is truncated", "VALUE_NAC"),
    "wrong delimiter": (lambda: sample_text().replace(",", ";"), "not comma-separated", "REPORTER"),
    "wrong delimiter in rows": (lambda: sample_text().replace("DE,KZ,E,", "DE;KZ;E;"),
                                "line 15 has 15 of 18 fields.*wrong delimiter", "VALUE_NAC"),
    "missing column": (lambda: "\n".join(",".join(f for i, f in enumerate(r.split(",")) if i != 16)
                                         for r in sample_text().splitlines()) + "\n",
                       "QUANTITY_KG", "QUANTITY_KG"),
    "non-numeric value": (lambda: replace_column(sample_text(), "VALUE_EUR", "401234567", "4O1234567"),
                          "non-numeric VALUE_EUR '4O1234567' on line 15", "VALUE_EUR"),
    "non-numeric mass": (lambda: replace_column(sample_text(), "QUANTITY_KG", "702345678", "n/a"),
                         "non-numeric QUANTITY_KG", "QUANTITY_KG"),
    "impossible month": (lambda: replace_column(sample_text(), "PERIOD", "202402", "202413"), "202413",
                         "PERIOD"),
    "impossible period": (lambda: replace_column(sample_text(), "PERIOD", "202402", "2024-2"), "2024-2",
                          "PERIOD"),
    "short row": (lambda: sample_text().replace(",NO_SU,202402,401234567,401234567,702345678,0",
                                                ",NO_SU,202402,401234567"),
                  "line 15 has 15 of 18", "VALUE_NAC"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_bulk_files(tmp_path, case):
    make, fragment, field = BAD_FILES[case]
    path = tmp_path / "full_202402.dat"
    path.write_text(make())
    with pytest.raises(SourceFormatError, match=fragment) as info:
        comext.read_bulk(path, chunk_rows=4)
    assert str(path) in str(info.value)
    assert info.value.field == field


HTML = ('<!DOCTYPE html>\n<html><head><title>Eurostat - Service unavailable</title></head>\n'
        "<body>Our services are temporarily unavailable.</body></html>\n")


@pytest.mark.parametrize("suffix", [".7z", ".dat", ".dat.gz"])
def test_html_page_instead_of_archive(tmp_path, suffix):
    path = tmp_path / f"full_v2_202402{suffix}"
    body = HTML.encode()
    path.write_bytes(gzip.compress(body) if suffix.endswith(".gz") else body)
    with pytest.raises(SourceFormatError, match="HTML/XML page: 'Eurostat - Service unavailable'") as info:
        comext.read_bulk(path)
    assert str(path) in str(info.value)


def test_truncated_7z(archive, tmp_path):
    path, _ = archive
    for fraction in (0.3, 0.9):
        cut = tmp_path / f"cut{fraction}.7z"
        cut.write_bytes(path.read_bytes()[: int(path.stat().st_size * fraction)])
        with pytest.raises(SourceFormatError, match="7z archive is truncated or corrupt") as info:
            comext.read_bulk(cut)
        assert str(cut) in str(info.value)


def test_corrupt_7z_data_is_a_typed_error_from_the_worker_thread(archive, tmp_path):
    path, _ = archive
    data = bytearray(path.read_bytes())
    for i in range(64, 96):  # inside the packed stream (the header is at the end of the archive)
        data[i] ^= 0x55
    bad = tmp_path / "bad.7z"
    bad.write_bytes(bytes(data))
    with pytest.raises(SourceFormatError, match="7z archive is truncated or corrupt|malformed") as info:
        comext.read_bulk(bad, chunk_rows=5)
    assert str(bad) in str(info.value)


def test_truncated_gzip_names_the_file(tmp_path, rows):
    path = tmp_path / "full_202402.dat.gz"
    data = gzip.compress(("\n".join([HEADER, *rows]) + "\n").encode())
    path.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(SourceFormatError, match="gzip stream is truncated or corrupt") as info:
        comext.read_bulk(path, chunk_rows=5)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(("body", "fragment"), [
    (b"", "empty"),
    (b"\n\n", "header\\) is empty"),
    (b"x" * (_comext_stream.MAX_LINE_BYTES + 10), "no line end"),
    (HEADER.encode() + b"\n" + b"9" * (_comext_stream.MAX_LINE_BYTES + 10) + b"\n", "longer than"),
    (b"\xff\xfe" + HEADER.encode("utf-16-le") + b"\n", "not UTF-8"),
    (HEADER.encode() + b"\n" + line(partner="K\xc3").encode("latin-1") + b"\n", "not UTF-8"),
])
def test_not_a_bulk_file(tmp_path, body, fragment):
    path = tmp_path / "full_202402.dat"
    path.write_bytes(body)
    with pytest.raises(SourceFormatError, match=fragment) as info:
        comext.read_bulk(path, chunk_rows=100)
    assert str(path) in str(info.value)


def test_header_only_is_an_error_and_no_chapter_27_gives_an_empty_valid_frame(tmp_path):
    """A file with no data line at all (issue 12: a 7z of blank lines read as an empty frame) is
    refused; a file whose data lines are all filtered out is an empty frame."""
    path = tmp_path / "full_202402.dat"
    for body in (HEADER + "\n", HEADER, HEADER + "\n\n\r\n\n"):
        path.write_text(body)
        with pytest.raises(SourceFormatError, match="no data line") as info:
            comext.read_bulk(path)
        assert str(path) in str(info.value)
    path.write_text(HEADER + "\n" + line(product="84713000") + "\n")
    frame = comext.read_bulk(path)
    assert frame.empty and list(frame.columns) == list(schema.COLUMNS)


def test_an_empty_measure_is_null_not_zero(tmp_path):
    path = tmp_path / "full_202402.dat"
    path.write_text(HEADER + "\n" + line(value="", kg="") + "\n")
    row = comext.read_bulk(path).iloc[0]
    assert pd.isna(row["value"]) and pd.isna(row["mass_t"])


# -- property test --------------------------------------------------------------------------------

SEED_TEXT = SAMPLE.read_bytes()


@st.composite
def mutated(draw) -> bytes:
    data = bytearray(SEED_TEXT)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "delete", "insert", "truncate", "duplicate", "swap"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] = draw(st.sampled_from(b",;\n\r\"0123456789XE-. \xff\x00"))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 40))]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=20))
        elif kind == "truncate":
            del data[at:]
        elif kind == "duplicate":
            end = data.find(b"\n", at)
            data[at:at] = data[at:end + 1] if end >= 0 else b""
        else:
            lines = bytes(data).split(b"\n")
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            data = bytearray(b"\n".join(lines))
    return bytes(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=mutated(), chunk_rows=st.sampled_from([1, 3, 1000]),
       container=st.sampled_from(["dat", "dat", "gzip"]))
def test_mutated_bulk_files_give_a_valid_frame_or_a_typed_error(body, chunk_rows, container):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("full_202402.dat.gz" if container == "gzip" else "full_202402.dat")
        path.write_bytes(gzip.compress(body) if container == "gzip" else body)
        try:
            frame = comext.read_bulk(path, chunk_rows=chunk_rows)
        except OilflowsError as exc:
            assert str(path) in str(exc)
            return
        schema.validate(frame)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), min_size=1, max_size=4),
       cut=st.one_of(st.none(), st.integers(0, 10**6)))
def test_mutated_7z_archives_give_a_valid_frame_or_a_typed_error(flips, cut):
    py7zr = pytest.importorskip("py7zr")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "full_v2_202402.7z"
        with py7zr.SevenZipFile(path, "w") as z:
            z.writestr(SEED_TEXT, "full_202402.dat")
        data = bytearray(path.read_bytes())
        for at, mask in flips:
            data[at % len(data)] ^= mask
        if cut is not None:
            del data[cut % len(data):]
        path.write_bytes(bytes(data))
        try:
            frame = comext.read_bulk(path, chunk_rows=3)
        except OilflowsError as exc:
            assert str(path) in str(exc)
            return
        schema.validate(frame)


def test_field_count_errors_cannot_cancel_out_and_values_must_be_finite(tmp_path):
    """A chapter-27 line with a field too few next to another line with a field too many must not
    pass as two good lines (the counts are per line), and inf/nan values are refused (review finding)."""
    good = line()
    short = line().replace(",E,27090090,", ",E27090090,")  # one comma missing before the product
    long = line(product="84713000") + ",extra"
    path = write_bulk(tmp_path / "cancel.dat", [good, short, long])
    with pytest.raises(SourceFormatError, match="line 3") as info:
        comext.read_bulk(path)
    assert "cancel.dat" in str(info.value)
    for bad in ("inf", "1e999", "nan"):
        path = write_bulk(tmp_path / f"{bad}.dat", [good, line(value=bad)])
        with pytest.raises(SourceFormatError, match="not a finite number") as info:
            comext.read_bulk(path)
        assert info.value.field == "VALUE_EUR"
