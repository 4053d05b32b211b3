"""tests/portable_exprs.py itself: each expression once, and every pin (LOUD,
KNOWN_DIFFERENT) about an expression that is run, so that no pin is one that cannot fail."""

from __future__ import annotations

import collections

from tests.portable_exprs import EXPRESSIONS, KNOWN_DIFFERENT, LOUD


def test_each_expression_is_listed_once() -> None:
    twice = [e for e, n in collections.Counter(EXPRESSIONS).items() if n > 1]
    assert twice == []


def test_every_pin_is_about_an_expression_that_runs() -> None:
    listed = set(EXPRESSIONS)
    assert [e for (_, e) in KNOWN_DIFFERENT if e not in listed] == []
    assert [e for loud in LOUD.values() for e in loud if e not in listed] == []
    assert set(LOUD) <= {"postgres", "spark"}
    assert {engine for (engine, _) in KNOWN_DIFFERENT} <= {"postgres", "spark"}
