"""``retl validate`` output: a table per destination then its problems, or one JSON document."""

from __future__ import annotations

from collections.abc import Sequence

from reverse_etl.cli.output import Output
from reverse_etl.validation.result import DestinationValidation, display_path, document

_STATUS = {"ok": "ok", "error": "ERROR", "warning": "warning", "note": "note"}
_ROLE_FIELD = {"key": "(key, not sent)", "unknown": "-", "unnamed": "-"}


def render_validation(out: Output, results: Sequence[DestinationValidation], strict: bool) -> int:
    """Show the results; the exit code: 1 on any error (or warning, with ``strict``), else 0."""
    results = list(results)
    code = 0 if all(r.ok(strict) for r in results) else 1
    if out.format == "json":
        out.json(document(results, strict=strict))
        return code
    for r in results:
        _render_one(out, r, strict)
    errors = sum(r.count("error") for r in results)
    warnings = sum(r.count("warning") for r in results)
    verdict = "ok" if code == 0 else "FAILED"
    strict_note = " (--strict: warnings fail)" if strict and warnings else ""
    out.console.info(
        f"validate {verdict}: {len(results)} destination(s), {errors} error(s), "
        f"{warnings} warning(s){strict_note}"
    )
    return code


def _render_one(out: Output, r: DestinationValidation, strict: bool) -> None:
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
    for d in r.diagnostics:
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
            out.console.warning(f"{r.destination}: {text}")
        else:
            out.console.info(f"{d.severity}: {r.destination}: {text}")
    status = "ok" if r.ok(strict) else "FAILED"
    out.console.info(
        f"{r.destination}: {status} ({r.count('error')} error(s), {r.count('warning')} "
        f"warning(s), {r.count('note')} note(s))"
    )
