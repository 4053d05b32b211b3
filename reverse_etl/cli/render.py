"""Rendering of facade results for people (console) or machines (one JSON document)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from reverse_etl.check import DestinationCheck, check_document
from reverse_etl.cli.output import Output
from reverse_etl.destinations.base import Coverage
from reverse_etl.pipeline.plan import DestinationPlan
from reverse_etl.pipeline.plan_warnings import BELOW_MINIMUM, dedup_lines
from reverse_etl.pipeline.report import SyncReport
from reverse_etl.project import Preview
from reverse_etl.state.store import ScopeInfo


def cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def render_preview(out: Output, preview: Preview) -> None:
    if out.format == "json":
        out.json(
            {
                "ok": True,
                "model": preview.model,
                "columns": [
                    {"name": n, "type": t}
                    for n, t in zip(preview.columns, preview.types, strict=True)
                ],
                "rows": [dict(zip(preview.columns, r, strict=True)) for r in preview.rows],
            }
        )
        return
    header = [f"{n} ({t})" for n, t in zip(preview.columns, preview.types, strict=True)]
    out.console.table(
        f"{preview.model}: {len(preview.rows)} row(s)",
        header,
        [[cell(v) for v in row] for row in preview.rows],
    )


def render_plan(out: Output, plans: list[DestinationPlan], failures: Sequence[str] = ()) -> None:
    """``failures``: why ``--fail-on`` fails the plan (see plan.plan_failures)."""
    if out.format == "json":
        out.json(
            {
                "ok": not failures,
                "failures": list(failures),
                "destinations": [p.to_dict(out.root) for p in plans],
            }
        )
        return
    rows = [
        [
            p.name,
            str(p.rows_total),
            str(p.rows_new),
            str(p.rows_changed),
            str(p.dedup.held),
            str(p.rows_unchanged),
            str(p.rows_invalid),
            str(p.rows_to_send),
        ]
        for p in plans
    ]
    title = "plan (nothing is sent)" + (
        " - full refresh" if any(p.full_refresh for p in plans) else ""
    )
    out.console.table(
        title,
        [
            "destination",
            "rows",
            "new",
            "changed",
            "changed, not re-sent",
            "unchanged",
            "invalid",
            "to send",
        ],
        rows,
    )

    for p in plans:
        if p.rows_total == 0:
            out.console.info(_no_rows(p.name, p.compiled.name))
        _invalid_rows(out, p)
        reasons = [f"{p.name}: {n} invalid row(s): {r}" for r, n in p.invalid_reasons]
        for line in capped(reasons, out.rich, p.invalid_reasons_not_listed, "reason(s)"):
            out.console.warning(line)
        lines = _warning_lines(
            p.name,
            p.warning_reasons,
            [w.shown_from(out.root).render() for w in p.warnings],
            rich=out.rich,
            not_listed=p.warning_reasons_not_listed,
        )
        for line in lines:
            out.console.warning(line)
        _coverage(out, p.name, p.match_keys)
        for sample in p.samples[:2]:
            text = orjson.dumps(shorten_sample(sample)).decode()
            out.console.info(f"{p.name} sample event: {text}")
        platform = p.destination.capabilities.platform
        for line in dedup_lines(
            p.name, p.dedup.held, p.held_reason, p.dedup.double_counted, platform
        ):
            out.console.warning(line)
    for failure in failures:
        out.console.warning(f"--fail-on: {failure}")


# Reasons listed before "… and K more": a few on a terminal, more in a log (not a terminal),
# where nobody scrolls a table and a rerun with --format json is not at hand. Reasons are
# never cut short: the plain table would clip them, so a log gets lines.
TERMINAL_REASONS = 5
LOG_REASONS = 50


def capped(lines: Sequence[str], terminal: bool, not_listed: int, what: str) -> list[str]:
    """The first ``lines`` (a few on a terminal, more in a log); lines left out (and
    ``not_listed`` ones the plan did not keep) are counted in a last line."""
    shown = list(lines[: TERMINAL_REASONS if terminal else LOG_REASONS])
    more = len(lines) - len(shown) + not_listed
    if more > 0:
        if not not_listed:
            where = "--format json lists them"
        elif len(lines) > len(shown):
            where = "--format json lists the ones the plan kept"
        else:
            where = "not kept"
        shown.append(f"… and {more} more {what} ({where})")
    return shown


def _invalid_rows(out: Output, p: DestinationPlan) -> None:
    """The first invalid rows by key, with every reason whole: a table on a terminal (long
    reasons fold), a line per row in a log (a plain table would cut them)."""
    if not p.invalid_rows:
        return
    more = p.invalid_rows_not_listed
    title = f"{p.name}: invalid rows" + (
        f" (first {len(p.invalid_rows)} of {p.rows_invalid})" if more else ""
    )
    rows = [[str(r.key), r.reason] for r in p.invalid_rows]
    if out.rich:
        out.console.table(title, ["key", "reason"], rows)
    else:
        out.console.info(title + ":")
        for key, reason in rows:
            out.console.info(f"  key {key}: {reason}")
    if more:
        out.console.info(f"  … and {more} more invalid row(s) (counted in the reasons)")


# Text samples show at most this many characters of a value: a model column of a megabyte
# would otherwise fill the terminal (--format json keeps every value whole).
SAMPLE_TEXT_LIMIT = 200


def shorten_sample(value: Any) -> Any:
    """A sample payload with each string longer than SAMPLE_TEXT_LIMIT cut there and marked
    ``… (N more characters)``."""
    if isinstance(value, str) and len(value) > SAMPLE_TEXT_LIMIT:
        rest = len(value) - SAMPLE_TEXT_LIMIT
        return f"{value[:SAMPLE_TEXT_LIMIT]}… ({rest} more characters)"
    if isinstance(value, dict):
        return {k: shorten_sample(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shorten_sample(v) for v in value]
    return value


def _warning_lines(
    name: str,
    reasons: Sequence[tuple[str, int]],
    warnings: Sequence[str],
    *,
    rich: bool = False,
    not_listed: int = 0,
) -> list[str]:
    """Row warnings (reason and count) and warnings about the columns: the same in plan and
    sync, so that what a plan shows a sync's log shows too."""
    lines = [f"{name}: {n} row(s): {reason}" for reason, n in reasons]
    return capped(lines, rich, not_listed, "warning reason(s)") + [f"{name}: {w}" for w in warnings]


def _coverage(out: Output, name: str, match_keys: Coverage | None) -> None:
    if match_keys is None:
        return
    line = f"{name}: {match_keys.summary()}"
    if match_keys.below_minimum:
        out.console.warning(f"{line}: {BELOW_MINIMUM}")
    else:
        out.console.info(line)
    for warning in match_keys.warnings:
        out.console.warning(f"{name}: {warning}")


def render_sync(out: Output, report: SyncReport) -> None:
    if out.format == "json":
        out.json(report.to_dict(out.root))
        return
    rows = [
        [
            r.destination,
            str(r.sent),
            str(r.rows_unchanged),
            str(r.rows_invalid),
            str(r.rejected),
            str(r.failed + r.not_attempted),
            f"{r.duration:.1f}s",
            "ok" if r.ok else "FAILED",
        ]
        for r in report.results
    ]
    title = "sync summary" + (
        " (sandbox: nothing reached the ad platforms)" if report.sandbox else ""
    )
    columns = [
        "destination",
        "sent",
        "unchanged",
        "invalid",
        "rejected",
        "failed",
        "time",
        "status",
    ]
    out.console.table(title, columns, rows)
    for r in report.results:
        how = "" if r.event_source_how in (None, "configured") else f" ({r.event_source_how})"
        out.console.info(
            f"{r.destination}: event source {r.event_source} {r.event_source_id or '?'}{how}"
        )
    for r in report.results:
        name = r.destination
        if r.rows_total == 0 and r.error is None:
            out.console.info(_no_rows(name, r.model))
        skipped = [f"{name}: skipped {n} invalid row(s): {x}" for x, n in r.invalid_reasons]
        for line in capped(skipped, out.rich, 0, "reason(s)"):
            out.console.warning(line)
        for line in _warning_lines(r.destination, r.warning_reasons, r.warnings, rich=out.rich):
            out.console.warning(line)
        _coverage(out, r.destination, r.match_keys)
        for row in r.rejected_rows[:5]:
            out.console.warning(
                f"{r.destination}: rejected by {r.platform}: key {row.key}: {row.reason}"
            )
        held = r.changed_not_resent_reason or ""
        for line in dedup_lines(
            r.destination, r.rows_changed_not_resent, held, r.rows_double_counted, r.platform
        ):
            out.console.warning(line)
        if r.error:  # the destination failed: an error, as its status and exit code say
            out.console.error(f"{r.destination}: {r.error}")


def _no_rows(name: str, model: str) -> str:
    """A note, not an error: a model may rightly have nothing today, or a WHERE clause broke."""
    return (
        f"{name}: note: model '{model}' returned no rows (nothing to send; if rows were "
        f"expected, check its WHERE clause and sources: retl show {model})"
    )


def render_check(out: Output, results: list[DestinationCheck]) -> int:
    """One line per check (what was checked; on failure, the key to fix); the exit code."""
    document = check_document(results, out.root)
    code = 0 if document["ok"] else 1
    if out.format == "json":
        out.json(document)
        return code
    if any(r.sandbox for r in results):
        out.console.info("check against the sandbox emulator: nothing reached the ad platforms")
    words = {"ok": "ok", "failed": "FAILED", "skipped": "skipped"}
    for r in results:
        for item in r.items:
            line = f"{r.destination}: {item.check} {words[item.status]} - {item.message}"
            if item.status == "failed" and item.key:
                line += f" - fix {item.key} in destinations.yml"
            if item.status == "failed" and item.hint:
                line += f": {item.hint}" if item.key else f" - {item.hint}"
            out.console.info(line)
    failed = [r.destination for r in results if not r.ok]
    verdict = f"FAILED: {', '.join(failed)}" if failed else "ok"
    out.console.info(f"check {verdict} ({len(results)} destination(s), no event sent)")
    return code


def render_state(
    out: Output,
    scopes: list[ScopeInfo],
    path: Path | str,
    *,
    sandbox: bool = False,
    sandbox_state: tuple[Path, int | None] | None = None,
) -> None:
    """``sandbox_state``: with an empty state, the sandbox's own state file and the rows it
    holds (None: unreadable), which ``--sandbox`` shows."""
    if out.format == "json":
        out.json(
            {
                "ok": True,
                "state_file": str(path),
                "destinations": [
                    {
                        "destination": s.destination,
                        "scope": s.scope,
                        "rows_sent": s.rows,
                        "event_source_id": s.event_source_id,
                        "mapping_fingerprint": s.mapping_fingerprint,
                        "last_sync_at": s.last_sync_at.isoformat() if s.last_sync_at else None,
                    }
                    for s in scopes
                ],
            }
        )
        return
    if not scopes:
        text = f"nothing sent yet ({path})"
        if sandbox_state is not None:
            other, rows = sandbox_state
            held = f"holds {rows} sent row(s)" if rows is not None else "exists"
            text += (
                f"; the state of 'retl sync --sandbox' runs is kept apart: {other} {held}, "
                "shown by 'retl state show --sandbox'"
            )
        out.console.info(text)
        return
    # The event source is the one configured (the state's key); a run prints the ID it sent
    # to, which a sandbox run takes from the emulator and a NAME destination resolves.
    out.console.table(
        f"state ({path})"
        + (": sandbox runs, sent to the emulator's own sources" if sandbox else ""),
        ["destination", "event source (configured)", "sent to", "rows sent", "last sync (UTC)"],
        [
            [
                s.destination,
                s.scope,
                s.event_source_id or "-",
                str(s.rows),
                cell(s.last_sync_at) if s.last_sync_at else "-",
            ]
            for s in scopes
        ],
    )
