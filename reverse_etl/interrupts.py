"""Ctrl-C and SIGTERM held while a sending loop has requests in flight.

The CLI turns SIGINT and SIGTERM into an ``Interrupted`` raised in the main thread
(``cli.output.signals_as_interrupt``). Raised anywhere in a sending loop, it could land in
the middle of ``concurrent.futures.wait`` (a future's lock left held), of a journal append or
of a callback, and the answers to the requests in flight were then thrown away: the next sync
sent those events again, double counted past the platforms' 48-hour deduplication.

So a loop that sends declares itself with :func:`held`. While it runs, the handler asks
:func:`hold` first: it records the signal's name and returns, and the loop takes it at its
own safe points (:func:`pending`), stops sending, records the answers it waits for, and
hands the interruption back to its caller. ``pipeline.send.execute`` holds them too from a
destination's open session to its run record (the session's close, the fold of its answers):
raised there, it lost the result of a destination that had sent; and ``pipeline.runner``
while it writes the run's end (its history row, its report). Outside, the handler raises,
as before.

Only plain attribute reads and writes happen in the handler: no lock is taken there (an
``Event.set()`` could deadlock on a lock the interrupted main thread holds).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Hold:
    def __init__(self) -> None:
        self.depth = 0  # loops that hold signals now (the main thread's: one at most)
        self.signal: str | None = None  # the first signal held and not yet taken
        self.count = 0  # signals held during the current loop
        # what the innermost hold waits for, as a second signal's line says it
        self.waiting: list[str] = []


_HOLD = _Hold()


IN_FLIGHT = (
    "waiting for the answers to the requests in flight (SIGKILL stops at once; the next sync "
    "sends their events again)"
)


@contextmanager
def held(waiting: str = IN_FLIGHT) -> Iterator[None]:
    """While the body runs, a SIGINT or SIGTERM the CLI receives is held for the body to
    take (:func:`pending`) instead of raised. A signal held after the body's last look (it
    can land as the body ends) is not raised either: :func:`pending` still says it after the
    body, until the next :func:`held`, and the caller must look once more after the ``with``
    or lose it. ``waiting``: what the body does until it takes the signal, as the line
    about a second signal says it ("still waiting for ...").
    Only the main thread's loop holds them (Python runs handlers there): a loop in another
    thread changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if _HOLD.depth == 0:
        _HOLD.signal = None
        _HOLD.count = 0
    _HOLD.depth += 1
    _HOLD.waiting.append(waiting)
    try:
        yield
    finally:
        _HOLD.waiting.pop()
        _HOLD.depth -= 1


def hold(name: str) -> int:
    """Called by the signal handler: 0 when no loop holds signals (raise, then), else the
    number of signals held in this loop, this one included (the first one is what it takes).
    Safe in a signal handler: attribute writes only."""
    if _HOLD.depth == 0:
        return 0
    if _HOLD.signal is None:
        _HOLD.signal = name
    _HOLD.count += 1
    return _HOLD.count


def waiting() -> str:
    """What the innermost loop that holds signals does until it takes one (``held``)."""
    return _HOLD.waiting[-1] if _HOLD.waiting else IN_FLIGHT


def pending() -> str | None:
    """The name of the first signal held by the current (or last) loop, if any."""
    return _HOLD.signal


def received() -> int:
    """How many signals the current (or last) loop held."""
    return _HOLD.count
