"""The run history and the delivery log with the state in PostgreSQL: written in the same
transaction as each acknowledgement, read back by `retl runs`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg
import pytest

from reverse_etl.engine.postgres import PostgresConnection, PostgresEngine
from reverse_etl.errors import EngineError
from reverse_etl.history.tables import prune_statements
from reverse_etl.project import Project
from reverse_etl.sandbox import SandboxServer
from reverse_etl.state.warehouse import SCHEMA_VERSION, WarehouseStateStore
from tests.conftest import invoke_in_process
from tests.warehouse.test_first_ack_pg import statements
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


def test_the_retention_prune_reads_the_log_by_time(pg_db: PostgresConnection) -> None:
    """The prune at the end of every sync deletes by ``logged_at``: through an index, which a
    state written before it existed gets at its next open (no new schema version)."""
    index = "SELECT to_regclass('retl_state.delivery_log_logged_at') IS NOT NULL"
    engine = PostgresEngine(pg_db)
    try:
        WarehouseStateStore(engine, "retl_state").close()
        assert engine.rows(index) == [(True,)]
        engine.execute("DROP INDEX retl_state.delivery_log_logged_at")  # a state from before
        WarehouseStateStore(engine, "retl_state").close()
        assert engine.rows(index) == [(True,)]
        assert engine.rows("SELECT value FROM retl_state.meta") == [(str(SCHEMA_VERSION),)]
        (prune,) = prune_statements("retl_state.", "'2026-01-01'", tables=("delivery_log",))
        # The planner takes a sequential scan of a small table whatever its indexes; with
        # that turned off, a plan without a usable index still has to scan.
        engine.execute("SET enable_seqscan = off")
        plan = "\n".join(r[0] for r in engine.rows(f"EXPLAIN {prune}"))
        assert "delivery_log_logged_at" in plan, plan
    finally:
        engine.close()


def test_the_log_is_not_indexed_by_key(pg_db: PostgresConnection) -> None:
    """Every acknowledged batch paid for an index of the log's row_key that no query used
    (``retl runs find KEY`` asks for the key or the event_id: a sequential scan whatever
    the index); a state that has it loses it at its next open."""
    by_key = "SELECT to_regclass('retl_state.delivery_log_key') IS NOT NULL"
    engine = PostgresEngine(pg_db)
    try:
        WarehouseStateStore(engine, "retl_state").close()
        assert engine.rows(by_key) == [(False,)]
        engine.execute("CREATE INDEX delivery_log_key ON retl_state.delivery_log (row_key)")
        WarehouseStateStore(engine, "retl_state").close()  # a state from before
        assert engine.rows(by_key) == [(False,)]
        assert engine.rows("SELECT value FROM retl_state.meta") == [(str(SCHEMA_VERSION),)]
    finally:
        engine.close()


def test_an_index_of_the_log_this_role_cannot_drop_is_left(
    pg_db: PostgresConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A state another role created keeps its old index: the open goes on (the index costs
    time, never correctness)."""
    engine = PostgresEngine(pg_db)
    try:
        WarehouseStateStore(engine, "retl_state").close()
        engine.execute("CREATE INDEX delivery_log_key ON retl_state.delivery_log (row_key)")
        execute = engine.execute

        def not_the_owner(sql: str, params: Sequence[Any] = ()) -> None:
            if sql.startswith("DROP INDEX"):
                raise EngineError("must be owner of index delivery_log_key")
            execute(sql, params)

        monkeypatch.setattr(engine, "execute", not_the_owner)
        WarehouseStateStore(engine, "retl_state").close()
        by_key = "SELECT to_regclass('retl_state.delivery_log_key') IS NOT NULL"
        assert engine.rows(by_key) == [(True,)]
    finally:
        engine.close()


@pytest.mark.parametrize(
    "log_keys",
    [["k1", "k2", "k3"], ["sha:1", "sha:2", "sha:3"]],  # the entries' keys, or masked ones
)
@pytest.mark.parametrize("event_ids", [["e1", "e2", "e3"], None])
def test_an_acknowledged_batch_logs_one_row_per_entry(
    pg_engine: PostgresEngine, log_keys: list[str], event_ids: list[str] | None
) -> None:
    """Written in the acknowledgement's own statement when the log's keys are the entries'
    (``record_acknowledged``), by a statement of its own otherwise: the same rows."""
    from reverse_etl.state.base import LogBatch

    store = WarehouseStateStore(pg_engine, "retl_state", clock=lambda: 1764579600.0)
    seen = statements(store)
    log = LogBatch("run-1", "accepted", log_keys, event_ids=event_ids, code=0, request_id="r1")
    store.record_acknowledged("d", "s", ["k1", "k2", "k3"], ["h1", "h2", "h3"], log)
    (logging,) = [sql for sql in seen if "delivery_log" in sql]
    assert ("synced_rows" in logging) == (log_keys == ["k1", "k2", "k3"])  # one statement
    rows = pg_engine.rows(
        "SELECT run_id, destination, row_key, event_id, outcome, code, message, request_id, "
        "logged_at = (SELECT max(synced_at) FROM retl_state.synced_rows) "
        "FROM retl_state.delivery_log ORDER BY row_key"
    )
    events = event_ids or [None] * 3
    assert rows == [
        ("run-1", "d", key, event, "accepted", 0, None, "r1", True)
        for key, event in zip(log_keys, events, strict=True)
    ]
    assert pg_engine.rows("SELECT count(*) FROM retl_state.synced_rows") == [(3,)]
    store.close()
