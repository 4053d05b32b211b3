"""Options every command accepts after its name, as in dbt (``retl sync --select x``)."""

# No `from __future__ import annotations`: typer reads these at each start (see app.py).

from pathlib import Path
from typing import Annotated, Any

import typer

from reverse_etl.config.target_env import TARGET_ENV
from reverse_etl.errors import UsageError

ProjectDir = Annotated[
    Path,
    typer.Option(
        "--project-dir",
        help="Project directory (default: the current directory).",
        show_default=False,
    ),
]
Select = Annotated[
    list[str] | None,
    typer.Option(
        "--select",
        "-s",
        help="Models or destinations to run, as in dbt: NAME (a model, or a destination), "
        "tag:TAG, +NAME (with upstream models), NAME+ (with downstream), destination:NAME, "
        "A,B (both). Repeatable; space-separated selectors add up.",
        show_default=False,
    ),
]
Exclude = Annotated[
    list[str] | None,
    typer.Option(
        "--exclude",
        help="Leave out what these selectors pick (the forms of --select).",
        show_default=False,
    ),
]
Target = Annotated[
    str | None,
    typer.Option(
        "--target",
        "-t",
        help=f"The target of retl_project.yml's targets: to use (default: ${TARGET_ENV}, "
        "default_target:, or the first one).",
        show_default=False,
    ),
]
Format = Annotated[
    str, typer.Option("--format", help="Output format: text or json.", show_default=True)
]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks of unexpected errors.")]
Sandbox = Annotated[
    bool,
    typer.Option(
        "--sandbox",
        help="Use the local emulators (and their own state), not the real ad platforms.",
    ),
]
FullRefresh = Annotated[
    bool,
    typer.Option("--full-refresh", help="Ignore the state: every valid row counts as new."),
]
Yes = Annotated[
    bool,
    typer.Option(
        "--yes",
        "-y",
        help="Confirm sending acknowledged events again (needed without a terminal).",
    ),
]
Vars = Annotated[
    str | None,
    typer.Option(
        "--vars",
        help="YAML mapping overriding project vars, e.g. --vars '{start_date: 2024-01-01}'.",
        show_default=False,
    ),
]


def parse_vars(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    import yaml  # only when --vars is given: not part of every command's start-up

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # PyYAML's str() is a multi-line snippet with carets: keep the one-line reason.
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        mark = getattr(exc, "problem_mark", None)
        where = f" at column {mark.column + 1}" if mark is not None else ""
        raise UsageError(
            f"--vars is not valid YAML{where}: {problem}",
            key="--vars",
            hint="e.g. --vars '{name: value}'",
        ) from None
    if not isinstance(value, dict):
        raise UsageError(
            "--vars must be a YAML mapping", key="--vars", hint="e.g. --vars '{name: value}'"
        )
    return value


def selection(select: list[str] | None) -> list[str]:
    """Selectors as typed: repeated options and space-separated ones add up; a comma joins
    the parts of one selector (both must pick), as in dbt. Split by the library
    (``models/select.tokens``), which keeps ``destination:NAME`` whole for a NAME with a
    space."""
    return [item for item in select or [] if item.strip()]
