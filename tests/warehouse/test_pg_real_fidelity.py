"""A PostgreSQL ``real`` (float4) is sent as the model wrote it: the shortest decimal that reads
back as the same float32 (0.1), not the float32 widened to a double (0.10000000149011612)."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest

from reverse_etl.delivery.retry import RetryPolicy
from reverse_etl.engine.postgres import PostgresConnection
from reverse_etl.project import Project
from reverse_etl.sandbox import DEMO_PIXEL_CODE, SandboxServer

TOKEN = "pg-real-token-41d2"
NOW = int(time.time()) - 3600


@pytest.fixture
def sandbox_token() -> str:
    """The token the ``server`` fixture (tests/conftest.py) accepts here."""
    return TOKEN


def test_a_real_column_is_sent_as_written(
    pg_db: PostgresConnection,
    server: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PG_TEST_TOKEN", TOKEN)
    with psycopg.connect(
        host=pg_db.host, port=pg_db.port, dbname=pg_db.dbname, user=pg_db.user, autocommit=True
    ) as con:
        con.execute("CREATE SCHEMA fidelity")
        con.execute(
            "CREATE TABLE fidelity.orders AS SELECT i AS order_id, "
            "(ARRAY[0.1, 16.7, 1e6])[i]::real AS total FROM generate_series(1, 3) AS i"
        )
    (tmp_path / "models").mkdir()
    (tmp_path / "retl_project.yml").write_text(
        f"""
warehouse:
  type: postgres
  host: {pg_db.host}
  port: {pg_db.port}
  dbname: {pg_db.dbname}
  user: {pg_db.user}
state:
  location: warehouse
""",
        encoding="utf-8",
    )
    (tmp_path / "models" / "orders.sql").write_text(
        "{{ config(dialect='postgres') }}\n"
        "select 'Purchase' as event, 'o-' || order_id as event_id, "
        f"to_timestamp({NOW}) as event_time, 'a@example.com' as email, total as value, "
        "total as order_id, 'USD' as currency from fidelity.orders",
        encoding="utf-8",
    )
    (tmp_path / "destinations.yml").write_text(
        f"""
destinations:
  tiktok:
    type: tiktok_events
    model: orders
    access_token: "{{{{ env_var('PG_TEST_TOKEN') }}}}"
    event_source_id: {DEMO_PIXEL_CODE}
    api_base_url: {server.base_url}
""",
        encoding="utf-8",
    )
    for sends in (3, 0):  # the second run finds every row unchanged
        with Project.load(tmp_path) as project:
            project.retry_policy = RetryPolicy(base_delay=0.01, max_delay=0.05)
            report = project.sync()
        assert report.ok, report.to_dict()
        assert [r.sent for r in report.results] == [sends]
    sent = {e["data"]["event_id"]: e["data"]["properties"] for e in server.events()}
    assert {k: (p["value"], p["order_id"]) for k, p in sent.items()} == {
        "o-1": (0.1, "0.1"),
        "o-2": (16.7, "16.7"),
        "o-3": (1e6, "1000000"),  # a whole real below 2^24 (past it: an invalid ID)
    }
