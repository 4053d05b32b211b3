"""The Runs page (events per run over time, and the list) and a run's detail page."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reverse_etl.destinations.shared.text import percent
from reverse_etl.history.records import RunRecord

from .charts import Series, line_chart
from .html import Html, badge, destination_href, esc, join, link, page, path_part, table, when

if TYPE_CHECKING:
    from .app import UiApp

RUNS_SHOWN = 50
# A destination the run was stopped in, before its result was recorded (as `retl runs show`).
INTERRUPTED = "interrupted: no result recorded; counts from the delivery log"


def runs_page(app: UiApp) -> Html:
    runs = app.call(lambda p: p.runs(limit=RUNS_SHOWN))  # newest first
    # A state reset is listed, not charted: it sent nothing.
    oldest_first = [r for r in reversed(runs) if r.forgotten is None]
    chart = line_chart(
        chart_id="runs-chart",
        title="Events per run",
        x_labels=[short_time(r) for r in oldest_first],
        series=[
            Series("sent", [r.sent for r in oldest_first]),
            Series("rejected", [r.rejected for r in oldest_first]),
            Series("failed", [r.failed for r in oldest_first]),
        ],
        x_title="run, by start time (UTC)",
        y_title="events",
        point_titles=[f"run {r.run_id}, {when(r.started_at)}" for r in oldest_first],
    )
    rows = [
        (
            link(f"/runs/{path_part(r.run_id)}", r.run_id, class_="run-link"),
            when(r.started_at),
            "sandbox" if r.sandbox else "live",
            r.forgotten_text or ", ".join(r.destinations),
            *(
                ("-",) * 4
                if r.forgotten is not None
                else (r.sent, r.rejected, r.skipped_invalid, r.failed)
            ),
            status_badge(r),
        )
        for r in runs
    ]
    headers = (
        "run",
        "started",
        "kind",
        "destinations",
        "sent",
        "rejected",
        "skipped invalid",
        "failed",
        "status",
    )
    body = join(
        [
            f"<p>The last {len(runs)} runs of <code>retl sync</code>, live and sandbox, "
            "with each <code>retl state reset</code> (after which a sync sends every row "
            "again).</p>",
            chart,
            "<h2>Runs</h2>",
            table(headers, rows, table_id="runs", empty="No runs yet: run retl sync."),
        ]
    )
    return page("Runs", "runs", app.title, body)


def run_page(app: UiApp, run_id: str) -> Html:
    from reverse_etl.errors import UsageError

    from .app import NotFound

    if not run_id.isprintable():  # a NUL cut DuckDB's query short: an error quoting it
        raise NotFound("no run with that id in this project's history")
    try:
        detail = app.call(lambda p: p.run_detail(run_id))
    except UsageError as exc:  # a prefix of several runs: which one is the user's to say
        raise NotFound(exc.message) from None
    if detail is None:
        raise NotFound(f"no run {run_id} in this project's history")
    r = detail.run
    if r.forgotten is not None:  # a state reset: what it forgot, nothing per destination
        reset = table(
            ("destination", "rows forgotten"), list(r.forgotten), table_id="reset-forgotten"
        )
        return page(
            f"Reset {r.run_id}",
            "runs",
            app.title,
            join(
                [
                    f"<p>{esc(r.command)}, {esc(when(r.started_at))}: the next sync of these "
                    "destinations sends every row again.</p>",
                    reset,
                ]
            ),
        )
    summary = table(
        ("started", "ended", "command", "kind", "status", "exit code", "retl"),
        [
            (
                when(r.started_at),
                when(r.ended_at),
                r.command,
                "sandbox" if r.sandbox else "live",
                status_badge(r),
                r.exit_code,
                r.retl_version,
            )
        ],
        table_id="run-summary",
    )
    per_destination = table(
        (
            "destination",
            "platform",
            "model",
            "rows",
            "sent",
            "rejected",
            "skipped invalid",
            "failed",
            "not attempted",
            "match coverage",
            "error",
        ),
        [
            (
                link(destination_href(d.destination), d.destination),
                d.platform or "-",
                d.model or "-",
                "-" if d.interrupted else d.rows_total,
                d.sent,
                d.rejected,
                d.skipped_invalid,
                d.failed,
                "-" if d.interrupted else d.not_attempted,
                percent(d.match_coverage),
                INTERRUPTED if d.interrupted else d.error or "",
            )
            for d in detail.destinations
        ],
        table_id="run-destinations",
    )
    not_accepted = table(
        ("destination", "key", "event_id", "outcome", "code", "message", "request id", "at"),
        [
            (
                d.destination,
                d.key,
                d.event_id,
                d.outcome,
                d.code,
                d.message or "",
                d.request_id,
                when(d.at),
            )
            for d in detail.not_accepted
        ],
        table_id="not-accepted",
        empty="Every row of this run was accepted.",
    )
    more = detail.not_accepted_total - len(detail.not_accepted)
    # What stopped a failed run, in the command's words (as `retl runs show` says it).
    stopped = (
        '<h2>What stopped it</h2><ul id="run-error">'
        + "".join(f"<li>{esc(line)}</li>" for line in detail.error)
        + "</ul>"
        if detail.error
        else ""
    )
    body = join(
        [
            summary,
            stopped,
            "<h2>Per destination</h2>",
            per_destination,
            "<h2>Rows not accepted</h2>",
            not_accepted,
            f'<p class="more">... and {more} more (retl runs show {esc(r.run_id)})</p>'
            if more > 0
            else "",
        ]
    )
    return page(f"Run {r.run_id}", "runs", app.title, body)


def status_badge(run: RunRecord) -> Html:
    return badge(run.status, {"ok": "ok", "failed": "bad"}.get(run.status, "warn"))


def short_time(run: RunRecord) -> str:
    return when(run.started_at)[5:19]  # MM-DD HH:MM:SS
