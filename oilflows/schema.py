"""The canonical frame: one tidy table every reader returns and every analytic consumes.

One row per (source, dataset, reporter, partner, product, grade, flow, freq, period, vintage).
The table below is the contract; ``docs/schema.md`` documents it for users.
"""

from __future__ import annotations

import re

import pandas as pd
import pyarrow as pa

from .errors import SchemaError

SCHEMA = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),  # publisher, e.g. "eurostat", "dg_ener"
        pa.field("dataset", pa.string(), nullable=False),  # e.g. "nrg_ti_coifpm", "coir"
        pa.field("vintage", pa.timestamp("s")),  # the source's release stamp (e.g. LAST UPDATE)
        pa.field("freq", pa.string(), nullable=False),  # "M" monthly or "A" annual
        pa.field("period", pa.timestamp("s"), nullable=False),  # first day of the month or year
        pa.field("reporter", pa.string(), nullable=False),  # ISO 3166-1 alpha-2 (or aggregate code)
        pa.field("partner", pa.string(), nullable=False),  # ISO alpha-2, WORLD, or a region code
        pa.field("flow", pa.string(), nullable=False),  # "import" or "export"
        pa.field("product", pa.string(), nullable=False),  # "crude_oil" for HS 2709 / SIEC O4100_TOT
        pa.field("grade", pa.string()),  # the source's crude stream code, e.g. "KZ_CPC_BLN"
        pa.field("volume_bbl", pa.float64()),  # barrels
        pa.field("mass_t", pa.float64()),  # metric tonnes
        pa.field("value", pa.float64()),  # in `currency` units (thousands multiplied out)
        pa.field("currency", pa.string()),  # ISO 4217, e.g. "USD", "EUR"
        pa.field("api_gravity", pa.float64()),  # degrees API
        pa.field("sulphur_pct", pa.float64()),  # sulphur, % by weight
        pa.field("price_per_bbl", pa.float64()),  # average price, `currency` per barrel
        pa.field("flag", pa.string()),  # the source's observation status; "c" = confidential
    ]
)

#: Columns that identify a row. The store keeps, for each key without `vintage`, the latest vintage.
KEY: tuple[str, ...] = (
    "source", "dataset", "reporter", "partner", "product", "grade", "flow", "freq", "period",
    "vintage",
)
#: The key without the vintage: what identifies one observation across releases.
OBSERVATION_KEY: tuple[str, ...] = tuple(k for k in KEY if k != "vintage")
#: Numeric measure columns, in base units.
MEASURES: tuple[str, ...] = (
    "volume_bbl", "mass_t", "value", "api_gravity", "sulphur_pct", "price_per_bbl",
)
#: Quantity measures that can be summed across partners.
QUANTITIES: tuple[str, ...] = ("volume_bbl", "mass_t", "value")
COLUMNS: tuple[str, ...] = tuple(SCHEMA.names)

#: Largest magnitude a reader accepts for a number: no statistic comes near it, and scaling by a unit
#: factor (x 1000 for thousands) must stay finite. Readers refuse larger values, inf and nan.
MAX_ABS_VALUE = 1e300
#: Years a period may have in any source; year 0 or 3021 is a corrupt period.
PERIOD_YEARS: tuple[int, int] = (1900, 2100)

WORLD = "WORLD"  # the partner code of a source's total over all partners
CONFIDENTIAL = "c"  # the flag of a confidential (suppressed) cell
FREQS = ("M", "A")
FLOWS = ("import", "export")


#: The flag of a row that carries an interval instead of a status (source ``published``): ``[lo,hi]`` in
#: tonnes, or ``[lo,hi] bbl`` in barrels; plain decimals, ``inf`` for an open upper end. It never
#: contains the letter of :data:`CONFIDENTIAL`. See docs/schema.md.
INTERVAL_FLAG = re.compile(r"\[(\d+(?:\.\d+)?),(\d+(?:\.\d+)?|inf)\]( bbl)?")


class IntervalFlagError(SchemaError):
    """A row's ``flag`` is not an interval ``[lo,hi]`` / ``[lo,hi] bbl`` (lo <= hi)."""


def parse_interval_flag(flag: object) -> tuple[float, float, bool]:
    """(lower, upper, in_barrels) of an interval flag; :class:`IntervalFlagError` if malformed."""
    match = INTERVAL_FLAG.fullmatch(flag) if isinstance(flag, str) else None
    if match is None:
        raise IntervalFlagError(f"flag {flag!r} is not an interval like '[9050000,9150000]'")
    lo, hi = float(match.group(1)), float(match.group(2))
    if lo > hi:
        raise IntervalFlagError(f"flag {flag!r}: lower end above upper end")
    return lo, hi, bool(match.group(3))


def empty_frame() -> pd.DataFrame:
    """A canonical frame with no rows."""
    return from_table(SCHEMA.empty_table())


def to_table(frame: pd.DataFrame) -> pa.Table:
    """Convert a canonical pandas frame to a pyarrow table with exactly :data:`SCHEMA`.

    Raises :class:`SchemaError` naming the missing or extra columns, or the column that does not cast.
    """
    missing = [c for c in COLUMNS if c not in frame.columns]
    extra = [c for c in frame.columns if c not in COLUMNS]
    if missing or extra:
        raise SchemaError(f"frame does not follow the canonical schema: missing {missing}, extra {extra}")
    arrays = []
    for field in SCHEMA:
        column = frame[field.name]
        try:
            if pa.types.is_timestamp(field.type):
                column = pd.to_datetime(column).astype("datetime64[s]")
            arrays.append(pa.array(column, type=field.type, from_pandas=True))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
            raise SchemaError(f"column {field.name!r} cannot be read as {field.type}: {exc}") from exc
        if not field.nullable and arrays[-1].null_count:
            raise SchemaError(f"column {field.name!r} has {arrays[-1].null_count} null values")
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def from_table(table: pa.Table) -> pd.DataFrame:
    """Convert a pyarrow table (any column order, a superset of :data:`SCHEMA`) to a canonical frame."""
    table = table.select(list(COLUMNS)).cast(SCHEMA)
    frame = table.to_pandas(coerce_temporal_nanoseconds=False)
    return frame


def conform(frame: pd.DataFrame, *, complete: bool = False) -> pd.DataFrame:
    """Return `frame` with the canonical column order and types (a round trip through :func:`to_table`).

    With ``complete=True`` canonical columns the frame lacks are added as nulls first (hand-built and
    simulated frames name only what they set); extra columns are still an error."""
    if complete:
        frame = frame.assign(**{c: None for c in COLUMNS if c not in frame.columns})
    return from_table(to_table(frame))


def validate(frame: pd.DataFrame) -> pd.DataFrame:
    """Check the canonical invariants and return the frame unchanged.

    - every column of :data:`SCHEMA` with its type, no nulls in key columns other than grade/vintage;
    - `freq` in M/A, `flow` in import/export, `period` on the first day of its month (or year);
    - no duplicate key;
    - a confidential cell (flag containing "c") carries no volume or mass (missing is not zero).
    """
    table = to_table(frame)
    bad_freq = set(frame["freq"].unique()) - set(FREQS)
    if bad_freq:
        raise SchemaError(f"column 'freq' has values {sorted(bad_freq)}; expected M or A")
    bad_flow = set(frame["flow"].unique()) - set(FLOWS)
    if bad_flow:
        raise SchemaError(f"column 'flow' has values {sorted(bad_flow)}; expected import or export")
    period = pd.to_datetime(frame["period"])
    if (period.dt.day != 1).any() or ((frame["freq"] == "A") & (period.dt.month != 1)).any():
        raise SchemaError("column 'period' must be the first day of the month (M) or year (A)")
    duplicated = frame.duplicated(list(KEY), keep=False)
    if duplicated.any():
        example = frame.loc[duplicated, list(KEY)].head(2).to_dict("records")
        raise SchemaError(f"{int(duplicated.sum())} rows share a key, e.g. {example}")
    confidential = frame["flag"].fillna("").str.contains(CONFIDENTIAL, regex=False)
    leaked = confidential & (frame["volume_bbl"].notna() | frame["mass_t"].notna())
    if leaked.any():
        raise SchemaError(f"{int(leaked.sum())} confidential rows carry a quantity")
    del table
    return frame

__all__ = ["COLUMNS", "CONFIDENTIAL", "FLOWS", "FREQS", "INTERVAL_FLAG", "KEY", "MAX_ABS_VALUE",
           "MEASURES", "OBSERVATION_KEY", "PERIOD_YEARS", "QUANTITIES", "SCHEMA", "WORLD",
           "IntervalFlagError", "conform", "empty_frame", "from_table", "parse_interval_flag",
           "to_table", "validate"]
