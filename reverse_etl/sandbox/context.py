"""What every endpoint handler shares: the world, counters, faults, recorder, and param helpers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from reverse_etl.destinations.tiktok.vocab import (
    CODE_BAD_TOKEN,
    CODE_EMPTY_TOKEN,
    CODE_NO_PERMISSION,
    CODE_OK,
)

from .envelope import ApiError, ApiRequest, Response, envelope, invalid
from .faults import FaultInjector
from .feed import SandboxFeed
from .meta.sandbox import MetaSandbox
from .oauth_codes import AuthCodes
from .options import SandboxOptions
from .recorder import EventRecorder
from .stats import SandboxStats
from .world import SandboxWorld

BAD_TOKEN_MESSAGE = "Access token is incorrect or has been revoked."
EMPTY_TOKEN_MESSAGE = "Access token is empty."


@dataclass
class SandboxContext:
    """The state behind one running emulator."""

    world: SandboxWorld
    options: SandboxOptions
    stats: SandboxStats
    faults: FaultInjector
    recorder: EventRecorder
    auth_codes: AuthCodes
    track_lock: threading.Lock = field(default_factory=threading.Lock)
    meta: MetaSandbox = field(default_factory=MetaSandbox)
    feed: SandboxFeed | None = None  # the test-events feed of ``retl ui`` (feed.py)

    def authenticate(self, req: ApiRequest) -> frozenset[str]:
        """Advertisers the request's ``Access-Token`` may act for; 40104 without a token
        (TikTok's EMPTY_ACCESS_TOKEN), 40105 for one it does not know."""
        if not req.token:
            raise ApiError(CODE_EMPTY_TOKEN, EMPTY_TOKEN_MESSAGE)
        allowed = self.world.token_advertisers(req.token)
        if allowed is None:
            raise ApiError(CODE_BAD_TOKEN, BAD_TOKEN_MESSAGE)
        return allowed

    def authorize(self, allowed: frozenset[str], advertiser_id: str) -> str:
        """``advertiser_id`` if the token may act for it, else 40001."""
        if advertiser_id not in allowed:
            raise ApiError(
                CODE_NO_PERMISSION,
                f"No permission to operate advertiser_id: {advertiser_id}. "
                "You must be an admin or operator of this advertiser account.",
            )
        return advertiser_id


ApiFunction = Callable[[SandboxContext, ApiRequest], object]
Handler = Callable[[SandboxContext, ApiRequest], Response | None]


def api_endpoint(fn: ApiFunction) -> Handler:
    """Turn a function returning ``data`` (or raising ApiError) into an enveloped handler."""

    def handler(ctx: SandboxContext, req: ApiRequest) -> Response:
        return run_api(ctx, req, fn)

    handler.__name__ = fn.__name__
    handler.__doc__ = fn.__doc__
    return handler


def run_api(ctx: SandboxContext, req: ApiRequest, fn: ApiFunction) -> Response:
    """Call ``fn`` and wrap its result or its ApiError in TikTok's envelope."""
    try:
        data = fn(ctx, req)
    except ApiError as exc:
        ctx.stats.rejected(exc.code)
        return envelope(
            exc.code, exc.message, None, http_status=exc.http_status, now=ctx.options.clock()
        )
    return envelope(CODE_OK, "OK", data, now=ctx.options.clock())


def params(req: ApiRequest) -> Mapping[str, Any]:
    """Query parameters for GET, the JSON body otherwise."""
    return req.query if req.method == "GET" else req.json()


def required_id(values: Mapping[str, Any], key: str) -> str:
    """A decimal id; TikTok converts ids with int64(), so JSON numbers pass too."""
    value = values.get(key)
    if value is None or value == "":
        raise invalid(f"{key}: Missing data for required field.")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value.isdigit():
        raise invalid(f"Invalid value for {key}: not a valid id.")
    return value


def required_str(values: Mapping[str, Any], key: str, *, max_length: int | None = None) -> str:
    """A non-empty string, optionally capped in length."""
    value = values.get(key)
    if value is None or value == "":
        raise invalid(f"{key} cannot be empty.")
    return _checked_str(value, key, max_length)


def optional_str(
    values: Mapping[str, Any], key: str, *, max_length: int | None = None
) -> str | None:
    """A string if present."""
    value = values.get(key)
    return None if value is None else _checked_str(value, key, max_length)


def optional_bool(values: Mapping[str, Any], key: str) -> bool | None:
    """A JSON boolean (or ``true``/``false`` in a query string) if present."""
    value: object = values.get(key)
    if value is None or isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise invalid(f"Invalid value for {key}: not a valid boolean.")


def int_param(
    values: Mapping[str, Any], key: str, default: int, low: int, high: int | None = None
) -> int:
    """An integer within [low, high], from JSON or a query string."""
    value = values.get(key)
    if value is None:
        return default
    try:
        number = int(value) if not isinstance(value, bool | float) else None
    except ValueError:
        number = None
    if number is None or number < low or (high is not None and number > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise invalid(f"Invalid value for {key}: must be an integer {bounds}.")
    return number


def id_list(
    values: Mapping[str, Any], key: str, *, max_items: int | None = None
) -> list[str] | None:
    """A list of ids: a JSON array, or its JSON-encoded string form in a query."""
    value = values.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise invalid(f"Invalid value for {key}: not a valid JSON array.") from None
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise invalid(f"Invalid value for {key}: not a valid JSON array of ids.")
    if max_items is not None and len(value) > max_items:
        raise invalid(f"Invalid value for {key}: at most {max_items} items.")
    return [str(v) for v in value]


def iso_time(seconds: float) -> str:
    """ISO 8601 UTC, as ``/crm/list/`` shows ``create_time``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _checked_str(value: object, key: str, max_length: int | None) -> str:
    if not isinstance(value, str):
        raise invalid(f"Invalid value for {key}: not a valid string.")
    if max_length is not None and len(value) > max_length:
        raise invalid(f"Invalid value for {key}: at most {max_length} characters.")
    return value
