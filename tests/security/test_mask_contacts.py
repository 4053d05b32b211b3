"""The free-text masking of stderr lines and error texts (``pii_text.mask_contacts``): phone
numbers masked, SQL's addition kept readable."""

from __future__ import annotations

import pytest

from reverse_etl.destinations.shared.pii_text import mask_contacts, mask_text


@pytest.mark.parametrize(
    "text",
    [
        "amount + 2500000",
        "select amount + 2500000 as cents from orders",
        "(price * 100) + 4479111234",
        "a + 12.34567",
        "x + 1 - 2000000",
        "n + 100 * 25000",
    ],
)
def test_an_addition_in_sql_is_not_a_phone(text: str) -> None:
    assert mask_contacts(text) == text
    assert mask_text(text) == text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("+44 7911 123456", "+44***"),
        ("'+ 44 7911 123456'", "'+ 44***'"),
        ("phone: + 44 7911 123456", "phone: + 44***"),
        ("tel +447911123456", "tel +447***"),
        ("could not send +1 (415) 555-0100 to", "could not send +1*** to"),
        ("amount+2500000", "amount+250***"),
        # after a word, the groups of a phone: not an addition
        ("call bob + 44 20 7946 0958", "call bob + 44***"),
        ("name + 1 415 555 0100", "name + 1***"),
        ("contact John + 4420 7946 0958", "contact John + 442***"),
        ("total + (250) 555-1234", "total + (250***"),
        ("call %2B447911123456", "call %2B447***"),
        ("(+1 415 555 0100)", "(+1***)"),
    ],
)
def test_a_phone_is_masked(text: str, masked: str) -> None:
    assert mask_contacts(text) == masked
