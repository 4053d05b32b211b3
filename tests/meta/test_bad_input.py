"""Every bad-input class TikTok handles cleanly, handled cleanly for Meta: one located message
(file, line, key, fix), exit 1, no traceback, no secret (issue #14's done-when)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "one_model_two_platforms"

META = """\
destinations:
  meta_pixel:
    type: meta_conversions
    model: conversions
{settings}
"""
GOOD = {
    "pixel_id": '"1234567890123456"',
    "access_token": "\"{{ env_var('META_ACCESS_TOKEN') }}\"",
    "default_phone_region": "US",
}


def project(tmp_path: Path, settings: dict[str, str]) -> Path:
    root = Path(shutil.copytree(EXAMPLE, tmp_path / "p", ignore=shutil.ignore_patterns(".retl")))
    lines = "\n".join(f"    {k}: {v}" for k, v in settings.items())
    (root / "destinations.yml").write_text(META.format(settings=lines), encoding="utf-8")
    return root


def one_clean_error(result: CliResult) -> str:
    """What the run said (validate lists its findings on stdout, errors go to stderr)."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result.stdout + result.stderr


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        # an unknown key, with did-you-mean
        (
            {**GOOD, "pixel": '"1"'},
            ["destinations.yml:", "destinations.meta_pixel.pixel", "did you mean 'pixel_id'"],
        ),
        # the wrong type
        (
            {**GOOD, "thread_count": '"many"'},
            ["destinations.yml:", "destinations.meta_pixel.thread_count"],
        ),
        # pixel_id missing
        (
            {"access_token": GOOD["access_token"]},
            ["destinations.yml:", "destinations.meta_pixel.pixel_id"],
        ),
        # pixel_id not digits
        (
            {**GOOD, "pixel_id": '"px-12"'},
            ["destinations.meta_pixel.pixel_id", "digits"],
        ),
        # action_source not one of Meta's
        (
            {**GOOD, "action_source": "web"},
            ["destinations.meta_pixel.action_source", "website"],
        ),
    ],
    ids=["unknown-key", "wrong-type", "missing-pixel-id", "pixel-id-not-digits", "action-source"],
)
def test_bad_settings_get_one_located_message(
    settings: dict[str, str],
    expected: list[str],
    tmp_path: Path,
    cli: Callable[..., CliResult],
) -> None:
    stderr = one_clean_error(cli("validate", "--project-dir", project(tmp_path, settings)))
    for text in expected:
        assert text in stderr


def test_an_unset_env_var_is_named_when_a_sync_needs_the_token(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    root = project(tmp_path, GOOD)
    # validate and plan need no secret ...
    assert cli("plan", "--project-dir", root, env={"META_ACCESS_TOKEN": None}).returncode == 0
    # ... a real sync does, and says which variable to set
    stderr = one_clean_error(
        cli("sync", "--project-dir", root, "--yes", env={"META_ACCESS_TOKEN": None})
    )
    assert "META_ACCESS_TOKEN" in stderr
    assert "destinations.meta_pixel.access_token" in stderr


def test_a_misspelt_column_gets_did_you_mean_from_metas_catalog(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    root = project(tmp_path, GOOD)
    model = root / "models" / "conversions.sql"
    model.write_text(
        model.read_text(encoding="utf-8").replace("as first_name", "as frist_name"),
        encoding="utf-8",
    )
    stderr = one_clean_error(cli("validate", "--project-dir", root))
    assert "models/conversions.sql:" in stderr
    assert "'frist_name' is not a Meta parameter" in stderr
    assert "did you mean 'first_name'" in stderr


def test_a_tiktok_only_column_is_a_note_not_an_error(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    result = cli("validate", "--project-dir", project(tmp_path, GOOD))
    assert result.returncode == 0, result.stderr
    assert "column ttclid: a TikTok parameter, not sent to Meta" in result.stdout + result.stderr
