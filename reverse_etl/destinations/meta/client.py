"""HTTP client for Meta's Graph API: the only module of this folder that imports httpx.

``send`` never raises for API or network trouble: it classifies the answer into a
:class:`~reverse_etl.destinations.meta.responses.MetaOutcome` for the delivery runner.

The access token is held as a ``SecretStr`` and only unwrapped into the ``Authorization``
header of a request in flight: never into the URL, which httpx, proxies and load balancers
log. It never reaches an exception, a log record or a repr: httpx exceptions are turned into
outcomes with their text scrubbed of the token in every form (``reverse_etl.secrets``), and a
token that cannot be a header value is never sent at all.

Every request has an overall deadline (the retry policy's ``request_deadline``): httpx's
timeouts bound each network operation, not the request, so a server trickling its answer a
byte at a time would hold a batch for hours. :class:`Deadlines` clips every socket operation
to the time left, as the TikTok client does (the same technique; a platform's client may not
import another's).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import orjson
from pydantic import SecretStr

from reverse_etl.destinations.meta.responses import MetaOutcome, classify, classify_read
from reverse_etl.destinations.shared.http import DEFAULT_DEADLINE, PooledClient, retry_after
from reverse_etl.secrets import secret_problem

log = logging.getLogger(__name__)


class MetaClient(PooledClient):
    """A pooled keep-alive connection posting events to one pixel. Thread-safe."""

    def __init__(
        self,
        base_url: str,
        api_version: str,
        pixel_id: str,
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
        # pixel_id is digits and api_version vN.N (config.py): nothing to escape in the path.
        self.path = f"/{api_version}/{pixel_id}/events"

    def __repr__(self) -> str:
        token = "set" if self._token is not None else "unset"
        return f"MetaClient(base_url={self.base_url!r}, path={self.path!r}, access_token={token})"

    def send(self, body: bytes) -> MetaOutcome:
        """POST a prepared events body and classify the answer. Never raises."""
        return self._exchange("POST", self.path, body, classify)

    def read_pixel(self) -> MetaOutcome:
        """GET the pixel's id and name (``retl check``: read-only, sends no event)."""
        path = self.path.removesuffix("/events") + "?fields=id,name"
        return self._exchange("GET", path, None, classify_read)

    def _exchange(
        self,
        method: str,
        path: str,
        body: bytes | None,
        classifier: Callable[[int, dict[str, Any] | None, float | None], MetaOutcome],
    ) -> MetaOutcome:
        token = self._token.get_secret_value() if self._token is not None else ""
        if not token:
            return MetaOutcome("auth", None, "no access token is configured")
        problem = secret_problem(token, ascii_only=True)
        if problem is not None or token != token.strip():
            # Sending it would only make httpx raise an error that quotes the token.
            return MetaOutcome("auth", None, f"the access token {problem or 'has spaces'}")
        headers = {"Authorization": f"Bearer {token}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        failure: MetaOutcome | None = None
        deadline = time.monotonic() + self.deadline
        try:
            with self._deadlines.applied(deadline):
                status, response_headers, raw = self._request(method, path, body, headers)
        except httpx.TimeoutException as exc:
            if self._deadlines.passed(deadline):
                what = f"got no complete answer within its {self.deadline:g}s deadline"
            else:
                what = f"timed out after {self._timeout}s"
            failure = self._network_failure(f"{method} {path} {what}", exc)
        except (httpx.TransportError, httpx.DecodingError) as exc:
            failure = self._network_failure(f"{method} {path} connection failed", exc)
        except httpx.HTTPError as exc:
            text = self._scrub(f"{method} {path} failed: {type(exc).__name__}: {exc}")
            failure = MetaOutcome("terminal", None, text)
        # Returned outside the except blocks so no httpx exception (which holds the request,
        # headers included) stays reachable through __context__ or a traceback.
        if failure is not None:
            log.debug("%s", failure.message)
            return failure
        outcome = classifier(status, _parse(raw), retry_after(response_headers))
        outcome = replace(outcome, message=self._scrub(outcome.message))
        log.debug(
            "%s %s -> HTTP %s code=%s fbtrace_id=%s",
            method,
            path,
            status,
            outcome.code,
            outcome.request_id,
        )
        return outcome

    def _request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, httpx.Headers, bytes]:
        """One request, its body read in chunks with the deadline checked between them."""
        url = self.base_url + path
        with self._http.stream(method, url, content=body, headers=headers) as response:
            raw = b"".join(self._deadlines.until_deadline(response.iter_bytes()))
            return response.status_code, response.headers, raw

    def _network_failure(self, what: str, exc: httpx.HTTPError) -> MetaOutcome:
        detail = str(exc) or type(exc).__name__
        text = self._scrub(f"{what} ({type(exc).__name__}: {detail})")
        return MetaOutcome("transient", None, text)


def _parse(raw: bytes) -> dict[str, Any] | None:
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None
