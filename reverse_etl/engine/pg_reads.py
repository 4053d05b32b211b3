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
- A ``date``, ``timestamp`` or ``timestamptz`` Arrow's readers cannot take ('infinity',
  '-infinity', a BC date, year 10000 and after) came as NULL: a field silently went. Each
  such column gets a hidden twin (``FAR``), its days or microseconds since 1970 for those
  values only (DuckDB's own counts for +-infinity), put in the column's place by
  ``far_merged``: DuckDB reads 'infinity' and every other such value as the same model
  gives in DuckDB.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
import pyarrow as pa
from psycopg import postgres
from psycopg import sql as pgsql

FAR = "__retl_far_"  # + the column's index: a hidden twin of a date or timestamp column
_COLUMN = "__retl_c"  # + index: the model's columns, renamed (two may share a name)
_TIMES = ("date", "timestamp", "timestamptz")
# DuckDB's +-infinity: a DATE's is int32's largest day count, a TIMESTAMP's int64's.
_INFINITE = {"date": 2_147_483_647, "timestamp": 9_223_372_036_854_775_807}
_IN_RANGE = "{c} >= '0001-01-01' AND {c} < '10000-01-01'"

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


@dataclass(frozen=True)
class ReadPlan:
    """The wrapped query, and which model column each hidden twin (after them) stands for."""

    query: str
    columns: int
    far: dict[int, int]  # model column -> index of its hidden twin


def read_plan(
    con: psycopg.Connection[Any], query: str, description: Sequence[Any]
) -> ReadPlan | None:
    """How to read ``query``'s columns (``description``: as declared) as DuckDB gives them,
    or None when every column reads so as it is."""
    oids = [col.type_code for col in description]
    unknown = [o for o in oids if postgres.types.get(o) is None]
    items = dict(_ITEMS)
    if unknown:
        for arr, typ in con.execute(_ARRAY_ITEMS, (unknown,)).fetchall():
            info = postgres.types.get(typ)
            items[arr] = info.name if info is not None else ""  # "": unknown, as text
    forms: list[pgsql.Composable | None] = []
    far: dict[int, pgsql.Composable] = {}
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
            if info.name in _TIMES:
                far[i] = _far_count(c, info.name)
    if all(f is None for f in forms) and not far:
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
    twins = {i: len(names) + n for n, i in enumerate(far)}
    select += [
        pgsql.SQL("{} AS {}").format(form, pgsql.Identifier(f"{FAR}{i}")) for i, form in far.items()
    ]
    aliases = pgsql.SQL(", ").join(pgsql.Identifier(f"{_COLUMN}{i}") for i in range(len(names)))
    wrapped = pgsql.SQL("SELECT {} FROM ({}) AS __q({})").format(
        pgsql.SQL(", ").join(select),
        pgsql.SQL(query),
        aliases,
    )
    return ReadPlan(wrapped.as_string(con), len(names), twins)


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


def _far_count(c: pgsql.Composable, kind: str) -> pgsql.Composable:
    """For a value out of Arrow's readers' range only: its days (a date) or microseconds
    since 1970, DuckDB's count for +-infinity; NULL for every other value."""
    top = _INFINITE["date" if kind == "date" else "timestamp"]
    if kind == "date":
        count = pgsql.SQL("({} - DATE '1970-01-01')").format(c)
    else:
        count = pgsql.SQL("(extract(epoch FROM {}) * 1000000)::bigint").format(c)
    return pgsql.SQL(
        "CASE WHEN {c} IS NULL OR (" + _IN_RANGE + ") THEN NULL "
        "WHEN {c} = 'infinity' THEN {top} WHEN {c} = '-infinity' THEN {bottom} "
        "ELSE {count} END"
    ).format(c=c, top=pgsql.Literal(top), bottom=pgsql.Literal(-top), count=count)


def far_merged(batch: pa.RecordBatch, plan: ReadPlan, schema: pa.Schema) -> pa.RecordBatch:
    """``batch`` (the model's columns, then the hidden twins) as ``schema``: each date or
    timestamp taken from its twin where that holds one."""
    import pyarrow.compute as pc  # here: 9 MB of imports, for the rare batch that needs them

    columns = list(batch.columns[: plan.columns])
    for i, twin in plan.far.items():
        counts = batch.column(twin)
        if counts.null_count == len(counts):
            continue
        wide = pa.int32() if pa.types.is_date32(columns[i].type) else pa.int64()
        far = counts.cast(wide).cast(columns[i].type)
        columns[i] = pc.if_else(pc.is_valid(counts), far, columns[i])
    return pa.RecordBatch.from_arrays(columns, schema=schema)
