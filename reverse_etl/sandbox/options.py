"""Knobs for behaviour the TikTok docs leave open, plus switches for tests and benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from reverse_etl.destinations.tiktok.vocab import DEDUP_WINDOW_SECONDS


@dataclass(frozen=True)
class SandboxOptions:
    """How strict the emulator is and which clock it reads."""

    validate: bool = True
    """Check every event (types, hashing, names). False skips per-event checks for benchmarks."""

    reject_unknown_currency: bool = True
    """Reject ``properties.currency`` outside TikTok's list (TikTok's own behaviour is unknown)."""

    max_event_age_seconds: float | None = None
    """Reject events whose ``event_time`` is older than this; None accepts any age."""

    max_future_seconds: float | None = None
    """Reject events whose ``event_time`` is further ahead than this; None accepts any."""

    dedup_window_seconds: float = DEDUP_WINDOW_SECONDS
    """Events with the same (event_source_id, event, event_id) inside this window are duplicates."""

    auth_code_ttl_seconds: float = 3600.0
    """How long an OAuth ``auth_code`` stays usable (TikTok: one hour)."""

    keep_events: bool = True
    """Keep accepted request bodies in memory for ``events()``; False keeps only counters."""

    clock: Callable[[], float] = field(default=time.time)
    """Server clock in Unix seconds, injectable so tests can move time past the dedup window."""
