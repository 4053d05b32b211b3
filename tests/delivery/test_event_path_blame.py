"""A 40002 whose message is about one event's field (``data.0.limited_data_use: Only allowed
for event_source web or app``) is that event's refusal, even when its prose names a top-level
field: it was read as a refusal of the destination's settings ("check event_data_source"),
which failed the whole destination instead of setting the one event aside."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from reverse_etl.destinations.tiktok.client import classify
from reverse_etl.destinations.tiktok.responses import blamed_field
from reverse_etl.project import Project
from reverse_etl.sandbox import DEMO_CRM_SET_ID, DEMO_TOKEN, SandboxServer


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


def test_an_event_the_emulator_refuses_is_rejected_not_a_settings_error(tmp_path: Path) -> None:
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
        received = [e["data"]["event_id"] for e in server.events()]
    (result,) = report.results
    assert result.error is None, result.error
    # the emulator refuses limited_data_use on CRM events, false as well as true
    assert (result.sent, result.rejected) == (0, 2)
    assert received == []
    assert {r.key for r in result.rejected_rows} == {"good", "bad"}
