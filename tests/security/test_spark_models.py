"""A model cannot make Spark run code: Java by reflection (``reflect``/``java_method`` can
call ``System.getenv`` and read the tokens of a local session's process) or a shell command
(``SELECT TRANSFORM ... USING``). Checked before Spark sees the SQL, in every path a model
takes to Spark: translated from DuckDB's dialect, a project in Spark's dialect, and a model
declaring ``config(dialect='spark')``. No session is started: the check comes first."""

from __future__ import annotations

import pytest

from reverse_etl.errors import EngineError

pytest.importorskip("pyspark", reason="pyspark is not installed: pip install 'retl[spark]'")

from reverse_etl.engine.spark import SparkConnection, SparkEngine

REFLECT = "select reflect('java.lang.System', 'getenv', 'TIKTOK_ACCESS_TOKEN') as t"
JAVA_METHOD = "select JAVA_METHOD('java.lang.System', 'getenv', 'HOME') as t"
TRY_REFLECT = "select 1 as a where try_reflect('java.lang.Runtime', 'getRuntime') is not null"
TRANSFORM = "select transform(a) using 'sh -c \"env\"' as (b) from (select 1 as a) as t"


def engine(dialect: str) -> SparkEngine:
    return SparkEngine(SparkConnection(master="local[1]"), model_dialect=dialect)


@pytest.mark.parametrize("sql", [REFLECT, JAVA_METHOD, TRY_REFLECT])
@pytest.mark.parametrize("dialect", ["duckdb", "spark"])
def test_java_by_reflection_is_refused(sql: str, dialect: str) -> None:
    spark = engine(dialect)
    with pytest.raises(EngineError, match=r"may not call (reflect|java_method|try_reflect)\(\)"):
        spark.transpile(sql)
    with pytest.raises(EngineError, match="may not call"):
        spark.native_view("m", sql)
    assert spark._session is None  # refused before any session started


def test_a_script_transform_is_refused() -> None:
    for check in (engine("spark").transpile, lambda sql: engine("duckdb").native_view("m", sql)):
        with pytest.raises(EngineError, match=r"may not run a script \(SELECT TRANSFORM"):
            check(TRANSFORM)


def test_a_spark_model_sqlglot_cannot_read_is_not_run_unchecked() -> None:
    spark = engine("duckdb")
    with pytest.raises(EngineError, match="cannot be checked before it runs") as info:
        spark.native_view("odd", "select from where")
    assert "model 'odd'" in info.value.message
    assert spark._session is None


def test_plain_models_still_pass() -> None:
    spark = engine("duckdb")
    out = spark.transpile("select upper(name) as n, reflect_count from t")
    assert "UPPER(name)" in out
    assert engine("spark").transpile("select `a b` from t") == "select `a b` from t"


@pytest.mark.parametrize(
    ("sql", "called"),
    [
        ("select value as v from read_files('/etc/passwd', format => 'text')", "read_files"),
        ("select * from READ_FILES('.git/config')", "read_files"),
        ("select secret('ci', 'token') as t", "secret"),
        ("select * from list_secrets()", "list_secrets"),
        ("select http_request(conn => 'c', method => 'GET', path => '/') as r", "http_request"),
        ("select * from read_statestore('/tmp/checkpoint')", "read_statestore"),
    ],
)
def test_a_file_read_or_secret_spark_does_itself_is_refused(sql: str, called: str) -> None:
    """Databricks' read_files() reads any file the cluster can, past the rule on a model's
    files (engine/file_rule.py); secret() returns a secret's value into the rows sent."""
    for spark in (engine("spark"), engine("duckdb")):
        with pytest.raises(EngineError, match=rf"may not call {called}\(\)"):
            spark.native_view("m", sql)
    with pytest.raises(EngineError, match=rf"may not call {called}\(\)"):
        engine("spark").transpile(sql)
    # columns of such names are no call
    assert "secret_count" in engine("duckdb").transpile("select secret_count, read_files from t")


@pytest.mark.parametrize(
    "table",
    [
        "`com.databricks.spark.csv`.`/etc/passwd`",
        "`org.apache.spark.sql.execution.datasources.v2.text.TextDataSourceV2`.`/etc/passwd`",
    ],
)
def test_a_file_read_through_a_providers_class_name_is_refused(table: str) -> None:
    """Spark reads `provider`.`path` with any provider's class name too, not only csv.`...`."""
    spark = engine("spark")
    with pytest.raises(EngineError, match=r"may not read a file as"):
        spark.native_view("m", f"select * from {table}")
    # a schema's name has no dot: an ordinary table passes
    assert "`shop`.`orders`" in engine("spark").transpile("select * from `shop`.`orders`")


def test_a_secret_or_network_call_says_its_fix() -> None:
    """A model's error keeps the message only (not the hint): the fix is in it."""
    for sql in ("select secret('ci', 'token') as t", "select http_request(conn => 'c') as r"):
        with pytest.raises(EngineError, match=r"\(remove the call\)$"):
            engine("spark").transpile(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "select * from identifier('read_files')('/etc/passwd')",
        "select * from IDENTIFIER('read_statestore')('/tmp/checkpoint')",
        "select * from identifier('read_kafka')('evil:9092', 'topic')",
        "select * from identifier('range')(3)",
        "select * from identifier('text.`/etc/passwd`')",
    ],
)
def test_a_name_given_as_text_is_refused(sql: str) -> None:
    """Spark's IDENTIFIER('...') clause names a (table-valued) function or a table by a string:
    FROM IDENTIFIER('range')(3) ran through retl, so IDENTIFIER('read_files')('/etc/passwd')
    on Databricks called what the checks refuse by name
    (sqlglot reads a table named by a call of identifier(), not the function it names)."""
    for spark in (engine("spark"), engine("duckdb")):
        with pytest.raises(EngineError, match=r"may not name a function or a table with"):
            spark.native_view("m", sql)
    with pytest.raises(EngineError, match=r"IDENTIFIER\('\.\.\.'\)"):
        engine("spark").transpile(sql)
    assert spark._session is None  # refused before any session started
    # a column of that name is no call
    assert "identifier" in engine("duckdb").transpile("select identifier from t").lower()
