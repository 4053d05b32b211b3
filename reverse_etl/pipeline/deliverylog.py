"""The delivery log's rows for one destination's send: what each answered batch becomes.

Built from the batch's own columns (its keys, and the event ids the encoder carried beside the
payloads), so logging a million accepted rows costs no Python object per row. Keys are shown
as reports show them: hashed when a key column is PII (an e-mail as the key), and event ids
too when they hold personal data (see ``pipeline/plan.py``).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from reverse_etl.arrow_values import strings
from reverse_etl.delivery.batching import Batch
from reverse_etl.delivery.outcome import Outcome, describe
from reverse_etl.destinations.shared.pii_text import mask_text, masked_key
from reverse_etl.history.records import ACCEPTED
from reverse_etl.secrets import scrub
from reverse_etl.state.base import LogBatch


class LogRows:
    """Turns answered batches into ``LogBatch``es for one destination of one run."""

    def __init__(
        self,
        run_id: str,
        *,
        mask_keys: bool,
        event_id_field: str | None,
        mask_event_ids: bool = False,
    ) -> None:
        self.run_id = run_id
        self.mask_keys = mask_keys
        self.mask_event_ids = mask_event_ids
        # The encoders carry each payload's event id as a column (``__event_id``), so no
        # payload is read again here (a regular expression per batch, ~0.3 CPU-s per 200k
        # rows, issue #18); a platform without event ids logs none.
        self.logs_event_ids = event_id_field is not None

    def keys(self, keys: Any) -> Any:
        return _masked(keys) if self.mask_keys else keys

    def event_ids(self, batch: Batch) -> Any:
        if not self.logs_event_ids or batch.event_ids is None:
            return None
        return _masked(batch.event_ids) if self.mask_event_ids else batch.event_ids

    def batch(self, batch: Batch, fate: str, answer: Outcome | None) -> LogBatch:
        # A platform's message may quote a value (``invalid value 203.0.113.7``): kept with
        # e-mail addresses, phone numbers and IP addresses masked.
        message = None if fate == ACCEPTED or answer is None else mask_text(scrub(describe(answer)))
        return LogBatch(
            run_id=self.run_id,
            outcome=fate,
            keys=self.keys(batch.keys),
            event_ids=self.event_ids(batch),
            messages=message,
            code=None if answer is None or fate == ACCEPTED else answer.code,
            request_id=None if answer is None else answer.request_id,
        )


def _masked(values: Any) -> Any:
    texts = values.to_pylist() if isinstance(values, pa.Array) else list(values)
    return strings([None if v is None else masked_key(v) for v in texts])
