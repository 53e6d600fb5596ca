"""Destatis GENESIS-Online: ``parse_ffcsv`` flat files, ``read`` foreign-trade table 51000-0017, ``fetch``.

GENESIS-Online is the database of the Federal Statistical Office (Destatis). Table **51000-0017** is the
monthly foreign trade of Germany by country (``STLAH``) and 8-digit goods code (``WAM8``, ``WA`` + CN8);
its contents are ``GEWE``/``WERTE``/``WERTES``/``BME`` (imports: weight, value in EUR, value in USD,
supplementary unit) and ``GEWA``/``WERTA``/``WERTAS``/``BMA`` (exports). ``read`` returns the canonical
frame (``source="destatis"``, ``dataset="51000-0017"``; the yearly table 51000-0010 as well, with
``freq="A"``), ``parse_ffcsv`` any GENESIS flat file as a long frame, ``fetch`` downloads through the REST
web service (sources.md section 4).

Country labels, as real answers write them (fixtures recorded by the pystatis project,
``tests/fixtures/genesis/real/``): a ``STLAH`` code is looked up in ``oilflows/data/genesis_countries.csv``
(all 262 codes of the foreign-trade statistics, German and English labels, the ISO code or a declared
non-country code); validity notes such as ``(ab 05/1992)``, ``(since 05/1992)`` or ``(01/1993 - 05/2005)``
are stripped before the label is checked against that code; official long names (``Islamische Republik
Iran``) and historical aggregates (``Belgien und Luxemburg`` -> ``BELUX``) come from the same list. Units
are accepted in both languages (``Tsd. EUR``/``EUR 1000``, ``Tsd. US $``/``US-$ 1000``, ``t``). The old
layout is read with or without its ``__q`` quality columns, and the English old layout's repeated
``<n>_variable_code`` header names are read by position.

The flat-file CSV ("ffcsv"), as found in the real samples
-------------------------------------------------------
- Delivered as a ZIP holding exactly one ``*_flat.csv`` (the plain CSV is read as well); UTF-8 with a
  byte-order mark; ``;`` separator; one line per row, no quoting seen.
- **New layout** (2024/25): fixed English headers ``statistics_code;statistics_label;time_code;
  time_label;time``, then four columns per dimension ``<n>_variable_code;<n>_variable_label;
  <n>_variable_attribute_code;<n>_variable_attribute_label`` (n = 1, 2, ...), then ``value;value_unit;
  value_variable_code;value_variable_label`` and, in the German 2024 sample, ``value_q``. The two real
  English recordings of 2025/2026 (restatis) have **no** ``value_q`` column; both variants are accepted.
  One value per row; rows are unsorted. The dimension order is not fixed (in a monthly table ``MONAT``
  may come first), so dimensions are always found by their variable **code**, never by position.
- **Old layout** (before 2024): German headers ``Statistik_Code;...;Zeit;<n>_Merkmal_Code;
  <n>_Merkmal_Label;<n>_Auspraegung_Code;<n>_Auspraegung_Label`` and then one column pair per
  content, ``CODE__Label__unit`` + ``CODE__Label__q``; a derived content (``Label__CH0004``, the change
  on the previous year) is ``Label__OPERATOR`` + ``Label__OPERATOR__q``. It is melted to the new long shape
  (``value_operator`` keeps the operator code).
- In the new layout two contents can share ``value_variable_code``: 61111-0001 gives both the index
  (unit ``2020=100``) and its change (unit ``%``, label ``in``) as ``PREIS1``; the unit tells them apart.
- Any other column set raises :class:`SourceFormatError` naming the unexpected or missing columns.
- Decimal separator: comma for ``language=de``, point for ``en``. It is detected from the cells (see
  :func:`parse_ffcsv`); a cell that parses under neither convention raises.
- Special signs (Destatis "Zeichenerklärung"): ``-`` nichts vorhanden (nothing: **exactly zero**),
  ``0`` less than half the last unit but more than nothing (a number), ``.`` unknown or secret,
  ``x``/``X`` cell locked (not meaningful), ``/`` not reliable enough, ``...`` available later,
  ``(n)`` limited reliability (the number is kept). See :data:`SPECIAL_VALUES`.
- ``value_q`` (and the old ``__q`` columns) is a quality mark, e.g. ``e`` (final); kept verbatim by
  :func:`parse_ffcsv`. :func:`read` accepts only the marks of :data:`QUALITY_MARKS` (``e`` as in the real
  samples, sources.md 4.3; ``p``/``r``/``s`` from the Destatis sign legend) and raises
  :class:`SourceFormatError` on any other (``xc`` would put a confidential ``c`` beside a number).

Decision on ``-`` (documented deviation from sources.md 4, "What a robust client must handle", item 3)
-----------------------------------------------------------------------------------------------------
sources.md lists ``-`` among the signs to map "to missing". The Destatis sign legend ("Zeichenerklärung",
printed in every Destatis publication) defines ``-`` as "nichts vorhanden" (nothing there, *genau
null*) and distinguishes it from ``0`` ("weniger als die Hälfte von 1 in der letzten besetzten Stelle,
jedoch mehr als nichts") and from ``.`` ("Zahlenwert unbekannt oder geheim zu halten"). A ``-`` is
therefore an observed zero, not a missing value: a month in which no crude came from a country must
read as 0 t, not as "undisclosed" (which would inflate the undisclosed residual of the analytics).
oilflows reads ``-`` as **0.0** and keeps the sign in ``special`` (long frame) and in the canonical
``flag`` (``"-"``), so the choice is visible and reversible. ``.``, ``x``, ``/`` and ``...`` become
null with a reason; ``.`` becomes the canonical confidential flag ``c`` (sources.md 7 lists ``.`` as
GENESIS's confidentiality sign); the others keep their sign as flag.

51000-0017 -> canonical frame (:func:`read`)
--------------------------------------------
- ``period``: year from ``time`` + month from the ``MONAT`` attribute code (``MONAT01`` .. ``MONAT12``).
- ``partner``: from the country **label** through :data:`COUNTRY_NAMES` (German and English names ->
  ISO 3166-1 alpha-2); the ``STLAH`` code is cross-checked against :data:`STLAH_ISO` where listed. An
  unknown label, or a code whose listed country differs from its label's, raises
  :class:`SourceFormatError` naming both. Two codes that map to one partner raise as well.
- ``product``: ``crude_oil`` for CN 2709 (``WA27090010`` natural-gas condensates, ``WA27090090`` other
  crude); each CN8 code is kept as ``grade`` (``CN27090010``, ``CN27090090``) and **not summed**: the
  canonical frame has no commodity-code column and ``grade`` is the sub-division of a product whose
  sum is the product (docs/schema.md), so the HS 2709 total is the sum over the two grades. Any other
  CN8 code becomes product ``cn8_<code>`` with grade null.
- ``flow``/measures (:data:`CONTENTS`): ``GEWE``/``GEWA`` -> ``mass_t`` (unit ``t``, checked),
  ``WERTE``/``WERTA`` -> ``value`` in EUR (unit ``Tsd. EUR``, multiplied by 1000), ``WERTES``/``WERTAS`` ->
  ``value`` in USD only when the file has no EUR value for that flow. ``BME``/``BMA`` (supplementary
  units) are dropped. Units are read from ``value_unit`` and checked against :data:`UNITS`, never assumed.
- ``flag``: the special-sign flag (:data:`CANONICAL_FLAG`) followed by ``value_q`` of the row's mass cell
  (of the value cell when the file has no mass content), e.g. ``"e"``, ``"-e"``, ``"c"``.
- ``vintage``: the flat file carries no release stamp, so it is null unless passed (``vintage=``).
  GENESIS overwrites provisional months in place; a re-fetch with a null vintage replaces the stored
  rows (the store's tie rule); pass a retrieval stamp to keep a revision history instead.

Web service (:func:`fetch`)
---------------------------
``fetch("51000-0017", *, reporter=None, partner=None, product=None, start=None, end=None, base_url=None,
token=None, ...)`` is the fetch signature of every source (docs/fetching.md): `partner` -> ``STLAH``,
`product` -> ``WAM8``, `start`/`end` (``YYYY`` or ``YYYY-MM``) -> ``startyear``/``endyear`` and the
``MONAT`` keys; the token comes from ``token=`` or :func:`oilflows.http.credential`.
POST (never GET) to ``.../genesisWS/rest/2020/data/tablefile`` with a form-encoded body; the API token
goes in the ``username`` header with an empty ``password`` header, read from ``token=`` or the
``GENESIS_TOKEN`` environment variable. The token is never logged and is scrubbed from every error
message; responses are not cached (a request carrying a credential never reaches the HTTP cache).
The response is dispatched on its Content-Type: ``application/json`` is a status message even on
HTTP 200 (0/22 success, 98 too big -> split and retry, 99 job created -> :class:`FetchError`, 104 no data
-> empty frame); ``application/zip`` or ``text/csv`` is data. Requests are planned to stay under the
40,000-value dialog limit and sent one after another (GENESIS allows at most 3 in parallel).
:func:`last_update` asks ``catalogue/modifieddata`` when a table was last changed (sources.md 4, item 6),
with the same POST, token and status handling.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from importlib import resources

import numpy as np
import pandas as pd

from .._io import (
    Source,
    check_zip,
    gunzip_if_needed,
    markup_title,
    read_bytes,
    read_zip_member,
    sniff_text_kind,
)
from ..errors import FetchError, QueryError, SourceFormatError, UnknownDatasetError
from ..schema import COLUMNS, MAX_ABS_VALUE, PERIOD_YEARS, conform, empty_frame, validate
from ._fetch import TooBig, call_text, check_periods, credential, deprecated, fetch_split, month_index

SOURCE = "destatis"
#: The tables :func:`read` and :func:`fetch` know.
TABLES: tuple[str, ...] = ("51000-0017",)

# -- flat-file layouts ------------------------------------------------------------------------------

#: New layout (2024/25): fixed leading columns, four per dimension, then the value columns.
NEW_PREFIX: tuple[str, ...] = ("statistics_code", "statistics_label", "time_code", "time_label", "time")
NEW_GROUP: tuple[str, ...] = (
    "{n}_variable_code", "{n}_variable_label", "{n}_variable_attribute_code",
    "{n}_variable_attribute_label",
)
NEW_SUFFIX: tuple[str, ...] = ("value", "value_unit", "value_variable_code", "value_variable_label")
NEW_QUALITY = "value_q"
#: Old layout (before 2024): German leading columns and dimension groups -> their new-layout names.
OLD_PREFIX: dict[str, str] = {
    "Statistik_Code": "statistics_code", "Statistik_Label": "statistics_label",
    "Zeit_Code": "time_code", "Zeit_Label": "time_label", "Zeit": "time",
}
OLD_GROUP: dict[str, str] = {
    "{n}_Merkmal_Code": "{n}_variable_code", "{n}_Merkmal_Label": "{n}_variable_label",
    "{n}_Auspraegung_Code": "{n}_variable_attribute_code",
    "{n}_Auspraegung_Label": "{n}_variable_attribute_label",
}
_OLD_OPERATOR = re.compile(r"^CH\d{4}$")
#: Old layout as GENESIS writes it in English (real answers of 51000-0010 recorded by pystatis, 2024):
#: the new layout's leading names, but each dimension group is ``<n>_variable_code;<n>_variable_label;
#: <n>_variable_code;<n>_variable_code`` (code, label, attribute code, attribute label: the names repeat,
#: so these columns are read by position), followed by old-layout content columns.
OLD_EN_GROUP: tuple[str, ...] = ("{n}_variable_code", "{n}_variable_label", "{n}_variable_code",
                                 "{n}_variable_code")
_OLD_EN_REPEAT = re.compile(r"^\d+_variable_code$")
#: The quality partner of an old-layout content column (``CODE__Label__q``).
OLD_QUALITY_SUFFIX = "__q"
#: Most dimensions a flat file may have: GENESIS tables have a handful (51000-0017 four); a header
#: naming more is refused before its columns are handled (a hostile header of 100,000 columns).
MAX_DIMENSIONS = 100

#: Special signs of German official statistics -> (number, reason). ``-`` is an observed zero
#: ("nichts vorhanden"); the others are missing. See the module docstring for the decision on ``-``.
SPECIAL_VALUES: dict[str, tuple[float, str]] = {
    "-": (0.0, "nothing (exactly zero)"),
    ".": (np.nan, "unknown or secret"),
    "x": (np.nan, "not applicable (cell locked)"),
    "X": (np.nan, "not applicable (cell locked)"),
    "/": (np.nan, "not reliable enough"),
    "...": (np.nan, "available later"),
}
#: The reason of a number in parentheses, ``(12,3)``: kept, flagged.
LIMITED_RELIABILITY = "limited reliability"
#: GENESIS quality marks (``value_q``, the old ``__q`` columns) :func:`read` accepts, kept as the flag's
#: suffix. ``e`` is in the real samples (sources.md 4.3, "e = final"); ``p``, ``r``, ``s`` are the
#: Destatis sign legend's "vorläufige/berichtigte/geschätzte Zahl" [U: not seen in a value_q]. Any
#: other mark raises: the flag vocabulary stays known, and no mark can add a confidential ``c``.
QUALITY_MARKS: dict[str, str] = {"e": "final", "p": "provisional", "r": "revised", "s": "estimated"}
#: Special sign -> the canonical ``flag`` (``c`` = confidential, as in every oilflows source).
CANONICAL_FLAG: dict[str, str] = {"-": "-", ".": "c", "x": "x", "X": "x", "/": "/", "...": "...", "()": "()"}

#: Time labels that identify the language of a new-layout file (used only to break a decimal tie).
TIME_LABELS: dict[str, str] = {
    "Jahr": "de", "Monat": "de", "Quartal": "de", "Halbjahr": "de", "Stichtag": "de",
    "Year": "en", "Month": "en", "Quarter": "en", "Half-year": "en", "Reference date": "en",
}
DECIMAL_OF_LANGUAGE: dict[str, str] = {"de": ",", "en": "."}

# Numbers under either convention: optional sign, digits with optional thousands groups, decimals.
_NUMBER = {
    ",": re.compile(r"^[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?$"),
    ".": re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$"),
}
_PARENTHESES = re.compile(r"^\((.+)\)$")
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


# -- parse_ffcsv: any GENESIS flat file -> long frame ----------------------------------------------


def parse_ffcsv(
    src: Source, *, name: str | None = None, decimal: str | None = None, language: str | None = None
) -> pd.DataFrame:
    """Parse a GENESIS flat-file CSV ("ffcsv", new or old layout) into a long frame, one row per value.

    Parameters
    ----------
    src : path, bytes or binary file object
        The ZIP as GENESIS serves it (exactly one ``*_flat.csv`` inside) or the CSV itself.
    name : str, optional
        Name used in error messages (defaults to the path).
    decimal : {",", "."}, optional
        Force the decimal separator. By default it is detected: the convention under which every
        numeric cell parses (``1.234,5`` / ``1,234.5``; thousands groups allowed); when both fit and a
        cell holds a separator (``1,000``), `language` decides, else the file's own time labels
        (``Jahr`` -> de, ``Year`` -> en); still undecided raises :class:`SourceFormatError`.
    language : {"de", "en"}, optional
        The language the file was requested in (``de`` = decimal comma, ``en`` = decimal point). If
        given, every number must follow that convention, else :class:`SourceFormatError`.

    Returns
    -------
    pandas.DataFrame
        Columns ``statistics_code, statistics_label, time_code, time_label, time``, four columns per
        dimension (``<n>_variable_code``, ``<n>_variable_label``, ``<n>_variable_attribute_code``,
        ``<n>_variable_attribute_label``; the old layout's German names are renamed to these), then
        ``value`` (float64, in ``value_unit``; ``-`` -> 0.0; ``. x / ...`` -> NaN), ``value_unit``,
        ``value_variable_code``, ``value_variable_label``, ``value_operator`` (old-layout derived
        contents such as ``CH0004``, else None), ``value_q`` (quality mark or None), ``special`` (the
        special sign, ``"()"`` for a number in parentheses, or None) and ``reason`` (its meaning, see
        :data:`SPECIAL_VALUES`). ``attrs`` holds ``layout`` ("new"/"old"), ``decimal`` and ``name``.

    Raises
    ------
    SourceFormatError
        On a truncated or corrupt ZIP, a ZIP without exactly one CSV, a body that is JSON or HTML, a
        changed column set, a row with the wrong number of fields, a cell given twice (same time,
        dimension attributes, content, unit and operator), or a cell that is neither a number nor a
        special sign (or a number beyond 1e300). A gzip or ZIP bomb raises
        :class:`oilflows._io.DecompressionLimitError` (a SourceFormatError) before it is inflated.
    """
    if decimal not in (None, ",", "."):
        raise ValueError(f"decimal must be ',' or '.', not {decimal!r}")
    if language not in (None, *DECIMAL_OF_LANGUAGE):
        raise ValueError(f"language must be 'de' or 'en', not {language!r}")
    data, name = read_bytes(src, name)
    header, rows = _csv_rows(_unpack(data, name), name)
    if header[0] == NEW_PREFIX[0] and any("__" in column for column in header):  # old layout, English
        layout, long = "old", _long_old(header, rows, name, english=True)
    elif header[0] == NEW_PREFIX[0]:
        layout, long = "new", _long_new(header, rows, name)
    elif header[0] == next(iter(OLD_PREFIX)):
        layout, long = "old", _long_old(header, rows, name)
    else:
        raise SourceFormatError(
            name, f"unknown flat-file layout: the header starts with {header[:3]}; expected "
            f"'statistics_code;...' (new) or 'Statistik_Code;...' (old)", header[0])
    _check_unique_cells(long, name)
    hint = _language_hint(long, layout)
    value, special, reason, used = _parse_values(long["value"], name, decimal, language, hint)
    long["value"] = value
    long["value_q"] = _none_if_empty(long["value_q"])
    long["special"] = special
    long["reason"] = reason
    long.attrs.update(layout=layout, decimal=used, name=name)
    return long


def _check_unique_cells(long: pd.DataFrame, name: str) -> None:
    """Raise if two rows give the same cell: same time, dimension attributes (codes and labels), content,
    unit and operator (a dropped content such as BME included)."""
    key = ["time", *(c for c in long.columns if "_variable_attribute_" in c),
           "value_variable_code", "value_unit", "value_operator"]
    twice = long[key].duplicated(keep=False)  # long.duplicated(key) tests `column in key`: quadratic
    if twice.any():
        example = long.loc[twice, key].head(1).to_dict("records")
        raise SourceFormatError(name, f"{int(twice.sum())} rows give the same cell: cells occur twice, e.g. "
                                      f"{example}", "value")


def dimensions(long: pd.DataFrame, name: str = "<ffcsv>") -> dict[str, int]:
    """Map each dimension's variable code (``MONAT``, ``STLAH``, ...) to its position ``n`` in `long`.

    Raises :class:`SourceFormatError` if one position holds several variables (never seen in GENESIS).
    """
    found: dict[str, int] = {}
    n = 1
    while f"{n}_variable_code" in long.columns:
        codes = long[f"{n}_variable_code"].unique()
        if len(codes) != 1:
            raise SourceFormatError(name, f"dimension {n} holds several variables {sorted(codes)[:5]}",
                                    f"{n}_variable_code")
        found[str(codes[0])] = n
        n += 1
    return found


def _unpack(data: bytes, name: str) -> str:
    """The CSV text of `data` (ZIP or plain, gzip tolerated), without the byte-order mark."""
    data = gunzip_if_needed(data, name)
    if not data.strip():
        raise SourceFormatError(name, "the file is empty")
    if data.startswith(ZIP_MAGIC):
        data = _csv_in_zip(data, name)
    kind = sniff_text_kind(data)
    if kind == "json":
        raise SourceFormatError(name, f"expected a GENESIS flat file, found a JSON message"
                                      f"{_status_summary(data)}")
    if kind == "markup":
        raise SourceFormatError(name, f"expected a GENESIS flat file, found an HTML/XML page: "
                                      f"{markup_title(data)!r}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceFormatError(name, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    return text.removeprefix("\ufeff")


def _csv_in_zip(data: bytes, name: str) -> bytes:
    """The bytes of the one CSV member of a ZIP archive (sizes, ratio and CRC checked by
    :func:`oilflows._io.check_zip` first: a zip bomb raises before it is inflated)."""
    members = [info for info in check_zip(data, name) if not info.is_dir()]
    tables = [info for info in members if info.filename.lower().endswith(".csv")]
    if len(tables) != 1:
        raise SourceFormatError(name, f"expected a ZIP with exactly one *_flat.csv, found "
                                      f"{[info.filename for info in members]}")
    return read_zip_member(data, tables[0], name)


def _status_summary(data: bytes) -> str:
    """`` (GENESIS status 98: ...)`` for a JSON status body, else an empty string."""
    try:
        status = json.loads(data.decode("utf-8-sig")).get("Status", {})
        return f" (GENESIS status {status.get('Code')}: {' '.join(str(status.get('Content')).split())})"
    except (ValueError, AttributeError):
        return ""


def _csv_rows(text: str, name: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a ``;``-separated text; every row must have the header's number of fields."""
    try:
        rows = [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=";") if row]
    except csv.Error as exc:
        raise SourceFormatError(name, f"unreadable CSV ({exc})") from exc
    if not rows:
        raise SourceFormatError(name, "the file is empty")
    header = [column.strip() for column in rows[0]]
    duplicated = sorted(c for c, count in Counter(header).items() if count > 1)  # one pass: linear
    if duplicated and not (header[0] == NEW_PREFIX[0] and all(_OLD_EN_REPEAT.match(c) for c in duplicated)):
        # The English old layout repeats ``<n>_variable_code`` (read by position, see _long_old).
        raise SourceFormatError(name, f"duplicated columns {_some(duplicated)}", duplicated[0])
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise SourceFormatError(name, f"line {line} has {len(row)} fields, the header has "
                                          f"{len(header)}: the file is truncated or malformed",
                                    f"line {line}")
    return header, rows[1:]


def _some(items: Sequence, most: int = 10) -> str:
    """At most `most` items of a list for a message, and how many there are in all."""
    return f"{list(items[:most])}" + (f" ... ({len(items):,} in all)" if len(items) > most else "")


def _groups(header: Sequence[str], pattern: str, name: str) -> int:
    """The highest dimension number among the header's dimension columns (0 if none).

    Raises, before a list of the columns it implies is built (``99999999_variable_code`` would imply 400
    million), for a number above :data:`MAX_DIMENSIONS` or above a quarter of the header's length (each
    dimension has four columns)."""
    numbers = [(int(m.group(1)), c) for c in header if (m := re.match(pattern, c))]
    n, column = max(numbers, default=(0, ""))
    if n > MAX_DIMENSIONS or 4 * n > len(header):
        raise SourceFormatError(name, f"column {column[:80]!r} names dimension {n:,}; a GENESIS flat file "
                                      f"has at most {MAX_DIMENSIONS} dimensions of four columns each (this "
                                      f"header has {len(header):,} columns)", column[:80])
    return n


def _column_set_error(
    name: str, found: Sequence[str], expected: Sequence[str], layout: str
) -> SourceFormatError:
    """The error for a header that differs from the `expected` columns of a layout (sets: linear)."""
    found_set, expected_set = set(found), set(expected)
    missing = [c for c in expected if c not in found_set]
    unexpected = [c for c in found if c not in expected_set]
    if missing or unexpected:
        problem = f"unexpected columns {_some(unexpected)}, missing columns {_some(missing)}"
        field = (unexpected or missing)[0]
    else:
        i = next(i for i, (a, b) in enumerate(zip(found, expected, strict=True)) if a != b)
        problem, field = f"column {i + 1} is {found[i]!r}, expected {expected[i]!r}", found[i]
    return SourceFormatError(name, f"changed column set for the {layout} GENESIS flat-file layout: "
                                   f"{problem}", field)


def _long_new(header: list[str], rows: list[list[str]], name: str) -> pd.DataFrame:
    n = _groups(header, r"^(\d+)_variable_", name)
    quality = (NEW_QUALITY,) if NEW_QUALITY in header else ()
    expected = [*NEW_PREFIX, *(c.format(n=i) for i in range(1, n + 1) for c in NEW_GROUP),
                *NEW_SUFFIX, *quality]
    if header != expected:
        raise _column_set_error(name, header, expected, "new")
    long = pd.DataFrame(rows, columns=header, dtype=object)
    if not quality:
        long[NEW_QUALITY] = None
    long.insert(len(long.columns) - 1, "value_operator", None)
    return long


def _long_old(header: list[str], rows: list[list[str]], name: str, english: bool = False) -> pd.DataFrame:
    """Melt an old-layout (wide) file to the long shape. `english`: GENESIS's English old layout, whose
    leading columns repeat names (:data:`OLD_EN_GROUP`) and are therefore read by position."""
    if english:
        n = _groups(header, r"^(\d+)_variable_", name)
        fixed = [*NEW_PREFIX, *(c.format(n=i) for i in range(1, n + 1) for c in OLD_EN_GROUP)]
        targets = [*NEW_PREFIX, *(c.format(n=i) for i in range(1, n + 1) for c in NEW_GROUP)]
    else:
        n = _groups(header, r"^(\d+)_(?:Merkmal|Auspraegung)_", name)
        renames = {**OLD_PREFIX, **{old.format(n=i): new.format(n=i) for i in range(1, n + 1)
                                    for old, new in OLD_GROUP.items()}}
        fixed, targets = list(renames), list(renames.values())
    if header[: len(fixed)] != fixed:
        raise _column_set_error(name, header[: len(fixed)], fixed, "old (English)" if english else "old")
    contents, value_index, quality_index = _old_contents(header, len(fixed), name)
    code_of_label = {label: code for code, label, _, _ in contents if code}
    # Melt with numpy, content by content (all rows of the first content, then the second, ...): no
    # frame per content, so a header of many thousand content columns stays linear in the cells.
    table = np.empty((len(rows), len(header)), dtype=object)
    if rows:
        table[:] = rows
    count = len(contents)

    def per_content(values: Iterable) -> pd.Series:
        """One value per content, repeated for its rows; text dtype when all are text (as pandas
        infers it for one frame per content)."""
        values = list(values)
        column = pd.Series(np.repeat(np.array(values, dtype=object), len(rows)), dtype=object)
        return column.astype("str") if all(isinstance(v, str) for v in values) else column

    def per_row(values: np.ndarray) -> pd.Series:
        return pd.Series(values, dtype=object)

    columns = {new: per_row(np.tile(table[:, i], count)) for i, new in enumerate(targets)}
    columns["value"] = per_row(table[:, value_index].T.reshape(-1))
    columns["value_unit"] = per_content(unit for _, _, unit, _ in contents)
    columns["value_variable_code"] = per_content(code or code_of_label.get(label)
                                                 for code, label, _, _ in contents)
    columns["value_variable_label"] = per_content(label for _, label, _, _ in contents)
    columns["value_operator"] = per_content(operator for _, _, _, operator in contents)
    columns["value_q"] = (per_row(table[:, quality_index].T.reshape(-1)) if quality_index
                          else per_row(np.full(len(rows) * count, None, dtype=object)))
    return pd.DataFrame(columns)


def _old_contents(
    header: list[str], first: int, name: str
) -> tuple[list[tuple[str | None, str, str | None, str | None]], list[int], list[int]]:
    """The contents of an old-layout header from column `first` on, the positions of their value
    columns and of their ``__q`` quality columns (empty when the file was requested without quality).

    Each content column is followed by its ``__q`` partner, in every content or in none (GENESIS's
    ``quality=off``); anything else raises. One pass over the header: linear."""
    contents, value_index, quality_index, lacking = [], [], [], []
    i = first
    while i < len(header):
        column = header[i]
        content, expected_quality = _old_content(column, name)
        contents.append(content)
        value_index.append(i)
        following = header[i + 1] if i + 1 < len(header) else None
        if following == expected_quality:
            quality_index.append(i + 1)
            i += 2
        else:
            lacking.append((column, expected_quality, following))
            i += 1
    if not contents:
        raise SourceFormatError(name, "old layout: no content columns (CODE__Label__unit) after the "
                                      "dimension columns", header[-1])
    if quality_index and lacking:
        column, expected_quality, following = lacking[0]
        raise SourceFormatError(name, f"content column {column!r} must be followed by {expected_quality!r}, "
                                      f"found {following!r}: the other contents have their quality "
                                      f"column", following or column)
    return contents, value_index, quality_index


def _old_content(value: str, name: str) -> tuple[tuple[str | None, str, str | None, str | None], str]:
    """((code, label, unit, operator), the name of its ``__q`` partner) of an old-layout content column.

    GENESIS writes the spaces of label and unit as ``_`` in these names (``WERTA__Ausfuhr:_Wert__Tsd._EUR``):
    they are turned back into spaces (``Tsd. EUR``)."""
    parts = value.split("__")
    if parts[-1] == OLD_QUALITY_SUFFIX[2:] and len(parts) > 1:
        raise SourceFormatError(name, f"quality column {value!r} does not follow the content it belongs "
                                      f"to", value)
    if len(parts) == 3 and all(parts):
        code, label, unit = parts
        operator, expected_quality = None, f"{code}__{label}{OLD_QUALITY_SUFFIX}"
    elif len(parts) == 2 and all(parts) and _OLD_OPERATOR.match(parts[1]):
        code, label, unit, operator = None, parts[0], None, parts[1]
        expected_quality = f"{value}{OLD_QUALITY_SUFFIX}"
    else:
        raise SourceFormatError(name, f"unreadable old-layout content column {value!r}; expected "
                                      f"CODE__Label__unit or Label__CH0000", value)
    spaced = (code, label.replace("_", " "), unit.replace("_", " ") if unit else unit, operator)
    return spaced, expected_quality


def _language_hint(long: pd.DataFrame, layout: str) -> str | None:
    """The file's language from its time labels (``Jahr``/``Year``); an old-layout file without a
    telling label is German (the English old layout was seen only with ``Year``)."""
    languages = {TIME_LABELS.get(str(label)) for label in long["time_label"].unique()} - {None}
    if len(languages) == 1:
        return languages.pop()
    return "de" if layout == "old" and not languages else None


def _parse_values(
    raw: pd.Series, name: str, decimal: str | None, language: str | None, hint: str | None
) -> tuple[np.ndarray, pd.Series, pd.Series, str | None]:
    """Numbers, special signs and reasons of the value column, and the decimal separator used."""
    cells = raw.fillna("").astype(str).str.strip()
    uniques = pd.unique(cells.to_numpy())
    numbers: dict[str, float] = {}
    specials: dict[str, tuple[str | None, str | None]] = {}
    tokens: dict[str, str] = {}  # cell -> the number text inside it
    for cell in uniques:
        if cell in SPECIAL_VALUES:
            numbers[cell] = SPECIAL_VALUES[cell][0]
            specials[cell] = (cell, SPECIAL_VALUES[cell][1])
        elif cell == "":
            numbers[cell] = np.nan
            specials[cell] = (None, "empty cell")
        elif match := _PARENTHESES.match(cell):
            tokens[cell] = match.group(1).strip()
            specials[cell] = ("()", LIMITED_RELIABILITY)
        else:
            tokens[cell] = cell
            specials[cell] = (None, None)
    used = _decimal_separator(sorted(set(tokens.values())), name, decimal, language, hint)
    for cell, token in tokens.items():
        text = token.replace(".", "").replace(",", ".") if used == "," else token.replace(",", "")
        numbers[cell] = float(text)
        if not abs(numbers[cell]) <= MAX_ABS_VALUE:  # 400 digits give inf
            raise SourceFormatError(name, f"cell {cell[:40]!r} is too large for a statistic (over "
                                          f"{MAX_ABS_VALUE:g})", "value")
    value = cells.map(numbers).to_numpy(dtype=float)
    special = pd.Series([specials[c][0] for c in cells], index=cells.index, dtype=object)
    reason = pd.Series([specials[c][1] for c in cells], index=cells.index, dtype=object)
    return value, special, reason, used


def _none_if_empty(column: pd.Series) -> pd.Series:
    """Strip the strings of `column`; empty strings and missing cells become None."""
    return pd.Series([(str(v).strip() or None) if isinstance(v, str) else None for v in column],
                     index=column.index, dtype=object)


def _decimal_separator(
    tokens: Sequence[str], name: str, decimal: str | None, language: str | None, hint: str | None
) -> str | None:
    """The decimal separator under which every token is a number (see :func:`parse_ffcsv`)."""
    if not tokens:
        return decimal or DECIMAL_OF_LANGUAGE.get(language or hint or "")
    wanted = decimal or DECIMAL_OF_LANGUAGE.get(language or "")
    if wanted:
        bad = next((t for t in tokens if not _NUMBER[wanted].match(t)), None)
        if bad is not None:
            why = f"decimal={decimal!r}" if decimal else f"language={language!r} (decimal {wanted!r})"
            raise SourceFormatError(name, f"cell {bad!r} is not a number with {why}", "value")
        return wanted
    fits = [sep for sep, pattern in _NUMBER.items() if all(pattern.match(t) for t in tokens)]
    if len(fits) == 1:
        return fits[0]
    if not fits:
        bad = next(t for t in tokens if not any(p.match(t) for p in _NUMBER.values()))
        raise SourceFormatError(name, f"cell {bad!r} is neither a number nor a special sign "
                                      f"({', '.join(SPECIAL_VALUES)})", "value")
    if not any("," in t or "." in t for t in tokens) or hint:
        return DECIMAL_OF_LANGUAGE.get(hint or "", ",")
    raise SourceFormatError(name, f"cannot tell the decimal separator from cells such as {tokens[0]!r}; "
                                  f"pass language= or decimal=", "value")


# -- table 51000-0017: codes ------------------------------------------------------------------------

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
STLAH_ISO: dict[str, str] = {
    "STLAH001": "FR", "STLAH003": "NL", "STLAH005": "IT", "STLAH006": "GB", "STLAH007": "IE",
    "STLAH008": "DK", "STLAH009": "GR", "STLAH010": "PT", "STLAH011": "ES", "STLAH017": "BE",
    "STLAH018": "LU", "STLAH028": "NO", "STLAH013": "SE", "STLAH014": "FI", "STLAH015": "AT",
    "STLAH039": "CH", "STLAH052": "TR", "STLAH053": "EE", "STLAH054": "LV", "STLAH055": "LT",
    "STLAH060": "PL", "STLAH061": "CZ", "STLAH063": "SK", "STLAH064": "HU", "STLAH066": "RO",
    "STLAH068": "BG", "STLAH070": "AL", "STLAH072": "UA", "STLAH073": "BY", "STLAH074": "MD",
    "STLAH075": "RU", "STLAH076": "GE", "STLAH077": "AM", "STLAH078": "AZ", "STLAH079": "KZ",
    "STLAH080": "TM", "STLAH081": "UZ", "STLAH082": "TJ", "STLAH083": "KG", "STLAH091": "SI",
    "STLAH092": "HR", "STLAH204": "MA", "STLAH208": "DZ", "STLAH212": "TN", "STLAH216": "LY",
    "STLAH220": "EG", "STLAH224": "SD", "STLAH288": "NG", "STLAH302": "CM", "STLAH310": "GQ",
    "STLAH314": "GA", "STLAH318": "CG", "STLAH322": "CD", "STLAH330": "AO", "STLAH400": "US",
    "STLAH404": "CA", "STLAH412": "MX", "STLAH472": "TT", "STLAH478": "AN", "STLAH480": "CO",
    "STLAH484": "VE", "STLAH488": "GY", "STLAH500": "EC", "STLAH508": "BR", "STLAH528": "AR",
    "STLAH612": "IQ", "STLAH616": "IR", "STLAH632": "SA", "STLAH636": "KW", "STLAH644": "QA",
    "STLAH647": "AE", "STLAH649": "OM", "STLAH700": "ID", "STLAH701": "MY", "STLAH703": "BN",
    "STLAH720": "CN", "STLAH800": "AU",
}
#: The codes of :data:`STLAH_ISO` seen in an official GENESIS answer (all of them: every code of
#: :data:`STLAH_ISO` is in the real 51000-0010 answers, with the listed country's label).
STLAH_VERIFIED: frozenset[str] = frozenset(STLAH_ISO)
#: ISO alpha-2 -> STLAH code (the reverse of :data:`STLAH_ISO`), for ``fetch(countries=["KZ"])``.
ISO_STLAH: dict[str, str] = {iso: code for code, iso in STLAH_ISO.items()}

#: ISO 3166-1 alpha-2 -> the country names GENESIS may print as a STLAH label: German and English
#: (ISO 3166 names and their German translation from the iso-codes project, plus Destatis-style and
#: common variants). Kosovo is XK; the Netherlands Antilles (dissolved 2010, STLAH478) keep AN.
COUNTRY_NAMES_BY_ISO: dict[str, tuple[str, ...]] = {
    "AD": ("Andorra",),
    "AE": ("Vereinigte Arabische Emirate", "United Arab Emirates"),
    "AF": ("Afghanistan",),
    "AG": ("Antigua und Barbuda", "Antigua and Barbuda"),
    "AI": ("Anguilla",),
    "AL": ("Albanien", "Albania"),
    "AM": ("Armenien", "Armenia"),
    "AN": ("Niederländische Antillen", "Netherlands Antilles"),
    "AO": ("Angola",),
    "AQ": ("Antarktis", "Antarctica"),
    "AR": ("Argentinien", "Argentina"),
    "AS": ("Amerikanisch-Samoa", "American Samoa"),
    "AT": ("Österreich", "Austria"),
    "AU": ("Australien", "Australia"),
    "AW": ("Aruba",),
    "AX": ("Åland-Inseln", "Åland Islands"),
    "AZ": ("Aserbaidschan", "Azerbaijan"),
    "BA": ("Bosnien und Herzegowina", "Bosnia and Herzegovina", "Bosnien-Herzegowina"),
    "BB": ("Barbados",),
    "BD": ("Bangladesch", "Bangladesh"),
    "BE": ("Belgien", "Belgium"),
    "BF": ("Burkina Faso",),
    "BG": ("Bulgarien", "Bulgaria"),
    "BH": ("Bahrain",),
    "BI": ("Burundi",),
    "BJ": ("Benin",),
    "BL": ("Saint-Barthélemy", "Saint Barthélemy"),
    "BM": ("Bermuda",),
    "BN": ("Brunei Darussalam", "Brunei"),
    "BO": ("Bolivien, Plurinationaler Staat", "Bolivia, Plurinational State of", "Bolivia", "Bolivien"),
    "BQ": ("Bonaire, Sint Eustatius und Saba", "Bonaire, Sint Eustatius and Saba"),
    "BR": ("Brasilien", "Brazil"),
    "BS": ("Bahamas",),
    "BT": ("Bhutan",),
    "BV": ("Bouvet-Insel", "Bouvet Island"),
    "BW": ("Botsuana", "Botswana"),
    "BY": ("Belarus", "Weißrussland"),
    "BZ": ("Belize",),
    "CA": ("Kanada", "Canada"),
    "CC": ("Kokos-(Keeling-)Inseln", "Cocos (Keeling) Islands"),
    "CD": ("Demokratische Republik Kongo", "Congo, The Democratic Republic of the",
           "Kongo, Demokratische Republik", "Democratic Republic of the Congo"),
    "CF": ("Zentralafrikanische Republik", "Central African Republic"),
    "CG": ("Kongo", "Congo", "Kongo, Republik", "Republik Kongo"),
    "CH": ("Schweiz", "Switzerland"),
    "CI": ("Côte d'Ivoire", "Elfenbeinküste", "Ivory Coast"),
    "CK": ("Cookinseln", "Cook Islands"),
    "CL": ("Chile",),
    "CM": ("Kamerun", "Cameroon"),
    "CN": ("China",),
    "CO": ("Kolumbien", "Colombia"),
    "CR": ("Costa Rica",),
    "CU": ("Kuba", "Cuba"),
    "CV": ("Kap Verde", "Cabo Verde"),
    "CW": ("Curaçao",),
    "CX": ("Weihnachtsinseln", "Christmas Island"),
    "CY": ("Zypern", "Cyprus"),
    "CZ": ("Tschechien", "Czechia", "Tschechische Republik", "Czech Republic"),
    "DE": ("Deutschland", "Germany"),
    "DJ": ("Dschibuti", "Djibouti"),
    "DK": ("Dänemark", "Denmark"),
    "DM": ("Dominica",),
    "DO": ("Dominikanische Republik", "Dominican Republic"),
    "DZ": ("Algerien", "Algeria"),
    "EC": ("Ecuador",),
    "EE": ("Estland", "Estonia"),
    "EG": ("Ägypten", "Egypt"),
    "EH": ("Westsahara", "Western Sahara"),
    "ER": ("Eritrea",),
    "ES": ("Spanien", "Spain"),
    "ET": ("Äthiopien", "Ethiopia"),
    "FI": ("Finnland", "Finland"),
    "FJ": ("Fidschi", "Fiji"),
    "FK": ("Falklandinseln (Malwinen)", "Falkland Islands (Malvinas)"),
    "FM": ("Mikronesien, Föderierte Staaten von", "Micronesia, Federated States of", "Mikronesien"),
    "FO": ("Färöer-Inseln", "Faroe Islands"),
    "FR": ("Frankreich", "France"),
    "GA": ("Gabun", "Gabon"),
    "GB": ("Vereinigtes Königreich", "United Kingdom", "Großbritannien"),
    "GD": ("Grenada",),
    "GE": ("Georgien", "Georgia"),
    "GF": ("Französisch-Guyana", "French Guiana"),
    "GG": ("Guernsey",),
    "GH": ("Ghana",),
    "GI": ("Gibraltar",),
    "GL": ("Grönland", "Greenland"),
    "GM": ("Gambia",),
    "GN": ("Guinea",),
    "GP": ("Guadeloupe",),
    "GQ": ("Äquatorialguinea", "Equatorial Guinea"),
    "GR": ("Griechenland", "Greece"),
    "GS": ("South Georgia und die Südlichen Sandwichinseln",
           "South Georgia and the South Sandwich Islands"),
    "GT": ("Guatemala",),
    "GU": ("Guam",),
    "GW": ("Guinea-Bissau",),
    "GY": ("Guyana",),
    "HK": ("Hongkong", "Hong Kong"),
    "HM": ("Heard und McDonaldinseln", "Heard Island and McDonald Islands"),
    "HN": ("Honduras",),
    "HR": ("Kroatien", "Croatia"),
    "HT": ("Haiti",),
    "HU": ("Ungarn", "Hungary"),
    "ID": ("Indonesien", "Indonesia"),
    "IE": ("Irland", "Ireland"),
    "IL": ("Israel",),
    "IM": ("Insel Man", "Isle of Man"),
    "IN": ("Indien", "India"),
    "IO": ("Britisches Territorium im Indischen Ozean", "British Indian Ocean Territory"),
    "IQ": ("Irak", "Iraq"),
    "IR": ("Iran, Islamische Republik", "Iran, Islamic Republic of", "Iran"),
    "IS": ("Island", "Iceland"),
    "IT": ("Italien", "Italy"),
    "JE": ("Jersey",),
    "JM": ("Jamaika", "Jamaica"),
    "JO": ("Jordanien", "Jordan"),
    "JP": ("Japan",),
    "KE": ("Kenia", "Kenya"),
    "KG": ("Kirgisistan", "Kyrgyzstan"),
    "KH": ("Kambodscha", "Cambodia"),
    "KI": ("Kiribati",),
    "KM": ("Komoren", "Comoros"),
    "KN": ("St. Kitts und Nevis", "Saint Kitts and Nevis"),
    "KP": ("Korea, Demokratische Volksrepublik", "Korea, Democratic People's Republic of", "North Korea",
           "Nordkorea"),
    "KR": ("Korea, Republik", "Korea, Republic of", "South Korea", "Südkorea", "Republik Korea"),
    "KW": ("Kuwait",),
    "KY": ("Cayman-Inseln", "Cayman Islands"),
    "KZ": ("Kasachstan", "Kazakhstan"),
    "LA": ("Laos, Demokratische Volksrepublik", "Lao People's Democratic Republic", "Laos"),
    "LB": ("Libanon", "Lebanon"),
    "LC": ("St. Lucia", "Saint Lucia"),
    "LI": ("Liechtenstein",),
    "LK": ("Sri Lanka",),
    "LR": ("Liberia",),
    "LS": ("Lesotho",),
    "LT": ("Litauen", "Lithuania"),
    "LU": ("Luxemburg", "Luxembourg"),
    "LV": ("Lettland", "Latvia"),
    "LY": ("Libyen", "Libya"),
    "MA": ("Marokko", "Morocco"),
    "MC": ("Monaco",),
    "MD": ("Moldau, Republik", "Moldova, Republic of", "Moldova", "Moldau", "Republik Moldau", "Moldawien"),
    "ME": ("Montenegro",),
    "MF": ("Saint Martin (Französischer Teil)", "Saint Martin (French part)"),
    "MG": ("Madagaskar", "Madagascar"),
    "MH": ("Marshallinseln", "Marshall Islands"),
    "MK": ("Nordmazedonien", "North Macedonia", "Mazedonien"),
    "ML": ("Mali",),
    "MM": ("Myanmar", "Birma", "Burma"),
    "MN": ("Mongolei", "Mongolia"),
    "MO": ("Macao", "Macau"),
    "MP": ("Nördliche Marianen", "Northern Mariana Islands"),
    "MQ": ("Martinique",),
    "MR": ("Mauretanien", "Mauritania"),
    "MS": ("Montserrat",),
    "MT": ("Malta",),
    "MU": ("Mauritius",),
    "MV": ("Malediven", "Maldives"),
    "MW": ("Malawi",),
    "MX": ("Mexiko", "Mexico"),
    "MY": ("Malaysia",),
    "MZ": ("Mosambik", "Mozambique"),
    "NA": ("Namibia",),
    "NC": ("Neukaledonien", "New Caledonia"),
    "NE": ("Niger",),
    "NF": ("Norfolkinsel", "Norfolk Island"),
    "NG": ("Nigeria",),
    "NI": ("Nicaragua",),
    "NL": ("Niederlande", "Netherlands"),
    "NO": ("Norwegen", "Norway"),
    "NP": ("Nepal",),
    "NR": ("Nauru",),
    "NU": ("Niue",),
    "NZ": ("Neuseeland", "New Zealand"),
    "OM": ("Oman",),
    "PA": ("Panama",),
    "PE": ("Peru",),
    "PF": ("Französisch-Polynesien", "French Polynesia"),
    "PG": ("Papua-Neuguinea", "Papua New Guinea"),
    "PH": ("Philippinen", "Philippines"),
    "PK": ("Pakistan",),
    "PL": ("Polen", "Poland"),
    "PM": ("St. Pierre und Miquelon", "Saint Pierre and Miquelon"),
    "PN": ("Pitcairn",),
    "PR": ("Puerto Rico",),
    "PS": ("Palästina, Staat", "Palestine, State of", "Palästinensische Gebiete",
           "Palestinian Territories"),
    "PT": ("Portugal",),
    "PW": ("Palau",),
    "PY": ("Paraguay",),
    "QA": ("Katar", "Qatar"),
    "RE": ("Réunion",),
    "RO": ("Rumänien", "Romania"),
    "RS": ("Serbien", "Serbia"),
    "RU": ("Russische Föderation", "Russian Federation", "Russland", "Russia"),
    "RW": ("Ruanda", "Rwanda"),
    "SA": ("Saudi-Arabien", "Saudi Arabia"),
    "SB": ("Salomoninseln", "Solomon Islands"),
    "SC": ("Seychellen", "Seychelles"),
    "SD": ("Sudan",),
    "SE": ("Schweden", "Sweden"),
    "SG": ("Singapur", "Singapore"),
    "SH": ("St. Helena, Ascension und Tristan da Cunha", "Saint Helena, Ascension and Tristan da Cunha"),
    "SI": ("Slowenien", "Slovenia"),
    "SJ": ("Svalbard und Jan Mayen", "Svalbard and Jan Mayen"),
    "SK": ("Slowakei", "Slovakia"),
    "SL": ("Sierra Leone",),
    "SM": ("San Marino",),
    "SN": ("Senegal",),
    "SO": ("Somalia",),
    "SR": ("Suriname",),
    "SS": ("Südsudan", "South Sudan"),
    "ST": ("São Tomé und Príncipe", "Sao Tome and Principe"),
    "SV": ("El Salvador",),
    "SX": ("Saint-Martin (Niederländischer Teil)", "Sint Maarten (Dutch part)"),
    "SY": ("Syrien, Arabische Republik", "Syrian Arab Republic", "Syria", "Syrien"),
    "SZ": ("Eswatini", "Swasiland", "Swaziland"),
    "TC": ("Turks- und Caicosinseln", "Turks and Caicos Islands"),
    "TD": ("Tschad", "Chad"),
    "TF": ("Französische Süd- und Antarktisgebiete", "French Southern Territories"),
    "TG": ("Togo",),
    "TH": ("Thailand",),
    "TJ": ("Tadschikistan", "Tajikistan"),
    "TK": ("Tokelau",),
    "TL": ("Timor-Leste", "Osttimor", "East Timor"),
    "TM": ("Turkmenistan",),
    "TN": ("Tunesien", "Tunisia"),
    "TO": ("Tonga",),
    "TR": ("Türkei", "Türkiye"),
    "TT": ("Trinidad und Tobago", "Trinidad and Tobago"),
    "TV": ("Tuvalu",),
    "TW": ("Taiwan, Chinesische Provinz", "Taiwan, Province of China", "Taiwan"),
    "TZ": ("Tansania, Vereinigte Republik", "Tanzania, United Republic of", "Tanzania", "Tansania"),
    "UA": ("Ukraine",),
    "UG": ("Uganda",),
    "UM": ("United States Minor Outlying Islands",),  # not "Amerikanisch-Ozeanien" (STLAH810, until 2000)
    "US": ("Vereinigte Staaten", "United States", "Vereinigte Staaten von Amerika", "USA",
           "United States of America"),
    "UY": ("Uruguay",),
    "UZ": ("Usbekistan", "Uzbekistan"),
    "VA": ("Heiliger Stuhl (Staat Vatikanstadt)", "Holy See (Vatican City State)", "Vatikanstadt",
           "Heiliger Stuhl", "Vatican City"),
    "VC": ("St. Vincent und die Grenadinen", "Saint Vincent and the Grenadines"),
    "VE": ("Venezuela, Bolivarische Republik", "Venezuela, Bolivarian Republic of", "Venezuela"),
    "VG": ("Britische Jungferninseln", "Virgin Islands, British"),
    "VI": ("Amerikanische Jungferninseln", "Virgin Islands, U.S."),
    "VN": ("Vietnam", "Viet Nam"),
    "VU": ("Vanuatu",),
    "WF": ("Wallis und Futuna", "Wallis and Futuna"),
    "WS": ("Samoa",),
    "XK": ("Kosovo",),
    "YE": ("Jemen", "Yemen"),
    "YT": ("Mayotte",),
    "ZA": ("Südafrika", "South Africa"),
    "ZM": ("Sambia", "Zambia"),
    "ZW": ("Simbabwe", "Zimbabwe"),
}


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
    with resources.files("oilflows.data").joinpath(COUNTRIES_FILE).open("r", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != _COUNTRY_COLUMNS:
            raise ValueError(f"{COUNTRIES_FILE}: columns {reader.fieldnames}, expected {_COUNTRY_COLUMNS}")
        rows = list(reader)
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


# -- table 51000-0017: read -------------------------------------------------------------------------


def read(
    src: Source,
    *,
    name: str | None = None,
    vintage: pd.Timestamp | str | None = None,
    decimal: str | None = None,
    language: str | None = None,
) -> pd.DataFrame:
    """Read a GENESIS flat file of table 51000-0017 (foreign trade by country and CN8) as canonical.

    A file of table 51000-0010 (yearly, by country and 4-digit goods code: no ``MONAT``, ``WAM4`` instead
    of ``WAM8``) is read the same way with ``dataset="51000-0010"``, ``freq="A"`` and product
    ``crude_oil`` (no grade) for ``WA2709``, ``cn4_<code>`` otherwise. Country labels may carry validity
    notes (``Kasachstan (ab 05/1992)``) and are mapped through ``oilflows/data/genesis_countries.csv``;
    both languages and both layouts (with or without quality columns) are read.

    Parameters
    ----------
    src : path, bytes or binary file object
        The ``ffcsv`` ZIP or CSV (new or old layout), e.g. the body of a ``data/tablefile`` answer.
    name : str, optional
        Name used in error messages (defaults to the path).
    vintage : timestamp or str, optional
        Stamp for the ``vintage`` column; the flat file has none, so it is null by default.
    decimal, language : optional
        See :func:`parse_ffcsv`.

    Returns
    -------
    pandas.DataFrame
        The canonical frame: ``source="destatis"``, ``dataset="51000-0017"``, ``freq="M"``, reporter
        ``DE``, partner ISO alpha-2, product ``crude_oil`` with the CN8 code as grade (``CN27090090``),
        ``mass_t`` in tonnes, ``value`` in EUR (thousands multiplied out) or USD, ``flag`` as in the
        module docstring. A file with a header and no rows gives an empty frame.

    Raises
    ------
    SourceFormatError
        Everything :func:`parse_ffcsv` raises, plus: not a foreign-trade (51000) table; no MONAT,
        STLAH or WAM8 dimension; an unknown content, unit, goods code or country label; a STLAH code
        whose label names another country than :data:`STLAH_ISO`; a cell given twice.
    """
    long = parse_ffcsv(src, name=name, decimal=decimal, language=language)
    name = long.attrs["name"]
    if long.empty:
        return empty_frame()
    _check_statistic(long, name)
    dims = dimensions(long, name)
    table = "51000-0010" if "MONAT" not in dims and "WAM4" in dims else "51000-0017"
    missing = [v for v in READ_DIMENSIONS[table] if v not in dims]
    if missing:
        raise SourceFormatError(name, f"table 51000-0017 has the dimensions MONAT, STLAH and WAM8 "
                                      f"(51000-0010: STLAH and WAM4, yearly); this file has "
                                      f"{sorted(dims)}", missing[0])
    cells = _cells(long, dims, name)
    return _canonical(cells, name, vintage, dataset=table, freq="M" if "MONAT" in dims else "A")


def _check_statistic(long: pd.DataFrame, name: str) -> None:
    statistics = sorted(long["statistics_code"].unique())
    if statistics != ["51000"]:
        raise SourceFormatError(name, f"expected the foreign-trade statistic 51000, found {statistics}",
                                "statistics_code")
    times = sorted(long["time_code"].unique())
    if times != ["JAHR"]:
        raise SourceFormatError(name, f"expected time_code JAHR (years), found {times}", "time_code")


def _attribute(long: pd.DataFrame, n: int) -> tuple[pd.Series, pd.Series]:
    return long[f"{n}_variable_attribute_code"].astype(str), long[f"{n}_variable_attribute_label"].astype(str)


def _cells(long: pd.DataFrame, dims: Mapping[str, int], name: str) -> pd.DataFrame:
    """One row per kept value cell: flow, measure, partner, stlah, product, grade, period, v, flag."""
    marks = sorted(set(long["value_q"].dropna().unique()) - set(QUALITY_MARKS))
    if marks:
        known = ", ".join(f"{k} ({v})" for k, v in QUALITY_MARKS.items())
        raise SourceFormatError(name, f"unknown quality marks {[m[:20] for m in marks[:5]]}; known: {known}",
                                "value_q")
    content = long["value_variable_code"].astype(str)
    unknown = sorted(set(content.unique()) - set(CONTENTS) - set(DROPPED_CONTENTS))
    if unknown:
        raise SourceFormatError(name, f"unknown contents {unknown}; known: {sorted(CONTENTS)} "
                                      f"(and {sorted(DROPPED_CONTENTS)}, dropped)", "value_variable_code")
    long = long.loc[content.isin(list(CONTENTS)).to_numpy()]
    content = long["value_variable_code"].astype(str)
    cells = pd.DataFrame(index=long.index)
    cells["flow"] = content.map(lambda c: CONTENTS[c][0])
    cells["measure"] = content.map(lambda c: CONTENTS[c][1])
    cells["v"] = long["value"] * _unit_factors(cells["measure"], long["value_unit"], name)
    months = _attribute(long, dims["MONAT"])[0] if "MONAT" in dims else pd.Series("MONAT01", index=long.index)
    cells["period"] = _periods(long["time"], months, name)
    cells["partner"], cells["stlah"] = _partners(*_attribute(long, dims["STLAH"]), name)
    goods = "WAM8" if "WAM8" in dims else "WAM4"
    cells["product"], cells["grade"] = _products(_attribute(long, dims[goods])[0], name)
    flag = long["special"].map(lambda s: CANONICAL_FLAG.get(s, "") if isinstance(s, str) else "")
    cells["flag"] = flag + long["value_q"].fillna("")
    return cells


def _unit_factors(measure: pd.Series, unit: pd.Series, name: str) -> np.ndarray:
    pairs = pd.DataFrame({"measure": measure, "unit": unit.fillna("").astype(str)})
    factors = np.full(len(pairs), np.nan)
    for (kind, text), index in pairs.groupby(["measure", "unit"], sort=True).indices.items():
        if text not in UNITS[kind]:
            raise SourceFormatError(name, f"unit {text!r} for {kind}: expected one of {sorted(UNITS[kind])}",
                                    "value_unit")
        factors[index] = UNITS[kind][text]
    return factors


def _periods(year: pd.Series, month: pd.Series, name: str) -> pd.Series:
    """First day of the month from the year (``time``) and the ``MONATnn`` attribute code."""
    bad_years = sorted({str(y) for y in year.unique() if not re.fullmatch(r"\d{4}", str(y))
                        or not PERIOD_YEARS[0] <= int(y) <= PERIOD_YEARS[1]})
    if bad_years:
        raise SourceFormatError(name, f"unreadable years {bad_years[:5]}; expected YYYY in "
                                      f"{PERIOD_YEARS[0]}-{PERIOD_YEARS[1]}", "time")
    bad_months = sorted({m for m in month.unique() if not _MONTH.match(m)})
    if bad_months:
        raise SourceFormatError(name, f"unreadable months {bad_months[:5]}; expected MONAT01..MONAT12",
                                "MONAT")
    text = year.astype(str) + "-" + month.str[5:7] + "-01"
    return pd.to_datetime(text, format="%Y-%m-%d").astype("datetime64[s]")


def _partners(code: pd.Series, label: pd.Series, name: str) -> tuple[pd.Series, pd.Series]:
    """Partner ISO codes from the country labels, cross-checked against :data:`STLAH_ISO`."""
    pairs = pd.DataFrame({"code": code, "label": label}).drop_duplicates()
    iso_of: dict[tuple[str, str], str] = {}
    unknown, conflicts = [], []
    for stlah, text in pairs.itertuples(index=False):
        if _name_key(text) in STLAH_LABELS.get(stlah, ()):  # the code's own label in the country list
            iso_of[(stlah, text)] = STLAH_PARTNER[stlah]
            continue
        iso = country_iso(text)
        if iso is None:
            unknown.append(f"{stlah} {text!r}")
            continue
        listed = STLAH_ISO.get(stlah) or STLAH_PARTNER.get(stlah)
        if listed is not None and listed != iso:
            where = "STLAH_ISO" if stlah in STLAH_ISO else COUNTRIES_FILE
            conflicts.append(f"{stlah} is {listed} in {where} but labelled {text!r} ({iso})")
        iso_of[(stlah, text)] = iso
    if unknown:
        raise SourceFormatError(name, f"unknown country labels {unknown[:10]}; add them to "
                                      f"{COUNTRIES_FILE} or COUNTRY_NAMES_BY_ISO", "STLAH")
    if conflicts:
        raise SourceFormatError(name, "; ".join(conflicts[:5]), "STLAH")
    iso = pd.Series([iso_of[p] for p in zip(code, label, strict=True)], index=code.index, dtype=object)
    shared = pd.DataFrame({"iso": iso, "code": code}).drop_duplicates().groupby("iso")["code"].unique()
    shared = shared[shared.map(len) > 1]
    if len(shared):
        raise SourceFormatError(name, f"several STLAH codes map to one partner: "
                                      f"{ {k: sorted(v) for k, v in shared.items()} }", "STLAH")
    return iso, code.astype(object)


def _products(goods: pd.Series, name: str) -> tuple[pd.Series, pd.Series]:
    """(product, grade) of ``WA`` + CN8 codes: crude_oil with grade ``CN<code>`` for CN 2709. The
    4-digit codes of 51000-0010 (``WA2709``): crude_oil without grade; others ``cn4_<code>``."""
    if len(goods) and goods.iloc[0].startswith("WA") and len(goods.iloc[0]) == 6:
        cn4 = goods.str.extract(_WA4, expand=False)
        if cn4.isna().any():
            bad = sorted(goods[cn4.isna()].unique())[:5]
            raise SourceFormatError(name, f"unreadable goods codes {bad}; expected WA + 4 digits", "WAM4")
        crude = cn4.isin(list(CRUDE_HEADINGS))
        return ("cn4_" + cn4).where(~crude, "crude_oil").astype(object), pd.Series(None, index=goods.index,
                                                                                   dtype=object)
    cn8 = goods.str.extract(_WA8, expand=False)
    if cn8.isna().any():
        bad = sorted(goods[cn8.isna()].unique())[:5]
        raise SourceFormatError(name, f"unreadable goods codes {bad}; expected WA + 8 digits", "WAM8")
    crude = cn8.str[:4].isin(list(CRUDE_HEADINGS))
    product = ("cn8_" + cn8).where(~crude, "crude_oil").astype(object)
    grade = ("CN" + cn8).where(crude, None).astype(object)
    return product, grade


def _canonical(
    cells: pd.DataFrame, name: str, vintage, dataset: str = "51000-0017", freq: str = "M"
) -> pd.DataFrame:
    """Pivot the cells to one row per (flow, partner, product, grade, period)."""
    if cells.empty:
        return empty_frame()
    keys = ["flow", "partner", "product", "grade", "period"]
    cells = cells.assign(grade=cells["grade"].fillna(""))
    duplicated = cells.duplicated(keys + ["measure"], keep=False)
    if duplicated.any():
        example = cells.loc[duplicated, keys + ["measure"]].head(2).astype(str).to_dict("records")
        raise SourceFormatError(name, f"{int(duplicated.sum())} cells occur twice, e.g. {example}", "value")
    values = cells.pivot(index=keys, columns="measure", values="v")
    flags = cells.pivot(index=keys, columns="measure", values="flag")  # NaN where no cell exists
    frame = values.index.to_frame(index=False)
    eur_flows = set(cells.loc[cells["measure"] == "value_eur", "flow"])
    measure = np.where(frame["flow"].isin(eur_flows), "value_eur", "value_usd")

    def column(table: pd.DataFrame, key: str) -> np.ndarray:
        return table[key].to_numpy() if key in table else np.full(len(table), np.nan, dtype=object)

    has_value = np.where(measure == "value_eur", pd.notna(column(flags, "value_eur")),
                         pd.notna(column(flags, "value_usd")))
    frame["value"] = np.where(measure == "value_eur", column(values, "value_eur"),
                              column(values, "value_usd")).astype(float)
    frame["mass_t"] = column(values, "mass").astype(float)
    mass_flag = column(flags, "mass")
    value_flag = np.where(measure == "value_eur", column(flags, "value_eur"), column(flags, "value_usd"))
    has_mass = pd.notna(mass_flag)
    flag = pd.Series(np.where(has_mass, mass_flag, value_flag), dtype=object).fillna("")
    frame["flag"] = flag.where(flag != "", None)
    frame["currency"] = np.where(pd.notna(frame["value"]), pd.Series(measure).map(CURRENCY), None)
    frame = frame.loc[has_mass | has_value].reset_index(drop=True)
    frame["grade"] = frame["grade"].where(frame["grade"] != "", None)
    frame["source"] = SOURCE
    frame["dataset"] = dataset
    frame["vintage"] = pd.Timestamp(vintage) if vintage is not None else pd.NaT
    frame["freq"] = freq
    frame["reporter"] = "DE"
    for column_name in COLUMNS:
        if column_name not in frame.columns:
            frame[column_name] = None
    return conform(frame[list(COLUMNS)])


# -- fetch -------------------------------------------------------------------------------------------

#: The GENESIS-Online REST web service (POST only since July 2025).
BASE_URL = "https://www-genesis.destatis.de/genesisWS/rest/2020/"
TABLEFILE = "data/tablefile"
VALUES2VARIABLE = "catalogue/values2variable"
MODIFIEDDATA = "catalogue/modifieddata"
#: Environment variable holding the API token.
TOKEN_ENV = "GENESIS_TOKEN"
#: Most values one dialog (``job=false``) request may return (as of 24 March 2025).
MAX_VALUES = 40_000
#: Most parallel requests GENESIS tolerates; oilflows sends its requests one after another.
MAX_PARALLEL = 3
#: Assumed number of STLAH values when all countries are requested (``pagelength=350`` lists them all).
STLAH_VALUES_ESTIMATE = 350
#: Most keys sent in one ``classifyingkey`` list (comma-separated; the exact length limit is unknown [U]).
MAX_KEYS = 25
DEFAULT_GOODS: tuple[str, ...] = ("WA27090010", "WA27090090")
DEFAULT_CONTENTS: tuple[str, ...] = ("GEWE", "WERTE")
#: GENESIS ``Status.Code`` values (sources.md 4.4; restatis and pystatis handling).
STATUS_OK = (0, 22)  # 0 success; 22 success with adjusted parameters (a warning)
STATUS_TOO_BIG = 98  # table too big for a dialog request: split and retry
STATUS_JOB = 99  # a batch job was created: a token cannot run jobs
STATUS_NO_DATA = 104  # no objects for the selection: an empty result
DATA_TYPES = ("application/zip", "application/x-zip-compressed", "application/octet-stream", "text/csv")


@dataclass(frozen=True)
class Query:
    """One ``data/tablefile`` request of a 51000-0017 extract (codes as GENESIS spells them)."""

    table: str
    start_year: int
    end_year: int
    months: tuple[int, ...] | None  # None: all months
    countries: tuple[str, ...] | None  # STLAH codes; None: all countries
    goods: tuple[str, ...]  # WA + CN8
    contents: tuple[str, ...]
    language: str = "de"

    def values(self) -> int:
        """Upper estimate of the number of values the request returns (years x months x ...)."""
        return ((self.end_year - self.start_year + 1) * len(self.months or range(12))
                * len(self.countries or range(STLAH_VALUES_ESTIMATE)) * len(self.goods) * len(self.contents))

    def form(self) -> dict[str, str]:
        """The form fields of the request, in the order of the documented example (sources.md 4.2)."""
        return {
            "name": self.table,
            "startyear": str(self.start_year),
            "endyear": str(self.end_year),
            "format": "ffcsv",
            "job": "false",
            "compress": "false",
            "classifyingvariable1": "MONAT",
            "classifyingkey1": ",".join(f"MONAT{m:02d}" for m in self.months) if self.months else "*",
            "classifyingvariable2": "STLAH",
            "classifyingkey2": ",".join(self.countries) if self.countries else "*",
            "classifyingvariable3": "WAM8",
            "classifyingkey3": ",".join(self.goods),
            "contents": ",".join(self.contents),
            "language": self.language,
        }

    def describe(self) -> str:
        """A short description for messages, e.g. ``51000-0017 2023 MONAT01-MONAT06 STLAH* ...``."""
        years = f"{self.start_year}" + (f"-{self.end_year}" if self.end_year != self.start_year else "")
        months = (f"MONAT{self.months[0]:02d}-MONAT{self.months[-1]:02d}" if self.months else "MONAT*")
        countries = ",".join(self.countries) if self.countries else "STLAH*"
        return f"{self.table} {years} {months} {countries} {','.join(self.goods)} {','.join(self.contents)}"


def build_query(
    table: str = "51000-0017",
    start_year: int | str | None = None,
    end_year: int | str | None = None,
    months: Iterable[int | str] | None = None,
    countries: str | Iterable[str] | None = None,
    goods: str | Iterable[str] = DEFAULT_GOODS,
    contents: str | Iterable[str] = DEFAULT_CONTENTS,
    language: str = "de",
) -> Query:
    """Check and normalise a request; :class:`QueryError` on anything GENESIS would not understand.

    `months` are 1..12 (or ``MONAT03``); `countries` are ISO alpha-2 codes (mapped through
    :data:`ISO_STLAH`) or STLAH codes; `goods` are CN8 codes with or without the ``WA`` prefix;
    `contents` are codes of :data:`CONTENTS`; `end_year` defaults to `start_year`.
    """
    if table not in TABLES:
        raise UnknownDatasetError(table, TABLES, source=SOURCE)
    start = _year(start_year, "start_year")
    end = start if end_year is None else _year(end_year, "end_year")
    if end < start:
        raise QueryError(f"destatis: end_year {end} is before start_year {start}")
    if language not in DECIMAL_OF_LANGUAGE:
        raise QueryError(f"destatis: language must be 'de' or 'en', not {language!r}")
    return Query(table, start, end, _months(months), _countries(countries), _goods(goods),
                 _contents(contents), language)


def _year(value: int | str | None, label: str) -> int:
    if value is None:
        raise QueryError(f"destatis: {label} is required (a year such as 2023)")
    if not re.fullmatch(r"\d{4}", str(value).strip()):
        raise QueryError(f"destatis: {label} {value!r} is not a year (YYYY)")
    return int(str(value).strip())


def _as_list(values: str | Iterable) -> list[str]:
    return [values] if isinstance(values, str | int) else list(values)


def _months(months: Iterable[int | str] | None) -> tuple[int, ...] | None:
    if months is None:
        return None
    found = set()
    for month in _as_list(months):
        text = str(month).strip().upper().removeprefix("MONAT")
        if not text.isdigit() or not 1 <= int(text) <= 12:
            raise QueryError(f"destatis: month {month!r} is not 1..12 or MONAT01..MONAT12")
        found.add(int(text))
    if not found:
        raise QueryError("destatis: months is empty; pass None for all months")
    return tuple(sorted(found))


def _countries(countries: str | Iterable[str] | None) -> tuple[str, ...] | None:
    if countries is None:
        return None
    codes = []
    for country in _as_list(countries):
        text = str(country).strip().upper()
        if _STLAH.match(text):
            code = text
        elif text in ISO_STLAH:
            code = ISO_STLAH[text]
        else:
            raise QueryError(f"destatis: no STLAH code known for {country!r}; pass the STLAH code "
                             f"(list them with stlah_catalogue())")
        if code not in codes:
            codes.append(code)
    if not codes:
        raise QueryError("destatis: countries is empty; pass None for all countries")
    return tuple(codes)


def _goods(goods: str | Iterable[str]) -> tuple[str, ...]:
    codes = []
    for item in _as_list(goods):
        text = re.sub(r"\s", "", str(item)).upper()
        match = re.fullmatch(r"(?:WA)?(\d{8})", text)
        if not match:
            raise QueryError(f"destatis: goods code {item!r} is not a CN8 code (WA27090090 or 27090090)")
        if f"WA{match.group(1)}" not in codes:
            codes.append(f"WA{match.group(1)}")
    if not codes:
        raise QueryError("destatis: goods is empty")
    return tuple(codes)


def _contents(contents: str | Iterable[str]) -> tuple[str, ...]:
    codes = []
    for item in _as_list(contents):
        text = str(item).strip().upper()
        if text not in CONTENTS:
            raise QueryError(f"destatis: unknown content {item!r}; known: {', '.join(CONTENTS)}")
        if text not in codes:
            codes.append(text)
    if not codes:
        raise QueryError("destatis: contents is empty")
    return tuple(codes)


def _halves(values: tuple) -> tuple[tuple, tuple]:
    middle = (len(values) + 1) // 2
    return values[:middle], values[middle:]


def split_query(query: Query) -> tuple[Query, Query] | None:
    """Split a request in two: by years, then months, countries, goods, contents; None if it is one cell."""
    if query.end_year > query.start_year:
        middle = (query.start_year + query.end_year) // 2
        return replace(query, end_year=middle), replace(query, start_year=middle + 1)
    months = query.months or tuple(range(1, 13))
    if len(months) > 1:
        first, second = _halves(months)
        return replace(query, months=first), replace(query, months=second)
    for field in ("countries", "goods", "contents"):
        values = getattr(query, field)
        if values is not None and len(values) > 1:
            first, second = _halves(values)
            return replace(query, **{field: first}), replace(query, **{field: second})
    return None


def plan_requests(query: Query) -> list[Query]:
    """Split `query` until every request has at most :data:`MAX_KEYS` keys per list and an estimated
    :data:`MAX_VALUES` values (all countries count as :data:`STLAH_VALUES_ESTIMATE`)."""
    for field in ("countries", "goods"):
        values = getattr(query, field)
        if values is not None and len(values) > MAX_KEYS:
            first, second = _halves(values)
            return [*plan_requests(replace(query, **{field: first})),
                    *plan_requests(replace(query, **{field: second}))]
    if query.values() > MAX_VALUES and (parts := split_query(query)) is not None:
        return [*plan_requests(parts[0]), *plan_requests(parts[1])]
    return [query]


#: The module's name in messages (its rows' ``source`` is "destatis").
_MODULE = "genesis"
#: The arguments of the deprecated call form ``fetch(table, start_year, end_year, months, countries,
#: goods, contents, token, language)``, in order.
_OLD_POSITIONAL = ("start_year", "end_year", "months", "countries", "goods", "contents", "token", "language")
#: Keywords only the deprecated form has (the new form's partner=, product=, start=, end= replace them).
_OLD_ONLY = ("table", "start_year", "end_year", "countries", "goods")


def fetch(
    dataset: str | None = None,
    *old_args: object,
    reporter: str | None = None,
    partner: str | Iterable[str] | None = None,
    product: str | Iterable[str] | None = None,
    start: str | int | None = None,
    end: str | int | None = None,
    base_url: str | None = None,
    months: Iterable[int | str] | None = None,
    contents: str | Iterable[str] = DEFAULT_CONTENTS,
    token: str | None = None,
    language: str = "de",
    vintage: pd.Timestamp | str | None = None,
    **old_kwargs: object,
) -> pd.DataFrame:
    """Download 51000-0017 from GENESIS-Online (``data/tablefile``, ffcsv) and return the canonical frame.

    The fetch signature of every source (docs/fetching.md)::

        fetch("51000-0017", partner=["KZ", "RU"], start="2022-11", end="2023-02", token=...)

    Parameters
    ----------
    dataset : str
        The table id, ``"51000-0017"`` (the only table :func:`read` knows).
    reporter : str, optional
        Always Germany: None or ``"DE"``.
    partner : str or iterable of str, optional
        ISO alpha-2 (through :data:`ISO_STLAH`) or STLAH codes (``STLAH``); all countries by default.
    product : str or iterable of str, optional
        CN8 codes (``WAM8``; ``27090090`` or ``WA27090090``); default HS 2709 (:data:`DEFAULT_GOODS`, also
        for ``"crude_oil"``).
    start, end : str
        ``YYYY`` or ``YYYY-MM`` (`end` defaults to `start`): mapped to ``startyear``/``endyear`` and the
        ``MONAT`` keys (a range across years is sent as up to three requests: the first year's months,
        the whole years, the last year's months). A malformed period or a start after the end is a
        QueryError before any request.
    base_url : str, optional
        Another GENESIS instance with the same API (e.g. the Bavarian one); default :data:`BASE_URL`.
    months : iterable of int, optional
        Source-specific: months 1..12 within every year (only with ``YYYY`` periods).
    contents : iterable of str
        Source-specific: contents of :data:`CONTENTS` (``GEWE`` import weight and ``WERTE`` import
        value by default).
    token : str, optional
        Source-specific: the GENESIS API token; by default ``$GENESIS_TOKEN`` (else the OS keyring),
        looked up by :func:`oilflows.http.credential`. Sent in the ``username`` header only.
    language : {"de", "en"}
        Source-specific: language of labels and numbers in the answer.
    vintage : timestamp or str, optional
        Stamp for the ``vintage`` column (null by default; see the module docstring).

    Deprecated (until the next release, with a DeprecationWarning): the old form ``fetch(table,
    start_year, end_year, months, countries, goods, contents, token, language)``, positional or keyword
    (``start_year=``, ``end_year=``, ``countries=``, ``goods=``, ``table=``).

    Returns
    -------
    pandas.DataFrame
        The canonical frame of all answers (see :func:`read`); empty if GENESIS has no data (104).

    Raises
    ------
    QueryError
        A malformed request or no token (before anything is sent).
    FetchError
        HTTP errors (429/5xx are retried by :mod:`oilflows.http` first), an HTML page, status 99 or any
        other error status, a request still too big after splitting to one cell. Never contains the token.
    SourceFormatError
        A truncated ZIP, a ZIP without exactly one CSV, a changed column set (see :func:`read`).
    """
    unknown = set(old_kwargs) - set(_OLD_ONLY)
    if unknown:
        raise TypeError(f"genesis.fetch() got unexpected keyword arguments {sorted(unknown)}")
    if old_args or old_kwargs or dataset is None:
        query, token = _old_query(dataset, old_args, old_kwargs, months, contents, token, language,
                                  reporter, partner, product, start, end)
        queries = [query]
    else:
        queries = _new_queries(str(dataset), reporter, partner, product, start, end, months, contents,
                               language)
    secret = _token(token)
    url = (base_url or BASE_URL).rstrip("/") + "/" + TABLEFILE
    parts = [part for query in queries for part in plan_requests(query)]

    def fetch_one(part: Query) -> list[tuple[str, bytes]]:
        return _download_one(part, url, secret)

    def cannot_split(part: Query, too_big: TooBig) -> FetchError:
        return FetchError(too_big.where, f"GENESIS status 98 (too big for a dialog request: "
                          f"{too_big.detail}) even for one month, country, good and content",
                          status=too_big.status)

    frames = []
    # one after another: GENESIS tolerates at most 3 in parallel (and http caps it at 3)
    for bodies in fetch_split(parts, fetch_one, split_query, cannot_split):
        for label, body in bodies:
            frames.append(read(body, name=label, vintage=vintage, language=queries[0].language))
    frames = [frame for frame in frames if len(frame)]
    if not frames:
        return empty_frame()
    return validate(conform(pd.concat(frames, ignore_index=True)))


def _old_query(dataset, old_args, old_kwargs, months, contents, token, language, reporter, partner, product,
               start, end) -> tuple[Query, str | None]:
    """The Query and token of a call in the deprecated form (DeprecationWarning naming the new call)."""
    if any(v is not None for v in (reporter, partner, product, start, end)):
        raise TypeError("genesis.fetch(): reporter=/partner=/product=/start=/end= belong to the new form "
                        "fetch('51000-0017', ...); do not mix them with start_year=/countries=/goods=")
    if len(old_args) > len(_OLD_POSITIONAL):
        raise TypeError(f"genesis.fetch() takes at most {len(_OLD_POSITIONAL) + 1} positional arguments")
    given: dict[str, object] = {"table": "51000-0017" if dataset is None else dataset, "start_year": None,
                                "end_year": None, "months": months, "countries": None, "goods": DEFAULT_GOODS,
                                "contents": contents, "token": token, "language": language}
    if "table" in old_kwargs and dataset is not None and dataset not in (old_kwargs["table"], TABLES[0]):
        raise TypeError("genesis.fetch() got multiple values for argument 'table'")
    given.update(old_kwargs)
    for name, value in zip(_OLD_POSITIONAL, old_args, strict=False):
        given[name] = value
    query = build_query(given["table"], given["start_year"], given["end_year"], given["months"],
                        given["countries"], given["goods"], given["contents"], given["language"])
    first = f"{query.start_year}-{query.months[0]:02d}" if query.months else str(query.start_year)
    last = f"{query.end_year}-{query.months[-1]:02d}" if query.months else str(query.end_year)
    exact = not query.months or query.start_year == query.end_year and len(query.months) == (
        query.months[-1] - query.months[0] + 1)
    new = call_text(_MODULE, query.table, partner=list(given["countries"]) if given["countries"] else None,
                    product=list(query.goods), start=first, end=last,
                    months=None if exact else list(query.months), contents=list(query.contents))
    deprecated(_MODULE, "table, start_year, end_year, months, countries, goods, ...", new, stacklevel=4)
    return query, given["token"]  # type: ignore[return-value]


def _new_queries(dataset, reporter, partner, product, start, end, months, contents, language) -> list[Query]:
    """The Queries of a call in the new form: `start`..`end` as year ranges and their MONAT keys."""
    if reporter is not None and str(reporter).strip().upper() != "DE":
        raise QueryError(f"destatis {dataset}: the reporter is always Germany (DE), not {reporter!r}")
    start, end = check_periods(start, end, f"destatis {dataset}")
    if start is None:
        raise QueryError(f"destatis {dataset}: start is required (YYYY or YYYY-MM; end defaults to start)")
    end = start if end is None else end
    if months is not None and ("-" in start or "-" in end):
        raise QueryError(f"destatis {dataset}: months= goes with YYYY periods only, not {start!r}/{end!r}")
    if product is None or (isinstance(product, str) and product.lower() == "crude_oil"):
        product = DEFAULT_GOODS
    first, last = month_index(start), month_index(end, is_end=True)
    (y1, m1), (y2, m2) = divmod(first, 12), divmod(last, 12)
    m1, m2 = m1 + 1, m2 + 1
    spans: list[tuple[int, int, Iterable[int] | None]] = []
    if y1 == y2:
        spans.append((y1, y1, None if (m1, m2) == (1, 12) else range(m1, m2 + 1)))
    else:
        if m1 != 1:
            spans.append((y1, y1, range(m1, 13)))
        whole = (y1 if m1 == 1 else y1 + 1, y2 if m2 == 12 else y2 - 1)
        if whole[0] <= whole[1]:
            spans.append((whole[0], whole[1], None))
        if m2 != 12:
            spans.append((y2, y2, range(1, m2 + 1)))
    return [build_query(dataset, a, b, months if span is None else list(span), partner, product, contents,
                        language) for a, b, span in spans]


def _token(token: str | None) -> str:
    # $GENESIS_TOKEN, else the OS keyring (service "oilflows", name GENESIS_TOKEN); registered for redaction.
    value = credential(token, TOKEN_ENV)
    if not value:
        raise QueryError(f"destatis: GENESIS-Online needs an API token: set the environment variable "
                         f"{TOKEN_ENV} (or the keyring entry oilflows/{TOKEN_ENV}) or pass token=... "
                         f"(free registration at https://www-genesis.destatis.de, menu "
                         f"'Webservice-Schnittstelle (API)')")
    return value


def _download_one(query: Query, url: str, token: str) -> list[tuple[str, bytes]]:
    """The data body answering `query` (none for status 104); :class:`TooBig` on status 98."""
    label = f"{url} [{query.describe()}]"
    response = _post(url, query.form(), token)
    try:
        body = _data_or_status(response, label, token)
    except _TooBig as exc:
        raise TooBig(label, str(exc), response.status_code) from None
    return [] if body is None else [(label, body)]


class _TooBig(Exception):
    """Internal: GENESIS answered status 98 for a request."""


def _post(url: str, form: Mapping[str, str], token: str):
    """POST a form with the token in the ``username`` header; FetchError messages never hold the token."""
    from .. import http

    # The token headers are credentials: redacted, never cached, dropped on a redirect to another origin.
    http.register_credential_header("username")
    http.register_credential_header("password")
    headers = {"Content-Type": "application/x-www-form-urlencoded", "username": token, "password": ""}
    try:
        # Not cached (http also refuses to cache credentialed requests: the token stays off disk).
        return http.post(url, data=dict(form), headers=headers, ok=(200,), cache=False)
    except FetchError as exc:  # redacted when built (http.redact masks every registered secret)
        raise exc from None  # never chained: the context holds the request, token header included


def _data_or_status(response, label: str, token: str) -> bytes | None:
    """The data body of a response, None for status 104; raise on errors, _TooBig on status 98."""
    body = response.content
    status = response.status_code
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if not body:
        raise FetchError(label, f"empty response body (Content-Type {content_type!r})", status=status)
    if body.startswith(ZIP_MAGIC):
        return body
    kind = sniff_text_kind(body)
    if content_type == "application/json" or kind == "json":
        return _status_body(_json(body, label, status), label, token, status)
    if kind == "markup" or content_type in ("text/html", "application/xhtml+xml"):
        raise FetchError(label, f"the service sent an HTML/XML page instead of data: {markup_title(body)!r}",
                         status=status)  # FetchError redacts every registered secret, the token included
    if content_type in DATA_TYPES or content_type.startswith("text/"):
        return body
    raise FetchError(label, f"unexpected Content-Type {content_type!r}", status=status)


def _json(body: bytes, label: str, status: int) -> dict:
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FetchError(label, f"unreadable JSON body ({exc})", status=status) from None
    if not isinstance(document, dict):
        raise FetchError(label, "JSON body is not an object", status=status)
    return document


def _status_code(document: dict, label: str, token: str, status: int) -> tuple[int, str]:
    """``Status.Code`` and ``Status.Content`` (whitespace collapsed, every secret redacted)."""
    from .. import http

    block = document.get("Status")
    code = block.get("Code") if isinstance(block, dict) else None
    try:
        number = int(code)
    except (TypeError, ValueError):
        excerpt = http.redact(" ".join(json.dumps(document, ensure_ascii=False).split())[:300])
        raise FetchError(label, f"JSON without a GENESIS Status.Code: {excerpt}", status=status) from None
    return number, http.redact(" ".join(str(block.get("Content", "")).split()))


def _status_body(document: dict, label: str, token: str, status: int) -> bytes | None:
    """Act on a GENESIS status message (sources.md 4.4)."""
    code, content = _status_code(document, label, token, status)
    if code in STATUS_OK:
        table = document.get("Object")
        text = table.get("Content") if isinstance(table, dict) else None
        if isinstance(text, str) and text.strip():
            return text.encode("utf-8")
        raise FetchError(label, f"GENESIS status {code} ({content}) but no table in the answer",
                         status=status)
    if code == STATUS_TOO_BIG:
        raise _TooBig(content)
    if code == STATUS_NO_DATA:
        return None
    if code == STATUS_JOB:
        raise FetchError(label, f"GENESIS created a batch job (status 99: {content}). An API token cannot "
                                f"run jobs or fetch their results (job=true needs user name and password); "
                                f"oilflows sends job=false and splits large requests, so request fewer "
                                f"years, months, countries or goods", status=status)
    raise FetchError(label, f"GENESIS status {code}: {content}", status=status)


def stlah_catalogue(
    token: str | None = None, language: str = "de", *, base_url: str = BASE_URL
) -> dict[str, str]:
    """All STLAH codes and their country labels (``catalogue/values2variable``, ``pagelength=350``).

    Returns ``{"STLAH003": "Niederlande", ...}``; empty if GENESIS answers 104. Use it with
    :func:`verify_stlah` to confirm :data:`STLAH_ISO`.
    """
    url = base_url.rstrip("/") + "/" + VALUES2VARIABLE
    secret = _token(token)
    response = _post(url, {"name": "STLAH", "pagelength": "350", "language": language}, secret)
    document = _json(response.content, url, response.status_code)
    code, content = _status_code(document, url, secret, response.status_code)
    if code == STATUS_NO_DATA:
        return {}
    if code not in STATUS_OK:
        raise FetchError(url, f"GENESIS status {code}: {content}", status=response.status_code)
    entries = document.get("List") or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) and "Code" in e for e in entries):
        raise FetchError(url, "catalogue answer without a List of {Code, Content}",
                         status=response.status_code)
    return {str(e["Code"]): str(e.get("Content", "")) for e in entries}


def verify_stlah(catalogue: Mapping[str, str]) -> list[str]:
    """Problems of :data:`STLAH_ISO` against a STLAH catalogue (code -> label); empty if all agree."""
    problems = []
    for code, iso in STLAH_ISO.items():
        label = catalogue.get(code)
        if label is None:
            problems.append(f"{code} ({iso}) is not in the catalogue")
        elif country_iso(label) != iso:
            problems.append(f"{code} is {iso} in STLAH_ISO but the catalogue says {label!r} "
                            f"({country_iso(label)})")
    return problems


_GENESIS_DATE = re.compile(r"^(\d{2})\.(\d{2})\.(\d{4})(?:[ T]+(\d{2}):(\d{2})(?::(\d{2}))?)?$")


def last_update(
    table: str = "51000-0017", *, token: str | None = None,
    since: str | pd.Timestamp | None = None, base_url: str = BASE_URL
) -> pd.Timestamp | None:
    """The latest modification date GENESIS reports for `table` (``catalogue/modifieddata``).

    POSTs ``selection=<table>``, ``type=Tabellen``, ``date=<since as DD.MM.YYYY>`` (only when `since` is
    given), ``pagelength=100`` and ``language=de``, with the token in the ``username`` header (from
    `token` or ``GENESIS_TOKEN``); not cached. The answer's shape (``List`` of ``{Code, Content, Date,
    Added, Type, Version}`` under the usual ``Ident``/``Status`` envelope) is [U]: taken from the restatis
    client's handling, not from a recording.

    Returns
    -------
    pandas.Timestamp or None
        The latest ``Date`` (``DD.MM.YYYY``, optionally ``HH:MM[:SS]``) among the ``List`` entries whose
        ``Code`` equals `table`, as a naive timestamp; None if GENESIS answers status 104 (nothing
        modified / no objects) or no entry is for `table`.

    Raises
    ------
    QueryError
        Without a token.
    SourceFormatError
        On a body without ``Status`` or ``List``, or an unreadable ``Date``.
    FetchError
        On HTTP or network errors and on GENESIS status codes other than 0, 22 and 104.
    """
    url = base_url.rstrip("/") + "/" + MODIFIEDDATA
    table = str(table).strip()
    form = {"selection": table, "type": "Tabellen"}
    if since is not None:
        form["date"] = pd.Timestamp(since).strftime("%d.%m.%Y")
    form.update(pagelength="100", language="de")
    secret = _token(token)
    response = _post(url, form, secret)
    document = _json(response.content, url, response.status_code)
    if not isinstance(document.get("Status"), dict):
        raise SourceFormatError(url, "catalogue/modifieddata answer without a GENESIS Status block", "Status")
    code, content = _status_code(document, url, secret, response.status_code)
    if code == STATUS_NO_DATA:
        return None
    if code not in STATUS_OK:
        raise FetchError(url, f"GENESIS status {code}: {content}", status=response.status_code)
    if "List" not in document:
        raise SourceFormatError(url, "catalogue/modifieddata answer without a List", "List")
    entries = document["List"] or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise SourceFormatError(url, "List is not a list of objects", "List")
    dates = [_genesis_date(e.get("Date"), url) for e in entries if str(e.get("Code", "")).strip() == table]
    return max(dates) if dates else None


def _genesis_date(value, label: str) -> pd.Timestamp:
    """``DD.MM.YYYY`` with an optional ``HH:MM`` or ``HH:MM:SS`` -> naive Timestamp."""
    match = _GENESIS_DATE.match(str(value).strip()) if value is not None else None
    if match is None:
        raise SourceFormatError(label, f"date {value!r} is not DD.MM.YYYY [HH:MM[:SS]]", "Date")
    day, month, year, hour, minute, second = (int(g) if g else 0 for g in match.groups())
    try:
        return pd.Timestamp(year=year, month=month, day=day, hour=hour, minute=minute, second=second)
    except ValueError:
        raise SourceFormatError(label, f"date {value!r} is not a valid date", "Date") from None

__all__ = ["BASE_URL", "CONTENTS", "COUNTRY_NAMES", "DEFAULT_CONTENTS", "DEFAULT_GOODS",
           "ISO_STLAH", "SOURCE", "STLAH_ISO", "TABLES", "TOKEN_ENV", "Query", "build_query",
           "country_iso", "dimensions", "fetch", "last_update", "parse_ffcsv", "plan_requests",
           "read", "split_query", "stlah_catalogue", "verify_stlah"]
