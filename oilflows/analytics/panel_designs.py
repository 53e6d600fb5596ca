"""Panel designs across reporters: difference-in-differences, event study and exposure (dose) regression.

The public face of :mod:`._did`, :mod:`._event_study`, :mod:`._exposure` (one design each) and
:mod:`._designs_common` (the design set-up, identified sets, caveats and formatting they share); the
wild cluster bootstrap is in :mod:`._two_way`. Every public name is importable from here.

All three compare importers (reporters) month by month on one outcome of one partner, built by
:func:`reporter_panel` from :func:`oilflows.analytics._panel.build_panel` per reporter, so dataset
selection and the undisclosed residual (WORLD minus disclosed partners) are handled as in every
other analytic. Methods note sections 7 and 8.

Estimation. Two-way fixed effects by OLS on reporter and month dummies, computed by Frisch-Waugh-Lovell:
the dummies are projected out once (an orthonormal basis of their column space), then the coefficient
of interest is regressed on its regressor's residual after also projecting out the other regressors
(event-study dummies). Same numbers as OLS with all dummies; the panel may be unbalanced. Standard
errors are clustered by reporter (CR1: sandwich times G/(G-1) * (N-1)/(N-K), K counting every dummy, as
statsmodels' ``cov_type="cluster"``), with t(G-1) critical values.

Few clusters. With about six reporters, CR1 intervals under-cover. The wild cluster bootstrap is
therefore implemented in :mod:`._two_way` (numpy): restricted under the null (WCR), weights drawn per
reporter (Webb's six-point distribution by default, Webb 2023, Canadian Journal of Economics; or
Rademacher, enumerated exactly when 2**G <= n_boot), bootstrap t-statistics with the CR1 standard error
recomputed in every draw, symmetric p-value P(|t*| >= |t|), and the confidence interval by test
inversion: the set of beta0 whose p-value is >= 1 - level, found by bisection on the closed-form
p(beta0) with the same draws for every beta0 (Roodman, MacKinnon, Nielsen & Webb 2019, "Fast and wild",
Stata Journal 19(1)). Draws: ``n_boot="auto"`` (default) enumerates every weight vector when there are
at most 99,999 (Webb up to 6 reporters, Rademacher up to 16: exact, no Monte Carlo error, no seed
dependence), and otherwise doubles the draws from 999 (cap 99,999) until the batch-means Monte Carlo
standard error of each interval end is below half the last digit the summary prints; ``mc_error`` and
the draws used are reported (:mod:`._two_way`). With one or two treated reporters the interval can be
very wide or unbounded; that is the honest answer (MacKinnon & Webb 2017, J. Applied Econometrics
32(2)), not a bug.
"""

from __future__ import annotations

from ._designs_common import INFERENCE
from ._designs_common import _ci as _ci  # the helpers below stay importable from here (tests)
from ._designs_common import _identified_set as _identified_set
from ._designs_common import _setup as _setup
from ._designs_common import _unbounded as _unbounded
from ._designs_common import _weights as _weights
from ._did import DiDResult, did
from ._event_study import EventStudyResult, event_study
from ._exposure import ExposureResult, exposure
from ._two_way import WEIGHTS
from ._two_way import _draw_weights as _draw_weights
from ._two_way import _dummies as _dummies
from ._two_way import _TwoWay as _TwoWay
from ._two_way import _WildBootstrap as _WildBootstrap
from .reporter_panel import (
    CONFIDENTIAL_RULES,
    DRUZHBA_REPORTERS,
    OUTCOMES,
    ReporterPanel,
    available_reporters,
    is_aggregate,
    reporter_panel,
)

__all__ = [
    "CONFIDENTIAL_RULES", "DRUZHBA_REPORTERS", "INFERENCE", "OUTCOMES", "WEIGHTS",
    "DiDResult", "EventStudyResult", "ExposureResult", "ReporterPanel",
    "available_reporters", "did", "event_study", "exposure", "is_aggregate", "reporter_panel",
]
