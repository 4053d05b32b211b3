"""A sync refused by the PostgreSQL state's advisory lock names the sync that holds it (its
pid, host and start), as the local state's lock file does and docs/ci.md shows; it said
only "another retl sync is running on the state in schema retl_state"."""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import uuid

import pytest
from psycopg import sql

from reverse_etl.engine.postgres import PostgresConnection, PostgresEngine
from reverse_etl.errors import LockHeldError
from reverse_etl.state.warehouse import WarehouseStateStore
from tests.warehouse.conftest import PgServer

pytestmark = pytest.mark.postgres


def test_the_refusal_names_the_holder(pg_db: PostgresConnection) -> None:
    first, second = PostgresEngine(pg_db), PostgresEngine(pg_db)
    try:
        holder = WarehouseStateStore(first, "retl_state")
        other = WarehouseStateStore(second, "retl_state")
        with holder.lock():
            with pytest.raises(LockHeldError) as caught, other.lock():
                pass
            message = caught.value.message
            assert message.startswith(
                "another retl sync is running on the state in schema retl_state "
                f"(pid {os.getpid()} on {socket.gethostname()} since "
            )
            assert re.search(r" since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00\)$", message)
            # when it began, as data (a webhook's stuck_after reads it): the lock session's
            # start, which the message names to the second
            since = caught.value.held_since
            assert since is not None and since.utcoffset() == dt.timedelta(0)
            assert since.isoformat(timespec="seconds") in message
        with other.lock():  # released with the holder's session
            pass
    finally:
        first.close()
        second.close()


def test_a_holder_of_another_role_is_named_without_its_start(
    pg_server: PgServer, pg_db: PostgresConnection
) -> None:
    """pg_stat_activity shows a session's application_name to every role, its state_change
    to the same role only (or pg_read_all_stats): the holder is named, its start left out
    (so a webhook's stuck_after cannot judge it). A NULL start failed the whole look-up,
    which named no holder at all."""
    role = f"retl_role_{uuid.uuid4().hex[:8]}"
    with pg_server.admin(pg_db.dbname) as con:
        con.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    first = PostgresEngine(pg_db)  # the test server's superuser
    second = PostgresEngine(pg_server.connection(pg_db.dbname, user=role))
    try:
        holder = WarehouseStateStore(first, "retl_state")
        with pg_server.admin(pg_db.dbname) as con:  # the other role may read the state
            con.execute(
                sql.SQL("GRANT USAGE ON SCHEMA retl_state TO {}").format(sql.Identifier(role))
            )
            con.execute(
                sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA retl_state TO {}").format(
                    sql.Identifier(role)
                )
            )
        other = WarehouseStateStore(second, "retl_state", create=False)
        with holder.lock(), pytest.raises(LockHeldError) as caught, other.lock():
            pass
        message = caught.value.message
        assert message.endswith(f"(pid {os.getpid()} on {socket.gethostname()})"), message
        assert caught.value.held_since is None
    finally:
        first.close()
        second.close()
        with pg_server.admin(pg_db.dbname) as con:
            con.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        with pg_server.admin() as con:
            con.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_the_holder_s_start_is_when_it_took_the_lock_not_when_its_session_began(
    pg_db: PostgresConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pooler (PgBouncer in session mode) hands the sync a server session opened earlier:
    its backend_start is older than the sync, and a webhook's stuck_after would call a sync
    that had just begun stuck. The start said is when the lock was taken."""
    first, second = PostgresEngine(pg_db), PostgresEngine(pg_db)
    pooled = first.connect_new()  # a session the pool opened before this sync
    try:
        (before,) = second.rows("SELECT clock_timestamp()")[0]
        monkeypatch.setattr(first, "connect_new", lambda: pooled)
        holder = WarehouseStateStore(first, "retl_state")
        other = WarehouseStateStore(second, "retl_state")
        with holder.lock(), pytest.raises(LockHeldError) as caught, other.lock():
            pass
        since = caught.value.held_since
        assert since is not None and since >= before
    finally:
        first.close()
        second.close()
