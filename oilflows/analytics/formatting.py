"""How the analytics and the report show numbers: display units, thousands separators, percentages.

Public names for the helpers the results' summaries use, so that renderers (``oilflows.report``)
format figures exactly as the results do without reaching into private modules.
"""

from __future__ import annotations

from ._panel import UNDISCLOSED, display, fmt, pct

__all__ = ["UNDISCLOSED", "display", "fmt", "pct"]
