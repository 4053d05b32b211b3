"""The Graph API client against a scripted loopback server: every answer's outcome, and the
token only ever in the Authorization header."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from pydantic import SecretStr

from reverse_etl.delivery.outcome import KINDS
from reverse_etl.destinations.meta.client import MetaClient
from reverse_etl.destinations.meta.responses import classify
from tests.delivery.scripted_http import Reply, ScriptedServer

from .helpers import PIXEL

TOKEN = "EAAB-meta-SECRET-token-5f1c9e0d"
BODY = b'{"partner_agent":"retl","data":[{"event_name":"Lead","event_time":1}]}'


def client(server: ScriptedServer, **kw: Any) -> MetaClient:
    return MetaClient(server.base_url, "v21.0", PIXEL, SecretStr(TOKEN), **kw)


def graph_error(code: int, message: str = "Invalid parameter", **fields: Any) -> dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "fbtrace_id": "AbCdTrace",
            **fields,
        }
    }


def test_ok_and_the_token_is_only_in_the_header(server: ScriptedServer) -> None:
    server.script(Reply(200, {"events_received": 1, "messages": [], "fbtrace_id": "Tr1"}))
    with client(server) as c:
        outcome = c.send(BODY)
    assert (outcome.kind, outcome.message, outcome.request_id) == (
        "ok",
        "1 events received",
        "Tr1",
    )
    (seen,) = server.seen
    assert (seen.method, seen.path, seen.query) == ("POST", f"/v21.0/{PIXEL}/events", {})
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"
    assert seen.headers["content-type"] == "application/json"
    assert seen.body == BODY
    assert TOKEN not in seen.path and "access_token" not in seen.path


@pytest.mark.parametrize("code", [4, 17, 32, 613])
def test_rate_limits_are_throttled_transients(server: ScriptedServer, code: int) -> None:
    server.script(Reply(400, graph_error(code, "(#4) Application request limit reached")))
    with client(server) as c:
        outcome = c.send(BODY)
    assert (outcome.kind, outcome.code, outcome.throttled) == ("transient", code, True)
    assert outcome.request_id == "AbCdTrace"


@pytest.mark.parametrize("code", [80000, 80004, 80014])
def test_business_use_case_rate_limits_are_throttled_transients(
    server: ScriptedServer, code: int
) -> None:
    # Meta answers them with is_transient false: a rate limit all the same (wait, try again),
    # not a refusal that stops the destination.
    message = (
        f"(#{code}) There have been too many calls from this ad-account. Wait a bit and try again."
    )
    server.script(Reply(400, graph_error(code, message, error_subcode=2446079, is_transient=False)))
    with client(server) as c:
        outcome = c.send(BODY)
    assert (outcome.kind, outcome.code, outcome.throttled) == ("transient", code, True)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, graph_error(2, "Service temporarily unavailable", is_transient=True)),
        (400, graph_error(100, "Please retry", is_transient=True)),
        (502, b"<html>Bad gateway</html>"),
        (503, {"error": "not a graph error object"}),
        (200, {"unexpected": True}),
    ],
)
def test_transient_answers(server: ScriptedServer, status: int, body: Any) -> None:
    server.script(Reply(status, body))
    with client(server) as c:
        outcome = c.send(BODY)
    assert outcome.kind == "transient" and not outcome.throttled


def test_dropped_connection_is_transient(server: ScriptedServer) -> None:
    server.script(Reply(drop=True), Reply(drop=True))
    with client(server) as c:
        outcome = c.send(BODY)
    assert outcome.kind == "transient"
    assert TOKEN not in outcome.message


def test_the_request_deadline_bounds_a_silent_server(server: ScriptedServer) -> None:
    server.script(Reply(hold=threading.Event()))
    with client(server, deadline=0.3) as c:
        outcome = c.send(BODY)
    assert outcome.kind == "transient"
    assert "0.3s deadline" in outcome.message


def test_invalid_event_is_bisected_with_metas_reason(server: ScriptedServer) -> None:
    user_msg = "The parameter event_time is outside the allowed window."
    server.script(
        Reply(400, graph_error(100, error_subcode=2804003, error_user_msg=user_msg)),
        Reply(400, graph_error(100, "Invalid parameter")),
    )
    with client(server) as c:
        first, second = c.send(BODY), c.send(BODY)
    assert (first.kind, first.message, first.code, first.request_id) == (
        "invalid",
        user_msg,
        100,
        "AbCdTrace",
    )
    assert (second.kind, second.message) == ("invalid", "Invalid parameter")


def test_unknown_pixel_is_a_settings_error(server: ScriptedServer) -> None:
    message = (
        f"Unsupported post request. Object with ID '{PIXEL}' does not exist, cannot be loaded "
        "due to missing permissions, or does not support this operation."
    )
    server.script(
        Reply(400, graph_error(100, message, error_subcode=33, type="GraphMethodException")),
        Reply(400, graph_error(100, message)),  # the same without the subcode
        Reply(400, graph_error(100, error_user_msg="Invalid test_event_code: TEST1")),
    )
    with client(server) as c:
        outcomes = [c.send(BODY) for _ in range(3)]
    assert [(o.kind, o.field) for o in outcomes] == [
        ("config", "pixel_id"),
        ("config", "pixel_id"),
        ("config", "test_event_code"),
    ]


def test_invalid_token_is_auth_and_never_echoed(server: ScriptedServer) -> None:
    server.script(
        Reply(401, graph_error(190, f"Invalid OAuth access token - Cannot parse {TOKEN}"))
    )
    with client(server) as c:
        outcome = c.send(BODY)
    assert (outcome.kind, outcome.code) == ("auth", 190)
    assert TOKEN not in outcome.message and "**********" in outcome.message


def test_other_errors_are_terminal(server: ScriptedServer) -> None:
    server.script(Reply(403, graph_error(200, "(#200) Permissions error")))
    with client(server) as c:
        outcome = c.send(BODY)
    assert (outcome.kind, outcome.code, outcome.message) == (
        "terminal",
        200,
        "(#200) Permissions error",
    )


def test_a_token_that_cannot_be_a_header_is_never_sent(server: ScriptedServer) -> None:
    with MetaClient(server.base_url, "v21.0", PIXEL, SecretStr("tok\nen-value")) as c:
        outcome = c.send(BODY)
    assert outcome.kind == "auth"
    assert server.seen == []


def test_read_pixel_for_retl_check(server: ScriptedServer) -> None:
    server.script(Reply(200, {"id": PIXEL, "name": "Shop pixel"}))
    with client(server) as c:
        outcome = c.read_pixel()
    assert (outcome.kind, outcome.message) == ("ok", f"pixel {PIXEL} ('Shop pixel')")
    (seen,) = server.seen
    assert (seen.method, seen.path, seen.query) == ("GET", f"/v21.0/{PIXEL}", {"fields": "id,name"})
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"


def test_every_classification_is_an_outcome_kind() -> None:
    answers = [
        (200, {"events_received": 3}),
        (400, graph_error(100)),
        (400, graph_error(190)),
        (400, graph_error(368, "blocked")),
        (404, None),
        (401, None),
    ]
    kinds = [classify(status, body).kind for status, body in answers]
    assert kinds == ["ok", "invalid", "auth", "terminal", "terminal", "auth"]
    assert set(kinds) <= KINDS
