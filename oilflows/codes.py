"""Code maps: the source's country, region and product codes -> oilflows codes, as visible tables.

Partners and reporters are ISO 3166-1 alpha-2 wherever the source means a country. A source's total over
all partners is ``WORLD``. Regions, zones and unknown origins get a code of three or more letters that is
never an ISO alpha-2 code. Aggregate reporters (``EU_V``, ``EU27_2020``, Comtrade's ``EU``) keep the
source's code.

Every code that is not a country, of every source, is in one vocabulary,
``oilflows/data/non_country_codes.csv`` (:data:`NON_COUNTRY`, :data:`KINDS`; docs/schema.md, section
"Countries and non-country codes"). :func:`is_country` is True only for the ISO 3166-1 alpha-2 codes of
countries (:data:`COUNTRIES`, with Kosovo ``XK``); :func:`is_non_country` for the vocabulary's codes and
any code not shaped like an alpha-2 code. :data:`REGIONS` is a view of the vocabulary kept for old imports.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

#: Eurostat's deviations from ISO 3166-1 alpha-2, in every Eurostat dataset.
EUROSTAT_COUNTRY: dict[str, str] = {"EL": "GR", "UK": "GB", "TOTAL": "WORLD"}

#: ISO 3166-1 alpha-2 codes officially assigned (249; ISO 3166 Maintenance Agency, as in the Debian
#: iso-codes database). Dependent territories with their own code (GL, PR, HK, ...) count as countries.
_ISO_3166_1_TEXT = """
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT
BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH
ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT
HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS
LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI
NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG
SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG
UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
"""
ISO_3166_1: frozenset[str] = frozenset(_ISO_3166_1_TEXT.split())
#: The codes :func:`is_country` accepts: ISO 3166-1 plus Kosovo ``XK`` (user-assigned; Eurostat, Comext and
#: GENESIS use it). Eurostat's ``EL``/``UK`` are not here: every reader maps them to GR/GB, so they never
#: reach a canonical frame (:data:`EUROSTAT_COUNTRY`).
COUNTRIES: frozenset[str] = ISO_3166_1 | {"XK"}

#: Kinds of non-country codes (column ``kind`` of non_country_codes.csv).
KINDS: dict[str, str] = {
    "world": "the source's total over all partners",
    "economic_area": "a union, customs union or trade area as a whole, or its intra/extra aggregate",
    "region": "a geographic region whose country the source does not give",
    "unspecified": "partner unknown or not specified",
    "confidential_aggregate": "partner withheld by the reporter (secret for commercial or military reasons)",
    "special": "not a territory: high seas, stores and provisions, bunkers, free zones",
    "subnational": "part of a country, reported apart from it (Ceuta, Northern Ireland, ...)",
    "historical": "a former country or area (ISO 3166-3 or Comtrade's historical areas)",
    "other": "anything else (a shared zone, an unexplained source code)",
}

#: The data file of the vocabulary (in the package data).
NON_COUNTRY_FILE = "non_country_codes.csv"

#: Source names of the vocabulary's ``sources`` column (the canonical ``source`` values), and aliases.
SOURCE_ALIASES: dict[str, str] = {"genesis": "destatis"}


@dataclass(frozen=True)
class NonCountry:
    """One non-country code: its kind (:data:`KINDS`), label, the sources that emit it, the
    source-native codes that map to it (``"comext:QU"``, ``"comtrade:899"``) and a note."""

    code: str
    kind: str
    label: str
    sources: tuple[str, ...]
    source_codes: tuple[str, ...]
    note: str

    @property
    def meaning(self) -> str:
        """Label and note in one phrase (the text of :data:`REGIONS`)."""
        return f"{self.label} ({self.note})" if self.note else self.label


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(";") if part.strip())


def _load_non_country() -> dict[str, NonCountry]:
    text = resources.files("oilflows.data").joinpath(NON_COUNTRY_FILE).read_text(encoding="utf-8")
    table: dict[str, NonCountry] = {}
    for row in csv.DictReader(text.splitlines()):
        code = row["code"].strip()
        if code in table:
            raise ValueError(f"{NON_COUNTRY_FILE}: {code} listed twice")
        if row["kind"] not in KINDS:
            raise ValueError(f"{NON_COUNTRY_FILE}: {code} has unknown kind {row['kind']!r}")
        if code in COUNTRIES:
            raise ValueError(f"{NON_COUNTRY_FILE}: {code} is a country code")
        table[code] = NonCountry(code, row["kind"], row["label"], _split(row["sources"]),
                                 _split(row["source_codes"]), row["note"])
    return table


#: Every non-country code oilflows emits (partners and reporters, all sources): code -> entry.
NON_COUNTRY: dict[str, NonCountry] = _load_non_country()

#: Non-country codes with their meaning: a view of :data:`NON_COUNTRY` kept for old imports.
REGIONS: dict[str, str] = {code: entry.meaning for code, entry in NON_COUNTRY.items()}
#: Reporter aggregates that contain EU or euro-area member states (never summed with a member): the
#: vocabulary's ``economic_area`` codes of the EU and the euro area, without the intra/extra flows.
#: Preferred order first (the aggregate an analytic reports when several are present), then the rest.
EU_AGGREGATES: tuple[str, ...] = tuple(dict.fromkeys(
    ["EU_V", "EU27_2020", "EU28", "EU27_2007", "EU27", "EU"]
    + sorted(code for code, entry in NON_COUNTRY.items()
             if entry.kind == "economic_area" and code.startswith(("EU", "EA"))
             and not code.endswith(("_EXTRA", "_INTRA")))))


def is_country(code: object) -> bool:
    """True only for the ISO 3166-1 alpha-2 code of a country (or Kosovo ``XK``): ``DE``, ``KZ``, ``GL``.

    False for ``WORLD``, aggregates (``EU``, ``EU27_2020``, ``EU_V``), regions, historical areas
    (``SUHH``, ``AN``), Eurostat's aliases ``EL``/``UK`` and any unassigned code (``AA``, ``XX``)."""
    return isinstance(code, str) and code in COUNTRIES


def is_non_country(code: object) -> bool:
    """True for a code known not to be a country: in :data:`NON_COUNTRY`, or not shaped like an ISO
    alpha-2 code (two upper-case letters).

    Not the negation of :func:`is_country`: an unassigned two-letter code (``AA``, the placeholders of
    hand-built and simulated frames) is neither. The analytics exclude what this function flags."""
    if not isinstance(code, str):
        return True
    return code in NON_COUNTRY or not (len(code) == 2 and code.isalpha() and code.isupper())


def non_country_codes(source: str | None = None) -> frozenset[str]:
    """The canonical non-country codes `source` emits (``"comext"``, ``"comtrade"``, ``"eurostat"``,
    ``"destatis"`` or its alias ``"genesis"``, ``"dg_ener"``, ``"published"``); all of them for None.

    A source the vocabulary does not name gives an empty set."""
    if source is None:
        return frozenset(NON_COUNTRY)
    source = SOURCE_ALIASES.get(source, source)
    return frozenset(code for code, entry in NON_COUNTRY.items() if source in entry.sources)


def kind(code: str) -> str | None:
    """``"country"`` for :func:`is_country` codes, the vocabulary's kind (:data:`KINDS`) for a
    non-country code, None for anything else (an unassigned or unknown code)."""
    if is_country(code):
        return "country"
    entry = NON_COUNTRY.get(code)
    return entry.kind if entry is not None else None


#: Prefix of an nrg_ti_coifpm `crudeoil` code (before "_" or "-") -> partner. Prefixes not listed here
#: are ISO alpha-2 already. AUH, DXB and SHJ are the emirates Abu Dhabi, Dubai and Sharjah; AG is
#: Argentina in Eurostat's crude-oil code list (ISO AG would be Antigua and Barbuda).
COIFPM_PREFIX: dict[str, str] = {
    **EUROSTAT_COUNTRY,
    "AUH": "AE", "DXB": "AE", "SHJ": "AE",
    "AG": "AR",
    "AFR": "AFRICA", "ASI": "ASIA", "EUR": "EUROPE", "LA": "LATAM", "ME": "MIDEAST",
    "NZ": "NEUTRAL_ZONE", "LRS": "LRS", "UNK": "UNKNOWN",
}

#: Eurostat SIEC codes -> oilflows product codes.
SIEC_PRODUCT: dict[str, str] = {
    "O4100_TOT": "crude_oil",
    "O4000": "oil_and_petroleum_products",
    "O4200": "natural_gas_liquids",
    "O4600": "petroleum_products",
}


def map_codes(codes: pd.Series, table: Mapping[str, str]) -> pd.Series:
    """Map `codes` through `table` (codes not in the table pass through), vectorized over unique values."""
    uniques, inverse = np.unique(codes.to_numpy(dtype=object).astype(str), return_inverse=True)
    mapped = np.array([table.get(u, u) for u in uniques], dtype=object)
    return pd.Series(mapped[inverse], index=codes.index, dtype=object)


def coifpm_partner(crudeoil: pd.Series) -> pd.Series:
    """Partner code of each nrg_ti_coifpm `crudeoil` code (``KZ_CPC_BLN`` -> ``KZ``, ``TOTAL`` -> WORLD)."""
    uniques, inverse = np.unique(crudeoil.to_numpy(dtype=object).astype(str), return_inverse=True)
    partners = np.array([COIFPM_PREFIX.get(p, p) for p in
                         (re.split(r"[_-]", code, maxsplit=1)[0] for code in uniques)], dtype=object)
    return pd.Series(partners[inverse], index=crudeoil.index, dtype=object)


#: Two-letter codes that are not countries although shaped like one (the vocabulary's two-letter codes:
#: EU, EA, EZ, UN, AN).
NOT_COUNTRIES: frozenset[str] = frozenset(c for c in NON_COUNTRY if len(c) == 2)


def is_iso_country(code: str) -> bool:
    """True for a two-letter upper-case code that is not a known non-country code (see
    :func:`is_non_country`); False for WORLD, aggregates and region codes. Kept for old callers:
    unlike :func:`is_country` it lets unassigned two-letter codes (``AA``) through."""
    return not is_non_country(code)

__all__ = ["COIFPM_PREFIX", "COUNTRIES", "EUROSTAT_COUNTRY", "EU_AGGREGATES", "ISO_3166_1", "KINDS",
           "NON_COUNTRY", "NON_COUNTRY_FILE", "NOT_COUNTRIES", "REGIONS", "SIEC_PRODUCT",
           "SOURCE_ALIASES", "NonCountry", "coifpm_partner", "is_country", "is_iso_country",
           "is_non_country", "kind", "map_codes", "non_country_codes"]
