"""The sandbox's test-events feed: what retl ui's Test events page reads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from reverse_etl.sandbox import DEMO_TOKEN, CodeFault, SandboxOptions, SandboxServer
from reverse_etl.sandbox.feed import (
    MAX_EVENTS_PER_REQUEST,
    SandboxFeed,
    feed_path,
    mask_pii,
    read_feed,
)
from tests.sandbox.helpers import TRACK, FakeClock, track_body, web_event
from tests.sandbox.meta_helpers import AUTH, EVENTS, meta_event

RAW = "jane.doe@example.com"


@pytest.fixture
def feed(tmp_path: Path) -> Path:
    return feed_path(tmp_path / ".retl")


@pytest.fixture
def server(feed: Path) -> Iterator[SandboxServer]:
    with SandboxServer(options=SandboxOptions(clock=FakeClock()), feed_path=feed) as running:
        yield running


def lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_tiktok_events_are_fed_with_verdict_dedup_and_test_code(
    server: SandboxServer, feed: Path
) -> None:
    with httpx.Client(base_url=server.base_url, headers={"Access-Token": DEMO_TOKEN}) as c:
        event = web_event(properties={"description": f"call {RAW}"})
        body = track_body([event], test_event_code="TEST42")
        assert c.post(TRACK, json=body).json()["code"] == 0
        assert c.post(TRACK, json=body).json()["code"] == 0  # same event_id: a dedup hit
        bad = web_event(event_id="bad-1", user={"email": RAW})  # not hashed: TikTok refuses
        assert c.post(TRACK, json=track_body([bad])).json()["code"] == 40002
        server.faults.script(CodeFault(40100))
        assert c.post(TRACK, json=track_body([web_event(event_id="f-1")])).json()["code"] == 40100
    got = lines(feed)
    assert [(r["event_id"], r["verdict"], r["test_event_code"]) for r in got] == [
        ("order-1", "accepted", "TEST42"),
        ("order-1", "duplicate", "TEST42"),
        ("bad-1", "rejected", None),
        ("f-1", "rejected", None),
    ]
    assert got[2]["code"] == 40002 and "email" in got[2]["problem"]
    assert got[3]["code"] == 40100
    assert {r["platform"] for r in got} == {"tiktok"}
    assert got[0]["source"] == f"web {track_body([])['event_source_id']}"
    text = feed.read_text()
    assert RAW not in text  # raw PII never reaches the file
    assert got[2]["data"]["user"]["email"] == "j***@example.com"
    assert got[0]["data"]["properties"]["description"] == "call j***@example.com"
    assert len({r["id"] for r in got}) == 4


def test_meta_events_are_fed_accepted_duplicate_and_rejected(
    server: SandboxServer, feed: Path
) -> None:
    with httpx.Client(base_url=server.base_url, headers=AUTH) as c:
        assert c.post(EVENTS, json={"data": [meta_event()]}).status_code == 200
        assert c.post(EVENTS, json={"data": [meta_event()]}).status_code == 200
        bad = meta_event(event_id="m-bad", event_name="")
        assert c.post(EVENTS, json={"data": [bad], "test_event_code": "T9"}).status_code == 400
    got = lines(feed)
    assert [(r["platform"], r["event_id"], r["verdict"]) for r in got] == [
        ("meta", "order-1", "accepted"),
        ("meta", "order-1", "duplicate"),
        ("meta", "m-bad", "rejected"),
    ]
    assert got[2]["test_event_code"] == "T9" and got[2]["problem"]


def test_a_large_request_is_fed_in_part(feed: Path) -> None:
    events = [{"event": "Lead", "event_id": f"e{i}"} for i in range(MAX_EVENTS_PER_REQUEST + 7)]
    SandboxFeed(feed).tiktok(1.0, {"data": events})
    got = lines(feed)
    assert len(got) == MAX_EVENTS_PER_REQUEST + 1
    assert got[-1]["omitted"] == 7


def test_the_feed_rotates_and_reads_newest_first_across_files(feed: Path) -> None:
    writer = SandboxFeed(feed, max_bytes=2000)
    for i in range(40):
        writer.tiktok(float(i), {"data": [{"event": "Lead", "event_id": f"e{i}"}]})
    rotated = feed.with_name(feed.name + ".1")
    assert rotated.exists()
    assert feed.stat().st_size <= 2000 and rotated.stat().st_size <= 2000
    newest = read_feed(feed, limit=12)
    assert [r["event_id"] for r in newest] == [f"e{i}" for i in range(39, 27, -1)]
    assert len(lines(feed)) < 12  # the read went on into the rotated file


def test_reading_skips_a_line_cut_short_and_masks_again(feed: Path) -> None:
    feed.parent.mkdir(parents=True)
    good = {"id": "1", "verdict": "accepted", "data": {"user": {"email": RAW}}}
    feed.write_bytes(orjson.dumps(good) + b"\n" + b'{"id": "2", "verd')  # a write under way
    assert read_feed(feed) == [
        {"id": "1", "verdict": "accepted", "data": {"user": {"email": "j***@example.com"}}}
    ]
    assert read_feed(feed.with_name("missing.jsonl")) == []


def test_mask_pii_keeps_hashes_and_masks_the_rest() -> None:
    digest = "a" * 64
    value = {
        "user": {"email": [digest, RAW], "phone": "+1 555 123 4567", "ip": "10.0.0.1"},
        "user_data": {"em": [digest], "fn": "jane", "external_id": "sha256:" + digest},
        "access_token": "EAAB-secret",
        "note": f"write to {RAW} today",
    }
    assert mask_pii(value) == {
        "user": {"email": [digest, "j***@example.com"], "phone": "+***", "ip": "1***"},
        "user_data": {"em": [digest], "fn": "j***", "external_id": "sha256:" + digest},
        "access_token": "[REDACTED]",
        "note": "write to j***@example.com today",
    }


def test_a_refusal_quoting_a_value_is_masked_in_the_feed(server: SandboxServer, feed: Path) -> None:
    # An emulator's message may quote what it refused (a fault scripted so, as a platform's
    # may): the reason is masked as the events' values are.
    with httpx.Client(base_url=server.base_url, headers={"Access-Token": DEMO_TOKEN}) as c:
        server.faults.script(CodeFault(40002, f"invalid email {RAW} phone +1 212 555 0005"))
        assert c.post(TRACK, json=track_body([web_event(event_id="q-1")])).json()["code"]
    text = feed.read_text()
    assert RAW not in text and "212 555 0005" not in text
    (got,) = lines(feed)
    assert got["problem"].startswith("invalid email j***@example.com phone +1")


def test_a_custom_property_whose_name_says_personal_data_is_masked() -> None:
    """A custom property no catalog names, but whose name says personal data: a phone
    without ``+`` (which the free-text rule does not find) is masked all the same
    (``phone_number`` was listed by name before the catalogs declared what they mask)."""
    value = {"properties": {"phone_number": "5551234567", "customerMsisdn": "447700900123"}}
    assert mask_pii(value) == {"properties": {"phone_number": "5***", "customerMsisdn": "4***"}}
    assert mask_pii({"properties": {"plan": "gold"}}) == {"properties": {"plan": "gold"}}


def test_a_number_under_a_personal_data_name_is_masked_too() -> None:
    """A phone kept as a number (a BIGINT column sent as a custom property) was printed in
    clear: only texts were masked."""
    value = {"properties": {"phone_number": 15551234567, "customer_msisdn": 447700900123}}
    assert mask_pii(value) == {"properties": {"phone_number": "1***", "customer_msisdn": "4***"}}
    # a catalog's masked field sent as a number (Meta's lead_id is one) likewise
    assert mask_pii({"user_data": {"lead_id": 1234567890123456}}) == {
        "user_data": {"lead_id": "1***"}
    }
    kept = {"properties": {"quantity": 3, "value": 9.5, "phone_verified": True}}
    assert mask_pii(kept) == kept
