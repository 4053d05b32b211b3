"""``retl validate`` says what a warehouse server's engine will refuse to run, offline, as a
pull request's job without credentials checks it: a model (maybe an upstream one, maybe
written natively in the warehouse's dialect) that calls Spark's ``read_files()`` or
PostgreSQL's ``pg_read_file()`` is an error at its file and line, with the engine's own
message (engine/factory.call_check). Ordinary columns of such names pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from reverse_etl.project import Project
from reverse_etl.validation import validate_project
from tests.conftest import MakeProject, invoke_in_process

SOURCES = """\
sources:
  - name: shop
    tables:
      - name: orders
        columns:
          - {name: order_id, data_type: varchar}
          - {name: email, data_type: varchar}
          - {name: ordered_at, data_type: timestamp}
          - {name: read_files, data_type: varchar}
"""
WAREHOUSES = {
    "postgres": "warehouse: {type: postgres, host: localhost, dbname: shop}\n",
    "spark": "warehouse: {type: spark, master: 'local[1]'}\n",
}
DESTINATIONS = """\
destinations:
  tt:
    type: tiktok_events
    model: events
    access_token: x
    event_source_id: CSANDBOXDEMOPIXEL001
"""
EVENTS = """\
select u.order_id as event_id, 'Purchase' as event, u.ordered_at as event_time,
       u.email
from {{ ref('upstream') }} as u
"""


def _errors(root: Path) -> list[tuple[str, str, int | None, str]]:
    with Project.load(root) as project:
        (result,) = validate_project(project, (), offline=True)
    return [
        (d.rule, d.problem.file.name if d.problem.file else "", d.problem.line, d.problem.message)
        for d in result.diagnostics
        if d.severity == "error"
    ]


@pytest.mark.parametrize(
    ("kind", "dialect", "call", "called"),
    [
        ("postgres", None, "pg_catalog.pg_read_file('/etc/passwd')", "pg_read_file"),
        ("postgres", None, "\"PG_READ_FILE\"('/etc/passwd')", "pg_read_file"),
        ("postgres", "postgres", "pg_catalog.set_config('search_path', 'x', false)", "set_config"),
        ("postgres", "postgres", "dblink_exec('host=h', 'drop table t')", "dblink_exec"),
        ("postgres", "postgres", "crosstab('select pg_read_file(''/etc/passwd'')')", "crosstab"),
        # pg_background runs its text in a worker of its own, outside the read-only transaction
        ("postgres", "postgres", "pg_background_launch('drop table t')", "pg_background_launch"),
        ("spark", None, "secret('ci', 'token')", "secret"),
        ("spark", "spark", "SECRET('ci', 'token')", "secret"),
        ("spark", "spark", "java_method('java.lang.System', 'getenv', 'HOME')", "java_method"),
    ],
)
def test_a_call_the_warehouse_refuses_is_an_error_at_its_line(
    tmp_path: Path,
    make_project: MakeProject,
    kind: str,
    dialect: str | None,
    call: str,
    called: str,
) -> None:
    config = f"{{{{ config(dialect='{dialect}') }}}}\n" if dialect else ""
    make_project(
        tmp_path,
        {
            "retl_project.yml": WAREHOUSES[kind] + SOURCES,
            "destinations.yml": DESTINATIONS,
            "models/events.sql": config + EVENTS,
            "models/upstream.sql": f"{config}select o.*,\n  -- a comment\n"
            f"  {call} as note\nfrom {{{{ source('shop', 'orders') }}}} as o\n",
        },
    )
    ((rule, file, line, message),) = _errors(tmp_path)
    assert (rule, file, line) == ("warehouse-call", "upstream.sql", 4 if dialect else 3)
    assert f"a model may not call {called}()" in message


def test_a_spark_models_file_read_as_a_table_is_refused(
    tmp_path: Path, make_project: MakeProject
) -> None:
    make_project(
        tmp_path,
        {
            "retl_project.yml": WAREHOUSES["spark"] + SOURCES,
            "destinations.yml": DESTINATIONS.replace("model: events", "model: upstream"),
            "models/upstream.sql": "{{ config(dialect='spark') }}\nselect value as event_id,\n"
            "  'Purchase' as event, now() as event_time, 'a@b.c' as email\n"
            "from text.`/etc/passwd`\n",
        },
    )
    # (and the table is unknown: a second error)
    (rule, file, line, message) = _errors(tmp_path)[0]
    assert (rule, file, line) == ("warehouse-call", "upstream.sql", 4)
    assert "may not read a file as text." in message


@pytest.mark.parametrize("kind", ["postgres", "spark"])
def test_columns_and_aliases_of_such_names_pass(
    tmp_path: Path, make_project: MakeProject, kind: str
) -> None:
    make_project(
        tmp_path,
        {
            "retl_project.yml": WAREHOUSES[kind] + SOURCES,
            "destinations.yml": DESTINATIONS,
            "models/events.sql": EVENTS,
            "models/upstream.sql": "with secret as (select * from {{ source('shop', 'orders') }})\n"
            "select s.*, s.read_files as pg_read_file, 'secret()' as set_config from secret as s\n",
        },
    )
    assert _errors(tmp_path) == []


def test_the_pull_requests_offline_validate_fails_on_it(
    tmp_path: Path, make_project: MakeProject
) -> None:
    make_project(
        tmp_path,
        {
            "retl_project.yml": WAREHOUSES["spark"] + SOURCES,
            "destinations.yml": DESTINATIONS,
            "models/events.sql": EVENTS,
            "models/upstream.sql": "select o.*, v.value as note from {{ source('shop', 'orders') }}"
            " as o,\n  read_files('/etc/passwd', format => 'text') as v\n",
        },
    )
    result = invoke_in_process("validate", "--offline", "--project-dir", tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "upstream.sql:2: a model may not call read_files()" in result.stdout


def test_a_spark_function_named_as_text_is_an_error_at_its_line(
    tmp_path: Path, make_project: MakeProject
) -> None:
    """Spark's IDENTIFIER('read_files') names the function by a string, which no check of the
    names a model calls read: a pull request's model called it past them."""
    config = "{{ config(dialect='spark') }}\n"
    make_project(
        tmp_path,
        {
            "retl_project.yml": WAREHOUSES["spark"] + SOURCES,
            "destinations.yml": DESTINATIONS,
            "models/events.sql": config + EVENTS,
            "models/upstream.sql": f"{config}select *\n"
            "from identifier('read_files')('/etc/passwd')\n",
        },
    )
    calls = [e for e in _errors(tmp_path) if e[0] == "warehouse-call"]
    assert [(file, line) for _, file, line, _ in calls] == [("upstream.sql", 3)]
    assert "may not name a function or a table with IDENTIFIER('...')" in calls[0][3]
