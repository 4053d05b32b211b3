"""`retl runs` while a sync holds the state: the sync is listed as running, and a second sync
the lock refused is listed as refused, with why, without touching the holder's state."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from reverse_etl.sandbox import SandboxServer
from reverse_etl.state.lock import SyncLock
from tests.conftest import cli_env, invoke_cli, invoke_in_process, sync_held_midway
from tests.history.test_delivery_log import model
from tests.test_sync import SECRET, events_project

ENV = {"TIKTOK_ACCESS_TOKEN": SECRET}


def _state_files(project: Path) -> dict[str, tuple[int, int]]:
    """Every file of the state folder but the run records, with (size, mtime)."""
    folder = project / ".retl"
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file() and "runs" not in p.relative_to(folder).parts
    }


def _runs(project: Path) -> list[dict[str, object]]:
    listed = invoke_in_process("runs", "--project-dir", project, "--format", "json")
    assert listed.returncode == 0, listed.stderr
    runs: list[dict[str, object]] = orjson.loads(listed.stdout)["runs"]
    return runs


@pytest.mark.slow
def test_a_sync_refused_by_the_lock_is_listed_as_refused(
    server: SandboxServer, tmp_path: Path
) -> None:
    project = events_project(tmp_path, server.base_url, select=model(100))
    # The emulator holds the first sync's only request: it holds the lock until released.
    with sync_held_midway(project, server, cli_env(ENV), after_requests=0, in_flight=1) as first:
        before = _state_files(project)
        second = invoke_cli("sync", "--project-dir", project, env=ENV)
        assert second.returncode == 75 and "another retl sync is running" in second.stderr
        assert "Traceback" not in second.stderr
        assert first.poll() is None  # the holder was neither waited on nor stopped
        assert _state_files(project) == before  # nor its state touched
        refused, running = _runs(project)
        assert (refused["status"], running["status"]) == ("refused", "running")
        assert refused["exit_code"] == 75 and refused["command"] == "retl sync"
        assert "another retl sync is running" in str(refused["refused"])
        assert f"pid {first.pid}" in str(refused["refused"])
        shown = invoke_in_process("runs", "show", str(refused["run_id"]), "--project-dir", project)
        assert shown.returncode == 0, shown.stderr
        assert "refused (exit 75)" in shown.stdout and "another retl sync" in shown.stdout
        text = invoke_in_process("runs", "--project-dir", project)
        assert "refused" in text.stdout and "running" in text.stdout
        server.faults.release()
        assert first.wait(timeout=120) == 0
    # once the holder has ended, both stay listed: it as ok, the refused run as refused
    assert [r["status"] for r in _runs(project)] == ["refused", "ok"]


@pytest.mark.slow
def test_a_sync_killed_mid_send_is_listed_as_interrupted_not_running(
    server: SandboxServer, tmp_path: Path
) -> None:
    """SIGKILL leaves the lock's info file behind (the kernel frees the lock itself): the run
    it names is dead, not running (it was listed as running until the next sync)."""
    project = events_project(tmp_path, server.base_url, select=model(100))
    with sync_held_midway(project, server, cli_env(ENV), after_requests=0, in_flight=1) as first:
        (held,) = _runs(project)
        assert held["status"] == "running"
        first.kill()
        first.wait(timeout=60)
    assert (project / ".retl" / "state.duckdb.lock.info").exists()  # left behind
    (killed,) = _runs(project)
    assert killed["run_id"] == held["run_id"] and killed["status"] == "interrupted"


def test_a_sync_still_planning_is_listed_as_running(server: SandboxServer, tmp_path: Path) -> None:
    """A sync writes its history row once the diff has read the state; before that (a long
    model), the lock's info file names it, and `retl runs` lists it from there."""
    project = events_project(tmp_path, server.base_url)
    done = invoke_in_process("sync", "--project-dir", project, env=ENV)
    assert done.returncode == 0, done.stderr
    (ok,) = _runs(project)
    with SyncLock(project / ".retl" / "state.duckdb", ("20991231T000000Z-abc123", "retl sync")):
        planning, earlier = _runs(project)
        assert planning["run_id"] == "20991231T000000Z-abc123"
        assert (planning["status"], planning["command"]) == ("running", "retl sync")
        assert earlier["run_id"] == ok["run_id"] and earlier["status"] == "ok"
        shown = invoke_in_process("runs", "show", "20991231", "--project-dir", project)
        assert shown.returncode == 0, shown.stderr
        assert "20991231T000000Z-abc123" in shown.stdout and "running" in shown.stdout
    (after,) = _runs(project)
    assert after["run_id"] == ok["run_id"]
