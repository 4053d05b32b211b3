"""A model's event_time kept as text (ISO 8601, as event logs hold it) is synced: validate
and the plan warn and say how it is read, and the encoder reads each text in the zone it
names (shared/sql.unix_seconds, which works around DuckDB 1.5.5's cast of a text naming a
zone). It was refused as "must be a TIMESTAMP ... not VARCHAR", whose fix, a CAST in the
model, is the cast that moves the times after a zone's name."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from reverse_etl.project import Project
from reverse_etl.sandbox import SandboxServer
from tests.test_sync import SECRET, events_project

# Yesterday noon UTC: within TikTok's 7 days, and never in an hour a DST change repeats.
NOW = (int(time.time()) // 86400 - 1) * 86400 + 43200
WHEN = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(NOW))


def test_a_text_event_time_is_read_in_the_zone_it_names(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    select = (
        "select 'Purchase' as event, 'order-' || i as event_id, "
        f"['{WHEN}', '{WHEN}+02:00', '{WHEN} Europe/Paris', '{WHEN}Z', 'yesterday'][i] "
        "as event_time, 'user' || i || '@example.com' as email, "
        "'https://shop.example.com/' as page_url from range(1, 6) r(i)"
    )
    root = events_project(
        tmp_path, server.base_url, select=select, extra="skip_invalid_record: true"
    )
    with Project.load(root) as project:
        report = project.sync()
    assert report.ok
    sent = {e["data"]["event_id"]: e["data"]["event_time"] for e in server.events()}
    assert sent["order-1"] == NOW and sent["order-2"] == NOW - 7200
    assert sent["order-4"] == NOW
    local = dt.datetime.fromtimestamp(NOW, dt.timezone.utc).replace(tzinfo=None)
    paris = local.replace(tzinfo=ZoneInfo("Europe/Paris"))
    assert sent["order-3"] == int(paris.timestamp())
    assert "order-5" not in sent  # 'yesterday' is not a time: the row is invalid
