"""Long modules split into a public module and private parts (issue 14): the parts never import the public
module, the imports among them form no cycle, and a frame read (or a request sent) passes each module
once: no call goes from a part back to the public module, and no two modules call each other."""

from __future__ import annotations

import ast
import sys
from collections import Counter
from pathlib import Path
from types import FrameType

import pytest

import oilflows
from oilflows import http
from oilflows.sources import comext, comtrade, genesis

PACKAGE = Path(oilflows.__file__).resolve().parent
#: Public module -> the glob of its private parts (relative to the package).
SPLIT: dict[str, str] = {
    "oilflows.http": "_http_*.py",
    "oilflows.sources.genesis": "sources/_genesis_*.py",
    "oilflows.sources.comext": "sources/_comext_*.py",
    "oilflows.sources.comtrade": "sources/_comtrade_*.py",
}


def _name(path: Path) -> str:
    return ".".join(["oilflows", *path.relative_to(PACKAGE).with_suffix("").parts])


def _imports(path: Path) -> set[str]:
    """Every oilflows module `path` imports (at any level of its code), relative imports resolved; a
    ``from package import name`` counts as an import of ``package.name`` too."""
    package = _name(path).rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "oilflows" or name.startswith("oilflows.")}


MODULES: dict[str, Path] = {}
for _public, _glob in SPLIT.items():
    MODULES[_public] = PACKAGE / (_public.removeprefix("oilflows.").replace(".", "/") + ".py")
    MODULES.update({_name(part): part for part in sorted(PACKAGE.glob(_glob))})


@pytest.mark.parametrize("public", sorted(SPLIT))
def test_parts_never_import_their_public_module(public: str) -> None:
    parts = sorted(PACKAGE.glob(SPLIT[public]))
    assert len(parts) >= 3, f"{public}: expected its parts under {SPLIT[public]}"
    back = [_name(part) for part in parts if public in _imports(part)]
    assert not back, f"parts importing {public}: {back}"


def test_no_import_cycle_among_the_split_modules() -> None:
    graph = {name: _imports(path) & set(MODULES) - {name} for name, path in MODULES.items()}
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for other in sorted(graph[name]):
            if state.get(other) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*trail, name, other]))
            if other not in state:
                visit(other, [*trail, name])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])


class _Calls:
    """A ``sys.setprofile`` hook counting (caller module, callee module) pairs among :data:`MODULES`."""

    def __init__(self) -> None:
        self.edges: Counter[tuple[str, str]] = Counter()
        self._files = {str(path.resolve()): name for name, path in MODULES.items()}

    def __call__(self, frame: FrameType, event: str, arg: object) -> None:
        if event != "call":
            return
        callee = self._files.get(frame.f_code.co_filename)
        back = frame.f_back
        if callee is None or back is None:
            return
        caller = self._files.get(back.f_code.co_filename)
        if caller is not None and caller != callee:
            self.edges[(caller, callee)] += 1


def _walk(action) -> Counter[tuple[str, str]]:
    calls = _Calls()
    sys.setprofile(calls)
    try:
        action()
    finally:
        sys.setprofile(None)
    return calls.edges


def _check_one_way(edges: Counter[tuple[str, str]], public: str) -> None:
    assert any(a == public for a, _ in edges), f"{public} called none of its parts: {edges}"
    back = sorted(f"{a} -> {b}" for a, b in edges if b == public)
    assert not back, "calls from a part back to the public module: " + ", ".join(back)
    both = sorted(f"{a} <-> {b}" for a, b in edges if (b, a) in edges)
    assert not both, "modules calling each other: " + ", ".join(both)


def test_a_genesis_frame_passes_each_module_once(fixtures_dir: Path) -> None:
    src = fixtures_dir / "genesis" / "51000-0017_2023-01_de_flat.zip"
    frames: list = []
    edges = _walk(lambda: frames.append(genesis.read(src)))
    assert len(frames[0]) > 0
    _check_one_way(edges, "oilflows.sources.genesis")
    assert {("oilflows.sources.genesis", "oilflows.sources._genesis_parse"),
            ("oilflows.sources.genesis", "oilflows.sources._genesis_canonical")} <= set(edges)


def test_a_comext_frame_passes_each_module_once(fixtures_dir: Path) -> None:
    frames: list = []

    def both() -> None:
        frames.append(comext.read(fixtures_dir / "comext" / "ds045409_DE_KZ_RU_2709_M.csv"))
        frames.append(comext.read_bulk(fixtures_dir / "comext" / "full_v2_202402_sample.csv"))

    edges = _walk(both)
    assert all(len(frame) > 0 for frame in frames)
    _check_one_way(edges, "oilflows.sources.comext")


def test_a_comtrade_frame_passes_each_module_once(fixtures_dir: Path) -> None:
    src = fixtures_dir / "comtrade" / "comtrade_data_v1_get_C_A_HS_china_annual.json"
    frames: list = []
    edges = _walk(lambda: frames.append(comtrade.read(src)))
    assert len(frames[0]) > 0
    _check_one_way(edges, "oilflows.sources.comtrade")


def test_a_request_passes_each_http_module_once(mocked_responses) -> None:
    mocked_responses.get("https://example.org/data", body=b"a,b\n1,2\n", status=200)
    answers: list = []
    edges = _walk(lambda: answers.append(http.get("https://example.org/data", params={"x": "1"})))
    assert answers[0].content == b"a,b\n1,2\n"
    _check_one_way(edges, "oilflows.http")
