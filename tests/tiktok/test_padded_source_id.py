"""An ``event_source_id`` with spaces around it (``" C1 "``, from a padded environment
variable): TikTok is sent it trimmed, but the destination's state scope keeps it as written.
Refusing or trimming it would start a new scope (every row sent again), so it is used as
written, with a warning at its destinations.yml key in ``retl validate`` (golden case
``padded_source_id``), ``plan`` and ``sync``, and on retl ui's Plan page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reverse_etl.pipeline.plan_warnings import plan_warnings
from reverse_etl.project import Project
from reverse_etl.reporting.console import NullConsole
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


def configure(root: Path, base_url: str) -> Path:
    lines = [
        "destinations:",
        "  tiktok:",
        "    type: tiktok_events",
        "    model: events",
        "    auth_method: access_token",
        "    access_token: \"{{ env_var('TIKTOK_ACCESS_TOKEN') }}\"",
        "    event_source_id: \"{{ env_var('PIXEL') }}\"",
        f"    api_base_url: {base_url}",
    ]
    files = {"models/events.sql": MODEL, "destinations.yml": "\n".join(lines) + "\n"}
    return write_project(root, files)


def _warnings(console: NullConsole) -> list[str]:
    return [line for line in console.lines if "event_source_id" in line]


def test_a_padded_id_is_warned_of_and_used_as_written(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    padded = f" {DEMO_PIXEL_CODE} "
    monkeypatch.setenv("PIXEL", padded)
    root = configure(tmp_path / "p", sandbox.base_url)
    console = NullConsole()
    with Project.load(root, console=console) as p:
        (plan,) = p.plan()
        (said,) = _warnings(console)
        assert said.startswith("warning: ")
        assert str(root / "destinations.yml") + ":7 destinations.tiktok.event_source_id" in said
        assert repr(padded) in said  # the spaces show
        assert "leading or trailing whitespace" in said
        assert "used as written" in said
        assert "new dedup scope" in said and "sends every row again" in said
        # retl ui's Plan page: the same warning, located
        (ui,) = [w for w in plan_warnings(plan) if w.key == "destinations.tiktok.event_source_id"]
        assert (ui.severity, ui.line, ui.file) == ("warning", 7, root / "destinations.yml")

        console.lines.clear()
        report = p.sync()
        assert report.ok, report.error
        assert len(_warnings(console)) == 1
        assert report.results[0].sent == 3  # TikTok was sent the ID trimmed: accepted
    assert sandbox.stats.live_events == 3
    assert plan.destination.state_scope() == f"WEB:id:{padded}"  # kept as written


def test_an_id_without_spaces_has_no_warning(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIXEL", DEMO_PIXEL_CODE)
    console = NullConsole()
    with Project.load(configure(tmp_path / "p", sandbox.base_url), console=console) as p:
        (plan,) = p.plan()
        validated = p.validate()[0].warnings
    assert _warnings(console) == []
    keys = [w.key for w in [*validated, *plan_warnings(plan)]]
    assert "destinations.tiktok.event_source_id" not in keys
