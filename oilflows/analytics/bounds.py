"""What the data identify about one partner's volume, as an interval: sharp bounds under confidentiality.

A grade-level dataset (Eurostat ``nrg_ti_coifpm``) hides some cells; the reporter's WORLD total and
the disclosed cells pin the hidden cells' sum (the residual), not their split. :func:`volume_bounds`
gives the smallest interval that contains a partner's volume for *every* split of the residual that
fits the accounting identity (sharp: both ends are attained), month by month and over a window, and
narrows it with partner totals from other datasets (``totals=``): Eurostat ``nrg_ti_oil`` (annual
tonnes), ``nrg_ti_oilm`` (monthly tonnes), Comext, Destatis, or ``published`` figures. Tonnes become
barrels through a density interval from the partner's grades (:func:`density_interval`). Sources
that contradict each other are not forced together: the contradicting total is left out and the
caveats name both figures. Methods note section 12b.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeAlias

import numpy as np
import pandas as pd

from ..errors import AnalysisError
from ..schema import CONFIDENTIAL, WORLD, parse_interval_flag
from ..units import barrels_per_tonne
from ._accounting import Accounts, Program, accounts, dataset_pairs, month_range
from ._panel import display, fmt, matching, pct
from ._plot import pyplot
from ._result import Result, summary_method
from ._signature import call_forms

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: Plausible API gravities (degrees). nrg_ti_coifpm carries 0 as a placeholder in some
#: confidential cells; values outside this range are not densities and are ignored.
API_PLAUSIBLE = (5.0, 70.0)
#: Degrees API added on each side of the partner's observed range of grade gravities.
API_MARGIN = 2.0
#: Range used when no gravity of the partner's grades is known anywhere in the dataset.
API_UNKNOWN = (15.0, 55.0)
#: Half the last printed digit of a disclosed cell's API gravity (nrg_ti_coifpm prints 0.1 degree).
API_PRINTED = 0.05
#: Published figures for one grade (a slice of the partner's total) and the nrg_ti_coifpm cells that
#: can hold it. KEBCO piped through Druzhba to Germany is reported under KZ_MSC since 2023 (its own
#: code KZ_KEBCO_BLN is used by other reporters); such a figure bounds those cells from below only.
SLICE_GRADES: dict[str, tuple[str, ...]] = {"KEBCO": ("KZ_MSC", "KZ_KEBCO_BLN")}


@dataclass(frozen=True)
class Total:
    """A partner total from another dataset, as a constraint on the hidden part over some months.

    ``slice``: None for a partner total, else the grade a published figure covers (a lower bound).
    ``low``/``high``: the total's interval (rounding, wording) in ``unit`` (``"t"`` or the measure);
    ``x_low``/``x_high``: the implied interval of the partner's hidden part over ``months`` in the
    measure's unit; ``status``: ``"used"`` or why not.
    """

    label: str
    partner: str
    period: str
    months: tuple[pd.Timestamp, ...]
    low: float
    high: float
    unit: str
    x_low: float
    x_high: float
    disclosed: float
    slice: str | None = None
    status: str = "used"


@dataclass
class BoundsResult(Result):
    """The result of :func:`volume_bounds`: window totals in the measure's base unit.

    Attributes
    ----------
    lower, upper : float
        Sharp bounds on the partner's total over the window (``math.inf`` when nothing bounds it).
    disclosed : float
        The sum of the partner's disclosed cells (what a point estimate on disclosed cells reports).
    detail_lower, detail_upper : float
        The bounds from the grade-level dataset alone (equal to lower/upper without ``totals``).
    months : pandas.DataFrame
        One row per month: disclosed, lower, upper, detail bounds and the constraint that binds.
    totals : list of Total
        Every total considered, with its status (used, or why it was left out).
    caveats : list of str
    """

    reporter: str
    partner: str
    start: pd.Timestamp
    end: pd.Timestamp
    measure: str
    source: str
    dataset: str
    lower: float
    upper: float
    disclosed: float
    detail_lower: float
    detail_upper: float
    months: pd.DataFrame
    totals: list[Total] = field(default_factory=list)
    density: tuple[float, float] | None = None
    caveats: list[str] = field(default_factory=list)

    def _repr_fields(self) -> dict:
        names = ("reporter", "partner", "start", "end", "measure", "lower", "upper", "disclosed")
        return {n: getattr(self, n) for n in names}

    @property
    def exact(self) -> bool:
        """True when the data pin the volume down (lower == upper)."""
        return self.lower == self.upper

    def to_frame(self) -> pd.DataFrame:
        """One row per month: period, disclosed, lower, upper, detail_lower, detail_upper, binds."""
        return self.months.reset_index().rename(columns={"index": "period"})

    def totals_frame(self) -> pd.DataFrame:
        """The totals considered, one row each, with the implied bounds and their status."""
        return pd.DataFrame([{**t.__dict__, "months": len(t.months)} for t in self.totals])

    @summary_method
    def summary(self) -> str:
        unit, div = display(self.measure)
        window = f"{self.start:%Y-%m}..{self.end:%Y-%m}"
        lines = [
            f"{self.reporter} imports from {self.partner}, {window} ({self.source}/{self.dataset}, "
            f"{self.measure}, {unit})",
            f"identified: {fmt(self.lower, div)} .. {fmt(self.upper, div)}"
            + ("  (exact)" if self.exact else ""),
            f"disclosed cells alone: {fmt(self.disclosed, div)}",
        ]
        if self.totals:
            lines.append(f"grade detail alone: {fmt(self.detail_lower, div)} .. "
                         f"{fmt(self.detail_upper, div)}")
            used = [t for t in self.totals if t.status == "used"]
            lines.append(f"partner totals used: {len(used)} of {len(self.totals)}"
                         + (f" ({', '.join(sorted({t.label for t in used}))})" if used else ""))
            if self.density is not None:
                lines.append(f"density interval for tonnes -> barrels: {self.density[0]:.2f}-"
                             f"{self.density[1]:.2f} bbl/t")
        counts = self.months["binds"].str.split(";").str[0].value_counts()
        lines.append("months: " + "; ".join(f"{n} {why}" for why, n in counts.items()))
        if self.caveats:
            lines += ["", "Caveats:"] + [f"- {c}" for c in self.caveats]
        return "\n".join(lines)

    def plot(self, ax: Axes | None = None) -> Axes:
        """The disclosed volume per month and the identified band; unbounded months are hatched."""
        plt = pyplot()
        unit, div = display(self.measure)
        m = self.months
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 4))
        lower = m["lower"] / div
        finite_top = m["upper"].replace(np.inf, np.nan) / div
        top = float(np.nanmax([finite_top.max(), lower.max(), 1.0]))
        upper = finite_top.fillna(top * 1.1)
        ax.fill_between(m.index, lower, upper, step="mid", alpha=0.3, color="#2166ac",
                        label="identified interval")
        unbounded = m["upper"] == np.inf
        if unbounded.any():
            ax.fill_between(m.index, lower.where(unbounded), upper.where(unbounded), step="mid",
                            facecolor="none", hatch="//", edgecolor="grey", label="unbounded above")
        ax.plot(m.index, m["disclosed"] / div, drawstyle="steps-mid", color="black",
                label="disclosed cells")
        if unbounded.all():
            ax.text(0.5, 0.5, "no upper bound in any month\n(WORLD confidential or no data)",
                    transform=ax.transAxes, ha="center", va="center")
            ax.set_yticks([])
        ax.set_ylabel(f"{self.measure}, {unit} per month")
        ax.set_title(f"{self.reporter} <- {self.partner}: what the data identify")
        ax.legend(loc="upper left", fontsize="small")
        return ax


def statistical_totals(frame: pd.DataFrame, reporter: str, *, partners: Sequence[str],
                       baseline: tuple[str | pd.Timestamp, str | pd.Timestamp],
                       post: tuple[str | pd.Timestamp, str | pd.Timestamp],
                       exclude: tuple[str, str] | None = None) -> list[str]:
    """The statistical datasets in `frame` that can serve as ``totals=`` for `reporter`'s `partners`.

    A dataset qualifies when it has a row of `reporter` with any of `partners` from one year before
    the first month of `baseline` to the last month of `post` (an annual total of the year before
    overlaps nothing, but the year of the baseline's first month is dated January). ``published``
    figures never qualify here (ask for them by name), nor the ``(source, dataset)`` in `exclude`,
    normally the dataset whose cells are being bounded. Sorted names, e.g. ``["nrg_ti_oil"]``.
    """
    first = pd.Timestamp(baseline[0]) - pd.DateOffset(years=1)
    last = pd.Timestamp(post[1])
    rows = frame[(frame["reporter"] == reporter) & (frame["source"] != "published")
                 & frame["partner"].isin(list(partners))
                 & (frame["period"] >= first) & (frame["period"] <= last)]
    if exclude is not None:
        rows = rows[~((rows["source"] == exclude[0]) & (rows["dataset"] == exclude[1]))]
    return sorted({str(d) for d in rows["dataset"].unique()})


@call_forms(old_positional=("partner", "start", "end"))
def volume_bounds(
    frame: pd.DataFrame,
    reporter: str,
    *,
    partner: str,
    start: str,
    end: str,
    measure: str = "volume_bbl",
    dataset: str = "nrg_ti_coifpm",
    totals: list[str] | None = None,
) -> BoundsResult:
    """Sharp bounds on `reporter`'s imports from `partner` over the months `start`..`end`.

    Parameters
    ----------
    frame : pandas.DataFrame
        A canonical frame holding the grade-level `dataset` (and any `totals` datasets).
    reporter, partner : str
        ISO alpha-2 codes (or the dataset's region codes) as they appear in the frame.
    start, end : str
        First and last month, e.g. ``"2021-01"``, ``"2021-12"`` (inclusive).
    measure : {"volume_bbl", "mass_t", "value"}
        Barrels, tonnes or value in the source's currency.
    dataset : str
        The monthly grade-level dataset (``"dataset"`` or ``"source/dataset"``).
    totals : list of str, optional
        Datasets (or ``"published"``) in `frame` holding the same partner's total without grade
        detail. Each total constrains the sum of the partner's monthly hidden parts over its period
        (an annual total constrains twelve months jointly). Tonnes are converted to barrels through
        :func:`density_interval`; rounding is kept as an interval.

    Returns
    -------
    BoundsResult
        ``lower``/``upper`` in the measure's base unit (barrels, tonnes, currency units),
        ``math.inf`` where a confidential WORLD total leaves the partner unbounded.

    Notes
    -----
    Month by month: a partner without a confidential cell is exact; the only holder of the month's
    confidential cells gets the whole residual (WORLD minus disclosed cells); otherwise its hidden
    part lies in [0, residual]; a month with no partner detail gives [0, WORLD]; a month with a
    confidential WORLD (or no data) gives no upper bound. These ends are attained, so the window
    bounds (sums of the monthly ones) are sharp; with totals they are the exact extremes of a
    linear program over the same constraints plus the totals.
    """
    months = month_range(start, end)
    base = accounts(frame, reporter, measure, dataset, months)
    _check_partner(frame, base, partner)
    if not base.has_rows.any():
        raise AnalysisError(f"{base.source}/{base.dataset} has no data for {reporter} in "
                            f"{months[0]:%Y-%m}..{months[-1]:%Y-%m}")
    caveats = _residual_caveats(base)
    box = base.partner_box(partner)
    detail_lo = box["disclosed"] + box["lo"]
    detail_hi = box["disclosed"] + box["hi"]
    monthly = pd.DataFrame({"disclosed": box["disclosed"], "lower": detail_lo, "upper": detail_hi,
                            "detail_lower": detail_lo, "detail_upper": detail_hi,
                            "binds": box["binds"]})
    disclosed = float(box["disclosed"].sum())
    lower, upper = float(detail_lo.sum()), float(detail_hi.sum())
    used: list[Total] = []
    density = None
    if totals:
        found, density, notes = partner_totals(frame, base, [partner], totals, months)
        caveats += notes
        program, used = _program_with_totals(frame, base, [partner], months, found, caveats)
        if any(t.status == "used" for t in used):
            lo_x, hi_x = program.extremes(program.vector({(partner, t): 1.0 for t in months}))
            lower, upper = disclosed + lo_x, disclosed + hi_x
            for t in months:
                lo_t, hi_t = program.extremes(program.vector({(partner, t): 1.0}))
                d = monthly.loc[t, "disclosed"]
                monthly.loc[t, ["lower", "upper"]] = [d + lo_t, d + hi_t]
                if not (np.isclose(d + lo_t, detail_lo[t]) and np.isclose(d + hi_t, detail_hi[t])):
                    labels = sorted({u.label for u in used if u.status == "used" and t in u.months})
                    monthly.loc[t, "binds"] = f"{monthly.loc[t, 'binds']}; narrowed by {', '.join(labels)}"
    caveats += _month_caveats(monthly)
    return BoundsResult(
        reporter=reporter, partner=partner, start=months[0], end=months[-1], measure=measure,
        source=base.source, dataset=base.dataset, lower=lower, upper=upper, disclosed=disclosed,
        detail_lower=float(detail_lo.sum()), detail_upper=float(detail_hi.sum()), months=monthly,
        totals=used, density=density, caveats=caveats,
    )


# -- joint bounds of a substitution ------------------------------------------------------------------


@dataclass
class SubstitutionBounds(Result):
    """Sharp joint bounds of a substitution (monthly means, measure's base unit; coverage a ratio).

    The displaced and the substitute partner draw on the same monthly residual, so the bounds of the
    gain, the shortfall and the coverage are computed jointly (linear programs; coverage by the
    Charnes-Cooper transformation of the linear-fractional program).
    """

    reporter: str
    displaced: str
    substitute: str
    measure: str
    gain: tuple[float, float]
    shortfall: tuple[float, float]
    coverage: tuple[float, float]
    disclosed_coverage: float
    totals: list[Total] = field(default_factory=list)
    note: str | None = None
    caveats: list[str] = field(default_factory=list)

    def _repr_fields(self) -> dict:
        names = ("reporter", "displaced", "substitute", "gain", "shortfall", "coverage")
        return {n: getattr(self, n) for n in names}

    def to_frame(self) -> pd.DataFrame:
        """Rows gain, shortfall (monthly means) and coverage (ratio): ``quantity, lower, upper``."""
        return pd.DataFrame({"quantity": ["gain", "shortfall", "coverage"],
                             "lower": [self.gain[0], self.shortfall[0], self.coverage[0]],
                             "upper": [self.gain[1], self.shortfall[1], self.coverage[1]]})

    @summary_method
    def summary(self) -> str:
        unit, div = display(self.measure)
        used = sorted({t.label for t in self.totals if t.status == "used"})
        lines = [f"{self.substitute} gain (monthly mean, {unit}): {fmt(self.gain[0], div)} .. "
                 f"{fmt(self.gain[1], div)}",
                 f"{self.displaced} shortfall (monthly mean, {unit}): {fmt(self.shortfall[0], div)} .. "
                 f"{fmt(self.shortfall[1], div)}",
                 f"coverage: {pct(self.coverage[0])} .. {pct(self.coverage[1])} "
                 f"(disclosed cells alone: {pct(self.disclosed_coverage)})"
                 + (f"; with totals from {', '.join(used)}" if used else "")]
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)


@call_forms(old_positional=("displaced", "substitute", "baseline", "post"))
def substitution_bounds(
    frame: pd.DataFrame,
    reporter: str,
    *,
    displaced: str,
    substitute: str,
    baseline: tuple[str, str],
    post: tuple[str, str],
    measure: str = "volume_bbl",
    dataset: str = "nrg_ti_coifpm",
    totals: list[str] | None = None,
) -> SubstitutionBounds:
    """Joint sharp bounds on the gain, the shortfall and the coverage of a substitution.

    gain = mean over `post` of the substitute's volume minus its mean over `baseline`; shortfall =
    the displaced partner's baseline mean minus its post mean; coverage = gain / shortfall. Means are
    over every month of each window. Both partners' hidden parts obey the same monthly accounting
    (they share the residual) and the `totals` (see :func:`volume_bounds`). If the shortfall can
    reach zero the coverage is unbounded on the side the gain takes there (``note`` says so).
    """
    if displaced == substitute:
        raise AnalysisError(f"displaced and substitute are the same partner ({displaced!r})")
    base_months = month_range(*baseline)
    post_months = month_range(*post)
    if post_months[0] <= base_months[-1]:
        raise AnalysisError(f"post window {post} must start after the baseline {baseline} ends")
    months = base_months.union(post_months)
    acc = accounts(frame, reporter, measure, dataset, months)
    for who in (displaced, substitute):
        _check_partner(frame, acc, who)
    caveats = _residual_caveats(acc)
    found: list[Total] = []
    if totals:
        found, _, notes = partner_totals(frame, acc, [displaced, substitute], totals, months)
        caveats += notes
    program, used = _program_with_totals(frame, acc, [displaced, substitute], months, found, caveats)
    boxes = program.boxes
    nb, npost = len(base_months), len(post_months)

    def mean_change(who: str) -> tuple[dict, float]:
        weights = {(who, t): 1.0 / npost for t in post_months}
        weights.update({(who, t): -1.0 / nb for t in base_months})
        d = boxes[who]["disclosed"]
        return weights, float(d.loc[post_months].sum() / npost - d.loc[base_months].sum() / nb)

    w_gain, g0 = mean_change(substitute)
    w_short, s0 = mean_change(displaced)
    w_short = {k: -v for k, v in w_short.items()}
    s0 = -s0
    g_vec, s_vec = program.vector(w_gain), program.vector(w_short)
    g_lo, g_hi = program.extremes(g_vec)
    s_lo, s_hi = program.extremes(s_vec)
    c_lo, c_hi, note = program.ratio_extremes(g_vec, g0, s_vec, s0, ("the shortfall", "coverage"))
    return SubstitutionBounds(
        reporter=reporter, displaced=displaced, substitute=substitute, measure=measure,
        gain=(g_lo + g0, g_hi + g0), shortfall=(s_lo + s0, s_hi + s0), coverage=(c_lo, c_hi),
        disclosed_coverage=g0 / s0 if s0 > 0 else math.nan, totals=used, note=note,
        caveats=caveats,
    )


def pair_bounds(frame: pd.DataFrame, reporter: str, baseline: tuple[str, str], post: tuple[str, str],
                *, measure: str = "volume_bbl", dataset: str = "nrg_ti_coifpm",
                partners: list[str] | None = None) -> tuple[list[dict], list[str]]:
    """:func:`substitution_bounds` (grade detail alone) for every ordered pair of `partners`.

    `partners` default: every partner with at least one cell (disclosed or confidential) for
    `reporter` in the two windows; a partner without one is exactly 0 in every month, so its pairs
    say nothing. The accounts are built once for the reporter and each partner's month boxes once.
    Gain and shortfall bounds are sums of box ends: each partner's hidden part ranges over its
    whole box whatever the other's is (the only link, a month's shared residual, leaves each of two
    free parts anywhere in [0, U]), so no linear program is needed for them. The coverage needs one
    only for a *coupled* pair (both hidden parts free in a month with a finite residual);
    otherwise the feasible (gain, shortfall) set is a (possibly unbounded) rectangle and the ratio's
    extremes are at its corners, computed here with the same rules (shortfall floor, unbounded
    sides and notes) as :meth:`Program.ratio_extremes`. A coupled pair's (gain, shortfall) set is a
    convex polygon with edges along three directions only (the Minkowski sum of the months'
    boxes cut by their residuals), found from six support points; the ratio's extremes are at its
    vertices (:func:`_polygon_ratio`). A linear program remains only for a coupled pair with an
    unbounded end.
    Equal to ``substitution_bounds`` pair by pair (``tests/test_panel_bounds.py``).

    Returns (records, caveats): one record per pair with ``displaced, substitute, gain_lower,
    gain_upper, shortfall_lower, shortfall_upper`` (monthly means, measure's base unit),
    ``coverage_lower, coverage_upper`` (ratios), ``disclosed_coverage``, ``note`` and ``method``
    (``"identity"``, ``"polygon"`` or ``"lp"``); the caveats of the reporter's accounts.
    """
    base_months, post_months = month_range(*baseline), month_range(*post)
    if post_months[0] <= base_months[-1]:
        raise AnalysisError(f"post window {post} must start after the baseline {baseline} ends")
    months = base_months.union(post_months)
    acc = accounts(frame, reporter, measure, dataset, months)
    caveats = _residual_caveats(acc)
    names = sorted(acc.cells["partner"].dropna().unique()) if partners is None else list(partners)
    nb, npost = len(base_months), len(post_months)
    in_base = months.isin(base_months)
    in_post = months.isin(post_months)
    u_row = np.where(acc.has_detail.to_numpy(bool), acc.residual.to_numpy(float),
                     acc.world.to_numpy(float))
    linked = np.isfinite(u_row)
    boxes = {p: acc.partner_box(p) for p in names}
    free = {p: boxes[p]["free"].to_numpy(bool) & linked for p in names}
    detail = acc.has_detail.to_numpy(bool)
    n_hidden = acc.n_hidden.to_numpy(int)
    held = {p: acc.hidden.get(p, pd.Series(0, index=months)).reindex(months, fill_value=0)
            .to_numpy(int) for p in names}
    ends = {p: (boxes[p]["lo"].to_numpy(float), boxes[p]["hi"].to_numpy(float)) for p in names}
    weight_s = np.where(in_post, 1.0 / npost, np.where(in_base, -1.0 / nb, 0.0))  # substitute's
    change = {}  # partner -> (disclosed change, lo, hi of its post mean minus baseline mean)
    for p in names:
        box = boxes[p]
        d = box["disclosed"]
        lo, hi = box["lo"].to_numpy(float), box["hi"].to_numpy(float)
        c0 = float(d.loc[post_months].sum() / npost - d.loc[base_months].sum() / nb)
        c_lo = float(lo[in_post].sum() / npost - hi[in_base].sum() / nb)
        c_hi = float(hi[in_post].sum() / npost - lo[in_base].sum() / nb)
        change[p] = (c0, c_lo, c_hi)
    records = []
    for displaced in names:
        s0, c_lo, c_hi = change[displaced]
        s0, s_lo, s_hi = -s0, -c_hi, -c_lo
        for substitute in names:
            if substitute == displaced:
                continue
            g0, g_lo, g_hi = change[substitute]
            n_lo, n_hi, d_lo, d_hi = g0 + g_lo, g0 + g_hi, s0 + s_lo, s0 + s_hi
            coupled = bool((free[displaced] & free[substitute]).any())
            finite = np.isfinite([n_lo, n_hi, d_lo, d_hi]).all()
            if d_hi <= 0 or not coupled:  # never positive, or a rectangle
                r_lo, r_hi, note = _rectangle_ratio(n_lo, n_hi, d_lo, d_hi)
                method = "identity"
            elif finite:  # a shared residual: the exact (gain, shortfall) polygon, no LP
                both = free[displaced] & free[substitute]
                equal = detail & (held[displaced] + held[substitute] == n_hidden)
                poly = _pair_polygon(ends[displaced], ends[substitute], u_row, both, equal,
                                     weight_s, -weight_s, g0, s0)
                r_lo, r_hi, note = _polygon_ratio(poly)
                method = "polygon"
            else:
                program = Program.for_partners(acc, [displaced, substitute], months)
                g_vec = program.vector({**{(substitute, t): 1.0 / npost for t in post_months},
                                        **{(substitute, t): -1.0 / nb for t in base_months}})
                s_vec = program.vector({**{(displaced, t): -1.0 / npost for t in post_months},
                                        **{(displaced, t): 1.0 / nb for t in base_months}})
                r_lo, r_hi, note = program.ratio_extremes(g_vec, g0, s_vec, s0,
                                                          ("the shortfall", "coverage"))
                method = "lp"
            records.append({
                "displaced": displaced, "substitute": substitute,
                "gain_lower": n_lo, "gain_upper": n_hi, "shortfall_lower": d_lo,
                "shortfall_upper": d_hi, "coverage_lower": r_lo, "coverage_upper": r_hi,
                "disclosed_coverage": g0 / s0 if s0 > 0 else math.nan, "note": note,
                "method": method})
    return records, caveats


#: Directions between the normals of every edge the (gain, shortfall) polygon can have: month boxes
#: give axis-parallel edges and a shared residual (x_D + x_S = U) edges along (1, 1) in that plane.
_SUPPORT = np.array([[np.cos(a), np.sin(a)] for a in np.deg2rad([45, 112.5, 157.5, 225, 292.5,
                                                                  337.5])])


def _pair_polygon(box_d: tuple[np.ndarray, np.ndarray], box_s: tuple[np.ndarray, np.ndarray],
                  u: np.ndarray, coupled: np.ndarray, equal: np.ndarray, a: np.ndarray, b: np.ndarray,
                  n0: float, d0: float) -> np.ndarray:
    """Vertices (counter-clockwise, repeats possible) of the set of (N, D) = (n0 + a . x_S,
    d0 + b . x_D) over the feasible (x_D, x_S): a product over months of the box, cut by
    ``x_D + x_S <= U`` (``= U`` where `equal`) in the `coupled` months. Boxes are (lo, hi) arrays
    per month; all ends finite."""
    (lo_d, hi_d), (lo_s, hi_s) = box_d, box_s
    corners = [(lo_d, lo_s), (hi_d, lo_s), (lo_d, hi_s), (hi_d, hi_s)]
    cuts = [(lo_d, u - lo_d), (hi_d, u - hi_d), (u - lo_s, lo_s), (u - hi_s, hi_s)]
    xd = np.stack([p[0] for p in corners + cuts], axis=1)  # (months, 8)
    xs = np.stack([p[1] for p in corners + cuts], axis=1)
    tol = 1e-12 * np.maximum(np.abs(u), 1.0)[:, None]
    inside = ((xd >= lo_d[:, None] - tol) & (xd <= hi_d[:, None] + tol)
              & (xs >= lo_s[:, None] - tol) & (xs <= hi_s[:, None] + tol))
    total = xd + xs - u[:, None]
    ok = np.where(coupled[:, None],
                  inside & np.where(equal[:, None], np.abs(total) <= tol, total <= tol),
                  np.arange(8)[None, :] < 4)
    pn, pd_ = a[:, None] * xs, b[:, None] * xd  # each candidate's (N, D) contribution
    score = np.where(ok[None], _SUPPORT[:, 0, None, None] * pn[None] + _SUPPORT[:, 1, None, None]
                     * pd_[None], -np.inf)  # (directions, months, candidates)
    pick = np.argmax(score, axis=2)[..., None]
    n = np.take_along_axis(np.broadcast_to(pn, score.shape), pick, axis=2)[..., 0].sum(axis=1)
    d = np.take_along_axis(np.broadcast_to(pd_, score.shape), pick, axis=2)[..., 0].sum(axis=1)
    return np.column_stack([n0 + n, d0 + d])


def _polygon_ratio(poly: np.ndarray) -> tuple[float, float, str | None]:
    """Extremes of N / D over the convex polygon `poly` by the rules of
    :meth:`Program.ratio_extremes` (see :func:`_rectangle_ratio`), exactly: the ratio is
    quasi-linear where D > 0, so its extremes are at vertices of the polygon clipped to
    D >= 1e-9 x max D; N's range on the line D = 0 decides the unbounded sides."""
    names = ("the shortfall", "coverage")
    n, d = poly[:, 0], poly[:, 1]
    d_hi = float(d.max())
    if d_hi <= 0:
        return np.nan, np.nan, f"{names[0]} is never positive: {names[1]} is undefined"
    note = None
    lo_inf = hi_inf = False
    if d.min() <= 0:
        at_zero = list(n[d == 0])
        nxt_n, nxt_d = np.roll(n, -1), np.roll(d, -1)
        cross = (d < 0) != (nxt_d < 0)
        cross &= (d != 0) & (nxt_d != 0)
        t = d[cross] / (d[cross] - nxt_d[cross])
        at_zero += list(n[cross] + t * (nxt_n[cross] - n[cross]))
        hi_inf, lo_inf = max(at_zero) > 0, min(at_zero) < 0
        note = f"{names[0]} can reach zero, so {names[1]} is unbounded" + (
            " above" if hi_inf and not lo_inf else " below" if lo_inf and not hi_inf else "")
        floor = d_hi * 1e-9
        keep = []  # the polygon clipped to D >= floor (one Sutherland-Hodgman pass)
        for i in range(len(n)):
            j = (i + 1) % len(n)
            if d[i] >= floor:
                keep.append((n[i], d[i]))
            if (d[i] >= floor) != (d[j] >= floor):
                s = (floor - d[i]) / (d[j] - d[i])
                keep.append((n[i] + s * (n[j] - n[i]), floor))
        n, d = np.array([k[0] for k in keep]), np.array([k[1] for k in keep])
    ratio = n / d
    lo = -np.inf if lo_inf else float(ratio.min())
    hi = np.inf if hi_inf else float(ratio.max())
    return float(lo) + 0.0, float(hi) + 0.0, note


def _rectangle_ratio(n_lo: float, n_hi: float, d_lo: float, d_hi: float
                     ) -> tuple[float, float, str | None]:
    """Extremes of N / D over the rectangle [n_lo, n_hi] x [d_lo, d_hi] (ends may be infinite) by the rules
    of :meth:`Program.ratio_extremes`: undefined if D is never positive (whatever the shape of the
    feasible set: only D's range matters then); if D can reach 0, unbounded on the side(s) N takes
    there and the finite ends over D >= 1e-9 x d_hi."""
    names = ("the shortfall", "coverage")
    if d_hi <= 0:
        return np.nan, np.nan, f"{names[0]} is never positive: {names[1]} is undefined"
    note = None
    lo_inf = hi_inf = False
    if d_lo <= 0:
        hi_inf, lo_inf = n_hi > 0, n_lo < 0
        note = f"{names[0]} can reach zero, so {names[1]} is unbounded" + (
            " above" if hi_inf and not lo_inf else " below" if lo_inf and not hi_inf else "")
        d_lo = d_hi * 1e-9
    # An unbounded N makes that side unbounded; an unbounded D contributes its limit N / D -> 0
    # (the closure a linear program reports).
    lo = -np.inf if lo_inf or n_lo == -np.inf else min(n_lo / d_lo, n_lo / d_hi)
    hi = np.inf if hi_inf or n_hi == np.inf else max(n_hi / d_lo, n_hi / d_hi)
    return float(lo) + 0.0, float(hi) + 0.0, note


def partner_change_bounds(frame: pd.DataFrame, reporter: str, partners: list[str],
                          baseline: tuple[str, str], post: tuple[str, str], *,
                          measure: str = "volume_bbl", dataset: str = "nrg_ti_coifpm") -> pd.DataFrame:
    """Each partner's own bounds on its baseline mean, post mean and change (monthly means).

    One partner at a time (sharp for that partner; two partners' bounds are not jointly attainable,
    see :func:`substitution_bounds` for that). Columns ``baseline_lower/upper``, ``post_lower/upper``,
    ``change_lower/upper``, indexed by partner.
    """
    base_months, post_months = month_range(*baseline), month_range(*post)
    acc = accounts(frame, reporter, measure, dataset, base_months.union(post_months))
    rows = {}
    for partner in partners:
        box = acc.partner_box(partner)
        lo, hi = box["disclosed"] + box["lo"], box["disclosed"] + box["hi"]
        b_lo, b_hi = lo[base_months].mean(), hi[base_months].mean()
        p_lo, p_hi = lo[post_months].mean(), hi[post_months].mean()
        rows[partner] = {"baseline_lower": b_lo, "baseline_upper": b_hi, "post_lower": p_lo,
                         "post_upper": p_hi, "change_lower": p_lo - b_hi, "change_upper": p_hi - b_lo}
    return pd.DataFrame.from_dict(rows, orient="index")


# -- totals from other datasets ------------------------------------------------------------------------


class _Located(Protocol):
    """What :func:`density_interval` reads of its `acc`: the source and dataset (of an Accounts)."""

    @property
    def source(self) -> str: ...

    @property
    def dataset(self) -> str: ...


def density_interval(frame: pd.DataFrame, acc: _Located, partner: str,
                     margin: float = API_MARGIN) -> tuple[float, float, str]:
    """Barrels per tonne (low, high) for `partner`'s crude whose grade is not disclosed.

    From the API gravities of the partner's grades in the grade-level dataset, for every reporter
    (the hidden grades are often exactly those this reporter never discloses), widened by `margin`
    degrees on each side; values outside :data:`API_PLAUSIBLE` are placeholders and ignored. With no
    gravity known, :data:`API_UNKNOWN` is used. Returns (k_low, k_high, a sentence saying which).
    """
    rows = frame[(frame["source"] == acc.source) & (frame["dataset"] == acc.dataset)
                 & (frame["partner"] == partner)]
    api = rows["api_gravity"]
    api = api[(api > API_PLAUSIBLE[0]) & (api < API_PLAUSIBLE[1])]
    if api.empty:
        lo, hi = API_UNKNOWN
        how = f"no gravity of {partner}'s grades is known: {lo:.0f}-{hi:.0f} API assumed"
    else:
        lo, hi = float(api.min()) - margin, float(api.max()) + margin
        how = (f"{partner}'s grades span {api.min():.1f}-{api.max():.1f} API in {acc.dataset} "
               f"(every reporter), +-{margin:g} API")
    k_lo, k_hi = float(barrels_per_tonne(lo)), float(barrels_per_tonne(hi))
    return k_lo, k_hi, f"tonnes -> barrels at {k_lo:.2f}-{k_hi:.2f} bbl/t: {how}"


def partner_totals(frame: pd.DataFrame, acc: Accounts, partners: list[str], totals: list[str],
                   months: pd.DatetimeIndex) -> tuple[list[Total], tuple[float, float] | None, list[str]]:
    """The totals of `partners` in the `totals` datasets whose period overlaps `months`.

    Each becomes a :class:`Total` (the interval of the partner's hidden part over the total's
    months). Raises :class:`AnalysisError` if a name is not in the frame.
    """
    pairs = dataset_pairs(frame)
    notes: list[str] = []
    rows = frame[(frame["reporter"] == acc.reporter) & (frame["flow"] == "import")
                 & (frame["product"] == "crude_oil")]
    rounding: dict[tuple[str, str, str], float] = {}
    wanted = []  # (partner, figure, months) of every figure whose period overlaps `months`
    for name in totals:
        chosen = [p for p in pairs if p[0] == name] or matching(pairs, name)
        if not chosen:
            known = ", ".join(f"{s}/{d}" for s, d in pairs)
            raise AnalysisError(f"totals dataset {name!r} is not in the frame; datasets are: {known}")
        for partner in partners:
            for figure in _figures(rows, frame, chosen, partner, acc.measure, rounding, notes):
                label, period, freq, _, _, unit, _ = figure
                group = _months_of(period, freq)
                if not any(t in months for t in group):
                    continue
                if unit == "zero":
                    notes.append(f"{label} gives {acc.reporter} <- {partner} {_period_label(period, freq)} "
                                 "as 0: not used (a zero in an extract can stand for a missing value).")
                    continue
                wanted.append((partner, figure, group))
    needed = sorted({t for _, _, group in wanted for t in group} | set(acc.months))
    if not pd.DatetimeIndex(needed).isin(acc.months).all():  # one set of accounts for every figure
        acc = accounts(frame, acc.reporter, acc.measure, f"{acc.source}/{acc.dataset}",
                       pd.DatetimeIndex(needed))
    out: list[Total] = []
    density = None
    densities = {p: density_interval(frame, acc, p) for p in {p for p, _, _ in wanted}}
    for partner, (label, period, freq, low, high, unit, part), group in wanted:
        k_lo, k_hi, how = densities[partner]
        x_lo, x_hi, disclosed = _hidden_interval(acc, partner, group, low, high, unit, k_lo, k_hi, part)
        if unit == "t" and acc.measure == "volume_bbl":
            density = (k_lo, k_hi)
            if how not in notes:
                notes.append(how)
        out.append(Total(label, partner, _period_label(period, freq), tuple(group), low, high, unit,
                         x_lo, x_hi, disclosed, part))
    return out, density, notes


def _figures(reporter_rows, frame, chosen, partner, measure, rounding, notes):
    """(label, period, freq, low, high, unit, slice) of each total of `partner` in `chosen`.

    ``reporter_rows``: the reporter's crude-import rows of `frame`. ``slice`` is None for a partner
    total, else the grade a published figure covers (e.g. KEBCO). ``rounding`` caches each dataset's
    printed precision.
    """
    out = []
    for source, dataset in chosen:
        rows = reporter_rows[(reporter_rows["source"] == source) & (reporter_rows["dataset"] == dataset)
                             & (reporter_rows["partner"] == partner)]
        label = dataset if source != "published" else f"published/{dataset}"
        if source == "published":
            grade = rows["grade"].fillna("")
            for (freq, period, part), group in rows.groupby([rows["freq"], rows["period"], grade],
                                                            sort=True):
                out.append(_published_figure(group, label, period, freq, part or None, notes))
            continue
        for (freq, period), group in rows.groupby(["freq", "period"], sort=True):
            if group["flag"].fillna("").str.contains(CONFIDENTIAL, regex=False).any():
                continue
            if group[measure].notna().all():
                column, unit = measure, measure
            elif measure == "volume_bbl" and group["mass_t"].notna().all():
                column, unit = "mass_t", "t"
            else:
                continue
            value = float(group[column].sum())
            if value == 0:
                out.append((label, period, freq, 0.0, 0.0, "zero", None))
                continue
            if (source, dataset, column) not in rounding:
                rounding[(source, dataset, column)] = _rounding(frame, source, dataset, column)
            half = rounding[(source, dataset, column)]
            out.append((label, period, freq, value - half, value + half, unit, None))
    return out


def _published_figure(group, label, period, freq, part, notes):
    """A published figure's interval (tonnes), see :func:`published_interval`."""
    low, high, pairs = published_interval(group, f"{label} {_period_label(period, freq)}")
    if len(pairs) > 1 and max(a for a, _ in pairs) > min(b for _, b in pairs):
        ranges = ", ".join(f"{a / 1e3:,.0f}-{b / 1e3:,.0f} kt" for a, b in pairs)
        notes.append(f"{label} gives {_period_label(period, freq)} differently in one release "
                     f"({ranges}); their hull is used.")
    return label, period, freq, low, high, "t", part


def published_interval(group: pd.DataFrame, what: str) -> tuple[float, float, list[tuple[float, float]]]:
    """The interval (tonnes) of one published figure given in several rows: its latest release (a
    revision replaces a provisional figure); rows of that release intersected, or their hull if they
    disagree. Returns (low, high, the release's intervals)."""
    vintage = group["vintage"]
    latest = group[vintage == vintage.max()] if vintage.notna().any() else group
    pairs = []
    for flag in latest["flag"]:
        low, high, barrels = parse_interval_flag(flag)
        if barrels:
            raise AnalysisError(f"{what}: a published figure in barrels cannot yet serve as a total "
                                "(only tonnes)")
        pairs.append((low, high))
    low, high = max(a for a, _ in pairs), min(b for _, b in pairs)
    if low > high:
        low, high = min(a for a, _ in pairs), max(b for _, b in pairs)
    return low, high, pairs


def _rounding(frame: pd.DataFrame, source: str, dataset: str, column: str) -> float:
    """Half the last printed unit of a dataset's values: the largest power of ten dividing them all."""
    values = frame.loc[(frame["source"] == source) & (frame["dataset"] == dataset), column].dropna()
    values = values[values != 0].abs()
    if values.empty:
        return 0.0
    for k in range(6, -1, -1):
        step = 10.0 ** k
        if np.allclose(np.round(values / step) * step, values, rtol=0, atol=1e-6):
            return step / 2
    return 0.0


def _months_of(period: pd.Timestamp, freq: str) -> list[pd.Timestamp]:
    if freq == "A":
        return list(pd.date_range(period, periods=12, freq="MS"))
    return [pd.Timestamp(period)]


def _period_label(period: pd.Timestamp, freq: str) -> str:
    return f"{pd.Timestamp(period):%Y}" if freq == "A" else f"{pd.Timestamp(period):%Y-%m}"


def _hidden_interval(acc: Accounts, partner: str, group: list[pd.Timestamp], low: float, high: float,
                     unit: str, k_lo: float, k_hi: float,
                     part: str | None = None) -> tuple[float, float, float]:
    """The interval of `partner`'s hidden part over `group` implied by a total [low, high].

    For a slice (`part`, a grade such as KEBCO) the figure covers only the cells that can hold that
    grade (:data:`SLICE_GRADES`): the hidden part is at least the slice minus those cells'
    disclosed volume, and has no upper bound from it. `acc` covers every month of `group`.
    """
    cells = acc.cells
    mine = cells[(cells["partner"] == partner) & cells["period"].isin(group)]
    if part is not None:
        holders = SLICE_GRADES.get(part)
        if holders is not None:
            mine = mine[mine["grade"].isin(holders)]
        high = math.inf
    open_ = mine[~(mine["flag"].fillna("").str.contains(CONFIDENTIAL, regex=False)
                   | mine[acc.measure].isna())]
    disclosed = float(open_[acc.measure].sum())
    if unit != "t" or acc.measure != "volume_bbl":
        return max(low - disclosed, 0.0), high - disclosed, disclosed
    api = open_["api_gravity"].where((open_["api_gravity"] > API_PLAUSIBLE[0])
                                     & (open_["api_gravity"] < API_PLAUSIBLE[1]))
    # A disclosed cell's own gravity is printed to 0.1 degree: half of that either way.
    volume = open_["volume_bbl"]
    mass_lo = float((volume / barrels_per_tonne(api + API_PRINTED)).fillna(volume / k_hi).sum())
    mass_hi = float((volume / barrels_per_tonne(api - API_PRINTED)).fillna(volume / k_lo).sum())
    hidden_mass_lo, hidden_mass_hi = low - mass_hi, high - mass_lo
    x_lo = max(hidden_mass_lo, 0.0) * k_lo
    x_hi = hidden_mass_hi * k_hi if hidden_mass_hi >= 0 else hidden_mass_hi
    return x_lo, (math.inf if math.isinf(high) else x_hi), disclosed


#: ``grouping(accounts) -> (groups, keys_of)`` of :func:`_program_with_totals`.
Grouping: TypeAlias = Callable[[Accounts], tuple[dict[str, pd.Series], Callable[[Total], dict[tuple, float]]]]


def _program_with_totals(frame: pd.DataFrame, acc: Accounts, partners: list[str], months: pd.DatetimeIndex,
                         found: list[Total], caveats: list[str], grouping: Grouping | None = None,
                         ) -> tuple[Program, list[Total]]:
    """A :class:`Program` over `months` plus every total's months, with the totals that fit.

    Variables are the `partners`' hidden parts, or, with ``grouping(accounts) -> (groups, keys_of)``,
    those of disjoint groups of cells (``keys_of(total)`` names the (group, month) variables a total
    bounds). A total whose interval misses what the grade detail allows contradicts it and is left
    out (caveat naming both figures); the rest are added one by one while the program stays feasible.
    """
    all_months = pd.DatetimeIndex(sorted(set(months) | {t for tot in found for t in tot.months}))
    if len(all_months) > len(acc.months) or not all_months.isin(acc.months).all():
        acc = accounts(frame, acc.reporter, acc.measure, f"{acc.source}/{acc.dataset}", all_months)
    keys_of: Callable[[Total], dict[tuple, float]]
    if grouping is None:
        program = Program.for_partners(acc, partners, all_months)

        def partner_keys(tot: Total) -> dict[tuple, float]:
            return {(tot.partner, t): 1.0 for t in tot.months}
        keys_of = partner_keys
    else:
        groups, keys_of = grouping(acc)
        program = Program(acc, all_months, groups)
    unit, div = display(acc.measure)
    checked: list[Total] = []
    for tot in found:
        keys = keys_of(tot)
        lo_allowed = float(sum(program.boxes[g].loc[t, "lo"] for g, t in keys))
        hi_allowed = float(sum(program.boxes[g].loc[t, "hi"] for g, t in keys))
        tol = 1e-9 * max(abs(hi_allowed) if np.isfinite(hi_allowed) else 0, abs(tot.x_high), 1.0)
        if tot.x_high < lo_allowed - tol or tot.x_low > hi_allowed + tol:
            caveats.append(
                f"{tot.label} gives {acc.reporter} <- {tot.partner} {tot.period} as "
                f"{_figure(tot, div, unit)}, "
                f"which leaves {_hidden_text(tot, div, unit)} beyond the {fmt(tot.disclosed, div)} {unit} "
                f"disclosed in {acc.dataset}, whose cells allow {fmt(lo_allowed, div)}-"
                f"{fmt(hi_allowed, div)} {unit}: the sources disagree (origin vs consignment, "
                "pipelines, coverage or revisions); that total is not used.")
            checked.append(_with_status(tot, "contradicts the grade detail"))
            continue
        program.rows.append((keys, tot.x_low, tot.x_high, tot.label))
        if not program.feasible():
            program.rows.pop()
            caveats.append(f"{tot.label} {tot.period} for {tot.partner} contradicts the other totals "
                           "used together with the grade detail; it is not used.")
            checked.append(_with_status(tot, "contradicts other totals"))
            continue
        checked.append(tot)
    return program, checked


def _figure(tot: Total, div: float, unit: str) -> str:
    """A total as printed: its centre and half-width (rounding or wording)."""
    scale, name = (1e3, "kt") if tot.unit == "t" else (div, unit)
    if math.isinf(tot.high):
        return f"at least {tot.low / scale:,.1f} {name}"
    centre, half = (tot.low + tot.high) / 2, (tot.high - tot.low) / 2
    spread = f"{half:,.3g} t" if tot.unit == "t" else f"{half / scale:,.3g} {name}"
    return f"{centre / scale:,.1f} {name} (+-{spread})"


def _hidden_text(tot: Total, div: float, unit: str) -> str:
    if tot.x_high < 0:
        excess = fmt(-tot.x_high, div)
        return f"no room for a hidden part (the disclosed cells already exceed it by {excess} {unit})"
    return f"a hidden part of {fmt(max(tot.x_low, 0.0), div)}-{fmt(tot.x_high, div)} {unit}"


def _with_status(tot: Total, status: str) -> Total:
    return Total(**{**tot.__dict__, "status": status})


# -- checks and caveats ----------------------------------------------------------------------------------


def _check_partner(frame: pd.DataFrame, acc: Accounts, partner: str) -> None:
    rows = frame[(frame["source"] == acc.source) & (frame["dataset"] == acc.dataset)]
    known = set(rows["partner"].unique()) - {WORLD}
    if partner not in known:
        hint = f" (did you mean {partner.upper()!r}?)" if partner.upper() in known else ""
        raise AnalysisError(f"partner {partner!r} does not occur in {acc.source}/{acc.dataset}{hint}; "
                            f"partners are: {', '.join(sorted(known))}")


def _residual_caveats(acc: Accounts) -> list[str]:
    notes = []
    bad = acc.raw_residual[acc.raw_residual < -1e-3 * acc.world.abs()]
    if not bad.empty:
        unit, div = display(acc.measure)
        notes.append(f"{len(bad)} month(s) where the disclosed cells exceed WORLD (up to "
                     f"{-bad.min() / div:,.0f} {unit}, e.g. {bad.idxmin():%Y-%m}): the residual is taken "
                     "as 0 there.")
    return notes


def _month_caveats(monthly: pd.DataFrame) -> list[str]:
    notes = []
    reasons = monthly["binds"].str.split(";").str[0]
    for why, text in (("no data for the month", "have no data in the dataset"),
                      ("WORLD confidential: unbounded", "have a confidential WORLD total"),
                      ("no partner detail: up to the WORLD total", "have no partner detail")):
        n = int((reasons == why).sum())
        if n:
            notes.append(f"{n} month(s) of the window {text}: the upper bound there is "
                         + ("unbounded." if "WORLD total" not in why else "the WORLD total."))
    return notes






__all__ = ["BoundsResult", "SubstitutionBounds", "Total", "density_interval",
           "partner_change_bounds", "partner_totals", "published_interval", "statistical_totals",
           "substitution_bounds", "volume_bounds"]
