"""Analytics: pure functions on canonical frames that return result objects.

Every result has ``summary()`` (text), ``to_frame()`` (a tidy DataFrame) and ``plot()`` (matplotlib,
needs the ``plot`` extra), and keeps its inputs and assumptions as attributes.
"""

from .shares import SharesResult, supplier_shares
from .substitution import SubstitutionResult, substitution

__all__ = ["SharesResult", "SubstitutionResult", "substitution", "supplier_shares"]
