"""Generator of synthetic Comext bulk files (``full_YYYYMM.dat``, optionally packed as ``full_v2_YYYYMM.7z``).

Run::

    python benchmarks/make_comext_bulk.py                 # ~3 GB .dat in benchmarks/_work/
    python benchmarks/make_comext_bulk.py --quick         # ~200 MB
    python benchmarks/make_comext_bulk.py --size-mb 500 --7z --preset 1

No real Comext bulk file is available here (``shared/api-samples`` has none), so the format is
**hand-built from sources.md 2.3** (v2 layout) and the 13 real rows in ``tests/fixtures/comext``:

- header, comma-separated, exactly
  ``REPORTER,PARTNER,TRADE_TYPE,PRODUCT_NC,PRODUCT_SITC,PRODUCT_CPA21,PRODUCT_CPA22,PRODUCT_BEC,``
  ``PRODUCT_BEC5,PRODUCT_SECTION,FLOW,STAT_PROCEDURE,SUPPL_UNIT,PERIOD,VALUE_EUR,VALUE_NAC,QUANTITY_KG,``
  ``QUANTITY_SUPPL_UNIT``; LF line ends, no quoting, ASCII;
- ``REPORTER`` one of the EU-27 (ISO-2), ``PARTNER`` ISO-2 or a special code (``QP QR QS QV QW QY QZ XC
  XK XL XS``); ``TRADE_TYPE`` ``I`` for an EU partner, else ``E``;
- ``PRODUCT_NC`` CN8 (masked codes such as ``39XXXXXX`` too, with masked classification columns as in
  the real row ``39XXXXXX,582XX,XXXX,XXXX,700,31XXXX``); ``PRODUCT_SECTION`` the two-digit HS section;
- ``FLOW`` 1/2, ``STAT_PROCEDURE`` 1/2/3/9, ``SUPPL_UNIT`` ``NO_SU`` or a unit (with
  ``QUANTITY_SUPPL_UNIT`` 0 for ``NO_SU``), ``PERIOD`` ``YYYYMM``, integers ``VALUE_EUR``, ``VALUE_NAC``
  (equal for euro-area reporters), ``QUANTITY_KG`` (kg).

What is invented: the CN8 codes other than the chapter-27 ones named below (random digits under the
right chapter), the classification columns, the numbers, and the row order (sorted by reporter, partner,
trade type, product, flow, procedure: the real sample is sorted by product within a pair). About 1.4 %
of rows are chapter 27 (about 130 of about 9,700 codes, as in the CN), two codes are HS 2709.
Output is deterministic for a given ``--size-mb`` and ``--seed``. Real v2 rows average 82 bytes; these
average about 80.

Exposes ``main(argv=None) -> int`` and :func:`write_bulk` (used by ``bench_comext_stream.py``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work" / "comext"



def _words(text: str) -> list[str]:
    return text.replace(",", " ").split()


HEADER = _words("REPORTER,PARTNER,TRADE_TYPE,PRODUCT_NC,PRODUCT_SITC,PRODUCT_CPA21,PRODUCT_CPA22,PRODUCT_BEC,"
                "PRODUCT_BEC5,PRODUCT_SECTION,FLOW,STAT_PROCEDURE,SUPPL_UNIT,PERIOD,VALUE_EUR,VALUE_NAC,"
                "QUANTITY_KG,QUANTITY_SUPPL_UNIT")
EU27 = _words("AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK")
EURO = set(_words("AT BE CY DE EE ES FI FR GR HR IE IT LT LU LV MT NL PT SI SK"))
NON_EU = _words(
    "AD AE AF AG AL AM AO AR AU AZ BA BD BF BH BI BJ BN BO BR BS BT BW BY BZ CA CD CF CG CH CI CL CM CN CO "
    "CR CU CV CW DJ DM DO DZ EC EG ER ET FJ GA GB GD GE GH GI GL GM GN GQ GT GW GY HK HN HT ID IL IN IQ IR "
    "IS JM JO JP KE KG KH KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LY MA MD ME MG MK ML MM MN MO MR MU MV "
    "MW MX MY MZ NA NE NG NI NO NP NZ OM PA PE PG PH PK PS PY QA RU RW SA SB SC SD SG SL SM SN SO SR SS SV "
    "SY SZ TD TG TH TJ TM TN TR TT TW TZ UA UG US UY UZ VA VE VN YE ZA ZM ZW"
)
SPECIAL = _words("QP QR QS QV QW QY QZ XC XK XL XS")
PARTNERS = tuple(EU27 + NON_EU + SPECIAL)

#: Chapter-27 CN8 codes taken from the CN (the rest of chapter 27 is random digits under heading 27xx).
KNOWN_27 = ("27090010", "27090090", "27101943", "27101921", "27101247", "27101966", "27111100",
            "27112100", "27011210", "27160000", "27131200", "27132000")
#: HS sections (two-digit PRODUCT_SECTION) by first chapter of each section.
SECTION_STARTS = (1, 6, 15, 16, 25, 28, 39, 41, 44, 47, 50, 64, 68, 71, 72, 84, 86, 90, 93, 94, 97)
UNITS = ("p/st", "l", "m2", "m3", "pa", "m", "1000_p/st", "l_alc_100_%", "ct/l", "g", "1000_kWh")


@dataclass
class Pool:
    """The product pool: one entry per CN8 code with its classification columns."""

    codes: np.ndarray  # str
    columns: dict[str, pa.Array]  # PRODUCT_* columns and SUPPL_UNIT, aligned with codes
    has_unit: np.ndarray  # bool


def section(chapter: int) -> str:
    return f"{sum(chapter >= s for s in SECTION_STARTS):02d}"


def product_pool(rng: np.random.Generator) -> Pool:
    """About 9,700 CN8 codes over chapters 01-97 (not 77), chapter 27 with about 130, plus masked codes."""
    codes: list[str] = []
    for chapter in [c for c in range(1, 98) if c != 77]:
        n = 130 if chapter == 27 else int(rng.integers(40, 160)) * (3 if chapter in (84, 85) else 1)
        fixed = [c for c in KNOWN_27 if chapter == 27]
        headings = 16 if chapter == 27 else 40  # chapter 27 has headings 2701-2716
        digits = rng.choice(headings * 10_000, size=n * 2, replace=False) + 10_000
        made = sorted({f"{chapter:02d}{d:06d}" for d in digits} - set(fixed))[: n - len(fixed)]
        codes.extend(sorted(set(fixed) | set(made)))
        codes.append(f"{chapter:02d}XXXXXX")
    n = len(codes)
    masked = np.array([c.endswith("XXXXXX") for c in codes])
    crude = np.array([c.startswith("2709") for c in codes])
    sitc = [f"{rng.integers(0, 100_000):05d}" for _ in range(n)]
    cpa21 = [f"{rng.integers(100, 3400):04d}" for _ in range(n)]
    bec = [str(rng.choice([31, 322, 41, 220, 630, 530, 620, 111, 21, 700])) for _ in range(n)]
    bec5 = [f"{rng.integers(100_000, 700_000):06d}" for _ in range(n)]
    for i, code in enumerate(codes):
        if masked[i]:
            sitc[i] = sitc[i][:3] + "XX"
            cpa21[i] = "XXXX"
            bec[i] = "700"
            bec5[i] = bec5[i][:2] + "XXXX"
        elif crude[i]:  # as in the fixture's chapter-27 rows
            cpa = "0610" if code.endswith("90") else "0620"
            sitc[i], cpa21[i], bec[i], bec5[i] = "33300", cpa, "31", "111000"
    has_unit = (rng.random(n) < 0.3) & ~masked & ~crude
    unit = np.where(has_unit, rng.choice(np.array(UNITS), n), "NO_SU")
    columns = {
        "PRODUCT_SITC": pa.array(sitc), "PRODUCT_CPA21": pa.array(cpa21), "PRODUCT_CPA22": pa.array(cpa21),
        "PRODUCT_BEC": pa.array(bec), "PRODUCT_BEC5": pa.array(bec5),
        "PRODUCT_SECTION": pa.array([section(int(c[:2])) for c in codes]),
        "SUPPL_UNIT": pa.array(unit.tolist()),
    }
    return Pool(codes=np.array(codes), columns=columns, has_unit=has_unit)


def _pair_rows(rng: np.random.Generator, pool: Pool, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Product index, flow and procedure of the rows of one reporter-partner pair (k products)."""
    products = np.sort(rng.choice(len(pool.codes), size=k, replace=False))
    both = rng.random(k) < 0.35
    first_flow = rng.integers(1, 3, size=k)
    prod = np.concatenate([products, products[both]])
    flow = np.concatenate([first_flow, np.full(int(both.sum()), 2)])
    flow[:k][both] = 1
    extra = rng.random(len(prod)) < 0.08
    proc_extra = rng.choice(np.array([2, 3, 9]), size=int(extra.sum()))
    prod = np.concatenate([prod, prod[extra]])
    flow = np.concatenate([flow, flow[extra]])
    proc = np.concatenate([np.ones(len(prod) - len(proc_extra), dtype=np.int64), proc_extra])
    order = np.lexsort((proc, flow, prod))
    return prod[order], flow[order], proc[order]


def products_per_pair(weights: np.ndarray, target: float, cap: int) -> np.ndarray:
    """Products per reporter-partner pair: proportional to `weights`, at most `cap`, summing to `target`
    (the share a capped pair cannot take goes to the others)."""
    if target > cap * len(weights):
        raise SystemExit(f"one period holds at most {cap * len(weights):,} products x pairs; ask for less")
    scale = target / weights.sum()
    for _ in range(100):
        ks = np.minimum(np.maximum(1, np.round(weights * scale)), cap)
        if abs(ks.sum() - target) <= 0.001 * target:
            break
        free = ks < cap
        scale *= 1 + (target - ks.sum()) / max(ks[free].sum(), 1.0)
    return ks.astype(int)


ROWS_PER_PRODUCT = 1.35 * 1.08  # both flows for 35 % of products, an extra procedure for 8 % of rows
ROW_BYTES = 80.0


def write_bulk(path: Path, size_mb: float, *, period: str = "202402", seed: int = 20240215) -> dict:
    """Write a v2 bulk CSV of about `size_mb` MB (10**6 bytes) to `path`; return counts."""
    rng = np.random.default_rng(seed)
    pool = product_pool(rng)
    pairs = [(r, p) for r in EU27 for p in PARTNERS if p != r]
    target_rows = size_mb * 1e6 / ROW_BYTES
    weights = rng.lognormal(0.0, 0.8, size=len(pairs))
    ks = products_per_pair(weights, target_rows / ROWS_PER_PRODUCT, len(pool.codes))
    options = pacsv.WriteOptions(include_header=False, quoting_style="none", batch_size=1 << 16)
    schema = pa.schema([(c, pa.int64() if c in ("FLOW", "STAT_PROCEDURE", "VALUE_EUR", "VALUE_NAC",
                                                 "QUANTITY_KG", "QUANTITY_SUPPL_UNIT") else pa.string())
                        for c in HEADER])
    is_27 = np.char.startswith(pool.codes.astype(str), "27")
    is_2709 = np.char.startswith(pool.codes.astype(str), "2709")
    rows = kept_27 = kept_2709 = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        out.write((",".join(HEADER) + "\n").encode())
        with pacsv.CSVWriter(out, schema, write_options=options) as writer:
            block: list[tuple[str, str, np.ndarray, np.ndarray, np.ndarray]] = []
            pending = 0
            for (reporter, partner), k in zip(pairs, ks, strict=True):
                prod, flow, proc = _pair_rows(rng, pool, int(k))
                block.append((reporter, partner, prod, flow, proc))
                pending += len(prod)
                kept_27 += int(is_27[prod].sum())
                kept_2709 += int(is_2709[prod].sum())
                if pending >= 500_000:
                    rows += pending
                    writer.write_table(_block_table(rng, pool, block, period, schema))
                    block, pending = [], 0
            if block:
                rows += pending
                writer.write_table(_block_table(rng, pool, block, period, schema))
    return {"rows": rows, "bytes": path.stat().st_size, "kept_27": kept_27, "kept_2709": kept_2709}


def _block_table(rng: np.random.Generator, pool: Pool, block: list, period: str,
                 schema: pa.Schema) -> pa.Table:
    n = sum(len(b[2]) for b in block)
    reporter = np.concatenate([np.full(len(b[2]), b[0]) for b in block])
    partner = np.concatenate([np.full(len(b[2]), b[1]) for b in block])
    prod = np.concatenate([b[2] for b in block])
    flow = np.concatenate([b[3] for b in block])
    proc = np.concatenate([b[4] for b in block])
    trade = np.where(np.isin(partner, EU27), "I", "E")
    value = np.maximum(1, np.round(rng.lognormal(8.0, 2.5, size=n))).astype(np.int64)
    nac = value.copy()
    non_euro = ~np.isin(reporter, list(EURO))
    nac[non_euro] = np.round(value[non_euro] * rng.uniform(1.5, 25.0)).astype(np.int64)
    kg = np.round(value * rng.lognormal(-0.5, 1.2, size=n)).astype(np.int64)
    index = pa.array(prod)
    suppl = np.where(pool.has_unit[prod], np.round(kg * rng.uniform(0.1, 3.0, size=n)), 0).astype(np.int64)
    columns = {
        "REPORTER": pa.array(reporter), "PARTNER": pa.array(partner), "TRADE_TYPE": pa.array(trade),
        "PRODUCT_NC": pa.array(pool.codes[prod]),
        **{name: array.take(index) for name, array in pool.columns.items()},
        "FLOW": pa.array(flow, pa.int64()), "STAT_PROCEDURE": pa.array(proc, pa.int64()),
        "PERIOD": pa.array(np.full(n, period)), "VALUE_EUR": pa.array(value), "VALUE_NAC": pa.array(nac),
        "QUANTITY_KG": pa.array(kg), "QUANTITY_SUPPL_UNIT": pa.array(suppl),
    }
    return pa.table([columns[c] for c in HEADER], schema=schema)


def write_7z(dat: Path, archive: Path, preset: int = 1) -> float:
    """Pack `dat` as the one member ``full_YYYYMM.dat`` of `archive` (LZMA2 at `preset`); return seconds."""
    import py7zr

    start = time.perf_counter()
    with py7zr.SevenZipFile(archive, "w", filters=[{"id": py7zr.FILTER_LZMA2, "preset": preset}]) as z:
        z.write(dat, dat.name)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about 200 MB instead of 3 GB")
    parser.add_argument("--size-mb", type=float, help="uncompressed size, MB (10**6 bytes)")
    parser.add_argument("--period", default="202402", help="PERIOD of every row (YYYYMM)")
    parser.add_argument("--seed", type=int, default=20240215)
    parser.add_argument("--out", type=Path, default=WORK, help="output directory")
    parser.add_argument("--7z", dest="seven_zip", action="store_true", help="also pack full_v2_YYYYMM.7z")
    parser.add_argument("--preset", type=int, default=1, help="LZMA2 preset of the .7z (0-9)")
    parser.add_argument("--json", action="store_true", help="print the counts as one JSON line")
    args = parser.parse_args(argv)
    size = args.size_mb or (200.0 if args.quick else 3000.0)
    dat = args.out / f"full_{args.period}.dat"
    start = time.perf_counter()
    counts = write_bulk(dat, size, period=args.period, seed=args.seed)
    counts["generate_seconds"] = time.perf_counter() - start
    if not args.json:
        print(f"{dat}: {counts['bytes'] / 1e6:,.0f} MB, {counts['rows']:,} rows, "
              f"chapter 27 {counts['kept_27']:,}, HS 2709 {counts['kept_2709']:,} "
              f"({counts['generate_seconds']:.1f} s)")
    if args.seven_zip:
        archive = args.out / f"full_v2_{args.period}.7z"
        counts["pack_seconds"] = write_7z(dat, archive, args.preset)
        counts["archive_bytes"] = archive.stat().st_size
        if not args.json:
            print(f"{archive}: {archive.stat().st_size / 1e6:,.1f} MB ({counts['pack_seconds']:.1f} s, "
                  f"{counts['bytes'] / 1e6 / counts['pack_seconds']:.1f} MB/s)")
    if args.json:
        print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
