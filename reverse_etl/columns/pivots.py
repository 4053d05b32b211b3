"""DuckDB's statement form of PIVOT read as a relation (``FROM (PIVOT t ON b IN ('x') USING
sum(a) GROUP BY id)``, a CTE of one): sqlglot's optimizer knows only the SELECT form, and
read every column of the statement as unresolved. Rewritten here into the SELECT form
DuckDB gives the same columns for:

``PIVOT t ON b IN (...) USING agg``            -> ``SELECT * FROM t PIVOT (agg FOR b IN (...))``
``PIVOT t ON b IN (...) USING agg GROUP BY g`` -> the same over ``(SELECT g, b, <agg's columns>
FROM t)``: the SELECT form groups by every column it does not pivot, the statement by g.

Without an IN list the pivot's columns come from the data: the statement becomes a query of
its GROUP BY's columns and ``COLUMNS(...)``, whose columns are known when it runs (the names
it pivots are still checked against the table, none is made up)."""

from __future__ import annotations

import sqlglot
from sqlglot import exp

import reverse_etl.sqlglot_fixes  # noqa: F401  (sqlglot reads DuckDB SQL as DuckDB does)


def pivot_statements_as_selects(tree: exp.Expr) -> None:
    """Rewrite, in place, each PIVOT statement ``tree`` reads as a subquery or CTE."""
    for pivot in list(tree.find_all(exp.Pivot)):
        parent = pivot.parent
        if (
            isinstance(parent, (exp.Subquery, exp.CTE))
            and pivot.arg_key == "this"
            and not pivot.args.get("unpivot")
            and isinstance(pivot.this, exp.Expr)
        ):
            select = _as_select(pivot)
            if select is not None:
                pivot.replace(select)


def _as_select(pivot: exp.Pivot) -> exp.Select | None:
    on: list[exp.Expr] = list(pivot.expressions)
    using: list[exp.Expr] = list(pivot.args.get("using") or [])
    group = pivot.args.get("group")
    keys: list[exp.Expr] = list(group.expressions) if isinstance(group, exp.Group) else []
    if not on or not using:
        return None
    source = pivot.this
    if not all(isinstance(f, exp.In) and f.expressions for f in on):
        # values from the data: its GROUP BY's columns, then COLUMNS(...); what it pivots
        # is still read (in a WHERE only this analysis sees)
        named = [f.this if isinstance(f, exp.In) else f for f in on]
        outputs = [*(k.copy() for k in keys), exp.Columns(this=exp.Literal.string(".*"))]
        pivoted = exp.Tuple(expressions=[n.copy() for n in (*named, *using)])
        return (
            exp.select(*outputs)
            .from_(source.copy())
            .where(exp.Is(this=pivoted, expression=exp.Null()))
        )
    fields = " ".join(f.sql("duckdb") for f in on)
    aggs = ", ".join(u.sql("duckdb") for u in using)
    read: exp.Expr = source
    if keys:
        if not all(isinstance(k, exp.Column) for k in keys):
            return None
        needed: dict[str, exp.Column] = {}
        for node in (*keys, *on, *using):
            for col in node.find_all(exp.Column):
                needed.setdefault(col.name.lower(), col)
        inner = exp.select(*(c.copy() for c in needed.values())).from_(source.copy())
        read = inner.subquery("__retl_pivoted")
        fields = " ".join(_unqualified(f).sql("duckdb") for f in on)
        aggs = ", ".join(_unqualified(u).sql("duckdb") for u in using)
    parsed = sqlglot.parse_one(f"SELECT * FROM __retl_t PIVOT ({aggs} FOR {fields})", read="duckdb")
    relation = parsed.args["from_"].this
    made = relation.args["pivots"][0]
    made.set("expressions", [u.copy() if not keys else _unqualified(u) for u in using])
    made.set("fields", [f.copy() if not keys else _unqualified(f) for f in on])
    relation.replace(_with_pivots(read.copy(), made))
    return parsed if isinstance(parsed, exp.Select) else None


def _unqualified(node: exp.Expr) -> exp.Expr:
    """``node`` with its columns' table qualifiers dropped (they read the inner query)."""
    out = node.copy()
    for col in out.find_all(exp.Column):
        col.set("table", None)
    return out


def _with_pivots(relation: exp.Expr, pivot: exp.Pivot) -> exp.Expr:
    relation.append("pivots", pivot)
    return relation
