"""``retl validate`` against a PostgreSQL warehouse: a source table whose name has capitals
(``raw."Orders"``, as tables made by ORMs and BI tools often are) is read from the catalog
under its declared spelling. ``source()`` quotes the name as declared, so the server reads
``"raw"."Orders"``; validation looked up the lower-cased ``raw.orders`` instead, found no
table, and (with no columns declared) failed every model that read it: validate, plan and sync
alike, though the query itself runs."""

from __future__ import annotations

from pathlib import Path

from reverse_etl.engine.postgres import PostgresConnection
from reverse_etl.project import Project
from tests.warehouse.test_warehouse_sync import execute


def _project(root: Path, db: PostgresConnection) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "retl_project.yml").write_text(
        f"""
warehouse:
  type: postgres
  host: {db.host}
  port: {db.port}
  dbname: {db.dbname}
  user: {db.user}
sources:
  - name: raw
    schema: Raw
    tables:
      - name: Orders
""",
        encoding="utf-8",
    )
    (root / "models" / "purchases.sql").write_text(
        """
select 'Purchase' as event,
       o."OrderID" as event_id,
       o."placedAt" as event_time,
       o.email as email,
       o.amount as value,
       'USD' as currency
from {{ source('raw', 'Orders') }} o
""",
        encoding="utf-8",
    )
    (root / "destinations.yml").write_text(
        """
destinations:
  tiktok:
    type: tiktok_events
    model: purchases
    access_token: t
    event_data_source: WEB
    target_event_source: ID
    event_source_id: CPIXEL
""",
        encoding="utf-8",
    )
    return root


def test_a_mixed_case_source_table_is_typed_from_the_catalog(
    pg_db: PostgresConnection, tmp_path: Path
) -> None:
    execute(
        pg_db,
        'CREATE SCHEMA "Raw"; CREATE TABLE "Raw"."Orders" ("OrderID" bigint, '
        '"placedAt" timestamptz, email text, amount numeric(12,2))',
    )
    root = _project(tmp_path, pg_db)
    with Project.load(root) as p:
        (result,) = p.validate()
    errors = [d.problem.message for d in result.diagnostics if d.severity == "error"]
    assert errors == []
    assert not [d for d in result.diagnostics if d.rule == "source-table"]
    types = {c.column: c.type for c in result.columns}
    assert types["event_id"] == "BIGINT"
    assert types["event_time"] == "TIMESTAMPTZ"
    assert types["value"] == "DECIMAL(12, 2)"
