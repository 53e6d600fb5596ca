"""Generator of a large synthetic nrg_ti_coifpm SDMX-CSV 1.0 file (gzip) for the ingest benchmark.

The output looks like the real file Eurostat serves (``shared/data/eurostat/nrg_ti_coifpm.csv.gz``):
the same header and column order (``DATAFLOW,LAST UPDATE,freq,crudeoil,indic_nrg,geo,TIME_PERIOD,
OBS_VALUE,OBS_FLAG``; ``--conf-status`` adds the post-2025 ``CONF_STATUS`` column), the same
``DATAFLOW`` and ``LAST UPDATE`` cells, rows sorted by crudeoil, indicator, reporter and period as
Eurostat sorts them, ``\\n`` line ends, gzip. Every code (reporters ``geo``, crude streams ``crudeoil``
and so partners, indicators ``indic_nrg``, periods) is taken from the real file.

What is synthetic: which (crudeoil, geo, period) keys exist (drawn at random from the cross product of
the real codes, denser than the real file, which has grade detail only from 2020) and the values:

- ``VOL_THS_BBL`` for every key; ``API_DEG``, ``SULPH_PC``, ``AVGPRC_USD_BBL``, ``COMP_NR`` and
  ``VAL_THS_USD`` each with a probability (tuned so the requested row count is reached);
- a key is confidential with probability 0.30 (real file: 30 % of the volumes): its cells have an
  empty ``OBS_VALUE`` and the flag ``c`` (``bc``, break and confidential, for 0.1 % of them; with
  ``--conf-status`` the ``c`` moves to ``CONF_STATUS=C`` as in the 2025 layout);
- half of the disclosed volumes are explicit zeros (real file: 87 %), with zero gravity, sulphur and
  price, as in the real file; ``VAL_THS_USD`` is present only for non-zero volumes;
- flag ``b`` (break in series) on 0.01 % of the disclosed cells;
- 0.1 % of the disclosed cells have an empty ``OBS_VALUE`` and no flag (missing without a reason).

Deterministic: the same ``--rows``, ``--seed`` and source file give the same bytes.

Run: ``python benchmarks/make_coifpm_csv.py [--rows 5000000] [--seed 20240228] [--out PATH]``
(default output ``benchmarks/_work/nrg_ti_coifpm_<rows>.csv.gz``).
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work"
SHARED_DATA = Path(os.environ.get("OILFLOWS_SHARED_DATA", HERE.parents[1] / "shared" / "data"))
REAL_FILE = SHARED_DATA / "eurostat" / "nrg_ti_coifpm.csv.gz"

HEADER = "DATAFLOW,LAST UPDATE,freq,crudeoil,indic_nrg,geo,TIME_PERIOD,OBS_VALUE,OBS_FLAG"
#: Indicators in Eurostat's (alphabetical) row order.
INDICATORS = ("API_DEG", "AVGPRC_USD_BBL", "COMP_NR", "SULPH_PC", "VAL_THS_USD", "VOL_THS_BBL")
P_CONFIDENTIAL = 0.30
P_ZERO_VOLUME = 0.50
P_BREAK = 1e-4
P_BREAK_CONFIDENTIAL = 1e-3
P_MISSING = 1e-3


def default_path(rows: int) -> Path:
    """``benchmarks/_work/nrg_ti_coifpm_<rows>.csv.gz``."""
    return WORK / f"nrg_ti_coifpm_{rows}.csv.gz"


def real_codes(source: Path) -> dict[str, list[str]]:
    """The sorted distinct codes of each column of the real file (plus its DATAFLOW and LAST UPDATE)."""
    table = pacsv.read_csv(source, convert_options=pacsv.ConvertOptions(
        column_types={c: pa.string() for c in HEADER.split(",")}, strings_can_be_null=False))
    header = ",".join(table.column_names[:9])
    if header != HEADER:
        raise SystemExit(f"{source}: header {header!r} is not the nrg_ti_coifpm header {HEADER!r}")
    return {c: sorted(pc.unique(table[c]).to_pylist()) for c in
            ("DATAFLOW", "LAST UPDATE", "crudeoil", "indic_nrg", "geo", "TIME_PERIOD")}


def _keys_and_presence(rng: np.random.Generator, n_keys: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Random keys (indices into the key cross product) and, per key, which indicators exist.

    Returns the chosen key indices (sorted) and a boolean matrix (keys x INDICATORS), with exactly
    `rows` true cells.
    """
    order = rng.permutation(n_keys)
    # Presence probabilities of the five non-volume indicators; VOL_THS_BBL is always there.
    per_key = rows / n_keys
    if per_key > len(INDICATORS):
        raise SystemExit(f"{rows} rows need more than {n_keys} keys x {len(INDICATORS)} indicators")
    p_other = float(np.clip((per_key * 1.02 - 1.0) / 5.0, 0.55, 1.0))
    presence = rng.random((n_keys, len(INDICATORS))) < p_other
    presence[:, INDICATORS.index("VOL_THS_BBL")] = True
    counts = presence.sum(axis=1)[order]
    cumulative = np.cumsum(counts)
    if cumulative[-1] < rows:  # denser than the probabilities gave: fill keys completely
        presence[:] = True
        counts = presence.sum(axis=1)[order]
        cumulative = np.cumsum(counts)
    take = int(np.searchsorted(cumulative, rows)) + 1  # keys needed to reach `rows`
    chosen = order[:take]
    excess = int(cumulative[take - 1] - rows)
    last = chosen[-1]
    for j in range(len(INDICATORS)):  # drop `excess` non-volume cells of the last key
        if excess and presence[last, j] and INDICATORS[j] != "VOL_THS_BBL":
            presence[last, j] = False
            excess -= 1
    chosen = np.sort(chosen)
    return chosen, presence[chosen]


def _values(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Per key: volume (kbbl, 0 for half), API gravity, sulphur %, price, companies, value (kUSD)."""
    volume = np.round(rng.lognormal(6.5, 2.0, n)).clip(1, 400_000)
    volume[rng.random(n) < P_ZERO_VOLUME] = 0.0
    zero = volume == 0
    scale = 10.0 ** rng.integers(1, 4, n)  # one to three decimals
    api = np.round(rng.uniform(18, 50, n) * scale) / scale
    sulphur = np.round(rng.uniform(0.05, 3.5, n), 3)
    price = np.round(rng.uniform(15, 130, n), 2)
    companies = rng.integers(1, 14, n).astype(float)
    value = np.round(volume * price, 3)
    for array in (api, sulphur, price, companies):
        array[zero] = 0.0
    return {"API_DEG": api, "AVGPRC_USD_BBL": price, "COMP_NR": companies, "SULPH_PC": sulphur,
            "VAL_THS_USD": value, "VOL_THS_BBL": volume}


def generate(rows: int = 5_000_000, *, seed: int = 20240228, out: Path | None = None,
             source: Path = REAL_FILE, conf_status: bool = False) -> Path:
    """Write the synthetic file and return its path (see the module docstring).

    Parameters
    ----------
    rows : int
        Number of data rows (CSV records below the header).
    seed : int
        Seed of the random generator (numpy PCG64).
    out : Path, optional
        Output path (gzip); default :func:`default_path`.
    source : Path
        The real nrg_ti_coifpm SDMX-CSV whose codes are used.
    conf_status : bool
        Write the post-2025 layout (``CONF_STATUS`` column; ``c`` moved there as ``C``).
    """
    out = Path(out) if out is not None else default_path(rows)
    codes = real_codes(source)
    crude, geo, period = codes["crudeoil"], codes["geo"], codes["TIME_PERIOD"]
    if sorted(codes["indic_nrg"]) != sorted(INDICATORS):
        raise SystemExit(f"{source}: indicators {codes['indic_nrg']} are not {INDICATORS}")
    rng = np.random.default_rng(seed)
    n_keys = len(crude) * len(geo) * len(period)
    keys, presence = _keys_and_presence(rng, n_keys, rows)
    k = len(keys)
    crude_i, rest = np.divmod(keys, len(geo) * len(period))
    geo_i, period_i = np.divmod(rest, len(period))
    secret = rng.random(k) < P_CONFIDENTIAL
    values = _values(rng, k)
    volume_zero = values["VOL_THS_BBL"] == 0
    # No value for a zero volume (as in the real file); keep the row count by moving the cell to
    # COMP_NR when that is free, else keep it (a value of 0 USD).
    val_j, comp_j = INDICATORS.index("VAL_THS_USD"), INDICATORS.index("COMP_NR")
    move = volume_zero & ~secret & presence[:, val_j] & ~presence[:, comp_j]
    presence[move, val_j], presence[move, comp_j] = False, True

    # One record per true cell, ordered crudeoil, indic_nrg, geo, TIME_PERIOD (Eurostat's order).
    key_i, ind_j = np.nonzero(presence)
    order = np.lexsort((period_i[key_i], geo_i[key_i], ind_j, crude_i[key_i]))
    key_i, ind_j = key_i[order], ind_j[order]
    n = len(key_i)
    obs = np.empty(n)
    for j, indicator in enumerate(INDICATORS):
        at = ind_j == j
        obs[at] = values[indicator][key_i[at]]
    flag = np.zeros(n, dtype=np.int8)  # 0 none, 1 b, 2 c, 3 bc
    cell_secret = secret[key_i]
    flag[cell_secret] = 2
    flag[cell_secret & (rng.random(n) < P_BREAK_CONFIDENTIAL)] = 3
    draw = rng.random(n)
    flag[~cell_secret & (draw < P_BREAK)] = 1
    missing = ~cell_secret & (draw > 1 - P_MISSING)
    obs_text = pc.cast(pa.array(obs, mask=cell_secret | missing), pa.string())
    flags = ["", "b", "c", "bc"]
    columns = {
        "DATAFLOW": pa.repeat(codes["DATAFLOW"][0], n),
        "LAST UPDATE": pa.repeat(codes["LAST UPDATE"][0], n),
        "freq": pa.repeat("M", n),
        "crudeoil": pc.take(pa.array(crude), pa.array(crude_i[key_i])),
        "indic_nrg": pc.take(pa.array(list(INDICATORS)), pa.array(ind_j)),
        "geo": pc.take(pa.array(geo), pa.array(geo_i[key_i])),
        "TIME_PERIOD": pc.take(pa.array(period), pa.array(period_i[key_i])),
        "OBS_VALUE": obs_text,
    }
    header = HEADER
    if conf_status:
        flags = ["", "b", "", "b"]
        columns["OBS_FLAG"] = pc.take(pa.array(flags), pa.array(flag))
        columns["CONF_STATUS"] = pc.take(pa.array(["", "", "C", "C"]), pa.array(flag))
        header += ",CONF_STATUS"
    else:
        columns["OBS_FLAG"] = pc.take(pa.array(flags), pa.array(flag))
    table = pa.table(columns)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with open(partial, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                                                    compresslevel=6) as gz:
        gz.write((header + "\n").encode())
        step = 500_000
        for start in range(0, n, step):
            buffer = io.BytesIO()
            pacsv.write_csv(table.slice(start, step), buffer,
                            pacsv.WriteOptions(include_header=False, quoting_style="none"))
            gz.write(buffer.getvalue())
    partial.replace(out)
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line: write the file, print its path, row count and size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000, help="data rows (default 5,000,000)")
    parser.add_argument("--seed", type=int, default=20240228)
    parser.add_argument("--out", type=Path, default=None, help="output .csv.gz (default under _work/)")
    parser.add_argument("--source", type=Path, default=REAL_FILE, help="the real nrg_ti_coifpm file")
    parser.add_argument("--conf-status", action="store_true", help="post-2025 layout with CONF_STATUS")
    args = parser.parse_args(argv)
    if not args.source.is_file():
        print(f"the real file {args.source} is needed for its codes (set OILFLOWS_SHARED_DATA)",
              file=sys.stderr)
        return 2
    start = time.perf_counter()
    path = generate(args.rows, seed=args.seed, out=args.out, source=args.source,
                    conf_status=args.conf_status)
    print(f"{path}: {args.rows:,} rows, {path.stat().st_size / 1e6:.1f} MB gzip, "
          f"{time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
