"""Spark's ANSI intervals read as the text DuckDB gives an INTERVAL.

Arrow has no year-month interval: a model column of ``INTERVAL '1-2' YEAR TO MONTH`` (or
``interval '1 year 2 months'``, ``make_ym_interval``) failed the whole model with Spark's
``YearMonthIntervalType(0, 1) is not supported in conversion to Arrow``, naming no column. A
day-time interval reaches Arrow as a duration of microseconds, which the workbench wrote as
hours (``'26:03:04.5'`` for one day 02:03:04.5, ``'72:00:00'`` for three days). DuckDB's text
of an INTERVAL (``CAST(i AS VARCHAR)``, which is what it sends) keeps years, months and days
apart from the time of day: ``'1 year 2 months'``, ``'1 day 02:03:04.5'``, ``'3 days'``,
``'-1 day -02:03:04.5'``, ``'00:00:00'`` for zero. A model column that is, or holds (in a
list, a struct or a map), a year-month or day-time interval is read as that text.

A day-time interval is one count of microseconds in Spark: its days are told apart when its
type starts at DAY (``INTERVAL DAY TO SECOND``, a timestamp minus a timestamp), and not when
it starts at an hour, a minute or a second (``interval '26' hour`` is ``'26:00:00'``, as in
DuckDB). Spark's legacy CALENDAR intervals (``make_interval``, ``interval '1' day + interval
'1' hour`` under ``spark.sql.legacy.interval.enabled``) reach neither Arrow nor a table: a
model column that holds one is refused by name, with the ANSI functions to use instead
(Spark's own error named no column).
"""

from __future__ import annotations

from typing import Any

from reverse_etl.engine.spark_nested import ident, in_array, in_map, in_struct
from reverse_etl.errors import EngineError

_MICROS = {"HOUR": 3_600_000_000, "MINUTE": 60_000_000}
_DAY_MICROS = 86_400_000_000


def intervals_as_text(df: Any) -> Any:
    """``df`` with each column that holds a year-month or day-time interval as DuckDB's text
    of it; ``df`` itself when none does."""
    exprs: list[str] = []
    changed = False
    for f in df.schema.fields:
        if _holds_calendar(f.dataType):
            raise EngineError(
                f"model column {f.name!r} is a Spark calendar interval (make_interval, or "
                "interval arithmetic in Spark's legacy mode), which Spark cannot hand over",
                hint="write it with make_dt_interval or make_ym_interval (or DuckDB's "
                "INTERVAL literals), or cast it to STRING",
            )
        name = ident(f.name)
        text = _expr(name, f.dataType, 0)
        changed |= text is not None
        exprs.append(f"{text} AS {name}" if text is not None else name)
    return df.selectExpr(*exprs) if changed else df


def _expr(sql: str, dtype: Any, depth: int) -> str | None:
    """Spark SQL giving ``sql`` (of pyspark type ``dtype``) with its intervals as text; None
    if ``dtype`` holds none."""
    kind = type(dtype).__name__
    if kind == "YearMonthIntervalType":
        return _nullable(sql, _year_month(sql))
    if kind == "DayTimeIntervalType":
        return _nullable(sql, _day_time(sql, starts_at_day=dtype.startField == 0))
    var = f"__retl_i{depth}"
    if kind == "ArrayType":
        return in_array(sql, var, _expr(var, dtype.elementType, depth + 1))
    if kind == "MapType":
        key = _expr(f"{var}.key", dtype.keyType, depth + 1)
        value = _expr(f"{var}.value", dtype.valueType, depth + 1)
        return in_map(sql, var, key, value)
    if kind == "StructType":
        fields = [
            (f.name, _expr(f"{sql}.{ident(f.name)}", f.dataType, depth + 1)) for f in dtype.fields
        ]
        return in_struct(sql, fields)
    return None


def _holds_calendar(dtype: Any) -> bool:
    """Whether ``dtype`` is, or holds in a list, a map or a struct, a calendar interval."""
    kind = type(dtype).__name__
    if kind == "CalendarIntervalType":
        return True
    if kind == "ArrayType":
        return _holds_calendar(dtype.elementType)
    if kind == "MapType":
        return _holds_calendar(dtype.keyType) or _holds_calendar(dtype.valueType)
    if kind == "StructType":
        return any(_holds_calendar(f.dataType) for f in dtype.fields)
    return False


def _year_month(sql: str) -> str:
    whole = f"CAST({sql} AS INTERVAL YEAR TO MONTH)"
    years = f"extract(YEAR FROM {whole})"
    months = f"extract(MONTH FROM {whole})"
    return _joined([_count(years, "year"), _count(months, "month")])


def _day_time(sql: str, *, starts_at_day: bool) -> str:
    whole = f"CAST({sql} AS INTERVAL DAY TO SECOND)"
    days = f"extract(DAY FROM {whole})"
    time = " + ".join(
        [f"CAST(extract({unit} FROM {whole}) AS BIGINT) * {n}" for unit, n in _MICROS.items()]
        + [f"CAST(extract(SECOND FROM {whole}) * 1000000 AS BIGINT)"]
    )
    if starts_at_day:
        return _joined([_count(days, "day"), _clock(f"({time})")])
    return _joined([_clock(f"(CAST({days} AS BIGINT) * {_DAY_MICROS} + {time})")])


def _count(n: str, unit: str) -> str:
    """``'1 year'``, ``'-2 years'``; NULL for none (DuckDB writes no zero part)."""
    return (
        f"CASE WHEN {n} = 0 THEN NULL WHEN abs({n}) = 1 THEN concat(CAST({n} AS STRING), "
        f"' {unit}') ELSE concat(CAST({n} AS STRING), ' {unit}s') END"
    )


def _clock(micros: str) -> str:
    """``'02:03:04.5'``, ``'-26:00:00'``, ``'00:00:00.000001'``; NULL for none."""
    a = f"abs({micros})"
    hours = f"CAST({a} div 3600000000 AS STRING)"
    minutes = f"lpad(CAST(({a} div 60000000) % 60 AS STRING), 2, '0')"
    seconds = f"lpad(CAST(({a} div 1000000) % 60 AS STRING), 2, '0')"
    fraction = f"({a} % 1000000)"
    digits = f"regexp_replace(lpad(CAST({fraction} AS STRING), 6, '0'), '0+$', '')"
    return (
        f"CASE WHEN {micros} = 0 THEN NULL ELSE concat("
        f"CASE WHEN {micros} < 0 THEN '-' ELSE '' END, "
        f"CASE WHEN length({hours}) < 2 THEN concat('0', {hours}) ELSE {hours} END, "
        f"':', {minutes}, ':', {seconds}, "
        f"CASE WHEN {fraction} = 0 THEN '' ELSE concat('.', {digits}) END) END"
    )


def _joined(parts: list[str]) -> str:
    return f"coalesce(nullif(concat_ws(' ', {', '.join(parts)}), ''), '00:00:00')"


def _nullable(sql: str, text: str) -> str:
    return f"CASE WHEN {sql} IS NULL THEN NULL ELSE {text} END"
