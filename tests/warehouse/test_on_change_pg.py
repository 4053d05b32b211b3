"""``on_change`` with the state in PostgreSQL: first acknowledgement times in the warehouse,
the migration of a schema written before them, and the dedup window on a moved clock."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg
import pytest

from reverse_etl.delivery.retry import RetryPolicy
from reverse_etl.engine.postgres import PostgresConnection, PostgresEngine
from reverse_etl.project import Project
from reverse_etl.sandbox import SandboxServer
from reverse_etl.state.warehouse import SCHEMA_VERSION, WarehouseStateStore

from .test_warehouse_sync import (  # noqa: F401 - fixtures
    TOKEN,
    execute,
    project,
    sandbox_token,
    seed,
)

pytestmark = pytest.mark.postgres

HOUR = 3600.0
T0 = 1_900_000_000.0


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PG_TEST_TOKEN", TOKEN)


def utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).replace(tzinfo=None)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def sync(root: Path, clock: Clock) -> tuple[int, int, int]:
    """(sent, changed re-sent, changed not re-sent) of one sync at ``clock``."""
    with Project.load(root) as p:
        p.clock = clock
        p.retry_policy = RetryPolicy(base_delay=0.01, max_delay=0.05)
        report = p.sync()
    assert report.ok, report.to_dict()
    (r,) = report.results
    return r.sent, r.rows_changed, r.rows_changed_not_resent


def firsts(db: PostgresConnection) -> dict[str, dt.datetime]:
    with psycopg.connect(host=db.host, port=db.port, dbname=db.dbname, user=db.user) as con:
        rows = con.execute(
            "SELECT DISTINCT ON (row_key) row_key, first_synced_at "
            "FROM retl_state.synced_rows ORDER BY row_key, seq DESC"
        ).fetchall()
    return {k: v for k, v in rows}


def test_the_warehouse_state_keeps_first_acknowledgements_and_holds_late_changes(
    pg_db: PostgresConnection,
    server: SandboxServer,
    tmp_path: Path,
) -> None:
    seed(pg_db, 20)
    root = project(tmp_path, pg_db, server.base_url)
    clock = Clock()
    assert sync(root, clock) == (20, 0, 0)
    assert set(firsts(pg_db).values()) == {utc(T0)}

    clock.now = T0 + 47 * HOUR  # inside the window: re-sent (TikTok drops the repeat)
    execute(pg_db, "UPDATE shop.orders SET total = total + 1 WHERE order_id IN (5, 6)")
    assert sync(root, clock) == (2, 2, 0)
    assert set(firsts(pg_db).values()) == {utc(T0)}  # a resend keeps the first time

    clock.now = T0 + 49 * HOUR  # outside: held back, reported, not recorded
    execute(pg_db, "UPDATE shop.orders SET total = total + 1 WHERE order_id IN (5, 6)")
    assert sync(root, clock) == (0, 0, 2)
    assert sync(root, clock) == (0, 0, 2)
    execute(pg_db, "INSERT INTO shop.orders VALUES (21, 'new@example.com', now(), 1)")
    assert sync(root, clock) == (1, 0, 2)
    assert firsts(pg_db)["order-21"] == utc(T0 + 49 * HOUR)


def test_a_schema_1_warehouse_state_migrates_with_first_ack_equal_to_last(
    pg_db: PostgresConnection,
) -> None:
    """The tables as the retl before first acknowledgement times created them (schema 1)."""
    execute(
        pg_db,
        """CREATE SCHEMA retl_state;
           CREATE TABLE retl_state.meta (key TEXT PRIMARY KEY, value TEXT);
           CREATE TABLE retl_state.synced_rows (
               destination TEXT NOT NULL, scope TEXT NOT NULL, row_key TEXT NOT NULL,
               row_hash TEXT NOT NULL, synced_at TIMESTAMP NOT NULL DEFAULT now(),
               seq BIGSERIAL NOT NULL);
           CREATE INDEX synced_rows_key ON retl_state.synced_rows
               (destination, scope, row_key, seq);
           CREATE TABLE retl_state.destinations (
               destination TEXT NOT NULL, scope TEXT NOT NULL, event_source_id TEXT,
               mapping_fingerprint TEXT, mapping TEXT, last_sync_at TIMESTAMP,
               last_run_id TEXT, PRIMARY KEY (destination, scope));
           INSERT INTO retl_state.meta VALUES ('schema_version', '1');
           INSERT INTO retl_state.synced_rows (destination, scope, row_key, row_hash, synced_at)
           VALUES ('d', 's', 'k1', 'h1', '2024-01-01 10:00'),
                  ('d', 's', 'k2', 'h2', '2024-01-02 11:00');""",
    )
    engine = PostgresEngine(pg_db)
    try:
        store = WarehouseStateStore(engine, "retl_state")
        assert engine.rows("SELECT value FROM retl_state.meta") == [(str(SCHEMA_VERSION),)]
        rows = engine.rows(
            "SELECT row_key, row_hash, synced_at, first_synced_at FROM retl_state.synced_rows "
            "ORDER BY seq"
        )
        jan1, jan2 = dt.datetime(2024, 1, 1, 10), dt.datetime(2024, 1, 2, 11)
        assert rows == [("k1", "h1", jan1, jan1), ("k2", "h2", jan2, jan2)]
        store.record_acknowledged("d", "s", ["k1"], ["h1b"])  # a resend of k1
        store.compact("d", "s")
        latest = store.latest_relation("d", "s", with_first=True)
        got = engine.rows(engine.transpile(f"SELECT * FROM {latest} AS l ORDER BY 1"))
        assert got == [("k1", "h1b", jan1), ("k2", "h2", jan2)]
        store.close()
    finally:
        engine.close()
