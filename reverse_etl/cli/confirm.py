"""Confirming a full refresh or a state reset: what it would send again, and count twice.

The library hands the counts over as data (``ResendImpact``) and never prompts; here they
become a question on a terminal, or a refusal without one (CI) unless ``--yes`` was given.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import typer

from reverse_etl.cli.output import Output
from reverse_etl.errors import UsageError
from reverse_etl.state.dedup import ResendImpact


def describe(impact: ResendImpact) -> str:
    """One sentence: how many events go out again and how many the platform counts twice."""
    what = "sends again" if impact.action == "--full-refresh" else "makes the next sync send again"
    who = impact.platform
    return (
        f"{impact.action} {what} {impact.total_resent} event(s) {who} acknowledged before; "
        f"{who} will count {impact.total_double_counted} of them twice (first acknowledged "
        f"more than {impact.window_hours} hours ago, outside the deduplication window)"
    )


def _per_destination(impact: ResendImpact) -> list[str]:
    return [
        f"{name}: {impact.resent[name]} sent again, "
        f"{impact.double_counted.get(name, 0)} counted twice"
        for name in sorted(impact.resent)
        if impact.resent[name]
    ]


def can_prompt() -> bool:
    """Whether a person can answer: the question goes to stderr, the answer comes from
    stdin (stdout may be a pipe, as with ``--format json | jq``)."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def confirmer(out: Output, yes: bool) -> Callable[[ResendImpact], bool]:
    """The ``confirm`` callback for Project.sync and Project.state_reset."""

    def confirm(impact: ResendImpact) -> bool:
        if yes:  # said on stderr, or in the --format json document's warnings
            out.console.warning(describe(impact) + " (confirmed by --yes)")
            return True
        if not can_prompt():
            raise UsageError(
                describe(impact) + ": refused without a terminal to confirm on",
                key="--yes",
                hint="pass --yes to proceed",
            )
        for line in _per_destination(impact):
            typer.echo(line, err=True)
        return typer.confirm(describe(impact) + ". Proceed?", default=False, err=True)

    return confirm
