"""Deduplication, test events, the in-memory record, JSONL, and the control endpoints."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
import pytest

from reverse_etl.destinations.tiktok.vocab import DEDUP_WINDOW_SECONDS
from reverse_etl.sandbox import DEMO_PIXEL_CODE, SandboxOptions, SandboxServer

from .helpers import T0, FakeClock, post_track, web_event


def test_duplicates_within_window_are_accepted_but_not_recorded(
    client: httpx.Client, server: SandboxServer, clock: FakeClock
) -> None:
    assert post_track(client, [web_event(event_id="a"), web_event(event_id="b")])["code"] == 0
    clock.advance(DEDUP_WINDOW_SECONDS - 1)
    body = post_track(client, [web_event(event_id="a"), web_event(event_id="c")])
    assert body["code"] == 0
    assert server.stats.events_accepted == 3
    assert server.stats.events_deduplicated == 1
    assert [e["data"]["event_id"] for e in server.events()] == ["a", "b", "c"]


def test_window_counts_from_first_arrival(
    client: httpx.Client, server: SandboxServer, clock: FakeClock
) -> None:
    post_track(client, [web_event(event_id="a")])
    clock.advance(DEDUP_WINDOW_SECONDS / 2)
    post_track(client, [web_event(event_id="a")])  # duplicate; does not extend the window
    clock.advance(DEDUP_WINDOW_SECONDS / 2)
    post_track(client, [web_event(event_id="a")])  # 48 h after the first: new again
    assert (server.stats.events_accepted, server.stats.events_deduplicated) == (2, 1)
    assert [e["received_at"] for e in server.events()] == [T0, T0 + DEDUP_WINDOW_SECONDS]


def test_dedup_key_is_source_event_and_event_id(
    client: httpx.Client, server: SandboxServer
) -> None:
    post_track(client, [web_event(event_id="a")])
    post_track(client, [web_event(event_id="a", event="AddToCart")])  # other event name
    post_track(client, [web_event(event_id="a"), web_event(event_id="a")])  # twice in one batch
    assert (server.stats.events_accepted, server.stats.events_deduplicated) == (2, 2)


def test_events_without_event_id_are_never_deduplicated(
    client: httpx.Client, server: SandboxServer
) -> None:
    event = web_event()
    del event["event_id"]
    post_track(client, [event, event])
    post_track(client, [event])
    assert (server.stats.events_accepted, server.stats.events_deduplicated) == (3, 0)


def test_test_events_are_recorded_apart(client: httpx.Client, server: SandboxServer) -> None:
    post_track(client, [web_event(event_id="a")], test_event_code="TEST123")
    post_track(client, [web_event(event_id="a")])  # live copy is not hidden by the test one
    assert server.stats.test_events == 1
    assert server.stats.live_events == 1
    (test_event,) = server.events(test=True)
    assert test_event["test"] is True
    assert test_event["test_event_code"] == "TEST123"
    (live_event,) = server.events(test=False)
    assert live_event["test"] is False
    assert live_event["test_event_code"] is None


def test_record_shape(client: httpx.Client, server: SandboxServer) -> None:
    event = web_event()
    post_track(client, [event], partner_name="retl")
    (record,) = server.events()
    assert record == {
        "received_at": T0,
        "event_source": "web",
        "event_source_id": DEMO_PIXEL_CODE,
        "test_event_code": None,
        "test": False,
        "data": event,
    }


def test_record_path_gets_jsonl(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "out" / "events.jsonl"
    with SandboxServer(record_path=path, options=SandboxOptions(clock=clock)) as server:
        with httpx.Client(
            base_url=server.base_url, headers={"Access-Token": "sandbox-token"}
        ) as client:
            post_track(client, [web_event(event_id="a"), web_event(event_id="b")])
            post_track(client, [web_event(event_id="a")])  # duplicate: not written again
            post_track(client, [web_event(event_id=1)])  # rejected: not written
        expected = server.events()
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert lines == expected
    assert [line["data"]["event_id"] for line in lines] == ["a", "b"]


def test_keep_events_false_keeps_counts_only() -> None:
    with SandboxServer(options=SandboxOptions(keep_events=False)) as server:
        with httpx.Client(
            base_url=server.base_url, headers={"Access-Token": "sandbox-token"}
        ) as client:
            post_track(client, [web_event(event_id="a"), web_event(event_id="a")])
        assert server.events() == []
        assert (server.stats.events_accepted, server.stats.events_deduplicated) == (1, 1)


def test_control_summary(client: httpx.Client, server: SandboxServer) -> None:
    post_track(client, [web_event(event_id="a"), web_event(event_id="a")])
    post_track(client, [web_event(event_id="b")], test_event_code="T1")
    post_track(client, [web_event(event_id=1)])
    summary = httpx.get(server.base_url + "/_sandbox/summary").json()
    assert summary == {
        "track_requests": 3,
        "accepted_track_requests": 2,
        "events_received": 3,
        "events_accepted": 2,
        "events_deduplicated": 1,
        "live_events": 1,
        "test_events": 1,
        "max_batch_size": 2,
        "in_flight": 0,
        "max_in_flight": 1,
        "requests_by_endpoint": {"event/track/": 3},
        "rejected_by_code": {"40002": 1},
        "faults_injected": {},
        "faults_pending": 0,
    }


@pytest.mark.parametrize(
    ("query", "expected"), [("", ["a", "b"]), ("?test=true", ["b"]), ("?test=false", ["a"])]
)
def test_control_events_jsonl(
    client: httpx.Client, server: SandboxServer, query: str, expected: list[str]
) -> None:
    post_track(client, [web_event(event_id="a")])
    post_track(client, [web_event(event_id="b")], test_event_code="T1")
    response = httpx.get(server.base_url + "/_sandbox/events" + query)
    assert response.headers["content-type"] == "application/x-ndjson"
    assert [
        orjson.loads(line)["data"]["event_id"] for line in response.text.splitlines()
    ] == expected


def test_control_reset(client: httpx.Client, server: SandboxServer) -> None:
    post_track(client, [web_event(event_id="a")])
    server.faults.script(("code", 40100))
    assert httpx.post(server.base_url + "/_sandbox/reset").json() == {"reset": True}
    assert server.events() == []
    assert server.stats.snapshot()["track_requests"] == 0
    assert server.faults.pending == 0
    # Dedup history is gone too: the same event is new again.
    post_track(client, [web_event(event_id="a")])
    assert server.stats.events_accepted == 1


def test_control_world(server: SandboxServer) -> None:
    world = httpx.get(server.base_url + "/_sandbox/world").json()
    assert world["pixels"][0]["pixel_code"] == DEMO_PIXEL_CODE
    assert "sandbox-token" not in str(world)
