"""retl runs refuses what names nothing, with one clear message: an empty run id (which every
id begins: it picked the only run), a --destination the history does not name (it said "no
delivery"), and a history whose runs table lost a column (DuckDB's raw "Binder Error", on
retl runs and on retl ui's pages)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from reverse_etl.project import Project
from reverse_etl.sandbox import SandboxServer
from reverse_etl.ui import UiApp
from tests.conftest import invoke_in_process
from tests.test_sync import SECRET, events_project


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)


@pytest.fixture
def synced(server: SandboxServer, tmp_path: Path) -> Path:
    project = events_project(tmp_path, server.base_url, rows=2)
    result = invoke_in_process("sync", "--project-dir", project)
    assert result.returncode == 0, result.stderr
    return Path(project)


@pytest.mark.parametrize("run_id", ["", " "])
def test_an_empty_run_id_is_refused(synced: Path, run_id: str) -> None:
    result = invoke_in_process("runs", "show", run_id, "--project-dir", synced)
    assert result.returncode == 1, result.stdout
    assert "no run id given" in result.stderr
    assert "per destination" not in result.stdout  # not the only run


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("nope", "(the history names tiktok)"),
        ("tiktk", "(did you mean 'tiktok'? the history names tiktok)"),
    ],
)
def test_a_destination_the_history_does_not_name_is_said_so(
    synced: Path, given: str, said: str
) -> None:
    result = invoke_in_process("runs", "find", "order-0", "-d", given, "--project-dir", synced)
    assert result.returncode == 1, result.stdout
    assert f"--destination: no destination '{given}' in the history {said}" in result.stderr
    assert "no delivery" not in result.stdout + result.stderr
    known = invoke_in_process("runs", "find", "order-0", "-d", "tiktok", "--project-dir", synced)
    assert known.returncode == 0 and "1 delivery" in known.stdout, known.stderr
    missing = invoke_in_process("runs", "find", "nokey", "-d", "tiktok", "--project-dir", synced)
    assert missing.returncode == 0 and "no delivery of that key" in missing.stdout


def test_a_runs_table_that_lost_a_column_is_said_damaged(synced: Path) -> None:
    con = duckdb.connect(str(synced / ".retl" / "state.duckdb"))
    con.execute("ALTER TABLE runs DROP COLUMN sandbox")
    con.close()
    result = invoke_in_process("runs", "--project-dir", synced)
    assert result.returncode != 0
    assert "Binder" not in result.stderr
    assert "state.duckdb: the state file is damaged or not retl's: it lacks runs.sandbox" in (
        result.stderr
    )
    assert "move it away or restore it" in result.stderr
    with Project.load(synced) as p:
        response = UiApp(p, title="t").handle("/", {})
    assert response.status == 500
    assert b"Binder" not in response.body and b"it lacks runs.sandbox" in response.body
