"""``plan``, ``sync`` and ``show`` refuse a model's call that its warehouse server's engine
will not run (engine/factory.call_check) at the line of the model that calls it (maybe an
upstream one, inlined in the SQL sent), as ``validate`` says it: the engine's own refusal,
as it transpiles, named only the destination's model. No server: the check comes first."""

from __future__ import annotations

from pathlib import Path

import pytest

from reverse_etl.errors import ModelError
from reverse_etl.models.dialects import query_for
from reverse_etl.project import Project
from tests.conftest import MakeProject

PROJECT = """\
name: lines
warehouse: {type: postgres, host: localhost, dbname: shop}
sources:
  - name: shop
    tables:
      - name: orders
        columns:
          - {name: order_id, data_type: varchar}
          - {name: email, data_type: varchar}
"""
DESTINATIONS = """\
destinations:
  tt:
    type: tiktok_events
    model: events
    access_token: x
    event_source_id: CSANDBOXDEMOPIXEL001
"""


@pytest.mark.parametrize("dialect", [None, "postgres"])
def test_an_upstream_models_call_is_refused_at_its_line(
    tmp_path: Path, make_project: MakeProject, dialect: str | None
) -> None:
    config = f"{{{{ config(dialect='{dialect}') }}}}\n" if dialect else ""
    make_project(
        tmp_path,
        {
            "retl_project.yml": PROJECT,
            "destinations.yml": DESTINATIONS,
            "models/events.sql": config + "select u.order_id as event_id, 'Purchase' as event,\n"
            "  now() as event_time, u.email\nfrom {{ ref('upstream') }} as u\n",
            "models/upstream.sql": config + "select o.*,\n  -- note\n"
            "  pg_catalog.pg_read_file('/etc/passwd') as note\n"
            "from {{ source('shop', 'orders') }} as o\n",
        },
    )
    with Project.load(tmp_path) as project:
        compiled = next(c for c in project.compile() if c.name == "events")
        with pytest.raises(ModelError) as caught:
            query_for(compiled, project.engine)  # connects to nothing
    problem = caught.value.problems[0]
    assert problem.file is not None
    assert (problem.file.name, problem.line) == ("upstream.sql", 4 if dialect else 3)
    assert "may not call pg_read_file()" in problem.message
