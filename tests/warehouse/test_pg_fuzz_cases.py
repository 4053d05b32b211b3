"""Cases found by a differential fuzz of the PostgreSQL warehouse against DuckDB (the same
values through both engines, every column type to every parameter that could take it, the
events the sandbox received compared): each one failed before its fix.

Catalog types. ``retl validate`` and the check before a sync read a PostgreSQL table's column
types from the catalog. A type sqlglot cannot read (``citext``, ``money``, ``name``, an enum,
a domain, a composite, ``cidr``, ``macaddr``, ``oid``) made every model that read the table
fail ("'citext' is not a type sqlglot knows"), whatever column it used: the whole sync. An
``inet`` or a range was not text to it ("email must be text, not INET") while the rows bring
its text. The catalog's type is now the type the rows are read as."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from reverse_etl.delivery.retry import RetryPolicy
from reverse_etl.engine.postgres import PostgresConnection
from reverse_etl.project import Project
from reverse_etl.sandbox import DEMO_ADVERTISER_ID, DEMO_PIXEL_CODE, SandboxServer, SandboxWorld

from .conftest import PgServer

pytestmark = pytest.mark.postgres

TOKEN = "pg-fuzz-token-3a9c"
NOW = int(time.time()) - 3600

# column -> (PostgreSQL type, its value in row 1, the parameter it is sent as, what is sent)
COLUMNS: dict[str, tuple[str, str, str, Any]] = {
    "ci": ("citext", "'Sku-1'", "content_id", "Sku-1"),
    "mood": ("fuzz.mood", "'happy'", "properties.mood", "happy"),
    "domain_text": ("fuzz.label", "'gift'", "description", "gift"),
    "domain_int": ("fuzz.posint", "3", "num_items", 3),
    "domain_amount": ("fuzz.amount", "12.50", "value", 12.5),
    # its number (pg_reads.py), so a number to validate too (it said "must be a number")
    "money_c": ("money", "12.34", "predicted_ltv", 12.34),
    # a list of texts (pg_reads.py), so content_ids to validate too (it said "text")
    "moods": ("fuzz.mood[]", "ARRAY['sad', 'happy']::fuzz.mood[]", "content_ids", ["sad", "happy"]),
    "name_c": ("name", "'shop-7'", "shop_id", "shop-7"),
    "pair": ("fuzz.pair", "ROW(1, 'x')", "properties.pair", "(1,x)"),
    "net": ("cidr", "'10.1.0.0/16'", "properties.net", "10.1.0.0/16"),
    "mac": ("macaddr", "'08:00:2b:01:02:03'", "properties.mac", "08:00:2b:01:02:03"),
    "o": ("oid", "42", "order_id", "42"),
    "addr": ("inet", "'10.0.0.1'", "ip", "10.0.0.1"),
    "span": ("int4range", "'[1,5)'", "query", "[1,5)"),
    "doc": ("xml", "'<a>1</a>'", "properties.doc", "<a>1</a>"),
    "words": ("tsvector", "'a fat cat'", "search_string", "'a' 'cat' 'fat'"),
}


@pytest.fixture(scope="module")
def fuzz_db(pg_server: PgServer) -> Iterator[PostgresConnection]:
    """One database for the module: a table with a column of each type, one row."""
    name = f"retl_fuzz_{uuid.uuid4().hex[:12]}"
    with pg_server.admin() as con:
        con.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        with pg_server.admin(name) as con:
            con.execute("CREATE EXTENSION citext")
            con.execute("CREATE SCHEMA fuzz")
            con.execute("CREATE TYPE fuzz.mood AS ENUM ('sad', 'happy')")
            con.execute("CREATE DOMAIN fuzz.label AS text")
            con.execute("CREATE DOMAIN fuzz.posint AS integer CHECK (VALUE > 0)")
            con.execute("CREATE DOMAIN fuzz.amount AS numeric(10, 2)")
            con.execute("CREATE TYPE fuzz.pair AS (a integer, b text)")
            columns = ", ".join(f"{c} {t}" for c, (t, _, _, _) in COLUMNS.items())
            con.execute(f"CREATE TABLE fuzz.t (i integer, {columns})")
            values = ", ".join(v for _, v, _, _ in COLUMNS.values())
            con.execute(f"INSERT INTO fuzz.t VALUES (1, {values})")
            for column in COLUMNS:  # a table of its own: only its type is read
                con.execute(f"CREATE TABLE fuzz.t_{column} AS SELECT i, {column} FROM fuzz.t")
        yield pg_server.connection(name)
    finally:
        with contextlib.suppress(psycopg.Error), pg_server.admin() as con:
            con.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def write_project(
    root: Path, db: PostgresConnection, base_url: str, select: str, table: str = "t"
) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "retl_project.yml").write_text(
        f"warehouse:\n  type: postgres\n  host: {db.host}\n  port: {db.port}\n"
        f"  dbname: {db.dbname}\n  user: {db.user}\n",
        encoding="utf-8",
    )
    (root / "models" / "events.sql").write_text(
        "{{ config(dialect='postgres') }}\n"
        "select 'ViewContent' as event, 'e-' || i as event_id, "
        f"to_timestamp({NOW}) as event_time, 'a@example.com' as email, {select} from fuzz.{table}",
        encoding="utf-8",
    )
    (root / "destinations.yml").write_text(
        f"""
destinations:
  tiktok:
    type: tiktok_events
    model: events
    auth_method: access_token
    access_token: "{TOKEN}"
    event_source_id: {DEMO_PIXEL_CODE}
    api_base_url: {base_url}
""",
        encoding="utf-8",
    )
    return root


@pytest.mark.parametrize("column", list(COLUMNS))
def test_a_column_of_the_type_passes_validate(
    column: str, fuzz_db: PostgresConnection, tmp_path: Path
) -> None:
    """Each column as the parameter that takes its text (or number): no error."""
    param = COLUMNS[column][2]
    root = write_project(
        tmp_path, fuzz_db, "http://127.0.0.1:9", f'{column} as "{param}"', f"t_{column}"
    )
    with Project.load(root) as project:
        (result,) = project.validate()
    assert [e.message for e in result.errors] == []


def test_every_column_is_sent_as_the_rows_bring_it(
    fuzz_db: PostgresConnection, tmp_path: Path
) -> None:
    """One model reads every column: the sync sends each (it failed whole before)."""
    world = SandboxWorld.demo()
    world.add_token(TOKEN, [DEMO_ADVERTISER_ID])
    select = ", ".join(f'{c} as "{p}"' for c, (_, _, p, _) in COLUMNS.items())
    with SandboxServer(world) as server:
        root = write_project(tmp_path, fuzz_db, server.base_url, select)
        with Project.load(root) as project:
            project.retry_policy = RetryPolicy(base_delay=0.01, max_delay=0.05)
            report = project.sync()
        assert report.ok, report.to_dict()
        (event,) = [e["data"] for e in server.events()]
    sent = {
        **event["properties"],
        **event["user"],
        **{k: v for k, v in event["properties"].get("contents", [{}])[0].items()},
    }
    for column, (_, _, param, expected) in COLUMNS.items():
        key = param.removeprefix("properties.")
        assert sent[key] == expected, column
