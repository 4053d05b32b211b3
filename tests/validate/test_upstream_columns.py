"""A column a model reads from an upstream model (``ref()``) that the upstream model does not
have is this model's mistake: an `unknown-column` error, not a note that the upstream's
columns are unknown (which passed validate, and failed plan in DuckDB's words)."""

from __future__ import annotations

from pathlib import Path

from reverse_etl.project import Project
from reverse_etl.validation import validate_project
from tests.conftest import MakeProject

DESTINATIONS = """
destinations:
  tiktok_web:
    type: tiktok_events
    model: events
    auth_method: access_token
    access_token: "{{ env_var('TIKTOK_ACCESS_TOKEN') }}"
    event_source_id: CPIXEL
"""

PROJECT = """
sources:
  - name: shop
    tables:
      - name: orders
        columns:
          - {name: order_id, data_type: varchar}
          - {name: ordered_at, data_type: timestamp}
          - {name: ua, data_type: varchar}
"""


def _validate(
    tmp_path: Path,
    make_project: MakeProject,
    events: str,
    stg: str = "select * from {{ source('shop', 'orders') }}",
) -> list[tuple[str, str]]:
    make_project(
        tmp_path,
        {
            "retl_project.yml": PROJECT,
            "destinations.yml": DESTINATIONS,
            "models/stg_orders.sql": stg,
            "models/events.sql": events,
        },
    )
    with Project.load(tmp_path) as project:
        (result,) = validate_project(project, ())
    return [(d.severity, d.problem.message) for d in result.diagnostics]


def test_a_misspelt_column_of_an_upstream_model_is_an_error(
    tmp_path: Path, make_project: MakeProject
) -> None:
    found = _validate(
        tmp_path,
        make_project,
        """
        select 'Purchase' as event, o.order_id as event_id, o.ordered_at as event_time,
               o.uaa as user_agent
        from {{ ref('stg_orders') }} as o
        """,
    )
    errors = [m for s, m in found if s == "error"]
    assert any("'uaa'" in m and "stg_orders" in m for m in errors), found
    assert not any("are unknown" in m for _, m in found), found


def test_an_upstream_model_that_fails_is_still_echoed_as_a_note(
    tmp_path: Path, make_project: MakeProject
) -> None:
    # The upstream's own mistake is the error; what this model reads of it is only its echo.
    found = _validate(
        tmp_path,
        make_project,
        """
        select 'Purchase' as event, o.order_id as event_id, o.ordered_at as event_time
        from {{ ref('stg_orders') }} as o
        """,
        stg="select order_id, nope from {{ source('shop', 'orders') }}",
    )
    errors = [m for s, m in found if s == "error"]
    assert len(errors) == 1 and "'nope'" in errors[0], found


def test_an_upstream_unnest_of_a_struct_is_no_misspelt_column(
    tmp_path: Path, make_project: MakeProject
) -> None:
    # DuckDB's unnest() of a struct gives its fields as columns (ua, ip): the upstream's
    # column list is not known, so what this model reads of it is no error
    found = _validate(
        tmp_path,
        make_project,
        """
        select 'Purchase' as event, o.order_id as event_id, o.ordered_at as event_time,
               o.ua as user_agent
        from {{ ref('stg_orders') }} as o
        """,
        stg="""
        select order_id, ordered_at, unnest({'ua': ua, 'ip': '1.2.3.4'}) as detail
        from {{ source('shop', 'orders') }}
        """,
    )
    assert not [m for s, m in found if s == "error"], found


def test_an_upstream_values_list_has_the_engines_column_names(
    tmp_path: Path, make_project: MakeProject
) -> None:
    # DuckDB names a VALUES list's unnamed columns col0, col1 ... (sqlglot: _col_0)
    found = _validate(
        tmp_path,
        make_project,
        """
        select 'Purchase' as event, o.col0 as event_id, o.col1 as event_time,
               o.col2 as user_agent
        from {{ ref('stg_orders') }} as o
        """,
        stg="select * from (values ('o-1', timestamp '2026-12-01 10:00:00', 'Mozilla/5.0'))",
    )
    assert not [m for s, m in found if s == "error"], found
