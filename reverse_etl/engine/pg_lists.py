"""DuckDB's list functions, any_value and GLOB, written for PostgreSQL as DuckDB means them
(found by tests/portable_exprs.py; ``pg_meanings`` applies them to DuckDB-dialect models).

- ``list_transform(l, x -> f(x))`` (and ``(x, i) -> ...``, ``i`` from 1): PostgreSQL has no
  lambdas (sqlglot wrote ``TRANSFORM``, which failed there). Written ``ARRAY(SELECT f(x)
  FROM UNNEST(l) WITH ORDINALITY AS _t(x, i) ORDER BY i)``, NULL for a NULL list.
- ``list_filter(l, x -> p(x))``: sqlglot's ``ARRAY(SELECT x FROM UNNEST(l) ... WHERE p)``
  gave ``{}`` for a NULL list (DuckDB: NULL) and no order; written as above.
- ``list_sum``, ``list_min``, ``list_max``, ``list_avg`` and ``list_aggregate(l, 'sum' |
  'min' | 'max' | 'avg' | 'count')``: the aggregate over ``UNNEST(l)`` in a scalar subquery
  (NULL items skipped, NULL for an empty list but 0 for a count, as DuckDB's); NULL for a
  NULL list; an average as a DOUBLE. (sqlglot reads ``list_min``/``list_max`` as
  ``ARRAY_MIN``/``ARRAY_MAX``, which PostgreSQL lacks too: ``array_extreme``.) A list of
  lists has no PostgreSQL form (its arrays are one grid: ``unnest`` flattens it).
- ``list_sort(l [, order [, nulls]])`` and ``list_reverse_sort``: the items ``UNNEST``ed and
  ordered (ascending, NULLs last by default, as DuckDB's).
- ``list_slice(l, a, b)`` with literal bounds from 0: ``(l)[a:b]`` (PostgreSQL's slice of an
  array counts from 1 and clips as DuckDB's does); a negative bound (from the end in DuckDB)
  goes as written, and fails there.
- ``any_value(x)``: PostgreSQL has it from version 16 only. Written as element 1 of an
  ``array_agg`` of the non-NULL ``x``, by ``pg_meanings._picked`` as ``first`` is.
- ``l[-k]`` counts from the end in DuckDB, and is NULL in PostgreSQL (silently): written
  ``(l)[array_length(l, 1) + 1 - k]``; ``l[i]`` so when ``i`` is negative.
- ``s GLOB 'pattern'`` with a literal pattern of ``*`` and ``?``: ``s LIKE`` the same pattern
  (``%`` and ``_`` for them, the pattern's own ``%`` and ``_`` escaped). A pattern with a
  character class (``[a-z]``) goes as written, and fails there.
"""

from __future__ import annotations

from sqlglot import exp

from reverse_etl.engine.portable import (
    glob_as_like,
    model_index,
    null_if_null,
    whole_number,
)

_ITEM, _POSITION, _TABLE = "__x", "__i", "__t"


def _unnested(
    lst: exp.Expr, item: str, position: str, project: exp.Expr, where: exp.Expr | None = None
) -> exp.Expr:
    """``ARRAY(SELECT project FROM UNNEST(lst) WITH ORDINALITY AS __t(item, position)
    [WHERE where] ORDER BY position)``, NULL for a NULL ``lst``."""
    # WITH ORDINALITY AS __t(item, position): sqlglot holds the position as the offset
    source = exp.Unnest(
        expressions=[lst.copy()],
        alias=exp.TableAlias(this=exp.to_identifier(_TABLE), columns=[exp.to_identifier(item)]),
        offset=exp.to_identifier(position),
    )
    select = exp.select(project).from_(source).order_by(exp.column(position))
    if where is not None:
        select = select.where(where)
    return null_if_null(lst, exp.Array(expressions=[select]))


def _lambda(node: exp.Expr) -> tuple[exp.Expr, str, str] | None:
    """The body of a one- or two-parameter lambda, and its item and position names."""
    fn = node.expression
    if not isinstance(fn, exp.Lambda) or not 1 <= len(fn.expressions) <= 2:
        return None
    names = [p.name for p in fn.expressions]
    if not all(names):
        return None
    return fn.this, names[0], names[1] if len(names) == 2 else _POSITION


def list_transform(node: exp.Expr) -> exp.Expr:
    found = _lambda(node)
    if found is None or node.this is None:
        return node
    body, item, position = found
    return _unnested(node.this, item, position, body.copy())


def list_filter(node: exp.Expr) -> exp.Expr:
    found = _lambda(node)
    if found is None or node.this is None:
        return node
    body, item, position = found
    return _unnested(node.this, item, position, exp.column(item), where=body.copy())


_AGGREGATES = {"sum": "SUM", "min": "MIN", "max": "MAX", "avg": "AVG", "count": "COUNT"}
_LIST_AGGREGATES = {"list_sum": "sum", "list_min": "min", "list_max": "max", "list_avg": "avg"}
# (list_min and list_max reach here as ARRAY_MIN / ARRAY_MAX: ``array_extreme``)


def list_aggregate(node: exp.Expr) -> exp.Expr:
    """``list_sum(l)`` & co. and ``list_aggregate(l, 'name')`` (see the module docstring)."""
    name = str(node.this).lower()
    args = node.expressions
    if name in _LIST_AGGREGATES and len(args) == 1:
        lst, kind = args[0], _LIST_AGGREGATES[name]
    elif name == "list_aggregate" and len(args) == 2 and args[1].is_string:
        lst, kind = args[0], args[1].name.lower()
    else:
        return node
    if kind not in _AGGREGATES:
        return node
    value: exp.Expr = exp.Anonymous(
        this=_AGGREGATES[kind], expressions=[exp.column(_ITEM, table=_TABLE)]
    )
    if kind == "avg":
        value = exp.Cast(this=value, to=exp.DataType.build("DOUBLE PRECISION"))
    source = exp.Unnest(
        expressions=[lst.copy()],
        alias=exp.TableAlias(this=exp.to_identifier(_TABLE), columns=[exp.to_identifier(_ITEM)]),
    )
    return null_if_null(lst, exp.Subquery(this=exp.select(value).from_(source)))


def list_sort(node: exp.Expr) -> exp.Expr:
    """``list_sort(l [, 'ASC' | 'DESC' [, 'NULLS FIRST' | 'NULLS LAST']])`` and
    ``list_reverse_sort`` (sqlglot's ``ARRAY_SORT``, which PostgreSQL lacks) as
    ``ARRAY(SELECT x FROM UNNEST(l) ... ORDER BY x ...)``; DuckDB's default order is
    ascending with NULLs last. NULL for a NULL list."""
    lst, asc, nulls = node.this, node.args.get("asc"), node.args.get("nulls_first")
    if lst is None or not all(a is None or isinstance(a, exp.Boolean) for a in (asc, nulls)):
        return node
    desc = asc is not None and not asc.this
    first = nulls is not None and bool(nulls.this)
    item = exp.column(_ITEM, table=_TABLE)
    source = exp.Unnest(
        expressions=[lst.copy()],
        alias=exp.TableAlias(this=exp.to_identifier(_TABLE), columns=[exp.to_identifier(_ITEM)]),
    )
    select = (
        exp.select(item.copy())
        .from_(source)
        .order_by(exp.Ordered(this=item.copy(), desc=desc, nulls_first=first))
    )
    return null_if_null(lst, exp.Array(expressions=[select]))


def array_extreme(node: exp.Expr) -> exp.Expr:
    """``list_min(l)`` / ``list_max(l)`` (sqlglot's ``ARRAY_MIN``/``ARRAY_MAX``, which
    PostgreSQL lacks)."""
    name = "list_min" if isinstance(node, exp.ArrayMin) else "list_max"
    if node.this is None:
        return node
    return list_aggregate(exp.Anonymous(this=name, expressions=[node.this]))


def list_slice(node: exp.Expr) -> exp.Expr:
    args = node.expressions
    if len(args) != 3 or any(whole_number(a) is None for a in args[1:]):
        return node
    bounds = exp.Slice(this=args[1].copy(), expression=args[2].copy())
    return exp.Bracket(this=exp.Paren(this=args[0].copy()), expressions=[bounds])


def negative_index(node: exp.Expr) -> exp.Expr:
    """``l[-k]`` (from the end in DuckDB; NULL in PostgreSQL, silently) as
    ``(l)[array_length(l, 1) + 1 - k]``: out of range, an index below 1, NULL there too.
    An index that is no literal, ``l[i]``, the same way when ``i`` is negative."""
    index = model_index(node)
    if index is None or isinstance(index, exp.Literal | exp.Slice):
        return node
    from_end = from_end_index(node)
    if from_end is not None:
        return _from_end(node.this, _number(from_end))
    if isinstance(index, exp.Neg):
        return node
    negative = exp.LT(this=index.copy(), expression=_number(0))
    return exp.Case(
        ifs=[exp.If(this=negative, true=_from_end(node.this, exp.Neg(this=index.copy())))],
        default=node.copy(),
    )


def _from_end(lst: exp.Expr, k: exp.Expr) -> exp.Expr:
    length = exp.Anonymous(this="ARRAY_LENGTH", expressions=[lst.copy(), _one()])
    index = exp.Sub(this=exp.Add(this=length, expression=_one()), expression=k)
    return exp.Bracket(this=exp.Paren(this=lst.copy()), expressions=[index], offset=1)


def from_end_index(node: exp.Expr) -> int | None:
    """``k`` of a DuckDB-dialect ``l[-k]`` (sqlglot holds list indexes from 0: ``l[-1]`` as
    ``-2``), or None for another subscript."""
    index = model_index(node)
    if isinstance(index, exp.Neg):
        held = whole_number(index.this)
        return None if held is None else (held - 1 or None)
    return None


def _one() -> exp.Expr:
    return exp.Literal.number(1)


def _number(n: int) -> exp.Expr:
    return exp.Literal.number(n)


def glob(node: exp.Expr) -> exp.Expr:
    like = glob_as_like(node.expression)
    if like is None:
        return node
    return exp.Like(this=node.this.copy(), expression=like)
