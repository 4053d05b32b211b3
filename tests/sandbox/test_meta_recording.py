"""Meta deduplication, test events, the record, stats and the ``/_sandbox/meta/*`` endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from reverse_etl.sandbox import DEMO_META_PIXEL_ID, SandboxOptions, SandboxServer

from .helpers import FakeClock
from .meta_helpers import AUTH, VERSION, graph_error, meta_event, post_events

WINDOW = 48 * 3600


@pytest.fixture
def graph(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, headers=AUTH) as c:
        yield c


def _ids(records: list[dict[str, Any]]) -> list[str]:
    return [r["data"]["event_id"] for r in records]


def test_duplicates_within_48h_are_accepted_and_counted(
    graph: httpx.Client, server: SandboxServer, clock: FakeClock
) -> None:
    first = post_events(graph, [meta_event(event_id="a"), meta_event(event_id="b")])
    assert first.json()["events_received"] == 2
    clock.advance(WINDOW - 1)
    second = post_events(graph, [meta_event(event_id="a"), meta_event(event_id="c")])
    assert second.json()["events_received"] == 2  # Meta acknowledges duplicates too
    meta = server.stats.snapshot()["meta"]
    assert (meta["events_received"], meta["events_accepted"], meta["events_deduplicated"]) == (
        4,
        3,
        1,
    )
    assert _ids(server.meta.events()) == ["a", "b", "c"]
    duplicate = server.meta.records(verdicts=frozenset({"duplicate"}))
    assert _ids(duplicate) == ["a"]
    clock.advance(1)  # 48 h after the first "a": new again
    post_events(graph, [meta_event(event_id="a")])
    assert server.stats.meta.events_deduplicated == 1
    assert _ids(server.meta.events()) == ["a", "b", "c", "a"]


def test_dedup_key_is_pixel_event_name_and_event_id(
    graph: httpx.Client, server: SandboxServer
) -> None:
    server.meta.add_pixel("42")
    post_events(graph, [meta_event(event_id="a")])
    post_events(graph, [meta_event(event_id="a", event_name="AddToCart")])  # other name
    post_events(graph, [meta_event(event_id="a")], path=f"/{VERSION}/42/events")  # other pixel
    post_events(graph, [meta_event(event_id="b"), meta_event(event_id="b")])  # twice in one
    no_id = meta_event()
    del no_id["event_id"]
    post_events(graph, [no_id, no_id])  # no event_id: never a duplicate
    assert (server.stats.meta.events_accepted, server.stats.meta.events_deduplicated) == (6, 1)


def test_test_event_code_is_recorded_and_deduplicated_apart(
    graph: httpx.Client, server: SandboxServer
) -> None:
    post_events(graph, [meta_event(event_id="a")], test_event_code="TEST4242")
    post_events(graph, [meta_event(event_id="a")])  # the live copy is not hidden by the test one
    (test_event,) = server.meta.events(test=True)
    assert (test_event["test"], test_event["test_event_code"]) == (True, "TEST4242")
    (live_event,) = server.meta.events(test=False)
    assert (live_event["test"], live_event["test_event_code"]) == (False, None)
    meta = server.stats.snapshot()["meta"]
    assert (meta["test_events"], meta["live_events"], meta["events_deduplicated"]) == (1, 1, 0)


def test_events_endpoint_jsonl(graph: httpx.Client, server: SandboxServer) -> None:
    post_events(graph, [meta_event(event_id="a"), meta_event(event_id="a")])
    post_events(graph, [meta_event(event_id="t")], test_event_code="T1")
    post_events(graph, [meta_event(event_id="x", event_time=0)])  # rejected
    base = server.base_url + "/_sandbox/meta/events"

    def ids(query: str) -> list[tuple[str, str]]:
        response = httpx.get(base + query)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-ndjson"
        lines = [orjson.loads(line) for line in response.content.splitlines()]
        return [(r["data"]["event_id"], r["verdict"]) for r in lines]

    assert ids("") == [("a", "accepted"), ("t", "accepted")]
    assert ids("?test=false") == [("a", "accepted")]
    assert ids("?verdict=all") == [
        ("a", "accepted"),
        ("a", "duplicate"),
        ("t", "accepted"),
        ("x", "rejected"),
    ]
    assert ids("?verdict=rejected,duplicate&test=false") == [("a", "duplicate"), ("x", "rejected")]
    assert httpx.get(base + "?verdict=maybe").status_code == 400
    assert httpx.get(base + "?test=yes").status_code == 400


def test_summaries(graph: httpx.Client, server: SandboxServer) -> None:
    post_events(graph, [meta_event(event_id="a"), meta_event(event_id="a")])
    graph_error(post_events(graph, [meta_event(event_time=0)]))
    summary = httpx.get(server.base_url + "/_sandbox/meta/summary").json()
    assert summary == {
        "requests": 2,
        "accepted_requests": 1,
        "events_received": 2,
        "events_accepted": 1,
        "events_deduplicated": 1,
        "live_events": 1,
        "test_events": 0,
        "max_batch_size": 2,
        "in_flight": 0,
        "max_in_flight": 1,
        "events_by_pixel": {DEMO_META_PIXEL_ID: 1},
        "rejected_by_code": {"100": 1},
        "rejected_by_subcode": {"2804003": 1},
        "pixel_reads": 0,
        "faults_injected": {},
        "security_violations": {},
        "faults_pending": 0,
    }
    summary.pop("faults_pending")
    assert server.stats.snapshot()["meta"] == summary
    # TikTok's own summary keeps its keys.
    assert "meta" not in httpx.get(server.base_url + "/_sandbox/summary").json()


def test_reset_forgets_meta_but_keeps_pixels(graph: httpx.Client, server: SandboxServer) -> None:
    server.meta.add_pixel("77")
    post_events(graph, [meta_event(event_id="a")])
    server.meta.faults.script(("throttle", 4))
    assert httpx.post(server.base_url + "/_sandbox/reset").json() == {"reset": True}
    assert server.meta.records() == []
    assert server.stats.meta.events_accepted == 0
    assert server.meta.faults.pending == 0
    assert server.meta.world.has_pixel("77")
    post_events(graph, [meta_event(event_id="a")])  # dedup history is gone too
    assert server.stats.meta.events_deduplicated == 0


def test_pixels_endpoint(graph: httpx.Client, server: SandboxServer) -> None:
    url = server.base_url + "/_sandbox/meta/pixels"
    assert httpx.post(url, json={"pixel_id": "31337"}).json() == {
        "pixels": [DEMO_META_PIXEL_ID, "31337"]
    }
    assert httpx.get(url).json()["pixels"] == [DEMO_META_PIXEL_ID, "31337"]
    assert post_events(graph, [meta_event()], path=f"/{VERSION}/31337/events").status_code == 200
    assert httpx.post(url, json={"pixel_id": "px"}).status_code == 400
    assert httpx.post(url, json={"pixel_id": 31337}).status_code == 400


def test_keep_events_false_keeps_counts_only(clock: FakeClock) -> None:
    with (
        SandboxServer(options=SandboxOptions(clock=clock, keep_events=False)) as server,
        httpx.Client(base_url=server.base_url, headers=AUTH) as graph,
    ):
        post_events(graph, [meta_event(event_id="a"), meta_event(event_id="a")])
        assert server.meta.records() == []
        assert (server.stats.meta.events_accepted, server.stats.meta.events_deduplicated) == (1, 1)
