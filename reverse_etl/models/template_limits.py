"""How much a model's template may build and do: a model is SQL text, and a pull request must
not be able to exhaust the machine that checks it (a CI runner, a laptop).

Two limits, both checked while the template renders:

- **Size**: no single value built bigger than ``MAX_BUILT`` items: ``*`` and ``**``, ``%``
  and format widths, the filters and string methods that grow text (``center``, ``indent``,
  ``replace``, ``join``...) are checked before they build it (a width of 10**9 would take
  gigabytes at once).
- **Work**: ``MAX_STEPS`` steps per render, counted as loop iterations, calls (macros and
  ``loop()`` of recursive loops included), the length of every ``range()`` and the size of
  every value a filter or an operator builds. Each ``range()`` is small, but nested loops
  multiply: ``range(100000)`` inside ``range(100000)`` ran for hours.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any

from jinja2 import nodes
from jinja2.sandbox import SandboxedFormatter, safe_range

MAX_BUILT = 1_000_000
MAX_STEPS = 1_000_000

# The global name the loops' iterables are wrapped in (see ``count_loops``).
COUNTED_ITER = "__retl_counted"

_HINT = "a model's template builds SQL text: loop over what the SQL needs, not millions of items"


class LimitError(Exception):
    """A template went over a limit; carries the user-facing text and fix."""

    def __init__(self, message: str, hint: str = _HINT) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class _Budget:
    __slots__ = ("left",)

    def __init__(self, steps: int) -> None:
        self.left = steps


_BUDGET: ContextVar[_Budget | None] = ContextVar("retl_template_budget", default=None)


def start_budget() -> object:
    """A fresh budget for one render; pass the token to ``end_budget`` after it."""
    return _BUDGET.set(_Budget(MAX_STEPS))


def end_budget(token: object) -> None:
    _BUDGET.reset(token)  # type: ignore[arg-type]


def spend(steps: int) -> None:
    budget = _BUDGET.get()
    if budget is None:
        return
    budget.left -= steps
    if budget.left < 0:
        raise LimitError(
            f"the template does more than {MAX_STEPS:,} steps (loop iterations, calls and "
            "items built); nested loops multiply"
        )


def built(value: Any) -> Any:
    """Charge the size of a value just built; return it."""
    if isinstance(value, str | list | tuple | dict):
        spend(len(value) + 1)
    else:
        spend(1)
    return value


def too_big(size: int, what: str) -> None:
    if size > MAX_BUILT:
        raise LimitError(f"{what} builds more than {MAX_BUILT:,} items")


def counted_iter(iterable: Iterable[Any]) -> Iterator[Any]:
    """A loop's items, one step each."""
    for item in iterable:
        spend(1)
        yield item


def counted_range(*args: int) -> range:
    """``range()``: bounded (Jinja's ``safe_range``), and its length charged."""
    numbers: range = safe_range(*args)
    spend(len(numbers) + 1)
    return numbers


def count_loops(tree: nodes.Template) -> nodes.Template:
    """Wrap every ``{% for %}``'s iterable in ``COUNTED_ITER(...)``."""
    for loop in tree.find_all(nodes.For):
        lineno = loop.iter.lineno
        loop.iter = nodes.Call(
            nodes.Name(COUNTED_ITER, "load", lineno=lineno),
            [loop.iter],
            [],
            None,
            None,
            lineno=lineno,
        )
    return tree


# printf-style specs (%-10.3f, %(name)05d) and format fields ({0:>20}, {:.{p}})
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-+ #0]*(\d*)(?:\.(\d*))?")
_FORMAT_FIELD = re.compile(r"\{[^{}]*:([^{}]*)\}")
_DIGITS = re.compile(r"\d+")


def check_format(template: str, *, percent: bool, args: Any = ()) -> None:
    """A format string's widths and precisions: each at most MAX_BUILT. With ``percent``,
    a ``*`` width or precision is taken from ``args``: those numbers are checked too."""
    widths: list[str] = []
    if percent:
        for match in _PERCENT_SPEC.finditer(template):
            widths += [g for g in match.groups() if g]
        if "*" in template:
            values = args if isinstance(args, tuple) else (args,)
            widths += [str(abs(v)) for v in values if isinstance(v, int)]
    else:
        for match in _FORMAT_FIELD.finditer(template):
            widths += _DIGITS.findall(match.group(1))
    for width in widths:
        too_big(int(width), "a format width")


class CheckedFormatter(SandboxedFormatter):
    """Jinja's sandboxed ``str.format``, each field's final spec checked before it is
    formatted (nested fields resolved)."""

    def format_field(self, value: Any, format_spec: str) -> Any:
        for width in _DIGITS.findall(format_spec):
            too_big(int(width), "a format width")
        return super().format_field(value, format_spec)


def check_call(obj: Any, args: tuple[Any, ...]) -> None:
    """A string method that grows text, called from a template: checked before it runs."""
    text = getattr(obj, "__self__", None)
    if not isinstance(text, str):
        return
    name = getattr(obj, "__name__", "")
    if name in ("center", "ljust", "rjust", "zfill") and args and isinstance(args[0], int):
        too_big(args[0], f"str.{name}()")
    elif name == "expandtabs" and args and isinstance(args[0], int):
        too_big(text.count("\t") * args[0], "str.expandtabs()")
    elif name == "replace" and len(args) >= 2 and isinstance(args[0], str):
        too_big(_replaced_size(text, args[0], args[1]), "str.replace()")
    elif name == "join" and args and hasattr(args[0], "__len__"):
        too_big(len(args[0]) * len(text), "str.join()")


def _replaced_size(text: str, old: str, new: Any) -> int:
    grows = len(str(new)) - len(old)
    hits = text.count(old) if old else len(text) + 1
    return len(text) + max(grows, 0) * hits


def _filter_check(name: str, args: tuple[Any, ...]) -> None:
    """The filters that grow text, checked on their arguments (after Jinja's context)."""
    if not args:
        return
    value, rest = args[0], args[1:]
    if name == "center" and rest and isinstance(rest[0], int):
        too_big(rest[0], "the center filter")
    elif name == "indent" and rest and isinstance(rest[0], int | str):
        width = rest[0] if isinstance(rest[0], int) else len(rest[0])
        too_big((str(value).count("\n") + 1) * width, "the indent filter")
    elif name == "replace" and len(rest) >= 2 and isinstance(rest[0], str):
        too_big(_replaced_size(str(value), rest[0], rest[1]), "the replace filter")
    elif name == "join" and rest and hasattr(value, "__len__"):
        too_big(len(value) * len(str(rest[0])), "the join filter")
    elif name == "format" and isinstance(value, str):
        check_format(value, percent=True, args=tuple(rest))


def charged_filter(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` checked before it runs and its result charged (Jinja's ``pass_context`` and
    similar markers are kept: ``functools.wraps`` copies them)."""
    passed = getattr(fn, "jinja_pass_arg", None)

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        _filter_check(name, args[1:] if passed is not None else args)
        spend(1)
        return built(fn(*args, **kwargs))

    return run
