"""Graph API answers: the ``{"error": {...}}`` body, its trace id, and the success body.

Every Meta answer carries an ``fbtrace_id`` (body and ``x-fb-trace-id`` header) and the API
version it was served with, as Graph does, so a client can log something Meta support accepts.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import orjson

from reverse_etl.sandbox.envelope import Response

from .vocab import (
    CODE_INVALID_PARAMETER,
    CODE_INVALID_TOKEN,
    SUBCODE_UNKNOWN_OBJECT,
    TITLES,
)

INVALID_PARAMETER = "Invalid parameter"


def new_fbtrace_id() -> str:
    """A random 23-character URL-safe id, shaped like Graph's ``fbtrace_id``."""
    return secrets.token_urlsafe(17)


class GraphError(Exception):
    """A Graph API error; :meth:`response` renders Meta's JSON for it."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        http_status: int = 400,
        error_type: str = "OAuthException",
        subcode: int | None = None,
        is_transient: bool | None = None,
        user_title: str | None = None,
        user_msg: str | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status
        self.error_type = error_type
        self.subcode = subcode
        self.is_transient = is_transient
        self.user_title = user_title
        self.user_msg = user_msg
        self.headers = headers

    def body(self, fbtrace_id: str) -> dict[str, Any]:
        """The JSON object Graph answers; optional keys appear only when set."""
        error: dict[str, Any] = {
            "message": self.message,
            "type": self.error_type,
            "code": self.code,
        }
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.is_transient is not None:
            error["is_transient"] = self.is_transient
        if self.user_title is not None:
            error["error_user_title"] = self.user_title
        if self.user_msg is not None:
            error["error_user_msg"] = self.user_msg
        error["fbtrace_id"] = fbtrace_id
        return {"error": error}

    def response(self, api_version: str | None) -> Response:
        """The HTTP answer."""
        trace = new_fbtrace_id()
        return graph_response(self.http_status, self.body(trace), trace, api_version, self.headers)


@dataclass(frozen=True)
class EventProblem:
    """Why one event of a request is invalid: its index, Meta's subcode and a reason."""

    index: int
    subcode: int
    reason: str

    def user_msg(self) -> str:
        """``data[3]: event_time is more than 7 days old``: names the event, as a client needs
        to find it in its batch."""
        return f"data[{self.index}]: {self.reason}"

    def error(self) -> GraphError:
        """The code 100 rejection of the whole request this problem causes."""
        return GraphError(
            CODE_INVALID_PARAMETER,
            INVALID_PARAMETER,
            subcode=self.subcode,
            is_transient=False,
            user_title=TITLES.get(self.subcode, "Invalid Server Event"),
            user_msg=self.user_msg(),
        )


def invalid_request(reason: str) -> GraphError:
    """A code 100 error about the request itself (not one event)."""
    return GraphError(
        CODE_INVALID_PARAMETER,
        f"(#100) {reason}",
        is_transient=False,
        user_title="Invalid Request",
        user_msg=reason,
    )


def unknown_object(method: str, object_id: str) -> GraphError:
    """Graph's answer for an ID it does not know (or may not use): a configuration error."""
    return GraphError(
        CODE_INVALID_PARAMETER,
        f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, "
        "cannot be loaded due to missing permissions, or does not support this operation. "
        "Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
        error_type="GraphMethodException",
        subcode=SUBCODE_UNKNOWN_OBJECT,
        is_transient=False,
    )


def token_error(message: str, reason: str = "invalid_token") -> GraphError:
    """Code 190 with Graph's ``WWW-Authenticate`` header (HTTP 400, as Graph answers)."""
    return GraphError(
        CODE_INVALID_TOKEN,
        message,
        is_transient=False,
        headers=(("WWW-Authenticate", f'OAuth "Facebook Platform" "{reason}" "{message}"'),),
    )


def success(events_received: int, api_version: str) -> Response:
    """HTTP 200 ``{"events_received", "messages", "fbtrace_id"}``."""
    trace = new_fbtrace_id()
    body = {"events_received": events_received, "messages": [], "fbtrace_id": trace}
    return graph_response(200, body, trace, api_version)


def graph_response(
    status: int,
    body: dict[str, Any],
    fbtrace_id: str,
    api_version: str | None,
    headers: tuple[tuple[str, str], ...] = (),
) -> Response:
    """JSON with Graph's trace and version headers."""
    extra: tuple[tuple[str, str], ...] = (("x-fb-trace-id", fbtrace_id),)
    if api_version is not None:
        extra += (("facebook-api-version", api_version),)
    return Response(status, orjson.dumps(body), "application/json; charset=UTF-8", extra + headers)
