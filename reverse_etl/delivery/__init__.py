"""Delivery: batching, retry policy, and the runner that reports acknowledgements.

No HTTP here: the runner calls a ``send(body) -> Outcome`` function (a destination
session's ``send`` in production, a fake in tests).
"""

from reverse_etl.delivery.batching import Batch, batch_events, build_body
from reverse_etl.delivery.observer import DeliveryObserver, NullObserver
from reverse_etl.delivery.outcome import Outcome, Send, SendOutcome
from reverse_etl.delivery.result import DeliveryResult
from reverse_etl.delivery.retry import RetryPolicy
from reverse_etl.delivery.runner import deliver

__all__ = [
    "Batch",
    "DeliveryObserver",
    "DeliveryResult",
    "NullObserver",
    "Outcome",
    "RetryPolicy",
    "Send",
    "SendOutcome",
    "batch_events",
    "build_body",
    "deliver",
]
