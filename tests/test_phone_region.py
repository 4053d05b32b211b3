"""``default_phone_region`` is checked without importing phonenumbers when its metadata file
says the region is known (issue #18): the same answers as ``phonenumbers.SUPPORTED_REGIONS``."""

from __future__ import annotations

import string

import phonenumbers
import pytest

from reverse_etl.config import phone_region
from reverse_etl.config.phone_region import check_phone_region

CODES = [a + b for a in string.ascii_uppercase for b in string.ascii_uppercase]


def test_a_region_s_file_exists_exactly_for_the_supported_regions() -> None:
    folder = phone_region._data_folder()
    assert folder is not None
    with_file = {c for c in CODES if (folder / f"region_{c}.py").is_file()}
    assert with_file == set(phonenumbers.SUPPORTED_REGIONS)


def test_every_two_letter_code_gets_phonenumbers_answer() -> None:
    for code in CODES:
        for written in (code, code.lower()):
            if code in phonenumbers.SUPPORTED_REGIONS:
                assert check_phone_region(written) == code
            else:
                with pytest.raises(ValueError, match="is not a region phone numbers know"):
                    check_phone_region(written)


@pytest.mark.parametrize("written", ["", "U", "USA", "U1", "1", "ÜS", "../US", "region_US"])
def test_anything_else_is_asked_of_phonenumbers(written: str) -> None:
    with pytest.raises(ValueError, match=f"'{written}' is not a region"):
        check_phone_region(written)
