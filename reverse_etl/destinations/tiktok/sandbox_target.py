"""``retl sync --sandbox``: an in-process emulator standing in for TikTok for this run.

The emulator's world is seeded from the destinations so their configuration works unchanged:
an ``ID`` destination gets the emulator's own source of its kind (the configured ID belongs to
the real TikTok), ``NAME`` finds a source of that name, ``NEW`` creates one. The sandbox token
replaces the real one, so no secret is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import SecretStr

from reverse_etl.destinations.shared.pii import sha256_hex
from reverse_etl.destinations.tiktok.config import TikTokConfig
from reverse_etl.sandbox import (
    DEMO_ADVERTISER_ID,
    DEMO_CRM_SET_ID,
    DEMO_OFFLINE_SET_ID,
    DEMO_PIXEL_CODE,
    DEMO_TIKTOK_APP_ID,
    DEMO_TOKEN,
    SandboxServer,
    SandboxWorld,
)

DEMO_SOURCE_IDS = {
    "WEB": DEMO_PIXEL_CODE,
    "APP": DEMO_TIKTOK_APP_ID,
    "OFFLINE": DEMO_OFFLINE_SET_ID,
    "CRM": DEMO_CRM_SET_ID,
}


@dataclass(frozen=True)
class SandboxOverride:
    """What a destination uses instead of its configured values during a sandbox run."""

    base_url: str
    token: SecretStr
    event_source_id: str | None


def seed_world(world: SandboxWorld, settings: Sequence[TikTokConfig]) -> None:
    """Make every destination's NAME lookups resolvable in the emulator."""
    for s in settings:
        advertiser = s.advertiser_id or DEMO_ADVERTISER_ID
        if world.advertiser(advertiser) is None:
            world.add_advertiser(advertiser, f"Sandbox advertiser {advertiser}")
        granted = world.token_advertisers(DEMO_TOKEN) or frozenset()
        world.add_token(DEMO_TOKEN, sorted(granted | {advertiser}))
        if s.target_event_source != "NAME" or not s.event_source_name:
            continue
        name = s.event_source_name
        kind = s.event_data_source
        if kind == "WEB" and not any(p.pixel_name == name for p in world.pixels(advertiser)):
            world.add_pixel(advertiser, name)
        elif kind in ("OFFLINE", "CRM"):
            sets = world.event_sets(kind.lower(), advertiser)
            if not any(e.name == name for e in sets):
                (world.add_offline_set if kind == "OFFLINE" else world.add_crm_set)(
                    advertiser, name
                )
        elif kind == "APP" and not any(a.app_name == name for a in world.apps(advertiser)):
            world.add_app(
                advertiser, "73" + str(int(sha256_hex(name)[:14], 16))[:17].zfill(17), name
            )


def override_for(server: SandboxServer, settings: TikTokConfig) -> SandboxOverride:
    source_id = (
        DEMO_SOURCE_IDS[settings.event_data_source]
        if settings.target_event_source == "ID"
        else None
    )
    return SandboxOverride(server.base_url, SecretStr(DEMO_TOKEN), source_id)
