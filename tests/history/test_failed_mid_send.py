"""A sync that fails while it sends (a full disk, an unexpected error: not a signal) has no
result for the destination it was sending to, yet that destination's acknowledged events are
in the state and the delivery log: `retl runs` counts them and `retl runs show` lists the
destination (from the log, as for a run a signal stopped), rather than a run that sent 0."""

from __future__ import annotations

import errno
from pathlib import Path

import orjson
import pytest

from reverse_etl.sandbox import SandboxServer
from reverse_etl.state.store import LocalStateStore
from tests.conftest import invoke_in_process
from tests.test_sync import SECRET, events_project


def test_a_run_that_failed_mid_send_counts_what_it_sent(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    project = events_project(tmp_path / "p", server.base_url, rows=5_000)
    destinations = project / "destinations.yml"  # one request at a time: 2 answered, then
    text = destinations.read_text(encoding="utf-8")
    destinations.write_text(text.replace("thread_count: 3", "thread_count: 1"), encoding="utf-8")
    acknowledged = LocalStateStore.record_acknowledged
    calls = []

    def full_disk_on_the_third(self: LocalStateStore, *args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        acknowledged(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(LocalStateStore, "record_acknowledged", full_disk_on_the_third)
    failed = invoke_in_process("sync", "--project-dir", project)
    assert failed.returncode not in (0, 130, 143), failed.stderr
    monkeypatch.setattr(LocalStateStore, "record_acknowledged", acknowledged)
    listed = invoke_in_process("runs", "--project-dir", project, "--format", "json")
    (run,) = orjson.loads(listed.stdout)["runs"]
    assert run["status"] == "failed"
    assert run["events"]["sent"] == 2000  # the two batches in the journal, then the log
    shown = invoke_in_process(
        "runs", "show", run["run_id"], "--project-dir", project, "--format", "json"
    )
    (dest,) = orjson.loads(shown.stdout)["per_destination"]
    assert (dest["destination"], dest["interrupted"], dest["events"]["sent"]) == (
        "tiktok",
        True,
        2000,
    )
