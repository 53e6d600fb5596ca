"""Decompression limits of oilflows._io against gzip and ZIP bombs, and the readers that go through them.

The bombs are real and small: made here from megabytes of zeros (about 1000:1), with the limit set to
1 MB. Memory is measured with tracemalloc: a bomb must be stopped after about one chunk, not after
being inflated.
"""

from __future__ import annotations

import gzip
import io
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from _fakes import peak_bytes

from oilflows import _io
from oilflows.errors import OilflowsError, SourceFormatError
from oilflows.sources import comtrade, dg_ener, eurostat, genesis

FIX = Path(__file__).resolve().parent / "fixtures"
MB = 1_000_000
COIR = FIX / "dg_ener" / "Crude_Oil_Imports_Reporting_Country_2013.xlsx"
GENESIS_ZIP = FIX / "genesis" / "51000-0017_2023-01_de_flat.zip"


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """50 MB of zeros, gzipped (about 50 kB)."""
    return gzip.compress(b"\0" * (50 * MB), compresslevel=9, mtime=0)


def zip_of(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


# -- the limit and its overrides ------------------------------------------------------------------


def test_default_limit_and_overrides(monkeypatch):
    monkeypatch.delenv(_io.LIMIT_ENV, raising=False)
    assert _io.decompressed_limit() == 4 * 1024**3 == _io.MAX_DECOMPRESSED_BYTES
    monkeypatch.setenv(_io.LIMIT_ENV, "1e6")
    assert _io.decompressed_limit() == MB
    assert _io.decompressed_limit(123) == 123  # the argument wins over the environment
    monkeypatch.setenv(_io.LIMIT_ENV, "lots")
    with pytest.raises(ValueError, match=_io.LIMIT_ENV):
        _io.decompressed_limit()
    with pytest.raises(ValueError, match="positive"):
        _io.decompressed_limit(0)


def test_gzip_bomb_is_stopped_before_it_is_inflated(gzip_bomb):
    peak, raised = peak_bytes(lambda: _io.gunzip_if_needed(gzip_bomb, "bomb.csv.gz", limit=MB))
    assert isinstance(raised, _io.DecompressionLimitError) and isinstance(raised, SourceFormatError)
    assert "bomb.csv.gz" in str(raised) and "gzip" in str(raised) and "1,000,000" in str(raised)
    assert peak < 6 * MB, f"peak {peak:,} bytes: the bomb was inflated"  # limit + one chunk, not 50 MB
    # the reference: inflating the whole bomb takes its full size
    reference, _ = peak_bytes(lambda: gzip.decompress(gzip_bomb))
    assert reference > 45 * MB


def test_gzip_limit_from_the_environment_and_the_module(gzip_bomb, monkeypatch):
    monkeypatch.setenv(_io.LIMIT_ENV, str(MB))
    with pytest.raises(_io.DecompressionLimitError):
        _io.gunzip_if_needed(gzip_bomb, "bomb.gz")
    # about 1000:1, so the ratio limit (200 by default) must be raised too to inflate it all
    assert len(_io.gunzip_if_needed(gzip_bomb, "bomb.gz", limit=60 * MB, max_ratio=2000)) == 50 * MB
    monkeypatch.delenv(_io.LIMIT_ENV)
    monkeypatch.setattr(_io, "MAX_DECOMPRESSED_BYTES", MB)
    with pytest.raises(_io.DecompressionLimitError):
        _io.gunzip_if_needed(gzip_bomb, "bomb.gz")


def test_gzip_members_trailing_bytes_and_truncation():
    one, two = b"first;line\n", b"second;line\n"
    packed = gzip.compress(one, mtime=0) + gzip.compress(two, mtime=0)
    assert _io.gunzip_if_needed(packed, "two.gz") == one + two  # concatenated members, like gzip(1)
    assert _io.gunzip_if_needed(packed + b"\0" * 8, "two.gz") == one + two  # zero padding is ignored
    assert _io.gunzip_if_needed(b"plain text", "plain.csv") == b"plain text"
    with pytest.raises(SourceFormatError, match=r"garbage\.gz \[gzip\].*not another gzip member"):
        _io.gunzip_if_needed(packed + b"trailing junk", "garbage.gz")
    first = len(gzip.compress(one, mtime=0))
    assert _io.gunzip_if_needed(packed[:first], "one.gz") == one  # a cut between members is a valid file
    for cut in (3, 12, first + 5, len(packed) - 1):
        with pytest.raises(SourceFormatError, match=r"cut\.gz \[gzip\].*truncated or corrupt"):
            _io.gunzip_if_needed(packed[:cut], "cut.gz")
    corrupt = bytearray(gzip.compress(one * 50, mtime=0))
    corrupt[20] ^= 0xFF
    with pytest.raises(SourceFormatError, match="truncated or corrupt"):
        _io.gunzip_if_needed(bytes(corrupt), "flip.gz")


# -- ZIP archives ---------------------------------------------------------------------------------


def test_zip_bomb_declared_size_over_the_limit():
    bomb = zip_of({"a_flat.csv": b"\0" * (10 * MB)})
    peak, raised = peak_bytes(lambda: _io.check_zip(bomb, "bomb.zip", limit=MB))
    assert isinstance(raised, _io.DecompressionLimitError)
    assert "bomb.zip [a_flat.csv]" in str(raised) and "declares" in str(raised)
    assert peak < MB  # refused from the central directory alone


def test_zip_bomb_compression_ratio():
    bomb = zip_of({"xl/worksheets/sheet1.xml": b"\0" * (10 * MB)})  # about 1000:1
    with pytest.raises(_io.DecompressionLimitError, match=r"sheet1\.xml.*expands 1,0\d\d times") as info:
        _io.check_zip(bomb, "bomb.xlsx")  # under the default 4 GiB limit: the ratio catches it
    assert "bomb.xlsx" in str(info.value)
    assert _io.check_zip(bomb, "bomb.xlsx", max_ratio=2000)[0].file_size == 10 * MB
    text = b"".join(b"%d;%d;%d\n" % (i, i * 7 % 1000, i * 13 % 997) for i in range(200_000))  # real text
    assert len(text) > _io.RATIO_MIN_BYTES
    assert [i.filename for i in _io.check_zip(zip_of({"t.csv": text}), "t.zip")] == ["t.csv"]


def lie_about_size(archive: bytes, member: str, size: int) -> bytes:
    """`archive` with the uncompressed size of `member` rewritten in its local and central headers."""
    data = bytearray(archive)
    with zipfile.ZipFile(io.BytesIO(archive)) as parsed:
        info = parsed.getinfo(member)
    struct.pack_into("<L", data, info.header_offset + 22, size)  # local header: uncompressed size
    central = bytes(data).rindex(b"PK\x01\x02")
    struct.pack_into("<L", data, central + 24, size)  # central directory: uncompressed size
    return bytes(data)


def test_zip_member_that_inflates_past_its_declared_size():
    """The central directory says 1,000 bytes; the deflate stream holds 20 MB of zeros."""
    liar = lie_about_size(zip_of({"a_flat.csv": b"\0" * (20 * MB)}), "a_flat.csv", 1000)
    with zipfile.ZipFile(io.BytesIO(liar)) as parsed:
        assert parsed.getinfo("a_flat.csv").file_size == 1000  # the lie is what a reader sees
    peak, raised = peak_bytes(lambda: _io.check_zip(liar, "liar.zip"))
    assert isinstance(raised, _io.DecompressionLimitError)
    assert "liar.zip [a_flat.csv]" in str(raised) and "past its declared size of 1,000" in str(raised)
    assert peak < 4 * MB
    with pytest.raises(_io.DecompressionLimitError):
        genesis.read(liar, name="liar.zip")


def test_read_zip_member_matches_zipfile():
    for path in (GENESIS_ZIP, COIR):
        data = path.read_bytes()
        infos = _io.check_zip(data, path.name)
        with zipfile.ZipFile(path) as archive:
            assert [i.filename for i in infos] == archive.namelist()
            for info in infos:
                assert _io.read_zip_member(data, info, path.name) == archive.read(info.filename)
    stored = zip_of({"s.csv": b"a;b\n1;2\n"}, zipfile.ZIP_STORED)
    (info,) = _io.check_zip(stored, "s.zip")
    assert _io.read_zip_member(stored, info, "s.zip") == b"a;b\n1;2\n"


def test_zip_methods_encryption_and_inconsistent_headers():
    bz = zip_of({"a.csv": b"x" * 1000}, zipfile.ZIP_BZIP2)
    with pytest.raises(SourceFormatError, match=r"m\.zip \[a\.csv\].*method 12"):
        _io.check_zip(bz, "m.zip")
    encrypted = bytearray(zip_of({"a.csv": b"x"}))
    central = bytes(encrypted).rindex(b"PK\x01\x02")
    encrypted[central + 8] |= 0x1  # the central directory's encryption flag
    with pytest.raises(SourceFormatError, match=r"\[a\.csv\].*encrypted"):
        _io.check_zip(bytes(encrypted), "e.zip")
    renamed = bytearray(zip_of({"a.csv": b"x;y\n"}))
    renamed[30] = ord("b")  # the local header's file name: b.csv, the directory still says a.csv
    with pytest.raises(SourceFormatError, match=r"\[a\.csv\].*local header names b'b\.csv'"):
        _io.check_zip(bytes(renamed), "n.zip")
    flipped = bytearray(zip_of({"a.csv": b"x;y\n" * 100}))
    flipped[40] ^= 0x55  # inside the deflate stream
    with pytest.raises(SourceFormatError, match=r"f\.zip \[a\.csv\]: ZIP archive is truncated or corrupt"):
        _io.check_zip(bytes(flipped), "f.zip")
    with pytest.raises(SourceFormatError, match=r"x\.zip: ZIP archive is truncated or corrupt"):
        _io.check_zip(b"PK\x03\x04 not really", "x.zip")


# -- the readers go through the limits ------------------------------------------------------------


def test_readers_stop_a_gzip_bomb(gzip_bomb, monkeypatch):
    monkeypatch.setenv(_io.LIMIT_ENV, str(MB))
    json_bomb = gzip.compress(b"{" + b" " * (50 * MB), mtime=0)
    calls = {
        "comtrade.json.gz": lambda: comtrade.read(gzip_bomb, name="comtrade.json.gz"),
        "genesis.csv.gz": lambda: genesis.read(gzip_bomb, name="genesis.csv.gz"),
        "jsonstat.json.gz": lambda: eurostat.read(json_bomb, name="jsonstat.json.gz"),
    }
    for name, call in calls.items():
        peak, raised = peak_bytes(call)
        assert isinstance(raised, _io.DecompressionLimitError), (name, raised)
        assert name in str(raised)
        assert peak < 8 * MB, (name, peak)
    # SDMX-CSV inflates its header first (formats/sdmx_csv.py streams gzip itself): refused, bounded
    peak, raised = peak_bytes(lambda: eurostat.read(gzip_bomb, name="eurostat.csv.gz"))
    assert isinstance(raised, SourceFormatError) and "eurostat.csv.gz" in str(raised)
    assert peak < 8 * MB


def test_genesis_zip_bomb(monkeypatch):
    bomb = zip_of({"51000-0017_flat.csv": b"\0" * (10 * MB)})
    with pytest.raises(_io.DecompressionLimitError, match=r"g\.zip \[51000-0017_flat\.csv\].*expands"):
        genesis.read(bomb, name="g.zip")
    monkeypatch.setenv(_io.LIMIT_ENV, str(MB))
    with pytest.raises(_io.DecompressionLimitError, match="declares"):
        genesis.parse_ffcsv(bomb, name="g.zip")


def xlsx_with(extra: dict[str, bytes]) -> bytes:
    """The real 2013 workbook with extra members added to its archive."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(COIR) as source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(item, source.read(item.filename))
        for name, content in extra.items():
            target.writestr(name, content)
    return buffer.getvalue()


def test_xlsx_bomb_is_refused_before_openpyxl(monkeypatch):
    bomb = xlsx_with({"xl/media/image1.bin": b"\0" * (10 * MB)})
    opened = []
    monkeypatch.setattr(dg_ener.openpyxl, "load_workbook", lambda *a, **k: opened.append(1))
    with pytest.raises(_io.DecompressionLimitError, match=r"<bytes> \[xl/media/image1\.bin\]"):
        dg_ener.read_coir(bomb, year=2013)
    monkeypatch.setenv(_io.LIMIT_ENV, str(MB))
    with pytest.raises(_io.DecompressionLimitError, match="declares"):
        dg_ener.read_coir(COIR.read_bytes(), year=2013)  # the real workbook is 1.27 MB inflated
    assert opened == []  # openpyxl never saw either archive


def test_xlsx_with_a_lying_member_is_refused(tmp_path):
    liar = lie_about_size(xlsx_with({"xl/media/image1.bin": b"\0" * (5 * MB)}), "xl/media/image1.bin", 10)
    path = tmp_path / "Crude_Oil_Imports_Reporting_Country_2013.xlsx"
    path.write_bytes(liar)
    with pytest.raises(_io.DecompressionLimitError) as info:
        dg_ener.read_coir(path)
    assert str(path) in str(info.value) and info.value.field == "xl/media/image1.bin"
    assert isinstance(info.value, OilflowsError)


def test_real_files_pass_the_checks():
    """The limits do not refuse real data: the fixtures still read (their sizes are known)."""
    frame = dg_ener.read_coir(COIR, sheets="annual")
    assert len(frame) > 100
    assert len(genesis.read(GENESIS_ZIP)) > 0
    infos = _io.check_zip(COIR.read_bytes(), COIR.name)
    assert sum(i.file_size for i in infos) == 1_268_526  # unzip -lv total
    assert zlib.crc32(_io.read_zip_member(COIR.read_bytes(), infos[0], COIR.name)) == infos[0].CRC


def test_members_whose_output_outlasts_their_input_inflate_completely():
    """zlib can still hold output when the last input byte has been read (review finding: 164 of
    600 sizes just above 1 MiB were refused as 'does not end'). Every size must round-trip."""
    import gzip as gzip_module
    import io
    import zipfile

    for n in range(2**20, 2**20 + 600, 7):
        payload = b"a" * n
        assert _io.gunzip_if_needed(gzip_module.compress(payload), "x.gz", max_ratio=1e9) == payload
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("m.txt", payload)
        infos = _io.check_zip(buffer.getvalue(), "x.zip", max_ratio=1e9)
        assert _io.read_zip_member(buffer.getvalue(), infos[0], "x.zip") == payload
