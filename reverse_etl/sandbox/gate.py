"""A gate in front of the emulators' event endpoints, for tests that act mid-send.

A test holds the gate, starts a sync, waits until the sync's requests are *held* (an event,
not a timing), acts (starts a second sync, sends SIGTERM or SIGKILL, reads the state), then
releases. ``hold_after(n)`` lets ``n`` more requests through first, so a sync is stopped
after exactly that many requests, however loaded the machine is.
"""

from __future__ import annotations

import threading

# A forgotten hold must not hang a server thread for ever.
HOLD_LIMIT_SECONDS = 300.0


class Gate:
    """Thread-safe: request threads call :meth:`pass_through`, tests the rest."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._open = True
        self._passes: int | None = None  # with hold_after: requests still let through
        self._held = 0

    def hold(self) -> None:
        """Hold every request that arrives from now on until :meth:`release`."""
        with self._cond:
            self._open = False
            self._passes = None

    def hold_after(self, requests: int) -> None:
        """Let ``requests`` more requests through, then hold every later one."""
        if requests < 0:
            raise ValueError("requests must be >= 0")
        with self._cond:
            self._open = True
            self._passes = requests

    def release(self) -> None:
        """Let held requests (and later ones) through."""
        with self._cond:
            self._open = True
            self._passes = None
            self._cond.notify_all()

    @property
    def held(self) -> int:
        """Requests waiting at the gate right now."""
        with self._cond:
            return self._held

    def wait_held(self, count: int = 1, timeout: float = 120.0) -> bool:
        """Block until ``count`` requests wait at the gate; False if ``timeout`` passed first
        (a guard against a test that would otherwise hang, not a synchronisation)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._held >= count, timeout)

    def pass_through(self, limit: float = HOLD_LIMIT_SECONDS) -> None:
        """Called by a request thread: return at once when open, else wait for a release."""
        with self._cond:
            if self._passes is not None:
                if self._passes > 0:
                    self._passes -= 1
                    return
                self._open = False
                self._passes = None
            if self._open:
                return
            self._held += 1
            self._cond.notify_all()
            try:
                self._cond.wait_for(lambda: self._open, limit)
            finally:
                self._held -= 1
                self._cond.notify_all()
