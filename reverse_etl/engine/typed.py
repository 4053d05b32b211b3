"""Operands typed by sqlglot from the tables' column types, for the rewrites whose meaning
depends on them (``spark_numbers.py`` from Spark's catalog, ``pg_meanings.typed_meanings``
from PostgreSQL's): a query is qualified and typed on a copy, and each node to rewrite is
paired with its typed twin. Where the types cannot be found (a table the engine cannot
describe, a query sqlglot cannot qualify), there is no pairing and the query goes as
written; the nodes so left are said (``untyped_notes``: the engine's ``untyped``, which
``retl plan`` and ``retl sync`` warn of at the model)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

import reverse_etl.sqlglot_fixes  # noqa: F401  (typed as DuckDB types: ts - ts, n * interval)
from reverse_etl.engine.portable import innermost_first
from reverse_etl.errors import EngineError

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
    ``EXPRESSION_METADATA``). Either way, the calls retl's own rewrites wrote before the
    copy is typed are typed as the value they stand for (``_with_rewritten_forms``)."""
    rules = _rewritten_forms(dialect) if metadata is None else _with_rewritten_forms(metadata)
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
            expression_metadata=rules,
        )
    except Exception:  # sqlglot's optimizer raises many kinds: not known
        return None
    return copy


@functools.cache
def _rewritten_forms(dialect: str) -> dict[type[exp.Expr], dict[str, Any]]:
    return _with_rewritten_forms(Dialect.get_or_raise(dialect).EXPRESSION_METADATA)


def _with_rewritten_forms(
    metadata: Mapping[type[exp.Expr], dict[str, Any]],
) -> dict[type[exp.Expr], dict[str, Any]]:
    """``metadata`` with the Spark calls retl writes in a model's place before its typed
    rewrites run (spark_lists.py) typed as the value they stand for, not unknown:
    ``ANY_VALUE(x, TRUE)`` (DuckDB's ``any_value(x)``) as ``x``, ``TRY_ELEMENT_AT(l, k)``
    (``l[k]``) as an item of ``l`` (a value of a map), and the sorted list ``first(x ORDER
    BY k)`` is computed from: ``COLLECT_LIST`` of a ``NAMED_STRUCT``, ``ARRAY_SORT`` of it,
    its first item (``ELEMENT_AT`` of a list); ``REGEXP_REPLACE(s, p, r)`` (``trim(s)``, in
    spark_patterns.py) as text and ``ARRAY_POSITION(l, x)`` (``list_position``) as a BIGINT.
    None is a DuckDB call of that form (DuckDB's ``any_value`` takes one argument, its
    ``element_at`` a map, its ``regexp_replace`` and ``array_position`` are sqlglot's own
    nodes): a model that writes one fails in DuckDB itself. Any other call is typed by
    ``metadata``'s rule. A map's ``m['k']`` (sqlglot's unknown but for a map literal's own
    key) is the map's value, as in DuckDB and Spark: ``floor(m['k'])`` and
    ``cast(m['k'] as int)`` are rewritten by it."""
    rules = dict(metadata)
    anonymous = rules.get(exp.Anonymous, {}).get("annotator")

    def annotate(annotator: Any, node: exp.Anonymous) -> Any:
        if anonymous is not None:
            anonymous(annotator, node)
        name, args = str(node.this).upper(), node.expressions
        typ = args[0].type if args else None
        if name == "ANY_VALUE" and len(args) == 2 and typ is not None:
            annotator._set_type(node, typ)
        elif name == "COLLECT_LIST" and len(args) == 1 and typ is not None:
            listed = exp.DataType(this=exp.DataType.Type.ARRAY, expressions=[typ], nested=True)
            annotator._set_type(node, listed)
        elif name == "ARRAY_SORT" and typ is not None:
            annotator._set_type(node, typ)
        elif name == "REGEXP_REPLACE" and len(args) == 3:
            annotator._set_type(node, exp.DataType.build("VARCHAR"))  # trim(s): text
        elif name == "ARRAY_POSITION" and len(args) == 2:
            annotator._set_type(node, exp.DataType.build("BIGINT"))  # list_position(l, x)
        elif name == "NAMED_STRUCT" and args and len(args) % 2 == 0:
            _struct_type(annotator, node, args)
        elif name in ("TRY_ELEMENT_AT", "ELEMENT_AT") and len(args) == 2 and typ is not None:
            if typ.this in (exp.DataType.Type.ARRAY, exp.DataType.Type.LIST) and typ.expressions:
                annotator._set_type(node, typ.expressions[0])
            elif name == "TRY_ELEMENT_AT" and _is_map(typ):
                # a map's value (DuckDB's own element_at of a map is a list)
                annotator._set_type(node, typ.expressions[1])
        return node

    rules[exp.Anonymous] = {"annotator": annotate}
    bracket = rules.get(exp.Bracket, {}).get("annotator")

    def annotate_bracket(annotator: Any, node: exp.Bracket) -> Any:
        if bracket is not None:
            bracket(annotator, node)
        typ, keys = node.this.type, node.expressions
        unknown = node.type is None or node.type.this == _UNKNOWN
        one_key = len(keys) == 1 and not isinstance(keys[0], exp.Slice)
        if unknown and typ is not None and _is_map(typ) and one_key:
            annotator._set_type(node, typ.expressions[1])  # m['k']: its value, in both
        return node

    rules[exp.Bracket] = {"annotator": annotate_bracket}
    return rules


def _is_map(typ: exp.DataType) -> bool:
    return typ.this == exp.DataType.Type.MAP and len(typ.expressions) == 2


def _struct_type(annotator: Any, node: exp.Expr, args: list[exp.Expr]) -> None:
    """``NAMED_STRUCT('k0', k, 'v', x)`` (the sorted list ``first(x ORDER BY k)`` is
    computed from on Spark): a struct of its values' types, when each is known."""
    fields = []
    for name, value in zip(args[::2], args[1::2], strict=True):
        kind = value.type
        if not isinstance(name, exp.Literal) or kind is None or kind.this == _UNKNOWN:
            return
        fields.append(exp.ColumnDef(this=exp.to_identifier(name.name), kind=kind.copy()))
    struct = exp.DataType(this=exp.DataType.Type.STRUCT, expressions=fields, nested=True)
    annotator._set_type(node, struct)


_UNKNOWN = exp.DataType.Type.UNKNOWN


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
# The model's own nodes, as parsed (``keep_model_text``), with their dialect: a rewritten
# node's mark (``_MODEL``, sqlglot's meta: copied with it) is its index here.
_MODEL_NODES: ContextVar[list[tuple[exp.Expr, str]] | None] = ContextVar(
    "retl_model_nodes", default=None
)
_MODEL = "retl_model_node"


@contextmanager
def untyped_notes() -> Iterator[list[str]]:
    """While the block runs, the expressions (in the model's own words, its dialect's text
    on one line: ``keep_model_text``) that a rewrite needing their operands' types left as
    written because ``typed_pairs`` could not type them: what may give another value than
    DuckDB's."""
    notes: list[str] = []
    token = _UNTYPED.set(notes)
    nodes = _MODEL_NODES.set([])
    try:
        yield notes
    finally:
        _MODEL_NODES.reset(nodes)
        _UNTYPED.reset(token)


@contextmanager
def model_words() -> Iterator[None]:
    """While the block runs, ``keep_model_text`` keeps a model's nodes as parsed (as it does
    while ``untyped_notes`` is open), for a refusal that quotes the model (``model_text``):
    ``i / 2``, not the ``CAST(i AS DOUBLE) / CAST(2 AS DOUBLE)`` a rewrite made of it."""
    nodes = _MODEL_NODES.set([])
    try:
        yield
    finally:
        _MODEL_NODES.reset(nodes)


def keep_model_text(tree: exp.Expr, dialect: str) -> None:
    """While ``untyped_notes`` is open (else nothing: a sync's own transpile pays nothing),
    each node of ``tree`` (a model as parsed, in ``dialect``, before any rewrite) is marked
    with its twin in a copy kept aside: a node said later is quoted as the model wrote it
    (``CAST(j -> '$.n' AS INT)``), not as the rewrites left it for the warehouse
    (``CAST(TO_JSON(VARIANT_GET(...``). A node a rewrite built is quoted as it stands."""
    kept = _MODEL_NODES.get()
    if kept is None:
        return
    original = tree.copy()
    for node, twin in zip(tree.walk(), original.walk(), strict=True):
        node.meta[_MODEL] = len(kept)
        kept.append((twin, dialect))


def say_untyped(nodes: list[exp.Expr], dialect: str) -> None:
    """``nodes`` (of the query being rewritten) left as written for want of a type, said
    to the ``untyped_notes`` open, if any, in the model's words where they are known."""
    notes = _UNTYPED.get()
    if notes is None:
        return
    for node in nodes:
        text = model_text(node, dialect)
        if text not in notes:  # whole: shortened where it is shown, after it is masked
            notes.append(text)


_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Mod)
_WHOLE_OR_DECIMAL = {*exp.DataType.INTEGER_TYPES, exp.DataType.Type.DECIMAL}


def decimal_in_engines(seen: exp.Expr) -> bool:
    """Whether ``seen`` (typed by sqlglot) is a DECIMAL in DuckDB, PostgreSQL and Spark where
    sqlglot may have typed it a DOUBLE: a fraction literal written without an exponent (up to
    38 digits), in parentheses or negated, or ``+``, ``-``, ``*``, ``%`` of such literals,
    DECIMALs and whole numbers. sqlglot types ``1.5`` a DOUBLE (DuckDB's SQL is typed as
    DuckDB types it: ``sqlglot_fixes``; PostgreSQL's is not); ``f * 1.5`` of a DOUBLE ``f``
    and any division (a DOUBLE on Spark: ``spark_numbers``) are not."""
    while isinstance(seen, exp.Paren | exp.Neg):
        seen = seen.this
    if isinstance(seen, exp.Literal):
        text = seen.name
        digits = sum(c.isdigit() for c in text)
        return not seen.is_string and "." in text and "e" not in text.lower() and digits <= 38
    if isinstance(seen, _ARITHMETIC):
        return all(
            decimal_in_engines(side)
            or (side.type is not None and side.type.this in _WHOLE_OR_DECIMAL)
            for side in (seen.left, seen.right)
        )
    return False


def model_text(node: exp.Expr, dialect: str) -> str:
    """``node`` on one line, as the model wrote it where that is known (``keep_model_text``),
    else as it stands in ``dialect``; without the comments sqlglot attached to it (a line's
    ``-- ...`` above it was quoted as ``/* ... */`` in the middle of the message)."""
    kept = _MODEL_NODES.get() or []
    mark = node.meta.get(_MODEL)
    written, in_dialect = (
        kept[mark] if isinstance(mark, int) and mark < len(kept) else (node, dialect)
    )
    try:
        return " ".join(written.sql(dialect=in_dialect, comments=False).split())
    except Exception:  # a rewrite's own function sqlglot cannot write back
        return node.key.upper()


class UntypedOf:
    """``untyped`` and ``untyped_with`` of an engine whose ``transpile`` types its operands
    (``TypedRewrites``: PostgreSQL, Spark). ``_static_types``, set while ``untyped_with``
    runs, is what the engine's catalog lookup reads instead of asking the server."""

    _static_types: TableTypes | None = None

    def transpile(self, sql: str) -> str:
        raise NotImplementedError

    def untyped(self, sql: str) -> list[str]:
        """What ``transpile`` left as written for want of its operands' types."""
        with untyped_notes() as notes:
            self.transpile(sql)
        return notes

    def untyped_with(self, sql: str, table_types: TableTypes) -> list[str]:
        """``untyped`` with the tables' types from ``table_types`` (``retl validate``'s
        schemas), not the warehouse's catalog: nothing connects, no session is started. A
        model ``transpile`` refuses (or, on Spark, one that reads a file directly: its view
        needs a session) gives none (said elsewhere)."""
        self._static_types = table_types
        try:
            return self.untyped(sql)
        except EngineError:
            return []
        finally:
            self._static_types = None
