"""Counters of the Meta endpoint, read back by tests and by ``retl sync --sandbox`` reports.

They live under the ``"meta"`` key of ``SandboxStats.snapshot()`` so TikTok's keys keep their
meaning. ``security_violations`` counts requests that did something a client must never do
(an access token in the URL query string, where proxies and logs keep it).
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class MetaStats:
    """Thread-safe counters, measured server-side; ``in_flight`` spans a request's handling
    up to the writing of its answer, so ``max_in_flight`` shows the client's concurrency."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight = 0
        self.reset()

    def reset(self) -> None:
        """Zero every counter (in-flight requests keep being tracked)."""
        with self._lock:
            self._requests = 0
            self._pixel_reads = 0
            self._accepted_requests = 0
            self._events_received = 0
            self._events_accepted = 0
            self._events_deduplicated = 0
            self._test_events = 0
            self._max_batch = 0
            self._max_in_flight = self._in_flight
            self._rejected: Counter[int] = Counter()
            self._subcodes: Counter[int] = Counter()
            self._faults: Counter[str] = Counter()
            self._violations: Counter[str] = Counter()
            self._pixels: Counter[str] = Counter()

    # -- recording ----------------------------------------------------------------------------

    def started(self) -> None:
        """A request to ``/{version}/{pixel_id}/events`` began."""
        with self._lock:
            self._requests += 1
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def pixel_read(self) -> None:
        """A ``GET /{version}/{pixel_id}`` was answered with the pixel."""
        with self._lock:
            self._pixel_reads += 1

    def finished(self) -> None:
        """Its answer was written (or its connection dropped)."""
        with self._lock:
            self._in_flight -= 1

    def rejected(self, code: int, subcode: int | None = None) -> None:
        """Count a Graph error answer (injected ones included)."""
        with self._lock:
            self._rejected[code] += 1
            if subcode is not None:
                self._subcodes[subcode] += 1

    def fault(self, kind: str) -> None:
        """Count an injected fault by kind (graph, invalid_event, poison, http, drop, delay)."""
        with self._lock:
            self._faults[kind] += 1

    def violation(self, kind: str) -> None:
        """Count a security violation, e.g. ``token_in_query``."""
        with self._lock:
            self._violations[kind] += 1

    def accepted(
        self, pixel_id: str, batch_size: int, new: int, duplicates: int, test: bool
    ) -> None:
        """Count an accepted request and what became of its events."""
        with self._lock:
            self._accepted_requests += 1
            self._events_received += batch_size
            self._events_accepted += new
            self._events_deduplicated += duplicates
            if test:
                self._test_events += new
            self._max_batch = max(self._max_batch, batch_size)
            self._pixels[pixel_id] += new

    # -- reading ------------------------------------------------------------------------------

    @property
    def requests(self) -> int:
        """Every request to the events endpoint, whatever its fate."""
        return self._requests

    @property
    def in_flight(self) -> int:
        """Requests being handled right now."""
        return self._in_flight

    @property
    def max_in_flight(self) -> int:
        """Most requests handled at the same time."""
        return self._max_in_flight

    @property
    def events_accepted(self) -> int:
        """Events recorded (live and test), duplicates excluded."""
        return self._events_accepted

    @property
    def events_deduplicated(self) -> int:
        """Events accepted but counted once by (pixel, event_name, event_id) within 48 h."""
        return self._events_deduplicated

    @property
    def token_in_query(self) -> int:
        """Requests refused for carrying ``access_token`` in the URL query string."""
        with self._lock:
            return self._violations["token_in_query"]

    def rejected_by_code(self) -> dict[int, int]:
        """Graph error codes answered, by code."""
        with self._lock:
            return dict(self._rejected)

    def snapshot(self) -> dict[str, Any]:
        """Everything as one JSON-ready dict (``"meta"`` in ``GET /_sandbox/summary``)."""
        with self._lock:
            return {
                "requests": self._requests,
                "accepted_requests": self._accepted_requests,
                "events_received": self._events_received,
                "events_accepted": self._events_accepted,
                "events_deduplicated": self._events_deduplicated,
                "live_events": self._events_accepted - self._test_events,
                "test_events": self._test_events,
                "max_batch_size": self._max_batch,
                "in_flight": self._in_flight,
                "max_in_flight": self._max_in_flight,
                "events_by_pixel": dict(sorted(self._pixels.items())),
                "rejected_by_code": {str(k): v for k, v in sorted(self._rejected.items())},
                "rejected_by_subcode": {str(k): v for k, v in sorted(self._subcodes.items())},
                "pixel_reads": self._pixel_reads,
                "faults_injected": dict(sorted(self._faults.items())),
                "security_violations": dict(sorted(self._violations.items())),
            }
