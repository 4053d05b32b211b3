"""Runs the lock refused (another sync held the state): the state and its history tables
belong to that sync, so a refused run is recorded in a small JSON file of its own beside the
run reports (``runs/<run_id>.refused.json`` in the state folder). Readers list the folder and
read these files alone (refusals are rare); ones older than ``history.retention_days`` are
left out, and removed when the next refusal is recorded, as the history tables prune theirs.

A ``retl state reset`` is recorded the same way (``runs/<id>.reset.json``: when, the command,
the rows forgotten per destination), so that the full re-send that follows it has its
explanation in the history: a reset of one destination leaves the other destinations' state,
and its history tables, as they are (and a whole reset may set a damaged file aside)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from reverse_etl import project_files
from reverse_etl.history.records import RunRecord
from reverse_etl.secrets import scrub_data

SUFFIX = ".refused.json"
RESET_SUFFIX = ".reset.json"
# A record is a few hundred bytes; one past this is no record of retl's (read no further).
MAX_RECORD_BYTES = 1024 * 1024
# Records read past the newest N a list asks for: runs of one second sort by their ids' rest.
EXTRA = 10


def write_refused(folder: Path, run: RunRecord, suffix: str = SUFFIX) -> Path:
    """Write ``run`` (its ``refused`` says why; or, with ``RESET_SUFFIX``, its ``forgotten``
    what a reset forgot) whole or not at all; raises OSError."""
    ended = run.ended_at
    run = dataclasses.replace(
        run, started_at=_aware(run.started_at), ended_at=None if ended is None else _aware(ended)
    )
    project_files.own_folder(folder, create=True)  # never a pull request's link
    path = folder / f"{run.run_id}{suffix}"
    document = orjson.dumps(scrub_data(run.to_dict()), option=orjson.OPT_INDENT_2)
    project_files.write_atomic(path, document)  # a temporary file of its own, renamed
    return path


def prune_refused(folder: Path, before: dt.datetime, suffix: str = SUFFIX) -> None:
    """Remove the records of refused runs that started before ``before`` (naive: UTC), as
    the history tables prune theirs; one that cannot be read or removed is left."""
    for record, path in _records(folder, suffix):
        if record.started_at < _aware(before):
            path.unlink(missing_ok=True)


def read_refused(
    folder: Path,
    since: dt.datetime,
    suffix: str = SUFFIX,
    *,
    newest: int | None = None,
    prefix: str = "",
) -> list[RunRecord]:
    """The refused runs (or resets) recorded in ``folder`` that started at or after ``since``
    (naive: UTC); a file that cannot be read is left out. ``newest``: only the files of the
    newest ``newest`` runs are read, told by their names (a run id begins with its start
    time, to the second), and ``EXTRA`` more (runs of the same second sort by the rest of
    their ids); ``prefix``: only those of the runs whose ids begin so. A folder of many
    thousand records (a checkout's) was read whole for each list of the last 50 runs."""
    since = _aware(since)
    names = _names(folder, suffix, prefix)
    if newest is not None:
        names = names[-(newest + EXTRA) :] if newest + EXTRA > 0 else []
    paths = [folder / name for name in names]
    return [record for record, _ in _records(folder, suffix, paths) if record.started_at >= since]


def _names(folder: Path, suffix: str, prefix: str = "") -> list[str]:
    """The records' file names in ``folder``, sorted (strings: a sort of many Paths is slow)."""
    # A folder that is a link (a pull request's) is refused: its target is never pruned.
    if not project_files.own_folder(folder):
        return []
    try:
        found = os.listdir(folder)
    except OSError:  # no folder yet, or none readable
        return []
    return sorted(n for n in found if n.endswith(suffix) and n.startswith(prefix))


def _records(
    folder: Path, suffix: str, paths: list[Path] | None = None
) -> Iterator[tuple[RunRecord, Path]]:
    """The records in ``folder`` (those of ``paths``, when given), with their files;
    unreadable ones left out (a committed symbolic link to ``/dev/zero``, or a pipe, is no
    regular file: not read)."""
    for path in [folder / n for n in _names(folder, suffix)] if paths is None else paths:
        try:
            data = project_files.read_bytes(path, max_bytes=MAX_RECORD_BYTES)
            yield _record(orjson.loads(data)), path
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            continue


def _record(doc: dict[str, Any]) -> RunRecord:
    events = doc["events"]
    return RunRecord(
        run_id=str(doc["run_id"]),
        started_at=_time(doc["started_at"]),
        ended_at=_time(doc["ended_at"]) if doc.get("ended_at") else None,
        command=str(doc["command"]),
        destinations=tuple(str(d) for d in doc["destinations"]),
        sent=int(events["sent"]),
        rejected=int(events["rejected"]),
        skipped_invalid=int(events["skipped_invalid"]),
        failed=int(events["failed"]),
        exit_code=None if doc["exit_code"] is None else int(doc["exit_code"]),
        retl_version=str(doc["retl_version"]),
        sandbox=bool(doc["sandbox"]),
        refused=None if doc.get("refused") is None else str(doc["refused"]),
        forgotten=_forgotten(doc.get("rows_forgotten")),
    )


def _forgotten(value: Any) -> tuple[tuple[str, int], ...] | None:
    if value is None:
        return None
    return tuple((str(name), int(n)) for name, n in dict(value).items())


def _time(value: str) -> dt.datetime:
    return _aware(dt.datetime.fromisoformat(value))


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)
