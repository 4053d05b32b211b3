"""Meta fault injection: throttling, transient errors, 5xx, drops, scripted bad events, poison."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from reverse_etl.sandbox import (
    GraphFault,
    HttpFault,
    InvalidEventFault,
    MetaFaultPlan,
    SandboxServer,
    parse_meta_fault,
)

from .helpers import TRACK, post_track, track_body, web_event
from .meta_helpers import AUTH, graph_error, meta_event, post_events


@pytest.fixture
def graph(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, headers=AUTH) as c:
        yield c


def test_throttle_17_then_success(graph: httpx.Client, server: SandboxServer) -> None:
    server.meta.faults.script(("throttle", 17))
    error = graph_error(post_events(graph, [meta_event()]))
    assert error["code"] == 17
    assert error["message"] == "(#17) User request limit reached"
    assert error["is_transient"] is True
    assert server.meta.records() == []  # the request was never processed
    assert post_events(graph, [meta_event()]).status_code == 200  # the script is consumed
    assert len(server.meta.events()) == 1
    meta = server.stats.snapshot()["meta"]
    assert (meta["faults_injected"], meta["rejected_by_code"]) == ({"graph": 1}, {"17": 1})


@pytest.mark.parametrize(
    ("code", "status", "transient"),
    [(4, 400, True), (17, 400, True), (32, 403, True), (613, 400, False), (80004, 400, False)],
)
def test_throttling_codes(
    graph: httpx.Client, server: SandboxServer, code: int, status: int, transient: bool
) -> None:
    server.meta.faults.script(("throttle", code))
    error = graph_error(post_events(graph, [meta_event()]), status)
    assert (error["code"], error["is_transient"]) == (code, transient)
    assert error["message"].startswith(f"(#{code}) ")


def test_transient_error_on_a_4xx(graph: httpx.Client, server: SandboxServer) -> None:
    server.meta.faults.script(("transient",), ("graph", 1, 400, False, "no retry"))
    error = graph_error(post_events(graph, [meta_event()]))
    assert (error["code"], error["is_transient"]) == (2, True)
    other = graph_error(post_events(graph, [meta_event()]))
    assert (other["code"], other["is_transient"], other["message"]) == (1, False, "no retry")


def test_server_errors(graph: httpx.Client, server: SandboxServer) -> None:
    server.meta.faults.script(("http", 500), ("http", 503, 2))
    first = post_events(graph, [meta_event()])
    error = graph_error(first, 500)
    assert (error["code"], error["is_transient"]) == (1, True)
    assert "retry-after" not in first.headers
    second = post_events(graph, [meta_event()])
    assert graph_error(second, 503)["code"] == 2
    assert second.headers["retry-after"] == "2"
    assert server.meta.records() == []
    assert server.stats.snapshot()["meta"]["faults_injected"] == {"http": 2}


def test_dropped_connection(graph: httpx.Client, server: SandboxServer) -> None:
    server.meta.faults.script(("drop",))
    with pytest.raises(httpx.TransportError):
        post_events(graph, [meta_event()])
    assert server.meta.records() == []
    assert server.stats.meta.in_flight == 0
    assert post_events(graph, [meta_event()]).status_code == 200  # the client reconnects


def test_delay_then_normal_processing(graph: httpx.Client, server: SandboxServer) -> None:
    server.meta.faults.script(("delay", 0.01))
    assert post_events(graph, [meta_event()]).status_code == 200
    assert server.stats.snapshot()["meta"]["faults_injected"] == {"delay": 1}


def test_scripted_invalid_event(graph: httpx.Client, server: SandboxServer) -> None:
    server.meta.faults.script(("invalid_event", 1, "value is not allowed"), ("invalid_event", 5))
    events = [meta_event(event_id=str(i)) for i in range(3)]
    error = graph_error(post_events(graph, events))
    assert (error["code"], error["error_subcode"], error["is_transient"]) == (100, 2804099, False)
    assert error["error_user_msg"] == "data[1]: value is not allowed"
    rejected = server.meta.records(verdicts=frozenset({"rejected"}))
    assert [r["problem"] for r in rejected] == [None, "value is not allowed", None]
    # Index 5 is past this request's events: a plain success, and the fault is used up.
    assert post_events(graph, events).status_code == 200
    assert server.meta.faults.pending == 0
    assert len(server.meta.events()) == 3


def test_poisoned_event_id_survives_bisection(graph: httpx.Client, server: SandboxServer) -> None:
    server.meta.faults.poison("bad")
    batch = [meta_event(event_id=i) for i in ("a", "bad", "c", "d")]
    assert graph_error(post_events(graph, batch))["error_user_msg"].startswith("data[1]: ")
    assert post_events(graph, batch[:1]).status_code == 200
    error = graph_error(post_events(graph, batch[1:2]))
    assert error["error_user_msg"] == "data[0]: event_id is poisoned in the sandbox"
    assert post_events(graph, batch[2:]).status_code == 200
    assert [e["data"]["event_id"] for e in server.meta.events()] == ["a", "c", "d"]
    assert server.stats.snapshot()["meta"]["faults_injected"] == {"poison": 2}


def test_meta_and_tiktok_fault_queues_are_apart(
    graph: httpx.Client, client: httpx.Client, server: SandboxServer
) -> None:
    server.faults.script(("code", 40100))
    server.meta.faults.script(("throttle", 4))
    assert post_events(graph, [meta_event()]).json()["error"]["code"] == 4
    assert server.faults.pending == 1  # TikTok's fault still waits for a track request
    assert post_track(client, [web_event()])["code"] == 40100
    assert post_events(graph, [meta_event()]).status_code == 200
    assert client.post(TRACK, json=track_body([web_event()])).json()["code"] == 0


def test_random_faults_are_seeded_and_served(graph: httpx.Client, server: SandboxServer) -> None:
    def fates() -> list[object]:
        server.meta.faults.set_plan(
            MetaFaultPlan(throttle_probability=0.3, server_error_probability=0.2, seed=11)
        )
        return [server.meta.faults.next_fault() for _ in range(40)]

    first = fates()
    assert first == fates()
    assert set(first) == {GraphFault(17), HttpFault(500), None}
    server.meta.faults.configure(throttle_probability=1.0, server_error_probability=0.0)
    assert graph_error(post_events(graph, [meta_event()]))["code"] == 17
    server.meta.faults.configure(throttle_probability=0.0)
    assert post_events(graph, [meta_event()]).status_code == 200


def test_fault_plan_over_control_endpoint(graph: httpx.Client, server: SandboxServer) -> None:
    url = server.base_url + "/_sandbox/meta/faults"
    plan = {
        "script": [["throttle", 613], ["http", 502], ["drop"], ["invalid_event", 0, "nope"]],
        "poisoned_event_ids": ["p1"],
        "seed": 3,
    }
    response = httpx.post(url, json=plan)
    assert response.status_code == 200
    assert response.json()["script"] == [
        ["graph", 613, None, None],
        ["http", 502],
        ["drop"],
        ["invalid_event", 0, "nope"],
    ]
    assert graph_error(post_events(graph, [meta_event()]))["code"] == 613
    remaining = httpx.get(url).json()
    assert remaining["script"] == [["http", 502], ["drop"], ["invalid_event", 0, "nope"]]
    assert remaining["poisoned_event_ids"] == ["p1"]
    assert server.faults.pending == 0  # TikTok's plan is untouched


@pytest.mark.parametrize(
    "plan",
    [
        {"script": [["code", 40100]]},
        {"script": [["throttle", 5]]},
        {"script": "drop"},
        {"throttle_probability": 0.8, "drop_probability": 0.5},
        {"poisoned_event_ids": "p1"},
        {"rate_limit_probability": 0.1},
    ],
)
def test_bad_fault_plan_is_400(server: SandboxServer, plan: dict[str, object]) -> None:
    response = httpx.post(server.base_url + "/_sandbox/meta/faults", json=plan)
    assert response.status_code == 400
    assert response.json()["error"]


def test_parse_meta_fault_forms() -> None:
    assert parse_meta_fault(("throttle",)) == GraphFault(17)
    assert parse_meta_fault(["transient", 2, "later"]) == GraphFault(2, 400, True, "later")
    assert parse_meta_fault(("invalid_event", 3)) == InvalidEventFault(3)
    assert parse_meta_fault(("http", 500)) == HttpFault(500)
    with pytest.raises(ValueError, match="unknown Meta fault"):
        parse_meta_fault(("partial", [1]))
    with pytest.raises(ValueError, match="indices start at 0"):
        parse_meta_fault(("invalid_event", -1))


def test_hold_shows_real_concurrency(server: SandboxServer) -> None:
    server.meta.faults.hold()
    codes: list[int] = []

    def send(i: int) -> None:
        with httpx.Client(base_url=server.base_url, headers=AUTH) as c:
            codes.append(post_events(c, [meta_event(event_id=str(i))]).status_code)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    arrived = server.meta.faults.wait_held(4, timeout=60)  # all four held server-side
    server.meta.faults.release()
    for t in threads:
        t.join()
    assert arrived
    assert codes == [200] * 4
    assert server.stats.meta.max_in_flight == 4
    assert server.stats.meta.in_flight == 0
