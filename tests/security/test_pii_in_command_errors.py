"""Personal data in every command's error and diagnostics, plain and ``--format json``.

The run report and ``retl sync --format json`` masked an error's texts (``mask_text``); the
same error printed by ``retl plan``, ``retl validate`` or ``retl check`` (their JSON document,
and every command's line on stderr) quoted the value whole. A project's files may come from
an untrusted pull request, and a CI log is public to its author: one rule for every command.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult

EMAIL = "alice.quixote@example.com"
MASKED = "a***@example.com"
PHONE = "+12125550199"


def _project(cli: Callable[..., CliResult], root: Path) -> Path:
    assert cli("init", str(root)).returncode == 0
    return root


def _said(result: CliResult) -> str:
    return result.stdout + result.stderr


COMMANDS = (
    ("validate",),
    ("plan", "--sandbox"),
    ("check", "--sandbox"),
    ("sync", "--sandbox", "--yes"),
    ("show", "purchase_events", "--payload", "order-1001", "--sandbox"),
)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_config_error_quoting_an_email_is_masked_by_every_command(
    tmp_path: Path, cli: Callable[..., CliResult], command: tuple[str, ...], fmt: str
) -> None:
    root = _project(cli, tmp_path / "p")
    config = root / "destinations.yml"
    text = config.read_text(encoding="utf-8")
    assert "default_phone_region: US" in text
    config.write_text(text.replace("default_phone_region: US", f'default_phone_region: "{EMAIL}"'))
    result = cli(*command, "--project-dir", root, "--format", fmt)
    assert result.returncode == 1, _said(result)
    assert EMAIL not in _said(result)
    assert "is not a region phone numbers know" in _said(result)
    if fmt == "json":
        document = json.loads(result.stdout)
        assert document["ok"] is False
        assert MASKED in document["error"]
        (problem,) = document["problems"]
        assert MASKED in problem["message"]
    else:
        assert MASKED in result.stderr


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_validate_and_plan_mask_a_model_literal_in_diagnostics_and_warnings(
    tmp_path: Path, cli: Callable[..., CliResult], fmt: str
) -> None:
    """A literal the model writes (an e-mail as the currency, a phone as the event name) is
    quoted by validate's diagnostics, its column's ``values`` and plan's error and warnings."""
    root = _project(cli, tmp_path / "p")
    model = root / "models" / "purchase_events.sql"
    text = model.read_text(encoding="utf-8")
    for written in ("currency                    as currency,", "'Purchase'                  as"):
        assert written in text
    model.write_text(
        text.replace("currency                    as currency,", f"'{EMAIL}' as currency,").replace(
            "'Purchase'                  as", f"'{PHONE}' as"
        )
    )
    validate = cli("validate", "--project-dir", root, "--format", fmt)
    plan = cli("plan", "--sandbox", "--project-dir", root, "--format", fmt)
    for result in (validate, plan):
        assert result.returncode == 1, _said(result)
        said = _said(result)
        assert EMAIL not in said and PHONE not in said, said
        assert f"currency '{MASKED}' is not accepted by TikTok" in said
    assert "is not a standard WEB event" in _said(validate)
    if fmt == "json":
        document = json.loads(validate.stdout)
        (destination,) = document["destinations"]
        values = {c["column"]: c["values"] for c in destination["columns"]}
        assert values["currency"] == [MASKED]
        assert values["event"] == ["+121***"]
