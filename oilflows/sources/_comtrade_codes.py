"""UN Comtrade code tables: area codes (:data:`COMTRADE_PARTNER`, read from ``comtrade_codes.csv``),
region codes, flows, products and the record fields. Used by :mod:`oilflows.sources.comtrade` and its parts.
"""

from __future__ import annotations

import csv
from importlib import resources

from .. import codes as _vocabulary

SOURCE = "comtrade"
DATASET = "hs"
#: Non-country codes this module emits (WORLD, EU, the "nes" areas, bunkers, free zones, special
#: categories, historical areas with their ISO 3166-3 codes), with their meaning: a view of the vocabulary
#: (:data:`oilflows.codes.NON_COUNTRY`, source ``comtrade``; issue 13).
COMTRADE_REGIONS: dict[str, str] = {code: _vocabulary.NON_COUNTRY[code].meaning
                                    for code in sorted(_vocabulary.non_country_codes("comtrade"))}
CODES_FILE = "comtrade_codes.csv"


def _load_codes() -> tuple[dict[int, str], dict[str, int]]:
    """Read ``comtrade_codes.csv``: (Comtrade code -> oilflows code, oilflows code -> request code)."""
    text = resources.files(__package__).joinpath(CODES_FILE).read_text(encoding="utf-8")
    to_oilflows: dict[int, str] = {}
    to_comtrade: dict[str, int] = {}
    for row in csv.DictReader(text.splitlines()):
        code = int(row["comtrade_code"])
        to_oilflows[code] = row["oilflows_code"]
        if row["request"] == "1":
            to_comtrade[row["oilflows_code"]] = code
    return to_oilflows, to_comtrade


#: Comtrade reporter/partner code -> oilflows code (ISO alpha-2, WORLD, or a region code).
#: Generated table: ``oilflows/sources/comtrade_codes.csv``.
COMTRADE_PARTNER: dict[int, str]
#: oilflows code -> the Comtrade code sent in a request (FR -> 251, US -> 842, TW -> 490, WORLD -> 0).
PARTNER_COMTRADE: dict[str, int]
COMTRADE_PARTNER, PARTNER_COMTRADE = _load_codes()
#: Comtrade flowCode -> canonical flow. Every other flowCode is dropped (see :data:`DROPPED_FLOWS`).
FLOWS: dict[str, str] = {"M": "import", "X": "export"}
#: Flow codes known to be dropped, with their meaning (any other non-M/X code is dropped too).
DROPPED_FLOWS: dict[str, str] = {
    "RM": "re-import", "RX": "re-export", "DX": "domestic export", "FM": "foreign import",
    "MIP": "import for inward processing", "MOP": "import after outward processing",
    "XIP": "export after inward processing", "XOP": "export for outward processing",
}
#: HS cmdCode -> oilflows product; any other code becomes ``hs_<code>`` (lower case).
PRODUCTS: dict[str, str] = {"2709": "crude_oil"}
#: qtyUnitCode of kilograms.
QTY_UNIT_KG = 8
#: The values that make a record a total rather than a breakdown.
PINNED: dict[str, object] = {"partner2Code": 0, "customsCode": "C00", "motCode": 0}
#: Record fields read must find (a changed column set raises).
REQUIRED_FIELDS: tuple[str, ...] = (
    "typeCode", "freqCode", "period", "reporterCode", "partnerCode", "flowCode", "cmdCode",
    "partner2Code", "customsCode", "motCode", "qtyUnitCode", "qty", "netWgt", "primaryValue",
)
#: Fields that identify a record: each must be a non-empty string or an integer in every record.
CODE_FIELDS: tuple[str, ...] = (
    "typeCode", "freqCode", "period", "reporterCode", "partnerCode", "flowCode", "cmdCode",
)


__all__ = ["CODES_FILE", "CODE_FIELDS", "COMTRADE_PARTNER", "COMTRADE_PARTNER", "COMTRADE_REGIONS",
           "DATASET", "DROPPED_FLOWS", "FLOWS", "PARTNER_COMTRADE", "PARTNER_COMTRADE", "PINNED",
           "PRODUCTS", "QTY_UNIT_KG", "REQUIRED_FIELDS", "SOURCE"]
