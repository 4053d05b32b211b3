"""An unchanged re-sync with the state in PostgreSQL hashes and joins the model's rows once.

The count pass (every row joined with the state) also says whether the diff would find a row
to send; when only a duplicated key could make it, one more query sorts the model's keys
alone. When nothing is to send, the diff's own pass (a second hash and join of every row, and
a GROUP BY of every key for the duplicated ones: x6.9 from 1M to 4M rows,
bench/reference/pg-1m-4m-fifth-*) is not run. A duplicated or keyless key, a new or a
changed row each make it run, as before.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reverse_etl.engine.duckdb import DuckDBEngine
from reverse_etl.engine.postgres import PostgresConnection, PostgresEngine
from reverse_etl.pipeline.inputs import classified_once
from reverse_etl.project import Project
from reverse_etl.sandbox import SandboxServer
from reverse_etl.state.dedup import DedupWindow
from reverse_etl.state.diff import CHANGE, ROW_KEY, Rows

from .test_warehouse_sync import (  # noqa: F401 - fixtures
    TOKEN,
    _token,
    execute,
    project,
    sandbox_token,
    seed,
    sync,
)

pytestmark = pytest.mark.postgres
__all__ = ["TOKEN", "sandbox_token"]


@pytest.fixture
def streams(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SQL of every query whose rows PostgreSQL streams to retl."""
    seen: list[str] = []
    original = PostgresEngine.stream

    def counted(self: PostgresEngine, sql: str, **kw: Any) -> Any:
        seen.append(sql)
        return original(self, sql, **kw)

    monkeypatch.setattr(PostgresEngine, "stream", counted)
    return seen


def synced(db: PostgresConnection, server: SandboxServer, root: Path, rows: int) -> Path:
    """A project over ``rows`` orders, synced once (every row sent)."""
    seed(db, rows)
    project(root, db, server.base_url)
    assert sync(root) == (rows, 0)
    return root


def test_an_unchanged_re_sync_streams_nothing(
    pg_db: PostgresConnection, server: SandboxServer, tmp_path: Path, streams: list[str]
) -> None:
    root = synced(pg_db, server, tmp_path, 400)
    assert len(streams) == 1  # the first sync: every row
    streams.clear()
    assert sync(root) == (0, 400)
    assert streams == []  # before: the diff's cursor ran, and found nothing
    execute(pg_db, "UPDATE shop.orders SET total = total + 1 WHERE order_id = 9")
    assert sync(root) == (1, 399)
    assert len(streams) == 1


def test_a_duplicated_key_still_reaches_the_plan(
    pg_db: PostgresConnection, server: SandboxServer, tmp_path: Path, streams: list[str]
) -> None:
    root = synced(pg_db, server, tmp_path, 50)
    # order 5 again, with the same values: both rows' hashes equal the acknowledged one
    execute(pg_db, "INSERT INTO shop.orders SELECT * FROM shop.orders WHERE order_id = 5")
    streams.clear()
    with Project.load(root) as p:
        (plan,) = p.plan()
    assert len(streams) == 1
    # Both copies are reported invalid, and not counted unchanged as well (they were: the
    # count pass counts every row matching its acknowledged hash), as the local diff counts.
    assert (plan.rows_invalid, plan.rows_new, plan.rows_changed) == (2, 0, 0)
    assert (plan.rows_total, plan.rows_unchanged) == (51, 49)


def test_a_duplicated_key_beside_a_change_is_not_counted_unchanged(
    pg_db: PostgresConnection, server: SandboxServer, tmp_path: Path
) -> None:
    """The diff runs (order 9 changed): the duplicated key's two rows, whose hashes both
    match the acknowledged one, are invalid only."""
    root = synced(pg_db, server, tmp_path, 50)
    execute(pg_db, "INSERT INTO shop.orders SELECT * FROM shop.orders WHERE order_id = 5")
    execute(pg_db, "UPDATE shop.orders SET total = total + 1 WHERE order_id = 9")
    with Project.load(root) as p:
        (plan,) = p.plan()
    assert (plan.rows_invalid, plan.rows_changed, plan.rows_new) == (2, 1, 0)
    assert (plan.rows_total, plan.rows_unchanged) == (51, 48)


@pytest.fixture
def engine(pg_db: PostgresConnection) -> Iterator[PostgresEngine]:
    engine = PostgresEngine(pg_db)
    engine.scratch_schema = "public"
    engine.execute(
        "CREATE TABLE m AS SELECT 'k' || i AS k, 'h' || i AS h FROM generate_series(1, 20) AS i"
    )
    engine.execute(
        "CREATE TABLE s AS SELECT k AS row_key, h AS row_hash, "
        "now()::timestamp AS first_synced_at FROM m"
    )
    try:
        yield engine
    finally:
        engine.close()


@pytest.mark.parametrize(
    ("change", "sent", "unchanged"),
    [
        ("SELECT 1", [], 20),  # every row as acknowledged
        ("DELETE FROM m WHERE k = 'k3'", [], 19),  # a row gone: nothing to send
        ("UPDATE m SET h = 'x' WHERE k = 'k3'", [("k3", "changed")], 19),
        ("INSERT INTO m VALUES ('k99', 'h99')", [("k99", "new")], 20),
        ("INSERT INTO m VALUES (NULL, 'h0')", [(None, "new")], 20),  # keyless: invalid
        # k3 twice, both as acknowledged: both go on, to be reported invalid
        ("INSERT INTO m VALUES ('k3', 'h3')", [("k3", None)] * 2, 19),
        (
            "DELETE FROM m WHERE k = 'k4'; UPDATE m SET k = 'k3' WHERE k = 'k5'",
            [("k3", None)] * 2,
            17,
        ),  # k3 twice, k4 and k5 gone: as many rows as keys
    ],
)
def test_the_classification_fetches_only_what_is_sent(
    engine: PostgresEngine,
    streams: list[str],
    change: str,
    sent: list[tuple[str | None, str | None]],
    unchanged: int,
) -> None:
    """The counts and the rows to send come from one cached classification; the model runs a
    second time (a stream) only when a row is to send, and then only for those rows."""
    for statement in change.split("; "):
        engine.execute(statement)
    bench = DuckDBEngine()
    try:
        table, counted, _ = classified_once(
            bench,
            engine,
            rows=Rows("SELECT * FROM m", "k", "h"),
            latest="s",
            hold=None,
            window=DedupWindow.at(time.time(), 48 * 3600),
        )
        got = bench.rows(f"SELECT {ROW_KEY}, {CHANGE} FROM {table}")
    finally:
        bench.close()
    # a duplicated key's rows are reported invalid whatever their change: not compared
    assert sorted((k, c if (k, None) not in sent else None) for k, c in got) == sorted(sent)
    assert counted == unchanged
    assert len(streams) == (1 if sent else 0)
    cached = "SELECT count(*) FROM pg_class WHERE relname LIKE '\\_\\_retl\\_cached%'"
    assert engine.rows(cached) == [(0,)]  # dropped at the end
