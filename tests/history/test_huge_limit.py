"""A --limit beyond what a 64-bit count holds ("all of them": 99999999999999999999) is taken
as the most there can be, on every command that has one: not DuckDB's conversion error (retl
runs), a failure blamed on the model or an allocation of that many rows (retl show), or an
"unexpected OverflowError" once the sync was sending (retl sync)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from reverse_etl.errors import MAX_LIMIT
from reverse_etl.sandbox import SandboxServer
from tests.conftest import invoke_in_process
from tests.test_sync import SECRET, events_project

HUGE = ("99999999999999999999", str(MAX_LIMIT + 1), str(MAX_LIMIT))


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)


@pytest.mark.parametrize("limit", HUGE)
def test_runs_and_show_take_a_huge_limit_as_all(
    server: SandboxServer, tmp_path: Path, limit: str
) -> None:
    project = events_project(tmp_path, server.base_url, rows=3)
    empty = invoke_in_process("runs", "--project-dir", project, "--limit", limit)
    assert (empty.returncode, empty.stderr) == (0, "")
    assert "no runs yet" in empty.stdout
    shown = invoke_in_process(
        "show", "events", "--project-dir", project, "--limit", limit, "--format", "json"
    )
    assert shown.returncode == 0, shown.stderr
    assert len(orjson.loads(shown.stdout)["rows"]) == 3


def test_a_sync_with_a_huge_limit_sends_every_row_and_lists_its_run(
    server: SandboxServer, tmp_path: Path
) -> None:
    project = events_project(tmp_path, server.base_url, rows=4)
    synced = invoke_in_process("sync", "--project-dir", project, "--limit", HUGE[0])
    assert synced.returncode == 0, synced.stderr
    runs = invoke_in_process(
        "runs", "--project-dir", project, "--limit", HUGE[0], "--format", "json"
    )
    assert runs.returncode == 0, runs.stderr
    (run,) = orjson.loads(runs.stdout)["runs"]
    assert run["status"] == "ok" and run["events"]["sent"] == 4
    assert run["command"] == f"retl sync --limit {HUGE[0]}"  # as it was typed
