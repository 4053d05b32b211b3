"""``retl check`` for Meta: the token and the pixel, read-only, before a first sync.

One ``GET /{version}/{pixel_id}?fields=id,name`` proves both: Meta accepts the token (else
code 190) and the token's system user may reach the pixel (else code 100, "Object with ID
... does not exist"). No event is sent. Transient answers are retried as a sync retries them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from reverse_etl.check import CheckItem, DestinationCheck
from reverse_etl.destinations.meta.client import MetaClient
from reverse_etl.destinations.meta.responses import MetaOutcome
from reverse_etl.destinations.meta.vocab import AUTH_HINT, DEFAULT_API_BASE_URL
from reverse_etl.errors import RetlError

if TYPE_CHECKING:
    from reverse_etl.delivery.retry import RetryPolicy
    from reverse_etl.destinations.meta.destination import MetaDestination
    from reverse_etl.sandbox import SandboxServer


def check_one(
    dest: MetaDestination, server: SandboxServer | None, policy: RetryPolicy
) -> DestinationCheck:
    return DestinationCheck(
        dest.name, dest.event_source, tuple(_items(dest, server, policy)), server is not None
    )


def _key(dest: MetaDestination, setting: str) -> str:
    return f"destinations.{dest.name}.{setting}"


def _items(
    dest: MetaDestination, server: SandboxServer | None, policy: RetryPolicy
) -> list[CheckItem]:
    s = dest.settings
    try:
        target = dest.target(server)
    except RetlError as exc:
        problem = exc.problems[0]
        return [
            CheckItem(
                "token",
                "failed",
                problem.message,
                key=problem.key or _key(dest, "access_token"),
                hint=problem.hint,
            ),
            CheckItem("pixel", "skipped", "not checked: no usable access token"),
        ]
    token_set = ("the sandbox token" if server else "access_token") + " is set and well-formed"
    with MetaClient(
        target.base_url, s.api_version, s.pixel_id, target.token, deadline=policy.request_deadline
    ) as client:
        outcome = _retrying(policy, client.read_pixel)
    if outcome.ok:
        return [
            CheckItem("token", "ok", token_set + "; Meta accepted it"),
            CheckItem("pixel", "ok", f"{outcome.message} is reachable with this token"),
        ]
    if outcome.kind == "auth":
        return [
            CheckItem(
                "token",
                "failed",
                f"Meta rejected the access token: {outcome.message}",
                key=_key(dest, "access_token"),
                hint=AUTH_HINT,
                code=outcome.code,
            ),
            CheckItem("pixel", "skipped", "not checked: Meta rejected the token"),
        ]
    if outcome.kind == "transient":
        custom_url = s.api_base_url != DEFAULT_API_BASE_URL and server is None
        return [
            CheckItem("token", "ok", token_set),
            CheckItem(
                "pixel",
                "failed",
                f"Meta did not answer for pixel {s.pixel_id}: {outcome.message}",
                key=_key(dest, "api_base_url") if custom_url else None,
                hint="a network or Meta-side problem that outlasted the retries: run it again"
                + (" and check api_base_url" if custom_url else ""),
                code=outcome.code,
            ),
        ]
    return [
        CheckItem("token", "ok", token_set + "; Meta accepted it"),
        CheckItem(
            "pixel",
            "failed",
            f"Meta refused pixel {s.pixel_id}: {outcome.message}",
            key=_key(dest, "pixel_id"),
            hint="check that it is the dataset (pixel) ID in Events Manager and that the "
            "token's system user has been given access to it",
            code=outcome.code,
        ),
    ]


def _retrying(policy: RetryPolicy, read: Callable[[], MetaOutcome]) -> MetaOutcome:
    """``read()``, retried on transient answers (rate limits, 5xx, network) as a sync would."""
    started = time.monotonic()
    attempts = 1
    while True:
        outcome = read()
        if outcome.kind != "transient":
            return outcome
        wait = policy.next_delay(attempts, time.monotonic() - started, outcome.retry_after)
        if wait is None:
            return outcome
        time.sleep(wait)
        attempts += 1
