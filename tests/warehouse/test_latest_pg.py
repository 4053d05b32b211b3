"""The PostgreSQL state's newest entry per key, without a sort when the scope holds one entry
per key (issue #17).

``latest_relation`` takes the scope's entries as they are when its compaction row says
nothing was superseded since the last compaction and counts every entry it holds; otherwise
(a resend not compacted yet, entries an older retl wrote without counting them, a state from
before the marks) it takes the newest entry per key with ``DISTINCT ON``. Either way its rows
are the newest entry of each key.
"""

from __future__ import annotations

import pytest

from reverse_etl.engine.postgres import PostgresConnection, PostgresEngine
from reverse_etl.state.warehouse import WarehouseStateStore

from .test_warehouse_sync import execute

pytestmark = pytest.mark.postgres

NEWEST = """SELECT DISTINCT ON (row_key) row_key, row_hash,
                   coalesce(first_synced_at, synced_at)
            FROM retl_state.synced_rows WHERE destination = 'd' AND scope = 's'
            ORDER BY row_key, seq DESC"""


@pytest.fixture
def engine(pg_engine: PostgresEngine) -> PostgresEngine:
    return pg_engine


def latest(store: WarehouseStateStore) -> tuple[bool, list[tuple[object, ...]]]:
    """Whether the relation sorts, and its rows by key."""
    relation = store.latest_relation("d", "s", with_first=True)
    rows = store.engine.rows(
        store.engine.transpile(f"SELECT * FROM {relation} AS l ORDER BY row_key")
    )
    return "DISTINCT ON" in relation, rows


def newest(engine: PostgresEngine) -> list[tuple[object, ...]]:
    return engine.rows(f"SELECT * FROM ({NEWEST}) AS n ORDER BY row_key")


def test_a_first_sync_is_read_without_a_sort(engine: PostgresEngine) -> None:
    store = WarehouseStateStore(engine, "retl_state")
    store.record_acknowledged("d", "s", ["k1", "k2"], ["h1", "h2"])
    store.record_acknowledged("d", "s", ["k3"], ["h3"])
    store.record_acknowledged("d", "other", ["k1"], ["h9"])  # another scope: not counted
    sorts, rows = latest(store)
    assert not sorts
    assert [r[:2] for r in rows] == [("k1", "h1"), ("k2", "h2"), ("k3", "h3")]
    assert rows == newest(engine)
    store.close()


def test_a_resend_is_sorted_until_compacted(engine: PostgresEngine) -> None:
    store = WarehouseStateStore(engine, "retl_state")
    store.record_acknowledged("d", "s", [f"k{i}" for i in range(100)], ["h"] * 100)
    store.compact("d", "s")
    store.record_acknowledged("d", "s", ["k1"], ["h1b"])  # changed: supersedes k1's entry
    sorts, rows = latest(store)
    assert sorts
    assert ("k1", "h1b") in [r[:2] for r in rows] and len(rows) == 100
    assert rows == newest(engine)
    store.compact("d", "s")  # 1 of 101 superseded: under a tenth, so it waits
    assert latest(store)[0]
    store.record_acknowledged("d", "s", [f"k{i}" for i in range(2, 14)], ["h2"] * 12)
    store.compact("d", "s")  # 13 of 113: compacted, one entry per key again
    sorts, rows = latest(store)
    assert not sorts
    assert rows == newest(engine) and len(rows) == 100
    store.close()


def test_a_key_twice_in_one_batch_is_sorted(engine: PostgresEngine) -> None:
    store = WarehouseStateStore(engine, "retl_state")
    store.record_acknowledged("d", "s", ["k1", "k1"], ["h1", "h1b"])
    sorts, rows = latest(store)
    assert sorts
    assert [r[:2] for r in rows] == [("k1", "h1b")]
    store.close()


def test_entries_written_without_counting_are_sorted(
    engine: PostgresEngine, pg_db: PostgresConnection
) -> None:
    """A retl from before the marks adds entries (here a resend of k1) without counting or
    marking them: the count differs, so the newest entry per key is taken."""
    store = WarehouseStateStore(engine, "retl_state")
    store.record_acknowledged("d", "s", ["k1", "k2"], ["h1", "h2"])
    assert not latest(store)[0]
    execute(
        pg_db,
        """INSERT INTO retl_state.synced_rows (destination, scope, row_key, row_hash, synced_at)
           VALUES ('d', 's', 'k1', 'h1 by an older retl', now())""",
    )
    sorts, rows = latest(store)
    assert sorts
    assert [r[:2] for r in rows] == [("k1", "h1 by an older retl"), ("k2", "h2")]
    assert rows == newest(engine)
    store.close()


def test_a_state_without_marks_is_sorted(engine: PostgresEngine, pg_db: PostgresConnection) -> None:
    WarehouseStateStore(engine, "retl_state").close()
    execute(
        pg_db,
        """INSERT INTO retl_state.synced_rows (destination, scope, row_key, row_hash, synced_at)
           VALUES ('d', 's', 'k1', 'old', '2024-01-01'), ('d', 's', 'k1', 'h1', '2024-01-02')""",
    )
    store = WarehouseStateStore(engine, "retl_state")
    sorts, rows = latest(store)
    assert sorts
    assert [r[:2] for r in rows] == [("k1", "h1")]
    store.close()
