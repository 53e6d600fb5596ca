"""One frame's walk from reader to report crosses each layer once, downwards (issue 14).

The package's data flow is one way: source -> reader -> canonical frame -> store -> analytics ->
report. The static tests (tests/test_package.py, tests/test_report.py) check what each module
*imports*; this one checks what actually *runs*: while a real Eurostat file is read, written to a
store, read back and rendered as a report, every call from one oilflows module into another is
recorded (with the nearest oilflows frame on the stack as the caller, so callbacks through pandas
count), each module is mapped to its layer, and an edge that goes back up (analytics calling the
store, the store calling a reader, a reader calling analytics, anything calling the report) fails.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from types import FrameType

import pytest

import oilflows
from oilflows.sources import eurostat

PACKAGE = Path(oilflows.__file__).resolve().parent
#: Which other layers each layer may call (besides itself and "common"). The report/CLI layer is the
#: top: it reads the store and runs analytics. Readers, the store and analytics call only shared code.
CALLS: dict[str, set[str]] = {"report": {"analytics", "store", "sources"}, "analytics": set(),
                              "store": set(), "sources": set(), "common": set()}


def layer(module: str) -> str:
    """The layer of an ``oilflows`` module name (``common`` for shared vocabulary and plumbing)."""
    parts = module.split(".")
    head = parts[1] if len(parts) > 1 else ""
    if head in ("report", "cli", "__main__"):
        return "report"
    if head == "analytics":
        return "analytics"
    if head.startswith("store") or head in ("_durable", "filters"):
        return "store"
    if head in ("sources", "formats"):
        return "sources"
    return "common"  # schema, codes, frames, units, errors, _io, http, routes, default, ...


def allowed(caller: str, callee: str) -> bool:
    """Whether a call from layer `caller` into layer `callee` keeps the one-way flow."""
    return callee == "common" or caller == callee or callee in CALLS[caller]


def _module_of(frame: FrameType) -> str | None:
    filename = frame.f_code.co_filename
    try:
        relative = Path(filename).resolve().relative_to(PACKAGE)
    except ValueError:
        return None
    parts = list(relative.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(["oilflows", *parts])


class EdgeRecorder:
    """A ``sys.setprofile`` hook that counts (caller module, callee module) pairs of oilflows code."""

    def __init__(self) -> None:
        self.edges: Counter[tuple[str, str]] = Counter()
        self._prefix = str(PACKAGE)
        self._cache: dict[str, str | None] = {}

    def _module(self, frame: FrameType) -> str | None:
        filename = frame.f_code.co_filename
        if filename not in self._cache:
            self._cache[filename] = _module_of(frame) if filename.startswith(self._prefix) else None
        return self._cache[filename]

    def __call__(self, frame: FrameType, event: str, arg: object) -> None:
        if event != "call":
            return
        callee = self._module(frame)
        if callee is None:
            return
        back = frame.f_back
        while back is not None:
            caller = self._module(back)
            if caller is not None:
                if caller != callee:
                    self.edges[(caller, callee)] += 1
                return
            back = back.f_back


def test_layer_rules_can_fail() -> None:
    """The rules themselves: upward and sideways calls are refused, downward ones allowed."""
    assert layer("oilflows.analytics.bounds") == "analytics"
    assert layer("oilflows.store") == layer("oilflows.store.manifest") == "store"
    assert layer("oilflows._durable") == "store"
    assert layer("oilflows.sources._genesis_parse") == layer("oilflows.formats.sdmx_csv") == "sources"
    assert layer("oilflows.schema") == "common"
    assert allowed("report", "analytics") and allowed("store", "common") and allowed("sources", "common")
    assert not allowed("analytics", "store")
    assert not allowed("analytics", "sources")
    assert not allowed("store", "sources")
    assert not allowed("store", "analytics")
    assert not allowed("sources", "analytics")
    assert not allowed("common", "store")
    assert not allowed("analytics", "report")


def test_one_frame_from_reader_to_report_crosses_each_layer_once(fixtures_dir: Path, tmp_path: Path) -> None:
    from oilflows.report import build_report

    recorder = EdgeRecorder()
    sys.setprofile(recorder)
    try:
        frame = eurostat.read(fixtures_dir / "eurostat" / "nrg_ti_coifpm_DE_KZ_RU.csv.gz")
        store = oilflows.Store(tmp_path / "store")
        store.write(frame)
        back = store.read(reporter="DE")
        report = build_report(back, "DE", "RU", "KZ")
        text = report.text()
    finally:
        sys.setprofile(None)
    assert "KZ" in text and len(back) == (frame["reporter"] == "DE").sum() > 0

    layers_seen = {layer(m) for edge in recorder.edges for m in edge}
    assert {"sources", "store", "analytics", "report"} <= layers_seen, layers_seen
    wrong = sorted(f"{a} -> {b} ({n} calls)" for (a, b), n in recorder.edges.items()
                   if not allowed(layer(a), layer(b)))
    assert not wrong, "calls against the one-way flow:\n" + "\n".join(wrong)


def test_the_recorder_sees_an_upward_call(tmp_path: Path) -> None:
    """A deliberately wrong edge (common code calling the store) is caught: the check can fail."""
    import oilflows.schema as schema

    recorder = EdgeRecorder()

    def upward() -> None:
        oilflows.Store(tmp_path / "s")  # "called from" a common module, see below

    # Make the callback look like code of oilflows.schema (a common module) to the recorder.
    upward.__code__ = upward.__code__.replace(co_filename=schema.__file__)
    sys.setprofile(recorder)
    try:
        upward()
    finally:
        sys.setprofile(None)
    assert any(layer(a) == "common" and layer(b) == "store" for a, b in recorder.edges), recorder.edges
    assert any(not allowed(layer(a), layer(b)) for a, b in recorder.edges)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
