"""What a delivery did: counts for the report, and the error that stopped it, if any."""

from __future__ import annotations

from dataclasses import dataclass

from reverse_etl.errors import DestinationError


@dataclass(frozen=True)
class DeliveryResult:
    """What a delivery did. ``terminal_error`` is set when it stopped early on an error.

    Event counts cover the batches pulled from the input: ``sent`` were acknowledged,
    ``rejected`` isolated as invalid (40002), ``failed`` were in a request but never
    acknowledged, ``not_attempted`` were pulled but never sent. After a stop the rest of the
    input is not pulled, so callers that know the total derive "not sent" from it.
    ``stop_reason`` is None, ``"auth"``, ``"config"`` (the destination refused the request
    itself, e.g. its event source), ``"terminal"``, ``"invalid"``, ``"retries exhausted"`` or
    ``"crash"`` or ``"interrupted"`` (a ``KeyboardInterrupt``: Ctrl-C or SIGTERM, held in
    ``interrupted`` for the caller to raise again once it has recorded the result) or
    ``"not recorded"`` (``on_answer`` raised: the state could not record an answer; the
    exception is held in ``not_recorded``, for the caller to raise likewise).
    ``requests`` counts sends (retries and bisection halves included); ``elapsed`` is in
    seconds.
    """

    events_sent: int
    events_rejected: int
    events_failed: int
    events_not_attempted: int
    batches: int
    requests: int
    retries: int
    bisections: int
    terminal_error: DestinationError | None
    stop_reason: str | None
    elapsed: float
    interrupted: KeyboardInterrupt | None = None
    not_recorded: Exception | None = None

    @property
    def complete(self) -> bool:
        """True when every event pulled from the input was acknowledged."""
        return (
            self.stop_reason is None
            and self.events_rejected == 0
            and self.events_failed == 0
            and self.events_not_attempted == 0
        )
