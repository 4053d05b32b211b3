"""Counters the tests and users read back: what arrived, what was refused, how parallel it was."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from .meta.stats import MetaStats


class SandboxStats:
    """Thread-safe counters, measured server-side.

    ``in_flight`` counts ``/event/track/`` requests between the start of handling and the end of
    writing the answer, so ``max_in_flight`` shows the client's real concurrency. The Meta
    endpoint's counters are :attr:`meta`, shown under ``"meta"`` in :meth:`snapshot`.
    """

    def __init__(self) -> None:
        self._lock = threading.Condition()  # notified when a track request finishes
        self._in_flight = 0
        self.meta = MetaStats()
        self.reset()

    def reset(self) -> None:
        """Zero every counter (in-flight requests keep being tracked)."""
        self.meta.reset()
        with self._lock:
            self._requests: Counter[str] = Counter()
            self._rejected: Counter[int] = Counter()
            self._faults: Counter[str] = Counter()
            self._track_requests = 0
            self._accepted_requests = 0
            self._events_received = 0
            self._events_accepted = 0
            self._events_deduplicated = 0
            self._test_events = 0
            self._max_batch = 0
            self._max_in_flight = self._in_flight

    # -- recording ----------------------------------------------------------------------------

    def request(self, endpoint: str) -> None:
        """Count a request to ``endpoint`` (path without the ``/open_api/v1.3/`` prefix)."""
        with self._lock:
            self._requests[endpoint] += 1

    def track_started(self) -> None:
        """A track request began; updates the in-flight maximum."""
        with self._lock:
            self._track_requests += 1
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def track_finished(self) -> None:
        """A track request's answer was written (or its connection dropped)."""
        with self._lock:
            self._in_flight -= 1
            self._lock.notify_all()

    def wait_idle(self, timeout: float = 120.0) -> bool:
        """Block until no track request is being handled (a request whose client is gone
        still lands); False if ``timeout`` passed first (a guard, not a synchronisation)."""
        with self._lock:
            return self._lock.wait_for(lambda: self._in_flight == 0, timeout)

    def rejected(self, code: int) -> None:
        """Count an answer with a non-zero envelope code."""
        with self._lock:
            self._rejected[code] += 1

    def fault(self, kind: str) -> None:
        """Count an injected fault by kind (code, http, drop, delay)."""
        with self._lock:
            self._faults[kind] += 1

    def accepted(self, batch_size: int, new: int, duplicates: int, test: bool) -> None:
        """Count an accepted track request and what became of its events."""
        with self._lock:
            self._accepted_requests += 1
            self._events_received += batch_size
            self._events_accepted += new
            self._events_deduplicated += duplicates
            if test:
                self._test_events += new
            self._max_batch = max(self._max_batch, batch_size)

    # -- reading ------------------------------------------------------------------------------

    @property
    def track_requests(self) -> int:
        """Every ``/event/track/`` request, whatever its fate."""
        return self._track_requests

    @property
    def in_flight(self) -> int:
        """Track requests being handled right now."""
        return self._in_flight

    @property
    def max_in_flight(self) -> int:
        """Most track requests handled at the same time."""
        return self._max_in_flight

    @property
    def max_batch_size(self) -> int:
        """Most events in one accepted track request."""
        return self._max_batch

    @property
    def events_accepted(self) -> int:
        """Events recorded (live and test), duplicates excluded."""
        return self._events_accepted

    @property
    def events_deduplicated(self) -> int:
        """Events accepted with code 0 but dropped as duplicates."""
        return self._events_deduplicated

    @property
    def test_events(self) -> int:
        """Recorded events that carried a ``test_event_code``."""
        return self._test_events

    @property
    def live_events(self) -> int:
        """Recorded events without a ``test_event_code``."""
        with self._lock:
            return self._events_accepted - self._test_events

    def rejected_by_code(self) -> dict[int, int]:
        """Non-zero envelope codes answered, by code (injected ones included)."""
        with self._lock:
            return dict(self._rejected)

    def requests_by_endpoint(self) -> dict[str, int]:
        """Requests by endpoint."""
        with self._lock:
            return dict(self._requests)

    def snapshot(self) -> dict[str, Any]:
        """Everything as one JSON-ready dict (the body of ``GET /_sandbox/summary``)."""
        with self._lock:
            return {
                "track_requests": self._track_requests,
                "accepted_track_requests": self._accepted_requests,
                "events_received": self._events_received,
                "events_accepted": self._events_accepted,
                "events_deduplicated": self._events_deduplicated,
                "live_events": self._events_accepted - self._test_events,
                "test_events": self._test_events,
                "max_batch_size": self._max_batch,
                "in_flight": self._in_flight,
                "max_in_flight": self._max_in_flight,
                "requests_by_endpoint": dict(sorted(self._requests.items())),
                "rejected_by_code": {str(k): v for k, v in sorted(self._rejected.items())},
                "faults_injected": dict(sorted(self._faults.items())),
                "meta": self.meta.snapshot(),
            }
