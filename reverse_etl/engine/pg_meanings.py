"""DuckDB's meaning of two functions, written for PostgreSQL (found by tests/portable_exprs.py).

- ``round(x)`` of a DOUBLE rounds half away from zero in DuckDB (2.5 gives 3, -0.5 gives -1)
  and half to even in PostgreSQL (2.5 gives 2). Written ``CASE WHEN abs(x - trunc(x)) = 0.5
  THEN trunc(x) + sign(x) ELSE round(x) END``: exact, since ``x - trunc(x)`` is exact in
  binary floating point, and the same as ``round(x)`` for a NUMERIC, whose ``round`` already
  rounds half away from zero. ``round(x, n)`` is left: PostgreSQL has it for NUMERIC only,
  and it rounds half away from zero there too.
- ``substring(s, start[, n])`` with a negative ``start`` counts from the end in DuckDB
  (``substr('hello', -3)`` is 'llo'); PostgreSQL reads the position as it is (before the
  first character: 'hello'). Written with the position ``length(s) + start + 1``, which
  PostgreSQL then clips as DuckDB does (``substr('hello', -7, 3)`` is 'h' in both).

A model written in PostgreSQL's dialect means PostgreSQL's functions: only DuckDB-dialect
models are rewritten (``PostgresEngine.transpile``).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp


def duckdb_meanings(tree: exp.Expr) -> exp.Expr:
    """``tree`` with ``round`` and ``substring`` written for PostgreSQL as DuckDB means them.
    Changed in place (the root is never replaced: it is a statement), and returned."""
    _bottom_up(tree, exp.Round, _round)
    _bottom_up(tree, exp.Substring, _substring)
    return tree


def _bottom_up(
    tree: exp.Expr, kind: type[exp.Expr], rewrite: Callable[[exp.Expr], exp.Expr]
) -> None:
    """Replace each ``kind`` node by ``rewrite(node)``, the innermost first: a rewrite copies
    its operands, which then already hold their own rewrites."""
    nodes = sorted(tree.find_all(kind), key=_depth, reverse=True)
    for node in nodes:
        new = rewrite(node)
        if new is not node:
            node.replace(new)


def _depth(node: exp.Expr) -> int:
    depth = 0
    parent = node.parent
    while parent is not None:
        depth, parent = depth + 1, parent.parent
    return depth


def _round(node: exp.Expr) -> exp.Expr:
    if node.args.get("decimals") is not None or _integer(node.this):
        return node
    x = node.this
    fraction = exp.Abs(this=exp.Sub(this=x.copy(), expression=_trunc(x)))
    tie = exp.EQ(this=fraction, expression=exp.Literal.number("0.5"))
    away = exp.Add(this=_trunc(x), expression=exp.Sign(this=x.copy()))
    return exp.Case(ifs=[exp.If(this=tie, true=away)], default=node.copy())


def _trunc(x: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this="TRUNC", expressions=[x.copy()])


def _substring(node: exp.Expr) -> exp.Expr:
    start = node.args.get("start")
    if start is None or (isinstance(start, exp.Literal) and start.is_int):
        return node  # no position, or one of at least 0: the same in both
    text = node.this
    from_end = exp.Add(
        this=exp.Add(this=exp.Length(this=text.copy()), expression=exp.Paren(this=start.copy())),
        expression=exp.Literal.number(1),
    )
    counted = node.copy()
    counted.set("start", from_end)
    if isinstance(start, exp.Neg) and isinstance(start.this, exp.Literal):
        return counted  # a negative literal
    negative = exp.LT(this=start.copy(), expression=exp.Literal.number(0))
    return exp.Case(ifs=[exp.If(this=negative, true=counted)], default=node.copy())


def _integer(node: exp.Expr) -> bool:
    if isinstance(node, exp.Neg):
        node = node.this
    return isinstance(node, exp.Literal) and node.is_int
