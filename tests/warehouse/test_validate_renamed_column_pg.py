"""``retl validate`` against a PostgreSQL warehouse whose table lost a declared column (renamed
there: ``ALTER TABLE ... RENAME COLUMN email TO email_address``): the error says the server's
table lacks the declared column, names the server's columns and the nearest one, and the fix
(rename it back, or change the declaration and the model), and the model's column listing
says the error on the column that reads it. It said ``column 'email' is not in table
shop.orders (... or add the column to the table's declared columns)`` where it is declared,
and listed ``email ... UNKNOWN ok``."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from reverse_etl.engine.postgres import PostgresConnection
from tests.conftest import invoke_in_process
from tests.warehouse.test_warehouse_sync import execute, project, seed

pytestmark = pytest.mark.postgres

MODEL = """\
select 'Purchase' as event,
       'order-' || order_id::varchar as event_id,
       ordered_at as event_time,
       email,
       total as value,
       'USD' as currency
from {{ source('shop', 'orders') }}
"""


def _validate(root: Path) -> dict[str, object]:
    result = invoke_in_process("validate", "--project-dir", root, "--format", "json")
    document = orjson.loads(result.stdout)
    assert isinstance(document, dict)
    return document


def test_a_declared_column_the_server_renamed_is_said_as_such(
    pg_db: PostgresConnection, tmp_path: Path
) -> None:
    seed(pg_db, 3)
    root = project(tmp_path, pg_db, "http://127.0.0.1:9")  # nothing is sent
    yml = root / "retl_project.yml"
    # declared with no type: known to exist, type unknown
    text = yml.read_text(encoding="utf-8").replace(
        "{name: email, data_type: varchar}", "{name: email}"
    )
    yml.write_text(text, encoding="utf-8")
    (root / "models" / "purchases.sql").write_text(MODEL, encoding="utf-8")
    (dest,) = _validate(root)["destinations"]  # type: ignore[misc]
    assert [d["rule"] for d in dest["diagnostics"] if d["severity"] == "error"] == []
    execute(pg_db, "ALTER TABLE shop.orders RENAME COLUMN email TO email_address")
    (dest,) = _validate(root)["destinations"]  # type: ignore[misc]
    (error,) = [d for d in dest["diagnostics"] if d["severity"] == "error"]
    line = next(i for i, x in enumerate(text.splitlines(), 1) if "{name: email}" in x)
    assert error["rule"] == "unknown-column"
    assert error["message"] == (
        f"column 'email' is declared for table shop.orders (retl_project.yml:{line} "
        "sources[0].tables[0].columns[1].name), but the warehouse's table has no such column: "
        "it has order_id, email_address, ordered_at, total"
    )
    assert "declared columns" not in (error["hint"] or "")
    assert "'email_address'" in error["hint"] and "rename it back" in error["hint"]
    assert (error["file"], error["line"], error["column"]) == ("models/purchases.sql", 4, "email")
    statuses = {c["column"]: c["status"] for c in dest["columns"]}
    assert statuses["email"] == "error"  # the listing says what the diagnostics say
    assert statuses["event_id"] == "ok"
    text_out = invoke_in_process("validate", "--project-dir", root)
    (row,) = [x for x in text_out.stdout.splitlines() if x.startswith("email ")]
    assert row.split()[-1] == "ERROR", row


def test_a_column_neither_declared_nor_on_the_server_keeps_its_message(
    pg_db: PostgresConnection, tmp_path: Path
) -> None:
    """A typo in the model (a column nobody has): the spelling fix, as before."""
    seed(pg_db, 3)
    root = project(tmp_path, pg_db, "http://127.0.0.1:9")
    model = MODEL.replace("       email,", "       emial as email,")
    (root / "models" / "purchases.sql").write_text(model, encoding="utf-8")
    (dest,) = _validate(root)["destinations"]  # type: ignore[misc]
    (error,) = [d for d in dest["diagnostics"] if d["severity"] == "error"]
    assert error["message"] == "column 'emial' is not in table shop.orders"
    assert error["hint"] == "did you mean 'email'?"
    assert {c["column"]: c["status"] for c in dest["columns"]}["email"] == "error"
