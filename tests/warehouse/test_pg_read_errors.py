"""Errors while a model's rows are read from a PostgreSQL warehouse: a source table that is
not there is blamed on the model (and line) whose source() reads it, with the fix; a
connection lost on the way says to check the warehouse, not to compile the model."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from reverse_etl.engine.postgres import PostgresConnection, PostgresEngine
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
    tmp_path: Path, pg_db: PostgresConnection, pg_engine: PostgresEngine
) -> None:
    root = _project(tmp_path, pg_db)
    # The server ends the session that reads the rows (as a restart or an admin would),
    # through a function of the warehouse: a model may not call pg_terminate_backend()
    # itself (engine/pg_calls.py).
    pg_engine.execute(
        "CREATE FUNCTION session_gone() RETURNS boolean LANGUAGE sql AS "
        "'SELECT pg_terminate_backend(pg_backend_pid())'"
    )
    (root / "models" / "purchase_events.sql").write_text(
        "select 'Purchase' as event, 'x' as event_id, now() as event_time, 'e' as email\n"
        "from (select session_gone() as gone) as t\n",
        encoding="utf-8",
    )
    with Project.load(root) as p, pytest.raises(EngineError) as info:
        p.preview("purchase_events")
    err = info.value
    assert "retl compile" not in (err.hint or "")
    assert err.hint is not None and "warehouse is up" in err.hint
    # the model's file at its first line (no line of the statement is known), as an editor
    # and CI annotations want a line
    assert (Path(str(err.file)).name, err.line) == ("purchase_events.sql", 1)
    (text,) = err.render_lines()
    assert "purchase_events.sql:1: model 'purchase_events'" in text


def _refused_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens there once closed


@pytest.mark.parametrize("in_target", [False, True])
def test_a_connection_error_names_the_setting_in_retl_project_yml(
    tmp_path: Path, in_target: bool
) -> None:
    """As a configuration error does: the file, the line and the key to check."""
    port = _refused_port()
    settings = f"type: postgres\nhost: 127.0.0.1\nport: {port}\ndbname: shop\nuser: retl\n"
    if in_target:
        indent = "      "
        head = "targets:\n  prod:\n    warehouse:\n"
        key = "targets.prod.warehouse.port"
    else:
        indent, head, key = "  ", "warehouse:\n", "warehouse.port"
    body = head + "".join(indent + line + "\n" for line in settings.splitlines())
    (tmp_path / "models").mkdir()
    (tmp_path / "retl_project.yml").write_text(body, encoding="utf-8")
    (tmp_path / "models" / "m.sql").write_text("select 1 as event_id\n", encoding="utf-8")
    with Project.load(tmp_path) as p, pytest.raises(EngineError) as info:
        p.preview("m")
    err = info.value
    line = body.splitlines().index(f"{indent}port: {port}") + 1
    assert (Path(str(err.file)).name, err.line, err.key) == ("retl_project.yml", line, key)
    (text,) = err.render_lines()
    assert f"retl_project.yml:{line} {key}: cannot connect to PostgreSQL" in text
    assert "Connection refused" in text
