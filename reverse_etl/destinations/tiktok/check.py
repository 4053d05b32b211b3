"""``retl check`` for TikTok: the token, the advertiser and the event source, before a first sync.

Only TikTok's read APIs are called, the ones NAME resolution uses (``sources.py``): the pixel
list (WEB), the offline event set get (OFFLINE), the CRM event set list (CRM) and the app list
(APP). One listing of the advertiser's sources proves all three: TikTok accepts the token
(else 40104/40105), the token may act for the advertiser (else 40001), and the source is in
the list. No event is sent, and nothing is created: ``target_event_source: NEW`` only reports
that the first sync will create the source.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeVar

from pydantic import SecretStr

from reverse_etl.check import CheckItem, DestinationCheck
from reverse_etl.delivery.retry import RetryPolicy
from reverse_etl.destinations.tiktok.client import TikTokClient
from reverse_etl.destinations.tiktok.destination import TikTokDestination
from reverse_etl.destinations.tiktok.sandbox_target import override_for
from reverse_etl.destinations.tiktok.sources import find_event_sources
from reverse_etl.destinations.tiktok.vocab import DEFAULT_API_BASE_URL
from reverse_etl.errors import (
    AuthError,
    ConfigError,
    DestinationError,
    RetlError,
    TransientDestinationError,
)
from reverse_etl.sandbox import DEMO_ADVERTISER_ID, SandboxServer

CODE_NO_PERMISSION: Final = 40001

# What each data source's source is called, and the read API that lists them.
_NOUNS: Final = {
    "WEB": ("pixel", "pixel list"),
    "OFFLINE": ("offline event set", "offline event set get"),
    "CRM": ("CRM event set", "CRM event set list"),
    "APP": ("app", "app list"),
}
_ID_NAMES: Final = {
    "WEB": "pixel code",
    "OFFLINE": "offline event set ID",
    "CRM": "CRM event set ID",
    "APP": "TikTok App ID",
}

T = TypeVar("T")


@dataclass(frozen=True)
class _Access:
    """Where one destination's read calls go, with what (the sandbox overrides the config)."""

    base_url: str
    token: SecretStr
    token_from: str
    advertiser_id: str | None
    event_source_id: str | None
    sandbox: bool


def check_one(
    dest: TikTokDestination, server: SandboxServer | None, policy: RetryPolicy
) -> DestinationCheck:
    items = _items(dest, server, policy)
    return DestinationCheck(dest.name, dest.event_source, tuple(items), sandbox=server is not None)


def _key(dest: TikTokDestination, setting: str) -> str:
    return f"destinations.{dest.name}.{setting}"


def _items(
    dest: TikTokDestination, server: SandboxServer | None, policy: RetryPolicy
) -> list[CheckItem]:
    source = dest.settings.event_data_source
    noun, api = _NOUNS[source]
    access = _access(dest, server)
    if isinstance(access, CheckItem):
        return [
            access,
            CheckItem("advertiser", "skipped", "not checked: no usable access token"),
            CheckItem("event_source", "skipped", f"{noun} not checked: no usable access token"),
        ]
    token_set = f"access token ({access.token_from}) is set and well-formed"
    advertiser = access.advertiser_id
    if advertiser is None:
        return [
            CheckItem("token", "ok", token_set + "; not sent to TikTok: no advertiser to read"),
            CheckItem(
                "advertiser",
                "failed",
                f"advertiser_id is not set, so the {api} cannot be read",
                key=_key(dest, "advertiser_id"),
                hint=f"set advertiser_id to the ID of the ad account that owns the {noun} "
                "(a sync with an event_source_id does not need it; the check reads through it)",
            ),
            CheckItem("event_source", "skipped", f"{noun} not checked: no advertiser_id"),
        ]
    with TikTokClient(access.base_url, access.token, deadline=policy.request_deadline) as client:
        try:
            found = _retrying(
                policy,
                lambda: find_event_sources(
                    client,
                    source,
                    advertiser,
                    name=dest.settings.event_source_name,
                    event_source_id=access.event_source_id,
                ),
            )
        except DestinationError as exc:
            return _read_failed(dest, access, exc, token_set)
        except ConfigError as exc:  # the listing is longer than retl reads (sources.MAX_PAGES)
            problem = exc.problems[0]
            source_item = CheckItem(
                "event_source",
                "failed",
                problem.message,
                key=_key(dest, problem.key or "event_source_name"),
                hint=problem.hint,
            )
        else:
            source_item = _event_source_item(dest, access, found)
    return [
        CheckItem("token", "ok", token_set + "; TikTok accepted it"),
        CheckItem("advertiser", "ok", f"the token may read the {api} of advertiser {advertiser}"),
        source_item,
    ]


def _access(dest: TikTokDestination, server: SandboxServer | None) -> _Access | CheckItem:
    """Where and with which token to read, or the failed token check."""
    s = dest.settings
    if server is not None:
        override = override_for(server, s)
        # An ID destination gets the emulator's own source, which its demo advertiser owns.
        by_id = s.target_event_source == "ID"
        return _Access(
            server.base_url,
            override.token,
            "the sandbox token",
            DEMO_ADVERTISER_ID if by_id else (s.advertiser_id or DEMO_ADVERTISER_ID),
            override.event_source_id if by_id else None,
            sandbox=True,
        )
    try:
        token, token_from = _token(dest)
    except RetlError as exc:
        problem = exc.problems[0]
        return CheckItem(
            "token",
            "failed",
            problem.message,
            key=problem.key or _key(dest, "access_token"),
            hint=problem.hint,
        )
    advertiser = (s.advertiser_id or "").strip() or None
    by_id = s.target_event_source == "ID"
    source_id = (s.event_source_id or "").strip() if by_id else None
    return _Access(s.api_base_url, token, token_from, advertiser, source_id, sandbox=False)


def _token(dest: TikTokDestination) -> tuple[SecretStr, str]:
    """The token a sync would send (the same choice as ``runs.Runner._target``), and where it
    came from; raises the error a sync would (the variable's name, never its value)."""
    stored = dest.stored_token()
    token = dest.access_token(stored)
    from_setting = stored is None or token is not stored
    return token, "access_token" if from_setting else "stored by 'retl auth tiktok'"


def _retrying(policy: RetryPolicy, read: Callable[[], T]) -> T:
    """``read()``, retried on transient errors (rate limits, 5xx, network) as a sync would."""
    started = time.monotonic()
    attempts = 1
    while True:
        try:
            return read()
        except TransientDestinationError as exc:
            wait = policy.next_delay(attempts, time.monotonic() - started, exc.retry_after)
            if wait is None:
                raise
            time.sleep(wait)
            attempts += 1


def _read_failed(
    dest: TikTokDestination, access: _Access, exc: DestinationError, token_set: str
) -> list[CheckItem]:
    noun, api = _NOUNS[dest.settings.event_data_source]
    skipped = CheckItem("event_source", "skipped", f"{noun} not checked: the {api} failed")
    if isinstance(exc, AuthError):
        return [
            CheckItem(
                "token",
                "failed",
                f"TikTok rejected the access token ({access.token_from}): {exc.message}",
                key=_key(dest, "access_token"),
                hint=exc.hint,
                code=exc.code,
            ),
            CheckItem("advertiser", "skipped", "not checked: TikTok rejected the token"),
            skipped,
        ]
    token = CheckItem("token", "ok", token_set + "; TikTok accepted it")
    advertiser = access.advertiser_id
    if isinstance(exc, TransientDestinationError):
        custom_url = dest.settings.api_base_url != DEFAULT_API_BASE_URL and not access.sandbox
        failed = CheckItem(
            "advertiser",
            "failed",
            f"TikTok did not answer the {api} of advertiser {advertiser}: {exc.message}",
            key=_key(dest, "api_base_url") if custom_url else None,
            hint="a network or TikTok-side problem that outlasted the retries: run it again"
            + (" and check api_base_url" if custom_url else ""),
            code=exc.code,
        )
        # Unknown whether TikTok would accept the token: the request got no answer.
        return [CheckItem("token", "ok", token_set), failed, skipped]
    hint = "check advertiser_id: it must be an ad account this token was authorised for"
    if exc.code == CODE_NO_PERMISSION:
        hint += (
            " with an Admin or Operator role; a token generated in Events Manager may only "
            "send events: authorise with 'retl auth tiktok' (auth_method: oauth)"
        )
    failed = CheckItem(
        "advertiser",
        "failed",
        f"TikTok refused the {api} of advertiser {advertiser}: {exc.message}",
        key=_key(dest, "advertiser_id"),
        hint=hint,
        code=exc.code,
    )
    return [token, failed, skipped]


def _event_source_item(dest: TikTokDestination, access: _Access, found: list[str]) -> CheckItem:
    s = dest.settings
    noun, _ = _NOUNS[s.event_data_source]
    where = f"advertiser {access.advertiser_id}"
    if access.event_source_id is not None:
        source_id = access.event_source_id
        if found:
            return CheckItem("event_source", "ok", f"{noun} {source_id} exists in {where}")
        return CheckItem(
            "event_source",
            "failed",
            f"no {noun} {source_id} in {where}",
            key=_key(dest, "event_source_id"),
            hint=f"copy the {_ID_NAMES[s.event_data_source]} from TikTok Events Manager, "
            "or check advertiser_id",
        )
    name = s.event_source_name
    if len(found) == 1:
        return CheckItem(
            "event_source", "ok", f"{noun} named {name!r} found in {where}: {found[0]}"
        )
    if len(found) > 1:
        return CheckItem(
            "event_source",
            "failed",
            f"{len(found)} {noun}s are named {name!r} in {where}: " + ", ".join(found),
            key=_key(dest, "event_source_name"),
            hint="set target_event_source: ID and event_source_id to the one you mean",
        )
    if s.target_event_source == "NEW":
        return CheckItem(
            "event_source",
            "ok",
            f"no {noun} named {name!r} in {where} yet: the first sync creates it",
        )
    return CheckItem(
        "event_source",
        "failed",
        f"no {noun} named {name!r} in {where}",
        key=_key(dest, "event_source_name"),
        hint="check it against TikTok Events Manager (the match is exact), or create it there",
    )
