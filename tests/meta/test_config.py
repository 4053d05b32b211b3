"""destinations.yml for ``type: meta_conversions``: every mistake is one located problem."""

from __future__ import annotations

import pytest

from reverse_etl.config.env import LazySecret
from reverse_etl.destinations.meta.config import MetaConfig
from reverse_etl.errors import ConfigError

from .conftest import ParseYaml

GOOD = """
destinations:
  meta:
    type: meta_conversions
    model: events
    pixel_id: 1234567890123456
    access_token: "{{ env_var('META_TEST_TOKEN') }}"
"""


def problems(parse: ParseYaml, text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse(text)
    return [p.render() for p in info.value.problems]


def test_defaults_and_a_yaml_int_pixel_id(parse: ParseYaml) -> None:
    (dest,) = parse(GOOD)
    s = dest.settings
    assert isinstance(s, MetaConfig)
    assert s.pixel_id == "1234567890123456"  # YAML read it as an int
    assert (s.action_source, s.api_version, s.api_base_url) == (
        "website",
        "v21.0",
        "https://graph.facebook.com",
    )
    assert (s.thread_count, s.limited_data_use, s.skip_invalid_record) == (5, False, False)
    assert s.on_change == "resend_within_dedup_window"
    # The token stays lazy: an unset variable is no error until a sync sends.
    assert isinstance(s.access_token, LazySecret)
    assert "META_TEST_TOKEN" not in repr(s.access_token)


def test_missing_pixel_id(parse: ParseYaml) -> None:
    (line,) = problems(parse, GOOD.replace("    pixel_id: 1234567890123456\n", ""))
    assert "destinations.meta.pixel_id" in line and "missing" in line


@pytest.mark.parametrize("value", ["'px-123'", "'12 34'", "''"])
def test_pixel_id_must_be_digits(parse: ParseYaml, value: str) -> None:
    (line,) = problems(parse, GOOD.replace("1234567890123456", value))
    assert "destinations.meta.pixel_id" in line
    assert "digits only" in line


def test_bad_action_source_lists_the_values(parse: ParseYaml) -> None:
    (line,) = problems(parse, GOOD + "    action_source: web\n")
    assert "destinations.meta.action_source" in line
    assert "website" in line and "physical_store" in line


def test_unknown_key_suggests_the_nearest(parse: ParseYaml) -> None:
    (line,) = problems(parse, GOOD + "    pixle_id: 1\n")
    assert "unknown key 'pixle_id'" in line
    assert "did you mean 'pixel_id'?" in line


@pytest.mark.parametrize(
    ("extra", "key", "text"),
    [
        ("    api_version: 21\n", "api_version", "v21.0"),
        ("    thread_count: 11\n", "thread_count", "10"),
        ("    api_base_url: graph.facebook.com\n", "api_base_url", "https://"),
        ("    default_phone_region: XX\n", "default_phone_region", "not a region"),
    ],
)
def test_value_checks(parse: ParseYaml, extra: str, key: str, text: str) -> None:
    (line,) = problems(parse, GOOD + extra)
    assert f"destinations.meta.{key}" in line and text in line


def test_access_token_is_required_with_a_hint(parse: ParseYaml) -> None:
    text = GOOD.replace("    access_token: \"{{ env_var('META_TEST_TOKEN') }}\"\n", "")
    with pytest.raises(ConfigError) as info:
        parse(text)
    (problem,) = info.value.problems
    assert problem.key == "destinations.meta.access_token"
    assert problem.line == 2  # the destination's own line: the key is not written
    assert "env_var('META_ACCESS_TOKEN')" in (problem.hint or "")


def test_unset_token_variable_is_named_not_valued(
    parse: ParseYaml, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reverse_etl.destinations.meta.destination import MetaDestination

    monkeypatch.delenv("META_TEST_TOKEN", raising=False)
    (dest,) = parse(GOOD)
    with pytest.raises(ConfigError) as info:
        MetaDestination(dest).target(None)
    assert info.value.message == "environment variable META_TEST_TOKEN is not set"
    assert info.value.key == "destinations.meta.access_token"


def test_notice_for_test_event_code(parse: ParseYaml) -> None:
    (plain,) = parse(GOOD)
    (testing,) = parse(GOOD + "    test_event_code: TEST123\n")
    assert isinstance(plain.settings, MetaConfig) and isinstance(testing.settings, MetaConfig)
    assert plain.settings.notices() == []
    assert "Test Events" in testing.settings.notices()[0]
