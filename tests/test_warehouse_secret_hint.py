"""A missing variable of a warehouse's secret is not fixed by ``--sandbox`` (the sandbox stands
in for the ad platforms, and reads the warehouse all the same): the hint says so only for a
destination's token."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import invoke_in_process

PROJECT = """\
name: shop
warehouse:
  type: postgres
  host: 127.0.0.1
  port: 1
  dbname: analytics
  user: retl
  password: "{{ env_var('RETL_TEST_PG_PASSWORD') }}"
"""

DESTINATIONS = """\
destinations:
  tt:
    type: tiktok_events
    model: events
    access_token: "{{ env_var('RETL_TEST_TT_TOKEN') }}"
    event_source_id: CPIXEL
"""


def _project(tmp_path: Path) -> Path:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "events.sql").write_text(
        "select 'Purchase' as event, 'e1' as event_id, now() as event_time", encoding="utf-8"
    )
    (tmp_path / "retl_project.yml").write_text(PROJECT, encoding="utf-8")
    (tmp_path / "destinations.yml").write_text(DESTINATIONS, encoding="utf-8")
    return tmp_path


def test_a_missing_warehouse_password_is_not_sent_to_the_sandbox(tmp_path: Path) -> None:
    project = _project(tmp_path)
    env = {"RETL_TEST_PG_PASSWORD": None, "RETL_TEST_TT_TOKEN": None}
    result = invoke_in_process("sync", "--sandbox", "--project-dir", project, env=env)
    assert result.returncode == 1
    assert "retl_project.yml:8 warehouse.password" in result.stderr
    assert "RETL_TEST_PG_PASSWORD is not set" in result.stderr
    assert "--sandbox" not in result.stderr  # it was: "or try 'retl sync --sandbox'"
    assert "Traceback" not in result.stderr


def test_a_missing_destination_token_still_points_at_the_sandbox(tmp_path: Path) -> None:
    project = _project(tmp_path)
    (project / "retl_project.yml").write_text("name: shop\n", encoding="utf-8")  # DuckDB
    env = {"RETL_TEST_TT_TOKEN": None}
    result = invoke_in_process("sync", "--project-dir", project, env=env)
    assert result.returncode == 1
    assert "RETL_TEST_TT_TOKEN is not set" in result.stderr
    assert "'retl sync --sandbox', which needs no token" in result.stderr
