"""Webhook notifications (``notify:``): a real loopback HTTP server records what retl posts."""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from reverse_etl.errors import ConfigError, InvalidRowsError
from reverse_etl.project import Project
from reverse_etl.sandbox import DEMO_ADVERTISER_ID, DEMO_PIXEL_CODE, SandboxServer, SandboxWorld

from .conftest import write_project

TOKEN = "tok-NOTIFY-7c1e55aa90b3"
HOOK_ENV = "RETL_TEST_HOOK"
NOW = int(time.time()) - 3600


class Recorder:
    """A webhook: records each POST's path and JSON body, answers ``status``."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.status = 200
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                recorder.posts.append((self.path, body))
                self.send_response(recorder.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/XYZsecret"


class Warnings:
    """A console that keeps what it was told (the CLI's would print it)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, text: str) -> None:
        self.lines.append(text)

    def warning(self, text: str) -> None:
        self.lines.append("warning: " + text)

    def error(self, text: str) -> None:
        self.lines.append("error: " + text)

    def sql(self, title: str, sql: str) -> None:
        pass

    def table(self, title: str, columns: Any, rows: Any) -> None:
        pass

    def progress(self, title: str, total: int) -> Any:
        from reverse_etl.reporting.console import NullConsole

        return NullConsole().progress(title, total)


@pytest.fixture
def hook() -> Iterator[Recorder]:
    recorder = Recorder()
    recorder.thread.start()
    try:
        yield recorder
    finally:
        recorder.server.shutdown()
        recorder.server.server_close()


@pytest.fixture
def tiktok() -> Iterator[SandboxServer]:
    world = SandboxWorld.demo()
    world.add_token(TOKEN, [DEMO_ADVERTISER_ID])
    with SandboxServer(world) as srv:
        yield srv


def project(root: Path, base_url: str, notify: str, *, destination_extra: str = "") -> Path:
    """Five purchases; ``var('email')`` false drops the e-mails (match coverage 0)."""
    model = (
        "select 'Purchase' as event, 'order-' || i as event_id, "
        f"{NOW} - i as event_time, "
        "case when {{ var('email') }} then 'user' || i || '@example.com' end as email, "
        "i * 1.5 as value, 'USD' as currency from range(5) t(i)"
    )
    return write_project(
        root,
        {
            "models/events.sql": model,
            "retl_project.yml": "name: shop\nvars:\n  email: true\n" + notify,
            "destinations.yml": (
                "destinations:\n"
                "  tiktok:\n"
                "    type: tiktok_events\n"
                "    model: events\n"
                "    auth_method: access_token\n"
                "    access_token: \"{{ env_var('TIKTOK_ACCESS_TOKEN') }}\"\n"
                f"    event_source_id: {DEMO_PIXEL_CODE}\n"
                f"    api_base_url: {base_url}\n"
                "    thread_count: 1\n" + destination_extra
            ),
        },
    )


SKIP = "    skip_invalid_record: true\n"
NOTIFY = f"notify:\n  - url: \"{{{{ env_var('{HOOK_ENV}') }}}}\"\n"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, hook: Recorder) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv(HOOK_ENV, hook.url)


def _text(post: dict[str, Any]) -> str:
    return json.dumps(post)


@pytest.mark.usefixtures("env")
def test_a_failed_sync_is_posted_and_still_fails(
    tmp_path: Path, tiktok: SandboxServer, hook: Recorder
) -> None:
    root = project(tmp_path, tiktok.base_url, NOTIFY)
    # A row without an event name is invalid: the run stops before sending (a failure).
    (root / "models/events.sql").write_text(
        (root / "models/events.sql").read_text().replace("'Purchase' as event", "NULL as event")
    )
    with Project.load(root) as p, pytest.raises(InvalidRowsError):
        p.sync()
    ((path, body),) = hook.posts
    assert path == "/services/T000/B000/XYZsecret"
    assert set(body) == {"text", "blocks"}
    assert body["blocks"][0]["type"] == "section"
    text = _text(body)
    assert "project shop" in body["text"] and "failed" in body["text"]
    assert "invalid" in text  # the reason
    with Project.load(root) as p:
        (run,) = p.runs()
    assert run.run_id in body["text"]
    assert hook.url not in text and TOKEN not in text


@pytest.mark.usefixtures("env")
def test_a_platform_error_quoting_personal_data_is_masked_in_the_alert_and_report(
    tmp_path: Path, tiktok: SandboxServer, hook: Recorder
) -> None:
    """The platform's message went raw into the destination's error: the webhook's text,
    the run report and the console showed the e-mail and phone it quoted (an audit)."""
    root = project(tmp_path, tiktok.base_url, NOTIFY)
    tiktok.faults.script(("code", 40001, "no permission for alice@example.com +12125550101"))
    with Project.load(root) as p:
        report = p.sync()
    assert not report.ok
    ((_, body),) = hook.posts
    said = _text(body) + (report.results[0].error or "")
    said += (root / ".retl" / "runs").glob("*.json").__next__().read_text()
    assert "alice@example.com" not in said and "+12125550101" not in said
    assert "no permission for" in said


@pytest.mark.usefixtures("env")
def test_rejections_over_the_threshold_are_posted_with_counts(
    tmp_path: Path, tiktok: SandboxServer, hook: Recorder
) -> None:
    root = project(
        tmp_path, tiktok.base_url, NOTIFY, destination_extra="    skip_invalid_record: true\n"
    )
    tiktok.faults.script(("partial", [0]))  # TikTok rejects the first event (40002)
    with Project.load(root) as p:
        report = p.sync()
    (result,) = report.results
    assert result.rejected >= 1 and result.sent >= 1
    ((_, body),) = hook.posts
    assert "events rejected" in body["text"]
    assert "tiktok" in body["text"] and report.run_id in body["text"]
    fields = {
        f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in body["blocks"][1]["fields"]
    }
    assert fields["*Sent*"] == str(result.sent)
    assert fields["*Rejected*"] == str(result.rejected)
    assert "@example.com" not in _text(body)  # no PII


@pytest.mark.usefixtures("env")
def test_rejections_at_or_under_the_threshold_are_not_posted(
    tmp_path: Path, tiktok: SandboxServer, hook: Recorder
) -> None:
    notify = NOTIFY + "    rejections_above: '50%'\n"
    root = project(
        tmp_path, tiktok.base_url, notify, destination_extra="    skip_invalid_record: true\n"
    )
    tiktok.faults.script(("partial", [0]))
    with Project.load(root) as p:
        report = p.sync()
    assert report.results[0].rejected == 1
    assert hook.posts == []


@pytest.mark.usefixtures("env")
def test_a_match_coverage_drop_since_the_previous_run_is_posted(
    tmp_path: Path, tiktok: SandboxServer, hook: Recorder
) -> None:
    root = project(tmp_path, tiktok.base_url, NOTIFY)
    with Project.load(root) as p:
        first = p.sync()
    assert first.results[0].match_keys is not None
    assert first.results[0].match_keys.coverage == 1.0
    assert hook.posts == []  # a good run says nothing
    with Project.load(root, vars={"email": False}) as p:  # every row changes, without e-mail
        second = p.sync()
    assert second.ok and second.results[0].sent == 5
    ((_, body),) = hook.posts
    assert "match coverage dropped" in body["text"]
    assert "100% to 0%" in body["text"]
    assert second.run_id in body["text"] and first.run_id not in body["text"]


def test_coverage_is_compared_with_the_run_before_this_one(tmp_path: Path) -> None:
    """The history passed in decides (a stub: the facade passes destination_history)."""
    import datetime as dt

    from reverse_etl.config.project import WebhookConfig
    from reverse_etl.config.resolve import resolve_tree
    from reverse_etl.config.yaml_loader import LoadedYaml
    from reverse_etl.history.records import RunDestinationRecord
    from reverse_etl.notify.run import _previous_coverage
    from reverse_etl.notify.triggers import COVERAGE_DROP, alerts_for
    from reverse_etl.pipeline.report import SyncReport
    from reverse_etl.pipeline.send import DestinationResult

    class Cov:
        coverage = 0.9

    def record(run_id: str, coverage: float | None) -> RunDestinationRecord:
        at = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
        return RunDestinationRecord(
            run_id, "d", "TikTok", "m", at, 5, 5, 0, 0, 0, 0, coverage, None
        )

    raw = {"url": "{{ env_var('X') }}", "coverage_drop_points": 5}
    loaded = LoadedYaml(tmp_path / "retl_project.yml", {"notify": [raw]})
    hook = WebhookConfig.model_validate(resolve_tree(loaded, raw, ("notify", 0)))
    report = SyncReport(plans=[], sandbox=False, run_id="now")
    report.results.append(DestinationResult("d", "m", "web", sent=5, match_keys=Cov()))  # type: ignore[arg-type]
    console = Warnings()

    def alerts(history: list[RunDestinationRecord]) -> list[str]:
        prev = _previous_coverage(lambda d, n: history, "now", console)  # type: ignore[arg-type]
        return [a.kind for a in alerts_for(report, hook, prev, failed=False)]

    assert alerts([record("a", 0.99), record("now", 0.9)]) == [COVERAGE_DROP]  # 9 points
    assert alerts([record("a", 0.94), record("now", 0.9)]) == []  # 4 points
    assert alerts([record("now", 0.9)]) == []  # a first run has nothing to compare
    assert alerts([record("a", None), record("now", 0.9)]) == []


def test_the_alert_writes_coverage_as_the_sync_summary_does(tmp_path: Path) -> None:
    """Rounded down, as everywhere (shared/text.percent): the alert said 67% for 2 of 3 rows
    where the summary said 66.6%, and 76% for 75.5%."""
    from reverse_etl.config.project import WebhookConfig
    from reverse_etl.config.resolve import resolve_tree
    from reverse_etl.config.yaml_loader import LoadedYaml
    from reverse_etl.notify.message import slack_message
    from reverse_etl.notify.triggers import alerts_for
    from reverse_etl.pipeline.report import SyncReport
    from reverse_etl.pipeline.send import DestinationResult

    class Cov:
        coverage = 2 / 3

    raw = {"url": "{{ env_var('X') }}", "coverage_drop_points": 1}
    loaded = LoadedYaml(tmp_path / "retl_project.yml", {"notify": [raw]})
    hook = WebhookConfig.model_validate(resolve_tree(loaded, raw, ("notify", 0)))
    report = SyncReport(plans=[], sandbox=False, run_id="now")
    report.results.append(DestinationResult("d", "m", "web", sent=3, match_keys=Cov()))  # type: ignore[arg-type]
    alerts = alerts_for(report, hook, lambda d: 0.755, failed=False)
    (alert,) = alerts
    assert "fell from 75.5% to 66.6%" in alert.reason, alert.reason
    fields = json.dumps(slack_message("shop", report, alerts)["blocks"])
    assert "*Match coverage*\\n66.6%" in fields, fields


@pytest.mark.parametrize("answer", ["refused", "500"])
def test_a_webhook_that_fails_is_a_warning_never_a_failed_sync(
    answer: str,
    tmp_path: Path,
    tiktok: SandboxServer,
    hook: Recorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", TOKEN)
    if answer == "refused":
        with socket.socket() as s:  # a port nothing listens on
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        url = f"http://127.0.0.1:{port}/hooks/XYZsecret"
    else:
        hook.status = 500
        url = hook.url
    monkeypatch.setenv(HOOK_ENV, url)
    notify = NOTIFY + "    name: team-alerts\n"
    root = project(
        tmp_path, tiktok.base_url, notify, destination_extra="    skip_invalid_record: true\n"
    )
    tiktok.faults.script(("partial", [0]))
    console = Warnings()
    with Project.load(root, console=console) as p:  # type: ignore[arg-type]
        report = p.sync()
    assert report.results[0].rejected == 1 and report.results[0].sent == 4
    warned = [line for line in console.lines if "webhook" in line]
    assert len(warned) == 1
    assert warned[0].startswith("warning: webhook team-alerts was not notified: ")
    assert ("could not connect" if answer == "refused" else "HTTP 500") in warned[0]
    assert "XYZsecret" not in "\n".join(console.lines)
    assert len(hook.posts) == (1 if answer == "500" else 0)


def test_a_failed_webhook_leaves_the_exit_code_of_the_cli(
    tmp_path: Path, tiktok: SandboxServer, monkeypatch: pytest.MonkeyPatch, cli: Any
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/hooks/XYZsecret"
    root = project(tmp_path, tiktok.base_url, NOTIFY)
    (root / "models/events.sql").write_text(
        (root / "models/events.sql").read_text().replace("'Purchase' as event", "NULL as event")
    )
    env = {"TIKTOK_ACCESS_TOKEN": TOKEN, HOOK_ENV: url}
    result = cli("sync", "--project-dir", root, env=env)
    assert result.returncode == 1  # the sync's own failure, not the webhook's
    assert "webhook notify[0] was not notified: could not connect" in result.stderr
    assert "XYZsecret" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    ok = project(tmp_path / "ok", tiktok.base_url, NOTIFY)
    assert cli("sync", "--project-dir", ok, env=env).returncode == 0  # nothing to notify


@pytest.mark.parametrize(
    ("notify", "key", "says"),
    [
        ("notify:\n  - url: https://hooks.slack.com/services/T/B/XYZsecret\n", "url", "env_var"),
        ("notify:\n  - url: \"{{ env_var('H') }}\"\n    on: [failures]\n", "on", "failure"),
        # Hightouch's and Airflow's word for a run the last one's lock refused: retl's is
        # `refused`, as `retl runs` lists it
        (
            "notify:\n  - url: \"{{ env_var('H') }}\"\n    on: [failure, skipped]\n",
            "on",
            "write refused",
        ),
        (
            "notify:\n  - url: \"{{ env_var('H') }}\"\n    rejections_above: lots\n",
            "rejections_above",
            "2%",
        ),
        # A URL built around a variable would send any secret (the ad platform's token) to
        # a host the project chose; the whole URL must be the variable.
        (
            "notify:\n  - url: \"https://x.example/?t={{ env_var('TIKTOK_ACCESS_TOKEN') }}\"\n",
            "url",
            "exactly one variable",
        ),
        (
            "notify:\n  - url: \"{{ env_var('H', 'https://x.example/XYZsecret') }}\"\n",
            "url",
            "no default",
        ),
        ("notify:\n  - url: \"{{ env_var('H') }}/{{ env_var('A') }}\"\n", "url", "no text"),
    ],
)
def test_bad_notify_config_is_a_located_error(
    tmp_path: Path, notify: str, key: str, says: str
) -> None:
    root = project(tmp_path, "http://127.0.0.1:9", "\n" + notify)
    with pytest.raises(ConfigError) as info:
        Project.load(root)
    (problem,) = info.value.problems
    assert problem.key is not None and problem.key.startswith(f"notify[0].{key}")
    assert problem.file is not None and str(problem.file).endswith("retl_project.yml")
    assert problem.line == 6 if key == "url" else problem.line is not None
    assert says in problem.render()
    assert "XYZsecret" not in problem.render()  # a literal URL is not quoted back


def test_the_webhook_variable_is_a_secret_models_cannot_read(tmp_path: Path) -> None:
    """A model that reads the webhook's variable is refused, as for a token's variable."""
    from reverse_etl.errors import RetlError

    root = project(tmp_path, "http://127.0.0.1:9", NOTIFY)
    (root / "models/leak.sql").write_text(f"select '{{{{ env_var('{HOOK_ENV}') }}}}' as u")
    with Project.load(root) as p, pytest.raises(RetlError) as info:
        p.compile(["leak"])
    assert HOOK_ENV in info.value.message


@pytest.mark.parametrize("trickle", [False, True])
def test_a_webhook_that_never_answers_is_said_with_the_limit_that_stopped_it(
    trickle: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Silent: each read's limit (TIMEOUT) ends it. Trickling one byte at a time: no read
    waits long, so the whole request's DEADLINE does (the message said DEADLINE for both)."""
    from pydantic import SecretStr

    from reverse_etl.notify import post

    # Silent: the 1-second read limit ends it, long before the 30-second whole. Trickling:
    # no read waits long enough for the 1-second limit, so the 3-second whole does (a
    # deadline below the read limit would say "whole" whatever the server did).
    monkeypatch.setattr(post, "TIMEOUT", 1.0)
    monkeypatch.setattr(post, "DEADLINE", 3.0 if trickle else 30.0)
    stop = threading.Event()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            while not stop.is_set():
                if trickle:
                    conn.sendall(b"H")  # a status line that never ends
                stop.wait(0.05)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        url = SecretStr(f"http://127.0.0.1:{listener.getsockname()[1]}/hooks/Trickle1")
        said = post.post_message(url, {"text": "x"})
    finally:
        stop.set()
        thread.join(5)
        listener.close()
    assert said == ("no whole answer within 3 seconds" if trickle else "no answer within 1 seconds")


def test_a_webhook_whose_variable_is_not_set_is_named_at_its_project_file(
    tmp_path: Path, tiktok: SandboxServer, hook: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The warning named /home/me/shop/retl_project.yml:4, where every other message of the
    # command says retl_project.yml:4.
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", TOKEN)
    monkeypatch.delenv(HOOK_ENV, raising=False)
    root = project(tmp_path, tiktok.base_url, NOTIFY)
    (root / "models/events.sql").write_text(
        (root / "models/events.sql").read_text().replace("'Purchase' as event", "NULL as event")
    )
    console = Warnings()
    with Project.load(root, console=console) as p, pytest.raises(InvalidRowsError):  # type: ignore[arg-type]
        p.sync()
    [warned] = [line for line in console.lines if "webhook" in line]
    assert warned.startswith("warning: webhook notify[0] was not called: retl_project.yml:"), warned
    assert hook.posts == []


# --- a run refused because the last one still holds the state (exit 75) ---------------------
_HOLD = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])  # read-write: DuckDB locks the file
print("holding", flush=True)
sys.stdin.read()
"""


@pytest.mark.parametrize("on", ["", "    on: [failure, refused]\n"])
@pytest.mark.usefixtures("env")
def test_a_run_the_lock_refused_is_no_failure_alert(
    on: str, tmp_path: Path, tiktok: SandboxServer, hook: Recorder
) -> None:
    """A 15-minute schedule whose sync takes 40 minutes posted a failure every 15 minutes:
    a refused run is no failure; a webhook that asks for ``refused`` hears of it as such."""
    from reverse_etl.errors import EXIT_LOCKED, LockHeldError
    from reverse_etl.state.lock import SyncLock

    root = project(tmp_path, tiktok.base_url, NOTIFY + on)
    with Project.load(root) as p:
        state = p.state_file()
    with SyncLock(state), Project.load(root) as p, pytest.raises(LockHeldError) as info:
        p.sync()  # the real lock, held by "the last sync" (this test)
    assert info.value.exit_code == EXIT_LOCKED
    with Project.load(root) as p:
        (run,) = p.runs()
    assert run.status == "refused"
    if not on:
        assert hook.posts == []  # the default on: is failure, rejections, coverage_drop
        return
    ((_, body),) = hook.posts
    assert "sync refused" in body["text"] and "failed" not in body["text"]
    assert "another retl sync is running on this state" in body["text"]
    assert run.run_id in body["text"]


@pytest.mark.slow
def test_a_state_file_another_process_holds_is_a_refused_run_exit_75(
    tmp_path: Path, tiktok: SandboxServer, hook: Recorder
) -> None:
    """StateInUseError (DuckDB's own lock, held here by a real second process) exited 1
    and posted a failure: the same "try again later" as the lock's, exit 75, reason in_use."""
    import subprocess
    import sys

    import orjson

    from .conftest import invoke_cli

    root = project(tmp_path, tiktok.base_url, NOTIFY)
    env = {"TIKTOK_ACCESS_TOKEN": TOKEN, HOOK_ENV: hook.url}
    assert invoke_cli("sync", "--project-dir", root, env=env).returncode == 0
    with Project.load(root) as p:
        state = p.state_file()
    with subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(state)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        synced = invoke_cli("sync", "--project-dir", root, "--format", "json", env=env)
        reset = invoke_cli("state", "reset", "--project-dir", root, "--yes", "--format", "json")
        plan = invoke_cli("plan", "--project-dir", root, "--format", "json", env=env)
        assert holder.stdin is not None
        holder.stdin.close()
    # plan only reads the state: it reads a copy, as while a retl sync holds it
    assert plan.returncode == 0, plan.stderr
    warnings = [w["message"] for w in orjson.loads(plan.stdout)["warnings"]]
    assert any(
        f"another program has the state database open (PID {holder.pid})" in w for w in warnings
    )
    for result in (synced, reset):
        assert result.returncode == 75, (result.returncode, result.stderr)
        doc = orjson.loads(result.stdout)
        assert (doc["ok"], doc["reason"]) == (False, "in_use"), doc
        assert f"in use by another process (PID {holder.pid})" in doc["error"]
        assert "Traceback" not in result.stderr
    assert hook.posts == []  # no failure alert
    runs = invoke_cli("runs", "--project-dir", root, "--format", "json")
    statuses = [r["status"] for r in orjson.loads(runs.stdout)["runs"]]
    assert statuses[:2] == ["refused", "ok"], statuses


# --- a run refused by a sync that has held the state too long (it may be hung) -------------
@pytest.mark.parametrize(
    ("held", "settings", "kinds"),
    [
        (dt.timedelta(hours=4), "", ["blocked: the last sync may be hung"]),
        (dt.timedelta(hours=2), "", []),  # the default stuck_after is 3h
        (
            dt.timedelta(minutes=50),
            "    stuck_after: 45m\n",
            ["blocked: the last sync may be hung"],
        ),
        (dt.timedelta(days=9), "    stuck_after: null\n", []),
        (
            dt.timedelta(hours=4),
            "    on: [failure, refused]\n",
            ["blocked: the last sync may be hung", "refused"],
        ),
        (dt.timedelta(hours=4), "    on: [refused]\n", ["refused"]),
    ],
)
@pytest.mark.usefixtures("env")
def test_a_run_refused_by_a_sync_holding_the_state_past_stuck_after_is_a_failure_alert(
    held: dt.timedelta,
    settings: str,
    kinds: list[str],
    tmp_path: Path,
    tiktok: SandboxServer,
    hook: Recorder,
) -> None:
    """A hung sync keeps the lock, and every run after it is refused (exit 75), which is no
    failure: nobody heard of it. A refusal by a holder older than ``stuck_after`` is said to
    the webhooks of failures, with how long it has held the state."""
    from reverse_etl.errors import LockHeldError
    from reverse_etl.state.lock import SyncLock

    root = project(tmp_path, tiktok.base_url, NOTIFY + settings)
    with Project.load(root) as p:
        state = p.state_file()
    with SyncLock(state):  # the real lock, "the last sync" (this test), begun `held` ago
        info = state.with_name(state.name + ".lock.info")
        began = (dt.datetime.now(dt.timezone.utc) - held).isoformat(timespec="seconds")
        first, _, rest = info.read_text(encoding="utf-8").partition("\n")
        info.write_text(re.sub(r"since \S+$", f"since {began}", first) + "\n" + rest)
        with Project.load(root) as p, pytest.raises(LockHeldError) as caught:
            p.sync()
    assert caught.value.held_since is not None
    if not kinds:
        assert hook.posts == []
        return
    ((_, body),) = hook.posts
    sections = [b["text"]["text"] for b in body["blocks"] if b["type"] == "section"][1:]
    assert [s.split("\n")[0].removeprefix("*the run*: ") for s in sections] == kinds
    if kinds[0].startswith("blocked"):
        said = "for 4 h " if held >= dt.timedelta(hours=1) else "for 5"  # 50 min and on
        assert f"has held the state {said}" in sections[0], sections[0]
        assert "another retl sync is running on this state (pid" in sections[0]
        assert "stop it (a killed sync releases the lock" in sections[0]


def test_stuck_after_is_a_duration_or_null(tmp_path: Path, tiktok: SandboxServer) -> None:
    """A stuck_after that is no duration is a located error that says how to write one."""
    root = project(tmp_path, tiktok.base_url, NOTIFY + "    stuck_after: 3 hours\n")
    with pytest.raises(ConfigError) as caught:
        Project.load(root)
    (problem,) = caught.value.problems
    assert problem.key == "notify[0].stuck_after"
    assert "'90m', '3h', '1d'" in problem.message
