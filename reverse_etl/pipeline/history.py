"""A sync's rows in the run history: written when it starts and again when it ends, then the
history older than ``history.retention_days`` is pruned (see reverse_etl/history). A sync
the lock refused is recorded apart, in a file of its own (see ``history/refused.py``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from reverse_etl.__about__ import __version__
from reverse_etl.history.records import RunDestinationRecord, RunRecord
from reverse_etl.history.refused import RESET_SUFFIX, prune_refused, write_refused
from reverse_etl.state.dedup import utc

if TYPE_CHECKING:
    from reverse_etl.pipeline.context import RunContext
    from reverse_etl.pipeline.report import SyncReport
    from reverse_etl.pipeline.send import DestinationResult
    from reverse_etl.state.base import StateStore


def command_text(
    select: Sequence[str], *, sandbox: bool, full_refresh: bool, limit: int | None
) -> str:
    """How the run was asked for, as a command line to copy back into a shell (no values that
    could be secrets: ``--vars`` and ``--target`` are left out)."""
    parts = ["retl", "sync", *_options("--select", select)]
    if sandbox:
        parts.append("--sandbox")
    if full_refresh:
        parts.append("--full-refresh")
    if limit is not None:
        parts += ["--limit", str(int(limit))]
    return shlex.join(parts)


def _options(option: str, values: Sequence[str]) -> list[str]:
    """``--select VALUE`` per value, each value one argument as it was given (quoted by
    shlex.join when it holds a space or a quote: ``--select 'destination:my dest'``)."""
    return [word for value in values for word in (option, value)]


def run_record(
    report: SyncReport,
    *,
    started: dt.datetime,
    ended: dt.datetime | None,
    command: str,
    exit_code: int | None,
) -> RunRecord:
    results = report.results
    return RunRecord(
        run_id=report.run_id,
        started_at=started,
        ended_at=ended,
        command=command,
        destinations=tuple(p.name for p in report.plans),
        sent=sum(r.sent for r in results),
        rejected=sum(r.rejected for r in results),
        skipped_invalid=sum(r.rows_invalid for r in results if r.skip_invalid),
        failed=sum(r.failed for r in results),
        exit_code=exit_code,
        retl_version=__version__,
        sandbox=report.sandbox,
    )


def destination_record(
    run_id: str, ended: dt.datetime, r: DestinationResult
) -> RunDestinationRecord:
    coverage = r.match_keys.coverage if r.match_keys is not None else None
    return RunDestinationRecord(
        run_id=run_id,
        destination=r.destination,
        platform=r.platform,
        model=r.model,
        ended_at=ended,
        rows_total=r.rows_total,
        sent=r.sent,
        rejected=r.rejected,
        skipped_invalid=r.rows_invalid if r.skip_invalid else 0,
        failed=r.failed,
        not_attempted=r.not_attempted,
        match_coverage=coverage,
        error=r.error,
    )


def now(project: RunContext) -> dt.datetime:
    return utc(project.clock())


def record_start(
    project: RunContext, store: StateStore, report: SyncReport, command: str, started: dt.datetime
) -> None:
    """The run's row with no end and no exit code: what stays if the run dies."""
    store.record_history(
        run_record(report, started=started, ended=None, command=command, exit_code=None)
    )


def record_end(
    project: RunContext,
    store: StateStore,
    report: SyncReport,
    *,
    started: dt.datetime,
    command: str,
    exit_code: int,
) -> None:
    """The run's final rows, then the prune. Failing here is a warning: the sync's own
    outcome stands (its report and state are written apart)."""
    ended = now(project)
    try:
        store.record_history(
            run_record(report, started=started, ended=ended, command=command, exit_code=exit_code),
            [destination_record(report.run_id, ended, r) for r in report.results],
        )
        days = project.config.history.retention_days
        store.prune_history(ended - dt.timedelta(days=days))
    except Exception as exc:  # the history must never fail a sync
        project.console.warning(
            f"the run history could not be written: {' '.join(str(exc).split())[:300]}"
        )


def runs_folder(project: RunContext) -> Path:
    """Where run reports, and the records of refused runs, are written."""
    return project.state_dir / "runs"


def record_refused(
    project: RunContext,
    report: SyncReport,
    *,
    started: dt.datetime,
    command: str,
    exit_code: int,
    reason: str,
) -> None:
    """A run another sync's lock refused: recorded beside the run reports, since the state
    (and its history) is the holder's; the lock is neither waited on nor touched. Failing
    here is a warning: the refusal is what the run says."""
    record = run_record(
        report, started=started, ended=now(project), command=command, exit_code=exit_code
    )
    days = project.config.history.retention_days
    try:
        write_refused(runs_folder(project), dataclasses.replace(record, refused=reason))
        prune_refused(runs_folder(project), record.started_at - dt.timedelta(days=days))
    except OSError as exc:
        project.console.warning(
            f"the refused run could not be recorded in {runs_folder(project)}: "
            f"{exc.strerror or exc}"
        )


def reset_command_text(select: Sequence[str], exclude: Sequence[str], *, sandbox: bool) -> str:
    """How a reset was asked for, as a command line to copy back into a shell."""
    parts = ["retl", "state", "reset", *_options("--select", select)]
    parts += _options("--exclude", exclude)
    if sandbox:
        parts.append("--sandbox")
    return shlex.join(parts)


def record_reset(
    project: RunContext,
    forgotten: dict[str, int],
    *,
    run_id: str,
    command: str,
    sandbox: bool,
) -> None:
    """A ``retl state reset`` of one or more destinations (those that held nothing too, with 0
    rows: the user asked for it), in the history (beside the run reports,
    as a refused run is: see ``history/refused.py``), so that the full re-send it causes has
    its explanation there. Failing here is a warning: the reset is done."""
    if not forgotten:
        return
    at = now(project)
    record = RunRecord(
        run_id=run_id,
        started_at=at,
        ended_at=at,
        command=command,
        destinations=tuple(forgotten),
        sent=0,
        rejected=0,
        skipped_invalid=0,
        failed=0,
        exit_code=0,
        retl_version=__version__,
        sandbox=sandbox,
        forgotten=tuple(forgotten.items()),
    )
    days = project.config.history.retention_days
    try:
        write_refused(runs_folder(project), record, RESET_SUFFIX)
        prune_refused(runs_folder(project), at - dt.timedelta(days=days), RESET_SUFFIX)
    except OSError as exc:
        project.console.warning(
            f"the reset could not be recorded in the run history ({runs_folder(project)}): "
            f"{exc.strerror or exc}"
        )
