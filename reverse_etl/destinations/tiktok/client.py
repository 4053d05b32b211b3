"""HTTP client for TikTok's Business API: the only module in retl that imports httpx.

``track`` never raises for API or network trouble: it classifies the answer into a
:class:`TrackOutcome` for the delivery runner. ``call`` is for the management endpoints
(pixels, event sets, OAuth) and raises :mod:`reverse_etl.errors` exceptions instead.

The access token is held as a ``SecretStr`` and only unwrapped into the header of a request
in flight. It never reaches an exception, a log record or a repr: headers are never logged,
httpx exceptions are re-raised as our own with their text only (and no ``__context__``), and
every message is scrubbed of the token in case a server echoes it.
"""

from __future__ import annotations

import email.utils
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

import httpx
import orjson
from pydantic import SecretStr

from reverse_etl.__about__ import __version__
from reverse_etl.destinations.tiktok.vocab import (
    CODE_BAD_TOKEN,
    CODE_INVALID_PARAMS,
    SUCCESS_CODES,
    TRACK_PATH,
    TRANSIENT_CODES,
)
from reverse_etl.errors import (
    AuthError,
    DestinationError,
    TerminalDestinationError,
    TransientDestinationError,
)

log = logging.getLogger(__name__)

OutcomeKind = Literal["ok", "transient", "invalid", "terminal", "auth"]
_RETRYABLE_HTTP = frozenset({408, 425, 429})
_AUTH_HINT = (
    "re-authorise: run 'retl auth tiktok' again (auth_method: oauth) or generate a new access "
    "token in Events Manager"
)


@dataclass(frozen=True)
class TrackOutcome:
    """The classified answer to one request (see the module docstring for the kinds)."""

    kind: OutcomeKind
    code: int | None
    message: str
    request_id: str | None = None
    retry_after: float | None = None
    http_status: int | None = None

    @property
    def ok(self) -> bool:
        return self.kind == "ok"


class TikTokClient:
    """A pooled keep-alive connection to one Business API base URL. Thread-safe."""

    def __init__(
        self,
        base_url: str,
        access_token: SecretStr | None,
        *,
        pool_size: int = 5,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = access_token
        self._timeout = timeout
        self._http = httpx.Client(
            timeout=timeout,
            limits=httpx.Limits(max_connections=pool_size, max_keepalive_connections=pool_size),
            headers={"User-Agent": f"retl/{__version__}"},
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        token = "set" if self._token is not None else "unset"
        return f"TikTokClient(base_url={self.base_url!r}, access_token={token})"

    def __enter__(self) -> TikTokClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close pooled connections. Safe to call twice."""
        self._http.close()

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
            headers["Access-Token"] = self._token.get_secret_value()
        url = self.base_url + path
        failure: TrackOutcome | None = None
        try:
            response = self._http.request(
                method, url, params=params, content=content, headers=headers
            )
        except httpx.TimeoutException as exc:
            failure = self._network_failure(method, path, f"timed out after {self._timeout}s", exc)
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
        envelope = _parse_envelope(response.content)
        outcome = classify(response.status_code, envelope, _retry_after(response.headers))
        outcome = _with_message(outcome, self._scrub(outcome.message))
        log.debug(
            "%s %s -> HTTP %s code=%s request_id=%s",
            method,
            path,
            response.status_code,
            outcome.code,
            outcome.request_id,
        )
        return outcome, envelope

    def _network_failure(
        self, method: str, path: str, what: str, exc: httpx.HTTPError
    ) -> TrackOutcome:
        detail = str(exc) or type(exc).__name__
        text = self._scrub(f"{method} {path} {what} ({type(exc).__name__}: {detail})")
        return TrackOutcome("transient", None, text)

    def _scrub(self, text: str) -> str:
        secret = self._token.get_secret_value() if self._token is not None else ""
        return text.replace(secret, "**********") if secret else text


def classify(
    http_status: int, envelope: dict[str, Any] | None, retry_after: float | None = None
) -> TrackOutcome:
    """Classify an HTTP answer. ``envelope`` is the parsed JSON body, or None if it was not one.

    TikTok reports errors as HTTP 200 with a non-zero ``code``, so the code decides; HTTP
    status matters only for gateway trouble (5xx, 429) and bodies that are not envelopes.
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
        return outcome("transient", message or f"HTTP {http_status} from the API gateway")
    if code is None:
        if 200 <= http_status < 300:
            # A proxy or load balancer answered in TikTok's place; worth another try.
            return outcome("transient", f"HTTP {http_status} without a TikTok response envelope")
        if http_status == 401:
            return outcome("auth", f"HTTP {http_status} without a TikTok response envelope")
        return outcome("terminal", f"unexpected HTTP {http_status} from the API")
    if code in SUCCESS_CODES:
        if 200 <= http_status < 300:
            return outcome("ok", message or "OK")
        return outcome("terminal", f"HTTP {http_status} with code {code}: {message}")
    if code == CODE_BAD_TOKEN:
        return outcome("auth", message or "access token missing or incorrect")
    if code == CODE_INVALID_PARAMS:
        return outcome("invalid", message or "invalid parameters")
    if code in TRANSIENT_CODES:
        return outcome("transient", message or f"TikTok error {code}")
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


def _retry_after(headers: httpx.Headers) -> float | None:
    """``Retry-After`` in seconds: a number, or an HTTP date turned into seconds from now."""
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _with_message(outcome: TrackOutcome, message: str) -> TrackOutcome:
    if message == outcome.message:
        return outcome
    return TrackOutcome(
        outcome.kind,
        outcome.code,
        message,
        outcome.request_id,
        outcome.retry_after,
        outcome.http_status,
    )


def _error_for(what: str, outcome: TrackOutcome) -> DestinationError:
    text = f"{what}: {outcome.message}"
    if outcome.code is not None:
        text += f" (code {outcome.code})"
    if outcome.request_id:
        text += f" [request_id {outcome.request_id}]"
    if outcome.kind == "auth":
        return AuthError(text, code=outcome.code, hint=_AUTH_HINT)
    if outcome.kind == "transient":
        return TransientDestinationError(text, code=outcome.code, retry_after=outcome.retry_after)
    return TerminalDestinationError(text, code=outcome.code)
