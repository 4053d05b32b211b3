"""A model written in another dialect: ``{{ config(dialect='spark') }}`` (issue 17).

On an engine that does not run that dialect (the embedded DuckDB here) the model is translated
by sqlglot; on Spark it runs as written (tests/spark/test_spark_sync.py). A model and the
models it refs share one dialect."""

from __future__ import annotations

import datetime as dt

import pytest

from reverse_etl import EngineError, ModelError, Project
from tests.validate.test_validate_schemas import DECLARED_ONLY, DESTINATIONS

# Spark SQL that DuckDB does not take as written: backquoted names, date_add(date, days),
# date_format with Java's pattern letters.
SPARK_MODEL = """{{ config(dialect='spark') }}
select `order id` as order_id,
       date_add(day, 1) as next_day,
       date_format(day, 'yyyy/MM/dd') as label
from {{ ref('base') }}
"""
SPARK_BASE = """{{ config(dialect='spark') }}
select 7 as `order id`, date'2026-02-28' as day
"""


def test_a_spark_model_is_translated_for_duckdb(tmp_path, make_project) -> None:
    root = make_project(tmp_path, {"models/base.sql": SPARK_BASE, "models/orders.sql": SPARK_MODEL})
    with Project.load(root) as project:
        compiled = {c.name: c for c in project.compile()}
        assert compiled["orders"].dialect == "spark"
        assert "`order id`" in compiled["orders"].sql  # `retl compile` shows it as written
        preview = project.preview("orders")
    assert preview.columns == ["order_id", "next_day", "label"]
    # sqlglot writes date_add as date + INTERVAL, a TIMESTAMP in DuckDB (a DATE in Spark)
    assert preview.rows == [[7, dt.datetime(2026, 3, 1), "2026/02/28"]]


def test_the_default_dialect_is_the_projects(tmp_path, make_project) -> None:
    root = make_project(tmp_path, {"models/a.sql": "select 1 as a"})
    with Project.load(root) as project:
        (compiled,) = project.compile()
    assert compiled.dialect == "duckdb"


def test_an_unknown_dialect_is_a_located_error(tmp_path, make_project) -> None:
    root = make_project(tmp_path, {"models/a.sql": "{{ config(dialect='sprak') }}\nselect 1 as a"})
    with pytest.raises(ModelError) as info:
        Project.load(root).compile()
    (problem,) = info.value.problems
    assert problem.file is not None and problem.file.name == "a.sql"
    assert problem.line == 1
    assert "sprak" in problem.message
    assert "did you mean 'spark'" in (problem.hint or "")


def test_a_model_and_its_refs_share_a_dialect(tmp_path, make_project) -> None:
    root = make_project(
        tmp_path,
        {"models/base.sql": "select 7 as id", "models/orders.sql": SPARK_MODEL},
    )
    with pytest.raises(ModelError) as info:
        Project.load(root).compile()
    (problem,) = info.value.problems
    assert problem.file is not None and problem.file.name == "orders.sql"
    assert "written in spark SQL but refs 'base', written in duckdb SQL" in problem.message
    assert "config(dialect='spark')" in (problem.hint or "")
    assert "base.sql" in (problem.hint or "")


def test_a_model_that_cannot_be_translated_names_the_model(tmp_path, make_project) -> None:
    root = make_project(
        tmp_path, {"models/odd.sql": "{{ config(dialect='spark') }}\nselect from where"}
    )
    with Project.load(root) as project, pytest.raises(EngineError) as info:
        project.preview("odd")
    assert info.value.file is not None and info.value.file.name == "odd.sql"
    assert (
        "cannot translate model 'odd' from spark SQL to duckdb SQL: "
        "Expected table name but got 'where'" in info.value.message
    )
    assert "Token" not in str(info.value)  # sqlglot's internals are not the user's words


@pytest.mark.parametrize(("column", "ok"), [("`contact_id`", True), ("`contact_idd`", False)])
def test_validate_reads_a_model_in_its_own_dialect(
    tmp_path, make_project, column: str, ok: bool
) -> None:
    from reverse_etl.validation import validate_project

    make_project(
        tmp_path,
        {
            "retl_project.yml": DECLARED_ONLY,
            "destinations.yml": DESTINATIONS,
            "models/events.sql": f"""{{{{ config(dialect='spark') }}}}
                select 'Lead' as event, {column} as event_id, signed_up_at as event_time,
                       lower(email) as email, 'https://shop.example/signup' as page_url
                from {{{{ source('crm', 'contacts') }}}}
            """,
        },
    )
    with Project.load(tmp_path) as project:
        (result,) = validate_project(project, (), offline=True)
    assert result.ok() is ok, [d.problem.render() for d in result.diagnostics]
    if not ok:
        assert any("contact_idd" in d.problem.message for d in result.diagnostics)
