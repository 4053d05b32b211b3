"""Reading the run history across the project's state stores: the state of real syncs and
the sandbox's own, newest first, with the runs the lock refused (recorded apart: see
``history/refused.py``). Read-only: nothing is created or locked."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING

from reverse_etl.errors import UsageError
from reverse_etl.history.read import HistoryReader
from reverse_etl.history.records import DeliveryRecord, RunDestinationRecord, RunDetail, RunRecord
from reverse_etl.history.refused import read_refused
from reverse_etl.pipeline.history import now, runs_folder
from reverse_etl.pipeline.stores import open_state, state_file
from reverse_etl.state.lock import SyncLock

if TYPE_CHECKING:
    from reverse_etl.pipeline.context import RunContext


def _readers(
    project: RunContext, sandbox_only: bool | None = None
) -> Iterator[tuple[HistoryReader, bool]]:
    """Each store's reader and whether a sync holds it now (the real state, then the
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
            busy = local and SyncLock.holder(path) is not None
            said = len(store.warnings)
            yield HistoryReader(store), busy
            for warning in store.warnings[said:]:  # found while reading (a damaged log file)
                project.console.warning(warning)


def runs(project: RunContext, limit: int) -> list[RunRecord]:
    found: list[RunRecord] = []
    for reader, busy in _readers(project):
        records = reader.runs(limit)
        if busy:  # the newest unfinished run is the one holding the lock
            records = [
                dataclasses.replace(r, running=True) if i == 0 and r.exit_code is None else r
                for i, r in enumerate(records)
            ]
        found += records
    found += _refused(project)
    found.sort(key=lambda r: (r.started_at, r.run_id), reverse=True)
    return found[:limit]


def _refused(project: RunContext) -> list[RunRecord]:
    """The runs the lock refused, within the history's retention."""
    days = project.config.history.retention_days
    return read_refused(runs_folder(project), now(project) - dt.timedelta(days=days))


def run_detail(project: RunContext, run_id: str) -> RunDetail | None:
    """One run by its id or a unique prefix of it (a UsageError names the ones it matches)."""
    matches: list[str] = []
    details: list[RunDetail] = []
    for reader, busy in _readers(project):
        ids = reader.run_ids(run_id)
        if run_id in ids:
            ids = [run_id]
        matches += ids
        if len(ids) == 1:
            details.append(_detail(reader, ids[0], busy))
    refused = [r for r in _refused(project) if r.run_id.startswith(run_id)]
    if any(r.run_id == run_id for r in refused):
        refused = [r for r in refused if r.run_id == run_id]
        matches, details = [], []
    matches += [r.run_id for r in refused]
    if len(refused) == 1:
        details.append(RunDetail(refused[0], (), ()))
    if len(matches) > 1:
        shown = ", ".join(matches[:5]) + (" ..." if len(matches) > 5 else "")
        raise UsageError(
            f"'{run_id}' matches {len(matches)} runs: {shown}",
            key="RUN",
            hint="give more of the run id ('retl runs' lists them)",
        )
    return details[0] if details else None


def _detail(reader: HistoryReader, run_id: str, busy: bool) -> RunDetail:
    run = reader.run(run_id)
    assert run is not None  # listed by run_ids just before, and nothing prunes meanwhile
    if busy and run.exit_code is None and reader.runs(1)[0].run_id == run.run_id:
        run = dataclasses.replace(run, running=True)
    rejected, total = reader.not_accepted(run.run_id)
    return RunDetail(run, tuple(reader.run_destinations(run.run_id)), tuple(rejected), total)


def deliveries(
    project: RunContext, key: str, destination: str | None = None
) -> list[DeliveryRecord]:
    found: list[DeliveryRecord] = []
    for reader, _ in _readers(project):
        found += reader.deliveries(key, destination)
    found.sort(key=lambda d: (d.at, d.run_id), reverse=True)
    return found


def destination_history(
    project: RunContext, destination: str, limit: int, *, sandbox: bool | None = None
) -> list[RunDestinationRecord]:
    found: list[RunDestinationRecord] = []
    for reader, _ in _readers(project, sandbox):
        found += reader.destination_history(destination, limit)
    found.sort(key=lambda d: (d.ended_at is None, d.ended_at, d.run_id))
    return found[-limit:]
