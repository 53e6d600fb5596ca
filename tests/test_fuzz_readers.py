"""Property-based fuzzing of the readers: generated and mutated inputs give a valid frame or a typed error.

The property, for every reader and every input: the reader either returns a frame that passes
:func:`oilflows.schema.validate` (with finite measures), or raises :class:`SourceFormatError` (or
:class:`UnknownDatasetError`) whose message names the file. Any other exception fails the test, and
hypothesis shrinks the input to a minimal one.

Inputs are of two kinds:

- *mutated*: the real recorded samples in ``tests/fixtures`` (and ``shared/api-samples`` when present),
  changed by byte flips, truncation at any offset, deleted/duplicated/swapped lines, swapped delimiters,
  re-encoding (latin-1, cp1252, UTF-16), injected HTML, gzip (whole or truncated), and, for structured
  formats, deleted/duplicated/renamed keys, values replaced by random JSON, impossible periods and
  statuses. When a mutation leaves the input valid, the frame is checked against the input: no more
  rows than input records, measures taken from the input (x 1000 where the unit says thousands), a
  confidential cell never a number;
- *generated*: random valid inputs built here with a known answer, computed independently of the
  reader (row-major cell order by ``itertools.product``, unit factors written out by hand), and the
  reader's frame must equal it.

Hostile inputs (issue 12) have their own tests at the end: JSON integers of thousands of digits, any
GENESIS quality mark, gzip bombs against the compression-ratio limit, headers widened by thousands of
columns, Comext bulk files of blank lines and long cells.

Budget: the default profile runs about 2,200 examples in all (deterministic: ``derandomize``);
``HYPOTHESIS_PROFILE=long`` multiplies every budget by 20 with random seeds.
"""

from __future__ import annotations

import copy
import gzip
import io
import itertools
import json
import math
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from oilflows.errors import SourceFormatError, UnknownDatasetError
from oilflows.formats import jsonstat
from oilflows.schema import MEASURES, validate
from oilflows.sources import comtrade, dg_ener, eurostat, genesis

FIX = Path(__file__).resolve().parent / "fixtures"
#: The shared recorded API samples (optional extra seeds; the tests run without them).
SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "api-samples"

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "default")
settings.register_profile("long", deadline=None, max_examples=2000, derandomize=False)
SCALE = 20 if PROFILE == "long" else 1


def fuzz(examples: int) -> settings:
    """Settings of one fuzz test: `examples` in the default profile, x20 in the long one."""
    return settings(max_examples=examples * SCALE, deadline=None, derandomize=PROFILE != "long",
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


def seeds(*paths: Path, shared: tuple[str, ...] = ()) -> list[bytes]:
    """The bytes of fixture files, plus the shared recorded samples when that directory exists."""
    found = [p.read_bytes() for p in paths]
    found += [(SAMPLES / s).read_bytes() for s in shared if (SAMPLES / s).is_file()]
    return found


# -- the property ---------------------------------------------------------------------------------


def outcome(call: Callable[[], pd.DataFrame], name: str) -> pd.DataFrame | None:
    """Run a reader: the frame if it returns one (checked), None if it raised a typed error naming
    `name`. Any other exception propagates and fails the test."""
    try:
        frame = call()
    except (SourceFormatError, UnknownDatasetError) as exc:
        assert name in str(exc), f"the error does not name the file {name!r}: {exc}"
        event(f"typed error: {type(exc).__name__}")
        return None
    event("returned a frame" if len(frame) else "returned an empty frame")
    validate(frame)
    for column in MEASURES:
        values = frame[column].to_numpy(dtype=float)
        assert not np.isinf(values).any(), f"{column} has an infinite value"
    return frame


def flags(column: pd.Series) -> list[str | None]:
    """A flag column as a list, null (None or NaN) as None."""
    return [f if isinstance(f, str) else None for f in column]


def in_input(found: pd.Series, allowed: set[float], factor: float = 1.0) -> None:
    """Every non-null value of `found`, divided by `factor`, is one of the input's numbers."""
    for value in found.dropna():
        assert any(math.isclose(value / factor, a, rel_tol=1e-9, abs_tol=1e-9) for a in allowed), \
            f"{value} is not an input number x {factor}"


# -- byte-level mutations (any format) -----------------------------------------------------------

#: A position: taken modulo the length of what it indexes (so it fits any mutated input).
UNIT = st.integers(0, 2**20)
ENCODINGS = ("latin-1", "cp1252", "utf-16", "utf-16-le", "utf-8-sig")
HTML = (b"<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head>"
        b"<body><h1>Service Unavailable</h1></body></html>")
DELIMITERS = (b";", b",", b"\t", b"|", b":")

BYTE_OPS = st.one_of(
    st.tuples(st.just("flip"), UNIT, st.integers(0, 7)),
    st.tuples(st.just("truncate"), UNIT),
    st.tuples(st.just("cut"), UNIT, st.integers(1, 300)),
    st.tuples(st.just("insert"), UNIT, st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("del_line"), UNIT),
    st.tuples(st.just("dup_line"), UNIT),
    st.tuples(st.just("swap_lines"), UNIT, UNIT),
    st.tuples(st.just("delimiter"), st.sampled_from(DELIMITERS), st.sampled_from(DELIMITERS)),
    st.tuples(st.just("encode"), st.sampled_from(ENCODINGS)),
    st.tuples(st.just("html"), st.booleans()),
    st.tuples(st.just("gzip"), st.floats(0.0, 1.0)),
    st.tuples(st.just("crlf")),
)


def at(data: bytes | list, position: int) -> int:
    """`position` as an index of `data` (0 for an empty one)."""
    return position % len(data) if len(data) else 0


def apply_byte_ops(data: bytes, ops: list[tuple]) -> bytes:
    """Apply byte mutations in order (each op is a plain tuple, so hypothesis can shrink it)."""
    for op in ops:
        kind = op[0]
        if kind == "flip" and data:
            i = at(data, op[1])
            data = data[:i] + bytes([data[i] ^ (1 << op[2])]) + data[i + 1:]
        elif kind == "truncate":
            data = data[: op[1] % (len(data) + 1)]
        elif kind == "cut":
            i = at(data, op[1])
            data = data[:i] + data[i + op[2]:]
        elif kind == "insert":
            i = op[1] % (len(data) + 1)
            data = data[:i] + op[2] + data[i:]
        elif kind in ("del_line", "dup_line", "swap_lines"):
            lines = data.split(b"\n")
            i = at(lines, op[1])
            if kind == "del_line":
                del lines[i]
            elif kind == "dup_line":
                lines.insert(i, lines[i])
            else:
                j = at(lines, op[2])
                lines[i], lines[j] = lines[j], lines[i]
            data = b"\n".join(lines)
        elif kind == "delimiter":
            data = data.replace(op[1], op[2])
        elif kind == "encode":
            data = data.decode("utf-8", "replace").encode(op[1], "replace")
        elif kind == "html":
            data = HTML if op[1] else data[: len(data) // 2] + HTML + data[len(data) // 2:]
        elif kind == "gzip":
            packed = gzip.compress(data, mtime=0)
            data = packed[: max(2, int(op[1] * len(packed)))] if op[1] < 1.0 else packed
        elif kind == "crlf":
            data = data.replace(b"\n", b"\r\n")
    return data


# -- structured (JSON) mutations -------------------------------------------------------------------


class Pairs(list):
    """A JSON object written as a list of (key, value) pairs, so that a key can occur twice."""


def dump(obj: Any) -> str:
    """JSON text of `obj`; a :class:`Pairs` object is written pair by pair (duplicates kept)."""
    if isinstance(obj, Pairs):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {dump(v)}" for k, v in obj) + "}"
    if isinstance(obj, dict):
        return dump(Pairs(obj.items()))
    if isinstance(obj, list):
        return "[" + ", ".join(dump(v) for v in obj) + "]"
    return json.dumps(obj)


SCALARS = st.sampled_from([
    None, True, False, 0, -1, 1, 13, 52, 2**63, 10**30, 10**400, 1e308, -0.0, 0.5, "", " ", "c", "C", "N",
    "0", "01", "-1", "x", "M", "A", "Q", "TOTAL", "2709", "2021", "2021-01", "2021-13", "2021-00",
    "2021-02-30", "0000", "0000-01", "202113", "000001", "2021-Q1", "nan", "NaN", "1e400", "<html>",
])
JSON_VALUES = st.recursive(
    SCALARS | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["0", "1", "2", "id", "size", "value", "index", "label", "data", "count"])
        | st.text(max_size=4), inner, max_size=4),
    max_leaves=12,
)
PATH = st.lists(UNIT, min_size=1, max_size=4)
#: Keys an "add" mutation may put into an object: ones the readers look at, and others.
KEYS = st.sampled_from([
    "extension", "error", "errorObject", "class", "updated", "status", "value", "id", "size", "role", "label",
    "index", "category", "count", "data", "message", "statusCode", "refYear", "partner2Code", "junk",
])
JSON_OPS = st.one_of(
    st.tuples(st.just("delete"), PATH),
    st.tuples(st.just("replace"), PATH, JSON_VALUES),
    st.tuples(st.just("dup_key"), PATH),
    st.tuples(st.just("dup_item"), PATH),
    st.tuples(st.just("rename"), PATH,
              st.sampled_from(["0", "01", "1", "-1", "x", "", "TIME", "geo", "9" * 25])),
    st.tuples(st.just("add"), PATH, KEYS, JSON_VALUES),
)


def walk(doc: Any, path: list[int]) -> tuple[Any, Any] | None:
    """The (container, key) that `path` (positions, one per level) leads to, or None for a scalar."""
    parent, key, node = None, None, doc
    for position in path:
        if isinstance(node, dict) and node:
            parent, key = node, list(node)[at(list(node), position)]
        elif isinstance(node, list) and node:
            parent, key = node, at(node, position)
        else:
            break
        node = parent[key]
    return None if parent is None else (parent, key)


def apply_json_ops(doc: Any, ops: list[tuple]) -> str:
    """Apply structured mutations to a copy of `doc` and return its JSON text."""
    doc = copy.deepcopy(doc)
    duplicated: list[tuple[dict, Any]] = []
    for op in ops:
        if op[0] == "add":
            found = walk(doc, op[1][:-1]) if len(op[1]) > 1 else None
            target = found[0][found[1]] if found else doc
            if isinstance(target, dict):
                target[op[2]] = copy.deepcopy(op[3])
            continue
        found = walk(doc, op[1])
        if found is None:
            continue
        parent, key = found
        kind = op[0]
        if kind == "delete":
            del parent[key]
        elif kind == "replace":
            parent[key] = copy.deepcopy(op[2])
        elif kind == "dup_key" and isinstance(parent, dict):
            duplicated.append((parent, key))
        elif kind == "dup_item" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(parent[key]))
        elif kind == "rename" and isinstance(parent, dict) and op[2] not in parent:
            items = [(op[2] if k == key else k, v) for k, v in parent.items()]
            parent.clear()
            parent.update(items)
    text = dump(_with_duplicates(doc, duplicated))
    return text


def _with_duplicates(doc: Any, duplicated: list[tuple[dict, Any]]) -> Any:
    """`doc` with each (object, key) of `duplicated` written twice."""
    if isinstance(doc, dict):
        pairs = Pairs((k, _with_duplicates(v, duplicated)) for k, v in doc.items())
        for parent, key in duplicated:
            if parent is doc and key in doc:
                pairs.append((key, _with_duplicates(doc[key], duplicated)))
        return pairs
    if isinstance(doc, list):
        return [_with_duplicates(v, duplicated) for v in doc]
    return doc


# == JSON-stat (formats/jsonstat.py, through eurostat.read) ========================================

JSONSTAT_SEEDS = [json.loads(b) for b in seeds(
    FIX / "eurostat" / "nrg_ti_coifpm_DE_jsonstat_sparse.json",
    FIX / "eurostat" / "nrg_ti_coifpm_DE_jsonstat_dense.json",
    FIX / "eurostat" / "nrg_ti_oilm_jsonstat.json",
)]
JSONSTAT_NAME = "fuzz-jsonstat.json"
#: Codes a mutation may give a category: impossible periods, other frequencies, junk.
RECODES = st.sampled_from([
    "2021-13", "2021-00", "0000", "0000-01", "2021-02-30", "2021", "2021-1", "202101", "2021-Q1",
    "2021M01", " 2021-01", "2021-01-01", "A", "Q", "W", "M", "TOTAL", "XX", "", "THS_BBL", "VOL_THS_BBL",
    "COMP_NR", "O4100_TOT", "EL", "UK",
])
JSONSTAT_OPS = st.one_of(
    JSON_OPS,
    st.tuples(st.just("recode"), UNIT, UNIT, RECODES),
    st.tuples(st.just("status"), UNIT, st.sampled_from(["c", "C", "N", "P", "p", "e", "", "bc", "x"])),
    st.tuples(st.just("resize"), UNIT, st.integers(-2, 2)),
    st.tuples(st.just("drop_dim"), UNIT),
    st.tuples(st.just("dense"), st.booleans()),
)


def apply_jsonstat_ops(doc: dict, ops: list[tuple]) -> str:
    """JSON-stat-aware mutations (consistent edits a generic mutation rarely makes), then generic ones."""
    doc = copy.deepcopy(doc)
    generic = []
    for op in ops:
        kind = op[0]
        ids = doc.get("id") if isinstance(doc.get("id"), list) else []
        dims = doc.get("dimension") if isinstance(doc.get("dimension"), dict) else {}
        if kind == "recode" and ids:
            dim = dims.get(ids[at(ids, op[1])], {})
            index = dim.get("category", {}).get("index") if isinstance(dim, dict) else None
            if isinstance(index, dict) and index and op[3] not in index:
                old = list(index)[at(list(index), op[2])]
                dim["category"]["index"] = {op[3] if k == old else k: v for k, v in index.items()}
        elif kind == "status":
            total = math.prod(s for s in doc.get("size", []) if isinstance(s, int))
            status = doc.get("status")
            if isinstance(status, dict) and total:
                status[str(op[1] % total)] = op[2]
        elif kind == "resize" and isinstance(doc.get("size"), list) and doc["size"]:
            i = at(doc["size"], op[1])
            if isinstance(doc["size"][i], int):
                doc["size"][i] = max(0, doc["size"][i] + op[2])
        elif kind == "drop_dim" and ids and len(doc.get("size") or []) == len(ids):
            i = at(ids, op[1])
            dims.pop(ids[i], None)
            del ids[i], doc["size"][i]
        elif kind == "dense" and isinstance(doc.get("value"), dict):
            total = math.prod(s for s in doc.get("size", []) if isinstance(s, int))
            dense = [doc["value"].get(str(i)) for i in range(min(total, 10_000))]
            doc["value"] = dense[:-1] if op[1] and dense else dense
        elif kind in ("delete", "replace", "dup_key", "dup_item", "rename", "add"):
            generic.append(op)
    return apply_json_ops(doc, generic)


def entries(obj: Any) -> list[tuple[Any, Any]]:
    """(position, item) pairs of a sparse object or a dense array; none for anything else."""
    if isinstance(obj, dict):
        return list(obj.items())
    return list(enumerate(obj)) if isinstance(obj, list) else []


def jsonstat_records(text: bytes | str) -> tuple[int, set[float]] | None:
    """(cells with a value or a status, the values) of a JSON-stat text, read leniently; None if
    it is not an object with a value."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(doc, dict):
        return None
    value, status = doc.get("value"), doc.get("status")
    items = list(entries(value))
    cells = {str(k) for k, v in items if v is not None}
    numbers = {float(v) for _, v in items if isinstance(v, int | float) and not isinstance(v, bool)}
    if isinstance(status, str) and status:
        return 10**12, numbers
    if isinstance(status, list) and len(status) == 1 and status[0]:
        return 10**12, numbers
    cells |= {str(k) for k, v in entries(status) if v}
    return len(cells), numbers


def check_jsonstat_frame(frame: pd.DataFrame, text: bytes | str) -> None:
    """A frame read from a (mutated) JSON-stat text: no more rows than cells, numbers from the input."""
    records = jsonstat_records(text)
    assert records is not None, "a frame from a text that is not a JSON-stat object"
    cells, numbers = records
    assert len(frame) <= cells
    in_input(frame["volume_bbl"], numbers, 1000.0)
    in_input(frame["mass_t"], numbers, 1000.0)
    in_input(frame["value"], numbers, 1000.0)
    in_input(frame["price_per_bbl"], numbers)
    in_input(frame["api_gravity"], numbers)


@fuzz(200)
@given(seed=st.sampled_from(range(len(JSONSTAT_SEEDS))), ops=st.lists(JSONSTAT_OPS, min_size=1, max_size=4))
def test_jsonstat_mutated_documents(seed, ops):
    text = apply_jsonstat_ops(JSONSTAT_SEEDS[seed], ops).encode()
    frame = outcome(lambda: eurostat.read(text, name=JSONSTAT_NAME), JSONSTAT_NAME)
    if frame is not None:
        check_jsonstat_frame(frame, text)


@fuzz(150)
@given(seed=st.sampled_from(range(len(JSONSTAT_SEEDS))), ops=st.lists(BYTE_OPS, min_size=1, max_size=3))
def test_jsonstat_byte_mutations(seed, ops):
    data = apply_byte_ops(json.dumps(JSONSTAT_SEEDS[seed], indent=1).encode(), ops)
    frame = outcome(lambda: eurostat.read(data, name=JSONSTAT_NAME), JSONSTAT_NAME)
    if frame is not None:
        check_jsonstat_frame(frame, gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)


@fuzz(100)
@given(doc=JSON_VALUES)
def test_jsonstat_random_json(doc):
    text = dump(doc).encode()
    assert outcome(lambda: eurostat.read(text, name=JSONSTAT_NAME), JSONSTAT_NAME) is None


# -- generated JSON-stat cubes: parse() against an independent expansion ---------------------------

CODE = st.from_regex(r"[A-Z0-9_]{1,5}", fullmatch=True)
STATUSES = st.sampled_from([None, None, None, "", "p", "e", "b", "c", "C", "N"])
VALUES = st.one_of(st.none(), st.integers(-10**9, 10**9), st.floats(-1e12, 1e12, allow_nan=False))


@st.composite
def cubes(draw) -> tuple[dict, pd.DataFrame]:
    """A valid JSON-stat 2.0 dataset and the long frame it holds, built cell by cell in row-major order."""
    ids = draw(st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,5}", fullmatch=True), min_size=1, max_size=4,
                        unique_by=str.casefold))
    cats = [draw(st.lists(CODE, min_size=1, max_size=4, unique=True)) for _ in ids]
    cells = list(itertools.product(*cats))  # the last dimension varies fastest, as JSON-stat says
    content = draw(st.lists(st.tuples(VALUES, STATUSES), min_size=len(cells), max_size=len(cells)))
    content = [(None if s and jsonstat.is_withheld(s) else v, s) for v, s in content]
    dimension = {}
    for dim, codes in zip(ids, cats, strict=True):
        order = draw(st.permutations(range(len(codes))))
        form = draw(st.sampled_from(["list", "object", "omitted"] if len(codes) == 1 else ["list", "object"]))
        if form == "list":
            category = {"index": list(codes)}
        elif form == "object":  # written in a shuffled order: the positions, not the order, count
            category = {"index": {codes[i]: i for i in order}}
        else:
            category = {"label": {codes[0]: "the only one"}}
        dimension[dim] = {"label": dim, "category": category}
    if draw(st.booleans()):  # dense arrays
        value: Any = [v for v, _ in content]
        status: Any = [s for _, s in content] if any(s for _, s in content) else None
    else:
        value = {str(i): v for i, (v, _) in enumerate(content) if v is not None or draw(st.booleans())}
        status = {str(i): s for i, (_, s) in enumerate(content) if s}
    doc = {"version": "2.0", "class": "dataset", "id": ids, "size": [len(c) for c in cats],
           "dimension": dimension, "value": value, "updated": "2024-02-28T11:00:00+0100"}
    if status is not None:
        doc["status"] = status
    rows = [(*codes, np.nan if v is None else float(v), s or None)
            for codes, (v, s) in zip(cells, content, strict=True) if v is not None or s]
    expected = pd.DataFrame(rows, columns=[*ids, "value", "status"])
    return doc, expected


@fuzz(150)
@given(case=cubes(), as_text=st.booleans())
def test_jsonstat_generated_cubes(case, as_text):
    doc, expected = case
    frame, meta = jsonstat.parse(json.dumps(doc).encode() if as_text else doc, "cube.json")
    assert list(frame.columns) == list(expected.columns)
    assert len(frame) == len(expected)
    for column in expected.columns:
        got, want = frame[column].tolist(), expected[column].tolist()
        if column == "value":
            np.testing.assert_array_equal(np.asarray(got, float), np.asarray(want, float))
        else:
            assert got == want, column
    assert meta["updated"] == "2024-02-28T11:00:00+0100"


# -- generated nrg_ti_oilm / nrg_ti_oil documents: eurostat.read against hand-computed rows ---------

#: Eurostat codes -> canonical codes, written out here (not taken from oilflows.codes).
GEO = {"DE": "DE", "FR": "FR", "EL": "GR", "UK": "GB", "KZ": "KZ", "RU": "RU", "NO": "NO", "TOTAL": "WORLD"}
SIEC = {"O4100_TOT": "crude_oil", "O4000": "oil_and_petroleum_products"}


@st.composite
def oil_documents(draw) -> tuple[bytes, pd.DataFrame]:
    """An nrg_ti_oilm (monthly) or nrg_ti_oil (annual) JSON-stat document and its canonical rows."""
    monthly = draw(st.booleans())
    siec = draw(st.lists(st.sampled_from(sorted(SIEC)), min_size=1, max_size=2, unique=True))
    partner = draw(st.lists(st.sampled_from(sorted(GEO)), min_size=1, max_size=4, unique=True))
    geo = draw(st.lists(st.sampled_from(["DE", "FR", "EL"]), min_size=1, max_size=2, unique=True))
    years = draw(st.lists(st.integers(2000, 2024), min_size=1, max_size=3, unique=True))
    if monthly:
        months = draw(st.lists(st.integers(1, 12), min_size=1, max_size=3, unique=True))
        time = [f"{y}-{m:02d}" for y in sorted(years) for m in sorted(months)]
    else:
        time = [str(y) for y in sorted(years)]
    cats = {"freq": ["M" if monthly else "A"], "siec": siec, "partner": partner, "unit": ["THS_T"],
            "geo": geo, "time": time}
    cells = list(itertools.product(*cats.values()))
    content = draw(st.lists(st.tuples(st.one_of(st.none(), st.floats(0, 1e6, allow_nan=False)),
                                      st.sampled_from([None, None, "p", "e", "c", "C"])),
                            min_size=len(cells), max_size=len(cells)))
    content = [(None if s in ("c", "C") else v, s) for v, s in content]
    doc = {
        "version": "2.0", "class": "dataset", "updated": "2024-03-15T23:00:00+0100",
        "extension": {"id": "NRG_TI_OILM" if monthly else "NRG_TI_OIL"},
        "id": list(cats), "size": [len(c) for c in cats.values()],
        "dimension": {d: {"category": {"index": {c: i for i, c in enumerate(codes)}}}
                      for d, codes in cats.items()},
        "value": {str(i): v for i, (v, _) in enumerate(content) if v is not None},
        "status": {str(i): s for i, (_, s) in enumerate(content) if s},
    }
    rows = []
    for (freq, sie, par, _, ge, tim), (v, s) in zip(cells, content, strict=True):
        if v is None and not s:
            continue
        period = pd.Timestamp(f"{tim}-01" if monthly else f"{tim}-01-01")
        flag = "c" if s in ("c", "C") else s
        rows.append({"freq": freq, "reporter": GEO[ge], "partner": GEO[par], "product": SIEC[sie],
                     "period": period, "mass_t": np.nan if v is None else v * 1000.0, "flag": flag})
    return json.dumps(doc).encode(), pd.DataFrame(rows, columns=["freq", "reporter", "partner", "product",
                                                                  "period", "mass_t", "flag"])


@fuzz(60)
@given(case=oil_documents())
def test_eurostat_generated_oil_documents(case):
    data, expected = case
    frame = outcome(lambda: eurostat.read(data, name="oil.json"), "oil.json")
    if expected.empty:  # sources.md 1.10: an empty 'value' is "no data", a typed error, not an empty frame
        assert frame is None
        return
    assert frame is not None
    key = ["reporter", "partner", "product", "period"]
    got = frame[[*key, "freq", "mass_t", "flag"]].sort_values(key).reset_index(drop=True)
    want = expected[[*key, "freq", "mass_t", "flag"]].sort_values(key).reset_index(drop=True)
    assert len(got) == len(want)
    assert got[key + ["freq"]].astype(str).values.tolist() == want[key + ["freq"]].astype(str).values.tolist()
    np.testing.assert_allclose(got["mass_t"].to_numpy(float), want["mass_t"].to_numpy(float), rtol=1e-12)
    assert flags(got["flag"]) == flags(want["flag"])
    assert (frame["source"] == "eurostat").all()
    assert set(frame["vintage"]) == {pd.Timestamp("2024-03-15 23:00:00")}


# == Comtrade (comtrade.read, JSON) ==================================================================

COMTRADE_SEEDS = [json.loads(b) for b in seeds(
    FIX / "comtrade" / "comtrade_data_v1_get_C_A_HS_china_annual.json",
    FIX / "comtrade" / "comtrade_bulk_v1_get_empty_result.json",
    shared=("comtrade_data_v1_get_C_A_HS_china_annual.json",),
)]
COMTRADE_NAME = "fuzz-comtrade.json"
COMTRADE_FIELDS = st.sampled_from([
    *comtrade.REQUIRED_FIELDS, "refYear", "refMonth", "isNetWgtEstimated", "isQtyEstimated",
    "isAggregate", "classificationSearchCode", "reporterDesc",
])
COMTRADE_OPS = st.one_of(
    JSON_OPS,
    st.tuples(st.just("set"), UNIT, COMTRADE_FIELDS, JSON_VALUES),
    st.tuples(st.just("drop"), UNIT, COMTRADE_FIELDS),
    st.tuples(st.just("dup_record"), UNIT),
    st.tuples(st.just("drop_record"), UNIT),
    st.tuples(st.just("fix_count")),
)


def apply_comtrade_ops(doc: dict, ops: list[tuple]) -> str:
    doc = copy.deepcopy(doc)
    generic = []
    for op in ops:
        records = doc.get("data") if isinstance(doc.get("data"), list) else []
        kind = op[0]
        if kind in ("set", "drop", "dup_record", "drop_record") and records:
            i = at(records, op[1])
            if kind == "set" and isinstance(records[i], dict):
                records[i][op[2]] = copy.deepcopy(op[3])
            elif kind == "drop" and isinstance(records[i], dict):
                records[i].pop(op[2], None)
            elif kind == "dup_record":
                records.insert(i, copy.deepcopy(records[i]))
            elif kind == "drop_record":
                del records[i]
        elif kind == "fix_count":
            doc["count"] = len(records)
        elif kind in ("delete", "replace", "dup_key", "dup_item", "rename", "add"):
            generic.append(op)
    return apply_json_ops(doc, generic)


def check_comtrade_frame(frame: pd.DataFrame, text: bytes | str) -> None:
    """Rows no more than records; masses and values are the records' numbers (kg -> t)."""
    doc = json.loads(text)
    records = [r for r in doc["data"] if isinstance(r, dict)]
    assert len(frame) <= len(records)
    kilograms = {float(r[f]) for r in records for f in ("netWgt", "qty")
                 if isinstance(r.get(f), int | float) and not isinstance(r.get(f), bool)}
    values = {float(v) for r in records
              if isinstance(v := r.get("primaryValue"), int | float) and not isinstance(v, bool)}
    in_input(frame["mass_t"], kilograms, 1e-3)
    in_input(frame["value"], values)


@fuzz(150)
@given(seed=st.sampled_from(range(len(COMTRADE_SEEDS))), ops=st.lists(COMTRADE_OPS, min_size=1, max_size=4))
def test_comtrade_mutated_bodies(seed, ops):
    text = apply_comtrade_ops(COMTRADE_SEEDS[seed], ops).encode()
    frame = outcome(lambda: comtrade.read(text, name=COMTRADE_NAME), COMTRADE_NAME)
    if frame is not None:
        check_comtrade_frame(frame, text)


@fuzz(120)
@given(seed=st.sampled_from(range(len(COMTRADE_SEEDS))), ops=st.lists(BYTE_OPS, min_size=1, max_size=3))
def test_comtrade_byte_mutations(seed, ops):
    data = apply_byte_ops(json.dumps(COMTRADE_SEEDS[seed], indent=1).encode(), ops)
    frame = outcome(lambda: comtrade.read(data, name=COMTRADE_NAME), COMTRADE_NAME)
    if frame is not None:
        check_comtrade_frame(frame, gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)


@fuzz(80)
@given(doc=JSON_VALUES)
def test_comtrade_random_json(doc):
    text = dump(doc).encode()
    frame = outcome(lambda: comtrade.read(text, name=COMTRADE_NAME), COMTRADE_NAME)
    assert frame is None or frame.empty  # only {"count": 0, "data": [], ...} gives a frame


# -- generated Comtrade bodies: read against hand-computed rows --------------------------------------

#: Comtrade area codes -> canonical codes, from the module docstring (251 France, 842 USA, 490 Taiwan).
AREAS = {0: "WORLD", 156: "CN", 251: "FR", 276: "DE", 398: "KZ", 643: "RU", 842: "US", 699: "IN", 490: "TW"}
KG = st.one_of(st.none(), st.integers(0, 10**12), st.floats(0, 1e12, allow_nan=False))


@st.composite
def comtrade_bodies(draw) -> tuple[bytes, pd.DataFrame]:
    """A Comtrade v1 body (totals, plus breakdowns and re-exports that must be dropped) and its rows."""
    monthly = draw(st.booleans())
    key = st.tuples(st.sampled_from(sorted(AREAS)[1:]), st.sampled_from(sorted(AREAS)),
                    st.integers(1990, 2024), st.integers(1, 12), st.sampled_from(["2709", "TOTAL"]),
                    st.sampled_from(["M", "X"]))
    keys = draw(st.lists(key, min_size=1, max_size=6,
                         unique_by=lambda k: (k[0], k[1], k[2], k[3] if monthly else 0, k[4], k[5])))
    records, rows = [], []
    for reporter, partner, year, month, cmd, flow in keys:
        net, qty = draw(KG), draw(KG)
        unit = draw(st.sampled_from([8, -1, 5]))
        value = draw(KG)
        net_est, qty_est, aggregate = draw(st.booleans()), draw(st.booleans()), draw(st.booleans())
        period = f"{year}{month:02d}" if monthly else str(year)
        record = {
            "typeCode": "C", "freqCode": "M" if monthly else "A", "refYear": year,
            "refMonth": month if monthly else 52, "period": period, "reporterCode": reporter,
            "flowCode": flow, "partnerCode": partner, "partner2Code": 0, "classificationSearchCode": "HS",
            "cmdCode": cmd, "customsCode": "C00", "motCode": 0, "qtyUnitCode": unit, "qty": qty,
            "isQtyEstimated": qty_est, "netWgt": net, "isNetWgtEstimated": net_est, "primaryValue": value,
            "isAggregate": aggregate,
        }
        records.append(record)
        if draw(st.booleans()):  # a breakdown by mode of transport: dropped, never double-counted
            records.append({**record, "motCode": 2100, "netWgt": 1.0, "primaryValue": 1.0})
        if draw(st.booleans()):  # a re-export: dropped
            records.append({**record, "flowCode": "RX", "netWgt": 2.0})
        if net is not None:
            kilograms, estimated = float(net), net_est
        elif unit == 8 and qty is not None:
            kilograms, estimated = float(qty), qty_est
        else:
            kilograms, estimated = np.nan, False
        flag = ("e" if estimated else "") + ("a" if aggregate else "")
        rows.append({"reporter": AREAS[reporter], "partner": AREAS[partner],
                     "period": pd.Timestamp(year, month if monthly else 1, 1),
                     "freq": "M" if monthly else "A",
                     "flow": {"M": "import", "X": "export"}[flow],
                     "product": "crude_oil" if cmd == "2709" else "hs_total", "mass_t": kilograms / 1000.0,
                     "value": np.nan if value is None else float(value), "flag": flag or None})
    order = draw(st.permutations(range(len(records))))
    records = [records[i] for i in order]
    body = {"elapsedTime": "0.1 secs", "count": len(records), "data": records, "error": ""}
    return json.dumps(body).encode(), pd.DataFrame(rows)


@fuzz(60)
@given(case=comtrade_bodies())
def test_comtrade_generated_bodies(case):
    data, expected = case
    frame = outcome(lambda: comtrade.read(data, name="body.json"), "body.json")
    assert frame is not None
    key = ["reporter", "partner", "period", "product", "flow"]
    got = frame.sort_values(key).reset_index(drop=True)
    want = expected.sort_values(key).reset_index(drop=True)
    assert len(got) == len(want)
    for column in [*key, "freq"]:
        assert got[column].astype(str).tolist() == want[column].astype(str).tolist(), column
    for column in ("mass_t", "value"):
        np.testing.assert_allclose(got[column].to_numpy(float), want[column].to_numpy(float), rtol=1e-12)
    assert flags(got["flag"]) == flags(want["flag"])
    assert (got["currency"].notna() == want["value"].notna()).all()


# == GENESIS (genesis.read and genesis.parse_ffcsv: ffcsv CSV and ZIP) ==============================

GENESIS_FILES = ["51000-0017_2023-01_de_flat.csv", "51000-0017_2023-07_specials_de_flat.csv",
                 "51000-0017_2023-01_en_flat.csv"]
GENESIS_SEEDS = seeds(*(FIX / "genesis" / f for f in GENESIS_FILES))
FFCSV_SEEDS = seeds(
    FIX / "genesis" / "genesis_ffcsv_new_61111-0001_de_flat.csv",
    FIX / "genesis" / "genesis_ffcsv_old_61111-0001_de_flat.csv",
    FIX / "genesis" / "genesis_ffcsv_new_61111-0001_de_flat.zip",
    FIX / "genesis" / "restatis_tablefile_61111-0001_en_2025-03-24.zip",
    shared=("genesis_ffcsv_new_61111-0001_de_flat.csv", "genesis_ffcsv_old_61111-0001_de_flat.csv",
            "genesis_ffcsv_new_61111-0001_de_flat.zip"),
)
GENESIS_NAME = "fuzz-genesis.csv"
GENESIS_CELLS = st.sampled_from([
    "", " ", ".", "-", "x", "X", "...", "/", "(5,0)", "()", "0", "1.234,5", "1,234.5", "1.234", "12,5", "abc",
    "9" * 400, "1e5", "-5", "MONAT13", "MONAT00", "MONAT1", "0000", "2023", "20233", "STLAH999", "STLAH079",
    "Atlantis", "Kasachstan", "WA27090090", "WA2709009", "Tsd. EUR", "t", "kg", "GEWE", "WERTE", "BME",
    "XYZ", "51000", "61111", "JAHR", "MONAT", "e", "p", "<html>", "a;b", '"',
])
GENESIS_OPS = st.one_of(
    st.tuples(st.just("cell"), UNIT, UNIT, GENESIS_CELLS),
    st.tuples(st.just("drop_column"), UNIT),
    st.tuples(st.just("dup_column"), UNIT),
    st.tuples(st.just("header_cell"), UNIT,
              GENESIS_CELLS | st.sampled_from(["value_q", "value", "5_variable_code"])),
)


def apply_genesis_ops(data: bytes, ops: list[tuple]) -> bytes:
    """Cell- and column-level mutations of a ``;``-separated flat file (no quoting, as GENESIS writes)."""
    lines = [line.split(";") for line in data.decode("utf-8").split("\n")]
    body = [i for i, line in enumerate(lines) if i > 0 and len(line) > 1]
    for op in ops:
        kind = op[0]
        if kind == "cell" and body:
            line = lines[body[at(body, op[1])]]
            line[at(line, op[2])] = op[3]
        elif kind == "header_cell":
            lines[0][at(lines[0], op[1])] = op[2]
        elif kind in ("drop_column", "dup_column"):
            j = at(lines[0], op[1])
            for line in lines:
                if len(line) > j:
                    if kind == "drop_column":
                        del line[j]
                    else:
                        line.insert(j, line[j])
    return "\n".join(";".join(line) for line in lines).encode("utf-8")


def zipped(member: bytes, name: str = "51000-0017_flat.csv") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, member)
    return buffer.getvalue()


def unpacked(data: bytes) -> bytes:
    """The CSV inside a (valid) gzip or ZIP, or `data` itself."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            data = archive.read(archive.namelist()[0])
    return data


def check_genesis_frame(frame: pd.DataFrame, data: bytes) -> None:
    """No more rows than data lines; a special sign other than '-' never becomes a number."""
    lines = [line for line in unpacked(data).split(b"\n")[1:] if line.strip()]
    assert len(frame) <= len(lines)
    for flag, mass in zip(flags(frame["flag"]), frame["mass_t"], strict=True):
        if flag and flag[0] in "c.x/":
            assert np.isnan(mass), f"a {flag!r} cell became {mass}"


@fuzz(80)
@given(seed=st.sampled_from(range(len(GENESIS_SEEDS))), ops=st.lists(GENESIS_OPS, min_size=1, max_size=3),
       as_zip=st.booleans())
def test_genesis_mutated_cells(seed, ops, as_zip):
    data = apply_genesis_ops(GENESIS_SEEDS[seed], ops)
    data = zipped(data) if as_zip else data
    frame = outcome(lambda: genesis.read(data, name=GENESIS_NAME), GENESIS_NAME)
    if frame is not None:
        check_genesis_frame(frame, data)


@fuzz(80)
@given(seed=st.sampled_from(range(len(GENESIS_SEEDS))), ops=st.lists(BYTE_OPS, min_size=1, max_size=3),
       as_zip=st.booleans())
def test_genesis_byte_mutations(seed, ops, as_zip):
    data = apply_byte_ops(GENESIS_SEEDS[seed], ops)
    data = zipped(data) if as_zip else data
    frame = outcome(lambda: genesis.read(data, name=GENESIS_NAME), GENESIS_NAME)
    if frame is not None:
        check_genesis_frame(frame, data)


@fuzz(60)
@given(seed=st.sampled_from(range(len(GENESIS_SEEDS))), ops=st.lists(BYTE_OPS, min_size=1, max_size=3))
def test_genesis_zip_container_corruption(seed, ops):
    data = apply_byte_ops(zipped(GENESIS_SEEDS[seed]), ops)
    frame = outcome(lambda: genesis.read(data, name="fuzz-genesis.zip"), "fuzz-genesis.zip")
    if frame is not None:
        check_genesis_frame(frame, data)


@pytest.fixture(scope="module")
def genesis_originals() -> list[pd.DataFrame]:
    return [genesis.read(seed, name=f) for seed, f in zip(GENESIS_SEEDS, GENESIS_FILES, strict=True)]


@fuzz(50)
@given(seed=st.sampled_from(range(len(GENESIS_SEEDS))),
       ops=st.lists(st.one_of(st.tuples(st.just("del"), UNIT), st.tuples(st.just("swap"), UNIT, UNIT),
                              st.tuples(st.just("dup"), UNIT)), min_size=1, max_size=6))
def test_genesis_line_edits_give_a_subset(genesis_originals, seed, ops):
    """Deleting or reordering data lines gives a subset of the original rows, each measure as it was;
    a duplicated line is a cell given twice, an error."""
    header, *lines = [line for line in GENESIS_SEEDS[seed].split(b"\n") if line.strip()]
    for op in ops:
        i = at(lines, op[1]) if lines else 0
        if op[0] == "del" and lines:
            del lines[i]
        elif op[0] == "swap" and lines:
            j = at(lines, op[2])
            lines[i], lines[j] = lines[j], lines[i]
        elif op[0] == "dup" and lines:
            lines.insert(i, lines[i])
    data = b"\n".join([header, *lines]) + b"\n"
    frame = outcome(lambda: genesis.read(data, name=GENESIS_NAME), GENESIS_NAME)
    if len(set(lines)) < len(lines):
        assert frame is None
        return
    assert frame is not None
    key = ["flow", "partner", "product", "grade", "period"]
    original = genesis_originals[seed].set_index(key)
    for row in frame.itertuples(index=False):
        before = original.loc[tuple(getattr(row, k) for k in key)]
        for column in ("mass_t", "value"):
            now = getattr(row, column)
            assert np.isnan(now) or now == before[column], (column, now, before[column])


@fuzz(80)
@given(seed=st.sampled_from(range(len(FFCSV_SEEDS))), ops=st.lists(BYTE_OPS, min_size=1, max_size=3))
def test_parse_ffcsv_byte_mutations(seed, ops):
    data = apply_byte_ops(FFCSV_SEEDS[seed], ops)
    try:
        long = genesis.parse_ffcsv(data, name=GENESIS_NAME)
    except SourceFormatError as exc:
        assert GENESIS_NAME in str(exc)
        return
    assert long["value"].dtype == np.float64 and not np.isinf(long["value"]).any()
    lines = unpacked(data).count(b"\n") + 1
    assert len(long) <= lines * max(1, unpacked(data).split(b"\n")[0].count(b";"))


# -- generated 51000-0017 flat files: read against hand-computed rows --------------------------------

#: STLAH code -> (German label, ISO code), written out here.
STLAH = {"STLAH079": ("Kasachstan", "KZ"), "STLAH075": ("Russische Föderation", "RU"),
         "STLAH028": ("Norwegen", "NO"), "STLAH006": ("Vereinigtes Königreich", "GB"),
         "STLAH400": ("Vereinigte Staaten", "US")}
CONTENT = {"GEWE": ("import", "mass", "t", "Einfuhr: Gewicht"),
           "WERTE": ("import", "value", "Tsd. EUR", "Einfuhr: Wert"),
           "GEWA": ("export", "mass", "t", "Ausfuhr: Gewicht"),
           "WERTA": ("export", "value", "Tsd. EUR", "Ausfuhr: Wert")}
SIGNS = {"-": (0.0, "-"), ".": (np.nan, "c"), "x": (np.nan, "x"), "...": (np.nan, "..."), "/": (np.nan, "/")}


@st.composite
def genesis_files(draw) -> tuple[bytes, pd.DataFrame]:
    """A new-layout German 51000-0017 flat file (dimensions in any order) and its canonical rows."""
    key = st.tuples(st.integers(2015, 2024), st.integers(1, 12), st.sampled_from(sorted(STLAH)),
                    st.sampled_from(["WA27090010", "WA27090090"]), st.sampled_from(sorted(CONTENT)))
    keys = draw(st.lists(key, min_size=1, max_size=12, unique=True))
    dims = draw(st.permutations(["MONAT", "STLAH", "WAM8"]))
    header = ["statistics_code", "statistics_label", "time_code", "time_label", "time"]
    for n in range(1, 4):
        header += [f"{n}_variable_code", f"{n}_variable_label", f"{n}_variable_attribute_code",
                   f"{n}_variable_attribute_label"]
    header += ["value", "value_unit", "value_variable_code", "value_variable_label", "value_q"]
    lines, cells = [";".join(header)], {}
    for year, month, stlah, goods, content in keys:
        if draw(st.booleans()):
            text = draw(st.sampled_from(sorted(SIGNS)))
            number, sign_flag = SIGNS[text]
        else:
            number = draw(st.integers(0, 10**7)) / 10
            text, sign_flag = f"{number:.1f}".replace(".", ","), ""
        quality = draw(st.sampled_from(["e", "p", ""]))
        attribute = {"MONAT": (f"MONAT{month:02d}", "Monat"), "STLAH": (stlah, STLAH[stlah][0]),
                     "WAM8": (goods, "Erdöl")}
        fields = ["51000", "Außenhandel", "JAHR", "Jahr", str(year)]
        for dim in dims:
            fields += [dim, dim.title(), *attribute[dim]]
        flow, measure, unit, label = CONTENT[content]
        fields += [text, unit, content, label, quality]
        lines.append(";".join(fields))
        factor = 1000.0 if measure == "value" else 1.0
        cells[(flow, STLAH[stlah][1], "CN" + goods[2:], pd.Timestamp(year, month, 1), measure)] = (
            number * factor, (sign_flag + quality) or None)
    rows = []
    for row_key in sorted({k[:4] for k in cells}, key=str):
        mass, value = cells.get((*row_key, "mass")), cells.get((*row_key, "value"))
        flag = (mass or value)[1]
        rows.append({"flow": row_key[0], "partner": row_key[1], "grade": row_key[2], "period": row_key[3],
                     "mass_t": mass[0] if mass else np.nan, "value": value[0] if value else np.nan,
                     "flag": flag})
    data = ("\ufeff" + "\n".join(lines) + "\n").encode("utf-8")
    return (zipped(data) if draw(st.booleans()) else data), pd.DataFrame(rows)


@fuzz(40)
@given(case=genesis_files())
def test_genesis_generated_files(case):
    data, expected = case
    frame = outcome(lambda: genesis.read(data, name="generated_flat.csv"), "generated_flat.csv")
    assert frame is not None
    key = ["flow", "partner", "grade", "period"]
    got = frame.sort_values(key).reset_index(drop=True)
    want = expected.sort_values(key).reset_index(drop=True)
    assert got[key].astype(str).values.tolist() == want[key].astype(str).values.tolist()
    for column in ("mass_t", "value"):
        np.testing.assert_allclose(got[column].to_numpy(float), want[column].to_numpy(float), rtol=1e-12)
    assert flags(got["flag"]) == flags(want["flag"])
    assert (got["product"] == "crude_oil").all() and (got["reporter"] == "DE").all()
    assert set(got.loc[got["value"].notna(), "currency"]) <= {"EUR"}


# == DG ENER COIR (dg_ener.read_coir: xlsx) =========================================================

COIR = FIX / "dg_ener" / "Crude_Oil_Imports_Reporting_Country_2013.xlsx"
COIR_NAME = "<bytes>"  # read_coir names bytes "<bytes>"


def small_sheet(sheet: str, blocks: int = 2) -> list[list[Any]]:
    """The title rows and the first `blocks` reporter blocks of a real sheet, with the 'World' row
    recomputed for them (its volume is the sum of the blocks' 'Sum:' rows) and the real footnote."""
    workbook = openpyxl.load_workbook(COIR, read_only=True)
    rows = [list(r) for r in workbook[sheet].iter_rows(values_only=True)]
    workbook.close()
    out, sums = [], []
    for row in rows:
        out.append(row)
        if row[3] == "Sum:":
            sums.append(row)
            if len(sums) == blocks:
                break
    volume = sum(r[4] for r in sums)
    value = sum(r[5] for r in sums if isinstance(r[5], int | float))
    out += [[None, "World", None, None, volume, value, value / volume, 1.0], [None] * 8, rows[-2]]
    return out


COIR_SHEETS = {sheet: small_sheet(sheet) for sheet in
               ("EU COI - Jan", "EU COI - Feb", "Detailed Crude Oil Imports - cu")}


def workbook_bytes(sheets: dict[str, list[list[Any]]]) -> bytes:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


COIR_CELLS = st.sampled_from([
    None, "", " ", "abc", 0, -5.0, 0.001, 1e308, -1e308, "nan", "inf", "1_000", "(3)", "(1)", "(3) ", "Sum:",
    "sum", "World", True, "1,234.5", "12e3", "Austria", "Belgium", "Atlantis", "Kazakhstan", "Abu Dhabi",
    "Reporting Country", "Country of Origin", "#N/A", "Jan - 2013", "Feb - 2013", "1-12/2013", "Jan - 2019",
    "1-6/2013", 10**20, "_x000D_", "EU COI - Jan",
]) | st.floats(-1e6, 1e6, allow_nan=False)
COIR_OPS = st.one_of(
    st.tuples(st.just("cell"), UNIT, UNIT, UNIT, COIR_CELLS),
    st.tuples(st.just("copy_cell"), UNIT, UNIT, UNIT, UNIT, UNIT),
    st.tuples(st.just("del_row"), UNIT, UNIT),
    st.tuples(st.just("dup_row"), UNIT, UNIT),
    st.tuples(st.just("swap_rows"), UNIT, UNIT, UNIT),
    st.tuples(st.just("rename"), UNIT, st.sampled_from([
        "EU COI - Jan", "EU COI - Feb", "EU COI - Mar", "EU COI - Sept", "EU COI - Foo", "EU COI - Janu",
        "Detailed Crude Oil Imports - cu", "Sheet1", "eu coi - jan"])),
)


def apply_coir_ops(sheets: dict[str, list[list[Any]]], ops: list[tuple]) -> dict[str, list[list[Any]]]:
    """Cell, row and sheet-name mutations of a small register workbook (held as lists of rows)."""
    sheets = {title: [list(r) for r in rows] for title, rows in sheets.items()}
    for op in ops:
        titles = list(sheets)
        rows = sheets[titles[at(titles, op[1])]]
        kind = op[0]
        if kind == "cell" and rows:
            row = rows[at(rows, op[2])]
            row[at(row, op[3])] = op[4]
        elif kind == "copy_cell" and rows:
            source = rows[at(rows, op[4])]
            row = rows[at(rows, op[2])]
            row[at(row, op[3])] = source[at(source, op[5])]
        elif kind == "del_row" and rows:
            del rows[at(rows, op[2])]
        elif kind == "dup_row" and rows:
            i = at(rows, op[2])
            rows.insert(i, list(rows[i]))
        elif kind == "swap_rows" and rows:
            i, j = at(rows, op[2]), at(rows, op[3])
            rows[i], rows[j] = rows[j], rows[i]
        elif kind == "rename" and op[2] not in sheets:
            sheets = {op[2] if t == titles[at(titles, op[1])] else t: r for t, r in sheets.items()}
    return sheets


def check_coir_frame(frame: pd.DataFrame, sheets: dict[str, list[list[Any]]]) -> None:
    """No more rows than table rows; a confidential '(3)' value is null, never 0; volumes are cells."""
    table_rows = sum(1 for rows in sheets.values() for r in rows if any(c is not None for c in r[2:7]))
    assert len(frame) <= table_rows
    hidden = frame["flag"] == dg_ener.VALUE_CONFIDENTIAL
    assert frame.loc[hidden, "value"].isna().all() and frame.loc[hidden, "price_per_bbl"].isna().all()
    numbers = {float(c) for rows in sheets.values() for r in rows for c in r
               if isinstance(c, int | float) and not isinstance(c, bool)}
    numbers |= {float(c.replace(",", "")) for rows in sheets.values() for r in rows for c in r
                if isinstance(c, str) and c.replace(",", "").replace(".", "", 1).isdigit()}
    key = ["reporter", "partner", "grade", "freq", "period"]
    single = ~frame.duplicated(key, keep=False)  # summed duplicates are not cells
    in_input(frame.loc[single, "volume_bbl"], numbers | {0.0}, 1000.0)


@fuzz(80)
@given(choice=st.sampled_from([("EU COI - Jan",), ("EU COI - Jan", "EU COI - Feb"),
                               ("Detailed Crude Oil Imports - cu", "EU COI - Jan")]),
       ops=st.lists(COIR_OPS, min_size=1, max_size=3),
       sheets=st.sampled_from(["monthly", "annual", "all"]))
def test_coir_mutated_workbooks(choice, ops, sheets):
    mutated = apply_coir_ops({title: COIR_SHEETS[title] for title in choice}, ops)
    data = workbook_bytes(mutated)
    frame = outcome(lambda: dg_ener.read_coir(data, year=2013, sheets=sheets), COIR_NAME)
    if frame is not None:
        check_coir_frame(frame, mutated)


@pytest.fixture(scope="module")
def coir_small() -> bytes:
    return workbook_bytes({"EU COI - Jan": COIR_SHEETS["EU COI - Jan"]})


@fuzz(80)
@given(ops=st.lists(st.one_of(
    st.tuples(st.just("flip"), UNIT, st.integers(0, 7)), st.tuples(st.just("truncate"), UNIT),
    st.tuples(st.just("cut"), UNIT, st.integers(1, 300)),
    st.tuples(st.just("insert"), UNIT, st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("html"), st.booleans()), st.tuples(st.just("gzip"), st.floats(0.0, 1.0))),
    min_size=1, max_size=3))
def test_coir_zip_container_corruption(coir_small, ops):
    data = apply_byte_ops(coir_small, ops)
    frame = outcome(lambda: dg_ener.read_coir(data, year=2013), COIR_NAME)
    if frame is not None:
        check_coir_frame(frame, {"EU COI - Jan": COIR_SHEETS["EU COI - Jan"]})


# -- generated register workbooks: read_coir against hand-computed rows -----------------------------

#: Register names -> codes, written out here (the reader's tables are not used to build the answer).
REPORTERS = {"Austria": "AT", "Belgium": "BE", "Germany": "DE", "United Kingdom": "GB",
             "Czech Republic": "CZ"}
MONTH_SHEETS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sept", "Oct", "Nov", "Dec")
ORIGINS = {"Kazakhstan": "KZ", "Russian Federation": "RU", "Abu Dhabi": "AE", "Norway": "NO",
           "Other African Countries": "AFRICA", "Other FSU countries": "FSU"}


@st.composite
def registers(draw) -> tuple[bytes, pd.DataFrame]:
    """One monthly register sheet in the 2013-2017 layout and its canonical rows."""
    month = draw(st.integers(1, 12))
    reporters = draw(st.lists(st.sampled_from(sorted(REPORTERS)), min_size=1, max_size=3, unique=True))
    header = [None, "Reporting Country", "Country of Origin", "Type of crude oil", "Volume (1000 bbl)",
              "Total Value ($ 1000)", "CIF price (2) ($/bbl)", "% of Total Imports"]
    sheet: list[list[Any]] = [[None] * 8]
    rows, world = [], 0
    period = pd.Timestamp(2013, month, 1)
    for reporter in reporters:
        sheet.append(header)
        parts = draw(st.lists(st.sampled_from(sorted(ORIGINS)), min_size=1, max_size=4, unique=True))
        total_hundredths, hidden_any = 0, False
        for i, origin in enumerate(parts):
            hundredths = draw(st.integers(1, 10**7))  # volumes with two decimals, summed exactly
            volume = hundredths / 100
            hidden = draw(st.booleans())
            hidden_any |= hidden
            value = "(3)" if hidden else round(volume * draw(st.integers(20, 120)), 2)
            price = "(3)" if hidden else value / volume
            grade = f"{origin} Crude"
            sheet.append([None, reporter if i == 0 else None, origin, grade, volume, value, price, 0.1])
            total_hundredths += hundredths
            rows.append({"reporter": REPORTERS[reporter], "partner": ORIGINS[origin], "grade": grade,
                         "volume_bbl": volume * 1000, "value": np.nan if hidden else value * 1000,
                         "price_per_bbl": np.nan if hidden else price, "flag": "(3)" if hidden else None})
        total = total_hundredths / 100
        summed = "(3)" if hidden_any else 1.0
        sheet.append([None, reporter, None, "Sum:", total, summed, summed, 0.5])
        rows.append({"reporter": REPORTERS[reporter], "partner": "WORLD", "grade": None,
                     "volume_bbl": total * 1000, "value": np.nan if hidden_any else 1000.0,
                     "price_per_bbl": np.nan if hidden_any else 1.0,
                     "flag": "(3)" if hidden_any else None})
        world += total_hundredths
    sheet.append([None, "World", None, None, world / 100, 5.0, 2.5, 1.0])
    rows.append({"reporter": "EU28", "partner": "WORLD", "grade": None, "volume_bbl": world / 100 * 1000,
                 "value": 5000.0, "price_per_bbl": 2.5, "flag": None})
    # the earlier months must exist (no gap in the months): copies of this one
    months = {f"EU COI - {MONTH_SHEETS[m - 1]}": sheet for m in range(1, month + 1)}
    expected = pd.DataFrame(rows).assign(period=period)
    return workbook_bytes(months), expected


@fuzz(30)
@given(case=registers())
def test_coir_generated_registers(case):
    data, expected = case
    frame = outcome(lambda: dg_ener.read_coir(data, year=2013), COIR_NAME)
    assert frame is not None
    month = frame[frame["period"] == expected["period"].iloc[0]]
    key = ["reporter", "partner", "grade"]
    got = month.assign(grade=month["grade"].fillna("")).sort_values(key).reset_index(drop=True)
    want = expected.assign(grade=expected["grade"].fillna("")).sort_values(key).reset_index(drop=True)
    assert got[key].values.tolist() == want[key].values.tolist()
    for column in ("volume_bbl", "value", "price_per_bbl"):
        np.testing.assert_allclose(got[column].to_numpy(float), want[column].to_numpy(float), rtol=1e-9)
    assert flags(got["flag"]) == flags(want["flag"])
    assert (frame["freq"] == "M").all() and (frame["source"] == "dg_ener").all()


# == regressions: the minimal failing inputs the fuzzing found (docs/_reliability_inputs.md) ======


def typed(call: Callable[[], Any], name: str, field: str) -> SourceFormatError:
    """`call()` raises SourceFormatError naming the file `name` and the field `field`."""
    with pytest.raises(SourceFormatError) as info:
        call()
    message = str(info.value)
    assert name in message and (f"[{field}" in message if field else True), message
    return info.value


def tiny_cube(**changes: Any) -> dict:
    """A 1 x 2 JSON-stat cube (geo DE, time 2023-01/02), values 1 and 2, with `changes` applied."""
    doc = {"version": "2.0", "class": "dataset", "id": ["geo", "time"], "size": [1, 2],
           "dimension": {"geo": {"category": {"index": {"DE": 0}}},
                         "time": {"category": {"index": {"2023-01": 0, "2023-02": 1}}}},
           "value": {"0": 1, "1": 2}}
    doc.update(changes)
    return doc


def parse_text(text: str) -> Callable[[], Any]:
    return lambda: jsonstat.parse(text.encode(), "cube.json")


def test_jsonstat_regressions():
    cube = tiny_cube()
    assert jsonstat.parse(cube, "cube.json")[0]["value"].tolist() == [1.0, 2.0]
    typed(lambda: jsonstat.parse(tiny_cube(size=[None, 2]), "cube.json"), "cube.json", "size")  # TypeError
    typed(lambda: jsonstat.parse(tiny_cube(id=5), "cube.json"), "cube.json", "id")  # TypeError
    bad_dim = tiny_cube(dimension={"geo": "DE", "time": cube["dimension"]["time"]})
    typed(lambda: jsonstat.parse(bad_dim, "cube.json"), "cube.json", "dimension.geo")  # AttributeError
    bad_index = tiny_cube(dimension={"geo": {"category": {"index": {"DE": 5}}},
                                     "time": cube["dimension"]["time"]})
    typed(lambda: jsonstat.parse(bad_index, "cube.json"), "cube.json", "dimension.geo")  # IndexError
    ids = [f"d{i}" for i in range(70)]  # numpy's unravel_index stops at 64 dimensions (ValueError)
    many = {"id": ids, "size": [1] * 70, "value": [7.0],
            "dimension": {d: {"category": {"index": ["X"]}} for d in ids}}
    assert jsonstat.parse(many, "many.json")[0]["value"].tolist() == [7.0]
    typed(lambda: jsonstat.parse(tiny_cube(value=[1]), "cube.json"), "cube.json", "value")  # silently short
    typed(lambda: jsonstat.parse(tiny_cube(value={"0": "x", "1": 2}), "cube.json"), "cube.json", "value")
    typed(lambda: jsonstat.parse(tiny_cube(value={"0": True}), "cube.json"), "cube.json", "value")  # was 1.0
    typed(lambda: jsonstat.parse(tiny_cube(value={"0": 5.0}, status={"0": "c"}), "cube.json"), "cube.json",
          "status")  # a confidential cell with a number
    typed(lambda: jsonstat.parse(tiny_cube(value={"1": 1, "01": 2}), "cube.json"), "cube.json", "value")
    dup_codes = tiny_cube(dimension={"geo": {"category": {"index": ["DE"]}},
                                     "time": {"category": {"index": ["2023-01", "2023-01"]}}})
    typed(lambda: jsonstat.parse(dup_codes, "cube.json"), "cube.json", "dimension.time")
    twice = dump(Pairs([*tiny_cube().items(), ("value", {"0": 99, "1": 98})]))  # json.loads kept the last
    typed(parse_text(twice), "cube.json", "value")
    typed(parse_text(dump(tiny_cube()).replace('"0": 1', '"0": NaN')), "cube.json", "")  # NaN literal
    typed(parse_text(dump(tiny_cube()).replace('"0": 1', '"0": 1e400')), "cube.json", "value")  # inf
    typed(parse_text("[" * 100_000), "cube.json", "")  # RecursionError
    typed(lambda: jsonstat.parse(tiny_cube(updated="now"), "cube.json"), "cube.json", "updated")  # clock time
    typed(lambda: jsonstat.parse(tiny_cube(extension="x"), "cube.json"), "cube.json", "extension")


def oilm_text(**changes: Any) -> bytes:
    doc = json.loads((FIX / "eurostat" / "nrg_ti_oilm_jsonstat.json").read_bytes())
    doc.update(changes)
    return json.dumps(doc).encode()


def test_eurostat_jsonstat_regressions():
    assert len(eurostat.read(oilm_text(), name="oilm.json")) == 16  # 15 values, 2 statuses, 1 shared
    typed(lambda: eurostat.read(oilm_text(extension="x"), name="oilm.json"), "oilm.json", "extension")
    typed(lambda: eurostat.read(oilm_text(extension={"id": ["x"]}), name="oilm.json"), "oilm.json",
          "extension.id")
    typed(lambda: eurostat.read(oilm_text(updated="today"), name="oilm.json"), "oilm.json", "updated")
    typed(lambda: eurostat.read(oilm_text(value={"1": 1e308}), name="oilm.json"), "oilm.json", "value")


def comtrade_text(**changes: Any) -> bytes:
    doc = json.loads((FIX / "comtrade" / "comtrade_data_v1_get_C_A_HS_china_annual.json").read_bytes())
    doc["data"][0].update(changes)
    return json.dumps(doc).encode()


def test_comtrade_regressions():
    assert len(comtrade.read(comtrade_text(), name="ct.json")) == 4  # 4 total records
    typed(lambda: comtrade.read(comtrade_text(typeCode=None), name="ct.json"), "ct.json", "typeCode")
    typed(lambda: comtrade.read(comtrade_text(cmdCode=None), name="ct.json"), "ct.json", "cmdCode")
    typed(lambda: comtrade.read(comtrade_text(period="0000", refYear=0), name="ct.json"), "ct.json", "period")
    typed(lambda: comtrade.read(comtrade_text(primaryValue=True), name="ct.json"), "ct.json", "primaryValue")
    typed(lambda: comtrade.read(comtrade_text(netWgt="1e400"), name="ct.json"), "ct.json", "netWgt")
    typed(lambda: comtrade.read(comtrade_text(qty=10**400), name="ct.json"), "ct.json", "qty")  # new code
    typed(lambda: comtrade.read(comtrade_text(refYear="abc"), name="ct.json"), "ct.json", "refYear")
    nan = comtrade_text().replace(b'"netWgt": null', b'"netWgt": NaN', 1)  # json.loads took NaN
    assert nan != comtrade_text()
    typed(lambda: comtrade.read(nan, name="ct.json"), "ct.json", "")
    twice = comtrade_text().replace(b'"primaryValue": ', b'"primaryValue": 1.0, "primaryValue": ', 1)
    typed(lambda: comtrade.read(twice, name="ct.json"), "ct.json", "primaryValue")  # the last one won
    one = json.dumps({"count": True, "data": [json.loads(comtrade_text())["data"][0]], "error": ""}).encode()
    typed(lambda: comtrade.read(one, name="ct.json"), "ct.json", "count")


def genesis_text(old: str, new: str) -> bytes:
    text = (FIX / "genesis" / "51000-0017_2023-01_de_flat.csv").read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1).encode("utf-8")


def test_genesis_regressions():
    original = (FIX / "genesis" / "51000-0017_2023-01_de_flat.csv").read_bytes()
    assert len(genesis.read(original, name="g.csv")) > 0
    typed(lambda: genesis.read(genesis_text(";Jahr;2023;", ";Jahr;0000;"), name="g.csv"), "g.csv", "time")
    typed(lambda: genesis.read(genesis_text(";928000,0;", ";" + "9" * 400 + ";"), name="g.csv"), "g.csv",
          "value")
    specials = (FIX / "genesis" / "51000-0017_2023-07_specials_de_flat.csv").read_bytes()
    bme = next(line for line in specials.split(b"\n") if b";BME;" in line)
    twice = specials + bme + b"\n"  # a cell of a dropped content (BME), given twice
    typed(lambda: genesis.read(twice, name="g.csv"), "g.csv", "value")
    archive = zipped(original)
    real = (FIX / "genesis" / "genesis_ffcsv_new_61111-0001_de_flat.zip").read_bytes()
    no_line = apply_byte_ops(real, [("del_line", 1)])  # zipfile raised ValueError: negative seek value
    typed(lambda: genesis.parse_ffcsv(no_line, name="g.zip"), "g.zip", "")
    renamed = bytearray(archive)
    renamed[archive.rindex(b"PK\x01\x02") + 46] ^= 0x01  # the central directory's file name
    typed(lambda: genesis.read(bytes(renamed), name="g.zip"), "g.zip", "")


def test_coir_regressions():
    base = {"EU COI - Jan": COIR_SHEETS["EU COI - Jan"]}
    assert len(dg_ener.read_coir(workbook_bytes(base), year=2013)) > 0
    row = next(i for i, r in enumerate(base["EU COI - Jan"]) if r[2] == "Kazakhstan")
    for cell, column in (("nan", 4), ("inf", 4), (1e308, 5)):
        sheets = apply_coir_ops(base, [("cell", 0, row, column, cell)])
        error = typed(lambda s=sheets: dg_ener.read_coir(workbook_bytes(s), year=2013), "<bytes>",
                      "EU COI - Jan")
        assert "not a number" in str(error)
    for column in (5, 6):  # "(3)" in the value or in the price only: the other one would reveal it
        sheets = apply_coir_ops(base, [("cell", 0, row, column, "(3)")])
        frame = dg_ener.read_coir(workbook_bytes(sheets), year=2013)
        kz = frame[(frame["grade"] == "Kazakhstan Crude") & (frame["reporter"] == "AT")]
        assert len(kz) == 1 and kz["flag"].tolist() == ["(3)"]
        assert kz["value"].isna().all() and kz["price_per_bbl"].isna().all()  # the price was kept
        assert kz["volume_bbl"].tolist() == [pytest.approx(1_215_870.0)]  # the volume is published


def test_impossible_periods_are_refused_by_every_reader():
    """Month 13, month 0, year 0, February 30 and a period of the other frequency, in each format."""
    for code in ("2023-13", "2023-00", "0000-01", "2021-02-30", "2023", "2023-Q1"):
        doc = json.loads((FIX / "eurostat" / "nrg_ti_oilm_jsonstat.json").read_bytes())
        index = doc["dimension"]["time"]["category"]["index"]
        doc["dimension"]["time"]["category"]["index"] = {code if k == "2023-02" else k: v
                                                         for k, v in index.items()}
        typed(lambda d=doc: eurostat.read(json.dumps(d).encode(), name="oilm.json"), "oilm.json",
              "TIME_PERIOD")
    for changes in ({"period": "201013"}, {"period": "201000"}, {"period": "0000"}, {"freqCode": "M"},
                    {"period": "2010", "refMonth": 3}):
        typed(lambda c=changes: comtrade.read(comtrade_text(**c), name="ct.json"), "ct.json", "")
    for old, new, field in ((";MONAT01;", ";MONAT13;", "MONAT"), (";MONAT01;", ";MONAT00;", "MONAT"),
                            (";Jahr;2023;", ";Jahr;0000;", "time"),
                            (";Jahr;2023;", ";Jahr;2023-02;", "time")):
        typed(lambda o=old, n=new: genesis.read(genesis_text(o, n), name="g.csv"), "g.csv", field)
    stamp = [[None, "Feb - 2013"], *COIR_SHEETS["EU COI - Jan"][1:]]  # a February stamp on the January sheet
    typed(lambda: dg_ener.read_coir(workbook_bytes({"EU COI - Jan": stamp}), year=2013), "<bytes>",
          "EU COI - Jan")


# == hostile inputs (issue 12, readers): long integers, quality marks, bombs, wide headers, long lines ==

BULK_HEADER = (FIX / "comext" / "full_v2_202402_sample.csv").read_text().splitlines()[0]
BULK_ROW = "DE,KZ,E,27090090,33300,0610,0610,31,111000,05,1,1,NO_SU,202402,100,100,200,0"


@fuzz(60)
@given(reader=st.sampled_from(["comtrade", "jsonstat"]), seed=UNIT, path=PATH,
       digits=st.integers(300, 6000), negative=st.booleans())
def test_json_readers_with_long_integers(reader, seed, path, digits, negative):
    """Any value of a real body replaced by an integer of 300-6,000 digits: a frame or a typed error
    (Python's int() raised an untyped ValueError past 4,300 digits)."""
    seeds_, name = ((COMTRADE_SEEDS, COMTRADE_NAME) if reader == "comtrade"
                    else (JSONSTAT_SEEDS, JSONSTAT_NAME))
    text = apply_json_ops(seeds_[seed % len(seeds_)], [("replace", path, "@@BIG@@")])
    text = text.replace('"@@BIG@@"', "-" * negative + "7" * digits).encode()
    module = comtrade if reader == "comtrade" else eurostat
    frame = outcome(lambda: module.read(text, name=name), name)
    if digits > 320 and b"7" * digits in text:
        assert frame is None  # never read as a number


@fuzz(60)
@given(seed=st.sampled_from([0, 1]), line=UNIT,
       mark=st.text(alphabet="cepxrsCE.-/ ", max_size=3))
def test_genesis_quality_marks(seed, line, mark):
    """Any quality mark in any data line: a frame that passes validate (known marks only) or a typed
    error (the mark ``xc`` gave a frame that failed validate)."""
    lines = GENESIS_SEEDS[seed].split(b"\n")
    body = [i for i, text in enumerate(lines) if i > 0 and text.strip()]
    fields = lines[body[line % len(body)]].split(b";")
    fields[-1] = mark.encode()
    lines[body[line % len(body)]] = b";".join(fields)
    frame = outcome(lambda: genesis.read(b"\n".join(lines), name=GENESIS_NAME), GENESIS_NAME)
    if frame is not None:
        assert mark.strip() in {"", *genesis.QUALITY_MARKS}


@fuzz(20)
@given(reader=st.sampled_from(["genesis", "comtrade", "eurostat", "comext"]),
       content=st.sampled_from([b"\0", b"\n", b"a;b;c\n", b"{"]), megabytes=st.integers(1, 6))
def test_compression_bombs(reader, content, megabytes):
    """Highly compressible gzip bodies of 1-6 MB: a typed error, and past the ratio limit (200:1 above
    1 MiB) a DecompressionLimitError before more than that is inflated."""
    from oilflows import _io
    from oilflows.errors import DecompressionLimitError
    from oilflows.sources import comext

    body = content * (megabytes * 1_000_000 // len(content))
    data = gzip.compress(body, mtime=0)
    module = {"genesis": genesis, "comtrade": comtrade, "eurostat": eurostat, "comext": comext}[reader]
    name = f"bomb-{reader}.gz"
    try:
        frame = module.read(data, name=name)
    except SourceFormatError as exc:
        assert name in str(exc)
        if len(body) > _io.ratio_cap(len(data)):
            assert isinstance(exc, DecompressionLimitError), exc
        return
    raise AssertionError(f"a frame of {len(frame)} rows from {content!r} * {megabytes} MB")


@fuzz(20)
@given(extra=st.integers(0, 20_000), duplicate=st.booleans(), position=UNIT)
def test_genesis_wide_headers(extra, duplicate, position):
    """A real header widened by up to 20,000 columns (junk or duplicates) at any position."""
    lines = GENESIS_SEEDS[0].split(b"\n")
    header = lines[0].split(b";")
    names = [header[i % len(header)] if duplicate else b"junk%d" % i for i in range(extra)]
    at_ = position % (len(header) + 1)
    lines[0] = b";".join(header[:at_] + names + header[at_:])
    frame = outcome(lambda: genesis.read(b"\n".join(lines), name=GENESIS_NAME), GENESIS_NAME)
    assert frame is not None or extra > 0 or duplicate


@fuzz(40)
@given(parts=st.lists(st.one_of(st.just(("row", 0)), st.just(("blank", 0)),
                                st.tuples(st.just("long"), st.integers(1, 40_000))), max_size=8),
       chunk_rows=st.sampled_from([1, 7, 250_000]))
def test_bulk_files_with_blank_and_long_lines(parts, chunk_rows):
    """Comext bulk lines: valid rows, blank lines and rows with one long cell. A frame only if some
    line is data and none is longer than MAX_LINE_BYTES; else a typed error naming the file."""
    import tempfile

    from oilflows.sources import _comext_stream, comext

    lines = [BULK_HEADER]
    for kind, size in parts:
        lines.append(BULK_ROW if kind == "row" else "" if kind == "blank"
                     else BULK_ROW.replace("NO_SU", "X" * size))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "full_202402.dat"
        path.write_text("\n".join(lines) + "\n")
        frame = outcome(lambda: comext.read_bulk(path, chunk_rows=chunk_rows), str(path))
    too_long = any(len(line) > _comext_stream.MAX_LINE_BYTES for line in lines)
    no_data = not any(kind != "blank" for kind, _ in parts)
    assert (frame is None) == (too_long or no_data)
