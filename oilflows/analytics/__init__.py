"""Analytics: pure functions on canonical frames that return result objects.

Every result has ``summary()`` (text), ``to_frame()`` (a tidy DataFrame) and ``plot()`` (matplotlib,
needs the ``plot`` extra), and keeps its inputs and assumptions as attributes. See docs/analytics.md.
"""

from .bounds import BoundsResult, SubstitutionBounds, substitution_bounds, volume_bounds
from .breaks import (
    BreaksResult,
    ChowResult,
    CusumResult,
    SupFResult,
    chow_test,
    cusum_test,
    multiple_breaks,
    sup_f_test,
)
from .concentration import (
    ConcentrationResult,
    concentration,
    cr_k,
    effective_n,
    hhi,
    shannon,
    window_concentration,
)
from .counterfactual import CounterfactualResult, counterfactual, partner_series
from .elasticity import FeenstraResult, FeenstraWarning, feenstra
from .executor import ExecutorError
from .mass_balance import MassBalanceResult, exporter_balance
from .mirror import MirrorResult, mirror
from .panel_designs import DiDResult, EventStudyResult, ExposureResult, did, event_study, exposure
from .panel_run import (
    BoundsPanelResult,
    PanelResult,
    SeriesSpec,
    counterfactual_series,
    panel_bounds,
    panel_concentration,
    panel_counterfactual,
    panel_substitution,
)
from .prices import PriceSpreadResult, UnitValuesResult, price_spread, unit_values
from .quality import (
    RankingResult,
    SlateResult,
    classify_oil_type,
    crude_slate,
    substitute_ranking,
    window_slate,
)
from .reconcile import ReconcileResult, read_published, reconcile
from .relabelling import RelabellingResult, Signal, relabelling_signals
from .reporter_panel import reporter_panel
from .route_exposure import RouteExposureResult, route_exposure
from .shares import SharesResult, supplier_shares
from .shift_share import ShiftShareResult, shift_share
from .substitution import SubstitutionResult, substitution
from .synthetic_control import SyntheticControlResult, synthetic_control

__all__ = [
    "ExecutorError",
    "MassBalanceResult", "exporter_balance",
    "BoundsResult", "SubstitutionBounds", "substitution_bounds", "volume_bounds",
    "RelabellingResult", "RouteExposureResult", "Signal", "relabelling_signals", "route_exposure",
    "BoundsPanelResult",
    "PanelResult",
    "SeriesSpec",
    "counterfactual_series",
    "panel_bounds",
    "panel_concentration",
    "panel_counterfactual",
    "panel_substitution",
    "BreaksResult", "ChowResult", "CusumResult", "SupFResult", "ConcentrationResult",
    "CounterfactualResult", "DiDResult", "EventStudyResult", "ExposureResult",
    "SyntheticControlResult", "FeenstraResult", "FeenstraWarning", "MirrorResult", "PriceSpreadResult",
    "RankingResult", "ReconcileResult", "SharesResult", "ShiftShareResult", "SlateResult",
    "SubstitutionResult", "UnitValuesResult",
    "chow_test", "counterfactual", "cusum_test", "did", "event_study", "exposure", "multiple_breaks",
    "partner_series", "reporter_panel", "sup_f_test", "synthetic_control",
    "classify_oil_type", "concentration", "cr_k", "crude_slate", "effective_n", "feenstra", "hhi",
    "mirror", "price_spread", "read_published", "reconcile", "shannon", "shift_share",
    "substitute_ranking", "substitution", "supplier_shares", "unit_values",
    "window_concentration", "window_slate",
]
