"""Scripted and random failures for the Meta endpoint, so clients can test their retry paths.

Meta has its own queue, apart from TikTok's :class:`~reverse_etl.sandbox.FaultInjector`: one
``retl sync --sandbox`` may send to both APIs at once, and a shared script would be consumed by
whichever request came first. ``HttpFault``, ``DropFault`` and ``DelayFault`` are TikTok's
types, reused; the Graph-specific ones are :class:`GraphFault` and :class:`InvalidEventFault`.
Poisoned event IDs are not consumed: every request holding one is rejected naming its index,
which is what a client bisecting a batch needs.
"""

from __future__ import annotations

import math
import random
import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from reverse_etl.sandbox.faults import (
    CodeFault,
    DelayFault,
    DropFault,
    HttpFault,
    PartialFault,
    check_seconds,
    parse_fault,
)
from reverse_etl.sandbox.gate import Gate

from .errors import GraphError
from .vocab import CODE_SERVICE_UNAVAILABLE, CODE_USER_RATE_LIMIT, SUB_SCRIPTED, THROTTLE_CODES

_DEFAULT_MESSAGES = {
    1: "An unknown error occurred",
    2: "An unexpected error has occurred. Please retry your request later.",
    190: "Error validating access token: Session has expired.",
}


@dataclass(frozen=True)
class GraphFault:
    """Answer a Graph error body. Throttling codes (4, 17, 32, 613, 80004) default to Graph's own
    status, ``is_transient`` and wording; codes 1 and 2 default to transient."""

    code: int
    http_status: int | None = None
    is_transient: bool | None = None
    message: str | None = None

    def error(self) -> GraphError:
        """The error this fault answers."""
        status, transient, message = THROTTLE_CODES.get(
            self.code,
            (400, self.code in (1, 2), _DEFAULT_MESSAGES.get(self.code, f"(#{self.code}) error")),
        )
        return GraphError(
            self.code,
            self.message or message,
            http_status=self.http_status or status,
            is_transient=transient if self.is_transient is None else self.is_transient,
        )


@dataclass(frozen=True)
class InvalidEventFault:
    """Validate the next request, then reject it as if ``data[index]`` were invalid (code 100).
    A request with fewer events is processed normally, like TikTok's partial fault."""

    index: int
    reason: str = "rejected by a scripted sandbox fault"
    subcode: int = SUB_SCRIPTED


MetaFault = GraphFault | InvalidEventFault | HttpFault | DropFault | DelayFault
MetaFaultSpec = MetaFault | Sequence[Any]
_KINDS = "graph, throttle, transient, invalid_event, http, drop, delay"


def parse_meta_fault(spec: MetaFaultSpec) -> MetaFault:
    """Accept a fault object or its list form; raises ValueError on anything else.

    Forms: ``("throttle"[, code])`` (4, 17 (default), 32, 613 or 80004), ``("transient"[, code[,
    message]])`` (HTTP 400 with ``is_transient: true``), ``("graph", code[, http_status[,
    is_transient[, message]]])``, ``("invalid_event", index[, reason])``, and TikTok's
    ``("http", 500[, retry_after])``, ``("drop",)``, ``("delay", seconds)``.
    """
    if isinstance(spec, GraphFault | InvalidEventFault | HttpFault | DropFault | DelayFault):
        return spec
    if isinstance(spec, str) or not isinstance(spec, Sequence) or not spec:
        raise ValueError(f"a fault is a non-empty list like ['throttle', 17], got {spec!r}")
    kind, *args = spec
    try:
        if kind == "throttle" and len(args) <= 1:
            code = _as_int(args[0]) if args else CODE_USER_RATE_LIMIT
            if code not in THROTTLE_CODES:
                raise ValueError(f"throttling codes are {sorted(THROTTLE_CODES)}")
            return GraphFault(code)
        if kind == "transient" and len(args) <= 2:
            code = _as_int(args[0]) if args else CODE_SERVICE_UNAVAILABLE
            return GraphFault(code, 400, True, _as_message(args[1:]))
        if kind == "graph" and 1 <= len(args) <= 4:
            status = None if len(args) < 2 or args[1] is None else _as_int(args[1])
            transient = None if len(args) < 3 else args[2]
            if transient is not None and not isinstance(transient, bool):
                raise ValueError("is_transient must be true, false or null")
            return GraphFault(_as_int(args[0]), status, transient, _as_message(args[3:]))
        if kind == "invalid_event" and 1 <= len(args) <= 2:
            index = _as_int(args[0])
            if index < 0:
                raise ValueError("indices start at 0")
            reason = _as_message(args[1:])
            return InvalidEventFault(index) if reason is None else InvalidEventFault(index, reason)
        if kind in ("http", "drop", "delay"):
            fault = parse_fault(spec)
            assert not isinstance(fault, CodeFault | PartialFault)
            return fault
    except (TypeError, ValueError) as exc:
        raise ValueError(f"invalid fault {list(spec)!r}: {exc}") from None
    raise ValueError(f"unknown Meta fault {list(spec)!r}; kinds: {_KINDS}")


def meta_fault_to_json(fault: MetaFault) -> list[Any]:
    """The list form of a fault (inverse of :func:`parse_meta_fault`)."""
    if isinstance(fault, GraphFault):
        tail = [fault.message] if fault.message is not None else []
        return ["graph", fault.code, fault.http_status, fault.is_transient, *tail]
    if isinstance(fault, InvalidEventFault):
        return ["invalid_event", fault.index, fault.reason]
    if isinstance(fault, HttpFault):
        retry = [fault.retry_after] if fault.retry_after is not None else []
        return ["http", fault.status, *retry]
    if isinstance(fault, DelayFault):
        return ["delay", fault.seconds]
    return ["drop"]


@dataclass(frozen=True)
class MetaFaultPlan:
    """Everything the Meta injector does; also the JSON of ``POST /_sandbox/meta/faults``."""

    script: tuple[MetaFault, ...] = ()
    throttle_probability: float = 0.0
    transient_probability: float = 0.0
    server_error_probability: float = 0.0
    drop_probability: float = 0.0
    latency_seconds: float = 0.0
    seed: int = 0
    poisoned_event_ids: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        odds = self.odds()
        if any(p < 0 for p in odds) or sum(odds) > 1:
            raise ValueError("fault probabilities must be >= 0 and sum to at most 1")
        check_seconds(self.latency_seconds, "latency_seconds")

    def odds(self) -> tuple[float, float, float, float]:
        """The random faults' probabilities, in :data:`RANDOM_OUTCOMES` order."""
        return (
            self.throttle_probability,
            self.transient_probability,
            self.server_error_probability,
            self.drop_probability,
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MetaFaultPlan:
        """Parse the control endpoint's JSON; raises ValueError naming the offending key."""
        numbers = {
            "throttle_probability", "transient_probability", "server_error_probability",
            "drop_probability", "latency_seconds",
        }  # fmt: skip
        unknown = sorted(set(data) - numbers - {"script", "seed", "poisoned_event_ids"})
        if unknown:
            raise ValueError(f"unknown fault plan keys: {', '.join(unknown)}")
        script = data.get("script", [])
        poisoned = data.get("poisoned_event_ids", [])
        if not isinstance(script, list):
            raise ValueError("script must be a list of faults")
        if not isinstance(poisoned, list) or not all(isinstance(p, str) for p in poisoned):
            raise ValueError("poisoned_event_ids must be a list of strings")
        return cls(
            script=tuple(parse_meta_fault(item) for item in script),
            seed=_as_int(data.get("seed", 0)),
            poisoned_event_ids=frozenset(poisoned),
            **{k: _as_seconds(data[k]) for k in numbers if k in data},
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON form accepted by :meth:`from_json`."""
        return {
            "script": [meta_fault_to_json(f) for f in self.script],
            "throttle_probability": self.throttle_probability,
            "transient_probability": self.transient_probability,
            "server_error_probability": self.server_error_probability,
            "drop_probability": self.drop_probability,
            "latency_seconds": self.latency_seconds,
            "seed": self.seed,
            "poisoned_event_ids": sorted(self.poisoned_event_ids),
        }


RANDOM_OUTCOMES: tuple[MetaFault, ...] = (
    GraphFault(CODE_USER_RATE_LIMIT),
    GraphFault(CODE_SERVICE_UNAVAILABLE, 400, True),
    HttpFault(500),
    DropFault(),
)


class MetaFaultInjector:
    """Thread-safe holder of the Meta plan; the endpoint asks it once per request."""

    def __init__(self, plan: MetaFaultPlan | None = None) -> None:
        self._lock = threading.Lock()
        self._gate = Gate()
        self.set_plan(plan or MetaFaultPlan())

    def hold(self) -> None:
        """Hold every Meta request from now on until :meth:`release` (a test can then act while
        a sync is certainly mid-send)."""
        self._gate.hold()

    def hold_after(self, requests: int) -> None:
        """Let ``requests`` more Meta requests through, then hold every later one."""
        self._gate.hold_after(requests)

    def release(self) -> None:
        """Let held requests (and later ones) through."""
        self._gate.release()

    @property
    def held(self) -> int:
        """Meta requests being held right now."""
        return self._gate.held

    def wait_held(self, count: int = 1, timeout: float = 120.0) -> bool:
        """Block until ``count`` Meta requests are held (False once ``timeout`` passed)."""
        return self._gate.wait_held(count, timeout)

    def wait_released(self) -> None:
        """Called per request: block while held (see ``sandbox/gate.py``)."""
        self._gate.pass_through()

    def set_plan(self, plan: MetaFaultPlan) -> None:
        """Replace the whole plan and reseed the RNG."""
        with self._lock:
            self._plan = plan
            self._queue: deque[MetaFault] = deque(plan.script)
            self._rng = random.Random(plan.seed)

    def plan(self) -> MetaFaultPlan:
        """The current plan, with only the script entries not yet consumed."""
        with self._lock:
            return replace(self._plan, script=tuple(self._queue))

    def script(self, *faults: MetaFaultSpec) -> None:
        """Append fates for the next requests, e.g. ``script(("throttle", 17), ("http", 500))``."""
        parsed = [parse_meta_fault(f) for f in faults]
        with self._lock:
            self._queue.extend(parsed)

    def poison(self, *event_ids: str) -> None:
        """Reject every request holding one of these ``event_id`` values, until cleared."""
        with self._lock:
            self._plan = replace(
                self._plan, poisoned_event_ids=self._plan.poisoned_event_ids | frozenset(event_ids)
            )

    def configure(
        self,
        *,
        throttle_probability: float | None = None,
        transient_probability: float | None = None,
        server_error_probability: float | None = None,
        drop_probability: float | None = None,
        latency_seconds: float | None = None,
        seed: int | None = None,
    ) -> None:
        """Change the given settings, keeping the pending script (a new seed reseeds)."""
        with self._lock:
            old = self._plan
            self._plan = replace(
                old,
                script=tuple(self._queue),
                throttle_probability=_pick(throttle_probability, old.throttle_probability),
                transient_probability=_pick(transient_probability, old.transient_probability),
                server_error_probability=_pick(
                    server_error_probability, old.server_error_probability
                ),
                drop_probability=_pick(drop_probability, old.drop_probability),
                latency_seconds=_pick(latency_seconds, old.latency_seconds),
                seed=old.seed if seed is None else seed,
            )
            if seed is not None:
                self._rng = random.Random(seed)

    def clear(self) -> None:
        """No faults, no latency, no poisoned IDs."""
        self.set_plan(MetaFaultPlan())

    @property
    def pending(self) -> int:
        """Scripted faults not yet consumed."""
        with self._lock:
            return len(self._queue)

    @property
    def latency_seconds(self) -> float:
        """Fixed latency added to every Meta request."""
        return self._plan.latency_seconds

    @property
    def poisoned(self) -> frozenset[str]:
        """Event IDs that get their request rejected."""
        return self._plan.poisoned_event_ids

    def next_fault(self) -> MetaFault | None:
        """The fate of the next request: scripted first, then random, else None."""
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            odds = self._plan.odds()
            if not any(odds):
                return None
            draw = self._rng.random()
        threshold = 0.0
        for probability, outcome in zip(odds, RANDOM_OUTCOMES, strict=True):
            threshold += probability
            if draw < threshold:
                return outcome
        return None


def poisoned_index(events: Iterable[Any], poisoned: frozenset[str]) -> int | None:
    """Index of the first event whose ``event_id`` is poisoned."""
    if poisoned:
        for i, event in enumerate(events):
            event_id = event.get("event_id") if type(event) is dict else None
            if type(event_id) is str and event_id in poisoned:
                return i
    return None


def _pick(new: float | None, old: float) -> float:
    return old if new is None else float(new)


def _as_message(args: Sequence[Any]) -> str | None:
    if not args or args[0] is None:
        return None
    if not isinstance(args[0], str):
        raise ValueError("a message is a string")
    return args[0]


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
