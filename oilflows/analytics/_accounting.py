"""The monthly accounting identity of a grade-level dataset, and the linear program built on it.

For one reporter and month t: cells c (a grade of an origin) are disclosed (value d_c) or hidden
(confidential, value unknown, x_c >= 0); W_t is the reporter's WORLD total; the residual
U_t = W_t - sum of disclosed cells. The identity is ``sum of hidden cells = U_t``. A partner's hidden
part X_pt (the sum of its hidden cells) is therefore 0 if it holds no hidden cell, U_t if it holds
every hidden cell of the month, and in [0, U_t] otherwise; partners that share the month's hidden
cells share U_t. Months are separable: nothing links two months except a total over several months
from another source (see :mod:`oilflows.analytics.bounds`). Shared by ``volume_bounds`` and the joint
bounds of ``substitution``; methods note section 12b.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import AnalysisError
from ..schema import CONFIDENTIAL, QUANTITIES, WORLD
from ._panel import matching

#: Relative size below which a negative residual (disclosed cells summing to more than WORLD) is
#: rounding and is clipped to 0; a larger one is reported in the caveats and clipped too.
RESIDUAL_TOLERANCE = 1e-3


@dataclass(frozen=True)
class Accounts:
    """One reporter's months of one dataset, for the months asked (all of them, present or not).

    ``world``: WORLD total (NaN where confidential or absent). ``has_rows``: the month has any row.
    ``has_detail``: the month has partner (grade) rows. ``residual``: U_t >= 0 (NaN where WORLD is
    unknown). ``disclosed``/``hidden``: period x partner sum of disclosed values / count of hidden
    cells. ``holders``: number of partners with hidden cells. ``raw_residual``: U_t before clipping.
    ``cells``: the reporter's grade rows in those months (for densities and caveats).
    """

    source: str
    dataset: str
    reporter: str
    measure: str
    months: pd.DatetimeIndex
    world: pd.Series
    has_rows: pd.Series
    has_detail: pd.Series
    residual: pd.Series
    raw_residual: pd.Series
    disclosed: pd.DataFrame
    hidden: pd.DataFrame
    holders: pd.Series
    cells: pd.DataFrame
    cell_hidden: pd.Series  # aligned with ``cells``: the cell is confidential (or has no value)

    @property
    def n_hidden(self) -> pd.Series:
        """Confidential cells per month."""
        return self.hidden.sum(axis=1).reindex(self.months, fill_value=0)

    def group_box(self, mask: pd.Series, what: str = "cells") -> pd.DataFrame:
        """:meth:`partner_box` for any set of cells (`mask` aligned with :attr:`cells`): the set
        holds every confidential cell of a month -> the whole residual; none -> exact; some -> [0, U]."""
        cells = self.cells[mask.to_numpy(bool)]
        hidden = self.cell_hidden[mask.to_numpy(bool)]
        d = (cells.loc[~hidden.to_numpy(bool), ["period", self.measure]].groupby("period")[self.measure]
             .sum().reindex(self.months, fill_value=0.0))
        n = cells.loc[hidden.to_numpy(bool), "period"].value_counts().reindex(self.months, fill_value=0)
        return self._box(d.to_numpy(float), n.to_numpy(int), self.n_hidden.to_numpy(int), what)

    def partner_box(self, partner: str) -> pd.DataFrame:
        """Month by month: ``disclosed``, the hidden part's ``lo``/``hi`` and the reason (``binds``).

        ``free`` is True where the hidden part is a free variable that draws on the month's residual.
        """
        months = self.months
        d = self.disclosed.get(partner, pd.Series(0.0, index=months)).reindex(months).to_numpy(float)
        n = self.hidden.get(partner, pd.Series(0, index=months)).reindex(months).to_numpy(int)
        return self._box(d, n, self.n_hidden.to_numpy(int), "partners",
                         others=self.holders.to_numpy(int) - (n > 0))

    def _box(self, d: np.ndarray, n: np.ndarray, total: np.ndarray, what: str,
             others: np.ndarray | None = None) -> pd.DataFrame:
        u = self.residual.to_numpy(float)
        rows, detail = self.has_rows.to_numpy(bool), self.has_detail.to_numpy(bool)
        others = total - n if others is None else others
        unknown_u = np.isnan(u)
        cases = [  # (condition, lo, hi, free, reason), first match wins
            (~rows, 0.0, np.inf, True, "no data for the month"),
            (~detail & unknown_u, 0.0, np.inf, True,
             "no partner detail and WORLD confidential: unbounded"),
            (~detail, 0.0, u, True, "no partner detail: up to the WORLD total"),
            (n == 0, 0.0, 0.0, False, "exact: no confidential cell"),
            (unknown_u, 0.0, np.inf, True, "WORLD confidential: unbounded"),
            (n == total, u, u, False, "sole holder of the confidential cells: the whole residual"),
        ]
        conditions = [c[0] for c in cases]
        lo = np.select(conditions, [np.broadcast_to(c[1], u.shape) for c in cases], default=0.0)
        hi = np.select(conditions, [np.broadcast_to(c[2], u.shape) for c in cases], default=u)
        free = np.select(conditions, [np.full(u.shape, c[3]) for c in cases], default=True)
        shared = np.array([f"shares the residual with {k} other {what}" for k in others], dtype=object)
        binds = np.select(conditions, [np.full(u.shape, c[4], dtype=object) for c in cases],
                          default=shared)
        return pd.DataFrame({"disclosed": d, "lo": lo.astype(float), "hi": hi.astype(float),
                             "binds": binds, "free": free.astype(bool)}, index=self.months)


def dataset_pairs(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """The (source, dataset) pairs in `frame`, sorted."""
    pairs = frame[["source", "dataset"]].drop_duplicates().to_numpy()
    return sorted((str(s), str(d)) for s, d in pairs)


def select_dataset(frame: pd.DataFrame, dataset: str) -> tuple[str, str]:
    """The one (source, dataset) pair that `dataset` names (``"dataset"`` or ``"source/dataset"``)."""
    pairs = dataset_pairs(frame)
    options = matching(pairs, dataset)
    if not options:
        known = ", ".join(f"{s}/{d}" for s, d in pairs) or "none"
        raise AnalysisError(f"dataset {dataset!r} is not in the frame; datasets are: {known}")
    if len(options) > 1:
        raise AnalysisError(f"dataset {dataset!r} is ambiguous: {', '.join(f'{s}/{d}' for s, d in options)}"
                            "; pass 'source/dataset'")
    return options[0]


def accounts(frame: pd.DataFrame, reporter: str, measure: str, dataset: str,
             months: pd.DatetimeIndex) -> Accounts:
    """Build the :class:`Accounts` of `reporter` in monthly `dataset` for `months`.

    Raises :class:`AnalysisError` for a measure that is not a quantity, a dataset not in the frame
    or without monthly data, and a reporter that does not occur in it (listing those that do).
    """
    if measure not in QUANTITIES:
        raise AnalysisError(f"measure must be one of {list(QUANTITIES)}, got {measure!r}")
    source, chosen = select_dataset(frame, dataset)
    data = frame[(frame["source"] == source) & (frame["dataset"] == chosen)
                 & (frame["flow"] == "import") & (frame["product"] == "crude_oil")
                 & (frame["freq"] == "M")]
    if data.empty:
        raise AnalysisError(f"{source}/{chosen} has no monthly crude-oil import rows")
    reporters = sorted(data["reporter"].unique())
    if reporter not in reporters:
        raise AnalysisError(f"reporter {reporter!r} is not in {source}/{chosen}; reporters are: "
                            f"{', '.join(reporters)}")
    if data.loc[data["reporter"] == reporter, measure].notna().sum() == 0:
        raise AnalysisError(f"{source}/{chosen} has no {measure} values for {reporter} (e.g. barrels "
                            "only): choose another measure")
    rows = data[(data["reporter"] == reporter) & data["period"].isin(months)]
    hidden_mask = rows["flag"].fillna("").str.contains(CONFIDENTIAL, regex=False) | rows[measure].isna()
    world_rows = rows[rows["partner"] == WORLD]
    world = (world_rows[~hidden_mask.loc[world_rows.index]].groupby("period")[measure].sum()
             .reindex(months))
    cells = rows[rows["partner"] != WORLD]
    has_rows = pd.Series(months.isin(rows["period"]), index=months)
    has_detail = pd.Series(months.isin(cells["period"]), index=months)
    open_cells = cells[~hidden_mask.loc[cells.index]]
    disclosed = (open_cells.pivot_table(index="period", columns="partner", values=measure,
                                        aggfunc="sum", fill_value=0.0, observed=True)
                 .reindex(months, fill_value=0.0).fillna(0.0))
    hidden_cells = cells[hidden_mask.loc[cells.index]]
    hidden = (hidden_cells.assign(n=1).pivot_table(index="period", columns="partner", values="n",
                                                    aggfunc="sum", fill_value=0, observed=True)
              .reindex(months, fill_value=0).fillna(0).astype(int))
    raw = world - disclosed.sum(axis=1)
    residual = raw.clip(lower=0.0)  # a negative residual is reported by the callers' caveats
    holders = (hidden > 0).sum(axis=1).reindex(months, fill_value=0)
    return Accounts(source, chosen, reporter, measure, months, world, has_rows, has_detail,
                    residual, raw, disclosed, hidden, holders, cells, hidden_mask.loc[cells.index])


def month_range(start: object, end: object) -> pd.DatetimeIndex:
    """Every month from `start` to `end` inclusive (``"2021-01"``, ``"2021-12"``); typed errors."""
    try:
        lo, hi = pd.Timestamp(str(start)), pd.Timestamp(str(end))
    except (TypeError, ValueError) as exc:
        raise AnalysisError(f"window ({start!r}, {end!r}) is not a pair of months like "
                            "('2021-01', '2021-12')") from exc
    if hi < lo:
        raise AnalysisError(f"window ({start!r}, {end!r}) ends before it starts")
    return pd.date_range(lo.to_period("M").to_timestamp(), hi.to_period("M").to_timestamp(), freq="MS")


@dataclass
class Program:
    """A linear program over the hidden parts X[g, t] of disjoint groups of cells in some months.

    A group is any set of cells (``groups``: name -> mask aligned with ``accounts.cells``): a partner's
    cells (:meth:`for_partners`) or an origin's grades of one route. Constraints: each X in its month
    box; per month, the free hidden parts of the groups sum to at most the residual (exactly the
    residual where they hold every hidden cell); extra rows ``lo <= sum of coef * X <= hi`` (totals
    from other sources). Values are scaled by ``scale`` inside the solver for numerical range.
    """

    accounts: Accounts
    months: pd.DatetimeIndex
    groups: dict[str, pd.Series]
    boxes: dict[str, pd.DataFrame] = field(init=False)
    rows: list[tuple[dict[tuple[str, pd.Timestamp], float], float, float, str]] = field(
        default_factory=list)

    @classmethod
    def for_partners(cls, accounts: Accounts, partners: list[str], months: pd.DatetimeIndex) -> Program:
        """One group per partner: its cells."""
        return cls(accounts, months, {p: accounts.cells["partner"] == p for p in partners})

    def __post_init__(self) -> None:
        self.boxes = {g: self.accounts.group_box(m).reindex(self.months) for g, m in self.groups.items()}
        cells = self.accounts.cells
        hidden = self.accounts.cell_hidden.to_numpy(bool)
        self._counts = {g: cells.loc[m.to_numpy(bool) & hidden, "period"].value_counts()
                        for g, m in self.groups.items()}
        self.index = {(g, t): i for i, (g, t) in enumerate(
            (g, t) for g in self.groups for t in self.months)}
        finite = self.accounts.world.abs().max()
        self.scale = float(finite) if np.isfinite(finite) and finite > 0 else 1.0

    def _arrays(self):
        n = len(self.index)
        lb = np.zeros(n)
        ub = np.zeros(n)
        for (p, t), i in self.index.items():
            lb[i] = self.boxes[p].loc[t, "lo"] / self.scale
            ub[i] = self.boxes[p].loc[t, "hi"] / self.scale
        a_ub, b_ub, a_eq, b_eq = [], [], [], []
        acc = self.accounts
        for t in self.months:
            free = [g for g in self.groups if self.boxes[g].loc[t, "free"]]
            if len(free) < 2:
                continue  # one partner: its box already says everything
            u = acc.residual[t] if acc.has_detail[t] else acc.world[t]
            if not np.isfinite(u):
                continue
            row = np.zeros(n)
            for p in free:
                row[self.index[(p, t)]] = 1.0
            held = sum(int(self._counts[g].get(t, 0)) for g in free)
            holders_all = bool(acc.has_detail[t]) and held == int(acc.n_hidden[t])
            (a_eq if holders_all else a_ub).append(row)
            (b_eq if holders_all else b_ub).append(u / self.scale)
        for coefs, lo, hi, _ in self.rows:
            row = np.zeros(n)
            for key, c in coefs.items():
                row[self.index[key]] = c
            if np.isfinite(hi):
                a_ub.append(row)
                b_ub.append(hi / self.scale)
            if np.isfinite(lo):
                a_ub.append(-row)
                b_ub.append(-lo / self.scale)
        return lb, ub, _matrix(a_ub), _matrix(b_ub), _matrix(a_eq), _matrix(b_eq)

    def vector(self, weights: dict[tuple[str, pd.Timestamp], float]) -> np.ndarray:
        c = np.zeros(len(self.index))
        for key, w in weights.items():
            if key in self.index:
                c[self.index[key]] += w
        return c

    # -- solving -----------------------------------------------------------------------------------
    def feasible(self) -> bool:
        lb, ub, a_ub, b_ub, a_eq, b_eq = self._arrays()
        res = _linprog(np.zeros(len(lb)), a_ub, b_ub, a_eq, b_eq, lb, ub)
        return res.status != 2

    def extremes(self, c: np.ndarray) -> tuple[float, float]:
        """(min, max) of ``c @ X`` over the feasible set, in measure units (``inf`` if unbounded).

        Raises :class:`AnalysisError` if the constraints are infeasible.
        """
        lb, ub, a_ub, b_ub, a_eq, b_eq = self._arrays()
        out = []
        for sign in (1.0, -1.0):
            res = _linprog(sign * c, a_ub, b_ub, a_eq, b_eq, lb, ub)
            if res.status == 2:
                raise AnalysisError("the constraints are contradictory (no feasible allocation)")
            if res.status == 3:
                out.append(-sign * np.inf)
            else:
                out.append(sign * res.fun * self.scale)
        return out[0], out[1]

    def ratio_extremes(self, num: np.ndarray, num0: float, den: np.ndarray, den0: float,
                       names: tuple[str, str] = ("the denominator", "the ratio"),
                       ) -> tuple[float, float, str | None]:
        """(min, max) of ``(num @ X + num0) / (den @ X + den0)`` where the denominator is positive.

        Charnes-Cooper: with y = z X and z = 1 / denominator the ratio is linear in (y, z). If the
        denominator can reach 0 the ratio is unbounded on the side(s) the numerator takes there; the
        third element then says so (None otherwise). Constants are in measure units.
        """
        dmin, dmax = self.extremes(den)
        dmin, dmax = dmin + den0, dmax + den0
        if dmax <= 0:
            return np.nan, np.nan, f"{names[0]} is never positive: {names[1]} is undefined"
        lb, ub, a_ub, b_ub, a_eq, b_eq = self._arrays()
        s = self.scale
        note = None
        lo_inf = hi_inf = False
        if dmin <= 0:
            # Points with denominator exactly 0 exist (convexity); the numerator's range there says
            # which side runs off to infinity.
            a_eq0 = np.vstack([a_eq, den]) if a_eq is not None else den[None, :]
            b_eq0 = np.append(b_eq if b_eq is not None else [], -den0 / s)
            at_zero = []
            for sign in (1.0, -1.0):
                res = _linprog(sign * num, a_ub, b_ub, a_eq0, b_eq0, lb, ub)
                at_zero.append(-sign * np.inf if res.status == 3 else sign * res.fun * s + num0)
            hi_inf = at_zero[1] > 0
            lo_inf = at_zero[0] < 0
            note = f"{names[0]} can reach zero, so {names[1]} is unbounded" + (
                " above" if hi_inf and not lo_inf else " below" if lo_inf and not hi_inf else "")
            # The finite ends: restrict to a denominator of at least a small positive amount.
            floor = (dmax if np.isfinite(dmax) else s) * 1e-9
            a_ub = np.vstack([a_ub, -den]) if a_ub is not None else -den[None, :]
            b_ub = np.append(b_ub if b_ub is not None else [], (den0 - floor) / s)
        n = len(lb)
        # Variables (y_1..y_n, z). Rows: A y - b z <= 0; box: y - ub z <= 0, lb z - y <= 0;
        # den y + den0 z = 1 (den0 scaled), z >= 0.
        rows, rhs = [], []
        if a_ub is not None:
            rows.append(np.hstack([a_ub, -b_ub[:, None]]))
            rhs.append(np.zeros(len(b_ub)))
        finite_ub = np.isfinite(ub)
        eye = np.eye(n)
        if finite_ub.any():
            rows.append(np.hstack([eye[finite_ub], -ub[finite_ub][:, None]]))
            rhs.append(np.zeros(int(finite_ub.sum())))
        rows.append(np.hstack([-eye, lb[:, None]]))
        rhs.append(np.zeros(n))
        eq_rows = [np.append(den, den0 / s)]
        eq_rhs = [1.0]
        if a_eq is not None:
            eq_rows.append(np.hstack([a_eq, -b_eq[:, None]]))
            eq_rhs.extend(np.zeros(len(b_eq)))
        a_ub_cc = np.vstack(rows)
        b_ub_cc = np.concatenate(rhs)
        a_eq_cc = np.vstack(eq_rows)
        b_eq_cc = np.asarray(eq_rhs, dtype=float)
        bounds_cc = [(None, None)] * n + [(0, None)]
        objective = np.append(num, num0 / s)
        ends = []
        for sign in (1.0, -1.0):
            res = _linprog(sign * objective, a_ub_cc, b_ub_cc, a_eq_cc, b_eq_cc, bounds=bounds_cc)
            if res.status == 2:
                raise AnalysisError("the constraints are contradictory (no feasible allocation)")
            ends.append(-sign * np.inf if res.status == 3 else sign * res.fun)
        lo, hi = ends
        if lo_inf:
            lo = -np.inf
        if hi_inf:
            hi = np.inf
        return float(lo) + 0.0, float(hi) + 0.0, note  # + 0.0: no "-0.0 %"


def _matrix(rows: list) -> np.ndarray | None:
    return np.array(rows, dtype=float) if rows else None


#: Linear programs solved in this process (read by the panel bounds run and its benchmark).
LP_SOLVES = [0]


def _linprog(c, a_ub, b_ub, a_eq, b_eq, lb=None, ub=None, bounds=None):
    from scipy.optimize import linprog

    LP_SOLVES[0] += 1
    if bounds is None:
        bounds = [(lo, None if not np.isfinite(hi) else hi) for lo, hi in zip(lb, ub, strict=True)]
    return linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
