"""Build the embedded default snapshot (oilflows/data/default.parquet) from the real files in shared/data.

Usage::

    python data_sources/build_snapshot.py [--shared ../shared/data] [--out oilflows/data]

Reads, with oilflows' own readers:
- eurostat/nrg_ti_coifpm.csv.gz                 (SDMX-CSV 1.0, LAST UPDATE 28/02/24 11:00:00)
- dg_ener/Crude_Oil_Imports_Reporting_Country_2013..2019.xlsx   (the EU crude oil import register)
- eurostat/nrg_ti_oil_DE_by_partner_annual.csv and nrg_ti_oil_KZ_RU_blocks_annual.csv
  (a third party's wide extract of nrg_ti_oil; read here only, see data_sources/eurostat_nrg_ti_oil.md)
- reference/de_crude_published_figures.csv and reference/published_figures_2022_2026.csv, curated
  into oilflows/data/published_figures.csv by data_sources/build_published.py (rewritten here) and
  read with oilflows.sources.published (source "published"; low-trust figures left out)
and writes one canonical Parquet file plus ``default.json`` (provenance, sha256 of every input, rows).
The build is deterministic: the same inputs give the same rows in the same order.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "data_sources"))

import build_published  # noqa: E402  (data_sources/build_published.py)

from oilflows import codes  # noqa: E402
from oilflows.schema import COLUMNS, KEY, conform, to_table, validate  # noqa: E402
from oilflows.sources import dg_ener, eurostat, published  # noqa: E402

WIDE_FILES = ("nrg_ti_oil_DE_by_partner_annual.csv", "nrg_ti_oil_KZ_RU_blocks_annual.csv")
LICENCE = {
    "eurostat": "Eurostat copyright notice: reuse authorised with acknowledgement (CC BY 4.0)",
    "dg_ener": "(c) European Union; reproduction authorised provided the source is acknowledged",
    "published": "single figures quoted with attribution from press releases and news pages; "
                 "publisher, address, date and quote per figure in published_figures.csv",
}


def read_wide_nrg_ti_oil(path: Path) -> pd.DataFrame:
    """Read the third party's wide nrg_ti_oil extract (``#`` comment lines; one column per year, kt).

    Quirks kept from the file: Namibia's code is the literal ``NA`` (read without NA parsing); a
    partner listed twice (Serbia) must carry identical values or the build fails. The extract has
    no flags and no release stamp: ``vintage`` is null and a 0 may stand for a value the third
    party could not distinguish from missing (documented in data_sources/eurostat_nrg_ti_oil.md).
    """
    raw = pd.read_csv(path, comment="#", dtype=str, keep_default_na=False)
    expected = {"freq", "siec", "code_exporter", "unit", "code_importer"}
    if not expected <= set(raw.columns):
        raise SystemExit(f"{path}: columns {sorted(expected - set(raw.columns))} missing")
    years = [c for c in raw.columns if c.isdigit()]
    if set(raw["unit"]) != {"THS_T"} or set(raw["siec"]) != {"O4100_TOT"} or set(raw["freq"]) != {"A"}:
        raise SystemExit(f"{path}: expected only A / O4100_TOT / THS_T rows")
    long = raw.melt(id_vars=["code_importer", "code_exporter"], value_vars=years,
                    var_name="year", value_name="kt")
    # An empty cell is missing (null), not zero; "744" and "744.0" are the same figure.
    long["kt"] = pd.to_numeric(long["kt"].replace("", None), errors="raise")
    long = long.drop_duplicates()
    clash = long.duplicated(["code_importer", "code_exporter", "year"], keep=False)
    if clash.any():
        raise SystemExit(f"{path}: conflicting duplicate rows: {long[clash].head()}")
    kt = long["kt"]
    return pd.DataFrame({
        "source": "eurostat", "dataset": "nrg_ti_oil", "vintage": pd.NaT, "freq": "A",
        "period": pd.to_datetime(long["year"] + "-01-01"),
        "reporter": codes.map_codes(long["code_importer"], codes.EUROSTAT_COUNTRY),
        "partner": codes.map_codes(long["code_exporter"], codes.EUROSTAT_COUNTRY),
        "flow": "import", "product": "crude_oil", "grade": None,
        "volume_bbl": None, "mass_t": kt * 1000.0, "value": None, "currency": None,
        "api_gravity": None, "sulphur_pct": None, "price_per_bbl": None, "flag": None,
    })


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(shared: Path, out: Path) -> dict:
    inputs = []
    coifpm_path = shared / "eurostat" / "nrg_ti_coifpm.csv.gz"
    coifpm = eurostat.read(coifpm_path)
    inputs.append({"file": "eurostat/nrg_ti_coifpm.csv.gz", "sha256": sha256(coifpm_path),
                   "source": "eurostat", "dataset": "nrg_ti_coifpm", "rows": len(coifpm),
                   "vintage": str(coifpm["vintage"].iloc[0])})

    coir_frames = []
    for path in sorted((shared / "dg_ener").glob("Crude_Oil_Imports_Reporting_Country_*.xlsx")):
        frame = dg_ener.read_coir(path)
        coir_frames.append(frame)
        inputs.append({"file": f"dg_ener/{path.name}", "sha256": sha256(path), "source": "dg_ener",
                       "dataset": "coir", "rows": len(frame),
                       "vintage": str(frame["vintage"].max())})
    coir = pd.concat(coir_frames, ignore_index=True)

    wide = []
    for name in WIDE_FILES:
        path = shared / "eurostat" / name
        frame = read_wide_nrg_ti_oil(path)
        wide.append(frame)
        inputs.append({"file": f"eurostat/{name}", "sha256": sha256(path), "source": "eurostat",
                       "dataset": "nrg_ti_oil", "rows": len(frame), "vintage": None})
    oil = pd.concat(wide, ignore_index=True)
    before = len(oil)
    oil = oil.drop_duplicates()
    clash = oil.duplicated(list(KEY), keep=False)
    if clash.any():
        raise SystemExit(f"the two nrg_ti_oil extracts disagree on {int(clash.sum())} rows")
    oil_overlap = before - len(oil)

    curated = build_published.build(shared, out)
    pub = published.read(curated)
    trace = published.provenance(curated)
    for prefix, name in (("A", build_published.FILE_A), ("B", build_published.FILE_B)):
        path = shared / name
        inputs.append({"file": name, "sha256": sha256(path), "source": "published",
                       "dataset": "publisher slugs (see published_figures.csv)",
                       "rows": int((trace["emitted"] & trace["id"].str.startswith(prefix)).sum()),
                       "vintage": None})

    snapshot = pd.concat([conform(coifpm), conform(coir), conform(oil), pub], ignore_index=True)
    snapshot = snapshot.sort_values(list(KEY), na_position="first", kind="stable")
    snapshot = validate(snapshot.reset_index(drop=True))[list(COLUMNS)]
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(to_table(snapshot), out / "default.parquet", compression="zstd",
                   compression_level=19, row_group_size=64_000)
    counts = snapshot.groupby(["source", "dataset"]).size()
    provenance = {
        "description": "oilflows embedded default: real Eurostat and EU crude-oil-register data, "
                       "and published figures (source 'published')",
        "built_from": "shared/data (see data_sources/README.md)",
        "rows": len(snapshot),
        "rows_by_dataset": {f"{s}/{d}": int(n) for (s, d), n in counts.items()},
        "nrg_ti_oil_rows_in_both_extracts": int(oil_overlap),
        "periods": {f"{s}/{d}": [str(g["period"].min().date()), str(g["period"].max().date())]
                    for (s, d), g in snapshot.groupby(["source", "dataset"])},
        "published_figures": {
            "file": f"oilflows/data/{published.PACKAGED}", "sha256": sha256(curated),
            "figures": len(trace), "rows": len(pub), "skipped": pub.attrs["skipped"],
            "min_trust": "medium",
        },
        "licences": LICENCE,
        "inputs": inputs,
    }
    (out / "default.json").write_text(json.dumps(provenance, indent=2) + "\n")
    return provenance


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "oilflows" / "data")
    args = parser.parse_args()
    provenance = build(args.shared, args.out)
    size = (args.out / "default.parquet").stat().st_size
    print(f"wrote {args.out / 'default.parquet'}: {provenance['rows']:,} rows, {size / 1024:,.0f} KiB")
    for key, rows in provenance["rows_by_dataset"].items():
        print(f"  {key}: {rows:,} rows {provenance['periods'][key]}")


if __name__ == "__main__":
    main()
