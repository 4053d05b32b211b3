"""A blank test_event_code is no test code, on both platforms: what
``{{ env_var('TEST_CODE', '') }}`` gives where the variable is unset (a production run). TikTok
sent "" (and the run was reported as a test run); Meta refused the file."""

from __future__ import annotations

import pytest

from reverse_etl.destinations.meta.config import MetaConfig
from reverse_etl.destinations.tiktok.config import TikTokConfig


@pytest.mark.parametrize("blank", ["", "  "])
def test_a_blank_test_event_code_is_none(blank: str) -> None:
    tiktok = TikTokConfig.model_validate(
        {"type": "tiktok_events", "model": "m", "event_source_id": "C1", "test_event_code": blank}
    )
    meta = MetaConfig.model_validate(
        {
            "type": "meta_conversions",
            "model": "m",
            "pixel_id": "1234567890123456",
            "test_event_code": blank,
        }
    )
    assert tiktok.test_event_code is None
    assert meta.test_event_code is None
    assert tiktok.notices() == [] and meta.notices() == []  # no "remove it" for no code


def test_a_test_event_code_is_kept() -> None:
    tiktok = TikTokConfig.model_validate(
        {
            "type": "tiktok_events",
            "model": "m",
            "event_source_id": "C1",
            "test_event_code": "TEST42",
        }
    )
    assert tiktok.test_event_code == "TEST42"
    assert tiktok.notices() == [
        "test_event_code is set: these events go to the Test Events tab of Events Manager, to "
        "check the setup; remove it before sending real traffic."
    ]
