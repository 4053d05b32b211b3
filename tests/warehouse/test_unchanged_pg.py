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

from reverse_etl.engine.postgres import PostgresConnection, PostgresEngine
from reverse_etl.project import Project
from reverse_etl.sandbox import SandboxServer
from reverse_etl.state.dedup import (
    DedupWindow,
    duplicated_keys_sql,
    impact_sql,
    nothing_to_send,
)

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
    engine.execute(
        "CREATE TABLE m AS SELECT 'k' || i AS __row_key, 'h' || i AS __row_hash "
        "FROM generate_series(1, 20) AS i"
    )
    engine.execute(
        "CREATE TABLE s AS SELECT __row_key AS row_key, __row_hash AS row_hash, "
        "now()::timestamp AS first_synced_at FROM m"
    )
    try:
        yield engine
    finally:
        engine.close()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("SELECT 1", True),  # every row as acknowledged
        ("DELETE FROM m WHERE __row_key = 'k3'", True),  # a row gone: nothing to send
        ("UPDATE m SET __row_hash = 'x' WHERE __row_key = 'k3'", False),  # changed
        ("INSERT INTO m VALUES ('k99', 'h99')", False),  # new
        ("INSERT INTO m VALUES (NULL, 'h0')", False),  # keyless
        ("INSERT INTO m VALUES ('k3', 'h3')", False),  # k3 twice, both unchanged
        (
            "DELETE FROM m WHERE __row_key = 'k4'; UPDATE m SET __row_key = 'k3' "
            "WHERE __row_key = 'k5'",
            False,
        ),  # k3 twice, k4 and k5 gone: as many rows as keys
    ],
)
def test_nothing_to_send_is_exact(engine: PostgresEngine, change: str, expected: bool) -> None:
    for statement in change.split("; "):
        engine.execute(statement)
    counted = impact_sql(
        "SELECT * FROM m",
        "s",
        hold=None,
        window=DedupWindow.at(time.time(), 48 * 3600),
        full_refresh=False,
        whole=True,
    )
    twice = engine.rows(engine.transpile(duplicated_keys_sql("SELECT * FROM m")))[0][0]
    found = nothing_to_send(engine.rows(engine.transpile(counted))) and not twice
    assert found is expected
