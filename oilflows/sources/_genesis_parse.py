"""GENESIS flat files ("ffcsv") -> a long frame: layouts, header checks, special signs, quality marks,
decimal separators. No code tables, no network: :mod:`oilflows.sources.genesis` is the public face.

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

"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence

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
from ..errors import SourceFormatError
from ..schema import MAX_ABS_VALUE

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
