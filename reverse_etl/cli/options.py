"""Options every command accepts after its name, as in dbt (``retl sync --select x``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

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
    typer.Option("--select", "-s", help="Limit to these names (repeatable).", show_default=False),
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
    out: list[str] = []
    for item in select or []:
        out.extend(s for s in item.replace(",", " ").split() if s)
    return out
