"""Delivery progress: a live rich display on a terminal, periodic plain lines in CI logs."""

from __future__ import annotations

import time
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # rich is imported when a RichProgress is made (issue #18: start-up)
    from rich.console import Console as RichTerminal

PLAIN_INTERVAL_SECONDS = 5.0


class Counters:
    """What every progress display counts (observer callbacks run in one thread)."""

    def __init__(self, title: str, total: int) -> None:
        self.title = title
        self.total = total
        self.sent = 0
        self.rejected = 0
        self.retries = 0
        self.in_flight = 0
        self.requests = 0
        self.started = time.monotonic()

    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.sent / elapsed if elapsed > 0 else 0.0

    def line(self) -> str:
        return (
            f"{self.title}: {self.sent}/{self.total} events sent ({self.rate():,.0f}/s), "
            f"{self.in_flight} in flight, {self.retries} retries, {self.rejected} rejected"
        )

    # DeliveryObserver
    def on_request_start(self, n_events: int) -> None:
        self.requests += 1
        self._changed()

    def on_request_end(self, n_events: int, outcome: Any) -> None:
        self._changed()

    def on_retry(self, attempt: int, delay: float, outcome: Any) -> None:
        self.retries += 1
        self._changed()

    def on_ack(self, n: int) -> None:
        self.sent += n
        self._changed()

    def on_rejected(self, n: int, message: str) -> None:
        self.rejected += n
        self._changed()

    def on_in_flight(self, n: int) -> None:
        self.in_flight = n
        self._changed()

    def _changed(self) -> None:
        pass

    def __enter__(self) -> Counters:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class PlainProgress(Counters):
    """A line at most every few seconds, and one at the end."""

    def __init__(self, title: str, total: int, out: IO[str]) -> None:
        super().__init__(title, total)
        self.out = out
        self._last = time.monotonic()

    def _changed(self) -> None:
        now = time.monotonic()
        if now - self._last >= PLAIN_INTERVAL_SECONDS:
            self._last = now
            print(self.line(), file=self.out, flush=True)

    def __exit__(self, *exc: object) -> None:
        print(self.line(), file=self.out, flush=True)


class RichProgress(Counters):
    """A live bar with rate, requests in flight, retries and rejections."""

    def __init__(self, title: str, total: int, terminal: RichTerminal) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        super().__init__(title, total)
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} ev/s"),
            TextColumn("· {task.fields[in_flight]} in flight"),
            TextColumn("· {task.fields[retries]} retries"),
            TextColumn("· {task.fields[rejected]} rejected"),
            TimeElapsedColumn(),
            console=terminal,
            transient=False,
        )
        self.task = self.progress.add_task(
            title, total=total, rate="0", in_flight=0, retries=0, rejected=0
        )

    def _changed(self) -> None:
        self.progress.update(
            self.task,
            completed=self.sent + self.rejected,
            rate=f"{self.rate():,.0f}",
            in_flight=self.in_flight,
            retries=self.retries,
            rejected=self.rejected,
        )

    def __enter__(self) -> RichProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._changed()
        self.progress.stop()
