"""``SELECT * EXCLUDE/REPLACE`` written out for engines without them (engine/stars.py),
without a warehouse. Their values on PostgreSQL and Spark: tests/portable_exprs.py."""

from __future__ import annotations

import pytest
import sqlglot

from reverse_etl.engine.stars import stars_expanded

TABLES = {
    "t": {"a": "INT", "b": "INT"},
    "u": {"c": "INT"},
    "odd": {"a": "INT", "b) from t; drop table t; --": "INT"},
}


def written(sql: str) -> str:
    tree = sqlglot.parse_one(sql, read="duckdb")
    return stars_expanded(tree, "duckdb", lambda parts: TABLES.get(parts[2])).sql("postgres")


@pytest.mark.parametrize(
    ("model", "postgres"),
    [
        ("select * exclude (a), b + 1 as c from t", "SELECT t.b AS b, b + 1 AS c FROM t"),
        ("select * replace (b + 1 as b) from t", "SELECT t.a AS a, t.b + 1 AS b FROM t"),
        ("select * exclude (a) from t as x", "SELECT x.b AS b FROM t AS x"),
        (
            "select t.* exclude (a), u.c from t join u on t.a = u.c",
            "SELECT t.b AS b, u.c FROM t JOIN u ON t.a = u.c",
        ),
    ],
)
def test_the_star_is_its_columns_and_the_rest_stays_as_written(model: str, postgres: str) -> None:
    assert written(model) == postgres


@pytest.mark.parametrize(
    "model",
    [
        "select * from t",  # nothing to write out
        "select * exclude (a) from (select 1 as a, 2 as b)",  # a source without a name
        "select * exclude (a) from nowhere",  # columns not known
        "select * exclude (a), u.* exclude (c) from t join u on true",  # two stars
        "select * exclude (a) from odd",  # a column name that is not plain: never SQL
    ],
)
def test_what_cannot_be_written_out_stays_as_it_is(model: str) -> None:
    assert written(model) == sqlglot.parse_one(model, read="duckdb").sql("postgres")
