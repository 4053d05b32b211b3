"""A model's text cannot become other SQL on its way to a warehouse (engine/sql_guard.py).

sqlglot writes the name of a type it does not know as it read it, without quotes: a
DuckDB-dialect model's ``CAST(x AS "void), java_method(...) --")`` became a call of Java in
Spark SQL, and ``CAST(1 AS "oid) AS a; DROP TABLE t; SELECT (1")`` three PostgreSQL
statements. Both the model's tree (an odd type name) and the text written for the warehouse
(one query, no code) are checked; each check is tested on its own. No server is needed: the
refusals come before any connection."""

from __future__ import annotations

import pytest

from reverse_etl.engine.postgres import PostgresConnection, PostgresEngine
from reverse_etl.engine.sql_guard import checked_output, refuse_odd_type_names
from reverse_etl.errors import EngineError

SPARK_CALL = (
    'SELECT 1 AS id, CAST(NULL AS "void), '
    "java_method('java.lang.System', 'getenv', 'TIKTOK_ACCESS_TOKEN') AS leak --\") AS a"
)
PG_STATEMENTS = 'SELECT CAST(1 AS "oid) AS a; DROP TABLE public.victim; SELECT (1") AS a'


def pg_engine() -> PostgresEngine:
    # Nothing listens on port 1: a lookup of a table's types fails at once, and the model is
    # never run.
    return PostgresEngine(PostgresConnection(host="127.0.0.1", port=1, dbname="none"))


@pytest.mark.parametrize(
    "sql",
    [
        SPARK_CALL,
        PG_STATEMENTS,
        'SELECT x::"my type" AS a FROM t',
        'SELECT TRY_CAST(x AS "a;b") AS a FROM t',
        'SELECT CAST(x AS STRUCT(a "we)ird")) AS a FROM t',
        'SELECT CAST(x AS "a b"[]) AS a FROM t',
    ],
)
def test_a_type_name_that_is_not_plain_is_refused(sql: str) -> None:
    import sqlglot

    with pytest.raises(EngineError, match="is not a plain name"):
        refuse_odd_type_names(sqlglot.parse_one(sql, read="duckdb"))


def test_plain_type_names_pass() -> None:
    import sqlglot

    for sql in (
        "SELECT CAST(x AS mytype) AS a, CAST(y AS myschema.My_Type) AS b FROM t",
        "SELECT CAST(x AS varchar) AS a, CAST(y AS STRUCT(a int, b varchar[])) AS b FROM t",
    ):
        refuse_odd_type_names(sqlglot.parse_one(sql, read="duckdb"))


def test_postgresql_never_gets_the_statements() -> None:
    engine = pg_engine()
    with pytest.raises(EngineError, match="is not a plain name"):
        engine.transpile(PG_STATEMENTS)
    assert engine._con is None  # refused before any connection


@pytest.mark.parametrize(
    "text",
    [
        "SELECT CAST(1 AS oid) AS a; DROP TABLE public.victim; SELECT (1) AS a",
        "SELECT 1 AS a; SELECT 2 AS b",
    ],
)
def test_written_text_of_more_than_one_statement_is_refused(text: str) -> None:
    with pytest.raises(EngineError, match="is not one query"):
        checked_output(text, "postgres", "PostgreSQL")


def test_written_text_that_is_not_a_query_is_refused() -> None:
    with pytest.raises(EngineError, match="is not one query"):
        checked_output("DROP TABLE public.victim", "postgres", "PostgreSQL")


def test_one_query_passes_as_it_is() -> None:
    text = "WITH a AS (SELECT 1 AS x) SELECT x FROM a UNION ALL SELECT 2"
    assert checked_output(text, "postgres", "PostgreSQL") == text


def test_spark_checks_the_written_text_for_code() -> None:
    pytest.importorskip("pyspark", reason="pyspark is not installed: pip install 'retl[spark]'")
    from reverse_etl.engine.spark import SparkConnection, SparkEngine, _refuse_code

    written = (
        "SELECT 1 AS id, CAST(NULL AS int), "
        "java_method('java.lang.System', 'getenv', 'TIKTOK_ACCESS_TOKEN') AS leak --) AS a"
    )
    with pytest.raises(EngineError, match=r"may not call java_method\(\)"):
        checked_output(written, "spark", "Spark SQL", _refuse_code)
    spark = SparkEngine(SparkConnection(master="local[1]"), model_dialect="duckdb")
    with pytest.raises(EngineError, match="is not a plain name"):
        spark.transpile(SPARK_CALL)
    assert spark._session is None  # refused before any session started


def test_a_model_run_as_written_is_one_query_and_may_end_in_semicolons() -> None:
    from reverse_etl.engine.sql_guard import model_query

    for text in ("select 7 as a;", "select 7 as a ;; -- done\n", "select 7 as a;\n/* end */"):
        assert model_query(text, "postgres", "m", "PostgreSQL").sql() == "SELECT 7 AS a"
    for text, found in (
        ("select 1 as a; drop table t", "found 2 statements"),
        ("drop table t", "found a DROP"),
    ):
        with pytest.raises(EngineError, match=found):
            model_query(text, "postgres", "m", "PostgreSQL")
    with pytest.raises(EngineError, match="cannot read model 'm' as Spark SQL"):
        model_query("BEGIN DROP TABLE t; SELECT 1 AS a; END", "spark", "m", "Spark SQL")
