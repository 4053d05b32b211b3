"""TikTok's response envelope, request ids and the request/response values handlers trade."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from reverse_etl.destinations.tiktok.vocab import CODE_INVALID_PARAMS

JSON_TYPE = "application/json"


class ApiError(Exception):
    """An API-level failure: answered inside the envelope, by default with HTTP 200 like TikTok."""

    def __init__(self, code: int, message: str, *, http_status: int = 200) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status


def invalid(message: str) -> ApiError:
    """The common 40002 "invalid parameters" error."""
    return ApiError(CODE_INVALID_PARAMS, message)


def new_request_id(now: float | None = None) -> str:
    """``YYYYMMDDhhmmss`` (UTC) followed by 20 upper-case hex characters, as TikTok returns."""
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(time.time() if now is None else now))
    return stamp + secrets.token_hex(10).upper()


@dataclass(frozen=True)
class Response:
    """A complete HTTP answer; handlers build these and the HTTP layer only writes them."""

    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: tuple[tuple[str, str], ...] = ()


def envelope(
    code: int,
    message: str,
    data: object = None,
    *,
    http_status: int = 200,
    now: float | None = None,
) -> Response:
    """Wrap ``data`` in ``{"code", "message", "request_id", "data"}``."""
    body = {"code": code, "message": message, "request_id": new_request_id(now), "data": data}
    return Response(http_status, orjson.dumps(body))


@dataclass(frozen=True)
class ApiRequest:
    """One parsed HTTP request; ``query`` keeps the last value of each parameter."""

    method: str
    path: str
    query: Mapping[str, str]
    body: bytes
    token: str | None
    headers: Mapping[str, str] = field(default_factory=dict)

    def json(self) -> dict[str, Any]:
        """The body as a JSON object, or a 40002."""
        try:
            value = orjson.loads(self.body) if self.body else None
        except orjson.JSONDecodeError as exc:
            raise invalid(f"Request body is not valid JSON: {exc}") from None
        if not isinstance(value, dict):
            raise invalid("Request body must be a JSON object.")
        return value
