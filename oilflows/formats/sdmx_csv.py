"""SDMX-CSV 1.0 (as Eurostat serves it) -> a long pyarrow table of dimension codes, value and flags."""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..errors import SourceFormatError
from ..schema import CONFIDENTIAL

#: Columns every SDMX-CSV 1.0 data file has besides its dimensions.
REQUIRED = ("DATAFLOW", "TIME_PERIOD", "OBS_VALUE")


def parse(data: bytes, name: str) -> pa.Table:
    """Parse SDMX-CSV 1.0 bytes (already decompressed) into a table of strings plus float ``OBS_VALUE``.

    All columns are read as strings except ``OBS_VALUE`` (float64; an empty cell is null, a ``0`` stays
    0). ``OBS_FLAG`` and ``CONF_STATUS`` (post-2025 files) are kept when present; a missing ``OBS_FLAG``
    column becomes all-null.
    """
    try:
        header = data[: data.find(b"\n")].decode("utf-8-sig").strip().split(",")
    except UnicodeDecodeError as exc:
        raise SourceFormatError(name, f"header is not UTF-8 text ({exc})") from exc
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise SourceFormatError(
            name, f"not SDMX-CSV 1.0: header lacks {missing}; found {header[:12]}", field=missing[0]
        )
    types = {c: pa.string() for c in header}
    types["OBS_VALUE"] = pa.float64()
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(use_threads=True, block_size=1 << 22),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                strings_can_be_null=False,
                null_values=[""],
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise SourceFormatError(name, f"malformed SDMX-CSV: {exc}") from exc
    if table.num_rows == 0:
        return table
    if "OBS_FLAG" not in table.column_names:
        table = table.append_column("OBS_FLAG", pa.nulls(table.num_rows, pa.string()))
    # An empty flag is "no flag": null, not "".
    flag = table["OBS_FLAG"]
    table = table.set_column(
        table.column_names.index("OBS_FLAG"), "OBS_FLAG", pc.if_else(pc.equal(flag, ""), None, flag)
    )
    return table


def merge_conf_status(obs_flag: pa.ChunkedArray, conf_status: pa.ChunkedArray) -> pa.Array:
    """Fold the post-2025 CONF_STATUS (C/N/P = not disclosed) into the flag as ``c``."""
    obs = pd.Series(obs_flag.to_pandas(), dtype=object).fillna("")
    conf = pd.Series(conf_status.to_pandas(), dtype=object).fillna("").str.strip()
    undisclosed = conf.isin(["C", "N", "P"]) & ~obs.str.contains(CONFIDENTIAL, regex=False)
    merged = obs.where(~undisclosed, obs + CONFIDENTIAL)
    return pa.array(merged.where(merged != "", None), type=pa.string())


def parse_periods(period: pd.Series, freq: pd.Series, name: str) -> pd.Series:
    """Parse SDMX periods (``2023-07`` monthly, ``2021`` annual) to the first day, vectorized."""
    uniques, inverse = np.unique(period.astype(str).to_numpy(), return_inverse=True)
    parsed = pd.to_datetime(pd.Series(uniques), format="mixed", errors="coerce")
    bad = [u for u, p in zip(uniques, parsed, strict=True) if pd.isna(p) or not re.fullmatch(
        r"\d{4}(-\d{2})?", u)]
    if bad:
        raise SourceFormatError(name, f"unreadable periods {bad[:5]}; expected YYYY or YYYY-MM",
                                "TIME_PERIOD")
    out = pd.Series(parsed.to_numpy()[inverse], index=period.index).astype("datetime64[s]")
    monthly_shape = pd.Series(uniques).str.len().to_numpy()[inverse] == 7
    mismatch = (freq.to_numpy() == "M") != monthly_shape
    if mismatch.any():
        raise SourceFormatError(name, "period shape does not match freq (M needs YYYY-MM)", "freq")
    return out
