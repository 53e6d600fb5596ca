"""Two-way fixed-effects OLS, CR1 cluster-robust standard errors and the wild cluster bootstrap (numpy).

The inference machinery of :mod:`oilflows.analytics.panel_designs` (whose docstring describes the method
and its references): reporter and month dummies projected out once (Frisch-Waugh-Lovell), the CR1
variance with t(G-1), and the restricted wild cluster bootstrap-t with its interval by test inversion.

Number of draws (``n_boot="auto"``, the default of ``did`` and ``event_study``). The bootstrap
distribution is over cluster weight vectors: Rademacher has 2**G of them, Webb 6**G. When that number
is at most :data:`AUTO_CAP` (99,999; Webb up to 6 clusters, Rademacher up to 16) every vector is
enumerated once: the exact bootstrap distribution, no Monte Carlo error (``mc_error`` is (0, 0)) and
no dependence on the seed. Otherwise draws start at :data:`AUTO_START` (999) and double, the earlier
draws kept, until the Monte Carlo standard error of each interval end is below the given tolerance
(half of the last digit the summary prints) or :data:`AUTO_CAP` draws are reached. That standard
error is estimated by batch means: the draws are split into :data:`AUTO_BATCHES` (10) consecutive
batches, the interval is inverted in each, and the s.e. of the full-run end is the standard deviation
of the batch ends over sqrt(10) (an end's Monte Carlo variance scales as 1/B). An integer ``n_boot``
draws that many (Rademacher: all 2**G vectors when 2**G <= n_boot, as before) and reports the same
batch-means error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from ..errors import AnalysisError

#: Wild-bootstrap weight distributions.
WEIGHTS = ("webb", "rademacher")
_WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
_POINTS = {"webb": _WEBB, "rademacher": np.array([-1.0, 1.0])}
#: ``n_boot="auto"``: first number of draws, the cap (also the largest enumerated support) and the
#: number of batches of the batch-means Monte Carlo error.
AUTO_START, AUTO_CAP, AUTO_BATCHES = 999, 99_999, 10


def _dummies(codes: np.ndarray, drop_first: bool) -> np.ndarray:
    levels, index = np.unique(codes, return_inverse=True)
    matrix = np.zeros((len(codes), len(levels)))
    matrix[np.arange(len(codes)), index] = 1.0
    return matrix[:, 1:] if drop_first else matrix


def _basis(matrix: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the column space of `matrix`; rank-deficient directions dropped.

    From the eigen-decomposition of the (small) Gram matrix rather than a QR of the tall matrix: the
    columns here are dummies and 0/1 event indicators, well conditioned, and this keeps every LAPACK
    call small.
    """
    if matrix.shape[1] == 0:
        return np.zeros((matrix.shape[0], 0))
    values, vectors = np.linalg.eigh(matrix.T @ matrix)
    keep = values > values.max() * 1e-10
    return matrix @ (vectors[:, keep] / np.sqrt(values[keep]))


@dataclass(frozen=True)
class _CoefficientFit:
    """One coefficient of an OLS fit, with what the CR1 variance and the wild bootstrap need."""

    estimate: float
    se: float
    x: np.ndarray  # the regressor after projecting out every other column
    ya: np.ndarray  # the outcome after the same projection
    basis: np.ndarray  # orthonormal basis of the other columns
    clusters: np.ndarray  # cluster index per row, 0..G-1
    n_clusters: int
    scale: float  # CR1 factor G/(G-1) * (N-1)/(N-K)

    def score_sums(self, residuals: np.ndarray) -> np.ndarray:
        """Per-cluster sums of x * residual (G, or G x B for a matrix of residuals)."""
        indicator = np.zeros((self.n_clusters, len(self.clusters)))
        indicator[self.clusters, np.arange(len(self.clusters))] = 1.0
        weighted = self.x[:, None] * residuals if residuals.ndim == 2 else self.x * residuals
        return indicator @ weighted


class _TwoWay:
    """OLS of y on [regressors, fixed effects]: the fixed effects are projected out once (FWL)."""

    def __init__(self, y: np.ndarray, regressors: np.ndarray, fixed: np.ndarray, clusters: np.ndarray):
        self.fe = _basis(fixed)
        self.y = y - self.fe @ (self.fe.T @ y)
        self.z = regressors - self.fe @ (self.fe.T @ regressors)
        self.raw = regressors
        self.clusters = np.unique(clusters, return_inverse=True)[1]
        self.n_clusters = int(self.clusters.max()) + 1

    def coefficient(self, j: int) -> _CoefficientFit:
        """Coefficient `j` with its CR1 standard error (clustered as given)."""
        others = _basis(np.delete(self.z, j, axis=1))  # orthogonal to the fixed effects already
        target = self.raw[:, j]
        x = self.z[:, j] - others @ (others.T @ self.z[:, j])
        xx = float(x @ x)
        if xx <= 1e-10 * max(float(target @ target), 1e-300):
            raise AnalysisError("the treatment regressor is collinear with the fixed effects (no treated "
                                "reporter-month varies independently); the effect is not identified")
        ya = self.y - others @ (others.T @ self.y)
        estimate = float(x @ ya) / xx
        n, k = len(self.y), self.fe.shape[1] + others.shape[1] + 1
        if n <= k or self.n_clusters < 2:
            raise AnalysisError(f"{n} observations and {self.n_clusters} clusters cannot identify "
                                f"{k} parameters")
        scale = self.n_clusters / (self.n_clusters - 1) * (n - 1) / (n - k)
        basis = np.hstack([self.fe, others])
        fit = _CoefficientFit(estimate, 0.0, x, ya, basis, self.clusters, self.n_clusters, scale)
        se = float(np.sqrt(scale * np.sum(fit.score_sums(ya - x * estimate) ** 2)) / xx)
        return _CoefficientFit(estimate, se, x, ya, basis, self.clusters, self.n_clusters, scale)


def _cluster_inference(fit: _CoefficientFit, level: float) -> tuple[float, float, float]:
    """(ci_low, ci_high, p-value) from the CR1 standard error and t(G-1)."""
    dof = fit.n_clusters - 1
    crit = stats.t.ppf(0.5 + level / 2, dof)
    if fit.se == 0:
        return fit.estimate, fit.estimate, (0.0 if fit.estimate else 1.0)
    p = float(2 * stats.t.sf(abs(fit.estimate / fit.se), dof))
    return fit.estimate - crit * fit.se, fit.estimate + crit * fit.se, p


def _draw_weights(n_clusters: int, weights: str, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """G x B cluster weights; Rademacher is enumerated exactly when 2**G <= n_boot."""
    if weights == "rademacher":
        if 2 ** n_clusters <= n_boot:
            grid = np.arange(2 ** n_clusters)[None, :] >> np.arange(n_clusters)[:, None] & 1
            return 2.0 * grid - 1.0
        return rng.choice([-1.0, 1.0], size=(n_clusters, n_boot))
    return rng.choice(_WEBB, size=(n_clusters, n_boot))


def _support(n_clusters: int, weights: str) -> int:
    """Number of distinct cluster weight vectors (2**G Rademacher, 6**G Webb)."""
    return len(_POINTS[weights]) ** n_clusters


def _enumerate(n_clusters: int, weights: str) -> np.ndarray:
    """G x K**G: every weight vector once (the exact bootstrap distribution)."""
    points = _POINTS[weights]
    return points[np.indices((len(points),) * n_clusters).reshape(n_clusters, -1)]


def _n_boot_used(n_clusters: int, weights: str, n_boot: int | Literal["auto"]) -> int:
    if n_boot == "auto":
        support = _support(n_clusters, weights)
        return support if support <= AUTO_CAP else AUTO_CAP  # an upper bound when drawn adaptively
    return 2 ** n_clusters if weights == "rademacher" and 2 ** n_clusters <= n_boot else n_boot


class _WildBootstrap:
    """Restricted wild cluster bootstrap-t for one coefficient; p(beta0) in closed form for any beta0.

    Under H0: beta = beta0 the restricted residual is ``u(beta0) = ya - beta0 * x``; the bootstrap
    outcome's estimate minus beta0, its residuals and its cluster scores are all linear in beta0, so
    the bootstrap t-statistics of every beta0 come from six B-vectors computed once.
    """

    def __init__(self, fit: _CoefficientFit, weights: str, n_boot: int, rng: np.random.Generator | None,
                 draws: np.ndarray | None = None):
        self.fit = fit
        if draws is None:
            assert rng is not None, "draws or a generator to draw them"
            draws = _draw_weights(fit.n_clusters, weights, n_boot, rng)  # G x B
        self.draws, self.n_boot = draws, draws.shape[1]
        xx = float(fit.x @ fit.x)
        members = np.zeros((len(fit.clusters), fit.n_clusters))  # N x G cluster indicator E
        members[np.arange(len(fit.clusters)), fit.clusters] = 1.0
        # With u* = (base * E) v for a draw v (G-vector), the estimate's deviation x'u*/xx, the
        # residuals M u* - x x'u*/xx and their cluster scores E'(x * resid) are all (G x G) @ v.
        maps = []
        for base in (fit.ya, fit.x):
            spread = base[:, None] * members
            projected = spread - fit.basis @ (fit.basis.T @ spread)
            numerator = fit.x @ spread
            scores = (members.T @ (fit.x[:, None] * projected)
                      - np.outer(members.T @ fit.x ** 2, numerator) / xx)
            maps.append((numerator @ draws / xx, scores @ draws))
        (self.da, sa), (self.db, sb) = maps
        self.paa, self.pab, self.pbb = (sa * sa).sum(0), (sa * sb).sum(0), (sb * sb).sum(0)
        self.xx = xx

    def pvalue(self, beta0: float = 0.0) -> float:
        """Share of draws with |t*| >= |t| under H0: beta = beta0 (symmetric, null imposed)."""
        fit = self.fit
        t = (fit.estimate - beta0) / fit.se if fit.se > 0 else np.inf * np.sign(fit.estimate - beta0)
        delta = self.da - beta0 * self.db
        var = fit.scale * (self.paa - 2 * beta0 * self.pab + beta0 ** 2 * self.pbb) / self.xx ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            tstar = np.where(var > 0, delta / np.sqrt(np.clip(var, 0, None)),
                             np.where(delta == 0, 0.0, np.inf))
        return float(np.mean(np.abs(tstar) >= abs(t) * (1 - 1e-9)))

    def interval(self, level: float) -> tuple[float, float]:
        """The set of beta0 not rejected at 1 - level, by bisection from the estimate outwards."""
        alpha = 1 - level
        est, step = self.fit.estimate, self.fit.se if self.fit.se > 0 else max(abs(self.fit.estimate), 1.0)
        bounds = []
        for sign in (-1.0, 1.0):
            inner, outer = est, None
            for power in range(40):
                trial = est + sign * step * 2.0 ** power
                if self.pvalue(trial) < alpha:
                    outer = trial
                    break
                inner = trial
            if outer is None:
                bounds.append(sign * np.inf)
                continue
            for _ in range(60):
                mid = 0.5 * (inner + outer)
                if self.pvalue(mid) < alpha:
                    outer = mid
                else:
                    inner = mid
            bounds.append(0.5 * (inner + outer))
        return bounds[0], bounds[1]


@dataclass(frozen=True)
class _Inference:
    estimate: float
    se: float
    ci_cluster: tuple[float, float]
    p_cluster: float
    ci_wild: tuple[float, float] | None
    p_wild: float | None
    n_boot_used: int | None
    mc_error: tuple[float, float] | None = None  # Monte Carlo s.e. of each wild interval end
    exact: bool = False  # every weight vector enumerated (no Monte Carlo error)


def _mc_error(fit: _CoefficientFit, weights: str, draws: np.ndarray, level: float,
              ends: tuple[float, float]) -> tuple[float, float]:
    """Batch-means Monte Carlo s.e. of each interval end (inf when batch ends are unbounded)."""
    errors = []
    batches = [_WildBootstrap(fit, weights, 0, None, part).interval(level)
               for part in np.array_split(draws, AUTO_BATCHES, axis=1)]
    for side, end in enumerate(ends):
        values = np.array([b[side] for b in batches])
        if np.all(values == end):  # every batch and the full run unbounded alike (or identical)
            errors.append(0.0)
        elif not np.all(np.isfinite(values)) or not np.isfinite(end):
            errors.append(np.inf)
        else:
            errors.append(float(np.std(values, ddof=1) / np.sqrt(AUTO_BATCHES)))
    return errors[0], errors[1]


def _infer(fit: _CoefficientFit, inference: str, weights: str, n_boot: int | Literal["auto"], seed: int,
           level: float, tolerance: Callable[[float], float] | None = None) -> _Inference:
    """CR1 and (``inference="wild"``) the wild bootstrap; `tolerance(end)` is the largest acceptable
    Monte Carlo s.e. of an interval end under ``n_boot="auto"`` (half the last printed digit)."""
    lo, hi, p = _cluster_inference(fit, level)
    if inference != "wild":
        return _Inference(fit.estimate, fit.se, (lo, hi), p, None, None, None)
    rng = np.random.default_rng(seed)
    if n_boot != "auto":
        boot = _WildBootstrap(fit, weights, n_boot, rng)
        ci = boot.interval(level)
        exact = weights == "rademacher" and 2 ** fit.n_clusters <= n_boot
        error = (0.0, 0.0) if exact else _mc_error(fit, weights, boot.draws, level, ci)
        return _Inference(fit.estimate, fit.se, (lo, hi), p, ci, boot.pvalue(0.0), boot.n_boot, error, exact)
    if _support(fit.n_clusters, weights) <= AUTO_CAP:
        boot = _WildBootstrap(fit, weights, 0, None, _enumerate(fit.n_clusters, weights))
        return _Inference(fit.estimate, fit.se, (lo, hi), p, boot.interval(level), boot.pvalue(0.0),
                          boot.n_boot, (0.0, 0.0), True)
    tolerance = tolerance or (lambda end: 0.0)
    draws = _draw_weights(fit.n_clusters, weights, AUTO_START, rng)
    while True:
        boot = _WildBootstrap(fit, weights, 0, None, draws)
        ci = boot.interval(level)
        error = _mc_error(fit, weights, draws, level, ci)
        done = all(e < tolerance(end) or (e == 0 and not np.isfinite(end))
                   for e, end in zip(error, ci, strict=True))
        more = min(draws.shape[1], AUTO_CAP - draws.shape[1])
        if done or more <= 0:
            return _Inference(fit.estimate, fit.se, (lo, hi), p, ci, boot.pvalue(0.0), boot.n_boot, error)
        draws = np.hstack([draws, _draw_weights(fit.n_clusters, weights, more, rng)])
