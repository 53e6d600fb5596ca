"""The common base of every analytics result (issue 14).

Every result class in :mod:`oilflows.analytics` is a dataclass that also inherits :class:`Result`,
which gives it one shape:

``caveats``
    A list of strings: what the numbers cannot show. Classes that historically store them as
    ``notes`` keep ``notes`` and expose the same list as ``caveats``; classes without any return ``[]``.
``summary()``
    A :class:`Summary`: a ``str`` subclass (every caller that prints, slices or compares it as text
    keeps working) with ``as_text()``, ``as_html()`` and ``as_markdown()``, like the summaries of
    statsmodels and linearmodels.
``repr(result)``
    Short: the class name and a few key figures (at most 5 lines, 400 characters). Each class
    declares its key figures in ``_repr_fields()``; the full dataclass dump is ``result._full_repr()``.
``_repr_html_()``
    The summary as HTML, so notebooks show it rather than a wall of text.
``to_frame()``
    A tidy ``pandas.DataFrame`` with a ``RangeIndex``: every key is a column, never the index, and
    the time column is called ``period`` and the partner column ``partner`` in every result.
``plot(ax=None, ...)``
    ``ax`` is accepted as a keyword by every result (and is the first parameter where possible).

Dataclasses write their own ``__repr__`` unless the class already defines one; ``__init_subclass__``
(which runs before the ``@dataclass`` decorator) therefore installs :meth:`Result.__repr__` in each
subclass so that a plain ``@dataclass`` keeps the short form. It also wraps a subclass's
``summary()`` so that it returns a :class:`Summary` with the result's caveats attached; a subclass
that writes its summary as plain text decorates it with :func:`summary_method`, which does the same
wrapping and tells type checkers that ``summary()`` returns a :class:`Summary`.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import math
import numbers
import warnings
from collections.abc import Callable, Iterable
from typing import Any, Concatenate, ParamSpec, Self, TypeVar

__all__ = ["Result", "Summary", "summary_method"]

_REPR_MAX_CHARS = 400
_REPR_MAX_LINES = 5
_REPR_WIDTH = 88


class Summary(str):
    """A result's summary: the text itself (a ``str``), plus HTML and Markdown renderings.

    ``caveats`` (a list of str) are listed after the text in the HTML and Markdown forms when the
    text does not already contain them.
    """

    caveats: list[str]
    title: str | None  # type: ignore[assignment]  # the heading: deliberately shadows str.title()

    def __new__(cls, text: str, caveats: Iterable[object] | None = (), title: str | None = None) -> Self:
        obj = super().__new__(cls, text)
        obj.caveats = [str(c) for c in (caveats or [])]
        obj.title = title
        return obj

    def __reduce__(self) -> tuple[type[Summary], tuple[str, list[str], str | None]]:
        return (Summary, (str(self), self.caveats, self.title))

    def as_text(self) -> str:
        """The plain text (a ``str``, not a ``Summary``)."""
        return str(self)

    def _extra_caveats(self) -> list[str]:
        text = str(self)
        return [c for c in self.caveats if c and c not in text]

    def as_html(self) -> str:
        """Escaped ``<pre>`` block of the text, then the caveats not already in it as a list."""
        parts = ['<div class="oilflows-summary">']
        if self.title:
            parts.append(f"<strong>{html.escape(self.title)}</strong>")
        parts.append(f"<pre>{html.escape(str(self))}</pre>")
        extra = self._extra_caveats()
        if extra:
            parts.append("<p>Caveats:</p><ul>")
            parts.extend(f"<li>{html.escape(c)}</li>" for c in extra)
            parts.append("</ul>")
        parts.append("</div>")
        return "\n".join(parts)

    def as_markdown(self) -> str:
        """The text in a fenced code block (titled when a title is known), caveats as a list."""
        fence = "```"
        while fence in str(self):
            fence += "`"
        parts = []
        if self.title:
            parts.append(f"**{self.title}**\n")
        parts.append(f"{fence}text\n{str(self)}\n{fence}")
        extra = self._extra_caveats()
        if extra:
            parts.append("\nCaveats:\n")
            parts.extend(f"- {c}" for c in extra)
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        return self.as_html()


def _format(value: Any) -> str:
    """A compact rendering of one key figure for ``repr``."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        if math.isnan(value) or math.isinf(value):
            return repr(value)
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        items = [v if isinstance(v, str) and len(v) <= 20 else _format(v) for v in value[:4]]
        items = [i if len(i) <= 24 else i[:21] + "..." for i in items]
        shown = ", ".join(items) + (f", ... ({len(value)})" if len(value) > 4 else "")
        return f"({shown})" if isinstance(value, tuple) else f"[{shown}]"
    if hasattr(value, "shape") and hasattr(value, "columns"):  # a DataFrame
        return f"<{value.shape[0]} x {value.shape[1]} table>"
    if hasattr(value, "strftime"):
        return str(value)[:10] if str(value).endswith("00:00:00") else str(value)
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def legacy_ax(ax: Any, keys: Any, name: str) -> tuple[Any, Any]:
    """``(ax, keys)`` for a ``plot(ax=None, keys=None, ...)`` that used to be ``plot(keys, ax)``.

    A first positional argument that is not a matplotlib Axes (a list, tuple or str) is the old
    ``keys``: it still works, with a DeprecationWarning.
    """
    if ax is not None and not hasattr(ax, "plot"):
        warnings.warn(f"plot({name}, ax) is deprecated: ax is now the first parameter; pass "
                      f"{name}= by keyword", DeprecationWarning, stacklevel=3)
        return keys, ax
    return ax, keys


class renamed(property):  # noqa: N801 - used like ``property``
    """A result field's old name, kept for one release: ``base = renamed("baseline")`` in the class
    body reads ``self.baseline`` and warns (:class:`DeprecationWarning`, at the caller's line)
    ``"<Class>.base is deprecated: use .baseline (the old name goes away in the next minor
    release)"``. Read-only; the API reference shows it as a deprecated property."""

    def __init__(self, new: str) -> None:
        self.label = f"?.{new}"  # "<Class>.<old name>", set when the class is made

        def get(obj: Any) -> Any:
            warnings.warn(f"{self.label} is deprecated: use .{new} (the old name goes away in the next "
                          "minor release)", DeprecationWarning, stacklevel=2)
            return getattr(obj, new)

        super().__init__(get)
        # the instance's own doc (a property subclass would otherwise show this class's docstring)
        self.__doc__ = f"Deprecated: use ``{new}`` (the old name goes away in the next minor release)."

    def __set_name__(self, owner: type, name: str) -> None:
        self.label = f"{owner.__name__}.{name}"


_P = ParamSpec("_P")
_R = TypeVar("_R", bound="Result")


def summary_method(method: Callable[Concatenate[_R, _P], str]) -> Callable[Concatenate[_R, _P], Summary]:
    """Decorate a result's ``summary`` written as plain text: it returns that text as a
    :class:`Summary` with the result's caveats (``__wrapped__`` is the method as written).

    :class:`Result` applies it to a subclass's undecorated ``summary`` too; decorating says so to the
    type checker.
    """
    @functools.wraps(method)
    def summary(self: _R, *args: _P.args, **kwargs: _P.kwargs) -> Summary:
        text = method(self, *args, **kwargs)
        if isinstance(text, Summary):
            return text
        return self._summary(text)

    summary._returns_summary = True  # type: ignore[attr-defined]  # marks an installed wrapper
    return summary


class Result:
    """Mixin base of the analytics results; see the module docstring for the contract."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__repr__" not in cls.__dict__:
            cls.__repr__ = Result.__repr__  # type: ignore[method-assign]  # before @dataclass, so it keeps this one
        own = cls.__dict__.get("summary")
        if own is not None and not getattr(own, "_returns_summary", False):
            cls.summary = summary_method(own)  # type: ignore[method-assign, assignment]

    # -- caveats --------------------------------------------------------------------------------

    def _caveat_list(self) -> list[str]:
        found = getattr(self, "caveats", None)
        if found is None:
            found = getattr(self, "notes", None)
        return [str(c) for c in (found or [])]

    # -- summary --------------------------------------------------------------------------------

    def summary(self) -> Summary:  # pragma: no cover - every result defines its own
        return self._summary(repr(self))

    def _summary(self, text: str) -> Summary:
        """``text`` as this result's :class:`Summary`: its caveats attached, titled by the class name."""
        return Summary(text, caveats=self._caveat_list(), title=type(self).__name__)

    def _repr_html_(self) -> str:
        """The summary as HTML (Jupyter)."""
        return self.summary().as_html()

    # -- repr -----------------------------------------------------------------------------------

    def _repr_fields(self) -> dict:
        """The key figures shown by ``repr``: ``{name: value}``. Subclasses override this."""
        names = ("reporter", "partner", "measure", "dataset")
        return {n: getattr(self, n) for n in names if getattr(self, n, None) is not None}

    def __repr__(self) -> str:
        name = type(self).__name__
        try:
            fields = self._repr_fields()
        except Exception as exc:  # a repr must never raise
            fields = {"repr_error": type(exc).__name__}
        items = [f"{k}={_format(v)}" for k, v in fields.items()]
        indent = " " * (len(name) + 1)
        lines, line = [], name + "("
        for i, item in enumerate(items):
            piece = item + ("," if i < len(items) - 1 else "")
            if line.strip() and not line.endswith("(") and len(line) + 1 + len(piece) > _REPR_WIDTH:
                lines.append(line)
                line = indent + piece
            else:
                line = line + ("" if line.endswith("(") else " ") + piece
        lines.append(line + ")")
        if len(lines) > _REPR_MAX_LINES:
            lines = lines[:_REPR_MAX_LINES]
            lines[-1] = lines[-1].rstrip(",") + " ...)"
        text = "\n".join(lines)
        if len(text) > _REPR_MAX_CHARS:
            text = text[:_REPR_MAX_CHARS - 5] + " ...)"
        return text

    def _full_repr(self) -> str:
        """The long dataclass-style dump of every field shown by ``repr`` before issue 14."""
        if not dataclasses.is_dataclass(self):
            return object.__repr__(self)
        shown = [f for f in dataclasses.fields(self) if f.repr]
        return f"{type(self).__name__}(" + ", ".join(f"{f.name}={getattr(self, f.name)!r}"
                                                     for f in shown) + ")"
