"""A token the platform rejects during a sync is an error naming the destinations.yml key
to fix (``destinations.<name>.access_token``), as ``retl check`` names it, on both
platforms; it was printed as a ``warning:`` while the run failed (exit 1)."""

from __future__ import annotations

import json
from pathlib import Path

from reverse_etl.sandbox import DEMO_META_PIXEL_ID, DEMO_PIXEL_CODE, SandboxServer
from tests.conftest import invoke_in_process, write_project

NOW = 1_765_000_000


def test_a_rejected_token_is_an_error_at_its_key(tmp_path: Path) -> None:
    with SandboxServer() as server:
        root = write_project(
            tmp_path / "p",
            {
                "retl_project.yml": "name: p\nwarehouse:\n  type: duckdb\n",
                "models/events.sql": (
                    "select 'Purchase' as event, 'e-1' as event_id, now() as event_time, "
                    "'a@example.com' as email, 'Mozilla/5.0' as user_agent, "
                    "'https://shop.example/' as page_url, '203.0.113.7' as ip, 10.5 as value, "
                    "'USD' as currency"
                ),
                "destinations.yml": f"""
                destinations:
                  tt:
                    type: tiktok_events
                    model: events
                    auth_method: access_token
                    access_token: not-the-token
                    event_source_id: {DEMO_PIXEL_CODE}
                    api_base_url: {server.base_url}
                  mt:
                    type: meta_conversions
                    model: events
                    pixel_id: "{DEMO_META_PIXEL_ID}"
                    access_token: not-the-token
                    action_source: website
                    api_base_url: {server.base_url}
                """,
            },
        )
        result = invoke_in_process("sync", "--project-dir", root, "--yes")
        document = invoke_in_process("sync", "--project-dir", root, "--format", "json")
    assert result.returncode == 1, result.stdout + result.stderr
    errors = {d["destination"]: d["error"] for d in json.loads(document.stdout)["destinations"]}
    for name, platform in (("tt", "TikTok"), ("mt", "Meta")):
        # named as the project spells it, in the text and the JSON document alike, at the
        # access_token key's line (not the destination's: 2 and 9)
        line = {"tt": 6, "mt": 13}[name]
        assert f"error: {name}: destinations.yml:{line} " in result.stderr, result.stderr
        assert f"error: {name}: {errors[name].split(' [request_id')[0]}" in result.stderr
        assert (
            f"destinations.{name}.access_token: {platform} rejected the access token"
            in result.stderr
        ), result.stderr
        assert f"warning: {name}: {platform}" not in result.stderr
        assert f"warning: {name}: Access" not in result.stderr
    assert "not-the-token" not in result.stdout + result.stderr
    assert str(tmp_path) not in result.stderr + json.dumps(errors)
