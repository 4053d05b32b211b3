"""TikTokClient over real HTTP on loopback, against a scripted server."""

from __future__ import annotations

import logging
import socket
import threading
import traceback
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from pydantic import SecretStr
from scripted_http import TOKEN, Reply, ScriptedServer

from reverse_etl.__about__ import __version__
from reverse_etl.delivery import build_body
from reverse_etl.destinations.tiktok.client import (
    TikTokClient,
    TrackOutcome,
    classify,
    encode_params,
)
from reverse_etl.destinations.tiktok.envelope import EnvelopeSpec
from reverse_etl.destinations.tiktok.vocab import TRACK_PATH
from reverse_etl.errors import (
    AuthError,
    DestinationError,
    TerminalDestinationError,
    TransientDestinationError,
)

BODY = build_body(EnvelopeSpec("web", "CPIXEL"), [b'{"event":"Lead","event_id":"e1"}'])


def envelope(code: int, message: str = "", data: object = None) -> dict[str, object]:
    return {
        "code": code,
        "message": message,
        "request_id": "2025010307312700AABBCCDD",
        "data": data,
    }


@pytest.fixture
def client(server: ScriptedServer) -> Iterator[TikTokClient]:
    with TikTokClient(server.base_url, SecretStr(TOKEN), timeout=60.0) as c:
        yield c


def test_track_posts_the_body_with_token_and_identity(
    server: ScriptedServer, client: TikTokClient
) -> None:
    outcome = client.track(BODY)

    assert outcome == TrackOutcome("ok", 0, "OK", "RID0", None, 200)
    (seen,) = server.seen
    assert (seen.method, seen.path, seen.body) == ("POST", TRACK_PATH, BODY)
    assert seen.headers["access-token"] == TOKEN
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["user-agent"] == f"retl/{__version__}"
    assert "authorization" not in seen.headers


@pytest.mark.parametrize(
    ("reply", "kind", "code"),
    [
        (Reply(body=envelope(20001, "partial")), "partial", 20001),
        (
            Reply(body=envelope(40105, "Access token is incorrect or has been revoked.")),
            "auth",
            40105,
        ),
        (Reply(body=envelope(40002, "data.3.event_id: Not a valid string")), "invalid", 40002),
        (
            Reply(body=envelope(40100, "Too many requests. Please retry in some time.")),
            "transient",
            40100,
        ),
        (
            Reply(body=envelope(50002, "Error processing request on TikTok side")),
            "transient",
            50002,
        ),
        (Reply(body=envelope(40700, "Internal service validation error.")), "transient", 40700),
        (Reply(body=envelope(40001, "No permission to operate pixel code")), "terminal", 40001),
        (Reply(body=envelope(40007, "not found")), "terminal", 40007),
        (Reply(body=envelope(41234, "something new")), "terminal", 41234),
        (Reply(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>"), "transient", None),
        (Reply(503, envelope(50000, "System error")), "transient", 50000),
        (Reply(429, b"slow down"), "transient", None),
        (Reply(404, b"<html>Not Found</html>"), "terminal", None),
        (Reply(401, b"unauthorised"), "auth", None),
    ],
)
def test_track_classifies_answers(
    server: ScriptedServer, client: TikTokClient, reply: Reply, kind: str, code: int | None
) -> None:
    server.script(reply)
    outcome = client.track(BODY)
    assert (outcome.kind, outcome.code, outcome.http_status) == (kind, code, reply.status)
    assert outcome.message


def test_a_2xx_that_is_not_an_envelope_is_transient_and_says_so(
    server: ScriptedServer, client: TikTokClient
) -> None:
    server.script(Reply(200, b"<html>captive portal</html>"), Reply(200, b""))
    for _ in range(2):
        outcome = client.track(BODY)
        assert outcome.kind == "transient"
        assert "without a TikTok response envelope" in outcome.message


def test_request_id_and_message_are_kept(server: ScriptedServer, client: TikTokClient) -> None:
    server.script(
        Reply(body=envelope(40002, "Invalid value for event_source_id: not a valid string."))
    )
    outcome = client.track(BODY)
    assert outcome.request_id == "2025010307312700AABBCCDD"
    assert outcome.message == "Invalid value for event_source_id: not a valid string."


def test_retry_after_seconds_and_dates_are_honoured(
    server: ScriptedServer, client: TikTokClient
) -> None:
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=120), usegmt=True)
    server.script(
        Reply(429, envelope(40100, "Too many"), headers=(("Retry-After", "7"),)),
        Reply(503, b"busy", headers=(("Retry-After", later),)),
        Reply(503, b"busy", headers=(("Retry-After", "soon"),)),
    )
    assert client.track(BODY).retry_after == 7.0
    from_date = client.track(BODY).retry_after
    assert from_date is not None and 60 < from_date <= 120
    assert client.track(BODY).retry_after is None


def test_a_dropped_connection_is_transient(server: ScriptedServer, client: TikTokClient) -> None:
    server.script(Reply(drop=True))
    outcome = client.track(BODY)
    assert outcome.kind == "transient" and outcome.http_status is None
    assert "RemoteProtocolError" in outcome.message
    assert client.track(BODY).kind == "ok"  # the pool recovers


def test_a_timeout_is_transient(server: ScriptedServer) -> None:
    hold = threading.Event()
    server.script(Reply(hold=hold))
    with TikTokClient(server.base_url, SecretStr(TOKEN), timeout=0.2) as client:
        outcome = client.track(BODY)
    hold.set()
    assert outcome.kind == "transient"
    assert "timed out" in outcome.message


def test_a_refused_connection_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the request: nothing listens
    with TikTokClient(f"http://127.0.0.1:{port}", SecretStr(TOKEN)) as client:
        outcome = client.track(BODY)
    assert outcome.kind == "transient" and "ConnectError" in outcome.message


def test_a_call_that_cannot_connect_names_its_request_once() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the request: nothing listens
    path = "/open_api/v1.3/pixel/list/"
    client = TikTokClient(f"http://127.0.0.1:{port}", SecretStr(TOKEN))
    with client, pytest.raises(TransientDestinationError) as caught:
        client.call("GET", path, params={"advertiser_id": "1"})
    message = str(caught.value)
    assert message.startswith(f"GET {path} connection failed (ConnectError")
    assert message.count(path) == 1


def test_connections_are_kept_alive(server: ScriptedServer, client: TikTokClient) -> None:
    for _ in range(3):
        assert client.track(BODY).ok
    assert len({seen.client_port for seen in server.seen}) == 1


def test_without_a_token_nothing_is_sent(server: ScriptedServer) -> None:
    with TikTokClient(server.base_url, None) as client:
        outcome = client.track(BODY)
        assert outcome.kind == "auth"
        with pytest.raises(AuthError):
            client.call("GET", "/open_api/v1.3/pixel/list/", params={"advertiser_id": "1"})
    assert server.seen == []


# -- generic calls ---------------------------------------------------------------------------


def test_call_encodes_list_and_dict_params_as_json(
    server: ScriptedServer, client: TikTokClient
) -> None:
    pixels = {"pixels": [{"pixel_code": "CPIXEL", "pixel_name": "Shop"}], "page_info": {"page": 1}}
    server.script(Reply(body=envelope(0, "OK", pixels)))
    data = client.call(
        "get",
        "/open_api/v1.3/pixel/list/",
        params={
            "advertiser_id": "7654321098765432109",
            "event_set_ids": ["1", "2"],
            "filtering": {"available_for_catalog_only": True},
            "page": 2,
            "name": None,
        },
    )
    assert data == pixels
    (seen,) = server.seen
    assert seen.method == "GET" and seen.path == "/open_api/v1.3/pixel/list/"
    assert seen.query == {
        "advertiser_id": "7654321098765432109",
        "event_set_ids": '["1","2"]',
        "filtering": '{"available_for_catalog_only":true}',
        "page": "2",
    }


def test_call_posts_json_and_can_skip_the_token(
    server: ScriptedServer, client: TikTokClient
) -> None:
    server.script(Reply(body=envelope(0, "OK", {"access_token": "new", "advertiser_ids": ["1"]})))
    data = client.call(
        "POST",
        "/open_api/v1.3/oauth2/access_token/",
        json={"app_id": "A", "secret": "S", "auth_code": "C"},
        authenticated=False,
    )
    assert data["advertiser_ids"] == ["1"]
    (seen,) = server.seen
    assert "access-token" not in seen.headers
    assert seen.headers["content-type"] == "application/json"
    assert seen.body == b'{"app_id":"A","secret":"S","auth_code":"C"}'


def test_call_returns_an_empty_dict_for_null_data(
    server: ScriptedServer, client: TikTokClient
) -> None:
    server.script(Reply(body=envelope(0, "OK", None)))
    assert client.call("POST", "/open_api/v1.3/offline/delete/", json={"event_set_id": "1"}) == {}


@pytest.mark.parametrize(
    ("reply", "error_type", "code"),
    [
        (Reply(body=envelope(40105, "bad token")), AuthError, 40105),
        (Reply(body=envelope(40100, "Too many requests")), TransientDestinationError, 40100),
        (Reply(502, b"<html>Bad Gateway</html>"), TransientDestinationError, None),
        (Reply(drop=True), TransientDestinationError, None),
        (
            Reply(body=envelope(40002, "pixel_name cannot be empty.")),
            TerminalDestinationError,
            40002,
        ),
        (Reply(body=envelope(40001, "No permission")), TerminalDestinationError, 40001),
        (Reply(body=envelope(0, "OK", [1, 2])), TerminalDestinationError, 0),
    ],
)
def test_call_raises_classified_errors(
    server: ScriptedServer,
    client: TikTokClient,
    reply: Reply,
    error_type: type[DestinationError],
    code: int | None,
) -> None:
    server.script(reply)
    with pytest.raises(error_type) as info:
        client.call("POST", "/open_api/v1.3/pixel/create/", json={"pixel_name": ""})
    assert info.value.code == code
    assert "/pixel/create/" in str(info.value)
    # Our error, not a chained httpx one carrying the request (and its headers).
    assert info.value.__cause__ is None and info.value.__context__ is None


def test_transient_call_errors_carry_retry_after(
    server: ScriptedServer, client: TikTokClient
) -> None:
    server.script(Reply(429, envelope(40100, "Too many"), headers=(("Retry-After", "3"),)))
    with pytest.raises(TransientDestinationError) as info:
        client.call("GET", "/open_api/v1.3/crm/list/", params={"advertiser_id": "1"})
    assert info.value.retry_after == 3.0


# -- secrets ---------------------------------------------------------------------------------


def test_the_token_never_leaks(server: ScriptedServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # httpx and httpcore included
    captured: list[str] = []

    def track(client: TikTokClient) -> None:
        outcome = client.track(BODY)
        captured.extend([repr(outcome), str(outcome), outcome.message])

    def call(client: TikTokClient) -> None:
        with pytest.raises(DestinationError) as info:
            client.call("GET", "/open_api/v1.3/pixel/list/", params={"advertiser_id": "1"})
        exc = info.value
        captured.extend(
            [str(exc), repr(exc), exc.message, "".join(traceback.format_exception(exc))]
        )

    server.script(
        Reply(body=envelope(40105, f"Access token {TOKEN} is incorrect")),  # an echoing server
        Reply(502, f"<html>upstream rejected {TOKEN}</html>".encode()),
        Reply(drop=True),
        Reply(body=envelope(40105, f"token {TOKEN} revoked")),
        Reply(drop=True),
        Reply(body=envelope(40001, "No permission")),
    )
    with TikTokClient(server.base_url, SecretStr(TOKEN), timeout=60.0) as client:
        captured += [repr(client), str(vars(client).get("_token"))]
        for _ in range(3):
            track(client)
        for _ in range(3):
            call(client)
    hold = threading.Event()
    server.script(Reply(hold=hold), Reply(hold=hold))
    with TikTokClient(server.base_url, SecretStr(TOKEN), timeout=0.2) as client:
        track(client)
        call(client)
    hold.set()
    captured += [record.getMessage() for record in caplog.records]
    captured.append(caplog.text)

    assert len(caplog.records) > 0
    assert sum("**********" in text for text in captured) >= 2  # echoed tokens were scrubbed
    for text in captured:
        assert TOKEN not in text


# -- pure helpers ----------------------------------------------------------------------------


def test_classify_prefers_gateway_status_over_the_body() -> None:
    assert classify(503, {"code": 0, "message": "OK"}).kind == "transient"
    assert classify(200, {"code": True}).kind == "transient"  # not a real code
    assert classify(400, {"code": 0}).kind == "terminal"
    assert classify(302, None).kind == "terminal"


def test_encode_params() -> None:
    assert encode_params({"a": [1], "b": {"x": "y"}, "c": False, "d": 5, "e": None, "f": "s"}) == {
        "a": "[1]",
        "b": '{"x":"y"}',
        "c": "false",
        "d": "5",
        "f": "s",
    }
