"""Models: Jinja rendering, the ref() DAG, CTE inlining, sources and their relations."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from reverse_etl import ConfigError, EngineError, ModelError, Project, RetlError


def model_error(root: Path, **load: object) -> ModelError:
    with pytest.raises(ModelError) as info:
        Project.load(root, **load).compile()
    return info.value


def only_problem(error: RetlError):
    (problem,) = error.problems
    return problem


# --- ref() and the DAG ------------------------------------------------------------------------

CHAIN = {
    # Alphabetical order is the reverse of dependency order, so sorting cannot pass for a DAG.
    "models/z_base.sql": "select 1 as id, 10 as amount union all select 2, 20\n",
    "models/staging/m_mid.sql": "select id, amount * 2 as amount from {{ ref('z_base') }}\n",
    "models/marts/a_top.sql": (
        "select id, amount + 1 as amount from {{ ref('m_mid') }} where id = 2\n"
    ),
}


def test_ref_chain_is_ordered_and_inlined_as_ctes(tmp_path, make_project) -> None:
    project = Project.load(make_project(tmp_path, CHAIN))
    assert project.model_names() == ["z_base", "m_mid", "a_top"]
    compiled = {c.name: c for c in project.compile()}
    top = compiled["a_top"]
    assert top.upstream == ("z_base", "m_mid")
    assert top.sql == (
        'WITH "z_base" AS (\nselect 1 as id, 10 as amount union all select 2, 20\n),\n'
        '"m_mid" AS (\nselect id, amount * 2 as amount from "z_base"\n)\n'
        'select id, amount + 1 as amount from "m_mid" where id = 2'
    )
    assert compiled["z_base"].sql == "select 1 as id, 10 as amount union all select 2, 20"
    assert compiled["z_base"].upstream == ()
    preview = project.preview("a_top")
    assert (preview.columns, preview.rows) == (["id", "amount"], [[2, 41]])


def test_model_with_its_own_with_clause_referencing_another_model(tmp_path, make_project):
    files = {
        **CHAIN,
        "models/report.sql": """
            -- a leading comment must not hide the WITH
            with big as (
                select * from {{ ref('m_mid') }} where amount > 20
            )
            select id, amount from big
            """,
    }
    project = Project.load(make_project(tmp_path, files))
    (compiled,) = project.compile(["report"])
    assert compiled.upstream == ("z_base", "m_mid")
    assert compiled.sql.startswith('WITH "z_base" AS (')
    assert "SELECT * FROM (\n-- a leading comment" in compiled.sql
    assert compiled.sql.endswith(') AS "report"')
    assert project.preview("report").rows == [[2, 40]]


def test_select_keeps_dag_order(tmp_path, make_project) -> None:
    project = Project.load(make_project(tmp_path, CHAIN))
    assert [c.name for c in project.compile(["a_top", "z_base"])] == ["z_base", "a_top"]


def test_unknown_ref_with_did_you_mean(tmp_path, make_project) -> None:
    root = make_project(
        tmp_path, {**CHAIN, "models/x.sql": "select 1 as a\nfrom {{ ref('m_midd') }}\n"}
    )
    problem = only_problem(model_error(root))
    assert problem.render() == (
        f"{root / 'models/x.sql'}:2: ref('m_midd'): no model named 'm_midd' (did you mean 'm_mid'?)"
    )


def test_ref_cycle_names_the_files(tmp_path, make_project) -> None:
    root = make_project(
        tmp_path,
        {
            "models/one.sql": "select * from {{ ref('two') }}",
            "models/sub/two.sql": "select * from {{ ref('three') }}",
            "models/three.sql": "select * from {{ ref('one') }}",
        },
    )
    error = model_error(root)
    text = str(error)
    assert "ref() cycle: one -> two -> three -> one" in text
    for name in ("models/one.sql", "models/sub/two.sql", "models/three.sql"):
        assert str(root / name) in text


def test_model_referring_to_itself(tmp_path, make_project) -> None:
    root = make_project(tmp_path, {"models/me.sql": "select * from {{ ref('me') }}"})
    problem = only_problem(model_error(root))
    assert (problem.message, problem.line) == ("model 'me' refers to itself", 1)


def test_duplicate_model_names_in_subfolders(tmp_path, make_project) -> None:
    root = make_project(
        tmp_path,
        {"models/a/events.sql": "select 1 as x", "models/b/events.sql": "select 2 as x"},
    )
    with pytest.raises(ModelError) as info:
        Project.load(root).compile()
    problem = only_problem(info.value)
    assert problem.message == (
        f"model name 'events' is used twice (also {root / 'models/a/events.sql'})"
    )
    assert problem.file == root / "models/b/events.sql"


def test_a_byte_order_mark_is_no_part_of_the_model(tmp_path, make_project) -> None:
    """A model saved with a BOM (Windows editors) compiles as without it; its SQL held the
    mark, and validate reported its first statement as a syntax error in retl's checker."""
    root = make_project(tmp_path, {"models/a.sql": "\ufeff-- storefront events\nselect 1 as x\n"})
    (compiled,) = Project.load(root).compile()
    assert "\ufeff" not in compiled.sql
    assert compiled.sql.startswith("-- storefront events")


def test_every_broken_model_is_reported_at_once(tmp_path, make_project) -> None:
    root = make_project(
        tmp_path,
        {
            "models/a.sql": "select {{ var('nope') }} as x",
            "models/b.sql": "select 1 as x\nfrom {{ ref('c') }}",
            "models/ok.sql": "select 1 as x",
        },
    )
    problems = model_error(root).problems
    assert [(Path(str(p.file)).name, p.line) for p in problems] == [("a.sql", 1), ("b.sql", 2)]


# --- var(), env_var(), Jinja errors -----------------------------------------------------------


def test_undefined_var_names_file_and_line(tmp_path, make_project) -> None:
    root = make_project(tmp_path, {"models/m.sql": "select 1 as a,\n\n{{ var('start') }} as b"})
    problem = only_problem(model_error(root))
    assert problem.render() == (
        f"{root / 'models/m.sql'}:3: var('start') is not defined (add it under 'vars:' in "
        "retl_project.yml, pass --vars, or give a default)"
    )


def test_undefined_var_suggests_a_close_name(tmp_path, make_project) -> None:
    root = make_project(
        tmp_path,
        {
            "retl_project.yml": "vars:\n  start_date: '2024-01-01'\n",
            "models/m.sql": "select '{{ var('start_dat') }}' as d",
        },
    )
    assert only_problem(model_error(root)).hint == "did you mean 'start_date'?"


def test_var_default_project_value_and_override(tmp_path, make_project) -> None:
    root = make_project(
        tmp_path,
        {
            "retl_project.yml": "vars:\n  min_value: 5\n",
            "models/m.sql": "select {{ var('min_value') }} as a, {{ var('other', 7) }} as b",
        },
    )
    (compiled,) = Project.load(root).compile()
    assert compiled.sql == "select 5 as a, 7 as b"
    (compiled,) = Project.load(root, vars={"min_value": 9, "other": 1}).compile()
    assert compiled.sql == "select 9 as a, 1 as b"


@pytest.mark.slow
def test_vars_override_from_the_command_line(tmp_path, make_project, run_cli) -> None:
    root = make_project(
        tmp_path,
        {
            "retl_project.yml": "vars:\n  min_value: 5\n",
            "models/m.sql": "select {{ var('min_value') }} as a",
        },
    )
    result = run_cli(
        "show", "m", "--project-dir", root, "--vars", "{min_value: 42}", "--format", "json"
    )
    assert result.returncode == 0, result.stderr
    assert '"a": 42' in result.stdout


def test_bad_vars_option_is_a_user_error(tmp_path, make_project, cli) -> None:
    root = make_project(tmp_path, {"models/m.sql": "select 1 as a"})
    result = cli("compile", "--project-dir", root, "--vars", "[1, 2]")
    assert result.returncode == 1
    assert (
        result.stderr
        == "error: --vars: --vars must be a YAML mapping (e.g. --vars '{name: value}')\n"
    )


def test_env_var_in_a_model(tmp_path, make_project, monkeypatch) -> None:
    root = make_project(
        tmp_path,
        {
            "models/m.sql": "select '{{ env_var('RETL_TEST_REGION') }}' as r, "
            "'{{ env_var('RETL_TEST_UNSET', 'dflt') }}' as d"
        },
    )
    monkeypatch.setenv("RETL_TEST_REGION", "eu")
    monkeypatch.delenv("RETL_TEST_UNSET", raising=False)
    (compiled,) = Project.load(root).compile()
    assert compiled.sql == "select 'eu' as r, 'dflt' as d"
    monkeypatch.delenv("RETL_TEST_REGION")
    problem = only_problem(model_error(root))
    assert (problem.message, problem.line) == (
        "environment variable RETL_TEST_REGION is not set",
        1,
    )


def test_undefined_name_is_reported_with_its_line(tmp_path, make_project) -> None:
    root = make_project(tmp_path, {"models/m.sql": "select 1 as a\n\n, {{ start_date }} as b"})
    problem = only_problem(model_error(root))
    assert problem.message == "undefined name: 'start_date' is undefined"
    assert (problem.file, problem.line) == (root / "models/m.sql", 3)


def test_misspelt_helper_is_an_undefined_name(tmp_path, make_project) -> None:
    root = make_project(tmp_path, {"models/m.sql": "select\n{{ reff('x') }}"})
    problem = only_problem(model_error(root))
    assert problem.message == "undefined name: 'reff' is undefined"
    assert problem.line == 2


def test_jinja_syntax_error_with_line(tmp_path, make_project) -> None:
    root = make_project(tmp_path, {"models/m.sql": "select 1 as a\n\n, {{ ref('x' }} as b\n"})
    problem = only_problem(model_error(root))
    assert problem.message == "Jinja syntax error: unexpected '}', expected ')'"
    assert (problem.file, problem.line) == (root / "models/m.sql", 3)


@pytest.mark.parametrize(
    "text", ["", "  \n\n", "-- just a comment\n", "/* block */\n-- and a line", "{{ config(x=1) }}"]
)
def test_empty_model(text, tmp_path, make_project) -> None:
    root = make_project(tmp_path, {"models/m.sql": "placeholder"})
    (root / "models/m.sql").write_text(text)
    problem = only_problem(model_error(root))
    assert problem.message == "model is empty"
    assert problem.file == root / "models/m.sql"


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("config(primary_key='event_id')", ("event_id",)),
        ("config(primary_key=['shop', 'order_id'])", ("shop", "order_id")),
        ("config(materialized='view')", None),
    ],
)
def test_config_primary_key(call, expected, tmp_path, make_project) -> None:
    root = make_project(tmp_path, {"models/m.sql": f"{{{{ {call} }}}}\nselect 1 as event_id"})
    (compiled,) = Project.load(root).compile()
    assert compiled.model.primary_key == expected
    assert compiled.sql == "select 1 as event_id"


# --- source() ---------------------------------------------------------------------------------

SOURCES_YML = """
sources:
  - name: shop
    tables:
      - name: orders
      - name: customers
"""


@pytest.mark.parametrize(
    ("call", "message", "hint"),
    [
        (
            "source('shopp', 'orders')",
            "source('shopp', 'orders'): unknown source",
            "did you mean 'shop'?",
        ),
        (
            "source('crm', 'orders')",
            "source('crm', 'orders'): unknown source",
            "declare it under 'sources:' in retl_project.yml or in a properties file under "
            "models/ (models/sources.yml, where dbt keeps them)",
        ),
        (
            "source('shop', 'order')",
            "source('shop', 'order'): source has no table 'order'",
            "did you mean 'orders'?",
        ),
        (
            "source('shop', 'refunds')",
            "source('shop', 'refunds'): source has no table 'refunds'",
            "add it under the 'shop' source's tables in retl_project.yml",
        ),
    ],
)
def test_unknown_source_or_table(call, message, hint, tmp_path, make_project) -> None:
    root = make_project(
        tmp_path,
        {"retl_project.yml": SOURCES_YML, "models/m.sql": f"select *\nfrom {{{{ {call} }}}}"},
    )
    problem = only_problem(model_error(root))
    assert (problem.message, problem.hint, problem.line) == (message, hint, 2)


def test_external_csv_uses_declared_types(tmp_path, make_project) -> None:
    files = {
        "data/orders.csv": "order_id,amount,code\n1,12.50,7\n2,3.00,8\n",
        "retl_project.yml": """
            sources:
              - name: files
                tables:
                  - name: typed
                    config:
                      external_location: data/orders.csv
                    columns:
                      - {name: amount, data_type: "decimal(10,2)"}
                      - {name: code, data_type: varchar}
                  - name: sniffed
                    meta:
                      external_location: data/orders.csv
            """,
        "models/typed.sql": "select * from {{ source('files', 'typed') }} order by order_id",
        "models/sniffed.sql": "select * from {{ source('files', 'sniffed') }} order by order_id",
    }
    project = Project.load(make_project(tmp_path, files))
    typed = project.preview("typed")
    assert dict(zip(typed.columns, typed.types, strict=True)) == {
        "order_id": "int64",
        "amount": "decimal128(10, 2)",
        "code": "string",
    }
    assert typed.rows == [[1, Decimal("12.50"), "7"], [2, Decimal("3.00"), "8"]]
    # Without declarations DuckDB guesses: the declared types above really are applied.
    sniffed = project.preview("sniffed")
    assert sniffed.types[1:] == ["double", "int64"]
    assert sniffed.rows[0] == [1, 12.5, 7]


def test_external_parquet(tmp_path, make_project) -> None:
    root = make_project(
        tmp_path,
        {
            "retl_project.yml": """
                sources:
                  - name: lake
                    meta:
                      external_location: "data/{name}.parquet"
                    tables:
                      - name: events
            """,
            "models/m.sql": "select * from {{ source('lake', 'events') }} order by id",
        },
    )
    (root / "data").mkdir()
    with duckdb.connect() as con:
        target = str(root / "data" / "events.parquet").replace("'", "''")
        con.execute(
            "COPY (SELECT range::BIGINT AS id, 'e-' || range AS name, "
            "TIMESTAMP '2024-01-01 00:00:00' + INTERVAL (range) HOUR AS at FROM range(3)) "
            f"TO '{target}' (FORMAT parquet)"
        )
    project = Project.load(root)
    (compiled,) = project.compile()
    assert "read_parquet(" in compiled.sql and "events.parquet" in compiled.sql
    preview = project.preview("m")
    assert preview.types == ["int64", "string", "timestamp[us]"]
    assert [r[:2] for r in preview.rows] == [[0, "e-0"], [1, "e-1"], [2, "e-2"]]


def make_warehouse(path: Path) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE SCHEMA crm")
        con.execute(
            "CREATE TABLE raw.customers AS SELECT * FROM (VALUES (1, 'a@example.com'), "
            "(2, 'b@example.com')) AS t(id, email)"
        )
        con.execute("CREATE TABLE crm.tbl_leads AS SELECT 7 AS lead_id")


def test_warehouse_duckdb_file_with_schemas(tmp_path, make_project) -> None:
    root = make_project(
        tmp_path,
        {
            "retl_project.yml": """
                warehouse:
                  type: duckdb
                  path: wh/warehouse.duckdb
                sources:
                  - name: raw
                    tables:
                      - name: customers
                  - name: leads_source
                    schema: crm
                    tables:
                      - name: leads
                        identifier: tbl_leads
            """,
            "models/customers.sql": "select * from {{ source('raw', 'customers') }} order by id",
            "models/leads.sql": "select * from {{ source('leads_source', 'leads') }}",
        },
    )
    (root / "wh").mkdir()
    make_warehouse(root / "wh" / "warehouse.duckdb")
    with Project.load(root) as project:
        compiled = {c.name: c.sql for c in project.compile()}
        assert compiled["customers"] == 'select * from "raw"."customers" order by id'
        assert compiled["leads"] == 'select * from "crm"."tbl_leads"'
        assert project.preview("customers").rows == [[1, "a@example.com"], [2, "b@example.com"]]
        assert project.preview("leads").rows == [[7]]


def test_missing_warehouse_file(tmp_path, make_project, cli) -> None:
    root = make_project(
        tmp_path,
        {
            "retl_project.yml": "warehouse:\n  path: missing.duckdb\n",
            "models/m.sql": "select 1 as a",
        },
    )
    with pytest.raises((ConfigError, EngineError)) as info:
        Project.load(root).preview("m")
    assert f"DuckDB database file not found: {root / 'missing.duckdb'}" in str(info.value)
    result = cli("show", "m", "--project-dir", root)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"DuckDB database file not found: {root / 'missing.duckdb'}" in result.stderr
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("{{ config(primary_key=5) }}", "config(primary_key=...) must be a column name or a list"),
        ("{{ config(primary_key=[]) }}", "config(primary_key=...) must be a column name or a list"),
        ("{{ ref(5) }}", "ref() takes the model's name as a text (write {{ ref('orders') }})"),
        ("{{ source('shop') }}", "source() takes the source's name and the table's, as texts"),
        ("{{ var() }}", "var() takes the variable's name as a text, and maybe a default"),
        ("{% include 'x.sql' %}", "include, import and extends are not supported in a model"),
        ("{{ config(primary_key='a', primary_key='b') }}", "keyword argument repeated"),
    ],
)
def test_a_helper_called_wrongly_says_how_to_call_it(
    line: str, expected: str, tmp_path: Path, make_project
) -> None:
    """These were Python's own words ("'int' object is not iterable", "no loader for this
    environment specified", "(<template>, line 15)"), or an internal error."""
    root = make_project(tmp_path, {"models/m.sql": f"select 1 as a\n{line}\n"})
    problem = only_problem(model_error(root))
    text = problem.render()
    # (a repeated keyword is Python's error about the code Jinja generated: no line)
    assert problem.line in (2, None if "repeated" in expected else 2) and expected in text, text
    assert "<template>" not in text and "object" not in text
