"""`retl runs find` reads the live and the sandbox history: each delivery says which, since
"accepted" by the emulator is no answer to "was this row sent to the platform"."""

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


def test_runs_find_says_which_deliveries_went_to_the_sandbox(
    server: SandboxServer, tmp_path: Path
) -> None:
    select = (
        f"select 'Purchase' as event, 'o' || i as event_id, {NOW} as event_time, "
        "i as value, 'USD' as currency from range(3) t(i)"
    )
    project = events_project(tmp_path, server.base_url, select=select)
    live = invoke_in_process("sync", "--project-dir", project)
    assert live.returncode == 0, live.stderr
    sandbox = invoke_in_process("sync", "--sandbox", "--yes", "--project-dir", project)
    assert sandbox.returncode == 0, sandbox.stderr
    found = invoke_in_process("runs", "find", "o1", "--project-dir", project, "--format", "json")
    assert found.returncode == 0, found.stderr
    deliveries = orjson.loads(found.stdout)["deliveries"]
    assert [d["sandbox"] for d in deliveries] == [True, False]  # newest first
    text = invoke_in_process("runs", "find", "o1", "--project-dir", project)
    header, _, *lines = text.stdout.splitlines()[1:]
    assert header.split()[-1] == "sandbox"
    assert [line.split()[-1] for line in lines] == ["yes", "no"]
