"""The history tables' columns and writes, in SQL that DuckDB and PostgreSQL both take.

``runs``: one row per ``retl sync`` (written when it starts, with no end and no exit code, and
again when it ends: a run that died keeps the first form, and reads as interrupted).
``run_destinations``: one row per destination of a run. ``delivery_log``: one row per row
sent, rejected, failed or skipped as invalid, per run. Column names are the documented
interface (docs/observability.md; ``retl runs --dbt-source``): add columns, never rename.
No key constraints: rows are replaced by DELETE then INSERT in one transaction (DuckDB's
index constraints refuse a key deleted and inserted again in one transaction).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from reverse_etl.history.records import RunDestinationRecord, RunRecord

HISTORY_TABLES: tuple[tuple[str, str], ...] = (
    (
        "runs",
        "run_id TEXT NOT NULL, started_at TIMESTAMP NOT NULL, ended_at TIMESTAMP, "
        "command TEXT NOT NULL, destinations TEXT NOT NULL, sent BIGINT NOT NULL, "
        "rejected BIGINT NOT NULL, skipped_invalid BIGINT NOT NULL, failed BIGINT NOT NULL, "
        "exit_code INTEGER, retl_version TEXT NOT NULL, sandbox BOOLEAN NOT NULL",
    ),
    (
        "run_destinations",
        "run_id TEXT NOT NULL, destination TEXT NOT NULL, platform TEXT NOT NULL, "
        "model TEXT NOT NULL, ended_at TIMESTAMP, rows_total BIGINT NOT NULL, "
        "sent BIGINT NOT NULL, rejected BIGINT NOT NULL, skipped_invalid BIGINT NOT NULL, "
        "failed BIGINT NOT NULL, not_attempted BIGINT NOT NULL, "
        "match_coverage DOUBLE PRECISION, error TEXT",
    ),
    (
        "delivery_log",
        "run_id TEXT, destination TEXT NOT NULL, row_key TEXT NOT NULL, event_id TEXT, "
        "outcome TEXT NOT NULL, code BIGINT, message TEXT, request_id TEXT, "
        "logged_at TIMESTAMP NOT NULL",
    ),
)


def empty_relation(table: str) -> str:
    """A history table with no rows, as a subquery of its columns (a reader of a state
    that does not exist yet reads this rather than create the table)."""
    columns = dict(HISTORY_TABLES)[table].split(", ")
    typed = (c.removesuffix(" NOT NULL").split(" ", 1) for c in columns)
    values = ", ".join(f"CAST(NULL AS {kind}) AS {name}" for name, kind in typed)
    return f"(SELECT {values} LIMIT 0)"


RUN_COLUMNS = (
    "run_id, started_at, ended_at, command, destinations, sent, rejected, skipped_invalid, "
    "failed, exit_code, retl_version, sandbox"
)
DESTINATION_COLUMNS = (
    "run_id, destination, platform, model, ended_at, rows_total, sent, rejected, "
    "skipped_invalid, failed, not_attempted, match_coverage, error"
)
LOG_COLUMNS = (
    "run_id, destination, row_key, event_id, outcome, code, message, request_id, logged_at"
)


def history_upserts(
    prefix: str,
    run: RunRecord,
    destinations: Sequence[RunDestinationRecord],
    placeholder: str = "?",
) -> Iterator[tuple[str, list[Any]]]:
    """Statements (with ``placeholder`` parameters) that insert or replace a run's rows:
    a DELETE then an INSERT, which both dialects take (run them in one transaction)."""

    def marks(n: int) -> str:
        return ", ".join([placeholder] * n)

    yield f"DELETE FROM {prefix}runs WHERE run_id = {placeholder}", [run.run_id]
    yield (
        f"INSERT INTO {prefix}runs ({RUN_COLUMNS}) VALUES ({marks(12)})",
        [
            run.run_id,
            run.started_at,
            run.ended_at,
            run.command,
            ",".join(run.destinations),
            run.sent,
            run.rejected,
            run.skipped_invalid,
            run.failed,
            run.exit_code,
            run.retl_version,
            run.sandbox,
        ],
    )
    for d in destinations:
        yield (
            f"DELETE FROM {prefix}run_destinations WHERE run_id = {placeholder} "
            f"AND destination = {placeholder}",
            [d.run_id, d.destination],
        )
        yield (
            f"INSERT INTO {prefix}run_destinations ({DESTINATION_COLUMNS}) VALUES ({marks(13)})",
            [
                d.run_id,
                d.destination,
                d.platform,
                d.model,
                d.ended_at,
                d.rows_total,
                d.sent,
                d.rejected,
                d.skipped_invalid,
                d.failed,
                d.not_attempted,
                d.match_coverage,
                d.error,
            ],
        )


def prune_statements(
    prefix: str,
    placeholder: str = "?",
    tables: Sequence[str] = ("delivery_log", "run_destinations", "runs"),
) -> tuple[str, ...]:
    """DELETEs of what is older than the one ``placeholder`` (a naive UTC time), for the
    ``tables`` the store keeps as tables."""
    older = f"SELECT run_id FROM {prefix}runs WHERE coalesce(ended_at, started_at) < {placeholder}"
    statements = {
        "delivery_log": f"DELETE FROM {prefix}delivery_log WHERE logged_at < {placeholder}",
        "run_destinations": f"DELETE FROM {prefix}run_destinations WHERE run_id IN ({older})",
        "runs": f"DELETE FROM {prefix}runs WHERE coalesce(ended_at, started_at) < {placeholder}",
    }
    return tuple(statements[t] for t in ("delivery_log", "run_destinations", "runs") if t in tables)


# What each column means: the documented interface (docs/observability.md, --dbt-source).
COLUMN_DOCS: dict[str, dict[str, str]] = {
    "runs": {
        "run_id": "The run's id (also the name of its JSON report in .retl/runs/).",
        "started_at": "When the sync started (UTC).",
        "ended_at": "When it ended (UTC); NULL: it died (SIGKILL, a lost machine) or runs now.",
        "command": "The command line, shell-quoted to copy back (no --vars), e.g. "
        "'retl sync --sandbox'.",
        "destinations": "The destinations it ran, comma-separated.",
        "sent": "Events the platforms accepted.",
        "rejected": "Events the platforms rejected for good.",
        "skipped_invalid": "Invalid rows skipped (skip_invalid_record).",
        "failed": "Events that failed (retries exhausted, or the run was stopped).",
        "exit_code": "The exit code; NULL when the run died before it could say.",
        "retl_version": "The retl version that ran it.",
        "sandbox": "True for a run against the local emulators.",
    },
    "run_destinations": {
        "run_id": "The run (runs.run_id).",
        "destination": "The destination's name in destinations.yml.",
        "platform": "TikTok, Meta, ...",
        "model": "The model it read.",
        "ended_at": "When this destination finished (UTC).",
        "rows_total": "Rows the model returned.",
        "sent": "Events accepted.",
        "rejected": "Events rejected for good.",
        "skipped_invalid": "Invalid rows skipped.",
        "failed": "Events that failed.",
        "not_attempted": "Events not sent because the run stopped first.",
        "match_coverage": "Share (0..1) of the rows to send with a strong match key.",
        "error": "Why the destination failed, if it did.",
    },
    "delivery_log": {
        "run_id": "The run (runs.run_id).",
        "destination": "The destination's name.",
        "row_key": "The row's key; 'sha256:' and 12 hex digits when the key is PII.",
        "event_id": "The event_id sent (NULL when the model has none).",
        "outcome": "accepted, rejected, failed or skipped_invalid.",
        "code": "The platform's error code (rejected, failed).",
        "message": "The platform's message, or why the row is invalid.",
        "request_id": "The platform's request id of the answer (for its support).",
        "logged_at": "When the answer arrived (UTC).",
    },
}
