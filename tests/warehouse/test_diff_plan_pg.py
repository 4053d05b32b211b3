"""The warehouse diff's plan in a real PostgreSQL: no step that grows faster than the rows,
and no column of the model carried through the join that only needs a key and a hash.

The diff classifies every row once into a table (``PostgresEngine.cached``), then fetches the
rows of the keys to send (``classified_once``). Found by bench/pg_bench.py: PostgreSQL
flattened the classification's subquery and computed the row hash above its join, so every
column of every row went through the join's hash batches (7.0 s at 1M rows; 2.2 s with the
key and the hash computed below it); and the fetch, joined with a cached table that had no
statistics, sorted every model row for a merge join. No timing is measured: the plan's
shape is.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import pyarrow as pa
import pytest

from reverse_etl.engine.duckdb import DuckDBEngine
from reverse_etl.engine.postgres import PostgresConnection, PostgresEngine
from reverse_etl.pipeline.inputs import classified_once
from reverse_etl.state.dedup import DedupWindow
from reverse_etl.state.diff import CHANGE, FORM_EXACT, ROW_KEY, row_parts

from .test_warehouse_sync import execute

pytestmark = pytest.mark.postgres

SCHEMA = pa.schema([("event_id", pa.string()), ("value", pa.int64())])


@pytest.fixture
def engine(pg_db: PostgresConnection) -> Iterator[PostgresEngine]:
    engine = PostgresEngine(pg_db)
    engine.scratch_schema = "public"
    engine.execute(
        "CREATE TABLE cur AS SELECT 'k' || i AS event_id, i::bigint AS value "
        "FROM generate_series(1, 5000) AS i"
    )
    engine.execute("INSERT INTO cur VALUES ('k7', 70), ('k7', 71)")  # k7 three times
    rows = row_parts("SELECT * FROM cur", SCHEMA, ["event_id"], form=FORM_EXACT)
    # the state: every key acknowledged with its current hash, but k1's changed since
    engine.execute(
        f"CREATE TABLE st AS SELECT DISTINCT ON (__row_key) __row_key AS row_key, "
        f"__row_hash AS row_hash, now()::timestamp AS first_synced_at "
        f"FROM ({engine.transpile(rows.sql)}) AS r"
    )
    engine.execute("UPDATE st SET row_hash = 'old' WHERE row_key = 'k1'")
    engine.execute("ANALYZE cur")
    engine.execute("ANALYZE st")
    try:
        yield engine
    finally:
        engine.close()


def diff(engine: PostgresEngine) -> list[tuple[Any, ...]]:
    """The diff as a sync runs it: the rows to send, (key, change) in key order."""
    bench = DuckDBEngine()
    try:
        table, _, _ = classified_once(
            bench,
            engine,
            rows=row_parts("SELECT * FROM cur", SCHEMA, ["event_id"], form=FORM_EXACT),
            latest="st",
            hold=None,
            window=DedupWindow.at(time.time(), 48 * 3600),
        )
        return bench.rows(f"SELECT {ROW_KEY}, {CHANGE} FROM {table} ORDER BY 1")
    finally:
        bench.close()


@pytest.fixture
def classifications(engine: PostgresEngine, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The verbose plan of every statement the diff caches, under a tiny work_mem."""
    plans: list[str] = []
    cached = PostgresEngine.cached

    def explained(self: PostgresEngine, sql: str) -> AbstractContextManager[str]:
        self.execute("SET work_mem = '64kB'")
        found = self.rows("EXPLAIN (VERBOSE) " + self.transpile(sql))
        plans.append("\n".join(r[0] for r in found))
        return cached(self, sql)

    monkeypatch.setattr(PostgresEngine, "cached", explained)
    return plans


def test_the_diff_sends_new_changed_and_duplicated_keys(
    engine: PostgresEngine, classifications: list[str]
) -> None:
    # k1 changed; k7's three rows come along (reported invalid later), however unchanged
    expected = [("k1", "changed"), *[("k7", "changed")] * 3]
    assert diff(engine) == expected
    assert len(classifications) == 1


def test_the_classification_hashes_below_its_join(
    engine: PostgresEngine, classifications: list[str]
) -> None:
    diff(engine)
    (plan,) = classifications
    assert "SubPlan" not in plan, plan
    assert "Nested Loop" not in plan, plan
    # The scan of the model computes the hash (its output holds md5), so the join above
    # reads a key and a hash. Unfenced, the scan outputs the model's columns and md5 is
    # computed above the join.
    lines = plan.splitlines()
    scan = next(i for i, line in enumerate(lines) if "Scan on public.cur" in line)
    assert "md5" in lines[scan + 1], plan


def test_the_cached_table_has_statistics(engine: PostgresEngine) -> None:
    """Without them the fetch's join planned the keys to send at hundreds of thousands of
    rows and sorted every model row for a merge join."""
    with engine.cached("SELECT * FROM cur") as name:
        (known,) = engine.rows(f"SELECT reltuples FROM pg_class WHERE oid = '{name}'::regclass")
        assert known == (5002,)
    assert engine.rows(f"SELECT to_regclass('{name}')") == [(None,)]  # dropped


def test_a_killed_sync_s_cached_table_is_dropped_by_the_next(
    engine: PostgresEngine, pg_db: PostgresConnection
) -> None:
    """A cached table carries its session's process id: one whose session has ended is left
    by a killed sync, and dropped; one of a live session is another sync's, and kept."""
    live = engine.rows("SELECT pg_backend_pid()")[0][0]
    execute(pg_db, "CREATE TABLE public.__retl_cached_2147483000_1 (k text)")  # no such pid
    execute(pg_db, f"CREATE TABLE public.__retl_cached_{live}_999 (k text)")
    odd = "__retl_cached_123456789012345678901_1"  # no process id: not ours, and no error
    execute(pg_db, f"CREATE TABLE public.{odd} (k text)")
    with engine.cached("SELECT 1 AS one"):
        pass
    left = engine.rows("SELECT relname FROM pg_class WHERE relname LIKE '\\_\\_retl\\_cached%'")
    assert {name for (name,) in left} == {odd, f"__retl_cached_{live}_999"}
