"""``retl sync | head``: the reader of retl's output goes away mid-run. The CLI exits 141, as
Unix tools do on SIGPIPE; the run history and the run report say so too, not "exit 2,
unexpected BrokenPipeError" (a bug in retl, which it is not)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from .conftest import cli_env, invoke_cli


@pytest.mark.slow
def test_a_sync_whose_reader_went_away_is_recorded_as_exit_141_not_as_a_bug(
    tmp_path: Path,
) -> None:
    project = tmp_path / "p"
    assert invoke_cli("init", project).returncode == 0
    read, write = os.pipe()
    os.close(read)  # the reader is gone before retl writes a line: every write is EPIPE
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "reverse_etl", "sync", "--sandbox", "--project-dir", project],
            stdout=write,
            stderr=write,
            env=cli_env(None),
            timeout=120,
            check=False,
        )
    finally:
        os.close(write)
    assert proc.returncode == 141
    runs = invoke_cli("runs", "--format", "json", "--project-dir", project)
    (run,) = orjson.loads(runs.stdout)["runs"]
    assert run["exit_code"] == 141
    (report,) = (project / ".retl" / "runs").glob("*.json")
    doc = orjson.loads(report.read_bytes())
    assert doc["ok"] is False
    assert "unexpected" not in doc["error"] and "broken pipe" in doc["error"]
