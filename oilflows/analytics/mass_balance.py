"""Exporter mass balance: what importers say they received from an exporter, against what the exporter
says it shipped, per year, as intervals.

For exporter X (Kazakhstan by default) and year y::

    reported imports  = sum over importers i of i's reported imports from X in y   (an interval)
    exports           = X's published total exports in y (source ``published``)  (an interval)
    gap               = reported imports - exports                                (an interval)

``flag`` is True when the **lower** end of the gap is above 0: even reading every importer's figure
at the bottom of its rounding (and density) interval and the exporter's at the top of its own, the
importers report more crude of origin X than X says it exported. It is one of the signals that crude
of another origin (Russian) may arrive labelled X. A negative gap is expected and shows nothing:
the importers in the frame are not all the importers of the world.

Reported imports
----------------
- An annual dataset (Eurostat ``nrg_ti_oil``, thousand tonnes; Comtrade when fetched): each
  importer's figure with a rounding interval from its printed precision (half of its last printed
  digit, never coarser than the dataset's unit of one thousand: ``7427`` kt -> +-0.5 kt,
  ``2956.851`` kt -> +-0.0005 kt). A **0 is not used** (in the third-party ``nrg_ti_oil`` extract a
  0 can stand for a missing value) and is counted (``zeros``); an importer without a figure for the
  year is counted as ``missing``; neither is ever added as 0.
- A monthly grade-level dataset (``nrg_ti_coifpm``, barrels, confidential cells): each importer's
  year is the sharp interval of :func:`oilflows.analytics.volume_bounds` (Jan..Dec), widened by the
  rounding of every printed cell it rests on, and barrels become tonnes through the exporter's
  density interval (:func:`oilflows.analytics.bounds.density_interval`): lower / k_high,
  upper / k_low. A month without data or with a confidential WORLD leaves the year unbounded above.

Published figures
-----------------
``exports_lower/upper``: the interval of the exporter's published total exports (``published`` rows
with ``flow="export"``, partner ``WORLD``, grade empty, annual), from each row's flag. Several
figures for one year (publishers, vintages) are intersected; if they do not intersect, their hull is
used and a caveat names them. Production and exports "to the EU" are not rows of the frame;
``context`` (by default the packaged :func:`oilflows.sources.published.provenance`) supplies them
as ``production_lower/upper`` and ``exports_eu_lower/upper``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..codes import EU_AGGREGATES as _EU_AGGREGATES
from ..codes import is_iso_country
from ..errors import AnalysisError
from ..schema import CONFIDENTIAL, PERIOD_YEARS, WORLD, parse_interval_flag
from ._accounting import select_dataset
from ._plot import pyplot
from ._result import Result, renamed, summary_method
from ._signature import call_forms
from .bounds import density_interval, volume_bounds

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: The 27 member states of the EU (since 2020), ISO alpha-2 (Greece ``GR``).
EU27: frozenset[str] = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
})
#: Aggregate reporters that contain EU member states (never summed with a member): the vocabulary's
#: :data:`oilflows.codes.EU_AGGREGATES`.
EU_AGGREGATES: frozenset[str] = frozenset(_EU_AGGREGATES)
#: The coarsest printed unit of a quantity (Eurostat prints thousand tonnes / thousand barrels).
PRINTED_UNIT: dict[str, float] = {"mass_t": 1000.0, "volume_bbl": 1000.0}
MEASURES = ("mass_t", "volume_bbl")
#: Curated metrics read from ``context`` (the provenance table of the published figures).
PRODUCTION_METRIC = "crude_production_quantity"
EXPORT_METRIC = "crude_export_quantity"
EU_PARTNERS = ("EU27", "EU27_2020", "EU")

#: The columns of :meth:`MassBalanceResult.to_frame`, in order (tonnes).
COLUMNS = (
    "year", "reported_imports", "reported_imports_lower", "reported_imports_upper", "importers",
    "importer_list", "zeros", "zero_importers", "missing", "exports_lower", "exports_upper",
    "exports_figures", "gap_lower", "gap_upper", "flag", "share_of_exports_lower",
    "share_of_exports_upper", "production_lower", "production_upper", "exports_eu_lower",
    "exports_eu_upper", "gap_eu_lower", "gap_eu_upper", "flag_eu",
)


@dataclass
class MassBalanceResult(Result):
    """The result of :func:`exporter_balance`: one row per year in ``table`` (tonnes).

    Columns (see :data:`COLUMNS`): ``reported_imports`` (the sum of the figures used, NaN when no
    importer has a usable figure: never 0 for a missing year), its interval
    ``reported_imports_lower/upper``; ``importers`` (count) and ``importer_list`` (comma-separated)
    of the importers used; ``zeros`` / ``zero_importers`` (figures of 0, not used); ``missing``
    (importers asked for without a figure that year); ``exports_lower/upper`` and
    ``exports_figures`` (the published total exports, NaN and 0 when none); ``gap_lower/upper``
    (reported imports minus exports); ``flag`` (gap_lower > 0); ``share_of_exports_lower/upper``
    (reported imports / exports); ``production_lower/upper`` and ``exports_eu_lower/upper`` (from
    ``context``, NaN when none); when every importer is an EU member (or an EU aggregate),
    ``gap_eu_lower/upper`` (reported imports minus exports to the EU) and ``flag_eu``.

    ``reporter`` is the exporter whose balance this is (the function's `reporter`); the field was
    ``exporter``, and the old name still reads (deprecated).
    """

    reporter: str
    source: str
    dataset: str
    measure: str
    importers: tuple[str, ...]
    table: pd.DataFrame
    figures: pd.DataFrame
    density: tuple[float, float] | None = None
    caveats: list[str] = field(default_factory=list)

    def _repr_fields(self) -> dict:
        names = ("reporter", "dataset", "measure", "importers", "flagged_years", "table")
        return {n: getattr(self, n) for n in names}

    exporter = renamed("reporter")

    @property
    def flagged_years(self) -> list[int]:
        """Years where the importers report more than the exporter's published exports."""
        return [int(y) for y in self.table.loc[self.table["flag"], "year"]]

    def to_frame(self) -> pd.DataFrame:
        """One row per year, the columns of :data:`COLUMNS` (tonnes)."""
        return self.table.copy()

    @summary_method
    def summary(self) -> str:
        t = self.table
        lines = [
            f"Exporter mass balance: {self.reporter}, importers' reported imports "
            f"({self.source}/{self.dataset}, {self.measure}) against {self.reporter}'s published "
            "total exports (thousand tonnes; intervals lower..upper)",
            f"importers considered: {', '.join(self.importers)}",
        ]
        for row in t.itertuples(index=False):
            imports = (f"{_kt(row.reported_imports_lower)}..{_kt(row.reported_imports_upper)} "
                       f"from {row.importers} importer(s)" if not math.isnan(row.reported_imports)
                       else "no usable importer figure")
            extra = []
            if row.zeros:
                extra.append(f"{row.zeros} zero(s) not used")
            if row.missing:
                extra.append(f"{row.missing} missing")
            if extra:
                imports += f" ({'; '.join(extra)})"
            exports = (f"{_kt(row.exports_lower)}..{_kt(row.exports_upper)}"
                       if not math.isnan(row.exports_lower) else "not published here")
            text = f"{row.year}: reported imports {imports}; exports {exports}"
            if not math.isnan(row.gap_lower):
                verdict = ("FLAG: importers report more than the exporter shipped" if row.flag
                           else "no flag")
                text += (f"; gap {_kt(row.gap_lower)}..{_kt(row.gap_upper)}; share of exports "
                         f"{_pct(row.share_of_exports_lower)}..{_pct(row.share_of_exports_upper)}"
                         f"; {verdict}")
            if not math.isnan(row.exports_eu_lower):
                text += f"; exports to the EU {_kt(row.exports_eu_lower)}..{_kt(row.exports_eu_upper)}"
                if not math.isnan(row.gap_eu_lower):
                    text += (f" (gap {_kt(row.gap_eu_lower)}..{_kt(row.gap_eu_upper)}"
                             + ("; FLAG)" if row.flag_eu else ")"))
            if not math.isnan(row.production_lower):
                text += f"; production {_kt(row.production_lower)}..{_kt(row.production_upper)}"
            lines.append(text)
        flagged = self.flagged_years
        lines.append(f"flagged years: {', '.join(map(str, flagged)) if flagged else 'none'}")
        if self.caveats:
            lines += ["", "What this can and cannot show:"] + [f"- {c}" for c in self.caveats]
        return "\n".join(lines)

    def _repr_text(self) -> str:  # pragma: no cover - convenience
        return self.summary()

    def plot(self, ax: Axes | None = None) -> Axes:
        """Per year, two bars: the importers' reported imports and the exporter's published
        exports. The solid part reaches the interval's lower end, the hatched part its upper end;
        an unbounded upper end is marked, a year without a figure gets no bar and an "n/a" label
        (never a bar of 0). Flagged years are marked above their bars."""
        plt = pyplot()
        t = self.table
        if ax is None:
            _, ax = plt.subplots(figsize=(max(6.0, 0.6 * len(t) + 2), 4))
        x = np.arange(len(t), dtype=float)
        width = 0.38
        finite = pd.concat([t[c] for c in ("reported_imports_upper", "exports_upper",
                                           "reported_imports_lower", "exports_lower")])
        finite = finite[np.isfinite(finite)]
        top = float(finite.max()) / 1e6 if not finite.empty else 1.0
        for offset, prefix, colour, label in ((-width / 2, "reported_imports", "#2166ac",
                                               "importers' reported imports"),
                                              (width / 2, "exports", "#b2182b",
                                               f"{self.reporter}'s published exports")):
            lo = t[f"{prefix}_lower"].to_numpy(dtype=float) / 1e6
            hi = t[f"{prefix}_upper"].to_numpy(dtype=float) / 1e6
            known = ~np.isnan(lo)
            unbounded = known & np.isinf(hi)
            hi_drawn = np.where(unbounded, top * 1.1, hi)
            ax.bar(x[known] + offset, lo[known], width, color=colour, label=label)
            ax.bar(x[known] + offset, (hi_drawn - lo)[known], width, bottom=lo[known],
                   facecolor="none", edgecolor=colour, hatch="//", linewidth=0.8)
            for xi in x[unbounded]:
                ax.text(xi + offset, top * 1.1, "no upper\nbound", ha="center", va="bottom",
                        fontsize="x-small")
            for xi in x[~known]:
                ax.text(xi + offset, 0, "n/a", ha="center", va="bottom", fontsize="x-small",
                        color=colour, rotation=90)
        for xi, flagged, hi in zip(x, t["flag"], t["reported_imports_upper"], strict=True):
            if flagged:
                ax.text(xi, min(hi / 1e6, top * 1.1), "flag", ha="center", va="bottom",
                        color="black", fontweight="bold")
        ax.set_xticks(x)
        ax.set_xticklabels([str(y) for y in t["year"]], rotation=45)
        ax.set_ylabel("million tonnes per year")
        ax.set_title(f"Exporter mass balance: {self.reporter} ({self.dataset} vs published exports)")
        from matplotlib.patches import Patch

        handles, _ = ax.get_legend_handles_labels()
        handles.append(Patch(facecolor="none", edgecolor="grey", hatch="//",
                             label="from the lower to the upper end of the interval"))
        ax.legend(handles=handles, loc="upper left", fontsize="small")
        return ax


@call_forms(renamed={"exporter": "reporter"})
def exporter_balance(
    frame: pd.DataFrame,
    reporter: str,
    *,
    years: list[int] | range | None = None,
    importers: list[str] | None = None,
    dataset: str = "nrg_ti_oil",
    measure: str = "mass_t",
    context: pd.DataFrame | bool = True,
) -> MassBalanceResult:
    """Importers' reported imports from `exporter` against its published total exports, per year.

    Parameters
    ----------
    frame : pandas.DataFrame
        A canonical frame holding the importer-side `dataset` and, for the exports, the exporter's
        ``published`` rows with ``flow="export"`` (the embedded default has Kazakhstan's).
    reporter : str
        ISO alpha-2 code of the exporting country whose balance is drawn: it reports the published
        total exports, and is the importers' partner (was ``exporter=``, deprecated).
    years : list of int, optional
        Default: every year with an importer row for the exporter or a published export figure.
    importers : list of str, optional
        Importers to sum. Default: every country reporter of `dataset` with rows for `exporter`
        (aggregates such as ``EU_V`` only when named; an aggregate is never summed with a member).
    dataset : str
        Annual (``nrg_ti_oil``, Comtrade) or monthly grade-level (``nrg_ti_coifpm``) import data,
        ``"dataset"`` or ``"source/dataset"``; never a ``published`` dataset.
    measure : {"mass_t", "volume_bbl"}
        The column read; barrels are converted to tonnes through the exporter's density interval.
    context : DataFrame or bool
        The provenance table of the published figures (:func:`oilflows.sources.published.provenance`)
        for production and exports to the EU; ``True`` (default) the packaged one, ``False`` none.

    Returns
    -------
    MassBalanceResult
        One row per year in tonnes; ``flag`` where the importers report more than the exporter
        says it exported; ``caveats`` say what the balance can and cannot show.

    Raises
    ------
    AnalysisError
        A dataset not in the frame (or a published one), a measure that is not mass_t/volume_bbl, an
        exporter no importer reports, importers without data or an aggregate summed with a member,
        and years with no data at all.
    """
    exporter = reporter
    if measure not in MEASURES:
        raise AnalysisError(f"measure must be one of {list(MEASURES)}, got {measure!r}")
    source, chosen = select_dataset(frame, dataset)
    if source == "published":
        raise AnalysisError(f"dataset {dataset!r} is a published figure, not importer statistics; "
                            "name an importer-side dataset such as 'nrg_ti_oil' or 'nrg_ti_coifpm'")
    data = frame[(frame["source"] == source) & (frame["dataset"] == chosen)
                 & (frame["flow"] == "import") & (frame["product"] == "crude_oil")]
    rows = data[(data["partner"] == exporter) & (data["reporter"] != exporter)]
    if rows.empty:
        partners = sorted(set(data["partner"]) - {WORLD})
        hint = f" (did you mean {exporter.upper()!r}?)" if exporter.upper() in partners else ""
        raise AnalysisError(f"no importer in {source}/{chosen} reports crude imports from "
                            f"{exporter!r}{hint}")
    confidential = rows["flag"].fillna("").str.contains(CONFIDENTIAL, regex=False)
    if rows[measure].isna().all() and not confidential.any():
        other = next(m for m in MEASURES if m != measure)
        raise AnalysisError(f"{source}/{chosen} has no {measure} for imports from {exporter}"
                            + (f"; try measure={other!r}" if rows[other].notna().any() else ""))
    monthly = (rows["freq"] == "M").any()
    chosen_importers = _importers(data, rows, importers, source, chosen, exporter)
    exports = _export_figures(frame, exporter)
    wanted = _years(years, rows, exports, source, chosen, exporter)
    ctx = _context(context, exporter)

    caveats: list[str] = []
    density = None
    if monthly:
        figures, density, notes = _monthly_figures(frame, rows, chosen_importers, wanted, source,
                                                   chosen, exporter, measure)
    else:
        figures, notes = _annual_figures(rows, chosen_importers, wanted, measure, frame, source,
                                         chosen, exporter)
    caveats += notes
    table = _table(figures, exports, ctx, wanted, chosen_importers, caveats)
    caveats += _standing_caveats(exporter, source, chosen, chosen_importers, table, exports, monthly)
    return MassBalanceResult(reporter=exporter, source=source, dataset=chosen, measure=measure,
                             importers=tuple(chosen_importers), table=table, figures=figures,
                             density=density, caveats=caveats)


# -- inputs ---------------------------------------------------------------------------------------


def _importers(data: pd.DataFrame, rows: pd.DataFrame, importers: Iterable[str] | None, source: str,
               chosen: str, exporter: str) -> list[str]:
    available = sorted(set(rows["reporter"]))
    if importers is None:
        chosen_importers = [r for r in available if is_iso_country(r)]
        if not chosen_importers:
            raise AnalysisError(f"only aggregate reporters ({', '.join(available)}) report imports "
                                f"from {exporter} in {source}/{chosen}; name one with importers=")
        return chosen_importers
    if isinstance(importers, str):
        importers = [importers]
    chosen_importers = list(dict.fromkeys(importers))
    absent = [i for i in chosen_importers if i not in available]
    if absent:
        raise AnalysisError(f"importer(s) {', '.join(absent)} report no imports from {exporter} in "
                            f"{source}/{chosen}; importers with data: {', '.join(available)}")
    aggregates = [i for i in chosen_importers if i in EU_AGGREGATES]
    members = [i for i in chosen_importers if i in EU27]
    if aggregates and (members or len(aggregates) > 1):
        raise AnalysisError(f"{', '.join(aggregates)} already contain(s) "
                            f"{', '.join(members) or 'each other'}: summing them double counts")
    return chosen_importers


def _years(years: Iterable[int] | None, rows: pd.DataFrame, exports: pd.DataFrame, source: str,
           chosen: str, exporter: str) -> list[int]:
    have = set(rows["period"].dt.year.astype(int))
    published = set(exports["year"]) if not exports.empty else set()
    if years is None:
        return sorted(have | published)
    try:
        wanted = sorted({int(y) for y in years})
    except (TypeError, ValueError) as exc:
        raise AnalysisError(f"years must be whole years like [2021, 2022], got {years!r}") from exc
    if not wanted:
        raise AnalysisError("years is empty")
    out_of_range = [y for y in wanted if not PERIOD_YEARS[0] <= y <= PERIOD_YEARS[1]]
    if out_of_range:
        raise AnalysisError(f"years {out_of_range} are outside {PERIOD_YEARS}")
    empty = [y for y in wanted if y not in have and y not in published]
    if empty:
        span = f"{min(have)}-{max(have)}" if have else "none"
        raise AnalysisError(f"no data for {exporter} in year(s) {', '.join(map(str, empty))}: "
                            f"{source}/{chosen} has imports from {exporter} in {span} and no published "
                            f"export figure of {exporter} covers them")
    return wanted


def _export_figures(frame: pd.DataFrame, exporter: str) -> pd.DataFrame:
    """The exporter's published total exports: one row per figure (year, lower, upper, label)."""
    rows = frame[(frame["source"] == "published") & (frame["reporter"] == exporter)
                 & (frame["flow"] == "export") & (frame["partner"] == WORLD)
                 & (frame["product"] == "crude_oil") & (frame["freq"] == "A")
                 & frame["grade"].isna()]
    out = []
    for r in rows.itertuples(index=False):
        lo, hi, barrels = parse_interval_flag(r.flag)
        if barrels:
            continue  # a total in barrels has no tonnes interval; not used
        vintage = f" {r.vintage:%Y-%m-%d}" if not pd.isna(r.vintage) else " (undated)"
        out.append({"year": int(r.period.year), "lower": lo, "upper": hi,
                    "label": f"published/{r.dataset}{vintage}"})
    return pd.DataFrame(out, columns=["year", "lower", "upper", "label"])


def _context(context: pd.DataFrame | bool | None, exporter: str) -> dict[str, pd.DataFrame]:
    """Production and exports-to-the-EU intervals by year from a provenance table."""
    empty = pd.DataFrame(columns=["year", "lower", "upper", "label"])
    if context is False or context is None:
        return {"production": empty, "exports_eu": empty}
    if context is True:
        from ..sources import published

        table = published.provenance()
    else:
        table = context
    needed = {"metric", "csv_reporter", "csv_partner", "csv_grade", "period", "freq", "lower",
              "upper", "skip_reason", "publisher"}
    if not needed <= set(table.columns):
        raise AnalysisError(f"context must be a provenance table of published figures with columns "
                            f"{sorted(needed)}; missing {sorted(needed - set(table.columns))}")
    from ..sources.published import LOW_TRUST

    usable = table[(table["csv_reporter"] == exporter) & (table["freq"] == "A")
                   & table["lower"].notna() & (table["csv_grade"].fillna("") == "")
                   & (table["skip_reason"].fillna("") != LOW_TRUST)]
    out: dict[str, pd.DataFrame] = {}
    for key, mask in (("production", usable["metric"] == PRODUCTION_METRIC),
                      ("exports_eu", (usable["metric"] == EXPORT_METRIC)
                       & usable["csv_partner"].isin(EU_PARTNERS))):
        part = usable[mask]
        out[key] = pd.DataFrame({"year": pd.to_datetime(part["period"]).dt.year.astype(int),
                                 "lower": part["lower"].astype(float),
                                 "upper": part["upper"].astype(float),
                                 "label": part["publisher"].astype(str)},
                                columns=["year", "lower", "upper", "label"])
    return out


# -- importers' figures ------------------------------------------------------------------------------


def printed_half_unit(value: float, coarsest: float = 1000.0) -> float:
    """Half of the last printed digit of `value` (in base units), never coarser than `coarsest`:
    ``7_427_000`` t -> 500, ``2_956_851`` -> 0.5, ``1_311_800`` -> 50."""
    step = coarsest
    while step >= 1e-6:
        if abs(round(value / step) * step - value) <= 1e-6 * max(1.0, step):
            return step / 2
        step /= 10
    return 0.0


def _annual_figures(rows: pd.DataFrame, importers: list[str], years: list[int], measure: str,
                    frame: pd.DataFrame, source: str, chosen: str,
                    exporter: str) -> tuple[pd.DataFrame, list[str]]:
    """One row per (year, importer): status used / zero / missing / confidential, value, interval."""
    notes: list[str] = []
    rows = rows[(rows["freq"] == "A") & rows["reporter"].isin(importers)]
    k: tuple[float, float] | None = None
    if measure == "volume_bbl":
        k_lo, k_hi, how = density_interval(frame, SimpleNamespace(source=source, dataset=chosen),
                                           exporter)
        k = (k_lo, k_hi)
        notes.append(how)
    records = []
    by = {(int(p.year), r): g for (p, r), g in rows.groupby(["period", "reporter"])}
    for year in years:
        for importer in importers:
            group = by.get((year, importer))
            rec = {"year": year, "importer": importer, "value": math.nan, "lower": math.nan,
                   "upper": math.nan}
            secret = (group is not None
                      and group["flag"].fillna("").str.contains(CONFIDENTIAL, regex=False).any())
            if group is None or (group[measure].isna().all() and not secret):
                rec["status"] = "missing"
            elif secret or group[measure].isna().any():
                rec["status"] = "confidential"
            else:
                value = float(group[measure].sum())
                if value == 0:
                    rec["status"] = "zero"
                else:
                    half = sum(printed_half_unit(v, PRINTED_UNIT[measure]) for v in group[measure])
                    lo, hi = max(value - half, 0.0), value + half
                    if k is not None:
                        value, lo, hi = value / math.sqrt(k[0] * k[1]), lo / k[1], hi / k[0]
                    rec.update(status="used", value=value, lower=lo, upper=hi)
            records.append(rec)
    figures = pd.DataFrame(records, columns=["year", "importer", "status", "value", "lower", "upper"])
    conf = figures[figures["status"] == "confidential"]
    if not conf.empty:
        notes.append(f"{len(conf)} importer-year(s) are confidential in {source}/{chosen} "
                     "(not used; the reported imports are lower for it).")
    return figures, notes


def _monthly_figures(frame: pd.DataFrame, rows: pd.DataFrame, importers: list[str], years: list[int],
                     source: str, chosen: str, exporter: str,
                     measure: str) -> tuple[pd.DataFrame, tuple[float, float] | None, list[str]]:
    """Each importer-year from the sharp monthly bounds of ``volume_bounds`` (plus cell rounding),
    in tonnes (barrels through the exporter's density interval)."""
    notes: list[str] = []
    k_lo, k_hi, how = density_interval(frame, SimpleNamespace(source=source, dataset=chosen), exporter)
    density = (k_lo, k_hi) if measure == "volume_bbl" else None
    if density:
        notes.append(how)
    data = frame[(frame["source"] == source) & (frame["dataset"] == chosen)
                 & (frame["flow"] == "import") & (frame["product"] == "crude_oil")
                 & (frame["freq"] == "M")]
    have = {(int(p.year), r) for p, r in zip(rows["period"], rows["reporter"], strict=True)}
    records = []
    partial: list[str] = []
    for year in years:
        for importer in importers:
            rec = {"year": year, "importer": importer, "value": math.nan, "lower": math.nan,
                   "upper": math.nan}
            if (year, importer) not in have:
                rec["status"] = "missing"
                records.append(rec)
                continue
            result = volume_bounds(frame, importer, partner=exporter, start=f"{year}-01",
                                   end=f"{year}-12", measure=measure, dataset=f"{source}/{chosen}")
            cells = data[(data["reporter"] == importer) & (data["period"].dt.year == year)][measure]
            half = sum(printed_half_unit(v, PRINTED_UNIT[measure]) for v in cells.dropna())
            lo = max(result.lower - half, 0.0)
            hi = result.upper + half
            value = result.disclosed
            if math.isinf(result.upper):
                partial.append(f"{importer} {year}")
            if density:
                value, lo, hi = value / math.sqrt(k_lo * k_hi), lo / k_hi, hi / k_lo
            rec.update(status="used", value=value, lower=lo, upper=hi)
            records.append(rec)
    if partial:
        notes.append(f"no upper bound for {', '.join(partial)} (a month without data or with a "
                     "confidential WORLD total): the reported imports are unbounded above there.")
    notes.append(f"{source}/{chosen}: each importer-year is the sharp interval of volume_bounds "
                 "(confidential cells), widened by half a printed unit for every printed cell it "
                 "rests on; 'reported_imports' is the sum of the disclosed cells.")
    figures = pd.DataFrame(records, columns=["year", "importer", "status", "value", "lower", "upper"])
    return figures, density, notes


# -- the balance --------------------------------------------------------------------------------------


def _combine(figs: pd.DataFrame, what: str, year: int, caveats: list[str]) -> tuple[float, float, int]:
    """The intersection of the figures' intervals for one year (their hull, with a caveat, if they
    do not intersect); NaN when there is none."""
    if figs.empty:
        return math.nan, math.nan, 0
    lo, hi = float(figs["lower"].max()), float(figs["upper"].min())
    if lo > hi:
        ranges = "; ".join(f"{r.label}: {_kt(r.lower)}..{_kt(r.upper)} kt"
                           for r in figs.itertuples(index=False))
        caveats.append(f"{year}: the published {what} figures disagree ({ranges}); their hull is used.")
        lo, hi = float(figs["lower"].min()), float(figs["upper"].max())
    return lo, hi, len(figs)


def _all_eu(importers: Iterable[str]) -> bool:
    return all(i in EU27 or i in EU_AGGREGATES for i in importers)


def _table(figures: pd.DataFrame, exports: pd.DataFrame, ctx: dict[str, pd.DataFrame], years: list[int],
           importers: list[str], caveats: list[str]) -> pd.DataFrame:
    all_eu = _all_eu(importers)
    out = []
    for year in years:
        f = figures[figures["year"] == year]
        used = f[f["status"] == "used"]
        zeros = f[f["status"] == "zero"]
        missing = f[f["status"].isin(["missing", "confidential"])]
        if used.empty:
            imp, imp_lo, imp_hi = math.nan, math.nan, math.nan
        else:
            imp, imp_lo, imp_hi = (float(used["value"].sum()), float(used["lower"].sum()),
                                   float(used["upper"].sum()))
        ex_lo, ex_hi, n_ex = _combine(exports[exports["year"] == year], "export", year, caveats)
        pr_lo, pr_hi, _ = _combine(ctx["production"][ctx["production"]["year"] == year],
                                   "production", year, caveats)
        eu_lo, eu_hi, _ = _combine(ctx["exports_eu"][ctx["exports_eu"]["year"] == year],
                                   "exports-to-the-EU", year, caveats)
        gap_lo, gap_hi = imp_lo - ex_hi, imp_hi - ex_lo
        gap_eu_lo, gap_eu_hi = (imp_lo - eu_hi, imp_hi - eu_lo) if all_eu else (math.nan, math.nan)
        out.append({
            "year": year, "reported_imports": imp, "reported_imports_lower": imp_lo,
            "reported_imports_upper": imp_hi, "importers": len(used),
            "importer_list": ", ".join(used["importer"]), "zeros": len(zeros),
            "zero_importers": ", ".join(zeros["importer"]), "missing": len(missing),
            "exports_lower": ex_lo, "exports_upper": ex_hi, "exports_figures": n_ex,
            "gap_lower": gap_lo, "gap_upper": gap_hi,
            "flag": bool(not math.isnan(gap_lo) and gap_lo > 0),
            "share_of_exports_lower": imp_lo / ex_hi if ex_hi > 0 else math.nan,
            "share_of_exports_upper": imp_hi / ex_lo if ex_lo > 0 else math.nan,
            "production_lower": pr_lo, "production_upper": pr_hi,
            "exports_eu_lower": eu_lo, "exports_eu_upper": eu_hi,
            "gap_eu_lower": gap_eu_lo, "gap_eu_upper": gap_eu_hi,
            "flag_eu": bool(not math.isnan(gap_eu_lo) and gap_eu_lo > 0),
        })
    table = pd.DataFrame(out, columns=list(COLUMNS))
    table["flag"] = table["flag"].astype(bool)
    table["flag_eu"] = table["flag_eu"].astype(bool)
    for column in ("importers", "zeros", "missing", "exports_figures", "year"):
        table[column] = table[column].astype(int)
    return table


def _standing_caveats(exporter: str, source: str, chosen: str, importers: list[str], table: pd.DataFrame,
                      exports: pd.DataFrame, monthly: bool) -> list[str]:
    notes = []
    notes.append(
        f"Coverage: only the importers in the frame ({len(importers)}: {', '.join(importers)}) are "
        f"summed, so the reported imports are a lower bound of the world's imports from {exporter}; "
        "a negative gap is expected and shows nothing. Only a positive lower bound of the gap (flag) "
        "is a signal, and relabelled crude smaller than the unobserved importers' share (buyers "
        "not in the frame) is invisible to it.")
    eu = table.dropna(subset=["exports_eu_lower"])
    all_eu = _all_eu(importers)
    for row in eu.itertuples(index=False):
        share = (f" ({_pct(row.exports_eu_lower / row.exports_upper)}.."
                 f"{_pct(row.exports_eu_upper / row.exports_lower)} of its total exports)"
                 if not math.isnan(row.exports_lower) else "")
        notes.append(
            f"EU share: {exporter} reports {_kt(row.exports_eu_lower)}..{_kt(row.exports_eu_upper)} kt "
            f"exported to the EU in {row.year}{share} (from the published figures' provenance: not a "
            "row of the frame, there is no EU partner code). "
            + ("The importers here are all EU members, so their sum is also set against that figure "
               "(gap_eu, flag_eu): tighter than the total, but the exporter's destination may be the "
               "port of discharge (e.g. Trieste, for oil piped on to Austria, Germany, Czechia), not "
               "always the importer that reports it." if all_eu else
               "Some importers here are not EU members: gap_eu is not computed."))
    notes.append(
        "Origin vs consignment: importers count crude by country of origin, so Kazakh crude loaded "
        "as CPC Blend at Novorossiysk or piped through Druzhba counts as Kazakh, and Russian crude "
        "relabelled Kazakh would count as Kazakh too: that is what the flag can catch. Russian crude "
        "inside CPC Blend (RU_CPC) that an importer files under Kazakhstan cannot be told apart.")
    notes.append(
        "Definitions: Kazakhstan's export totals are oil and gas condensate; importers' crude oil "
        "(SIEC O4100_TOT) includes field condensate but not all NGL, so the two totals need not "
        "cover exactly the same liquids.")
    notes.append(
        "Timing: exports count at shipment (border or loading), imports at arrival; a cargo loaded in "
        "December and discharged in January moves between years, so a small positive gap in one year "
        "followed by a negative one can be timing.")
    notes.append(
        "Stock changes and transit: exports are not production minus domestic use (stocks, in-transit "
        "volumes, re-exports); production is shown as a looser ceiling where published.")
    if not monthly and (table["zeros"] > 0).any():
        notes.append(
            f"Zeros: {int(table['zeros'].sum())} importer-year figures of 0 in {source}/{chosen} are "
            "not used (in the third-party extract a 0 can stand for a missing value); they are "
            "counted in 'zeros', never added as 0.")
    if not monthly:
        notes.append(f"Rounding: each {source}/{chosen} figure stands for +-half its last printed "
                     "digit (never coarser than +-0.5 thousand); published figures carry their "
                     "own interval (flag).")
    no_exports = table.loc[table["exports_figures"] == 0, "year"].tolist()
    if no_exports:
        notes.append(f"No published total exports of {exporter} in the frame for "
                     f"{_years_text(no_exports)}: gap and flag are undefined there (NaN, not 0).")
    no_imports = table.loc[table["reported_imports"].isna(), "year"].tolist()
    if no_imports:
        notes.append(f"No usable importer figure in {source}/{chosen} for {_years_text(no_imports)} "
                     "(NaN, not 0).")
    return notes


def _years_text(years: list[int]) -> str:
    years = sorted(years)
    runs: list[str] = []
    start: int | None = years[0]
    for a, b in zip(years, [*years[1:], None], strict=True):
        if b != a + 1:
            runs.append(f"{start}" if start == a else f"{start}-{a}")
            start = b
    return ", ".join(runs)


def _kt(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x / 1e3:,.1f}"


def _pct(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if math.isinf(x):
        return "inf"
    return f"{100 * x:.1f} %"


__all__ = ["EU27", "MassBalanceResult", "exporter_balance", "printed_half_unit"]
