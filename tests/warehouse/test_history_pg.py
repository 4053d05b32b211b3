"""The run history and the delivery log with the state in PostgreSQL: written in the same
transaction as each acknowledgement, read back by `retl runs`."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from reverse_etl.engine.postgres import PostgresConnection
from reverse_etl.project import Project
from reverse_etl.sandbox import SandboxServer
from tests.conftest import invoke_in_process
from tests.warehouse.test_warehouse_sync import TOKEN, execute, project, sandbox_token, seed, sync

pytestmark = pytest.mark.postgres
__all__ = ["sandbox_token"]  # the fixture: tests/conftest.py's server accepts TOKEN here


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PG_TEST_TOKEN", TOKEN)


def test_the_log_and_the_history_live_in_the_warehouse(
    pg_db: PostgresConnection, server: SandboxServer, tmp_path: Path
) -> None:
    seed(pg_db, 1500)
    root = project(tmp_path, pg_db, server.base_url)
    assert sync(root) == (1500, 0)
    execute(pg_db, "UPDATE shop.orders SET total = total + 1 WHERE order_id = 5")
    assert sync(root) == (1, 1499)
    with psycopg.connect(
        host=pg_db.host, port=pg_db.port, dbname=pg_db.dbname, user=pg_db.user
    ) as con:
        logged = con.execute(
            "SELECT outcome, count(*), count(DISTINCT event_id) FROM retl_state.delivery_log "
            "GROUP BY outcome"
        ).fetchall()
        runs = con.execute(
            "SELECT exit_code, sent FROM retl_state.runs ORDER BY started_at"
        ).fetchall()
    assert logged == [("accepted", 1501, 1500)]
    assert runs == [(0, 1500), (0, 1)]
    # every acknowledged key has its log row (written in the same transaction)
    received = {e["data"]["event_id"] for e in server.events()}
    with Project.load(root) as p:
        (latest, first) = p.runs()
        found = p.deliveries("order-5")
        history = p.destination_history("tiktok")
    assert (latest.sent, first.sent) == (1, 1500) and not latest.sandbox
    assert [d.run_id for d in found] == [latest.run_id, first.run_id]
    assert "order-5" in received
    assert [h.sent for h in history] == [1500, 1]
    shown = invoke_in_process("runs", "show", first.run_id, "--project-dir", root)
    assert shown.returncode == 0, shown.stderr
    assert "1500" in shown.stdout and TOKEN not in shown.stdout
