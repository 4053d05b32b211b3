"""DuckDB's ``struct_column.*``: the struct's fields as columns of their own.

sqlglot (30.30) reads ``SELECT st.* FROM (SELECT {'a': 1, 'b': 'x'} AS st)`` as the star
of a table ``st`` that is not there, and kept one column named ``*`` (its type unknown):
`retl validate` then missed every column the model has (a false "missing column" error, and
no check of the fields). DuckDB expands a star of a struct column into its fields. Here each
such star is written out as its fields (``st.a AS a, st.b AS b``) before the query is
qualified: a first pass on a copy of the query learns the struct's type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

_MARK = "retl_struct_star"
_ALIAS = "retl_alias"  # trace.py: an alias as written


def _relations(select: exp.Select) -> set[str]:
    """The names a star of ``select`` can take as a relation: its FROM's and joins'."""
    names: set[str] = set()
    from_ = select.args.get("from_")
    nodes = [from_.this] if isinstance(from_, exp.From) else []
    nodes += [j.this for j in select.args.get("joins") or []]
    for node in nodes:
        names.add(node.alias_or_name.lower())
        if isinstance(node, exp.Table):
            names.add(node.name.lower())
    return names


def _struct_stars(tree: exp.Expr) -> list[exp.Column]:
    """The ``x.*`` projections whose ``x`` is no relation of their SELECT: a column."""
    out: list[exp.Column] = []
    for select in tree.find_all(exp.Select):
        relations: set[str] | None = None
        for proj in select.expressions:
            if not (isinstance(proj, exp.Column) and proj.is_star and proj.table):
                continue
            if proj.args.get("db") is None:
                relations = _relations(select) if relations is None else relations
                if proj.table.lower() in relations:
                    continue
            out.append(proj)
    return out


def _reference(star: exp.Column) -> exp.Column:
    """The struct column a star expands: ``q.st.*`` -> ``q.st``."""
    db = star.args.get("db")
    return exp.Column(
        this=star.args["table"].copy(), table=db.copy() if isinstance(db, exp.Identifier) else None
    )


def expand_struct_stars(
    tree: exp.Expr, schema: MappingSchema, dialect: str, *, db: str, catalog: str
) -> None:
    """Write each star of a struct column in ``tree`` as the struct's fields (in place).
    A star whose column is no struct, or a query sqlglot cannot read, is left as it is."""
    stars = _struct_stars(tree)
    if not stars:
        return
    for i, star in enumerate(stars):
        star.meta[_MARK] = i
    probe = tree.copy()
    for node in list(probe.find_all(exp.Column)):
        if node.meta.get(_MARK) is not None and node.is_star:
            node.replace(exp.alias_(_reference(node), f"__retl_struct_{node.meta[_MARK]}"))
    try:
        probe = qualify(
            probe,
            dialect=dialect,
            schema=schema,
            validate_qualify_columns=False,
            quote_identifiers=False,
            db=db,
            catalog=catalog,
        )
        probe = annotate_types(probe, schema=schema, dialect=dialect)
    except SqlglotError:
        return
    fields: dict[int, list[str]] = {}
    for alias in probe.find_all(exp.Alias):
        if not alias.alias.startswith("__retl_struct_"):
            continue
        typ = alias.this.type
        if isinstance(typ, exp.DataType) and typ.this is exp.DType.STRUCT:
            names = [c.name for c in typ.expressions if isinstance(c, exp.ColumnDef)]
            fields[int(alias.alias.removeprefix("__retl_struct_"))] = names
    for i, star in enumerate(stars):
        star.meta.pop(_MARK, None)
        if i not in fields or not fields[i]:
            continue
        modifiers = star.this.args
        if modifiers.get("ilike"):
            continue  # left as it was: unknown columns, not wrong ones
        excluded = {c.name.lower() for c in modifiers.get("except_") or []}
        replaced = _named(modifiers.get("replace"), lambda r: r.alias)
        renamed = _named(modifiers.get("rename"), lambda r: r.this.name)
        items: list[exp.Expr] = []
        for name in fields[i]:
            key = name.lower()
            if key in excluded:
                continue
            value: exp.Expr = exp.Dot(
                this=_reference(star), expression=exp.to_identifier(name, quoted=True)
            )
            ident = exp.to_identifier(name, quoted=True)
            ident.meta[_ALIAS] = name
            line = _line(star)
            if key in replaced:  # REPLACE (expr AS name): expr, named as written
                value, ident = replaced[key].this.copy(), _written(replaced[key].args["alias"])
            elif key in renamed:  # RENAME (name AS new)
                ident = _written(renamed[key].args["alias"])
            if line is not None and "line" not in ident.meta:
                ident.meta["line"] = line
            items.append(exp.Alias(this=value, alias=ident))
        select = star.parent
        if isinstance(select, exp.Select):
            at = select.expressions.index(star)
            select.set(
                "expressions", [*select.expressions[:at], *items, *select.expressions[at + 1 :]]
            )


def _named(entries: Any, key: Callable[[exp.Alias], str]) -> dict[str, exp.Alias]:
    """A star's REPLACE or RENAME list, by the field each one names (lower case)."""
    out: dict[str, exp.Alias] = {}
    for entry in entries or []:
        if isinstance(entry, exp.Alias) and isinstance(entry.args.get("alias"), exp.Identifier):
            out[key(entry).lower()] = entry
    return out


def _written(alias: exp.Identifier) -> exp.Identifier:
    """A new column's name, its spelling as written kept (trace.py reads it)."""
    ident = exp.to_identifier(alias.name, quoted=True)
    ident.meta[_ALIAS] = alias.meta.get(_ALIAS, alias.name)
    if isinstance(alias.meta.get("line"), int):
        ident.meta["line"] = alias.meta["line"]
    return ident


def _line(node: exp.Expr) -> int | None:
    for n in node.walk():
        line = n.meta.get("line") if n.meta else None
        if isinstance(line, int):
            return line
    return None
