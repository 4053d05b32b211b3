"""An event id built from personal data that no value test finds (found by the model's
lineage: ``replace(trim(email), '@', '#') || '-' || order_id``) never reaches the sandbox's
test-events feed raw, nor ``retl ui``'s Test events page: ``sync --sandbox`` marks the event
source before sending, and the feed's writer and reader hash that source's event ids."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson

from reverse_etl.destinations.shared.pii_text import masked_key
from reverse_etl.sandbox import (
    DEMO_META_PIXEL_ID,
    DEMO_PIXEL_CODE,
    DEMO_TOKEN,
    SandboxOptions,
    SandboxServer,
)
from reverse_etl.sandbox.feed import feed_path, mark_personal_ids, read_feed
from tests.sandbox.helpers import TRACK, FakeClock, track_body, web_event
from tests.sandbox.meta_helpers import AUTH, EVENTS, meta_event


def test_the_value_test_still_hashes_an_event_id_holding_an_email(tmp_path: Path) -> None:
    """No mark: an event id holding an e-mail address is hashed by its value alone, and the
    other events of the source stay readable."""
    feed = feed_path(tmp_path / ".retl")
    with (
        SandboxServer(options=SandboxOptions(clock=FakeClock()), feed_path=feed) as server,
        httpx.Client(base_url=server.base_url, headers={"Access-Token": DEMO_TOKEN}) as c,
    ):
        events = [web_event(event_id="jane@example.com-1"), web_event(event_id="order-2")]
        assert c.post(TRACK, json=track_body(events)).json()["code"] == 0
    text = feed.read_text(encoding="utf-8")
    assert "jane@example.com" not in text
    fed = [orjson.loads(line) for line in text.splitlines()]
    assert [r["event_id"] for r in fed] == [masked_key("jane@example.com-1"), "order-2"]


def test_a_marked_source_is_hashed_whoever_writes_and_for_either_platform(
    tmp_path: Path,
) -> None:
    """A mark written while an emulator runs (another process's sync) is read by its feed
    writer; a line of a marked source written raw before the mark is hashed on reading;
    another source's ids stay readable."""
    feed = feed_path(tmp_path / ".retl")
    with (
        SandboxServer(options=SandboxOptions(clock=FakeClock()), feed_path=feed) as server,
        httpx.Client(base_url=server.base_url, headers={"Access-Token": DEMO_TOKEN}) as tiktok,
        httpx.Client(base_url=server.base_url, headers=AUTH) as meta,
    ):
        before = web_event(event_id="a#example.com-0")
        assert tiktok.post(TRACK, json=track_body([before])).json()["code"] == 0
        mark_personal_ids(feed, "TikTok", DEMO_PIXEL_CODE)
        mark_personal_ids(feed, "Meta", DEMO_META_PIXEL_ID)
        after = web_event(event_id="b#example.com-1")
        assert tiktok.post(TRACK, json=track_body([after])).json()["code"] == 0
        sent = meta_event(event_id="c#example.com-2")
        assert meta.post(EVENTS, json={"data": [sent]}).status_code == 200
        other = track_body([web_event(event_id="d#example.com-3")])
        other["event_source_id"] = "COTHERPIXEL"
        tiktok.post(TRACK, json=other)  # an unknown pixel: refused, fed with its id
    text = feed.read_text(encoding="utf-8")
    assert "a#example.com-0" in text  # written before the mark: raw in the file...
    assert "b#example.com-1" not in text and "c#example.com-2" not in text
    shown = {r["event_id"]: r for r in read_feed(feed)}
    # ... and hashed on reading, in event_id and in data
    expected = {
        masked_key("a#example.com-0"),
        masked_key("b#example.com-1"),
        masked_key("c#example.com-2"),
        "d#example.com-3",
    }
    assert set(shown) == expected
    for record in shown.values():
        assert record["data"]["event_id"] == record["event_id"]
