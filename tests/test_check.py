"""retl check: token, advertiser and event source through TikTok's read APIs, no event sent.

Real HTTP on loopback against the emulator; the CLI in-process except for one subprocess case
(the missing token, where "no traceback" is about the real process's stderr).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from reverse_etl.check import DestinationCheck
from reverse_etl.delivery.retry import RetryPolicy
from reverse_etl.destinations.tiktok import sources
from reverse_etl.destinations.tiktok.auth import Credentials, CredentialsStore
from reverse_etl.destinations.tiktok.check import _retrying
from reverse_etl.errors import TransientDestinationError
from reverse_etl.project import Project
from reverse_etl.sandbox import (
    DEMO_ADVERTISER_ID,
    DEMO_CRM_SET_ID,
    DEMO_OFFLINE_SET_ID,
    DEMO_PIXEL_CODE,
    DEMO_TIKTOK_APP_ID,
    SandboxServer,
    SandboxWorld,
)

from .conftest import CliResult, RunCli, write_project

SECRET = "tok-CHECK-8d1e4b77a0c3"
OTHER_ADVERTISER = "7000000000000000002"
MODEL = "select 'Purchase' as event, 'o-1' as event_id, 1700000000 as event_time"


@pytest.fixture(autouse=True)
def _private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may read (or write) the real user's stored OAuth token."""
    monkeypatch.setenv("RETL_CREDENTIALS_FILE", str(tmp_path / "home" / "creds.json"))
    monkeypatch.delenv("TIKTOK_ACCESS_TOKEN", raising=False)


@pytest.fixture
def world() -> SandboxWorld:
    world = SandboxWorld.demo()
    world.add_advertiser(OTHER_ADVERTISER, "Someone else")
    world.add_token(SECRET, [DEMO_ADVERTISER_ID])
    return world


@pytest.fixture
def server(world: SandboxWorld) -> Iterator[SandboxServer]:
    with SandboxServer(world) as srv:
        yield srv


def project(root: Path, base_url: str, **settings: str) -> Path:
    """A one-destination project ('tiktok') whose settings default to a good WEB pixel."""
    values = {
        "auth_method": "access_token",
        "access_token": "\"{{ env_var('TIKTOK_ACCESS_TOKEN') }}\"",
        "advertiser_id": f'"{DEMO_ADVERTISER_ID}"',
        "event_source_id": DEMO_PIXEL_CODE,
        "api_base_url": base_url,
        **settings,
    }
    lines = ["destinations:", "  tiktok:", "    type: tiktok_events", "    model: events"]
    lines += [f"    {k}: {v}" for k, v in values.items() if v != ""]
    files = {"models/events.sql": MODEL, "destinations.yml": "\n".join(lines) + "\n"}
    return write_project(root, files)


def check(root: Path, *, sandbox: bool = False) -> DestinationCheck:
    with Project.load(root) as p:
        (result,) = p.check(sandbox=sandbox)
    return result


def statuses(result: DestinationCheck) -> dict[str, str]:
    return {i.check: i.status for i in result.items}


def failed(result: DestinationCheck) -> dict[str, tuple[str | None, str | None]]:
    return {i.check: (i.key, i.hint) for i in result.items if i.status == "failed"}


def no_event_reached(server: SandboxServer) -> bool:
    summary = server.stats.snapshot()
    return summary["track_requests"] == 0 and summary["events_received"] == 0


# --- the command line ----------------------------------------------------------------------


def test_all_good_exits_0_and_sends_no_event(
    server: SandboxServer, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    root = project(tmp_path, server.base_url)
    result = cli("check", "--project-dir", root, env={"TIKTOK_ACCESS_TOKEN": SECRET})
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(" - ")[0] for line in lines[:3]] == [
        "tiktok: token ok",
        "tiktok: advertiser ok",
        "tiktok: event_source ok",
    ]
    assert DEMO_PIXEL_CODE in lines[2] and lines[-1].startswith("check ok")
    assert no_event_reached(server)
    assert server.stats.requests_by_endpoint() == {"pixel/list/": 1}
    assert SECRET not in result.stdout + result.stderr


def test_unknown_pixel_fails_naming_event_source_id(
    server: SandboxServer, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    root = project(tmp_path, server.base_url, event_source_id="CWRONGPIXEL000000001")
    result = cli("check", "--project-dir", root, env={"TIKTOK_ACCESS_TOKEN": SECRET})
    assert result.returncode == 1
    (line,) = [x for x in result.stdout.splitlines() if "FAILED -" in x]
    assert line.startswith("tiktok: event_source FAILED - no pixel CWRONGPIXEL000000001")
    assert "fix destinations.tiktok.event_source_id in destinations.yml" in line
    assert no_event_reached(server)


@pytest.mark.slow
def test_missing_token_names_the_variable_without_traceback(
    server: SandboxServer, tmp_path: Path, run_cli: RunCli
) -> None:
    root = project(tmp_path, server.base_url)
    result = run_cli("check", "--project-dir", root)  # cli_env drops TIKTOK_ACCESS_TOKEN
    assert result.returncode == 1
    out = result.stdout + result.stderr
    assert "tiktok: token FAILED - environment variable TIKTOK_ACCESS_TOKEN is not set" in out
    assert "destinations.tiktok.access_token" in out
    assert "Traceback" not in out
    assert server.stats.snapshot()["requests_by_endpoint"] == {}


def test_rejected_token_says_reauthorise(
    server: SandboxServer, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    root = project(tmp_path, server.base_url)
    result = cli("check", "--project-dir", root, env={"TIKTOK_ACCESS_TOKEN": "tok-revoked-0000"})
    assert result.returncode == 1
    (line,) = [x for x in result.stdout.splitlines() if "FAILED -" in x]
    assert line.startswith("tiktok: token FAILED - TikTok rejected the access token")
    assert "destinations.tiktok.access_token" in line and "re-authorise" in line
    assert "tok-revoked-0000" not in result.stdout + result.stderr


def test_json_is_one_document_with_a_line_per_check(
    server: SandboxServer, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    root = project(tmp_path, server.base_url, event_source_id="CWRONGPIXEL000000001")
    result = cli(
        "check", "--project-dir", root, "--format", "json", env={"TIKTOK_ACCESS_TOKEN": SECRET}
    )
    assert result.returncode == 1
    document = json.loads(result.stdout)  # the whole of stdout: one document
    assert document["ok"] is False and document["sandbox"] is False
    (dest,) = document["destinations"]
    assert dest["destination"] == "tiktok" and dest["event_source"] == "web" and not dest["ok"]
    assert [(c["check"], c["status"]) for c in dest["checks"]] == [
        ("token", "ok"),
        ("advertiser", "ok"),
        ("event_source", "failed"),
    ]
    bad = dest["checks"][2]
    assert set(bad) == {"check", "status", "message", "key", "hint", "code"}
    assert bad["key"] == "destinations.tiktok.event_source_id" and bad["hint"]


def test_json_carries_the_notes_text_output_gives_a_destination(
    server: SandboxServer, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """'web' read as 'WEB' was printed in text and in neither the document nor stderr."""
    root = project(tmp_path, server.base_url, event_data_source="web")
    env = {"TIKTOK_ACCESS_TOKEN": SECRET}
    said = "destinations.yml:10 destinations.tiktok.event_data_source: 'web' read as 'WEB'"
    text = cli("check", "--project-dir", root, env=env)
    assert text.returncode == 0, text.stdout + text.stderr
    assert f"note: tiktok: {said} (write event_data_source: WEB)" in text.stdout.splitlines()
    result = cli("check", "--project-dir", root, "--format", "json", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    (dest,) = json.loads(result.stdout)["destinations"]
    assert dest["notes"] == [f"{said} (write event_data_source: WEB)"]
    assert str(root) not in result.stdout  # relative to the project, as plan's notes
    plain = project(tmp_path / "plain", server.base_url)
    shown = cli("check", "--project-dir", plain, "--format", "json", env=env)
    assert json.loads(shown.stdout)["destinations"][0]["notes"] == []


# --- the library ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "source_id", "endpoint", "noun"),
    [
        ("OFFLINE", DEMO_OFFLINE_SET_ID, "offline/get/", "offline event set"),
        ("CRM", DEMO_CRM_SET_ID, "crm/list/", "CRM event set"),
        ("APP", DEMO_TIKTOK_APP_ID, "app/list/", "app"),
    ],
)
def test_other_sources_are_looked_up_through_their_read_api(
    server: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    source: str,
    source_id: str,
    endpoint: str,
    noun: str,
) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    kw = {"event_data_source": source, "event_source_id": f'"{source_id}"'}
    good = check(project(tmp_path / "good", server.base_url, **kw))
    wrong = {**kw, "event_source_id": f'"{DEMO_PIXEL_CODE}"'}  # another kind's ID
    bad = check(project(tmp_path / "bad", server.base_url, **wrong))
    assert good.ok and good.event_source == source.lower()
    assert good.items[2].message == f"{noun} {source_id} exists in advertiser {DEMO_ADVERTISER_ID}"
    assert statuses(bad) == {"token": "ok", "advertiser": "ok", "event_source": "failed"}
    assert failed(bad)["event_source"][0] == "destinations.tiktok.event_source_id"
    assert server.stats.requests_by_endpoint() == {endpoint: 2}
    assert no_event_reached(server)


def test_malformed_token_is_refused_before_any_request(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", "tok\u00e9-pasted")
    result = check(project(tmp_path, server.base_url))
    assert statuses(result) == {
        "token": "failed",
        "advertiser": "skipped",
        "event_source": "skipped",
    }
    (token,) = [i for i in result.items if i.status == "failed"]
    assert token.key == "destinations.tiktok.access_token" and "non-ASCII" in token.message
    assert server.stats.requests_by_endpoint() == {}


def test_advertiser_the_token_may_not_use(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    result = check(project(tmp_path, server.base_url, advertiser_id=f'"{OTHER_ADVERTISER}"'))
    assert statuses(result) == {"token": "ok", "advertiser": "failed", "event_source": "skipped"}
    key, hint = failed(result)["advertiser"]
    assert key == "destinations.tiktok.advertiser_id" and hint and "retl auth tiktok" in hint
    assert result.items[1].code == 40001


def test_without_advertiser_id_the_source_cannot_be_checked(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    result = check(project(tmp_path, server.base_url, advertiser_id=""))
    assert not result.ok
    assert failed(result)["advertiser"][0] == "destinations.tiktok.advertiser_id"
    assert server.stats.requests_by_endpoint() == {}


def test_names_are_matched_and_new_creates_nothing(
    server: SandboxServer, world: SandboxWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RETL_CREDENTIALS_FILE", str(tmp_path / "creds.json"))
    token = Credentials(SecretStr(SECRET), (DEMO_ADVERTISER_ID,), (), "app", "", server.base_url)
    CredentialsStore().save("app", token)  # issued by the sandbox's API, which it goes to
    by_name = {"auth_method": "oauth", "access_token": "", "event_source_id": ""}
    found = check(
        project(
            tmp_path / "found",
            server.base_url,
            **by_name,
            target_event_source="NAME",
            event_source_name='"Demo Shop Pixel"',
        )
    )
    missing = check(
        project(
            tmp_path / "missing",
            server.base_url,
            **by_name,
            target_event_source="NAME",
            event_source_name='"Demo Shop"',  # a substring is no match
        )
    )
    new = check(
        project(
            tmp_path / "new",
            server.base_url,
            **by_name,
            target_event_source="NEW",
            event_source_name='"Launch Pixel"',
        )
    )
    assert found.ok and DEMO_PIXEL_CODE in found.items[2].message
    assert "stored by 'retl auth tiktok'" in found.items[0].message
    assert failed(missing)["event_source"][0] == "destinations.tiktok.event_source_name"
    assert new.ok and "the first sync creates it" in new.items[2].message
    assert [p.pixel_name for p in world.pixels(DEMO_ADVERTISER_ID)] == ["Demo Shop Pixel"]
    assert "pixel/create/" not in server.stats.requests_by_endpoint()


def test_a_name_past_the_page_cap_fails_saying_so(
    server: SandboxServer, world: SandboxWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A listing longer than retl reads (sources.MAX_PAGES, lowered here to 2) made the check
    of a NEW destination say "the first sync creates it" when the name was on a later page."""
    monkeypatch.setattr(sources, "MAX_PAGES", 2)
    for i in range(45):
        world.add_pixel(DEMO_ADVERTISER_ID, f"Launch Pixel copy {i:02d}")
    world.add_pixel(DEMO_ADVERTISER_ID, "Launch Pixel")
    monkeypatch.setenv("RETL_CREDENTIALS_FILE", str(tmp_path / "creds.json"))
    token = Credentials(SecretStr(SECRET), (DEMO_ADVERTISER_ID,), (), "app", "", server.base_url)
    CredentialsStore().save("app", token)
    result = check(
        project(
            tmp_path / "new",
            server.base_url,
            auth_method="oauth",
            access_token="",
            event_source_id="",
            target_event_source="NEW",
            event_source_name='"Launch Pixel"',
        )
    )
    assert statuses(result) == {"token": "ok", "advertiser": "ok", "event_source": "failed"}
    key, hint = failed(result)["event_source"]
    assert key == "destinations.tiktok.event_source_name"
    assert "event_source_id" in (hint or "")
    assert "first 2 of the 3 pages" in result.items[2].message
    assert "pixel/create/" not in server.stats.requests_by_endpoint()


def test_sandbox_needs_no_token_and_sends_nothing(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        "https://business-api.tiktok.com",
        event_source_id="CREALPIXELNOTINSANDBOX",
        advertiser_id="",
    )
    result = check(root, sandbox=True)
    assert result.ok and result.sandbox
    assert DEMO_PIXEL_CODE in result.items[2].message


def test_transient_answers_are_retried_then_given_up() -> None:
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise TransientDestinationError("rate limited", code=40100)
        return "listed"

    def down() -> str:
        calls.append(1)
        raise TransientDestinationError("no answer")

    assert _retrying(RetryPolicy(base_delay=0.0), flaky) == "listed"
    assert len(calls) == 2
    calls.clear()
    with pytest.raises(TransientDestinationError):
        _retrying(RetryPolicy(max_attempts=3, base_delay=0.0), down)
    assert len(calls) == 3


def test_a_stored_token_goes_only_to_the_api_that_issued_it(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stored token is the user's: a project's api_base_url (a cloned repository's, a
    pull request's) named any host, and `retl check` sent the token there (an audit)."""
    monkeypatch.setenv("RETL_CREDENTIALS_FILE", str(tmp_path / "creds.json"))
    CredentialsStore().save(
        "app", Credentials(SecretStr(SECRET), (DEMO_ADVERTISER_ID,), (), "app", "")
    )  # issued by TikTok's own API
    result = check(
        project(
            tmp_path / "p",
            server.base_url,
            auth_method="oauth",
            access_token="",
            event_source_id="",
            target_event_source="NAME",
            event_source_name='"Demo Shop Pixel"',
        )
    )
    assert not result.ok
    assert "was issued by https://business-api.tiktok.com" in " ".join(
        i.message for i in result.items
    )
    assert server.stats.requests_by_endpoint() == {}  # nothing reached the project's host


def test_a_test_event_code_is_noticed_as_meta_s_is(
    server: SandboxServer, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """Meta said "remove it for real traffic" before check, plan and sync; TikTok said nothing,
    so a test code left in destinations.yml went unnoticed into real traffic."""
    notice = "tiktok: test_event_code is set: these events go to the Test Events tab"
    env = {"TIKTOK_ACCESS_TOKEN": SECRET}
    root = project(tmp_path, server.base_url, test_event_code="TEST42")
    for command in ("check", "plan", "sync"):
        text = cli(command, "--project-dir", root, env=env)
        assert text.returncode == 0, text.stdout + text.stderr
        assert notice in text.stdout + text.stderr, command
        doc = cli(command, "--project-dir", root, "--format", "json", env=env)
        assert doc.returncode == 0, doc.stdout + doc.stderr
        assert "remove it before sending real traffic" in doc.stdout + doc.stderr, command
    plain = cli("plan", "--project-dir", project(tmp_path / "plain", server.base_url), env=env)
    assert "test_event_code" not in plain.stdout + plain.stderr
