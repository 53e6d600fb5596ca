"""Issue 14: the store package has no import circle (checked on the source with ``ast``), and the old
module paths keep working, with a DeprecationWarning, for one minor release."""

from __future__ import annotations

import ast
import importlib
import sys
import warnings
from pathlib import Path

import pytest

import oilflows

PACKAGE_DIR = Path(oilflows.__file__).parent


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Every module of the package under `root`: dotted name -> file."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join([package, *parts])] = path
    return found


def _top_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Import statements that run when the module is imported: in its body, and inside top-level
    ``if``/``try``/``with`` blocks (``if TYPE_CHECKING:`` too: a circle there is still a circle
    for a type checker and for a reader), never inside functions or classes."""
    found: list[ast.Import | ast.ImportFrom] = []
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop(0)
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If | ast.Try | ast.With):
            for field in ("body", "orelse", "finalbody", "handlers"):
                for child in getattr(node, field, []):
                    pending.extend(child.body if isinstance(child, ast.ExceptHandler) else [child])
    return found


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module -> the package's modules it imports at module level.

    ``from . import x`` counts as importing submodule ``x`` (when it is one); an import of a module's
    own ancestor package is left out (the parent is always initialised before its child)."""
    modules = module_names(root, package)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        here = name if is_package else name.rpartition(".")[0]
        ancestors = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
        for node in _top_level_imports(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    base = here.split(".")
                    base = base[:len(base) - (node.level - 1)]
                    origin = ".".join(base + ([node.module] if node.module else []))
                else:
                    origin = node.module or ""
                targets = [origin] + [f"{origin}.{alias.name}" for alias in node.names]
            for target in targets:
                if target in modules and target != name and target not in ancestors:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


STORE_MODULES = ("oilflows.store", "oilflows.store_check", "oilflows.store_manifest", "oilflows.filters")


def _is_store(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in STORE_MODULES)


def test_the_graph_finds_a_planted_circle(tmp_path: Path) -> None:
    """The checker itself: two modules importing each other (one through ``from . import``, one
    under ``if TYPE_CHECKING``) are a circle; an import inside a function is not."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .sub import core\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "core.py").write_text("from . import check\n")
    (pkg / "sub" / "check.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .core import X\n")
    (pkg / "sub" / "lazy.py").write_text("def f():\n    from . import core\n")
    graph = import_graph(pkg, "pkg")
    assert graph["pkg.sub.core"] == {"pkg.sub.check"}
    assert graph["pkg.sub.lazy"] == set()
    assert cycles(graph) == [["pkg.sub.check", "pkg.sub.core"]]
    (pkg / "sub" / "check.py").write_text("import os\n")
    assert cycles(import_graph(pkg, "pkg")) == []


def test_the_store_modules_import_no_circle() -> None:
    graph = import_graph(PACKAGE_DIR, "oilflows")
    assert {"oilflows.store.core", "oilflows.store.check", "oilflows.store.layout"} <= set(graph)
    assert "oilflows.store.check" in graph["oilflows.store.core"]  # the graph sees real edges
    store_cycles = [c for c in cycles(graph) if any(_is_store(m) for m in c)]
    assert store_cycles == []


def test_the_whole_package_imports_no_circle() -> None:
    """No module of oilflows is in an import circle at module level (imports inside functions,
    which run later, are not counted)."""
    assert cycles(import_graph(PACKAGE_DIR, "oilflows")) == []


def test_no_module_of_oilflows_imports_the_deprecated_paths() -> None:
    graph = import_graph(PACKAGE_DIR, "oilflows")
    old = {"oilflows.store_check", "oilflows.store_manifest", "oilflows.filters"}
    users = {name: sorted(graph[name] & old) for name in graph if graph[name] & old}
    assert users == {}
    for path in PACKAGE_DIR.rglob("*.py"):  # lazy imports inside functions too
        text = path.read_text(encoding="utf-8")
        if path.stem in {"store_check", "store_manifest", "filters"} and path.parent == PACKAGE_DIR:
            continue
        for name in ("store_check", "store_manifest", "_durable", "from .. import filters",
                     "from . import filters", "from .filters", "from ..filters"):
            if name in text and not path.is_relative_to(PACKAGE_DIR / "store"):
                pytest.fail(f"{path} names the old module path {name!r}")


@pytest.mark.parametrize(("old", "new"), [("oilflows.store_check", "oilflows.store.check"),
                                          ("oilflows.store_manifest", "oilflows.store.manifest"),
                                          ("oilflows.filters", "oilflows.store.filters")])
def test_old_module_paths_warn_and_re_export(old: str, new: str) -> None:
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=new.replace(".", r"\.")):
        shim = importlib.import_module(old)
    target = importlib.import_module(new)
    for name in target.__all__:
        assert getattr(shim, name) is getattr(target, name)
    sys.modules.pop(old, None)


def test_the_store_package_keeps_its_public_names() -> None:
    import oilflows.store as store

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # importing the package itself warns about nothing
        importlib.reload(store)
    old_all = ["DATA_DIR", "DATA_FILE", "FILE_SCHEMA", "INTERNAL_DIRS", "LOCK_FILE", "MAX_CODE_LENGTH",
               "PARTITIONS", "PARTITION_SCHEMA", "QUARANTINE_DIR", "RETIRED_FLAG", "RETIRED_SUFFIX",
               "ROW_GROUP_ROWS", "SCOPE_COLUMNS", "VINTAGE_DIR", "Store", "WriteSummary",
               "check_codes", "check_layout", "default_path", "is_code", "is_key", "key_of",
               "links_between", "load_manifest", "partition_key", "partition_values",
               "publish_partition", "release_scope", "require_no_links"]
    assert set(old_all) <= set(store.__all__)
    for name in old_all:
        assert getattr(store, name) is not None
    assert store.Store is oilflows.Store
