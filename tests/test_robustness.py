"""The environment's errors are the user's to fix (exit 1, located), never "a bug in retl";
commands that promise no state change write nothing; hostile inputs are refused early.

Root (as in CI containers) may write anywhere, so a read-only folder and a full disk are
simulated where retl writes: an OSError raised at that write, as the kernel would."""

from __future__ import annotations

import ast
import errno
import logging
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from reverse_etl import project_files
from reverse_etl.destinations.tiktok.auth import CredentialsStore
from reverse_etl.project import Project
from reverse_etl.sandbox import (
    DEMO_META_PIXEL_ID,
    DEMO_PIXEL_CODE,
    DEMO_TOKEN,
    SandboxServer,
)
from reverse_etl.sandbox.faults import DelayFault, FaultPlan, parse_fault
from reverse_etl.sandbox.meta.faults import MetaFaultPlan, parse_meta_fault
from reverse_etl.state.journal import JournalWriter

from .conftest import CliResult, cli_env, write_project
from .test_sync import NOW, SECRET, events_project

Cli = Callable[..., CliResult]
TESTS = Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)


def _no_bug(result: CliResult) -> str:
    text = " ".join((result.stdout + result.stderr).split())
    assert "bug in retl" not in text
    assert "Traceback" not in text
    return text


# --- commands that promise no state change write nothing -------------------------------------


def test_plan_and_the_other_reading_commands_create_no_state_folder(
    tmp_path: Path, cli: Cli
) -> None:
    project = events_project(tmp_path / "p", "http://127.0.0.1:9", rows=20)
    for command in (
        ("plan",),
        ("plan", "--format", "json"),
        ("sync", "--dry-run"),
        ("validate",),
        ("compile",),
        ("show", "events"),
        ("state", "show"),
    ):
        result = cli(*command, "--project-dir", project)
        assert result.returncode == 0, (command, result.stderr)
        assert not (project / ".retl").exists(), command


def _read_only(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``project`` made read-only; for root (who may write anyway) every mkdir under it also
    fails as it would for anyone else."""
    project.chmod(0o555)
    real_mkdir = Path.mkdir

    def mkdir(self: Path, *args: Any, **kwargs: Any) -> None:
        if self.resolve().is_relative_to(project.resolve()):
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)


def test_a_read_only_project_plans_and_a_sync_says_what_it_cannot_write(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = events_project(tmp_path / "p", "http://127.0.0.1:9", rows=20)
    _read_only(project, monkeypatch)
    try:
        plan = cli("plan", "--project-dir", project)
        _no_bug(plan)
        assert plan.returncode == 0, plan.stderr
        sync = cli("sync", "--project-dir", project)
        text = _no_bug(sync)
        assert sync.returncode == 1
        assert "error: .retl: permission denied" in text
        assert "set state.path in retl_project.yml to a writable folder" in text
    finally:
        project.chmod(0o755)


def test_a_full_disk_while_recording_acknowledgements_is_said_and_keeps_what_was_recorded(
    server: SandboxServer, tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = events_project(tmp_path / "p", server.base_url, rows=5000)
    appended: list[int] = []
    real_append = JournalWriter.append

    def append(self: JournalWriter, keys: Any, hashes: Any, log: Any = None) -> None:
        if len(appended) == 2:  # the third acknowledged batch finds the disk full
            raise OSError(errno.ENOSPC, "No space left on device", str(self.path))
        appended.append(len(keys))
        real_append(self, keys, hashes, log)

    monkeypatch.setattr(JournalWriter, "append", append)
    result = cli("sync", "--project-dir", project)
    text = _no_bug(result)
    assert result.returncode == 1
    assert ".retl/state.duckdb.acks/" in text and ": the disk is full" in text
    assert "free some space, then run again" in text
    (report,) = (project / ".retl" / "runs").glob("*.json")
    assert orjson.loads(report.read_bytes())["error"] == "the disk is full"
    monkeypatch.setattr(JournalWriter, "append", real_append)
    with Project.load(project) as p:
        (info,) = p.state_show()
    assert info.rows == sum(appended) == 2000  # the two batches recorded before


def test_a_full_disk_leaves_no_run_report_cut_short(
    server: SandboxServer, tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = events_project(tmp_path / "p", server.base_url, rows=10)
    runs = project / ".retl" / "runs"
    real_create = project_files.create_beside
    full: list[str] = []

    def create_beside(path: Path) -> tuple[int, str]:
        # the report's file is created, then the disk is full: its writes go to /dev/full,
        # which answers every write with ENOSPC
        fd, name = real_create(path)
        if path.parent == runs:
            os.close(fd)
            fd = os.open("/dev/full", os.O_WRONLY)
            full.append(name)
        return fd, name

    monkeypatch.setattr(project_files, "create_beside", create_beside)
    result = cli("sync", "--project-dir", project)
    assert full  # the report was written, into a full disk
    assert list(runs.iterdir()) == []  # nothing cut short left behind
    text = _no_bug(result)
    assert result.returncode == 0  # the events were sent and recorded: only the report failed
    assert f"the run report could not be written in {runs}: the disk is full" in text


def test_environment_errors_are_located_and_others_are_not_taken_for_them() -> None:
    from reverse_etl.errors import EnvironmentProblem, environment_error

    full = environment_error(OSError(errno.ENOSPC, "No space left on device", "/x/y"))
    assert isinstance(full, EnvironmentProblem)
    assert full.render_lines() == ["/x/y: the disk is full (free some space, then run again)"]
    wrapped = RuntimeError("while writing")
    wrapped.__cause__ = PermissionError(errno.EROFS, "Read-only file system", "/ro")
    assert environment_error(wrapped) is not None
    assert environment_error(OSError(errno.EBADF, "Bad file descriptor")) is None
    assert environment_error(ValueError("x")) is None


# --- the sandbox command: a busy or bad port, a --record that cannot be written ---------------


def test_a_busy_port_is_a_user_error_suggesting_port_0(cli: Cli) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = cli("sandbox", "--port", str(port))
    text = _no_bug(result)
    assert result.returncode == 1
    assert f"--port: port {port} on 127.0.0.1 is already in use" in text
    assert "--port 0" in text


@pytest.mark.parametrize("port", ["70000", "-1"])
def test_a_port_out_of_range_is_a_user_error(cli: Cli, port: str) -> None:
    result = cli("sandbox", "--port", port)
    text = _no_bug(result)
    assert result.returncode == 1
    assert f"a port is a number from 0 to 65535, not {port}" in text


def test_record_into_a_folder_is_refused_before_serving(cli: Cli, tmp_path: Path) -> None:
    result = cli("sandbox", "--port", "0", "--record", tmp_path)
    text = _no_bug(result)
    assert result.returncode == 1
    assert f"--record: {tmp_path} is a folder" in text
    assert "sandbox on" not in text  # never started


@pytest.mark.slow
def test_record_into_a_missing_folder_is_refused_before_serving(tmp_path: Path) -> None:
    # In a subprocess: a sandbox that starts serves until it is stopped (the timeout).
    missing = tmp_path / "nonexistent" / "dir"
    command = ["sandbox", "--port", "0", "--record", str(missing / "x.jsonl")]
    try:
        result = subprocess.run(
            [sys.executable, "-m", "reverse_etl", *command],
            env=cli_env(),
            capture_output=True,
            text=True,
            timeout=60,  # only reached by a sandbox that started: the failure shown below
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the sandbox started serving instead of refusing --record")
    text = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 1
    assert f"--record: the folder {missing} does not exist" in text
    assert "sandbox on" not in text
    assert not missing.exists()  # nothing created


# --- fault plans: a delay the handler cannot sleep -------------------------------------------


@pytest.mark.parametrize("delay", [1e308, -1, 3601])
def test_a_fault_delay_out_of_bounds_is_refused_by_both_emulators(
    server: SandboxServer, delay: float
) -> None:
    with pytest.raises(ValueError, match="a delay must be from 0 to 3600 seconds"):
        parse_fault(("delay", delay))
    with pytest.raises(ValueError, match="a delay must be from 0 to 3600 seconds"):
        parse_meta_fault(("delay", delay))
    with pytest.raises(ValueError, match="latency_seconds must be from 0 to 3600"):
        FaultPlan(latency_seconds=delay)
    with pytest.raises(ValueError, match="latency_seconds must be from 0 to 3600"):
        MetaFaultPlan(latency_seconds=delay)
    with httpx.Client(base_url=server.base_url) as http:
        for path in ("/_sandbox/faults", "/_sandbox/meta/faults"):
            answer = http.post(path, json={"script": [["delay", delay]]})
            assert answer.status_code == 400
            assert "a delay must be from 0 to 3600 seconds" in answer.text
        # nothing was queued: the next request is handled normally
        event = {"event": "Lead", "event_time": NOW, "event_id": "x"}
        track = http.post(
            "/open_api/v1.3/event/track/",
            headers={"Access-Token": DEMO_TOKEN},
            json={"event_source": "web", "event_source_id": DEMO_PIXEL_CODE, "data": [event]},
        )
        assert track.json()["code"] == 0
    assert DelayFault(3600).seconds == 3600


# --- destinations.yml ---------------------------------------------------------------------


def test_a_template_written_as_a_key_is_a_located_error(tmp_path: Path, cli: Cli) -> None:
    project = events_project(tmp_path / "p", "http://127.0.0.1:9")
    yml = project / "destinations.yml"
    yml.write_text(yml.read_text().replace("  tiktok:\n", "  {{ 1 + 'a' }}:\n"))
    for command in ("validate", "plan"):
        result = cli(command, "--project-dir", project)
        text = _no_bug(result)
        assert result.returncode == 1
        assert "error: destinations.yml:2 destinations: a key must be a plain name" in text


@pytest.mark.parametrize("platform", ["tiktok_events", "meta_conversions"])
def test_thread_count_true_is_not_one_thread(tmp_path: Path, cli: Cli, platform: str) -> None:
    settings = (
        [f"event_source_id: {DEMO_PIXEL_CODE}"]
        if platform == "tiktok_events"
        else [
            f'pixel_id: "{DEMO_META_PIXEL_ID}"',
            "access_token: \"{{ env_var('META_ACCESS_TOKEN') }}\"",
            "action_source: system_generated",
        ]
    )
    lines = ["destinations:", "  d:", f"    type: {platform}", "    model: events"]
    lines += [f"    {line}" for line in [*settings, "thread_count: true"]]
    project = write_project(
        tmp_path / "p",
        {
            "models/events.sql": f"select 'Lead' as event, 'k' as event_id, {NOW} as event_time",
            "destinations.yml": "\n".join(lines) + "\n",
        },
    )
    result = cli("validate", "--project-dir", project)
    text = _no_bug(result)
    assert result.returncode == 1
    assert "destinations.d.thread_count: must be a number from 1 to 10, not true" in text


# --- plan samples -------------------------------------------------------------------------


def test_plan_text_shortens_long_sample_values_and_json_keeps_them(
    tmp_path: Path, cli: Cli
) -> None:
    model = (
        f"select 'Purchase' as event, 'o' || i as event_id, {NOW} as event_time, "
        "'https://shop.example/' || repeat('p', 100000) as page_url from range(2) t(i)"
    )
    project = events_project(tmp_path / "p", "http://127.0.0.1:9", select=model)
    text = cli("plan", "--project-dir", project)
    assert text.returncode == 0, text.stderr
    samples = [line for line in text.stdout.splitlines() if "sample event:" in line]
    assert len(samples) == 2
    for line in samples:
        assert len(line) < 1000
        assert "… (99821 more characters)" in line
    doc = cli("plan", "--project-dir", project, "--format", "json")
    (sample, _) = orjson.loads(doc.stdout)["destinations"][0]["samples"]
    assert sample["page"]["url"] == "https://shop.example/" + "p" * 100000


# --- keys with control characters -----------------------------------------------------------


def test_a_key_or_event_id_with_a_control_character_is_invalid_on_both_platforms(
    tmp_path: Path,
) -> None:
    (tmp_path / "p" / "data").mkdir(parents=True)
    (tmp_path / "p" / "data" / "ids.csv").write_bytes(b"id\nok-1\nbad\x00nul\n")  # a NUL
    project = write_project(
        tmp_path / "p",
        {
            "retl_project.yml": """
            sources:
              - name: files
                tables:
                  - name: ids
                    config: {external_location: data/ids.csv}
                    columns: [{name: id, data_type: varchar}]
            """,
            "models/events.sql": (
                "select 'Lead' as event, id as event_id, "
                f"{NOW} as event_time, 'a@example.com' as email "
                "from {{ source('files', 'ids') }} "
                "union all select 'Lead', 'tab' || chr(9) || 'x', "
                f"{NOW}, 'b@example.com'"
            ),
            "destinations.yml": f"""
            destinations:
              tiktok:
                type: tiktok_events
                model: events
                event_source_id: {DEMO_PIXEL_CODE}
                skip_invalid_record: true
              meta:
                type: meta_conversions
                model: events
                pixel_id: "{DEMO_META_PIXEL_ID}"
                access_token: "{{{{ env_var('META_ACCESS_TOKEN') }}}}"
                action_source: system_generated
                skip_invalid_record: true
            """,
        },
    )
    with Project.load(project) as p:
        plans = p.plan()
    assert len(plans) == 2
    for plan in plans:
        reasons = dict(plan.invalid_reasons)
        assert reasons == {"event_id holds a control character (NUL, a line break, ...)": 2}
        assert sorted(r.key for r in plan.invalid_rows) == ["bad\x00nul", "tab\tx"]


# --- the credentials file -------------------------------------------------------------------


def test_a_credentials_file_inside_a_project_is_used_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = events_project(tmp_path / "p", "http://127.0.0.1:9")
    inside = project / "secrets" / "credentials.json"
    monkeypatch.setenv("RETL_CREDENTIALS_FILE", str(inside))
    with caplog.at_level(logging.WARNING):
        store = CredentialsStore()
        assert store.load() is None  # used: nothing refused
    (record,) = [r for r in caplog.records if "could be committed" in r.getMessage()]
    message = record.getMessage()
    assert f"the credentials file {inside} (RETL_CREDENTIALS_FILE) is inside {project}" in message
    caplog.clear()
    outside = tmp_path / "elsewhere" / "credentials.json"
    with caplog.at_level(logging.WARNING):
        CredentialsStore(outside)
    assert not [r for r in caplog.records if "could be committed" in r.getMessage()]


# --- the suite itself -------------------------------------------------------------------------

_CLI_STARTERS = {"invoke_cli", "run_cli", "kill_sync_midway", "sync_held_midway"}


def _starts_the_cli(fn: ast.FunctionDef) -> bool:
    for node in ast.walk(fn):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in _CLI_STARTERS:
                return True
            if name == "Popen" and "reverse_etl" in ast.unparse(node):
                return True
    return False


def test_every_test_that_starts_the_cli_cold_is_marked_slow() -> None:
    """`pytest -m "not slow"` skips them locally (README): a new one must be marked too."""
    unmarked = []
    for path in sorted(TESTS.rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in tree.body:
            if not (isinstance(fn, ast.FunctionDef) and fn.name.startswith("test_")):
                continue
            marks = " ".join(ast.unparse(d) for d in fn.decorator_list)
            if _starts_the_cli(fn) and "mark.slow" not in marks:
                unmarked.append(f"{path.relative_to(TESTS)}::{fn.name}")
    assert unmarked == []


def test_the_sandbox_gate_holds_after_n_requests(server: SandboxServer) -> None:
    server.faults.hold_after(1)
    event = {"event": "Lead", "event_time": NOW, "event_id": "a"}
    body = {"event_source": "web", "event_source_id": DEMO_PIXEL_CODE, "data": [event]}
    with httpx.Client(base_url=server.base_url, headers={"Access-Token": DEMO_TOKEN}) as http:
        assert http.post("/open_api/v1.3/event/track/", json=body).json()["code"] == 0
        assert server.faults.held == 0
        answers: list[int] = []
        sender = threading.Thread(
            target=lambda: answers.append(
                http.post("/open_api/v1.3/event/track/", json=body).json()["code"]
            )
        )
        sender.start()
        assert server.faults.wait_held(1, timeout=60)
        assert answers == []  # held
        server.faults.release()
        sender.join()
    assert answers == [0]
    assert server.stats.wait_idle(timeout=60)
