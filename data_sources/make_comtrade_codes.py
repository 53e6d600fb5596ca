"""Generate oilflows/sources/comtrade_codes.csv: UN Comtrade country/area codes -> oilflows partner codes.

Usage::

    pip install pycountry            # needed here only; oilflows never imports pycountry
    python data_sources/make_comtrade_codes.py [--out oilflows/sources/comtrade_codes.csv]

How the table is built
----------------------
1. Every current ISO 3166-1 country from ``pycountry`` (the Debian iso-codes database): its numeric
   code (UN M49 for countries) -> its alpha-2 code. This is the authoritative offline source.
2. Comtrade's own deviations (:data:`COMTRADE_DEVIATIONS`, typed below) override or extend it.
   They were read off Comtrade's partner-area reference list (``partnerAreas.json``, served at
   ``https://comtradeapi.un.org/files/v1/app/reference/partnerAreas.json``; a copy of the legacy
   list is in the public repository sashakrasnov/uncomtrade @ 084154f2, ``partnerAreas.json``):
   - countries Comtrade codes differently from ISO because its area includes a neighbour:
     251 France (with Monaco), 381 Italy, 579 Norway (with Svalbard and Jan Mayen), 699 India,
     757 Switzerland (with Liechtenstein), 842 USA (with Puerto Rico and the US Virgin Islands);
   - 490 "Other Asia, nes", which Comtrade uses for Taiwan -> TW;
   - 492 is "Europe EU, nes" in Comtrade but Monaco in ISO: Comtrade's meaning wins;
   - historical areas: ISO 3166-3 four-letter codes where ISO has one (810 USSR -> SUHH, ...), the
     alpha-2 of the same country where only ISO's numeric code changed (280 Fmr Fed. Rep. of
     Germany -> DE, like ISO's own history), and a documented upper-case code otherwise;
   - 0 World -> WORLD; "nes" areas, bunkers, free zones and special categories -> region codes
     (three or more letters, never an ISO alpha-2 code), documented in
     ``oilflows.sources.comtrade.COMTRADE_REGIONS``.

Columns of the CSV: ``comtrade_code`` (int), ``oilflows_code``, ``name``, ``request`` (1 for the one
Comtrade code fetch sends for that oilflows code), ``basis`` (``iso3166-1``, ``iso3166-3``,
``comtrade``, ``oilflows``). The output is deterministic (sorted by code).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "oilflows" / "sources" / "comtrade_codes.csv"
COLUMNS = ("comtrade_code", "oilflows_code", "name", "request", "basis")

#: Comtrade code -> (oilflows code, Comtrade's name, request, basis). ``request`` True: fetch sends
#: this code for the oilflows code (it replaces the ISO numeric code); False: read-only (historical
#: or a duplicate); None: the only code of its oilflows code, so it is the request code.
COMTRADE_DEVIATIONS: dict[int, tuple[str, str, bool | None, str]] = {
    0: ("WORLD", "World", None, "oilflows"),
    # Countries whose Comtrade area differs from ISO (the ISO numeric code stays readable).
    251: ("FR", "France", True, "comtrade"),
    381: ("IT", "Italy", True, "comtrade"),
    579: ("NO", "Norway", True, "comtrade"),
    699: ("IN", "India", True, "comtrade"),
    757: ("CH", "Switzerland", True, "comtrade"),
    842: ("US", "USA", True, "comtrade"),
    490: ("TW", "Other Asia, nes", True, "comtrade"),
    97: ("EU", "European Union", None, "comtrade"),
    # Historical areas whose ISO alpha-2 did not change (only the numeric code did).
    280: ("DE", "Fmr Fed. Rep. of Germany", False, "comtrade"),
    841: ("US", "USA (before 1981)", False, "comtrade"),
    230: ("ET", "Fmr Ethiopia", False, "comtrade"),
    736: ("SD", "Fmr Sudan", False, "comtrade"),
    886: ("YE", "Fmr Arab Rep. of Yemen", False, "comtrade"),
    588: ("PK", "East and West Pakistan", False, "comtrade"),
    590: ("PA", "Fmr Panama, excl.Canal Zone", False, "comtrade"),
    # Historical areas with an ISO 3166-3 four-letter code.
    80: ("BQAQ", "Br. Antarctic Terr.", None, "iso3166-3"),
    200: ("CSHH", "Czechoslovakia", None, "iso3166-3"),
    278: ("DDDE", "Fmr Dem. Rep. of Germany", None, "iso3166-3"),
    530: ("ANHH", "Neth. Antilles", None, "iso3166-3"),
    536: ("NEUTRAL_ZONE", "Neutral Zone", None, "oilflows"),  # ISO 3166-3 NTHH; oilflows region
    582: ("PCHH", "Fmr Pacific Isds", None, "iso3166-3"),
    592: ("PZPA", "Fmr Panama-Canal-Zone", None, "iso3166-3"),
    698: ("SKIN", "Sikkim", None, "iso3166-3"),
    720: ("YDYE", "Fmr Dem. Yemen", None, "iso3166-3"),
    810: ("SUHH", "Fmr USSR", None, "iso3166-3"),
    849: ("PUUM", "US Misc. Pacific Isds", None, "iso3166-3"),
    866: ("VDVN", "Fmr Dem. Rep. of Vietnam", None, "iso3166-3"),
    890: ("YUCS", "Fmr Yugoslavia", None, "iso3166-3"),
    891: ("CSXX", "Serbia and Montenegro", None, "iso3166-3"),
    # Historical areas without an ISO code.
    58: ("BELUX", "Belgium-Luxembourg", None, "oilflows"),
    457: ("SARAWAK", "Sarawak", None, "oilflows"),
    459: ("MALAYA", "Peninsula Malaysia", None, "oilflows"),
    461: ("SABAH", "Sabah", None, "oilflows"),
    532: ("ANT_ABW", "Neth. Antilles and Aruba", None, "oilflows"),
    647: ("RYUKYU", "Ryukyu Isd", None, "oilflows"),
    658: ("KNA_AIA", "Saint Kitts, Nevis and Anguilla", None, "oilflows"),
    717: ("RHODESIA_NYASALAND", "Fmr Rhodesia Nyas", None, "oilflows"),
    835: ("TANGANYIKA", "Fmr Tanganyika", None, "oilflows"),
    836: ("ZANZIBAR", "Fmr Zanzibar and Pemba Isd", None, "oilflows"),
    868: ("SOUTH_VIETNAM", "Fmr Rep. of Vietnam", None, "oilflows"),
    # Areas "not elsewhere specified", groupings and special categories.
    899: ("UNKNOWN", "Areas, nes", None, "oilflows"),
    577: ("AFRICA", "Other Africa, nes", None, "oilflows"),
    568: ("EUROPE", "Other Europe, nes", None, "oilflows"),
    290: ("NORTH_AFRICA", "Northern Africa, nes", None, "oilflows"),
    472: ("CAMEU", "Africa CAMEU region, nes", None, "oilflows"),
    711: ("SACU", "So. African Customs Union", None, "oilflows"),
    221: ("EASTERN_EUROPE", "Eastern Europe, nes", None, "oilflows"),
    492: ("EU_NES", "Europe EU, nes", None, "oilflows"),  # ISO 492 is Monaco (in France 251 here)
    697: ("EFTA_NES", "Europe EFTA, nes", None, "oilflows"),
    879: ("WESTERN_ASIA", "Western Asia, nes", None, "oilflows"),
    527: ("OCEANIA", "Oceania, nes", None, "oilflows"),
    129: ("CARIBBEAN", "Caribbean, nes", None, "oilflows"),
    471: ("CACM", "CACM, nes", None, "oilflows"),
    473: ("LAIA", "LAIA, nes", None, "oilflows"),
    636: ("AMERICA", "Rest of America, nes", None, "oilflows"),
    637: ("NORTH_CENTRAL_AMERICA", "North America and Central America, nes", None, "oilflows"),
    837: ("BUNKERS", "Bunkers", None, "oilflows"),
    838: ("FREE_ZONES", "Free Zones", None, "oilflows"),
    839: ("SPECIAL_CATEGORIES", "Special Categories", None, "oilflows"),
}


def iso_rows() -> dict[int, dict[str, object]]:
    """ISO 3166-1 countries from pycountry: numeric code -> row (read-only here, never at runtime)."""
    try:
        import pycountry
    except ImportError:  # pragma: no cover - a message for the person running the script
        raise SystemExit("pycountry is needed to generate the table: pip install pycountry") from None
    rows = {}
    for country in pycountry.countries:
        code = int(country.numeric)
        rows[code] = {"comtrade_code": code, "oilflows_code": country.alpha_2, "name": country.name,
                      "request": 1, "basis": "iso3166-1"}
    return rows


def build() -> list[dict[str, object]]:
    """The table rows, sorted by Comtrade code; every oilflows code has exactly one request code."""
    rows = iso_rows()
    replaced = {oil for oil, _, request, _ in COMTRADE_DEVIATIONS.values() if request}
    for row in rows.values():  # an ISO numeric code superseded by Comtrade's own code
        if row["oilflows_code"] in replaced:
            row["request"] = 0
    for code, (oil, name, request, basis) in COMTRADE_DEVIATIONS.items():
        rows[code] = {"comtrade_code": code, "oilflows_code": oil, "name": name,
                      "request": 0 if request is False else 1, "basis": basis}
    table = [rows[code] for code in sorted(rows)]
    counts: dict[str, int] = {}
    for row in table:
        counts[row["oilflows_code"]] = counts.get(row["oilflows_code"], 0) + int(row["request"])
    wrong = {oil: n for oil, n in counts.items() if n != 1}
    if wrong:
        raise SystemExit(f"every oilflows code needs exactly one request code; found {wrong}")
    return table


def write(table: list[dict[str, object]], out: Path) -> None:
    """Write the rows as UTF-8 CSV with a header and ``\\n`` line ends."""
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    table = build()
    write(table, args.out)
    print(f"wrote {len(table)} codes to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
