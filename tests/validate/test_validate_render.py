"""The validate renderer: a table per destination, then problems; or one JSON document.
Exit codes: 0 clean, 1 on errors, and on warnings with --strict."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from reverse_etl.cli.output import Output
from reverse_etl.cli.validate_render import render_validation
from reverse_etl.project import Project
from reverse_etl.reporting.console import JsonConsole, PlainConsole
from reverse_etl.validation import DestinationValidation, document, validate_project

CASES = Path(__file__).parent / "cases"


def results(case: str) -> list[DestinationValidation]:
    with Project.load(CASES / case) as project:
        return validate_project(project, ())


def text(case: str, strict: bool = False) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = render_validation(
        Output("text", False, PlainConsole(out, err), False), results(case), strict
    )
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("case", "strict", "code"),
    [
        ("clean_web_purchase", False, 0),
        ("clean_web_purchase", True, 0),
        ("no_identifier", False, 0),  # a warning only
        ("no_identifier", True, 1),
        ("event_names_offline", False, 1),
    ],
)
def test_exit_codes(case: str, strict: bool, code: int) -> None:
    assert text(case, strict)[0] == code


def test_text_shows_the_table_then_located_problems() -> None:
    code, out, err = text("unknown_parameter")
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "tiktok_web (WEB) <- model events (models/events.sql)"
    assert lines[1].split() == ["column", "sent", "as", "inferred", "type", "status"]
    rows = {line.split()[0]: line.split() for line in lines[3:10]}
    assert rows["emial"] == ["emial", "-", "VARCHAR", "ERROR"]
    assert rows["properties.order_status"][-2:] == ["custom", "property"]
    assert (
        "error: tiktok_web: models/events.sql:6: column emial: 'emial' is not a TikTok "
        "parameter (did you mean 'email'?)"
    ) in lines
    assert "warning: tiktok_web: models/events.sql: no column identifies the person" in err
    assert "warning: tiktok_web: models/events.sql: no page_url column" in err
    assert lines[-1] == "validate FAILED: 1 destination(s), 3 error(s), 2 warning(s)"
    assert "\x1b[" not in out + err


def test_json_is_one_document(capsys: pytest.CaptureFixture[str]) -> None:
    found = results("no_identifier")
    code = render_validation(Output("json", False, JsonConsole(io.StringIO()), False), found, True)
    doc = json.loads(capsys.readouterr().out)
    assert code == 1
    assert doc == {**document(found, strict=True), "warnings": []}
    assert (doc["version"], doc["ok"], doc["strict"]) == (1, False, True)
    assert doc["counts"] == {"error": 0, "warning": 2, "note": 0}  # no identifier, no page_url
