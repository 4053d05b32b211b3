"""JSON on Spark as DuckDB means it (engine/spark_json.py), without Spark: the rewrites'
Spark SQL, the refusals, and which output columns are found to be JSON. The values are
checked on a real Spark by tests/portable_exprs.py and tests/spark/test_spark_sync.py."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from reverse_etl.engine.spark_json import json_output_columns
from reverse_etl.engine.spark_meanings import duckdb_meanings
from reverse_etl.errors import EngineError

TABLES = {
    ("", "", "t"): {"j": "VARCHAR", "n": "BIGINT", "s": "VARCHAR"},
}


def table_types(parts: tuple[str, str, str]) -> dict[str, str] | None:
    return TABLES.get(parts)


def spark_sql(expression: str) -> str:
    tree = sqlglot.parse_one(f"select {expression} as v from t", read="duckdb")
    return duckdb_meanings(tree).sql("spark")


@pytest.mark.parametrize(
    ("expression", "path"),
    [
        ("j->'m'", "$.m"),
        ("j->'$.a.b'", "$.a.b"),
        ("j->0", "$[0]"),
        ("json_extract(j, '$.items[2].sku')", "$.items[2].sku"),
        ("j->'a b'", '$["a b"]'),
        ("j->'$.x.\"y.z\"'", '$.x["y.z"]'),
    ],
)
def test_arrow_is_the_json_text_of_the_value(expression: str, path: str) -> None:
    sql = spark_sql(expression)
    assert sql.startswith("SELECT TO_JSON(VARIANT_GET(PARSE_JSON(j), ")
    literal = sqlglot.parse_one(sql, read="spark").find(exp.Literal)
    assert literal is not None and literal.name == path
    assert "GET_JSON_OBJECT" not in sql


@pytest.mark.parametrize(
    ("expression", "why"),
    [
        ("j->'$.a[*]'", "the path part"),
        ("j->'$.a[#-1]'", "the path '$.a[#-1]'"),
        ("json_extract(j, s)", "a path that is not a quoted literal"),
        ("json_extract(j, ['$.a', '$.b'])", "a path that is not a quoted literal"),
        ("j->'$[\"a\\\\b\"]'", "a key with a double quote or a backslash"),
        ("json_array(1, 'a')", "Spark's lists hold one type"),
        ("json_object(s, 1)", "only with quoted keys"),
    ],
)
def test_what_spark_cannot_say_is_refused_by_name(expression: str, why: str) -> None:
    with pytest.raises(EngineError) as raised:
        spark_sql(expression)
    assert why in str(raised.value)


def test_to_json_keeps_null_fields_and_json_object_is_a_struct() -> None:
    keep = "MAP('ignoreNullFields', 'false')"
    assert spark_sql("to_json({'a': n})") == f"SELECT TO_JSON(STRUCT(n AS a), {keep}) AS v FROM t"
    assert spark_sql("{'a': n}::json") == f"SELECT TO_JSON(STRUCT(n AS a), {keep}) AS v FROM t"
    assert spark_sql("json_object('k', n, 'b', s)") == (
        f"SELECT TO_JSON(NAMED_STRUCT('k', n, 'b', s), {keep}) AS v FROM t"
    )
    # A text cast to JSON is the text itself (spark_meanings._json_as_text), not to_json.
    assert "TO_JSON" not in spark_sql("s::json ->> 'a'")


def json_columns(sql: str, dialect: str = "duckdb") -> frozenset[str]:
    return json_output_columns(sqlglot.parse_one(sql, read=dialect), dialect, table_types)


def test_the_columns_duckdb_would_type_json_are_found() -> None:
    sql = """
        select n, s, j,
               j::json as cast_json, json(s) as parsed, to_json({'a': n}) as "Properties.X",
               j->'a' as arrow, json_extract(j, '$.a') as extracted,
               json_object('k', n) as built, coalesce((j->'a'), '{}'::json) as either,
               j->>'a' as text_value, json_extract_string(j, '$.a') as text_too,
               upper(s) as other
        from t
    """
    assert json_columns(sql) == {
        "cast_json",
        "parsed",
        "properties.x",
        "arrow",
        "extracted",
        "built",
        "either",
    }


def test_json_is_found_through_the_queries_that_wrap_a_model() -> None:
    # What the pipeline streams: the model inside its diff's and fetch's SELECTs.
    model = "select n as id, to_json([n]) as tags, s from t"
    wrapped = f"select *, md5(s) as h from (select * from ({model}) as m where id > 0) as d"
    assert json_columns(wrapped) == {"tags"}
    with_cte = f"with m as ({model}) select m.tags, m.s from m join t on t.n = m.id"
    assert json_columns(with_cte) == {"tags"}


def test_postgresql_json_functions_in_a_postgresql_model() -> None:
    sql = "select row_to_json(t) as r, json_build_object('a', n) as o, s->>'a' as x from t"
    assert json_columns(sql, "postgres") == {"r", "o"}


def test_nothing_is_found_when_the_tables_are_not_known() -> None:
    # (the columns then go as text, as before: never a guess)
    assert json_columns("select to_json(x) as v from unknown_table") == frozenset()
