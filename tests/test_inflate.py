"""gzip inflation with ISA-L (package isal, where it has wheels) and without it (zlib; pyarrow's zlib for
the Eurostat parse): the same text, the same errors, the same limits, either way.

Every test runs twice, once per inflater; the ISA-L run is skipped where isal is not installed."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np
import pytest

from oilflows import _io
from oilflows.errors import DecompressionLimitError, SourceFormatError
from oilflows.formats import sdmx_csv
from oilflows.sources import eurostat

ROOT = Path(__file__).resolve().parents[1]
#: A real Eurostat download (tests/fixtures/eurostat/README.md gives its provenance).
REAL = ROOT / "tests" / "fixtures" / "eurostat" / "nrg_ti_coifpm_DE_KZ_RU.csv.gz"


@pytest.fixture(params=["isal", "zlib"])
def inflater(request, monkeypatch):
    """Inflate with ISA-L, or with zlib (Python's for whole streams, pyarrow's in the Eurostat parse)."""
    if request.param == "isal":
        fast = pytest.importorskip("isal.isal_zlib")
        monkeypatch.setattr(_io, "_ZLIB", fast)
        monkeypatch.setattr(_io, "_INFLATE_ERRORS", (zlib.error, fast.error))
        monkeypatch.setattr(sdmx_csv, "FAST_INFLATE", True)
    else:
        monkeypatch.setattr(_io, "_ZLIB", zlib)
        monkeypatch.setattr(_io, "_INFLATE_ERRORS", (zlib.error,))
        monkeypatch.setattr(sdmx_csv, "FAST_INFLATE", False)
    return request.param


def test_the_inflater_in_use_is_the_one_chosen(inflater, monkeypatch):
    """The chunks come from the chosen module (a test of the fixture, so that both runs mean something)."""
    used = []
    real = _io._ZLIB.decompressobj
    monkeypatch.setattr(_io, "_ZLIB", type("Spy", (), {"decompressobj": staticmethod(
        lambda *a: used.append(real.__module__) or real(*a))}))
    list(_io.gzip_chunks(gzip.compress(b"x" * 100), "x.gz"))
    assert used and ("isal" in used[0]) == (inflater == "isal")


def test_chunks_are_the_text_in_bounded_pieces(inflater):
    text = np.random.default_rng(7).integers(0, 256, 3 * _io.CHUNK_BYTES + 123, dtype=np.uint8).tobytes()
    packed = gzip.compress(text[:1000], mtime=0) + gzip.compress(text[1000:], mtime=0)  # two members
    chunks = list(_io.gzip_chunks(packed + b"\0" * 5, "two.gz"))  # zero padding is ignored
    assert b"".join(chunks) == text
    assert all(0 < len(c) <= _io.CHUNK_BYTES for c in chunks)
    real = REAL.read_bytes()
    assert b"".join(_io.gzip_chunks(real, REAL.name)) == gzip.decompress(real)


def test_bad_streams_are_typed_errors(inflater):
    one = b"first;line\n" * 40
    packed = gzip.compress(one, mtime=0)
    with pytest.raises(SourceFormatError, match=r"junk\.gz \[gzip\].*not another gzip member"):
        _io.gunzip_if_needed(packed + b"trailing junk", "junk.gz")
    for cut in (3, 12, len(packed) - 1):
        with pytest.raises(SourceFormatError, match=r"cut\.gz \[gzip\].*truncated or corrupt"):
            _io.gunzip_if_needed(packed[:cut], "cut.gz")
    corrupt = bytearray(packed)
    corrupt[20] ^= 0xFF
    with pytest.raises(SourceFormatError, match="truncated or corrupt"):
        _io.gunzip_if_needed(bytes(corrupt), "flip.gz")


def test_limits_hold(inflater):
    bomb = gzip.compress(b"\0" * (8 * _io.CHUNK_BYTES), mtime=0)
    with pytest.raises(DecompressionLimitError, match=r"bomb\.gz \[gzip\]"):
        _io.gunzip_if_needed(bomb, "bomb.gz", limit=2 * _io.CHUNK_BYTES)
    assert len(_io.gunzip_if_needed(bomb, "bomb.gz", limit=9 * _io.CHUNK_BYTES, max_ratio=float("inf"))) \
        == 8 * _io.CHUNK_BYTES


def test_the_streamed_parse_reads_exactly_the_text(inflater):
    """_Inflated gives pyarrow the text in reads of exactly the size asked (short only at the end)."""
    data = REAL.read_bytes()
    text = gzip.decompress(data)
    stream = sdmx_csv._Inflated(data, 10 * len(text))
    sizes, parts = [], []
    while part := stream.read(4099):
        sizes.append(len(part))
        parts.append(part)
    assert b"".join(parts) == text
    assert all(size == 4099 for size in sizes[:-1])


def test_eurostat_read_is_the_same_either_way(inflater):
    """The canonical frame of the gzip file equals that of its text (parsed without any inflation)."""
    data = REAL.read_bytes()
    from_gzip = eurostat.read(data, name=REAL.name)
    from_text = eurostat.read(gzip.decompress(data), name=REAL.name)
    assert len(from_gzip) > 1000
    assert from_gzip.equals(from_text)


def test_eurostat_read_of_a_cut_file_names_the_problem(inflater):
    data = REAL.read_bytes()
    with pytest.raises(SourceFormatError, match=r"cut\.csv\.gz \[gzip\].*truncated or corrupt"):
        eurostat.read(data[: len(data) // 2], name="cut.csv.gz")
    corrupt = bytearray(data)
    corrupt[len(data) // 2] ^= 0xFF
    with pytest.raises(SourceFormatError, match=r"flip\.csv\.gz \[gzip\]"):
        eurostat.read(bytes(corrupt), name="flip.csv.gz")
