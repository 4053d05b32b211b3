"""How long a Spark Connect call keeps retrying a server that does not answer.

pyspark's own policy retries an unavailable server (gRPC ``UNAVAILABLE``, or an answer with a
retry delay: a Databricks cluster that is starting) for at least 10 minutes, and a wrong
address or a stopped server looks the same: a scheduled sync sat 10 minutes before its
error. ``warehouse.connect_timeout`` bounds that: the same retries, with the same backoff,
but none that would start after the deadline, and the last wait shortened to end on it.
Each call has its own deadline, counted from its first failure.

Imported only with a Spark Connect warehouse (pyspark is an optional dependency).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pyspark.sql.connect.client.retries import DefaultPolicy, RetryPolicyState

Clock = Callable[[], float]


class DeadlinePolicy(DefaultPolicy):
    """pyspark's ``DefaultPolicy``, retrying for at most ``seconds`` per call."""

    def __init__(self, seconds: float, *, clock: Clock = time.monotonic) -> None:
        super().__init__(max_retries=None)  # the deadline, not a count, ends the retries
        self.seconds = seconds
        self.clock = clock
        self._name = "DeadlinePolicy"

    def to_state(self) -> RetryPolicyState:
        return _DeadlineState(self)


class _DeadlineState(RetryPolicyState):
    def __init__(self, policy: DeadlinePolicy) -> None:
        super().__init__(policy)
        self._clock = policy.clock
        self._seconds = policy.seconds
        self._deadline: float | None = None

    def next_attempt(self, exception: BaseException | None = None) -> int | None:
        now = self._clock()
        if self._deadline is None:
            self._deadline = now + self._seconds
        left_ms = (self._deadline - now) * 1000
        if left_ms < 1:  # pyspark counts whole milliseconds: 0 would retry at once, again
            return None
        wait = super().next_attempt(exception)
        if wait is None:
            return None
        return int(min(wait, left_ms))


def bound_retries(session: Any, seconds: float) -> None:
    """Make ``session``'s calls retry for at most ``seconds`` each."""
    session.client.set_retry_policies([DeadlinePolicy(seconds)])
