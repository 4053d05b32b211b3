"""A sync stopped by an error that quotes an IPv4 address (a PostgreSQL state whose server
restarted: ``lost the connection to PostgreSQL at 127.0.0.1:5432``) says it masked the same
way in every text of the run: the report file's ``error`` and ``problems``, the JSON
document ``retl sync --format json`` prints, the history's destination error and ``retl
runs show``. The report's ``problems`` were masked (``127.***.***.***``) and its ``error``
was not (``127.0.0.1``): one report, two rules."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from reverse_etl.errors import EngineError
from reverse_etl.sandbox import SandboxServer
from reverse_etl.state.store import LocalStateStore
from tests.conftest import invoke_in_process
from tests.history.test_failed_mid_send import one_request_at_a_time
from tests.test_sync import SECRET, events_project

LOST = (
    "lost the connection to PostgreSQL at 127.0.0.1:5432 (terminating connection due to "
    "administrator command) while recording an acknowledged batch in the state"
)
MASKED = "127.***.***.***"


def test_an_error_quoting_an_address_is_masked_alike_everywhere(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = one_request_at_a_time(server, tmp_path, monkeypatch, rows=3_000)
    acknowledged = LocalStateStore.record_acknowledged
    calls = []

    def lost_on_the_second(self: LocalStateStore, *args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise EngineError(LOST, hint="the next sync sends its events again")
        acknowledged(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(LocalStateStore, "record_acknowledged", lost_on_the_second)
    failed = invoke_in_process("sync", "--project-dir", project, "--format", "json")
    assert failed.returncode == 1, failed.stderr
    document = orjson.loads(failed.stdout)
    report = orjson.loads(next((project / ".retl" / "runs").glob("*.json")).read_bytes())
    for said in (document, report):
        assert MASKED in said["error"] and "127.0.0.1" not in said["error"]
        (problem,) = said["problems"]
        assert problem["message"] == said["error"]
    (dest,) = report["destinations"]
    assert MASKED in dest["error"] and "127.0.0.1" not in dest["error"]
    listed = invoke_in_process("runs", "--project-dir", project, "--format", "json")
    (run,) = orjson.loads(listed.stdout)["runs"]
    shown = invoke_in_process(
        "runs", "show", run["run_id"], "--project-dir", project, "--format", "json"
    )
    detail = orjson.loads(shown.stdout)
    (history,) = detail["per_destination"]
    assert MASKED in history["error"] and "127.0.0.1" not in history["error"]
    assert all("127.0.0.1" not in line for line in detail["error"]) and detail["error"]


def test_the_error_document_of_a_sync_stopped_before_sending_is_masked(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopped before any destination was sent to: ``--format json`` prints the error's
    document (with the run's id and report file), masked as the report file is."""
    from reverse_etl.pipeline import runner

    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    project = events_project(tmp_path / "p", server.base_url, rows=10)

    def lost(*args: object, **kwargs: object) -> None:
        raise EngineError(LOST)

    monkeypatch.setattr(runner, "record_start", lost)
    failed = invoke_in_process("sync", "--project-dir", project, "--format", "json")
    assert failed.returncode == 1, failed.stderr
    document = orjson.loads(failed.stdout)
    report = orjson.loads(next((project / ".retl" / "runs").glob("*.json")).read_bytes())
    assert document["report_file"] and document["run_id"] == report["run_id"]
    for said in (document, report):
        assert MASKED in said["error"] and "127.0.0.1" not in said["error"]
        assert [p["message"] for p in said["problems"]] == [said["error"]]


def test_the_failure_alert_of_a_run_is_masked_as_its_report(tmp_path: Path) -> None:
    """A webhook's failure alert for the run as a whole says the run's error as the report
    does (a webhook's message holds no personal data: notify/message.py)."""
    from reverse_etl.config.project import WebhookConfig
    from reverse_etl.config.resolve import resolve_tree
    from reverse_etl.config.yaml_loader import LoadedYaml
    from reverse_etl.notify.triggers import FAILURE, alerts_for
    from reverse_etl.pipeline.report import SyncReport

    raw = {"url": "{{ env_var('X') }}"}
    loaded = LoadedYaml(tmp_path / "retl_project.yml", {"notify": [raw]})
    hook = WebhookConfig.model_validate(resolve_tree(loaded, raw, ("notify", 0)))
    report = SyncReport(plans=[], sandbox=False, run_id="now", error=LOST)
    (alert,) = alerts_for(report, hook, lambda d: None, failed=True)
    assert alert.kind == FAILURE
    assert alert.reason == report.to_dict()["error"]
    assert MASKED in alert.reason and "127.0.0.1" not in alert.reason
