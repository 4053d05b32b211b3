"""PostgreSQL values a stream reads as DuckDB gives them (found by a differential fuzz).

A stream's query is declared once for its columns' types; when one of them needs it, the
query is wrapped (``SELECT <forms> FROM (query) AS __q(...)``) and declared again:

- An array of a type psycopg does not know (an enum's, a domain's, ``citext``'s) came as
  one text, ``'{sad,happy}'``: it is cast to ``text[]`` (a list of texts), or, an array of a
  domain, to an array of the domain's base type (``posint[]`` as ``integer[]``).
- ``money`` came as the server's locale text (``'$1,000.00'``): it is read as ``numeric``
  (``money[]`` as ``numeric[]``), the number a DECIMAL is in DuckDB.
- An ``interval`` (and each item of an ``interval[]``) came as PostgreSQL's text
  (``'1 year 2 mons'``, ``'-1 days +02:03:04'``): it is DuckDB's text of it (``'1 year 2
  months'``, ``'-1 day 02:03:04'``), as the Spark engine sends (``spark_intervals.py``).
  PostgreSQL and DuckDB both keep an interval's months, days and microseconds apart.

A query with none of those (an event table's usual columns) runs as written, declared once.
(A date or timestamp Arrow's readers cannot take, 'infinity', a BC date or year 10000 and
after, still comes as NULL: read as DuckDB's value through a hidden twin column, it made
every stream with a timestamp wrapped, and a 500k first sync about 20% slower, measured.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import postgres
from psycopg import sql as pgsql

_COLUMN = "__retl_c"  # + index: the model's columns, renamed (two may share a name)

# The element type of each array a type psycopg knows, by the array's oid.
_ITEMS: dict[int, str] = {info.array_oid: info.name for info in postgres.types if info.array_oid}

# An array type's element, through its domains to their base type, by the array's oid.
_ARRAY_ITEMS = """
WITH RECURSIVE e AS (
  SELECT t.oid AS arr, t.typelem AS typ FROM pg_catalog.pg_type t
  WHERE t.oid = ANY(%s) AND t.typelem <> 0 AND t.typlen = -1
  UNION ALL
  SELECT e.arr, d.typbasetype FROM e
  JOIN pg_catalog.pg_type d ON d.oid = e.typ AND d.typtype = 'd'
)
SELECT e.arr, e.typ FROM e JOIN pg_catalog.pg_type t ON t.oid = e.typ WHERE t.typtype <> 'd'
"""


def read_plan(con: psycopg.Connection[Any], query: str, description: Sequence[Any]) -> str | None:
    """``query`` wrapped to read its columns (``description``: as declared) as DuckDB gives
    them, or None when every column reads so as it is."""
    oids = [col.type_code for col in description]
    unknown = [o for o in oids if postgres.types.get(o) is None]
    items = dict(_ITEMS)
    if unknown:
        for arr, typ in con.execute(_ARRAY_ITEMS, (unknown,)).fetchall():
            info = postgres.types.get(typ)
            items[arr] = info.name if info is not None else ""  # "": unknown, as text
    forms: list[pgsql.Composable | None] = []
    for i, oid in enumerate(oids):
        c = pgsql.SQL("__q.{}").format(pgsql.Identifier(f"{_COLUMN}{i}"))
        info = postgres.types.get(oid)
        if oid in items:
            forms.append(_array_form(c, items[oid], known=info is not None))
        elif info is None:
            forms.append(None)
        elif info.name == "money":
            forms.append(pgsql.SQL("{}::numeric").format(c))
        elif info.name == "interval":
            forms.append(_interval_text(c))
        else:
            forms.append(None)
    if all(f is None for f in forms):
        return None
    names = [col.name for col in description]
    select = [
        pgsql.SQL("{} AS {}").format(
            form
            if form is not None
            else pgsql.SQL("__q.{}").format(pgsql.Identifier(f"{_COLUMN}{i}")),
            pgsql.Identifier(name),
        )
        for i, (form, name) in enumerate(zip(forms, names, strict=True))
    ]
    aliases = pgsql.SQL(", ").join(pgsql.Identifier(f"{_COLUMN}{i}") for i in range(len(names)))
    wrapped = pgsql.SQL("SELECT {} FROM ({}) AS __q({})").format(
        pgsql.SQL(", ").join(select),
        pgsql.SQL(query),
        aliases,
    )
    return wrapped.as_string(con)


def _array_form(c: pgsql.Composable, item: str, *, known: bool) -> pgsql.Composable | None:
    """An array column of items of type ``item`` ("": a type psycopg does not know)."""
    if not item:
        return pgsql.SQL("{}::text[]").format(c)
    if item == "money":
        return pgsql.SQL("{}::numeric[]").format(c)
    # An array of a domain: as an array of its base type (an interval's, then as below).
    source = c if known else pgsql.SQL("{}::{}[]").format(c, pgsql.Identifier(item))
    if item == "interval":
        x = pgsql.Identifier("__x")
        each = pgsql.SQL(
            "ARRAY(SELECT {} FROM unnest({}) WITH ORDINALITY AS __t(__x, __n) ORDER BY __n)"
        ).format(_interval_text(x), source)
        # Two or more dimensions stay an array of texts: the stream refuses it by name.
        return pgsql.SQL(
            "CASE WHEN {s} IS NULL THEN NULL WHEN array_ndims({s}) > 1 THEN {s}::text[] "
            "ELSE {each} END"
        ).format(s=source, each=each)
    return None if known else source


def _interval_text(i: pgsql.Composable) -> pgsql.Composable:
    """DuckDB's text of interval ``i``: '1 year 2 months 3 days 04:05:06.5', no zero part,
    '00:00:00' for zero. The time of day is the interval less its years, months and days,
    which PostgreSQL writes (IntervalStyle=postgres) as DuckDB does: '-26:00:00.25'."""
    parts = {
        unit: pgsql.SQL("extract({} FROM {})::int").format(pgsql.SQL(unit), i)
        for unit in ("year", "month", "day")
    }
    counts = [
        pgsql.SQL(
            "CASE WHEN {n} = 0 THEN NULL WHEN abs({n}) = 1 THEN {n} || {one} ELSE {n} || {many} END"
        ).format(n=n, one=pgsql.Literal(f" {unit}"), many=pgsql.Literal(f" {unit}s"))
        for unit, n in parts.items()
    ]
    clock = pgsql.SQL(
        "nullif(({i} - make_interval(years => {y}, months => {m}, days => {d}))::text, '00:00:00')"
    ).format(i=i, y=parts["year"], m=parts["month"], d=parts["day"])
    return pgsql.SQL(
        "CASE WHEN {i} IS NULL THEN NULL ELSE "
        "coalesce(nullif(concat_ws(' ', {parts}, {clock}), ''), '00:00:00') END"
    ).format(i=i, parts=pgsql.SQL(", ").join(counts), clock=clock)
