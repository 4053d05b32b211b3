"""retl sync end to end: real DuckDB, real HTTP on loopback against the sandbox emulator."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import orjson
import pytest

from reverse_etl.errors import InvalidRowsError
from reverse_etl.project import Project
from reverse_etl.sandbox import (
    DEMO_ADVERTISER_ID,
    DEMO_PIXEL_CODE,
    SandboxOptions,
    SandboxServer,
    SandboxWorld,
)

from .conftest import SANDBOX_TOKEN, cli_env, invoke_cli, write_project

REPO = Path(__file__).resolve().parents[1]
SECRET = SANDBOX_TOKEN  # the token the sandbox `server` fixture (conftest.py) accepts
NOW = int(time.time()) - 3600


def events_project(
    root: Path,
    base_url: str,
    *,
    rows: int = 5,
    extra: str = "",
    select: str | None = None,
) -> Path:
    model = select or (
        "select 'Purchase' as event, 'order-' || i as event_id, "
        f"{NOW} - i as event_time, 'user' || i || '@example.com' as email, "
        "i * 1.5 as value, 'USD' as currency "
        f"from range({rows}) t(i)"
    )
    return write_project(
        root,
        {
            "models/events.sql": model,
            "destinations.yml": "\n".join(
                [
                    "destinations:",
                    "  tiktok:",
                    "    type: tiktok_events",
                    "    model: events",
                    "    auth_method: access_token",
                    "    access_token: \"{{ env_var('TIKTOK_ACCESS_TOKEN') }}\"",
                    f"    event_source_id: {DEMO_PIXEL_CODE}",
                    f"    api_base_url: {base_url}",
                    "    thread_count: 3",
                ]
            )
            + "\n"
            + textwrap_indent(extra),
        },
    )


def textwrap_indent(extra: str) -> str:
    return "".join(f"    {line}\n" for line in extra.strip().splitlines()) if extra else ""


def copy_demo(tmp_path: Path) -> Path:
    """The repository's demo project, copied so that its state lands in tmp_path."""
    target = tmp_path / "demo"
    for name in ("retl_project.yml", "destinations.yml", "models", "data"):
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, target / name)
        else:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, target / name)
    return target


def test_demo_project_syncs_to_the_sandbox(tmp_path: Path) -> None:
    with Project.load(copy_demo(tmp_path)) as project:
        report = project.sync(sandbox=True)
    assert report.ok
    (result,) = report.results
    assert result.sent == result.rows_total == 6
    assert result.event_source_id == DEMO_PIXEL_CODE
    assert report.sandbox_summary["events_accepted"] == 6


def test_a_stop_at_a_rejected_event_says_why_and_counts_every_row_left_unsent(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With skip_invalid_record false, a rejected event stops the run. The result said only
    "invalid", and counted as not attempted only the batches queued when it stopped (0 here,
    for 2000 rows never sent): the run report said every row was accounted for (an audit)."""
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    root = events_project(tmp_path, server.base_url, rows=3000)
    config = root / "destinations.yml"
    config.write_text(config.read_text().replace("thread_count: 3", "thread_count: 1"))
    server.faults.script(("partial", [0, 3]))  # the first request: 2 of its events rejected
    with Project.load(root) as project:
        report = project.sync()
    (result,) = report.results
    assert not report.ok
    assert (result.sent, result.rejected, result.not_attempted) == (998, 2, 2000)
    assert result.error is not None
    assert "TikTok rejected 2 event(s) and skip_invalid_record is false" in result.error
    assert "2000 event(s) not sent (the next sync sends them)" in result.error
    assert "skip_invalid_record: true" in result.error


def test_sync_sends_every_row_over_http(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    with Project.load(events_project(tmp_path, server.base_url, rows=2500)) as project:
        report = project.sync()
    assert report.ok
    assert report.results[0].sent == 2500
    assert report.results[0].requests == 3  # 1000 + 1000 + 500
    assert server.stats.events_accepted == 2500
    assert server.stats.max_batch_size == 1000
    assert server.stats.max_in_flight <= 3
    events = server.events()
    assert {e["data"]["event_id"] for e in events} == {f"order-{i}" for i in range(2500)}


@pytest.mark.slow
def test_secret_never_printed_and_progress_and_summary_shown(
    server: SandboxServer, tmp_path: Path
) -> None:
    project = events_project(tmp_path, server.base_url, rows=20)
    env = {"TIKTOK_ACCESS_TOKEN": SECRET}
    for args in (("sync", "--debug"), ("sync", "--format", "json"), ("plan",), ("validate",)):
        proc = invoke_cli(*args, "--project-dir", project, env=env)
        assert proc.returncode == 0, proc.stderr
        assert SECRET not in proc.stdout + proc.stderr
    text = invoke_cli("sync", "--project-dir", project, "--full-refresh", "--yes", env=env)
    assert "20/20 events sent" in text.stderr  # the plain progress line (not a terminal)
    assert "sync summary" in text.stdout and " ok" in text.stdout
    assert "\x1b[" not in text.stdout + text.stderr
    # a wrong token: one clear message, exit 1, no token anywhere
    bad = invoke_cli(
        "sync",
        "--project-dir",
        project,
        "--debug",
        "--full-refresh",
        "--yes",
        env={"TIKTOK_ACCESS_TOKEN": SECRET + "-wrong"},
    )
    assert bad.returncode == 1
    assert "access token" in (bad.stdout + bad.stderr).lower()
    assert "re-authorise" in bad.stdout + bad.stderr
    # said as an error naming the key to fix, as `retl check` does (it was a "warning:")
    assert "error: tiktok: " in bad.stderr and "warning: tiktok: Access" not in bad.stderr
    assert "destinations.tiktok.access_token: TikTok rejected the access token" in bad.stderr
    assert SECRET not in bad.stdout + bad.stderr
    assert "Traceback" not in bad.stderr


@pytest.mark.slow
def test_missing_token_is_a_clear_error_but_plan_needs_none(
    server: SandboxServer, tmp_path: Path
) -> None:
    project = events_project(tmp_path, server.base_url)
    plan = invoke_cli("plan", "--project-dir", project, "--format", "json")
    assert plan.returncode == 0, plan.stderr
    doc = orjson.loads(plan.stdout)
    assert doc["destinations"][0]["rows"]["valid"] == 5
    assert doc["destinations"][0]["samples"][0]["user"]["email"]  # hashed sample payload
    sync = invoke_cli("sync", "--project-dir", project)
    assert sync.returncode == 1
    assert "TIKTOK_ACCESS_TOKEN is not set" in sync.stderr
    assert "destinations.yml" in sync.stderr
    assert server.stats.track_requests == 0


def test_invalid_rows_stop_before_anything_is_sent(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    bad = (
        f"select 'Purchase' as event, 'o' || i as event_id, {NOW} as event_time, "
        "substr('USDXYZ', case when i = 3 then 4 else 1 end, 3) as currency from range(10) t(i)"
    )
    project = events_project(tmp_path, server.base_url, select=bad)
    with Project.load(project) as p, pytest.raises(InvalidRowsError) as info:
        p.sync()
    assert "1 of 10 rows are invalid" in str(info.value)
    assert "currency 'XYZ'" in str(info.value)
    assert server.stats.track_requests == 0
    # skip_invalid_record: true sends the nine others and lists the skipped one
    project = events_project(
        tmp_path / "skip", server.base_url, select=bad, extra="skip_invalid_record: true"
    )
    with Project.load(project) as p:
        report = p.sync()
    assert report.ok
    assert report.results[0].sent == 9
    assert report.results[0].rows_invalid == 1
    assert report.results[0].invalid_reasons[0][1] == 1


@pytest.mark.parametrize("skip", [True, False])
def test_bisection_isolates_a_row_tiktok_rejects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, skip: bool
) -> None:
    # The emulator is set to refuse events older than a day; retl only warns about them, so
    # TikTok's 40002 must be bisected down to the one old event.
    world = SandboxWorld.demo()
    world.add_token(SECRET, [DEMO_ADVERTISER_ID])
    options = SandboxOptions(max_event_age_seconds=86400)
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    model = (
        f"select 'Lead' as event, 'e' || i as event_id, "
        f"case when i = 617 then {NOW - 10 * 86400} else {NOW} end as event_time "
        "from range(1000) t(i)"
    )
    with SandboxServer(world, options=options) as srv:
        project = events_project(
            tmp_path, srv.base_url, select=model, extra=f"skip_invalid_record: {str(skip).lower()}"
        )
        with Project.load(project) as p:
            report = p.sync()
        result = report.results[0]
        if skip:
            assert report.ok
            assert result.sent == 999 and result.rejected == 1
            assert result.rejected_rows[0].key == "e617"
            assert srv.stats.events_accepted == 999
            assert result.bisections >= 1
            assert result.requests <= 2 * 10 + 2  # ~2 log2(n), not n
        else:
            assert not report.ok
            assert result.rejected == 1
            assert srv.stats.events_accepted + result.not_attempted + 1 >= 999


def test_limit_sends_a_canary(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    with Project.load(events_project(tmp_path, server.base_url, rows=50)) as p:
        report = p.sync(limit=7)
    assert report.results[0].sent == 7
    assert server.stats.events_accepted == 7


def test_retries_on_rate_limits_lose_nothing(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    from reverse_etl.sandbox import CodeFault, DropFault, HttpFault

    server.faults.script(CodeFault(40100), HttpFault(503), DropFault(), CodeFault(50002))
    from reverse_etl.delivery.retry import RetryPolicy

    with Project.load(events_project(tmp_path, server.base_url, rows=3000)) as p:
        p.retry_policy = RetryPolicy(base_delay=0.01, max_delay=0.05)
        (result,) = p.sync().results
    assert result.ok
    assert result.retries == 4
    assert server.stats.events_accepted == 3000


@pytest.mark.slow
def test_oauth_cli_then_sync_with_stored_token(tmp_path: Path) -> None:
    creds = tmp_path / "creds" / "credentials.json"
    with SandboxServer(SandboxWorld.demo()) as srv:
        env = cli_env({"RETL_CREDENTIALS_FILE": str(creds)})
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "reverse_etl",
                "auth",
                "tiktok",
                "--app-id",
                "sandbox-app",
                "--api-base-url",
                srv.base_url,
                "--port",
                "0",
                "--no-browser",
                "--timeout",
                "60",
            ],
            env={**env, "TIKTOK_APP_SECRET": "sandbox-secret"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        url = ""
        for line in proc.stdout:
            if line.startswith("http"):
                url = line.strip()
                break
        assert "/portal/auth?" in url
        # the test is the browser: follow TikTok's redirect to the local callback
        threading.Thread(
            target=lambda: httpx.get(url, follow_redirects=True, timeout=30), daemon=True
        ).start()
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "token stored in" in out and DEMO_ADVERTISER_ID in out
        assert "sandbox-secret" not in out + err
        assert oct(creds.stat().st_mode & 0o777) == "0o600"

        project = write_project(
            tmp_path / "p",
            {
                "models/events.sql": (
                    f"select 'Lead' as event, 'x' as event_id, {NOW} as event_time"
                ),
                "destinations.yml": f"""
                destinations:
                  t:
                    type: tiktok_events
                    model: events
                    auth_method: oauth
                    event_data_source: WEB
                    target_event_source: NEW
                    event_source_name: retl pixel
                    advertiser_id: "{DEMO_ADVERTISER_ID}"
                    api_base_url: {srv.base_url}
            """,
            },
        )
        sync = invoke_cli(
            "sync",
            "--project-dir",
            project,
            "--format",
            "json",
            env={"RETL_CREDENTIALS_FILE": str(creds)},
        )
        assert sync.returncode == 0, sync.stderr
        doc = orjson.loads(sync.stdout)
        assert doc["destinations"][0]["event_source_resolved"] == "created"
        assert srv.stats.events_accepted == 1
        again = invoke_cli(
            "sync",
            "--project-dir",
            project,
            "--format",
            "json",
            env={"RETL_CREDENTIALS_FILE": str(creds)},
        )
        assert orjson.loads(again.stdout)["destinations"][0]["event_source_resolved"] == "found"
        assert (
            len([p for p in srv.world.pixels(DEMO_ADVERTISER_ID) if p.pixel_name == "retl pixel"])
            == 1
        )
    assert not os.environ.get("TIKTOK_APP_SECRET")


@pytest.mark.slow
def test_plan_text_lists_invalid_rows_and_json_keeps_notices_in_its_warnings(
    server: SandboxServer, tmp_path: Path
) -> None:
    model = (
        f"select 'Lead' as event, 'k' || i as event_id, {NOW} as event_time, "
        "case when i = 2 then 'not a phone' end as phone from range(4) t(i)"
    )
    project = events_project(
        tmp_path,
        server.base_url,
        select=model,
        extra="event_data_source: CRM\nskip_invalid_record: true",
    )
    # CRM needs lead_id: add it, so the only invalid row is the phone one
    (project / "models" / "events.sql").write_text(
        model.replace("from range", ", 'L' || i as lead_id from range"), encoding="utf-8"
    )
    text = invoke_cli("plan", "--project-dir", project)
    assert text.returncode == 0, text.stderr
    assert "invalid rows" in text.stdout and "k2" in text.stdout
    assert "phone is not a valid phone number" in text.stdout
    doc = invoke_cli("plan", "--project-dir", project, "--format", "json")
    document = orjson.loads(doc.stdout)
    assert document["destinations"][0]["rows"]["invalid"] == 1
    # the notices are in the document's warnings (a CI step reads them there), not on stderr
    assert any("CRM event sources are less proven" in w["message"] for w in document["warnings"])
    assert "CRM event sources" not in doc.stderr


def test_oauth_falls_back_to_the_stored_token_when_the_variable_is_unset(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pydantic import SecretStr

    from reverse_etl.destinations.tiktok.auth import Credentials, CredentialsStore

    creds = tmp_path / "credentials.json"
    monkeypatch.setenv("RETL_CREDENTIALS_FILE", str(creds))
    monkeypatch.delenv("TIKTOK_ACCESS_TOKEN", raising=False)
    project = events_project(tmp_path / "p", server.base_url)
    yml = (project / "destinations.yml").read_text(encoding="utf-8")
    (project / "destinations.yml").write_text(
        yml.replace("auth_method: access_token", "auth_method: oauth"), encoding="utf-8"
    )
    with Project.load(project) as p, pytest.raises(Exception, match="TIKTOK_ACCESS_TOKEN"):
        p.sync()
    issued = Credentials(
        SecretStr(SECRET), (DEMO_ADVERTISER_ID,), (), "app", "2026-11-29", server.base_url
    )  # by the API the destination sends to: a stored token goes nowhere else
    CredentialsStore(creds).save("app", issued)
    with Project.load(project) as p:
        assert p.sync().ok
    assert server.stats.events_accepted == 5


def test_duplicate_keys_make_every_copy_invalid(server: SandboxServer, tmp_path: Path) -> None:
    model = (
        f"select 'Lead' as event, case when i < 2 then 'same' else 'k' || i end as event_id, "
        f"{NOW} as event_time from range(5) t(i)"
    )
    with Project.load(events_project(tmp_path, server.base_url, select=model)) as p:
        (plan,) = p.plan()
    assert (plan.rows_invalid, plan.rows_to_send) == (2, 3)
    assert plan.invalid_reasons == (("duplicate primary key", 2),)
    assert [r.key for r in plan.invalid_rows] == ["same", "same"]


def test_uuid_columns_are_sent_as_their_text(tmp_path: Path) -> None:
    """DuckDB hands a UUID to Arrow as text, so the encoder took it for text, but DuckDB's
    string functions take no UUID: an event_id, an order_id or an external_id of type UUID
    (a Parquet file's UUID column, gen_random_uuid()) failed the whole encode with a binder
    error. They are sent as the UUID's text, a list of them too, and a re-sync finds them
    unchanged."""
    import hashlib

    uid = "8a3b0f7e-9c1d-4e2a-b7f3-0123456789ab"
    root = write_project(
        tmp_path,
        {
            "retl_project.yml": "name: u\n",
            "destinations.yml": """
                destinations:
                  d:
                    type: tiktok_events
                    model: ev
                    access_token: x
                    event_source_id: X
                """,
            "models/ev.sql": f"""
                select cast('{uid}' as uuid) as event_id, cast('{uid}' as uuid) as order_id,
                  'Purchase' as event, timestamp '2026-12-01 10:00:00' as event_time,
                  cast('{uid.upper()}' as uuid) as external_id,
                  'https://x.example' as page_url
                """,
        },
    )
    with Project.load(root) as project:
        (plan,) = project.plan(sandbox=True)
        (sample,) = plan.samples
        event = sample
        assert event["event_id"] == uid and event["properties"]["order_id"] == uid
        assert event["user"]["external_id"] == hashlib.sha256(uid.encode()).hexdigest()
        first = project.sync(sandbox=True)
        assert [(r.sent, r.rejected) for r in first.results] == [(1, 0)]
        (again,) = project.plan(sandbox=True)
        assert (again.rows_changed, again.rows_unchanged) == (0, 1)
    (root / "models/ev.sql").write_text(
        (root / "models/ev.sql")
        .read_text()
        .replace(
            f"cast('{uid.upper()}' as uuid) as external_id",
            f"[cast('{uid}' as uuid)] as external_id",
        )
    )
    with Project.load(root) as project:
        (plan,) = project.plan(sandbox=True)
        (sample,) = plan.samples
        assert sample["user"]["external_id"] == [hashlib.sha256(uid.encode()).hexdigest()]
