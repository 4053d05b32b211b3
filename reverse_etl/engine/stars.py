"""DuckDB's ``SELECT * EXCLUDE (...)`` and ``* REPLACE (...)`` written out as the columns
they stand for, for engines without them (PostgreSQL has neither, Spark no ``REPLACE``;
sqlglot wrote them as they are, a syntax error there).

The columns come from sqlglot's qualification of a typed copy of the query (the tables'
columns from the engine's catalog, ``typed.typed_copy``): the star's segment of the copy's
select list takes the star's place, the other items stay as written (their names too). Only
a select list with one such star, whose expanded columns name sources of that query by
their own names and are plain lower-case names (never a catalog name made SQL), is written
out; anything else stays as it is, and the engine refuses it by
name (``postgres._refuse_duckdb_meanings``, ``spark_meanings._refuse_star_replace``).
"""

from __future__ import annotations

import re

from sqlglot import exp

from reverse_etl.engine.typed import TableTypes, typed_copy


def stars_expanded(tree: exp.Expr, dialect: str, table_types: TableTypes) -> exp.Expr:
    """``tree`` with each ``* EXCLUDE``/``* REPLACE`` written out where it can be (see the
    module docstring). Changed in place, and returned."""
    if not any(_modified(s) for s in tree.find_all(exp.Select)):
        return tree
    typed = typed_copy(tree, dialect, table_types)
    if typed is None:
        return tree
    originals, twins = list(tree.find_all(exp.Select)), list(typed.find_all(exp.Select))
    if len(originals) != len(twins):
        return tree
    for select, twin in zip(originals, twins, strict=True):
        stars = [i for i, item in enumerate(select.expressions) if _star(item)]
        if len(stars) != 1 or not _modified(select):
            continue
        (at,) = stars
        others = len(select.expressions) - 1
        width = len(twin.expressions) - others
        if width < 1:
            continue
        columns = twin.expressions[at : at + width]
        used = {c.table for item in columns for c in item.find_all(exp.Column) if c.table}
        if not used <= _source_names(select) or not all(
            _PLAIN.fullmatch(i.name) for item in columns for i in item.find_all(exp.Identifier)
        ):
            continue
        items = select.expressions
        select.set("expressions", [*items[:at], *(c.copy() for c in columns), *items[at + 1 :]])
    return tree


# A name the copy may write unquoted: the catalog's names are the warehouse's data, and
# sqlglot's qualification lower-cases them and writes a column reference as it is (a name
# "x) from t; --" would have become SQL, "Mixed Case" another column). Any other name leaves
# the star as it is, refused by name.
_PLAIN = re.compile(r"[a-z_][a-z0-9_]*")
_WORDS = {"except_": "EXCLUDE", "replace": "REPLACE", "rename": "RENAME"}


def star_modifier(tree: exp.Expr, kinds: tuple[str, ...] = tuple(_WORDS)) -> str | None:
    """The word (``EXCLUDE``, ``REPLACE``, ``RENAME``) of the first star in ``tree`` that has
    one of ``kinds``, or None: what an engine refuses by name when it is left."""
    for star in tree.find_all(exp.Star):
        for kind in kinds:
            if star.args.get(kind):
                return _WORDS[kind]
    return None


def _star(item: exp.Expr) -> exp.Star | None:
    """The star of a select item (``*`` or ``t.*``), or None."""
    if isinstance(item, exp.Star):
        return item
    if isinstance(item, exp.Column) and isinstance(item.this, exp.Star):
        return item.this
    return None


def _modified(select: exp.Select) -> bool:
    """Whether a star of ``select``'s own list has EXCLUDE, REPLACE or RENAME."""
    for item in select.expressions:
        star = _star(item)
        if star is not None and star_modifier(star) is not None:
            return True
    return False


def _source_names(select: exp.Select) -> set[str]:
    """The names the sources of ``select`` go by (their aliases, else their names)."""
    sources = [j.this for j in select.args.get("joins") or []]
    start = select.args.get("from_") or select.args.get("from")
    if isinstance(start, exp.From):
        sources.append(start.this)
    return {s.alias_or_name for s in sources if isinstance(s, exp.Expr) and s.alias_or_name}
