"""Match coverage is rounded down everywhere (shared/coverage.py, shared/text.percent): a
share short of a whole, or of a minimum, never reads as it, and min_match_coverage is
checked against the exact share."""

from __future__ import annotations

import math

from reverse_etl.destinations.shared.coverage import MatchBits, MatchCoverage
from reverse_etl.destinations.shared.text import percent

BITS = MatchBits(keys=(("email", 1), ("ip", 2)), strong=("email",))


def _coverage(strong: int, rows: int, minimum: float | None = None) -> MatchCoverage:
    # counts in MatchBits.sql's order: per key, then the strong rows (no failures, no flags)
    return BITS.coverage(rows, [strong, rows, strong], minimum)


def test_a_share_short_of_all_rows_is_not_written_as_all_of_them() -> None:
    m = _coverage(99_999, 100_000)
    assert m.coverage == 0.9999
    assert m.to_dict()["keys"]["email"]["share"] == 0.9999
    assert "match coverage 99.9% (99999 of 100000" in m.summary()
    assert "email 99.9%" in m.summary()


def test_a_share_just_below_the_minimum_is_below_it() -> None:
    m = _coverage(94_999, 100_000, minimum=0.95)
    assert m.below_minimum
    assert m.to_dict()["below_minimum"] is True
    assert "match coverage 94.9%" in m.summary()
    # a minimum finer than the four places kept: the exact share decides
    assert _coverage(99_998, 100_000, minimum=0.99999).below_minimum
    assert not _coverage(99_999, 100_000, minimum=0.99999).below_minimum


def test_exact_shares_and_edges_are_unchanged() -> None:
    assert _coverage(95, 100, minimum=0.95).below_minimum is False
    assert _coverage(2, 3).coverage == 0.6666
    assert _coverage(3, 3, minimum=1.0).coverage == 1.0
    assert not _coverage(3, 3, minimum=1.0).below_minimum
    assert _coverage(0, 3).coverage == 0.0
    none = _coverage(0, 0, minimum=0.5)
    assert none.coverage is None and not none.below_minimum
    assert none.summary() == "match keys: no rows to send"


def test_a_share_that_is_no_number_is_written_not_raised() -> None:
    """``percent(nan)`` raised ValueError (``math.floor`` of NaN): a ratio of nothing, or an
    infinity, reads ``n/a``; None stays ``-``."""
    assert [percent(x) for x in (math.nan, math.inf, -math.inf)] == ["n/a"] * 3
    assert percent(None) == "-"
    assert (percent(0.6), percent(0.12345), percent(0.0)) == ("60%", "12.3%", "0%")
