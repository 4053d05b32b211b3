"""``retl runs``: the run history and the delivery log (read-only)."""

# No `from __future__ import annotations`: typer reads these at each start (see app.py).

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reverse_etl.cli import options as opt
from reverse_etl.cli.output import Output, run
from reverse_etl.destinations.shared.text import percent
from reverse_etl.errors import MAX_LISTED_PROBLEMS, UsageError

if TYPE_CHECKING:
    from reverse_etl.history.records import DeliveryRecord, RunDetail, RunRecord
    from reverse_etl.project import Project

# A destination the run was stopped in, before its result was recorded (RunDestinationRecord).
INTERRUPTED = "interrupted: no result recorded; counts from the delivery log"

runs_app = typer.Typer(
    help="The run history: recent syncs, one run's detail, and each delivery of a row.",
    invoke_without_command=True,
)


def _project(out: Output, project_dir: Path, target: str | None) -> "Project":
    return out.load(project_dir, target=target)


@runs_app.callback()
def runs_list(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Runs to list.")] = 20,
    dbt_source: Annotated[
        bool,
        typer.Option("--dbt-source", help="Print a dbt sources.yml for the history tables."),
    ] = False,
    project_dir: opt.ProjectDir = Path("."),
    target: opt.Target = None,
    fmt: opt.Format = "text",
    debug: opt.Debug = False,
) -> None:
    """List recent syncs (real and sandbox), newest first."""
    if ctx.invoked_subcommand is not None:
        return
    out = Output.create(fmt, debug)

    def go() -> None:
        if limit < 1:
            raise UsageError(
                f"--limit is how many runs to list: 1 or more, not {limit}",
                key="--limit",
                hint="--limit 20 (the default) lists the 20 newest",
            )
        if dbt_source and out.format == "json":
            raise UsageError(
                "--dbt-source prints a dbt sources.yml (YAML), not JSON",
                key="--format",
                hint="drop --format json, or --dbt-source",
            )
        with _project(out, project_dir, target) as p:
            if dbt_source:
                from reverse_etl.history.dbt import dbt_source_yaml

                print(dbt_source_yaml(p.config, p.dir), end="")
                return
            render_runs(out, p.runs(limit))

    run(out, go)


@runs_app.command("show")
def runs_show(
    run_id: Annotated[str, typer.Argument(help="The run id, or its first characters.")],
    project_dir: opt.ProjectDir = Path("."),
    target: opt.Target = None,
    fmt: opt.Format = "text",
    debug: opt.Debug = False,
) -> None:
    """One run: per destination, the counts, and the rows that were not accepted, with why."""
    out = Output.create(fmt, debug)

    def go() -> None:
        with _project(out, project_dir, target) as p:
            detail = p.run_detail(run_id)
            if detail is None:
                raise UsageError(
                    f"no run '{run_id}' in the history",
                    key="RUN",
                    hint="'retl runs' lists the recent ones",
                )
            render_detail(out, detail)

    run(out, go)


@runs_app.command("find")
def runs_find(
    key: Annotated[str, typer.Argument(help="The row's key (or its event_id).")],
    destination: Annotated[
        str | None, typer.Option("--destination", "-d", help="Only this destination.")
    ] = None,
    project_dir: opt.ProjectDir = Path("."),
    target: opt.Target = None,
    fmt: opt.Format = "text",
    debug: opt.Debug = False,
) -> None:
    """Was this row sent? Each delivery of it, newest first, with outcome and code."""
    out = Output.create(fmt, debug)

    def go() -> None:
        with _project(out, project_dir, target) as p:
            render_found(out, key, p.deliveries(key, destination))

    run(out, go)


# --- rendering -----------------------------------------------------------------------------
def _when(record_time: object) -> str:
    import datetime as dt

    if not isinstance(record_time, dt.datetime):
        return "-"
    return record_time.strftime("%Y-%m-%d %H:%M:%S")


def render_runs(out: Output, runs: "list[RunRecord]") -> None:
    if out.format == "json":
        out.json({"ok": True, "runs": [r.to_dict() for r in runs]})
        return
    if not runs:
        out.console.info("no runs yet: 'retl sync' (or 'retl sync --sandbox') records one")
        return
    out.console.table(
        f"{len(runs)} most recent run(s)",
        [
            "run",
            "started (UTC)",
            "status",
            "exit",
            "sent",
            "rejected",
            "skipped",
            "failed",
            "destinations",
            "sandbox",
        ],
        [
            [
                r.run_id,
                _when(r.started_at),
                r.status,
                "-" if r.exit_code is None else str(r.exit_code),
                *(
                    ["-"] * 4  # a reset sends nothing
                    if r.forgotten is not None
                    else [str(r.sent), str(r.rejected), str(r.skipped_invalid), str(r.failed)]
                ),
                r.forgotten_text or ", ".join(r.destinations) or "-",
                "yes" if r.sandbox else "no",
            ]
            for r in runs
        ],
    )


def render_detail(out: Output, detail: "RunDetail") -> None:
    from reverse_etl.reporting.console import printable

    if out.format == "json":
        out.json({"ok": True, **detail.to_dict()})
        return
    r = detail.run
    # a run with no end: it runs now, or died (no "to interrupted UTC")
    ended = f"to {_when(r.ended_at)} UTC" if r.ended_at else "no end recorded"
    out.console.info(
        printable(
            f"run {r.run_id}: {r.status}{f' by {r.signal}' if r.signal else ''} "
            f"(exit {'-' if r.exit_code is None else r.exit_code}), "
            f"{_when(r.started_at)} UTC {ended}, {r.command}, retl {r.retl_version}"
        )
    )
    if r.refused is not None:  # it never ran: nothing per destination
        out.console.info(f"refused: {printable(r.refused)}")
        return
    if r.forgotten is not None:  # a state reset: what it forgot
        out.console.info(f"state reset: {r.forgotten_text}: their next sync sends every row")
        return
    # What stopped it, as the command said: its first MAX_LISTED_PROBLEMS lines, then a count.
    for line in detail.error[:MAX_LISTED_PROBLEMS]:
        out.console.info(f"error: {printable(line)}")
    if len(detail.error) > MAX_LISTED_PROBLEMS:
        out.console.info(f"error: … and {len(detail.error) - MAX_LISTED_PROBLEMS} more")
    out.console.table(
        "per destination",
        [
            "destination",
            "platform",
            "model",
            "rows",
            "sent",
            "rejected",
            "skipped",
            "failed",
            "not sent",
            "match coverage",
            "error",
        ],
        [
            [
                d.destination,
                d.platform or "-",
                d.model or "-",
                "-" if d.interrupted else str(d.rows_total),
                str(d.sent),
                str(d.rejected),
                str(d.skipped_invalid),
                str(d.failed),
                "-" if d.interrupted else str(d.not_attempted),
                percent(d.match_coverage),
                INTERRUPTED if d.interrupted else d.error or "",
            ]
            for d in detail.destinations
        ],
    )
    if detail.not_accepted:
        shown = len(detail.not_accepted)
        more = detail.not_accepted_total - shown
        out.console.table(
            f"rows not accepted ({detail.not_accepted_total})"
            + (f", first {shown}" if more > 0 else ""),
            ["destination", "key", "event_id", "outcome", "code", "reason"],
            [
                [
                    d.destination,
                    d.key,
                    d.event_id or "",
                    d.outcome,
                    "" if d.code is None else str(d.code),
                    d.message or "",
                ]
                for d in detail.not_accepted
            ],
        )


def render_found(out: Output, key: str, found: "list[DeliveryRecord]") -> None:
    if out.format == "json":
        out.json({"ok": True, "deliveries": [d.to_dict() for d in found]})
        return
    if not found:
        out.console.info(
            "no delivery of that key (or event_id) in the history: never sent, or pruned "
            "(history.retention_days)"
        )
        return
    out.console.table(
        f"{len(found)} deliver{'y' if len(found) == 1 else 'ies'}",
        [
            "when (UTC)",
            "run",
            "destination",
            "key",
            "event_id",
            "outcome",
            "code",
            "request_id",
            "message",
            "sandbox",
        ],
        [
            [
                _when(d.at),
                d.run_id,
                d.destination,
                d.key,
                d.event_id or "",
                d.outcome,
                "" if d.code is None else str(d.code),
                d.request_id or "",
                d.message or "",
                "yes" if d.sandbox else "no",
            ]
            for d in found
        ],
    )
