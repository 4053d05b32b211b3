"""The run history tells the truth about a run stopped mid-send and about a state reset:
`retl runs show` lists the destination a stopped run was sending to (from the delivery log,
marked interrupted); a SIGKILLed run's counts are read from its journal before any run folds
it, by a read that writes nothing; a `retl state reset` is a row of its own in `retl runs`
and on the Runs page."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from reverse_etl.sandbox import SandboxServer
from tests.conftest import cli_env, invoke_in_process, kill_sync_midway
from tests.history.test_interrupted_counts import stopped_by_ctrl_c
from tests.test_sync import SECRET, events_project

ENV = {"TIKTOK_ACCESS_TOKEN": SECRET}


def _listing(root: Path) -> dict[str, tuple[int, int]]:
    """The state folder's files, but tmp/: any workbench there removes the scratch files of a
    process that died (engine/scratch.py), the killed sync's included."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).parts[0] != "tmp"
    }


def _show(project: Path, run_id: str) -> dict[str, object]:
    shown = invoke_in_process("runs", "show", run_id, "--project-dir", project, "--format", "json")
    assert shown.returncode == 0, shown.stderr
    document: dict[str, object] = orjson.loads(shown.stdout)
    return document


@pytest.mark.slow
def test_runs_show_lists_the_destination_a_ctrl_c_stopped_mid_send(
    server: SandboxServer, tmp_path: Path
) -> None:
    # 5 of 10 requests answered, then the 3 in flight, answered after the signal: the stop
    # records the destination's result (a run that died is counted from the log: below)
    project = stopped_by_ctrl_c(server, tmp_path)
    listed = invoke_in_process("runs", "--project-dir", project, "--format", "json")
    (run,) = orjson.loads(listed.stdout)["runs"]
    detail = _show(project, run["run_id"])
    (dest,) = detail["per_destination"]  # type: ignore[misc]
    assert dest["destination"] == "tiktok" and dest["interrupted"] is False
    assert dest["events"]["sent"] == 8000 and dest["rows_total"] == 10_000
    assert dest["events"]["not_attempted"] == 2000
    text = invoke_in_process("runs", "show", run["run_id"], "--project-dir", project)
    (line,) = [x for x in text.stdout.splitlines() if x.startswith("tiktok ")]
    assert "8000" in line.split() and "interrupted by SIGINT: 2000 event(s) not sent" in line


@pytest.mark.slow
def test_a_killed_run_counts_its_journal_and_the_read_writes_nothing(
    server: SandboxServer, tmp_path: Path
) -> None:
    # 2 requests answered (2,000 events acknowledged in the journal), 3 in flight: SIGKILL
    project = events_project(tmp_path / "p", server.base_url, rows=10_000)
    kill_sync_midway(project, server, cli_env(ENV), after_requests=2, in_flight=3)
    state = project / ".retl"
    before = _listing(state)
    listed = invoke_in_process("runs", "--project-dir", project, "--format", "json")
    assert listed.returncode == 0, listed.stderr
    (run,) = orjson.loads(listed.stdout)["runs"]
    assert run["status"] == "interrupted" and run["events"]["sent"] == 2000  # was 0
    (dest,) = _show(project, run["run_id"])["per_destination"]  # type: ignore[misc]
    assert (dest["destination"], dest["interrupted"], dest["events"]["sent"]) == (
        "tiktok",
        True,
        2000,
    )
    assert _listing(state) == before  # nothing folded, nothing written


def test_a_state_reset_is_a_row_of_its_own_in_the_history(
    server: SandboxServer, tmp_path: Path
) -> None:
    from reverse_etl.project import Project
    from reverse_etl.ui import UiApp

    project = events_project(tmp_path / "p", server.base_url, rows=7)
    synced = invoke_in_process("sync", "--project-dir", project, env=cli_env(ENV))
    assert synced.returncode == 0, synced.stderr
    reset = invoke_in_process("state", "reset", "--yes", "--project-dir", project)
    assert reset.returncode == 0, reset.stderr
    listed = invoke_in_process("runs", "--project-dir", project, "--format", "json")
    newest, sync = orjson.loads(listed.stdout)["runs"]
    assert (newest["status"], newest["rows_forgotten"], newest["command"]) == (
        "reset",
        {"tiktok": 7},
        "retl state reset",
    )
    assert sync["status"] == "ok" and sync["rows_forgotten"] is None
    text = invoke_in_process("runs", "--project-dir", project)
    (line,) = [x for x in text.stdout.splitlines() if x.startswith(newest["run_id"])]
    assert " reset " in line and "tiktok (7 row(s) forgotten)" in line
    shown = invoke_in_process("runs", "show", newest["run_id"], "--project-dir", project)
    assert "state reset: tiktok (7 row(s) forgotten)" in shown.stdout, shown.stderr
    with Project.load(project) as p:
        app = UiApp(p, title="t")
        page = app.handle("/", {}).body.decode()  # the Runs page
        assert newest["run_id"] in page and "tiktok (7 row(s) forgotten)" in page
        detail = app.handle(f"/runs/{newest['run_id']}", {})
        assert detail.status == 200 and "retl state reset" in detail.body.decode()
