"""Operands typed by sqlglot from the tables' column types, for the rewrites whose meaning
depends on them (``spark_numbers.py`` from Spark's catalog, ``pg_meanings.typed_meanings``
from PostgreSQL's): a query is qualified and typed on a copy, and each node to rewrite is
paired with its typed twin. Where the types cannot be found (a table the engine cannot
describe, a query sqlglot cannot qualify), there is no pairing and the query goes as
written."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

import reverse_etl.sqlglot_fixes  # noqa: F401  (typed as DuckDB types: ts - ts, n * interval)
from reverse_etl.engine.portable import innermost_first

# A table's columns and their types (DuckDB's words), by its name as the query writes it
# (catalog, database, name; empty where the query leaves one out); None: not known.
TableTypes = Callable[[tuple[str, str, str]], Mapping[str, str] | None]

_CATALOG, _DB = "__retl_catalog", "__retl_db"  # stand for the session's own


def typed_pairs(
    tree: exp.Expr,
    find: Callable[[exp.Expr], list[exp.Expr]],
    dialect: str,
    table_types: TableTypes,
) -> list[tuple[exp.Expr, exp.Expr]]:
    """Each node ``find(tree)`` gives, with its twin in a typed copy of ``tree``, the
    innermost first (a rewrite copies its operands, with their own rewrites done); none when
    there is no such node, the copy cannot be typed, or ``find`` gives it other nodes."""
    nodes = find(tree)
    if not nodes:
        return []
    typed = typed_copy(tree, dialect, table_types)
    if typed is None:
        return []
    found = find(typed)
    if [type(n) for n in found] != [type(n) for n in nodes]:
        return []  # the copy lost or gained a node: not known
    twins = {id(n): f for n, f in zip(nodes, found, strict=True)}
    return [(n, twins[id(n)]) for n in innermost_first(nodes)]


def typed_copy(
    tree: exp.Expr,
    dialect: str,
    table_types: TableTypes,
    *,
    metadata: Mapping[type[exp.Expr], dict[str, Any]] | None = None,
) -> exp.Expr | None:
    """A copy of ``tree``, qualified and typed by sqlglot from the tables' types; None when
    that cannot be done. ``metadata``: typing rules in place of the dialect's (sqlglot's
    ``EXPRESSION_METADATA``)."""
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
        annotate_types(
            copy,
            schema=schema,
            dialect=dialect,
            expression_metadata=dict(metadata) if metadata is not None else None,
        )
    except Exception:  # sqlglot's optimizer raises many kinds: not known
        return None
    return copy


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
