"""A sync in a real process, held mid-send by the sandbox (an event, not a timing): SIGTERM
stops it like Ctrl-C, and the state can be read while it runs."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from reverse_etl.project import Project
from reverse_etl.sandbox import SandboxServer

from .conftest import CliResult, cli_env, invoke_cli, invoke_in_process, sync_held_midway
from .test_sync import SECRET, events_project

Cli = Callable[..., CliResult]
ENV = {"TIKTOK_ACCESS_TOKEN": SECRET}


def _state_rows(project: Path) -> int:
    with Project.load(project) as p:
        return sum(info.rows for info in p.state_show())


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sig", "code", "said"),
    [
        (signal.SIGTERM, 143, "terminated by SIGTERM: stopped sending"),
        (signal.SIGINT, 130, "interrupted: stopped sending"),
    ],
)
def test_sigterm_stops_sending_keeps_what_was_acknowledged_and_writes_the_report(
    server: SandboxServer, tmp_path: Path, sig: signal.Signals, code: int, said: str
) -> None:
    """A CI job's timeout (SIGTERM) does what Ctrl-C (SIGINT) does."""
    # 10 requests of 1,000, 3 (thread_count) at a time: 5 answered, the next 3 held.
    project = events_project(tmp_path / "p", server.base_url, rows=10_000)
    with sync_held_midway(project, server, cli_env(ENV), after_requests=5, in_flight=3) as proc:
        proc.send_signal(sig)
        assert proc.stderr is not None
        for line in proc.stderr:  # the run says at once that it stops
            if line == f"retl: {sig.name} received, stopping\n":
                break
        else:
            raise AssertionError(f"no word of the {sig.name}")
        # Only now may the held requests finish: the run has stopped sending, and their
        # answers, which come after the signal, are recorded like any other.
        server.faults.release()
        _, rest = proc.communicate(timeout=120)
    assert proc.returncode == code
    text = " ".join(rest.split())
    assert said in text
    assert "the events acknowledged before are recorded in the state" in text
    (report,) = (project / ".retl" / "runs").glob("*.json")
    assert f"(run report: {report})" in text
    doc = orjson.loads(report.read_bytes())
    assert doc["ok"] is False
    assert doc["error"].startswith(f"interrupted by {sig.name}: stopped sending")
    assert doc["interrupted"] == "tiktok" and doc["not_run"] == []
    (stopped,) = doc["destinations"]  # what it did, the requests answered after the signal too
    events = stopped["events"]
    # each of the 3 requests in flight is recorded by its answer, which came after the signal
    assert (events["sent"], events["failed"]) == (8000, 0)
    assert (events["rejected"], events["not_attempted"]) == (0, 2000)
    # the requests answered before the signal and after it, in the state
    assert _state_rows(project) == events["sent"]
    assert server.stats.events_accepted == 8000
    rerun = invoke_cli("sync", "--project-dir", project, "--format", "json", env=ENV)
    assert rerun.returncode == 0, rerun.stderr
    assert (
        orjson.loads(rerun.stdout)["destinations"][0]["events"]["sent"] == 10_000 - events["sent"]
    )
    # nothing acknowledged is sent twice (TikTok deduplicates only within 48 hours)
    assert server.stats.events_deduplicated == events["failed"]
    assert server.stats.events_accepted == 10_000


@pytest.mark.slow
def test_plan_and_state_show_read_the_state_while_a_sync_runs(
    server: SandboxServer, tmp_path: Path, cli: Cli
) -> None:
    project = events_project(tmp_path / "p", server.base_url, rows=10_000)
    with sync_held_midway(project, server, cli_env(ENV), after_requests=2, in_flight=3) as proc:
        shown = cli("state", "show", "--project-dir", project, "--format", "json")
        planned = cli("plan", "--project-dir", project, "--format", "json")
        proc.kill()
    for result in (shown, planned):
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""  # the JSON document holds the warnings
        warned = orjson.loads(result.stdout)["warnings"]
        text = " ".join(" ".join(w["message"] for w in warned).split())
        assert f"a retl sync is running on this state (pid {proc.pid} on " in text
        assert "in use" not in text
    (scope,) = orjson.loads(shown.stdout)["destinations"]
    assert scope["rows_sent"] == 2000  # acknowledged so far (its journal), as of the read
    (plan,) = orjson.loads(planned.stdout)["destinations"]
    assert plan["rows"]["to_send"] == 8000
    # nothing of the copies read is left behind, and the killed sync's state is whole
    assert [p.name for p in (project / ".retl").iterdir() if ".read-" in p.name] == []
    assert _state_rows(project) == 2000


@pytest.mark.slow
def test_an_interrupted_full_refresh_does_not_promise_that_a_plain_sync_sends_the_rest(
    server: SandboxServer, tmp_path: Path
) -> None:
    """The rows a full refresh had not resent yet are still acknowledged from before: the
    message said "the next sync sends the rest", and a plain sync then sent nothing (an
    audit)."""
    project = events_project(tmp_path / "p", server.base_url, rows=10_000)
    assert invoke_cli("sync", "--project-dir", project, env=cli_env(ENV)).returncode == 0
    args = ("--full-refresh", "--yes")
    with sync_held_midway(
        project, server, cli_env(ENV), after_requests=5, in_flight=3, args=args
    ) as proc:
        proc.send_signal(signal.SIGTERM)
        assert proc.stderr is not None
        for line in proc.stderr:
            if line == "retl: SIGTERM received, stopping\n":
                break
        server.faults.release()
        _, rest = proc.communicate(timeout=120)
    assert proc.returncode == 143
    text = " ".join(rest.split())
    assert "the next sync sends the rest" not in text
    assert "run it with --full-refresh again for those" in text
    plain = invoke_cli("sync", "--project-dir", project, env=cli_env(ENV))
    assert plain.returncode == 0 and "nothing to send" in plain.stdout + plain.stderr


def _failing_encode(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    """The plan's encode (a COPY) fails with ``error``, as DuckDB raises it."""
    import reverse_etl.engine.duckdb as engine

    real = engine.run_sql

    def run_sql(con: object, sql: str, params: object = ()) -> object:
        if sql.lstrip().startswith("COPY ("):
            raise error
        return real(con, sql, params)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "run_sql", run_sql)


@pytest.mark.parametrize(("signal_name", "code"), [("SIGTERM", 143), ("SIGINT", 130)])
def test_a_signal_that_lands_inside_a_duckdb_query_is_an_interruption(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signal_name: str, code: int
) -> None:
    """The handler raises Interrupted inside the query; DuckDB reports RuntimeError("Query
    interrupted"), which exited 2 as "a bug in retl" and left a run report saying ok (an
    audit). The signal itself is not sent here: its landing inside a query is a matter of
    timing, which a test may not depend on; what DuckDB raises then is reproduced."""
    from reverse_etl.errors import Interrupted

    project = events_project(tmp_path / "p", "http://127.0.0.1:9", rows=50)
    monkeypatch.setattr(Interrupted, "last_signal", signal_name)
    _failing_encode(monkeypatch, RuntimeError("Query interrupted"))
    result = invoke_in_process("sync", "--sandbox", "--yes", "--project-dir", project)
    assert result.returncode == code, result.stderr
    assert "bug" not in result.stderr
    (report,) = (project / ".retl" / "runs").glob("*.json")
    # Nothing was being sent yet (the rows were still read): no "stopped sending" (an audit)
    said = " ".join(result.stderr.split())
    assert "before anything was sent" in said and "stopped sending" not in said
    assert f"(run report: {report})" in said
    doc = orjson.loads(report.read_bytes())
    assert doc["ok"] is False and doc["error"].startswith(f"interrupted by {signal_name}")
    # the run history says so too: interrupted, not failed
    runs = invoke_in_process("runs", "--project-dir", project, "--format", "json")
    assert runs.returncode == 0, runs.stderr
    (run,) = orjson.loads(runs.stdout)["runs"]
    # SIGTERM (a CI job's timeout) too: it was listed as failed, a Ctrl-C as interrupted
    assert (run["status"], run["signal"], run["exit_code"]) == ("interrupted", signal_name, code)
    listed = invoke_in_process("runs", "--project-dir", project)
    (line,) = [x for x in listed.stdout.splitlines() if x.startswith(run["run_id"])]
    assert line.split()[3] == "interrupted"
    shown = invoke_in_process("runs", "show", run["run_id"], "--project-dir", project)
    assert shown.returncode == 0, shown.stderr
    assert f"run {run['run_id']}: interrupted by {signal_name} (exit {code})" in shown.stdout


def test_an_unexpected_error_is_no_success_in_the_run_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = events_project(tmp_path / "p", "http://127.0.0.1:9", rows=50)
    _failing_encode(monkeypatch, ValueError("boom"))
    result = invoke_in_process("sync", "--sandbox", "--yes", "--project-dir", project)
    assert result.returncode == 2
    (report,) = (project / ".retl" / "runs").glob("*.json")
    doc = orjson.loads(report.read_bytes())
    assert doc["ok"] is False and doc["error"] == "unexpected ValueError"
