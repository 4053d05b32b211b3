"""Errors while a model's rows are read from a PostgreSQL warehouse: a source table that is
not there is blamed on the model (and line) whose source() reads it, with the fix; a
connection lost on the way says to check the warehouse, not to compile the model."""

from __future__ import annotations

from pathlib import Path

import pytest

from reverse_etl.engine.postgres import PostgresConnection
from reverse_etl.errors import EngineError
from reverse_etl.project import Project

STAGING = """\
select
    order_id,
    email,
    ordered_at
from {{ source('shop', 'orders') }}
where order_id > 0
"""
EVENTS = """\
select 'Purchase' as event,
       'order-' || order_id::varchar as event_id,
       ordered_at as event_time,
       email
from {{ ref('stg_orders') }}
"""


def _project(root: Path, db: PostgresConnection) -> Path:
    (root / "models" / "staging").mkdir(parents=True)
    (root / "retl_project.yml").write_text(
        f"""
warehouse:
  type: postgres
  host: {db.host}
  port: {db.port}
  dbname: {db.dbname}
  user: {db.user}
sources:
  - name: shop
    tables:
      - name: orders
""",
        encoding="utf-8",
    )
    (root / "models" / "staging" / "stg_orders.sql").write_text(STAGING, encoding="utf-8")
    (root / "models" / "purchase_events.sql").write_text(EVENTS, encoding="utf-8")
    return root


def test_a_missing_source_table_names_the_model_that_reads_it(
    tmp_path: Path, pg_db: PostgresConnection
) -> None:
    root = _project(tmp_path, pg_db)
    with Project.load(root) as p, pytest.raises(EngineError) as info:
        p.preview("purchase_events")
    err = info.value
    assert Path(str(err.file)).name == "stg_orders.sql"
    assert err.line == 5
    assert "LINE " not in err.message  # a line of the transpiled statement
    assert "retl compile" not in (err.hint or "")
    assert err.hint is not None and "exists" in err.hint


def test_a_connection_lost_while_the_rows_are_read_says_to_check_the_warehouse(
    tmp_path: Path, pg_db: PostgresConnection
) -> None:
    root = _project(tmp_path, pg_db)
    # The server ends the session that reads the rows (as a restart or an admin would).
    (root / "models" / "purchase_events.sql").write_text(
        "select 'Purchase' as event, 'x' as event_id, now() as event_time, 'e' as email\n"
        "from (select pg_terminate_backend(pg_backend_pid()) as gone) as t\n",
        encoding="utf-8",
    )
    with Project.load(root) as p, pytest.raises(EngineError) as info:
        p.preview("purchase_events")
    err = info.value
    assert "retl compile" not in (err.hint or "")
    assert err.hint is not None and "warehouse is up" in err.hint
