"""--vars keys that nothing reads are said, once each, with the closest name read: a typo
(start_dat) silently left the model on its default and the sync sent other rows."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import invoke_in_process


def _project(root: Path, *, project_vars: str = "") -> Path:
    (root / "models").mkdir(parents=True)
    (root / "retl_project.yml").write_text(f"name: x\n{project_vars}", encoding="utf-8")
    (root / "models" / "m.sql").write_text(
        "select 1 as event_id, '{{ var('start_date', '2024-01-01') }}' as d\n", encoding="utf-8"
    )
    (root / "destinations.yml").write_text(
        "destinations:\n  tt:\n    type: tiktok_events\n    model: m\n    access_token: x\n"
        "    event_source_id: \"{{ var('pixel') }}\"\n",
        encoding="utf-8",
    )
    return root


def _warnings(root: Path, given: str) -> list[str]:
    result = invoke_in_process("compile", "--project-dir", root, "--vars", given)
    assert result.returncode == 0, result.stderr
    return [ln for ln in result.stderr.splitlines() if "--vars:" in ln]


def test_a_misspelt_var_is_named_with_the_var_meant(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    (line,) = _warnings(root, '{"start_dat": "2024-06-01"}')
    assert line == (
        "warning: --vars: nothing reads 'start_dat' (did you mean 'start_date'?); "
        "the vars read are 'pixel', 'start_date'"
    )


def test_vars_that_are_read_and_the_project_s_spare_vars_are_not_warned_about(
    tmp_path: Path,
) -> None:
    root = _project(tmp_path / "p", project_vars="vars:\n  spare: 1\n")
    assert _warnings(root, "{start_date: 2024-06-01, pixel: CSANDBOXDEMOPIXEL001}") == []


def test_a_var_read_in_destinations_yml_with_yaml_s_escapes_is_not_warned_about(
    tmp_path: Path,
) -> None:
    """destinations.yml's values as YAML reads them: a double-quoted value escapes its
    quotes with a backslash, a single-quoted one doubles them; both read the var."""
    root = _project(tmp_path / "p")
    yml = root / "destinations.yml"
    yml.write_text(
        yml.read_text(encoding="utf-8").replace(
            "\"{{ var('pixel') }}\"",
            "\"{{ var(\\\"pixel\\\") }}\"\n    event_data_source: '{{ var(''source'') }}'",
        ),
        encoding="utf-8",
    )
    given = "{start_date: 2024-06-01, pixel: CSANDBOXDEMOPIXEL001, source: WEB}"
    assert _warnings(root, given) == []
