"""Envelope, request ids, authentication and routing."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import orjson

from reverse_etl.sandbox import SandboxServer

from .helpers import TRACK, track_body, web_event

REQUEST_ID = re.compile(r"\d{14}[0-9A-F]{20}")


def test_success_envelope_and_request_id(client: httpx.Client) -> None:
    response = client.post(TRACK, json=track_body([web_event()]))
    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"code", "message", "request_id", "data"}
    assert (body["code"], body["message"]) == (0, "OK")
    assert REQUEST_ID.fullmatch(body["request_id"])
    # The timestamp part is the server clock (the fixture's fake clock) in UTC.
    assert body["request_id"].startswith("20250615")


def test_request_ids_are_unique(client: httpx.Client) -> None:
    ids = {
        client.post(TRACK, json=track_body([web_event()])).json()["request_id"] for _ in range(5)
    }
    assert len(ids) == 5


def test_missing_token_is_40104_with_http_200(server: SandboxServer) -> None:
    # TikTok's SDK: 40104 EMPTY_ACCESS_TOKEN; 40105 is for a token it does not know.
    response = httpx.post(server.base_url + TRACK, json=track_body([web_event()]))
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == 40104
    assert body["message"] == "Access token is empty."
    assert body["data"] is None
    assert REQUEST_ID.fullmatch(body["request_id"])


def test_unknown_token_is_40105(server: SandboxServer) -> None:
    response = httpx.post(
        server.base_url + TRACK, json=track_body([web_event()]), headers={"Access-Token": "nope"}
    )
    assert response.json()["code"] == 40105
    assert server.stats.rejected_by_code() == {40105: 1}


def test_unknown_path_is_404_with_40007(client: httpx.Client) -> None:
    response = client.get("/open_api/v1.3/no/such/thing/")
    assert response.status_code == 404
    assert response.json()["code"] == 40007


def test_wrong_method_on_known_path(client: httpx.Client) -> None:
    response = client.get(TRACK)
    assert response.status_code == 405
    assert response.json()["code"] == 40002


def test_body_must_be_json_object(client: httpx.Client) -> None:
    assert client.post(TRACK, content=b"{not json").json()["code"] == 40002
    response = client.post(TRACK, content=b"[1, 2]")
    assert response.json()["message"] == "Request body must be a JSON object."


def test_chunked_request_body_is_read(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:  # httpx sends an iterator body with Transfer-Encoding: chunked
        payload = orjson.dumps(track_body([web_event()]))
        yield payload[:10]
        yield payload[10:]

    assert client.post(TRACK, content=chunks()).json()["code"] == 0


def test_requests_by_endpoint_are_counted(client: httpx.Client, server: SandboxServer) -> None:
    client.post(TRACK, json=track_body([web_event()]))
    client.get("/open_api/v1.3/pixel/list/", params={"advertiser_id": "7000000000000000001"})
    client.get("/nowhere")
    assert server.stats.requests_by_endpoint() == {
        "event/track/": 1,
        "pixel/list/": 1,
        "(unknown)": 1,
    }
