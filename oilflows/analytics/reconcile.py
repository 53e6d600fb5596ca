"""Reconciliation: one bilateral flow from every source side by side, in tonnes and barrels."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import AnalysisError, SourceFormatError
from ..schema import COLUMNS, CONFIDENTIAL, KEY
from ..sources import registry as _registry
from ._convert import partner_api, with_both_units
from ._plot import pyplot
from ._result import Result, summary_method
from ._signature import call_forms

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: Why sources disagree by construction, per (source, dataset): a live, read-only view of the source
#: registrations (each :class:`oilflows.sources.registry.Source` carries its ``known_causes``). The
#: registry imports no source module, so analytics reading it adds no import of the readers.
KNOWN_CAUSES: Mapping[tuple[str, str], str] = _registry.KNOWN_CAUSES
#: What a published grade slice is (source "published", grade not null).
SLICES: dict[str, str] = {
    "KEBCO": "KEBCO through Druzhba to Schwedt only: a slice of Germany's imports from KZ (CPC Blend "
             "arrives by sea), a lower bound of the partner total, not the total",
}

_UNITS_TO_TONNES = {"t": 1.0, "kt": 1e3, "Mt": 1e6}


@dataclass
class ReconcileResult(Result):
    """One flow per source and period: ``table`` with tonnes, barrels, conversion notes,
    confidential cells, difference to the reference source (tonnes and relative) and known causes."""

    reporter: str
    partner: str
    flow: str
    freq: str
    reference: str
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def _repr_fields(self) -> dict:
        return {n: getattr(self, n) for n in ("reporter", "partner", "flow", "freq", "reference", "table")}

    @property
    def caveats(self) -> list[str]:
        """The same list as ``notes`` (the name every result uses)."""
        return self.notes

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def wide(self, column: str = "mass_t") -> pd.DataFrame:
        """Periods x sources of one column."""
        return self.table.pivot_table(index="period", columns="name", values=column, aggfunc="first")

    @summary_method
    def summary(self, all_periods: bool = False) -> str:
        """Periods reported by two or more sources (or all with `all_periods`), in thousand tonnes,
        with each source's difference to the reference and its known causes."""
        label = {"A": "%Y", "M": "%Y-%m"}[self.freq]
        t = self.table
        counts = t.groupby("period")["name"].nunique()
        shown = t if all_periods else t[t["period"].map(counts) >= 2]
        lines = [f"{self.reporter} {self.flow}s from {self.partner}, every source (thousand tonnes; "
                 f"differences against {self.reference}; published figures with their interval)",
                 f"{'period':<9}{'source':<44}{'kt':>10}{'vs ref':>9}{'conf.':>7}  published interval"]
        for row in shown.itertuples(index=False):
            rel = "" if pd.isna(row.relative) or row.name == self.reference else f"{row.relative:+.1%}"
            if isinstance(row.grade, str) and row.source == "published":
                rel = "slice"
            mark = " (ref)" if row.name == self.reference else ""
            interval = ""
            if not pd.isna(row.lower_t):
                upper = "inf" if np.isinf(row.upper_t) else f"{row.upper_t / 1e3:,.1f}"
                interval = f"  [{row.lower_t / 1e3:,.1f}, {upper}]"
                if isinstance(row.grade, str):
                    interval += f" {row.grade} only: a lower bound of the total"
            lines.append(f"{row.period.strftime(label):<9}{(row.name + mark)[:43]:<44}"
                         f"{row.mass_t / 1e3:>10,.0f}{rel:>9}{row.confidential_cells:>7}{interval}")
        lines.append("")
        for name, sub in t.groupby("name", sort=True):
            first = sub.iloc[0]
            by = ""
            if first["source"] == "published" and isinstance(first["publisher"], str):
                by = "; published by " + "; ".join(dict.fromkeys(
                    p + (f" ({d})" if isinstance(d, str) else "")
                    for p, d in zip(sub["publisher"], sub["published_date"], strict=True)))
            lines.append(f"- {name}: {first['known_causes']}; {first['conversion']}{by}")
        lines += [f"- {n}" for n in self.notes]
        return "\n".join(lines)

    def plot(self, ax: Axes | None = None) -> Axes:
        plt = pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 4))
        wide = self.wide("mass_t") / 1e3
        for name in wide.columns:
            ax.plot(wide.index, wide[name], marker="o", label=name)
        ax.set_ylabel("thousand tonnes")
        ax.set_title(f"{self.reporter} {self.flow}s from {self.partner}, by source")
        ax.legend(fontsize="small")
        return ax


def read_published(path: str | Path) -> pd.DataFrame:
    """Read published reference figures for :func:`reconcile`'s `published` argument.

    A curated file in the format of :mod:`oilflows.sources.published` (columns ``id, publisher,
    address, ...``, e.g. ``oilflows/data/published_figures.csv``) is read by
    :func:`oilflows.sources.published.read` and returned as a canonical frame (with intervals).
    The older reference format (columns period, reporter, partner, metric, value, unit,
    publisher) gives a small table: quantities in t/kt/Mt become tonnes; annual (YYYY) and monthly
    (YYYY-MM) periods are kept, partial-year periods (``2022-H1``, ``2022-01..11``) are dropped."""
    from ..sources import published as published_source

    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    if set(published_source.CSV_COLUMNS) <= set(table.columns):
        return published_source.read(path)
    needed = {"period", "reporter", "partner", "metric", "value", "unit", "publisher"}
    if not needed <= set(table.columns):
        raise SourceFormatError(str(path), f"missing columns {sorted(needed - set(table.columns))}")
    rows = table[(table["metric"] == "crude_import_quantity") & table["unit"].isin(_UNITS_TO_TONNES)]
    rows = rows[rows["period"].str.fullmatch(r"\d{4}(-\d{2})?")]
    out = pd.DataFrame({
        "period": pd.to_datetime(rows["period"], format="mixed"),
        "freq": np.where(rows["period"].str.len() == 4, "A", "M"),
        "reporter": rows["reporter"],
        "partner": rows["partner"].replace({"TOTAL": "WORLD"}),
        "mass_t": rows["value"].astype(float) * rows["unit"].map(_UNITS_TO_TONNES),
        "publisher": rows["publisher"],
    })
    return out.reset_index(drop=True)


@call_forms(old_positional=("partner", "freq", "flow", "reference", "published"),
            deprecated_defaults={"reporter": "DE", "partner": "KZ"})
def reconcile(
    frame: pd.DataFrame,
    reporter: str,
    *,
    partner: str,
    freq: str = "A",
    flow: str = "import",
    reference: str | None = None,
    published: pd.DataFrame | None = None,
) -> ReconcileResult:
    """Put one flow from every source in `frame` side by side, in tonnes and barrels.

    Parameters
    ----------
    frame : pandas.DataFrame
        Canonical frame holding any number of sources (store and/or embedded default).
    reporter, partner : str
        ISO alpha-2 codes of the country whose flow is compared and of its counterpart.
    freq : {"A", "M"}
        Annual sums of monthly data (with the count of months), or monthly.
    reference : str, optional
        ``source/dataset`` the differences are taken against (default: a source reporting tonnes
        natively, the one with the most periods).
    published : pandas.DataFrame, optional
        Published figures from :func:`read_published`: a canonical frame (the curated format) is
        added to `frame`; the older table is shown as one more source per publisher.

    Rows of source ``"published"`` (:mod:`oilflows.sources.published`; the embedded default holds
    them) are shown one line per figure at their own frequency (never summed), named
    ``published/<publisher slug>`` (``[KEBCO]`` for a grade slice, and the publication date when
    one publisher gave several figures for a period), with their interval (``lower_t``,
    ``upper_t``), ``publisher``, ``published_date`` and ``qualifier``. A grade slice (KEBCO through
    Druzhba) is a lower bound of the partner total: its difference to the reference is not given.

    Barrels are converted to tonnes at each grade's own API gravity where the source gives it,
    else at the partner's volume-weighted API in `frame`, else the default (33 API); the
    conversion used is stated per source. Confidential cells are counted, never filled.
    """
    if freq not in ("A", "M"):
        raise AnalysisError(f"freq must be 'A' or 'M', got {freq!r}")
    if published is not None and set(COLUMNS) <= set(published.columns):
        frame = pd.concat([frame, published[list(COLUMNS)]], ignore_index=True)
        frame = frame.drop_duplicates(list(KEY), keep="first")
        published = None
    rows = frame[(frame["reporter"] == reporter) & (frame["partner"] == partner)
                 & (frame["flow"] == flow) & (frame["product"] == "crude_oil")]
    if rows.empty and (published is None or published.empty):
        raise AnalysisError(f"no {flow}s of {reporter} from {partner} in any source")
    api = partner_api(frame, reporter, partner)
    parts = []
    figures = rows[rows["source"] == "published"]
    rows = rows[rows["source"] != "published"]
    if not figures.empty:
        part = _published_part(figures, freq, api)
        if not part.empty:
            parts.append(part)
    for (source, dataset), group in rows.groupby(["source", "dataset"], sort=True):
        if freq == "M" and (group["freq"] == "A").all():
            continue
        group = group[group["freq"] == ("A" if (group["freq"] == "A").all() else "M")]
        converted, note = with_both_units(group, api)
        converted["confidential"] = converted["flag"].fillna("").str.contains(CONFIDENTIAL, regex=False)
        converted["month"] = 1
        native_freq = converted["freq"].iloc[0]
        key = converted["period"]
        if freq == "A" and native_freq == "M":
            key = key.dt.to_period("Y").dt.to_timestamp()
        agg = converted.groupby(key).agg(
            mass_t=("mass_t_all", lambda s: s.sum(min_count=1)),
            volume_bbl=("volume_bbl_all", lambda s: s.sum(min_count=1)),
            confidential_cells=("confidential", "sum"),
            months=("period", "nunique"),
        )
        if native_freq == "A":
            agg["months"] = 12
        agg["source"], agg["dataset"], agg["conversion"] = source, dataset, note
        agg["native_unit"] = "tonnes" if group["mass_t"].notna().any() else "barrels"
        parts.append(agg.rename_axis("period").reset_index())
    if published is not None and not published.empty:
        pub = published[(published["reporter"] == reporter) & (published["partner"] == partner)
                        & (published["freq"] == freq)]
        for publisher, group in pub.groupby("publisher"):
            blank = group.assign(volume_bbl=np.nan, api_gravity=np.nan)
            factor = np.asarray(with_both_units(blank, api)[0]["volume_bbl_all"])
            parts.append(pd.DataFrame({
                "period": group["period"].to_numpy(), "mass_t": group["mass_t"].to_numpy(),
                "volume_bbl": factor, "confidential_cells": 0, "months": 12 if freq == "A" else 1,
                "source": publisher, "dataset": "published", "native_unit": "tonnes",
                "conversion": "published tonnes; barrels at the partner's API"}))
    if not parts:
        raise AnalysisError(f"no source reports {reporter}'s {flow}s from {partner} at freq {freq}")
    table = pd.concat(parts, ignore_index=True)
    for column in ("name", "known_causes", "grade", "publisher", "published_date", "qualifier"):
        if column not in table:
            table[column] = None
    for column in ("lower_t", "upper_t"):
        if column not in table:
            table[column] = np.nan
    statistical = table["name"].isna()
    table.loc[statistical, "name"] = table["source"] + "/" + table["dataset"]
    table.loc[table["dataset"] == "published", "name"] = "published: " + table["source"]
    table.loc[statistical, "known_causes"] = [
        KNOWN_CAUSES.get((s, d), KNOWN_CAUSES.get(("published", d), ""))
        for s, d in zip(table.loc[statistical, "source"], table.loc[statistical, "dataset"], strict=True)]
    reference = reference or _default_reference(table)
    if reference not in set(table["name"]):
        raise AnalysisError(f"reference {reference!r} not among the sources: {sorted(set(table['name']))}")
    ref = table[table["name"] == reference].groupby("period")["mass_t"].first()
    table["difference_t"] = table["mass_t"] - table["period"].map(ref)
    table["relative"] = table["difference_t"] / table["period"].map(ref)
    is_slice = (table["source"] == "published") & table["grade"].notna()
    table.loc[is_slice, ["difference_t", "relative"]] = np.nan
    notes = []
    incomplete = table[(table["months"] < 12) & (freq == "A")]
    if not incomplete.empty:
        notes.append("some annual figures sum fewer than 12 months: "
                     + ", ".join(f"{n} {p:%Y} ({m})" for n, p, m in
                                 incomplete[["name", "period", "months"]].itertuples(index=False)))
    if table["confidential_cells"].sum():
        notes.append("confidential cells are excluded from a source's total, never filled: its figure "
                     "is a lower bound where confidential_cells > 0")
    for grade in sorted(set(table.loc[is_slice, "grade"])):
        notes.append(f"published {grade} figures are a slice, not the partner total: "
                     + SLICES.get(grade, "one grade only, a lower bound of the partner total"))
    if (table["source"] == "published").any():
        notes.append("published figures are single rounded numbers, kept apart from the statistical "
                     "series; the interval is what the printed figure stands for (docs/schema.md)")
    columns = ["period", "name", "source", "dataset", "grade", "months", "mass_t", "volume_bbl",
               "native_unit", "conversion", "confidential_cells", "difference_t", "relative",
               "lower_t", "upper_t", "publisher", "published_date", "qualifier", "known_causes"]
    table = table[columns].sort_values(["period", "name"]).reset_index(drop=True)
    return ReconcileResult(reporter, partner, flow, freq, reference, table, notes)


def _published_part(figures: pd.DataFrame, freq: str, api: float | None) -> pd.DataFrame:
    """One line per published figure at `freq` (never summed), with its interval and publisher."""
    from ..sources import published as published_source

    figures = figures[figures["freq"] == freq]
    if figures.empty:
        return pd.DataFrame()
    converted, note = with_both_units(figures, api)
    bounds = published_source.interval(figures)
    trace = _published_trace()
    out = pd.DataFrame({
        "period": figures["period"].to_numpy(), "mass_t": converted["mass_t_all"].to_numpy(),
        "volume_bbl": converted["volume_bbl_all"].to_numpy(), "confidential_cells": 0,
        "months": 12 if freq == "A" else 1, "source": "published",
        "dataset": figures["dataset"].to_numpy(), "grade": figures["grade"].to_numpy(),
        "vintage": figures["vintage"].to_numpy(),
        "native_unit": np.where(figures["mass_t"].notna(), "tonnes", "barrels"),
        "conversion": "published " + np.where(figures["mass_t"].notna(), "tonnes", "barrels")
        + "; " + note,
        "lower_t": bounds["lower"].to_numpy(), "upper_t": bounds["upper"].to_numpy(),
    })
    keys = [tuple(None if pd.isna(v) else v for v in row)
            for row in figures[list(KEY)].itertuples(index=False)]
    info = [trace.get(k, {}) for k in keys]
    publisher = [i.get("publisher", d) for i, d in zip(info, out["dataset"], strict=True)]
    date = [i.get("published_date") for i in info]
    qualifier = [i.get("qualifier") for i in info]
    grade = [g if isinstance(g, str) else None for g in out["grade"]]
    for column, values in (("publisher", publisher), ("published_date", date), ("qualifier", qualifier),
                           ("grade", grade)):
        out[column] = pd.Series(values, index=out.index, dtype=object)
    out["name"] = "published/" + out["dataset"] + [f" [{g}]" if g else "" for g in grade]
    several = out.duplicated(["name", "period"], keep=False)
    dates = [v.strftime("%Y-%m-%d") if not pd.isna(v) else "undated" for v in out["vintage"]]
    out.loc[several, "name"] = out["name"] + " (" + pd.Series(dates, index=out.index) + ")"
    out["known_causes"] = [
        (SLICES.get(g, "one grade only, a lower bound of the partner total") + "; " if g else "")
        + "a published figure; its interval is what the printed number stands for"
        for g in grade]
    return out.drop(columns="vintage")


@lru_cache(maxsize=1)
def _published_trace() -> dict[tuple, dict]:
    """Publisher, date and qualifier of each packaged published figure, by canonical key."""
    from ..sources import published as published_source

    try:
        table = published_source.provenance(min_trust="low")
    except (OSError, SourceFormatError):  # pragma: no cover - the packaged file is always there
        return {}
    table = table[table["emitted"]]
    return {tuple(None if pd.isna(v) else v for v in row[:len(KEY)]):
            {"publisher": row[-3], "published_date": row[-2] or None, "qualifier": row[-1]}
            for row in table[[*KEY, "publisher", "published_date", "qualifier"]].itertuples(index=False)}


def _default_reference(table: pd.DataFrame) -> str:
    native = table[(table["native_unit"] == "tonnes") & (table["dataset"] != "published")
                   & (table["source"] != "published")]
    pool = native if not native.empty else table
    counts = pool.groupby("name")["period"].nunique()
    return sorted(counts[counts == counts.max()].index)[0]

__all__ = ["KNOWN_CAUSES", "SLICES", "ReconcileResult", "read_published", "reconcile"]
