"""DuckDB-dialect expressions give DuckDB's values on PostgreSQL, or fail loudly
(tests/portable_exprs.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from reverse_etl.engine.base import iter_batches
from reverse_etl.engine.duckdb import DuckDBEngine
from reverse_etl.engine.postgres import PostgresEngine
from reverse_etl.errors import EngineError
from tests.portable_exprs import (
    date_diff_grid_sql,
    differences,
    duckdb_value,
    engine_value,
    engine_values,
    normal,
)

pytestmark = pytest.mark.postgres


def test_no_expression_gives_another_value_on_postgresql_silently(
    pg_engine: PostgresEngine,
) -> None:
    bench = DuckDBEngine()

    def run(sql: str) -> Any:
        return engine_value(pg_engine, bench, sql)

    try:
        assert differences("postgres", run, (EngineError,)) == []
    finally:
        bench.close()


def test_side_by_side_in_one_select_the_values_are_the_same(pg_engine: PostgresEngine) -> None:
    """The expressions in SELECTs of a hundred columns each: a rewrite that needs the
    operands' types must not depend on what else the query holds (on Spark, one column's
    rewrite made sqlglot's typing fail for the whole query, and a sibling's cast then
    truncated where DuckDB rounds)."""
    bench = DuckDBEngine()

    def run(sql: str) -> object:
        return engine_value(pg_engine, bench, sql)

    try:
        many = differences(
            "postgres",
            run,
            (EngineError,),
            run_many=lambda expressions: engine_values(pg_engine, bench, expressions),
        )
        assert many == []
    finally:
        bench.close()


def test_epoch_ms_and_len_of_columns_follow_their_types_in_the_catalog(
    pg_engine: PostgresEngine,
) -> None:
    """sqlglot reads epoch_ms(x) as milliseconds to a timestamp and len(x) as a text's
    length: for a timestamp or date column, and a list column, PostgreSQL failed. Typed from
    its catalog, they give DuckDB's values (a number of milliseconds still gives a
    timestamp)."""
    import duckdb

    pg_engine.execute("DROP TABLE IF EXISTS typed_cols")
    pg_engine.execute(
        "CREATE TABLE typed_cols (i int, ts timestamp, d date, l int[], n bigint, s text)"
    )
    rows = (
        "(1, '2024-03-15 10:11:12.5005', '2024-03-15', '{1,2,3}', 1710497472500, 'abc'), "
        "(2, '1969-12-31 23:59:59.9995', '1969-12-31', '{}', 0, ''), "
        "(3, NULL, NULL, NULL, NULL, NULL)"
    )
    pg_engine.execute(f"INSERT INTO typed_cols VALUES {rows}")
    sql = (
        "select i, epoch_ms(ts) as a, epoch_ms(d) as b, len(l) as c, length(s) as e, "
        "epoch_ms(n) as g from {t} order by i"
    )
    reader = pg_engine.stream(sql.format(t="typed_cols"))
    got = [tuple(r.values()) for b in iter_batches(reader) for r in b.to_pylist()]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        "CREATE TABLE typed_cols (i int, ts timestamp, d date, l int[], n bigint, s varchar)"
    )
    duck_rows = rows.replace("'{1,2,3}'", "[1,2,3]").replace("'{}'", "[]")
    con.execute(f"INSERT INTO typed_cols VALUES {duck_rows}")
    expected = con.execute(sql.format(t="typed_cols")).fetchall()
    assert [r[1:5] for r in got] == [r[1:5] for r in expected]
    assert [r[1] for r in got] == [1710497472500, 0, None]
    assert [r[3] for r in got] == [3, 0, None]
    assert [normal(r[5]) for r in got] == [normal(r[5]) for r in expected]


def test_a_len_whose_alias_is_grouped_by_counts_the_list_and_the_untyped_is_said(
    pg_engine: PostgresEngine,
) -> None:
    """``GROUP BY k`` of ``len(l) AS k``: sqlglot's typed copy had ``len`` twice, and the
    rewrite was given up (PostgreSQL's ``length`` of an array: an error). A table
    PostgreSQL cannot describe (another database's) leaves it as written, and says it."""
    pg_engine.execute("DROP TABLE IF EXISTS grouped_lists")
    pg_engine.execute("CREATE TABLE grouped_lists (l int[])")
    pg_engine.execute("INSERT INTO grouped_lists VALUES ('{1,2}'), ('{3,4}'), ('{5}')")
    sql = "select len(l) as k, count(*) as n from grouped_lists group by k order by k"
    assert pg_engine.rows(pg_engine.transpile(sql)) == [(1, 1), (2, 2)]
    assert pg_engine.untyped(sql) == []
    assert pg_engine.untyped("select len(l) as k from other.public.lists") == ["LENGTH(l)"]


def test_date_diff_counts_as_duckdb_over_a_grid_of_times_and_dates(
    pg_engine: PostgresEngine,
) -> None:
    import duckdb

    sql = date_diff_grid_sql()
    reader = pg_engine.stream(sql)
    got = [tuple(r.values()) for b in iter_batches(reader) for r in b.to_pylist()]
    expected = duckdb.sql(sql).fetchall()
    assert len(expected) == 225
    assert got == expected


def test_a_star_written_out_keeps_the_catalogs_mixed_case_names(
    pg_engine: PostgresEngine,
) -> None:
    """``* EXCLUDE``/``* RENAME`` written out for PostgreSQL (engine/stars.py): a catalog
    column "Mixed" was written ``t.mixed`` (no such column: the model failed)."""
    pg_engine.execute(
        'DROP TABLE IF EXISTS mixed_cols; CREATE TABLE mixed_cols (a int, "Mixed" int)'
    )
    pg_engine.execute("INSERT INTO mixed_cols VALUES (1, 2)")
    for sql, want in [
        ("select * exclude (a) from mixed_cols", {"Mixed": 2}),
        ("select * rename (a as z) from mixed_cols", {"z": 1, "Mixed": 2}),
        ("select * replace (a + 1 as a) from mixed_cols as m", {"a": 2, "Mixed": 2}),
    ]:
        rows = [r for b in iter_batches(pg_engine.stream(sql)) for r in b.to_pylist()]
        assert rows == [want], sql


def test_an_interval_divided_by_a_number_runs_on_postgresql(pg_engine: PostgresEngine) -> None:
    """It was written ``CAST(<interval> AS DOUBLE PRECISION) / 2``: PostgreSQL refused it."""
    pg_engine.execute("DROP TABLE IF EXISTS spans; CREATE TABLE spans (a timestamp, b timestamp)")
    pg_engine.execute("INSERT INTO spans VALUES ('2024-01-01', '2024-01-04')")
    sql = "select (b - a) / 2 as half, interval '3 day' / 2 as also from spans"
    rows = [r for b in iter_batches(pg_engine.stream(sql)) for r in b.to_pylist()]
    assert [(str(r["half"]), str(r["also"])) for r in rows] == [("1 day 12:00:00",) * 2]


@pytest.mark.parametrize(
    "expression",
    [
        "strptime('2024-01-02', '%Y-%m-%d')",
        "strptime('02/01/2024 10:11:12', '%d/%m/%Y %H:%M:%S')",
        "cast(strptime('2024-01-02', '%Y-%m-%d') as date)",
        "5001 // 2",
        "-7 // 2",
        "cast(5001 as bigint) // cast(2 as smallint)",
        "5.5 // 2",
        "cast(-7.5 as double) // 2",
    ],
)
def test_strptime_and_integer_division_keep_duckdb_types(
    pg_engine: PostgresEngine, expression: str
) -> None:
    """Where ``normal`` (tests/portable_exprs.py) sees the same value, a payload may not:
    strptime gave a TIMESTAMPTZ ('2024-01-02 00:00:00+00') where DuckDB gives a TIMESTAMP,
    and ``5001 // 2`` a NUMERIC (2500.0) where DuckDB gives an integer (and ``5.5 // 2``
    gave 2 where DuckDB's is 2.75). The values and their Python types must match."""
    bench = DuckDBEngine()
    try:
        got = engine_value(pg_engine, bench, f"select {expression} as v")
    finally:
        bench.close()
    expected = duckdb_value(expression)
    assert (got, type(got)) == (expected, type(expected))
    if isinstance(expected, dt.datetime):
        assert got.tzinfo == expected.tzinfo


def test_date_parts_and_truncated_dates_of_columns_keep_duckdbs_types(
    pg_engine: PostgresEngine,
) -> None:
    """PostgreSQL's extract() is a NUMERIC (read as a DOUBLE: 2024.0 where DuckDB's year()
    is 2024), its date_trunc of a DATE a TIMESTAMPTZ (DuckDB's is a TIMESTAMP), its
    to_timestamp of epoch_ms(n) a TIMESTAMPTZ: the values and their Python types must match
    DuckDB's, for columns typed from the catalog too."""
    import duckdb

    pg_engine.execute("DROP TABLE IF EXISTS dated; CREATE TABLE dated (d date, n bigint)")
    pg_engine.execute("INSERT INTO dated VALUES ('2024-05-15', 1710497472500)")
    sql = (
        "select year(d) as a, month(d) as b, day(d) as c, extract(dow from d) as e, "
        "date_part('doy', d) as f, date_trunc('quarter', d) as g, "
        "date_trunc('month', date '2024-05-15') as h, epoch_ms(n) as i, "
        "epoch_ms(1710497472500) as j from dated"
    )
    got = [r for b in iter_batches(pg_engine.stream(sql)) for r in b.to_pylist()]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE dated (d date, n bigint)")
    con.execute("INSERT INTO dated VALUES ('2024-05-15', 1710497472500)")
    expected = con.execute(sql).fetchall()
    assert [normal(v) for v in got[0].values()] == [normal(v) for v in expected[0]]


@pytest.mark.parametrize(
    "expression",
    [
        "to_json([timestamptz '2024-06-01 10:00:00.5+02', timestamp '2024-06-01 10:00:00'])",
        "to_json([timestamptz '2024-06-01 10:00:00.5+02', null])",
        "to_json([null, timestamp '2024-06-01 10:00:00'])",
        "to_json({'l': [timestamptz '2024-06-01 10:00:00+00', timestamp '2024-06-01 10:00:00']})",
    ],
)
def test_a_list_of_times_with_a_zone_in_json_is_duckdbs_text(
    pg_engine: PostgresEngine, expression: str
) -> None:
    """PostgreSQL's JSON of a TIMESTAMPTZ is ISO's ('2024-06-01T08:00:00.5+00:00'), DuckDB's
    its text ('2024-06-01 08:00:00.5+00'); in a list with one, DuckDB makes a TIMESTAMP one
    too ('+00'). A list beside a NULL was left as it was."""
    bench = DuckDBEngine()
    try:
        got = engine_value(pg_engine, bench, f"select {expression} as v")
    finally:
        bench.close()
    assert got == duckdb_value(expression)


def test_current_timestamp_in_a_json_list_is_duckdbs_text(pg_engine: PostgresEngine) -> None:
    import re

    bench = DuckDBEngine()
    try:
        now, then = engine_value(
            pg_engine,
            bench,
            "select to_json([current_timestamp, timestamp '2024-06-01 10:00:00']) as v",
        )
    finally:
        bench.close()
    assert then == "2024-06-01 10:00:00+00"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?\+00", now), now


TRY_TEXTS = [
    "2024-1-5",
    "2024-02-29",
    "2023-02-29",
    "1900-02-29",
    "2000-02-29",
    "2024-04-31",
    "2024-13-01",
    "2024-01-00",
    " 2024-01-05 ",
    "12024-01-05",
    "x",
    None,
    "2024-01-05 23:59:59",
    "2024-01-05 24:00:00",
    "05/01/2024 7:5:3",
]


@pytest.mark.parametrize("fmt", ["%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M:%S"])
def test_try_strptime_is_null_for_a_text_it_cannot_read_as_in_duckdb(
    pg_engine: PostgresEngine, fmt: str
) -> None:
    """PostgreSQL has no try_strptime: the model failed. A bad text (no match, Feb 29 of a
    year that has none, 24:00) is NULL, a good one DuckDB's TIMESTAMP, row by row."""
    import duckdb

    pg_engine.execute("DROP TABLE IF EXISTS texts; CREATE TABLE texts (i int, s text)")
    con = duckdb.connect()
    con.execute("CREATE TABLE texts (i int, s varchar)")
    for i, text in enumerate(TRY_TEXTS):
        value = "NULL" if text is None else f"'{text}'"
        pg_engine.execute(f"INSERT INTO texts VALUES ({i}, {value})")
        con.execute(f"INSERT INTO texts VALUES ({i}, {value})")
    sql = f"select i, try_strptime(s, '{fmt}') as v from texts order by i"
    got = [(r["i"], r["v"]) for b in iter_batches(pg_engine.stream(sql)) for r in b.to_pylist()]
    expected = con.execute(sql).fetchall()
    assert [normal(v) for v in got] == [normal(v) for v in expected]
    assert any(v is not None for _, v in expected) and any(v is None for _, v in expected)


def test_an_empty_text_splits_and_a_null_list_contains_as_in_duckdb(
    pg_engine: PostgresEngine,
) -> None:
    """string_to_array('', ',') is an empty array (DuckDB's string_split: ['']; its len 1),
    and sqlglot's list_contains of a NULL list gave false (DuckDB: NULL)."""
    import duckdb

    pg_engine.execute("DROP TABLE IF EXISTS parts; CREATE TABLE parts (i int, s text, l int[])")
    pg_engine.execute(
        "INSERT INTO parts VALUES (1, '', NULL), (2, 'a,b', '{1,2}'), (3, NULL, '{}')"
    )
    con = duckdb.connect()
    con.execute("CREATE TABLE parts (i int, s varchar, l int[])")
    con.execute("INSERT INTO parts VALUES (1, '', NULL), (2, 'a,b', [1, 2]), (3, NULL, [])")
    sql = (
        "select i, string_split(s, ',') as a, len(string_split(s, ',')) as b, "
        "list_contains(l, 1) as c, list_has(l, 3) as d from parts order by i"
    )
    got = [tuple(r.values()) for b in iter_batches(pg_engine.stream(sql)) for r in b.to_pylist()]
    assert normal(got) == normal(con.execute(sql).fetchall())
