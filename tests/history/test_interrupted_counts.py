"""A run stopped by Ctrl-C or SIGTERM while sending counts in the run history what it had
acknowledged, the answers that came after the signal included: the destination it was
sending to has its result recorded (its counts were 0 once while the log and the state held
the acknowledged events; a run that died has no result, and is counted from the log)."""

from __future__ import annotations

import signal
from pathlib import Path

import orjson
import pytest

from reverse_etl.sandbox import SandboxServer
from tests.conftest import cli_env, invoke_in_process, kill_sync_midway, sync_held_midway
from tests.test_sync import SECRET, events_project

ENV = {"TIKTOK_ACCESS_TOKEN": SECRET}


def stopped_by_ctrl_c(server: SandboxServer, tmp_path: Path) -> Path:
    """A project whose sync of 10 requests of 1,000 (3 at a time) was stopped by Ctrl-C with 5
    answered and the next 3 held (answered once the signal was seen): exit 130."""
    project = events_project(tmp_path / "p", server.base_url, rows=10_000)
    with sync_held_midway(project, server, cli_env(ENV), after_requests=5, in_flight=3) as proc:
        proc.send_signal(signal.SIGINT)
        assert proc.stderr is not None
        for line in proc.stderr:
            if line == "retl: SIGINT received, stopping\n":
                break
        server.faults.release()
        proc.communicate(timeout=120)
    assert proc.returncode == 130
    return project


@pytest.mark.slow
def test_a_run_stopped_by_ctrl_c_counts_what_it_had_acknowledged(
    server: SandboxServer, tmp_path: Path
) -> None:
    project = stopped_by_ctrl_c(server, tmp_path)
    listed = invoke_in_process("runs", "--project-dir", project, "--format", "json")
    assert listed.returncode == 0, listed.stderr
    (run,) = orjson.loads(listed.stdout)["runs"]
    assert (run["status"], run["exit_code"]) == ("interrupted", 130)
    # the 5 requests answered before the signal, and the 3 in flight, answered after it
    assert run["events"]["sent"] == 8000
    text = invoke_in_process("runs", "--project-dir", project)
    (line,) = [x for x in text.stdout.splitlines() if x.startswith(run["run_id"])]
    assert line.split()[5] == "8000"


@pytest.mark.slow
def test_runs_show_of_a_killed_run_says_it_has_no_end(
    server: SandboxServer, tmp_path: Path
) -> None:
    """It said "2026-12-07 00:50:53 to interrupted UTC"."""
    project = events_project(tmp_path / "p", server.base_url, rows=10_000)
    kill_sync_midway(project, server, cli_env(ENV), after_requests=2, in_flight=3)
    listed = invoke_in_process("runs", "--project-dir", project, "--format", "json")
    (run,) = orjson.loads(listed.stdout)["runs"]
    assert run["status"] == "interrupted" and run["ended_at"] is None
    shown = invoke_in_process("runs", "show", run["run_id"], "--project-dir", project)
    assert shown.returncode == 0, shown.stderr
    first = shown.stdout.splitlines()[0]
    assert "UTC no end recorded," in first and "to interrupted" not in first


@pytest.mark.slow
def test_runs_show_of_a_run_stopped_during_its_first_request_lists_the_destination(
    server: SandboxServer, tmp_path: Path
) -> None:
    """SIGTERM while the first request (sent alone: probe_first) was in flight: its answer,
    which came after the signal, was thrown away, so the delivery log held nothing and
    `runs show` printed an empty per-destination table though the report said
    `interrupted: tiktok`. The answer is recorded now, with the destination's result."""
    project = events_project(tmp_path / "p", server.base_url, rows=10_000)
    with sync_held_midway(project, server, cli_env(ENV), after_requests=0, in_flight=1) as proc:
        proc.send_signal(signal.SIGTERM)
        assert proc.stderr is not None
        for line in proc.stderr:
            if line == "retl: SIGTERM received, stopping\n":
                break
        server.faults.release()
        proc.communicate(timeout=120)
    assert proc.returncode == 143
    listed = invoke_in_process("runs", "--project-dir", project, "--format", "json")
    (run,) = orjson.loads(listed.stdout)["runs"]
    shown = invoke_in_process("runs", "show", run["run_id"], "--project-dir", project)
    assert shown.returncode == 0, shown.stderr
    (row,) = [x for x in shown.stdout.splitlines() if x.startswith("tiktok ")]
    cells = row.split()
    # destination platform model rows sent rejected skipped failed not-sent ...
    assert cells[3:9] == ["10000", "1000", "0", "0", "0", "9000"], row
    assert "interrupted by SIGTERM: 9000 event(s) not sent" in " ".join(cells)
    detail = invoke_in_process(
        "runs", "show", run["run_id"], "--project-dir", project, "--format", "json"
    )
    (dest,) = orjson.loads(detail.stdout)["per_destination"]
    assert (dest["rows_total"], dest["interrupted"]) == (10_000, False)  # a result, recorded
    assert dest["events"] == {
        "sent": 1000,
        "rejected": 0,
        "skipped_invalid": 0,
        "failed": 0,
        "not_attempted": 9000,
    }


def test_runs_show_lists_the_destination_a_signal_stopped_before_any_answer(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A signal that stops the sync before any answer of the destination it sends to is
    recorded (while its session opens; a second Ctrl-C while it waits for the answers): no
    result and no log row, so `runs show` printed an empty table though the report names the
    destination as interrupted. It is listed with nothing sent."""
    import reverse_etl.pipeline.runner as runner
    from reverse_etl.errors import Interrupted
    from reverse_etl.project import Project

    def stopped(*args: object, **kwargs: object) -> None:
        raise Interrupted("SIGTERM")

    monkeypatch.setattr(runner, "execute", stopped)
    project = events_project(tmp_path / "p", server.base_url, rows=10)
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    with Project.load(project) as p:
        with pytest.raises(Interrupted):
            p.sync()
        report = orjson.loads(next((project / ".retl" / "runs").glob("*.json")).read_bytes())
        assert (report["interrupted"], report["destinations"]) == ("tiktok", [])
        detail = p.run_detail(report["run_id"])
    assert detail is not None
    (dest,) = detail.destinations
    assert (dest.destination, dest.interrupted, dest.sent) == ("tiktok", True, 0)
    shown = invoke_in_process("runs", "show", report["run_id"], "--project-dir", project)
    assert shown.returncode == 0, shown.stderr
    (row,) = [x for x in shown.stdout.splitlines() if x.startswith("tiktok ")]
    assert "interrupted: no result recorded" in row


def test_an_error_that_stopped_the_send_before_the_signal_is_what_the_result_says(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The platform refused the token (the send stopped: auth), then a SIGTERM came while
    the last answers were awaited: the destination's error is the platform's, with its fix,
    not "interrupted by SIGTERM" (which hid the key to fix)."""
    import reverse_etl.pipeline.send as send
    from reverse_etl.delivery import DeliveryResult
    from reverse_etl.errors import Interrupted, TerminalDestinationError
    from reverse_etl.project import Project

    refused = TerminalDestinationError("the access token was refused", hint="renew it")

    def stopped(*args: object, **kwargs: object) -> DeliveryResult:
        return DeliveryResult(
            0, 0, 10, 0, 1, 1, 0, 0, refused, "auth", 0.1, interrupted=Interrupted("SIGTERM")
        )

    monkeypatch.setattr(send, "_deliver", stopped)
    project = events_project(tmp_path / "p", server.base_url, rows=10)
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    with Project.load(project) as p, pytest.raises(Interrupted):
        p.sync()
    report = orjson.loads(next((project / ".retl" / "runs").glob("*.json")).read_bytes())
    (dest,) = report["destinations"]
    assert dest["error"] == "the access token was refused (renew it)"
    assert report["interrupted"] == "tiktok"


@pytest.mark.slow
def test_a_first_sync_stopped_after_acknowledgements_is_the_last_sync(
    server: SandboxServer, tmp_path: Path
) -> None:
    """A first sync stopped by Ctrl-C after 8,000 acknowledgements recorded no sync (no
    mapping, no key, no time): a key changed before the next run was not caught, and every
    row went out again under event ids the platform could not match with the first. It is
    a sync (``send.synced``: the platform acknowledged something), recorded as such."""
    project = stopped_by_ctrl_c(server, tmp_path)
    shown = invoke_in_process("state", "show", "--project-dir", project, "--format", "json")
    assert shown.returncode == 0, shown.stderr
    (scope,) = orjson.loads(shown.stdout)["destinations"]
    assert scope["rows_sent"] == 8000 and scope["last_sync_at"] is not None
    config = project / "destinations.yml"
    config.write_text(config.read_text() + "    primary_key: email\n")
    planned = invoke_in_process("plan", "--project-dir", project)
    assert planned.returncode == 1
    assert "the row key changed since the last sync (event_id -> email)" in planned.stderr
