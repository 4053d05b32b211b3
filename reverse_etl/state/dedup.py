"""Changed rows and a platform's deduplication window: which go out again, and how many a
resend would count twice.

TikTok drops a repeat of an (``event``, ``event_id``) for 48 hours after it first received
it, and counts a repeat after that as a new conversion. So every acknowledged key carries the
time of its *first* acknowledgement, and a changed row is held back (``on_change``) once that
time is older than the window. Pure: this module only writes SQL over the state side of the
diff (``__s``, a relation with ``first_synced_at``) and counts; the window's length comes from
the destination (``state/`` imports no platform).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

OnChange = Literal["resend", "skip", "resend_within_dedup_window"]
ON_CHANGE_DEFAULT: OnChange = "resend_within_dedup_window"

# Wall-clock time in Unix seconds, like the sandbox's (SandboxOptions.clock): one clock can
# drive both, so a test moves retl and the emulator past the window together, without sleep.
Clock = Callable[[], float]
system_clock: Clock = time.time

FIRST = "first_synced_at"  # the state column: when the key was first acknowledged
# How long before the window's end a changed row is held back (``DedupWindow.at``).
SEND_MARGIN_SECONDS = 30 * 60


def utc(seconds: float) -> dt.datetime:
    """A clock reading as the state stores it: a naive UTC timestamp."""
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).replace(tzinfo=None)


@dataclass(frozen=True)
class DedupWindow:
    """The window at the time of one run: keys first acknowledged before ``cutoff`` are
    outside it (a resend of them is counted again)."""

    cutoff: dt.datetime
    hours: int

    @classmethod
    def at(
        cls, now: float, window_seconds: float, margin_seconds: float = SEND_MARGIN_SECONDS
    ) -> DedupWindow:
        """The window as of ``now``, ending ``margin_seconds`` early: a changed row is judged
        when the run plans and sent up to a send's length later (batches, retries, a
        platform's Retry-After), so a resend planned at hour 47:59 could land after hour 48
        and count twice. Within the window a resend changes nothing at the platform (it keeps
        the first version): holding one back early loses nothing."""
        margin = min(max(margin_seconds, 0.0), window_seconds)
        return cls(utc(now - window_seconds + margin), round(window_seconds / 3600))

    def late_sql(self, state: str = "__s") -> str:
        """True when the state row's key was first acknowledged outside the window. A key
        without a first time (not migrated) counts as outside: never a silent double count."""
        return f"({state}.{FIRST} IS NULL OR {state}.{FIRST} < TIMESTAMP '{self.cutoff}')"

    def hold_sql(self, on_change: OnChange, state: str = "__s") -> str | None:
        """True for a changed row that is not sent again; None when every changed row is."""
        if on_change == "resend":
            return None
        if on_change == "skip":
            return "TRUE"
        return self.late_sql(state)


def held_reason(on_change: OnChange, hours: int = 48, platform: str = "TikTok") -> str:
    """How a report names changed rows that were not sent again."""
    if on_change == "skip":
        return "changed: not re-sent (on_change: skip)"
    return f"changed after {platform}'s dedup window ({hours} h): not re-sent"


@dataclass(frozen=True)
class DedupCounts:
    """What the diff found about rows acknowledged before (all 0 on a first sync)."""

    held: int = 0
    """Changed rows not sent again (``on_change``); reported each run until they send or
    match again, and never recorded as sent."""
    resent: int = 0
    """Rows acknowledged before that go out again (changed, or all with ``--full-refresh``)."""
    double_counted: int = 0
    """Of ``resent``, those first acknowledged outside the window: TikTok counts them again
    (at most: rows found invalid later are not sent)."""


def impact_sql(
    rows: str,
    latest: str,
    *,
    hold: str | None,
    window: DedupWindow,
    full_refresh: bool,
    key: str = "__row_key",
    row_hash: str = "__row_hash",
) -> str:
    """One scan of the model's keyed rows joined with the state (``latest`` with first
    times): (unchanged, held, resent, double counted), for ``impact_counts``. With
    ``full_refresh`` every acknowledged key is resent."""
    late = window.late_sql()
    changed = f"__s.row_hash <> __k.{row_hash}"
    held = f"{changed} AND {hold}" if hold is not None else "FALSE"
    resent = "TRUE" if full_refresh else f"{changed} AND NOT ({held})"
    unchanged = "FALSE" if full_refresh else f"__s.row_hash = __k.{row_hash}"
    return (
        f"SELECT count(*) FILTER (WHERE {unchanged}), "
        f"count(*) FILTER (WHERE {'FALSE' if full_refresh else held}), "
        f"count(*) FILTER (WHERE {resent}), "
        f"count(*) FILTER (WHERE ({resent}) AND {late}) "
        f"FROM ({rows}) AS __k JOIN {latest} AS __s ON __s.row_key = __k.{key}"
    )


def impact_counts(rows: Sequence[Sequence[Any]]) -> tuple[int, DedupCounts]:
    """``impact_sql``'s one row: (unchanged, DedupCounts)."""
    unchanged, held, resent, late = (int(v or 0) for v in rows[0][:4])
    return unchanged, DedupCounts(held, resent, late)


def acknowledged_sql(latest: str, window: DedupWindow) -> str:
    """(keys, keys first acknowledged outside the window) of one scope's state."""
    return f"SELECT count(*), count(*) FILTER (WHERE {window.late_sql()}) FROM {latest} AS __s"


@dataclass(frozen=True)
class ResendImpact:
    """What a full refresh or a state reset would send again, per destination, for the
    caller to confirm (the library never prompts)."""

    action: str  # "--full-refresh" or "state reset"
    resent: dict[str, int]
    double_counted: dict[str, int]
    window_hours: int = 48
    platform: str = "TikTok"  # who acknowledged them ("TikTok and Meta" for both)

    @property
    def total_resent(self) -> int:
        return sum(self.resent.values())

    @property
    def total_double_counted(self) -> int:
        return sum(self.double_counted.values())
