"""Mirror flows: what the importer reports against what the exporter reports for the same trade."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import AnalysisError
from ..schema import QUANTITIES
from ._panel import matching
from ._plot import pyplot
from ._result import Result, renamed, summary_method
from ._signature import call_forms

if TYPE_CHECKING:
    from matplotlib.axes import Axes


@dataclass
class MirrorResult(Result):
    """Importer-reported vs exporter-reported flows of one pair, per period.

    ``table`` columns: ``importer_reported`` (M), ``exporter_reported`` (X, shifted by `lag`),
    ``exporter_adjusted`` ((1 + cif_fob) * X for values, X for quantities), ``discrepancy``
    (M - adjusted X) and ``relative`` (discrepancy / mean of M and adjusted X). Units: the
    measure's base unit (tonnes, barrels, or currency units).

    ``reporter`` is the importer, ``partner`` the exporter; ``reporter_dataset`` and
    ``partner_dataset`` name the dataset of each side. These fields were ``importer``, ``exporter``,
    ``importer_dataset`` and ``exporter_dataset``; the old names still read (deprecated).
    """

    reporter: str
    partner: str
    measure: str
    freq: str
    reporter_dataset: str
    partner_dataset: str
    cif_fob: float
    lag: int
    window: int
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def _repr_fields(self) -> dict:
        return {n: getattr(self, n) for n in ("reporter", "partner", "measure", "freq", "lag", "table")}

    importer = renamed("reporter")
    exporter = renamed("partner")
    importer_dataset = renamed("reporter_dataset")
    exporter_dataset = renamed("partner_dataset")

    @property
    def caveats(self) -> list[str]:
        """The same list as ``notes`` (the name every result uses)."""
        return self.notes

    def to_frame(self) -> pd.DataFrame:
        """One row per ``period`` (a column): the columns of ``table``."""
        return self.table.rename_axis("period").reset_index()

    @summary_method
    def summary(self) -> str:
        t = self.table
        lines = [f"Mirror flows {self.partner} -> {self.reporter} ({self.measure}, freq {self.freq})",
                 f"importer side: {self.reporter_dataset}; exporter side: {self.partner_dataset}; "
                 f"lag {self.lag}, window {self.window}, CIF/FOB margin {self.cif_fob:.0%}",
                 f"{'period':<10}{'importer':>16}{'exporter':>16}{'discrepancy':>16}{'relative':>10}"]
        for period, row in t.iterrows():
            rel = "" if pd.isna(row["relative"]) else f"{row['relative']:.1%}"
            lines.append(f"{period:%Y-%m}  {row['importer_reported']:>16,.0f}"
                         f"{row['exporter_adjusted']:>16,.0f}{row['discrepancy']:>16,.0f}{rel:>10}")
        lines += [f"- {n}" for n in self.notes]
        return "\n".join(lines)

    def plot(self, ax: Axes | None = None) -> Axes:
        plt = pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 4))
        t = self.table
        ax.plot(t.index, t["importer_reported"], label=f"{self.reporter} reports imports")
        ax.plot(t.index, t["exporter_adjusted"], label=f"{self.partner} reports exports", linestyle="--")
        ax.set_ylabel(self.measure)
        ax.set_title(f"Mirror flows {self.partner} -> {self.reporter}")
        ax.legend()
        return ax


def _side(frame: pd.DataFrame, reporter: str, partner: str, flow: str, measure: str, freq: str,
          dataset: str | None) -> tuple[pd.Series, str]:
    rows = frame[(frame["reporter"] == reporter) & (frame["partner"] == partner)
                 & (frame["flow"] == flow) & (frame["freq"] == freq)
                 & (frame["product"] == "crude_oil") & frame[measure].notna()]
    options = sorted(set(zip(rows["source"], rows["dataset"], strict=True)))
    options = matching(options, dataset)
    if not options:
        raise AnalysisError(f"no {flow} of {measure} reported by {reporter} with partner {partner} "
                            f"at freq {freq}" + (f" in {dataset}" if dataset else ""))
    if len(options) > 1:
        raise AnalysisError(f"several datasets report {reporter}'s {flow}s from/to {partner}: "
                            f"{', '.join(f'{s}/{d}' for s, d in options)}; choose one")
    source, chosen = options[0]
    chosen_rows = rows[(rows["source"] == source) & (rows["dataset"] == chosen)]
    return chosen_rows.groupby("period")[measure].sum(), f"{source}/{chosen}"


@call_forms(
    old_positional=("partner", "measure", "freq", "cif_fob", "lag", "window", "reporter_dataset",
                    "partner_dataset"),
    renamed={"importer": "reporter", "exporter": "partner", "importer_dataset": "reporter_dataset",
             "exporter_dataset": "partner_dataset"},
    deprecated_defaults={"reporter": "DE", "partner": "KZ"},
)
def mirror(
    frame: pd.DataFrame,
    reporter: str,
    *,
    partner: str,
    measure: str = "mass_t",
    freq: str = "A",
    cif_fob: float = 0.10,
    lag: int = 0,
    window: int = 1,
    reporter_dataset: str | None = None,
    partner_dataset: str | None = None,
) -> MirrorResult:
    """Compare `reporter`'s reported imports from `partner` with `partner`'s reported exports.

    Parameters
    ----------
    frame : pandas.DataFrame
        A canonical frame holding both sides (the importer's imports and the exporter's exports).
    reporter : str
        The importer, ISO alpha-2 (was ``importer=``, deprecated).
    partner : str
        The exporter, ISO alpha-2 (was ``exporter=``, deprecated).
    measure : {"mass_t", "volume_bbl", "value"}
        Tonnes are the safest comparison (no CIF/FOB margin). For ``value`` the exporter's FOB value
        is raised by `cif_fob` (default 10 %, the IMF convention; real crude freight differs).
    lag : int
        Periods by which exports precede imports (a tanker Novorossiysk -> Trieste takes 1-3 weeks;
        try 0 or 1 month).
    window : int
        Rolling sum over this many periods on both sides before comparing (e.g. 3 months).
    reporter_dataset, partner_dataset : str, optional
        Choose a dataset when several report a side (were ``importer_dataset=``/``exporter_dataset=``).

    Notes
    -----
    Discrepancy = M - (1 + c) X; relative = discrepancy / ((M + (1 + c) X) / 2). Causes the table
    cannot separate: origin vs consignment (Kazakh crude shipped to Italy and piped on to Germany),
    timing and stocks, confidential cells on either side, unit conversions, revisions.
    """
    if measure not in QUANTITIES:
        raise AnalysisError(f"measure must be one of {list(QUANTITIES)}, got {measure!r}")
    if lag < 0 or window < 1:
        raise AnalysisError("lag must be >= 0 and window >= 1")
    importer, exporter = reporter, partner
    imports, imp_name = _side(frame, importer, exporter, "import", measure, freq, reporter_dataset)
    exports, exp_name = _side(frame, exporter, importer, "export", measure, freq, partner_dataset)
    index = imports.index.union(exports.index).sort_values()
    step = pd.DateOffset(months=lag) if freq == "M" else pd.DateOffset(years=lag)
    shifted = exports.copy()
    shifted.index = shifted.index + step
    table = pd.DataFrame({"importer_reported": imports.reindex(index),
                          "exporter_reported": shifted.reindex(index)})
    if window > 1:
        table = table.rolling(window, min_periods=window).sum()
    margin = cif_fob if measure == "value" else 0.0
    table["exporter_adjusted"] = table["exporter_reported"] * (1 + margin)
    table["discrepancy"] = table["importer_reported"] - table["exporter_adjusted"]
    mean = (table["importer_reported"] + table["exporter_adjusted"]) / 2
    table["relative"] = table["discrepancy"] / mean.replace(0, np.nan)
    table.index.name = "period"
    notes = ["importers report CIF values, exporters FOB: compare tonnes first" if measure == "value"
             else "quantities compared directly (no CIF/FOB margin)",
             "a missing period on one side is missing, not zero"]
    return MirrorResult(importer, exporter, measure, freq, imp_name, exp_name, margin, lag, window,
                        table, notes)

__all__ = ["MirrorResult", "mirror"]
