"""A test_event_code run keeps its own state: its rows still go out live once it is removed.

Meta shows events that carry a test_event_code in Events Manager's Test Events tab and does
not use them for ads (the sandbox counts them apart). A row acknowledged in a test run was
recorded as sent in the destination's state (the scope was the pixel alone), so the first
live sync after the code was removed found it unchanged and never sent it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reverse_etl.project import Project
from reverse_etl.sandbox import DEMO_META_PIXEL_ID, DEMO_META_TOKEN, SandboxServer
from tests.conftest import write_project

from .helpers import destination

NOW = int(time.time())  # Meta takes events of the last 7 days only
MODEL = (
    f"select 'k' || i as event_id, 'Purchase' as event, {NOW} - 3600 + i as event_time, "
    "'a' || i || '@example.com' as email, 10.0 as value, 'USD' as currency, "
    "'https://shop.example/p' as page_url, 'Mozilla/5.0' as user_agent "
    "from range(3) t(i)"
)


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as srv:
        yield srv


def configure(root: Path, base_url: str, test_event_code: str | None) -> Path:
    lines = [
        "destinations:",
        "  meta:",
        "    type: meta_conversions",
        "    model: events",
        f'    pixel_id: "{DEMO_META_PIXEL_ID}"',
        f"    access_token: {DEMO_META_TOKEN}",
        "    action_source: website",
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
    snapshot = sandbox.stats.snapshot()["meta"]
    return snapshot["test_events"], snapshot["live_events"]


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

    configure(root, sandbox.base_url, "TEST123")  # the same test session again
    assert sync(root) == (0, 3)


def test_the_scope_is_the_pixel_and_the_test_code() -> None:
    assert destination().state_scope() == destination().state_scope()
    live = destination().state_scope()
    assert destination(test_event_code="T1").state_scope() not in (live, None)
    assert destination(test_event_code="T1").state_scope() != (
        destination(test_event_code="T2").state_scope()
    )
    assert destination(test_event_code="  ").state_scope() == live  # blank: no code
