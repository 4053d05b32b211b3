"""Scripted and random failures for ``/event/track/``, so clients can test their retry paths.

A fault plan is a FIFO script consumed one ``/event/track/`` request at a time, then (once the
script is empty) seeded random faults, plus a fixed latency added to every track request.
"""

from __future__ import annotations

import math
import random
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .gate import Gate

DEFAULT_MESSAGES = {
    40002: "Invalid parameters.",
    40100: "Too many requests. Please retry in some time.",
    40102: "Access token has expired.",
    40104: "Access token is empty.",
    40105: "Access token is incorrect or has been revoked.",
    40132: "Request frequency limited. Please retry in some time.",
    50000: "System error",
    50002: "Error processing request on TikTok side, please try again later.",
    60001: "The service is under maintenance. Please retry later.",
    61000: "Too many requests. Please retry in some time.",
}
PARTIAL_MESSAGE = "Partial success: some events were not accepted."
# The longest delay, latency or Retry-After a fault plan may ask for: the handler sleeps it,
# and time.sleep refuses huge values (1e308) with an error, not a long sleep.
MAX_DELAY_SECONDS = 3600.0


def check_seconds(value: float, what: str) -> None:
    """Raise ValueError unless ``value`` is a number of seconds from 0 to MAX_DELAY_SECONDS."""
    if not 0 <= value <= MAX_DELAY_SECONDS:  # NaN fails both comparisons
        raise ValueError(f"{what} must be from 0 to {MAX_DELAY_SECONDS:g} seconds, got {value!r}")


@dataclass(frozen=True)
class CodeFault:
    """Answer HTTP 200 with this envelope code (e.g. 40100 rate limit, 50000 system error)."""

    code: int
    message: str | None = None

    def text(self) -> str:
        """The message sent: the given one or TikTok's usual wording for the code."""
        return self.message or DEFAULT_MESSAGES.get(self.code, f"Injected error {self.code}")


@dataclass(frozen=True)
class PartialFault:
    """Process the request, but fail the events at ``indices`` (positions in its ``data``) with
    ``code``: the others are accepted and the answer is ``20001`` (PARTIAL_OK).

    ``listed`` answers ``data: {"failed_events": [{"index", "event_id", "code", "message"}]}``;
    unlisted answers ``data: null``, so the client cannot tell which events failed. When every
    event of the request fails the answer is ``code`` itself, as for a single bad event.
    """

    indices: frozenset[int]
    code: int = 40002
    message: str | None = None
    listed: bool = True

    def text(self) -> str:
        """The failed events' message: the given one or TikTok's usual wording for the code."""
        return self.message or DEFAULT_MESSAGES.get(self.code, f"Injected error {self.code}")


@dataclass(frozen=True)
class HttpFault:
    """Answer a bare gateway error (HTML body), optionally with ``Retry-After``."""

    status: int
    retry_after: float | None = None

    def __post_init__(self) -> None:
        if self.retry_after is not None:
            check_seconds(self.retry_after, "retry_after")


@dataclass(frozen=True)
class DropFault:
    """Read the request, then close the connection without answering."""


@dataclass(frozen=True)
class DelayFault:
    """Sleep, then process the request normally (at most MAX_DELAY_SECONDS)."""

    seconds: float

    def __post_init__(self) -> None:
        check_seconds(self.seconds, "a delay")


Fault = CodeFault | PartialFault | HttpFault | DropFault | DelayFault
FaultSpec = Fault | Sequence[Any]


def parse_fault(spec: FaultSpec) -> Fault:
    """Accept a fault object or its tuple/list form.

    Forms: ``("code", 40100[, message])``, ``("partial", [indices][, code[, message]])``,
    ``("partial_unlisted", [indices][, code[, message]])``, ``("http", 503[,
    retry_after_seconds])``, ``("drop",)``, ``("delay", seconds)``. Raises ValueError on
    anything else.
    """
    if isinstance(spec, CodeFault | PartialFault | HttpFault | DropFault | DelayFault):
        return spec
    if isinstance(spec, str) or not isinstance(spec, Sequence) or not spec:
        raise ValueError(f"a fault is a non-empty list like ['code', 40100], got {spec!r}")
    kind, *args = spec
    try:
        if kind == "code" and 1 <= len(args) <= 2:
            message = args[1] if len(args) == 2 else None
            if message is not None and not isinstance(message, str):
                raise TypeError("message must be a string")
            return CodeFault(_as_int(args[0]), message)
        if kind in ("partial", "partial_unlisted") and 1 <= len(args) <= 3:
            return _partial(args, listed=kind == "partial")
        if kind == "http" and 1 <= len(args) <= 2:
            retry = None if len(args) < 2 or args[1] is None else _as_seconds(args[1])
            return HttpFault(_as_int(args[0]), retry)
        if kind == "drop" and not args:
            return DropFault()
        if kind == "delay" and len(args) == 1:
            return DelayFault(_as_seconds(args[0]))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"invalid fault {list(spec)!r}: {exc}") from None
    raise ValueError(
        f"unknown fault {list(spec)!r}; kinds: code, partial, partial_unlisted, http, drop, delay"
    )


def _partial(args: Sequence[Any], *, listed: bool) -> PartialFault:
    indices = args[0]
    if isinstance(indices, str) or not isinstance(indices, Sequence) or not indices:
        raise ValueError("the failed events are a non-empty list of indices")
    positions = frozenset(_as_int(i) for i in indices)
    if min(positions) < 0:
        raise ValueError("indices start at 0")
    code = _as_int(args[1]) if len(args) >= 2 else 40002
    message = args[2] if len(args) == 3 else None
    if message is not None and not isinstance(message, str):
        raise TypeError("message must be a string")
    return PartialFault(positions, code, message, listed)


def fault_to_json(fault: Fault) -> list[Any]:
    """The list form of a fault (inverse of :func:`parse_fault`)."""
    if isinstance(fault, CodeFault):
        return ["code", fault.code] + ([fault.message] if fault.message is not None else [])
    if isinstance(fault, PartialFault):
        kind = "partial" if fault.listed else "partial_unlisted"
        message = [fault.message] if fault.message is not None else []
        return [kind, sorted(fault.indices), fault.code, *message]
    if isinstance(fault, HttpFault):
        return ["http", fault.status] + (
            [fault.retry_after] if fault.retry_after is not None else []
        )
    if isinstance(fault, DelayFault):
        return ["delay", fault.seconds]
    return ["drop"]


@dataclass(frozen=True)
class FaultPlan:
    """Everything the injector does; also the JSON accepted by ``POST /_sandbox/faults``."""

    script: tuple[Fault, ...] = ()
    rate_limit_probability: float = 0.0
    server_error_probability: float = 0.0
    http_error_probability: float = 0.0
    drop_probability: float = 0.0
    latency_seconds: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        probabilities = (
            self.rate_limit_probability,
            self.server_error_probability,
            self.http_error_probability,
            self.drop_probability,
        )
        if any(p < 0 for p in probabilities) or sum(probabilities) > 1:
            raise ValueError("fault probabilities must be >= 0 and sum to at most 1")
        check_seconds(self.latency_seconds, "latency_seconds")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FaultPlan:
        """Parse the control endpoint's JSON; raises ValueError with the offending key."""
        known = {
            "script", "rate_limit_probability", "server_error_probability",
            "http_error_probability", "drop_probability", "latency_seconds", "seed",
        }  # fmt: skip
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault plan keys: {', '.join(unknown)}")
        script = data.get("script", [])
        if not isinstance(script, list):
            raise ValueError("script must be a list of faults")
        numbers = {k: _as_seconds(data[k]) for k in known - {"script", "seed"} if k in data}
        return cls(
            script=tuple(parse_fault(item) for item in script),
            seed=_as_int(data.get("seed", 0)),
            **numbers,
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON form accepted by :meth:`from_json`."""
        return {
            "script": [fault_to_json(f) for f in self.script],
            "rate_limit_probability": self.rate_limit_probability,
            "server_error_probability": self.server_error_probability,
            "http_error_probability": self.http_error_probability,
            "drop_probability": self.drop_probability,
            "latency_seconds": self.latency_seconds,
            "seed": self.seed,
        }


class FaultInjector:
    """Thread-safe holder of the current plan; the server asks it once per track request."""

    def __init__(self, plan: FaultPlan | None = None) -> None:
        self._lock = threading.Lock()
        self._plan = FaultPlan()
        self._queue: deque[Fault] = deque()
        self._rng = random.Random(0)
        self._gate = Gate()
        if plan is not None:
            self.set_plan(plan)

    def hold(self) -> None:
        """Hold every track request that arrives from now on until :meth:`release`: a test
        can then act while a sync is certainly mid-send, whatever the machine's load."""
        self._gate.hold()

    def hold_after(self, requests: int) -> None:
        """Let ``requests`` more track requests through, then hold every later one."""
        self._gate.hold_after(requests)

    def release(self) -> None:
        """Let held track requests (and later ones) through."""
        self._gate.release()

    @property
    def held(self) -> int:
        """Track requests being held right now."""
        return self._gate.held

    def wait_held(self, count: int = 1, timeout: float = 120.0) -> bool:
        """Block until ``count`` track requests are held (False once ``timeout`` passed)."""
        return self._gate.wait_held(count, timeout)

    def wait_released(self) -> None:
        """Called per track request: block while held (see ``gate.py``)."""
        self._gate.pass_through()

    def set_plan(self, plan: FaultPlan) -> None:
        """Replace the script, probabilities and latency, and reseed the RNG."""
        with self._lock:
            self._plan = plan
            self._queue = deque(plan.script)
            self._rng = random.Random(plan.seed)

    def plan(self) -> FaultPlan:
        """The current plan, with only the script entries not yet consumed."""
        with self._lock:
            return replace(self._plan, script=tuple(self._queue))

    def script(self, *faults: FaultSpec) -> None:
        """Append fates for the next track requests, e.g. ``script(("code", 40100), ("drop",))``."""
        parsed = [parse_fault(f) for f in faults]
        with self._lock:
            self._queue.extend(parsed)

    def configure(
        self,
        *,
        rate_limit_probability: float | None = None,
        server_error_probability: float | None = None,
        http_error_probability: float | None = None,
        drop_probability: float | None = None,
        latency_seconds: float | None = None,
        seed: int | None = None,
    ) -> None:
        """Change the given settings, keeping the pending script (a new seed reseeds)."""
        with self._lock:
            old = self._plan
            self._plan = FaultPlan(
                script=tuple(self._queue),
                rate_limit_probability=_pick(rate_limit_probability, old.rate_limit_probability),
                server_error_probability=_pick(
                    server_error_probability, old.server_error_probability
                ),
                http_error_probability=_pick(http_error_probability, old.http_error_probability),
                drop_probability=_pick(drop_probability, old.drop_probability),
                latency_seconds=_pick(latency_seconds, old.latency_seconds),
                seed=old.seed if seed is None else seed,
            )
            if seed is not None:
                self._rng = random.Random(seed)

    def clear(self) -> None:
        """No faults, no latency."""
        self.set_plan(FaultPlan())

    @property
    def pending(self) -> int:
        """Scripted faults not yet consumed."""
        with self._lock:
            return len(self._queue)

    @property
    def latency_seconds(self) -> float:
        """Fixed latency added to every track request."""
        return self._plan.latency_seconds

    def next_fault(self) -> Fault | None:
        """The fate of the next track request: scripted first, then random, else None."""
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            plan = self._plan
            odds = (
                plan.rate_limit_probability,
                plan.server_error_probability,
                plan.http_error_probability,
                plan.drop_probability,
            )
            if not any(odds):
                return None
            draw = self._rng.random()
        outcomes: tuple[Fault, ...] = (
            CodeFault(40100),
            CodeFault(50000),
            HttpFault(503),
            DropFault(),
        )
        threshold = 0.0
        for probability, outcome in zip(odds, outcomes, strict=True):
            threshold += probability
            if draw < threshold:
                return outcome
        return None


def _pick(new: float | None, old: float) -> float:
    return old if new is None else float(new)


def _as_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, got {value!r}")
    return value


def _as_seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value!r}")
    return float(value)
