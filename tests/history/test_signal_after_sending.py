"""A Ctrl-C or SIGTERM that lands after a destination's sending loop (while its session
closes, or while its acknowledgements are folded into the state) raised at once: the
destination's result was lost from the run report and the history (it was sent, but the
report listed no result and `runs show` only what the delivery log held), and a signal
inside the fold's DuckDB statement came out as "unexpected RuntimeError" (exit 2 in the
history). It is held now, like one in the sending loop: the session closes, the fold
finishes, the result is recorded, then the run stops as interrupted.

The CLI's own handler is installed and a real signal sent, at a known point (a hook), not
after a sleep."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest

from reverse_etl import interrupts
from reverse_etl.cli.output import signals_as_interrupt
from reverse_etl.errors import Interrupted
from reverse_etl.project import Project
from reverse_etl.sandbox import SandboxServer
from tests.conftest import invoke_in_process
from tests.test_sync import SECRET, events_project

ROWS = 30


@pytest.fixture(autouse=True)
def cli_handler() -> Iterator[None]:
    """SIGINT and SIGTERM handled as the CLI handles them, for the test's duration."""
    assert threading.current_thread() is threading.main_thread()
    with signals_as_interrupt():
        yield


def signal_here(sig: signal.Signals = signal.SIGTERM, held: int = 1) -> None:
    """Sends ``sig`` to this process and returns once the main thread's handler has held it
    (the ``held``-th signal of this hold; the handler runs here, in the main thread: one that
    raises raises here)."""
    os.kill(os.getpid(), sig)
    pause = threading.Event()
    while interrupts.received() < held:
        pause.wait(0.001)


def signalled_before(real: Callable[..., Any], sig: signal.Signals) -> Callable[..., Any]:
    def hooked(*args: Any, **kwargs: Any) -> Any:
        signal_here(sig)
        return real(*args, **kwargs)

    return hooked


def stopped_sync(project: Path) -> tuple[dict[str, Any], Project]:
    p = Project.load(project)
    with pytest.raises(Interrupted) as raised:
        p.sync()
    report = orjson.loads(next((project / ".retl" / "runs").glob("*.json")).read_bytes())
    assert raised.value.report_path is not None
    return report, p


def check_recorded(project: Path, signal_name: str, code: int) -> None:
    report, p = stopped_sync(project)
    with p:
        assert report["error"].startswith(f"interrupted by {signal_name}: stopped sending")
        (dest,) = report["destinations"]  # the result, not lost
        assert (dest["destination"], dest["events"]["sent"]) == ("tiktok", ROWS)
        assert dest["events"]["not_attempted"] == 0
        assert report["not_run"] == []
        (run,) = p.runs()
        assert (run.exit_code, run.sent) == (code, ROWS)
        detail = p.run_detail(run.run_id)
        assert detail is not None
        (row,) = detail.destinations
        assert (row.interrupted, row.rows_total, row.sent) == (False, ROWS, ROWS)
    with Project.load(project) as again:  # nothing is sent twice: all of it is in the state
        (plan,) = again.plan()
        assert plan.rows_to_send == 0


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_during_the_fold_keeps_the_destinations_result(
    server: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sig: signal.Signals,
    code: int,
) -> None:
    from reverse_etl.state.store import LocalStateStore

    project = events_project(tmp_path / "p", server.base_url, rows=ROWS)
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    monkeypatch.setattr(LocalStateStore, "compact", signalled_before(LocalStateStore.compact, sig))
    check_recorded(project, sig.name, code)


def test_a_signal_while_the_session_closes_keeps_the_destinations_result(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reverse_etl.destinations.tiktok.destination import TikTokDestination

    real_open = TikTokDestination.open

    @contextmanager
    def closing_signalled(self: Any, *args: Any) -> Iterator[Any]:
        with real_open(self, *args) as session:
            yield session
            signal_here(signal.SIGTERM)

    project = events_project(tmp_path / "p", server.base_url, rows=ROWS)
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    monkeypatch.setattr(TikTokDestination, "open", closing_signalled)
    check_recorded(project, "SIGTERM", 143)


def test_a_second_signal_during_the_fold_says_what_retl_waits_for(
    server: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Ctrl-C twice while the answers are folded: the second line said retl still waited for
    "the answers to the requests in flight", none being in flight then."""
    from reverse_etl.state.store import LocalStateStore

    real = LocalStateStore.compact

    def twice(*args: Any) -> None:
        signal_here(signal.SIGINT)
        signal_here(signal.SIGINT, held=2)
        real(*args)

    project = events_project(tmp_path / "p", server.base_url, rows=ROWS)
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    monkeypatch.setattr(LocalStateStore, "compact", twice)
    check_recorded(project, "SIGINT", 130)
    said = capfd.readouterr().err
    assert "retl: SIGINT received, stopping\n" in said
    assert "retl: SIGINT received again, still recording the answers in the state" in said
    assert "requests in flight" not in said


def test_a_batch_not_recorded_before_the_signal_is_said_by_the_runs_message(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM, then the first answer could not be recorded (a full disk): the destination's
    error said so, but the run's message (report, history, the CLI's line) said "the events
    acknowledged before are recorded in the state", and nothing of the batch the next sync
    sends again."""
    import errno

    from reverse_etl.state.store import LocalStateStore

    def full_disk(*args: Any, **kwargs: Any) -> None:
        signal_here(signal.SIGTERM)  # held: the sending loop takes it after this answer
        raise OSError(errno.ENOSPC, "No space left on device")

    project = events_project(tmp_path / "p", server.base_url, rows=ROWS)
    monkeypatch.setattr(LocalStateStore, "record_acknowledged", full_disk)
    said = invoke_in_process("sync", "--project-dir", project, env={"TIKTOK_ACCESS_TOKEN": SECRET})
    assert said.returncode == 143, said.stderr
    report = orjson.loads(next((project / ".retl" / "runs").glob("*.json")).read_bytes())
    (dest,) = report["destinations"]
    assert dest["events"]["sent"] == ROWS  # acknowledged by the platform, not recorded
    assert "could not be recorded in the state" in dest["error"]
    error = report["error"]
    assert error.startswith("interrupted by SIGTERM: stopped sending")
    assert "acknowledged before are recorded in the state" not in error
    assert "could not be recorded in the state" in error and "sends its events again" in error
    line = " ".join(said.stderr.split())
    assert "error: terminated by SIGTERM: stopped sending; an acknowledged batch of tiktok" in line
    assert "acknowledged before are recorded in the state" not in line
    assert "could not be recorded in the state" in line


def test_a_signal_while_the_run_is_recorded_leaves_its_report_and_its_end(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM as the run's end is written in the history: raised there, it left no run
    report and a history row with no end (an interrupted run, counted from the log). Held,
    the run is recorded whole, with the signal: exit 143 in the history as from the CLI."""
    import reverse_etl.pipeline.runner as runner

    monkeypatch.setattr(runner, "record_end", signalled_before(runner.record_end, signal.SIGTERM))
    project = events_project(tmp_path / "p", server.base_url, rows=ROWS)
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    report, p = stopped_sync(project)
    with p:
        assert report["error"].startswith("interrupted by SIGTERM as the run ended")
        (dest,) = report["destinations"]
        assert (dest["events"]["sent"], dest["ok"]) == (ROWS, True)
        (run,) = p.runs()
        assert (run.status, run.signal, run.exit_code, run.sent) == (
            "interrupted",
            "SIGTERM",
            143,
            ROWS,
        )
        assert run.ended_at is not None


def test_a_signal_as_a_failed_run_ends_leaves_it_failed(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run whose destination failed (a refused token) and a SIGTERM as its end is written:
    the run stays failed, as it was (exit 1), not "interrupted as the run ended: every
    destination had sent and recorded what it had to", which was untrue of the failed one."""
    import reverse_etl.pipeline.runner as runner

    monkeypatch.setattr(runner, "record_end", signalled_before(runner.record_end, signal.SIGTERM))
    project = events_project(tmp_path / "p", server.base_url, rows=ROWS)
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", "not-the-token-4f1c")
    with Project.load(project) as p:
        report = p.sync()
        assert not report.ok and report.error is None
        (result,) = report.results
        assert result.error is not None and result.sent == 0
        (run,) = p.runs()
        assert (run.status, run.signal, run.exit_code) == ("failed", None, 1)
    written = orjson.loads(next((project / ".retl" / "runs").glob("*.json")).read_bytes())
    assert written["error"] is None
