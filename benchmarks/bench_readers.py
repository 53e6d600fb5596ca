"""Reader speed: the EU register workbooks (openpyxl) and the Eurostat SDMX-CSV, against plain pandas.

Run: python benchmarks/bench_readers.py  (needs ../shared/data; writes benchmarks/READERS_RESULTS.md)
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import pandas as pd

from oilflows.sources import dg_ener, eurostat

SHARED = Path(os.environ.get("OILFLOWS_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
OUT = Path(__file__).with_name("READERS_RESULTS.md")


def best_of(n, func):
    times = []
    for _ in range(n):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    books = sorted((SHARED / "dg_ener").glob("*.xlsx"))
    coifpm = SHARED / "eurostat" / "nrg_ti_coifpm.csv.gz"
    rows = {
        "register, 7 workbooks: dg_ener.read_coir (parse + normalise)":
            best_of(3, lambda: [dg_ener.read_coir(b) for b in books]),
        "register, 7 workbooks: pandas.read_excel, every sheet (parse only)":
            best_of(3, lambda: [pd.read_excel(b, sheet_name=None, header=None) for b in books]),
        "nrg_ti_coifpm.csv.gz: eurostat.read (parse + normalise)": best_of(5, lambda: eurostat.read(coifpm)),
        "nrg_ti_coifpm.csv.gz: pandas.read_csv (parse only)": best_of(5, lambda: pd.read_csv(coifpm)),
    }
    lines = [f"# Reader benchmark ({pd.Timestamp.now():%Y-%m-%d}, {os.cpu_count()} cores, "
             f"Python {platform.python_version()}, pandas {pd.__version__})", "",
             "| task | seconds (best) | ratio to pandas |", "|---|---:|---:|"]
    items = list(rows.items())
    for i in range(0, len(items), 2):
        (ours, t_ours), (theirs, t_theirs) = items[i], items[i + 1]
        lines.append(f"| {ours} | {t_ours:.3f} | {t_ours / t_theirs:.2f} |")
        lines.append(f"| {theirs} | {t_theirs:.3f} | 1.00 |")
    text = "\n".join(lines) + "\n"
    OUT.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
