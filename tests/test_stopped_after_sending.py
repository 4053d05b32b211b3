"""A sync that an error stops after it sent to a destination (another destination's token
is not set, say) says what it sent: its ``--format json`` document is the run report, with
the error, and the text output shows the summary before the error. It printed the error
alone, so a CI job's sync-report.json did not say that events had been sent."""

from __future__ import annotations

import json
from pathlib import Path

from reverse_etl.sandbox import DEMO_META_PIXEL_ID, DEMO_PIXEL_CODE, DEMO_TOKEN, SandboxServer
from tests.conftest import invoke_in_process, write_project

UNSET = "RETL_TEST_UNSET_META_TOKEN"


def _project(root: Path, base_url: str) -> Path:
    return write_project(
        root,
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
                access_token: {DEMO_TOKEN}
                event_source_id: {DEMO_PIXEL_CODE}
                api_base_url: {base_url}
              mt:
                type: meta_conversions
                model: events
                pixel_id: "{DEMO_META_PIXEL_ID}"
                access_token: "{{{{ env_var('{UNSET}') }}}}"
                action_source: website
                api_base_url: {base_url}
            """,
        },
    )


def test_the_json_document_of_a_sync_stopped_after_sending_is_its_report(
    tmp_path: Path,
) -> None:
    with SandboxServer() as server:
        root = _project(tmp_path / "p", server.base_url)
        result = invoke_in_process(
            "sync", "--project-dir", root, "--format", "json", env={UNSET: None}
        )
    assert result.returncode == 1, result.stdout + result.stderr
    document = json.loads(result.stdout)  # one document
    assert document["ok"] is False
    assert document["error"] == f"environment variable {UNSET} is not set"
    [problem] = document["problems"]
    assert problem["key"] == "destinations.mt.access_token"
    assert (problem["file"], problem["line"]) == ("destinations.yml", 13)  # as in text
    (tt,) = document["destinations"]
    assert (tt["destination"], tt["events"]["sent"]) == ("tt", 1)
    assert document["not_run"] == ["mt"]
    assert document["run_id"] and Path(document["report_file"]).is_file()
    assert f"destinations.mt.access_token: environment variable {UNSET}" in result.stderr


def test_the_text_of_a_sync_stopped_after_sending_shows_its_summary(tmp_path: Path) -> None:
    with SandboxServer() as server:
        root = _project(tmp_path / "p", server.base_url)
        result = invoke_in_process("sync", "--project-dir", root, env={UNSET: None})
    assert result.returncode == 1, result.stdout + result.stderr
    assert "sync summary" in result.stdout
    (row,) = [line for line in result.stdout.splitlines() if line.startswith("tt ")]
    assert row.split()[1] == "1"  # sent
    assert f"destinations.mt.access_token: environment variable {UNSET}" in result.stderr
