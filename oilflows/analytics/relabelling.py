"""Could Russian crude arrive labelled as Kazakh? Signals, each with what it can and cannot show.

None of these proves relabelling: Kazakh oil really does travel inside Russian export blends, through
Druzhba and from Novorossiysk. They show where the published statistics move in the way relabelling
would make them move, with the confidential cells as intervals:

- ``kazakh_in_russian_blends``: Kazakh grades inside Russian blends (route ``russian_blends``, e.g.
  ``KZ_URL``, ``KZ_SIB_LGHT``) before vs after the EU crude embargo (5 Dec 2022), against the fall of
  the Russian grades of the same blends (``RU_URL``, ``RU_SIB_LGHT``).
- ``kazakh_unspecified``: the origin's unspecified grade (``KZ_MSC``, where Germany's KEBCO lands) before
  vs after, and against the published KEBCO deliveries (``published`` rows of grade KEBCO), year by
  year: cells holding more than the published figure allows would be Kazakh crude nobody reported
  shipping.
- ``cpc_russian_share``: Russian crude arriving as CPC Blend (``RU_CPC``) before vs after.
- ``mirror_gap``: the importer's reported imports from the origin minus the origin's reported exports
  to it, monthly tonnes, when both sides are in the frame (Comtrade or Comext mirror flows).
The exporter mass balance (importers' reports against Kazakhstan's published exports) is in
:mod:`oilflows.analytics.mass_balance`; mirror gaps need Comext or Comtrade data in the store.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from ..errors import AnalysisError
from ._accounting import Accounts, accounts, month_range
from ._panel import display
from ._result import Result, renamed, summary_method
from ._signature import call_forms
from .bounds import density_interval, published_interval

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: The EU embargo on Russian seaborne crude (Council Regulation (EU) 2022/879) applied from
#: 5 December 2022, on refined products from 5 February 2023.
EMBARGO_CRUDE = pd.Timestamp("2022-12-05")
EMBARGO_PRODUCTS = pd.Timestamp("2023-02-05")


@dataclass
class Signal:
    """One signal: monthly means (measure's unit) before and after, each an interval; the change as
    an interval; ``flag`` True (the data show the pattern whatever the confidential cells hold), False
    (they rule it out) or None (the confidential cells decide); and in plain words what it can and
    cannot show."""

    name: str
    measures: str
    before: tuple[float, float]
    after: tuple[float, float]
    change: tuple[float, float]
    flag: bool | None
    finding: str
    can_show: str
    cannot_show: str
    detail: pd.DataFrame | None = None


@dataclass
class RelabellingResult(Result):
    """The result of :func:`relabelling_signals`."""

    reporter: str
    partner: str
    displaced: str
    baseline: tuple[pd.Timestamp, pd.Timestamp]
    post: tuple[pd.Timestamp, pd.Timestamp]
    measure: str
    signals: list[Signal]
    caveats: list[str] = field(default_factory=list)

    origin = renamed("partner")
    before = renamed("baseline")
    after = renamed("post")

    def _repr_fields(self) -> dict:
        names = ("reporter", "partner", "displaced", "baseline", "post", "measure")
        return {n: getattr(self, n) for n in names}

    def to_frame(self) -> pd.DataFrame:
        """One row per signal: before/after/change bounds (monthly means), flag, finding."""
        return pd.DataFrame([{
            "signal": s.name, "measures": s.measures, "before_lower": s.before[0],
            "before_upper": s.before[1], "after_lower": s.after[0], "after_upper": s.after[1],
            "change_lower": s.change[0], "change_upper": s.change[1], "flag": s.flag,
            "finding": s.finding} for s in self.signals])

    @summary_method
    def summary(self) -> str:
        unit, div = display(self.measure)
        lines = [f"Relabelling signals: {self.partner} crude in {self.reporter}'s imports, "
                 f"{self.baseline[0]:%Y-%m}..{self.baseline[1]:%Y-%m} vs {self.post[0]:%Y-%m}.."
                 f"{self.post[1]:%Y-%m} (monthly means, {unit})"]
        for s in self.signals:
            state = {True: "SIGNAL", False: "ruled out", None: "undetermined"}[s.flag]
            lines += ["", f"[{state}] {s.name}: {s.measures}",
                      f"  before {_span(s.before, div)}, after {_span(s.after, div)}, change "
                      f"{_span(s.change, div)}",
                      f"  {s.finding}", f"  can show: {s.can_show}", f"  cannot show: {s.cannot_show}"]
        if self.caveats:
            lines += ["", "Caveats:"] + [f"- {c}" for c in self.caveats]
        return "\n".join(lines)

    def plot(self, ax: Axes | None = None) -> Axes:
        """Each signal's before and after interval (monthly means) as bars."""
        from ._plot import pyplot

        plt = pyplot()
        unit, div = display(self.measure)
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 0.8 * len(self.signals) + 1.5))
        for i, s in enumerate(self.signals):
            if math.isnan(s.before[0]) or math.isnan(s.after[0]):
                ax.text(0, i, "  not available", va="center", fontsize="small")
                continue
            for offset, (lo, hi), color in ((-0.15, s.before, "#999999"), (0.15, s.after, "#b2182b")):
                top = hi if math.isfinite(hi) else max(lo, 1.0) * 2
                ax.barh(i + offset, (top - lo) / div, left=lo / div, height=0.25, color=color, alpha=0.6,
                        hatch="" if math.isfinite(hi) else "//")
        ax.set_yticks(range(len(self.signals)), [s.name for s in self.signals])
        ax.set_xlabel(f"monthly mean, {unit} (grey: before, red: after)")
        ax.set_title(f"{self.reporter} <- {self.partner}: relabelling signals")
        return ax


@call_forms(old_positional=("partner", "displaced"),
            renamed={"origin": "partner", "before": "baseline", "after": "post"})
def relabelling_signals(
    frame: pd.DataFrame,
    reporter: str,
    *,
    partner: str,
    displaced: str,
    baseline: tuple[str, str] = ("2022-01", "2022-11"),
    post: tuple[str, str] = ("2023-01", "2023-12"),
    measure: str = "volume_bbl",
    dataset: str = "nrg_ti_coifpm",
    routes: pd.DataFrame | None = None,
) -> RelabellingResult:
    """Signals that `displaced` crude might arrive in `reporter` labelled as `partner` crude.

    Parameters
    ----------
    frame : pandas.DataFrame
        A canonical frame with the grade-level `dataset` (and ``published`` rows for the KEBCO test).
    reporter, partner, displaced : str
        ISO alpha-2 codes: the importer, the origin whose grades are examined (was ``origin=``) and
        the displaced supplier.
    baseline, post : tuple of str
        Month windows before and after (were ``before=``/``after=``); the defaults end before and
        start after the crude embargo (5 Dec 2022).
    measure : {"volume_bbl", "mass_t", "value"}
    routes : pandas.DataFrame, optional
        A route table (default :func:`oilflows.routes.route_table`).

    Each signal's intervals are sharp for its own set of grade cells (the accounting identity of
    :func:`~oilflows.analytics.volume_bounds`); a flag is raised only when every allocation of the
    confidential cells shows the pattern.
    """
    from ..routes import route_column, route_table

    origin, before, after = partner, baseline, post
    table = route_table() if routes is None else routes
    b_months, a_months = month_range(*before), month_range(*after)
    if a_months[0] <= b_months[-1]:
        raise AnalysisError(f"window after {after} must start after the window before {before} ends")
    acc = accounts(frame, reporter, measure, dataset, b_months.union(a_months))
    if not acc.has_detail.any():
        raise AnalysisError(f"{reporter} has no grade detail in {acc.source}/{acc.dataset} for these windows")
    cells = acc.cells
    for who in (origin, displaced):
        if not (frame.loc[frame["dataset"] == acc.dataset, "partner"] == who).any():
            raise AnalysisError(f"{who!r} does not occur in {acc.source}/{acc.dataset}")
    route = route_column(table, cells["grade"], cells["period"], reporter)
    blend = route == "russian_blends"
    signals = []

    # 1. Kazakh grades inside Russian blends vs the Russian grades of the same blends.
    kz_blends = (cells["partner"] == origin) & blend
    blend_names = {g.split("_", 1)[1] for g in cells.loc[kz_blends, "grade"]}
    ru_same = (cells["partner"] == displaced) & cells["grade"].map(
        lambda g: isinstance(g, str) and "_" in g and g.split("_", 1)[1] in blend_names)
    kb, ka, kc = _windows(acc, kz_blends, b_months, a_months)
    rb, ra, rc = _windows(acc, ru_same, b_months, a_months)
    flag = (True if kc[0] > 0 and rc[1] < 0 else False if kc[1] <= 0 else None)
    unit, div = display(measure)
    signals.append(Signal(
        "kazakh_in_russian_blends",
        f"{origin} grades inside Russian blends ("
        f"{', '.join(sorted(set(cells.loc[kz_blends, 'grade']))) or f'none reported by {reporter}'})",
        kb, ka, kc, flag,
        (f"{reporter} reports no {origin} grade inside a Russian blend in either window."
         if not kz_blends.any() else
         f"{displaced} grades of the same blends changed by {_span(rc, div)} {unit}/month; "
         + ("the Kazakh part rose for certain while the Russian part fell." if flag
            else "no rise of the Kazakh part is possible." if flag is False
            else "whether the Kazakh part rose depends on the confidential cells.")),
        "a Kazakh-labelled share of Urals or Siberian Light that grows as the Russian-labelled part is "
        "banned, which is what relabelling inside a shared blend would look like",
        "that the oil is Russian: Kazakh crude (Karachaganak, Aktobe) is piped into the Transneft system "
        "and exported inside these blends by design; the grade split is the declarant's"))

    # 2. The origin's unspecified grade (KZ_MSC): before/after and against published KEBCO.
    msc = (cells["partner"] == origin) & cells["grade"].isin([f"{origin}_MSC", f"{origin}_KEBCO_BLN"])
    mb, ma, mc = _windows(acc, msc, b_months, a_months)
    years = _published_slices(frame, acc, reporter, origin, msc, b_months.union(a_months))
    over = years[years["cells_lower"] > years["published_upper_bbl"]] if not years.empty else years
    under = years[years["cells_upper"] < years["published_lower_bbl"]] if not years.empty else years
    fits = not years.empty and bool((years["cells_upper"] <= years["published_upper_bbl"]).all())
    unexplained_rise = years.empty and mc[0] > 0
    flag2 = True if not over.empty or unexplained_rise else (False if fits else None)
    finding = ("" if years.empty else "; ".join(
        f"{r.year}: cells {_span((r.cells_lower, r.cells_upper), 1e3)} kbbl vs published KEBCO "
        f"{_span((r.published_lower_bbl, r.published_upper_bbl), 1e3)} kbbl"
        for r in years.itertuples(index=False)))
    if unexplained_rise:
        finding = (f"the cells rose by at least {_span((mc[0], mc[0]), div)} {unit}/month after the "
                   f"embargo and no published delivery figure for {reporter} accounts for it")
    if not under.empty:
        finding += "; the cells cannot hold all of the published KEBCO in " + ", ".join(
            str(y) for y in under["year"]) + " (timing or a different grade code)"
    signals.append(Signal(
        "kazakh_unspecified",
        f"{origin}_MSC and {origin}_KEBCO_BLN cells (Germany's KEBCO via Druzhba lands in {origin}_MSC)",
        mb, ma, mc, flag2,
        finding or "no published KEBCO figure for these years",
        "Kazakh-labelled crude in the unspecified or KEBCO cells beyond what KazTransOil/KazMunayGas "
        "report delivering (a flag), or a rise matching the published start of deliveries (no flag)",
        "which barrels are which: the cells are mostly confidential, published figures are exporter-side "
        "and rounded, and shipments and arrivals can fall in different months; Kazakh oil exported in "
        "Urals was rebranded KEBCO on 7 June 2022 and lands in these cells for some reporters, so a "
        "rise can be a change of label of Kazakh oil, not of origin"))

    # 3. Russian crude arriving as CPC Blend.
    ru_cpc = (cells["partner"] == displaced) & (route == "cpc")
    cb, ca, cc = _windows(acc, ru_cpc, b_months, a_months)
    signals.append(Signal(
        "cpc_russian_share", f"{displaced} crude inside CPC Blend ({displaced}_CPC)", cb, ca, cc,
        True if cc[0] > 0 else False if cc[1] <= 0 else None,
        "the Russian part of CPC Blend " + ("rose." if cc[0] > 0 else "did not rise."
                                             if cc[1] <= 0 else "may have changed either way."),
        "whether the Russian share of CPC Blend reported by the importer grew after the embargo "
        "(CPC Blend is not sanctioned; its Russian share is)",
        "the true Russian share of the blend: the importer's split between KZ_CPC_BLN and RU_CPC "
        "follows the shipper's documents"))

    signals.append(_mirror_signal(frame, reporter, origin, b_months, a_months))

    caveats = [f"The EU crude embargo applied from {EMBARGO_CRUDE:%d %b %Y} and the products embargo from "
               f"{EMBARGO_PRODUCTS:%d %b %Y}; pipeline crude to Germany and Poland was exempt until "
               "their own stop (Germany: January 2023).",
               "Routes come from oilflows' route table (data_sources/routes.md)."]
    return RelabellingResult(reporter, origin, displaced, (b_months[0], b_months[-1]),
                             (a_months[0], a_months[-1]), measure, signals, caveats)


def _mirror_signal(frame: pd.DataFrame, reporter: str, origin: str, b_months: pd.DatetimeIndex,
                   a_months: pd.DatetimeIndex) -> Signal:
    """Monthly importer-minus-exporter tonnes (:func:`~oilflows.analytics.mirror`), before vs after."""
    name, measures = "mirror_gap", f"{reporter}'s reported imports from {origin} minus {origin}'s reported " \
                                   f"exports to {reporter} (tonnes a month)"
    can = ("a gap that opens after the embargo: more crude declared as Kazakh at import than Kazakhstan "
           "declared exporting to this country")
    cannot = ("relabelling as such: origin vs consignment (Kazakh crude landed in Trieste and piped on "
              "to Germany is Germany's import but Italy's export), timing and confidential cells on either "
              "side move the gap too")
    stats = frame[frame["source"] != "published"]
    exports = stats[(stats["reporter"] == origin) & (stats["partner"] == reporter)
                    & (stats["flow"] == "export") & (stats["freq"] == "M") & stats["mass_t"].notna()]
    imports = stats[(stats["reporter"] == reporter) & (stats["partner"] == origin)
                    & (stats["flow"] == "import") & (stats["freq"] == "M") & stats["mass_t"].notna()]
    nan = (math.nan, math.nan)
    if exports.empty or imports.empty:
        return Signal(name, measures, nan, nan, nan, None,
                      f"needs monthly tonnes from both sides (Comtrade or Comext mirror flows) in the frame: "
                      f"not in the data given (`oilflows refresh` with a Comtrade entry for {origin})",
                      can, cannot)
    from .mirror import mirror

    exp_name = "/".join(exports[["source", "dataset"]].iloc[0])
    imp_name = "/".join(imports[["source", "dataset"]].iloc[0])
    table = mirror(stats, reporter, partner=origin, measure="mass_t", freq="M",
                   reporter_dataset=imp_name, partner_dataset=exp_name).table["discrepancy"]
    before, after = table.reindex(b_months).mean(), table.reindex(a_months).mean()
    months = int(table.reindex(b_months).notna().sum()), int(table.reindex(a_months).notna().sum())
    return Signal(name, measures, (before, before), (after, after), (after - before, after - before), None,
                  f"importer minus exporter: {before / 1e3:,.1f} kt a month before ({months[0]} months), "
                  f"{after / 1e3:,.1f} kt after ({months[1]} months); a lead to check, not a test",
                  can, cannot)


_Interval = tuple[float, float]


def _windows(acc: Accounts, mask: pd.Series, b_months: pd.DatetimeIndex,
             a_months: pd.DatetimeIndex) -> tuple[_Interval, _Interval, _Interval]:
    """(before, after, change) intervals of the monthly mean of a set of cells."""
    box = acc.group_box(mask)
    lo, hi = box["disclosed"] + box["lo"], box["disclosed"] + box["hi"]
    before = (float(lo[b_months].mean()), float(hi[b_months].mean()))
    after = (float(lo[a_months].mean()), float(hi[a_months].mean()))
    return before, after, (after[0] - before[1], after[1] - before[0])


def _published_slices(frame: pd.DataFrame, acc: Accounts, reporter: str, origin: str, mask: pd.Series,
                      months: pd.DatetimeIndex) -> pd.DataFrame:
    """Per year with a published KEBCO figure: the cells' annual bounds against the figure (bbl)."""
    rows = frame[(frame["source"] == "published") & (frame["reporter"] == reporter)
                 & (frame["partner"] == origin) & (frame["grade"] == "KEBCO") & (frame["freq"] == "A")]
    if rows.empty:
        return pd.DataFrame(columns=["year", "cells_lower", "cells_upper", "published_lower_bbl",
                                     "published_upper_bbl"])
    k_lo, k_hi, _ = density_interval(frame, acc, origin)
    box = acc.group_box(mask)
    out = []
    for year, group in rows.groupby(rows["period"].dt.year):
        in_year = [t for t in months if t.year == year]
        if len(in_year) < 12:
            continue
        low, high, _ = published_interval(group, f"published KEBCO {year}")
        b = box.loc[in_year]
        out.append({"year": int(year), "cells_lower": float((b["disclosed"] + b["lo"]).sum()),
                    "cells_upper": float((b["disclosed"] + b["hi"]).sum()),
                    "published_lower_bbl": low * k_lo, "published_upper_bbl": high * k_hi})
    return pd.DataFrame(out, columns=["year", "cells_lower", "cells_upper", "published_lower_bbl",
                                      "published_upper_bbl"])


def _span(pair: tuple[float, float], div: float) -> str:
    lo, hi = pair
    text = [("inf" if x > 0 else "-inf") if math.isinf(x) else f"{x / div:,.0f}" for x in (lo, hi)]
    return text[0] if text[0] == text[1] else f"{text[0]} .. {text[1]}"

__all__ = ["EMBARGO_CRUDE", "EMBARGO_PRODUCTS", "RelabellingResult", "Signal", "relabelling_signals"]
