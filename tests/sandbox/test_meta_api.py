"""Meta's events endpoint over HTTP: success, tokens, pixels, request-level rules."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import orjson
import pytest

from reverse_etl.sandbox import DEMO_META_PIXEL_ID, DEMO_TOKEN, SandboxServer

from .helpers import T0, TRACK, post_track, web_event
from .meta_helpers import AUTH, EVENTS, VERSION, graph_error, meta_event, post_events


@pytest.fixture
def graph(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, headers=AUTH) as c:
        yield c


def test_success_answer_and_record(graph: httpx.Client, server: SandboxServer) -> None:
    event = meta_event()
    response = post_events(graph, [event, meta_event(event_id="order-2")], partner_agent="retl")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"events_received", "messages", "fbtrace_id"}
    assert (body["events_received"], body["messages"]) == (2, [])
    assert len(body["fbtrace_id"]) == 23
    assert response.headers["x-fb-trace-id"] == body["fbtrace_id"]
    assert response.headers["facebook-api-version"] == VERSION
    first, second = server.meta.events()
    assert first == {
        "received_at": T0,
        "pixel_id": DEMO_META_PIXEL_ID,
        "api_version": VERSION,
        "test_event_code": None,
        "test": False,
        "index": 0,
        "verdict": "accepted",
        "problem": None,
        "data": event,
    }
    assert second["data"]["event_id"] == "order-2"
    assert server.stats.meta.events_accepted == 2


def test_body_token_json_and_form(server: SandboxServer) -> None:
    with httpx.Client(base_url=server.base_url) as bare:
        as_json = bare.post(EVENTS, json={"data": [meta_event()], "access_token": DEMO_TOKEN})
        assert as_json.status_code == 200, as_json.text
        form = {
            "access_token": DEMO_TOKEN,
            "data": orjson.dumps([meta_event(event_id="form-1")]).decode(),
            "test_event_code": "TEST1",
        }
        as_form = bare.post(EVENTS, data=form)
        assert as_form.status_code == 200, as_form.text
        oauth = bare.post(
            EVENTS,
            json={"data": [meta_event(event_id="o")]},
            headers={"Authorization": f"OAuth {DEMO_TOKEN}"},
        )
        assert oauth.status_code == 200, oauth.text
    assert [e["data"]["event_id"] for e in server.meta.events()] == ["order-1", "form-1", "o"]
    assert server.meta.events(test=True)[0]["test_event_code"] == "TEST1"
    # The token sent in the body is never part of what is recorded.
    assert DEMO_TOKEN not in orjson.dumps(server.meta.records()).decode()


def test_token_in_query_is_refused_and_counted(
    graph: httpx.Client, server: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="reverse_etl.sandbox")
    with httpx.Client(base_url=server.base_url) as bare:
        response = bare.post(
            EVENTS, params={"access_token": DEMO_TOKEN}, json={"data": [meta_event()]}
        )
    error = graph_error(response)
    assert error["code"] == 190
    assert "query string" in error["message"]
    assert DEMO_TOKEN not in response.text
    # Refused even next to a valid header token: the URL has already leaked it.
    both = graph.post(EVENTS, params={"access_token": "x"}, json={"data": [meta_event()]})
    assert graph_error(both)["code"] == 190
    assert server.stats.meta.token_in_query == 2
    assert server.stats.snapshot()["meta"]["security_violations"] == {"token_in_query": 2}
    assert server.meta.records() == []
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "access_token=[REDACTED]" in logged
    assert DEMO_TOKEN not in logged


@pytest.mark.parametrize(
    ("headers", "message", "reason"),
    [
        ({}, "An access token is required to request this resource.", "invalid_request"),
        ({"Authorization": "Bearer nope"}, "Invalid OAuth access token.", "invalid_token"),
        ({"Authorization": "Basic c2FuZGJveA=="}, "An access token is required", "invalid_request"),
    ],
)
def test_missing_or_unknown_token_is_190(
    server: SandboxServer, headers: dict[str, str], message: str, reason: str
) -> None:
    with httpx.Client(base_url=server.base_url, headers=headers) as c:
        response = post_events(c, [meta_event()])
    error = graph_error(response)
    assert (error["code"], error["type"], error["is_transient"]) == (190, "OAuthException", False)
    assert error["message"].startswith(message)
    assert f'"{reason}"' in response.headers["www-authenticate"]
    assert server.meta.records() == []
    assert server.stats.meta.rejected_by_code() == {190: 1}


def test_revoked_token(graph: httpx.Client, server: SandboxServer) -> None:
    assert post_events(graph, [meta_event()]).status_code == 200
    assert server.meta.world.revoke_token(DEMO_TOKEN)
    assert graph_error(post_events(graph, [meta_event()]))["code"] == 190


def test_unknown_pixel_is_a_configuration_error(graph: httpx.Client, server: SandboxServer) -> None:
    path = f"/{VERSION}/999000111/events"
    error = graph_error(post_events(graph, [meta_event()], path=path))
    assert (error["code"], error["error_subcode"]) == (100, 33)
    assert error["type"] == "GraphMethodException"
    assert "Object with ID '999000111' does not exist" in error["message"]
    assert "error_user_msg" not in error  # not about any event
    server.meta.add_pixel("999000111")
    assert post_events(graph, [meta_event()], path=path).status_code == 200
    assert server.meta.events()[0]["pixel_id"] == "999000111"
    assert server.stats.snapshot()["meta"]["events_by_pixel"] == {"999000111": 1}


def test_add_pixel_wants_digits(server: SandboxServer) -> None:
    with pytest.raises(ValueError, match="all digits"):
        server.meta.add_pixel("px-1")
    server.meta.add_pixel(DEMO_META_PIXEL_ID)  # known already: a no-op
    assert server.meta.world.pixels() == [DEMO_META_PIXEL_ID]


def test_non_numeric_pixel_and_other_methods(graph: httpx.Client) -> None:
    error = graph_error(post_events(graph, [meta_event()], path=f"/{VERSION}/shop/events"))
    assert "Object with ID 'shop'" in error["message"]
    get = graph_error(graph.get(EVENTS))
    assert get["message"].startswith("Unsupported get request.")


def test_token_limited_to_some_pixels(server: SandboxServer) -> None:
    server.meta.add_pixel("555")
    server.meta.world.add_token("narrow", ["555"])
    with httpx.Client(base_url=server.base_url, headers={"Authorization": "Bearer narrow"}) as c:
        assert post_events(c, [meta_event()], path=f"/{VERSION}/555/events").status_code == 200
        error = graph_error(post_events(c, [meta_event()]))
    assert (error["code"], error["error_subcode"]) == (100, 33)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "The parameter data is required"),
        ({"data": {"event_name": "Purchase"}}, "must be an array"),
        ({"data": []}, "at least 1 event"),
        ({"data": [meta_event()], "test_event_code": 7}, "test_event_code"),
        ({"data": [meta_event()], "partner_agent": ""}, "partner_agent"),
    ],
)
def test_request_level_rules(graph: httpx.Client, body: dict[str, object], fragment: str) -> None:
    error = graph_error(graph.post(EVENTS, json=body))
    assert error["code"] == 100
    assert fragment in error["message"]
    assert error["is_transient"] is False


def test_body_that_is_not_json(graph: httpx.Client) -> None:
    response = graph.post(
        EVENTS, content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert graph_error(response)["code"] == 100


def test_batch_limit_is_1000(graph: httpx.Client, server: SandboxServer) -> None:
    events = [meta_event(event_id=str(i)) for i in range(1001)]
    error = graph_error(post_events(graph, events))
    assert error["code"] == 100
    assert "at most 1000" in error["error_user_msg"]
    response = post_events(graph, events[:1000])
    assert response.json()["events_received"] == 1000
    assert server.stats.snapshot()["meta"]["max_batch_size"] == 1000


def test_meta_and_tiktok_share_one_server(graph: httpx.Client, server: SandboxServer) -> None:
    with httpx.Client(base_url=server.base_url, headers={"Access-Token": DEMO_TOKEN}) as tiktok:
        assert post_track(tiktok, [web_event()])["code"] == 0
    for i in range(3):
        assert post_events(graph, [meta_event(event_id=str(i))]).status_code == 200
    snapshot = server.stats.snapshot()
    assert (snapshot["track_requests"], snapshot["events_accepted"]) == (1, 1)
    assert snapshot["requests_by_endpoint"] == {TRACK.removeprefix("/open_api/v1.3/"): 1}
    meta = snapshot["meta"]
    assert (meta["requests"], meta["events_accepted"], meta["max_in_flight"]) == (3, 3, 1)
    assert meta["in_flight"] == 0
    assert len(server.events()) == 1 and len(server.meta.events()) == 3


def test_read_pixel_as_retl_check_does(graph: httpx.Client, server: SandboxServer) -> None:
    pixel = f"/{VERSION}/{DEMO_META_PIXEL_ID}"
    response = graph.get(pixel, params={"fields": "id,name"})
    assert response.status_code == 200
    assert response.json() == {"id": DEMO_META_PIXEL_ID, "name": "Sandbox Demo Dataset"}
    assert graph.get(pixel, params={"fields": "id"}).json() == {"id": DEMO_META_PIXEL_ID}
    server.meta.add_pixel("4242", "Shop")
    assert graph.get(f"/{VERSION}/4242").json() == {"id": "4242", "name": "Shop"}
    assert (
        "nonexisting field (owner)"
        in graph_error(graph.get(pixel, params={"fields": "owner"}))["message"]
    )
    unknown = graph_error(graph.get(f"/{VERSION}/777"))
    assert (unknown["code"], unknown["error_subcode"]) == (100, 33)
    assert unknown["message"].startswith("Unsupported get request. Object with ID '777'")
    with httpx.Client(base_url=server.base_url) as bare:
        assert graph_error(bare.get(pixel))["code"] == 190
        assert graph_error(bare.get(pixel, params={"access_token": DEMO_TOKEN}))["code"] == 190
    meta = server.stats.snapshot()["meta"]
    assert (meta["pixel_reads"], meta["security_violations"]) == (3, {"token_in_query": 1})
    assert meta["requests"] == 0  # reads are not event requests
    assert server.meta.records() == []
