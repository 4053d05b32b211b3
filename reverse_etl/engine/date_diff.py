"""DuckDB's ``date_diff(part, a, b)``, written for Spark and PostgreSQL as DuckDB counts.

DuckDB counts the part's boundaries between ``a`` and ``b`` (31 January to 1 March: 2
months; 23:00 to 01:00 the next day: 1 day), as below (checked once in DuckDB over 14,400
pairs of timestamps and of dates, negative spans included; the tests compare each engine's
form with DuckDB over 225 pairs, ``tests/portable_exprs.py`` ``date_diff_grid_sql``):

- year, quarter, month: the difference of ``year * 1`` (``* 4 + quarter``, ``* 12 + month``);
- day: the difference of the dates; week: that number of days divided by 7, truncated
  toward zero (1 January to 1 March 2024: 60 days, 8 weeks; a Sunday to the next Monday: 0);
- hour, minute, second, millisecond: the difference of the times truncated to the part, in
  that part; microsecond: the difference.

Spark's ``datediff(unit, a, b)`` counts whole units instead (1 month, 0 days above), so
sqlglot's form of it gave other numbers, silently; PostgreSQL's form of a week (``age()``
cast) gave 9 weeks above. A part not listed (``decade``, ``isoyear``) goes as it was: refused
on Spark, as sqlglot writes it on PostgreSQL.
"""

from __future__ import annotations

from sqlglot import exp

from reverse_etl.engine.portable import bigint

# DuckDB's names of each part (its own aliases), as one name.
_PARTS = {
    **dict.fromkeys(("year", "years", "y", "yr", "yrs", "yyyy"), "year"),
    **dict.fromkeys(("quarter", "quarters"), "quarter"),
    **dict.fromkeys(("month", "months", "mon", "mons"), "month"),
    **dict.fromkeys(("week", "weeks", "w"), "week"),
    **dict.fromkeys(("day", "days", "d", "dayofmonth"), "day"),
    **dict.fromkeys(("hour", "hours", "h", "hr", "hrs"), "hour"),
    **dict.fromkeys(("minute", "minutes", "min", "mins", "m"), "minute"),
    **dict.fromkeys(("second", "seconds", "s", "sec", "secs"), "second"),
    **dict.fromkeys(("millisecond", "milliseconds", "ms", "msec", "msecs"), "millisecond"),
    **dict.fromkeys(("microsecond", "microseconds", "us", "usec", "usecs"), "microsecond"),
}
_MICROS = {"hour": 3_600_000_000, "minute": 60_000_000, "second": 1_000_000, "millisecond": 1000}


def part_of(node: exp.Expr) -> str | None:
    """The part a ``DateDiff`` counts (one of _PARTS' names), or None."""
    unit = node.args.get("unit")
    name = unit.name if isinstance(unit, exp.Var | exp.Literal | exp.Identifier) else ""
    return _PARTS.get(name.lower())


def _fn(name: str, *args: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this=name, expressions=list(args))


def _date(x: exp.Expr) -> exp.Expr:
    return exp.Cast(this=x.copy(), to=exp.DataType.build("DATE"))


def _timestamp(x: exp.Expr) -> exp.Expr:
    return exp.Cast(this=x.copy(), to=exp.DataType.build("TIMESTAMP"))


def _number(n: int) -> exp.Expr:
    return exp.Literal.number(n)


def _counted(a: exp.Expr, b: exp.Expr, of: dict[str, int]) -> exp.Expr:
    """``(year(b) * k + part(b)) - (year(a) * k + part(a))`` for ``of`` = {part: k}."""

    def value(x: exp.Expr) -> exp.Expr:
        total: exp.Expr | None = None
        for part, scale in of.items():
            term: exp.Expr = _fn(part.upper(), x.copy())
            if scale != 1:
                term = exp.Mul(this=term, expression=_number(scale))
            total = term if total is None else exp.Add(this=total, expression=term)
        assert total is not None
        return exp.Paren(this=total)

    return exp.Sub(this=value(b), expression=value(a))


def spark_date_diff(node: exp.Expr) -> exp.Expr:
    """``node`` (a ``DateDiff``: ``this`` the end, ``expression`` the start) in Spark SQL,
    or ``node`` itself for a part not listed."""
    part = part_of(node)
    b, a = node.this, node.expression
    if part is None or a is None or b is None:
        return node
    if part == "year":
        return bigint(_counted(a, b, {"year": 1}))
    if part == "quarter":
        return bigint(_counted(a, b, {"year": 4, "quarter": 1}))
    if part == "month":
        return bigint(_counted(a, b, {"year": 12, "month": 1}))
    days = _fn("DATEDIFF", _date(b), _date(a))
    if part == "day":
        return bigint(days)
    if part == "week":
        return bigint(exp.IntDiv(this=days, expression=_number(7)))
    if part == "microsecond":
        return exp.Sub(
            this=_fn("UNIX_MICROS", _timestamp(b)), expression=_fn("UNIX_MICROS", _timestamp(a))
        )

    def truncated(x: exp.Expr) -> exp.Expr:
        cut = exp.TimestampTrunc(this=_timestamp(x), unit=exp.Var(this=part.upper()))
        return _fn("UNIX_MICROS", cut)

    span = exp.Paren(this=exp.Sub(this=truncated(b), expression=truncated(a)))
    return exp.IntDiv(this=span, expression=_number(_MICROS[part]))


def pg_date_diff(node: exp.Expr) -> exp.Expr:
    """A ``DateDiff`` as DuckDB counts it, in PostgreSQL. Weeks: the difference of the dates
    divided by 7 (integer division there truncates toward zero, as DuckDB's). The other
    parts: sqlglot's forms, which count as DuckDB does (tests/portable_exprs.py), once the
    part has its one name (sqlglot knew ``'day'`` but cast ``age()`` for ``'days'``)."""
    part = part_of(node)
    if part is None or node.this is None or node.expression is None:
        return node
    if part != "week":
        new = node.copy()
        new.set("unit", exp.Var(this=part.upper()))
        new.set("date_part_boundary", True)
        return new
    days = exp.Paren(this=exp.Sub(this=_date(node.this), expression=_date(node.expression)))
    # typed: the integer division of two integers (sqlglot writes an untyped one as DuckDB's
    # "/", a float division there, and a CAST to BIGINT would then round)
    return bigint(exp.Paren(this=exp.Div(this=days, expression=_number(7), typed=True)))
