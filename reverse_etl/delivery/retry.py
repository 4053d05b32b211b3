"""When to retry a transient failure, and how long to wait first.

Pure arithmetic: the caller passes the elapsed time and a ``random.Random``, so tests control
both. The runner owns the clock and the sleeping.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

_DEFAULT_RNG = random.Random()


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded by attempts and by total time.

    ``max_attempts`` counts every send of the same batch, the first one included.
    ``request_deadline`` is the longest one send may take (the HTTP client is built with it and
    enforces it: a send past it fails as transient). ``max_elapsed`` bounds, in seconds, the
    time from the first send of a batch to the end of its last send: a retry is only started
    if it can end, deadline included, within ``max_elapsed``. Answers that only ask us to slow
    down (rate limits, maintenance) do not count against ``max_attempts``: ``max_elapsed``
    alone bounds them (see ``next_delay``'s ``counted``).
    """

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_elapsed: float = 300.0
    multiplier: float = 2.0
    request_deadline: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.max_elapsed < 0:
            raise ValueError("delays must not be negative")
        if self.request_deadline <= 0:
            raise ValueError("request_deadline must be positive")
        if self.multiplier < 1:
            raise ValueError("multiplier must be at least 1")

    def delay(
        self, attempt: int, retry_after: float | None = None, rng: random.Random | None = None
    ) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1 = the first send).

        Full jitter (uniform in ``[0, cap]``) spreads retries from many threads apart, which
        matters most after a rate limit. A server's ``Retry-After`` is a floor: it wins over the
        jitter and over ``max_delay``, but not over ``max_elapsed``.
        """
        if attempt < 1:
            raise ValueError("attempt numbers start at 1")
        try:
            cap = min(self.max_delay, self.base_delay * self.multiplier ** (attempt - 1))
        except OverflowError:
            cap = self.max_delay
        wait = (rng or _DEFAULT_RNG).uniform(0.0, cap)
        if retry_after is not None and math.isfinite(retry_after) and retry_after > 0:
            wait = max(wait, min(retry_after, self.max_elapsed))
        return wait

    def next_delay(
        self,
        attempts_made: int,
        elapsed: float,
        retry_after: float | None = None,
        rng: random.Random | None = None,
        *,
        counted: int | None = None,
    ) -> float | None:
        """The wait before the next attempt, or None when the batch should be given up.

        Gives up when ``counted`` (the attempts that count: ``attempts_made`` unless given)
        reached ``max_attempts`` or when the retry, waited for and given its whole
        ``request_deadline``, could end past ``max_elapsed`` seconds since the first send. The
        backoff grows with ``attempts_made`` either way.
        """
        if (attempts_made if counted is None else counted) >= self.max_attempts:
            return None
        wait = self.delay(attempts_made, retry_after, rng)
        if elapsed + wait + self.request_deadline > self.max_elapsed:
            return None
        return wait
