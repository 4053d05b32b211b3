"""DuckDB's list functions, any_value and GLOB, written for Spark as DuckDB means them (found
by tests/portable_exprs.py; ``spark_meanings`` applies them to DuckDB-dialect models).

- ``list_transform(l, (x, i) -> ...)`` and ``list_filter`` with an index: DuckDB counts
  ``i`` from 1, Spark's ``transform``/``filter`` from 0 (sqlglot kept the lambda as it is:
  ``[10, 20]`` and ``x + i`` gave ``[10, 21]`` instead of ``[11, 22]``, silently). The body
  reads ``(i + 1)``; a nested lambda that binds the same name again goes as written.
- ``list_slice(l, a, b)`` (and ``l[a:b]``) with literal bounds from 0: Spark's ``slice(l,
  start, length)`` (which Spark names so; DuckDB's name failed there), clipped as DuckDB
  clips. A negative bound goes as written, and fails.
- ``any_value(x)`` with a FILTER: sqlglot wrote ``ANY_VALUE(x) IGNORE NULLS FILTER (...)``,
  a syntax error there; written ``ANY_VALUE(x, TRUE)``, Spark's form that skips NULLs.
- ``l[k]`` with a literal ``k``: ``try_element_at(l, k)``, NULL beyond the end as in DuckDB
  (Spark's ``l[k - 1]`` fails there, under ANSI); ``l[-k]`` (from the end in DuckDB;
  sqlglot wrote ``l[-k-1]``): ``try_element_at(l, -k)``.
- ``quantile_cont(x, p)``: sqlglot wrote ``PERCENTILE_CONT(x, p)``, which Spark takes only
  as ``WITHIN GROUP``; its ``percentile(x, p)`` interpolates as DuckDB's does.
- ``s GLOB 'pattern'`` with a literal pattern of ``*`` and ``?``: ``s LIKE`` the same
  pattern (``portable.glob_as_like``); a character class goes as written, and fails.
- ``list_distinct(l)`` leaves NULL out in DuckDB, Spark's ``array_distinct`` keeps one:
  written ``array_distinct(array_compact(l))``. Its order is DuckDB's hash
  table's (``[3, 1, 3, 2]`` gave ``[2, 1, 3]``), no order Spark can give (it keeps the
  first of each): refused by name unless what takes it needs no order (``list_sort``,
  ``len``, ``list_contains``, ``list_has_any``/``array_has_all`` on either side,
  ``list_max``/``list_min``, ``unnest`` without positions).
- Not bridged, and loud: ``list_sum``, ``list_avg``, ``list_aggregate`` (Spark's
  ``aggregate`` needs its start value's type, which the list's element type decides).
"""

from __future__ import annotations

from sqlglot import exp

from reverse_etl.engine.pg_lists import from_end_index
from reverse_etl.engine.portable import glob_as_like, model_index, whole_number
from reverse_etl.errors import EngineError

# What takes a list (its first argument) and gives the same whatever its order (a DuckDB
# model's, as parsed): sorted, counted, searched, its largest or smallest item.
_ORDER_FREE = (
    exp.ArraySort,
    exp.ArraySize,
    exp.Length,
    exp.ArrayContains,
    exp.ArrayMax,
    exp.ArrayMin,
)
# ... and what takes two, either of them (list_has_any(a, l), array_has_all(a, l)).
_BOTH_ORDER_FREE = (exp.ArrayContainsAll, exp.ArrayOverlaps)


def _without_nulls(x: exp.Expr) -> exp.Expr:
    """``filter(x, v -> v IS NOT NULL)`` in Spark SQL."""
    v = exp.to_identifier("__v")
    kept = exp.Lambda(
        this=exp.Not(this=exp.Is(this=exp.column(v), expression=exp.Null())), expressions=[v]
    )
    return exp.ArrayFilter(this=x, expression=kept)


def refuse_unordered_distinct(tree: exp.Expr) -> None:
    """``list_distinct(l)`` where its order is what the model sends (above): refused."""
    for node in tree.find_all(exp.ArrayDistinct):
        if isinstance(node.parent, _ORDER_FREE) and node.arg_key == "this":
            continue
        if isinstance(node.parent, _BOTH_ORDER_FREE):
            continue
        if _unnested_rows(node):  # rows, in no order a model can rely on either way
            continue
        raise EngineError(
            f"{node.sql('duckdb')}: DuckDB gives the items in its hash table's order, and "
            "Spark in their first occurrence's (list_distinct([3, 1, 3, 2]) is [2, 1, 3] in "
            "DuckDB, [3, 1, 2] in Spark): the model would send another list from Spark",
            hint="sort it, list_sort(list_distinct(l)), for one order in both",
        )


def _unnested_rows(node: exp.Expr) -> bool:
    """``unnest(list_distinct(l))`` without the items' positions: one row per item."""
    parent = node.parent
    if isinstance(parent, exp.Explode) and not isinstance(parent, exp.Posexplode):
        return node.arg_key == "this"
    return isinstance(parent, exp.Unnest) and not parent.args.get("offset")


def lists_as_written(node: exp.Expr) -> exp.Expr:
    """The rewrites above, for ``tree.transform``."""
    if isinstance(node, exp.ArrayDistinct) and node.this is not None:
        inner = node.this.copy().transform(lists_as_written)
        return exp.ArrayDistinct(this=exp.ArrayCompact(this=inner))  # typed as a list: len()
    if isinstance(node, exp.Transform | exp.ArrayFilter):
        return _from_one(node)
    if isinstance(node, exp.ArrayOverlaps) and node.this is not None and node.expression:
        # list_has_any(a, b) / a && b: sqlglot wrote &&, which Spark cannot read. DuckDB
        # leaves NULL items out (list_has_any([1, NULL], [NULL]) is false); Spark's
        # arrays_overlap would say NULL. A NULL list gives NULL in both.
        lists = [node.this, node.expression]
        return exp.Anonymous(
            this="ARRAYS_OVERLAP",
            expressions=[_without_nulls(x.copy().transform(lists_as_written)) for x in lists],
        )
    if isinstance(node, exp.Glob):
        like = glob_as_like(node.expression)
        return node if like is None else exp.Like(this=node.this.copy(), expression=like)
    if isinstance(node, exp.IgnoreNulls) and isinstance(node.this, exp.AnyValue):
        x = node.this.this
        if x is None:
            return node
        return exp.Anonymous(this="ANY_VALUE", expressions=[x.copy(), exp.true()])
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "list_slice":
        args = node.expressions
        if len(args) == 3:
            return _sliced(args[0], args[1], args[2]) or node
    position = _position(node)
    if position is not None:
        inner = node.this.copy().transform(lists_as_written)  # a list of lists: l[-1][-1]
        return exp.Anonymous(
            this="TRY_ELEMENT_AT", expressions=[inner, exp.Literal.number(position)]
        )
    by_column = _by_column(node)
    if by_column is not None:
        return by_column
    if isinstance(node, exp.PercentileCont) and node.this is not None:
        # quantile_cont(x, p): sqlglot wrote PERCENTILE_CONT(x, p), which Spark takes only
        # WITHIN GROUP; its PERCENTILE is the same exact interpolation
        fraction = node.expression
        if fraction is not None:
            return exp.Anonymous(this="PERCENTILE", expressions=[node.this.copy(), fraction.copy()])
    if isinstance(node, exp.Bracket) and len(node.expressions) == 1:
        bounds = node.expressions[0]
        if isinstance(bounds, exp.Slice) and node.this is not None:
            return _sliced(node.this, bounds.this, bounds.expression) or node
    return node


def _position(node: exp.Expr) -> int | None:
    """The DuckDB position (from 1; from the end when negative) of ``l[k]`` with a literal
    ``k``, or None. sqlglot holds it from 0 and writes Spark's ``l[k - 1]``, which Spark
    (ANSI) fails on beyond the end, where DuckDB gives NULL; ``l[-1]`` it wrote ``l[-2]``."""
    from_end = from_end_index(node)
    if from_end is not None:
        return -from_end
    held = whole_number(model_index(node))
    return None if held is None else held + 1


def _by_column(node: exp.Expr) -> exp.Expr | None:
    """``l[i]`` with an index that is no literal: DuckDB counts ``i`` from 1 (from the end
    when negative), and sqlglot kept ``l[i]``, which Spark counts from 0, silently.
    ``try_element_at(l, i)`` counts as DuckDB does (a map's key too); position 0, NULL in
    DuckDB, is NULL there too (Spark fails on it)."""
    index = model_index(node)
    if index is None or isinstance(index, exp.Literal | exp.Neg | exp.Slice):
        return None
    zero = exp.EQ(this=index.copy(), expression=exp.Literal.number(0))
    inner = node.this.copy().transform(lists_as_written)
    return exp.Case(
        ifs=[exp.If(this=zero, true=exp.Null())],
        default=exp.Anonymous(this="TRY_ELEMENT_AT", expressions=[inner, index.copy()]),
    )


def _sliced(lst: exp.Expr, begin: exp.Expr | None, end: exp.Expr | None) -> exp.Expr | None:
    a, b = whole_number(begin), whole_number(end)
    if a is None or b is None:
        return None
    start = max(a, 1)  # DuckDB reads 0 as the first item
    length = max(b - start + 1, 0)
    return exp.Anonymous(
        this="SLICE",
        expressions=[lst.copy(), exp.Literal.number(start), exp.Literal.number(length)],
    )


def _from_one(node: exp.Expr) -> exp.Expr:
    fn = node.expression
    if not isinstance(fn, exp.Lambda) or len(fn.expressions) != 2:
        return node
    index = fn.expressions[1].name
    body = fn.this
    if not index or any(
        index in {p.name for p in inner.expressions} for inner in body.find_all(exp.Lambda)
    ):
        return node
    new_body = body.copy().transform(
        lambda n: (
            exp.Paren(this=exp.Add(this=n.copy(), expression=exp.Literal.number(1)))
            if isinstance(n, exp.Identifier | exp.Column)
            and n.name == index
            and not isinstance(n.parent, exp.Column)
            and (not isinstance(n, exp.Column) or not n.table)
            else n
        )
    )
    new = node.copy()
    new.expression.set("this", new_body)
    return new
