"""A Spark project's DuckDB models read files with DuckDB's readers (a source's
``external_location`` compiles to ``read_parquet('data/orders.parquet')``): the Spark engine
reads them through views of its own readers. The check of a model's calls that ``plan``,
``sync``, ``show`` and ``validate`` make before the engine runs (engine/factory.call_check)
took their plain translation, ``parquet.`data/orders.parquet```, for a file read past the
file rule and refused every such project, telling it to use what it used. No session: the
check comes first."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from reverse_etl.engine.factory import call_check
from reverse_etl.errors import ModelError
from reverse_etl.models.dialects import refuse_engine_calls
from reverse_etl.project import Project
from reverse_etl.validation import validate_project
from tests.conftest import MakeProject

PROJECT = """\
name: files
warehouse: {type: spark, master: 'local[1]'}
sources:
  - name: shop
    meta: {external_location: "data/orders.parquet"}
    tables:
      - name: orders
        columns:
          - {name: order_id, data_type: bigint}
          - {name: email, data_type: varchar}
          - {name: ordered_at, data_type: timestamp}
"""
DESTINATIONS = """\
destinations:
  tt:
    type: tiktok_events
    model: events
    access_token: x
    event_source_id: CSANDBOXDEMOPIXEL001
"""
EVENTS = """\
select 'order-' || order_id::varchar as event_id, 'Purchase' as event,
       ordered_at as event_time, email
from {source}
"""
SPARK = SimpleNamespace(capabilities=SimpleNamespace(dialect="spark"), model_dialect="duckdb")


@pytest.mark.parametrize(
    "reader",
    [
        "read_parquet('data/orders.parquet')",
        "read_csv('data/orders.csv', header = true)",
        "read_json_auto('data/orders.json')",
    ],
)
def test_duckdbs_file_readers_pass_the_spark_call_check(reader: str) -> None:
    check = call_check("spark")
    assert check is not None
    assert check.refusal(f"select * from {reader} as o", "duckdb") is None
    # a file read as Spark's data source table is still refused, written so or translated
    found = check.refusal("select * from parquet.`data/orders.parquet`", "spark")
    assert found is not None and "may not read a file as parquet" in found.message


def test_a_source_with_an_external_location_is_planned_on_spark(
    tmp_path: Path, make_project: MakeProject
) -> None:
    make_project(
        tmp_path,
        {
            "retl_project.yml": PROJECT,
            "destinations.yml": DESTINATIONS,
            "models/events.sql": EVENTS.format(source="{{ source('shop', 'orders') }}"),
        },
    )
    with Project.load(tmp_path) as project:
        (compiled,) = [c for c in project.compile() if c.name == "events"]
        assert "read_parquet" in compiled.sql.lower()
        refuse_engine_calls(compiled, SPARK)  # type: ignore[arg-type]  (no session)


def test_a_models_read_parquet_validates_on_spark(
    tmp_path: Path, make_project: MakeProject
) -> None:
    make_project(
        tmp_path,
        {
            "retl_project.yml": PROJECT,
            "destinations.yml": DESTINATIONS,
            "models/events.sql": EVENTS.format(source="read_parquet('data/orders.parquet')"),
        },
    )
    with Project.load(tmp_path) as project:
        (result,) = validate_project(project, (), offline=True)
    assert [d.rule for d in result.diagnostics if d.rule == "warehouse-call"] == []


def test_a_spark_models_own_file_read_is_still_refused_at_its_line(
    tmp_path: Path, make_project: MakeProject
) -> None:
    make_project(
        tmp_path,
        {
            "retl_project.yml": PROJECT,
            "destinations.yml": DESTINATIONS,
            "models/events.sql": "{{ config(dialect='spark') }}\n"
            + EVENTS.format(source="text.`/etc/passwd`").replace("::varchar", ""),
        },
    )
    with Project.load(tmp_path) as project:
        (compiled,) = [c for c in project.compile() if c.name == "events"]
        with pytest.raises(ModelError) as caught:
            refuse_engine_calls(compiled, SPARK)  # type: ignore[arg-type]
    assert "may not read a file as text" in caught.value.problems[0].message


def test_a_duckdb_project_imports_no_call_check() -> None:
    """The workbench has no such check (call_check is None): validate, plan and sync of a
    DuckDB project load none of its modules (start-up, #18)."""
    import subprocess
    import sys

    code = (
        "import sys; from reverse_etl.engine.factory import call_check; "
        "assert call_check('duckdb') is None; "
        "print(sorted(m for m in sys.modules if m.endswith(('refused_calls', '_calls'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "table", ["cat.delta.t", "cat.json.events", "spark_catalog.parquet.orders", "`a.b`.csv.t"]
)
def test_a_schema_named_after_a_data_source_in_a_catalog_is_a_table(table: str) -> None:
    """Spark reads a file only from a two-part name (format.`path`): with a catalog part the
    data source's name is a schema's, and the table is read as any other."""
    check = call_check("spark")
    assert check is not None
    assert check.refusal(f"select * from {table}", "spark") is None


@pytest.mark.parametrize(
    "table",
    [
        "delta.`/p`",
        "parquet.`data/x.parquet`",
        "`com.databricks.spark.csv`.`/p`",
        "spark_catalog.delta.`/tmp/t`",  # Delta's catalog reads a path under a schema named delta
        "cat.parquet.`s3a://bucket/x`",
    ],
)
def test_a_file_read_as_a_data_sources_table_is_still_refused(table: str) -> None:
    check = call_check("spark")
    assert check is not None
    found = check.refusal(f"select * from {table}", "spark")
    assert found is not None and "may not read a file as" in found.message
