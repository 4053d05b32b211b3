"""`retl runs show` of a run that failed says what stopped it, located as the command said it
(its report file keeps the problems), not only an empty table."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from reverse_etl.sandbox import SandboxServer
from tests.conftest import invoke_in_process
from tests.test_sync import NOW, SECRET, events_project


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)


def test_runs_show_of_a_failed_run_says_why(server: SandboxServer, tmp_path: Path) -> None:
    select = f"select 'Purchase' as event, 'o1' as event_id, {NOW} as event_time"
    project = events_project(tmp_path, server.base_url, select=select)
    destinations = Path(project) / "destinations.yml"
    text = destinations.read_text()
    destinations.write_text(text.rstrip("\n") + "\n    thread_count: four\n", encoding="utf-8")
    failed = invoke_in_process("sync", "--project-dir", project)
    assert failed.returncode == 1
    (said,) = [line for line in failed.stderr.splitlines() if "thread_count" in line]
    runs = invoke_in_process("runs", "--project-dir", project, "--format", "json")
    (run,) = orjson.loads(runs.stdout)["runs"]
    shown = invoke_in_process("runs", "show", run["run_id"], "--project-dir", project)
    assert shown.returncode == 0, shown.stderr
    line = next(x for x in shown.stdout.splitlines() if x.startswith("error: "))
    assert line == said  # the same words as the command said
    assert "destinations.yml:" in line and "thread_count" in line
    as_json = invoke_in_process(
        "runs", "show", run["run_id"], "--project-dir", project, "--format", "json"
    )
    assert orjson.loads(as_json.stdout)["error"] == [line.removeprefix("error: ")]


def test_runs_show_lists_a_long_error_as_the_command_did() -> None:
    """An error of more problems than the command lists: runs show lists as many, then how
    many more (it printed every one)."""
    import datetime as dt
    import io

    from reverse_etl.cli.output import Output
    from reverse_etl.cli.runs_cmd import render_detail
    from reverse_etl.errors import MAX_LISTED_PROBLEMS, ConfigError, Problem
    from reverse_etl.history.records import RunDetail, RunRecord
    from reverse_etl.pipeline.report import SyncReport, error_lines
    from reverse_etl.reporting.console import PlainConsole

    problems = [Problem(f"bad key {i}", key=f"k{i}") for i in range(MAX_LISTED_PROBLEMS + 5)]
    exc = ConfigError.from_problems(problems)
    report = SyncReport(plans=[], sandbox=False, run_id="r1", problems=tuple(exc.problems))
    at = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    run = RunRecord("r1", at, at, "retl sync", (), 0, 0, 0, 0, 1, "0", False)
    out = io.StringIO()
    detail = RunDetail(run, (), (), 0, tuple(error_lines(report.to_dict())))
    render_detail(Output("text", False, PlainConsole(out, io.StringIO()), False), detail)
    shown = [
        x.removeprefix("error: ") for x in out.getvalue().splitlines() if x.startswith("error")
    ]
    assert shown == exc.render_lines()  # 20 problems, then "… and 5 more"


def test_the_run_page_says_what_stopped_a_failed_run(server: SandboxServer, tmp_path: Path) -> None:
    from reverse_etl.project import Project
    from reverse_etl.ui import UiApp

    select = f"select 'Purchase' as event, 'o1' as event_id, {NOW} as event_time"
    project = events_project(tmp_path, server.base_url, select=select)
    destinations = Path(project) / "destinations.yml"
    text = destinations.read_text()
    destinations.write_text(text.rstrip("\n") + "\n    thread_count: four\n", encoding="utf-8")
    assert invoke_in_process("sync", "--project-dir", project).returncode == 1
    runs = invoke_in_process("runs", "--project-dir", project, "--format", "json")
    (run,) = orjson.loads(runs.stdout)["runs"]
    with Project.load(Path(project)) as p:
        response = UiApp(p, title="t").handle(f"/runs/{run['run_id']}", {})
    page = response.body.decode()
    assert response.status == 200
    assert 'id="run-error"' in page
    assert "destinations.tiktok.thread_count: duplicate key" in page
