"""Accepted events: deduplication, the in-memory record and the optional JSONL file."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from .feed import SandboxFeed
from .options import SandboxOptions

# One joined string per key: a dict of str -> float is never tracked by the garbage
# collector, whereas a million tuple keys make every full collection walk them all.
_SEP = "\x1f"
_MIN_SWEEP = 100_000


@dataclass(frozen=True)
class _Batch:
    """One accepted request; keeping its raw body is cheaper than keeping a dict per event."""

    received_at: float
    event_source: str
    event_source_id: str
    test_event_code: str | None
    raw: bytes
    duplicates: frozenset[int]


class EventRecorder:
    """Deduplicates on (event_source_id, event, event_id) and records what is new.

    Test events (with ``test_event_code``) are deduplicated and stored apart from live ones, so
    a test run never hides a later live event. Events without ``event_id`` are never duplicates.
    """

    def __init__(
        self,
        options: SandboxOptions,
        record_path: Path | None = None,
        feed: SandboxFeed | None = None,
    ) -> None:
        self._options = options
        self._feed = feed
        self._lock = threading.Lock()
        self._batches: list[_Batch] = []
        self._seen: dict[bool, dict[str, float]] = {False: {}, True: {}}
        self._next_sweep = _MIN_SWEEP
        self._file: IO[bytes] | None = None
        if record_path is not None:
            record_path.parent.mkdir(parents=True, exist_ok=True)
            self._file = record_path.open("ab")

    def accept(
        self,
        event_source: str,
        event_source_id: str,
        test_event_code: str | None,
        events: list[Any],
        raw: bytes,
    ) -> tuple[int, int]:
        """Record a validated batch; returns (new events, duplicates)."""
        now = self._options.clock()
        window = self._options.dedup_window_seconds
        test = test_event_code is not None
        duplicates: set[int] = set()
        with self._lock:
            seen = self._seen[test]
            prefix = event_source_id + _SEP
            for i, event in enumerate(events):
                # Non-dict events and non-string ids only reach here with validation off.
                event_id = event.get("event_id") if type(event) is dict else None
                if type(event_id) is not str:
                    continue
                key = f"{prefix}{event.get('event')}{_SEP}{event_id}"
                first = seen.get(key)
                if first is not None and now - first < window:
                    duplicates.add(i)
                else:
                    seen[key] = now
            if len(seen) >= self._next_sweep:
                self._sweep(seen, now - window)
            batch = _Batch(
                now, event_source, event_source_id, test_event_code, raw, frozenset(duplicates)
            )
            if self._options.keep_events:
                self._batches.append(batch)
            if self._file is not None:
                self._file.write(b"".join(_lines(batch, events)))
                self._file.flush()
        if self._feed is not None:
            body = {
                "event_source": event_source,
                "event_source_id": event_source_id,
                "test_event_code": test_event_code,
                "data": events,
            }
            self._feed.tiktok(now, body, duplicates=duplicates)
        return len(events) - len(duplicates), len(duplicates)

    def events(self, *, test: bool | None = None) -> list[dict[str, Any]]:
        """Recorded events, oldest first; ``test`` True/False keeps only test/live events."""
        return [orjson.loads(line) for line in self.jsonl(test=test)]

    def jsonl(self, *, test: bool | None = None) -> Iterator[bytes]:
        """Recorded events as JSON lines (each ending in a newline)."""
        with self._lock:
            batches = list(self._batches)
        for batch in batches:
            if test is None or test == (batch.test_event_code is not None):
                yield from _lines(batch, orjson.loads(batch.raw)["data"])

    def reset(self) -> None:
        """Forget recorded events and dedup history (the JSONL file is left as it is)."""
        with self._lock:
            self._batches.clear()
            self._seen = {False: {}, True: {}}
            self._next_sweep = _MIN_SWEEP

    def close(self) -> None:
        """Close the JSONL file; later batches are kept in memory only."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def _sweep(self, seen: dict[str, float], oldest: float) -> None:
        # Long-running sandboxes would otherwise keep every event id forever.
        for key in [k for k, first in seen.items() if first <= oldest]:
            del seen[key]
        self._next_sweep = max(_MIN_SWEEP, 2 * len(seen))


def _lines(batch: _Batch, events: list[Any]) -> Iterator[bytes]:
    meta = {
        "received_at": batch.received_at,
        "event_source": batch.event_source,
        "event_source_id": batch.event_source_id,
        "test_event_code": batch.test_event_code,
        "test": batch.test_event_code is not None,
    }
    for i, event in enumerate(events):
        if i not in batch.duplicates:
            yield orjson.dumps({**meta, "data": event}) + b"\n"
