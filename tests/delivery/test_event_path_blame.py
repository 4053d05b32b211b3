"""A 40002 whose message is about one event's field (``data.0.limited_data_use: Only allowed
for event_source web or app``) is that event's refusal, even when its prose names a top-level
field: it was read as a refusal of the destination's settings ("check event_data_source"),
which failed the whole destination instead of setting the one event aside."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from reverse_etl.destinations.tiktok.client import classify
from reverse_etl.destinations.tiktok.responses import blamed_field
from reverse_etl.destinations.tiktok.vocab import TRACK_PATH
from reverse_etl.project import Project
from reverse_etl.sandbox import DEMO_CRM_SET_ID, DEMO_TOKEN, SandboxServer

HASH = "a" * 64


@pytest.mark.parametrize(
    "message",
    [
        "data.0.limited_data_use: Only allowed for event_source web or app",
        "data.12.user.ttclid: not allowed for this event_source",
        "Batch.3.event_id: Not a valid string (check the pixel code)",
    ],
)
def test_a_message_about_an_events_field_blames_no_setting(message: str) -> None:
    assert blamed_field(message) is None
    outcome = classify(200, {"code": 40002, "message": message})
    assert (outcome.kind, outcome.field) == ("invalid", None)


def test_a_top_level_field_is_still_blamed() -> None:
    message = "Invalid value for event_source_id: not a valid string."
    assert blamed_field(message) == "event_source_id"


def test_an_event_the_emulator_refuses_is_rejected_not_a_settings_error() -> None:
    """The emulator's own refusal of an event's field, classified as the client does. (A
    sync no longer sends a limited_data_use column to CRM at all: see the next test.)"""
    now = int(time.time()) - 3600
    event = {
        "event": "Stage",
        "event_time": now,
        "event_id": "bad",
        "user": {"email": HASH},
        "lead": {"lead_id": "7000000000000000001"},
        "limited_data_use": False,
    }
    body = {"event_source": "crm", "event_source_id": DEMO_CRM_SET_ID, "data": [event]}
    with SandboxServer() as server:
        answer = httpx.post(
            f"{server.base_url}{TRACK_PATH}", json=body, headers={"Access-Token": DEMO_TOKEN}
        )
    envelope = answer.json()
    assert envelope["code"] == 40002
    assert "data.0.limited_data_use" in envelope["message"]
    outcome = classify(answer.status_code, envelope)
    assert (outcome.kind, outcome.field) == ("invalid", None)


def test_a_limited_data_use_column_is_not_sent_to_crm(tmp_path: Path) -> None:
    """limited_data_use applies to WEB and APP only (the catalog's sources): a CRM model's
    column is left out, with the not-for-source warning, so no event is refused for it."""
    now = int(time.time()) - 3600
    (tmp_path / "models").mkdir()
    (tmp_path / "retl_project.yml").write_text("name: blame\n", encoding="utf-8")
    (tmp_path / "models" / "ev.sql").write_text(
        f"SELECT 'Stage' AS event, {now} AS event_time, e AS event_id, 'a@example.com' AS email,"
        " '7000000000000000001' AS lead_id, e = 'bad' AS limited_data_use"
        " FROM (VALUES ('good'), ('bad')) AS v(e)",
        encoding="utf-8",
    )
    with SandboxServer() as server:
        (tmp_path / "destinations.yml").write_text(
            f"""destinations:
  tiktok:
    type: tiktok_events
    model: ev
    access_token: {DEMO_TOKEN}
    event_source_id: "{DEMO_CRM_SET_ID}"
    event_data_source: CRM
    api_base_url: {server.base_url}
    skip_invalid_record: true
""",
            encoding="utf-8",
        )
        with Project.load(tmp_path) as project:
            report = project.sync()
        received = server.events()
    (result,) = report.results
    assert result.error is None, result.error
    assert (result.sent, result.rejected) == (2, 0)
    assert sorted(e["data"]["event_id"] for e in received) == ["bad", "good"]
    assert all("limited_data_use" not in e["data"] for e in received)
