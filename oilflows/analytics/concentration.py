"""Concentration of supply: HHI, effective number of suppliers, Shannon, CR_k, risk-weighted HHI.

Formulas (methods note section 3), with shares ``s_i`` of partner ``i``:

- ``HHI = sum s_i**2``, shown in points (0-10,000; 10,000 = one supplier);
- effective number of suppliers ``1 / sum s_i**2`` (the 0-1 scale HHI inverted);
- Shannon-Wiener ``SW = -sum s_i ln s_i`` and evenness ``SW / ln N`` (N suppliers with s_i > 0);
- ``CR_k`` = sum of the k largest shares;
- risk-weighted ``HHI_r = sum (k_i s_i)**2`` with a user-supplied risk coefficient ``k_i`` per partner
  (Frondel & Schmidt 2008 style).

The undisclosed residual (WORLD minus the disclosed partners: confidential cells) is **not** a supplier.
:func:`concentration` therefore reports every index twice, clearly labelled: ``*_world`` uses shares of
WORLD (they sum to 1 minus the undisclosed share), ``*_disclosed`` uses shares of the disclosed volume
(they sum to 1; this implicitly spreads the undisclosed volume pro rata). ``hhi_world`` is a lower bound
of the true HHI and ``hhi_world_max`` an upper bound (all undisclosed volume given to the largest supplier).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias

import numpy as np
import pandas as pd

from .. import codes
from ..errors import AnalysisError
from ..schema import WORLD
from ._panel import Panel, build_panel, check_measure, display, native_freq
from ._plot import pyplot
from ._result import Result, summary_method
from ._signature import call_forms

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: HHI points per unit of the 0-1 scale.
POINTS = 10_000.0
#: |undisclosed| below this fraction of WORLD is rounding noise and counted as 0.
_NOISE = 1e-9


# -- indices on one vector of shares --------------------------------------------------------------


#: Supplier shares as fractions: a mapping partner -> share, a Series, or an array-like of floats.
Shares: TypeAlias = Mapping[str, float] | pd.Series | np.ndarray | Sequence[float]


def _shares(shares: Shares) -> np.ndarray:
    values = np.asarray(pd.Series(shares, dtype=float) if isinstance(shares, Mapping) else shares,
                        dtype=float).ravel()
    if np.isnan(values).any():
        raise AnalysisError("shares contain NaN; drop or fill them first")
    if (values < 0).any():
        raise AnalysisError(f"shares must be non-negative, got minimum {values.min():.3g}")
    return values


def hhi(shares: Shares) -> float:
    """Herfindahl-Hirschman index in points: ``10,000 * sum s_i**2`` (0-10,000).

    Parameters
    ----------
    shares : array-like or mapping
        Supplier shares as fractions (not percent). Pass shares of the total; shares that sum to less
        than 1 (e.g. of WORLD with an undisclosed residual left out) give a lower bound.
    """
    values = _shares(shares)
    return float(POINTS * np.sum(values**2))


def effective_n(shares: Shares) -> float:
    """Equivalent number of suppliers: ``1 / sum s_i**2`` (n equal suppliers give n); NaN if all zero."""
    total = float(np.sum(_shares(shares) ** 2))
    return 1.0 / total if total > 0 else float("nan")


def shannon(shares: Shares) -> float:
    """Shannon-Wiener diversity ``-sum s_i ln s_i`` over shares > 0 (nats; n equal suppliers give ln n)."""
    values = _shares(shares)
    positive = values[values > 0]
    return float(-np.sum(positive * np.log(positive)))


def evenness(shares: Shares) -> float:
    """Shannon evenness ``SW / ln N`` with N the number of shares > 0 (1 = all equal); NaN if N < 2."""
    values = _shares(shares)
    n = int((values > 0).sum())
    return shannon(values) / np.log(n) if n >= 2 else float("nan")


def cr_k(shares: Shares, k: int = 3) -> float:
    """Concentration ratio: the sum of the `k` largest shares (fraction, 0-1)."""
    if int(k) != k or k < 1:
        raise AnalysisError(f"k must be a positive integer, got {k!r}")
    values = np.sort(_shares(shares))[::-1]
    return float(values[: int(k)].sum())


def risk_weighted_hhi(shares: Shares | pd.DataFrame, risk: Mapping[str, float],
                      default: float | None = None) -> float | pd.Series:
    """Risk-weighted HHI in points: ``10,000 * sum (k_i s_i)**2`` (Frondel & Schmidt 2008 style).

    Parameters
    ----------
    shares : pandas.Series or pandas.DataFrame or mapping
        Shares (fractions) indexed by partner; a DataFrame is periods x partners and gives one value
        per period.
    risk : mapping
        Partner code -> risk coefficient ``k_i`` (dimensionless, e.g. 0..2; 1 everywhere gives the HHI).
    default : float, optional
        Coefficient for partners missing from `risk`. Without it a missing partner with a positive share
        raises :class:`AnalysisError` naming it.

    Returns
    -------
    float or pandas.Series
    """
    table: pd.DataFrame | None = None
    if isinstance(shares, pd.DataFrame):
        table = pd.DataFrame(shares)
        columns, present = table.columns, (table.fillna(0) > 0).any()
    else:
        series = pd.Series(shares, dtype=float)
        columns, present = series.index, series.fillna(0) > 0
    missing = [p for p in columns if p not in risk and bool(present[p])]
    if missing and default is None:
        raise AnalysisError(f"risk table has no coefficient for {missing}; add them or pass default=")
    coefficients = pd.Series({p: float(risk.get(p, default if default is not None else np.nan))
                              for p in columns}, dtype=float).fillna(0.0)
    if (coefficients < 0).any():
        raise AnalysisError("risk coefficients must be non-negative")
    if table is not None:
        return POINTS * (table.fillna(0.0).mul(coefficients, axis=1) ** 2).sum(axis=1)
    _shares(series.to_numpy())
    return float(POINTS * ((series * coefficients) ** 2).sum())


# -- the result object ----------------------------------------------------------------------------


@dataclass
class ConcentrationResult(Result):
    """The result of :func:`concentration`: supplier concentration of one reporter per period.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per period (index ``period``; for ``rolling`` the last month of the window):
        ``months`` aggregated, ``world``, ``disclosed`` and ``undisclosed`` quantity (base unit of the
        measure), ``undisclosed_share`` (of WORLD), ``n_suppliers`` (partners with a positive disclosed
        quantity), and each index on two bases: ``hhi_world`` (points, shares of WORLD; lower bound),
        ``hhi_world_max`` (upper bound: all undisclosed volume added to the largest supplier),
        ``hhi_disclosed`` (shares of disclosed volume), ``effective_n_world``/``_disclosed``,
        ``shannon_world``/``_disclosed``, ``evenness_world``/``_disclosed``, ``cr{k}_world``/``_disclosed``.
        Indices are NaN in periods with no disclosed partner.
    quantities : pandas.DataFrame
        Periods x partners: the disclosed quantities the shares come from (after aggregation).
    world : pandas.Series
        WORLD per period.
    caveats : list of str
    """

    reporter: str
    measure: str
    freq: str
    rolling: int | None
    k: int
    source: str
    dataset: str
    table: pd.DataFrame
    quantities: pd.DataFrame
    world: pd.Series
    caveats: list[str] = field(default_factory=list)
    panel: Panel | None = field(default=None, repr=False)
    unknown: pd.DataFrame | None = field(default=None, repr=False)

    def _repr_fields(self) -> dict:
        return {n: getattr(self, n) for n in ("reporter", "measure", "freq", "k", "dataset", "table")}

    def shares(self, basis: str = "world") -> pd.DataFrame:
        """Periods x partners shares: of WORLD (``basis="world"``) or of disclosed volume.

        Shares of the disclosed quantities the indices use. Missing is not zero: a partner with no
        disclosed quantity but a confidential (or valueless) cell in the period, and every partner
        in a period (or a month of an aggregated period) without partner detail, is NaN
        (``unknown``); a positive share of a partner with confidential cells is a lower bound.
        """
        if basis == "world":
            shares = self.quantities.div(self.world, axis=0)
        elif basis == "disclosed":
            shares = self.quantities.div(self.quantities.sum(axis=1).replace(0, np.nan), axis=0)
        else:
            raise AnalysisError(f"basis must be 'world' or 'disclosed', got {basis!r}")
        return shares if self.unknown is None else shares.mask(self.unknown)

    def risk_weighted_hhi(self, risk: Mapping[str, float], default: float | None = None) -> pd.DataFrame:
        """Risk-weighted HHI per period (points) on both bases; see :func:`risk_weighted_hhi`.

        The undisclosed residual gets no coefficient: it is not a supplier. On the WORLD basis it is
        simply left out (a lower bound when all coefficients are positive).
        """
        out = pd.DataFrame({
            "hhi_r_world": risk_weighted_hhi(self.shares("world"), risk, default),
            "hhi_r_disclosed": risk_weighted_hhi(self.shares("disclosed"), risk, default),
        })
        empty = self.table["disclosed"] <= 0
        out.loc[empty] = np.nan
        return out

    def to_frame(self) -> pd.DataFrame:
        """The per-period table (period as a column)."""
        return self.table.reset_index()

    @summary_method
    def summary(self) -> str:
        """A plain-text table of the indices per period, with the undisclosed share and caveats."""
        unit, div = display(self.measure)
        window = f"rolling {self.rolling}-month sums" if self.rolling else (
            "annual" if self.freq == "A" else "monthly")
        lines = [
            f"Supplier concentration of {self.reporter}'s crude imports ({window})",
            f"data: {self.source}/{self.dataset}; measure: {self.measure}; partners = countries of "
            f"origin as the source codes them",
            "'of WORLD': shares of the WORLD total, undisclosed volume left out (HHI is a lower bound; "
            "'max' puts all undisclosed volume on the largest supplier); 'of discl.': shares of the "
            "disclosed volume.",
            "",
            f"{'period':<9}{'mon':>4}{'WORLD ' + unit:>24}{'undiscl.':>9}{'HHI world':>10}"
            f"{'max':>7}{'HHI discl.':>11}{'N_eff':>7}{'Shannon':>8}{f'CR{self.k}':>7}",
        ]
        shown = self.table[self.table["disclosed"] > 0]
        for period, row in shown.iterrows():
            label = f"{period:%Y}" if self.freq == "A" and not self.rolling else f"{period:%Y-%m}"
            lines.append(
                f"{label:<9}{int(row['months']):>4}{row['world'] / div:>24,.0f}"
                f"{row['undisclosed_share']:>9.1%}{_num(row['hhi_world'], 0):>10}"
                f"{_num(row['hhi_world_max'], 0):>7}{_num(row['hhi_disclosed'], 0):>11}"
                f"{_num(row['effective_n_disclosed'], 1):>7}{_num(row['shannon_disclosed'], 2):>8}"
                f"{_pct(row[f'cr{self.k}_disclosed']):>7}")
        lines.append("(N_eff, Shannon and CR_k shown on the disclosed basis; to_frame() has both bases)")
        if len(shown) < len(self.table):
            lines.append(f"({len(self.table) - len(shown)} periods without any disclosed partner omitted)")
        if self.caveats:
            lines += ["", "Caveats:"] + [f"- {c}" for c in self.caveats]
        return "\n".join(lines)

    def plot(self, ax: Axes | None = None) -> Axes:
        """HHI per period: of WORLD (lower bound) with the band up to the upper bound, and of disclosed."""
        plt = pyplot()
        table = self.table.dropna(subset=["hhi_world"])
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 4))
        ax.fill_between(table.index, table["hhi_world"], table["hhi_world_max"], color="#bbbbbb",
                        alpha=0.5, label="range given the undisclosed volume")
        ax.plot(table.index, table["hhi_world"], color="#2166ac", label="HHI, shares of WORLD")
        ax.plot(table.index, table["hhi_disclosed"], color="#b2182b", linestyle="--",
                label="HHI, shares of disclosed")
        ax.set_ylabel("HHI (points, 0-10,000)")
        ax.set_title(f"{self.reporter}: concentration of crude suppliers ({self.dataset})")
        ax.legend(loc="upper left", fontsize="small")
        return ax


def _num(x: float, decimals: int) -> str:
    return "n/a" if pd.isna(x) else f"{x:,.{decimals}f}"


def _pct(x: float) -> str:
    return "n/a" if pd.isna(x) else f"{x:.1%}"


# -- the analytic ---------------------------------------------------------------------------------


@call_forms(old_positional=("measure", "freq", "dataset", "k", "rolling"))
def concentration(
    frame: pd.DataFrame,
    reporter: str,
    *,
    measure: str = "volume_bbl",
    freq: str = "A",
    dataset: str | None = None,
    k: int = 3,
    rolling: int | None = None,
) -> ConcentrationResult:
    """Concentration of `reporter`'s crude suppliers per period, against WORLD and against disclosed.

    Parameters
    ----------
    frame : pandas.DataFrame
        A canonical frame.
    reporter : str
        The importer (ISO alpha-2 or the source's aggregate code).
    measure : {"volume_bbl", "mass_t", "value"}
        The quantity shared out (barrels, tonnes, or value in the source's currency).
    freq : {"A", "M"}
        Annual (native annual data if the dataset has it, else monthly data summed per calendar year;
        ``months`` says how many months a year has) or monthly.
    dataset : str, optional
        ``"dataset"`` or ``"source/dataset"``; required when several datasets qualify.
    k : int
        The k of CR_k.
    rolling : int, optional
        With ``freq="M"``: sum each partner and WORLD over this many consecutive months (e.g. 12) before
        computing the indices; the period is the window's last month; windows with a missing month are
        dropped. Monthly HHI is noisy (lumpy tanker arrivals); rolling sums smooth it.

    Returns
    -------
    ConcentrationResult

    Notes
    -----
    Partners are the source's partner codes: countries of origin, plus non-country codes (regions such as
    ``EUROPE``, ``FSU``, Comext's ``NOT_SPECIFIED``, Comtrade's ``WESTERN_ASIA``; every code of
    :data:`oilflows.codes.NON_COUNTRY`) where the source gives no country; each such code counts as one
    supplier and is named in a caveat. HHI depends on the
    aggregation (country vs grade). The undisclosed residual is never counted as a supplier.
    """
    check_measure(measure)
    if freq not in ("M", "A"):
        raise AnalysisError(f"freq must be 'M' or 'A', got {freq!r}")
    if int(k) != k or k < 1:
        raise AnalysisError(f"k must be a positive integer, got {k!r}")
    if rolling is not None:
        if freq != "M":
            raise AnalysisError("rolling sums need freq='M' (monthly data)")
        if int(rolling) != rolling or rolling < 2:
            raise AnalysisError(f"rolling must be an integer number of months >= 2, got {rolling!r}")
    native = native_freq(frame, reporter, measure, freq, dataset)
    panel = build_panel(frame, reporter, measure, native, dataset)
    values, world, months = _aggregate(panel, freq, native, rolling)
    table = _indices(values, world, int(k))
    table.insert(0, "months", months)
    result = ConcentrationResult(
        reporter=reporter, measure=measure, freq=freq, rolling=rolling, k=int(k), source=panel.source,
        dataset=panel.dataset, table=table, quantities=values, world=world, panel=panel,
        unknown=_unknown(panel, values, freq, native, rolling))
    result.caveats = _caveats(result)
    return result


def _aggregate(panel: Panel, freq: str, native: str,
               rolling: int | None) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    values, world = panel.values.copy(), panel.world.copy()
    months = pd.Series(12 if native == "A" else 1, index=world.index)
    if rolling:
        full = pd.date_range(world.index.min(), world.index.max(), freq="MS")
        values = values.reindex(full).rolling(rolling, min_periods=rolling).sum()
        world = world.reindex(full).rolling(rolling, min_periods=rolling).sum()
        keep = world.notna() & values.notna().all(axis=1)
        values, world = values.loc[keep], world.loc[keep]
        months = pd.Series(rolling, index=world.index)
    elif freq == "A" and native == "M":
        year = world.index.to_period("Y").to_timestamp()
        values = values.groupby(year).sum()
        world = world.groupby(year).sum()
        months = months.groupby(year).sum()
    values.index.name = world.index.name = months.index.name = "period"
    return values, world, months.astype(int)


def _unknown(panel: Panel, values: pd.DataFrame, freq: str, native: str,
             rolling: int | None) -> pd.DataFrame:
    """Periods x partners: True where a quantity of 0 is not known to be 0 (the partner has a
    confidential or valueless cell, or a month of the period has no partner detail)."""
    index = panel.world.index
    cells = panel.grades[panel.grades["period"].isin(index)]
    hidden = (cells.assign(n=cells[panel.measure].isna().astype(int))
              .pivot_table(index="period", columns="partner", values="n", aggfunc="sum",
                           fill_value=0, observed=True)
              .reindex(index=index, columns=values.columns, fill_value=0).fillna(0))
    gaps = pd.Series((~index.isin(cells["period"].unique())).astype(int), index=index)
    if rolling:
        full = pd.date_range(index.min(), index.max(), freq="MS")
        hidden = hidden.reindex(full).rolling(rolling, min_periods=rolling).sum()
        gaps = gaps.reindex(full).rolling(rolling, min_periods=rolling).sum()
    elif freq == "A" and native == "M":
        year = index.to_period("Y").to_timestamp()
        hidden, gaps = hidden.groupby(year).sum(), gaps.groupby(year).sum()
    hidden = hidden.reindex(index=values.index, columns=values.columns).fillna(0)
    gaps = gaps.reindex(values.index).fillna(0)
    return (values == 0) & ((hidden > 0) | (gaps > 0).to_numpy()[:, None])


def _indices(values: pd.DataFrame, world: pd.Series, k: int) -> pd.DataFrame:
    """Per-period indices on both bases from a periods x partners frame of quantities and WORLD."""
    disclosed = values.sum(axis=1)
    undisclosed = world - disclosed
    undisclosed = undisclosed.where(undisclosed.abs() > _NOISE * world.abs(), 0.0)
    share_u = (undisclosed / world).clip(lower=0.0)
    of_world = values.div(world, axis=0)
    of_disclosed = values.div(disclosed.replace(0, np.nan), axis=0)
    out = pd.DataFrame({"world": world, "disclosed": disclosed, "undisclosed": undisclosed,
                        "undisclosed_share": undisclosed / world,
                        "n_suppliers": (values > 0).sum(axis=1)})
    for basis, shares in (("world", of_world), ("disclosed", of_disclosed)):
        out[f"hhi_{basis}"] = POINTS * (shares**2).sum(axis=1)
        if basis == "world":
            out["hhi_world_max"] = out["hhi_world"] + POINTS * (
                2 * shares.max(axis=1) * share_u + share_u**2)
        out[f"effective_n_{basis}"] = POINTS / out[f"hhi_{basis}"]
        logs = np.log(shares.where(shares > 0))
        out[f"shannon_{basis}"] = -(shares * logs).sum(axis=1)
        n = out["n_suppliers"]
        out[f"evenness_{basis}"] = (out[f"shannon_{basis}"] / np.log(n.where(n >= 2))).astype(float)
        top = np.sort(shares.fillna(0.0).to_numpy(), axis=1)[:, ::-1][:, :k]
        out[f"cr{k}_{basis}"] = top.sum(axis=1)
    index_columns = [c for c in out.columns if c not in
                     ("world", "disclosed", "undisclosed", "undisclosed_share", "n_suppliers")]
    out.loc[disclosed <= 0, index_columns] = np.nan
    return out


def _caveats(result: ConcentrationResult) -> list[str]:
    table, notes = result.table, []
    has_partners = table["disclosed"] > 0
    if (~has_partners).any():
        notes.append(f"{int((~has_partners).sum())} periods have a {WORLD} total but no disclosed partner "
                     "(e.g. total-only years); their indices are NaN.")
    shown = table.loc[has_partners, "undisclosed_share"]
    if not shown.empty and shown.abs().max() > 0:
        notes.append(f"The undisclosed share of {WORLD} ranges {shown.min():.1%}..{shown.max():.1%}: "
                     "indices on disclosed volume assume it is spread like the disclosed volume; "
                     "indices on WORLD leave it out (HHI lower bound, see hhi_world_max).")
    elif not shown.empty:
        notes.append(f"No undisclosed volume: shares of {WORLD} and of disclosed volume coincide.")
    if (table["undisclosed"] < 0).any():
        notes.append(f"In {int((table['undisclosed'] < 0).sum())} periods the disclosed partners sum "
                     f"to more than {WORLD} (source rounding); the upper bound treats the residual as 0.")
    if result.freq == "A" and not result.rolling:
        short = table[(table["months"] < 12) & has_partners]
        if not short.empty:
            notes.append("Incomplete years (fewer than 12 months): "
                         + ", ".join(f"{p:%Y} ({m} months)" for p, m in short["months"].items()) + ".")
    regions = [p for p in result.quantities.columns if codes.is_non_country(p)]
    if regions:
        listed = ", ".join(f"{p} ({codes.kind(p) or 'not a country code'})" for p in regions)
        notes.append(f"Region and other non-country codes counted as one supplier each: {listed} (the "
                     "source gives no country for them).")
    if result.freq == "M" and not result.rolling:
        notes.append("Monthly indices are noisy (lumpy tanker arrivals); consider rolling=12.")
    return notes

def window_concentration(
    panel: Panel, windows: Mapping[str, tuple[pd.Timestamp, pd.Timestamp]],
) -> pd.DataFrame:
    """HHI and effective number of suppliers on the totals of each window of a built panel.

    Parameters
    ----------
    panel : Panel
        A built panel, e.g. the ``panel`` attribute of a :class:`~oilflows.analytics.SubstitutionResult`
        (no panel is built here).
    windows : mapping
        Window name -> (first, last) period, inclusive (e.g. a result's ``baseline`` and ``post``).

    Returns
    -------
    pandas.DataFrame
        One row per window (RangeIndex, in the order of `windows`): ``window``, ``disclosed`` and
        ``world`` (window totals), ``hhi_disclosed`` (shares of the disclosed volume, 0-10,000),
        ``hhi_world`` (shares of WORLD; a lower bound, the undisclosed volume left out) and
        ``effective_n_disclosed`` (1 / HHI on the 0-1 scale, shares of disclosed volume).
    """
    rows = []
    for name, (lo, hi) in windows.items():
        inside = (panel.values.index >= lo) & (panel.values.index <= hi)
        totals = panel.values.loc[inside].sum()
        world = panel.world.loc[inside].sum()
        disclosed = totals.sum()
        rows.append({"window": name, "disclosed": float(disclosed), "world": float(world),
                     "hhi_disclosed": hhi(totals / disclosed), "hhi_world": hhi(totals / world),
                     "effective_n_disclosed": effective_n(totals / disclosed)})
    return pd.DataFrame(rows, columns=["window", "disclosed", "world", "hhi_disclosed", "hhi_world",
                                       "effective_n_disclosed"])


__all__ = ["POINTS", "ConcentrationResult", "concentration", "cr_k", "effective_n", "evenness",
           "hhi", "risk_weighted_hhi", "shannon", "window_concentration"]
