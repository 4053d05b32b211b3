"""Knobs for the Meta emulator where Meta's documentation leaves room (UNCONFIRMED items)."""

from __future__ import annotations

from dataclasses import dataclass

from .vocab import (
    DEDUP_WINDOW_SECONDS,
    MAX_EVENT_AGE_SECONDS,
    MAX_FUTURE_SECONDS,
    PHYSICAL_STORE_MAX_AGE_SECONDS,
)


@dataclass(frozen=True)
class MetaOptions:
    """How strict the Meta emulator is. The clock is the server's (``SandboxOptions.clock``)."""

    validate: bool = True
    """Check every event (§2-§4 of the reference). False accepts any event, for benchmarks."""

    max_event_age_seconds: float = MAX_EVENT_AGE_SECONDS
    """Oldest accepted ``event_time``, relative to the server clock (Meta: 7 days)."""

    physical_store_max_age_seconds: float = PHYSICAL_STORE_MAX_AGE_SECONDS
    """The same for ``action_source: physical_store`` (Meta: 62 days)."""

    max_future_seconds: float = MAX_FUTURE_SECONDS
    """Clock skew tolerated for an ``event_time`` ahead of the server clock."""

    require_hashed_external_id: bool = True
    """Meta only recommends hashing ``external_id``; retl always hashes it, so strict by default."""

    dedup_window_seconds: float = DEDUP_WINDOW_SECONDS
    """Same (pixel, event_name, event_id) inside this window counts as a duplicate (48 h)."""
