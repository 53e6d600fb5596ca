"""Comext code tables and code maps: dataset identifiers, indicators, flows, CN8 labels, reporter and
partner codes (:data:`PARTNER_CODES`, its listed codes read from ``oilflows/data/comext_partners.csv``),
:func:`partner_code` and :func:`product_and_grade`. Used by :mod:`oilflows.sources.comext` and its parts.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from importlib import resources
from typing import Any

import pandas as pd

from .. import codes

SOURCE = "comext"
#: The canonical ``dataset`` of every row (API and bulk files hold the same statistics).
DATASET = "ds-045409"
#: The dataflow id in URLs and in SDMX-CSV ``DATAFLOW`` (``ESTAT:DS-045409(1.0)``).
DATAFLOW = "DS-045409"
#: DS-045409 dimensions in SDMX key order (without time) [3P, read off the DSD by third parties].
DIMS: tuple[str, ...] = ("freq", "reporter", "partner", "product", "flow", "indicators")
#: Indicators kept -> (canonical column, divisor to base units).
INDICATORS: dict[str, tuple[str, float]] = {
    "VALUE_IN_EUROS": ("value", 1.0),  # EUR
    "QUANTITY_IN_100KG": ("mass_t", 10.0),  # 100 kg -> t: divide by 10
}
#: Indicators read but not kept (unit depends on the CN8 code; none for crude oil).
DROPPED_INDICATORS: tuple[str, ...] = ("SUPPLEMENTARY_QUANTITY",)
DEFAULT_INDICATORS: tuple[str, ...] = ("VALUE_IN_EUROS", "QUANTITY_IN_100KG")
#: Comext flow codes -> canonical flow.
FLOWS: dict[str, str] = {"1": "import", "2": "export"}
FLOW_CODES: dict[str, str] = {v: k for k, v in FLOWS.items()}
#: HS heading -> canonical product, for every code that starts with the heading (2709, 270900, CN8).
PRODUCT_HEADINGS: dict[str, str] = {"2709": "crude_oil"}
#: The CN8 codes of HS 2709 (stable since 1988 [3P]; check CN8-PRED-SUCC for others).
CN8_LABELS: dict[str, str] = {
    "27090010": "natural gas condensates",
    "27090090": "other crude petroleum oils (crude oil proper, excluding condensates)",
}
CRUDE_CN8: tuple[str, ...] = tuple(CN8_LABELS)
#: Reporter codes -> canonical (aggregates such as EU27_2020 pass through).
REPORTER_CODES: dict[str, str] = {"EL": "GR", "UK": "GB"}


def _read_partners(filename: str) -> dict[str, str]:
    """Comext partner code -> canonical partner, from the CSV `filename` under ``oilflows/data`` (columns
    ``code, partner, note``; the empty code is the empty partner cell)."""
    with resources.files("oilflows.data").joinpath(filename).open("r", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != ["code", "partner", "note"]:
            raise ValueError(f"{filename}: columns {reader.fieldnames}, expected code, partner, note")
        rows = list(reader)
    table = {row["code"]: row["partner"] for row in rows}
    if len(table) != len(rows) or not all(table.values()):
        raise ValueError(f"{filename}: a code is listed twice or maps to nothing")
    return table


#: Comext partner codes -> canonical partner codes (codes not listed pass through; see the docstring).
PARTNERS_FILE = "comext_partners.csv"
PARTNER_CODES: dict[str, str] = {
    **codes.EUROSTAT_COUNTRY,  # EL -> GR, UK -> GB, TOTAL -> WORLD
    **_read_partners(PARTNERS_FILE),  # WORLD, the empty cell, aggregates, pseudo-partners, XC/XL/XS/XI/XU
}
#: The non-country partner codes this module produces, with their meaning: a view of the vocabulary
#: (:data:`oilflows.codes.NON_COUNTRY`, source ``comext``; issue 13).
PARTNER_REGIONS: dict[str, str] = {code: codes.NON_COUNTRY[code].meaning
                                   for code in sorted(codes.non_country_codes("comext"))}
_PSEUDO_Q = re.compile(r"^Q[M-Z]$")


def partner_code(code: str) -> str:
    """The canonical partner of one Comext partner code (see :data:`PARTNER_CODES`)."""
    code = code.strip()
    if code in PARTNER_CODES:
        return PARTNER_CODES[code]
    if _PSEUDO_Q.match(code):
        return f"COMEXT_{code}"
    return code


def product_and_grade(code: str) -> tuple[str, str | None]:
    """Canonical ``(product, grade)`` of a Comext product code.

    ``27090090`` -> ``("crude_oil", "27090090")``; ``2709`` -> ``("crude_oil", None)``;
    ``27101943`` -> ``("cn_27101943", None)``.
    """
    for heading, product in PRODUCT_HEADINGS.items():
        if code.startswith(heading):
            return product, (code if len(code) == 8 else None)
    return f"cn_{code}", None


def _map_unique(series: pd.Series, function: Callable[[str], Any]) -> pd.Series:
    uniques = pd.unique(series.astype(str))
    return codes.map_codes(series.astype(str), {u: function(u) for u in uniques})


__all__ = ["CN8_LABELS", "CRUDE_CN8", "DATAFLOW", "DATASET", "DEFAULT_INDICATORS", "DIMS",
           "DROPPED_INDICATORS", "FLOWS", "FLOW_CODES", "INDICATORS", "PARTNER_CODES", "PARTNER_REGIONS",
           "PRODUCT_HEADINGS", "REPORTER_CODES", "SOURCE", "partner_code", "product_and_grade"]
