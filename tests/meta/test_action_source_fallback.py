"""A row whose action_source column is NULL or blank is sent with the destination's own
action_source (meta/encode.py): a model whose action_source is a CASE without ELSE has website
rows on a website destination, which need page_url and user_agent. validate said nothing, and
plan found those rows invalid."""

from __future__ import annotations

from pathlib import Path

import pytest

from reverse_etl.project import Project
from reverse_etl.validation import validate_project
from tests.conftest import MakeProject

DESTINATIONS = """
destinations:
  meta:
    type: meta_conversions
    model: conv
    pixel_id: "1234567890123456"
    access_token: "{{ env_var('META_ACCESS_TOKEN') }}"
"""

MODEL = """
{{{{ config(primary_key='event_id') }}}}
select n::varchar as event_id, 'Purchase' as event_name, now() as event_time,
       'ada@example.com' as email, 1.0 as value, 'USD' as currency,
       {source} as action_source
from range(3) as t(n)
"""


def _findings(tmp_path: Path, make_project: MakeProject, source: str) -> list[tuple[str, str]]:
    make_project(
        tmp_path,
        {
            "retl_project.yml": "name: m\n",
            "destinations.yml": DESTINATIONS,
            "models/conv.sql": MODEL.format(source=source),
        },
    )
    with Project.load(tmp_path) as project:
        (result,) = validate_project(project, ())
    return [
        (d.severity, d.problem.message)
        for d in result.diagnostics
        if d.severity in ("error", "warning")
    ]


@pytest.mark.parametrize(
    "source",
    [
        "case when n > 1 then 'physical_store' end",
        "case when n > 1 then 'physical_store' else '' end",
        "case when n > 1 then 'physical_store' else null end",
    ],
)
def test_rows_without_their_own_source_are_the_destinations(
    tmp_path: Path, make_project: MakeProject, source: str
) -> None:
    found = _findings(tmp_path, make_project, source)
    assert sorted(s for s, m in found if "NULL or blank are website events" in m) == [
        "warning",
        "warning",
    ], found


@pytest.mark.parametrize(
    "source",
    ["'physical_store'", "case when n > 1 then 'physical_store' else 'other' end"],
)
def test_rows_that_all_say_another_source_need_nothing_of_websites(
    tmp_path: Path, make_project: MakeProject, source: str
) -> None:
    assert _findings(tmp_path, make_project, source) == []
