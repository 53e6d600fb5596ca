"""One argument convention for the public analytics, and the deprecated call forms it replaces.

The convention (docs/analytics.md, "Argument convention"): ``f(frame, reporter, *, ...)`` -- the
second positional argument says *who* (``reporter``; ``treated`` for the panel designs), everything
after it is keyword-only, windows are named ``baseline``/``post`` (before-after), ``start``/``end``
(a span) or ``pre``/``post`` (a model's estimation and evaluation windows).

:func:`call_forms` wraps a function written in the new convention so that, for one minor release,
the old call forms still work and emit a :class:`DeprecationWarning` at the caller's line naming the
replacement (docs/api_policy.md, "Deprecations"):

- arguments passed positionally after the last positional parameter (``old_positional`` names them,
  in their old order);
- renamed keywords (``renamed``: old name -> new name, or -> ``(start_name, end_name)`` for an old
  ``(start, end)`` tuple split into two keywords);
- a case-study default that was removed from a stable function (``deprecated_defaults``: the
  argument, when omitted, still takes its old value).

``inspect.signature`` (and so the API reference) shows the new signature: the wrapper carries
``__wrapped__``.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

__all__: list[str] = []

F = TypeVar("F", bound=Callable[..., Any])

#: Every deprecation message of this module starts with this text, so a test suite can escalate or
#: filter exactly these: ``filterwarnings = ["error:old analytics call form:DeprecationWarning"]``.
DEPRECATION_PREFIX = "old analytics call form:"

# The caller of the wrapped function is three frames up from _warn: _warn <- wrapper <- caller.
_STACKLEVEL = 3


def _warn(message: str) -> None:
    warnings.warn(f"{DEPRECATION_PREFIX} {message}", DeprecationWarning, stacklevel=_STACKLEVEL)


def call_forms(
    *,
    old_positional: tuple[str, ...] = (),
    renamed: Mapping[str, str | tuple[str, str]] | None = None,
    deprecated_defaults: Mapping[str, object] | None = None,
) -> Callable[[F], F]:
    """Decorate a function in the new convention so that its old call forms still work, with a warning.

    Parameters
    ----------
    old_positional : tuple of str
        Names of the parameters the old signature accepted positionally after the ones that are
        still positional, in the old order: new names, or an old name that `renamed` maps.
    renamed : mapping, optional
        Old keyword -> new keyword, or -> a pair of keywords ``(start, end)`` that receive the two
        items of the old tuple (``None`` gives ``None`` to both).
    deprecated_defaults : mapping, optional
        Parameter -> the case-study default it had; omitting the argument still works (one release)
        and warns.
    """
    renames = dict(renamed or {})
    defaults = dict(deprecated_defaults or {})

    def decorate(func: F) -> F:
        sig = inspect.signature(func)
        params = sig.parameters
        positional = [p.name for p in params.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        for name in old_positional + tuple(defaults):
            if name not in params and not (name in renames and name in old_positional):
                raise TypeError(f"{func.__name__}: call_forms names unknown parameter {name!r}")
        for old, new in renames.items():
            for target in (new,) if isinstance(new, str) else new:
                if target not in params:
                    raise TypeError(f"{func.__name__}: call_forms renames {old!r} to unknown {target!r}")
        n_pos = len(positional)
        fname = func.__name__

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if len(args) > n_pos and old_positional:
                extra = args[n_pos:]
                if len(extra) > len(old_positional):
                    raise TypeError(f"{fname}() takes at most {n_pos + len(old_positional)} "
                                    f"positional arguments ({len(args)} given)")
                names = old_positional[:len(extra)]
                for name, value in zip(names, extra, strict=True):
                    if name in kwargs:
                        raise TypeError(f"{fname}() got multiple values for argument {name!r}")
                    kwargs[name] = value
                args = args[:n_pos]
                _warn(f"{fname}(): passing {', '.join(names)} positionally is deprecated and stops "
                      f"working in the next minor release; pass "
                      f"{', '.join(f'{n}=' for n in names)} as keywords.")
            for old, new in renames.items():
                if old not in kwargs:
                    continue
                value = kwargs.pop(old)
                if isinstance(new, str):
                    if new in kwargs or (new in positional and positional.index(new) < len(args)):
                        raise TypeError(f"{fname}() got both {old!r} (deprecated) and {new!r}")
                    kwargs[new] = value
                    _warn(f"{fname}(): the keyword {old}= is deprecated; use {new}= instead.")
                else:
                    first, second = new
                    if first in kwargs or second in kwargs:
                        raise TypeError(f"{fname}() got both {old!r} (deprecated) and "
                                        f"{first!r}/{second!r}")
                    lo, hi = (None, None) if value is None else value
                    kwargs[first], kwargs[second] = lo, hi
                    _warn(f"{fname}(): the keyword {old}=(start, end) is deprecated; use "
                          f"{first}=..., {second}=... instead.")
            for name, value in defaults.items():
                given = name in kwargs or (name in positional and positional.index(name) < len(args))
                if not given:
                    kwargs[name] = value
                    _warn(f"{fname}(): calling without {name}= is deprecated (it defaulted to "
                          f"{value!r}, the case study's value); pass {name}={value!r} explicitly.")
            return func(*args, **kwargs)

        wrapper.__call_forms__ = {  # type: ignore[attr-defined]
            "old_positional": old_positional, "renamed": dict(renames),
            "deprecated_defaults": dict(defaults)}
        return cast(F, wrapper)

    return decorate
