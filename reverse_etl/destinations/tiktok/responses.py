"""What an ``/event/track/`` answer says beyond its code, and what to tell the user about it.

Two readings the code alone does not give:

* a ``20001`` (PARTIAL_OK) answer lists, in ``data``, the events that failed. TikTok does not
  document that list (reference §11), so :func:`failed_events` accepts the plausible shapes
  and returns None for anything else, which makes the runner find the bad events by bisection;
* a ``40002`` (or ``40063``) whose message names a top-level request field (``event_source_id``,
  ``event_source``, ``test_event_code``, ``partner_name``) is about the destination's settings,
  not about an event: :func:`blamed_field` spots it, :func:`settings_problem` says which
  ``destinations.yml`` key to fix.

Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import orjson

from reverse_etl.delivery.outcome import INVALID, TRANSIENT, EventFailure
from reverse_etl.destinations.tiktok.vocab import (
    INTERNAL_ERROR_CODES,
    THROTTLE_CODES,
    TRANSIENT_CODES,
)
from reverse_etl.errors import Problem

# Where the list of failed events may be, in the order tried, and the names its items may use.
_LIST_KEYS: Final = ("failed_events", "failed_event_list", "failures", "failed", "errors")
_INDEX_KEYS: Final = ("index", "event_index", "idx")
_CODE_KEYS: Final = ("code", "error_code")
_MESSAGE_KEYS: Final = ("message", "msg", "error_message", "reason")

# A top-level field named as such: not after a dot (``data.3.event_id`` is an event's field).
_FIELD_NAMES: Final = {
    "event_source_id": "event_source_id",
    "pixel_code": "event_source_id",
    "pixel code": "event_source_id",
    "event_set_id": "event_source_id",
    "event_source": "event_source",
    "test_event_code": "test_event_code",
    "partner_name": "partner_name",
}
_FIELD_RE: Final = re.compile(
    r"(?<![\w.])(" + "|".join(sorted(_FIELD_NAMES, key=len, reverse=True)) + r")(?![\w])",
    re.IGNORECASE,
)

# The path of one event of the request: ``data.3`` (``Batch.0`` in Events 1.0 answers).
_EVENT_PATH_RE: Final = re.compile(r"(?<![\w.])(?:data|batch)\.\d+(?![\w])", re.IGNORECASE)

_ID_NAMES: Final = {
    "web": "pixel code of a pixel",
    "app": "TikTok App ID of an app",
    "offline": "ID of an offline event set",
    "crm": "ID of a CRM event set",
}


def is_transient_code(code: int | None) -> bool:
    """Worth a retry with backoff: throttling, maintenance, TikTok-side errors."""
    return code is not None and (code in TRANSIENT_CODES or code in INTERNAL_ERROR_CODES)


def blamed_field(message: str) -> str | None:
    """The top-level request field a 40002 message names, in payload spelling, or None.

    ``Invalid value for event_source_id: not a valid string.`` names ``event_source_id``;
    ``data.3.event_id: Not a valid string`` names an event's field, so None.
    """
    if _EVENT_PATH_RE.search(message):
        # An event's field (``data.0.limited_data_use: Only allowed for event_source web or
        # app``): a top-level name in the prose after it is not the field refused.
        return None
    match = _FIELD_RE.search(message)
    return None if match is None else _FIELD_NAMES[match.group(1).lower()]


def failed_events(
    data: object, message: str, body: bytes | None
) -> tuple[EventFailure, ...] | None:
    """The events a 20001 answer lists as failed, or None when it does not say which.

    Accepted shapes (see docs/tiktok.md, "Decisions"): ``data`` is a list, or an object with a
    list under ``failed_events``, ``failed_event_list``, ``failures``, ``failed`` or ``errors``.
    An item is an index into the request's ``data`` (0-based, as TikTok's ``data.N`` paths
    are), or an object with ``index``/``event_index``/``idx`` or ``event_id``, and optionally
    ``code``/``error_code`` and ``message``/``msg``/``error_message``/``reason``. An item that
    cannot be placed, an index out of range or listed twice makes the whole list untrusted:
    acknowledging an event that failed would lose it, bisecting costs only requests.
    """
    items = _failure_list(data)
    if not items:
        return None
    events = _request_events(body)
    failures: list[EventFailure] = []
    seen: set[int] = set()
    for item in items:
        index = _index_of(item, events)
        if index is None or index in seen or (events is not None and index >= len(events)):
            return None
        seen.add(index)
        code = _first(item, _CODE_KEYS, int) if isinstance(item, Mapping) else None
        text = _first(item, _MESSAGE_KEYS, str) if isinstance(item, Mapping) else None
        kind = TRANSIENT if is_transient_code(code) else INVALID
        text = text or message or "event rejected"
        failures.append(EventFailure(index, kind, code, text, code in THROTTLE_CODES))
    return tuple(sorted(failures, key=lambda f: f.index))


def settings_problem(
    field: str,
    message: str,
    *,
    destination: str,
    file: Path | str | None,
    line_of: Callable[[str], int | None],
    event_source: str,
    how: str | None,
) -> Problem:
    """The destinations.yml key behind a refused request ``field``, and what to check;
    ``line_of``: the line a settings key is written on (the destination's when it is not)."""
    key, hint = _SETTINGS.get(field, (field, "check this setting"))
    if field == "event_source_id":
        if how in ("found", "created"):
            key = "event_source_name"
        hint = (
            f"check that it is the {_ID_NAMES.get(event_source, 'ID of an event source')} in "
            "the advertiser account the access token belongs to, and that event_data_source "
            f"({event_source.upper()}) is that source's kind; no event was accepted"
        )
    return Problem(
        f"TikTok refused the destination's settings, not a row: {message}",
        file=file,
        line=line_of(key),
        key=f"destinations.{destination}.{key}",
        hint=hint,
    )


_SETTINGS: Final = {
    "event_source": (
        "event_data_source",
        "it must be WEB, APP, OFFLINE or CRM and match the kind of event_source_id",
    ),
    "test_event_code": (
        "test_event_code",
        "copy the current code from Events Manager's Test Events tab, or remove the key",
    ),
    "partner_name": (
        "partner_name",
        "remove it unless TikTok registered this partner name for you (it is optional)",
    ),
}


def _failure_list(data: object) -> Sequence[Any] | None:
    if isinstance(data, list):
        return data
    if isinstance(data, Mapping):
        for key in _LIST_KEYS:
            value = data.get(key)
            if isinstance(value, list):
                return value
    return None


def _request_events(body: bytes | None) -> list[Any] | None:
    """The request's events, parsed only on this rare path to place ``event_id`` items."""
    if body is None:
        return None
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    events = parsed.get("data") if isinstance(parsed, dict) else None
    return events if isinstance(events, list) else None


def _index_of(item: object, events: list[Any] | None) -> int | None:
    if isinstance(item, int) and not isinstance(item, bool):
        return item if item >= 0 else None
    if not isinstance(item, Mapping):
        return None
    index = _first(item, _INDEX_KEYS, int)
    if index is not None:
        return index if index >= 0 else None
    event_id = item.get("event_id")
    if not isinstance(event_id, str) or events is None:
        return None
    places = [
        i for i, ev in enumerate(events) if isinstance(ev, dict) and ev.get("event_id") == event_id
    ]
    # An event_id sent twice in one request cannot say which of the two failed.
    return places[0] if len(places) == 1 else None


def _first(item: Mapping[str, Any], keys: Sequence[str], kind: type) -> Any:
    for key in keys:
        value = item.get(key)
        if kind is int and _is_int(value):
            return value
        if kind is str and isinstance(value, str) and value:
            return value
    return None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
