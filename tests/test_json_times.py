"""Times inside JSON as DuckDB writes them (engine/json_times.py), without a warehouse: which
values are cast to text. Their values on PostgreSQL and Spark: tests/portable_exprs.py."""

from __future__ import annotations

import duckdb
import sqlglot

from reverse_etl.engine.json_times import json_times_as_text

TYPES = {"ts": "TIMESTAMP", "tz": "TIMESTAMPTZ", "d": "DATE", "n": "BIGINT", "s": "VARCHAR"}


def rewritten(expression: str, known: bool = True) -> str:
    tree = sqlglot.parse_one(f"select {expression} as v from t", read="duckdb")
    types = (lambda _: TYPES) if known else (lambda _: None)
    return json_times_as_text(tree, "duckdb", types).sql("duckdb")


def test_times_a_json_constructor_writes_are_cast_to_text() -> None:
    assert rewritten("to_json({'t': ts, 'n': n, 'd': d, 'l': [ts, ts], 'z': [ts, tz]})") == (
        "SELECT TO_JSON({'t': CAST(ts AS TEXT), 'n': n, 'd': d, "
        "'l': CAST([ts, ts] AS TEXT[]), 'z': [ts, tz]}) AS v FROM t"
    )
    assert rewritten("json_object('t', ts, 's', s)") == (
        "SELECT JSON_OBJECT('t', CAST(ts AS TEXT), 's', s) AS v FROM t"
    )
    assert (
        rewritten("{'t': ts}::json") == "SELECT CAST({'t': CAST(ts AS TEXT)} AS JSON) AS v FROM t"
    )


def test_other_times_and_unknown_types_are_left_as_written() -> None:
    for expression in ("ts", "upper(s)", "to_json({'t': upper(s)})", "[ts]", "{'t': ts}"):
        assert rewritten(expression) == rewritten(expression, known=False)
    assert "CAST(ts AS TEXT)" not in rewritten("to_json({'t': ts})", known=False)


def test_the_text_is_what_duckdb_writes_in_json() -> None:
    # DuckDB itself: the rewrite changes nothing there (its JSON of a time is its text).
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        "CREATE TABLE t AS SELECT TIMESTAMP '2024-01-02 03:04:05.120' AS ts,"
        " TIMESTAMPTZ '2024-01-02 03:04:05.5+00' AS tz, DATE '2024-01-02' AS d, 7 AS n,"
        " 'x' AS s"
    )
    for expression in (
        "to_json({'t': ts, 'l': [ts, tz], 'm': [ts], 'd': d})",
        "to_json([{'t': ts}, {'t': ts}])",
        "json_object('t', tz)",
    ):
        original = con.sql(f"select {expression} as v from t").fetchall()
        assert con.sql(rewritten(expression)).fetchall() == original
