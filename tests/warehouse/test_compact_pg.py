"""The PostgreSQL state's compaction: each acknowledged batch marks from where it superseded
an entry of its key, and ``compact`` joins only from there (issue #17). A first sync
supersedes nothing and runs no DELETE; a run that dies leaves its mark for the next one."""

from __future__ import annotations

import pytest

from reverse_etl.engine.postgres import PostgresConnection, PostgresEngine
from reverse_etl.state.warehouse import WarehouseStateStore

from .test_warehouse_sync import execute

pytestmark = pytest.mark.postgres


@pytest.fixture
def engine(pg_engine: PostgresEngine) -> PostgresEngine:
    return pg_engine


def entries(engine: PostgresEngine) -> list[tuple[str, str]]:
    return [
        (str(k), str(h))
        for k, h in engine.rows(
            "SELECT row_key, row_hash FROM retl_state.synced_rows ORDER BY row_key, seq"
        )
    ]


def mark(engine: PostgresEngine) -> list[tuple[object, ...]]:
    return engine.rows("SELECT destination, scope, superseded_from FROM retl_state.compaction")


def counts(engine: PostgresEngine) -> list[tuple[object, ...]]:
    return engine.rows("SELECT superseded, entries FROM retl_state.compaction")


def deletes_run(store: WarehouseStateStore) -> list[str]:
    """Record the DELETEs ``compact`` sends."""
    seen: list[str] = []
    execute_sql = store.engine.execute

    def spy(sql: str, params: object = ()) -> None:
        if "DELETE FROM" in sql:
            seen.append(sql)
        execute_sql(sql, params)  # type: ignore[arg-type]

    store.engine.execute = spy  # type: ignore[method-assign]
    return seen


def test_a_first_sync_supersedes_nothing_and_runs_no_delete(engine: PostgresEngine) -> None:
    store = WarehouseStateStore(engine, "retl_state")
    store.record_acknowledged("d", "s", ["k1", "k2"], ["h1", "h2"])
    store.record_acknowledged("d", "s", ["k3"], ["h3"])
    assert mark(engine) == [("d", "s", None)]
    deletes = deletes_run(store)
    store.compact("d", "s")
    assert deletes == []
    assert entries(engine) == [("k1", "h1"), ("k2", "h2"), ("k3", "h3")]
    store.close()


def test_a_resend_is_marked_and_compacted_to_the_newest_entry(engine: PostgresEngine) -> None:
    first = WarehouseStateStore(engine, "retl_state")
    first.record_acknowledged("d", "s", ["k1", "k2"], ["h1", "h2"])
    first.compact("d", "s")
    first.close()
    second = WarehouseStateStore(engine, "retl_state")  # the next run
    second.record_acknowledged("d", "s", ["k3"], ["h3"])  # new: supersedes nothing
    assert mark(engine) == [("d", "s", None)]
    second.record_acknowledged("d", "s", ["k1"], ["h1b"])  # changed
    (since,) = engine.rows("SELECT superseded_from FROM retl_state.compaction")[0]
    assert (
        since == engine.rows("SELECT seq FROM retl_state.synced_rows WHERE row_hash = 'h1b'")[0][0]
    )
    deletes = deletes_run(second)
    second.compact("d", "s")
    assert len(deletes) == 1
    assert entries(engine) == [("k1", "h1b"), ("k2", "h2"), ("k3", "h3")]
    assert mark(engine) == [("d", "s", None)]
    second.close()


def test_a_key_twice_in_one_batch_is_marked(engine: PostgresEngine) -> None:
    store = WarehouseStateStore(engine, "retl_state")
    store.record_acknowledged("d", "s", ["k1", "k1"], ["h1", "h1b"])
    assert mark(engine)[0][2] is not None
    store.compact("d", "s")
    assert entries(engine) == [("k1", "h1b")]
    store.close()


def test_a_run_that_died_before_compacting_leaves_its_mark(engine: PostgresEngine) -> None:
    died = WarehouseStateStore(engine, "retl_state")
    died.record_acknowledged("d", "s", ["k1"], ["h1"])
    died.compact("d", "s")
    died.record_acknowledged("d", "s", ["k1"], ["h1b"])  # then killed: no compact
    died.close()
    nxt = WarehouseStateStore(engine, "retl_state")
    nxt.record_acknowledged("d", "s", ["k2"], ["h2"])  # supersedes nothing itself
    nxt.compact("d", "s")
    assert entries(engine) == [("k1", "h1b"), ("k2", "h2")]
    assert mark(engine) == [("d", "s", None)]
    nxt.close()


def test_a_state_without_marks_is_compacted_whole(
    engine: PostgresEngine, pg_db: PostgresConnection
) -> None:
    """A scope whose entries were written by a retl before the marks: not known to hold one
    entry per key, so its first compact takes the whole scope."""
    WarehouseStateStore(engine, "retl_state").close()
    execute(
        pg_db,
        """INSERT INTO retl_state.synced_rows (destination, scope, row_key, row_hash, synced_at)
           VALUES ('d', 's', 'k1', 'old', '2024-01-01'), ('d', 's', 'k1', 'h1', '2024-01-02'),
                  ('d', 'other', 'k1', 'h9', '2024-01-01')""",
    )
    store = WarehouseStateStore(engine, "retl_state")
    store.record_acknowledged("d", "s", ["k2"], ["h2"])
    assert mark(engine) == [("d", "s", 0)]
    assert counts(engine) == [(0, None)]  # not known
    store.compact("d", "s")
    assert entries(engine) == [("k1", "h1"), ("k1", "h9"), ("k2", "h2")]
    assert mark(engine) == [("d", "s", None)]
    assert counts(engine) == [(0, 2)]  # counted by the compaction
    store.close()


def test_a_small_delta_waits_until_a_tenth_of_the_entries_is_superseded(
    engine: PostgresEngine,
) -> None:
    """Each deleted entry dirties a page of its own: compact waits until the superseded
    entries are COMPACT_SHARE of the scope's, and the diff takes the newest entry meanwhile."""
    assert WarehouseStateStore.COMPACT_SHARE == 0.1
    store = WarehouseStateStore(engine, "retl_state")
    keys = [f"k{i:02}" for i in range(20)]
    store.record_acknowledged("d", "s", keys, ["h"] * 20)
    store.compact("d", "s")
    assert counts(engine) == [(0, 20)]
    deletes = deletes_run(store)
    latest = engine.transpile(
        f"SELECT row_key, row_hash FROM {store.latest_relation('d', 's')} AS l"
    )
    for n, key in enumerate(keys[:2], start=1):  # 1 of 21, then 2 of 22: under a tenth
        store.record_acknowledged("d", "s", [key], ["new"])
        assert counts(engine) == [(n, 20 + n)]
        store.compact("d", "s")
        assert deletes == []
        assert len(entries(engine)) == 20 + n
        newest = dict(engine.rows(latest))
        assert len(newest) == 20
        assert [k for k, h in sorted(newest.items()) if h == "new"] == keys[:n]
    # A key twice in one batch, and one with an earlier entry: 3 more, 5 of 25
    store.record_acknowledged("d", "s", ["k05", "k05", "k00"], ["a", "b", "newer"])
    assert counts(engine) == [(5, 25)]
    store.compact("d", "s")
    assert len(deletes) == 1
    assert counts(engine) == [(0, 20)]
    assert mark(engine) == [("d", "s", None)]
    assert len(entries(engine)) == 20
    assert dict(engine.rows(latest))["k00"] == "newer"
    assert dict(engine.rows(latest))["k05"] == "b"
    store.close()


def test_a_compaction_table_without_the_counts_gets_them(
    engine: PostgresEngine, pg_db: PostgresConnection
) -> None:
    """The table as the retl before the counts made it: the columns are added at the next
    open, and its scopes count as unknown (compacted whole once, then counted)."""
    WarehouseStateStore(engine, "retl_state").close()
    execute(
        pg_db,
        """DROP TABLE retl_state.compaction;
           CREATE TABLE retl_state.compaction (destination TEXT NOT NULL, scope TEXT NOT NULL,
               superseded_from BIGINT, PRIMARY KEY (destination, scope));
           INSERT INTO retl_state.synced_rows (destination, scope, row_key, row_hash)
           VALUES ('d', 's', 'k1', 'h1'), ('d', 's', 'k2', 'h2'), ('d', 's', 'k1', 'h1b');
           INSERT INTO retl_state.compaction VALUES ('d', 's', 3)""",
    )
    store = WarehouseStateStore(engine, "retl_state")
    assert counts(engine) == [(0, None)]
    store.record_acknowledged("d", "s", ["k3"], ["h3"])
    assert counts(engine) == [(0, None)]
    store.compact("d", "s")
    assert entries(engine) == [("k1", "h1b"), ("k2", "h2"), ("k3", "h3")]
    assert counts(engine) == [(0, 3)]
    store.close()


def test_a_reset_forgets_the_scope_s_mark(engine: PostgresEngine) -> None:
    store = WarehouseStateStore(engine, "retl_state")
    store.record_acknowledged("d", "s", ["k1"], ["h1"])
    store.record_acknowledged("d", "t", ["k1"], ["h1"])
    assert store.reset("d", "s") == 1
    assert mark(engine) == [("d", "t", None)]
    store.close()


def test_opening_the_state_waits_for_another_open_s_migration(
    engine: PostgresEngine, pg_db: PostgresConnection
) -> None:
    """Two syncs opening a state at once: the second's CREATE ... IF NOT EXISTS waits for
    the first's (they could fail with a duplicate catalog entry). Held here by hand."""
    import threading
    import zlib

    import psycopg

    key = zlib.crc32(b"retl-migrate:retl_state")
    holder = psycopg.connect(
        host=pg_db.host, port=pg_db.port, dbname=pg_db.dbname, user=pg_db.user, autocommit=True
    )
    holder.execute("SELECT pg_advisory_lock(%s)", [key])
    opened: list[WarehouseStateStore] = []
    other = PostgresEngine(pg_db)
    opening = threading.Thread(
        target=lambda: opened.append(WarehouseStateStore(other, "retl_state"))
    )
    opening.start()
    try:
        waiting = False
        for _ in range(2400):  # until the open is seen waiting on the lock (not a timing)
            waiting = bool(
                holder.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                ).fetchone()[0]  # type: ignore[index]
            )
            if waiting:
                break
            opening.join(0.05)
        assert waiting and not opened
        assert engine.rows("SELECT to_regclass('retl_state.synced_rows')") == [(None,)]
    finally:
        holder.execute("SELECT pg_advisory_unlock(%s)", [key])
        opening.join(60)
        holder.close()
    assert len(opened) == 1
    opened[0].close()
    other.close()
