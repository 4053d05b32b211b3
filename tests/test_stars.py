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
        (  # a column name that is not plain is quoted: never SQL
            "select * exclude (a) from odd",
            'SELECT odd."b) from t; drop table t; --" AS "b) from t; drop table t; --" FROM odd',
        ),
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
    ],
)
def test_what_cannot_be_written_out_stays_as_it_is(model: str) -> None:
    assert written(model) == sqlglot.parse_one(model, read="duckdb").sql("postgres")


MIXED = {"t": {"a": "INT", "Mixed": "INT"}, "u": {"c": "INT"}}


@pytest.mark.parametrize(
    ("model", "dialect", "out"),
    [
        # A RENAME's new name as written: DuckDB names the column Z (Spark too when so
        # written; PostgreSQL folds it, as it folds "a AS Z").
        (
            "select * rename (a as Z) from t",
            "spark",
            "SELECT t.a AS Z, t.`Mixed` AS `Mixed` FROM t",
        ),
        (
            "select * rename (a as Z) from t",
            "postgres",
            'SELECT t.a AS Z, t."Mixed" AS "Mixed" FROM t',
        ),
        # The catalog's "Mixed" is that column on PostgreSQL, never t.mixed (no such column).
        ("select * exclude (a) from t", "postgres", 'SELECT t."Mixed" AS "Mixed" FROM t'),
        (
            "select * replace (a + 1 as A) from t",
            "postgres",
            'SELECT t.a + 1 AS A, t."Mixed" AS "Mixed" FROM t',
        ),
        (
            "select * exclude (a) from (select a, 1 as B from t) as x",
            "postgres",
            "SELECT x.B AS B FROM (SELECT a, 1 AS B FROM t) AS x",
        ),
    ],
)
def test_names_are_kept_as_the_catalog_or_the_model_spells_them(
    model: str, dialect: str, out: str
) -> None:
    tree = sqlglot.parse_one(model, read="duckdb")
    assert stars_expanded(tree, "duckdb", lambda parts: MIXED.get(parts[2])).sql(dialect) == out


def test_two_new_names_that_differ_only_in_case_stay_as_written() -> None:
    model = "select * rename (a as z, c as Z) from t join u on true"
    tree = sqlglot.parse_one(model, read="duckdb")
    out = stars_expanded(tree, "duckdb", lambda parts: MIXED.get(parts[2]))
    assert out.sql("postgres") == sqlglot.parse_one(model, read="duckdb").sql("postgres")
