"""``j -> 'k'`` inside a function's arguments, which sqlglot reads as a lambda
(``portable.json_arrows``): rewritten as DuckDB computes it, checked against DuckDB itself."""

from __future__ import annotations

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from reverse_etl.engine.portable import json_arrows

SOURCE = """ FROM (SELECT '{"a": {"b": 3}, "c": [7, {"d": "x"}], "s": "t"}'::JSON AS j) AS src"""


def run(sql: str) -> object:
    try:
        return duckdb.sql(sql).fetchall()
    except duckdb.Error as exc:
        return type(exc)


@pytest.mark.parametrize(
    "expression",
    [
        "coalesce(j->'a', '0'::json)",
        "coalesce(j->0, j->'$.s')",
        "coalesce(j->'a'->'b', '0'::json)",
        "coalesce(j->'a'->>'b', 'none')",
        "coalesce(j->'c'->1->>'d', 'none')",
        "to_json(j->'c')",
        "ifnull(j->'zz', 'null'::json)",
        "greatest(j->'s', '\"a\"'::json)",
        "list_value(j->'a', j->'s')",
    ],
)
def test_an_arrow_in_arguments_is_json_as_duckdb_computes_it(expression: str) -> None:
    sql = f"SELECT {expression}{SOURCE}"
    tree = sqlglot.parse_one(sql, read="duckdb")
    assert tree.find(exp.Lambda) is not None  # what sqlglot read
    rewritten = json_arrows(tree)
    assert rewritten.find(exp.Lambda) is None
    assert rewritten.find(exp.JSONExtract) is not None
    expected = run(sql)
    assert isinstance(expected, list)  # DuckDB computes it
    assert run(rewritten.sql("duckdb")) == expected


@pytest.mark.parametrize(
    "expression",
    [
        "list_transform([1, 2], x -> x + 1)",
        "list_transform([1, 2], x -> 'k')",  # a lambda of a constant stays a lambda
        "list_filter([1, 2], x -> x > 1)",
        "array_transform([1, 2], x -> 'k')",
        "list_reduce([1, 2], (a, b) -> a + b)",
        "coalesce(j->'a' = '1', false)",  # DuckDB's key is ('a' = '1'): refused there
    ],
)
def test_lambdas_and_other_bodies_stay_as_read(expression: str) -> None:
    sql = f"SELECT {expression}{SOURCE}"
    tree = sqlglot.parse_one(sql, read="duckdb")
    before = tree.sql("duckdb")
    assert json_arrows(tree).sql("duckdb") == before
