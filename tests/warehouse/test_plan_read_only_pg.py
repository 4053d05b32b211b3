"""`retl plan`, `retl ui`'s Plan page and `retl state show` on a state in PostgreSQL write
nothing in the warehouse: no schema, no table, not even a scratch table created and dropped in
the state's schema (the diff's is a TEMP table, gone with its session). Before the first sync
the plan says every row is new, as on a fresh local state."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from reverse_etl.delivery.retry import RetryPolicy
from reverse_etl.engine.postgres import PostgresConnection, PostgresEngine
from reverse_etl.project import Project
from reverse_etl.sandbox import SandboxServer
from reverse_etl.state.warehouse import WarehouseStateStore
from reverse_etl.ui import UiApp
from tests.warehouse.test_warehouse_sync import TOKEN, execute, project, seed

pytestmark = pytest.mark.postgres

# Every DDL command and dropped object, outside the sessions' own temporary schemas.
_LOGGED = """
CREATE TABLE public.ddl_log (tag text, schema_name text, identity text);
CREATE FUNCTION public.log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.ddl_log
    SELECT command_tag, schema_name, object_identity FROM pg_event_trigger_ddl_commands()
    WHERE schema_name IS DISTINCT FROM 'pg_temp';
END $$;
CREATE FUNCTION public.log_drop() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.ddl_log
    SELECT 'DROP', schema_name, object_identity FROM pg_event_trigger_dropped_objects()
    WHERE NOT is_temporary;
END $$;
CREATE EVENT TRIGGER log_ddl ON ddl_command_end EXECUTE FUNCTION public.log_ddl();
CREATE EVENT TRIGGER log_drop ON sql_drop EXECUTE FUNCTION public.log_drop();
"""


def _connect(db: PostgresConnection) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        host=db.host, port=db.port, dbname=db.dbname, user=db.user, autocommit=True
    )


@pytest.fixture
def sandbox_token() -> str:
    return TOKEN  # the token the sandbox grants


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PG_TEST_TOKEN", TOKEN)


@pytest.fixture
def ddl_log(pg_db: PostgresConnection) -> Iterator[None]:
    """DDL is logged in ``public.ddl_log`` (event triggers: the test's role is a superuser)."""
    with _connect(pg_db) as con:
        con.execute(_LOGGED)
    yield
    with _connect(pg_db) as con:
        con.execute("DROP EVENT TRIGGER log_ddl")
        con.execute("DROP EVENT TRIGGER log_drop")


def _ddl(db: PostgresConnection) -> list[tuple[object, ...]]:
    with _connect(db) as con:
        found = con.execute("SELECT * FROM public.ddl_log").fetchall()
        con.execute("DELETE FROM public.ddl_log")
    return found


def _relations(db: PostgresConnection) -> set[tuple[str, str, str]]:
    """Every relation of the database outside the system's (temporary and unlogged ones too,
    with their persistence), and every schema."""
    with _connect(db) as con:
        found = con.execute(
            "SELECT n.nspname, c.relname, c.relpersistence::text FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') "
            "UNION ALL SELECT nspname, '', '' FROM pg_namespace "
            "WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'"
        ).fetchall()
    return {(str(s), str(t), str(p)) for s, t, p in found}


def test_before_the_first_sync_plan_creates_nothing_and_every_row_is_new(
    pg_db: PostgresConnection, tmp_path: Path, ddl_log: None
) -> None:
    seed(pg_db, 10)
    root = project(tmp_path, pg_db, "http://127.0.0.1:9")  # nothing is sent
    _ddl(pg_db)  # the seed's
    before = _relations(pg_db)
    assert not any(s == "retl_state" for s, _, _ in before)
    with Project.load(root) as p:
        (plan,) = p.plan()
        page = UiApp(p, title="t").handle("/plan", {"compute": "1"})
        shown = p.state_show()
    assert (plan.rows_new, plan.rows_changed, plan.rows_unchanged) == (10, 0, 0)
    assert page.status == 200 and b'id="plan-counts-tiktok"' in page.body
    assert shown == []
    assert _relations(pg_db) == before  # no schema, no table
    assert _ddl(pg_db) == []


def test_a_plan_against_a_synced_state_writes_nothing_in_the_warehouse(
    pg_db: PostgresConnection, server: SandboxServer, tmp_path: Path, ddl_log: None
) -> None:
    seed(pg_db, 50)
    root = project(tmp_path, pg_db, server.base_url)
    with Project.load(root) as p:
        p.retry_policy = RetryPolicy(base_delay=0.01, max_delay=0.05)
        assert p.sync().ok
    execute(pg_db, "UPDATE shop.orders SET total = total + 1 WHERE order_id IN (5, 6)")
    execute(pg_db, "INSERT INTO shop.orders VALUES (51, 'new@example.com', now(), 1)")
    _ddl(pg_db)  # the sync's
    before = _relations(pg_db)
    with Project.load(root) as p:
        (plan,) = p.plan()
        page = UiApp(p, title="t").handle("/plan", {"compute": "1"})
        (scope,) = p.state_show()
        during = _relations(pg_db)  # the project's sessions are still open
    # the diff ran in the warehouse, against the state, and fetched the rows to send
    assert (plan.rows_new, plan.rows_changed, plan.rows_unchanged) == (1, 2, 48)
    assert plan.rows_to_send == 3
    assert page.status == 200 and b'id="plan-counts-tiktok"' in page.body
    assert scope.rows == 50
    # no scratch table in the state's schema, created and dropped, nor any DDL
    assert _ddl(pg_db) == []
    assert during == before and _relations(pg_db) == before


def test_a_reader_reads_a_schema_1_state_as_it_is(pg_db: PostgresConnection, ddl_log: None) -> None:
    """The tables of a retl before first acknowledgements, compaction marks and history:
    read, not migrated (each key's first acknowledgement is its entry's time, as migrating
    would make it)."""
    execute(
        pg_db,
        """CREATE SCHEMA retl_state;
           CREATE TABLE retl_state.meta (key TEXT PRIMARY KEY, value TEXT);
           CREATE TABLE retl_state.synced_rows (
               destination TEXT NOT NULL, scope TEXT NOT NULL, row_key TEXT NOT NULL,
               row_hash TEXT NOT NULL, synced_at TIMESTAMP NOT NULL DEFAULT now(),
               seq BIGSERIAL NOT NULL);
           CREATE TABLE retl_state.destinations (
               destination TEXT NOT NULL, scope TEXT NOT NULL, event_source_id TEXT,
               mapping_fingerprint TEXT, mapping TEXT, last_sync_at TIMESTAMP,
               last_run_id TEXT, PRIMARY KEY (destination, scope));
           INSERT INTO retl_state.meta VALUES ('schema_version', '1');
           INSERT INTO retl_state.synced_rows (destination, scope, row_key, row_hash, synced_at)
           VALUES ('d', 's', 'k1', 'h1', '2024-01-01 10:00'),
                  ('d', 's', 'k1', 'h1b', '2024-01-02 11:00');""",
    )
    _ddl(pg_db)
    before = _relations(pg_db)
    engine = PostgresEngine(pg_db)
    try:
        store = WarehouseStateStore(engine, "retl_state", create=False)
        latest = store.latest_relation("d", "s", with_first=True)
        got = engine.rows(engine.transpile(f"SELECT * FROM {latest} AS l"))
        assert got == [("k1", "h1b", dt.datetime(2024, 1, 2, 11))]
        assert [s.destination for s in store.all_scopes()] == ["d"]
        assert store.history_relation("runs") != "retl_state.runs"
        store.close()
    finally:
        engine.close()
    assert _relations(pg_db) == before
    assert _ddl(pg_db) == []


def test_a_temp_cached_table_is_seen_by_the_queries_and_the_stream_of_its_block(
    pg_db: PostgresConnection,
) -> None:
    """Without a scratch schema (a reader), ``cached`` keeps a TEMP table on a session of its
    own, which the block's counts and its stream both use; the session ends with the block,
    and the engine's next queries and streams run as before."""
    engine = PostgresEngine(pg_db)
    try:
        with engine.cached("SELECT i AS k FROM range(1, 6) AS t(i)") as table:
            (((n,),)) = engine.rows(f"SELECT count(*) FROM {table}")
            streamed = engine.stream(f"SELECT k FROM {table} ORDER BY k").read_all()
            (((again,),)) = engine.rows(f"SELECT count(*) FROM {table}")  # after the stream
            pid = engine.rows("SELECT pg_backend_pid()")[0][0]
        assert (n, again) == (5, 5)
        assert streamed.column("k").to_pylist() == [1, 2, 3, 4, 5]
        assert engine.rows("SELECT pg_backend_pid()")[0][0] != pid  # the main session again
        assert engine.stream("SELECT 1 AS one").read_all().num_rows == 1
        with _connect(pg_db) as con:  # the session, and its table, are gone
            left = con.execute(
                "SELECT count(*) FROM pg_class WHERE relname LIKE '\\_\\_retl\\_cached%%'"
            ).fetchone()
        assert left == (0,)
    finally:
        engine.close()
