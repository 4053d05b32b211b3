"""The pixels (datasets) and access tokens the Meta emulator knows, in memory.

A run against the sandbox uses the user's real pixel ID from ``destinations.yml``; the run makes
that ID known with :meth:`MetaWorld.add_pixel` first, so an unknown pixel still means a
configuration error, as it does at Meta.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from reverse_etl.sandbox.world import DEMO_TOKEN

DEMO_META_PIXEL_ID = "1234567890123456"
DEMO_META_TOKEN = DEMO_TOKEN


class MetaWorld:
    """Thread-safe registry of pixels and of the tokens that may send to them.

    A token granted ``None`` (the demo token) may send to every known pixel, including pixels
    added later. Misuse from Python (a pixel ID that is not all digits) raises ValueError.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pixels: dict[str, str] = {}  # id -> name
        self._tokens: dict[str, frozenset[str] | None] = {}

    @classmethod
    def demo(cls) -> MetaWorld:
        """The demo pixel and the sandbox's demo token (valid for every pixel)."""
        world = cls()
        world.add_pixel(DEMO_META_PIXEL_ID, "Sandbox Demo Dataset")
        world.add_token(DEMO_META_TOKEN)
        return world

    def add_pixel(self, pixel_id: str, name: str | None = None) -> None:
        """Make ``pixel_id`` known (``name`` defaults to "Sandbox pixel <id>"); adding a known
        pixel again is a no-op unless a new name is given."""
        if not isinstance(pixel_id, str) or not pixel_id.isdigit():
            raise ValueError(f"a Meta pixel (dataset) ID is all digits, got {pixel_id!r}")
        with self._lock:
            if name is not None or pixel_id not in self._pixels:
                self._pixels[pixel_id] = name or f"Sandbox pixel {pixel_id}"

    def pixel_name(self, pixel_id: str) -> str | None:
        """The pixel's name, or None for an unknown pixel."""
        with self._lock:
            return self._pixels.get(pixel_id)

    def remove_pixel(self, pixel_id: str) -> bool:
        """Forget a pixel; False if it was unknown."""
        with self._lock:
            return self._pixels.pop(pixel_id, None) is not None

    def has_pixel(self, pixel_id: str) -> bool:
        """Whether events may be sent to this pixel at all."""
        with self._lock:
            return pixel_id in self._pixels

    def pixels(self) -> list[str]:
        """Every known pixel ID, sorted."""
        with self._lock:
            return sorted(self._pixels)

    def add_token(self, token: str, pixel_ids: Iterable[str] | None = None) -> None:
        """Accept ``token``, for the given pixels only or (None) for every pixel."""
        if not token:
            raise ValueError("a token is a non-empty string")
        with self._lock:
            self._tokens[token] = None if pixel_ids is None else frozenset(pixel_ids)

    def revoke_token(self, token: str) -> bool:
        """Forget a token (its next use is a code 190); False if it was unknown."""
        with self._lock:
            if token not in self._tokens:  # a granted value of None means every pixel
                return False
            del self._tokens[token]
            return True

    def knows_token(self, token: str) -> bool:
        """Whether Graph would accept this token at all."""
        with self._lock:
            return token in self._tokens

    def may_send(self, token: str, pixel_id: str) -> bool:
        """Whether a known token may send to this pixel (the pixel must be known too)."""
        with self._lock:
            if pixel_id not in self._pixels or token not in self._tokens:
                return False
            granted = self._tokens[token]
            return granted is None or pixel_id in granted
