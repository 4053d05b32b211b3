"""The kind of value DuckDB gives, on Spark: a time without a zone where DuckDB's is a
TIMESTAMP, a TINYINT ``sign``, a DOUBLE ``floor``/``ceil``.

Spark's ``date_trunc``, ``to_timestamp`` (sqlglot's ``strptime``), ``timestamp_millis``
(``epoch_ms`` of a number), ``make_timestamp`` and ``from_utc_timestamp`` (``AT TIME ZONE``
of a zoned time) give a TIMESTAMP, Spark's time with the session's zone, which a sync reads as
a time in UTC; DuckDB's are TIMESTAMPs without a zone (``date_trunc`` of a TIMESTAMP or a
DATE, ``strptime`` without ``%z``/``%Z``, ``epoch_ms(n)``, ``make_timestamp``, a zoned time
``AT TIME ZONE``). The same instant as another kind of value: another row hash, and
another value next to DuckDB's. Each is cast to ``TIMESTAMP_NTZ`` (the same wall clock:
retl's session is in UTC). ``date_trunc`` of a DATE (its form: sqlglot's ``TRUNC(d,
unit)``, a DATE there, and NULL for ``'day'``) is Spark's ``date_trunc`` of the DATE as a
TIMESTAMP_NTZ, cast so. ``sign(x)`` is a TINYINT in DuckDB, Spark's ``signum`` a DOUBLE
(-1.0): cast to TINYINT. ``floor``/``ceil`` of an integer or a DOUBLE are DOUBLEs in DuckDB
(7.0; of a FLOAT a FLOAT, of a DECIMAL a DECIMAL as in Spark), BIGINTs in Spark: cast.

``date_trunc``, ``AT TIME ZONE``, ``epoch_ms``, ``floor`` and ``ceil`` need their operand's
type (a zoned time stays zoned; ``epoch_ms`` of a time is ``spark_numbers``'): typed by
sqlglot from Spark's catalog (``typed.typed_pairs``); where it cannot be typed, or holds a
fraction literal (sqlglot types ``2.5`` as a DOUBLE, DuckDB reads a DECIMAL), the call goes
as written; one whose operand cannot be typed (``floor(list_first(l))``, ``first(x ORDER BY
k)``, which Spark computes from a sorted list) is said (``typed.untyped_notes``), and ``retl
plan`` and ``retl sync`` warn of it.
"""

from __future__ import annotations

from sqlglot import exp

from reverse_etl.engine.portable import innermost_first, is_epoch_ms
from reverse_etl.engine.typed import TableTypes, decimal_in_engines, say_untyped, typed_pairs

_NAIVE = {exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPNTZ, exp.DataType.Type.DATE}
_ZONED = {exp.DataType.Type.TIMESTAMPTZ, exp.DataType.Type.TIMESTAMPLTZ}
_ZONE_CODES = ("%z", "%Z")
# floor/ceil of these are DOUBLEs (a FLOAT's a FLOAT) in DuckDB, BIGINTs in Spark
_WHOLE_AS_DOUBLE = exp.DataType.INTEGER_TYPES | {
    exp.DataType.Type.DOUBLE,
    exp.DataType.Type.FLOAT,
}


def kinds_as_duckdb(tree: exp.Expr, dialect: str, table_types: TableTypes) -> exp.Expr:
    """``tree`` (Spark's rewrites done) with the calls above cast to DuckDB's kind of
    value. Changed in place, and returned."""
    made: list[exp.Expr] = list(tree.find_all(exp.StrToTime, exp.TimestampFromParts))
    for node in innermost_first(made):
        if not isinstance(node, exp.StrToTime) or not _zoned_format(node):
            _wrap(node, "TIMESTAMP_NTZ")
    for sign in innermost_first(list(tree.find_all(exp.Sign))):
        _wrap(sign, "TINYINT")
    for day in innermost_first(list(tree.find_all(exp.DateTrunc))):
        # date_trunc of a DATE (its form): sqlglot's TRUNC(d, unit) is a DATE, and NULL
        # for 'day' (Spark's trunc has no such unit); DuckDB's a TIMESTAMP
        start = exp.Cast(this=day.this, to=exp.DataType.build("TIMESTAMP_NTZ", dialect="spark"))
        truncated = exp.TimestampTrunc(this=start, unit=day.args["unit"])
        day.replace(truncated)
        _wrap(truncated, "TIMESTAMP_NTZ")  # (the typed pass below sees it cast)
    for typed, seen in typed_pairs(tree, _typed_candidates, dialect, table_types):
        operand = seen.this
        if _cast_to_naive(typed.parent):
            continue
        if operand.type is None or operand.type.this == exp.DataType.Type.UNKNOWN:
            if not _fraction_literal(typed.this):  # a value sqlglot cannot type: maybe a
                say_untyped([typed], dialect)  # time DuckDB's has no zone, a whole number
            continue
        kind = operand.type.this
        if (
            (isinstance(typed, exp.TimestampTrunc) and kind in _NAIVE)
            or (isinstance(typed, exp.AtTimeZone) and kind in _ZONED)
            or (isinstance(typed, exp.UnixToTime) and kind in exp.DataType.NUMERIC_TYPES)
        ):
            _wrap(typed, "TIMESTAMP_NTZ")
        elif (
            isinstance(typed, exp.Floor | exp.Ceil)
            and kind in _WHOLE_AS_DOUBLE
            and not decimal_in_engines(operand)
        ):
            _wrap(typed, "FLOAT" if kind == exp.DataType.Type.FLOAT else "DOUBLE")
    return tree


def _typed_candidates(tree: exp.Expr) -> list[exp.Expr]:
    return [
        n
        for n in tree.find_all(
            exp.TimestampTrunc, exp.AtTimeZone, exp.UnixToTime, exp.Floor, exp.Ceil
        )
        if (not isinstance(n, exp.UnixToTime) or is_epoch_ms(n))
        and (not isinstance(n, exp.Floor | exp.Ceil) or not n.args.get("decimals"))
    ]


def _zoned_format(node: exp.StrToTime) -> bool:
    """Whether ``strptime``'s format may read a zone (DuckDB's value is then zoned)."""
    fmt = node.args.get("format")
    return not (isinstance(fmt, exp.Literal) and not any(c in fmt.name for c in _ZONE_CODES))


def _cast_to_naive(node: exp.Expr | None) -> bool:
    return isinstance(node, exp.Cast) and node.to.this == exp.DataType.Type.TIMESTAMPNTZ


def _fraction_literal(node: exp.Expr) -> bool:
    """Whether ``node`` holds a number literal with a fraction that no cast types."""
    return any(
        not lit.is_string and not lit.is_int and not isinstance(lit.parent, exp.Cast)
        for lit in node.find_all(exp.Literal)
    )


def _wrap(node: exp.Expr, to: str) -> None:
    cast = exp.Cast(to=exp.DataType.build(to, dialect="spark"))
    node.replace(cast)
    cast.set("this", node)
