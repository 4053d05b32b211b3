"""HTTP client for TikTok's Business API: the only module in retl that imports httpx.

``track`` never raises for API or network trouble: it classifies the answer into a
:class:`TrackOutcome` for the delivery runner. ``call`` is for the management endpoints
(pixels, event sets, OAuth) and raises :mod:`reverse_etl.errors` exceptions instead.

The access token is held as a ``SecretStr`` and only unwrapped into the header of a request
in flight. It never reaches an exception, a log record or a repr: headers are never logged,
httpx exceptions are re-raised as our own with their text only (and no ``__context__``), every
message is scrubbed of the token in every form (a server may echo it; httpx quotes an invalid
header as a bytes repr), and a token that cannot be a header value is never sent at all.

Every request has an overall deadline (``deadline``, 60 s by default). httpx's timeouts bound
each network operation, not the request: a server that trickles its answer a byte at a time
would hold a request, and so its batch, for hours. See :class:`_DeadlineBackend`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

import httpx
import orjson
from pydantic import SecretStr

from reverse_etl.delivery.outcome import EventFailure
from reverse_etl.destinations.shared.http import DEFAULT_DEADLINE, PooledClient, retry_after
from reverse_etl.destinations.tiktok.responses import (
    blamed_field,
    failed_events,
    is_transient_code,
)
from reverse_etl.destinations.tiktok.vocab import (
    AUTH_CODES,
    CODE_INVALID_PARTNER_NAME,
    CODE_PARTIAL_OK,
    PARAM_ERROR_CODES,
    SUCCESS_CODES,
    THROTTLE_CODES,
    TRACK_PATH,
)
from reverse_etl.errors import (
    AuthError,
    DestinationError,
    RequestFieldError,
    TerminalDestinationError,
    TransientDestinationError,
)
from reverse_etl.secrets import secret_problem

log = logging.getLogger(__name__)

OutcomeKind = Literal["ok", "partial", "transient", "invalid", "config", "terminal", "auth"]
_RETRYABLE_HTTP = frozenset({408, 425, 429})
AUTH_HINT = (
    "re-authorise: run 'retl auth tiktok' again (auth_method: oauth) or generate a new access "
    "token in Events Manager"
)
_AUTH_HINT = AUTH_HINT
# The documented bound on one request, retries being separate requests (see RetryPolicy).


@dataclass(frozen=True)
class TrackOutcome:
    """The classified answer to one request (kinds: see ``reverse_etl.delivery.outcome``).

    ``failures`` lists the events a ``partial`` (20001) answer names as failed, by position in
    the request (empty when it names none: the runner then bisects); ``field`` is the top-level
    request field a ``config`` answer blames (``event_source_id``, ...); ``throttled`` marks a
    ``transient`` answer that only asks to slow down (rate limits, maintenance, HTTP 429).
    """

    kind: OutcomeKind
    code: int | None
    message: str
    request_id: str | None = None
    retry_after: float | None = None
    http_status: int | None = None
    failures: tuple[EventFailure, ...] = ()
    field: str | None = None
    throttled: bool = False
    received: int | None = None  # TikTok's answers do not count the events

    @property
    def ok(self) -> bool:
        return self.kind == "ok"


class TikTokClient(PooledClient):
    """A pooled keep-alive connection to one Business API base URL. Thread-safe."""

    def __init__(
        self,
        base_url: str,
        access_token: SecretStr | None,
        *,
        pool_size: int = 5,
        timeout: float = 30.0,
        deadline: float = DEFAULT_DEADLINE,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """``timeout`` bounds each network operation, ``deadline`` a whole request."""
        super().__init__(
            base_url,
            access_token,
            pool_size=pool_size,
            timeout=timeout,
            deadline=deadline,
            transport=transport,
        )

    def __repr__(self) -> str:
        token = "set" if self._token is not None else "unset"
        return f"TikTokClient(base_url={self.base_url!r}, access_token={token})"

    def track(self, body: bytes) -> TrackOutcome:
        """POST a prepared ``/event/track/`` body and classify the answer. Never raises."""
        outcome, _ = self._exchange("POST", TRACK_PATH, content=body, authenticated=True)
        return outcome

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Mapping[str, Any] | None = None,
        authenticated: bool = True,
    ) -> dict[str, Any]:
        """Call a Business API endpoint and return the envelope's ``data`` (``{}`` if null).

        List and dict query parameters are sent JSON-encoded, TikTok's GET convention.
        Raises AuthError (40105), TransientDestinationError (rate limits, 5xx, network) or
        TerminalDestinationError (anything else), each with ``code`` set when TikTok sent one.
        """
        content = orjson.dumps(json) if json is not None else None
        outcome, envelope = self._exchange(
            method.upper(),
            path,
            params=encode_params(params) if params else None,
            content=content,
            authenticated=authenticated,
        )
        if outcome.kind != "ok":
            raise _error_for(f"{method.upper()} {path}", outcome)
        data = (envelope or {}).get("data")
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise TerminalDestinationError(
                f"{method.upper()} {path}: expected an object in 'data', got {type(data).__name__}",
                code=outcome.code,
            )
        return data

    def _exchange(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        content: bytes | None = None,
        authenticated: bool,
    ) -> tuple[TrackOutcome, dict[str, Any] | None]:
        """Send one request; return its classification and the parsed envelope, if any."""
        headers: dict[str, str] = {}
        if content is not None:
            headers["Content-Type"] = "application/json"
        if authenticated:
            if self._token is None or not self._token.get_secret_value():
                return TrackOutcome("auth", None, "no access token is configured"), None
            token = self._token.get_secret_value()
            problem = secret_problem(token, ascii_only=True)
            if problem is not None or token != token.strip():
                # Sending it would only make httpx raise an error that quotes the token.
                why = problem or "has whitespace around it"
                return TrackOutcome("auth", None, f"the access token {why}"), None
            headers["Access-Token"] = token
        url = self.base_url + path
        failure: TrackOutcome | None = None
        deadline = time.monotonic() + self.deadline
        try:
            with self._deadlines.applied(deadline):
                status, response_headers, body = self._send(
                    method, url, params=params, content=content, headers=headers
                )
        except httpx.TimeoutException as exc:
            if self._deadlines.passed(deadline):
                what = f"got no complete answer within its {self.deadline:g}s deadline"
            else:
                what = f"timed out after {self._timeout}s"
            failure = self._network_failure(method, path, what, exc)
        except (httpx.TransportError, httpx.DecodingError) as exc:
            failure = self._network_failure(method, path, "connection failed", exc)
        except httpx.HTTPError as exc:
            text = self._scrub(f"{method} {path} failed: {type(exc).__name__}: {exc}")
            failure = TrackOutcome("terminal", None, text)
        # Returned outside the except blocks so no httpx exception (which holds the request,
        # headers included) stays reachable through __context__ or a traceback.
        if failure is not None:
            log.debug("%s", failure.message)
            return failure, None
        envelope = _parse_envelope(body)
        outcome = classify(status, envelope, retry_after(response_headers), request=content)
        outcome = _scrubbed(outcome, self._scrub)
        log.debug(
            "%s %s -> HTTP %s code=%s request_id=%s",
            method,
            path,
            status,
            outcome.code,
            outcome.request_id,
        )
        return outcome, envelope

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str] | None,
        content: bytes | None,
        headers: dict[str, str],
    ) -> tuple[int, httpx.Headers, bytes]:
        """One request, its body read in chunks with the deadline checked between them (which
        bounds it even on a transport :class:`Deadlines` could not instrument)."""
        with self._http.stream(
            method, url, params=params, content=content, headers=headers
        ) as response:
            body = b"".join(self._deadlines.until_deadline(response.iter_bytes()))
            return response.status_code, response.headers, body

    def _network_failure(
        self, method: str, path: str, what: str, exc: httpx.HTTPError
    ) -> TrackOutcome:
        detail = str(exc) or type(exc).__name__
        text = self._scrub(f"{method} {path} {what} ({type(exc).__name__}: {detail})")
        return TrackOutcome("transient", None, text)


def classify(
    http_status: int,
    envelope: dict[str, Any] | None,
    retry_after: float | None = None,
    *,
    request: bytes | None = None,
) -> TrackOutcome:
    """Classify an HTTP answer. ``envelope`` is the parsed JSON body, or None if it was not one.

    TikTok reports errors as HTTP 200 with a non-zero ``code``, so the code decides; HTTP
    status matters only for gateway trouble (5xx, 429) and bodies that are not envelopes.
    ``request`` is the body sent, read only to place the failed events of a 20001 that names
    them by ``event_id``. The codes (TikTok's SDK ``tiktok_code.py``): 0 ok; 20001 partial;
    40102/40104/40105 auth; 40002 (and 40000, the SDK's INVALID_PARAMS) invalid, or config
    when it names a top-level field; 40063
    config (``partner_name``); HTTP 413 (too large) invalid, so bisected; transient per
    ``responses.is_transient_code``; others terminal.
    """
    code = envelope.get("code") if envelope is not None else None
    if not isinstance(code, int) or isinstance(code, bool):
        code = None
    message = envelope.get("message") if envelope is not None else None
    message = message if isinstance(message, str) else ""
    rid = envelope.get("request_id") if envelope is not None else None
    request_id = rid if isinstance(rid, str) else None

    def outcome(kind: OutcomeKind, text: str) -> TrackOutcome:
        return TrackOutcome(kind, code, text, request_id, retry_after, http_status)

    if http_status >= 500 or http_status in _RETRYABLE_HTTP:
        text = message or f"HTTP {http_status} from the API gateway"
        return replace(outcome("transient", text), throttled=http_status == 429)
    if http_status == 413:  # the request is too big: its halves may pass (a bisect)
        return outcome("invalid", message or "HTTP 413: the request is too large for the API")
    if code is None:
        if 200 <= http_status < 300:
            # A proxy or load balancer answered in TikTok's place; worth another try.
            return outcome("transient", f"HTTP {http_status} without a TikTok response envelope")
        if http_status == 401:
            return outcome("auth", f"HTTP {http_status} without a TikTok response envelope")
        return outcome("terminal", f"unexpected HTTP {http_status} from the API")
    if code in SUCCESS_CODES or code == CODE_PARTIAL_OK:
        if not 200 <= http_status < 300:
            return outcome("terminal", f"HTTP {http_status} with code {code}: {message}")
        if code == CODE_PARTIAL_OK:
            data = envelope.get("data") if envelope is not None else None
            text = message or "some events of the request were not accepted"
            failures = failed_events(data, text, request) or ()
            return replace(outcome("partial", text), failures=failures)
        return outcome("ok", message or "OK")
    if code in AUTH_CODES:
        return outcome("auth", message or "access token missing, expired or incorrect")
    if code == CODE_INVALID_PARTNER_NAME:
        text = message or "invalid partner name"
        return replace(outcome("config", text), field="partner_name")
    if code in PARAM_ERROR_CODES:
        text = message or "invalid parameters"
        field = blamed_field(text)
        if field is not None:
            return replace(outcome("config", text), field=field)
        return outcome("invalid", text)
    if is_transient_code(code):
        text = message or f"TikTok error {code}"
        return replace(outcome("transient", text), throttled=code in THROTTLE_CODES)
    return outcome("terminal", message or f"TikTok error {code}")


def encode_params(params: Mapping[str, Any]) -> dict[str, str]:
    """Query parameters as TikTok reads them: lists, dicts and booleans JSON-encoded."""
    encoded: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple, dict, bool)):
            encoded[key] = orjson.dumps(value).decode()
        else:
            encoded[key] = str(value)
    return encoded


def _parse_envelope(body: bytes) -> dict[str, Any] | None:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _scrubbed(outcome: TrackOutcome, scrub_text: Callable[[str], str]) -> TrackOutcome:
    """``outcome`` with its message, and each failed event's, scrubbed of the token."""
    failures = tuple(replace(f, message=scrub_text(f.message)) for f in outcome.failures)
    return replace(outcome, message=scrub_text(outcome.message), failures=failures)


def _error_for(what: str, outcome: TrackOutcome) -> DestinationError:
    # A network failure's message names the request already ("GET /path connection failed").
    said = outcome.message.startswith(f"{what} ")
    text = outcome.message if said else f"{what}: {outcome.message}"
    if outcome.code is not None:
        text += f" (code {outcome.code})"
    if outcome.request_id:
        text += f" [request_id {outcome.request_id}]"
    if outcome.kind == "auth":
        return AuthError(text, code=outcome.code, hint=_AUTH_HINT)
    if outcome.kind == "transient":
        return TransientDestinationError(text, code=outcome.code, retry_after=outcome.retry_after)
    if outcome.kind == "config" and outcome.field is not None:
        return RequestFieldError(text, field=outcome.field, code=outcome.code)
    return TerminalDestinationError(text, code=outcome.code)
