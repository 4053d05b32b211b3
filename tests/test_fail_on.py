"""What sync sees, CI sees (issue 13): ``retl plan --fail-on invalid|warning`` exits 1 for
pull-request checks, and every row warning a plan shows reaches sync's output and report."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from reverse_etl.sandbox import DEMO_PIXEL_CODE, SandboxServer

from .conftest import CliResult, MakeProject, RunCli

NOW = int(time.time()) - 3600
OLD = NOW - 30 * 86400
SECRET = "tok-fail-on-3c7d"

# Row 1 is fine; row 2 is 30 days old and names 'purchase' (a custom event, probably meant as
# Purchase); row 3, only in the invalid project, has no event_time.
ROWS = {
    "warnings": f"(1, 'Purchase', {NOW}), (2, 'purchase', {OLD})",
    "invalid": f"(1, 'Purchase', {NOW}), (2, 'purchase', {OLD}), (3, 'Purchase', null)",
    "clean": f"(1, 'Purchase', {NOW})",
}


def _project(make_project: MakeProject, root: Path, rows: str, base_url: str = "") -> Path:
    return make_project(
        root,
        {
            "models/events.sql": f"""
                select ev as event, 'o-' || i as event_id, t as event_time,
                       'buyer' || i || '@example.com' as email,
                       'https://shop.example/done' as page_url
                from (values {rows}) v(i, ev, t)
            """,
            "destinations.yml": f"""
                destinations:
                  tiktok:
                    type: tiktok_events
                    model: events
                    auth_method: access_token
                    access_token: "{{{{ env_var('TIKTOK_ACCESS_TOKEN') }}}}"
                    event_source_id: {DEMO_PIXEL_CODE}
                    skip_invalid_record: true
                    {f"api_base_url: {base_url}" if base_url else ""}
            """,
        },
    )


@pytest.fixture
def sandbox_token() -> str:
    """The token the ``server`` fixture (tests/conftest.py) accepts here."""
    return SECRET


@pytest.mark.parametrize(
    ("rows", "fail_on", "code"),
    [
        ("invalid", None, 0),  # a plan shows; only --fail-on makes it a check
        ("invalid", "invalid", 1),
        ("warnings", "invalid", 0),
        ("warnings", "warning", 1),
        ("clean", "warning", 0),
    ],
)
def test_fail_on_exit_codes(
    tmp_path: Path,
    make_project: MakeProject,
    cli: Callable[..., CliResult],
    rows: str,
    fail_on: str | None,
    code: int,
) -> None:
    project = _project(make_project, tmp_path, ROWS[rows])
    args = ["plan", "--project-dir", project, "--format", "json"]
    result = cli(*args, *(["--fail-on", fail_on] if fail_on else []))
    assert result.returncode == code, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert document["ok"] is (code == 0)
    if rows == "invalid" and fail_on:
        assert document["failures"] == ["tiktok: 1 invalid row(s)"]
    if rows == "warnings" and fail_on == "warning":
        assert document["failures"] == ["tiktok: 1 row(s) with warnings"]


@pytest.mark.slow
def test_fail_on_in_a_pull_request_check(
    tmp_path: Path, make_project: MakeProject, run_cli: RunCli
) -> None:
    project = _project(make_project, tmp_path, ROWS["invalid"])
    proc = run_cli("plan", "--project-dir", project, "--fail-on", "invalid")
    assert proc.returncode == 1
    assert "warning: --fail-on: tiktok: 1 invalid row(s)" in proc.stderr
    assert "plan (nothing is sent)" in proc.stdout
    wrong = run_cli("plan", "--project-dir", project, "--fail-on", "warnings")
    assert wrong.returncode == 1
    assert "--fail-on must be 'invalid' or 'warning', not 'warnings'" in wrong.stderr


def test_sync_shows_and_reports_the_warnings_plan_shows(
    tmp_path: Path, make_project: MakeProject, server: SandboxServer, cli: Callable[..., CliResult]
) -> None:
    project = _project(make_project, tmp_path, ROWS["warnings"], server.base_url)
    env = {"TIKTOK_ACCESS_TOKEN": SECRET}
    old = "event_time is more than 7 days old (TikTok may not attribute it)"
    custom = "event 'purchase' is sent as a custom event: did you mean 'Purchase'?"
    plan = cli("plan", "--project-dir", project, env=env)
    sync = cli("sync", "--project-dir", project, env=env)
    assert sync.returncode == 0, sync.stdout + sync.stderr
    for output in (plan, sync):
        assert f"tiktok: 1 row(s): {old}" in output.stderr
        assert f"tiktok: 1 row(s): {custom}" in output.stderr
        assert "tiktok: match coverage 100% (2 of 2 rows to send carry" in output.stdout
    (report_file,) = (project / ".retl" / "runs").glob("*.json")
    (result,) = json.loads(report_file.read_text())["destinations"]
    assert result["rows_with_warnings"] == 1
    assert sorted(r["reason"] for r in result["warning_reasons"]) == [custom, old]
    assert result["match_keys"]["coverage"] == 1.0
    assert server.stats.events_accepted == 2


def test_an_invalid_rows_warnings_are_not_counted(
    tmp_path: Path, make_project: MakeProject
) -> None:
    """Warnings are about rows that are sent. Row 3 is invalid (no event_time) and names
    'purchase': its warning was counted, so the plan, sync's summary and the run report
    said 2 rows with warnings (and 'purchase' twice) where 1 row sent had one."""
    from reverse_etl.project import Project

    rows = f"{ROWS['warnings']}, (3, 'purchase', null)"
    with Project.load(_project(make_project, tmp_path, rows)) as p:
        (plan,) = p.plan()
    custom = "event 'purchase' is sent as a custom event: did you mean 'Purchase'?"
    assert plan.rows_invalid == 1
    assert plan.rows_warned == 1
    assert dict(plan.warning_reasons)[custom] == 1
