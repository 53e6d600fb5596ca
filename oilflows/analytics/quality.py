"""Crude quality: API x sulphur classes, a reporter's import slate over time, and substitute ranking.

Methods note section 11. API gravity is averaged with barrel weights. Sulphur is a mass fraction (% by
weight), so the precise slate average weights it by **tonnes**; barrels are converted per grade at the
grade's own API gravity (:func:`oilflows.units.barrels_to_tonnes`). The barrel-weighted sulphur is
reported alongside because published tables (e.g. the methods note's) use it.

Quality comes from Eurostat ``nrg_ti_coifpm`` (API_DEG, SULPH_PC per grade and month). Confidential cells
carry no volume; the EU aggregate sometimes publishes the quality of a cell whose volume is confidential
(e.g. KEBCO, ``KZ_KEBCO_BLN``, Jun-Dec 2023): such values can only be averaged unweighted, and are
labelled so. API gravity <= 0 marks a placeholder (no imports) and is never used.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .. import codes as _codes
from ..errors import AnalysisError
from ..schema import WORLD
from ..units import barrels_to_tonnes
from ._panel import Panel, build_panel, matching
from ._plot import pyplot
from ._result import Result, summary_method
from ._signature import call_forms

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: API gravity above which a crude is light (degrees; Güntner et al. 2024 / methods note section 9).
LIGHT_ABOVE = 31.1
#: API gravity below which a crude is heavy (degrees); medium in between, bounds included.
HEAVY_BELOW = 22.3
#: Sulphur below which a crude is sweet (% by weight) in the paper's classes.
SWEET_BELOW = 1.0
#: The industry's usual sweet/sour threshold (% by weight), for ``sweet_below=``.
INDUSTRY_SWEET_BELOW = 0.5
#: Aggregate reporters that contain member states (never summed with them), in order of preference:
#: :data:`oilflows.codes.EU_AGGREGATES`, from the one vocabulary of non-country codes.
EU_AGGREGATES: tuple[str, ...] = _codes.EU_AGGREGATES
#: The class labels, lightest and sweetest first.
OIL_TYPES: tuple[str, ...] = tuple(
    f"{g} {s}" for g in ("light", "medium", "heavy") for s in ("sweet", "sour"))


# -- classification ------------------------------------------------------------------------------


def classify_oil_type(
    api: float | pd.Series | np.ndarray | Sequence[float],
    sulphur: float | pd.Series | np.ndarray | Sequence[float],
    light_above: float = LIGHT_ABOVE,
    heavy_below: float = HEAVY_BELOW,
    sweet_below: float = SWEET_BELOW,
) -> str | None | pd.Series:
    """API x sulphur class of a crude: ``"light sweet"``, ``"medium sour"``, ...

    Parameters
    ----------
    api : float or array-like
        API gravity, degrees.
    sulphur : float or array-like
        Sulphur content, % by weight.
    light_above, heavy_below : float
        Light if API > `light_above` (31.1); heavy if API < `heavy_below` (22.3); medium otherwise
        (bounds included), as in Güntner, Irlacher & Öhlinger (2024).
    sweet_below : float
        Sweet if sulphur < `sweet_below` (1.0 % in the paper), sour otherwise. The industry's usual
        convention is 0.5 % (:data:`INDUSTRY_SWEET_BELOW`): CPC Blend at 0.54 % is sweet under the paper's
        threshold and sour under the industry's.

    Returns
    -------
    str or None, or pandas.Series of them
        None where API or sulphur is missing.
    """
    if heavy_below > light_above:
        raise AnalysisError(f"heavy_below ({heavy_below}) must not exceed light_above ({light_above})")
    scalar = np.ndim(api) == 0 and np.ndim(sulphur) == 0
    index = api.index if isinstance(api, pd.Series) else None
    a = np.asarray(api, dtype=float).ravel()
    s = np.asarray(sulphur, dtype=float).ravel()
    if a.shape != s.shape:
        raise AnalysisError(f"api and sulphur differ in length ({a.size} vs {s.size})")
    gravity = np.where(a > light_above, "light", np.where(a < heavy_below, "heavy", "medium"))
    sweetness = np.where(s < sweet_below, "sweet", "sour")
    labels = pd.Series(np.char.add(np.char.add(gravity.astype(str), " "), sweetness.astype(str)),
                       index=index, dtype=object)
    labels[np.isnan(a) | np.isnan(s)] = None
    return labels.iloc[0] if scalar else labels


# -- selecting quality-bearing rows ---------------------------------------------------------------


def _quality_datasets(frame: pd.DataFrame, dataset: str | None) -> pd.DataFrame:
    """`frame` restricted to the one source/dataset that carries API gravity (refuses to mix)."""
    has_api = frame[frame["api_gravity"].notna() & (frame["api_gravity"] > 0)]
    options = sorted(set(zip(has_api["source"], has_api["dataset"], strict=True)))
    options = matching(options, dataset)
    if not options:
        wanted = f" in dataset {dataset!r}" if dataset else ""
        raise AnalysisError(f"no API gravity / sulphur data{wanted}: quality needs e.g. Eurostat "
                            "nrg_ti_coifpm")
    if len(options) > 1:
        raise AnalysisError("several datasets carry crude quality: "
                            f"{', '.join(f'{s}/{d}' for s, d in options)}; pass dataset= to choose one")
    source, chosen = options[0]
    return frame[(frame["source"] == source) & (frame["dataset"] == chosen)]


def _weighted(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows whose quality can be weighted: positive disclosed volume, API > 0, sulphur known."""
    ok = (rows["volume_bbl"] > 0) & (rows["api_gravity"] > 0) & rows["sulphur_pct"].notna()
    out = rows.loc[ok].copy()
    out["tonnes"] = barrels_to_tonnes(out["volume_bbl"], out["api_gravity"])
    return out


# -- the reporter's slate --------------------------------------------------------------------------


@dataclass
class SlateResult(Result):
    """The result of :func:`crude_slate`: a reporter's disclosed crude slate per period.

    Attributes
    ----------
    table : pandas.DataFrame
        Index ``period`` (periods with disclosed quality or a published total quality only): ``months``;
        ``world_bbl`` (WORLD barrels), ``quality_bbl`` and ``quality_t``
        (disclosed barrels with known quality, and their tonnes at each grade's API), ``coverage``
        (quality_bbl / world_bbl), ``n_grades``; ``api_gravity`` (barrel-weighted, degrees),
        ``sulphur_pct_mass`` (tonne-weighted, % by weight), ``sulphur_pct_volume`` (barrel-weighted, for
        comparison with published tables), ``oil_type`` of the slate average; ``api_gravity_total`` and
        ``sulphur_pct_total``: the source's own quality of the WORLD total (confidential cells
        included), months weighted by WORLD barrels, where published.
    nest_volumes : pandas.DataFrame
        Periods x oil types (:data:`OIL_TYPES`), disclosed barrels with known quality.
    """

    reporter: str
    freq: str
    source: str
    dataset: str
    thresholds: dict[str, float]
    table: pd.DataFrame
    nest_volumes: pd.DataFrame
    caveats: list[str] = field(default_factory=list)
    panel: Panel | None = field(default=None, repr=False)

    def _repr_fields(self) -> dict:
        return {n: getattr(self, n) for n in ("reporter", "freq", "dataset", "table")}

    def nest_shares(self, of: str = "disclosed") -> pd.DataFrame:
        """Share of each oil type in the slate: of disclosed barrels with quality, or of WORLD.

        With ``of="world"`` an ``undisclosed`` column holds the rest (barrels without known quality).
        """
        if of == "disclosed":
            return self.nest_volumes.div(self.table["quality_bbl"].replace(0, np.nan), axis=0)
        if of == "world":
            shares = self.nest_volumes.div(self.table["world_bbl"], axis=0)
            shares["undisclosed"] = 1.0 - shares.sum(axis=1)
            return shares
        raise AnalysisError(f"of must be 'disclosed' or 'world', got {of!r}")

    def to_frame(self) -> pd.DataFrame:
        """The per-period table (period as a column)."""
        return self.table.reset_index()

    @summary_method
    def summary(self) -> str:
        """Plain-text slate table: API, sulphur by mass and by volume, coverage, published total."""
        lines = [
            f"Crude slate of {self.reporter} ({'annual' if self.freq == 'A' else 'monthly'}; "
            f"{self.source}/{self.dataset}; disclosed grades with known quality)",
            "API weighted by barrels; S by tonnes (each grade at its own API) and, for comparison, "
            "by barrels; 'total' = the source's quality of WORLD incl. confidential cells",
            "",
            f"{'period':<9}{'cover.':>7}{'API':>7}{'S mass':>8}{'S vol':>7}  {'class':<13}"
            f"{'API tot':>8}{'S tot':>7}",
        ]
        for period, row in self.table.iterrows():
            label = f"{period:%Y}" if self.freq == "A" else f"{period:%Y-%m}"
            lines.append(
                f"{label:<9}{_pct(row['coverage']):>7}{_num(row['api_gravity'], 2):>7}"
                f"{_num(row['sulphur_pct_mass'], 3):>8}{_num(row['sulphur_pct_volume'], 3):>7}  "
                f"{row['oil_type'] or 'n/a':<13}{_num(row['api_gravity_total'], 2):>8}"
                f"{_num(row['sulphur_pct_total'], 3):>7}")
        if self.caveats:
            lines += ["", "Caveats:"] + [f"- {c}" for c in self.caveats]
        return "\n".join(lines)

    def plot(self, ax: Axes | None = None) -> Axes:
        """API gravity (left axis) and sulphur by mass (right axis) of the disclosed slate over time."""
        plt = pyplot()
        table = self.table[self.table["quality_bbl"] > 0]
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 4))
        ax.plot(table.index, table["api_gravity"], color="#2166ac", marker="o", label="API (disclosed)")
        if table["api_gravity_total"].notna().any():
            ax.plot(table.index, table["api_gravity_total"], color="#2166ac", linestyle=":",
                    label="API (total, as published)")
        ax.set_ylabel("API gravity, degrees")
        right = ax.twinx()
        right.plot(table.index, table["sulphur_pct_mass"], color="#b2182b", marker="s",
                   label="sulphur by mass (disclosed)")
        right.set_ylabel("sulphur, % by weight")
        handles = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
        ax.legend(handles=handles, loc="upper left", fontsize="small")
        ax.set_title(f"{self.reporter}: crude slate quality ({self.dataset})")
        return ax


@call_forms(old_positional=("dataset", "freq", "light_above", "heavy_below", "sweet_below"))
def crude_slate(
    frame: pd.DataFrame,
    reporter: str,
    *,
    dataset: str | None = None,
    freq: str = "A",
    light_above: float = LIGHT_ABOVE,
    heavy_below: float = HEAVY_BELOW,
    sweet_below: float = SWEET_BELOW,
) -> SlateResult:
    """The quality of `reporter`'s disclosed crude imports over time.

    Parameters
    ----------
    frame : pandas.DataFrame
        A canonical frame with API gravity and sulphur by grade (Eurostat ``nrg_ti_coifpm``).
    reporter : str
        The importer.
    dataset : str, optional
        Choose the dataset when several carry quality data.
    freq : {"A", "M"}
        Annual (months summed per calendar year) or monthly.
    light_above, heavy_below, sweet_below : float
        Class thresholds, see :func:`classify_oil_type`.

    Returns
    -------
    SlateResult

    Notes
    -----
    Only disclosed cells with a positive volume and API > 0 count. Confidential cells (a third of
    Germany's barrels) are missing from the slate; ``coverage`` says how much of WORLD it covers and
    ``api_gravity_total``/``sulphur_pct_total`` give the source's own total-import quality to compare.
    """
    return _crude_slate(frame, reporter, dataset, freq, light_above, heavy_below, sweet_below)


def _crude_slate(frame: pd.DataFrame, reporter: str, dataset: str | None, freq: str,
                 light_above: float = LIGHT_ABOVE, heavy_below: float = HEAVY_BELOW,
                 sweet_below: float = SWEET_BELOW, panel: Panel | None = None) -> SlateResult:
    """:func:`crude_slate`, reusing `panel` when it is the one crude_slate would build."""
    if freq not in ("M", "A"):
        raise AnalysisError(f"freq must be 'M' or 'A', got {freq!r}")
    scoped = _quality_datasets(frame[frame["reporter"] == reporter], dataset)
    source, chosen = scoped["source"].iloc[0], scoped["dataset"].iloc[0]
    if panel is None or (panel.source, panel.dataset, panel.reporter, panel.measure, panel.freq) != (
            source, chosen, reporter, "volume_bbl", "M"):
        panel = build_panel(frame, reporter, "volume_bbl", "M", f"{source}/{chosen}")
    rows = _weighted(panel.grades)
    rows["oil_type"] = classify_oil_type(rows["api_gravity"], rows["sulphur_pct"], light_above,
                                         heavy_below, sweet_below)
    world_rows = scoped[(scoped["partner"] == WORLD) & (scoped["freq"] == "M")
                        & (scoped["flow"] == "import") & (scoped["product"] == "crude_oil")]
    world_rows = world_rows.set_index("period").reindex(panel.world.index)
    key = _period_key(panel.world.index, freq)
    rows_key = _period_key(pd.DatetimeIndex(rows["period"]), freq)
    rows = rows.assign(key=rows_key, v_api=rows["volume_bbl"] * rows["api_gravity"],
                       v_s=rows["volume_bbl"] * rows["sulphur_pct"], t_s=rows["tonnes"] * rows["sulphur_pct"])
    sums = rows.groupby("key")[["volume_bbl", "tonnes", "v_api", "v_s", "t_s"]].sum()
    total = world_rows.assign(key=key)
    total = total[(total["api_gravity"] > 0) & total["sulphur_pct"].notna() & (total["volume_bbl"] > 0)]
    total = total.assign(v_api=total["volume_bbl"] * total["api_gravity"],
                         v_s=total["volume_bbl"] * total["sulphur_pct"])
    total = total.groupby("key")[["volume_bbl", "v_api", "v_s"]].sum()
    world = panel.world.groupby(key).sum()
    table = pd.DataFrame(index=world.index)
    table["months"] = pd.Series(1, index=panel.world.index).groupby(key).sum()
    table["world_bbl"] = world
    table["quality_bbl"] = sums["volume_bbl"].reindex(table.index).fillna(0.0)
    table["quality_t"] = sums["tonnes"].reindex(table.index).fillna(0.0)
    table["coverage"] = table["quality_bbl"] / table["world_bbl"]
    table["n_grades"] = rows.groupby("key")["grade"].nunique().reindex(table.index).fillna(0).astype(int)
    positive = table["quality_bbl"].where(table["quality_bbl"] > 0)
    table["api_gravity"] = sums["v_api"].reindex(table.index) / positive
    table["sulphur_pct_mass"] = sums["t_s"].reindex(table.index) / table["quality_t"].where(positive > 0)
    table["sulphur_pct_volume"] = sums["v_s"].reindex(table.index) / positive
    table["oil_type"] = classify_oil_type(table["api_gravity"], table["sulphur_pct_mass"], light_above,
                                          heavy_below, sweet_below)
    table["api_gravity_total"] = total["v_api"] / total["volume_bbl"]
    table["sulphur_pct_total"] = total["v_s"] / total["volume_bbl"]
    table.index.name = "period"
    informative = (table["quality_bbl"] > 0) | table["api_gravity_total"].notna()
    table = table.loc[informative]
    nests = rows.pivot_table(index="key", columns="oil_type", values="volume_bbl", aggfunc="sum",
                             fill_value=0.0, observed=True)
    nests = nests.reindex(index=table.index, columns=list(OIL_TYPES), fill_value=0.0).fillna(0.0)
    nests.index.name, nests.columns.name = "period", "oil_type"
    thresholds = {"light_above": light_above, "heavy_below": heavy_below, "sweet_below": sweet_below}
    result = SlateResult(reporter, freq, panel.source, panel.dataset, thresholds, table, nests, panel=panel)
    result.caveats = _slate_caveats(result)
    return result


@call_forms(old_positional=("windows", "dataset", "panel"))
def window_slate(
    frame: pd.DataFrame,
    reporter: str,
    *,
    windows: Mapping[str, tuple[pd.Timestamp, pd.Timestamp]],
    dataset: str | None = None,
    panel: Panel | None = None,
) -> pd.DataFrame:
    """The quality of `reporter`'s disclosed crude slate over each window (monthly slate summed).

    Parameters
    ----------
    frame, reporter, dataset
        As for :func:`crude_slate`.
    windows : mapping
        Window name -> (first, last) month, inclusive.
    panel : Panel, optional
        An already built ``volume_bbl`` monthly panel of the same reporter and dataset (e.g. a
        :class:`~oilflows.analytics.SubstitutionResult`'s ``panel``): reused instead of building it
        again; ignored if it is not the one :func:`crude_slate` would build.

    Returns
    -------
    pandas.DataFrame
        One row per window with disclosed quality (RangeIndex): ``window``, ``api_gravity``
        (volume-weighted, degrees), ``sulphur_pct_mass`` (mass-weighted, % by weight) and ``coverage``
        (share of WORLD with disclosed quality). Empty if the slate has no disclosed quality at all;
        a window without any is left out. Raises :class:`~oilflows.errors.AnalysisError` as
        :func:`crude_slate` does.
    """
    columns = ["window", "api_gravity", "sulphur_pct_mass", "coverage"]
    slate = _crude_slate(frame, reporter, dataset, "M", panel=panel).table
    rows: list[dict[str, object]] = []
    if slate["quality_bbl"].sum() > 0:
        for name, (lo, hi) in windows.items():
            w = slate[(slate.index >= lo) & (slate.index <= hi)].dropna(subset=["api_gravity"])
            if w.empty:
                continue
            rows.append({
                "window": name,
                "api_gravity": (w["api_gravity"] * w["quality_bbl"]).sum() / w["quality_bbl"].sum(),
                "sulphur_pct_mass": (w["sulphur_pct_mass"] * w["quality_t"]).sum() / w["quality_t"].sum(),
                "coverage": w["quality_bbl"].sum() / w["world_bbl"].sum()})
    return pd.DataFrame(rows, columns=columns)


def _period_key(index: pd.DatetimeIndex, freq: str) -> pd.DatetimeIndex:
    return index.to_period("Y").to_timestamp() if freq == "A" else index


def _slate_caveats(result: SlateResult) -> list[str]:
    table, notes = result.table, []
    covered = table[table["quality_bbl"] > 0]
    if covered.empty:
        raise AnalysisError(f"{result.reporter} has no disclosed grade with API and sulphur in "
                            f"{result.source}/{result.dataset}")
    notes.append(f"The slate covers {covered['coverage'].min():.0%}..{covered['coverage'].max():.0%} of "
                 f"{WORLD} (disclosed grades only; confidential cells have no quality): it may differ "
                 "from the total slate (see the 'total' columns where published).")
    if result.freq == "A":
        short = covered[covered["months"] < 12]
        if not short.empty:
            notes.append("Incomplete years: " + ", ".join(f"{p:%Y} ({m} months)"
                                                          for p, m in short["months"].items()) + ".")
    notes.append(f"Classes: light > {result.thresholds['light_above']} API, heavy < "
                 f"{result.thresholds['heavy_below']}; sweet < {result.thresholds['sweet_below']} % S "
                 f"(the industry often uses {INDUSTRY_SWEET_BELOW} %).")
    return notes


# -- grade qualities and substitute ranking -------------------------------------------------------


def grade_quality(
    frame: pd.DataFrame,
    reporter: str | Iterable[str] | None = None,
    start: str = "2020-01",
    end: str = "2024-01",
    dataset: str | None = None,
    grades: Iterable[str] | None = None,
    include_unweighted: bool = True,
) -> tuple[pd.DataFrame, list[str]]:
    """Each grade's barrel-weighted API and sulphur over reporters and months, without double counting.

    Parameters
    ----------
    frame : pandas.DataFrame
        A canonical frame with quality by grade.
    reporter : str or list of str, optional
        The importers to pool; None = every reporter in the dataset ("all EU reporters").
    start, end : str
        Inclusive months ``"YYYY-MM"``.
    dataset : str, optional
        Choose the dataset when several carry quality data.
    grades : list of str, optional
        Restrict to these grade codes.
    include_unweighted : bool
        Keep grades whose quality is known only from cells with a confidential volume (unweighted
        means, labelled in ``basis``).

    Returns
    -------
    (pandas.DataFrame, list of str)
        Index ``grade``: ``partner``, ``api_gravity`` (degrees) and ``sulphur_pct`` (% by weight) weighted
        by barrels, ``sulphur_pct_mass`` weighted by tonnes, ``volume_bbl`` (barrels pooled), ``cells``
        (reporter-months used), ``basis``; and the notes on what was pooled.

    Notes
    -----
    An aggregate reporter (:data:`EU_AGGREGATES`, e.g. ``EU_V``) already contains its member states. For
    each grade and month the aggregate's cell is used where it discloses volume and quality, otherwise the
    members' disclosed cells; the two are never added. A grade with no weightable cell but with quality
    published for confidential-volume cells gets the unweighted mean of those values
    (``basis = "unweighted, volume confidential"``).
    """
    lo, hi = pd.Timestamp(start), pd.Timestamp(end)
    if hi < lo:
        raise AnalysisError(f"end {end!r} is before start {start!r}")
    rows = _quality_datasets(frame, dataset)
    rows = rows[(rows["partner"] != WORLD) & rows["grade"].notna() & (rows["freq"] == "M")
                & (rows["flow"] == "import") & (rows["product"] == "crude_oil")
                & (rows["period"] >= lo) & (rows["period"] <= hi)]
    if reporter is not None:
        wanted = [reporter] if isinstance(reporter, str) else list(reporter)
        rows = rows[rows["reporter"].isin(wanted)]
    if grades is not None:
        rows = rows[rows["grade"].isin(list(grades))]
    if rows.empty:
        raise AnalysisError(f"no grade rows for reporter {reporter!r} between {start} and {end}")
    notes = []
    reporters = sorted(rows["reporter"].unique())
    aggregates = [a for a in EU_AGGREGATES if a in reporters]
    if len(aggregates) > 1:
        rows = rows[~rows["reporter"].isin(aggregates[1:])]
        notes.append(f"Several aggregates present; used {aggregates[0]}, dropped {aggregates[1:]}.")
    members = [r for r in reporters if r not in aggregates]
    weighted = _weighted(rows)
    if aggregates and members:
        aggregate = aggregates[0]
        from_aggregate = weighted["reporter"] == aggregate
        covered = set(zip(weighted.loc[from_aggregate, "grade"], weighted.loc[from_aggregate, "period"],
                          strict=True))
        pairs = pd.Series(list(zip(weighted["grade"], weighted["period"], strict=True)),
                          index=weighted.index)
        weighted = weighted[from_aggregate | ~pairs.isin(covered)]
        notes.append(f"{aggregate} is an aggregate of member states: per grade and month its cell is "
                     f"used where disclosed, otherwise the disclosed cells of {', '.join(members)}; "
                     "never both.")
    notes.append(f"Reporters pooled: {', '.join(sorted(set(rows['reporter'])))}; months {lo:%Y-%m}.."
                 f"{hi:%Y-%m}; barrel-weighted over disclosed cells.")
    weighted = weighted.assign(v_api=weighted["volume_bbl"] * weighted["api_gravity"],
                               v_s=weighted["volume_bbl"] * weighted["sulphur_pct"],
                               t_s=weighted["tonnes"] * weighted["sulphur_pct"])
    sums = weighted.groupby("grade").agg(partner=("partner", "first"), volume_bbl=("volume_bbl", "sum"),
                                         tonnes=("tonnes", "sum"), v_api=("v_api", "sum"),
                                         v_s=("v_s", "sum"), t_s=("t_s", "sum"), cells=("period", "size"))
    table = pd.DataFrame({
        "partner": sums["partner"], "api_gravity": sums["v_api"] / sums["volume_bbl"],
        "sulphur_pct": sums["v_s"] / sums["volume_bbl"], "sulphur_pct_mass": sums["t_s"] / sums["tonnes"],
        "volume_bbl": sums["volume_bbl"], "cells": sums["cells"], "basis": "barrel-weighted"})
    fallback = _unweighted(rows[~rows["grade"].isin(table.index)], aggregates[:1])
    if include_unweighted and not fallback.empty:
        table = pd.concat([table, fallback])
        shown = ", ".join(fallback.index[:6]) + (", ..." if len(fallback) > 6 else "")
        notes.append(f"{len(fallback)} grades have their volume confidential in every cell but their "
                     f"quality published ({shown}): unweighted mean of the monthly values "
                     "(basis 'unweighted, volume confidential').")
    elif not fallback.empty:
        notes.append(f"{len(fallback)} grades with quality published only for confidential-volume cells "
                     "were left out (include_unweighted=False).")
    table.index.name = "grade"
    return table.sort_index(), notes


def _unweighted(rows: pd.DataFrame, aggregates: list[str]) -> pd.DataFrame:
    """Unweighted quality of grades with API > 0 only in cells without a disclosed volume."""
    ok = rows[(rows["api_gravity"] > 0) & rows["sulphur_pct"].notna() & ~(rows["volume_bbl"] > 0)]
    if aggregates and ok["reporter"].isin(aggregates).any():
        # Prefer the aggregate's values for grades it publishes; members' otherwise.
        has_aggregate = ok.groupby("grade")["reporter"].transform(lambda r: r.isin(aggregates).any())
        ok = ok[~has_aggregate | ok["reporter"].isin(aggregates)]
    if ok.empty:
        return pd.DataFrame()
    grouped = ok.groupby("grade")
    return pd.DataFrame({
        "partner": grouped["partner"].first(), "api_gravity": grouped["api_gravity"].mean(),
        "sulphur_pct": grouped["sulphur_pct"].mean(), "sulphur_pct_mass": np.nan, "volume_bbl": np.nan,
        "cells": grouped.size(), "basis": "unweighted, volume confidential"})


@dataclass
class RankingResult(Result):
    """The result of :func:`substitute_ranking`: candidate grades ordered by quality distance.

    Attributes
    ----------
    displaced : pandas.Series
        The displaced grade's row of the quality table.
    table : pandas.DataFrame
        Index ``grade`` (candidates only), ordered by ``distance``: quality columns as in
        :func:`grade_quality`, ``oil_type``, ``same_type`` (same class as the displaced grade),
        ``euclidean`` (standardized), ``mahalanobis``, ``distance`` (the chosen metric), ``rank``.
    scale : dict
        ``sd_api``, ``sd_sulphur``: standard deviations (ddof=1, unweighted) across the grades compared.
    covariance : pandas.DataFrame
        The (API, S) covariance across the grades compared, used by the Mahalanobis distance.
    """

    displaced_grade: str
    metric: str
    displaced: pd.Series
    table: pd.DataFrame
    scale: dict[str, float]
    covariance: pd.DataFrame
    scope: list[str]
    caveats: list[str] = field(default_factory=list)

    def _repr_fields(self) -> dict:
        return {n: getattr(self, n) for n in ("displaced_grade", "metric", "table")}

    def to_frame(self) -> pd.DataFrame:
        """The ranking (grade as a column)."""
        return self.table.reset_index()

    def mean_distance(self, volumes: Mapping[str, float]) -> float:
        """Barrel-weighted mean distance (chosen metric) of a replacement slate {grade: barrels}."""
        missing = [g for g in volumes if g not in self.table.index]
        if missing:
            raise AnalysisError(f"grades not among the ranked candidates: {missing}")
        weights = pd.Series(volumes, dtype=float)
        if (weights < 0).any() or weights.sum() <= 0:
            raise AnalysisError("volumes must be non-negative with a positive sum")
        return float((self.table.loc[weights.index, "distance"] * weights).sum() / weights.sum())

    @summary_method
    def summary(self, top: int = 12) -> str:
        """Plain text: the displaced grade's quality and the nearest candidates."""
        d = self.displaced
        lines = [
            f"Substitutes for {self.displaced_grade} by crude quality ({self.metric} distance in API x S)",
            f"{self.displaced_grade}: API {d['api_gravity']:.2f}, S {d['sulphur_pct']:.2f} % "
            f"({d['oil_type']}; {d['basis']})",
            f"standardized by sd API {self.scale['sd_api']:.2f} deg, sd S {self.scale['sd_sulphur']:.2f} % "
            f"across {len(self.table) + 1} grades",
            "",
            f"{'rank':>4}  {'grade':<16}{'API':>7}{'S %':>7}  {'class':<13}{'distance':>9}  basis",
        ]
        for grade, row in self.table.head(top).iterrows():
            lines.append(f"{int(row['rank']):>4}  {grade:<16}{row['api_gravity']:>7.2f}"
                         f"{row['sulphur_pct']:>7.2f}  {row['oil_type'] or 'n/a':<13}"
                         f"{row['distance']:>9.3f}  {row['basis']}")
        notes = self.scope + self.caveats
        if notes:
            lines += ["", "Notes:"] + [f"- {c}" for c in notes]
        return "\n".join(lines)

    def plot(self, ax: Axes | None = None, label: int = 8) -> Axes:
        """Scatter of candidates in (API, S), the displaced grade marked, the `label` nearest named."""
        plt = pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 5))
        t = self.table
        ax.scatter(t["api_gravity"], t["sulphur_pct"], c=t["distance"], cmap="viridis_r", s=25,
                   label="candidate grades")
        ax.scatter([self.displaced["api_gravity"]], [self.displaced["sulphur_pct"]], marker="*", s=200,
                   color="#b2182b", label=self.displaced_grade)
        for grade, row in t.head(label).iterrows():
            ax.annotate(grade, (row["api_gravity"], row["sulphur_pct"]), fontsize="x-small")
        ax.set_xlabel("API gravity, degrees")
        ax.set_ylabel("sulphur, % by weight")
        ax.set_title(f"Quality neighbours of {self.displaced_grade}")
        ax.legend(loc="upper right", fontsize="small")
        return ax


@call_forms(old_positional=("displaced_grade", "reporter", "candidates", "start", "end", "dataset",
                            "metric", "include_unweighted", "light_above", "heavy_below",
                            "sweet_below"))
def substitute_ranking(
    frame: pd.DataFrame,
    *,
    displaced_grade: str,
    reporter: str | Iterable[str] | None = None,
    candidates: Iterable[str] | None = None,
    start: str = "2020-01",
    end: str = "2024-01",
    dataset: str | None = None,
    metric: str = "euclidean",
    include_unweighted: bool = True,
    light_above: float = LIGHT_ABOVE,
    heavy_below: float = HEAVY_BELOW,
    sweet_below: float = SWEET_BELOW,
) -> RankingResult:
    """Rank candidate grades by how close their quality is to a displaced grade's.

    ``d_rj = sqrt(((API_r - API_j) / sd_API)**2 + ((S_r - S_j) / sd_S)**2)`` (standardized Euclidean), or
    the Mahalanobis distance with the (API, S) covariance across the grades compared.

    Parameters
    ----------
    frame : pandas.DataFrame
        A canonical frame with quality by grade (Eurostat ``nrg_ti_coifpm``).
    displaced_grade : str
        The lost grade, e.g. ``"RU_EXP_BLN"`` (Russian Export Blend via Druzhba) or ``"RU_URL"``.
    reporter : str or list of str, optional
        Whose imports define each grade's quality; None = all reporters, aggregates never added to their
        members (see :func:`grade_quality`).
    candidates : list of str, optional
        Grade codes to rank; None = every other grade with known quality.
    start, end : str
        Inclusive months for the quality averages (default 2020-01..2024-01).
    dataset : str, optional
        Choose the dataset when several carry quality data.
    metric : {"euclidean", "mahalanobis"}
        The distance used for ``distance`` and ``rank``; both are always reported.
    include_unweighted : bool
        Rank grades whose quality is known only as an unweighted mean (volume confidential), e.g. KEBCO.
    light_above, heavy_below, sweet_below : float
        Class thresholds, see :func:`classify_oil_type`.

    Returns
    -------
    RankingResult
    """
    if metric not in ("euclidean", "mahalanobis"):
        raise AnalysisError(f"metric must be 'euclidean' or 'mahalanobis', got {metric!r}")
    wanted = None if candidates is None else [*candidates, displaced_grade]
    quality, scope = grade_quality(frame, reporter, start, end, dataset, wanted, include_unweighted)
    if displaced_grade not in quality.index:
        raise AnalysisError(f"no quality data for the displaced grade {displaced_grade!r} "
                            f"(reporter {reporter!r}, {start}..{end})")
    if candidates is not None:
        missing = sorted(set(candidates) - set(quality.index))
        if missing:
            raise AnalysisError(f"no quality data for candidate grades {missing}")
    quality = quality.copy()
    quality["oil_type"] = classify_oil_type(quality["api_gravity"], quality["sulphur_pct"], light_above,
                                            heavy_below, sweet_below)
    if len(quality) < 3:
        raise AnalysisError(f"need at least 3 grades to standardize distances, got {len(quality)}")
    x = quality[["api_gravity", "sulphur_pct"]].to_numpy(dtype=float)
    sd = x.std(axis=0, ddof=1)
    if (sd == 0).any():
        raise AnalysisError("API or sulphur does not vary across the grades compared")
    target = quality.loc[displaced_grade, ["api_gravity", "sulphur_pct"]].to_numpy(dtype=float)
    delta = x - target
    quality["euclidean"] = np.sqrt(((delta / sd) ** 2).sum(axis=1))
    covariance = np.cov(x, rowvar=False)
    caveats = []
    if np.linalg.cond(covariance) < 1e12:
        inverse = np.linalg.inv(covariance)
        quality["mahalanobis"] = np.sqrt(np.einsum("ij,jk,ik->i", delta, inverse, delta).clip(min=0))
    else:
        quality["mahalanobis"] = np.nan
        caveats.append("The (API, S) covariance is singular: Mahalanobis distances are NaN.")
        if metric == "mahalanobis":
            raise AnalysisError("the (API, S) covariance across the grades is singular; use euclidean")
    quality["distance"] = quality[metric]
    displaced = quality.loc[displaced_grade]
    table = quality.drop(index=displaced_grade)
    table["same_type"] = table["oil_type"] == displaced["oil_type"]
    table = table.sort_values(["distance", "volume_bbl"], ascending=[True, False])
    table["rank"] = np.arange(1, len(table) + 1)
    if (quality["basis"] != "barrel-weighted").any():
        caveats.append("Some qualities are unweighted means of monthly values (volume confidential): "
                       "see the basis column.")
    caveats.append("Distances use barrel-weighted sulphur; sd and covariance are unweighted across the "
                   "grades compared, so they depend on the candidate set.")
    caveats.append("Eurostat grade codes change over time (RU_URL vs RU_EXP_BLN vs RU_MSC); KEBCO into "
                   "Germany is reported under KZ_MSC, which is mostly confidential.")
    return RankingResult(displaced_grade, metric, displaced, table,
                         {"sd_api": float(sd[0]), "sd_sulphur": float(sd[1])},
                         pd.DataFrame(covariance, index=["api_gravity", "sulphur_pct"],
                                      columns=["api_gravity", "sulphur_pct"]), scope, caveats)


def _num(x: float, decimals: int) -> str:
    return "n/a" if pd.isna(x) else f"{x:.{decimals}f}"


def _pct(x: float) -> str:
    return "n/a" if pd.isna(x) else f"{x:.0%}"


__all__ = ["EU_AGGREGATES", "HEAVY_BELOW", "INDUSTRY_SWEET_BELOW", "LIGHT_ABOVE", "OIL_TYPES",
           "SWEET_BELOW", "RankingResult", "SlateResult", "classify_oil_type", "crude_slate",
           "grade_quality", "substitute_ranking", "window_slate"]
