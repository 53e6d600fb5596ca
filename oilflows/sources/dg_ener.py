"""Reader for DG ENER's EU Crude Oil Imports Register (COIR) workbooks, one ``.xlsx`` per year.

The register ("Registration of Crude Oil Imports and Deliveries in the European Union", Council
Regulation (EC) 2964/95) is published by the European Commission, DG ENER, as one workbook per
year: a cumulative sheet ``Detailed Crude Oil Imports - cu`` (January-December) and one sheet per
month (``EU COI - Jan`` .. ``EU COI - Dec``; September is ``Sept``). Every sheet has the columns
Reporting Country, Country of Origin, Type of crude oil, Volume (1000 bbl), Total Value ($ 1000),
CIF price ($/bbl), % of Total Imports. :func:`read_coir` returns the canonical frame of
:mod:`oilflows.schema` (``source="dg_ener"``, ``dataset="coir"``).

Layout, as found in the 2013-2019 workbooks (all 91 sheets inspected)
---------------------------------------------------------------------
- The header row is located by its texts, never by position: row 2 in 2013-2017, row 5 (cumulative)
  or row 7 (monthly) in 2018-2019, below a title block whose cells carry ``_x000D_`` and a period
  stamp (``"Jan - 2018"``, ``"Sep - 2018"``, ``"1-12/2018"``). Footnote markers in header texts
  (``"CIF price (2) ($/bbl)"``) are ignored. Monthly sheets repeat the header before every
  reporter; cumulative sheets do not.
- The reporting country is written on the first row of its block only and is forward-filled. The
  country of origin is written on *every* data row (no blank origin occurs in any of the 91
  sheets), so it is not forward-filled: a blank origin on a data row raises
  :class:`SourceFormatError` rather than being guessed.
- A ``Sum:`` row (in the grade column, reporter repeated) closes each reporter's block; it is
  emitted as partner ``WORLD`` with grade null. The reader checks that it equals the sum of the
  block's partner rows (it does in every sheet, to 1e-8 kbbl).
- A final ``World`` row is the total over all reporters in the sheet. Its volume equals the sum of
  the reporters' ``Sum:`` rows in all 91 sheets, and its value *exceeds* the sum of the disclosed
  reporter values by exactly the confidential ones, i.e. it is a real reporter total that also
  carries the confidential values. It is therefore emitted as reporter ``EU28``, partner ``WORLD``,
  grade null. It is the EU28 *as published*: the reporting member states present in that sheet
  (United Kingdom included; Czech Republic absent from its confidential periods - it appears only
  in 2013-2014 and Jan-Apr 2015, and not in the 2015 cumulative sheet). The reader checks the
  identity and raises if it ever fails.
- Footnote text below the table is skipped. ``(3)`` ("données confidentielles / confidential data")
  in a value or price cell means confidential: the value and price are null and ``flag`` is
  ``(3)``, the register's own marker (volumes are always given). The schema's ``flag="c"`` means
  "quantity suppressed", so it is used only for a confidential *volume* (never seen so far), with a
  null volume.
- Monthly sheets are monthly, not year-to-date: for every reporter/origin/grade and year, the sum
  of the 12 monthly sheets equals the cumulative sheet (2013-2019), except that Czech Republic's
  Jan-Apr 2015 rows are absent from the 2015 cumulative sheet, whose EU total is therefore
  17,419 kbbl (exactly CZ's Jan-Apr imports) below the sum of the 2015 monthly EU totals.
- No key (reporter, origin, grade, period) occurs twice in any sheet. Should one ever occur, the
  rows are summed (volume and value; price recomputed as value / volume, null if any part is
  confidential).
- Germany's figures exclude pipeline imports ("Due to confidentiality, Germany does not report
  import volumes and prices from pipelines"), so Druzhba crude is missing here before 2020.

Codes
-----
Reporters are mapped to ISO 3166-1 alpha-2 through :data:`COIR_REPORTER`, origins through
:data:`COIR_ORIGIN` (``Abu Dhabi`` -> ``AE``; regions and "other" groups -> the region codes of
:data:`oilflows.codes.REGIONS`). ``Other FSU countries`` maps to the region ``FSU``. A name
missing from these tables raises :class:`SourceFormatError` naming the file, the sheet and the name.

Vintage
-------
The workbook's own ``modified`` document property (UTC, to the second). Note that the 2013-2019
copies were re-saved by a third party on 2023-02-14, so their stamp is that date, not the
Commission's release date. A workbook without the property gets January 1 of the year after the
data year.

The data year is read from the sheets' period stamps (2018 onwards), else from a four-digit year in
the file name (``Crude_Oil_Imports_Reporting_Country_2013.xlsx``), else from the ``year`` argument;
every available source must agree.
"""

from __future__ import annotations

import io
import math
import os
import re
import zipfile
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import openpyxl
import pandas as pd
from openpyxl.utils import get_column_letter

from .._io import ZIP_MAGIC, check_zip, read_zip_member
from ..errors import SourceFormatError
from ..schema import MAX_ABS_VALUE, WORLD, conform

__all__ = ["COIR_ORIGIN", "COIR_REPORTER", "read", "read_coir"]

SOURCE = "dg_ener"
DATASET = "coir"
#: Reporter code of the register's final ``World`` row (the total over all reporting member states).
EU_REPORTER = "EU28"

#: "Country of Origin" as written in the register -> oilflows partner code (ISO alpha-2 or a region
#: code of :data:`oilflows.codes.REGIONS`). Matched case-insensitively after whitespace clean-up.
#: Every one of the 42 names in the 2013-2019 workbooks is here (marked "seen"); the few others are
#: names the register uses in other years.
COIR_ORIGIN: dict[str, str] = {
    # seen in 2013-2019
    "Abu Dhabi": "AE",
    "Algeria": "DZ",
    "Angola": "AO",
    "Argentina": "AR",
    "Azerbaijan": "AZ",
    "Brazil": "BR",
    "Cameroon": "CM",
    "Canada": "CA",
    "Colombia": "CO",
    "Congo": "CG",
    "Congo (DR)": "CD",
    "Denmark": "DK",
    "Ecuador": "EC",
    "Egypt": "EG",
    "Gabon": "GA",
    "Iran": "IR",
    "Iraq": "IQ",
    "Kazakhstan": "KZ",
    "Kuwait": "KW",
    "Libya": "LY",
    "Mexico": "MX",
    "Nigeria": "NG",
    "Norway": "NO",
    "Oman": "OM",
    "Papua New Guinea": "PG",
    "Qatar": "QA",
    "Russian Federation": "RU",
    "Saudi Arabia": "SA",
    "Syria": "SY",
    "Tunisia": "TN",
    "Ukraine": "UA",
    "United Kingdom": "GB",
    "United States": "US",
    "Venezuela": "VE",
    "Yemen": "YE",
    "Other African Countries": "AFRICA",
    "Other Asian Countries": "ASIA",
    "Other European countries": "EUROPE",
    "Other Latin America countries": "LATAM",
    "Other Middle East Countries": "MIDEAST",
    # Former Soviet Union other than RU, KZ, AZ, UA: no oilflows region spans it; the grade
    "Other FSU countries": "FSU",
    "Other Countries": "UNKNOWN",
    # not in 2013-2019, used by the register in other years
    "Dubai": "AE",
    "Sharjah": "AE",
    "Russia": "RU",
    "Neutral Zone": "NEUTRAL_ZONE",
    "Other": "UNKNOWN",
    "Unknown": "UNKNOWN",
}

#: "Reporting Country" as written in the register -> ISO 3166-1 alpha-2 (EU28 member states).
#: The 22 reporters of 2013-2019: AT BE BG HR CZ DK FI FR DE GR HU IE IT LT NL PL PT RO SK ES SE GB.
COIR_REPORTER: dict[str, str] = {
    "Austria": "AT",
    "Belgium": "BE",
    "Bulgaria": "BG",
    "Croatia": "HR",
    "Cyprus": "CY",
    "Czech Republic": "CZ",
    "Czechia": "CZ",
    "Denmark": "DK",
    "Estonia": "EE",
    "Finland": "FI",
    "France": "FR",
    "Germany": "DE",
    "Greece": "GR",
    "Hungary": "HU",
    "Ireland": "IE",
    "Italy": "IT",
    "Latvia": "LV",
    "Lithuania": "LT",
    "Luxembourg": "LU",
    "Malta": "MT",
    "Netherlands": "NL",
    "Poland": "PL",
    "Portugal": "PT",
    "Romania": "RO",
    "Slovakia": "SK",
    "Slovenia": "SI",
    "Spain": "ES",
    "Sweden": "SE",
    "United Kingdom": "GB",
}

_ORIGIN_LOOKUP = {name.casefold(): code for name, code in COIR_ORIGIN.items()}
_REPORTER_LOOKUP = {name.casefold(): code for name, code in COIR_REPORTER.items()}

#: Normalised header text -> internal field name. Normalisation: ``_x000D_``/line breaks removed,
#: footnote markers such as ``(2)`` removed, whitespace collapsed, lower case.
_HEADER: dict[str, str] = {
    "reporting country": "reporter",
    "country of origin": "origin",
    "type of crude oil": "grade",
    "volume (1000 bbl)": "volume",
    "total value ($ 1000)": "value",
    "cif price ($/bbl)": "price",
    "% of total imports": "share",
}
#: The header text of each required field, as the register writes it (used in error messages).
_REQUIRED: dict[str, str] = {
    "reporter": "Reporting Country",
    "origin": "Country of Origin",
    "grade": "Type of crude oil",
    "volume": "Volume (1000 bbl)",
    "value": "Total Value ($ 1000)",
    "price": "CIF price ($/bbl)",
}

_CUMULATIVE_PREFIX = "detailed crude oil imports"
_MONTH_SHEET = re.compile(r"^\s*EU\s+COI\s*-\s*([A-Za-z]+)\s*$", re.IGNORECASE)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_STAMP = re.compile(r"^([A-Za-z]{3,9})\s*-\s*((?:19|20)\d\d)$")
_RANGE_STAMP = re.compile(r"^(\d{1,2})\s*-\s*(\d{1,2})\s*/\s*((?:19|20)\d\d)$")
_FOOTNOTE_MARK = re.compile(r"\(\d\)")
_CONFIDENTIAL = re.compile(r"^\(\d\)$")  # "(3)": confidential data
#: The flag of a row whose value and price are confidential but whose volume is given.
VALUE_CONFIDENTIAL = "(3)"
#: Most rows and columns a sheet may declare or hold (checked before openpyxl iterates it): the real
#: register sheets of 2013-2019 have at most 437 rows and 8 columns (``B1:H437``).
MAX_SHEET_ROWS = 10_000
MAX_SHEET_COLUMNS = 100
_FILE_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")
#: A number written as text: digits with optional thousands commas, decimals and exponent.
_NUMBER_TEXT = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][+-]?\d+)?$")
_MAX_ABS = MAX_ABS_VALUE  # oilflows.schema: x 1000 (thousands) must stay finite

# identity tolerances, in thousand barrels: absolute, and relative to the total
_ABS_TOL_KBBL = 0.5
_REL_TOL = 1e-6

Source = str | os.PathLike[str] | bytes | bytearray | IO[bytes]
SheetChoice = Literal["monthly", "annual", "all"]


def read_coir(
    src: Source, *, sheets: SheetChoice = "monthly", year: int | None = None
) -> pd.DataFrame:
    """Read one COIR workbook into the canonical frame.

    Parameters
    ----------
    src : str, os.PathLike, bytes or binary file object
        The ``.xlsx`` workbook of one year.
    sheets : {"monthly", "annual", "all"}
        ``"monthly"``: the monthly sheets, ``freq="M"``, ``period`` = first day of the month.
        ``"annual"``: the cumulative sheet only, ``freq="A"``, ``period`` = January 1 of the
        year (the workbook must hold all twelve months, otherwise its cumulative sheet is
        year-to-date and :class:`SourceFormatError` is raised). ``"all"``: both.
    year : int, optional
        The data year. Needed only when neither the sheets (period stamps, 2018 onwards) nor the
        file name tell it, e.g. for the bytes of a 2013-2017 workbook; must agree with them.

    Returns
    -------
    pandas.DataFrame
        Canonical frame (:data:`oilflows.schema.SCHEMA`), ``source="dg_ener"``,
        ``dataset="coir"``, ``flow="import"``, ``product="crude_oil"``. One row per reporter,
        origin, grade and period; per reporter and period a ``partner="WORLD"`` row (the
        register's ``Sum:`` row, grade null); per period the EU total (reporter ``EU``, partner
        ``WORLD``). Units: ``volume_bbl`` in barrels (the register's thousand barrels x 1000),
        ``value`` in US dollars (thousand USD x 1000, ``currency="USD"``), ``price_per_bbl`` the
        CIF price in USD per barrel; ``mass_t``, ``api_gravity`` and ``sulphur_pct`` null.
        ``vintage`` is the workbook's ``modified`` document property.

    Raises
    ------
    SourceFormatError
        The bytes are not an xlsx workbook, expected sheets are missing, a header row or a
        required column cannot be found, a reporter or origin name is not in
        :data:`COIR_REPORTER` / :data:`COIR_ORIGIN`, a number cannot be read (or is not finite, or
        beyond 1e300), a total does not add up, or the year cannot be determined. The message names
        the file, the sheet (and cell) and the problem. The archive is checked by
        :func:`oilflows._io.check_zip` before openpyxl opens it: a zip bomb raises
        :class:`oilflows._io.DecompressionLimitError` (a SourceFormatError naming the member).
    ValueError
        `sheets` is not one of the three choices.
    FileNotFoundError
        `src` is a path that does not exist.
    """
    if sheets not in ("monthly", "annual", "all"):
        raise ValueError(f"sheets must be 'monthly', 'annual' or 'all', not {sheets!r}")
    name, data = _read_bytes(src)
    book = _load(name, data, monthly=sheets != "annual", cumulative=sheets != "monthly")
    wanted: list[tuple[str, int | None]] = []  # (sheet name, month or None for cumulative)
    if sheets in ("monthly", "all"):
        months = book.months
        if not months:
            raise SourceFormatError(
                name, "no monthly sheet ('EU COI - Jan' ..) in the workbook", "sheets"
            )
        if sorted(months) != list(range(1, max(months) + 1)):  # a gap: a sheet went missing
            absent = sorted(set(range(1, max(months) + 1)) - set(months))
            raise SourceFormatError(name, f"no monthly sheet for month(s) {absent}", "sheets")
        wanted += [(sheet, month) for month, sheet in sorted(months.items())]
    if sheets in ("annual", "all"):
        if book.cumulative is None:
            raise SourceFormatError(
                name,
                "no cumulative sheet ('Detailed Crude Oil Imports - cu') in the workbook",
                "sheets",
            )
        if sorted(book.months) != list(range(1, 13)):
            raise SourceFormatError(
                name,
                f"the workbook has monthly sheets for months {sorted(book.months)} only, so its "
                "cumulative sheet is year-to-date, not annual",
                book.cumulative,
            )
        wanted.append((book.cumulative, None))

    tables = [_parse_sheet(name, sheet, book.rows[sheet], month) for sheet, month in wanted]
    data_year = _resolve_year(name, tables, year)
    vintage = book.modified or datetime(data_year + 1, 1, 1)
    frames = [_to_frame(table, data_year, vintage) for table in tables]
    frame = pd.concat(frames, ignore_index=True)
    frame = _sum_duplicates(frame)
    return conform(frame)


#: The package convention: every source module has ``read``.
read = read_coir


# --------------------------------------------------------------------------------------------------
# workbook access


class _Book:
    """The rows of the sheets a reader needs, and the workbook's properties."""

    def __init__(self) -> None:
        self.rows: dict[str, list[tuple[Any, ...]]] = {}
        self.months: dict[int, str] = {}  # month number -> sheet name
        self.cumulative: str | None = None
        self.modified: datetime | None = None


def _read_bytes(src: Source) -> tuple[str, bytes]:
    """Return (a name for messages, the bytes) of `src`; a missing path raises FileNotFoundError."""
    if isinstance(src, bytes | bytearray):
        return "<bytes>", bytes(src)
    if isinstance(src, str | os.PathLike):
        path = Path(src)
        return str(path), path.read_bytes()
    if hasattr(src, "read"):
        data = src.read()
        if not isinstance(data, bytes | bytearray):
            raise TypeError("read_coir needs a binary file object (open the file with 'rb')")
        return str(getattr(src, "name", "<file>")), bytes(data)
    raise TypeError(
        f"read_coir cannot read a {type(src).__name__}; pass a path, bytes or a binary file"
    )


def _load(name: str, data: bytes, *, monthly: bool, cumulative: bool) -> _Book:
    """Open the workbook, find the register's sheets and materialise the rows of the monthly and/or
    the cumulative ones."""
    if not data.startswith(ZIP_MAGIC) or not zipfile.is_zipfile(io.BytesIO(data)):
        head = data[:60].decode("latin-1", errors="replace").strip()
        raise SourceFormatError(
            name, f"not an xlsx workbook (no zip archive); starts with {head!r}"
        )
    # Sizes, ratios and CRCs checked before openpyxl extracts anything (zip bombs, damaged parts).
    members = {info.filename: info for info in check_zip(data, name)}
    book = _Book()
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types on a damaged archive
        raise SourceFormatError(
            name, f"not a readable xlsx workbook: {type(exc).__name__}: {exc}"
        ) from exc
    try:
        # openpyxl fills a missing `modified` with the current time: use it only if the file has one
        modified = (
            wb.properties.modified
            if _has_modified(name, data, members) and wb.properties is not None
            else None
        )
        if modified is not None and not isinstance(modified, datetime):
            raise SourceFormatError(
                name, f"document property 'modified' is {modified!r}, not a date", "docProps/core.xml"
            )
        book.modified = modified.replace(tzinfo=None, microsecond=0) if modified else None
        for sheet in wb.sheetnames:
            month_match = _MONTH_SHEET.match(sheet)
            if month_match:
                month = _month_number(month_match.group(1))
                if month is None:
                    raise SourceFormatError(name, "sheet name has no month abbreviation", sheet)
                if month in book.months:
                    raise SourceFormatError(
                        name,
                        f"two sheets for month {month}: {book.months[month]!r} and {sheet!r}",
                        sheet,
                    )
                book.months[month] = sheet
                if not monthly:
                    continue
            elif sheet.strip().casefold().startswith(_CUMULATIVE_PREFIX):
                if book.cumulative is not None:
                    raise SourceFormatError(
                        name, f"two cumulative sheets, {book.cumulative!r} and {sheet!r}", sheet
                    )
                book.cumulative = sheet
                if not cumulative:
                    continue
            else:
                continue
            try:
                book.rows[sheet] = _sheet_rows(name, sheet, wb[sheet])
            except SourceFormatError:
                raise
            except Exception as exc:  # a damaged sheet part
                raise SourceFormatError(
                    name, f"sheet cannot be read: {type(exc).__name__}: {exc}", sheet
                ) from exc
    finally:
        wb.close()
    return book


def _sheet_rows(name: str, sheet: str, ws: Any) -> list[tuple[Any, ...]]:
    """The rows of a read-only sheet, within :data:`MAX_SHEET_ROWS` x :data:`MAX_SHEET_COLUMNS`.

    The dimension the sheet declares (``<dimension ref="B1:H214"/>``, which openpyxl pads every row
    to and iterates to its last row, empty or not) is checked before any row is read: a 218 KB
    workbook declaring ``A1:XFD1048576`` would make a million rows of 16,384 cells. A sheet that
    declares none is counted as it is read, row by row.
    """
    declared = ws.max_row is not None and ws.max_column is not None
    if declared and (ws.max_row > MAX_SHEET_ROWS or ws.max_column > MAX_SHEET_COLUMNS):
        raise SourceFormatError(
            name, f"the sheet declares the dimension {_dimension(ws)} ({ws.max_row:,} rows x "
            f"{ws.max_column:,} columns); a register sheet has at most {MAX_SHEET_ROWS:,} rows and "
            f"{MAX_SHEET_COLUMNS} columns (the real ones at most 437 x 8)", sheet)
    rows: list[tuple[Any, ...]] = []
    for row in ws.iter_rows(values_only=True):
        if len(rows) >= MAX_SHEET_ROWS:
            raise SourceFormatError(
                name, f"the sheet holds more than {MAX_SHEET_ROWS:,} rows (empty ones included); a register "
                "sheet has a few hundred", sheet)
        if len(row) > MAX_SHEET_COLUMNS:
            raise SourceFormatError(
                name, f"row {len(rows) + 1} reaches column {len(row):,}; a register sheet has at most "
                f"{MAX_SHEET_COLUMNS} columns", sheet)
        rows.append(row)
    return rows


def _dimension(ws: Any) -> str:
    """The declared dimension of a sheet as Excel writes it (``A1:XFD1048576``)."""
    try:
        return (f"{get_column_letter(ws.min_column)}{ws.min_row}:{get_column_letter(ws.max_column)}"
                f"{ws.max_row}")
    except ValueError:  # a column beyond XFD has no letters
        return f"R{ws.min_row}C{ws.min_column}:R{ws.max_row}C{ws.max_column}"


def _has_modified(name: str, data: bytes, members: dict[str, zipfile.ZipInfo]) -> bool:
    """True if the package's core properties part has a ``dcterms:modified`` element."""
    target = "docProps/core.xml"
    if "_rels/.rels" in members:
        rels = read_zip_member(data, members["_rels/.rels"], name).decode("utf-8", errors="replace")
        match = re.search(r'<Relationship[^>]*Type="[^"]*/core-properties"[^>]*/?>', rels)
        if match:
            found = re.search(r'Target="/?([^"]+)"', match.group(0))
            target = found.group(1) if found else target
    if target not in members:
        return False
    core = read_zip_member(data, members[target], name).decode("utf-8", errors="replace")
    return re.search(r"<(?:\w+:)?modified[\s>]", core) is not None


def _month_number(text: str) -> int | None:
    """1-12 for a month name or abbreviation (``Jan``, ``Sept``, ``September``), else None."""
    key = text.strip().casefold()[:3]
    return _MONTHS.index(key) + 1 if key in _MONTHS and len(text.strip()) >= 3 else None


# --------------------------------------------------------------------------------------------------
# sheet parsing


class _Table:
    """The parsed rows of one sheet (lists, one entry per output row) and its period stamp."""

    def __init__(self, sheet: str, month: int | None) -> None:
        self.sheet = sheet
        self.month = month  # None: cumulative sheet
        self.stamp_year: int | None = None
        self.reporter: list[str] = []
        self.partner: list[str] = []
        self.grade: list[str | None] = []
        self.volume: list[float] = []  # thousand barrels
        self.value: list[float] = []  # thousand USD
        self.price: list[float] = []  # USD per barrel
        self.flag: list[str | None] = []

    def add(
        self,
        reporter: str,
        partner: str,
        grade: str | None,
        cells: tuple[float, float, float],
        flag: str | None,
    ) -> None:
        self.reporter.append(reporter)
        self.partner.append(partner)
        self.grade.append(grade)
        self.volume.append(cells[0])
        self.value.append(cells[1])
        self.price.append(cells[2])
        self.flag.append(flag)


def _clean(value: Any) -> str | None:
    """Text of a cell without ``_x000D_`` and line breaks, whitespace collapsed; None if empty."""
    if value is None:
        return None
    text = str(value).replace("_x000D_", " ").replace("\r", " ").replace("\n", " ")
    text = " ".join(text.split())
    return text or None


def _header_key(value: Any) -> str | None:
    text = _clean(value)
    if text is None:
        return None
    return " ".join(_FOOTNOTE_MARK.sub(" ", text).split()).casefold()


def _header_columns(row: tuple[Any, ...]) -> dict[str, int] | None:
    """Field -> column index if `row` is a header row (it names Reporting Country and Country of
    Origin), else None."""
    if not any(isinstance(cell, str) and "reporting" in cell.casefold() for cell in row):
        return None  # the cheap test first: most rows are data rows
    found: dict[str, int] = {}
    for index, cell in enumerate(row):
        field = _HEADER.get(_header_key(cell) or "")
        if field is not None and field not in found:
            found[field] = index
    return found if "reporter" in found and "origin" in found else None


def _parse_sheet(name: str, sheet: str, rows: list[tuple[Any, ...]], month: int | None) -> _Table:
    """Parse one register sheet: locate the header, forward-fill reporters, check the totals."""
    table = _Table(sheet, month)
    columns: dict[str, int] | None = None
    header_row = -1
    for index, row in enumerate(rows):
        columns = _header_columns(row)
        if columns is not None:
            header_row = index
            break
        _read_stamp(name, table, row)
    if columns is None:
        raise SourceFormatError(
            name,
            "no header row naming 'Reporting Country' and 'Country of Origin' was found",
            sheet,
        )
    missing = [text for field, text in _REQUIRED.items() if field not in columns]
    if missing:
        raise SourceFormatError(
            name,
            f"header row {header_row + 1} lacks the column(s) {missing}",
            f"{sheet}: {missing[0]}",
        )
    width = max(columns.values()) + 1
    col = {field: columns[field] for field in _REQUIRED}

    reporter: str | None = None  # current block's reporter name, as written
    block_volume = 0.0
    block_rows = 0
    reporter_totals: list[float] = []
    block_complete = True  # False once a part's volume is confidential: the sum cannot be checked
    eu_seen = False

    def where(index: int, field: str | None = None) -> str:
        return f"{sheet}: row {index + 1}" + (f", {field}" if field else "")

    for index in range(header_row + 1, len(rows)):
        row = tuple(rows[index]) + (None,) * max(0, width - len(rows[index]))
        repeated = _header_columns(row)
        if repeated is not None:
            if repeated != columns:
                raise SourceFormatError(
                    name, "a repeated header row has other columns", where(index)
                )
            continue
        rep_text = _clean(row[col["reporter"]])
        origin = _clean(row[col["origin"]])
        grade = _clean(row[col["grade"]])
        raw = (row[col["volume"]], row[col["value"]], row[col["price"]])
        if origin is None and grade is None and all(_clean(v) is None for v in raw):
            continue  # blank row, footnotes, disclaimer
        if eu_seen:
            raise SourceFormatError(name, "a table row follows the final 'World' row", where(index))
        cells, flag = _numbers(name, where(index), raw)

        if grade is not None and grade.rstrip(":").casefold() == "sum":  # a reporter's total
            if reporter is None:
                raise SourceFormatError(name, "'Sum:' row outside a reporter block", where(index))
            if rep_text is not None and rep_text != reporter:
                raise SourceFormatError(
                    name,
                    f"'Sum:' row for {rep_text!r} closes the block of {reporter!r}",
                    where(index),
                )
            if block_complete:
                _check_total(
                    name, where(index), f"{reporter} Sum:", cells[0], block_volume, block_rows
                )
            table.add(
                _reporter_code(name, sheet, reporter), WORLD, None, cells, flag
            )
            reporter_totals.append(cells[0])
            reporter = None
            continue

        if rep_text is not None and rep_text.casefold() == "world" and origin is None:  # EU total
            if reporter is not None:
                raise SourceFormatError(
                    name, f"'World' row before the 'Sum:' row of {reporter!r}", where(index)
                )
            _check_total(
                name,
                where(index),
                "World",
                cells[0],
                math.fsum(reporter_totals),
                len(reporter_totals),
            )
            table.add(EU_REPORTER, WORLD, None, cells, flag)
            eu_seen = True
            continue

        # a data row: reporter forward-filled, origin and grade on every row
        if rep_text is not None:
            if reporter is not None and rep_text != reporter:
                raise SourceFormatError(
                    name,
                    f"the block of {reporter!r} has no 'Sum:' row before {rep_text!r}",
                    where(index),
                )
            if reporter is None:  # a new block (a reporter's second block is summed later)
                block_volume, block_rows, block_complete = 0.0, 0, True
            reporter = rep_text
        if reporter is None:
            raise SourceFormatError(
                name, "data row without a Reporting Country", where(index, "Reporting Country")
            )
        if origin is None:
            raise SourceFormatError(
                name,
                f"blank Country of Origin in the block of {reporter!r}",
                where(index, "Country of Origin"),
            )
        if grade is None:
            raise SourceFormatError(
                name,
                f"blank Type of crude oil in the block of {reporter!r}",
                where(index, "Type of crude oil"),
            )
        partner = _ORIGIN_LOOKUP.get(origin.casefold())
        if partner is None:
            raise SourceFormatError(
                name,
                f"unknown Country of Origin {origin!r}; add it to dg_ener.COIR_ORIGIN",
                where(index, "Country of Origin"),
            )
        table.add(_reporter_code(name, sheet, reporter), partner, grade, cells, flag)
        if math.isnan(cells[0]):
            block_complete = False
        else:
            block_volume += cells[0]
        block_rows += 1

    if reporter is not None:
        raise SourceFormatError(name, f"the block of {reporter!r} has no 'Sum:' row", sheet)
    if not table.reporter:
        raise SourceFormatError(name, "the sheet has a header but no data rows", sheet)
    return table


def _read_stamp(name: str, table: _Table, row: Iterable[Any]) -> None:
    """Record the year of a title-block period stamp (``Jan - 2018``, ``1-12/2018``), checking it
    against the sheet."""
    for cell in row:
        text = _clean(cell)
        if text is None:
            continue
        month_stamp = _MONTH_STAMP.match(text)
        range_stamp = _RANGE_STAMP.match(text)
        if month_stamp and _month_number(month_stamp.group(1)) is not None:
            month = _month_number(month_stamp.group(1))
            if table.month is None or month != table.month:
                raise SourceFormatError(
                    name, f"period stamp {text!r} does not match the sheet", table.sheet
                )
            table.stamp_year = int(month_stamp.group(2))
        elif range_stamp:
            first, last = int(range_stamp.group(1)), int(range_stamp.group(2))
            if table.month is not None or (first, last) != (1, 12):
                raise SourceFormatError(
                    name,
                    f"period stamp {text!r} is not a full year on the cumulative sheet",
                    table.sheet,
                )
            table.stamp_year = int(range_stamp.group(3))


def _numbers(
    name: str, where: str, raw: tuple[Any, Any, Any]
) -> tuple[tuple[float, float, float], str | None]:
    """(volume kbbl, value kUSD, price USD/bbl) as floats, NaN for empty or confidential ``(3)``;
    and the row's flag: ``c`` if the volume is confidential, ``(3)`` if only value/price are."""
    out: list[float] = []
    volume_hidden = False
    confidential_any = False
    for position, (label, cell) in enumerate(
        zip(("Volume", "Total Value", "CIF price"), raw, strict=True)
    ):
        if cell is None:
            out.append(math.nan)
        elif isinstance(cell, bool):
            raise SourceFormatError(name, f"{label} is {cell!r}, not a number", where)
        elif isinstance(cell, int | float):
            number = float(cell)
            if not abs(number) <= _MAX_ABS:  # NaN, infinity, or no statistic at all
                raise SourceFormatError(name, f"{label} is {cell!r}, not a number of the register", where)
            out.append(number)
        else:
            text = _clean(cell)
            if text is None:
                out.append(math.nan)
            elif _CONFIDENTIAL.match(text):
                out.append(math.nan)
                volume_hidden = volume_hidden or position == 0
                confidential_any = True
            elif _NUMBER_TEXT.match(text):
                number = float(text.replace(",", ""))
                if not abs(number) <= _MAX_ABS:
                    raise SourceFormatError(name, f"{label} is {text!r}, not a number of the register", where)
                out.append(number)
            else:  # float() would also take "nan", "inf" and "1_0"
                raise SourceFormatError(name, f"{label} is {text!r}, not a number", where)
    flag = "c" if volume_hidden else VALUE_CONFIDENTIAL if confidential_any else None
    if confidential_any:  # a price beside a hidden value (or the reverse) would reveal it: both null
        out[1] = out[2] = math.nan
    return (out[0], out[1], out[2]), flag


def _check_total(name: str, where: str, label: str, total: float, parts: float, count: int) -> None:
    """Raise unless a total row (kbbl) equals the sum of its parts."""
    if count == 0:
        raise SourceFormatError(name, f"{label} row closes an empty block", where)
    if math.isnan(total):
        return
    if abs(total - parts) > max(_ABS_TOL_KBBL, _REL_TOL * abs(total)):
        raise SourceFormatError(
            name,
            f"{label} row gives {total:,.3f} kbbl but its {count} rows add up to {parts:,.3f}",
            where,
        )


def _reporter_code(name: str, sheet: str, reporter: str) -> str:
    code = _REPORTER_LOOKUP.get(reporter.casefold())
    if code is None:
        raise SourceFormatError(
            name,
            f"unknown Reporting Country {reporter!r}; add it to dg_ener.COIR_REPORTER",
            f"{sheet}: Reporting Country",
        )
    return code


# --------------------------------------------------------------------------------------------------
# assembly


def _resolve_year(name: str, tables: list[_Table], year: int | None) -> int:
    """The data year from the stamps, the file name and the `year` argument, which must agree."""
    candidates: dict[str, int] = {}
    if year is not None:
        candidates["the year argument"] = int(year)
    for table in tables:
        if table.stamp_year is not None:
            candidates[f"the stamp of sheet {table.sheet!r}"] = table.stamp_year
    file_years = set(_FILE_YEAR.findall(Path(name).name)) if not name.startswith("<") else set()
    if len(file_years) == 1:
        candidates["the file name"] = int(file_years.pop())
    if not candidates:
        raise SourceFormatError(
            name,
            "cannot tell the data year (no period stamp, no year in the file name); pass year=",
            "year",
        )
    if len(set(candidates.values())) > 1:
        detail = ", ".join(f"{where} says {value}" for where, value in candidates.items())
        raise SourceFormatError(name, f"conflicting data years: {detail}", "year")
    return next(iter(candidates.values()))


def _to_frame(table: _Table, year: int, vintage: datetime) -> pd.DataFrame:
    """One canonical-column frame for the rows of one sheet."""
    n = len(table.reporter)
    if table.month is None:
        freq, period = "A", np.datetime64(f"{year:04d}-01-01", "s")
    else:
        freq, period = "M", np.datetime64(f"{year:04d}-{table.month:02d}-01", "s")
    volume = np.asarray(table.volume, dtype="float64") * 1000.0  # thousand barrels -> barrels
    value = np.asarray(table.value, dtype="float64") * 1000.0  # thousand USD -> USD
    nan = np.full(n, np.nan)
    return pd.DataFrame(
        {
            "source": SOURCE,
            "dataset": DATASET,
            "vintage": np.full(n, np.datetime64(vintage, "s")),
            "freq": freq,
            "period": np.full(n, period),
            "reporter": table.reporter,
            "partner": table.partner,
            "flow": "import",
            "product": "crude_oil",
            "grade": pd.Series(table.grade, dtype=object),
            "volume_bbl": volume,
            "mass_t": nan,
            "value": value,
            "currency": "USD",
            "api_gravity": nan,
            "sulphur_pct": nan,
            "price_per_bbl": np.asarray(table.price, dtype="float64"),
            "flag": pd.Series(table.flag, dtype=object),
        }
    )


def _sum_duplicates(frame: pd.DataFrame) -> pd.DataFrame:
    """Sum rows that share a key (none in 2013-2019): volume and value added, a part that is null
    makes the sum null; price recomputed as value / volume."""
    key = ["reporter", "partner", "grade", "freq", "period"]
    duplicated = frame.duplicated(key, keep=False)
    if not duplicated.any():
        return frame
    dups = frame[duplicated]
    groups = dups.groupby(key, dropna=False, sort=False)
    first = groups.first()
    for column in ("volume_bbl", "value"):
        first[column] = (
            groups[column].sum(min_count=1).where(~groups[column].apply(lambda s: s.isna().any()))
        )
    first["price_per_bbl"] = first["value"] / first["volume_bbl"]
    first["flag"] = groups["flag"].apply(
        lambda s: "c" if (s == "c").any() else VALUE_CONFIDENTIAL if s.notna().any() else None)
    merged = first.reset_index()[list(frame.columns)]
    return pd.concat([frame[~duplicated], merged], ignore_index=True)
