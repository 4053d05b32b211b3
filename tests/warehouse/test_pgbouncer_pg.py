"""The PostgreSQL state through a real PgBouncer (Debian's, started by the test on loopback).

Session mode, as docs/warehouses.md asks: retl connects whether PgBouncer refuses libpq's
startup ``options`` (its default) or drops them (``ignore_startup_parameters = options``), and
its settings hold either way; a sync, a re-sync and a second sync refused while the first
holds the lock. Transaction mode, where a session advisory lock keeps nothing apart: two
syncs both ran, and the lock stayed on the pooled server session after the sync; retl now
refuses it, naming the fix.
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from pathlib import Path

import psycopg
import pytest

from reverse_etl.engine.postgres import PostgresConnection, PostgresEngine
from reverse_etl.errors import EngineError, LockHeldError, StateError
from reverse_etl.state.warehouse import WarehouseStateStore
from tests.conftest import cli_env, invoke_in_process, sync_held_midway
from tests.warehouse.conftest import PgServer, StartPgBouncer
from tests.warehouse.test_warehouse_sync import TOKEN, project, seed

pytestmark = pytest.mark.postgres

KEY = zlib.crc32(b"retl:retl_state")  # the state's lock (state/warehouse.py)
# What each of retl's sessions must have, whatever the pooler did with the startup options.
SETTINGS = (
    "SELECT current_setting('TimeZone') AS a, current_setting('DateStyle') AS b, "
    "current_setting('IntervalStyle') AS c, current_setting('extra_float_digits') AS d, "
    "current_setting('idle_session_timeout') AS e"
)
WANTED = ("UTC", "ISO, MDY", "postgres", "3", "0")


@pytest.fixture
def sandbox_token() -> str:
    return TOKEN


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PG_TEST_TOKEN", TOKEN)


def through(bouncer: PgServer, db: PostgresConnection) -> PostgresConnection:
    return bouncer.connection(db.dbname)


def advisory_locks(pg_server: PgServer, db: PostgresConnection) -> list[tuple[object, ...]]:
    """The state lock as the server sees it (straight, not through the pooler)."""
    with pg_server.admin(db.dbname) as con:
        return con.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = %s", [KEY]
        ).fetchall()


@pytest.mark.parametrize(
    "settings",
    [{}, {"ignore_startup_parameters": "extra_float_digits, options"}],
    ids=["options-refused", "options-ignored"],
)
def test_retl_connects_and_its_settings_hold(
    pgbouncer: StartPgBouncer, pg_db: PostgresConnection, settings: dict[str, str]
) -> None:
    """PgBouncer 1.18 refuses libpq's ``options`` ("unsupported startup parameter: options":
    retl could not connect at all), or, told to ignore it, drops every setting in it (the
    server's own TimeZone, DateStyle ... were read and hashed). Its session's settings are
    SET instead, on the main session, a new one (the state's) and a stream's."""
    bouncer = pgbouncer("session", **settings)
    engine = PostgresEngine(through(bouncer, pg_db))
    try:
        assert engine.rows(SETTINGS)[0] == WANTED
        con = engine.connect_new()  # the lock's and the acknowledgements' sessions
        try:
            assert con.execute(SETTINGS).fetchone() == WANTED
        finally:
            con.close()
        reader = engine.stream(f"SELECT {SETTINGS.removeprefix('SELECT ')}")
        assert tuple(reader.read_all().to_pylist()[0].values()) == WANTED
    finally:
        engine.close()


@pytest.mark.slow  # the held sync is a CLI subprocess
def test_sync_resync_and_a_concurrent_sync_through_session_mode(
    tmp_path: Path, pg_server: PgServer, pgbouncer: StartPgBouncer, pg_db: PostgresConnection,
    server: object,
) -> None:  # fmt: skip
    seed(pg_db, 30)
    bouncer = pgbouncer("session")
    root = project(tmp_path / "p", through(bouncer, pg_db), server.base_url)  # type: ignore[attr-defined]
    first = invoke_in_process("sync", "--project-dir", root, "--format", "json")
    assert first.returncode == 0, first.stdout + first.stderr
    assert re.search(r'"sent":\s*30\b', first.stdout), first.stdout
    again = invoke_in_process("sync", "--project-dir", root, "--format", "json")
    assert again.returncode == 0, again.stdout + again.stderr
    assert re.search(r'"sent":\s*0\b', again.stdout), again.stdout
    assert advisory_locks(pg_server, pg_db) == []  # PgBouncer's DISCARD ALL released it
    # Two syncs at once: the first is held mid-send (its lock taken), the second refused.
    execute_sql(pg_db, "UPDATE shop.orders SET total = total + 1")
    env = cli_env({"PG_TEST_TOKEN": TOKEN})
    with sync_held_midway(root, server, env, after_requests=0, in_flight=1):
        second = invoke_in_process("sync", "--project-dir", root)
        assert second.returncode == 75, second.stdout + second.stderr
        assert "another retl sync is running on the state in schema retl_state (pid " in (
            second.stderr
        )
        assert len(advisory_locks(pg_server, pg_db)) == 1


def utc_database(pg_server: PgServer, db: PostgresConnection) -> None:
    """The database's TimeZone UTC and extra_float_digits 3, as retl sets them: a pooler
    that drops the startup options does not show at connect (the settings are retl's)."""
    with pg_server.admin(db.dbname) as con:
        con.execute(f"ALTER DATABASE \"{db.dbname}\" SET timezone = 'UTC'")
        con.execute(f'ALTER DATABASE "{db.dbname}" SET extra_float_digits = 3')


def execute_sql(db: PostgresConnection, sql: str) -> None:
    with psycopg.connect(
        host=db.host, port=db.port, dbname=db.dbname, user=db.user, autocommit=True
    ) as con:
        con.execute(sql)


def test_the_holder_s_start_is_when_it_took_the_lock_through_a_pooled_session(
    pgbouncer: StartPgBouncer, pg_db: PostgresConnection
) -> None:
    """PgBouncer hands the lock the server session an earlier client had (pool size 2): its
    backend_start is older than the sync; ``held_since`` (a webhook's stuck_after) is when
    the lock was taken."""
    bouncer = pgbouncer("session", default_pool_size=2)
    conn = through(bouncer, pg_db)
    first = PostgresEngine(conn)
    second = PostgresEngine(pg_db)  # straight to the server
    try:
        holder = WarehouseStateStore(first, "retl_state")  # its main session: the pool's first
        with psycopg.connect(
            host=conn.host, port=conn.port, dbname=conn.dbname, user=conn.user, autocommit=True
        ) as earlier:  # opens the pool's second server session, which outlives this client
            (before,) = earlier.execute("SELECT clock_timestamp()").fetchone()  # type: ignore[misc]
        other = WarehouseStateStore(second, "retl_state")
        with holder.lock(), pytest.raises(LockHeldError) as caught, other.lock():
            pass
        since = caught.value.held_since
        assert since is not None and since >= before.astimezone(dt.timezone.utc)
    finally:
        first.close()
        second.close()


def test_transaction_mode_is_refused_and_leaves_no_lock(
    pg_server: PgServer, pgbouncer: StartPgBouncer, pg_db: PostgresConnection
) -> None:
    """In transaction mode the lock's session is handed to the next client between two
    statements: a second sync took the lock again on it (session locks count) and both ran,
    and the lock stayed on the pooled session after the sync. retl refuses, and releases it.
    The server's reported settings are retl's (UTC): the dropped options do not show the
    pooler at connect, and the lock is what refuses."""
    utc_database(pg_server, pg_db)
    bouncer = pgbouncer("transaction", ignore_startup_parameters="extra_float_digits, options")
    first, second = (PostgresEngine(through(bouncer, pg_db)) for _ in range(2))
    try:
        holder = WarehouseStateStore(first, "retl_state")
        with pytest.raises(StateError) as caught, holder.lock():
            pass
        assert not isinstance(caught.value, LockHeldError)
        assert "shared with other clients (a pooler such as PgBouncer in transaction" in (
            caught.value.message
        )
        assert "pool_mode = session" in (caught.value.hint or "")
        assert advisory_locks(pg_server, pg_db) == []
        with (
            pytest.raises(StateError, match="shared with other clients"),
            WarehouseStateStore(second, "retl_state").lock(),
        ):
            pass
    finally:
        first.close()
        second.close()


def test_a_session_that_already_holds_the_lock_does_not_take_it_again(
    pg_server: PgServer, pgbouncer: StartPgBouncer, pg_db: PostgresConnection
) -> None:
    """A pooled server session left holding the lock (a sync through transaction mode before
    this retl, or session mode with server_reset_query emptied) is handed to the next sync:
    pg_try_advisory_lock succeeded again on it, and two syncs ran. (A UTC server, as above:
    the lock is what refuses.)"""
    utc_database(pg_server, pg_db)
    bouncer = pgbouncer("transaction", default_pool_size=1, ignore_startup_parameters="options")
    conn = through(bouncer, pg_db)
    engine = PostgresEngine(conn)
    try:
        store = WarehouseStateStore(engine, "retl_state")
        with psycopg.connect(
            host=conn.host, port=conn.port, dbname=conn.dbname, user=conn.user, autocommit=True
        ) as old:  # an older sync's lock, left on the pool's one server session
            old.execute("SELECT pg_advisory_lock(%s)", [KEY])
        (held,) = advisory_locks(pg_server, pg_db)
        with pytest.raises(StateError, match="shared with other clients"), store.lock():
            pass
        assert advisory_locks(pg_server, pg_db) == [held]  # not taken a second time
    finally:
        engine.close()


def test_dropped_options_are_set_on_a_server_whose_own_settings_are_retl_s(
    pg_server: PgServer, pgbouncer: StartPgBouncer, pg_db: PostgresConnection
) -> None:
    """A server whose TimeZone is already UTC (a managed PostgreSQL's default), DateStyle ISO
    ...: the settings it reports at startup are the same whether PgBouncer dropped the
    options or not. The rest of them were lost: the project's search_path (its models read
    another schema's tables of the same name), a stream's idle_in_transaction_session_timeout
    (a server's ended the stream mid-send)."""
    with pg_server.admin(pg_db.dbname) as con:
        con.execute(f"ALTER DATABASE \"{pg_db.dbname}\" SET timezone = 'UTC'")
        con.execute(
            f'ALTER DATABASE "{pg_db.dbname}" SET idle_in_transaction_session_timeout = 60000'
        )
        con.execute("CREATE SCHEMA shop")
        con.execute("CREATE TABLE shop.orders (id int)")
    bouncer = pgbouncer("session", ignore_startup_parameters="options")
    engine = PostgresEngine(bouncer.connection(pg_db.dbname, search_path="shop"))
    asked = (
        "SELECT current_setting('search_path') AS a, current_setting('TimeZone') AS b, "
        "current_setting('idle_in_transaction_session_timeout') AS c, "
        "to_regclass('orders') IS NOT NULL AS d"
    )
    try:
        assert engine.rows(asked)[0][:2] == ("shop", "UTC")
        assert engine.rows(asked)[0][3] is True
        reader = engine.stream(asked)
        assert tuple(reader.read_all().to_pylist()[0].values()) == ("shop", "UTC", "0", True)
    finally:
        engine.close()


@pytest.mark.parametrize(
    ("settings", "zone"),
    [
        ({}, "America/New_York"),
        ({"ignore_startup_parameters": "options"}, "America/New_York"),
        ({"ignore_startup_parameters": "options"}, "UTC"),
    ],
    ids=["options-refused", "options-ignored", "options-ignored-utc"],
)
def test_transaction_mode_is_refused_before_retl_sets_anything_on_the_pool(
    pg_server: PgServer,
    pgbouncer: StartPgBouncer,
    pg_db: PostgresConnection,
    settings: dict[str, str],
    zone: str,
) -> None:
    """Without the state in the warehouse there is no lock to refuse transaction mode: retl
    SET its session settings on a pooled server session, and those PgBouncer does not
    track per client (extra_float_digits, search_path, idle_session_timeout) stayed there
    for the pool's next client (its floats printed with 3 more digits); retl's own next
    transaction could run on a session without them. The first connection refuses, before
    any setting reaches the pool, when the startup options show a pooler (refused, or
    dropped: a reported setting, TimeZone, that did not hold, or extra_float_digits, which no
    server reports, on a server whose TimeZone is UTC as retl's)."""
    with pg_server.admin(pg_db.dbname) as con:
        con.execute(f"ALTER DATABASE \"{pg_db.dbname}\" SET TimeZone = '{zone}'")
        con.execute(f'ALTER DATABASE "{pg_db.dbname}" SET extra_float_digits = 0')
    bouncer = pgbouncer("transaction", **settings)
    engine = PostgresEngine(through(bouncer, pg_db))
    try:
        with pytest.raises(EngineError, match="shared with other clients") as caught:
            engine.rows("SELECT 1")
        assert "pool_mode = session" in (caught.value.hint or "")
        assert caught.value.key == "warehouse"
    finally:
        engine.close()
    with bouncer.admin(pg_db.dbname) as other:  # the pool's next client
        assert other.execute("SHOW extra_float_digits").fetchone() == ("0",)
        assert other.execute("SHOW TimeZone").fetchone() == (zone,)


def test_a_project_with_local_state_is_refused_in_transaction_mode(
    tmp_path: Path, pgbouncer: StartPgBouncer, pg_db: PostgresConnection, server: object
) -> None:
    """``retl plan`` and ``retl sync`` of a warehouse project whose state is local: one
    message naming the fix, nothing sent."""
    seed(pg_db, 5)
    bouncer = pgbouncer("transaction")
    root = project(tmp_path / "p", through(bouncer, pg_db), server.base_url)  # type: ignore[attr-defined]
    config = root / "retl_project.yml"
    config.write_text(
        config.read_text().replace("state:\n  location: warehouse\n", ""), encoding="utf-8"
    )
    for command in ("plan", "sync"):
        done = invoke_in_process(command, "--project-dir", root)
        assert done.returncode == 1, done.stdout + done.stderr
        assert "shared with other clients (a pooler such as PgBouncer in transaction" in (
            done.stderr
        ), done.stderr
        assert "pool_mode = session" in done.stderr
        assert "Traceback" not in done.stderr
    assert server.events() == []  # type: ignore[attr-defined]
