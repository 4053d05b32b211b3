"""A test_event_code run keeps its own state: its rows still go out live once it is removed.

TikTok puts events that carry a test_event_code in Events Manager's Test Events tab, apart from
the live data (reference §7; the sandbox records them apart too). A row acknowledged in a test
run was once recorded as sent in the destination's state, so the first live sync after the
code was removed found it unchanged and never sent it: the real conversions were lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reverse_etl.project import Project
from reverse_etl.sandbox import DEMO_PIXEL_CODE, DEMO_TOKEN, SandboxServer, SandboxWorld
from tests.conftest import write_project

MODEL = (
    "select 'k' || i as event_id, 'Purchase' as event, 1700000000 + i as event_time, "
    "'a' || i || '@example.com' as email from range(3) t(i)"
)


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxWorld.demo()) as srv:
        yield srv


@pytest.fixture(autouse=True)
def _token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETL_CREDENTIALS_FILE", str(tmp_path / "home" / "creds.json"))
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", DEMO_TOKEN)


def configure(root: Path, base_url: str, test_event_code: str | None) -> Path:
    lines = [
        "destinations:",
        "  tiktok:",
        "    type: tiktok_events",
        "    model: events",
        "    auth_method: access_token",
        "    access_token: \"{{ env_var('TIKTOK_ACCESS_TOKEN') }}\"",
        f'    event_source_id: "{DEMO_PIXEL_CODE}"',
        f"    api_base_url: {base_url}",
    ]
    if test_event_code is not None:
        lines.append(f"    test_event_code: {test_event_code}")
    files = {"models/events.sql": MODEL, "destinations.yml": "\n".join(lines) + "\n"}
    return write_project(root, files)


def sync(root: Path) -> tuple[int, int]:
    """(rows sent as new or changed, rows unchanged) of one sync."""
    with Project.load(root) as p:
        report = p.sync()
    assert report.ok, report.error
    (result,) = report.results
    return result.rows_new + result.rows_changed, result.rows_unchanged


def counts(sandbox: SandboxServer) -> tuple[int, int]:
    return sandbox.stats.test_events, sandbox.stats.live_events


def test_rows_sent_with_a_test_code_go_out_live_once_it_is_removed(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    root = configure(tmp_path / "p", sandbox.base_url, "TEST123")
    assert sync(root) == (3, 0)
    assert counts(sandbox) == (3, 0)

    configure(root, sandbox.base_url, None)
    assert sync(root) == (3, 0)  # was (0, 3): nothing sent live
    assert counts(sandbox) == (3, 3)

    assert sync(root) == (0, 3)  # the live state holds them now
    assert counts(sandbox) == (3, 3)


def test_a_test_run_after_live_ones_sends_to_the_test_tab_and_keeps_the_live_state(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    root = configure(tmp_path / "p", sandbox.base_url, None)
    assert sync(root) == (3, 0)

    configure(root, sandbox.base_url, "TEST123")
    assert sync(root) == (3, 0)  # was (0, 3): nothing reached the Test Events tab
    assert sync(root) == (0, 3)  # the same code: a test state of its own
    configure(root, sandbox.base_url, "TEST456")  # a new Test Events session
    assert sync(root) == (3, 0)
    # (the sandbox drops the second test copies as duplicates of the first: same event_ids)
    assert sandbox.stats.snapshot()["events_received"] == 9

    configure(root, sandbox.base_url, None)
    assert sync(root) == (0, 3)  # the live rows were sent already
    assert sandbox.stats.snapshot()["events_received"] == 9
    assert counts(sandbox) == (3, 3)
