"""Type errors found while sqlglot annotates types: an annotator hook (sqlglot_fixes.py) says
where DuckDB would refuse an expression; the inference (columns/infer.py) collects what was
said while it annotated one query, and reports each as an issue of that model.

``collected()`` opens a list for the current thread (or task); ``report(node, message,
types)`` appends to it, and does nothing where none is open (sqlglot used elsewhere). A
message names its types as ``{}``, filled in by the reader in its spelling of types."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlglot import exp

Refused = tuple[exp.Expr, str, tuple[exp.DataType, ...]]  # node, message, its types
_OPEN: ContextVar[list[Refused] | None] = ContextVar("retl_type_errors", default=None)

_T = exp.DType
_LISTS = {_T.ARRAY, _T.LIST}
# The groups of scalar types DuckDB finds a common type within (a list of INTEGERs and one of
# DOUBLEs concatenate, one of INTEGERs and one of VARCHARs do not); BOOLEAN goes with the
# integers only.
_GROUPS: tuple[frozenset[exp.DType], ...] = (
    frozenset(exp.DataType.INTEGER_TYPES | {_T.BOOLEAN}),
    frozenset(exp.DataType.NUMERIC_TYPES),
    frozenset(exp.DataType.TEXT_TYPES),
    frozenset({_T.DATE, _T.DATETIME, _T.TIMESTAMP_S, _T.TIMESTAMP_MS, _T.TIMESTAMP_NS})
    | exp.DataType.TEMPORAL_TYPES - {_T.TIME, _T.TIMETZ},
    frozenset({_T.TIME, _T.TIMETZ}),
    frozenset({_T.INTERVAL}),
    frozenset({_T.UUID}),
    frozenset({_T.VARBINARY, _T.BINARY, _T.BLOB}),
    frozenset({_T.STRUCT}),
    frozenset({_T.MAP}),
)
_KNOWN = frozenset().union(*_GROUPS) | _LISTS


@contextmanager
def collected() -> Iterator[list[Refused]]:
    """The type errors reported inside the block."""
    errors: list[Refused] = []
    token = _OPEN.set(errors)
    try:
        yield errors
    finally:
        _OPEN.reset(token)


def report(node: exp.Expr, message: str, types: tuple[exp.DataType, ...] = ()) -> None:
    """Say that DuckDB refuses ``node`` (where a list is open)."""
    errors = _OPEN.get()
    if errors is not None:
        errors.append((node, message, types))


def clash(a: exp.DataType, b: exp.DataType) -> bool:
    """Whether DuckDB finds no common type of two list items' types (a list of them each
    cannot be concatenated). Types it does not know of, NULL, JSON and UNKNOWN never clash."""
    if a.this not in _KNOWN or b.this not in _KNOWN:
        return False
    if a.this in _LISTS and b.this in _LISTS:
        if not a.expressions or not b.expressions:
            return False
        ea, eb = a.expressions[0], b.expressions[0]
        return isinstance(ea, exp.DataType) and isinstance(eb, exp.DataType) and clash(ea, eb)
    return not any(a.this in group and b.this in group for group in _GROUPS)


def list_clash(node: exp.Expr, left: exp.DataType, right: exp.DataType) -> None:
    """Report ``node`` where concatenating a list of ``left`` and one of ``right`` (both list
    types) fails in DuckDB, in DuckDB's words."""
    if left.this in _LISTS and right.this in _LISTS and clash(left, right):
        report(node, "cannot concatenate lists of types {} and {}", (left, right))
