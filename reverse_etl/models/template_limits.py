"""How much a model's template may build and do: a model is SQL text, and a pull request must
not be able to exhaust the machine that checks it (a CI runner, a laptop).

Three limits, checked while the template renders:

- **Size**: no value bigger than ``MAX_BUILT`` items. A value's size counts everything in it
  (``size_of``): a string's characters, a number's 64-bit words, and a container's items all
  the way down (``[[0] * 1000] * 1000`` holds a million items). The operations that can build
  a big value from small ones are checked *before* they build it: ``*``, ``+``, ``~``, ``**``
  and ``//`` on numbers; ``%`` and ``str.format`` widths (``'{:>999999999}'`` would take a
  gigabyte at once); the string methods and filters that grow text or lists (``center``,
  ``ljust``, ``replace``, ``join``, ``translate``, ``to_bytes``, ``indent``, ``wordwrap``,
  ``batch``, ``slice``, ``sum``, ``tojson``'s indent, ``urlize``'s target); what ``{{ }}``
  prints; what a ``{% set %}`` block, a macro or ``caller()`` captures.
- **Work**: ``MAX_STEPS`` steps per render: each loop iteration (recursive loops' too), each
  call (macros included), filter, test and comparison, plus the size of what each reads and
  builds, ``range()`` lengths included. Each ``range()`` is small, but nested loops multiply:
  ``range(100000)`` inside ``range(100000)`` ran for hours.
- **Output**: at most ``MAX_OUTPUT`` characters of SQL.

The loops' iterables, ``~`` and comparisons are rewritten, when a template is parsed, into
calls of functions of this module that a template cannot rebind (``count_limits``). Codecs
other than UTF-8/16/32, ASCII and Latin-1 are refused (``punycode`` is quadratic), and so are
attribute paths of more than 16 parts.

What this cannot bound is a single C-level operation on values within the limits; the limits
keep those to about a million items each. Rendering in a process of its own, under CPU and
memory rlimits, would bound everything; see the project's notes.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar, Token
from typing import Any

from jinja2 import nodes
from jinja2.sandbox import SandboxedFormatter, safe_range
from jinja2.visitor import NodeTransformer

MAX_BUILT = 1_000_000
MAX_STEPS = 1_000_000
MAX_OUTPUT = 20_000_000

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


def start_budget() -> Token[_Budget | None]:
    """A fresh budget for one render; pass the token to ``end_budget`` after it."""
    return _BUDGET.set(_Budget(MAX_STEPS))


def end_budget(token: Token[_Budget | None]) -> None:
    _BUDGET.reset(token)


def spend(steps: int) -> None:
    budget = _BUDGET.get()
    if budget is None:
        return
    budget.left -= steps
    if budget.left < 0:
        raise LimitError(
            f"the template does more than {MAX_STEPS:,} steps (loop iterations, calls, and "
            "the items they read and build); nested loops multiply"
        )


_SIZED = (str, bytes, list, tuple, dict, set, frozenset)
_CONTAINERS = (list, tuple, dict, set, frozenset)


def size_of(value: Any) -> int:
    """What reading or printing ``value`` costs: a string's length, a number's 64-bit words,
    and a container's items all the way down (``[[0] * 1000] * 1000`` holds a million items
    though it took two thousand to build: every list in it is the same one)."""
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value.bit_length() // 64 + 1
    if isinstance(value, _CONTAINERS):
        return _weight(value, {})
    try:
        return max(len(value), 1)  # range, dict views, a Jinja LoopContext...
    except Exception:  # no length: one step
        return 1


def _weight(value: Any, seen: dict[int, int]) -> int:
    known = seen.get(id(value))
    if known is not None:
        return known
    if isinstance(value, dict):
        items: Iterable[Any] = (*value.keys(), *value.values())
    elif isinstance(value, _CONTAINERS):
        items = value
    else:
        return size_of(value)
    total = 0
    for item in items:
        total += _weight(item, seen) if isinstance(item, _CONTAINERS) else size_of(item)
        if total > MAX_STEPS:  # no need to walk further: already over any budget
            break
    seen[id(value)] = max(total, 1)
    return max(total, 1)


def built(value: Any) -> Any:
    """Charge the size of a value just built; return it."""
    spend(size_of(value))
    return value


def too_big(size: int, what: str) -> None:
    if size > MAX_BUILT:
        raise LimitError(f"{what} would build more than {MAX_BUILT:,} items")


def joined(chunks: Iterable[str]) -> str:
    """Jinja's ``concat`` for captured output (``{% set %}`` blocks, macros, ``caller()``,
    ``{% filter %}``): at most MAX_BUILT characters, charged."""
    parts: list[str] = []
    total = 0
    for chunk in chunks:
        total += len(chunk)
        too_big(total, "a captured block")
        parts.append(chunk)
    spend(total)
    return "".join(parts)


def finalized(value: Any) -> Any:
    """What ``{{ ... }}`` prints, sized before Jinja turns it into text."""
    if not isinstance(value, str):
        too_big(size_of(value), "printing a value")
    return value


def checked_output(chunks: Iterable[str]) -> str:
    """A template's rendered chunks joined, at most MAX_OUTPUT characters."""
    parts: list[str] = []
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > MAX_OUTPUT:
            raise LimitError(f"the model's SQL would be more than {MAX_OUTPUT:,} characters")
        parts.append(chunk)
    return "".join(parts)


# --- what templates are rewritten to call ---------------------------------------------------


def counted_iter(iterable: Iterable[Any]) -> Iterator[Any]:
    """A loop's items, one step each."""
    for item in iterable:
        spend(1)
        yield item


def concat(parts: list[Any]) -> str:
    """``a ~ b``: checked before it is built."""
    too_big(sum(size_of(p) for p in parts), "~")
    texts = [str(p) for p in parts]
    total = sum(len(t) for t in texts)
    too_big(total, "~")
    spend(total)
    return "".join(texts)


_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "gteq": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lteq": lambda a, b: a <= b,
    "in": lambda a, b: a in b,
    "notin": lambda a, b: a not in b,
}


def compared(left: Any, op: str, right: Any) -> Any:
    """``a == b``, ``a in b``...: charged for what they read (both sides, all the way down)."""
    spend(size_of(left) + size_of(right))
    return _COMPARE[op](left, right)


def counted_range(*args: int) -> range:
    """``range()``: bounded (Jinja's ``safe_range``), and its length charged."""
    numbers: range = safe_range(*args)
    spend(len(numbers) + 1)
    return numbers


_HERE = __name__


class _Rewriter(NodeTransformer):
    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        iterable: nodes.Expr = node.iter  # type: ignore[assignment]  # typed Node in Jinja
        node.iter = _call("counted_iter", [iterable], iterable.lineno)
        return node

    def visit_Compare(self, node: nodes.Compare) -> nodes.Node:
        self.generic_visit(node)
        if len(node.ops) != 1:  # a < b < c: left as Jinja compiles it
            return node
        (operand,) = node.ops
        op = nodes.Const(operand.op, lineno=node.lineno)
        return _call("compared", [node.expr, op, operand.expr], node.lineno)

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        items: list[nodes.Expr] = list(node.nodes)
        return _call("concat", [nodes.List(items, lineno=node.lineno)], node.lineno)


def _call(function: str, args: list[nodes.Expr], lineno: int) -> nodes.Call:
    # An ImportedName is bound by the compiled module's own import: no template can rebind it
    # the way it could a global ({% set name = ... %}).
    target = nodes.ImportedName(f"{_HERE}.{function}", lineno=lineno)
    return nodes.Call(target, args, [], None, None, lineno=lineno)


def count_limits(tree: nodes.Template) -> nodes.Template:
    """Route every ``{% for %}``'s iterable through ``counted_iter`` and every ``~`` through
    ``concat``."""
    rewritten: nodes.Template = _Rewriter().visit(tree)
    return rewritten


# --- formats ---------------------------------------------------------------------------------

# printf-style conversions: %% (none), or %(name)-10.3f / %*d / %.*s
_PERCENT = re.compile(r"%%|%(\([^)]*\))?[-+ #0]*(\*|\d+)?(?:\.(\*|\d+))?")
_DIGITS = re.compile(r"\d+")


def check_percent(template: str | bytes, args: Any) -> None:
    """``template % args``: each width and precision at most MAX_BUILT, ``*`` ones (taken
    from ``args``, in order) included."""
    text = template.decode("latin-1") if isinstance(template, bytes) else template
    values = list(args) if isinstance(args, tuple) else [args]
    position = 0
    total = 0
    for match in _PERCENT.finditer(text):
        if match.group(0) == "%%":
            continue
        mapped = match.group(1) is not None
        for part in (match.group(2), match.group(3)):
            if part == "*":
                star = values[position] if position < len(values) else 0
                position += 1
                if isinstance(star, int):
                    total += abs(star)
            elif part:
                total += int(part)
            too_big(total, "the format's widths")
        if not mapped:
            position += 1


class CheckedFormatter(SandboxedFormatter):
    """Jinja's sandboxed ``str.format``, each field's final spec checked before it is
    formatted (nested fields such as ``{:>{w}}`` resolved), and each field's text charged."""

    def format_field(self, value: Any, format_spec: str) -> Any:
        for width in _DIGITS.findall(format_spec):
            too_big(int(width), "a format width")
        return built(super().format_field(value, format_spec))


# --- calls and filters ------------------------------------------------------------------------


def _arg(args: tuple[Any, ...], kwargs: Mapping[str, Any], index: int, name: str) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name)


def check_call(obj: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """A method of a string or bytes that grows it, called from a template: checked before
    it runs."""
    text = getattr(obj, "__self__", None)
    name = getattr(obj, "__name__", "")
    if isinstance(text, int) and name == "to_bytes":
        length = _arg(args, kwargs, 0, "length")
        if isinstance(length, int):
            too_big(length, "int.to_bytes()")
    if not isinstance(text, str | bytes):
        return
    if name in ("encode", "decode"):
        codec = _arg(args, kwargs, 0, "encoding")
        if codec is not None and str(codec).lower().replace("_", "-") not in _CODECS:
            raise LimitError(
                f"the {codec!r} encoding is not supported in a model template",
                "use utf-8, ascii or latin-1",
            )
    if name in ("center", "ljust", "rjust", "zfill"):
        width = _arg(args, kwargs, 0, "width")
        if isinstance(width, int):
            too_big(width, f"str.{name}()")
    elif name == "expandtabs":
        tabsize = _arg(args, kwargs, 0, "tabsize")
        if isinstance(tabsize, int):
            tabs = text.count(b"\t") if isinstance(text, bytes) else text.count("\t")
            too_big(tabs * tabsize, name)
    elif name == "replace":
        old, new = _arg(args, kwargs, 0, "old"), _arg(args, kwargs, 1, "new")
        if isinstance(old, str | bytes) and isinstance(new, str | bytes):
            too_big(_replaced_size(text, old, new), "str.replace()")
    elif name == "join":
        items = _arg(args, kwargs, 0, "iterable")
        if not isinstance(items, _SIZED):
            raise LimitError(
                "str.join() of a generator is not supported in a model template",
                "use the join filter: {{ values|join(', ') }}",
            )
        too_big(_joined_size(items, len(text)), "str.join()")
    elif name == "translate":
        table = _arg(args, kwargs, 0, "table")
        if isinstance(table, Mapping):
            longest = max((size_of(v) for v in table.values()), default=1)
            too_big(len(text) * longest, "str.translate()")


_CODECS = frozenset(
    {"utf-8", "utf8", "ascii", "latin-1", "latin1", "iso-8859-1", "utf-16", "utf-32"}
)


def _replaced_size(text: Any, old: Any, new: Any) -> int:
    try:
        hits = text.count(old) if old else len(text) + 1
    except TypeError:  # str and bytes mixed: the call fails on its own
        return 0
    return int(len(text) + max(len(new) - len(old), 0) * hits)


def _joined_size(items: Iterable[Any], separator: int) -> int:
    listed = list(items)
    return sum(size_of(x) if isinstance(x, str | bytes) else 8 for x in listed) + separator * max(
        len(listed) - 1, 0
    )


def _filter_check(name: str, arguments: dict[str, Any]) -> None:
    """The filters that can build a big value from small ones, checked on their arguments
    (``arguments``: the call bound to the filter's signature)."""
    attribute = arguments.get("attribute") or (arguments.get("kwargs") or {}).get("attribute")
    if isinstance(attribute, str) and attribute.count(".") > 16:
        raise LimitError("an attribute path of more than 16 parts in a model template")

    def get(key: str) -> Any:
        return arguments.get(key)

    if name == "center" and isinstance(get("width"), int):
        too_big(get("width"), "the center filter")
    elif name == "indent" and isinstance(get("width"), int | str):
        width = get("width")
        lines = str(get("s")).count("\n") + 1
        too_big(lines * (width if isinstance(width, int) else len(width)), "the indent filter")
    elif name == "replace" and isinstance(get("old"), str) and get("new") is not None:
        too_big(_replaced_size(str(get("s")), get("old"), str(get("new"))), "the replace filter")
    elif name == "join":
        too_big(_joined_size(get("value") or (), len(str(get("d") or ""))), "the join filter")
    elif name == "format" and isinstance(get("value"), str):
        check_percent(get("value"), tuple(get("args") or ()) or dict(get("kwargs") or {}))
    elif name == "wordwrap":
        width = get("width") if isinstance(get("width"), int) else 79
        text = str(get("s"))
        wrap = size_of(get("wrapstring") or "\n")
        too_big(len(text) + (len(text) // max(width, 1) + 1) * wrap, "the wordwrap filter")
    elif name == "batch" and isinstance(get("linecount"), int):
        too_big(get("linecount"), "the batch filter")
    elif name == "slice" and isinstance(get("slices"), int):
        too_big(get("slices"), "the slice filter")
    elif name == "tojson" and isinstance(get("indent"), int) and get("indent") > 64:
        raise LimitError("tojson's indent is at most 64 in a model template")
    elif name == "urlize":
        words = len(str(get("s") or get("value") or "").split())
        extra = size_of(get("target")) + size_of(get("rel")) if get("target") or get("rel") else 0
        too_big(words * extra, "the urlize filter")
        spend(words * size_of(get("extra_schemes") or ()))
    elif name == "sum":
        items = get("iterable")
        if any(isinstance(x, _SIZED) for x in items) or isinstance(get("start"), _SIZED):
            total = sum(size_of(x) for x in items) + size_of(get("start"))
            too_big(total, "the sum filter")
            spend(len(items) * total)  # each + copies what was summed before


# Filters whose input is read lazily (a generator): materialised first, so that the checks
# above can size it and the filter still gets every item.
_MATERIALISED = {"join": "value", "sum": "iterable"}


def charged_filter(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` checked before it runs, charged for what it reads and builds (Jinja's
    ``pass_context`` and similar markers are kept: ``functools.wraps`` copies them). The
    signature is read at the filter's first use: the ~90 filters and tests are wrapped at
    import, and a model uses a few (#18)."""
    passed = getattr(fn, "jinja_pass_arg", None) is not None
    subject = 1 if passed else 0  # the filtered value's position in the call (its context first)

    @functools.cache
    def read() -> tuple[inspect.Signature, int]:
        signature = inspect.signature(fn)
        # Jinja passes its context, environment or eval context first to a filter marked
        # so; the signature of some (those with an async variant) does not show it.
        first = next(iter(signature.parameters), "")
        listed = first in ("context", "environment", "env", "eval_ctx")
        return signature, 1 if passed and not listed else 0

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        spend(1 + sum(size_of(a) for a in args[subject:]) + sum(map(size_of, kwargs.values())))
        signature, skip = read()
        try:
            bound = signature.bind(*args[skip:], **kwargs)
        except TypeError:
            return built(fn(*args, **kwargs))  # Jinja's own error for a wrong call
        arguments = bound.arguments
        lazy = _MATERIALISED.get(name)
        if lazy is not None and lazy in arguments and not isinstance(arguments[lazy], _SIZED):
            arguments[lazy] = list(counted_iter(arguments[lazy]))
        _filter_check(name, arguments)
        return built(fn(*args[:skip], *bound.args, **bound.kwargs))

    return run


def input_size(obj: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """What a call reads: its object's size (a string's method) and its arguments'."""
    owner = getattr(obj, "__self__", None)
    # a value's own method reads the value (a loop's loop.cycle() does not read the loop)
    own = size_of(owner) if isinstance(owner, (*_SIZED, int)) else 0
    return own + sum(size_of(a) for a in args) + sum(size_of(v) for v in kwargs.values())
