"""A fraction cast to an integer, rounded on Spark as DuckDB rounds it.

DuckDB (and PostgreSQL) round a fraction cast to an integer type: a DECIMAL half away from
zero (``cast(2.5 as int)`` is 3, -2.5 gives -3), a DOUBLE or FLOAT half to even (2.5 gives 2,
3.5 gives 4). Spark truncates both (2.5 gives 2, 1.9 gives 1). A model written in DuckDB's or
PostgreSQL's dialect would send other values from Spark, silently; so each such cast's operand
is rounded first, the way DuckDB would: ``CASE WHEN typeof(x) LIKE 'decimal%' THEN round(x)
ELSE bround(x) END`` (Spark's ``round`` is half up, away from zero; ``bround`` half even).
Spark folds ``typeof`` while it plans the query, so only one branch is ever computed.

The rewrite needs to know that the operand is a number with a fraction: a cast of a boolean
or a text must stay as it is (``round`` of either is an error). sqlglot types the operands
from the tables' columns (``table_types``: Spark's catalog). Which kind of number it is,
DECIMAL or DOUBLE, is left to Spark's ``typeof``: sqlglot types ``2.5`` as a DOUBLE where
both engines read a DECIMAL. When the operands' types cannot be found (a table Spark cannot
describe, a query sqlglot cannot qualify), the casts stay as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

# A table's columns and their types (DuckDB's words), by its name as the query writes it
# (catalog, database, name; empty where the query leaves one out); None: not known.
TableTypes = Callable[[tuple[str, str, str]], Mapping[str, str] | None]

_FRACTIONAL = exp.DataType.REAL_TYPES  # DOUBLE, FLOAT, DECIMAL (and other dialects' kinds)
_CATALOG, _DB = "__retl_catalog", "__retl_db"  # stand for the session's own


def round_fraction_casts(tree: exp.Expr, dialect: str, table_types: TableTypes) -> exp.Expr:
    """``tree`` (in ``dialect``, whose casts round as DuckDB's do) with every cast of a
    fractional number to an integer type rounded first, as DuckDB rounds it (see the module
    docstring). Changed in place, and returned."""
    casts = _candidates(tree)
    if not casts:
        return tree
    fractional = _fractional_operands(tree, dialect, table_types, len(casts))
    if fractional is None:
        return tree
    # Inner casts first: an outer cast's operand is copied into the rounding, with them.
    for cast, rounds in reversed(list(zip(casts, fractional, strict=True))):
        if rounds:
            cast.set("this", rounded(cast.this))
    return tree


def rounded(x: exp.Expr) -> exp.Expr:
    """``x`` rounded as DuckDB rounds it when cast to an integer (Spark SQL)."""
    decimal = exp.Like(
        this=exp.Anonymous(this="TYPEOF", expressions=[x.copy()]),
        expression=exp.Literal.string("decimal%"),
    )
    return exp.Case(
        ifs=[exp.If(this=decimal, true=exp.Round(this=x.copy()))],
        default=exp.Anonymous(this="BROUND", expressions=[x.copy()]),
    )


def _candidates(tree: exp.Expr) -> list[exp.Cast]:
    """The casts to an integer type whose operand may be a fraction (not an integer
    literal), in the order ``find_all`` gives (the same in a copy of the tree)."""
    return [
        c
        for c in tree.find_all(exp.Cast)
        if c.to.this in exp.DataType.INTEGER_TYPES and not _integer_literal(c.this)
    ]


def _integer_literal(node: exp.Expr) -> bool:
    if isinstance(node, exp.Neg):
        node = node.this
    return isinstance(node, exp.Literal) and node.is_int


def _fractional_operands(
    tree: exp.Expr, dialect: str, table_types: TableTypes, expected: int
) -> list[bool] | None:
    """Whether each candidate cast's operand is a fractional number, by sqlglot's types
    over a qualified copy of ``tree``; None when they cannot be known."""
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    tables = [
        t
        for t in tree.find_all(exp.Table)
        if isinstance(t.this, exp.Identifier) and not (not t.db and t.name.lower() in ctes)
    ]
    named = [(t.catalog, t.db, t.name) for t in tables]
    depth = max((len([p for p in parts if p]) for parts in named), default=1)
    # A schema has one depth: a table named with fewer parts (a file's view beside a
    # database's table) goes under placeholders, which qualify() gives it too.
    fill = {"catalog": _CATALOG if depth == 3 else None, "db": _DB if depth >= 2 else None}
    mapping: dict[str, object] = {}
    for parts in named:
        columns = table_types(parts)
        if columns is None:
            return None
        catalog, db, name = parts
        path = [catalog or fill["catalog"], db or fill["db"], name][3 - depth :]
        level = mapping
        for part in path[:-1]:
            level = level.setdefault(str(part), {})  # type: ignore[assignment]
        level[name] = dict(columns)
    try:
        schema = MappingSchema(mapping, dialect=dialect)
        copy = qualify(
            _unnested(tree.copy()),
            schema=schema,
            dialect=dialect,
            catalog=fill["catalog"],
            db=fill["db"],
            validate_qualify_columns=False,
            quote_identifiers=False,
            identify=False,
        )
        annotate_types(copy, schema=schema, dialect=dialect)
    except Exception:  # sqlglot's optimizer raises many kinds: not known
        return None
    found = _candidates(copy)
    if len(found) != expected:
        return None
    return [c.this.type is not None and c.this.type.this in _FRACTIONAL for c in found]


def _unnested(tree: exp.Expr) -> exp.Expr:
    """A file's view stands where the reader function stood, inside the FROM's table node
    (``SparkEngine._file_views``): Spark reads that, sqlglot's scopes do not. The view's
    table takes the outer node's place, with its alias."""
    for outer in list(tree.find_all(exp.Table)):
        inner = outer.this
        if isinstance(inner, exp.Table):
            view = inner.copy()
            alias = outer.args.get("alias")
            if alias is not None:
                view.set("alias", alias.copy())
            outer.replace(view)
    return tree
