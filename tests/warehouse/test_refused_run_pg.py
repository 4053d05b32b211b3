"""A run the platform refused entirely leaves the last sync recorded in a PostgreSQL state
as it was (its time and mapping), as in the local state (tests/test_refused_run.py)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from reverse_etl.engine.postgres import PostgresConnection
from reverse_etl.project import Project
from reverse_etl.sandbox import DEMO_PIXEL_CODE, SandboxServer

TOKEN = "pg-refused-token-51d3"


@pytest.fixture
def sandbox_token() -> str:
    """The token the ``server`` fixture (tests/conftest.py) accepts here."""
    return TOKEN


def _project(root: Path, db: PostgresConnection, base_url: str, columns: str) -> Path:
    (root / "models").mkdir(parents=True, exist_ok=True)
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
""",
        encoding="utf-8",
    )
    (root / "models" / "purchases.sql").write_text(
        "select 'Purchase' as event, 'order-' || i::varchar as event_id, "
        f"1767000000 - i as event_time{columns} from generate_series(1, 4) as t(i)",
        encoding="utf-8",
    )
    (root / "destinations.yml").write_text(
        f"""
destinations:
  tiktok:
    type: tiktok_events
    model: purchases
    access_token: "{{{{ env_var('PG_TEST_TOKEN') }}}}"
    event_source_id: {DEMO_PIXEL_CODE}
    api_base_url: {base_url}
""",
        encoding="utf-8",
    )
    return root


def _recorded(db: PostgresConnection) -> tuple[object, ...] | None:
    with psycopg.connect(host=db.host, port=db.port, dbname=db.dbname, user=db.user) as con:
        return con.execute(
            "SELECT last_sync_at, mapping_fingerprint, mapping, last_run_id "
            "FROM retl_state.destinations"
        ).fetchone()


def _sync(root: Path, monkeypatch: pytest.MonkeyPatch, token: str) -> int:
    monkeypatch.setenv("PG_TEST_TOKEN", token)
    with Project.load(root) as p:
        report = p.sync()
    (result,) = report.results
    assert report.ok == (token == TOKEN)
    return result.sent


def test_a_refused_run_leaves_the_last_sync_in_a_postgresql_state(
    pg_db: PostgresConnection,
    server: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = _project(tmp_path, pg_db, server.base_url, "")
    assert _sync(root, monkeypatch, TOKEN + "-wrong") == 0
    assert _recorded(pg_db) is None  # a first sync refused: no last sync
    assert _sync(root, monkeypatch, TOKEN) == 4
    synced = _recorded(pg_db)
    assert synced is not None
    # another mapping, refused entirely: the last sync and its mapping stay
    _project(tmp_path, pg_db, server.base_url, ", 'USD' as currency, 1.5 as value")
    assert _sync(root, monkeypatch, TOKEN + "-wrong") == 0
    assert _recorded(pg_db) == synced
    with Project.load(root) as p:
        (plan,) = p.plan()
    assert plan.mapping_change is not None
    assert _sync(root, monkeypatch, TOKEN) == 4
    last = _recorded(pg_db)
    assert last is not None and last[1] == plan.mapping_fingerprint
