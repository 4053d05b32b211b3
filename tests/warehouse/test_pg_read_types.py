"""PostgreSQL values a stream reads as DuckDB gives the same values (engine/pg_reads.py),
found by a differential fuzz of what gets sent; through COPY and through the cursor alike.
Each failed before: an enum's array came as one text '{sad,happy}', money as '$1,000.00',
an interval as PostgreSQL's '1 year 2 mons'."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import duckdb
import psycopg
import pyarrow as pa
import pytest

from reverse_etl.engine.base import NUMERIC_TEXT
from reverse_etl.engine.postgres import PostgresConnection, PostgresEngine

from .conftest import PgServer

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def db(pg_server: PgServer) -> Iterator[PostgresConnection]:
    name = "retl_read_types"
    with pg_server.admin() as con:
        con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        con.execute(f"CREATE DATABASE {name}")
    with pg_server.admin(name) as con:
        con.execute("CREATE EXTENSION citext")
        con.execute("CREATE TYPE mood AS ENUM ('sad', 'happy')")
        con.execute("CREATE DOMAIN label AS text")
        con.execute("CREATE DOMAIN posint AS integer CHECK (VALUE > 0)")
        con.execute("CREATE DOMAIN span AS interval")
    try:
        yield pg_server.connection(name)
    finally:
        with pg_server.admin() as con:
            con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def read(db: PostgresConnection, sql: str, *, by_copy: bool) -> pa.Table:
    engine = PostgresEngine(db, model_dialect="postgres", by_copy=by_copy)
    try:
        return engine.stream(sql).read_all()
    finally:
        engine.close()


def duck(sql: str) -> pa.Table:
    result: Any = duckdb.connect().sql(sql).arrow()
    return result.read_all() if isinstance(result, pa.RecordBatchReader) else result


BOTH = pytest.mark.parametrize("by_copy", [True, False], ids=["copy", "cursor"])


@BOTH
def test_arrays_of_types_psycopg_does_not_know_are_lists(
    db: PostgresConnection, by_copy: bool
) -> None:
    table = read(
        db,
        "select array['sad', 'happy']::mood[] as moods, array['a', NULL]::label[] as labels, "
        "array['Sku-1']::citext[] as ids, array[1, 2]::posint[] as counts, "
        "NULL::mood[] as none, 'sad'::mood as one, 'Sku-2'::citext as id "
        "from generate_series(1, 2)",
        by_copy=by_copy,
    )
    assert table.schema.field("counts").type == pa.list_(pa.int32())
    for name in ("moods", "labels", "ids", "none"):
        assert table.schema.field(name).type == pa.list_(pa.string()), name
    assert table.slice(0, 1).to_pylist() == [
        {
            "moods": ["sad", "happy"],
            "labels": ["a", None],
            "ids": ["Sku-1"],
            "counts": [1, 2],
            "none": None,
            "one": "sad",
            "id": "Sku-2",
        }
    ]


@BOTH
def test_money_is_its_number(db: PostgresConnection, by_copy: bool) -> None:
    table = read(
        db,
        "select 1000000::money as m, NULL::money as n, array[12.5, NULL]::money[] as ms",
        by_copy=by_copy,
    )
    field = table.schema.field("m")
    assert field.metadata and NUMERIC_TEXT in field.metadata  # staged as a DOUBLE or DECIMAL
    assert table.to_pylist() == [{"m": "1000000.00", "n": None, "ms": [12.5, None]}]


INTERVALS = [
    "1 year 2 months",
    "-14 months",
    "-1 day 2 hours 3 minutes 4 seconds",
    "26 hours",
    "1 day -00:00:00.5",
    "0 seconds",
    "3 days 00:00:00.000001",
    "1 month -1 day",
    "-1 year",
    "100 hours 0.25 seconds",
    "-1 days",
    "-90 minutes",
]


@BOTH
def test_an_interval_is_duckdbs_text(db: PostgresConnection, by_copy: bool) -> None:
    values = ", ".join(f"('{text}', {n})" for n, text in enumerate(INTERVALS))
    expected = (
        duck(
            f"select CAST(CAST(t AS INTERVAL) AS VARCHAR) as i from (values {values}) v(t, n) "
            "order by n"
        )
        .column("i")
        .to_pylist()
    )
    assert expected[:3] == ["1 year 2 months", "-1 year -2 months", "-1 day 02:03:04"]
    table = read(
        db,
        f"select t::interval as i, t::span as s from (values {values}) v(t, n) order by n",
        by_copy=by_copy,
    )
    assert table.column("i").to_pylist() == expected
    assert table.column("s").to_pylist() == expected
    lists = read(
        db,
        f"select array_agg(t::interval order by n) as i, array_agg(t::span order by n) as s, "
        f"array[NULL, '1 mon']::interval[] as other from (values {values}) v(t, n)",
        by_copy=by_copy,
    )
    assert lists.to_pylist() == [{"i": expected, "s": expected, "other": [None, "1 month"]}]


def test_a_stream_with_two_columns_of_one_name_is_still_read(db: PostgresConnection) -> None:
    table = read(db, "select 1::money as a, '1 day'::interval as a", by_copy=True)
    assert table.schema.names == ["a", "a"]
    assert table.column(0).to_pylist() == ["1.00"]
    assert table.column(1).to_pylist() == ["1 day"]


def test_the_catalog_query_runs_in_the_streams_transaction(db: PostgresConnection) -> None:
    """The array types are looked up on the stream's own read-only session."""
    with psycopg.connect(**_kw(db)) as con:
        con.execute("CREATE TABLE IF NOT EXISTS t (m mood[])")
        con.execute("INSERT INTO t VALUES ('{happy}')")
    table = read(db, "select m from t", by_copy=False)
    assert table.to_pylist() == [{"m": ["happy"]}]


def _kw(db: PostgresConnection) -> dict[str, Any]:
    return {"host": db.host, "port": db.port, "dbname": db.dbname, "user": db.user}
