"""UN Comtrade JSON bodies -> the canonical frame: the service error, the records, totals vs breakdowns,
periods, areas, numbers, flags and duplicates (the rules are in :mod:`oilflows.sources.comtrade`). No network.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._io import markup_title, sniff_text_kind, strict_json
from ..errors import SourceFormatError
from ..schema import COLUMNS, MAX_ABS_VALUE, PERIOD_YEARS, conform, empty_frame
from ._comtrade_codes import (
    CODE_FIELDS,
    COMTRADE_PARTNER,
    DATASET,
    FLOWS,
    PINNED,
    PRODUCTS,
    QTY_UNIT_KG,
    REQUIRED_FIELDS,
    SOURCE,
)


def _load_json(data: bytes, name: str) -> dict:
    """Decode a body to a JSON object; SourceFormatError for empty, markup, text or broken JSON."""
    if not data.strip():
        raise SourceFormatError(name, "the body is empty")
    kind = sniff_text_kind(data)
    if kind == "markup":
        raise SourceFormatError(name, f"expected Comtrade JSON, found an HTML/XML page: "
                                f"{markup_title(data)!r}")
    if kind != "json":
        excerpt = " ".join(data[:200].decode("utf-8", "replace").split())
        raise SourceFormatError(name, f"expected Comtrade JSON, found text: {excerpt!r}")
    document = strict_json(data, name, "Comtrade body")
    if not isinstance(document, dict):
        raise SourceFormatError(name, f"expected a JSON object, found {type(document).__name__}")
    return document


def _service_error(document: dict) -> str | None:
    """The error a body reports (``errorObject.errorMessage``, a non-empty ``error``, an APIM
    ``statusCode``/``message`` envelope), or None for a data body."""
    error_object = document.get("errorObject")
    if error_object:
        if isinstance(error_object, dict):
            return str(error_object.get("errorMessage") or error_object)
        return str(error_object)
    error = document.get("error")
    if error not in (None, ""):
        return str(error)
    if "data" not in document and ("message" in document or "statusCode" in document):
        return f"{document.get('statusCode', '')} {document.get('message', '')}".strip()
    return None


def _records(document: dict, name: str) -> list[dict]:
    """The ``data`` list of a body, checked against ``count``."""
    for key in ("count", "data"):
        if key not in document:
            raise SourceFormatError(name, f"expected keys count/data/error, found {sorted(document)}", key)
    records = document["data"]
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise SourceFormatError(name, "expected 'data' to be a list of records", "data")
    count = document["count"]
    if type(count) is not int or count != len(records):
        raise SourceFormatError(name, f"'count' is {count!r} but 'data' has {len(records)} records "
                                "(truncated body?)", "count")
    return records


def _vintage(vintage: Any, name: str) -> pd.Timestamp | None:
    if vintage is None:
        return None
    try:
        stamp = pd.Timestamp(vintage)
    except (TypeError, ValueError) as exc:
        raise SourceFormatError(name, f"unreadable vintage {vintage!r}", "vintage") from exc
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.floor("s")


def _canonical(records: list[dict], vintage: pd.Timestamp | None, name: str) -> pd.DataFrame:
    """Comtrade records -> the canonical frame (see the module docstring for every rule)."""
    if not records:
        return empty_frame()
    raw = pd.DataFrame(records, dtype=object)  # object: ints stay ints, a missing field stays missing
    missing = [f for f in REQUIRED_FIELDS if f not in raw.columns]
    if missing:
        raise SourceFormatError(name, f"records lack fields {missing}; the format may have changed",
                                missing[0])
    for field in CODE_FIELDS:
        raw[field] = _codes(raw, field, name)
    _check_type(raw, name)
    raw = raw[_is_total(raw) & raw["flowCode"].isin(list(FLOWS))].reset_index(drop=True)
    if raw.empty:
        return empty_frame()
    frame = pd.DataFrame(index=raw.index)
    frame["freq"] = _freqs(raw, name)
    frame["period"] = _periods(raw, frame["freq"], name)
    frame["reporter"] = _areas(raw, "reporterCode", "reporterDesc", name)
    frame["partner"] = _areas(raw, "partnerCode", "partnerDesc", name)
    frame["flow"] = raw["flowCode"].map(FLOWS)
    cmd = raw["cmdCode"].astype(str).str.strip()
    frame["product"] = cmd.map(lambda c: PRODUCTS.get(c, f"hs_{c.lower()}"))
    frame["mass_t"], frame["flag"] = _mass_and_flag(raw, name)
    frame["value"] = _numbers(raw, "primaryValue", name)
    frame["currency"] = np.where(frame["value"].notna(), "USD", None)  # type: ignore[call-overload]
    frame = _dedupe(frame, name)
    frame["source"] = SOURCE
    frame["dataset"] = DATASET
    frame["vintage"] = vintage if vintage is not None else pd.NaT
    for column in COLUMNS:
        if column not in frame.columns:
            frame[column] = None
    return conform(frame[list(COLUMNS)])


def _codes(raw: pd.DataFrame, field: str, name: str) -> pd.Series:
    """A code field as stripped strings; SourceFormatError naming the record if one is missing, empty,
    or not a string or an integer (a bool, a float, a list, an object)."""
    column = raw[field]
    ok = column.map(lambda v: (isinstance(v, str) and bool(v.strip())) or type(v) is int).to_numpy(bool)
    if not ok.all():
        row = int(np.flatnonzero(~ok)[0])
        value = column.iloc[row]
        shown = "missing" if value is None or (isinstance(value, float) and np.isnan(value)) else repr(value)
        raise SourceFormatError(name, f"record {row} has {field} {shown}; expected a code "
                                      f"(a non-empty string or an integer)"[:300], field)
    return column.map(lambda v: v.strip() if isinstance(v, str) else str(v))


def _check_type(raw: pd.DataFrame, name: str) -> None:
    types = set(raw["typeCode"].astype(str))
    if types != {"C"}:
        raise SourceFormatError(name, f"expected goods (typeCode C), found {sorted(types)}", "typeCode")
    if "classificationSearchCode" in raw.columns:
        found = set(raw["classificationSearchCode"].dropna().astype(str))
        if found - {"HS"}:
            raise SourceFormatError(name, f"expected the HS classification, found {sorted(found)}",
                                    "classificationSearchCode")


def _is_total(raw: pd.DataFrame) -> pd.Series:
    """True for records that are totals (partner2 0, customs C00, transport 0; null counts as total)."""
    keep = pd.Series(True, index=raw.index)
    for field, total in PINNED.items():
        column = raw[field]
        if isinstance(total, int):
            value = pd.to_numeric(column, errors="coerce")  # a non-numeric code is not the total
        else:
            value = column.map(lambda v: v.strip() if isinstance(v, str) else v)
        keep &= column.isna() | (value == total)
    return keep


def _freqs(raw: pd.DataFrame, name: str) -> pd.Series:
    freq = raw["freqCode"].astype(str)
    bad = set(freq) - {"A", "M"}
    if bad:
        raise SourceFormatError(name, f"unsupported frequencies {sorted(bad)}; expected A or M", "freqCode")
    return freq


def _periods(raw: pd.DataFrame, freq: pd.Series, name: str) -> pd.Series:
    """First day of the period: ``YYYY`` (A, refMonth 52) or ``YYYYMM`` (M), checked against refYear/Month."""
    text = raw["period"].astype(str).str.strip()
    annual = (freq == "A").to_numpy()
    shape_ok = np.where(annual, text.str.fullmatch(r"\d{4}"),
                        text.str.fullmatch(r"\d{4}(0[1-9]|1[0-2])"))
    if not shape_ok.all():
        bad = sorted(set(text[~shape_ok]))[:5]
        raise SourceFormatError(name, f"periods {bad} do not match freqCode (A: YYYY, M: YYYYMM)", "period")
    years = text.str[:4].astype(int)
    outside = (years < PERIOD_YEARS[0]) | (years > PERIOD_YEARS[1])
    if outside.any():
        bad = sorted(set(text[outside]))[:5]
        first, last = PERIOD_YEARS
        raise SourceFormatError(name, f"periods {bad} have a year outside {first}-{last}", "period")
    if "refYear" in raw.columns and "refMonth" in raw.columns:
        year = _optional_ints(raw, "refYear", name)
        month = _optional_ints(raw, "refMonth", name)
        want_month = np.where(annual, 52, pd.to_numeric(text.str[4:6].where(~annual, "0")).to_numpy())
        wrong = ((~np.isnan(year) & (year != text.str[:4].astype(int).to_numpy()))
                 | (~np.isnan(month) & (month != want_month)))  # a null refYear/refMonth is not checked
        if wrong.any():
            row = int(np.flatnonzero(wrong)[0])
            raise SourceFormatError(name, f"period {text[row]!r} disagrees with refYear "
                                    f"{raw['refYear'][row]!r} / refMonth {raw['refMonth'][row]!r} "
                                    "(annual data has refMonth 52)", "refMonth")
    first_day = np.where(annual, text + "0101", text + "01")
    return pd.Series(pd.to_datetime(first_day, format="%Y%m%d"), index=raw.index).astype("datetime64[s]")


def _areas(raw: pd.DataFrame, field: str, desc_field: str, name: str) -> pd.Series:
    """Map Comtrade area codes through :data:`COMTRADE_PARTNER`; unknown codes raise."""
    numeric = pd.to_numeric(raw[field], errors="coerce")
    known = numeric.isin(list(COMTRADE_PARTNER))
    if not known.all():
        desc = raw[desc_field] if desc_field in raw.columns else pd.Series(None, index=raw.index)
        unknown = sorted({(str(c), str(d)) for c, d in zip(raw[field][~known], desc[~known], strict=True)})
        raise SourceFormatError(
            name, f"unknown Comtrade area codes {unknown[:5]}; add them to comtrade_codes.csv "
            "(data_sources/make_comtrade_codes.py)", field)
    return numeric.astype(int).map(COMTRADE_PARTNER)


def _optional_ints(raw: pd.DataFrame, field: str, name: str) -> np.ndarray:
    """An integer field as float64 (NaN where null); a non-integer raises, naming the record."""
    column = raw[field]
    ok = column.map(lambda v: v is None or type(v) is int or (isinstance(v, float) and np.isnan(v)))
    if not ok.all():
        row = int(np.flatnonzero(~ok.to_numpy(bool))[0])
        raise SourceFormatError(name, f"record {row} has {field} {column.iloc[row]!r}; expected an integer"
                                [:300], field)
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype="float64")


def _numbers(raw: pd.DataFrame, field: str, name: str) -> pd.Series:
    """A measure as float64 (NaN where null); anything but a finite JSON number raises, naming the record."""
    column = raw[field]
    ok = column.map(lambda v: v is None or (type(v) in (int, float) and abs(v) <= MAX_ABS_VALUE)
                    or (type(v) is float and np.isnan(v))).to_numpy(bool)  # NaN: a missing field
    if not ok.all():
        row = int(np.flatnonzero(~ok)[0])
        raise SourceFormatError(name, f"non-numeric or out-of-range value {column.iloc[row]!r} in record "
                                      f"{row}"[:300], field)
    return pd.Series(np.array([np.nan if v is None else v for v in column], dtype="float64"), index=raw.index)


def _flag_column(raw: pd.DataFrame, field: str) -> np.ndarray:
    """A boolean flag field as a numpy bool array (absent or null = False)."""
    if field not in raw.columns:
        return np.zeros(len(raw), dtype=bool)
    return raw[field].map(lambda v: v is True).to_numpy(dtype=bool)


def _mass_and_flag(raw: pd.DataFrame, name: str) -> tuple[pd.Series, pd.Series]:
    """Tonnes from ``netWgt`` (kg), else from ``qty`` in kg; the flag ``e``/``a`` of that mass."""
    net = _numbers(raw, "netWgt", name)
    qty = _numbers(raw, "qty", name)
    qty_in_kg = (pd.to_numeric(raw["qtyUnitCode"], errors="coerce") == QTY_UNIT_KG) & qty.notna()
    from_qty = net.isna() & qty_in_kg
    kilograms = net.where(net.notna(), qty.where(from_qty))
    estimated = np.where(net.notna(), _flag_column(raw, "isNetWgtEstimated"),
                         from_qty.to_numpy() & _flag_column(raw, "isQtyEstimated"))
    flag = np.char.add(np.where(estimated, "e", ""), np.where(_flag_column(raw, "isAggregate"), "a", ""))
    flag = pd.Series(flag, index=raw.index, dtype=object)
    return kilograms / 1000.0, flag.where(flag != "", None)


def _dedupe(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Collapse identical rows on (reporter, partner, period, cmd, flow); raise if they disagree."""
    key = ["reporter", "partner", "freq", "period", "product", "flow"]
    frame = frame.drop_duplicates(key + ["mass_t", "value", "flag"]).reset_index(drop=True)
    clash = frame.duplicated(key, keep=False)
    if clash.any():
        example = frame.loc[clash, key + ["mass_t", "value"]].head(2).astype(str).to_dict("records")
        raise SourceFormatError(name, f"{int(clash.sum())} records disagree on the same (reporter, "
                                f"partner, period, cmd, flow), e.g. {example}", "partnerCode")
    return frame


__all__: list[str] = []
