"""A phone written with its area code in parentheses is a national number, not Meta's
digits-with-country-code form: without ``default_phone_region`` it is invalid, as for TikTok.
It was read with a ``+`` in front, so ``(646) 555-0119`` (New York) went out hashed as
+64 6555 0119, a New Zealand number, and a US shop that forgot the region matched no one."""

from __future__ import annotations

import pytest

from reverse_etl.destinations.shared.e164 import parse_e164


@pytest.mark.parametrize("raw", ["(646) 555-0119", "(646)555-0119", " (646) 555 0119 "])
def test_a_national_number_in_parentheses_is_not_read_as_international(raw: str) -> None:
    assert parse_e164(raw, None, digits_international=True) is None
    assert parse_e164(raw, "US", digits_international=True) == "+16465550119"


def test_digits_alone_and_a_plus_in_parentheses_keep_their_reading() -> None:
    assert parse_e164("12133734253", None, digits_international=True) == "+12133734253"
    assert parse_e164("1.213.373.4253", None, digits_international=True) == "+12133734253"
    assert parse_e164("(+1)2133734253", None, digits_international=True) == "+12133734253"


@pytest.mark.parametrize("raw", ["1 (646) 555-0119", "1(646)555-0119", "+1 (646) 555-0119"])
def test_a_country_code_before_the_parentheses_keeps_its_reading(raw: str) -> None:
    """Only a number that opens with parentheses is national: digits before them are a
    country code, as they were (a common way to write a US number)."""
    assert parse_e164(raw, None, digits_international=True) == "+16465550119"
