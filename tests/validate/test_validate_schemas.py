"""Where source schemas come from: warehouse catalog, declarations, data files, dbt. And the
promise that validation runs no query but metadata queries."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pytest

from reverse_etl.columns import TableRef
from reverse_etl.engine.duckdb import DuckDBEngine
from reverse_etl.errors import ConfigError
from reverse_etl.project import Project
from reverse_etl.schemas import TableSchema, schemas_from_dbt
from reverse_etl.validation import validate_project
from tests.conftest import MakeProject

CASES = Path(__file__).parent / "cases"
DBT_TARGET = Path(__file__).parent / "fixtures" / "dbt_target"

DESTINATIONS = """
destinations:
  tiktok_web:
    type: tiktok_events
    model: events
    auth_method: access_token
    access_token: "{{ env_var('TIKTOK_ACCESS_TOKEN') }}"
    event_source_id: CPIXEL
"""


def test_a_declared_only_source_needs_no_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("validate opened the engine")

    monkeypatch.setattr(DuckDBEngine, "__init__", refuse)
    with Project.load(CASES / "declared_only_no_query") as project:
        (result,) = validate_project(project, ())
    assert result.ok(strict=True)
    assert [(t.table, t.origin) for t in result.tables] == [
        ("prod_warehouse.analytics.form_submissions_v2", "declared")
    ]


def test_a_file_source_is_described_never_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    original = DuckDBEngine.rows

    def spy(self: DuckDBEngine, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        seen.append(sql)
        return original(self, sql, params)

    for name in ("stream", "schema", "describe", "scalar"):  # whatever could run a query
        if hasattr(DuckDBEngine, name):
            monkeypatch.setattr(DuckDBEngine, name, lambda *a, **k: pytest.fail("not metadata"))
    monkeypatch.setattr(DuckDBEngine, "rows", spy)
    with Project.load(CASES / "file_source_sniffed") as project:
        (result,) = validate_project(project, ())
    assert len(seen) == 1
    assert seen[0].startswith("DESCRIBE SELECT * FROM read_csv(")
    assert "Purchase" not in seen[0]
    types = {c.column: c.type for c in result.columns}
    assert types["external_id"] == "VARCHAR"  # declared varchar beats the sniffed BIGINT


def _warehouse(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA crm")
    con.execute(
        "CREATE TABLE crm.contacts (contact_id BIGINT, email VARCHAR, signed_up_at TIMESTAMP,"
        " Tier INTEGER)"
    )
    con.execute("CREATE TABLE orders (order_id VARCHAR, total DECIMAL(12, 2))")
    con.close()


def test_the_warehouse_catalog_comes_first(tmp_path: Path, make_project: MakeProject) -> None:
    _warehouse(tmp_path / "wh.duckdb")
    make_project(
        tmp_path,
        {
            "retl_project.yml": """
                warehouse: {type: duckdb, path: wh.duckdb}
                sources:
                  - name: crm
                    tables:
                      - name: contacts
                        columns:
                          - {name: contact_id, data_type: varchar}
            """,
            "destinations.yml": DESTINATIONS,
            "models/events.sql": """
                select 'Lead' as event, c.contact_id as event_id, c.signed_up_at as event_time,
                       c.email, o.total as value, *  exclude (contact_id, email, signed_up_at)
                from {{ source('crm', 'contacts') }} as c
                join orders as o on o.order_id = cast(c.contact_id as varchar)
            """,
        },
    )
    with Project.load(tmp_path) as project:
        (result,) = validate_project(project, ())
    assert [(t.table, t.origin) for t in result.tables] == [
        ("crm.contacts", "warehouse"),
        ("orders", "warehouse"),
    ]
    types = {c.column: c.type for c in result.columns}
    assert types["event_id"] == "BIGINT"  # the warehouse's type, not the declaration's
    assert types["value"] == "DECIMAL(12, 2)"
    # The star keeps the warehouse's spelling (Tier), as DuckDB's result would, and points at
    # the line of the '*' it was expanded from.
    unknown = [
        (d.column, d.problem.line) for d in result.diagnostics if d.rule == "unknown-parameter"
    ]
    assert unknown == [("Tier", 2), ("total", 2)]


def test_a_missing_warehouse_falls_back_to_declarations(
    tmp_path: Path, make_project: MakeProject
) -> None:
    make_project(
        tmp_path,
        {
            "retl_project.yml": """
                warehouse: {type: duckdb, path: missing.duckdb}
                sources:
                  - name: crm
                    tables:
                      - name: contacts
                        columns:
                          - {name: contact_id, data_type: varchar}
                          - {name: email, data_type: varchar}
                          - {name: signed_up_at, data_type: timestamp}
            """,
            "destinations.yml": DESTINATIONS,
            "models/events.sql": """
                select 'Lead' as event, contact_id as event_id, signed_up_at as event_time, email,
                       'https://shop.example/signup' as page_url
                from {{ source('crm', 'contacts') }}
            """,
        },
    )
    with Project.load(tmp_path) as project:
        (result,) = validate_project(project, ())
    assert result.ok()
    (note,) = result.diagnostics
    assert (note.rule, note.severity, note.problem.key) == (
        "schemas-unavailable",
        "note",
        "warehouse.path",
    )
    assert "missing.duckdb" in note.problem.message


def test_dbt_catalog_types_and_manifest_declarations() -> None:
    tables = schemas_from_dbt(DBT_TARGET)
    customers = TableRef.of("dim_customers", "analytics", "dev")
    assert tables[customers] == TableSchema(
        (
            ("customer_id", "VARCHAR"),  # catalog.json's real type beats the manifest's
            ("email", "VARCHAR"),
            ("first_order_at", "TIMESTAMP WITH TIME ZONE"),
            ("lifetime_value", "DECIMAL(18,2)"),
        ),
        "dbt",
    )
    assert tables[TableRef.of("orders", "raw", "dev")].columns[0] == ("order_id", "BIGINT")
    assert tables[TableRef.of("fct_orders", "analytics", "dev")].columns == (
        ("order_id", "bigint"),
        ("ordered_at", "timestamp"),
        ("note", "UNKNOWN"),
    )


def test_dbt_without_artifacts_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="dbt docs generate"):
        schemas_from_dbt(tmp_path)


def test_dbt_tables_are_the_last_layer(tmp_path: Path, make_project: MakeProject) -> None:
    make_project(
        tmp_path,
        {
            "destinations.yml": DESTINATIONS,
            "models/events.sql": """
                select 'Purchase' as event, customer_id as event_id,
                       first_order_at as event_time, email, lifetime_value as value,
                       'https://shop.example/' as page_url
                from analytics.dim_customers
            """,
        },
    )
    with Project.load(tmp_path) as project:
        (result,) = validate_project(project, (), dbt_target=DBT_TARGET)
    assert result.ok(strict=True), result.problems
    assert [(t.table, t.origin) for t in result.tables] == [("analytics.dim_customers", "dbt")]
    assert {c.column: c.type for c in result.columns}["event_time"] == "TIMESTAMPTZ"


DECLARED_ONLY = """
sources:
  - name: crm
    tables:
      - name: contacts
        columns:
          - {name: contact_id, data_type: varchar}
          - {name: email, data_type: varchar}
          - {name: signed_up_at, data_type: timestamp}
"""
CONTACT_EVENTS = """
select 'Lead' as event, contact_id as event_id, signed_up_at as event_time, email,
       'https://shop.example/signup' as page_url
from {{ source('crm', 'contacts') }}
"""


def test_missing_dbt_artifacts_are_a_note(tmp_path: Path, make_project: MakeProject) -> None:
    make_project(
        tmp_path,
        {
            "retl_project.yml": DECLARED_ONLY,
            "destinations.yml": DESTINATIONS,
            "models/events.sql": CONTACT_EVENTS,
        },
    )
    with Project.load(tmp_path) as project:
        (result,) = validate_project(project, (), dbt_target=tmp_path / "dbt" / "target")
    assert result.ok()
    assert [(d.rule, d.problem.key) for d in result.diagnostics] == [("schemas-unavailable", "dbt")]


def test_an_unreachable_postgres_warehouse_falls_back_to_declarations(
    tmp_path: Path, make_project: MakeProject
) -> None:
    make_project(
        tmp_path,
        {
            # port 1 on loopback: refused at once, as a warehouse behind a VPN is from CI
            "retl_project.yml": "warehouse: {type: postgres, dbname: shop, host: 127.0.0.1, "
            "port: 1}\n" + DECLARED_ONLY,
            "destinations.yml": DESTINATIONS,
            "models/events.sql": CONTACT_EVENTS,
        },
    )
    with Project.load(tmp_path) as project:
        (result,) = validate_project(project, ())
    assert result.ok()
    (diag,) = result.diagnostics
    # located as sync's connection error: the setting to check, on its line
    where = (diag.rule, diag.problem.line, diag.problem.key)
    assert where == ("schemas-unavailable", 1, "warehouse.port")
    assert "127.0.0.1:1" in diag.problem.message
