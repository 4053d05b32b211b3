"""A PostgreSQL state whose connection is lost mid-sync (the server restarted, an
administrator ended the session): the acknowledgement that could not be recorded is an
``EngineError`` naming the state and what the run's events become (exit 1), not psycopg's
own exception (which the CLI reported as a bug in retl, exit 2); and the dead connection is
dropped, so the run's history, written after the failure, gets a new one."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from reverse_etl.engine.postgres import PostgresEngine
from reverse_etl.errors import EngineError
from reverse_etl.state.warehouse import WarehouseStateStore

pytestmark = pytest.mark.postgres


def _end_session(engine: PostgresEngine, store: WarehouseStateStore) -> None:
    """What a server restart does to the store's acknowledgement session."""
    pid = store._ack_conn().info.backend_pid
    assert engine.rows("SELECT pg_terminate_backend(%s)", [pid]) == [(True,)]
    _wait_gone(engine, pid)


def test_a_lost_session_is_said_and_the_next_write_reconnects(pg_engine: PostgresEngine) -> None:
    store = WarehouseStateStore(pg_engine, "retl_state")
    store.record_acknowledged("d", "s", ["k1"], ["h1"])
    _end_session(pg_engine, store)
    with pytest.raises(EngineError) as caught:
        store.record_acknowledged("d", "s", ["k2"], ["h2"])
    message = caught.value.message
    assert message.startswith("lost the connection to PostgreSQL at ")
    assert "while recording an acknowledged batch in the state (schema retl_state)" in message
    assert "terminating connection" in message
    assert "next sync sends its events again" in (caught.value.hint or "")
    # The batch recorded before stays; the next write opens a new session.
    store.record_acknowledged("d", "s", ["k3"], ["h3"])
    keys = pg_engine.rows("SELECT row_key FROM retl_state.synced_rows ORDER BY row_key")
    assert keys == [("k1",), ("k3",)]
    store.close()


def test_a_closed_session_is_said_too(pg_engine: PostgresEngine) -> None:
    store = WarehouseStateStore(pg_engine, "retl_state")
    store._ack_conn().close()  # closed on this side: psycopg's OperationalError, no SQLSTATE
    with pytest.raises(EngineError, match="while pruning the run history"):
        store.prune_history(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    store.prune_history(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))  # reconnected
    store.close()


def test_after_the_lock_s_session_ended_nothing_more_is_recorded(
    pg_engine: PostgresEngine,
) -> None:
    """A restarted server ends the lock's session too, which releases the advisory lock:
    another sync may take it. The acknowledgements still in flight are not written through
    a new session then (they were: beside the other sync's)."""
    store = WarehouseStateStore(pg_engine, "retl_state")
    with store.lock():
        store.record_acknowledged("d", "s", ["k1"], ["h1"])
        lock_pid = store._lock_conn.info.backend_pid
        _end_session(pg_engine, store)
        assert pg_engine.rows("SELECT pg_terminate_backend(%s)", [lock_pid]) == [(True,)]
        _wait_gone(pg_engine, lock_pid)
        with pytest.raises(EngineError, match="lost the connection"):
            store.record_acknowledged("d", "s", ["k2"], ["h2"])
        with pytest.raises(EngineError) as caught:
            store.record_acknowledged("d", "s", ["k3"], ["h3"])
        assert "still holds the state's lock" in caught.value.message
        assert "another sync may hold it now" in (caught.value.hint or "")
        # The run's history is not the lock holder's alone: it is still written.
        store.prune_history(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    keys = pg_engine.rows("SELECT row_key FROM retl_state.synced_rows ORDER BY row_key")
    assert keys == [("k1",)]
    store.close()


def test_with_the_lock_s_session_alive_the_next_write_reconnects(
    pg_engine: PostgresEngine,
) -> None:
    store = WarehouseStateStore(pg_engine, "retl_state")
    with store.lock():
        store.record_acknowledged("d", "s", ["k1"], ["h1"])
        _end_session(pg_engine, store)
        with pytest.raises(EngineError, match="lost the connection"):
            store.record_acknowledged("d", "s", ["k2"], ["h2"])
        store.record_acknowledged("d", "s", ["k3"], ["h3"])
    keys = pg_engine.rows("SELECT row_key FROM retl_state.synced_rows ORDER BY row_key")
    assert keys == [("k1",), ("k3",)]
    store.close()


def test_when_only_the_lock_s_session_ends_the_next_batch_is_not_recorded(
    pg_engine: PostgresEngine,
) -> None:
    """An administrator ends the lock's session alone (``pg_terminate_backend``): the lock is
    released and another sync may take it, while this one's acknowledgement session lives.
    The acknowledgements stopped only at the next lost connection; now the next batch sees
    the server's word on the lock's socket (no round trip) and is not written."""
    store = WarehouseStateStore(pg_engine, "retl_state")
    with store.lock():
        store.record_acknowledged("d", "s", ["k1"], ["h1"])
        lock_pid = store._lock_conn.info.backend_pid
        assert pg_engine.rows("SELECT pg_terminate_backend(%s)", [lock_pid]) == [(True,)]
        _wait_gone(pg_engine, lock_pid)
        second = PostgresEngine(pg_engine.conn)
        other = WarehouseStateStore(second, "retl_state")
        try:
            # the lock is free: a second sync takes it
            with other.lock(), pytest.raises(EngineError) as caught:
                store.record_acknowledged("d", "s", ["k2"], ["h2"])
        finally:
            other.close()
            second.close()
        assert "still holds the state's lock" in caught.value.message
        assert "another sync may hold it now" in (caught.value.hint or "")
    keys = pg_engine.rows("SELECT row_key FROM retl_state.synced_rows ORDER BY row_key")
    assert keys == [("k1",)]
    store.close()


def test_an_idle_lock_session_costs_no_round_trip_per_batch(
    pg_engine: PostgresEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lock is checked by a poll of its socket: a batch asks the server nothing more."""
    store = WarehouseStateStore(pg_engine, "retl_state")
    with store.lock():
        asked: list[str] = []
        lock_conn = store._lock_conn
        real = lock_conn.execute
        monkeypatch.setattr(lock_conn, "execute", lambda *a, **k: asked.append(a[0]) or real(*a))
        for i in range(5):
            store.record_acknowledged("d", "s", [f"k{i}"], [f"h{i}"])
        assert asked == []
    store.close()


def _wait_gone(engine: PostgresEngine, pid: int) -> None:
    """Until the ended backend has left (pg_terminate_backend only signals it)."""
    for _ in range(500):
        if engine.rows("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid]) == [(0,)]:
            return
        time.sleep(0.02)
    raise AssertionError(f"backend {pid} still there after pg_terminate_backend")


def test_the_sync_s_idle_sessions_outlive_the_server_s_idle_session_timeout(
    pg_engine: PostgresEngine,
) -> None:
    """A database (or role) whose ``idle_session_timeout`` is short would end the lock's
    session, which sits idle the whole sync (and the lock with it), and the acknowledgement
    session between two batches: retl turns it off in each of its sessions."""
    (db,) = pg_engine.rows("SELECT current_database()")[0]
    pg_engine.execute(f'ALTER DATABASE "{db}" SET idle_session_timeout = 300')  # new sessions
    store = WarehouseStateStore(pg_engine, "retl_state")
    with store.lock():
        store.record_acknowledged("d", "s", ["k1"], ["h1"])
        time.sleep(0.6)  # idle past the database's timeout (nothing timed is asserted)
        store.record_acknowledged("d", "s", ["k2"], ["h2"])
        (lock_setting,) = store._lock_conn.execute("SHOW idle_session_timeout").fetchone()
    (acks_setting,) = store._ack_conn().execute("SHOW idle_session_timeout").fetchone()
    assert (lock_setting, acks_setting) == ("0", "0")
    keys = pg_engine.rows("SELECT row_key FROM retl_state.synced_rows ORDER BY row_key")
    assert keys == [("k1",), ("k2",)]
    store.close()
