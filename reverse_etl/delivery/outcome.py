"""What one send reported, as the runner sees it: a protocol, so delivery never imports httpx.

``reverse_etl.destinations.tiktok.client.TrackOutcome`` satisfies it; tests use any object
with the same attributes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

from reverse_etl.errors import (
    AuthError,
    DestinationError,
    TerminalDestinationError,
    TransientDestinationError,
)

OK: Final = "ok"
TRANSIENT: Final = "transient"
INVALID: Final = "invalid"
TERMINAL: Final = "terminal"
AUTH: Final = "auth"
KINDS: Final = frozenset({OK, TRANSIENT, INVALID, TERMINAL, AUTH})


class Outcome(Protocol):
    """The classified answer to one request.

    ``kind`` is one of :data:`KINDS`: ``ok`` (acknowledged), ``transient`` (retry the same
    bytes), ``invalid`` (the payload was rejected: bisect), ``terminal`` or ``auth`` (stop).
    """

    @property
    def kind(self) -> str: ...
    @property
    def code(self) -> int | None: ...
    @property
    def message(self) -> str: ...
    @property
    def request_id(self) -> str | None: ...
    @property
    def retry_after(self) -> float | None: ...


Send = Callable[[bytes], Outcome]
"""Posts one request body and classifies the answer. Called from worker threads."""


@dataclass(frozen=True)
class SendOutcome:
    """A plain :class:`Outcome`, for senders that are not the HTTP client (and for tests)."""

    kind: str
    code: int | None = None
    message: str = ""
    request_id: str | None = None
    retry_after: float | None = None


def describe(outcome: Outcome) -> str:
    """One line for people: the message, TikTok's code and request id (for support tickets)."""
    text = outcome.message or outcome.kind
    if outcome.code is not None:
        text = f"{text} (code {outcome.code})"
    if outcome.request_id:
        text = f"{text} [request_id {outcome.request_id}]"
    return text


def stop_error(outcome: Outcome) -> DestinationError:
    """The error that ends a run on an ``auth`` or ``terminal`` outcome (or an unknown kind)."""
    message = describe(outcome)
    if outcome.kind == AUTH:
        hint = (
            "re-authorise: run 'retl auth tiktok' again (auth_method: oauth) or generate a new "
            "access token in Events Manager"
        )
        return AuthError(message, code=outcome.code, hint=hint)
    if outcome.kind != TERMINAL:
        message = f"unexpected outcome kind {outcome.kind!r}: {message}"
    return TerminalDestinationError(message, code=outcome.code)


def outcome_of(exc: DestinationError) -> Outcome:
    """Senders may raise instead of returning an outcome; classify the same way."""
    if isinstance(exc, TransientDestinationError):
        return SendOutcome(TRANSIENT, exc.code, exc.message, None, exc.retry_after)
    kind = AUTH if isinstance(exc, AuthError) else TERMINAL
    return SendOutcome(kind, exc.code, exc.message)
