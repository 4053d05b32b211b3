"""A sync whose state cannot record an answer while it sends (a full disk) stops sending and
records the destination's result before it fails: `retl runs`, `retl runs show` and the run
report count what the platform accepted, with the error and what it means (the batch not
recorded is sent again by the next sync). The error used to propagate out of the sending
loop: the report had no result for the destination (listed as not run), and `retl runs show`
counted only what the delivery log held."""

from __future__ import annotations

import errno
from pathlib import Path

import orjson
import pytest

from reverse_etl.sandbox import SandboxServer
from reverse_etl.state.store import LocalStateStore
from tests.conftest import invoke_in_process
from tests.test_sync import SECRET, events_project


def one_request_at_a_time(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows: int = 5_000
) -> Path:
    """A project of ``rows`` events sent a request at a time (thread_count 1): the answers
    come in order, so the Nth acknowledgement is the Nth batch."""
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    project = events_project(tmp_path / "p", server.base_url, rows=rows)
    destinations = project / "destinations.yml"
    text = destinations.read_text(encoding="utf-8")
    destinations.write_text(text.replace("thread_count: 3", "thread_count: 1"), encoding="utf-8")
    return project


def test_a_run_that_failed_mid_send_counts_what_it_sent(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = one_request_at_a_time(server, tmp_path, monkeypatch)
    acknowledged = LocalStateStore.record_acknowledged
    calls = []

    def full_disk_on_the_third(self: LocalStateStore, *args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        acknowledged(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(LocalStateStore, "record_acknowledged", full_disk_on_the_third)
    failed = invoke_in_process("sync", "--project-dir", project, "--format", "json")
    assert failed.returncode == 1, failed.stderr
    monkeypatch.setattr(LocalStateStore, "record_acknowledged", acknowledged)
    document = orjson.loads(failed.stdout)
    assert document["ok"] is False and "the disk is full" in document["error"]
    listed = invoke_in_process("runs", "--project-dir", project, "--format", "json")
    (run,) = orjson.loads(listed.stdout)["runs"]
    assert run["status"] == "failed"
    assert run["events"]["sent"] == 3000  # three batches delivered, the third not recorded
    shown = invoke_in_process(
        "runs", "show", run["run_id"], "--project-dir", project, "--format", "json"
    )
    (dest,) = orjson.loads(shown.stdout)["per_destination"]
    assert (dest["destination"], dest["interrupted"], dest["events"]["sent"]) == (
        "tiktok",
        False,
        3000,
    )
    assert "the disk is full" in dest["error"] and "sends its events again" in dest["error"]
    report = orjson.loads(next((project / ".retl" / "runs").glob("*.json")).read_bytes())
    assert [d["destination"] for d in report["destinations"]] == ["tiktok"]
    assert report["not_run"] == []
    # The next sync sends the batch not recorded and the rest: 1000 + 2000, the first of them
    # dropped by the platform as repeats (same event_id).
    again = invoke_in_process("sync", "--project-dir", project, "--format", "json")
    assert again.returncode == 0, again.stderr
    (result,) = orjson.loads(again.stdout)["destinations"]
    assert result["events"]["sent"] == 3000
    assert server.stats.snapshot()["events_deduplicated"] == 1000


def test_a_signal_after_an_answer_not_recorded_keeps_its_error(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C or SIGTERM taken after an answer the state could not record: the run ends as
    interrupted, and the destination's error still says why its send stopped (the history
    said only 'not recorded')."""
    from reverse_etl import interrupts

    project = one_request_at_a_time(server, tmp_path, monkeypatch)
    acknowledged = LocalStateStore.record_acknowledged
    calls = []

    def full_disk_then_a_signal(self: LocalStateStore, *args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 2:
            interrupts.hold("SIGTERM")  # what the CLI's handler does while the loop sends
            raise OSError(errno.ENOSPC, "No space left on device")
        acknowledged(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(LocalStateStore, "record_acknowledged", full_disk_then_a_signal)
    stopped = invoke_in_process("sync", "--project-dir", project, "--format", "json")
    monkeypatch.setattr(LocalStateStore, "record_acknowledged", acknowledged)
    assert stopped.returncode == 143, stopped.stderr  # SIGTERM
    listed = invoke_in_process("runs", "--project-dir", project, "--format", "json")
    (run,) = orjson.loads(listed.stdout)["runs"]
    shown = invoke_in_process(
        "runs", "show", run["run_id"], "--project-dir", project, "--format", "json"
    )
    (dest,) = orjson.loads(shown.stdout)["per_destination"]
    assert dest["events"]["sent"] == 2000
    assert "the disk is full" in dest["error"] and "sends its events again" in dest["error"]
    assert dest["error"].startswith("interrupted by SIGTERM"), dest["error"]
