"""The emulator's accounts: advertisers, tokens, OAuth apps and event sources, in memory."""

from __future__ import annotations

import re
import secrets
import string
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace

DEMO_ADVERTISER_ID = "7000000000000000001"
DEMO_TOKEN = "sandbox-token"
DEMO_APP_ID = "sandbox-app"
DEMO_APP_SECRET = "sandbox-secret"
DEMO_PIXEL_CODE = "CSANDBOXDEMOPIXEL001"
DEMO_OFFLINE_SET_ID = "7100000000000000001"
DEMO_CRM_SET_ID = "7200000000000000001"
DEMO_TIKTOK_APP_ID = "7300000000000000001"

MAX_CRM_SETS_PER_ADVERTISER = 50
EVENT_SOURCES = ("web", "app", "offline", "crm")

_PIXEL_CODE = re.compile(r"[A-Z0-9]{20}")
_CODE_ALPHABET = string.ascii_uppercase + string.digits
# Generated ids start above the demo ids so seeded and generated objects never collide.
_FIRST_GENERATED_ID = 7_500_000_000_000_000_000


@dataclass(frozen=True)
class Advertiser:
    """An ad account."""

    advertiser_id: str
    name: str


@dataclass(frozen=True)
class Pixel:
    """A web event source; ``/event/track/`` addresses it by ``pixel_code``."""

    pixel_id: str
    pixel_code: str
    pixel_name: str
    advertiser_id: str
    create_time: float


@dataclass(frozen=True)
class EventSet:
    """An offline or CRM event set (``kind`` says which)."""

    event_set_id: str
    name: str
    advertiser_id: str
    kind: str
    description: str
    auto_tracking: bool
    create_time: float
    update_time: float


@dataclass(frozen=True)
class App:
    """A TikTok App ID usable as ``event_source_id`` for ``event_source=app``."""

    app_id: str
    app_name: str
    advertiser_id: str


@dataclass(frozen=True)
class OAuthApp:
    """A developer app; ``advertiser_ids`` None grants every advertiser in the world."""

    app_id: str
    secret: str
    advertiser_ids: frozenset[str] | None = None


class SandboxWorld:
    """Thread-safe registry of everything the emulated API knows about.

    Misuse from Python (unknown advertiser, duplicate id, bad pixel code) raises ValueError;
    the HTTP layer turns API-level problems into TikTok error codes itself.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._advertisers: dict[str, Advertiser] = {}
        self._tokens: dict[str, frozenset[str]] = {}
        self._oauth_apps: dict[str, OAuthApp] = {}
        self._pixels: dict[str, Pixel] = {}  # by pixel_id
        self._pixel_codes: dict[str, Pixel] = {}
        self._event_sets: dict[str, EventSet] = {}
        self._apps: dict[str, App] = {}
        self._used_ids: set[str] = set()
        self._next_id = _FIRST_GENERATED_ID

    @classmethod
    def demo(cls) -> SandboxWorld:
        """A world with one advertiser, its token, an OAuth app and one source of each kind."""
        world = cls()
        world.add_advertiser(DEMO_ADVERTISER_ID, "Sandbox Demo Advertiser")
        world.add_token(DEMO_TOKEN, [DEMO_ADVERTISER_ID])
        world.add_oauth_app(DEMO_APP_ID, DEMO_APP_SECRET)
        world.add_pixel(DEMO_ADVERTISER_ID, "Demo Shop Pixel", code=DEMO_PIXEL_CODE)
        world.add_offline_set(DEMO_ADVERTISER_ID, "Demo Stores", event_set_id=DEMO_OFFLINE_SET_ID)
        world.add_crm_set(DEMO_ADVERTISER_ID, "Demo CRM", event_set_id=DEMO_CRM_SET_ID)
        world.add_app(DEMO_ADVERTISER_ID, DEMO_TIKTOK_APP_ID, "Demo App")
        return world

    # -- accounts and credentials -------------------------------------------------------------

    def add_advertiser(self, advertiser_id: str, name: str) -> Advertiser:
        """Register an ad account."""
        with self._lock:
            if advertiser_id in self._advertisers:
                raise ValueError(f"advertiser {advertiser_id} already exists")
            advertiser = Advertiser(advertiser_id, name)
            self._advertisers[advertiser_id] = advertiser
            return advertiser

    def advertiser(self, advertiser_id: str) -> Advertiser | None:
        """The advertiser with this id, if any."""
        with self._lock:
            return self._advertisers.get(advertiser_id)

    def advertisers(self) -> list[Advertiser]:
        """Every advertiser, in insertion order."""
        with self._lock:
            return list(self._advertisers.values())

    def add_token(self, token: str, advertiser_ids: Iterable[str]) -> None:
        """Let ``token`` act for these advertisers (replaces any earlier grant)."""
        ids = frozenset(advertiser_ids)
        with self._lock:
            self._require_advertisers(ids)
            self._tokens[token] = ids

    def revoke_token(self, token: str) -> bool:
        """Forget a token; False if it was unknown."""
        with self._lock:
            return self._tokens.pop(token, None) is not None

    def token_advertisers(self, token: str) -> frozenset[str] | None:
        """Advertisers a token may act for, or None for an unknown token."""
        with self._lock:
            return self._tokens.get(token)

    def add_oauth_app(
        self, app_id: str, secret: str, advertiser_ids: Iterable[str] | None = None
    ) -> OAuthApp:
        """Register a developer app for OAuth; None grants every advertiser at exchange time."""
        ids = None if advertiser_ids is None else frozenset(advertiser_ids)
        with self._lock:
            if ids is not None:
                self._require_advertisers(ids)
            app = OAuthApp(app_id, secret, ids)
            self._oauth_apps[app_id] = app
            return app

    def oauth_app(self, app_id: str) -> OAuthApp | None:
        """The developer app with this id, if any."""
        with self._lock:
            return self._oauth_apps.get(app_id)

    def granted_advertisers(self, app: OAuthApp) -> list[str]:
        """Advertiser ids an authorisation through ``app`` grants, sorted."""
        with self._lock:
            ids = self._advertisers.keys() if app.advertiser_ids is None else app.advertiser_ids
            return sorted(ids)

    # -- event sources ------------------------------------------------------------------------

    def add_pixel(
        self, advertiser_id: str, name: str, code: str | None = None, pixel_id: str | None = None
    ) -> Pixel:
        """Create a pixel; ``code`` (20 upper-case alphanumerics) is generated when omitted."""
        with self._lock:
            self._require_advertisers((advertiser_id,))
            if code is None:
                code = self._new_pixel_code()
            elif not _PIXEL_CODE.fullmatch(code):
                raise ValueError(f"pixel code must be 20 upper-case letters or digits: {code!r}")
            elif code in self._pixel_codes:
                raise ValueError(f"pixel code {code} already exists")
            pixel = Pixel(self._claim_id(pixel_id), code, name, advertiser_id, time.time())
            self._pixels[pixel.pixel_id] = pixel
            self._pixel_codes[code] = pixel
            return pixel

    def pixels(self, advertiser_id: str) -> list[Pixel]:
        """The advertiser's pixels, oldest first."""
        with self._lock:
            return [p for p in self._pixels.values() if p.advertiser_id == advertiser_id]

    def add_offline_set(
        self,
        advertiser_id: str,
        name: str,
        event_set_id: str | None = None,
        *,
        description: str = "",
        auto_tracking: bool = False,
    ) -> EventSet:
        """Create an offline event set."""
        return self._add_event_set(
            "offline", advertiser_id, name, event_set_id,
            description=description, auto_tracking=auto_tracking,
        )  # fmt: skip

    def add_crm_set(
        self, advertiser_id: str, name: str, event_set_id: str | None = None
    ) -> EventSet:
        """Create a CRM event set; an advertiser holds at most 50 (TikTok's limit)."""
        with self._lock:
            if len(self.event_sets("crm", advertiser_id)) >= MAX_CRM_SETS_PER_ADVERTISER:
                raise ValueError(
                    f"advertiser {advertiser_id} already has "
                    f"{MAX_CRM_SETS_PER_ADVERTISER} CRM event sets"
                )
            return self._add_event_set("crm", advertiser_id, name, event_set_id)

    def event_sets(self, kind: str, advertiser_id: str) -> list[EventSet]:
        """The advertiser's offline or CRM event sets, oldest first."""
        with self._lock:
            return [
                s
                for s in self._event_sets.values()
                if s.kind == kind and s.advertiser_id == advertiser_id
            ]

    def update_offline_set(
        self,
        advertiser_id: str,
        event_set_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        auto_tracking: bool | None = None,
    ) -> EventSet | None:
        """Change an offline set's fields; None if the advertiser has no such set."""
        with self._lock:
            current = self._event_sets.get(event_set_id)
            if (
                current is None
                or current.kind != "offline"
                or current.advertiser_id != advertiser_id
            ):
                return None
            updated = replace(
                current,
                name=current.name if name is None else name,
                description=current.description if description is None else description,
                auto_tracking=current.auto_tracking if auto_tracking is None else auto_tracking,
                update_time=time.time(),
            )
            self._event_sets[event_set_id] = updated
            return updated

    def delete_offline_set(self, advertiser_id: str, event_set_id: str) -> bool:
        """Remove an offline set; False if the advertiser has no such set."""
        with self._lock:
            current = self._event_sets.get(event_set_id)
            if (
                current is None
                or current.kind != "offline"
                or current.advertiser_id != advertiser_id
            ):
                return False
            del self._event_sets[event_set_id]
            return True

    def add_app(self, advertiser_id: str, app_id: str, name: str) -> App:
        """Register a TikTok App ID for app events."""
        with self._lock:
            self._require_advertisers((advertiser_id,))
            app = App(self._claim_id(app_id), name, advertiser_id)
            self._apps[app.app_id] = app
            return app

    def apps(self, advertiser_id: str) -> list[App]:
        """The advertiser's apps."""
        with self._lock:
            return [a for a in self._apps.values() if a.advertiser_id == advertiser_id]

    def source_owner(self, event_source: str, event_source_id: str) -> str | None:
        """The advertiser owning this source of this kind, or None if there is no such source."""
        with self._lock:
            if event_source == "web":
                pixel = self._pixel_codes.get(event_source_id)
                return None if pixel is None else pixel.advertiser_id
            if event_source == "app":
                app = self._apps.get(event_source_id)
                return None if app is None else app.advertiser_id
            event_set = self._event_sets.get(event_source_id)
            if event_set is None or event_set.kind != event_source:
                return None
            return event_set.advertiser_id

    def snapshot(self) -> dict[str, object]:
        """A JSON-ready description of the world, without tokens or secrets."""
        with self._lock:
            return {
                "advertisers": [
                    {"advertiser_id": a.advertiser_id, "advertiser_name": a.name}
                    for a in self._advertisers.values()
                ],
                "pixels": [
                    {
                        "pixel_id": p.pixel_id,
                        "pixel_code": p.pixel_code,
                        "pixel_name": p.pixel_name,
                        "advertiser_id": p.advertiser_id,
                    }
                    for p in self._pixels.values()
                ],
                "event_sets": [
                    {
                        "event_set_id": s.event_set_id,
                        "name": s.name,
                        "kind": s.kind,
                        "advertiser_id": s.advertiser_id,
                    }
                    for s in self._event_sets.values()
                ],
                "apps": [
                    {"app_id": a.app_id, "app_name": a.app_name, "advertiser_id": a.advertiser_id}
                    for a in self._apps.values()
                ],
            }

    # -- internals ----------------------------------------------------------------------------

    def _add_event_set(
        self,
        kind: str,
        advertiser_id: str,
        name: str,
        event_set_id: str | None,
        *,
        description: str = "",
        auto_tracking: bool = False,
    ) -> EventSet:
        with self._lock:
            self._require_advertisers((advertiser_id,))
            now = time.time()
            event_set = EventSet(
                self._claim_id(event_set_id),
                name,
                advertiser_id,
                kind,
                description,
                auto_tracking,
                now,
                now,
            )
            self._event_sets[event_set.event_set_id] = event_set
            return event_set

    def _require_advertisers(self, ids: Iterable[str]) -> None:
        missing = sorted(set(ids) - self._advertisers.keys())
        if missing:
            raise ValueError(f"unknown advertiser(s): {', '.join(missing)}")

    def _claim_id(self, wanted: str | None) -> str:
        if wanted is None:
            while str(self._next_id) in self._used_ids:
                self._next_id += 1
            wanted = str(self._next_id)
            self._next_id += 1
        elif not wanted.isdigit():
            raise ValueError(f"ids are decimal strings: {wanted!r}")
        elif wanted in self._used_ids:
            raise ValueError(f"id {wanted} already exists")
        self._used_ids.add(wanted)
        return wanted

    def _new_pixel_code(self) -> str:
        while True:
            code = "C" + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(19))
            if code not in self._pixel_codes:
                return code
