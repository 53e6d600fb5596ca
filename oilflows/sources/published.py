"""Published figures: a curated CSV of numbers printed by statistical offices and companies.

``read(path)`` parses a local file (or bytes) into the canonical frame of :mod:`oilflows.schema`
with ``source="published"``. There is no ``fetch``: the figures come from press releases and news
pages that have no machine-readable form; they are typed by hand, each with its quote, into the
curated table shipped as ``oilflows/data/published_figures.csv`` (built from ``../shared/data``
by ``data_sources/build_published.py``; provenance in ``data_sources/published.md``).

The curated CSV
---------------
Columns (all required, UTF-8, comma-separated, quoted as needed)::

    id, publisher, address, published_date, quote, metric, reporter, partner, grade, period,
    value, unit, qualifier, trust, note

- ``published_date``: ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY`` (the precision known) or empty.
- ``metric``: one of :data:`METRICS`; only ``crude_import_quantity`` and ``crude_export_quantity``
  can become rows (``crude_production_quantity`` stays in the table, see :func:`provenance`).
- ``reporter`` / ``partner``: ISO alpha-2, ``TOTAL`` / ``WORLD`` (all partners), an aggregate
  (``EU27``) or a group's name (``Middle East (IQ+AE+SA+IL)``).
- ``grade``: empty for a partner total, ``KEBCO`` for Kazakh crude through the Druzhba pipeline
  (a slice of Germany's imports from KZ, not the total), anything else is kept but not emitted.
- ``period``: ``YYYY``, ``YYYY-MM``, ``YYYY-Qn``, ``YYYY-Hn``, ``YYYY-MM..YYYY-MM`` (a range of
  months, inclusive) or empty (not stated).
- ``value``: the number *as printed*, with a ``.`` decimal point and no thousands separator
  (``9.1``, ``928000``, ``1.40``): its last digit sets the rounding interval.
- ``unit``: see :data:`MASS_UNITS`, :data:`BARREL_UNITS`, :data:`RATE_UNITS`, :data:`OTHER_UNITS`.
- ``qualifier``: one of :data:`QUALIFIERS` (derived from the words before the number in the quote,
  see :func:`qualifier_from_quote`); ``trust``: one of :data:`TRUST_LEVELS`.

Canonical rows
--------------
A row is emitted only for a quantity (``crude_import_quantity`` or ``crude_export_quantity`` in a
mass or barrel unit) of a country reporter's imports from (or, for an exporter-side figure, its
exports to) a country or ``WORLD`` (``TOTAL`` -> ``WORLD``), for a whole year (``freq="A"``) or
month (``"M"``), grade empty or ``KEBCO`` (an export figure: grade empty, i.e. the exporter's total;
a route slice such as the BTC pipeline is not emitted), with trust at least ``min_trust``.
``dataset`` is the publisher's slug (:func:`dataset_slug`: the body that produced the number,
``destatis``, ``bafa``, ``kazmunaygas``, ``energy_ministry_kz``; for a low-trust outlet, the
outlet), so figures of different publishers or dates stay separate rows; ``vintage`` the
publication date at its known precision (``2025-06`` -> 2025-06-01, ``2022`` -> 2022-01-01; null if
unknown), ``flow="import"`` (``"export"`` for ``crude_export_quantity``: ``reporter`` is then the
exporter, e.g. Kazakhstan's total exports are reporter ``KZ``, partner ``WORLD``),
``product="crude_oil"``. ``mass_t`` is the stated value in tonnes;
``volume_bbl`` is null unless the figure is in barrels: a barrels-per-day rate becomes a period
total only for a whole month or year (x the days of that month or year, 365 or 366), and such a row
has ``mass_t`` null. Every other row is kept in the curated table and counted as skipped:
``frame.attrs["skipped"]`` is a dict ``{reason: count}`` (see :data:`SKIP_REASONS`), and
:func:`provenance` lists each row with ``emitted`` and ``skip_reason``. Regions: the Middle East
group (IQ+AE+SA+IL) is *not* mapped to ``MIDEAST`` (which means "origin not specified further" in
:data:`oilflows.codes.REGIONS`), so no region row is emitted; nor is an exporter's figure "to the
EU" (partner ``EU27``: there is no EU region code). Production (``crude_production_quantity``) is
not a trade flow and never becomes a row; :func:`provenance` lists it with its interval (``lower``,
``upper``), for analytics such as :func:`oilflows.analytics.exporter_balance` to read.

Rounding intervals (``flag``)
-----------------------------
``flag`` holds the interval the printed figure stands for, ``[lo,hi]`` in tonnes (or
``[lo,hi] bbl`` in barrels for a barrel row), plain decimals, ``inf`` for an open end; it never
contains the letter ``c`` (the confidential marker). With ``u`` one unit of the last significant
printed digit (``9.1`` -> 0.1; ``1.40`` -> 0.01; for a whole number trailing zeros are *not*
significant: ``928000`` -> 1000, ``150`` -> 10, ``2`` -> 1) and ``v`` the value:

=====================  =======================================  =================================
qualifier              words (de / en / ru ...)                 interval
=====================  =======================================  =================================
``exact-as-printed``   none                                     [v - u/2, v + u/2]
``about``              rund, etwa, ca., approx., around, about  [v - w, v + w], w = max(5 % v, u/2)
``a_good``             gut, a good, just over                   [v, v + max(5 % v, u)]
``nearly``             knapp, nearly, almost, почти             [v - max(5 % v, u), v]
``more_than``          mehr als, über, more than, over          [v, inf]
``at_least``           mindestens, at least, не менее           [v, inf]
``less_than``          weniger als, less than, under            [0, v]
``at_most``            bis zu, up to, höchstens, до             [0, v]
=====================  =======================================  =================================

Lower ends are never below 0. Example: ``9.1 Mt`` -> ``[9050000,9150000]``; ``rund 2.1 Mt`` ->
``[1995000,2205000]``; ``gut 78 Mt`` -> ``[78000000,81900000]``. :func:`interval` parses the flags
back to floats.

Two figures with the same full key (source, dataset, reporter, partner, product, grade, flow, freq,
period, vintage) are merged if their intervals intersect (the tighter one is kept, the first on a
tie); otherwise :class:`SourceFormatError` names both ids. Different publishers or dates stay
separate rows.
"""

from __future__ import annotations

import calendar
import csv
import io
import re
from collections import Counter
from decimal import Decimal
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import Source, read_bytes
from ..errors import SourceFormatError
from ..schema import (
    COLUMNS,
    KEY,
    PERIOD_YEARS,
    WORLD,
    IntervalFlagError,
    conform,
    parse_interval_flag,
    validate,
)

SOURCE = "published"
PACKAGED = "published_figures.csv"

CSV_COLUMNS: tuple[str, ...] = (
    "id", "publisher", "address", "published_date", "quote", "metric", "reporter", "partner", "grade",
    "period", "value", "unit", "qualifier", "trust", "note",
)

#: Mass units -> tonnes.
MASS_UNITS: dict[str, Decimal] = {
    "t": Decimal(1), "tonnes": Decimal(1), "kt": Decimal(1000), "thousand t": Decimal(1000),
    "Tsd. t": Decimal(1000), "Mt": Decimal(10**6), "Mio. t": Decimal(10**6), "Mio t": Decimal(10**6),
    "million t": Decimal(10**6), "mn t": Decimal(10**6),
}
#: Barrel units -> barrels.
BARREL_UNITS: dict[str, Decimal] = {"bbl": Decimal(1), "kbbl": Decimal(1000), "mn bbl": Decimal(10**6)}
#: Barrels-per-day units -> barrels per day (``mb/d`` = million barrels a day).
RATE_UNITS: dict[str, Decimal] = {"b/d": Decimal(1), "kb/d": Decimal(1000), "mb/d": Decimal(10**6)}
#: Units of figures that never become rows.
OTHER_UNITS: frozenset[str] = frozenset(
    {"pct", "EUR/t", "bn EUR", "m EUR", "rank", "qualitative", "kt/month"})

NOT_QUANTITY = "not a quantity (share, value, price, change, rank or mention)"
PLAN = "plan, target, quota or contract (not an outcome)"
PRODUCTION = "production (not a trade flow; in provenance() with its interval)"
LOW_TRUST = "trust below min_trust"
AGGREGATE_REPORTER = "aggregate reporter (EU27: Eurostat's own figure, relayed)"
GROUP_PARTNER = "partner is a group of countries (no region code)"
OTHER_GRADE = "a slice other than KEBCO (only totals and KEBCO imports are emitted)"
PARTIAL_PERIOD = "partial, cumulative or unstated period (not representable)"
RATE_PERIOD = "a rate over a period that is not a whole month or year"
NOT_EMITTED_UNIT = "unit is not a quantity"
DUPLICATE = "same key as an agreeing figure with a tighter interval"
#: Every reason a curated row is not emitted, in the order they are tested.
SKIP_REASONS: tuple[str, ...] = (
    NOT_QUANTITY, PLAN, PRODUCTION, LOW_TRUST, AGGREGATE_REPORTER, GROUP_PARTNER, OTHER_GRADE,
    PARTIAL_PERIOD, NOT_EMITTED_UNIT, RATE_PERIOD, DUPLICATE,
)

#: Metric -> None if it can become a row, else the reason it never does.
METRICS: dict[str, str | None] = {
    "crude_import_quantity": None,
    "crude_import_share": NOT_QUANTITY,
    "crude_import_value": NOT_QUANTITY,
    "crude_import_unit_value": NOT_QUANTITY,
    "crude_border_price": NOT_QUANTITY,
    "crude_import_change": NOT_QUANTITY,
    "supplier_rank": NOT_QUANTITY,
    "supplier_mention": NOT_QUANTITY,
    "crude_export_quantity": None,
    "crude_production_quantity": PRODUCTION,
    "delivery_plan": PLAN,
    "export_target": PLAN,
    "transit_quota": PLAN,
    "contract_volume": PLAN,
}

TRUST_LEVELS: tuple[str, ...] = ("low", "medium", "medium-high", "high")
AGGREGATE_REPORTERS = frozenset({"EU27", "EU27_2020", "EU28", "EU_V", "EU"})
GRADES_EMITTED = frozenset({"", "KEBCO"})
#: Metric of an emitted row -> its ``flow``; and the grades emitted for an export figure (the
#: exporter's total only).
FLOW_OF_METRIC: dict[str, str] = {"crude_import_quantity": "import", "crude_export_quantity": "export"}
EXPORT_GRADES_EMITTED = frozenset({""})

#: Qualifier -> hedge phrases (lower case) that, directly before the number, select it. Longer
#: phrases are tried first ("knapp über" is a_good, "knapp" nearly).
HEDGES: dict[str, tuple[str, ...]] = {
    "a_good": ("gut", "gute", "guten", "a good", "just over", "slightly more than", "knapp über",
               "little over"),
    "more_than": ("mehr als", "über", "more than", "over", "in excess of", "более", "свыше",
                  "fazla", "повече от"),
    "at_least": ("mindestens", "wenigstens", "at least", "не менее", "не по-малко от"),
    "nearly": ("knapp", "nearly", "almost", "fast", "just under", "почти", "близо", "neredeyse"),
    "less_than": ("weniger als", "unter", "less than", "under", "below", "менее", "по-малко от"),
    "at_most": ("bis zu", "höchstens", "up to", "at most", "до"),
    "about": ("rund", "etwa", "ca.", "circa", "zirka", "ungefähr", "annähernd", "approx.",
              "approximately", "about", "around", "roughly", "some", "около", "примерно",
              "порядка", "шамамен", "yaklaşık", "yaklasik"),
}
QUALIFIERS: tuple[str, ...] = ("exact-as-printed", "about", "a_good", "nearly", "more_than",
                               "at_least", "less_than", "at_most")
#: Relative margin of "about", "a good" and "nearly" (documented above).
MARGIN = Decimal("0.05")
INF = Decimal("Infinity")

_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_YEAR = re.compile(r"\d{4}")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_PART = re.compile(r"(\d{4})-([QH])(\d)")
_RANGE = re.compile(r"(\d{4})-(\d{2})\.\.(\d{4})-(\d{2})")


#: A malformed interval flag (the grammar lives in :mod:`oilflows.schema`).
PublishedFlagError = IntervalFlagError


# -- rounding -------------------------------------------------------------------------------------


def last_digit_unit(value: Decimal) -> Decimal:
    """One unit of the last significant printed digit: ``9.1`` -> 0.1, ``1.40`` -> 0.01,
    ``928000`` -> 1000 (trailing zeros of a whole number are not significant), ``0`` -> 1."""
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int), f"not a finite number: {value}"  # "n", "N", "F": NaN, sNaN, inf
    if exponent < 0:
        return Decimal(1).scaleb(exponent)
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0")) if any(digits) else 0
    return Decimal(1).scaleb(exponent + trailing)


def bounds(value: Decimal, qualifier: str) -> tuple[Decimal, Decimal]:
    """The interval (in the value's own unit) a printed `value` with `qualifier` stands for."""
    u = last_digit_unit(value)
    v = value
    if qualifier == "exact-as-printed":
        lo, hi = v - u / 2, v + u / 2
    elif qualifier == "about":
        w = max(abs(v) * MARGIN, u / 2)
        lo, hi = v - w, v + w
    elif qualifier == "a_good":
        lo, hi = v, v + max(abs(v) * MARGIN, u)
    elif qualifier == "nearly":
        lo, hi = v - max(abs(v) * MARGIN, u), v
    elif qualifier in ("more_than", "at_least"):
        lo, hi = v, INF
    elif qualifier in ("less_than", "at_most"):
        lo, hi = Decimal(0), v
    else:
        raise ValueError(f"unknown qualifier {qualifier!r}; expected one of {list(QUALIFIERS)}")
    return max(lo, Decimal(0)), hi


def _plain(x: Decimal) -> str:
    """A plain decimal string without exponent or trailing zeros (``inf`` for infinity)."""
    if x.is_infinite():
        return "inf"
    text = format(x, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def format_flag(lo: Decimal, hi: Decimal, barrels: bool = False) -> str:
    """``[lo,hi]`` (tonnes) or ``[lo,hi] bbl`` with plain decimals; never contains ``c``."""
    flag = f"[{_plain(lo)},{_plain(hi)}]" + (" bbl" if barrels else "")
    assert "c" not in flag
    return flag


#: (lower, upper, in_barrels) of a published flag (:func:`oilflows.schema.parse_interval_flag`).
parse_flag = parse_interval_flag


def interval(frame: pd.DataFrame, measure: str = "mass_t") -> pd.DataFrame:
    """Columns ``lower``, ``upper`` (floats; tonnes, or barrels with ``measure="volume_bbl"``)
    parsed from the flags of the rows with ``source == "published"``, aligned to ``frame.index``;
    NaN for other rows and for published rows in the other unit. ``upper`` is ``inf`` for an open
    end. A malformed flag on a published row raises :class:`PublishedFlagError` naming the row."""
    if measure not in ("mass_t", "volume_bbl"):
        raise ValueError(f"measure must be 'mass_t' or 'volume_bbl', got {measure!r}")
    lower = np.full(len(frame), np.nan)
    upper = np.full(len(frame), np.nan)
    positions = np.flatnonzero((frame["source"] == SOURCE).to_numpy())
    flags = frame["flag"].to_numpy()
    for position in positions:
        try:
            lo, hi, barrels = parse_flag(flags[position])
        except PublishedFlagError as exc:
            raise PublishedFlagError(f"row {frame.index[position]!r}: {exc}") from None
        if barrels == (measure == "volume_bbl"):
            lower[position], upper[position] = lo, hi
    return pd.DataFrame({"lower": lower, "upper": upper}, index=frame.index)


# -- qualifiers -----------------------------------------------------------------------------------


def _number_forms(value: str, unit: str) -> list[str]:
    """The printed forms to look for: the value itself, and x1000 / /1000 (``0.801`` Mt is printed
    as ``801.000 Tonnen``, ``1086`` kt as ``1.086 million``)."""
    d = Decimal(value.lstrip("-"))
    forms = [d]
    if unit in MASS_UNITS or unit in BARREL_UNITS or unit in RATE_UNITS:
        forms += [d * 1000, d / 1000]
    out = []
    for f in forms:
        text = _plain(f)
        if text not in out:
            out.append(text)
    return out


def qualifier_from_quote(quote: str, value: str, unit: str = "") -> str | None:
    """The qualifier the quote's words give the number `value`: the hedge phrase (:data:`HEDGES`)
    directly before the number's first printed occurrence (``,`` or ``.`` as decimal mark), else
    ``exact-as-printed``; None if the number is not found in the quote."""
    for form in _number_forms(value, unit):
        whole, _, frac = form.partition(".")
        if frac:  # "2.1" is printed "2.1" or "2,1"
            pattern = r"(?<![\d.,])" + re.escape(whole) + r"[.,]" + re.escape(frac) + r"(?!\d)"
        else:  # "993" is printed "993", "993.000", "993,000" but not "993,5"
            pattern = r"(?<![\d.,])" + re.escape(whole) + r"(?![\d]|[.,]\d{1,2}(?!\d))"
        match = re.search(pattern, quote)
        if match is None:
            continue
        before = re.sub(r"\s+", " ", quote[:match.start()].lower()).rstrip(" (\u201e\"'\u00ab")
        phrases = sorted(((p, q) for q, ps in HEDGES.items() for p in ps), key=lambda x: -len(x[0]))
        for phrase, qualifier in phrases:
            if before.endswith(phrase) and (len(before) == len(phrase)
                                            or not before[-len(phrase) - 1].isalnum()):
                return qualifier
        return "exact-as-printed"
    return None


# -- reading --------------------------------------------------------------------------------------


def _parse_period(text: str, name: str, line: int) -> tuple[str, pd.Timestamp | None]:
    """(kind, first day) of a curated period: kind "A", "M", "partial" or "unstated"."""
    def year_ok(y: str) -> int:
        year = int(y)
        if not PERIOD_YEARS[0] <= year <= PERIOD_YEARS[1]:
            raise SourceFormatError(name, f"line {line}: year {year} out of range {PERIOD_YEARS}",
                                    field="period")
        return year

    def month_ok(m: str) -> int:
        if not 1 <= int(m) <= 12:
            raise SourceFormatError(name, f"line {line}: month {m} in period {text!r}", field="period")
        return int(m)

    if text == "":
        return "unstated", None
    if _YEAR.fullmatch(text):
        return "A", pd.Timestamp(year_ok(text), 1, 1)
    if m := _MONTH.fullmatch(text):
        return "M", pd.Timestamp(year_ok(m.group(1)), month_ok(m.group(2)), 1)
    if m := _PART.fullmatch(text):
        year_ok(m.group(1))
        if not 1 <= int(m.group(3)) <= (4 if m.group(2) == "Q" else 2):
            raise SourceFormatError(name, f"line {line}: bad period {text!r}", field="period")
        return "partial", None
    if m := _RANGE.fullmatch(text):
        start = (year_ok(m.group(1)), month_ok(m.group(2)))
        end = (year_ok(m.group(3)), month_ok(m.group(4)))
        if end < start:
            raise SourceFormatError(name, f"line {line}: period {text!r} ends before it starts",
                                    field="period")
        return "partial", None
    raise SourceFormatError(
        name, f"line {line}: bad period {text!r}; expected YYYY, YYYY-MM, YYYY-Qn, YYYY-Hn, "
        "YYYY-MM..YYYY-MM or empty", field="period")


def _parse_date(text: str, name: str, line: int) -> pd.Timestamp | None:
    if text == "":
        return None
    m = _DATE.fullmatch(text)
    try:
        if m is None:
            raise ValueError
        return pd.Timestamp(int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1))
    except ValueError:
        raise SourceFormatError(name, f"line {line}: bad date {text!r}; expected YYYY-MM-DD, YYYY-MM, "
                                "YYYY or empty", field="published_date") from None


def _table(data: bytes, name: str) -> list[dict[str, str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceFormatError(name, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise SourceFormatError(name, f"missing columns {missing}; expected {list(CSV_COLUMNS)}")
    rows = []
    for row in reader:
        if None in row or any(v is None for v in row.values()):
            raise SourceFormatError(name, f"line {reader.line_num}: {len(header)} fields expected")
        rows.append({k: row[k].strip() for k in CSV_COLUMNS} | {"_line": reader.line_num})
    return rows


def _classify(rows: list[dict], name: str, min_trust: str) -> pd.DataFrame:
    """One record per curated row: the parsed fields, the canonical key and values, or the reason
    it is skipped. Raises :class:`SourceFormatError` on any malformed field."""
    if min_trust not in TRUST_LEVELS:
        raise ValueError(f"min_trust must be one of {list(TRUST_LEVELS)}, got {min_trust!r}")
    seen: set[str] = set()
    records = []
    for row in rows:
        line = row["_line"]

        def bad(field: str, problem: str, _line: int = line) -> SourceFormatError:
            return SourceFormatError(name, f"line {_line}: {problem}", field=field)

        if not row["id"]:
            raise bad("id", "empty id")
        if row["id"] in seen:
            raise bad("id", f"id {row['id']!r} occurs twice")
        seen.add(row["id"])
        for column in ("publisher", "reporter", "partner", "metric", "unit", "trust", "qualifier"):
            if not row[column]:
                raise bad(column, f"empty {column}")
        metric, unit, qualifier, trust = row["metric"], row["unit"], row["qualifier"], row["trust"]
        if metric not in METRICS:
            raise bad("metric", f"unknown metric {metric!r}; expected one of {list(METRICS)}")
        if unit not in MASS_UNITS and unit not in BARREL_UNITS and unit not in RATE_UNITS \
                and unit not in OTHER_UNITS:
            known = [*MASS_UNITS, *BARREL_UNITS, *RATE_UNITS, *sorted(OTHER_UNITS)]
            raise bad("unit", f"unknown unit {unit!r}; expected one of {known}")
        if qualifier not in QUALIFIERS:
            raise bad("qualifier", f"unknown qualifier {qualifier!r}; expected one of {list(QUALIFIERS)}")
        if trust not in TRUST_LEVELS:
            raise bad("trust", f"unknown trust {trust!r}; expected one of {list(TRUST_LEVELS)}")
        text = row["value"]
        if text == "" and unit == "qualitative":
            value = None
        elif not _NUMBER.fullmatch(text):
            raise bad("value", f"unparsable number {text!r}; expected digits with a '.' decimal point "
                               "and no thousands separator")
        else:
            value = Decimal(text)
        kind, period = _parse_period(row["period"], name, line)
        vintage = _parse_date(row["published_date"], name, line)
        quantity_unit = unit in MASS_UNITS or unit in BARREL_UNITS or unit in RATE_UNITS
        if METRICS[metric] is None and quantity_unit and value is not None and value < 0:
            raise bad("value", f"negative quantity {text!r}")

        reporter, partner, grade = row["reporter"], row["partner"], row["grade"]
        reason = METRICS[metric]
        if reason is None and TRUST_LEVELS.index(trust) < TRUST_LEVELS.index(min_trust):
            reason = LOW_TRUST
        if reason is None and reporter in AGGREGATE_REPORTERS:
            reason = AGGREGATE_REPORTER
        canonical_partner = WORLD if partner in ("TOTAL", WORLD) else partner
        if reason is None and not (canonical_partner == WORLD or re.fullmatch(r"[A-Z]{2}", partner)):
            reason = GROUP_PARTNER
        if reason is None and grade not in (EXPORT_GRADES_EMITTED if FLOW_OF_METRIC[metric] == "export"
                                            else GRADES_EMITTED):
            reason = OTHER_GRADE
        if reason is None and kind not in ("A", "M"):
            reason = PARTIAL_PERIOD
        if reason is None and not quantity_unit:
            reason = NOT_EMITTED_UNIT
        if reason is None and not re.fullmatch(r"[A-Z]{2}", reporter):
            raise bad("reporter", f"reporter {reporter!r} is not an ISO alpha-2 code")

        record = {"id": row["id"], "line": line, "skip_reason": reason, "dataset": None,
                  "mass_t": None, "volume_bbl": None, "flag": None, "lower": None, "upper": None,
                  "conversion": None, "width": None}
        if reason is None:
            # a skipped row may lack a value (qualitative) or a period (partial, unstated); this one not
            assert value is not None and period is not None
            lo, hi = bounds(value, qualifier)
            if unit in MASS_UNITS:
                factor = MASS_UNITS[unit]
                record["mass_t"] = float(value * factor)
                barrels = False
                record["conversion"] = f"{_plain(value)} {unit} = {_plain(value * factor)} t"
            elif unit in BARREL_UNITS:
                factor = BARREL_UNITS[unit]
                record["volume_bbl"] = float(value * factor)
                barrels = True
                record["conversion"] = f"{_plain(value)} {unit} = {_plain(value * factor)} bbl"
            else:
                days = (366 if calendar.isleap(period.year) else 365) if kind == "A" \
                    else calendar.monthrange(period.year, period.month)[1]
                factor = RATE_UNITS[unit] * days
                record["volume_bbl"] = float(value * factor)
                barrels = True
                record["conversion"] = (f"{_plain(value)} {unit} x {days} days "
                                        f"= {_plain(value * factor)} bbl")
            lo, hi = lo * factor, hi * factor
            record.update(flag=format_flag(lo, hi, barrels), lower=float(lo), upper=float(hi),
                          width=float(hi - lo))
        elif METRICS[metric] in (None, PRODUCTION) and unit in MASS_UNITS \
                and value is not None:
            # a skipped quantity in tonnes (production, a figure "to the EU", a partial period):
            # its interval for provenance(), no flag and no mass (it is not a row)
            lo, hi = bounds(value, qualifier)
            factor = MASS_UNITS[unit]
            record.update(lower=float(lo * factor), upper=float(hi * factor),
                          conversion=f"{_plain(value)} {unit} = {_plain(value * factor)} t")
        record.update({
            "source": SOURCE, "dataset": dataset_slug(row["publisher"]), "vintage": vintage,
            "freq": kind if kind in ("A", "M") else None, "period": period,
            "reporter": reporter, "partner": canonical_partner,
            "flow": None if METRICS[metric] == PRODUCTION else FLOW_OF_METRIC.get(metric, "import"),
            "product": "crude_oil", "grade": grade or None,
        })
        records.append(record)
    return pd.DataFrame(records)


def _merge_duplicates(records: pd.DataFrame, name: str) -> pd.DataFrame:
    """Merge emitted records sharing a full key if their intervals agree; else raise."""
    groups: dict[tuple, list[int]] = {}
    for index, record in records[records["skip_reason"].isna()].iterrows():
        key = tuple(None if pd.isna(record[k]) else record[k] for k in KEY)
        groups.setdefault(key, []).append(index)
    for members in groups.values():
        if len(members) < 2:
            continue
        group = records.loc[members]
        if group["lower"].max() > group["upper"].min():
            detail = ", ".join(f"{i} (line {n}) {f}" for i, n, f in
                               zip(group["id"], group["line"], group["flag"], strict=True))
            raise SourceFormatError(name, f"figures with the same key disagree: {detail}", field="value")
        keep = group["width"].idxmin()  # the first in file order on a tie
        drop = [i for i in members if i != keep]
        records.loc[drop, "skip_reason"] = DUPLICATE
        records.loc[drop, "duplicate_of"] = records.loc[keep, "id"]
    return records


#: Publisher bodies whose dataset slug is not simply the lower-cased body.
PUBLISHER_SLUGS: dict[str, str] = {
    "Kazakh Ministry of Energy": "energy_ministry_kz",
    "President of Kazakhstan": "president_kz",
    "Deutsche Allgemeine Zeitung Kasachstan": "daz_kz",
    "fbdza.eu": "fbdza",
    "news-pravda.com": "news_pravda",
    "ginero.ru": "ginero",
}


def dataset_slug(publisher: str) -> str:
    """The ``dataset`` of a curated row: its publisher's body (the text before the first ``" ("``,
    ``" via "`` or ``","``) through :data:`PUBLISHER_SLUGS`, else lower-cased with ``_`` for every
    other character (``"BAFA via EEK"`` -> ``bafa``, ``"KazMunayGas via Deutschlandfunk"`` ->
    ``kazmunaygas``)."""
    body = re.split(r" \(| via |,", publisher.strip(), maxsplit=1)[0].strip()
    if body in PUBLISHER_SLUGS:
        return PUBLISHER_SLUGS[body]
    return re.sub(r"[^a-z0-9]+", "_", body.lower()).strip("_") or "unknown"


def _load(path: Source | None, min_trust: str) -> tuple[pd.DataFrame, list[dict], str]:
    if path is None:
        with resources.as_file(resources.files("oilflows.data").joinpath(PACKAGED)) as packaged:
            data, name = read_bytes(Path(packaged))
    else:
        data, name = read_bytes(path)
    rows = _table(data, name)
    records = _classify(rows, name, min_trust)
    if records.empty:
        return records, rows, name
    records["duplicate_of"] = None
    return _merge_duplicates(records, name), rows, name


def read(path: Source | None = None, *, min_trust: str = "medium") -> pd.DataFrame:
    """Read a curated published-figures CSV (path, bytes or binary file; default the packaged
    ``published_figures.csv``) into the canonical frame, ``source="published"``.

    Parses local bytes only; there is no ``fetch`` (the figures are typed from press releases).
    Rows below `min_trust` (one of :data:`TRUST_LEVELS`; default ``"medium"``, i.e. everything but
    ``low``) are skipped. The result passes :func:`oilflows.schema.validate`;
    ``result.attrs["skipped"]`` is ``{reason: count}`` of the curated rows not emitted (see the
    module docstring) and ``result.attrs["emitted"]`` the number of rows.

    Raises
    ------
    SourceFormatError
        A missing column, an unparsable number, an unknown unit / metric / qualifier / trust, a bad
        period or date, a duplicate id, or two figures with one key that disagree; the message
        names the file, the line and the field.
    """
    records, _, _ = _load(path, min_trust)
    if records.empty:
        frame = conform(pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS}))
        frame.attrs.update(skipped={}, emitted=0)
        return frame
    emitted = records[records["skip_reason"].isna()].copy()
    for column in COLUMNS:
        if column not in emitted:
            emitted[column] = None
    frame = conform(emitted[list(COLUMNS)])
    frame = frame.sort_values(list(KEY), na_position="first", kind="stable").reset_index(drop=True)
    validate(frame)
    skipped = Counter(records["skip_reason"].dropna())
    frame.attrs.update(skipped={r: skipped[r] for r in SKIP_REASONS if skipped[r]},
                       emitted=len(frame))
    return frame


def provenance(path: Source | None = None, *, min_trust: str = "medium") -> pd.DataFrame:
    """The curated table (the packaged file by default), one row per figure, with the canonical key
    columns added so that any row of :func:`read`'s frame can be traced to its publisher, address,
    date and quote (merge on :data:`oilflows.schema.KEY`).

    The curated ``reporter``, ``partner``, ``grade`` and ``period`` are renamed ``csv_reporter``,
    ``csv_partner``, ``csv_grade``, ``csv_period``; the key columns (``source`` .. ``vintage``) hold
    the canonical values (``period``/``freq`` null where the period is not a whole year or month).
    Added: ``emitted`` (bool), ``skip_reason``, ``duplicate_of``, ``mass_t``, ``volume_bbl``,
    ``flag``, ``lower``, ``upper`` (in the flag's unit) and ``conversion`` (units and days used).
    A skipped quantity in tonnes (production, an exporter's figure "to the EU", a partial period)
    also has ``lower``, ``upper`` (tonnes) and ``conversion``, but no ``flag`` or ``mass_t``;
    ``flow`` is null for production (not a trade flow).
    """
    records, rows, _ = _load(path, min_trust)
    table = pd.DataFrame([{k: r[k] for k in CSV_COLUMNS} for r in rows], columns=list(CSV_COLUMNS))
    table = table.rename(columns={"reporter": "csv_reporter", "partner": "csv_partner",
                                  "grade": "csv_grade", "period": "csv_period"})
    if records.empty:
        return table
    added = records[[*KEY, "mass_t", "volume_bbl", "flag", "lower", "upper", "conversion",
                     "skip_reason", "duplicate_of"]].copy()
    added.insert(0, "emitted", records["skip_reason"].isna().to_numpy())
    added["vintage"] = pd.to_datetime(added["vintage"])
    added["period"] = pd.to_datetime(added["period"])
    return pd.concat([table.reset_index(drop=True), added.reset_index(drop=True)], axis=1)

__all__ = ["METRICS", "QUALIFIERS", "SOURCE", "TRUST_LEVELS", "PublishedFlagError", "bounds",
           "dataset_slug", "format_flag", "interval", "parse_flag", "provenance", "read"]
