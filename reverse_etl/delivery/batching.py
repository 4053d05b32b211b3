"""Cut encoded events into request-sized batches and build request bodies.

Pure: no I/O. Events arrive already encoded as JSON object bytes (one per row), so a request
body is built by byte concatenation and events are never parsed again on the hot path.

Columns are Python sequences or Arrow arrays. From DuckDB they stay Arrow end to end: a batch
is a zero-copy slice of a record batch, and its body is one Arrow ``binary_join`` (no Python
object per event).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow as pa

from reverse_etl.arrow_values import int32s, scalar

Column = Any  # Sequence[str] / Sequence[bytes], or a pyarrow string or binary array
Chunk = tuple[Column, ...]
"""Parallel columns (keys, hashes, payloads) or (keys, hashes, payloads, event ids), e.g. one
Arrow record batch's worth of rows."""


@dataclass(frozen=True)
class Batch:
    """Events sent in one request: primary keys, payload hashes and payload bytes, in step.

    ``keys[i]`` is the source row's primary key (as a string), ``hashes[i]`` the hash the state
    store records once the event is acknowledged, ``payloads[i]`` one event's JSON object.
    ``event_ids[i]`` is the event id its payload carries (the encoder's ``__event_id``, for the
    delivery log); None: not known, and the log keeps none.
    """

    keys: Column
    hashes: Column
    payloads: Column
    event_ids: Column | None = None

    def __post_init__(self) -> None:
        ids = len(self.payloads) if self.event_ids is None else len(self.event_ids)
        if not len(self.keys) == len(self.hashes) == len(self.payloads) == ids:
            raise ValueError(
                f"Batch columns differ in length: {len(self.keys)} keys, "
                f"{len(self.hashes)} hashes, {len(self.payloads)} payloads, {ids} event ids"
            )

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def nbytes(self) -> int:
        """Bytes of event JSON this batch adds to a request body (commas excluded)."""
        if isinstance(self.payloads, pa.Array):
            import pyarrow.compute as pc  # see build_body

            return int(pc.sum(pc.binary_length(self.payloads)).as_py() or 0)
        return sum(len(p) for p in self.payloads)

    def key_list(self) -> list[str]:
        """The keys as Python strings (for reports)."""
        keys = self.keys
        return keys.to_pylist() if isinstance(keys, pa.Array) else list(keys)

    def take(self, indices: Sequence[int]) -> Batch:
        """The events at ``indices``, in that order: the accepted or failed part of a batch."""
        if isinstance(self.keys, pa.Array):
            chosen = pa.array(indices, pa.int64())
            return Batch(*(c.take(chosen) for c in self._columns()))
        return Batch(*(tuple(c[i] for i in indices) for c in self._columns()))

    def split(self) -> tuple[Batch, Batch]:
        """Halves (the first gets the smaller half): how a rejected batch is bisected."""
        if len(self) < 2:
            raise ValueError("cannot split a batch of fewer than two events")
        mid = len(self) // 2
        return (
            Batch(*(c[:mid] for c in self._columns())),
            Batch(*(c[mid:] for c in self._columns())),
        )

    def _columns(self) -> tuple[Column, ...]:
        if self.event_ids is None:
            return (self.keys, self.hashes, self.payloads)
        return (self.keys, self.hashes, self.payloads, self.event_ids)


MAX_EVENTS_PER_REQUEST = 1000
"""The most events any supported platform takes in one request (TikTok and Meta reject the
whole request above it); a destination declares its own cap, at most this
(``Capabilities.max_events_per_request``)."""


def batch_events(
    rows: Iterable[Chunk], max_events: int = MAX_EVENTS_PER_REQUEST
) -> Iterator[Batch]:
    """Re-chunk a stream of column chunks of any size into batches of at most ``max_events``.

    Order is kept and every event lands in exactly one batch. Only one partial batch is held
    at a time, so memory does not grow with the input. Empty chunks are skipped and no empty
    batch is ever produced. Chunks carry event ids (a fourth column) all or none.
    """
    if not 1 <= max_events <= MAX_EVENTS_PER_REQUEST:
        raise ValueError(f"max_events must be between 1 and {MAX_EVENTS_PER_REQUEST}")
    parts: list[Chunk] = []
    held = 0
    for chunk in rows:
        n = len(chunk[0])
        if len(chunk) not in (3, 4) or any(len(c) != n for c in chunk):
            raise ValueError("chunk columns differ in length")
        start = 0
        while start < n:
            take = min(max_events - held, n - start)
            stop = start + take
            # Slices, not per-element appends: chunks from Arrow can be large (and an Arrow
            # slice is zero-copy).
            parts.append(tuple(c[start:stop] for c in chunk))
            held += take
            start = stop
            if held == max_events:
                yield _combine(parts)
                parts, held = [], 0
    if held:
        yield _combine(parts)


def _combine(parts: list[Chunk]) -> Batch:
    if len(parts) == 1 and isinstance(parts[0][0], pa.Array):
        return Batch(*parts[0])
    if len({len(part) for part in parts}) > 1:
        raise ValueError("chunks with and without event ids in one stream")
    columns = []
    for i in range(len(parts[0])):
        pieces = [part[i] for part in parts]
        if all(isinstance(piece, pa.Array) for piece in pieces):
            columns.append(pa.concat_arrays(pieces))
        else:
            columns.append(tuple(itertools.chain.from_iterable(pieces)))
    return Batch(*columns)


class Envelope(Protocol):
    """A request envelope that knows its own opening bytes (a platform's, e.g. TikTok's)."""

    def prefix(self) -> bytes: ...


def build_body(envelope: Envelope | bytes, payloads: Iterable[bytes] | pa.Array) -> bytes:
    """A complete request body: the envelope prefix, the events joined by commas, ``]}``."""
    prefix = envelope if isinstance(envelope, bytes) else envelope.prefix()
    if isinstance(payloads, pa.Array):
        if len(payloads) == 0:
            return prefix + b"]}"
        # Imported where rows are sent: an unchanged re-sync does without it (~50 ms, #18).
        import pyarrow.compute as pc

        offsets = int32s([0, len(payloads)])  # not pa.array: no pandas import (#18)
        text = pa.types.is_string(payloads.type) or pa.types.is_large_string(payloads.type)
        comma = scalar("," if text else b",")
        joined = pc.binary_join(pa.ListArray.from_arrays(offsets, payloads), comma)
        # One allocation for the whole body (join reads the Arrow buffer in place).
        return b"".join((prefix, joined[0].as_buffer(), b"]}"))
    return prefix + b",".join(payloads) + b"]}"
