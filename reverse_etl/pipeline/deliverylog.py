"""The delivery log's rows for one destination's send: what each answered batch becomes.

Built from the batch's own columns, vectorised (Arrow compute), so logging a million accepted
rows costs a few Arrow kernels per 1,000-row batch, not a Python object per row. Keys are
shown as reports show them: hashed when a key column is PII (an e-mail as the key).
"""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa

from reverse_etl.arrow_values import strings
from reverse_etl.delivery.batching import Batch
from reverse_etl.delivery.outcome import Outcome, describe
from reverse_etl.destinations.shared.pii import masked_key
from reverse_etl.history.records import ACCEPTED
from reverse_etl.secrets import scrub
from reverse_etl.state.base import LogBatch

# A JSON string's body: no quote or backslash, or an escape.
_STRING = r'(?:[^"\\]|\\.)*'


def event_id_pattern(field: str) -> str:
    """An RE2 pattern whose group ``id`` is the top-level string ``field`` of a JSON object.

    Only a field that comes before any nested object or array counts (no brace or bracket
    between the object's opening brace and it): a nested field of the same name never
    matches. The encoders write the event's scalar fields, event_id among them, first; a
    payload where it is not found logs NULL. One RE2 kernel per batch: ~0.8 CPU-s a million
    rows (a pattern that skips whole JSON members took 1.3)."""
    return r"^[^{]*\{(?:[^{}\[\]]*?,)?\s*\"" + re.escape(field) + r'":\s*"(?P<id>' + _STRING + ')"'


class LogRows:
    """Turns answered batches into ``LogBatch``es for one destination of one run."""

    def __init__(self, run_id: str, *, mask_keys: bool, event_id_field: str | None) -> None:
        self.run_id = run_id
        self.mask_keys = mask_keys
        self.pattern = event_id_pattern(event_id_field) if event_id_field else None

    def keys(self, keys: Any) -> Any:
        if not self.mask_keys:
            return keys
        values = keys.to_pylist() if isinstance(keys, pa.Array) else list(keys)
        return strings([None if k is None else masked_key(k) for k in values])

    def event_ids(self, payloads: Any) -> Any:
        if self.pattern is None:
            return None
        array = payloads if isinstance(payloads, pa.Array) else pa.array(payloads)
        if pa.types.is_binary(array.type) or pa.types.is_large_binary(array.type):
            array = array.cast(pa.string())
        import pyarrow.compute as pc  # only once rows are sent (~50 ms of start-up, #18)

        found = pc.extract_regex(array, self.pattern)  # NULL where it does not match
        return pc.struct_field(found, "id")

    def batch(self, batch: Batch, fate: str, answer: Outcome | None) -> LogBatch:
        message = None if fate == ACCEPTED or answer is None else scrub(describe(answer))
        return LogBatch(
            run_id=self.run_id,
            outcome=fate,
            keys=self.keys(batch.keys),
            event_ids=self.event_ids(batch.payloads)
            if batch.event_ids is None
            else batch.event_ids,
            messages=message,
            code=None if answer is None or fate == ACCEPTED else answer.code,
            request_id=None if answer is None else answer.request_id,
        )
