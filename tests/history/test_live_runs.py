"""`retl runs` while a sync holds the state: the sync is listed as running, and a second sync
the lock refused is listed as refused, with why, without touching the holder's state."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from reverse_etl.sandbox import SandboxServer
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
        assert second.returncode == 1 and "another retl sync is running" in second.stderr
        assert "Traceback" not in second.stderr
        assert first.poll() is None  # the holder was neither waited on nor stopped
        assert _state_files(project) == before  # nor its state touched
        refused, running = _runs(project)
        assert (refused["status"], running["status"]) == ("refused", "running")
        assert refused["exit_code"] == 1 and refused["command"] == "retl sync"
        assert "another retl sync is running" in str(refused["refused"])
        assert f"pid {first.pid}" in str(refused["refused"])
        shown = invoke_in_process("runs", "show", str(refused["run_id"]), "--project-dir", project)
        assert shown.returncode == 0, shown.stderr
        assert "refused (exit 1)" in shown.stdout and "another retl sync" in shown.stdout
        text = invoke_in_process("runs", "--project-dir", project)
        assert "refused" in text.stdout and "running" in text.stdout
        server.faults.release()
        assert first.wait(timeout=120) == 0
    # once the holder has ended, both stay listed: it as ok, the refused run as refused
    assert [r["status"] for r in _runs(project)] == ["refused", "ok"]
