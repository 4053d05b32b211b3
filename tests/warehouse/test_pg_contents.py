"""A PostgreSQL warehouse builds ``contents`` from line items as DuckDB does: a DuckDB-dialect
struct list (``list({'content_id': sku, ...} ORDER BY ...)``) runs there as JSON, and a
``jsonb`` column of line items is sent as the list it holds, not as one JSON string."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest

from reverse_etl.delivery.retry import RetryPolicy
from reverse_etl.engine.postgres import PostgresConnection, PostgresEngine
from reverse_etl.project import Project
from reverse_etl.sandbox import DEMO_ADVERTISER_ID, DEMO_PIXEL_CODE, SandboxServer, SandboxWorld

pytestmark = pytest.mark.postgres

TOKEN = "pg-contents-token-5b2e"
NOW = int(time.time()) - 3600
ORDERS = 30

# Written once, in DuckDB's dialect, for both warehouses.
MODEL = """
select 'Purchase' as event,
       'order-' || o.order_id::varchar as event_id,
       o.ordered_at as event_time,
       lower(o.email) as email,
       sum(i.price * i.quantity) as value,
       'USD' as currency,
       list({'content_id': i.sku, 'price': i.price, 'quantity': i.quantity}
            order by i.price desc, i.sku) as contents,
       first(i.sku order by i.price, i.sku) as description
from {{ source('shop', 'orders') }} as o
join {{ source('shop', 'items') }} as i on i.order_id = o.order_id
group by o.order_id, o.ordered_at, o.email
"""
ORDERS_SQL = (
    "SELECT o AS order_id, 'Buyer' || o || '@Example.com' AS email, "
    f"make_timestamp(({NOW} - o) * 1000000) AS ordered_at FROM range(1, {ORDERS + 1}) AS a(o)"
)
ITEMS_SQL = (
    "SELECT o AS order_id, 'sku-' || k AS sku, "
    "CAST(10 + (k * 7 + o) % 5 AS DECIMAL(10, 2)) + 0.25 AS price, 1 + k AS quantity "
    f"FROM range(1, {ORDERS + 1}) AS a(o), range(0, 1 + o % 4) AS b(k)"
)


@pytest.fixture
def sandbox_token() -> str:
    return TOKEN


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PG_CONTENTS_TOKEN", TOKEN)


def rows(sql: str) -> list[tuple[Any, ...]]:
    return duckdb.sql(sql).fetchall()


def seed(db: PostgresConnection) -> None:
    with psycopg.connect(
        host=db.host, port=db.port, dbname=db.dbname, user=db.user, autocommit=True
    ) as con:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("CREATE SCHEMA shop")
        con.execute("CREATE TABLE shop.orders (order_id bigint, email text, ordered_at timestamp)")
        con.execute(
            "CREATE TABLE shop.items "
            "(order_id bigint, sku text, price numeric(10, 2), quantity bigint)"
        )
        with con.cursor() as cur:
            cur.executemany("INSERT INTO shop.orders VALUES (%s, %s, %s)", rows(ORDERS_SQL))
            cur.executemany("INSERT INTO shop.items VALUES (%s, %s, %s, %s)", rows(ITEMS_SQL))


def execute(db: PostgresConnection, sql: str) -> None:
    with psycopg.connect(
        host=db.host, port=db.port, dbname=db.dbname, user=db.user, autocommit=True
    ) as con:
        con.execute(sql)


def write_project(root: Path, base_url: str, warehouse: str, model: str = MODEL) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "data").mkdir()
    on_duckdb = "type: duckdb" in warehouse

    def located(table: str) -> str:
        return f'\n        meta: {{external_location: "data/{table}.parquet"}}' if on_duckdb else ""

    (root / "retl_project.yml").write_text(
        f"""
warehouse:
{warehouse}
sources:
  - name: shop
    tables:
      - name: orders{located("orders")}
        columns:
          - {{name: order_id, data_type: bigint}}
          - {{name: email, data_type: varchar}}
          - {{name: ordered_at, data_type: timestamp}}
      - name: items{located("items")}
        columns:
          - {{name: order_id, data_type: bigint}}
          - {{name: sku, data_type: varchar}}
          - {{name: price, data_type: "decimal(10,2)"}}
          - {{name: quantity, data_type: bigint}}
""",
        encoding="utf-8",
    )
    (root / "models" / "purchases.sql").write_text(model, encoding="utf-8")
    (root / "destinations.yml").write_text(
        f"""
destinations:
  tiktok:
    type: tiktok_events
    model: purchases
    auth_method: access_token
    access_token: "{{{{ env_var('PG_CONTENTS_TOKEN') }}}}"
    event_source_id: {DEMO_PIXEL_CODE}
    api_base_url: {base_url}
""",
        encoding="utf-8",
    )
    if on_duckdb:
        for table, sql in (("orders", ORDERS_SQL), ("items", ITEMS_SQL)):
            duckdb.sql(f"COPY ({sql}) TO '{root / 'data' / table}.parquet' (FORMAT parquet)")
    return root


def pg_warehouse(db: PostgresConnection, state: str) -> str:
    return (
        f"  type: postgres\n  host: {db.host}\n  port: {db.port}\n  dbname: {db.dbname}\n"
        f"  user: {db.user}\n{state}"
    )


def sync(root: Path) -> tuple[int, int]:
    with Project.load(root) as p:
        p.retry_policy = RetryPolicy(base_delay=0.01, max_delay=0.05)
        report = p.sync()
    assert report.ok, report.to_dict()
    (r,) = report.results
    return r.sent, r.rows_unchanged


def events(server: SandboxServer) -> dict[str, dict[str, Any]]:
    return {e["data"]["event_id"]: e["data"] for e in server.events()}


def duckdb_events(root: Path) -> dict[str, dict[str, Any]]:
    world = SandboxWorld.demo()
    world.add_token(TOKEN, [DEMO_ADVERTISER_ID])
    with SandboxServer(world) as other:
        on_duckdb = write_project(root, other.base_url, "  type: duckdb")
        assert sync(on_duckdb) == (ORDERS, 0)
        return events(other)


@pytest.mark.parametrize("state", ["state:\n  location: warehouse", ""])
def test_a_struct_list_from_line_items_sends_the_contents_duckdb_sends(
    pg_db: PostgresConnection, server: SandboxServer, tmp_path: Path, state: str
) -> None:
    """The same model on both warehouses: the same events, contents in the model's order;
    an unchanged re-sync sends nothing (the JSON, and so the row's hash, is the same each
    time), and a changed line item resends its order only. With the state in the warehouse
    the diff reads PostgreSQL's JSON text; with it local, the lists the workbench made."""
    seed(pg_db)
    on_pg = write_project(tmp_path / "pg", server.base_url, pg_warehouse(pg_db, state))
    assert sync(on_pg) == (ORDERS, 0)
    from_pg = events(server)
    from_duckdb = duckdb_events(tmp_path / "duckdb")
    assert from_pg == from_duckdb
    contents = from_pg["order-3"]["properties"]["contents"]
    assert len(contents) == 4
    assert isinstance(contents[0], dict) and isinstance(contents[0]["price"], float)
    prices = [c["price"] for c in contents]
    assert prices == sorted(prices, reverse=True)
    assert sync(on_pg) == (0, ORDERS)
    execute(pg_db, "UPDATE shop.items SET quantity = quantity + 1 WHERE order_id = 7")
    assert sync(on_pg) == (1, ORDERS - 1)


JSONB_MODEL = """
select 'Purchase' as event, 'order-' || order_id::varchar as event_id,
       ordered_at as event_time, email, items as contents, extra as "properties.details"
from {{ source('shop', 'baskets') }}
"""


def test_a_jsonb_column_of_line_items_is_sent_as_its_list(
    pg_db: PostgresConnection, server: SandboxServer, tmp_path: Path
) -> None:
    """A table that keeps its line items as jsonb: ``contents`` is the list it holds, and a
    custom property of JSON is sent as its value, not as a JSON string (before, both went as
    one text). Keys come in any order and mix kinds (a numeric id, a text id)."""
    execute(pg_db, "CREATE SCHEMA shop")
    execute(
        pg_db,
        "CREATE TABLE shop.baskets AS SELECT o AS order_id, 'b' || o || '@example.com' AS email,"
        f" to_timestamp({NOW} - o) AT TIME ZONE 'UTC' AS ordered_at,"
        " CASE WHEN o = 1 THEN NULL WHEN o = 2 THEN '[]'::jsonb"
        " ELSE jsonb_build_array(jsonb_build_object('quantity', o, 'content_id', 'sku-' || o,"
        " 'price', o + 0.5), jsonb_build_object('content_id', o, 'price', 2)) END AS items,"
        " json_build_object('gift', o % 2 = 0, 'tags', json_build_array('a', o), 'n', o)"
        " AS extra"
        " FROM generate_series(1, 5) AS o",
    )
    root = write_project(tmp_path, server.base_url, pg_warehouse(pg_db, ""), JSONB_MODEL)
    config = (root / "retl_project.yml").read_text(encoding="utf-8")
    (root / "retl_project.yml").write_text(
        config
        + "      - name: baskets\n        columns:\n          - {name: items, data_type: json}\n",
        encoding="utf-8",
    )
    assert sync(root) == (5, 0)
    sent = events(server)
    assert "contents" not in sent["order-1"].get("properties", {})
    assert sent["order-3"]["properties"]["contents"] == [
        {"content_id": "sku-3", "price": 3.5, "quantity": 3},
        {"content_id": "3", "price": 2.0},
    ]
    # A list of text and numbers is sent as the JSON it is, as a DuckDB JSON column's is.
    assert sent["order-4"]["properties"]["details"] == {"gift": True, "tags": ["a", 4], "n": 4}
    assert sync(root) == (0, 5)
    # One row's number gets a fraction: that row only is sent again. (Read as the DOUBLE
    # of all the rows' values, every other row's 3 would have become 3.0, and its hash
    # another.)
    execute(
        pg_db,
        "UPDATE shop.baskets SET extra = json_build_object('gift', true, 'tags', "
        "json_build_array('a', 4), 'n', 4.5) WHERE order_id = 4",
    )
    assert sync(root) == (1, 4)


@pytest.mark.parametrize("by_copy", [True, False])
def test_struct_literals_run_as_json_on_postgresql(
    pg_engine: PostgresEngine, by_copy: bool
) -> None:
    """``{'k': v}`` and ``struct_pack`` have no PostgreSQL form: written as
    ``json_build_object``, nested, in a list literal and in an aggregate; the same values
    whether the rows come through COPY or through the cursor (a json[] as one array)."""
    pg_engine.by_copy = by_copy
    sql = (
        "select {'a': 1, 'b': {'c': 'x'}} as s, struct_pack(k := 2) as p, "
        "[{'a': 1}, {'a': 2}] as l, (select list({'i': i} order by i desc) "
        "from (values (1), (2)) as t(i)) as agg"
    )
    query = pg_engine.transpile(sql)
    assert "STRUCT" not in query.upper()
    assert "JSON_BUILD_OBJECT" in query.upper()
    reader = pg_engine.stream(sql)
    from reverse_etl.engine.duckdb import DuckDBEngine

    bench = DuckDBEngine()
    try:
        table = bench.stage(reader)
        # The lists and structs of DuckDB's values; a number inside is held as its JSON text
        # (json_columns.py), so each value's JSON, what a payload and a row hash read, is
        # compared with DuckDB's.
        as_json = "SELECT to_json(s), to_json(p), to_json(l), to_json(agg) FROM {}"
        got = bench.rows(as_json.format(table))
        expected = [('{"a":1,"b":{"c":"x"}}', '{"k":2}', '[{"a":1},{"a":2}]', '[{"i":2},{"i":1}]')]
        assert got == expected == duckdb.sql(as_json.format(f"({sql})")).fetchall()
        types = dict(bench.rows(f"SELECT column_name, column_type FROM (DESCRIBE {table})"))
        assert types["l"] == "STRUCT(a JSON)[]"
        assert types["s"] == "STRUCT(a JSON, b STRUCT(c VARCHAR))"
    finally:
        bench.close()
