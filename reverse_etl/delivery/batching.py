"""Cut encoded events into request-sized batches and build request bodies.

Pure: no I/O. Events arrive already encoded as JSON object bytes (one per row), so a request
body is built by byte concatenation and events are never parsed again on the hot path.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import orjson

from reverse_etl.destinations.tiktok.vocab import MAX_EVENTS_PER_REQUEST, PARTNER_NAME

Chunk = tuple[Sequence[str], Sequence[str], Sequence[bytes]]
"""Parallel columns (keys, hashes, payloads), e.g. one Arrow record batch's worth of rows."""


@dataclass(frozen=True)
class Batch:
    """Events sent in one request: primary keys, payload hashes and payload bytes, in step.

    ``keys[i]`` is the source row's primary key (as a string), ``hashes[i]`` the hash the state
    store records once the event is acknowledged, ``payloads[i]`` one event's JSON object.
    """

    keys: tuple[str, ...]
    hashes: tuple[str, ...]
    payloads: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if not len(self.keys) == len(self.hashes) == len(self.payloads):
            raise ValueError(
                f"Batch columns differ in length: {len(self.keys)} keys, "
                f"{len(self.hashes)} hashes, {len(self.payloads)} payloads"
            )

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def nbytes(self) -> int:
        """Bytes of event JSON this batch adds to a request body (commas excluded)."""
        return sum(len(p) for p in self.payloads)

    def split(self) -> tuple[Batch, Batch]:
        """Halves (the first gets the smaller half): how a rejected batch is bisected."""
        if len(self) < 2:
            raise ValueError("cannot split a batch of fewer than two events")
        mid = len(self) // 2
        return (
            Batch(self.keys[:mid], self.hashes[:mid], self.payloads[:mid]),
            Batch(self.keys[mid:], self.hashes[mid:], self.payloads[mid:]),
        )


def batch_events(
    rows: Iterable[Chunk], max_events: int = MAX_EVENTS_PER_REQUEST
) -> Iterator[Batch]:
    """Re-chunk a stream of column chunks of any size into batches of at most ``max_events``.

    Order is kept and every event lands in exactly one batch. Only one partial batch is held
    at a time, so memory does not grow with the input. Empty chunks are skipped and no empty
    batch is ever produced.
    """
    if not 1 <= max_events <= MAX_EVENTS_PER_REQUEST:
        # TikTok rejects the whole request above 1,000 events, so a larger batch can never work.
        raise ValueError(f"max_events must be between 1 and {MAX_EVENTS_PER_REQUEST}")
    keys: list[str] = []
    hashes: list[str] = []
    payloads: list[bytes] = []
    for chunk_keys, chunk_hashes, chunk_payloads in rows:
        n = len(chunk_keys)
        if not n == len(chunk_hashes) == len(chunk_payloads):
            raise ValueError("chunk columns differ in length")
        start = 0
        while start < n:
            take = min(max_events - len(keys), n - start)
            stop = start + take
            # Slices, not per-element appends: chunks from Arrow can be large.
            keys.extend(chunk_keys[start:stop])
            hashes.extend(chunk_hashes[start:stop])
            payloads.extend(chunk_payloads[start:stop])
            start = stop
            if len(keys) == max_events:
                yield Batch(tuple(keys), tuple(hashes), tuple(payloads))
                keys, hashes, payloads = [], [], []
    if keys:
        yield Batch(tuple(keys), tuple(hashes), tuple(payloads))


@dataclass(frozen=True)
class EnvelopeSpec:
    """The request fields around ``data``: where the events go, and the optional test code."""

    event_source: str
    event_source_id: str
    test_event_code: str | None = None

    def prefix(self) -> bytes:
        """The body bytes up to and including ``"data":[``."""
        return envelope_prefix(self.event_source, self.event_source_id, self.test_event_code)


def envelope_prefix(event_source: str, event_source_id: str, test_event_code: str | None) -> bytes:
    """Open a ``/event/track/`` body: top-level fields, then ``"data":[``.

    orjson encodes the scalars so quotes and control characters in ids are escaped properly.
    """
    parts = [
        b'{"event_source":',
        orjson.dumps(event_source),
        b',"event_source_id":',
        orjson.dumps(event_source_id),
        b',"partner_name":',
        orjson.dumps(PARTNER_NAME),
    ]
    if test_event_code is not None:
        parts += [b',"test_event_code":', orjson.dumps(test_event_code)]
    parts.append(b',"data":[')
    return b"".join(parts)


def build_body(envelope: EnvelopeSpec | bytes, payloads: Iterable[bytes]) -> bytes:
    """A complete request body: the envelope prefix, the events joined by commas, ``]}``."""
    prefix = envelope.prefix() if isinstance(envelope, EnvelopeSpec) else envelope
    return prefix + b",".join(payloads) + b"]}"
