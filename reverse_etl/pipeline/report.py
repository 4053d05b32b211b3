"""The run report: what a sync did, for people (the summary) and machines (JSON, one file
per run in the state folder, for CI artifacts)."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from reverse_etl import project_files
from reverse_etl.destinations.shared.pii_text import mask_text
from reverse_etl.errors import Problem
from reverse_etl.pipeline.plan import DestinationPlan
from reverse_etl.pipeline.send import DestinationResult
from reverse_etl.secrets import scrub, scrub_data


def new_run_id() -> str:
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{now}-{secrets.token_hex(3)}"


@dataclass
class SyncReport:
    """Everything a sync did: the plans it ran and what happened per destination."""

    plans: list[DestinationPlan]
    sandbox: bool
    run_id: str = field(default_factory=new_run_id)
    results: list[DestinationResult] = field(default_factory=list)
    sandbox_summary: Any = None
    error: str | None = None
    problems: tuple[Problem, ...] = ()  # the error's, located (file, line, key, fix)
    report_path: Path | None = None
    interrupted: str | None = None  # the destination that was sending when the run stopped
    # Why it never ran: another sync held the state's lock, or another process the state
    # file (exit 75). Not a failure: the next run goes ahead (history lists it as refused).
    refused: str | None = None
    # How long the sync that refused it had held the state's lock, when its lock said when
    # it began (a webhook's ``stuck_after`` reads it: a hung sync refuses every later run).
    lock_held_for: dt.timedelta | None = None

    @property
    def ok(self) -> bool:
        return (
            self.error is None
            and len(self.results) == len(self.plans)
            and all(r.ok for r in self.results)
        )

    def to_dict(self, root: Path | None = None) -> dict[str, Any]:
        """The run report; ``root``: the project, whose files its error's problems name
        relative to it (``--format json``; the file on disk keeps them whole, and ``retl
        runs show`` shortens them)."""
        done = {r.destination for r in self.results}
        return {
            "ok": self.ok,
            "run_id": self.run_id,
            "sandbox": self.sandbox,
            "error": masked(self.error),
            "problems": [_problem(p.shown_from(root)) for p in self.problems],
            "destinations": [r.to_dict() for r in self.results],
            "interrupted": self.interrupted,
            "not_run": [
                p.name for p in self.plans if p.name not in done and p.name != self.interrupted
            ],
            "report_file": str(self.report_path) if self.report_path else None,
        }


def masked(text: str | None) -> str | None:
    """A text of the run's error as its report and ``retl sync --format json`` give it:
    e-mail addresses, ``+`` phone numbers and IPv4 addresses masked (``mask_text``), as in
    every other text of the report, the history and ``retl runs show``. One rule for the
    ``error`` and its ``problems``: an address there may be configuration (a warehouse's
    host) as well as a person's, and a report cannot tell which (scrub_data then takes
    secrets out)."""
    return None if text is None else mask_text(text)


def _problem(problem: Problem) -> dict[str, Any]:
    """A problem of the run's error, as ``--format json`` gives one: masked (``masked``)."""
    return {
        "message": masked(problem.message),
        "file": None if problem.file is None else str(problem.file),
        "line": problem.line,
        "key": problem.key,
        "hint": masked(problem.hint),
    }


def masked_error_document(document: dict[str, Any]) -> dict[str, Any]:
    """An error's ``--format json`` document (``ok``, ``error``, ``problems``) with its texts
    masked as the run report's are: what ``retl sync`` prints when it stopped before sending,
    beside the report file it names."""
    problems = [
        {**p, "message": masked(p.get("message")), "hint": masked(p.get("hint"))}
        if isinstance(p, dict)
        else p
        for p in document.get("problems") or ()
    ]
    error = document.get("error")
    return {
        **document,
        "error": masked(error) if isinstance(error, str) else error,
        "problems": problems,
    }


def error_lines(document: dict[str, Any], root: Path | None = None) -> list[str]:
    """What a written report says of its run's error: one line per located problem (the
    message alone when it has none), as the command said it (files inside ``root``, the
    project, relative to it)."""
    lines = []
    for item in document.get("problems") or ():
        if isinstance(item, dict) and isinstance(item.get("message"), str):
            problem = Problem(
                item["message"],
                file=item.get("file"),
                line=item.get("line"),
                key=item.get("key"),
                hint=item.get("hint"),
            )
            lines.append(problem.shown_from(root).render())
    error = document.get("error")
    return lines or ([error] if isinstance(error, str) and error else [])


def write_report(folder: Path, report: SyncReport) -> Path:
    """Write the report as ``<folder>/<run_id>.json``; raises OSError when it cannot.

    Written to a temporary file first and renamed: a full disk leaves no file at all, never
    a report cut short (or empty) that a CI step would upload as if it were whole."""
    project_files.own_folder(folder, create=True)  # never a pull request's link
    path = folder / f"{report.run_id}.json"
    report.report_path = path
    document = orjson.dumps(scrub_data(report.to_dict()), option=orjson.OPT_INDENT_2, default=str)
    try:
        # A temporary file of its own (never a pull request's link, written through)
        project_files.write_atomic(path, scrub(document.decode()).encode())  # CI uploads it
    except BaseException:
        report.report_path = None
        raise
    return path
