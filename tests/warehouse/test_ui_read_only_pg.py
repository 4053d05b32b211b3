"""`retl ui` on a state in PostgreSQL writes nothing: its pages read the history without
creating the state's schema or a table, and say "no runs yet" when there is none."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from reverse_etl.engine.postgres import PostgresConnection
from reverse_etl.project import Project
from reverse_etl.ui import UiApp
from tests.warehouse.test_warehouse_sync import project, seed

pytestmark = pytest.mark.postgres


def _relations(db: PostgresConnection) -> set[tuple[str, str]]:
    """Every schema and table of the database outside the system's, from the catalog."""
    with psycopg.connect(host=db.host, port=db.port, dbname=db.dbname, user=db.user) as con:
        schemata = con.execute(
            "SELECT schema_name, '' FROM information_schema.schemata "
            "WHERE schema_name NOT LIKE 'pg\\_%' AND schema_name <> 'information_schema'"
        ).fetchall()
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema NOT LIKE 'pg\\_%' AND table_schema <> 'information_schema'"
        ).fetchall()
    return {(str(s), str(t)) for s, t in [*schemata, *tables]}


def test_the_runs_pages_create_nothing_in_the_warehouse(
    pg_db: PostgresConnection, tmp_path: Path
) -> None:
    seed(pg_db, 10)
    root = project(tmp_path, pg_db, "http://127.0.0.1:9")  # nothing is sent
    before = _relations(pg_db)
    assert ("retl_state", "") not in before
    with Project.load(root) as p:
        app = UiApp(p, title="t")
        runs = app.handle("/", {})
        listed = app.handle("/api/runs", {})
        history = app.handle("/destinations/tiktok", {})
    assert runs.status == 200 and b"No runs yet" in runs.body
    assert listed.status == 200 and b'"runs":[]' in listed.body
    assert history.status == 200
    assert _relations(pg_db) == before  # no schema, no table, no scratch table
