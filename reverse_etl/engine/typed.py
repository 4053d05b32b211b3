"""Operands typed by sqlglot from the tables' column types, for the rewrites whose meaning
depends on them (``spark_numbers.py`` from Spark's catalog, ``pg_meanings.typed_meanings``
from PostgreSQL's): a query is qualified and typed on a copy, and each node to rewrite is
paired with its typed twin. Where the types cannot be found (a table the engine cannot
describe, a query sqlglot cannot qualify), there is no pairing and the query goes as
written; the nodes so left are said (``untyped_notes``: the engine's ``untyped``, which
``retl plan`` and ``retl sync`` warn of at the model)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
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
_TWIN = "retl_twin"  # a node's mark in the copy to type (sqlglot's meta: copied with it)


def typed_pairs(
    tree: exp.Expr,
    find: Callable[[exp.Expr], list[exp.Expr]],
    dialect: str,
    table_types: TableTypes,
) -> list[tuple[exp.Expr, exp.Expr]]:
    """Each node ``find(tree)`` gives, with its twin in a typed copy of ``tree``, the
    innermost first (a rewrite copies its operands, with their own rewrites done); none when
    there is no such node or the copy cannot be typed. Each node is marked in the copy before
    it is qualified, and its twin is the node that keeps the mark: qualify() writes an alias
    a later clause names in its place (``GROUP BY v``, ``GROUP BY 1``, ``WHERE h > 1``, a
    lateral alias in the select list), which gave the copy more such nodes than the query
    had, and the nodes paired by their order were given up, every one (a cast of a fraction
    to an integer went as written: truncated on Spark). A node the copy lost has no twin.
    The nodes left without one are said (``untyped_notes``)."""
    nodes = find(tree)
    if not nodes:
        return []
    marked = tree.copy()
    for i, node in enumerate(find(marked)):
        node.meta[_TWIN] = i
    typed = typed_copy(marked, dialect, table_types)
    twins: dict[int, exp.Expr] = {}
    for found in find(typed) if typed is not None else []:
        mark = found.meta.get(_TWIN)
        if isinstance(mark, int) and mark not in twins:  # (an alias written out: the same)
            twins[mark] = found
    pairs = [(n, twins[i]) for i, n in enumerate(nodes) if i in twins]
    say_untyped([n for i, n in enumerate(nodes) if i not in twins], dialect)
    by_id = {id(n): twin for n, twin in pairs}
    return [(n, by_id[id(n)]) for n in innermost_first([n for n, _ in pairs])]


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


_UNTYPED: ContextVar[list[str] | None] = ContextVar("retl_untyped", default=None)


@contextmanager
def untyped_notes() -> Iterator[list[str]]:
    """While the block runs, the expressions (in the query's dialect, shortened) that a
    rewrite needing their operands' types left as written because ``typed_pairs`` could not
    type them: what may give another value than DuckDB's."""
    notes: list[str] = []
    token = _UNTYPED.set(notes)
    try:
        yield notes
    finally:
        _UNTYPED.reset(token)


def say_untyped(nodes: list[exp.Expr], dialect: str) -> None:
    """``nodes`` (of the query being rewritten) left as written for want of a type, said
    to the ``untyped_notes`` open, if any."""
    notes = _UNTYPED.get()
    if notes is None:
        return
    for node in nodes:
        try:
            text = " ".join(node.sql(dialect=dialect).split())
        except Exception:  # a rewrite's own function sqlglot cannot write back
            text = node.key.upper()
        text = text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."
        if text not in notes:
            notes.append(text)


_SHOWN = 60  # characters of an expression said
