"""Expressions a DuckDB-dialect model commonly writes, run natively in DuckDB and, transpiled
by retl, in PostgreSQL and Spark (tests/warehouse/test_portable_pg.py,
tests/spark/test_spark_sync.py). Each must give DuckDB's value, or fail loudly (a refusal by
retl or an error of the engine): never another value, silently. The differences retl does
not bridge are listed with both values, as docs/warehouses.md says them; a change of sqlglot
that moves any of them fails the test.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable
from typing import Any

import duckdb

EXPRESSIONS = [
    "date_trunc('month', timestamp '2024-03-15 10:11:12')",
    "strftime(timestamp '2024-03-15 10:11:12', '%Y-%m-%d %H:%M')",
    "epoch(timestamp '2024-03-15 10:11:12')",
    "epoch_ms(timestamp '2024-03-15 10:11:12')",
    "extract(dow from date '2024-03-17')",
    "dayofweek(date '2024-03-23')",
    "isodow(date '2024-03-17')",
    "extract(isodow from date '2024-03-17')",
    "date_part('dow', date '2024-03-17')",
    "weekday(date '2024-03-17')",
    "date_diff('day', date '2024-03-01', date '2024-03-15')",
    "date '2024-03-15' + 7",
    "timestamp '2024-03-15 10:00:00' - interval '36 hours'",
    "timestamp '2024-03-15 10:00:00' - interval '1 day 12:00:00'",
    "timestamp '2024-01-31 00:00:00' + interval 1 month",
    "last_day(date '2024-02-10')",
    "make_date(2024, 2, 29)",
    "year(date '2024-03-15')",
    "month(date '2024-03-15')",
    "concat('a', null, 'b')",
    "'a' || 'b'",
    "concat_ws('-', 'a', null, 'b')",
    "coalesce(null, 'x')",
    "nullif('a', 'a')",
    "length('héllo')",
    "substr('hello', 2, 3)",
    "left('hello', 2)",
    "right('hello', 2)",
    "trim('  x  ')",
    "lpad('5', 3, '0')",
    "replace('a-b-c', '-', '')",
    "regexp_replace('a1b22', '[0-9]+', '#')",
    "regexp_replace('a1b22', '[0-9]+', '#', 'g')",
    "regexp_matches('abc', '^a')",
    "regexp_extract('order-123', '[0-9]+')",
    "split_part('a,b,c', ',', 2)",
    "starts_with('hello', 'he')",
    "contains('hello', 'ell')",
    "md5('x')",
    "sha256('x')",
    "lower('AB')",
    "format('{}-{}', 'a', 'b')",
    "printf('%05d', 42)",
    "round(2.5)",
    "round(-2.5)",
    "round(2.345, 2)",
    "1 / 2",
    "5 // 2",
    "7 % 3",
    "cast(1.9 as integer)",
    "cast(2.5 as int)",
    "cast('1.5' as double)",
    "floor(-1.5)",
    "ceil(1.2)",
    "greatest(1, 5, 3)",
    "case when 1 = 1 then 'a' else 'b' end",
    "array_length([1, 2, 3])",
    "list_contains([1, 2], 2)",
    "array_to_string(['a', 'b'], ',')",
    "cast('2024-03-15' as date)",
    "cast(timestamp '2024-03-15 10:11:12' as date)",
    "cast(timestamp '2024-03-15 10:11:12.5' as varchar)",
    "cast(0.1 as varchar)",
    "cast(true as varchar)",
    "hash('x')",
    "log(100)",
    "ln(10)",
    "log(2, 8)",
    "'abc' similar to 'a.c'",
    "date_diff('week', date '2024-01-01', date '2024-03-01')",
    "date_diff('month', date '2024-01-31', date '2024-03-01')",
    "date_diff('day', timestamp '2024-03-01 23:00:00', timestamp '2024-03-02 01:00:00')",
    "date_diff('hour', timestamp '2024-03-01 23:59:00', timestamp '2024-03-02 00:01:00')",
    "date_trunc('quarter', date '2024-05-15')",
    "cast(3.7 as bigint)",
    # Ties: a DECIMAL rounds half away from zero, a DOUBLE half to even (DuckDB, PostgreSQL).
    "cast(-2.5 as int)",
    "cast(0.5 as smallint)",
    "cast(1.5 * 3 as int)",
    "cast(2.5::double as int)",
    "cast(3.5::double as bigint)",
    "cast(-2.5::double as integer)",
    "cast(2.5::float as int)",
    "cast(7 / 2 as int)",
    "cast(5 / 2 as int)",
    "try_cast(2.5 as int)",
    "2.5::int",
    "cast(true as int)",
    "cast('7' as int)",
    "epoch(timestamp '2024-03-15 10:11:12.5')",
    "epoch(timestamptz '2024-03-15 10:11:12.5+00')",
    "extract(second from timestamp '2024-03-15 10:11:12.5')",
    "date_part('second', timestamp '2024-03-15 10:11:12.75')",
    "minute(timestamp '2024-03-15 10:11:12')",
    "date_part('epoch', timestamp '2024-03-15 10:11:12.25')",
    "to_timestamp(1700000000.5)",
    "strftime(timestamp '2024-03-15 10:11:12.5', '%Y-%m-%dT%H:%M:%S.%fZ')",
    "strftime(date '2024-03-15', '%d/%m/%Y')",
    "strftime(timestamp '2024-03-15 14:05:09', '%A, %B %-d at %I:%M %p')",
    "strftime(timestamp '2024-03-15 14:05:09', '%a %b %d %Y (day %j, week %V)')",
    "strftime(timestamp '2024-03-15 14:05:09', 'order-%Y%m%d-%H%M%S')",
    "strftime(timestamp '2024-03-15 14:05:09', '%u %G 100%%')",
    "strftime(timestamp '2024-03-15 14:05:09', 'at 100%% %Y')",
    "second(timestamp '2024-03-15 10:11:12.9')",
    "ends_with('abc', 'x')",
    "contains('abc', 'd')",
    "ends_with('abc', 'c') = true",
    "week(date '2024-12-30')",
    "dayname(timestamp '2024-03-18 01:00:00')",
    "strftime(timestamp '2024-03-15 14:05:09', '%-I o''clock, %d.%m.%y')",
    "cast(timestamp '2024-03-15 10:11:12.123456' as varchar)",
    "timestamp '2024-03-15 10:11:12' + interval 90 minute",
    "date_trunc('hour', timestamp '2024-03-15 10:11:12')",
    "cast('2024-03-15T10:11:12Z' as timestamptz)",
    "cast('2024-03-15 10:11:12+02' as timestamptz)",
    "round(1.005, 2)",
    "cast(0.1 + 0.2 as varchar)",
    "cast(1/3 as decimal(10,4))",
    "cast(-0.0::double as varchar)",
    "cast(100.0 as varchar)",
    "cast(1.50 as varchar)",
    "cast(12.30::decimal(10,2) as varchar)",
    "trim(both 'x' from 'xxaxx')",
    "length('😀')",
    "'A' < 'a'",
    "coalesce(nullif('', ''), 'empty')",
    "round(7::bigint)",
    "round(-0.5::double)",
    "round(0.49999999999999994::double)",
    "round(2.5::float)",
    "round(1e300::double)",
    "round(-7.5)",
    "substr('hello', -3, 2)",
    "substr('hello', -7, 3)",
    "substr('héllo', -4, 2)",
    "substring('hello', -1)",
    "substring('hello', 2 - 4, 1)",
    "round(2.5::double)",
    "round(-2.5::double)",
    "round(0.125::double, 2)",
    "trunc(2.7)",
    "trunc(-2.7)",
    "sign(-3)",
    "abs(-2.5)",
    "power(2, 10)",
    "sqrt(16)",
    "pi()",
    "-7 // 2",
    "-7 % 3",
    "7 % -3",
    "mod(-7, 3)",
    "greatest(1, null, 3)",
    "least(2, null)",
    "cast(1.0 / 3 as varchar)",
    "cast(1e20 as varchar)",
    "cast(123.0::double as varchar)",
    "cast(2.5 as decimal(10,0))",
    "cast(-2.5 as decimal(10,0))",
    "cast(2.5::double as decimal(10,0))",
    "strpos('abc', 'c')",
    "position('c' in 'abc')",
    "reverse('abc')",
    "repeat('ab', 3)",
    "ltrim('xxa', 'x')",
    "rtrim('axx', 'x')",
    "length('')",
    "substr('hello', -3)",
    "substr('hello', 0, 2)",
    "left('hello', -2)",
    "split_part('a,b,c', ',', 5)",
    "split_part('a,b,c', ',', -1)",
    "regexp_extract('abc123', '([a-z]+)([0-9]+)', 2)",
    "regexp_replace('aaa', 'a', 'b', 'g')",
    "concat('a', 1, true)",
    "'a' || null",
    "coalesce(null, null)",
    "ifnull(null, 2)",
    "to_timestamp(1700000000)",
    "epoch(date '2024-03-15')",
    "extract(epoch from timestamp '2024-03-15 10:11:12.5')",
    "date '2024-03-31' + interval 1 month",
    "date_add(date '2024-01-31', interval 1 month)",
    "strptime('2024-03-15', '%Y-%m-%d')",
    "dayname(date '2024-03-17')",
    "monthname(date '2024-03-17')",
    "quarter(date '2024-05-15')",
    "dayofyear(date '2024-03-15')",
    "week(date '2024-01-01')",
    "extract(week from date '2024-12-30')",
    "yearweek(date '2024-12-30')",
    "day(date '2024-03-15')",
    "hour(timestamp '2024-03-15 10:11:12')",
    "date_trunc('week', date '2024-03-15')",
    "date_trunc('day', timestamp '2024-03-15 10:11:12')",
    "last_day(date '2023-02-10')",
    "cast('2024-03-15 10:11:12' as timestamp)",
    "cast('true' as boolean)",
    "cast(1 as boolean)",
    "cast(0.1::float as double)",
    "list_sum([1, 2, 3])",
    "len([1, 2])",
    "array_length([])",
    "[1, 2, 3][1]",
    "[1, 2, 3][-1]",
    "list_slice([1,2,3], 2, 3)",
    "md5('')",
    "hex(255)",
    "lpad('abc', 2, '0')",
    "ascii('A')",
    "chr(65)",
    "contains('abc', '')",
    "starts_with('abc', '')",
    "ends_with('abc', 'c')",
    "10 / 4",
    "10 / 4.0",
    "2 ** 10",
    "cast(2 ** 62 as bigint)",
    "cast(9007199254740993 as double)",
    "case when null then 1 else 2 end",
    "null = null",
    "1 in (1, null)",
    "2 in (1, null)",
    "nullif(1, null)",
    "weekday(date '2024-03-18')",
    "yearweek(date '2024-01-01')",
    "yearweek(date '2021-01-03')",
    "yearweek(timestamp '2020-12-31 23:00:00')",
    "strlen('héllo')",
    "strlen('')",
    "regexp_extract('utm_source=google&x=1', 'utm_source=([^&]+)', 1)",
    "regexp_extract('abc', 'x(y)?', 1)",
    "regexp_extract('abc', 'a(x)?b', 1)",
    "regexp_extract('abc', '(a)(b)', 0)",
    "regexp_extract('abc', 'z')",
    "regexp_extract(null, 'z')",
    "regexp_extract('aXbc', '(?i)x.')",
    r"regexp_extract('a.b|c', 'b\|c')",
    "epoch_us(timestamp '2024-03-15 10:11:12.5')",
    "epoch_ns(timestamp '2024-03-15 10:11:12.5')",
    "epoch_us(timestamptz '2024-03-15 10:11:12.5+02')",
    "epoch_ms(timestamp '2024-03-15 10:11:12.5')",
    "epoch_ms(1710497472500)",
    "millisecond(timestamp '2024-03-15 10:11:12.5')",
    "microsecond(timestamp '2024-03-15 10:11:12.5')",
    "isoyear(date '2021-01-03')",
    "hex('ab')",
    "regexp_extract('a' || chr(10) || 'b', 'a.b')",
    "regexp_extract('x' || chr(10) || 'y', '[^z]+')",
    "epoch_ms(timestamp '1969-12-31 23:59:59.9995')",
    "epoch_us(timestamp '1969-12-31 23:59:59.9995')",
    "epoch_ms(date '2024-03-15')",
    "epoch_ms(timestamptz '2024-03-15 10:11:12.5+02')",
    "millisecond(timestamp '2024-03-15 10:11:12.5005')",
    "microsecond(timestamp '2024-03-15 10:11:12.5005')",
    "extract(epoch from date '2024-03-15')",
    "date_part('epoch', timestamp '1969-12-31 23:59:59.5')",
    "isoyear(date '2024-12-30')",
    "yearweek(date '2027-01-01')",
    "regexp_extract('2024-03-15', '([0-9]+)-([0-9]+)', 2)",
    "regexp_extract('ABC', '(?i)b')",
    "regexp_matches('a' || chr(10) || 'b', 'a.b')",
]

# Values retl does not bridge: (engine, expression) -> the engine's value, where DuckDB's
# differs. docs/warehouses.md names each.
KNOWN_DIFFERENT: dict[tuple[str, str], Any] = {
    ("spark", "hash('x')"): -80340190,  # every engine's own hash
    # A DOUBLE's text: DuckDB's shortest form, Spark's Java form.
    ("spark", "cast(1e20 as varchar)"): "1.0E20",
    # A DATE plus a month, a week's start of a DATE: the same day, a DATE in Spark.
    ("spark", "date '2024-03-31' + interval 1 month"): dt.date(2024, 4, 30),
    ("spark", "date_trunc('week', date '2024-03-15')"): dt.date(2024, 3, 11),
    # Position 0: DuckDB counts it as the one before the first character, Spark as the first.
    ("spark", "substr('hello', 0, 2)"): "he",
    # A negative list index counts from the end in DuckDB, not in PostgreSQL.
    ("postgres", "[1, 2, 3][-1]"): None,
    # Text of a DOUBLE, of a number literal written with an exponent (a NUMERIC in
    # PostgreSQL), of a boolean in concat().
    ("postgres", "cast(123.0::double as varchar)"): "123",
    ("postgres", "cast(-0.0::double as varchar)"): "-0",
    ("postgres", "cast(1e20 as varchar)"): "100000000000000000000",
    ("postgres", "concat('a', 1, true)"): "a1t",
    # The same day; Spark's date_trunc of a DATE is a DATE, DuckDB's a TIMESTAMP.
    ("spark", "date_trunc('quarter', date '2024-05-15')"): dt.date(2024, 4, 1),
    # A "." matches a line break in PostgreSQL's regular expressions, not in RE2's.
    ("postgres", "regexp_extract('a' || chr(10) || 'b', 'a.b')"): "a\nb",
    ("postgres", "regexp_matches('a' || chr(10) || 'b', 'a.b')"): True,
}

# The expressions that fail loudly in each engine (refused by retl, or an error there):
# one that starts failing (a rewrite that broke) or starts running (drop it here) fails
# the test, so each rewrite that made an expression run stays proven.
LOUD: dict[str, frozenset[str]] = {
    "postgres": frozenset(
        {
            "format('{}-{}', 'a', 'b')",
            "printf('%05d', 42)",
            "hash('x')",
            "'abc' similar to 'a.c'",
            "date_diff('week', date '2024-01-01', date '2024-03-01')",
            "list_sum([1, 2, 3])",
            "len([1, 2])",
            "array_length([])",
            "list_slice([1,2,3], 2, 3)",
            "hex(255)",
            "hex('ab')",
        }
    ),
    "spark": frozenset(
        {
            "date_diff('day', date '2024-03-01', date '2024-03-15')",
            "timestamp '2024-03-15 10:00:00' - interval '1 day 12:00:00'",
            "regexp_replace('a1b22', '[0-9]+', '#')",
            "format('{}-{}', 'a', 'b')",
            "'abc' similar to 'a.c'",
            "date_diff('week', date '2024-01-01', date '2024-03-01')",
            "date_diff('month', date '2024-01-31', date '2024-03-01')",
            "date_diff('day', timestamp '2024-03-01 23:00:00', timestamp '2024-03-02 01:00:00')",
            "date_diff('hour', timestamp '2024-03-01 23:59:00', timestamp '2024-03-02 00:01:00')",
            "strftime(timestamp '2024-03-15 14:05:09', '%a %b %d %Y (day %j, week %V)')",
            "strftime(timestamp '2024-03-15 14:05:09', '%u %G 100%%')",
            "date_add(date '2024-01-31', interval 1 month)",
            "list_sum([1, 2, 3])",
            "len([1, 2])",
            "[1, 2, 3][-1]",
            "list_slice([1,2,3], 2, 3)",
            "case when null then 1 else 2 end",
        }
    ),
}


def normal(value: Any) -> Any:
    """Values of the same meaning made equal across drivers: Decimal as float, an aware
    datetime in UTC as a naive one, a tuple as a list, JSON text of a number as it."""
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    if isinstance(value, tuple):
        return [normal(v) for v in value]
    if isinstance(value, list):
        return [normal(v) for v in value]
    return value


def duckdb_value(expression: str) -> Any:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con.execute(f"select {expression} as v").fetchall()[0][0]


def differences(
    engine_name: str, run: Callable[[str], Any], loud: tuple[type[BaseException], ...]
) -> list[str]:
    """Expressions whose value in the engine (``run``: the DuckDB-dialect SELECT, transpiled
    and run there) is another than DuckDB's, without an error, and not as KNOWN_DIFFERENT
    says; and expressions that fail there and are not in LOUD, or are and do not."""
    found = []
    expected_loud = LOUD.get(engine_name, frozenset())
    for expression in EXPRESSIONS:
        expected = duckdb_value(expression)
        try:
            got = run(f"select {expression} as v")
        except loud as exc:
            # refused by retl, or an error of the engine: loud, not silent
            if expression not in expected_loud:
                first = str(exc).splitlines()[0][:200]
                found.append(f"{expression}: now fails in {engine_name} ({first})")
            continue
        if expression in expected_loud:
            found.append(f"{expression}: now runs in {engine_name}; drop it from LOUD")
        known = KNOWN_DIFFERENT.get((engine_name, expression), expected)
        if normal(got) != normal(known) and normal(got) != normal(expected):
            found.append(f"{expression}: DuckDB {expected!r}, {engine_name} {got!r}")
        elif (engine_name, expression) in KNOWN_DIFFERENT and normal(got) == normal(expected):
            found.append(f"{expression}: now equal in {engine_name}; drop it from the list")
    return found
