"""Fault injection: scripted fates, random faults, latency, and in-flight measurement."""

from __future__ import annotations

import threading

import httpx
import pytest

from reverse_etl.sandbox import (
    CodeFault,
    DropFault,
    FaultPlan,
    HttpFault,
    SandboxServer,
    parse_fault,
)

from .helpers import TRACK, post_track, track_body, web_event


@pytest.mark.parametrize(
    ("fault", "code", "message"),
    [
        (("code", 40100), 40100, "Too many requests. Please retry in some time."),
        (("code", 50000), 50000, "System error"),
        (("code", 40001, "custom words"), 40001, "custom words"),
    ],
)
def test_code_fault(
    client: httpx.Client, server: SandboxServer, fault: tuple[object, ...], code: int, message: str
) -> None:
    server.faults.script(fault)
    body = post_track(client, [web_event()])
    assert (body["code"], body["message"]) == (code, message)
    assert server.events() == []
    assert server.stats.rejected_by_code() == {code: 1}
    assert post_track(client, [web_event()])["code"] == 0  # the script is consumed
    assert len(server.events()) == 1


def test_http_fault_with_retry_after(client: httpx.Client, server: SandboxServer) -> None:
    server.faults.script(("http", 503, 2), ("http", 502))
    first = client.post(TRACK, json=track_body([web_event()]))
    assert first.status_code == 503
    assert first.headers["retry-after"] == "2"
    assert first.headers["content-type"] == "text/html"
    assert "503 Service Unavailable" in first.text
    second = client.post(TRACK, json=track_body([web_event()]))
    assert second.status_code == 502
    assert "retry-after" not in second.headers
    assert server.events() == []
    assert server.stats.snapshot()["faults_injected"] == {"http": 2}


def test_drop_fault_is_a_transport_error(client: httpx.Client, server: SandboxServer) -> None:
    server.faults.script(("drop",))
    with pytest.raises(httpx.TransportError):
        client.post(TRACK, json=track_body([web_event()]))
    assert server.events() == []
    assert server.stats.in_flight == 0
    assert post_track(client, [web_event()])["code"] == 0  # the client reconnects


def test_delay_fault_then_normal_processing(client: httpx.Client, server: SandboxServer) -> None:
    server.faults.script(("delay", 0.01))
    assert post_track(client, [web_event()])["code"] == 0
    assert len(server.events()) == 1
    assert server.stats.snapshot()["faults_injected"] == {"delay": 1}


def test_faults_apply_to_track_only(client: httpx.Client, server: SandboxServer) -> None:
    server.faults.script(("code", 50000))
    pixels = client.get(
        "/open_api/v1.3/pixel/list/", params={"advertiser_id": "7000000000000000001"}
    )
    assert pixels.json()["code"] == 0
    assert server.faults.pending == 1


def test_random_faults_are_seeded(server: SandboxServer) -> None:
    def fates() -> list[object]:
        server.faults.set_plan(
            FaultPlan(
                rate_limit_probability=0.3,
                server_error_probability=0.2,
                drop_probability=0.1,
                seed=7,
            )
        )
        return [server.faults.next_fault() for _ in range(50)]

    first = fates()
    assert first == fates()
    assert {type(f) for f in first} == {CodeFault, DropFault, type(None)}
    assert CodeFault(40100) in first and CodeFault(50000) in first


def test_random_rate_limit_over_http(client: httpx.Client, server: SandboxServer) -> None:
    server.faults.configure(rate_limit_probability=1.0)
    assert post_track(client, [web_event()])["code"] == 40100
    server.faults.configure(rate_limit_probability=0.0)
    assert post_track(client, [web_event()])["code"] == 0


def test_fault_plan_over_control_endpoint(client: httpx.Client, server: SandboxServer) -> None:
    plan = {
        "script": [["code", 40100], ["http", 503, 1.5], ["drop"], ["delay", 0.01]],
        "latency_seconds": 0,
        "seed": 3,
    }
    response = httpx.post(server.base_url + "/_sandbox/faults", json=plan)
    assert response.status_code == 200
    assert response.json()["script"] == [
        ["code", 40100],
        ["http", 503, 1.5],
        ["drop"],
        ["delay", 0.01],
    ]
    assert post_track(client, [web_event()])["code"] == 40100
    assert client.post(TRACK, json=track_body([web_event()])).headers["retry-after"] == "1.5"
    remaining = httpx.get(server.base_url + "/_sandbox/faults").json()
    assert remaining["script"] == [["drop"], ["delay", 0.01]]


@pytest.mark.parametrize(
    "plan",
    [
        {"script": [["explode"]]},
        {"script": "drop"},
        {"rate_limit_probability": 0.8, "drop_probability": 0.5},
        {"latency": 1},
        {"script": [["code", "40100"]]},
    ],
)
def test_bad_fault_plan_is_400(server: SandboxServer, plan: dict[str, object]) -> None:
    response = httpx.post(server.base_url + "/_sandbox/faults", json=plan)
    assert response.status_code == 400
    assert response.json()["error"]


def test_parse_fault_forms() -> None:
    assert parse_fault(("http", 502)) == HttpFault(502)
    assert parse_fault(["code", 40100, "slow down"]) == CodeFault(40100, "slow down")
    assert parse_fault(DropFault()) == DropFault()
    with pytest.raises(ValueError, match="unknown fault"):
        parse_fault(("drop", 1))


def test_max_in_flight_with_eight_threads(server: SandboxServer) -> None:
    # The sandbox holds every request until all eight are inside it: they overlap for sure,
    # however loaded the machine is.
    server.faults.hold()
    codes: list[int] = []

    def send() -> None:
        with httpx.Client(base_url=server.base_url, headers={"Access-Token": "sandbox-token"}) as c:
            codes.append(
                post_track(c, [web_event(event_id=threading.current_thread().name)])["code"]
            )

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    assert server.faults.wait_held(8, timeout=60)
    assert server.faults.held == 8
    server.faults.release()
    for t in threads:
        t.join()
    assert codes == [0] * 8
    assert server.stats.max_in_flight == 8
    assert server.stats.in_flight == 0
    assert server.stats.track_requests == 8


def test_sequential_requests_never_overlap(client: httpx.Client, server: SandboxServer) -> None:
    for i in range(20):
        post_track(client, [web_event(event_id=str(i))])
    assert server.stats.max_in_flight == 1
