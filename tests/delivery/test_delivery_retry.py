"""Retry policy arithmetic."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reverse_etl.delivery import RetryPolicy


@settings(deadline=None)
@given(
    attempt=st.integers(min_value=1, max_value=5000),
    seed=st.integers(min_value=0, max_value=2**32),
    base=st.floats(min_value=0, max_value=10),
    cap=st.floats(min_value=0, max_value=100),
    multiplier=st.floats(min_value=1, max_value=10),
)
def test_delay_is_bounded_by_exponential_cap(
    attempt: int, seed: int, base: float, cap: float, multiplier: float
) -> None:
    policy = RetryPolicy(base_delay=base, max_delay=cap, multiplier=multiplier)
    delay = policy.delay(attempt, None, random.Random(seed))
    assert 0 <= delay <= cap
    if attempt < 50:
        assert delay <= base * multiplier ** (attempt - 1)


def test_delay_is_jittered() -> None:
    policy = RetryPolicy()
    rng = random.Random(7)
    delays = {policy.delay(4, None, rng) for _ in range(50)}
    assert len(delays) > 40
    assert max(delays) <= 4.0


@settings(deadline=None)
@given(
    attempt=st.integers(min_value=1, max_value=20),
    retry_after=st.floats(min_value=0, max_value=1000),
)
def test_retry_after_is_a_floor_up_to_max_elapsed(attempt: int, retry_after: float) -> None:
    policy = RetryPolicy(max_delay=30.0, max_elapsed=300.0)
    delay = policy.delay(attempt, retry_after, random.Random(0))
    assert delay >= min(retry_after, 300.0)
    assert delay <= max(30.0, min(retry_after, 300.0))


def test_retry_after_above_max_delay_is_honoured() -> None:
    assert RetryPolicy(max_delay=30.0).delay(1, 120.0, random.Random(0)) == 120.0


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -5.0])
def test_nonsense_retry_after_is_ignored(bad: float) -> None:
    assert RetryPolicy(base_delay=1.0).delay(1, bad, random.Random(0)) <= 1.0


def test_next_delay_stops_at_max_attempts() -> None:
    policy = RetryPolicy(max_attempts=3)
    rng = random.Random(1)
    assert policy.next_delay(1, 0.0, None, rng) is not None
    assert policy.next_delay(2, 0.0, None, rng) is not None
    assert policy.next_delay(3, 0.0, None, rng) is None


def test_next_delay_stops_when_the_wait_would_pass_max_elapsed() -> None:
    policy = RetryPolicy(max_elapsed=60.0, request_deadline=1.0)
    assert policy.next_delay(1, 50.0, 5.0, random.Random(0)) is not None
    assert policy.next_delay(1, 50.0, 20.0, random.Random(0)) is None
    assert policy.next_delay(1, 61.0, None, random.Random(0)) is None


def test_one_attempt_means_no_retry() -> None:
    assert RetryPolicy(max_attempts=1).next_delay(1, 0.0) is None


@pytest.mark.parametrize(
    "kwargs",
    [{"max_attempts": 0}, {"base_delay": -1.0}, {"multiplier": 0.5}, {"max_elapsed": -1.0}],
)
def test_policy_validates(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_attempt_numbers_start_at_one() -> None:
    with pytest.raises(ValueError):
        RetryPolicy().delay(0)
