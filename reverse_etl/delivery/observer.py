"""Hooks a progress display subscribes to. Every hook runs in the thread that called deliver."""

from __future__ import annotations

from typing import Protocol

from reverse_etl.delivery.outcome import Outcome


class DeliveryObserver(Protocol):
    """Delivery progress events. Subclass and override what you need; the rest are no-ops."""

    def on_request_start(self, n_events: int) -> None:
        """A request carrying ``n_events`` was handed to a worker."""
        return None

    def on_request_end(self, n_events: int, outcome: Outcome) -> None:
        """A request carrying ``n_events`` came back with ``outcome``."""
        return None

    def on_retry(self, attempt: int, delay: float, outcome: Outcome) -> None:
        """Attempt number ``attempt`` failed with ``outcome``; retrying after ``delay`` s."""
        return None

    def on_ack(self, n: int) -> None:
        """``n`` events were acknowledged (and ``on_ack`` committed them)."""
        return None

    def on_rejected(self, n: int, message: str) -> None:
        """``n`` events were rejected by the destination for good."""
        return None

    def on_in_flight(self, n: int) -> None:
        """The number of requests in flight (or waiting to retry) changed to ``n``."""
        return None


class NullObserver(DeliveryObserver):
    """Ignores everything: the default."""
