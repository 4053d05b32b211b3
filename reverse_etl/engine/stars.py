"""DuckDB's ``SELECT * EXCLUDE (...)`` and ``* REPLACE (...)`` written out as the columns
they stand for, for engines without them (PostgreSQL has neither, Spark no ``REPLACE``;
sqlglot wrote them as they are, a syntax error there).

The columns come from sqlglot's qualification of a typed copy of the query (the tables'
columns from the engine's catalog, ``typed.typed_copy``): the star's segment of the copy's
select list takes the star's place, the other items stay as written (their names too). The
copy's names are lower-cased by sqlglot: each column is given back its name as its source
spells it (the catalog's, a subquery's as written), quoted unless a plain lower-case name
(a catalog's "Mixed" is ``t."Mixed"``, never ``t.mixed``, nor a name made SQL), and a
RENAME's or REPLACE's new name is written as the model writes it. Only a select list with
one such star, whose expanded columns name sources of that query by their own names, each
spelled one way, is written out; anything else stays as it is, and the engine refuses it by
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
        columns = [c.copy() for c in twin.expressions[at : at + width]]
        used = {c.table for item in columns for c in item.find_all(exp.Column) if c.table}
        if not used <= _source_names(select):
            continue
        star = _star(select.expressions[at])
        assert star is not None
        if not _spelled(columns, star, _spellings(tree, select, used, table_types)):
            continue
        items = select.expressions
        select.set("expressions", [*items[:at], *columns, *items[at + 1 :]])
    return tree


def _spellings(
    tree: exp.Expr, select: exp.Select, used: set[str], table_types: TableTypes
) -> dict[str, dict[str, exp.Identifier]]:
    """For each source of ``select`` in ``used``, its columns' names as the catalog spells
    them (a table) or as its query writes them (a subquery's, a CTE's, a table alias's
    columns), by their lower-case form; a source whose names are not known, or two of whose
    names differ only in case, has none."""
    ctes = {c.alias_or_name.lower(): c.this for c in tree.find_all(exp.CTE)}
    spelled: dict[str, dict[str, exp.Identifier]] = {}
    for source in _sources(select):
        if source.alias_or_name not in used:
            continue
        names: list[exp.Identifier] | None = None
        alias = source.args.get("alias")
        if isinstance(alias, exp.TableAlias) and alias.columns:
            names = [c for c in alias.columns if isinstance(c, exp.Identifier)]
        elif isinstance(source, exp.Table) and isinstance(source.this, exp.Identifier):
            query = None if source.db else ctes.get(source.name.lower())
            if query is None:
                columns = table_types((source.catalog, source.db, source.name))
                names = None if columns is None else [_identifier(n) for n in columns]
            else:
                names = _written_names(query)
        elif isinstance(source, exp.Subquery):
            names = _written_names(source.this)
        if names is None:  # a query's star: any name the model or a table it reads has
            names = _all_names(tree, table_types)
        spelling = {n.name.lower(): n for n in names}
        if len(spelling) == len({(n.name, n.quoted) for n in names}):
            spelled[source.alias_or_name] = spelling
    return spelled


def _all_names(tree: exp.Expr, table_types: TableTypes) -> list[exp.Identifier]:
    """Each name ``tree`` writes, and each column name of the tables it reads."""
    names = list(tree.find_all(exp.Identifier))
    for table in tree.find_all(exp.Table):
        names.extend(
            _identifier(n) for n in table_types((table.catalog, table.db, table.name)) or ()
        )
    return names


def _written_names(query: exp.Expr) -> list[exp.Identifier] | None:
    """The output names of ``query`` as it writes them; None when not known (a star, an
    expression without a name)."""
    if not isinstance(query, exp.Select):
        return None
    names = []
    for item in query.expressions:
        name = item.args.get("alias") if isinstance(item, exp.Alias) else item.this
        if not isinstance(item, (exp.Alias, exp.Column)) or not isinstance(name, exp.Identifier):
            return None
        names.append(name)
    return names


def _spelled(
    columns: list[exp.Expr], star: exp.Star, spellings: dict[str, dict[str, exp.Identifier]]
) -> bool:
    """Whether the star's ``columns`` (from the typed copy, whose names sqlglot lower-cased)
    could be given their names as written: a column of a source by the source's spelling
    (a catalog's quoted unless a plain lower-case name), a RENAME's or REPLACE's new name as
    the model writes it. Changed in place; False leaves the star as it is."""
    aliases = [
        a.args["alias"]
        for kind in ("rename", "replace")
        for a in star.args.get(kind) or []
        if isinstance(a, exp.Alias)
    ]
    written = {a.name.lower(): a for a in aliases}
    if len(written) != len({(a.name, a.quoted) for a in aliases}):
        return False  # two new names that differ only in case: which is which is not known
    fixed: set[int] = set()
    for item in columns:
        for column in item.find_all(exp.Column):
            spelling = spellings.get(column.table, {}).get(column.name.lower())
            if spelling is None or not isinstance(column.this, exp.Identifier):
                return False
            column.set("this", spelling.copy())
            fixed.add(id(column.this))
        if not isinstance(item, exp.Alias):
            return False
        alias = written.get(item.alias.lower())
        if alias is None:  # a column's own name (of either side of a USING's COALESCE)
            same = [
                c.this for c in item.find_all(exp.Column) if c.name.lower() == item.alias.lower()
            ]
            if not same:
                return False
            alias = same[0]
        item.set("alias", alias.copy())
        fixed.add(id(item.args["alias"]))
    # Any other name (a source's) is the copy's: a plain lower-case one only.
    return all(
        id(i) in fixed or _PLAIN.fullmatch(i.name)
        for item in columns
        for i in item.find_all(exp.Identifier)
    )


def _identifier(name: str) -> exp.Identifier:
    """A catalog's ``name`` as a name, quoted unless a plain lower-case one (the engines
    fold an unquoted one, and it would be SQL)."""
    return exp.to_identifier(name, quoted=not _PLAIN.fullmatch(name))


# A name written unquoted: the catalog's names are the warehouse's data (unquoted, a name
# "x) from t; --" would become SQL, "Mixed" another column on PostgreSQL); any other is
# quoted.
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


def _sources(select: exp.Select) -> list[exp.Expr]:
    """The sources of ``select`` (its FROM's and its joins')."""
    sources = [j.this for j in select.args.get("joins") or []]
    start = select.args.get("from_") or select.args.get("from")
    if isinstance(start, exp.From):
        sources.append(start.this)
    return [s for s in sources if isinstance(s, exp.Expr)]


def _source_names(select: exp.Select) -> set[str]:
    """The names the sources of ``select`` go by (their aliases, else their names)."""
    return {s.alias_or_name for s in _sources(select) if s.alias_or_name}
