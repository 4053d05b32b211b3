"""The name an engine gives an output expression written without AS.

DuckDB names it after its own printing of the expression, which is not sqlglot's: every
operator in parentheses (``(a + 1)``, ``(a = 1)``, ``(a IS NULL)``), a parenthesised
expression without its parentheses (``(a)`` is the column ``a``), ``COALESCE`` in capitals,
a cast's type in DuckDB's spelling (``CAST(a AS VARCHAR)``, ``CAST(a AS "DOUBLE")``),
identifiers quoted only where they must be, function names in lower case and ``count(*)``
as ``count_star()``. Other engines: sqlglot's printing (such a column has no usable name).
"""

from __future__ import annotations

import re

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

# Operators DuckDB prints in parentheses.
_OPERATORS = (
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.Mod,
    exp.IntDiv,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.And,
    exp.Or,
    exp.DPipe,
    exp.Is,
    exp.In,
    exp.Between,
    exp.Not,
)
# sqlglot's spelling of a type (for DuckDB) -> DuckDB's own, in a cast's name.
_TYPES = {
    "TEXT": "VARCHAR",
    "INT": "INTEGER",
    "REAL": "FLOAT",
    "DOUBLE": '"DOUBLE"',
    "DATE": '"DATE"',
    "JSON": '"json"',
    "TIMESTAMPTZ": '"TIMESTAMP WITH TIME ZONE"',
    "INT128": '"HUGEINT"',
    "UBIGINT": '"UBIGINT"',
    "BLOB": '"BLOB"',
    "UUID": '"UUID"',
}
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RESERVED = frozenset(
    getattr(Dialect.get_or_raise("duckdb").generator_class, "RESERVED_KEYWORDS", ())
)


def _count_star(node: exp.Expr) -> exp.Expr:
    """``count(*)`` and ``count()``: DuckDB's ``count_star()`` (``count()`` in a window)."""
    if isinstance(node, exp.Count) and (node.this is None or isinstance(node.this, exp.Star)):
        name = "count" if isinstance(node.parent, exp.Window) else "count_star"
        return exp.Anonymous(this=name, expressions=[])
    return node


def unparenthesised(node: exp.Expr) -> exp.Expr:
    """``node`` without the parentheses around it (``((a))`` is ``a``)."""
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _text(node: exp.Expr) -> str:
    return node.sql("duckdb", normalize_functions="lower")


def _type_text(to: exp.Expr) -> str:
    text = to.sql("duckdb")
    base, brackets = re.fullmatch(r"(.*?)((?:\[\])*)", text).groups()  # type: ignore[union-attr]
    return _TYPES.get(base, base) + brackets


def _duckdb_name(node: exp.Expr) -> str:
    node = unparenthesised(node).copy()
    if any(isinstance(n, exp.Count) for n in node.walk()):
        node = node.transform(_count_star, copy=False)
    for paren in list(node.find_all(exp.Paren)):
        paren.replace(paren.this)
    for ident in node.find_all(exp.Identifier):
        if ident.quoted and _PLAIN.fullmatch(ident.name) and ident.name.lower() not in _RESERVED:
            ident.set("quoted", False)
    for cast in node.find_all(exp.Cast):
        if isinstance(cast.args.get("to"), exp.DataType):
            cast.set("to", exp.Var(this=_type_text(cast.args["to"])))
    for op in list(node.find_all(*_OPERATORS)):
        wrapped = exp.Paren()
        if op is node:
            node = wrapped
        else:
            op.replace(wrapped)
        wrapped.set("this", op)
    for coalesce in reversed(list(node.find_all(exp.Coalesce))):
        args = ", ".join(_text(a) for a in [coalesce.this, *coalesce.expressions])
        spelled = exp.Var(this=f"COALESCE({args})")
        if coalesce is node:
            return spelled.name
        coalesce.replace(spelled)
    return _text(node)


def cast_column(node: exp.Expr, dialect: str) -> exp.Column | None:
    """The column a cast names, where the engine names a cast after its column: PostgreSQL
    (``a::date``, ``a::date::text``, ``cast(a as date)`` are ``a``) and Spark (one cast of a
    column: ``a``); None elsewhere (DuckDB: ``CAST(a AS "DATE")``)."""
    if dialect == "postgres":
        while isinstance(unparenthesised(node), exp.Cast):
            node = unparenthesised(node).this
    elif dialect in ("spark", "spark2", "databricks") and isinstance(node, exp.Cast):
        node = node.this
    else:
        return None
    node = unparenthesised(node)
    return node if isinstance(node, exp.Column) and not node.is_star else None


def auto_name(node: exp.Expr, dialect: str) -> str:
    """The name the engine gives ``node``, an expression written without AS."""
    if dialect != "duckdb":
        return node.sql(dialect)
    return _duckdb_name(node)
