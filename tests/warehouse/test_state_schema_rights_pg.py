"""The state's schema and the role retl connects as (state: {location: warehouse}): a role that
owns a schema made for it needs no CREATE on the database, and a role that may create neither
is told what to grant, by the key it is about."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from psycopg import sql

from reverse_etl.engine.postgres import PostgresConnection, PostgresEngine
from reverse_etl.errors import StateError
from reverse_etl.state.warehouse import WarehouseStateStore
from tests.warehouse.conftest import PgServer


@pytest.fixture
def role(pg_server: PgServer, pg_db: PostgresConnection) -> Iterator[str]:
    """A login role (trusted, no password) without CREATE on the test's database."""
    name = f"retl_role_{uuid.uuid4().hex[:8]}"
    with pg_server.admin(pg_db.dbname) as con:
        con.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
        con.execute(
            sql.SQL("REVOKE CREATE ON DATABASE {} FROM PUBLIC").format(sql.Identifier(pg_db.dbname))
        )
    yield name
    with pg_server.admin(pg_db.dbname) as con:
        con.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
    with pg_server.admin() as con:
        con.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def _engine(pg_server: PgServer, pg_db: PostgresConnection, role: str) -> PostgresEngine:
    return PostgresEngine(pg_server.connection(pg_db.dbname, user=role))


def test_a_role_owning_a_schema_made_for_it_needs_no_create_on_the_database(
    pg_server: PgServer, pg_db: PostgresConnection, role: str
) -> None:
    with pg_server.admin(pg_db.dbname) as con:
        con.execute(
            sql.SQL("CREATE SCHEMA retl_state AUTHORIZATION {}").format(sql.Identifier(role))
        )
    engine = _engine(pg_server, pg_db, role)
    try:
        WarehouseStateStore(engine, "retl_state").close()  # was: permission denied for database
        assert engine.rows("SELECT count(*) FROM retl_state.meta") == [(1,)]
    finally:
        engine.close()


def test_a_role_that_may_not_create_the_schema_is_told_what_to_grant(
    pg_server: PgServer, pg_db: PostgresConnection, role: str
) -> None:
    engine = _engine(pg_server, pg_db, role)
    try:
        with pytest.raises(StateError) as info:
            WarehouseStateStore(engine, "retl_state")
    finally:
        engine.close()
    err = info.value
    assert err.key == "state.schema"
    assert f"user {role} may not create schema retl_state in database {pg_db.dbname}" in (
        err.message
    )
    assert err.hint is not None
    assert f'CREATE SCHEMA "retl_state" AUTHORIZATION "{role}"' in err.hint


def test_a_role_that_may_not_create_tables_in_the_schema_is_told_what_to_grant(
    pg_server: PgServer, pg_db: PostgresConnection, role: str
) -> None:
    with pg_server.admin(pg_db.dbname) as con:
        con.execute("CREATE SCHEMA retl_state")
        con.execute(sql.SQL("GRANT USAGE ON SCHEMA retl_state TO {}").format(sql.Identifier(role)))
    engine = _engine(pg_server, pg_db, role)
    try:
        with pytest.raises(StateError) as info:
            WarehouseStateStore(engine, "retl_state")
    finally:
        engine.close()
    err = info.value
    assert err.key == "state.schema"
    assert f"user {role} may not create tables in schema retl_state" in err.message
    assert err.hint is not None
    assert f'GRANT USAGE, CREATE ON SCHEMA "retl_state" TO "{role}"' in err.hint
