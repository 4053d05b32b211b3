"""Times inside JSON as DuckDB writes them, for PostgreSQL and Spark.

DuckDB's ``to_json`` (and a cast to JSON, ``json_object``) writes a timestamp, a timestamp
with time zone or a time as its text: ``{"t":"2024-01-02 03:04:05.12"}``, the same as
``CAST(t AS VARCHAR)``. PostgreSQL writes ISO's ``2024-01-02T03:04:05.12``, Spark
``2024-01-02T03:04:05.120Z``. Each such value inside a JSON constructor (directly, or in
the struct literals it writes) whose type sqlglot finds to be a time is cast to VARCHAR
first, in the model's dialect, and so is a list literal of times without zones: each
engine's text of a time is DuckDB's; for PostgreSQL a list of times with a zone among
them (or NULLs) too, its items first as TIMESTAMPTZ, as DuckDB makes them
(``tests/portable_exprs.py`` checks the casts, and these). A value of a column of
structs (``to_json(s)`` of a table's struct column) is not
reached; nor is anything whose type cannot be found (a table the engine cannot describe):
those go as written.
"""

from __future__ import annotations

from sqlglot import exp

from reverse_etl.engine.typed import TableTypes, typed_pairs

_TIMES = {
    exp.DataType.Type.TIMESTAMP,
    exp.DataType.Type.TIMESTAMPTZ,
    exp.DataType.Type.TIMESTAMPLTZ,
    exp.DataType.Type.TIMESTAMPNTZ,
    exp.DataType.Type.TIMESTAMP_S,
    exp.DataType.Type.TIMESTAMP_MS,
    exp.DataType.Type.TIMESTAMP_NS,
    exp.DataType.Type.DATETIME,
    exp.DataType.Type.TIME,
    exp.DataType.Type.TIMETZ,
}
_UNZONED = _TIMES - {
    exp.DataType.Type.TIMESTAMPTZ,
    exp.DataType.Type.TIMESTAMPLTZ,
    exp.DataType.Type.TIMETZ,
}
_ZONED = {exp.DataType.Type.TIMESTAMPTZ, exp.DataType.Type.TIMESTAMPLTZ}
# What stands between a JSON constructor and a value it writes.
_LITERALS = (exp.Struct, exp.Array, exp.PropertyEQ, exp.Alias, exp.Slice, exp.JSONKeyValue)


def json_times_as_text(
    tree: exp.Expr, dialect: str, table_types: TableTypes, *, zoned_lists: bool = False
) -> exp.Expr:
    """``tree`` (in ``dialect``, DuckDB's or PostgreSQL's) with each time a JSON
    constructor writes cast to VARCHAR (see the module docstring). ``zoned_lists``: a list
    literal of times with a zone among them is cast whole too (PostgreSQL: its text of a
    TIMESTAMPTZ in the session's zone, UTC, is DuckDB's, '2024-06-01 10:00:00+00', where
    its JSON is ISO's '2024-06-01T10:00:00+00:00'). Changed in place."""
    for node, twin in typed_pairs(tree, _json_values, dialect, table_types):
        kind = twin.type
        if kind is None:
            continue
        if kind.this in _TIMES:
            node.replace(exp.Cast(this=node.copy(), to=exp.DataType.build("VARCHAR")))
        elif isinstance(twin, exp.Array) and _list_of_times(twin, zoned_lists):
            # A list's items share one type (DuckDB makes a TIMESTAMP beside a TIMESTAMPTZ
            # one; sqlglot's typing does not say so): a list whose every item is a time
            # without zone is cast whole. One with a zone is left as it is (Spark casts no
            # list of them to text with their offsets).
            items = node.copy()
            if any(e.type.this in _ZONED for e in twin.expressions if e.type is not None):
                # as DuckDB, every item WITH TIME ZONE (a cast of ARRAY[...] casts each item
                # on its own: a TIMESTAMP's text would lack its '+00')
                items = exp.Cast(this=items, to=exp.DataType.build("TIMESTAMPTZ[]"))
            node.replace(exp.Cast(this=items, to=exp.DataType.build("VARCHAR[]")))
    return tree


def _list_of_times(array: exp.Array, zoned: bool) -> bool:
    """Whether every item of ``array`` (typed) is a time without zone; ``zoned``: or with
    one, or a NULL, one at least a time."""
    if not zoned:
        return all(e.type is not None and e.type.this in _UNZONED for e in array.expressions)
    items = [e for e in array.expressions if not isinstance(e, exp.Null)]
    times = _UNZONED | _ZONED
    return bool(items) and all(e.type is not None and e.type.this in times for e in items)


def _json_values(tree: exp.Expr) -> list[exp.Expr]:
    """The values JSON constructors in ``tree`` write, in the order found."""
    values: list[exp.Expr] = []
    for constructor in tree.find_all(exp.Anonymous, exp.Cast, exp.JSONObject):
        if isinstance(constructor, exp.Anonymous):
            if str(constructor.this).lower() != "to_json" or len(constructor.expressions) != 1:
                continue
            roots = list(constructor.expressions)
        elif isinstance(constructor, exp.Cast):
            if not constructor.to.is_type("json") or not isinstance(
                constructor.this, exp.Struct | exp.Array
            ):
                continue
            roots = [constructor.this]
        else:
            roots = [
                p.expression for p in constructor.expressions if isinstance(p, exp.JSONKeyValue)
            ]
        for root in roots:
            values += _leaves(root)
    return values


def _leaves(node: exp.Expr) -> list[exp.Expr]:
    """``node``, or the values inside it when it is a struct literal (or a list literal of
    struct literals; a list of other values is one value, of the list's type)."""
    if isinstance(node, exp.Array) and not all(isinstance(e, exp.Struct) for e in node.expressions):
        return [node]
    if not isinstance(node, _LITERALS):
        return [node]
    if isinstance(node, exp.Alias):
        parts = [node.this]
    else:  # a field's value is its ``expression`` (its key, ``this``, is not a value)
        parts = [node.args.get("expression"), *node.expressions]
    out: list[exp.Expr] = []
    for part in parts:
        if isinstance(part, exp.Expr) and not isinstance(part, exp.Identifier):
            out += _leaves(part)
    return out
