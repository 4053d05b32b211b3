"""What the history tables hold, as values (the CLI, the web page and notifications read these)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

from reverse_etl.errors import EXIT_SIGINT, EXIT_SIGTERM

ACCEPTED: Final = "accepted"
REJECTED: Final = "rejected"
SKIPPED_INVALID: Final = "skipped_invalid"
FAILED: Final = "failed"
OUTCOMES: Final = (ACCEPTED, REJECTED, SKIPPED_INVALID, FAILED)
_SIGNALS: Final = {EXIT_SIGINT: "SIGINT", EXIT_SIGTERM: "SIGTERM"}  # a run's exit code: its stop


@dataclass(frozen=True)
class RunRecord:
    """One run of ``retl sync`` (one row of the ``runs`` table)."""

    run_id: str
    started_at: dt.datetime
    ended_at: dt.datetime | None  # None: the run died (found by the next run)
    command: str
    destinations: tuple[str, ...]
    sent: int
    rejected: int
    skipped_invalid: int
    failed: int
    exit_code: int | None  # None: the run died before it could say
    retl_version: str
    sandbox: bool
    running: bool = False  # no end yet, and a sync holds the state's lock: this one
    refused: str | None = None  # why it never ran: another sync held the lock (history/refused.py)
    # A `retl state reset`, not a sync: the rows it forgot, per destination (history/refused.py)
    forgotten: tuple[tuple[str, int], ...] | None = None

    @property
    def status(self) -> str:
        if self.forgotten is not None:
            return "reset"
        if self.refused is not None:
            return "refused"
        if self.exit_code is None:
            return "running" if self.running else "interrupted"
        if self.signal is not None:  # Ctrl-C, or SIGTERM (a CI job's timeout): stopped, not failed
            return "interrupted"
        return "ok" if self.exit_code == 0 else "failed"

    @property
    def signal(self) -> str | None:
        """The signal that stopped the run (``SIGINT``: Ctrl-C; ``SIGTERM``: a CI job's
        timeout, a scheduler's stop), told by its exit code; None when none did, or when the
        run died without an exit code (SIGKILL, a lost machine: which is unknown)."""
        return _SIGNALS.get(self.exit_code) if self.exit_code is not None else None

    @property
    def forgotten_text(self) -> str:
        """What a state reset forgot, per destination ("" for a sync)."""
        if self.forgotten is None:
            return ""
        return ", ".join(f"{name} ({n} row(s) forgotten)" for name, n in self.forgotten)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "started_at": _iso(self.started_at),
            "ended_at": _iso(self.ended_at),
            "command": self.command,
            "destinations": list(self.destinations),
            "events": {
                "sent": self.sent,
                "rejected": self.rejected,
                "skipped_invalid": self.skipped_invalid,
                "failed": self.failed,
            },
            "exit_code": self.exit_code,
            "status": self.status,
            "signal": self.signal,
            "refused": self.refused,
            "rows_forgotten": None if self.forgotten is None else dict(self.forgotten),
            "retl_version": self.retl_version,
            "sandbox": self.sandbox,
        }


@dataclass(frozen=True)
class RunDestinationRecord:
    """One destination within a run (one row of the ``run_destinations`` table)."""

    run_id: str
    destination: str
    platform: str
    model: str
    ended_at: dt.datetime | None
    rows_total: int
    sent: int
    rejected: int
    skipped_invalid: int
    failed: int
    not_attempted: int
    match_coverage: float | None  # share of sent rows with a strong match key, 0..1
    error: str | None
    # The run stopped (Ctrl-C, SIGTERM, SIGKILL) before this destination's result was
    # recorded: its counts are the delivery log's; its rows, model and what it did not send
    # are unknown (rows_total and not_attempted are 0, and read as null in the JSON).
    interrupted: bool = False

    def to_dict(self) -> dict[str, Any]:
        unknown = self.interrupted
        return {
            "run_id": self.run_id,
            "destination": self.destination,
            "platform": self.platform,
            "model": self.model,
            "ended_at": _iso(self.ended_at),
            "rows_total": None if unknown else self.rows_total,
            "events": {
                "sent": self.sent,
                "rejected": self.rejected,
                "skipped_invalid": self.skipped_invalid,
                "failed": self.failed,
                "not_attempted": None if unknown else self.not_attempted,
            },
            "match_coverage": self.match_coverage,
            "error": self.error,
            "interrupted": self.interrupted,
        }


@dataclass(frozen=True)
class DeliveryRecord:
    """One row's outcome in one run (one row of the ``delivery_log`` table).

    ``key`` is the row key as reports show it: hashed (``sha256:…``) when the key is PII."""

    run_id: str
    destination: str
    key: str
    event_id: str | None
    outcome: str  # one of OUTCOMES
    code: int | None
    message: str | None
    request_id: str | None
    at: dt.datetime
    sandbox: bool = False  # logged by `retl sync --sandbox`: the emulator, not the platform

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "destination": self.destination,
            "key": self.key,
            "event_id": self.event_id,
            "outcome": self.outcome,
            "code": self.code,
            "message": self.message,
            "request_id": self.request_id,
            "at": _iso(self.at),
            "sandbox": self.sandbox,
        }


@dataclass(frozen=True)
class RunDetail:
    """``retl runs show``: a run, its destinations, and its rows that were not accepted."""

    run: RunRecord
    destinations: tuple[RunDestinationRecord, ...]
    not_accepted: tuple[DeliveryRecord, ...]  # rejected / skipped_invalid / failed, first N
    not_accepted_total: int = 0
    error: tuple[str, ...] = ()  # what stopped it, as the command said (its report file's)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.run.to_dict(),
            "error": list(self.error),
            "per_destination": [d.to_dict() for d in self.destinations],
            "not_accepted": [r.to_dict() for r in self.not_accepted],
            "not_accepted_total": self.not_accepted_total,
        }


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()
