"""A run the platform refused entirely is no sync: the state's last sync (its time, mapping
and event source ID) stays that of the last run that delivered something, or had nothing to
deliver. It said a wrong token's run was the last sync (``retl plan``, ``retl state show``),
and took its mapping for the one sent under, so the next run that did send did not say the
mapping had changed. A run that acknowledged some rows is a sync, as before."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from reverse_etl.destinations.tiktok.auth import Credentials, CredentialsStore
from reverse_etl.project import Project
from reverse_etl.sandbox import DEMO_ADVERTISER_ID, SandboxServer
from reverse_etl.state.store import ScopeInfo

from .conftest import SANDBOX_TOKEN, write_project

MODEL = (
    "select 'Purchase' as event, 'order-' || i as event_id, 1767000000 - i as event_time, "
    "'user' || i || '@example.com' as email{extra} from range({rows}) t(i)"
)
VALUE = ", i * 1.5 as value, 'USD' as currency"


def _project(root: Path, base_url: str, *, rows: int = 5, extra: str = "") -> Path:
    return write_project(
        root,
        {
            "models/events.sql": MODEL.format(rows=rows, extra=extra),
            "destinations.yml": "\n".join(
                [
                    "destinations:",
                    "  tiktok:",
                    "    type: tiktok_events",
                    "    model: events",
                    "    access_token: \"{{ env_var('TIKTOK_ACCESS_TOKEN') }}\"",
                    "    event_source_id: CSANDBOXDEMOPIXEL001",
                    f"    api_base_url: {base_url}",
                    "    thread_count: 1",
                ]
            )
            + "\n",
        },
    )


def _scope(root: Path) -> ScopeInfo | None:
    with Project.load(root) as project:
        scopes = project.state_show()
    assert len(scopes) <= 1
    return scopes[0] if scopes else None


def _sync(root: Path, monkeypatch: pytest.MonkeyPatch, token: str) -> tuple[int, bool]:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", token)
    with Project.load(root) as project:
        report = project.sync()
    (result,) = report.results
    return result.sent, report.ok


def test_a_run_refused_entirely_leaves_the_last_sync_and_its_mapping(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path, server.base_url)
    assert _sync(root, monkeypatch, SANDBOX_TOKEN) == (5, True)
    synced = _scope(root)
    assert synced is not None and synced.last_sync_at is not None
    # another mapping (two more columns), new rows, and a token TikTok does not know
    _project(tmp_path, server.base_url, rows=8, extra=VALUE)
    assert _sync(root, monkeypatch, SANDBOX_TOKEN + "-wrong") == (0, False)
    after = _scope(root)
    assert after is not None
    assert after.last_sync_at == synced.last_sync_at  # the failed run is not the last sync
    assert after.mapping_fingerprint == synced.mapping_fingerprint
    assert after.mapping == synced.mapping
    assert after.rows == 5
    with Project.load(root) as project:
        (plan,) = project.plan()
    # the mapping change is still to be said: nothing was sent under the new mapping
    assert plan.mapping_change is not None
    assert plan.to_dict()["last_sync_at"] == synced.last_sync_at.isoformat()
    # its own history row says it failed
    with Project.load(root) as project:
        runs = project.runs()
    assert [(r.status, r.sent, r.failed) for r in runs] == [("failed", 0, 8), ("ok", 5, 0)]
    # the right token: a sync, recorded as the last one, under the new mapping
    assert _sync(root, monkeypatch, SANDBOX_TOKEN) == (8, True)
    last = _scope(root)
    assert last is not None and last.mapping_fingerprint == plan.mapping_fingerprint
    assert last.last_sync_at is not None and last.last_sync_at >= synced.last_sync_at


def test_a_first_sync_refused_entirely_records_no_sync(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path, server.base_url)
    assert _sync(root, monkeypatch, SANDBOX_TOKEN + "-wrong") == (0, False)
    assert _scope(root) is None  # nothing acknowledged, no last sync
    with Project.load(root) as project:
        (plan,) = project.plan()
    assert plan.previous is None and plan.to_dict()["last_sync_at"] is None
    assert server.events() == []


def test_a_run_that_acknowledged_some_rows_is_a_sync(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path, server.base_url)
    assert _sync(root, monkeypatch, SANDBOX_TOKEN) == (5, True)
    synced = _scope(root)
    assert synced is not None
    _project(tmp_path, server.base_url, rows=8, extra=VALUE)
    server.faults.script(("partial", [0]))  # TikTok rejects one event of the request
    sent, ok = _sync(root, monkeypatch, SANDBOX_TOKEN)
    assert (sent, ok) == (7, False)
    after = _scope(root)
    assert after is not None and after.mapping_fingerprint != synced.mapping_fingerprint
    assert after.rows == 8  # the 3 new rows but the rejected one, and the 5 resent


def test_a_pixel_created_by_a_run_whose_events_were_all_refused_is_found_not_made_again(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``target_event_source: NEW``: the run that created the pixel recorded no sync; the
    next run finds the pixel by its name (the state's event source ID is not what it
    resolves by) and sends to it; no second pixel of that name is made."""
    creds = CredentialsStore(tmp_path / "home" / "creds.json")
    creds.save(
        "sandbox-app",
        Credentials(
            access_token=SecretStr(SANDBOX_TOKEN),
            advertiser_ids=(DEMO_ADVERTISER_ID,),
            scope=(1, 4),
            app_id="sandbox-app",
            created_at="2026-01-01T00:00:00Z",
            api_base_url=server.base_url,
        ),
    )
    monkeypatch.setenv("RETL_CREDENTIALS_FILE", str(tmp_path / "home" / "creds.json"))
    root = _project(tmp_path / "p", server.base_url)
    config = root / "destinations.yml"
    config.write_text(
        config.read_text()
        .replace("    access_token: \"{{ env_var('TIKTOK_ACCESS_TOKEN') }}\"\n", "")
        .replace(
            "    event_source_id: CSANDBOXDEMOPIXEL001\n",
            "    auth_method: oauth\n    event_data_source: WEB\n    target_event_source: NEW\n"
            f"    event_source_name: retl refused\n    advertiser_id: '{DEMO_ADVERTISER_ID}'\n",
        ),
        encoding="utf-8",
    )
    server.faults.script(("code", 40001))  # the track request: no permission
    with Project.load(root) as project:
        report = project.sync()
    (refused,) = report.results
    assert (refused.sent, refused.event_source_how, report.ok) == (0, "created", False)
    assert _scope(root) is None
    with Project.load(root) as project:
        report = project.sync()
    (result,) = report.results
    assert (result.sent, result.event_source_how) == (5, "found")
    assert result.event_source_id == refused.event_source_id
    named = [p for p in server.world.pixels(DEMO_ADVERTISER_ID) if p.pixel_name == "retl refused"]
    assert len(named) == 1
    synced = _scope(root)
    assert synced is not None and synced.event_source_id == refused.event_source_id
