"""Syncs from a real PostgreSQL warehouse, with the state kept in the warehouse."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

import psycopg
import pytest

from reverse_etl.delivery.retry import RetryPolicy
from reverse_etl.engine.postgres import PostgresConnection, PostgresEngine
from reverse_etl.errors import LockError
from reverse_etl.project import Project
from reverse_etl.sandbox import DEMO_PIXEL_CODE, SandboxServer
from reverse_etl.state.warehouse import WarehouseStateStore
from tests.conftest import invoke_in_process, kill_sync_midway

TOKEN = "pg-test-token-7c1e"
NOW = int(time.time()) - 3600


@pytest.fixture
def sandbox_token() -> str:
    """The token the ``server`` fixture (tests/conftest.py) accepts here."""
    return TOKEN


def seed(db: PostgresConnection, rows: int) -> None:
    with psycopg.connect(
        host=db.host, port=db.port, dbname=db.dbname, user=db.user, autocommit=True
    ) as con:
        con.execute("CREATE SCHEMA shop")
        con.execute(
            """CREATE TABLE shop.orders AS
               SELECT i AS order_id, 'User' || i || '@Example.com' AS email,
                      to_timestamp(%s - i) AT TIME ZONE 'UTC' AS ordered_at,
                      (i %% 100)::numeric(10, 2) + 0.5 AS total
               FROM generate_series(1, %s) AS i""",
            [NOW, rows],
        )


def execute(db: PostgresConnection, sql: str) -> None:
    with psycopg.connect(
        host=db.host, port=db.port, dbname=db.dbname, user=db.user, autocommit=True
    ) as con:
        con.execute(sql)


def project(root: Path, db: PostgresConnection, base_url: str) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "retl_project.yml").write_text(
        f"""
warehouse:
  type: postgres
  host: {db.host}
  port: {db.port}
  dbname: {db.dbname}
  user: {db.user}
state:
  location: warehouse
sources:
  - name: shop
    tables:
      - name: orders
        columns:
          - {{name: order_id, data_type: integer}}
          - {{name: email, data_type: varchar}}
          - {{name: ordered_at, data_type: timestamp}}
          - {{name: total, data_type: "decimal(10,2)"}}
""",
        encoding="utf-8",
    )
    # DuckDB dialect that sqlglot must transpile: ILIKE, the :: cast, list_value -> ARRAY
    (root / "models" / "purchases.sql").write_text(
        """
select 'Purchase' as event,
       'order-' || order_id::varchar as event_id,
       ordered_at as event_time,
       lower(email) as email,
       total as value,
       'USD' as currency,
       list_value('sku-' || order_id::varchar) as content_ids
from {{ source('shop', 'orders') }}
where email ilike '%@example.com'
""",
        encoding="utf-8",
    )
    (root / "destinations.yml").write_text(
        f"""
destinations:
  tiktok:
    type: tiktok_events
    model: purchases
    auth_method: access_token
    access_token: "{{{{ env_var('PG_TEST_TOKEN') }}}}"
    event_source_id: {DEMO_PIXEL_CODE}
    api_base_url: {base_url}
""",
        encoding="utf-8",
    )
    return root


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PG_TEST_TOKEN", TOKEN)


def sync(root: Path) -> tuple[int, int]:
    with Project.load(root) as p:
        p.retry_policy = RetryPolicy(base_delay=0.01, max_delay=0.05)
        report = p.sync()
    assert report.ok, report.to_dict()
    (r,) = report.results
    return r.sent, r.rows_unchanged


def test_incremental_syncs_with_the_state_in_postgres(
    pg_db: PostgresConnection, server: SandboxServer, tmp_path: Path
) -> None:
    seed(pg_db, 3000)
    root = project(tmp_path, pg_db, server.base_url)
    assert sync(root) == (3000, 0)
    (event,) = [e["data"] for e in server.events() if e["data"]["event_id"] == "order-7"]
    assert event["properties"]["content_ids"] == ["sku-7"]
    assert event["event_time"] == NOW - 7
    # nothing changed: the unchanged rows never leave the warehouse
    assert sync(root) == (0, 3000)
    assert server.stats.track_requests == 3
    execute(pg_db, "UPDATE shop.orders SET total = total + 1 WHERE order_id IN (5, 6)")
    execute(pg_db, "INSERT INTO shop.orders VALUES (3001, 'new@example.com', now(), 1)")
    with Project.load(root) as p:
        (plan,) = p.plan()
    assert (plan.rows_new, plan.rows_changed, plan.rows_unchanged) == (1, 2, 2998)
    assert sync(root) == (3, 2998)
    # the state lives in the warehouse: no local state file was written
    assert not (root / ".retl" / "state.duckdb").exists()
    with psycopg.connect(
        host=pg_db.host, port=pg_db.port, dbname=pg_db.dbname, user=pg_db.user
    ) as con:
        (count,) = con.execute(
            "SELECT count(DISTINCT row_key) FROM retl_state.synced_rows"
        ).fetchone() or (0,)
    assert count == 3001


def test_the_advisory_lock_refuses_a_second_sync(
    pg_db: PostgresConnection, server: SandboxServer, tmp_path: Path
) -> None:
    seed(pg_db, 10)
    root = project(tmp_path, pg_db, server.base_url)
    with Project.load(root) as holder:
        engine = holder.engine
        store = WarehouseStateStore(engine, "retl_state")  # type: ignore[arg-type]
        with store.lock():
            with Project.load(root) as p, pytest.raises(LockError, match="another retl sync") as e:
                p.sync()
            assert (e.value.exit_code, e.value.reason) == (75, "locked")  # EX_TEMPFAIL
            # the CLI, in text and JSON, and a reset, which takes the same lock
            text = invoke_in_process("sync", "--project-dir", root)
            assert text.returncode == 75, text.stderr
            assert "another retl sync is running on the state in schema retl_state" in text.stderr
            for args in (("sync",), ("state", "reset", "--yes")):
                result = invoke_in_process(*args, "--project-dir", root, "--format", "json")
                assert result.returncode == 75, result.stdout
                doc = json.loads(result.stdout)
                assert (doc["ok"], doc["reason"]) == (False, "locked")
        store.close()
    assert sync(root) == (10, 0)  # released with the holder's session


@pytest.mark.slow
def test_sigkill_with_the_state_in_postgres_loses_nothing(
    pg_db: PostgresConnection, server: SandboxServer, tmp_path: Path
) -> None:
    # 16 requests of 1,000, 5 (thread_count) at a time: killed once 2 were answered and the
    # next 5 are in flight (the sandbox holds them, so the kill lands there whatever the load).
    seed(pg_db, 16_000)
    root = project(tmp_path, pg_db, server.base_url)
    before = kill_sync_midway(
        root, server, {**os.environ, "PG_TEST_TOKEN": TOKEN}, after_requests=2, in_flight=5
    )
    assert before == 7000  # the 5 requests in flight landed after their sender died
    sent, _ = sync(root)
    # every event arrived; the rerun resent only what was unacknowledged when the run died
    assert server.stats.events_accepted == 16_000
    assert server.stats.events_deduplicated == 5 * 1000
    assert sent == 16_000 - before + server.stats.events_deduplicated
    assert sync(root) == (0, 16_000)


def test_validate_reads_column_types_from_the_postgres_catalog(
    pg_db: PostgresConnection, server: SandboxServer, tmp_path: Path
) -> None:
    seed(pg_db, 3)
    root = project(tmp_path, pg_db, server.base_url)
    yml = (root / "retl_project.yml").read_text(encoding="utf-8")
    # no declared columns at all: the warehouse's catalog must supply them
    yml = yml[: yml.index("        columns:")]
    (root / "retl_project.yml").write_text(yml, encoding="utf-8")
    (root / "models" / "purchases.sql").write_text(
        "select 'Purchase' as event, 'o' || order_id::varchar as event_id, "
        "ordered_at as event_time, email, email as num_items from {{ source('shop', 'orders') }}",
        encoding="utf-8",
    )
    with Project.load(root) as p:
        (result,) = p.validate()
    types = {c.column: c.type.upper() for c in result.columns}
    assert types["email"] in ("TEXT", "VARCHAR")
    # email as num_items is caught from the catalog's type alone
    errors = [d for d in result.diagnostics if d.severity == "error"]
    assert [d.column for d in errors] == ["num_items"], [d.problem for d in errors]


def test_a_sync_counts_no_keys_of_the_state_and_state_show_does(
    pg_db: PostgresConnection,
    server: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The sync reads a scope's mapping and times, never its key count: a distinct count
    over the state's entries took 2.5-2.7 s of every sync at 4M keys."""
    seed(pg_db, 30)
    root = project(tmp_path, pg_db, server.base_url)
    assert sync(root) == (30, 0)
    seen: list[str] = []
    read = PostgresEngine.rows

    def spy(
        self: PostgresEngine, sql: str, params: Sequence[object] = ()
    ) -> list[tuple[object, ...]]:
        seen.append(sql)
        return read(self, sql, params)

    monkeypatch.setattr(PostgresEngine, "rows", spy)
    execute(pg_db, "UPDATE shop.orders SET total = total + 1 WHERE order_id = 5")
    assert sync(root) == (1, 29)
    assert any('FROM "retl_state".destinations' in sql for sql in seen)  # it was watched
    assert not [sql for sql in seen if "count(DISTINCT row_key)" in sql]
    with Project.load(root) as p:
        (info,) = p.state_show()
    assert info.rows == 30
    assert [sql for sql in seen if "count(DISTINCT row_key)" in sql]
    # and says where the state is: not the local file it does not use (an audit)
    shown = invoke_in_process("state", "show", "--project-dir", root)
    assert shown.returncode == 0, shown.stderr
    assert "state (the warehouse's retl_state tables)" in shown.stdout
    assert "state.duckdb" not in shown.stdout


def test_a_legacy_database_and_a_destination_name_with_a_backslash_sync_as_any_other(
    pg_db: PostgresConnection, server: SandboxServer, tmp_path: Path
) -> None:
    """A database that reads a backslash in a quoted text as an escape and writes dates
    day first, and a destination whose name (destinations.yml, which a pull request may
    change) ends in a backslash. On such a server that name ended retl's quoted text early
    in the state's SQL: a syntax error at the second sync, and, with a name written for it
    (``x\\' OR true --``), SQL of the name's choosing (tests/warehouse/
    test_postgres_engine.py). retl's sessions set both settings to what its SQL assumes."""
    seed(pg_db, 50)
    execute(pg_db, f"ALTER DATABASE {pg_db.dbname} SET standard_conforming_strings = off")
    execute(pg_db, f"ALTER DATABASE {pg_db.dbname} SET datestyle = 'SQL, DMY'")
    root = project(tmp_path, pg_db, server.base_url)
    yml = root / "destinations.yml"
    name = "tiktok\\"
    quoted = "'" + name + "'"  # YAML's single quotes keep a backslash as written
    yml.write_text(
        yml.read_text(encoding="utf-8").replace("  tiktok:", f"  {quoted}:"), encoding="utf-8"
    )
    assert sync(root) == (50, 0)
    assert sync(root) == (0, 50)  # the state read back, under the name
    with psycopg.connect(
        host=pg_db.host, port=pg_db.port, dbname=pg_db.dbname, user=pg_db.user
    ) as con:
        names = con.execute("SELECT DISTINCT destination FROM retl_state.synced_rows").fetchall()
    assert names == [(name,)]


def test_an_id_in_a_numeric_without_precision_is_sent_with_every_digit(
    pg_db: PostgresConnection, server: SandboxServer, tmp_path: Path
) -> None:
    """A numeric without (p,s) was read as a DOUBLE: event ids beyond 2**53 lost their last
    digits ("9007199254740993" became "9007199254740992"), and two rows could share one."""
    seed(pg_db, 3)
    root = project(tmp_path, pg_db, server.base_url)
    (root / "models" / "purchases.sql").write_text(
        "{{ config(dialect='postgres') }}\n"
        "select 'Purchase' as event, (order_id + 9007199254740992)::numeric as event_id,\n"
        "  ordered_at as event_time, lower(email) as email, total as value, 'USD' as currency\n"
        "from shop.orders",
        encoding="utf-8",
    )
    assert sync(root) == (3, 0)
    sent = sorted(
        (e["data"]["event_id"], e["data"]["properties"]["value"]) for e in server.events()
    )
    assert sent == [("9007199254740993", 1.5), ("9007199254740994", 2.5), ("9007199254740995", 3.5)]
    assert sync(root) == (0, 3)  # the state's keys are the same digits


def test_a_numeric_key_keeps_its_state_key_whatever_type_the_workbench_gives_it(
    pg_db: PostgresConnection, server: SandboxServer, tmp_path: Path
) -> None:
    """With the state kept locally, the diff's key of a numeric without precision is
    computed in the workbench, from the type it staged the column as: a DOUBLE ('1.0') while
    every value fits one, a DECIMAL ('1') once one does not. Every row then looked new and
    was sent again (counted twice after the platform's 48 hours)."""
    execute(pg_db, "CREATE SCHEMA IF NOT EXISTS keyed")
    execute(
        pg_db,
        "CREATE TABLE keyed.ev AS SELECT i::numeric AS id, now() - interval '1 hour' AS t "
        "FROM generate_series(1, 3) AS i",
    )
    root = project(tmp_path, pg_db, server.base_url)
    config = root / "retl_project.yml"
    config.write_text(config.read_text().replace("state:\n  location: warehouse\n", ""))
    (root / "models" / "purchases.sql").write_text(
        "{{ config(dialect='postgres', primary_key='id') }}\n"
        "select 'Purchase' as event, id, 'e' || id::text as event_id, t as event_time,\n"
        "  'a@b.com' as email from keyed.ev",
        encoding="utf-8",
    )
    assert sync(root) == (3, 0)
    assert sync(root) == (0, 3)
    execute(pg_db, "INSERT INTO keyed.ev VALUES (9007199254740993, now() - interval '1 hour')")
    assert sync(root) == (1, 3)
    assert sync(root) == (0, 4)
    sent = [e["data"]["event_id"] for e in server.events()]
    assert sorted(sent) == ["e1", "e2", "e3", "e9007199254740993"]
