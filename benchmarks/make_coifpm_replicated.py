"""Real-shaped input for the ingest benchmark: the real nrg_ti_coifpm file replicated with unique keys.

The synthetic file of ``make_coifpm_csv.py`` is denser than the real data (grade detail in every
month, every indicator for most keys), which makes the pivot relatively cheaper than it is on the
real file. This one keeps the real file's shape exactly: its 176,175 records (the same header,
``DATAFLOW`` and ``LAST UPDATE`` cells, codes, values, empty cells, flags ``c``/``b``/``bc``, order and
line ends), repeated ``--copies`` times (default 12: 2,114,100 records). Copy 0 is the real file; copy
*i* > 0 has the reporter code ``<geo><i:02d>`` (``DE`` -> ``DE03``, ``EU_V`` -> ``EU_V03``), as the x20
data of ``bench_store.py`` does, so that every key stays unique and the reader sees ``copies`` times as
many reporters. ``oilflows.sources.eurostat.read`` passes such codes through unchanged (they are SDMX
codes, and not in its EL/UK mapping).

Deterministic: the same source file and ``--copies`` give the same bytes (gzip level 6, no name or
time stamp in the gzip header).

Run: ``python benchmarks/make_coifpm_replicated.py [--copies 12] [--out PATH]``
(default output ``benchmarks/_work/nrg_ti_coifpm_real_x<copies>.csv.gz``).
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work"
SHARED_DATA = Path(os.environ.get("OILFLOWS_SHARED_DATA", HERE.parents[1] / "shared" / "data"))
REAL_FILE = SHARED_DATA / "eurostat" / "nrg_ti_coifpm.csv.gz"
GEO = 5  # position of the geo column in the real header


def default_path(copies: int) -> Path:
    """``benchmarks/_work/nrg_ti_coifpm_real_x<copies>.csv.gz``."""
    return WORK / f"nrg_ti_coifpm_real_x{copies}.csv.gz"


def replicate(text: bytes, copies: int) -> bytes:
    """The SDMX-CSV `text` (header + records, ``\\n`` line ends, no quoted cells) with its records
    repeated `copies` times, copy *i* > 0 with ``geo`` suffixed by ``i`` as two digits."""
    if not 1 <= copies <= 100:
        raise SystemExit(f"--copies must be 1..100, not {copies}")
    header, _, body = text.partition(b"\n")
    columns = header.decode("utf-8").split(",")
    if columns[GEO] != "geo" or b'"' in text:
        raise SystemExit("expected the nrg_ti_coifpm header with geo in column 6 and no quoted cells")
    lines = body.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    rows = [line.split(b",") for line in lines]
    out = [header + b"\n", body if body.endswith(b"\n") else body + b"\n"]
    for i in range(1, copies):
        suffix = b"%02d" % i
        copy = []
        for cells in rows:
            cells = list(cells)
            cells[GEO] += suffix
            copy.append(b",".join(cells))
        out.append(b"\n".join(copy) + b"\n")
    return b"".join(out)


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring); returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=12, help="copies of the real records (default 12)")
    parser.add_argument("--source", type=Path, default=REAL_FILE, help="the real nrg_ti_coifpm.csv.gz")
    parser.add_argument("--out", type=Path, default=None, help="output path (gzip)")
    args = parser.parse_args(argv)
    out = args.out or default_path(args.copies)
    text = replicate(gzip.decompress(args.source.read_bytes()), args.copies)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".part")
    partial.write_bytes(gzip.compress(text, compresslevel=6, mtime=0))
    partial.replace(out)
    records = text.count(b"\n") - 1
    print(f"wrote {out} ({records:,} records, {out.stat().st_size / 1e6:.1f} MB gzip)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
