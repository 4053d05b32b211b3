"""``MetaSandbox``: everything behind the emulated Conversions API, as ``SandboxServer.meta``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from reverse_etl.sandbox.feed import SandboxFeed

from .faults import MetaFaultInjector
from .options import MetaOptions
from .recorder import ACCEPTED, DUPLICATE, REJECTED, MetaRecorder
from .stats import MetaStats
from .world import MetaWorld


class MetaSandbox:
    """The Meta side of one sandbox server: its known pixels and tokens (``world``), checks
    (``options``), counters (``stats``, also under ``"meta"`` in ``SandboxServer.stats``),
    scripted failures (``faults``) and what it received (:meth:`events`, :meth:`records`).
    """

    def __init__(
        self,
        *,
        world: MetaWorld | None = None,
        options: MetaOptions | None = None,
        stats: MetaStats | None = None,
        clock: Callable[[], float] = time.time,
        keep_events: bool = True,
        feed: SandboxFeed | None = None,
    ) -> None:
        self.world = world if world is not None else MetaWorld.demo()
        self.options = options if options is not None else MetaOptions()
        self.stats = stats if stats is not None else MetaStats()
        self.faults = MetaFaultInjector()
        self.recorder = MetaRecorder(keep_events=keep_events, feed=feed)
        self.clock = clock

    def add_pixel(self, pixel_id: str, name: str | None = None) -> None:
        """Make a pixel (dataset) ID known, e.g. the one a ``destinations.yml`` names, so a
        sandbox run sends to it unchanged. Thread-safe; adding it twice is a no-op. ValueError
        unless the ID is all digits."""
        self.world.add_pixel(pixel_id, name)

    def events(self, *, test: bool | None = None) -> list[dict[str, Any]]:
        """Events Meta kept (accepted, not duplicates), oldest first. Each has received_at,
        pixel_id, api_version, test_event_code, test, index, verdict, problem and ``data``
        (the event as sent); ``test`` True/False keeps only test/live events."""
        return self.recorder.records(test=test, verdicts=frozenset({ACCEPTED}))

    def records(
        self, *, test: bool | None = None, verdicts: frozenset[str] | None = None
    ) -> list[dict[str, Any]]:
        """Every recorded event, duplicates and rejected ones included (``verdict`` says)."""
        return self.recorder.records(test=test, verdicts=verdicts)

    def reset(self) -> None:
        """Forget events, dedup history, counters and faults; pixels and tokens stay."""
        self.recorder.reset()
        self.stats.reset()
        self.faults.clear()


VERDICTS = frozenset({ACCEPTED, DUPLICATE, REJECTED})
