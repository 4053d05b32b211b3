"""Reading the run history across the project's state stores: the state of real syncs and
the sandbox's own, newest first, with the runs the lock refused (recorded apart: see
``history/refused.py``). Read-only: nothing is created or locked."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from reverse_etl import project_files
from reverse_etl.__about__ import __version__
from reverse_etl.errors import UsageError
from reverse_etl.history.read import HistoryReader
from reverse_etl.history.records import DeliveryRecord, RunDestinationRecord, RunDetail, RunRecord
from reverse_etl.history.refused import RESET_SUFFIX, read_refused
from reverse_etl.pipeline.history import now, runs_folder
from reverse_etl.pipeline.report import error_lines
from reverse_etl.pipeline.stores import open_state, state_file
from reverse_etl.state.lock import LockHolder, SyncLock

if TYPE_CHECKING:
    from reverse_etl.pipeline.context import RunContext


def _readers(
    project: RunContext, sandbox_only: bool | None = None
) -> Iterator[tuple[HistoryReader, LockHolder | None, bool]]:
    """Each store's reader, the sync that holds it now, if any, and whether it is the
    sandbox's (the real state, then the
    sandbox's; a sandbox state that was never written is skipped). ``sandbox_only``: True
    reads the sandbox's alone, False the real one alone."""
    for sandbox in (False, True):
        if sandbox_only is not None and sandbox != sandbox_only:
            continue
        path = state_file(project, sandbox=sandbox)
        local = sandbox or project.config.state.location == "local"
        if sandbox and not path.exists():
            continue
        with open_state(project, sandbox=sandbox, write=False, create=False) as store:
            holder = SyncLock.holder(path) if local else None
            said = len(store.warnings)
            yield HistoryReader(store), holder, sandbox
            for warning in store.warnings[said:]:  # found while reading (a damaged log file)
                project.console.warning(warning)


def runs(project: RunContext, limit: int) -> list[RunRecord]:
    found: list[RunRecord] = []
    for reader, holder, sandbox in _readers(project):
        found += _running(reader.runs(limit), holder, sandbox=sandbox)
    found += _refused(project, newest=limit)
    found.sort(key=lambda r: (r.started_at, r.run_id), reverse=True)
    return found[:limit]


def _running(
    records: list[RunRecord], holder: LockHolder | None, *, sandbox: bool
) -> list[RunRecord]:
    """``records`` (newest first) with the run holding the lock marked running. A sync that
    named its run (``SyncLock``) and is still planning has no row yet: listed from what the
    lock says. (A holder of an older retl: its newest unfinished run.)"""
    if holder is None:
        return records
    if holder.run_id is None:
        return [
            dataclasses.replace(r, running=True) if i == 0 and r.exit_code is None else r
            for i, r in enumerate(records)
        ]
    if any(r.run_id == holder.run_id for r in records):
        return [
            dataclasses.replace(r, running=True) if r.run_id == holder.run_id else r
            for r in records
        ]
    planning = RunRecord(
        run_id=holder.run_id,
        started_at=holder.since or dt.datetime.now(dt.timezone.utc),
        ended_at=None,
        command=holder.command or "retl sync",
        destinations=(),
        sent=0,
        rejected=0,
        skipped_invalid=0,
        failed=0,
        exit_code=None,
        retl_version=__version__,
        sandbox=sandbox,
        running=True,
    )
    return [planning, *records]


def _refused(
    project: RunContext, *, newest: int | None = None, prefix: str = ""
) -> list[RunRecord]:
    """The runs the lock refused, and the state resets, within the history's retention (of
    each kind, the ``newest`` only; those whose ids begin with ``prefix``)."""
    days = project.config.history.retention_days
    since = now(project) - dt.timedelta(days=days)
    folder = runs_folder(project)
    return read_refused(folder, since, newest=newest, prefix=prefix) + read_refused(
        folder, since, RESET_SUFFIX, newest=newest, prefix=prefix
    )


def run_detail(project: RunContext, run_id: str) -> RunDetail | None:
    """One run by its id or a unique prefix of it (a UsageError names the ones it matches);
    a run whose whole id is given is that one, whatever other ids it begins. An empty id
    (which every id begins) is refused."""
    if not run_id.strip():
        raise UsageError(
            "no run id given: an empty one would name any run",
            key="RUN",
            hint="give a run id, or its first characters ('retl runs' lists them)",
        )
    matches: list[str] = []
    details: list[RunDetail] = []
    exact: list[RunDetail] = []
    for reader, holder, sandbox in _readers(project):
        ids = reader.run_ids(run_id)
        if run_id in ids:
            exact.append(_detail(reader, run_id, holder, runs_folder(project), project.dir))
        elif len(ids) == 1:
            details.append(_detail(reader, ids[0], holder, runs_folder(project), project.dir))
        matches += ids
        planning = _planning(holder, ids, run_id)
        if planning is not None:  # no row yet (see _running)
            (planning_run,) = _running([], holder, sandbox=sandbox)
            (exact if planning == run_id else details).append(RunDetail(planning_run, (), ()))
            matches.append(planning)
    for refused in _refused(project, prefix=run_id):
        if refused.run_id.startswith(run_id):
            (exact if refused.run_id == run_id else details).append(RunDetail(refused, (), ()))
            matches.append(refused.run_id)
    if exact:
        return exact[0]
    if len(matches) > 1:
        shown = ", ".join(matches[:5]) + (" ..." if len(matches) > 5 else "")
        raise UsageError(
            f"'{run_id}' matches {len(matches)} runs: {shown}",
            key="RUN",
            hint="give more of the run id ('retl runs' lists them)",
        )
    return details[0] if details else None


def _planning(holder: LockHolder | None, ids: list[str], run_id: str) -> str | None:
    """The id of the run holding the lock that has no row yet, when it begins ``run_id``."""
    if holder is None or not holder.run_id or holder.run_id in ids:
        return None
    return holder.run_id if holder.run_id.startswith(run_id) else None


def _detail(
    reader: HistoryReader, run_id: str, holder: LockHolder | None, reports: Path, root: Path
) -> RunDetail:
    run = reader.run(run_id)
    assert run is not None  # listed by run_ids just before, and nothing prunes meanwhile
    if run.exit_code is None and holder is not None:
        newest = reader.runs(1)[0].run_id == run.run_id
        if holder.run_id == run.run_id or (holder.run_id is None and newest):
            run = dataclasses.replace(run, running=True)
    rejected, total = reader.not_accepted(run.run_id)
    # Stopped, failed or died (not one running now): a destination with no result (the one it
    # was sending to) is read from the log. A run that exited 0 has a result for each.
    stopped = run.exit_code != 0 and not run.running
    destinations = reader.run_destinations(run.run_id, stopped=stopped)
    said, interrupted = _said(reports / f"{run_id}.json", root)
    if stopped and interrupted and all(d.destination != interrupted for d in destinations):
        # the signal stopped it before any answer of that destination was recorded (while
        # its session opened, or a second signal while it waited for the answers): listed
        # with nothing sent, not left out (the table was empty)
        destinations = sorted(
            [*destinations, _nothing_recorded(run.run_id, interrupted)],
            key=lambda d: d.destination,
        )
    return RunDetail(run, tuple(destinations), tuple(rejected), total, said)


def _nothing_recorded(run_id: str, destination: str) -> RunDestinationRecord:
    """The destination a run was sending to when a signal stopped it, with no result and no
    delivery-log row: every count 0, what it did not send unknown."""
    return RunDestinationRecord(
        run_id=run_id,
        destination=destination,
        platform="",
        model="",
        ended_at=None,
        rows_total=0,
        sent=0,
        rejected=0,
        skipped_invalid=0,
        failed=0,
        not_attempted=0,
        match_coverage=None,
        error=None,
        interrupted=True,
    )


def _said(report: Path, root: Path) -> tuple[tuple[str, ...], str | None]:
    """What the run's report file says stopped it, and the destination it was sending to
    when a signal stopped it (nothing when it has no such file: a run killed before writing
    it, or a report of a warehouse state's run kept elsewhere), files inside the project
    ``root`` named as the command named them."""
    try:
        document = orjson.loads(project_files.read_bytes(report))
    except (OSError, orjson.JSONDecodeError):
        return (), None
    if not isinstance(document, dict):
        return (), None
    interrupted = document.get("interrupted")
    name = interrupted if isinstance(interrupted, str) else None
    return tuple(error_lines(document, root)), name


def deliveries(
    project: RunContext, key: str, destination: str | None = None
) -> list[DeliveryRecord]:
    """Each delivery of a row, newest first. A ``destination`` the history does not name is
    refused (a UsageError naming those it does, the closest first), rather than found to
    have no delivery."""
    found: list[DeliveryRecord] = []
    known: set[str] = set()
    for reader, _, sandbox in _readers(project):
        found += [
            dataclasses.replace(d, sandbox=sandbox) for d in reader.deliveries(key, destination)
        ]
        if destination is not None and not found:
            known.update(reader.destinations())
    if destination is not None and not found and destination not in known:
        raise _unknown_destination(destination, known)
    found.sort(key=lambda d: (d.at, d.run_id), reverse=True)
    return found


def _unknown_destination(destination: str, known: set[str]) -> UsageError:
    from reverse_etl.config.suggest import closest

    if not known:
        hint = "the history names no destination yet: 'retl sync' records one"
    else:
        near = closest(destination, known)
        listed = [*near, *sorted(known - set(near))]
        shown = ", ".join(listed[:10]) + (
            f" and {len(listed) - 10} more" if len(listed) > 10 else ""
        )
        said = f"did you mean '{near[0]}'? " if near else ""
        hint = f"{said}the history names {shown}"
    return UsageError(
        f"no destination '{destination}' in the history", key="--destination", hint=hint
    )


def destination_history(
    project: RunContext, destination: str, limit: int, *, sandbox: bool | None = None
) -> list[RunDestinationRecord]:
    found: list[RunDestinationRecord] = []
    for reader, _, _ in _readers(project, sandbox):
        found += reader.destination_history(destination, limit)
    found.sort(key=lambda d: (d.ended_at is None, d.ended_at, d.run_id))
    return found[-limit:]
