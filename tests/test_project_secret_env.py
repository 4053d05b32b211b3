"""The variables the project files' secret settings read: found once per loaded project
(the sources and every model graph ask), and still refused to a model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import reverse_etl.project as project_module
from reverse_etl.errors import ModelError
from reverse_etl.project import Project
from tests.conftest import MakeProject

ORDERS_CSV = "order_id,email,ordered_at\n1001,ada@example.com,2026-11-20 10:00:00\n"

MODEL = """
{{ config(primary_key='event_id') }}
select order_id::varchar as event_id, 'Purchase' as event, ordered_at as event_time, email,
       '{{ env_var('ACCT_X', 'none') }}' as page_url
from read_csv_auto('data/orders.csv')
"""

DESTINATIONS = """
destinations:
  tiktok_web:
    type: tiktok_events
    model: events
    access_token: "{{ env_var('ACCT_X') }}"
    event_source_id: CPIXEL
"""


def test_the_project_files_are_read_for_secrets_once_per_project(
    tmp_path: Path, make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_project(
        tmp_path / "p",
        {
            "data/orders.csv": ORDERS_CSV,
            "models/events.sql": MODEL.replace("{{ env_var('ACCT_X', 'none') }}", "x"),
            "destinations.yml": DESTINATIONS,
            "retl_project.yml": "name: shop\n",
        },
    )
    monkeypatch.setenv("ACCT_X", "tok-123")
    calls: list[Any] = []
    counted = project_module.project_secret_env

    def counting(files: Any) -> frozenset[str]:
        calls.append(files)
        return counted(files)

    monkeypatch.setattr(project_module, "project_secret_env", counting)
    with Project.load(root) as project:
        assert project.sources is not None
        project.compile(["events"])
        (result,) = project.validate()
        assert result.ok(strict=True), result
        project.graph_args()
    assert len(calls) == 1


def test_a_model_still_may_not_read_a_variable_a_secret_setting_reads(
    tmp_path: Path, make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_project(
        tmp_path / "p",
        {
            "data/orders.csv": ORDERS_CSV,
            "models/events.sql": MODEL,
            "destinations.yml": DESTINATIONS,
            "retl_project.yml": "name: shop\n",
        },
    )
    monkeypatch.setenv("ACCT_X", "tok-123")
    with Project.load(root) as project:
        assert project.sources is not None  # the sources ask first; the model graph again
        with pytest.raises(ModelError, match="ACCT_X"):
            project.compile(["events"])
