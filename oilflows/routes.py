"""The route table: which Russian ports, pipelines or blends a crude grade travels through.

Eurostat ``nrg_ti_coifpm`` names the grade, and the grade often names the route: ``KZ_CPC_BLN`` is
loaded at the CPC terminal near Novorossiysk, KEBCO is piped through Russia, ``KZ_URL`` and
``KZ_SIB_LGHT`` are Kazakh barrels inside Russian export blends. The packaged file
``oilflows/data/routes.csv`` maps each grade to a route class, with reporter- and period-specific
overrides where the same code means different crude (Germany files its Druzhba KEBCO under ``KZ_MSC``
from 2023-02). Every row carries its sources, a confidence and what is uncertain; the provenance is in
``data_sources/routes.md``.

Columns: ``grade, origin, reporter, start, end, route, loading, pipeline, description, source,
confidence, note``. ``reporter`` is ``*`` (every reporter) or a reporter code; ``start``/``end`` are
``YYYY-MM`` or empty (open). Route ids are the keys of :data:`ROUTES`; whether a route depends on
Russian infrastructure is :data:`DEPENDS_ON_RUSSIA`.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

import pandas as pd

from .codes import COIFPM_PREFIX
from .errors import AnalysisError, QueryError, SourceFormatError

_PACKAGE_DATA = "oilflows.data"
_FILE = "routes.csv"

#: Route class id -> what it means, in plain words. Order: Russian-dependent classes first.
ROUTES: dict[str, str] = {
    "cpc": "loaded at the CPC marine terminal near Novorossiysk (Russia) after the CPC pipeline across "
           "Russia",
    "russian_pipeline": "piped through Russia to the importer (e.g. KEBCO via Transneft and Druzhba)",
    "russian_port": "piped through Russia and loaded at a Russian port other than CPC "
                    "(Novorossiysk Sheskharis, Ust-Luga, Primorsk, ...)",
    "russian_blends": "inside a Russian export blend (Kazakh barrels in Urals or Siberian Light)",
    "bypass": "not touching Russia (BTC to Ceyhan, Baku-Supsa, Aktau tankers to Baku, Georgian ports)",
    "unknown": "route not known for this grade, reporter and period",
}

#: Route class id -> True if the route depends on Russian infrastructure, False if not, None if unknown.
DEPENDS_ON_RUSSIA: dict[str, bool | None] = {
    "cpc": True,
    "russian_pipeline": True,
    "russian_port": True,
    "russian_blends": True,
    "bypass": False,
    "unknown": None,
}

#: The route table's columns, in file order.
COLUMNS: tuple[str, ...] = ("grade", "origin", "reporter", "start", "end", "route", "loading", "pipeline",
                            "description", "source", "confidence", "note")

#: Allowed values of the ``confidence`` column.
CONFIDENCE: tuple[str, ...] = ("high", "medium", "low")

#: Every reporter (the ``reporter`` value of a default row).
ALL_REPORTERS = "*"

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")
_GRADE = re.compile(r"^[A-Z]+[_-][A-Za-z0-9_-]+$")


def check_route(route: str) -> str:
    """Return `route` if it is a route id of :data:`ROUTES`.

    Raises
    ------
    AnalysisError
        An unknown route id (the message lists the known ones).
    """
    if not isinstance(route, str) or route not in ROUTES:
        raise AnalysisError(f"unknown route id {route!r}; route ids are: {', '.join(ROUTES)}")
    return route


def depends_on_russia(route: str) -> bool | None:
    """Whether route class `route` depends on Russian infrastructure (None: not known).

    Raises
    ------
    AnalysisError
        An unknown route id.
    """
    return DEPENDS_ON_RUSSIA[check_route(route)]


def grade_origin(grade: str) -> str:
    """The origin code of an ``nrg_ti_coifpm`` grade: its prefix, mapped as
    :data:`oilflows.codes.COIFPM_PREFIX` maps it (``KZ_CPC_BLN`` -> ``KZ``, ``AUH_MRB`` -> ``AE``)."""
    prefix = re.split(r"[_-]", grade, maxsplit=1)[0]
    return COIFPM_PREFIX.get(prefix, prefix)


def route_table(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """The route table as a DataFrame of strings (empty cells are ``""``), validated.

    Parameters
    ----------
    path : str or path-like, optional
        A route table file with the columns :data:`COLUMNS`; default the packaged
        ``oilflows/data/routes.csv``.

    Returns
    -------
    pandas.DataFrame
        One row per file row, columns :data:`COLUMNS`, plus nothing else.

    Raises
    ------
    SourceFormatError
        The file cannot be read or is malformed: a missing or extra column, an empty required field, an
        unknown route id or confidence, a malformed month, ``start`` after ``end``, an origin that does
        not match the grade, or two rows that match the same grade, reporter and month. The message names
        the file, the line and the field.
    """
    if path is None:
        return _packaged().copy()
    name = str(path)
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceFormatError(name, f"cannot read the route table: {exc}") from exc
    return parse_route_table(text, name)


@lru_cache(maxsize=1)
def _packaged() -> pd.DataFrame:
    ref = resources.files(_PACKAGE_DATA).joinpath(_FILE)
    return parse_route_table(ref.read_text(encoding="utf-8"), f"oilflows/data/{_FILE}")


def parse_route_table(text: str, name: str = "<route table>") -> pd.DataFrame:
    """Parse and validate the text of a route table file (see :func:`route_table`).

    `name` names the file in error messages.
    """
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise SourceFormatError(f"{name}:1", "empty file; expected a header with the route table's "
                                "columns: " + ", ".join(COLUMNS)) from None
    except csv.Error as exc:
        raise SourceFormatError(f"{name}:1", f"not a CSV header: {exc}") from exc
    header = [h.strip() for h in header]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise SourceFormatError(f"{name}:1", f"missing column(s) {', '.join(missing)}; expected exactly: "
                                + ", ".join(COLUMNS), field=missing[0])
    extra = [h for h in header if h not in COLUMNS]
    if extra or len(header) != len(COLUMNS):
        bad = extra[0] if extra else next(h for h in header if header.count(h) > 1)
        raise SourceFormatError(f"{name}:1", f"unexpected or repeated column {bad!r}; expected exactly: "
                                + ", ".join(COLUMNS), field=bad)
    records: list[dict[str, str]] = []
    lines: list[int] = []
    start_line = 2
    try:
        for values in reader:
            line = start_line
            start_line = reader.line_num + 1
            if not values or all(not v.strip() for v in values):
                continue
            if len(values) != len(header):
                raise SourceFormatError(f"{name}:{line}", f"{len(values)} fields, expected {len(header)}")
            record = {h: v.strip() for h, v in zip(header, values, strict=True)}
            _check_record(record, f"{name}:{line}")
            records.append({c: record[c] for c in COLUMNS})
            lines.append(line)
    except csv.Error as exc:
        raise SourceFormatError(f"{name}:{reader.line_num}", f"malformed CSV: {exc}") from exc
    table = pd.DataFrame(records, columns=list(COLUMNS), dtype=object)
    _check_overlaps(table, lines, name)
    return table


def _check_record(r: dict[str, str], where: str) -> None:
    for col in ("grade", "origin", "reporter", "route", "source", "confidence"):
        if not r[col]:
            raise SourceFormatError(where, "empty; this field is required", field=col)
    if not _GRADE.match(r["grade"]):
        raise SourceFormatError(where, f"{r['grade']!r} is not an nrg_ti_coifpm grade code "
                                "(<origin>_<grade>)", field="grade")
    expected = grade_origin(r["grade"])
    if r["origin"] != expected:
        raise SourceFormatError(where, f"origin {r['origin']!r} does not match grade {r['grade']!r} "
                                f"(expected {expected!r})", field="origin")
    if r["reporter"] != ALL_REPORTERS and not _CODE.match(r["reporter"]):
        raise SourceFormatError(where, f"reporter {r['reporter']!r} is neither '*' nor a reporter code",
                                field="reporter")
    if r["route"] not in ROUTES:
        raise SourceFormatError(where, f"unknown route id {r['route']!r}; route ids are: {', '.join(ROUTES)}",
                                field="route")
    if r["confidence"] not in CONFIDENCE:
        raise SourceFormatError(where, f"confidence {r['confidence']!r} is not one of "
                                f"{', '.join(CONFIDENCE)}", field="confidence")
    for col in ("start", "end"):
        if r[col] and not _valid_month(r[col]):
            raise SourceFormatError(where, f"{r[col]!r} is not a month YYYY-MM (or empty for open)",
                                    field=col)
    if r["start"] and r["end"] and r["start"] > r["end"]:
        raise SourceFormatError(where, f"start {r['start']} is after end {r['end']}", field="start")


def _valid_month(text: str) -> bool:
    m = _MONTH.match(text)
    return m is not None and 1 <= int(m.group(2)) <= 12


def _check_overlaps(table: pd.DataFrame, lines: list[int], name: str) -> None:
    """No two rows with the same grade and reporter may share a month."""
    seen: dict[tuple[str, str], list[tuple[str, str, int]]] = {}
    for (grade, reporter, start, end), line in zip(
            table[["grade", "reporter", "start", "end"]].itertuples(index=False), lines, strict=True):
        for s, e, other in seen.get((grade, reporter), []):
            if _overlap(start, end, s, e):
                raise SourceFormatError(
                    f"{name}:{line}", f"rows for grade {grade} and reporter {reporter!r} overlap: "
                    f"{start or 'open'}..{end or 'open'} here and {s or 'open'}..{e or 'open'} "
                    f"on line {other}",
                    field="start")
        seen.setdefault((grade, reporter), []).append((start, end, line))


def _overlap(s1: str, e1: str, s2: str, e2: str) -> bool:
    lo1, hi1 = s1 or "0000-00", e1 or "9999-99"
    lo2, hi2 = s2 or "0000-00", e2 or "9999-99"
    return lo1 <= hi2 and lo2 <= hi1


def _month(period: object) -> str:
    """``YYYY-MM`` of a period given as ``"YYYY-MM"``, ``"YYYY-MM-DD"``, a Timestamp, datetime or Period."""
    if isinstance(period, str):
        text = period.strip()
        if _valid_month(text[:7]) and (len(text) == 7 or re.match(r"^\d{4}-\d{2}-\d{2}", text)):
            return text[:7]
        raise QueryError(f"period {period!r} is not a month YYYY-MM")
    if isinstance(period, pd.Period):
        return f"{period.year:04d}-{period.month:02d}"
    try:
        stamp = pd.Timestamp(period)
    except (TypeError, ValueError):
        raise QueryError(f"period {period!r} is not a month") from None
    if pd.isna(stamp):
        raise QueryError(f"period {period!r} is not a month")
    return f"{stamp.year:04d}-{stamp.month:02d}"


def _cell(value: object) -> str:
    """A table cell as a stripped string; None and NaN are empty."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()


def _matches(table: pd.DataFrame, grade: str, reporter: str, month: str) -> pd.DataFrame:
    rows = table[(table["grade"] == grade) & (table["reporter"] == reporter)]
    if rows.empty:
        return rows
    start = rows["start"].map(_cell)
    end = rows["end"].map(_cell)
    inside = ((start == "") | (start <= month)) & ((end == "") | (end >= month))
    return rows[inside]


def route_of(table: pd.DataFrame, grade: str, reporter: str, period: object) -> str:
    """The route class of `grade` as `reporter` imports it in `period`.

    The most specific matching row wins: a row for `reporter` whose ``start..end`` holds the month beats
    a ``*`` row; a grade (or month) without a matching row is ``"unknown"``.

    Parameters
    ----------
    table : pandas.DataFrame
        A route table (:func:`route_table`, or a frame with at least ``grade, reporter, start, end,
        route``; empty or NaN start/end mean open).
    grade : str
        An ``nrg_ti_coifpm`` grade code, e.g. ``"KZ_MSC"``.
    reporter : str
        The importing reporter, e.g. ``"DE"``.
    period : str, Timestamp, datetime or Period
        A month: ``"2023-02"``, ``"2023-02-01"``, ``pd.Timestamp("2023-02-01")``.

    Returns
    -------
    str
        A route id of :data:`ROUTES`.

    Raises
    ------
    AnalysisError
        The matching row carries an unknown route id, or two rows match at the same level (only possible
        in a table that did not go through :func:`route_table`).
    QueryError
        `period` is not a month.
    """
    month = _month(period)
    for who in (reporter, ALL_REPORTERS):
        rows = _matches(table, grade, who, month)
        if len(rows) > 1:
            raise AnalysisError(f"route table is ambiguous: {len(rows)} rows match grade {grade}, reporter "
                                f"{who!r}, month {month}")
        if len(rows) == 1:
            return check_route(_cell(rows["route"].iloc[0]))
    return "unknown"


def route_column(table: pd.DataFrame, grades: pd.Series, periods: pd.Series, reporter: str) -> pd.Series:
    """:func:`route_of` for every (grade, period) pair of two aligned series, in one pass per table row.

    Same precedence and errors as :func:`route_of`; returns a Series of route ids on `grades`' index.
    """
    months = pd.to_datetime(periods).dt.strftime("%Y-%m")
    grades = grades.astype(object)
    out = pd.Series("unknown", index=grades.index, dtype=object)
    decided = pd.Series(False, index=grades.index)
    for who in (reporter, ALL_REPORTERS):
        level = pd.Series(False, index=grades.index)
        for row in table[table["reporter"] == who].itertuples(index=False):
            start, end = _cell(row.start), _cell(row.end)
            hit = (grades == row.grade) & ~decided
            if start:
                hit &= months >= start
            if end:
                hit &= months <= end
            if (hit & level).any():
                first = hit & level
                raise AnalysisError(f"route table is ambiguous: several rows match grade {row.grade}, "
                                    f"reporter {who!r}, month {months[first].iloc[0]}")
            out[hit] = check_route(_cell(row.route))
            level |= hit
        decided |= level
    return out


def grades_on_route(table: pd.DataFrame, route: str, *, reporter: str = ALL_REPORTERS,
                    period: object | None = None, origin: str | None = None) -> list[str]:
    """The grades of `table` whose route is `route` for `reporter` (in `period`, if given).

    With ``reporter="*"`` only the default rows count; with a reporter code, its overrides take
    precedence as in :func:`route_of`. Without `period`, a grade counts if any of its applicable rows
    has the route.

    Raises
    ------
    AnalysisError
        `route` is not a route id of :data:`ROUTES`.
    """
    check_route(route)
    rows = table if origin is None else table[table["origin"] == origin]
    grades = sorted(set(rows["grade"]))
    if period is not None:
        return [g for g in grades if route_of(table, g, reporter, period) == route]
    wanted = rows[rows["reporter"].isin({reporter, ALL_REPORTERS}) & (rows["route"] == route)]
    return sorted(set(wanted["grade"]))


def routes_for(table: pd.DataFrame, grades: Iterable[str], reporter: str, period: object) -> dict[str, str]:
    """:func:`route_of` for several grades at once: grade -> route id."""
    return {g: route_of(table, g, reporter, period) for g in grades}

#: The columns of the packaged grade caveat table ``oilflows/data/grade_caveats.csv``.
CAVEAT_COLUMNS: tuple[str, ...] = ("partner", "grade", "reporter", "caveat", "source")

_CAVEATS_FILE = "grade_caveats.csv"


@lru_cache(maxsize=1)
def _packaged_caveats() -> pd.DataFrame:
    ref = resources.files(_PACKAGE_DATA).joinpath(_CAVEATS_FILE)
    name = f"oilflows/data/{_CAVEATS_FILE}"
    table = pd.read_csv(io.StringIO(ref.read_text(encoding="utf-8")), dtype=str, keep_default_na=False)
    if tuple(table.columns) != CAVEAT_COLUMNS:
        raise SourceFormatError(name, f"columns must be {list(CAVEAT_COLUMNS)}, got {list(table.columns)}")
    return table


def caveat_table() -> pd.DataFrame:
    """The known grade caveats as a DataFrame of strings, columns :data:`CAVEAT_COLUMNS`.

    One row per (partner, grade, reporter) caveat that a figure built on that grade cannot show
    (KEBCO hidden in ``KZ_MSC``, CPC Blend loaded at a Russian port, ...), with its sources.
    ``partner`` and ``reporter`` are a code or ``*`` (any). Packaged as
    ``oilflows/data/grade_caveats.csv``: case-study knowledge lives there as data, not in the
    analytics' code.
    """
    return _packaged_caveats().copy()


def grade_caveats(grades: Iterable[str], *, partner: str | None = None,
                  reporter: str | None = None, table: pd.DataFrame | None = None) -> list[str]:
    """The caveats of the known grades among `grades`, in table order.

    Parameters
    ----------
    grades : iterable of str
        Grade codes present in the figures (e.g. a partner's grades in a reporter's imports).
    partner : str, optional
        Only rows for this partner (or ``*``); ``None``: rows of every partner.
    reporter : str, optional
        Only rows for this reporter (or ``*``); ``None``: rows of every reporter.
    table : pandas.DataFrame, optional
        A table with :data:`CAVEAT_COLUMNS`; default :func:`caveat_table`.
    """
    rows = caveat_table() if table is None else table
    present = set(grades)
    keep = rows["grade"].isin(present)
    if partner is not None:
        keep &= rows["partner"].isin([partner, ALL_REPORTERS])
    if reporter is not None:
        keep &= rows["reporter"].isin([reporter, ALL_REPORTERS])
    return list(dict.fromkeys(rows.loc[keep, "caveat"]))


__all__ = ["ALL_REPORTERS", "CAVEAT_COLUMNS", "COLUMNS", "CONFIDENCE", "DEPENDS_ON_RUSSIA", "ROUTES",
           "caveat_table", "check_route", "depends_on_russia", "grade_caveats", "grade_origin",
           "grades_on_route", "parse_route_table", "route_column", "route_of", "route_table",
           "routes_for"]
