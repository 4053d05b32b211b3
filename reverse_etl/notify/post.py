"""Posting a message to a webhook: one attempt, a short whole-request deadline, and an
answer said in words that never quote the URL (it is the webhook's credential)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson
from pydantic import SecretStr

from reverse_etl.__about__ import __version__
from reverse_etl.destinations.shared.http import Deadlines
from reverse_etl.secrets import register

TIMEOUT = 5.0  # each connect / read / write
DEADLINE = 10.0  # the whole request: a server trickling its answer does not hold the exit


def post_message(url: SecretStr, message: dict[str, Any]) -> str | None:
    """POST ``message`` as JSON to ``url``; None when the webhook took it (2xx), else why not
    (no URL in it). A notification is sent once: a retry could post it twice."""
    raw = url.get_secret_value()
    register(raw)  # masked wherever text leaves retl, as a token is
    deadlines = Deadlines()
    with httpx.Client(
        timeout=TIMEOUT,
        follow_redirects=False,
        headers={"User-Agent": f"retl/{__version__}", "Content-Type": "application/json"},
    ) as client:
        deadlines.install(client)
        deadline = time.monotonic() + DEADLINE
        try:
            with deadlines.applied(deadline):
                response = client.post(raw, content=orjson.dumps(message))
        except httpx.TimeoutException as exc:
            return _timed_out(exc, whole=deadlines.passed(deadline))
        except httpx.ConnectError:
            return "could not connect (connection refused, or the host is unknown)"
        except httpx.InvalidURL:
            return "the URL is not a valid http(s) URL"
        except httpx.UnsupportedProtocol:
            return "the URL is not an http(s) URL"
        except httpx.HTTPError as exc:
            return f"the request failed ({type(exc).__name__})"
    if 200 <= response.status_code < 300:
        return None
    return f"answered HTTP {response.status_code}"


def _timed_out(exc: httpx.TimeoutException, *, whole: bool) -> str:
    """Which limit stopped the request: the whole request's, or one step's."""
    if whole:
        return f"no whole answer within {DEADLINE:g} seconds"
    if isinstance(exc, httpx.ConnectTimeout):
        return f"could not connect within {TIMEOUT:g} seconds"
    return f"no answer within {TIMEOUT:g} seconds"
