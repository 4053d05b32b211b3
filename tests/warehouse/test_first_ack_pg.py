"""The first acknowledgement of each key in a PostgreSQL state (what the 48-hour deduplication
window is judged from), and the lookup that finds it.

Each entry carries its key's first acknowledgement, looked up per key among the scope's
entries. A scope that held nothing at the run's first batch has nothing to look up: its
batches skip the lookup (issue #17: about a fifth of a batch's time), and the lookup comes
back once the destination's send is over or the scope is reset.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from reverse_etl.engine.postgres import PostgresEngine
from reverse_etl.state.warehouse import WarehouseStateStore

pytestmark = pytest.mark.postgres

LOOKUP = "o.row_key = t.k"  # the per-key lookup in the batch statement
T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.timezone.utc)


class Clock:
    """Unix seconds, as the store reads its clock."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now.timestamp()


def statements(store: WarehouseStateStore) -> list[str]:
    """Every statement the store's acknowledgement connection runs from now on."""
    seen: list[str] = []
    conn = store._ack_conn()
    execute = conn.execute

    def recorded(sql: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(str(sql))
        return execute(sql, *args, **kwargs)

    conn.execute = recorded
    return seen


def _firsts(engine: PostgresEngine) -> dict[str, dt.datetime]:
    rows = engine.rows(
        """SELECT DISTINCT ON (row_key) row_key, coalesce(first_synced_at, synced_at)
           FROM retl_state.synced_rows WHERE destination = 'd' AND scope = 's'
           ORDER BY row_key, seq DESC"""
    )
    return {str(k): v.replace(tzinfo=dt.timezone.utc) for k, v in rows}


def test_a_fresh_scope_skips_the_lookup_and_then_looks_again(pg_engine: PostgresEngine) -> None:
    clock = Clock()
    store = WarehouseStateStore(pg_engine, "retl_state", clock=clock)
    seen = statements(store)
    store.record_acknowledged("d", "s", ["k1", "k2"], ["h1", "h2"])
    store.record_acknowledged("d", "s", ["k3"], ["h3"])
    assert seen and not any(LOOKUP in sql for sql in seen)
    store.compact("d", "s")  # the destination's send is over
    clock.now = T0 + dt.timedelta(hours=5)
    seen.clear()
    store.record_acknowledged("d", "s", ["k1", "k4"], ["h1b", "h4"])  # k1 sent again
    assert any(LOOKUP in sql for sql in seen)
    assert _firsts(pg_engine) == {
        "k1": T0,  # its first acknowledgement, carried into the newer entry
        "k2": T0,
        "k3": T0,
        "k4": T0 + dt.timedelta(hours=5),
    }
    store.close()


def test_a_scope_that_holds_entries_looks_its_keys_up(pg_engine: PostgresEngine) -> None:
    clock = Clock()
    first = WarehouseStateStore(pg_engine, "retl_state", clock=clock)
    first.record_acknowledged("d", "s", ["k1"], ["h1"])
    first.close()
    clock.now = T0 + dt.timedelta(days=1)
    second = WarehouseStateStore(pg_engine, "retl_state", clock=clock)  # the next run
    seen = statements(second)
    second.record_acknowledged("d", "s", ["k1", "k2"], ["h1b", "h2"])
    assert any(LOOKUP in sql for sql in seen)
    assert _firsts(pg_engine) == {"k1": T0, "k2": T0 + dt.timedelta(days=1)}
    second.close()


def test_a_reset_scope_is_fresh_again(pg_engine: PostgresEngine) -> None:
    clock = Clock()
    store = WarehouseStateStore(pg_engine, "retl_state", clock=clock)
    store.record_acknowledged("d", "s", ["k1"], ["h1"])
    store.compact("d", "s")
    store.record_acknowledged("d", "s", ["k1"], ["h1b"])  # looked up: carries T0
    assert store.reset("d") == 1
    clock.now = T0 + dt.timedelta(days=3)
    seen = statements(store)
    store.record_acknowledged("d", "s", ["k1"], ["h1c"])  # forgotten: a first sync again
    assert not any(LOOKUP in sql for sql in seen)
    assert _firsts(pg_engine) == {"k1": T0 + dt.timedelta(days=3)}
    # The scope is marked again, as a first sync's: counted, one entry per key.
    (row,) = pg_engine.rows(
        "SELECT superseded_from, superseded, entries FROM retl_state.compaction "
        "WHERE destination = 'd' AND scope = 's'"
    )
    assert row == (None, 0, 1)
    store.close()
