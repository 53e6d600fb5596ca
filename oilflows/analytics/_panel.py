"""Shared preparation: pick one source/dataset for a reporter and pivot it to a partner x period panel."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import AnalysisError
from ..schema import CONFIDENTIAL, QUANTITIES, WORLD

#: How each quantity is shown: (unit label, divisor).
DISPLAY_UNITS: dict[str, tuple[str, float]] = {
    "volume_bbl": ("thousand barrels", 1e3),
    "mass_t": ("thousand tonnes", 1e3),
    "value": ("thousand currency units", 1e3),
}
UNDISCLOSED = "undisclosed"


@dataclass(frozen=True)
class Panel:
    """A reporter's imports of one dataset as a period x partner panel of one quantity.

    ``values``: disclosed quantity per period and partner (0 where the partner has no disclosed
    value in a period with a WORLD total; confidential cells are left out). ``world``: the WORLD
    total per period. ``undisclosed``: world minus the sum of disclosed partners. ``confidential``:
    count of confidential cells per period and partner. Only periods with a WORLD total appear.
    """

    source: str
    dataset: str
    reporter: str
    measure: str
    freq: str
    values: pd.DataFrame
    world: pd.Series
    undisclosed: pd.Series
    confidential: pd.DataFrame
    grades: pd.DataFrame  # the rows used, for grade-level caveats


def check_measure(measure: str) -> None:
    if measure not in QUANTITIES:
        raise AnalysisError(f"measure must be one of {list(QUANTITIES)}, got {measure!r}")


def matching(options: list[tuple[str, str]], dataset: str | None) -> list[tuple[str, str]]:
    """The (source, dataset) pairs that `dataset` names (``"dataset"`` or ``"source/dataset"``);
    all of them when `dataset` is None."""
    if dataset is None:
        return options
    return [o for o in options if dataset in (o[1], f"{o[0]}/{o[1]}")]


def native_freq(frame: pd.DataFrame, reporter: str, measure: str, freq: str,
                dataset: str | None = None) -> str:
    """The frequency to build a panel at for results at `freq`: annual data where a dataset has
    annual WORLD totals, else monthly data (to be summed per year)."""
    if freq == "A" and not matching(candidates(frame, reporter, measure, "A"), dataset):
        return "M"
    return freq


def candidates(frame: pd.DataFrame, reporter: str, measure: str, freq: str,
               dataset: str | None = None) -> list[tuple[str, str]]:
    """(source, dataset) pairs with a WORLD total of `measure` for `reporter` at `freq`.

    Published figures (source ``"published"``: single rounded numbers, see
    :mod:`oilflows.sources.published`) are never chosen automatically: they are candidates only
    when `dataset` names them (``"published"`` for all of them, ``"published/<slug>"`` or the
    slug itself)."""
    rows = frame[(frame["reporter"] == reporter) & (frame["partner"] == WORLD)
                 & (frame["freq"] == freq) & frame[measure].notna()
                 & (frame["flow"] == "import") & (frame["product"] == "crude_oil")]
    options = sorted(set(zip(rows["source"], rows["dataset"], strict=True)))
    return [o for o in options if o[0] != "published"
            or dataset in ("published", o[1], f"{o[0]}/{o[1]}")]


def build_panel(
    frame: pd.DataFrame,
    reporter: str,
    measure: str,
    freq: str,
    dataset: str | None = None,
    periods: list[tuple[pd.Timestamp, pd.Timestamp]] | None = None,
) -> Panel:
    """Select one source/dataset and pivot it to a :class:`Panel`.

    With ``dataset=None`` the dataset is chosen automatically among those with a WORLD total of
    `measure` for `reporter` at `freq` (restricted to those covering every window in `periods`);
    if several qualify, :class:`AnalysisError` lists them, because summing two sources would count
    the same barrels twice.
    """
    check_measure(measure)
    options = matching(candidates(frame, reporter, measure, freq), dataset)
    if periods:
        options = [o for o in options if all(
            _has_world(frame, o, reporter, measure, freq, lo, hi) for lo, hi in periods)]
    if not options:
        wanted = f" dataset {dataset!r}" if dataset else ""
        raise AnalysisError(
            f"no{wanted} data with a WORLD total of {measure} for reporter {reporter} at freq {freq}"
            + (" covering the requested windows" if periods else ""))
    if len(options) > 1:
        raise AnalysisError(
            f"several datasets qualify for {reporter} {measure} {freq}: "
            f"{', '.join(f'{s}/{d}' for s, d in options)}; pass dataset= to choose one")
    source, chosen = options[0]
    rows = frame[(frame["source"] == source) & (frame["dataset"] == chosen)
                 & (frame["reporter"] == reporter) & (frame["freq"] == freq)
                 & (frame["flow"] == "import") & (frame["product"] == "crude_oil")]
    world = rows[rows["partner"] == WORLD].groupby("period")[measure].sum(min_count=1).dropna()
    partners = rows[rows["partner"] != WORLD]
    values = partners.pivot_table(index="period", columns="partner", values=measure,
                                  aggfunc="sum", fill_value=0.0, observed=True)
    values = values.reindex(world.index, fill_value=0.0).fillna(0.0)
    is_conf = partners["flag"].fillna("").str.contains(CONFIDENTIAL, regex=False)
    confidential = (partners.assign(n=is_conf.astype(int))
                    .pivot_table(index="period", columns="partner", values="n", aggfunc="sum",
                                 fill_value=0, observed=True)
                    .reindex(index=world.index, columns=values.columns, fill_value=0).fillna(0)
                    .astype(int))
    undisclosed = world - values.sum(axis=1)
    return Panel(source, chosen, reporter, measure, freq, values.sort_index(axis=1), world,
                 undisclosed, confidential, partners)


def check_covers(panel: Panel, periods: list[tuple[pd.Timestamp, pd.Timestamp]] | None,
                 dataset: str | None = None) -> None:
    """Raise :func:`build_panel`'s error if `panel` has no WORLD total in one of `periods`.

    A panel built once and reused for several windows (issues 14 and 15) is held to the check
    ``build_panel(..., periods)`` makes: ``panel.world`` has exactly the periods with a non-null
    WORLD total, so this is the same test without scanning the frame again.
    """
    index = panel.world.index
    for lo, hi in periods or []:
        if not ((index >= lo) & (index <= hi)).any():
            wanted = f" dataset {dataset!r}" if dataset else ""
            raise AnalysisError(
                f"no{wanted} data with a WORLD total of {panel.measure} for reporter {panel.reporter} "
                f"at freq {panel.freq} covering the requested windows")


def _has_world(frame: pd.DataFrame, option: tuple[str, str], reporter: str, measure: str, freq: str,
               lo: pd.Timestamp | None, hi: pd.Timestamp | None) -> bool:
    rows = frame[(frame["source"] == option[0]) & (frame["dataset"] == option[1])
                 & (frame["reporter"] == reporter) & (frame["partner"] == WORLD)
                 & (frame["freq"] == freq) & frame[measure].notna()
                 & (frame["period"] >= lo) & (frame["period"] <= hi)]
    return not rows.empty


def window(bounds: tuple[str, str], freq: str = "M") -> tuple[pd.Timestamp, pd.Timestamp]:
    """Parse a (first, last) period pair such as ("2021-01", "2021-12") to inclusive timestamps."""
    try:
        lo, hi = (pd.Timestamp(b) for b in bounds)
    except (TypeError, ValueError) as exc:
        raise AnalysisError(f"window {bounds!r} is not a pair of periods like ('2021-01', '2021-12')"
                            ) from exc
    if hi < lo:
        raise AnalysisError(f"window {bounds!r} ends before it starts")
    return lo, hi


def display(measure: str, currency: str | None = None) -> tuple[str, float]:
    label, divisor = DISPLAY_UNITS[measure]
    if measure == "value" and currency:
        label = f"thousand {currency}"
    return label, divisor


def fmt(x: float, divisor: float, decimals: int = 0) -> str:
    """``x / divisor`` with thousands separators; ``n/a`` for a missing value, ``inf`` for an open end."""
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "n/a"
    if np.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x / divisor:,.{decimals}f}"


def pct(x: float | None) -> str:
    """A ratio as a percentage with one decimal; ``n/a`` if missing, ``+inf``/``-inf`` if open."""
    if x is None or np.isnan(x):
        return "n/a"
    if np.isinf(x):
        return "+inf" if x > 0 else "-inf"
    return f"{x:.1%}"
