"""plan and sync name the project's files relative to it (``destinations.yml:2``) in their
warnings and a destination's error, in text and JSON alike, as every other command does;
they were absolute (``/home/me/shop/destinations.yml:2``)."""

from __future__ import annotations

import json
from pathlib import Path

from reverse_etl.sandbox import DEMO_PIXEL_CODE
from tests.conftest import invoke_in_process, write_project

NO_PAGE_URL = "no page_url column: TikTok expects page.url on WEB events"


def web_project(root: Path) -> Path:
    """A TikTok WEB destination whose model has no page_url column: a warning at the
    destination's model key."""
    return write_project(
        root,
        {
            "retl_project.yml": "name: p\nwarehouse:\n  type: duckdb\n",
            "models/ev.sql": (
                "select 'Purchase' as event, 'o1' as event_id, now() as event_time, "
                "'a@example.com' as email"
            ),
            "destinations.yml": f"""
            destinations:
              t:
                type: tiktok_events
                model: ev
                event_data_source: web
                auth_method: access_token
                access_token: "{{{{ env_var('TIKTOK_ACCESS_TOKEN') }}}}"
                event_source_id: {DEMO_PIXEL_CODE}
            """,
        },
    )


def test_plan_warnings_name_files_relative_in_text_and_json(tmp_path: Path) -> None:
    root = web_project(tmp_path / "p")
    text = invoke_in_process("plan", "--project-dir", root)
    assert text.returncode == 0, text.stderr
    [line] = [x for x in text.stderr.splitlines() if NO_PAGE_URL in x]
    assert line.startswith("warning: t: destinations.yml:4 destinations.t.model:"), line
    assert str(tmp_path) not in text.stdout + text.stderr
    assert "note: t: destinations.yml:" in text.stdout  # event_data_source: web, read as WEB

    result = invoke_in_process("plan", "--project-dir", root, "--format", "json")
    assert result.returncode == 0, result.stderr
    [plan] = json.loads(result.stdout)["destinations"]
    [warning] = plan["warnings"]
    assert line == f"warning: t: {warning}"  # the same words in both
    assert str(tmp_path) not in result.stdout


def test_sync_warnings_name_files_relative(tmp_path: Path) -> None:
    root = web_project(tmp_path / "p")
    result = invoke_in_process("sync", "--sandbox", "--project-dir", root, "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    document = json.loads(result.stdout)
    [destination] = document["destinations"]
    [warning] = destination["warnings"]
    assert warning.startswith("destinations.yml:") and NO_PAGE_URL in warning
    assert str(tmp_path) not in json.dumps(destination)

    text = invoke_in_process("sync", "--sandbox", "--project-dir", root, "--full-refresh", "--yes")
    assert text.returncode == 0, text.stderr
    assert f"warning: t: {warning}" in text.stderr


def test_a_sync_stopped_before_sending_names_its_run_and_report(tmp_path: Path) -> None:
    # Invalid rows stop the run before anything is sent: it is in `retl runs` and its report
    # written, but the error document gave neither its id nor the report's file.
    root = web_project(tmp_path / "p")
    model = root / "models" / "ev.sql"
    model.write_text(model.read_text().replace("'o1' as event_id", "null as event_id"))
    result = invoke_in_process("sync", "--sandbox", "--project-dir", root, "--format", "json")
    assert result.returncode == 1, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert document["ok"] is False and document["error"] == "invalid rows: nothing was sent"
    [problem] = document["problems"]
    assert problem["file"] == "destinations.yml"
    report = Path(document["report_file"])
    assert report == root / ".retl" / "runs" / f"{document['run_id']}.json"
    assert json.loads(report.read_text())["run_id"] == document["run_id"]
    runs = invoke_in_process("runs", "--project-dir", root, "--format", "json")
    assert document["run_id"] in [r["run_id"] for r in json.loads(runs.stdout)["runs"]]


def test_a_settings_error_is_at_the_key_s_line(tmp_path: Path) -> None:
    # It named the destination's line (destinations.yml:2), not the key's.
    root = web_project(tmp_path / "p")
    model = root / "models" / "ev.sql"
    model.write_text(model.read_text().replace("'a@example.com' as email", "1 as value"))
    with (root / "destinations.yml").open("a") as f:
        f.write("    min_match_coverage: 0.5\n")
    result = invoke_in_process("sync", "--sandbox", "--project-dir", root, "--format", "json")
    assert result.returncode == 1, result.stdout + result.stderr
    [problem] = json.loads(result.stdout)["problems"]
    assert (problem["file"], problem["line"]) == ("destinations.yml", 9)
    assert problem["key"] == "destinations.t.min_match_coverage"


def test_a_value_read_in_another_case_is_a_note_of_its_destination_in_json(
    tmp_path: Path,
) -> None:
    # `event_data_source: web` read as WEB was said in text output only: the JSON documents
    # of plan and sync (and the run report) did not say it.
    root = web_project(tmp_path / "p")
    text = invoke_in_process("plan", "--project-dir", root)
    [line] = [x for x in text.stdout.splitlines() if "'web' read as 'WEB'" in x]

    result = invoke_in_process("plan", "--project-dir", root, "--format", "json")
    assert result.returncode == 0, result.stderr
    [plan] = json.loads(result.stdout)["destinations"]
    assert plan["notes"] == [
        "destinations.yml:5 destinations.t.event_data_source: 'web' read as 'WEB' "
        "(write event_data_source: WEB)"
    ]
    assert line == f"note: t: {plan['notes'][0]}"  # the same words in both
    assert plan["model_run"] is True

    result = invoke_in_process("sync", "--sandbox", "--project-dir", root, "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    document = json.loads(result.stdout)
    [destination] = document["destinations"]
    assert destination["notes"] == plan["notes"]
    on_disk = json.loads(Path(document["report_file"]).read_text())
    assert on_disk["destinations"][0]["notes"] == plan["notes"]
