"""GENESIS code tables of 51000-0017: contents, units, STLAH codes and country names.

The tables themselves are data under ``oilflows/data`` (``genesis_countries.csv``,
``genesis_country_names.csv``, ``genesis_stlah_iso.csv``), read at import;
this module holds the small mappings and the lookups.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from importlib import resources

# -- table 51000-0017: codes ------------------------------------------------------------------------

SOURCE = "destatis"
#: The tables :func:`read` and :func:`fetch` know.
TABLES: tuple[str, ...] = ("51000-0017",)


def _data_rows(filename: str, columns: list[str]) -> list[dict[str, str]]:
    """The rows of the CSV `filename` under ``oilflows/data`` (its header must be `columns`)."""
    with resources.files("oilflows.data").joinpath(filename).open("r", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != columns:
            raise ValueError(f"{filename}: columns {reader.fieldnames}, expected {columns}")
        return list(reader)


def _read_names(filename: str) -> dict[str, tuple[str, ...]]:
    """ISO alpha-2 -> country names, in file order, from a CSV of ``iso,name`` rows."""
    names: dict[str, list[str]] = {}
    for row in _data_rows(filename, ["iso", "name"]):
        names.setdefault(row["iso"], []).append(row["name"])
    return {iso: tuple(labels) for iso, labels in names.items()}


def _read_stlah_iso(filename: str) -> dict[str, str]:
    """STLAH code -> ISO alpha-2 from a CSV of ``stlah,iso`` rows (codes unique)."""
    table: dict[str, str] = {}
    for row in _data_rows(filename, ["stlah", "iso"]):
        if row["stlah"] in table:
            raise ValueError(f"{filename}: {row['stlah']} is listed twice")
        table[row["stlah"]] = row["iso"]
    return table


#: Contents of 51000-0017 that oilflows reads -> (flow, measure). Codes from the official notebook
#: ``python_tablefile_contents.ipynb`` (sources.md 4.2).
CONTENTS: dict[str, tuple[str, str]] = {
    "GEWE": ("import", "mass"),  # Einfuhr: Gewicht
    "WERTE": ("import", "value_eur"),  # Einfuhr: Wert
    "WERTES": ("import", "value_usd"),  # Einfuhr: Wert (US-Dollar)
    "GEWA": ("export", "mass"),  # Ausfuhr: Gewicht
    "WERTA": ("export", "value_eur"),  # Ausfuhr: Wert
    "WERTAS": ("export", "value_usd"),  # Ausfuhr: Wert (US-Dollar)
}
#: Contents read but not kept: the supplementary unit ("Besondere Maßeinheit", e.g. pieces), which has
#: no column in the canonical frame (crude oil has none).
DROPPED_CONTENTS: dict[str, str] = {
    "BME": "Einfuhr: Besondere Maßeinheit", "BMA": "Ausfuhr: Besondere Maßeinheit",
}
#: Measure -> accepted ``value_unit`` strings -> factor to the canonical unit (tonnes, EUR, USD). "Tsd.
#: EUR" and "Tsd. US $" are in the notebook's output [V] and in real German answers of 51000-0010 (new
#: layout; the old layout writes "Tsd._EUR", read as "Tsd. EUR", in both languages); real English answers
#: of the new layout write "EUR 1000" and "US-$ 1000" [V]; "t" is the weight unit in all four real files
#: [V]. Any other unit raises: never assumed.
UNITS: dict[str, dict[str, float]] = {
    "mass": {"t": 1.0},
    "value_eur": {"Tsd. EUR": 1000.0, "EUR 1000": 1000.0},
    "value_usd": {"Tsd. US $": 1000.0, "US-$ 1000": 1000.0},
}
CURRENCY: dict[str, str] = {"value_eur": "EUR", "value_usd": "USD"}
#: CN headings whose 8-digit codes are product ``crude_oil`` (HS 2709: crude petroleum oils, including
#: natural-gas condensates 2709 00 10); the CN8 code becomes the ``grade``.
CRUDE_HEADINGS: tuple[str, ...] = ("2709",)
_WA8 = re.compile(r"^WA(\d{8})$")
_WA4 = re.compile(r"^WA(\d{4})$")
#: The dimensions :func:`read` needs per table: 51000-0017 is monthly by country and CN8; 51000-0010
#: (the yearly table by country and 4-digit goods code, whose real answers pystatis recorded) is read
#: the same way with ``freq="A"``.
READ_DIMENSIONS: dict[str, tuple[str, ...]] = {"51000-0017": ("MONAT", "STLAH", "WAM8"),
                                               "51000-0010": ("STLAH", "WAM4")}
_MONTH = re.compile(r"^MONAT(0[1-9]|1[0-2])$")
_STLAH = re.compile(r"^STLAH\d{3}$")

#: STLAH code -> ISO alpha-2: the cross-check of the country labels and the request key of an ISO code.
#: STLAH is "STLAH" + the 3-digit geonomenclature (GEONOM) number. Verified [V] in the official
#: notebook's ``catalogue/values2variable`` output: STLAH003 Niederlande, STLAH478 Niederländische
#: Antillen (bis 2012). All others were inferred from the GEONOM numbering (sources.md 4.2 infers
#: KZ 079 and RU 075) and are now checked [V] against real answers of table 51000-0010 (pystatis
#: recordings, the whole STLAH list; ``oilflows/data/genesis_countries.csv``): Sweden, Finland and
#: Austria are 013/014/015 there (the inferred 030/032/038 were wrong). A wrong code cannot pass
#: silently: :func:`read` raises when a listed code carries another country's label. Check the list
#: live with ``verify_stlah(stlah_catalogue())``.
STLAH_ISO_FILE = "genesis_stlah_iso.csv"
STLAH_ISO: dict[str, str] = _read_stlah_iso(STLAH_ISO_FILE)
#: The codes of :data:`STLAH_ISO` seen in an official GENESIS answer (all of them: every code of
#: :data:`STLAH_ISO` is in the real 51000-0010 answers, with the listed country's label).
STLAH_VERIFIED: frozenset[str] = frozenset(STLAH_ISO)
#: ISO alpha-2 -> STLAH code (the reverse of :data:`STLAH_ISO`), for ``fetch(countries=["KZ"])``.
ISO_STLAH: dict[str, str] = {iso: code for code, iso in STLAH_ISO.items()}

#: ISO 3166-1 alpha-2 -> the country names GENESIS may print as a STLAH label: German and English
#: (ISO 3166 names and their German translation from the iso-codes project, plus Destatis-style and
#: common variants). Kosovo is XK; the Netherlands Antilles (dissolved 2010, STLAH478) keep AN.
COUNTRY_NAMES_FILE = "genesis_country_names.csv"
COUNTRY_NAMES_BY_ISO: dict[str, tuple[str, ...]] = _read_names(COUNTRY_NAMES_FILE)


def _name_key(label: str) -> str:
    """A country label normalised for lookup: NFC, one space, straight apostrophe, case-folded."""
    text = unicodedata.normalize("NFC", label).replace("\u2019", "'")
    return " ".join(text.split()).casefold()


def _name_table(by_iso: Mapping[str, Iterable[str]]) -> dict[str, str]:
    table: dict[str, str] = {}
    for iso, names in by_iso.items():
        for label in names:
            key = _name_key(label)
            if table.setdefault(key, iso) != iso:
                raise ValueError(f"country name {label!r} is listed for {table[key]} and {iso}")
    return table


#: Normalised country label (German or English) -> ISO alpha-2, built from :data:`COUNTRY_NAMES_BY_ISO`.
COUNTRY_NAMES: dict[str, str] = _name_table(COUNTRY_NAMES_BY_ISO)
#: A date in a validity note: ``1998``, ``05/1992``, ``01.05.1992``, ``1992-05``, ``Mai 1992``.
_DATE = r"(?:(?:\d{1,2}[./]){1,2}\d{4}|\d{4}(?:-\d{1,2}){0,2}|[^\W\d_]{3,}\.?\s+\d{4})"
#: A validity note GENESIS appends to a label, in either language: ``(ab 05/1992)``, ``(bis 1998)``,
#: ``(since 05/1992)``, ``(until 04/1992)``, ``(from 2001)``, ``(05/1992 bis 12/1992)``,
#: ``(01/1993 - 05/2005)`` are in the real answers; ``seit``, ``vom``/``von``, ``to``/``till`` and the
#: date forms of :data:`_DATE` are accepted as well. A note without a date (``(Vatikanstadt)``) is kept.
_VALIDITY_NOTE = re.compile(
    rf"\s*\(\s*(?:(?:ab|bis|seit|vom|von|since|until|from|till|to|before|after)\s+)?{_DATE}"
    rf"(?:\s*(?:bis|-|\u2013|to|till|until)\s*{_DATE})?\s*\)\s*$", re.IGNORECASE)
#: The old name of :data:`_VALIDITY_NOTE`.
_ANNOTATION = _VALIDITY_NOTE


def strip_validity_note(label: str) -> str:
    """`label` without a trailing validity note: ``"Kasachstan (ab 05/1992)"`` -> ``"Kasachstan"``,
    ``"Yugoslavia (05/1992 - 12/1992)"`` -> ``"Yugoslavia"``; other parentheses are kept."""
    return _VALIDITY_NOTE.sub("", label)


#: The country list of the foreign-trade statistics (variable STLAH, shared by 51000-0010 and 51000-0017)
#: with German and English labels exactly as GENESIS prints them, from real answers (see
#: ``data_sources/destatis_genesis.md``). Columns ``stlah, label_de, label_en, partner, note``;
#: ``partner`` is ISO 3166-1 alpha-2 or a non-country code (``BELUX``, ``SUHH``, ``NOT_SPECIFIED`` ...).
COUNTRIES_FILE = "genesis_countries.csv"
_COUNTRY_COLUMNS = ["stlah", "label_de", "label_en", "partner", "note"]


def _country_list() -> list[dict[str, str]]:
    rows = _data_rows(COUNTRIES_FILE, _COUNTRY_COLUMNS)
    codes = Counter(row["stlah"] for row in rows)
    partners = Counter(row["partner"] for row in rows)
    bad = [r["stlah"] for r in rows if not _STLAH.match(r["stlah"]) or not r["partner"]
           or codes[r["stlah"]] > 1 or partners[r["partner"]] > 1]
    if bad:
        raise ValueError(f"{COUNTRIES_FILE}: bad, repeated or unmapped rows {bad[:5]}")
    return rows


def _list_tables(rows: Iterable[Mapping[str, str]]) -> tuple[dict[str, str], dict[str, frozenset[str]], dict]:
    """(STLAH code -> partner, STLAH code -> its label keys, label key -> partner). Labels are keyed as
    printed and without their validity note; a note-less name that two codes share (``Jugoslawien``,
    048 until 04/1992 and 090 in 1992) is left out of the name table (the code tells them apart)."""
    partner_of: dict[str, str] = {}
    labels_of: dict[str, frozenset[str]] = {}
    names: dict[str, set[str]] = {}
    for row in rows:
        keys = {_name_key(text) for label in (row["label_de"], row["label_en"])
                for text in (label, strip_validity_note(label))}
        partner_of[row["stlah"]], labels_of[row["stlah"]] = row["partner"], frozenset(keys)
        for key in keys:
            names.setdefault(key, set()).add(row["partner"])
    return partner_of, labels_of, {key: p.pop() for key, p in names.items() if len(p) == 1}


#: STLAH code -> partner (ISO alpha-2 or non-country code), code -> label keys, label key -> partner:
#: from :data:`COUNTRIES_FILE`.
STLAH_PARTNER, STLAH_LABELS, LIST_NAMES = _list_tables(_country_list())


def country_iso(label: str) -> str | None:
    """Partner code of a GENESIS country label (German or English): ISO alpha-2, or a non-country code
    of the country list (``"Belgien und Luxemburg (bis 1998)"`` -> ``BELUX``); None if unknown.

    ``country_iso("Kasachstan (ab 05/1992)")`` and ``country_iso("Kazakhstan")`` give ``"KZ"``. The
    label is looked up as printed, then without its validity note (:func:`strip_validity_note`), first
    in the GENESIS country list, then in :data:`COUNTRY_NAMES`.
    """
    key = _name_key(label)
    stripped = _name_key(strip_validity_note(label))
    for table, text in ((LIST_NAMES, key), (COUNTRY_NAMES, key), (LIST_NAMES, stripped),
                        (COUNTRY_NAMES, stripped)):
        if text in table:
            return table[text]
    return None
