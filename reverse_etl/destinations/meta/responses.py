"""What a Graph API answer to ``POST /{version}/{pixel_id}/events`` means for the runner.

Meta accepts or rejects a request as a whole: HTTP 200 with ``events_received``, or an HTTP
error with an ``error`` object (``message``, ``type``, ``code``, ``error_subcode``,
``is_transient``, ``error_user_title``, ``error_user_msg``, ``fbtrace_id``). :func:`classify`
turns one into an outcome of ``reverse_etl.delivery.outcome``'s kinds:

- ok: HTTP 2xx with ``events_received`` (``received``: the runner compares it with the
  request's events, and bisects when Meta received fewer);
- transient: HTTP 5xx, 408, 425, 429; codes 1 and 2; rate limits 4, 17, 32, 613 and
  80000-80014 (business use case limits) (``throttled``:
  they do not use up a batch's attempts); any error with ``is_transient: true``;
- auth: code 190 (102 too), or HTTP 401 without an error object;
- config: a code 100 about the request rather than an event: the pixel does not exist or the
  token cannot reach it (subcode 33, "Object with ID ... does not exist"), or a message
  naming ``test_event_code``; ``field`` names it;
- invalid: any other code 100: an event was refused, so the runner bisects the batch; the
  reason is ``error_user_msg``, else ``message``; HTTP 413 (the request is too large): its
  halves may pass;
- terminal: everything else (permissions, policy blocks, an unknown answer).

Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from reverse_etl.delivery.outcome import EventFailure
from reverse_etl.destinations.meta.vocab import (
    AUTH_CODES,
    CODE_INVALID_PARAMETER,
    SUBCODE_UNKNOWN_OBJECT,
    THROTTLE_CODES,
    TRANSIENT_CODES,
)
from reverse_etl.errors import Problem

OutcomeKind = Literal["ok", "partial", "transient", "invalid", "config", "terminal", "auth"]
_RETRYABLE_HTTP: Final = frozenset({408, 425, 429})
_UNKNOWN_OBJECT: Final = re.compile(
    r"object with id\b.*\b(does not exist|cannot be loaded)|unsupported post request",
    re.IGNORECASE,
)
_REQUEST_FIELDS: Final = re.compile(r"(?<![\w.])(test_event_code)(?!\w)")


@dataclass(frozen=True)
class MetaOutcome:
    """The classified answer to one request (see ``reverse_etl.delivery.outcome.Outcome``).

    ``request_id`` is Meta's ``fbtrace_id`` (what Meta's support asks for); ``field`` the
    request field a ``config`` answer blames (``pixel_id``, ``test_event_code``)."""

    kind: OutcomeKind
    code: int | None
    message: str
    request_id: str | None = None
    retry_after: float | None = None
    http_status: int | None = None
    subcode: int | None = None
    failures: tuple[EventFailure, ...] = ()
    field: str | None = None
    throttled: bool = False
    received: int | None = None  # events_received of a success

    @property
    def ok(self) -> bool:
        return self.kind == "ok"


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def classify(
    http_status: int, body: dict[str, Any] | None, retry_after: float | None = None
) -> MetaOutcome:
    """Classify an HTTP answer; ``body`` is the parsed JSON object, or None if it was not one."""
    error = body.get("error") if body is not None else None
    error = error if isinstance(error, dict) else None
    source = error if error is not None else (body or {})
    code = _int(source.get("code")) if error is not None else None
    subcode = _int(source.get("error_subcode")) if error is not None else None
    trace = _str(source.get("fbtrace_id")) or _str((body or {}).get("fbtrace_id"))

    def outcome(kind: OutcomeKind, text: str, **kw: Any) -> MetaOutcome:
        return MetaOutcome(kind, code, text, trace, retry_after, http_status, subcode=subcode, **kw)

    if http_status == 413:  # the request is too big: its halves may pass (a bisect)
        text = _str((error or {}).get("message")) or "HTTP 413: the request is too large"
        return outcome("invalid", text)
    if error is None:
        return _without_error(http_status, body, outcome)
    message = _str(error.get("message")) or f"Graph API error {code}"
    reason = _str(error.get("error_user_msg")) or message
    if code in AUTH_CODES:
        return outcome("auth", message)
    if code in TRANSIENT_CODES or error.get("is_transient") is True:
        return outcome("transient", message, throttled=code in THROTTLE_CODES)
    if http_status >= 500 or http_status in _RETRYABLE_HTTP:
        return outcome("transient", message, throttled=http_status == 429)
    if code == CODE_INVALID_PARAMETER:
        if subcode == SUBCODE_UNKNOWN_OBJECT or _UNKNOWN_OBJECT.search(message):
            return outcome("config", message, field="pixel_id")
        named = _REQUEST_FIELDS.search(reason)
        if named is not None:
            return outcome("config", reason, field=named.group(1))
        return outcome("invalid", reason)
    return outcome("terminal", reason)


def classify_read(
    http_status: int, body: dict[str, Any] | None, retry_after: float | None = None
) -> MetaOutcome:
    """Classify the answer to ``GET /{version}/{pixel_id}`` (``retl check``): the pixel's
    ``id`` and ``name`` when the token may read it, else an error classified as for events."""
    if body is not None and "error" not in body and 200 <= http_status < 300:
        pixel = _str(body.get("id"))
        if pixel is not None:
            name = _str(body.get("name"))
            text = f"pixel {pixel}" + (f" ({name!r})" if name else "")
            return MetaOutcome("ok", None, text, _str(body.get("fbtrace_id")), None, http_status)
    return classify(http_status, body, retry_after)


def _without_error(
    http_status: int, body: dict[str, Any] | None, outcome: Callable[..., MetaOutcome]
) -> MetaOutcome:
    """An answer without an ``error`` object: a success, or a gateway's."""
    if http_status >= 500 or http_status in _RETRYABLE_HTTP:
        text = f"HTTP {http_status} from the Graph API"
        return outcome("transient", text, throttled=http_status == 429)
    if 200 <= http_status < 300:
        received = _int((body or {}).get("events_received"))
        if received is not None:
            return outcome("ok", f"{received} events received", received=received)
        # A proxy or load balancer answered in Meta's place; worth another try.
        return outcome("transient", f"HTTP {http_status} without a Graph API answer")
    if http_status == 401:
        return outcome("auth", "HTTP 401 without a Graph API error")
    return outcome("terminal", f"unexpected HTTP {http_status} from the Graph API")


_SETTINGS: Final = {
    "pixel_id": (
        "pixel_id",
        "check that it is the dataset (pixel) ID in Events Manager and that the access "
        "token's system user has been given access to it; no event was accepted",
    ),
    "test_event_code": (
        "test_event_code",
        "copy the current code from Events Manager's Test Events tab, or remove the key",
    ),
}


def settings_problem(
    field: str,
    message: str,
    *,
    destination: str,
    file: Path | str | None,
    line_of: Callable[[str], int | None],
) -> Problem:
    """The destinations.yml key behind a refused request ``field``, and what to check;
    ``line_of``: the line a settings key is written on (the destination's when it is not)."""
    key, hint = _SETTINGS.get(field, (field, "check this setting"))
    return Problem(
        f"Meta refused the destination's settings, not a row: {message}",
        file=file,
        line=line_of(key),
        key=f"destinations.{destination}.{key}",
        hint=hint,
    )
