"""The whole retl exception tree, in one place.

Errors are data: every user-facing error carries one or more :class:`Problem` records with the
file, line, key path and a fix. Only the CLI boundary turns them into text. Messages never
contain secret values: code that raises must pass names (``TIKTOK_ACCESS_TOKEN``), not values.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar

MAX_LISTED_PROBLEMS = 20

# The largest --limit a SQL LIMIT or an Arrow slice takes (a signed 64-bit count): a larger
# one (99999999999999999999, "all of them") is taken as this, never sent on to fail there.
MAX_LIMIT = 2**63 - 1

# A run refused because another sync holds the state's lock: sysexits.h's EX_TEMPFAIL ("try
# again later"), so that a scheduler can tell "skipped, the last run is still going" from a
# failure (exit 1).
EXIT_LOCKED = 75


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the user's input, located as precisely as we can."""

    message: str
    file: Path | str | None = None
    line: int | None = None
    key: str | None = None
    hint: str | None = None
    severity: str = "error"

    def location(self) -> str:
        parts: list[str] = []
        if self.file is not None:
            parts.append(str(self.file) + (f":{self.line}" if self.line else ""))
        if self.key:
            parts.append(self.key)
        return " ".join(parts)

    def shown_from(self, root: Path | None) -> Problem:
        """This problem with its file as the project spells it (``models/orders.sql``)
        when the file is inside ``root``, '/'-separated; else unchanged. Lexically: a path
        that leaves ``root`` through '..' (``<root>/../dbt/target/manifest.json``, a setting
        relative to the project) is outside it, and ``root`` itself is no file of it."""
        if self.file is None:
            return self
        shown = shown_file(self.file, root)
        return self if shown is None else replace(self, file=shown)

    def render(self) -> str:
        where = self.location()
        text = f"{where}: {self.message}" if where else self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


def shown_file(path: Path | str, root: Path | None) -> str | None:
    """``path`` as the project ``root`` spells it (``models/orders.sql``, '/'-separated), or
    None when it is not inside it (see ``Problem.shown_from``)."""
    if root is None:
        return None
    try:
        relative = Path(path).relative_to(root)
    except ValueError:
        return None
    if ".." in relative.parts or not relative.parts:
        return None
    return relative.as_posix()


@dataclass(eq=False)
class RetlError(Exception):
    """Root of every error retl raises on purpose. Exit code 1 at the CLI."""

    message: str
    file: Path | str | None = None
    line: int | None = None
    key: str | None = None
    hint: str | None = None
    problems: Sequence[Problem] = field(default_factory=tuple)
    exit_code: int = 1
    # A word a machine tells this error apart by: the JSON error document's ``reason``
    # (None for most errors, which the message and the exit code say enough about).
    reason: ClassVar[str | None] = None

    def __post_init__(self) -> None:
        super().__init__(self.message)
        if not self.problems:
            self.problems = (
                Problem(self.message, file=self.file, line=self.line, key=self.key, hint=self.hint),
            )

    @classmethod
    def from_problems(cls, problems: Iterable[Problem], summary: str | None = None) -> RetlError:
        items = tuple(problems)
        if not items:
            raise ValueError("from_problems needs at least one problem")
        first = items[0]
        message = summary or (first.message if len(items) == 1 else f"{len(items)} problems found")
        return cls(
            message,
            file=first.file,
            line=first.line,
            key=first.key,
            hint=first.hint,
            problems=items,
        )

    def render_lines(self, root: Path | None = None) -> list[str]:
        """Human text: one line per problem, long lists capped with '… and N more'; files
        inside ``root`` (the project) as the project spells them."""
        lines = [p.shown_from(root).render() for p in self.problems[:MAX_LISTED_PROBLEMS]]
        extra = len(self.problems) - MAX_LISTED_PROBLEMS
        if extra > 0:
            lines.append(f"… and {extra} more")
        return lines

    def __str__(self) -> str:
        return "\n".join(self.render_lines())


class ConfigError(RetlError):
    """retl_project.yml or destinations.yml is missing, unreadable or invalid."""


class ModelError(RetlError):
    """A model cannot be found, rendered (Jinja) or placed in the DAG."""


class EngineError(RetlError):
    """The warehouse refused a query or could not be reached."""


class ValidationFailed(RetlError):
    """Static validation of a model against its destination found errors."""


class InvalidRowsError(RetlError):
    """Rows failed row-level checks and skip_invalid_record is false: nothing was sent."""


class StateError(RetlError):
    """The sync state store is unreadable, from a newer retl, or locked."""


class LockError(StateError):
    """Another sync holds the lock on this state."""


@dataclass(eq=False)
class LockHeldError(LockError):
    """The lock is held by another sync now: this run was refused (and is recorded as such).
    Exit 75 (EX_TEMPFAIL), reason ``locked``: nothing is wrong, the next run goes ahead."""

    exit_code: int = EXIT_LOCKED
    reason: ClassVar[str | None] = "locked"
    # When the holding sync took the lock (UTC), as its lock says; None when not said.
    held_since: dt.datetime | None = None


class StateDamagedError(StateError):
    """The state file cannot be read: damaged, cut short, or not a DuckDB database."""


class DestinationError(RetlError):
    """The destination answered with an error. ``code`` is the API's own code, if any."""

    code: int | None = None
    transient: bool = False

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        hint: str | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint, key=key)
        self.code = code


class TransientDestinationError(DestinationError):
    """Worth retrying: rate limits, 5xx, time-outs, dropped connections."""

    transient = True

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        hint: str | None = None,
        key: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, code=code, hint=hint, key=key)
        self.retry_after = retry_after


class TerminalDestinationError(DestinationError):
    """Retrying will not help: permissions, bad configuration, rejected payloads."""


class AuthError(TerminalDestinationError):
    """The access token is missing, invalid or revoked: the user must re-authorise."""


class RequestFieldError(TerminalDestinationError):
    """The destination refused a top-level request field (``event_source_id``, say): its
    settings are wrong, not a row. ``field`` is the field in the API's spelling."""

    def __init__(
        self, message: str, *, field: str, code: int | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, code=code, hint=hint)
        self.field = field


class UsageError(RetlError):
    """The command line asked for something impossible (unknown --select name, bad option)."""


# Exit codes of a run stopped by a signal: 128 + the signal's number, as a shell reports it.
EXIT_SIGPIPE = 141  # the reader of the output went away (`retl sync | head`)
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) or SIGTERM, raised in the main thread like Ctrl-C's KeyboardInterrupt
    (the CLI turns SIGTERM into one). A sync raises it again once it has stopped sending,
    recorded what was acknowledged and written its run report (``report_path``)."""

    # The signal the CLI's handler raised one for last: DuckDB turns an exception raised in
    # the middle of its query into RuntimeError("Query interrupted"), which says none.
    last_signal: str | None = None

    def __init__(
        self,
        signal_name: str = "SIGINT",
        report_path: Path | None = None,
        *,
        rest: str = "",
        sent: bool = True,
        kept: str = "",
    ) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name
        self.report_path = report_path
        # Whether sending had begun: a sync stopped while the rows were still being read
        # from the warehouse (or encoded) had sent nothing, and says so.
        self.sent = sent
        # What the next sync does about the rows not sent (said after "stopped sending; ...")
        self.rest = rest or "the next sync sends the rest"
        # What the state kept of what was acknowledged (said after "stopped sending; ")
        self.kept = kept or "the events acknowledged before are recorded in the state"

    @classmethod
    def from_query(cls, exc: BaseException) -> Interrupted | None:
        """The interruption a DuckDB query reported as RuntimeError("Query interrupted")
        (the signal's handler raised inside the query), else None."""
        if isinstance(exc, RuntimeError) and str(exc).startswith("Query interrupted"):
            return cls(cls.last_signal or "SIGINT")
        return None


class EnvironmentProblem(RetlError):
    """The machine refused a file operation retl needs: a full disk, a read-only folder, a
    permission. Nothing the user wrote is wrong, but it is theirs to fix: exit 1, not a bug."""


_WHERE_WRITABLE = (
    "run retl where it may write, or set state.path in retl_project.yml to a writable folder"
)
_FREE_SPACE = "free some space, then run again"


# errno name -> (what happened, the fix); see environment_error.
def unreadable_text(
    exc: OSError | UnicodeDecodeError, text: str
) -> tuple[str, int | None, str | None]:
    """Why a project file could not be read as text, the line, and the fix: a file that is
    not UTF-8 says where (the first such byte's line) rather than the codec's own words."""
    if isinstance(exc, UnicodeDecodeError):
        data = exc.object
        line = bytes(data[: exc.start]).count(b"\n") + 1 if isinstance(data, bytes) else None
        return f"{text}: not UTF-8 text", line, "save the file as UTF-8"
    return f"{text}: {exc.strerror or exc}", None, None


_ENVIRONMENT_ERRNOS = {
    getattr(errno, name): meaning
    for name, meaning in (
        ("ENOSPC", ("the disk is full", _FREE_SPACE)),
        ("EDQUOT", ("the disk quota is used up", _FREE_SPACE)),
        ("EFBIG", ("the file grew past the size allowed", "raise the file size limit")),
        ("EROFS", ("the file system is read-only", _WHERE_WRITABLE)),
        ("EACCES", ("permission denied", _WHERE_WRITABLE)),
        ("EPERM", ("operation not permitted", _WHERE_WRITABLE)),
        # a file where retl keeps a folder (``.retl`` as a file): say what is in the way
        ("EEXIST", ("a file is where retl keeps a folder", "move that file away")),
        ("ENOTDIR", ("a file is where retl expects a folder", "move that file away")),
    )
    if hasattr(errno, name)
}


def environment_error(exc: BaseException) -> EnvironmentProblem | None:
    """``exc`` (an OSError, or one that caused ``exc``) said as a located user error when
    it is the environment's fault (ENOSPC, EROFS, EACCES, ...); None for anything else."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _ENVIRONMENT_ERRNOS:
            what, fix = _ENVIRONMENT_ERRNOS[current.errno]
            name = current.filename
            file = os.fsdecode(name) if isinstance(name, str | bytes) else None
            return EnvironmentProblem(what, file=file, hint=fix)
        current = current.__cause__ or current.__context__
    return None
