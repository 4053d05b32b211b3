"""Following output columns back through a qualified query's scopes (CTEs, subqueries, UNION
branches) for what sqlglot does not keep: the name as the engine spells it, the line it is
written on, the literal values it can take."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect, NormalizationStrategy
from sqlglot.expressions.datatypes import DType
from sqlglot.optimizer.scope import Scope

from reverse_etl.columns.names import auto_name, cast_column, unparenthesised
from reverse_etl.columns.records import OutputColumn, TableRef, UpstreamModel, ref_of
from reverse_etl.columns.sqltypes import NULL, UNKNOWN, SqlType, TypeClass, sql_type
from reverse_etl.sqlglot_fixes import SET_COLUMNS

_INTEGER = sql_type(exp.DataType.build("INT"))  # a query's all-NULL set operation column

MAX_DEPTH = 64  # column tracing through nested scopes; guards recursive CTEs

# Meta keys set on the parsed tree before qualify() rewrites it.
_ALIAS = "retl_alias"  # an alias as written (qualify lower-cases identifiers for DuckDB)
_UNNAMED = "retl_unnamed"  # an expression without AS: the engine invents its name
_STAR = "retl_star_line"  # on a SELECT: the line of its first ``*``
_WRITTEN = "retl_written"  # on a SELECT: its unaliased columns' names as written, by lower case
_FIELD = "retl_field"  # on the last name of ``x.y`` unaliased: as written (a struct's field)
_LISTED = "retl_listed"  # on a CTE's or subquery's query: its column list as written, c(x, y)
# On a SELECT: the names its windows' ORDER BY and PARTITION BY, and its aggregates' ORDER
# BY, read unqualified that are also its aliases (qualify() puts the alias's expression in
# their place; DuckDB reads the tables' first).
WINDOW_ALIASES = "retl_window_aliases"


def line_of(node: exp.Expr | None) -> int | None:
    """The first line sqlglot recorded for any token inside ``node``."""
    if node is None:
        return None
    for n in node.walk():
        line = n.meta.get("line") if n.meta else None
        if isinstance(line, int):
            return line
    return None


def mark(tree: exp.Expr, dialect: str) -> None:
    """Record what qualify() is about to rewrite: aliases as written, unnamed expressions,
    the line of a ``*`` (its expansion replaces it). Names as the engine spells them: where
    it folds unquoted names (PostgreSQL's ``a AS Foo`` is foo), folded."""
    fold = Dialect.get_or_raise(dialect).NORMALIZATION_STRATEGY is NormalizationStrategy.LOWERCASE

    def spelled(ident: exp.Expr) -> str:
        return ident.name.lower() if fold and not ident.args.get("quoted") else ident.name

    for select in tree.find_all(exp.Select):
        for proj in select.expressions:
            if _STAR not in select.meta and (
                isinstance(proj, exp.Star) or (isinstance(proj, exp.Column) and proj.is_star)
            ):
                select.meta[_STAR] = line_of(proj)
            if isinstance(proj, exp.Alias):
                ident = proj.args.get("alias")
                if isinstance(ident, exp.Identifier):
                    ident.meta[_ALIAS] = spelled(ident)
            elif not isinstance(unparenthesised(proj), (exp.Column, exp.Star, exp.Dot)):
                if cast_column(proj, dialect) is None:  # PostgreSQL's a::date is a
                    proj.meta[_UNNAMED] = auto_name(proj, dialect)
            elif isinstance(proj, exp.Column) and not proj.is_star:
                select.meta.setdefault(_WRITTEN, {})[proj.name.lower()] = spelled(proj.this)
            if isinstance(proj, (exp.Column, exp.Dot)) and isinstance(proj.this, exp.Identifier):
                proj.this.meta[_FIELD] = proj.this.name
            if isinstance(proj, exp.Dot) and isinstance(proj.expression, exp.Identifier):
                proj.expression.meta[_FIELD] = proj.expression.name
        _mark_window_aliases(select)
    for node in tree.find_all(exp.Alias):  # * REPLACE (expr AS name) and nested aliases
        ident = node.args.get("alias")
        if isinstance(ident, exp.Identifier) and _ALIAS not in ident.meta:
            ident.meta[_ALIAS] = spelled(ident)
    for alias in tree.find_all(exp.TableAlias):  # c(x, y) AS (...), (...) AS q(x, y)
        relation = alias.parent
        names = [spelled(c) for c in alias.columns if isinstance(c, exp.Identifier)]
        query = relation.this if isinstance(relation, (exp.CTE, exp.Subquery)) else None
        if names and isinstance(query, exp.Query):
            query.meta[_LISTED] = names


def _mark_window_aliases(select: exp.Select) -> None:
    """Record the aliases of ``select`` its windows' ORDER BY and PARTITION BY, and its
    aggregates' ORDER BY (``first(x ORDER BY a)``), name unqualified."""
    aliases = {p.alias.lower() for p in select.expressions if isinstance(p, exp.Alias)}
    if not aliases:
        return
    named: list[exp.Column] = []
    for proj in select.expressions:
        read: list[exp.Expr] = [*proj.find_all(exp.Order)]
        for window in proj.find_all(exp.Window):
            read += window.args.get("partition_by") or []
        for node in read:
            if node.find_ancestor(exp.Select) is not select:
                continue  # a subquery's
            for col in node.find_all(exp.Column):
                if not col.table and col.name.lower() in aliases:
                    named.append(col.copy())  # its name and line, as written
    if named:
        select.meta[WINDOW_ALIASES] = named


@dataclass
class Context:
    """What tracing needs besides the tree: the dialect, the tables' own spelling of their
    columns, and the upstream models read by name."""

    dialect: str
    original: dict[tuple[TableRef, str], str] = field(default_factory=dict)
    upstream: Mapping[TableRef, UpstreamModel] = field(default_factory=dict)
    # Each projection's source columns once found (``_sources``), by the ids of the
    # projection and its scope: a chain of CTEs whose columns each read two of the CTE
    # before would be followed along every path otherwise (2^n).
    lineage: dict[tuple[int, int], frozenset[str] | None] = field(default_factory=dict)
    # Each projection's ``_unordered`` once found, likewise (by the ids of it and its scope).
    unordered: dict[tuple[int, int], bool] = field(default_factory=dict)


@dataclass(frozen=True)
class Where:
    """Where a column's name is written: a line, in an upstream model's SQL or this one's,
    possibly the line of the ``*`` it was expanded from."""

    line: int | None = None
    model: str | None = None
    star: bool = False


def _branches(scope: Scope) -> list[Scope]:
    """The SELECT scopes of a UNION (or the scope itself), left to right."""
    if scope.set_operation_scopes:
        return [b for s in scope.set_operation_scopes for b in _branches(s)]
    return [scope]


def _by_name(scope: Scope) -> bool:
    """Whether ``scope`` is (or holds) a ``UNION [ALL] BY NAME``: columns matched by name."""
    node = scope.expression
    return isinstance(node, exp.SetOperation) and (
        bool(node.args.get("by_name")) or any(_by_name(s) for s in scope.set_operation_scopes)
    )


def _projections(scope: Scope, name: str) -> list[tuple[exp.Expr, Scope]]:
    """The expressions producing output column ``name`` of ``scope``, one per UNION branch
    (UNION matches columns by position, named after the left branch; BY NAME by name, in
    the branches that have it)."""
    branches = _branches(scope)
    if _by_name(scope):
        lowered = name.lower()
        out: list[tuple[exp.Expr, Scope]] = []
        for b in branches:
            selects = b.expression.selects if isinstance(b.expression, exp.Select) else []
            found = next((p for p in selects if p.alias_or_name.lower() == lowered), None)
            if found is not None:
                out.append((found, b))
        return out
    first = branches[0].expression
    if not isinstance(first, exp.Select):
        return []
    names = [s.alias_or_name for s in first.selects]
    if name not in names:
        return []
    i = names.index(name)
    return [
        (b.expression.selects[i], b)
        for b in branches
        if isinstance(b.expression, exp.Select) and i < len(b.expression.selects)
    ]


def _unalias(node: exp.Expr) -> exp.Expr:
    while isinstance(node, (exp.Alias, exp.Paren)):
        node = node.this
    return node


def _source(node: exp.Column, scope: Scope) -> exp.Table | Scope | None:
    """The relation a qualified column reads; through a PIVOT, for a column it passes on
    unchanged, the relation pivoted (the pivot's own columns have none)."""
    src = scope.sources.get(node.table)
    relations: list[exp.Expr] = [src] if isinstance(src, exp.Table) else []
    if src is None and isinstance(scope.expression, exp.Select):
        from_ = scope.expression.args.get("from_")
        relations = [from_.this] if isinstance(from_, exp.From) else []
        relations += [j.this for j in scope.expression.args.get("joins") or []]
    for relation in relations:
        for pivot in relation.args.get("pivots") or []:
            if pivot.alias != node.table:
                continue
            made = {c.name.lower() for c in pivot.args.get("columns") or []}
            return None if node.name.lower() in made else scope.sources.get(relation.alias_or_name)
    return src


def _traced(node: exp.Expr, scope: Scope, depth: int) -> list[tuple[exp.Expr, Scope]]:
    """A column read from a CTE or subquery: the projections that produce it."""
    if not isinstance(node, exp.Column) or not node.table or depth >= MAX_DEPTH:
        return []
    src = _source(node, scope)
    return _projections(src, node.name) if isinstance(src, Scope) else []


def _table(node: exp.Expr, scope: Scope) -> exp.Table | None:
    """A column read from a physical table (or an upstream model read by name): the table."""
    if not isinstance(node, exp.Column) or not node.table:
        return None
    src = _source(node, scope)
    return src if isinstance(src, exp.Table) else None


def _upstream(
    node: exp.Expr, scope: Scope, ctx: Context
) -> tuple[UpstreamModel, OutputColumn] | None:
    table = _table(node, scope)
    model = ctx.upstream.get(ref_of(table)) if table is not None else None
    col = model.column(node.name) if model is not None else None
    return (model, col) if model is not None and col is not None else None


def _listed(proj: exp.Expr) -> str | None:
    """The name a column list gives ``proj`` (``c(x, y) AS (SELECT a, b ...)``: x for a), by
    its place; None if its query has no list, or none that long."""
    select = proj.parent
    if not isinstance(select, exp.Select) or proj.arg_key != "expressions":
        return None
    query: exp.Expr = select
    while _LISTED not in query.meta and isinstance(query.parent, exp.SetOperation):
        query = query.parent  # a branch of a set operation: the list names its columns
    names = query.meta.get(_LISTED)
    index = proj.index
    if not isinstance(names, list) or index is None or index >= len(names):
        return None
    return str(names[index])


def _name(proj: exp.Expr, scope: Scope, ctx: Context, depth: int = 0) -> tuple[str, bool]:
    """The name the engine gives an output column, and whether the model chose it."""
    listed = _listed(proj)  # a column list's name stands over an alias
    if listed is not None:
        return listed, True
    if isinstance(proj, exp.Alias):
        ident = proj.args.get("alias")
        if isinstance(ident, exp.Identifier) and _ALIAS in ident.meta:
            return str(ident.meta[_ALIAS]), True
    inner = proj.this if isinstance(proj, exp.Alias) else proj
    if _UNNAMED in inner.meta:
        return str(inner.meta[_UNNAMED]), False
    if isinstance(inner, exp.Coalesce) and isinstance(inner.this, exp.Column):
        # A USING or NATURAL join's column (qualify() writes it as a coalesce of the joined
        # tables' columns): named as the left one spells it, the right one in a RIGHT join;
        # written by name where a FULL join merged it, as it is written.
        sides = [str(j.side).upper() for j in scope.expression.args.get("joins") or []]
        written = scope.expression.meta.get(_WRITTEN) or {}
        key = inner.this.name.lower()
        if "FULL" in sides and key in written:
            return str(written[key]), True
        right = sides[-1:] == ["RIGHT"] and inner.expressions
        inner = inner.expressions[-1] if right else inner.this
    inner = unparenthesised(inner)  # (a): the column a
    inner = cast_column(inner, ctx.dialect) or inner  # PostgreSQL's, Spark's a::date: a
    if isinstance(inner, exp.Dot) and _FIELD in inner.expression.meta:
        return str(inner.expression.meta[_FIELD]), True  # a struct's field: as written
    # An unaliased column keeps the name its source spells (DuckDB: the table's own case).
    found = _traced(inner, scope, depth)
    if found:
        return _name(found[0][0], found[0][1], ctx, depth + 1)
    up = _upstream(inner, scope, ctx)
    if up is not None:
        return up[1].name, up[1].named
    table = _table(inner, scope)
    if table is not None:
        return ctx.original.get((ref_of(table), inner.name.lower()), inner.name), True
    return proj.alias_or_name, True


def _where(proj: exp.Expr, scope: Scope, ctx: Context, depth: int = 0) -> Where:
    """Where the column's name is written: its alias, else the column reference, else (a star
    expansion) wherever its source defines it, else the ``*`` itself."""
    inner = proj
    if isinstance(proj, exp.Alias):
        ident = proj.args.get("alias")
        if isinstance(ident, exp.Identifier) and isinstance(ident.meta.get("line"), int):
            return Where(int(ident.meta["line"]))
        inner = proj.this
    here = line_of(inner)
    if here is not None:
        return Where(here)
    found = _traced(inner, scope, depth)
    traced = _where(found[0][0], found[0][1], ctx, depth + 1) if found else Where()
    if traced.line is not None:
        return traced
    up = _upstream(inner, scope, ctx)
    if up is not None and up[1].line is not None:
        return Where(up[1].line, up[1].model or up[0].name, up[1].from_star)
    star = scope.expression.meta.get(_STAR)
    return Where(star, star=True) if isinstance(star, int) else Where()


def _values(
    node: exp.Expr | None, scope: Scope, ctx: Context, depth: int = 0
) -> frozenset[str] | None:
    """Every value ``node`` can take when all are literals (NULL adds none), else None."""
    if node is None or depth > MAX_DEPTH:
        return None
    node = _unalias(node)
    parts: list[exp.Expr | None]
    if isinstance(node, exp.Null):
        return frozenset()
    if isinstance(node, exp.Literal):
        return frozenset({str(node.this)})
    if isinstance(node, (exp.Cast, exp.TryCast, exp.Nullif)):
        return _values(node.this, scope, ctx, depth + 1)
    if isinstance(node, (exp.Upper, exp.Lower, exp.Trim)):
        inner = _values(node.this, scope, ctx, depth + 1)
        if inner is None:
            return None
        fn = {exp.Upper: str.upper, exp.Lower: str.lower}.get(type(node), str.strip)
        return frozenset(fn(v) for v in inner)
    if isinstance(node, exp.Case):
        parts = [i.args.get("true") for i in node.args.get("ifs") or []]
        if node.args.get("default") is not None:
            parts.append(node.args["default"])
    elif isinstance(node, exp.If):
        parts = [p for p in (node.args.get("true"), node.args.get("false")) if p is not None]
    elif isinstance(node, exp.Coalesce):
        parts = [node.this, *node.expressions]
    elif isinstance(node, exp.Column):
        found = _traced(node, scope, depth)
        if found:
            return _union([_values(p, s, ctx, depth + 1) for p, s in found])
        up = _upstream(node, scope, ctx)
        return up[1].values if up is not None else None
    else:
        return None
    return _union([_values(p, scope, ctx, depth + 1) for p in parts])


def _sources(
    node: exp.Expr | None, scope: Scope, ctx: Context, depth: int = 0
) -> frozenset[str] | None:
    """The source columns ``node``'s value reads (``table.column``, lower-cased): each
    column it names, followed through CTEs, subqueries and upstream models to the table it
    comes from. None when one cannot be followed: a subquery inside it (its columns are of
    another scope), a column of no relation known here (a lambda's variable), a ``*``."""
    if node is None or depth > MAX_DEPTH:
        return None
    key = (id(node), id(scope))
    if key in ctx.lineage:
        return ctx.lineage[key]
    ctx.lineage[key] = None  # while it is followed (a recursive CTE reads itself)
    found = _read_columns(_unalias(node), scope, ctx, depth)
    ctx.lineage[key] = found
    return found


def _read_columns(node: exp.Expr, scope: Scope, ctx: Context, depth: int) -> frozenset[str] | None:
    if any(isinstance(n, (exp.Query, exp.Subquery)) for n in node.walk()):
        return None
    out: set[str] = set()
    for col in node.find_all(exp.Column):
        if col.is_star:
            return None
        traced = _traced(col, scope, depth)
        if traced:
            for proj, inner in traced:
                read = _sources(proj, inner, ctx, depth + 1)
                if read is None:
                    return None
                out |= read
            continue
        up = _upstream(col, scope, ctx)
        if up is not None:
            if up[1].sources is None:
                return None
            out |= up[1].sources
            continue
        table = _table(col, scope)
        if table is None:
            return None
        if not _made_up(table):
            out.add(f"{ref_of(table)}.{col.name.lower()}")
    return frozenset(out)


def _made_up(table: exp.Table) -> bool:
    """A relation whose rows the query makes, not reads: ``range(5)``, ``generate_series(1,
    10)`` of constants. Its numbers are no one's data, as a literal is not: a model made of
    ``'order-' || i`` and ``'user' || i || '@example.com'`` reads no personal data twice."""
    made = table.this
    return isinstance(made, exp.GenerateSeries) and made.find(exp.Column) is None


def _never_null(node: exp.Expr | None, scope: Scope, ctx: Context, depth: int = 0) -> bool:
    """Whether ``node`` is never NULL, as far as :func:`_values` follows it (False: it may
    be, or that is not known): a CASE without ELSE is NULL where no branch holds."""
    if node is None or depth > MAX_DEPTH:
        return False
    node = _unalias(node)
    if isinstance(node, exp.Literal):
        return True
    if isinstance(node, (exp.Cast, exp.Upper, exp.Lower, exp.Trim)) and not isinstance(
        node, exp.TryCast
    ):
        return _never_null(node.this, scope, ctx, depth + 1)
    parts: list[exp.Expr | None]
    if isinstance(node, exp.Case):
        parts = [i.args.get("true") for i in node.args.get("ifs") or []]
        parts.append(node.args.get("default"))
    elif isinstance(node, exp.If):
        parts = [node.args.get("true"), node.args.get("false")]
    elif isinstance(node, exp.Coalesce):
        return any(_never_null(p, scope, ctx, depth + 1) for p in [node.this, *node.expressions])
    elif isinstance(node, exp.Column):
        found = _traced(node, scope, depth)
        if found:
            return all(_never_null(p, s, ctx, depth + 1) for p, s in found)
        up = _upstream(node, scope, ctx)
        return up is not None and not up[1].nullable
    else:
        return False
    return all(_never_null(p, scope, ctx, depth + 1) for p in parts)


def _union(sets: Sequence[frozenset[str] | None]) -> frozenset[str] | None:
    out: set[str] = set()
    for s in sets:
        if s is None:
            return None
        out |= s
    return frozenset(out)


def _type_of(found: Sequence[tuple[exp.Expr, Scope]], ctx: Context) -> SqlType:
    """The first branch's type that says something (a NULL branch defers to the next)."""
    types = [
        NULL if isinstance(_unalias(p), exp.Null) else sql_type(p.type, ctx.dialect)
        for p, _ in found
    ]
    informative = [t for t in types if t.cls not in (TypeClass.NULL, TypeClass.UNKNOWN)]
    return informative[0] if informative else (types[0] if types else UNKNOWN)


def _fields(
    proj: exp.Expr, typ: SqlType, where: Where, scope: Scope, ctx: Context, *, depth: int = 0
) -> tuple[OutputColumn, ...]:
    """A STRUCT's fields as columns. A struct literal gives each field its values and line; a
    struct passed on from a CTE or an upstream model keeps the fields found there."""
    if typ.cls is not TypeClass.STRUCT:
        return ()
    inner = _unalias(proj)
    found = _traced(inner, scope, depth)
    if found:
        p, s = found[0]
        return _fields(p, typ, _where(p, s, ctx), s, ctx, depth=depth + 1)
    up = _upstream(inner, scope, ctx)
    if up is not None and up[1].fields:
        model = up[1].model or up[0].name
        return tuple(f if f.model else _in_model(f, model) for f in up[1].fields)
    written: dict[str, exp.Expr] = {}
    if isinstance(inner, exp.Struct):
        for item in inner.expressions:
            if isinstance(item, (exp.PropertyEQ, exp.Slice)):
                written[item.this.name] = item
            elif isinstance(item, exp.Alias):
                written[item.alias] = item
    out = []
    for name, ftype in typ.fields:
        item = written.get(name)
        value = item.expression if isinstance(item, (exp.PropertyEQ, exp.Slice)) else item
        line = line_of(item) if item is not None else None
        out.append(
            OutputColumn(
                name,
                ftype,
                line if line is not None else where.line,
                _values(value, scope, ctx) if value is not None else None,
                from_star=where.star if line is None else False,
                model=where.model if line is None else None,
                sources=_sources(value if value is not None else proj, scope, ctx),
            )
        )
    return tuple(out)


def _in_model(col: OutputColumn, model: str) -> OutputColumn:
    return OutputColumn(
        col.name,
        col.type,
        col.line,
        col.values,
        col.named,
        col.fields,
        col.from_star,
        model,
        col.unordered,
        col.nullable,
        col.sources,
    )


# Functions whose result does not depend on the order of their list's items.
_SORTS = (exp.ArraySort,)
_SORT_NAMES = frozenset({"list_sort", "array_sort", "list_reverse_sort", "array_reverse_sort"})


def _sorted(node: exp.Expr, top: exp.Expr) -> bool:
    """Whether ``node`` is inside a sort of a list, at or below ``top``."""
    parent = node.parent
    while parent is not None:
        if isinstance(parent, _SORTS) or (
            isinstance(parent, exp.Anonymous) and str(parent.this).lower() in _SORT_NAMES
        ):
            return True
        if parent is top:
            return False
        parent = parent.parent
    return False


def _unordered(node: exp.Expr | None, scope: Scope, ctx: Context, depth: int = 0) -> bool:
    """Whether ``node``'s value is built by a list or text aggregate without ORDER BY
    (``list(x)``, ``array_agg(x)``, ``string_agg(x, ',')``), here or where its columns come
    from (CTEs, subqueries, upstream models): DuckDB and Spark aggregate in parallel, so
    its items come in another order from run to run, and so does the row's hash. Not when
    the list is sorted afterwards, or ordered by its window."""
    if node is None or depth > MAX_DEPTH:
        return False
    key = (id(node), id(scope))
    if key not in ctx.unordered:
        ctx.unordered[key] = False  # while it is followed (a recursive CTE reads itself)
        ctx.unordered[key] = _unordered_here(_unalias(node), scope, ctx, depth)
    return ctx.unordered[key]


def _unordered_here(node: exp.Expr, scope: Scope, ctx: Context, depth: int) -> bool:
    for agg in node.find_all(exp.ArrayAgg, exp.GroupConcat):
        if isinstance(agg.this, exp.Order) or _sorted(agg, node):
            continue
        window = agg.parent
        if isinstance(window, exp.Filter):
            window = window.parent
        if isinstance(window, exp.Window) and window.args.get("order") is not None:
            continue
        return True
    for col in node.find_all(exp.Column):
        if _sorted(col, node):
            continue
        found = _traced(col, scope, depth)
        if found:
            if any(_unordered(p, s, ctx, depth + 1) for p, s in found):
                return True
            continue
        up = _upstream(col, scope, ctx)
        if up is not None and up[1].unordered:
            return True
    return False


_PATTERNS = (exp.Like, exp.ILike, exp.SimilarTo, exp.Glob)


def _is_run_time(node: exp.Expr) -> bool:
    """DuckDB's ``COLUMNS(...)``, or a star's pattern (``* LIKE``, ``t.* SIMILAR TO``,
    ``* GLOB``, ``* NOT ILIKE``, ``* EXCLUDE (a) ILIKE``: sqlglot reads each as one boolean
    column): columns only known when the query runs."""
    if isinstance(node, exp.Columns):
        return True
    if not isinstance(node, _PATTERNS):
        return False
    star = node.this
    return isinstance(star, exp.Star) or (
        isinstance(star, exp.Column) and isinstance(star.this, exp.Star)
    )


def _run_time_columns(scope: Scope, memo: dict[int, bool]) -> bool:
    """Whether an output expression of ``scope`` or of a relation it reads (a subquery in
    its FROM, a CTE) holds columns only known when it runs (``min(COLUMNS(*))``); a
    subquery of a WHERE is no part of the output. ``memo``: each scope's answer, by id,
    False while it is being looked at (a recursive CTE reads itself). A scope's sources
    hold every CTE before it, read or not: only those it reads are looked at, each once
    (path by path, and then source by source, a chain of CTEs took more than cubic time)."""
    key = id(scope)
    if key in memo:
        return memo[key]
    memo[key] = False
    found = False
    for branch in _branches(scope):
        select = branch.expression
        if isinstance(select, exp.Select) and any(
            _is_run_time(node) for proj in select.expressions for node in proj.walk()
        ):
            found = True
            break
        if any(
            isinstance(source, Scope) and _run_time_columns(source, memo)
            for _, source in branch.selected_sources.values()
        ):
            found = True
            break
    memo[key] = found
    return found


def run_time_columns(scope: Scope, memo: dict[int, bool] | None = None) -> bool:
    """Whether ``scope``'s output holds columns only known when it runs (``COLUMNS(...)``,
    ``* LIKE ...``), there or in a relation it reads. ``memo``: answers kept from one call
    to the next, over the scopes of one query."""
    return _run_time_columns(scope, {} if memo is None else memo)


def _from_run_time(proj: exp.Expr, scope: Scope, depth: int = 0) -> bool:
    """Whether an output column is (read from) such an expression: no column of its own."""
    if any(_is_run_time(node) for node in proj.walk()):
        return True
    found = _traced(_unalias(proj), scope, depth)
    return any(_from_run_time(p, s, depth + 1) for p, s in found)


def output_columns(root: Scope, ctx: Context) -> tuple[list[OutputColumn], bool]:
    """The query's output columns, and False when a ``*`` could not be expanded."""
    first = _branches(root)[0].expression
    if not isinstance(first, exp.Select):
        return [], False
    columns: list[OutputColumn] = []
    complete = not run_time_columns(root)
    set_types = _set_types(root)
    if _by_name(root) and set_types:
        for name, typ in set_types:
            found = _projections(root, name)
            if found:
                columns.append(_column(found, typ, ctx))
        return columns, complete
    for i, proj in enumerate(first.selects):
        if isinstance(_unalias(proj), (exp.Star, exp.Columns)) or (
            isinstance(proj, exp.Column) and isinstance(proj.this, exp.Star)
        ):
            # A star qualify() could not expand (no schema, unnest()), or DuckDB's COLUMNS():
            # the columns exist only when the query runs.
            complete = False
            continue
        if not complete and _from_run_time(proj, _branches(root)[0]):
            continue
        found = [
            (b.expression.selects[i], b)
            for b in _branches(root)
            if isinstance(b.expression, exp.Select) and i < len(b.expression.selects)
        ]
        common = set_types[i][1] if i < len(set_types) else None
        column = _column(found, common, ctx)
        if _spreads(proj, column.type):
            complete = False  # DuckDB lists the struct's fields, not this column
            continue
        columns.append(column)
    return columns, complete


def _spreads(proj: exp.Expr, typ: SqlType) -> bool:
    """Whether a projection may be DuckDB's ``unnest()`` of a struct, aliased or not (its
    output columns are the struct's fields: ``unnest({'ua': ua, 'ip': ip})`` gives ua and
    ip, not one column), or a ``recursive``/``max_depth`` one. sqlglot types an unnested
    struct as unknown; a list's element (a struct too) is typed."""
    node = _unalias(proj)
    if not isinstance(node, (exp.Explode, exp.Unnest)):
        return False
    return bool(node.args.get("expressions")) or typ.cls is TypeClass.UNKNOWN


def _set_types(root: Scope) -> list[tuple[str, SqlType]]:
    """A set operation's columns as the type annotation combined its branches (DuckDB's
    common types, sqlglot_fixes); empty for a SELECT or where it did not record them."""
    recorded = root.expression.meta.get(SET_COLUMNS) if root.set_operation_scopes else None
    if not isinstance(recorded, list):
        return []
    # A column NULL in every branch: DuckDB's result is an INTEGER (a NULL still, within).
    return [
        (str(name), _INTEGER if kind.this is DType.NULL else sql_type(kind))
        for name, kind in recorded
    ]


def _column(found: list[tuple[exp.Expr, Scope]], typ: SqlType | None, ctx: Context) -> OutputColumn:
    """One output column from its projection in each branch (the first names it); ``typ``:
    the branches' common type, when known."""
    proj, scope = found[0]
    name, named = _name(proj, scope, ctx)
    if typ is None or typ.cls is TypeClass.UNKNOWN:
        typ = _type_of(found, ctx)
    where = _where(proj, scope, ctx)
    return OutputColumn(
        name,
        typ,
        where.line,
        _union([_values(p, s, ctx) for p, s in found]),
        named,
        _fields(proj, typ, where, scope, ctx),
        where.star,
        where.model,
        any(_unordered(p, b, ctx) for p, b in found),
        not all(_never_null(p, s, ctx) for p, s in found),
        _union([_sources(p, s, ctx) for p, s in found]),
    )
