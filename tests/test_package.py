"""oilflows as a dependency: py.typed ships, the errors and the refresh module are importable, every
public module declares ``__all__`` (and its names exist), and the public API is annotated."""

from __future__ import annotations

import ast
import importlib
import importlib.resources
import types
from pathlib import Path

import pytest

import oilflows
import oilflows.errors

PACKAGE = Path(oilflows.__file__).parent


def _public_modules() -> list[str]:
    """Every module users may import: no path part with a leading underscore (``__init__`` is fine)."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).parts
        if parts[0] == "data" or any(p.startswith("_") and p != "__init__.py" for p in parts):
            continue
        dotted = ".".join(("oilflows", *parts))[: -len(".py")]
        names.append(dotted.removesuffix(".__init__"))
    return names


PUBLIC_MODULES = _public_modules()


def test_py_typed_ships():
    assert importlib.resources.files("oilflows").joinpath("py.typed").is_file()


def test_every_error_class_is_exported():
    errors = [name for name, obj in vars(oilflows.errors).items()
              if isinstance(obj, type) and issubclass(obj, BaseException) and not name.startswith("_")
              and obj.__module__ == "oilflows.errors"]
    assert {"QueryError", "NetworkError", "OilflowsError"} <= set(errors)
    for name in errors:
        assert getattr(oilflows, name) is getattr(oilflows.errors, name)
        assert name in oilflows.__all__


def test_refresh_is_the_module_and_callable(monkeypatch):
    module = importlib.import_module("oilflows.refresh")
    assert isinstance(module, types.ModuleType)
    assert oilflows.refresh is module
    import oilflows.refresh as imported

    assert imported is module and imported.load_config is module.load_config
    calls = []
    monkeypatch.setattr(module, "refresh", lambda *a, **k: calls.append((a, k)) or "result")
    assert oilflows.refresh("cfg.toml", None, False, keep_going=True) == "result"
    assert calls == [(("cfg.toml", None, False), {"keep_going": True})]


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_names_exist(name):
    module = importlib.import_module(name)
    assert hasattr(module, "__all__"), f"{name} has no __all__"
    assert len(set(module.__all__)) == len(module.__all__), f"{name}.__all__ has duplicates"
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what it does not define: {missing}"


#: Public methods exempt from the annotation check (none: add a name here only with a reason).
PENDING: set[str] = set()


def _unannotated(path: Path) -> list[str]:
    """Public functions and methods (``__init__`` included) of a module with an unannotated parameter
    or no return annotation."""
    found = []

    def visit(body: list[ast.stmt], prefix: str, in_class: bool) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                visit(node.body, f"{prefix}{node.name}.", True)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if node.name.startswith("_") and not (in_class and node.name == "__init__"):
                    continue
                if in_class and node.name in PENDING:
                    continue
                a = node.args
                params = [*a.posonlyargs, *a.args, *a.kwonlyargs, *filter(None, (a.vararg, a.kwarg))]
                if in_class and params and params[0].arg in ("self", "cls") \
                        and not any(isinstance(d, ast.Name) and d.id == "staticmethod"
                                    for d in node.decorator_list):
                    params = params[1:]
                missing = [p.arg for p in params if p.annotation is None]
                if missing or (node.returns is None and node.name != "__init__"):
                    found.append(f"{prefix}{node.name}({', '.join(missing)})"
                                 + ("" if node.returns or node.name == "__init__" else " -> ?"))

    visit(ast.parse(path.read_text(encoding="utf-8")).body, "", False)
    return found


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_public_api_is_annotated(name):
    module = importlib.import_module(name)
    missing = _unannotated(Path(module.__file__))
    assert not missing, f"{name}: unannotated public functions: {missing}"


def test_annotation_check_can_fail(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("def f(x) -> int:\n    return x\n\n\nclass C:\n    def g(self, y: int):\n        pass\n")
    assert _unannotated(path) == ["f(x)", "C.g() -> ?"]
