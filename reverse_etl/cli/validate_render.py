"""``retl validate`` output: a table per destination then its problems, or one JSON document."""

from __future__ import annotations

from collections.abc import Sequence

from reverse_etl.cli.output import Output
from reverse_etl.reporting.console import shown as masked
from reverse_etl.validation.result import (
    DestinationValidation,
    Diagnostic,
    display_path,
    document,
    owners,
)

_STATUS = {"ok": "ok", "error": "ERROR", "warning": "warning", "note": "note"}
_ROLE_FIELD = {"key": "(key, not sent)", "unknown": "-", "unnamed": "-"}


def render_validation(
    out: Output,
    results: Sequence[DestinationValidation],
    strict: bool,
    project_warnings: int = 0,
) -> int:
    """Show the results; the exit code: 1 on any error (or warning, with ``strict``: the
    destinations' and the ``project_warnings`` given while the project was read), else 0."""
    results = list(results)
    failed_strict = strict and project_warnings > 0
    code = 0 if all(r.ok(strict) for r in results) and not failed_strict else 1
    if out.format == "json":
        out.json(document(results, strict=strict, project_warnings=project_warnings))
        return code
    # A model's problem is shown once, with every destination that reads the model.
    shared = owners(results)
    shown: set[Diagnostic] = set()
    for r in results:
        _render_one(out, r, strict, shared, shown)
    errors = sum(1 for d in shared if d.severity == "error")
    warnings = sum(1 for d in shared if d.severity == "warning")
    verdict = "ok" if code == 0 else "FAILED"
    strict_note = " (--strict: warnings fail)" if strict and (warnings or project_warnings) else ""
    # the warnings given while the project was read (above the tables), outside the counts
    read = f", {project_warnings} reading the project" if project_warnings else ""
    out.console.info(
        f"validate {verdict}: {len(results)} destination(s), {errors} error(s), "
        f"{warnings} warning(s){read}{strict_note}"
    )
    return code


def _render_one(
    out: Output,
    r: DestinationValidation,
    strict: bool,
    shared: dict[Diagnostic, list[str]],
    shown: set[Diagnostic],
) -> None:
    rows = [
        [
            c.column,
            c.tiktok_field or _ROLE_FIELD.get(c.role, "-"),
            c.type,
            "custom property" if c.role == "custom" and c.status == "ok" else _STATUS[c.status],
        ]
        for c in r.columns
    ]
    model_file = display_path(r.model_file, r.project_dir)
    title = f"{r.destination} ({r.event_source}) <- model {r.model} ({model_file})"
    out.console.table(title, ["column", "sent as", "inferred type", "status"], rows)
    above = 0
    for d in r.diagnostics:
        if d in shown:
            above += 1
            continue
        shown.add(d)
        names = ", ".join(shared.get(d, [r.destination]))
        p = d.problem
        where = display_path(p.file, r.project_dir) or ""
        if where and p.line:
            where += f":{p.line}"
        if p.key:
            where += (" " if where else "") + p.key
        text = f"{where}: {p.message}" if where else p.message
        if p.hint:
            text += f" ({p.hint})"
        if d.severity == "warning":
            out.console.warning(f"{names}: {text}")
        else:
            out.console.info(f"{d.severity}: {names}: {masked(text)}")
    status = "ok" if r.ok(strict) else "FAILED"
    again = f"; {above} shown above" if above else ""
    out.console.info(
        f"{r.destination}: {status} ({r.count('error')} error(s), {r.count('warning')} "
        f"warning(s), {r.count('note')} note(s){again})"
    )
