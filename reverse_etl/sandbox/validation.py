"""The checks ``/event/track/`` applies, as TikTok's 40002 messages naming a JSON path.

This runs on every event of every request, so it is written for speed: type checks with
``type(x) is ...``, dispatch on the keys actually present, and strings built only on failure.
Each function returns the first error message, or None when everything is valid.
"""

from __future__ import annotations

import re
from typing import Any

from reverse_etl.destinations.tiktok.vocab import (
    ATT_STATUSES,
    CURRENCIES,
    LEGACY_EVENTS,
    MAX_EVENTS_PER_REQUEST,
    STANDARD_EVENTS,
)

from .options import SandboxOptions
from .world import EVENT_SOURCES

INVALID_SOURCE_ID = "Invalid value for event_source_id: not a valid string."

# Reserved names (RESERVED_EVENTS) are taken on web and app: TikTok maps them to other
# events (its help centre, "reserved events"); only offline takes standard names only.
_OFFLINE_EVENTS = STANDARD_EVENTS | frozenset(LEGACY_EVENTS)
_LDU_SOURCES = frozenset({"web", "app"})
# Unix seconds stay below 10**10 until the year 2286; larger values are milliseconds.
_MAX_EVENT_TIME = 10**10
# TikTok rejects times before 2000-01-01T00:00:00Z (kept apart from the encoder's constant on
# purpose: the emulator stands for TikTok, so a wrong encoder cannot make both agree).
_MIN_EVENT_TIME = 946_684_800
_is_hex64 = re.compile(r"[0-9A-Fa-f]{64}").fullmatch

# Field kinds for dispatch on present keys.
_STR, _HASH, _NUM, _INT, _CURRENCY, _ATT, _CONTENTS, _STR_LIST = range(8)
_USER_FIELDS = {
    "email": _HASH,
    "phone": _HASH,
    "external_id": _HASH,
    "ip": _STR,
    "user_agent": _STR,
    "ttclid": _STR,
    "ttp": _STR,
    "locale": _STR,
    "idfa": _STR,
    "idfv": _STR,
    "gaid": _STR,
    "att_status": _ATT,
}
_PROPERTY_FIELDS = {
    "content_id": _STR,
    "order_id": _STR,
    "shop_id": _STR,
    "value": _NUM,
    "currency": _CURRENCY,
    "num_items": _INT,
    "contents": _CONTENTS,
    "content_ids": _STR_LIST,
}
_CONTENT_FIELDS = {"content_id": _STR, "price": _NUM, "quantity": _INT}

NOT_STRING = "Not a valid string"
NOT_INTEGER = "Not a valid integer"
NOT_NUMBER = "Not a valid number"
NOT_MAPPING = "Not a valid mapping type"
NOT_LIST = "Not a valid list"
MISSING = "Missing data for required field"
NULL = "Field may not be null"
NOT_HASHED = "Not a valid SHA-256 hex digest (hash PII before sending)"


def check_top_level(body: dict[str, Any]) -> str | None:
    """Checks on ``event_source``, optional strings and the shape of ``data``."""
    source = body.get("event_source")
    if source not in EVENT_SOURCES:
        if source is None:
            return f"event_source: {MISSING}"
        return "Invalid value for event_source: must be one of web, app, offline, crm."
    if type(body.get("event_source_id")) is not str:
        return INVALID_SOURCE_ID
    for key in ("test_event_code", "partner_name"):
        if key in body and type(body[key]) is not str:
            return f"{key}: {NULL if body[key] is None else NOT_STRING}"
    data = body.get("data")
    if data is None:
        return f"data: {MISSING}"
    if type(data) is not list:
        return f"data: {NOT_LIST}"
    if not data:
        return "data: Must contain at least 1 event"
    if len(data) > MAX_EVENTS_PER_REQUEST:
        return f"data: Too many events ({len(data)}); at most {MAX_EVENTS_PER_REQUEST} per request"
    return None


class EventValidator:
    """Per-event checks for one ``event_source``; build one per request."""

    def __init__(self, source: str, options: SandboxOptions, now: float) -> None:
        self.source = source
        self.reject_currency = options.reject_unknown_currency
        self.oldest = (
            None if options.max_event_age_seconds is None else now - options.max_event_age_seconds
        )
        self.newest = (
            None if options.max_future_seconds is None else now + options.max_future_seconds
        )

    def check_all(self, events: list[Any], may_contain_null: bool) -> str | None:
        """First error over all events; ``may_contain_null`` False skips the null scan."""
        check = self.check_event
        for i, event in enumerate(events):
            if may_contain_null:
                if event is None:
                    return f"data.{i}: {NULL}"
                where = null_path(event)
                if where is not None:
                    return f"data.{i}.{where}: {NULL}"
            error = check(event, i)
            if error is not None:
                return error
        return None

    def check_event(self, ev: Any, i: int) -> str | None:
        """Check one event; assumes nulls were already reported by :func:`null_path`."""
        if type(ev) is not dict:
            return f"data.{i}: {NOT_MAPPING}"
        source = self.source
        name = ev.get("event")
        if type(name) is not str or not name:
            return f"data.{i}.event: {MISSING if name is None or name == '' else NOT_STRING}"
        if source == "offline" and name not in _OFFLINE_EVENTS:
            return (
                f"data.{i}.event: {name!r} is not a standard event; "
                "offline events must use standard event names"
            )
        t = ev.get("event_time")
        if type(t) is not int:
            return f"data.{i}.event_time: {MISSING if t is None else NOT_INTEGER}"
        if t < 0 or t >= _MAX_EVENT_TIME:
            return f"data.{i}.event_time: Not a Unix timestamp in seconds"
        if t < _MIN_EVENT_TIME:
            return f"data.{i}.event_time: Event time is before 2000-01-01"
        if self.oldest is not None and t < self.oldest:
            return f"data.{i}.event_time: Event is older than the accepted window"
        if self.newest is not None and t > self.newest:
            return f"data.{i}.event_time: Event is in the future"
        x = ev.get("event_id")
        if x is not None and type(x) is not str:
            return f"data.{i}.event_id: {NOT_STRING}"
        x = ev.get("user")
        if x is not None:
            error = _check_fields(x, _USER_FIELDS, f"data.{i}.user", self.reject_currency)
            if error is not None:
                return error
        x = ev.get("properties")
        if x is not None:
            error = _check_fields(x, _PROPERTY_FIELDS, f"data.{i}.properties", self.reject_currency)
            if error is not None:
                return error
        if source == "app":
            error = _required_string(ev, "app", "app_id", i)
            if error is not None:
                return error
        elif source == "crm":
            error = _required_string(ev, "lead", "lead_id", i)
            if error is not None:
                return error
        x = ev.get("limited_data_use")
        if x is not None:
            if type(x) is not bool:
                return f"data.{i}.limited_data_use: Not a valid boolean"
            if source not in _LDU_SOURCES:
                return f"data.{i}.limited_data_use: Only allowed for event_source web or app"
        return None


def null_path(value: Any) -> str | None:
    """Dotted path of the first JSON null inside ``value``, or None."""
    if type(value) is dict:
        items: Any = value.items()
    elif type(value) is list:
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        if item is None:
            return str(key)
        if type(item) is dict or type(item) is list:
            below = null_path(item)
            if below is not None:
                return f"{key}.{below}"
    return None


def _required_string(ev: dict[str, Any], obj: str, key: str, i: int) -> str | None:
    holder = ev.get(obj)
    if holder is None:
        return f"data.{i}.{obj}: {MISSING}"
    if type(holder) is not dict:
        return f"data.{i}.{obj}: {NOT_MAPPING}"
    value = holder.get(key)
    if type(value) is not str or not value:
        return f"data.{i}.{obj}.{key}: {MISSING if value is None or value == '' else NOT_STRING}"
    return None


def _check_fields(obj: Any, kinds: dict[str, int], path: str, reject_currency: bool) -> str | None:
    if type(obj) is not dict:
        return f"{path}: {NOT_MAPPING}"
    for key, x in obj.items():
        kind = kinds.get(key)
        if kind is None:
            continue
        if kind == _STR:
            if type(x) is not str:
                return f"{path}.{key}: {NOT_STRING}"
        elif kind == _HASH:
            error = _hash_error(x)
            if error is not None:
                return f"{path}.{key}{error}"
        elif kind == _NUM:
            if type(x) is not int and type(x) is not float:
                return f"{path}.{key}: {NOT_NUMBER}"
        elif kind == _INT:
            if type(x) is not int:
                return f"{path}.{key}: {NOT_INTEGER}"
        elif kind == _CURRENCY:
            if type(x) is not str:
                return f"{path}.{key}: {NOT_STRING}"
            if reject_currency and x not in CURRENCIES:
                return f"{path}.{key}: {x!r} is not a supported currency"
        elif kind == _ATT:
            if x not in ATT_STATUSES:
                return f"{path}.{key}: Must be one of {', '.join(sorted(ATT_STATUSES))}"
        elif kind == _STR_LIST:
            if type(x) is not list:
                return f"{path}.{key}: {NOT_LIST}"
            for j, item in enumerate(x):
                if type(item) is not str:
                    return f"{path}.{key}.{j}: {NOT_STRING}"
        else:  # _CONTENTS
            if type(x) is not list:
                return f"{path}.{key}: {NOT_LIST}"
            for j, item in enumerate(x):
                error = _check_fields(item, _CONTENT_FIELDS, f"{path}.{key}.{j}", reject_currency)
                if error is not None:
                    return error
    return None


def _hash_error(value: Any) -> str | None:
    """Suffix (``.j: message`` or ``: message``) for a bad hashed value, else None."""
    if type(value) is str:
        return None if len(value) == 64 and _is_hex64(value) else f": {NOT_HASHED}"
    if type(value) is list:
        for j, item in enumerate(value):
            if type(item) is not str or len(item) != 64 or not _is_hex64(item):
                return f".{j}: {NOT_HASHED}"
        return None
    return f": {NOT_HASHED}"
