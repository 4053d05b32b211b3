"""retl validate on a vocabulary value with spaces around it (' USD '): the hint says the
spaces are the difference and how to write it; "did you mean 'USD'?" alone read as if it
named the same value."""

from __future__ import annotations

import pytest

from reverse_etl.destinations.tiktok.catalog import PARAMS
from reverse_etl.destinations.tiktok.rules import check_allowed

BY_NAME = {p.name: p for p in PARAMS}


@pytest.mark.parametrize(
    ("name", "value", "how", "meant"),
    [
        ("currency", " USD ", "trim(...)", "USD"),
        ("currency", " usd", "trim(upper(...))", "USD"),
        ("content_type", " Product ", "trim(lower(...))", "product"),
    ],
)
def test_spaces_around_a_value_are_named_with_the_fix(
    name: str, value: str, how: str, meant: str
) -> None:
    (issue,) = check_allowed(BY_NAME[name], [value])
    assert issue.message == f"{name} '{value}' is not accepted by TikTok"
    assert issue.hint == (
        f"did you mean '{meant}'? The spaces around the value keep it out: write {how} of "
        "the column in the model"
    )


def test_a_value_without_spaces_keeps_the_plain_hint() -> None:
    (issue,) = check_allowed(BY_NAME["currency"], ["USDD"])
    assert issue.hint is not None and "spaces" not in issue.hint
