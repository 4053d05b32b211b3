"""The PostgreSQL state's statistics after a sync that added many entries (issue #17).

Autovacuum analyses ``synced_rows`` a minute or more after a large load, so a CI run right
after a first sync had its diff planned on a table the server estimated at a few rows. At
the end of a destination, the store now runs the ANALYZE autovacuum would run: when it added
more entries than ``autovacuum_analyze_threshold`` plus ``autovacuum_analyze_scale_factor``
of the rows the statistics know. Autovacuum is turned off for the table here, so that only
the store can have analysed it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from reverse_etl.engine.postgres import PostgresConnection, PostgresEngine
from reverse_etl.state.warehouse import WarehouseStateStore

from .test_warehouse_sync import execute

pytestmark = pytest.mark.postgres


def known_rows(engine: PostgresEngine) -> float:
    """What the planner's statistics say the table holds (-1: never analysed)."""
    return float(
        engine.rows(
            "SELECT reltuples FROM pg_class WHERE oid = 'retl_state.synced_rows'::regclass"
        )[0][0]
    )


def add(store: WarehouseStateStore, start: int, n: int, digest: str = "h") -> None:
    keys = [f"k{i}" for i in range(start, start + n)]
    store.record_acknowledged("d", "s", keys, [digest] * n)


def test_a_large_first_sync_leaves_fresh_statistics(
    pg_engine: PostgresEngine, pg_db: PostgresConnection
) -> None:
    store = WarehouseStateStore(pg_engine, "retl_state")
    execute(pg_db, "ALTER TABLE retl_state.synced_rows SET (autovacuum_enabled = false)")
    assert known_rows(pg_engine) < 0
    add(store, 0, 600)
    add(store, 600, 400)
    assert known_rows(pg_engine) < 0  # the batches' commits leave the statistics alone
    store.compact("d", "s")  # the end of the destination: 1,000 > 50 + 0.1 x 0
    assert known_rows(pg_engine) == 1000
    store.close()


def test_a_small_sync_leaves_them_and_a_larger_one_refreshes_them(
    pg_engine: PostgresEngine, pg_db: PostgresConnection
) -> None:
    store = WarehouseStateStore(pg_engine, "retl_state")
    execute(pg_db, "ALTER TABLE retl_state.synced_rows SET (autovacuum_enabled = false)")
    add(store, 0, 1000)
    store.compact("d", "s")
    assert known_rows(pg_engine) == 1000
    add(store, 1000, 150)  # 150 = 50 + 0.1 x 1,000: not more, so not analysed
    store.compact("d", "s")
    assert known_rows(pg_engine) == 1000
    add(store, 1150, 1)  # 151 since the last ANALYZE: analysed
    store.compact("d", "s")
    assert known_rows(pg_engine) == 1151
    store.close()


def test_each_compact_analyses_at_most_once(
    pg_engine: PostgresEngine, pg_db: PostgresConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A resend of a fifth of the keys is compacted, whose ANALYZE (before its DELETE) is
    also the refresh: one ANALYZE, not two."""
    analyses: list[str] = []
    execute_sql = pg_engine.execute

    def counting(sql: str, params: Sequence[Any] = ()) -> None:
        if sql.lstrip().upper().startswith("ANALYZE"):
            analyses.append(sql)
        execute_sql(sql, params)

    monkeypatch.setattr(pg_engine, "execute", counting)
    store = WarehouseStateStore(pg_engine, "retl_state")
    execute(pg_db, "ALTER TABLE retl_state.synced_rows SET (autovacuum_enabled = false)")
    add(store, 0, 1000)
    store.compact("d", "s")
    assert len(analyses) == 1  # the refresh
    add(store, 0, 200, "h2")  # supersedes 200 entries: compacted
    store.compact("d", "s")
    assert len(analyses) == 2  # the compaction's, which counts as the refresh
    assert known_rows(pg_engine) == 1200  # analysed before the DELETE
    assert pg_engine.rows("SELECT count(*) FROM retl_state.synced_rows") == [(1000,)]
    store.compact("d", "s")  # nothing added since
    assert len(analyses) == 2
    store.close()
