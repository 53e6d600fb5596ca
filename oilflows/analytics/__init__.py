"""Analytics: pure functions on canonical frames that return result objects.

Every result has ``summary()`` (text), ``to_frame()`` (a tidy DataFrame) and ``plot()`` (matplotlib,
needs the ``plot`` extra), and keeps its inputs and assumptions as attributes. See docs/analytics.md.
"""

from .concentration import ConcentrationResult, concentration, cr_k, effective_n, hhi, shannon
from .elasticity import FeenstraResult, FeenstraWarning, feenstra
from .mirror import MirrorResult, mirror
from .prices import PriceSpreadResult, UnitValuesResult, price_spread, unit_values
from .quality import RankingResult, SlateResult, classify_oil_type, crude_slate, substitute_ranking
from .reconcile import ReconcileResult, read_published, reconcile
from .shares import SharesResult, supplier_shares
from .shift_share import ShiftShareResult, shift_share
from .substitution import SubstitutionResult, substitution

__all__ = [
    "ConcentrationResult", "FeenstraResult", "FeenstraWarning", "MirrorResult", "PriceSpreadResult",
    "RankingResult", "ReconcileResult", "SharesResult", "ShiftShareResult", "SlateResult",
    "SubstitutionResult", "UnitValuesResult",
    "classify_oil_type", "concentration", "cr_k", "crude_slate", "effective_n", "feenstra", "hhi",
    "mirror", "price_spread", "read_published", "reconcile", "shannon", "shift_share",
    "substitute_ranking", "substitution", "supplier_shares", "unit_values",
]
