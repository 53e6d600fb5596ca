"""Code maps: the source's country, region and product codes -> oilflows codes, as visible tables.

Partners and reporters are ISO 3166-1 alpha-2 wherever the source means a country. A source's total over
all partners is ``WORLD``. Regions, zones and unknown origins get a code of three or more letters that is
never an ISO alpha-2 code (see :data:`REGIONS`). Aggregate reporters (``EU_V``, ``EU27_2020``) keep the
source's code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

#: Eurostat's deviations from ISO 3166-1 alpha-2, in every Eurostat dataset.
EUROSTAT_COUNTRY: dict[str, str] = {"EL": "GR", "UK": "GB", "TOTAL": "WORLD"}

#: Non-country partner codes oilflows uses, with their meaning.
REGIONS: dict[str, str] = {
    "WORLD": "the source's total over all partners",
    "AFRICA": "Africa, origin not specified further (Eurostat crudeoil prefix AFR)",
    "ASIA": "Asia, origin not specified further (Eurostat crudeoil prefix ASI)",
    "EUROPE": "Europe, origin not specified further (Eurostat crudeoil prefix EUR)",
    "LATAM": "Latin America, origin not specified further (Eurostat crudeoil prefix LA; not Laos)",
    "MIDEAST": "Middle East, origin not specified further (Eurostat crudeoil prefix ME; not Montenegro)",
    "NEUTRAL_ZONE": "Saudi-Kuwaiti Neutral (Partitioned) Zone (Eurostat prefix NZ; not New Zealand)",
    "LRS": "Eurostat crudeoil prefix LRS (grade LRS_MED), not explained in Eurostat's code list",
    "FSU": "former Soviet Union, country not specified (register: 'Other FSU countries')",
    "UNKNOWN": "origin unknown (Eurostat crudeoil UNK; register 'Unknown' / 'Other')",
}

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


#: Two-letter codes that are not countries (ISO 3166-1 "exceptionally reserved" or aggregates).
NOT_COUNTRIES = frozenset({"EU", "EA", "UN", "EZ"})


def is_iso_country(code: str) -> bool:
    """True for a two-letter upper-case code (ISO 3166-1 alpha-2 shape) that is not an aggregate
    (EU, EA, ...); False for WORLD and region codes."""
    return len(code) == 2 and code.isalpha() and code.isupper() and code not in NOT_COUNTRIES
