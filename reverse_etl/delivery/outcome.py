"""What one send reported, as the runner sees it: a protocol, so delivery never imports httpx.

A platform's client returns objects that satisfy it (TikTok's ``TrackOutcome``, say); tests
use any object with the same attributes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from reverse_etl.errors import (
    AuthError,
    DestinationError,
    RequestFieldError,
    TerminalDestinationError,
    TransientDestinationError,
)

OK: Final = "ok"
PARTIAL: Final = "partial"
TRANSIENT: Final = "transient"
INVALID: Final = "invalid"
CONFIG: Final = "config"
TERMINAL: Final = "terminal"
AUTH: Final = "auth"
KINDS: Final = frozenset({OK, PARTIAL, TRANSIENT, INVALID, CONFIG, TERMINAL, AUTH})
AUTH_HINT: Final = "get a new access token from the platform and set it in destinations.yml"
"""Said when a destination's session gives no hint of its own (``Session.auth_hint``)."""


@dataclass(frozen=True)
class EventFailure:
    """One event a partly accepted request did not accept.

    ``index`` is its position in the request's events; ``kind`` is ``transient`` (send it
    again) or ``invalid`` (rejected for good, with the destination's ``message``);
    ``throttled`` marks a transient failure that only asks to slow down (a rate limit), which,
    as a throttled answer to a whole request, does not use up the retry attempts.
    """

    index: int
    kind: str
    code: int | None = None
    message: str = ""
    throttled: bool = False


class Outcome(Protocol):
    """The classified answer to one request.

    ``kind`` is one of :data:`KINDS`: ``ok`` (acknowledged), ``partial`` (acknowledged but for
    the events in ``failures``; with no ``failures`` it is unknown which: bisect), ``transient``
    (retry the same bytes; ``throttled`` when the destination only asked us to slow down, which
    does not use up the retry attempts), ``invalid`` (an event was rejected: bisect),
    ``config`` (the request itself was refused: ``field`` names the top-level field; stop),
    ``terminal`` or ``auth`` (stop). ``received`` is how many events the answer says the
    platform received, when it says (Meta's ``events_received``), else None: an ``ok`` that
    received fewer than the request held acknowledges none of them by name, so the runner
    bisects to find those it took (as for a ``partial`` answer that names none).
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
    @property
    def failures(self) -> Sequence[EventFailure]: ...
    @property
    def field(self) -> str | None: ...
    @property
    def throttled(self) -> bool: ...
    @property
    def received(self) -> int | None: ...


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
    failures: Sequence[EventFailure] = ()
    field: str | None = None
    throttled: bool = False
    received: int | None = None


def describe(outcome: Outcome) -> str:
    """One line for people: the message, the platform's code and request id (for support)."""
    text = outcome.message or outcome.kind
    if outcome.code is not None:
        text = f"{text} (code {outcome.code})"
    if outcome.request_id:
        text = f"{text} [request_id {outcome.request_id}]"
    return text


def stop_error(outcome: Outcome, auth_hint: str | None = None) -> DestinationError:
    """The error that ends a run on an ``auth``, ``config`` or ``terminal`` outcome (or an
    unknown kind). ``auth_hint`` says how to get a new token for this platform."""
    message = describe(outcome)
    if outcome.kind == AUTH:
        return AuthError(message, code=outcome.code, hint=auth_hint or AUTH_HINT)
    if outcome.kind == CONFIG and outcome.field is not None:
        return RequestFieldError(message, field=outcome.field, code=outcome.code)
    if outcome.kind != TERMINAL:
        message = f"unexpected outcome kind {outcome.kind!r}: {message}"
    return TerminalDestinationError(message, code=outcome.code)


def outcome_of(exc: DestinationError) -> Outcome:
    """Senders may raise instead of returning an outcome; classify the same way."""
    if isinstance(exc, TransientDestinationError):
        return SendOutcome(TRANSIENT, exc.code, exc.message, None, exc.retry_after)
    if isinstance(exc, RequestFieldError):
        return SendOutcome(CONFIG, exc.code, exc.message, field=exc.field)
    kind = AUTH if isinstance(exc, AuthError) else TERMINAL
    return SendOutcome(kind, exc.code, exc.message)
