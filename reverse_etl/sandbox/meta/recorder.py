"""What the Meta endpoint received: deduplication and the in-memory record with verdicts.

Each event of a request that reached validation is recorded with its ``verdict``:
``accepted`` (new), ``duplicate`` (same pixel, ``event_name`` and ``event_id`` as an event
accepted within the window: Meta counts it once) or ``rejected`` (its request was refused;
``problem`` says why when this event was the bad one). Test events (``test_event_code``) are
deduplicated apart from live ones, so a test run never hides a later live event.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from reverse_etl.sandbox.feed import SandboxFeed

ACCEPTED, DUPLICATE, REJECTED = "accepted", "duplicate", "rejected"
_SEP = "\x1f"  # one joined string per key: cheaper for the garbage collector than tuples
_MIN_SWEEP = 100_000


@dataclass(frozen=True)
class _Batch:
    """One request; its events stay serialised until read back."""

    received_at: float
    pixel_id: str
    api_version: str
    test_event_code: str | None
    data: bytes
    duplicates: frozenset[int]
    problems: Mapping[int, str] | None  # None: the request was accepted


class MetaRecorder:
    """Thread-safe record of Meta requests; ``keep_events`` False keeps only dedup history."""

    def __init__(self, *, keep_events: bool = True, feed: SandboxFeed | None = None) -> None:
        self._keep = keep_events
        self._feed = feed
        self._lock = threading.Lock()
        self._batches: list[_Batch] = []
        self._seen: dict[bool, dict[str, float]] = {False: {}, True: {}}
        self._next_sweep = _MIN_SWEEP

    def accept(
        self,
        *,
        now: float,
        window: float,
        pixel_id: str,
        api_version: str,
        test_event_code: str | None,
        events: list[Any],
    ) -> tuple[int, int]:
        """Record an accepted request; returns (new events, duplicates)."""
        duplicates: set[int] = set()
        with self._lock:
            seen = self._seen[test_event_code is not None]
            for i, event in enumerate(events):
                event_id = event.get("event_id") if type(event) is dict else None
                if type(event_id) is not str:
                    continue  # without an event_id nothing is a duplicate
                key = f"{pixel_id}{_SEP}{event.get('event_name')}{_SEP}{event_id}"
                first = seen.get(key)
                if first is not None and now - first < window:
                    duplicates.add(i)
                else:
                    seen[key] = now
            if len(seen) >= self._next_sweep:  # a long-running sandbox must forget old ids
                for key in [k for k, first in seen.items() if now - first >= window]:
                    del seen[key]
                self._next_sweep = max(_MIN_SWEEP, 2 * len(seen))
            self._store(
                _Batch(
                    now,
                    pixel_id,
                    api_version,
                    test_event_code,
                    orjson.dumps(events),
                    frozenset(duplicates),
                    None,
                )
            )
        if self._feed is not None:
            self._feed.meta(now, pixel_id, test_event_code, events, duplicates=duplicates)
        return len(events) - len(duplicates), len(duplicates)

    def reject(
        self,
        *,
        now: float,
        pixel_id: str,
        api_version: str,
        test_event_code: str | None,
        events: list[Any],
        problems: Mapping[int, str],
    ) -> None:
        """Record a refused request, with each bad event's reason."""
        with self._lock:
            self._store(
                _Batch(
                    now,
                    pixel_id,
                    api_version,
                    test_event_code,
                    orjson.dumps(events),
                    frozenset(),
                    dict(problems),
                )
            )
        if self._feed is not None:
            self._feed.meta(now, pixel_id, test_event_code, events, problems=problems)

    def records(
        self, *, test: bool | None = None, verdicts: frozenset[str] | None = None
    ) -> list[dict[str, Any]]:
        """Recorded events, oldest first, filtered by kind (test/live) and verdict."""
        return [orjson.loads(line) for line in self.jsonl(test=test, verdicts=verdicts)]

    def jsonl(
        self, *, test: bool | None = None, verdicts: frozenset[str] | None = None
    ) -> Iterator[bytes]:
        """The same as JSON lines (each ending in a newline)."""
        with self._lock:
            batches = list(self._batches)
        for batch in batches:
            if test is not None and test != (batch.test_event_code is not None):
                continue
            for record in _records(batch):
                if verdicts is None or record["verdict"] in verdicts:
                    yield orjson.dumps(record) + b"\n"

    def reset(self) -> None:
        """Forget recorded events and dedup history."""
        with self._lock:
            self._batches.clear()
            self._seen = {False: {}, True: {}}
            self._next_sweep = _MIN_SWEEP

    def _store(self, batch: _Batch) -> None:
        if self._keep:
            self._batches.append(batch)


def _records(batch: _Batch) -> Iterator[dict[str, Any]]:
    meta = {
        "received_at": batch.received_at,
        "pixel_id": batch.pixel_id,
        "api_version": batch.api_version,
        "test_event_code": batch.test_event_code,
        "test": batch.test_event_code is not None,
    }
    for i, event in enumerate(orjson.loads(batch.data)):
        if batch.problems is not None:
            verdict, problem = REJECTED, batch.problems.get(i)
        else:
            verdict, problem = (DUPLICATE if i in batch.duplicates else ACCEPTED), None
        yield {**meta, "index": i, "verdict": verdict, "problem": problem, "data": event}
