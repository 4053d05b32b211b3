"""``retl show MODEL --payload KEY``: the body a sync would send for one row, with no network."""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest

import reverse_etl.sandbox as sandbox_module
from reverse_etl.errors import UsageError
from reverse_etl.project import Project
from reverse_etl.sandbox import SandboxServer
from reverse_etl.sandbox.feed import mask_pii

from .conftest import write_project

REPO = Path(__file__).resolve().parents[1]
TOKEN = "tok-PAYLOAD-93ab01c4d2"


def demo(tmp_path: Path) -> Path:
    target = tmp_path / "demo"
    target.mkdir()
    for name in ("retl_project.yml", "destinations.yml", "models", "data"):
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, target / name)
        else:
            shutil.copy(src, target / name)
    return target


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any HTTP request fails the test: show --payload must make none."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("show --payload made an HTTP request")

    monkeypatch.setattr(httpx.Client, "send", refuse)


def test_the_body_is_what_a_sandbox_sync_sends_for_that_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = demo(tmp_path)
    with Project.load(root) as p:
        (shown,) = p.payload("purchase_events", "order-5003", sandbox=True)
    servers: list[SandboxServer] = []

    class Kept(SandboxServer):
        def start(self) -> Kept:
            servers.append(self)
            super().start()
            return self

    monkeypatch.setattr(sandbox_module, "SandboxServer", Kept)
    with Project.load(root) as p:
        assert p.sync(sandbox=True).ok
    (server,) = servers
    (sent,) = [e for e in server.events() if e["data"]["event_id"] == "order-5003"]
    body = shown.body
    assert body is not None
    # as sent, but what goes in clear and identifies a person is masked, as in plan samples
    assert body["data"] == [mask_pii(sent["data"])]
    sent_user, shown_user = sent["data"]["user"], body["data"][0]["user"]
    assert shown_user["ip"] == sent_user["ip"][0] + "***" != sent_user["ip"]
    assert shown_user["user_agent"] == sent_user["user_agent"][0] + "***"
    assert body["event_source"] == sent["event_source"]
    assert body["event_source_id"] == sent["event_source_id"]
    assert body.get("test_event_code") == sent["test_event_code"]
    assert set(body) <= {"event_source", "event_source_id", "test_event_code", "data"}
    user = body["data"][0]["user"]  # e-mail and phone hashed (64 hex digits), as sent
    assert len(user["email"]) == 64 and "@" not in user["email"]
    assert len(user["phone"]) == 64 and not user["phone"].startswith("+")


@pytest.mark.usefixtures("no_network")
def test_no_network_even_where_a_sync_would_resolve_the_event_source(
    tmp_path: Path, cli: Any
) -> None:
    root = write_project(
        tmp_path,
        {
            "models/leads.sql": (
                "select 'order-' || i as event_id, 'CompletePayment' as event, "
                "1750000000 as event_time, 'Ann@Example.com ' as email from range(2) t(i)"
            ),
            "destinations.yml": (
                "destinations:\n"
                "  by_name:\n"
                "    type: tiktok_events\n"
                "    model: leads\n"
                "    access_token: \"{{ env_var('TIKTOK_ACCESS_TOKEN') }}\"\n"
                "    target_event_source: NAME\n"
                "    event_source_name: Shop pixel\n"
                "    advertiser_id: '7000000000000000001'\n"
                f"    api_base_url: http://127.0.0.1:{closed_port()}\n"
                "    test_event_code: TEST42\n"
            ),
        },
    )
    result = cli(
        "show", "leads", "--payload", "order-1", "--project-dir", root,
        env={"TIKTOK_ACCESS_TOKEN": TOKEN},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "named 'Shop pixel' in advertiser 7000000000000000001" in result.stdout
    assert TOKEN not in result.stdout + result.stderr
    body = json.loads(result.stdout[result.stdout.index("\n{") :])
    assert body["event_source_id"] == "<resolved when a sync sends>"
    assert body["test_event_code"] == "TEST42"
    (event,) = body["data"]
    assert event["event_id"] == "order-1"
    # Normalised (trimmed, lower case) and hashed as a sync does.
    assert event["user"]["email"] == hashlib.sha256(b"ann@example.com").hexdigest()


@pytest.mark.usefixtures("no_network")
def test_json_format_gives_the_body_of_each_destination(tmp_path: Path, cli: Any) -> None:
    result = cli(
        "show", "purchase_events", "--payload", "order-5001", "--format", "json",
        "--project-dir", demo(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    (item,) = doc["payloads"]
    assert doc["ok"] is True and item["destination"] == "tiktok_purchases"
    assert item["key"] == "order-5001"
    assert item["body"]["data"][0]["event_id"] == "order-5001"
    assert item["body"]["event_source_id"] == "CDEMOSHOPPIXEL000001"  # the configured pixel


@pytest.mark.usefixtures("no_network")
def test_an_unknown_key_names_the_model_the_key_and_how_keys_look(tmp_path: Path, cli: Any) -> None:
    result = cli("show", "purchase_events", "--payload", "o-1", "--project-dir", demo(tmp_path))
    assert result.returncode == 1
    assert result.stdout == ""
    assert "model 'purchase_events' has no row with the key 'o-1'" in result.stderr
    assert "column event_id" in result.stderr and "'order-5001'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.usefixtures("no_network")
def test_a_pii_key_is_accepted_and_never_echoed(tmp_path: Path) -> None:
    root = write_project(
        tmp_path,
        {
            "models/people.sql": (
                "select 'CompleteRegistration' as event, 1750000000 as event_time, "
                "'ann@example.com' as email"
            ),
            "destinations.yml": (
                "destinations:\n"
                "  t:\n"
                "    type: tiktok_events\n"
                "    model: people\n"
                "    primary_key: email\n"
                "    access_token: \"{{ env_var('TIKTOK_ACCESS_TOKEN') }}\"\n"
                "    event_source_id: CPIXEL\n"
            ),
        },
    )
    with Project.load(root) as p:
        (found,) = p.payload("people", "ann@example.com")
        assert found.key.startswith("sha256:") and found.body is not None
        with pytest.raises(UsageError) as info:
            p.payload("people", "bob@example.com")
    text = "\n".join(pr.render() for pr in info.value.problems)
    assert "bob@example.com" not in text and "ann@example.com" not in text
    assert "has no row with the key sha256:" in text


@pytest.mark.usefixtures("no_network")
def test_a_composite_key_is_a_json_list_of_its_columns(tmp_path: Path) -> None:
    root = write_project(
        tmp_path,
        {
            "models/visits.sql": (
                "select 'Purchase' as event, 1750000000 + i as event_time, 'shop-' || (i % 2) "
                "as shop, i as n from range(4) t(i)"
            ),
            "destinations.yml": (
                "destinations:\n"
                "  t:\n"
                "    type: tiktok_events\n"
                "    model: visits\n"
                "    primary_key: [shop, n]\n"
                "    access_token: \"{{ env_var('TIKTOK_ACCESS_TOKEN') }}\"\n"
                "    event_source_id: CPIXEL\n"
            ),
        },
    )
    with Project.load(root) as p:
        (shown,) = p.payload("visits", '["shop-1", 3]')
        assert shown.body is not None
        assert shown.body["data"][0]["event_time"] == 1750000003
        with pytest.raises(UsageError) as info:
            p.payload("visits", '["shop-1", 2]')
    assert "write their values as a JSON list" in info.value.problems[0].hint  # type: ignore[operator]
    assert '["shop-0","0"]' in (info.value.problems[0].hint or "")


def test_unknown_model_and_destination(tmp_path: Path, cli: Any) -> None:
    root = demo(tmp_path)
    result = cli("show", "purchase_event", "--payload", "x", "--project-dir", root)
    assert result.returncode == 1
    assert "no model named 'purchase_event'" in result.stderr
    assert "purchase_events" in result.stderr  # did you mean
    result = cli(
        "show", "purchase_events", "--payload", "order-5001", "--destination", "nope",
        "--project-dir", root,
    )  # fmt: skip
    assert result.returncode == 1 and "no destination named 'nope'" in result.stderr
    result = cli("show", "purchase_events", "--destination", "x", "--project-dir", root)
    assert result.returncode == 1 and "only used with --payload KEY" in result.stderr


def test_a_model_feeding_tiktok_and_meta_shows_each_body(tmp_path: Path) -> None:
    """Columns of the other platform (Meta's zip_code, TikTok's ttclid) are left out, as a
    plan and a sync leave them out; they made show --payload fail ('not a TikTok
    parameter') for the example of one model feeding both."""
    root = tmp_path / "two"
    shutil.copytree(REPO / "examples" / "one_model_two_platforms", root)
    with Project.load(root) as p:
        bodies = {b.destination: b for b in p.payload("conversions", "web-ev-0001")}
    assert sorted(bodies) == ["meta_pixel", "tiktok_pixel"]
    tiktok, meta = bodies["tiktok_pixel"].body, bodies["meta_pixel"].body
    assert tiktok is not None and meta is not None
    (event,) = tiktok["data"]
    assert "ttclid" in event["user"] and "zip_code" not in event["user"]
    (server_event,) = meta["data"]
    assert "zp" in server_event["user_data"] and "ttclid" not in server_event["user_data"]
