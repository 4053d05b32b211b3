"""The CLI boundary: choosing a console, printing JSON, and turning errors into exit codes."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn

import orjson
import typer

from reverse_etl import interrupts
from reverse_etl.destinations.shared.pii_text import mask_contacts, mask_text
from reverse_etl.errors import (
    EXIT_SIGINT,
    EXIT_SIGPIPE,
    EXIT_SIGTERM,
    Interrupted,
    Problem,
    RetlError,
    environment_error,
)
from reverse_etl.reporting.console import (
    Console,
    JsonConsole,
    PlainConsole,
    RichConsole,
    terminal_safe,
)
from reverse_etl.secrets import PROBLEM_ATTR, scrub, scrub_data

if TYPE_CHECKING:
    from reverse_etl.project import Project

Format = Literal["text", "json"]

# Set when a command ends on an unexpected error (exit 2), so that main() can tell it from a
# command-line usage error, which click also ends with status 2 and retl reports as 1.
UNEXPECTED = threading.Event()


@dataclass
class Output:
    """Where a command's output goes, decided once from --format and the terminal."""

    format: Format
    debug: bool
    console: Console
    rich: bool
    # The project's folder once a command opens it: files inside it are shown as the project
    # spells them (models/orders.sql:3), as validate's diagnostics are.
    root: Path | None = None
    # Set once the command's document is printed: an error after it (closing the project on
    # a full disk, a Ctrl-C) goes to stderr alone, so stdout stays one document.
    written: bool = False

    @classmethod
    def create(cls, fmt: str, debug: bool) -> Output:
        if fmt not in ("text", "json"):
            _fail_line(f"--format must be 'text' or 'json', not '{fmt}'")
            raise typer.Exit(1)
        if fmt == "json":
            return cls("json", debug, JsonConsole(), False)
        if sys.stdout.isatty():
            return cls("text", debug, RichConsole(), True)
        return cls("text", debug, PlainConsole(), False)

    def load(self, project_dir: Path, **kwargs: Any) -> Project:
        """Open the project (``Project.load``) with this output's console; from here on its
        files are shown relative to it."""
        from reverse_etl.project import Project

        self.root = Path(project_dir).expanduser().resolve()
        return Project.load(project_dir, console=self.console, **kwargs)

    def json(self, document: Any) -> None:
        """Print the one JSON document. The warnings shown while the command ran are in it
        (``warnings``, shaped as an error's ``problems``): stderr holds none of them."""
        if isinstance(self.console, JsonConsole) and isinstance(document, dict):
            shown = [problem_dict(p.shown_from(self.root)) for p in self.console.warnings]
            document = {**document, "warnings": shown}
            self.console.document_written = True
        # Scrubbed before and after encoding: a secret inside an error's text, and any form
        # of one that only the JSON encoding produces.
        text = orjson.dumps(scrub_data(document), option=orjson.OPT_INDENT_2, default=str)
        self.written = True
        sys.stdout.write(scrub(text.decode()) + "\n")
        sys.stdout.flush()

    def error_json(self, document: dict[str, Any]) -> None:
        """An error's document, unless the command's own was printed before the error (its
        lines on stderr say it then): stdout holds one document, never two."""
        if self.format == "json" and not self.written:
            self.json(document)


def _fail_line(text: str) -> None:
    # The unexpected error's text is an exception's, which may quote a secret; any error's
    # may quote a row's value or a project file's literal: e-mail addresses and phone numbers
    # masked (an IPv4 address here is the host to fix: kept, see ``mask_contacts``).
    # Its control characters are written as escapes (``terminal_safe``).
    text = terminal_safe(mask_contacts(scrub(text)))
    if sys.stderr.isatty():
        from rich.console import Console as RichTerminal  # lazy: start-up (issue #18)
        from rich.markup import escape

        RichTerminal(stderr=True, highlight=False).print(f"[bold red]error:[/] {escape(text)}")
    else:
        print(f"error: {text}", file=sys.stderr, flush=True)


@contextmanager
def signals_as_interrupt() -> Iterator[None]:
    """While a command runs, SIGTERM (what a CI job's timeout sends first) stops it the way
    Ctrl-C (SIGINT) does: an ``Interrupted`` is raised in the main thread, so a sync stops
    sending, records what was acknowledged and writes its run report. A line goes to stderr
    at once: requests in flight may take a moment to finish. While requests are in flight
    the signal is held instead (``reverse_etl.interrupts``): the sending loop stops at its
    next safe point and records their answers, then the sync raises it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        Interrupted.last_signal = name
        held = interrupts.hold(name)  # a sending loop takes it at its next safe point
        if held > 1:
            said = f"retl: {name} received again, still {interrupts.waiting()}\n"
        else:
            said = f"retl: {name} received, stopping\n"
        # os.write, not print: the signal may land while the main thread writes to stderr.
        with contextlib.suppress(OSError, ValueError):  # stderr is not a file in tests
            os.write(sys.stderr.fileno(), said.encode())
        if not held:
            raise Interrupted(name)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            if old is not None:  # None: not set from Python, nothing to restore
                signal.signal(sig, old)


class _LoggedWarnings(logging.Handler):
    """The warnings the library logs (a secret's whitespace removed, a credentials file's
    mode tightened) said through the command's console, as its other warnings are: in
    ``--format json``, in the document's ``warnings`` rather than on stderr, and a located
    one with its file as the project spells it."""

    def __init__(self, out: Output) -> None:
        super().__init__(logging.WARNING)
        self.out = out

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno != logging.WARNING:
            # An error's traceback (the sandbox's handler): on stderr as without this handler.
            if logging.lastResort is not None and not logging.getLogger().handlers:
                logging.lastResort.handle(record)
            return
        problem = getattr(record, PROBLEM_ATTR, None)
        if isinstance(problem, Problem):
            self.out.console.warning_at(problem.shown_from(self.out.root))
        else:
            self.out.console.warning(record.getMessage().removeprefix("warning: "))


@contextmanager
def _logged_warnings(out: Output) -> Iterator[None]:
    logger = logging.getLogger("reverse_etl")
    handler = _LoggedWarnings(out)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


@contextmanager
def boundary(out: Output) -> Iterator[None]:
    """Every command runs inside this: user errors exit 1 (a sync refused by another's lock
    75: see ``LockHeldError``), anything else 2."""
    try:
        with signals_as_interrupt(), _logged_warnings(out):
            yield
    except typer.Exit:
        raise
    except RetlError as exc:
        _user_error(out, exc)
    except BrokenPipeError:
        # The reader went away (`retl plan | head`): stop quietly, as Unix tools do on SIGPIPE.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise typer.Exit(EXIT_SIGPIPE) from None
    except KeyboardInterrupt as exc:
        _interrupted(out, exc)
    except Exception as exc:  # the unexpected: never a silent success, never locals
        interrupted = Interrupted.from_query(exc)  # a DuckDB query the signal landed in
        if interrupted is not None:
            _interrupted(out, interrupted)
        problem = environment_error(exc)  # a full disk, a read-only folder: not a bug
        if problem is not None:
            _user_error(out, problem)
        if out.debug:
            _traceback()
        _fail_line(
            f"unexpected {type(exc).__name__}: {_unexpected_text(exc)} (this is a bug in retl; "
            "rerun with --debug for the traceback and report it)"
        )
        out.error_json(
            _problem_document(
                f"unexpected {type(exc).__name__}",
                hint="this is a bug in retl; rerun with --debug for the traceback",
            )
        )
        UNEXPECTED.set()
        raise typer.Exit(2) from None


_DRIVERS = frozenset({"duckdb", "_duckdb", "psycopg", "pyspark", "py4j", "grpc"})


def _unexpected_text(exc: BaseException) -> str:
    """An unexpected exception's text with the values it quotes masked as a database error's
    are (``errors_text.redact_error``): a bug may let a raw engine error through. A database
    driver's own exception has every quoted text masked; another (Python's
    "'NoneType' object has no attribute 'x'") only what looks like data. Its secrets are
    masked first: a mask of a part of one (a token's digits, ``xoxb-<redacted>-...``) left
    the rest of it for ``scrub`` to miss."""
    from reverse_etl.engine.errors_text import redact_error

    driver = type(exc).__module__.split(".")[0] in _DRIVERS
    return redact_error(scrub(str(exc)), data=True if driver else None)


def error_document(exc: RetlError, root: Path | None = None) -> dict[str, Any]:
    """The ``--format json`` document of an error (files inside ``root`` relative to it);
    ``reason`` is the error's word for a machine (``locked``: exit 75), else null. Its texts
    are masked (``mask_text``) as the run report's are, whichever command printed it."""
    problems = [problem_dict(p.shown_from(root)) for p in exc.problems]
    error = mask_text(exc.message)
    return {"ok": False, "error": error, "problems": problems, "reason": exc.reason}


def _problem_document(message: str, hint: str | None = None) -> dict[str, Any]:
    """The error document of a run stopped by no ``RetlError`` (a signal, a bug): the same
    keys, so a CI step that reads ``problems`` finds one here too."""
    return error_document(RetlError(message, hint=hint))


def stop_with(out: Output, exc: RetlError, document: dict[str, Any]) -> NoReturn:
    """``exc`` said as every error is, with ``document`` (which holds its ``ok``, ``error``
    and ``problems``) as the ``--format json`` document: a sync's report of what it did
    before the error stopped it."""
    _user_error(out, exc, document)


def say_error(out: Output, exc: RetlError, document: dict[str, Any] | None = None) -> None:
    """``exc`` said as every user error is, without the exit: its lines on stderr and, in
    ``--format json``, its document (or ``document``) on stdout."""
    for line in exc.render_lines(out.root):
        _fail_line(line)
    out.error_json(error_document(exc, out.root) if document is None else document)


def _user_error(out: Output, exc: RetlError, document: dict[str, Any] | None = None) -> NoReturn:
    say_error(out, exc, document)
    if out.debug:
        _traceback()
    raise typer.Exit(exc.exit_code) from None


def _interrupted(out: Output, exc: KeyboardInterrupt) -> NoReturn:
    """Ctrl-C or SIGTERM: one line saying what was kept; exit 130 or 143."""
    signal_name = exc.signal_name if isinstance(exc, Interrupted) else "SIGINT"
    report = exc.report_path if isinstance(exc, Interrupted) else None
    text = "interrupted" if signal_name == "SIGINT" else f"terminated by {signal_name}"
    if report is not None and isinstance(exc, Interrupted):
        text += (
            f": stopped sending; {exc.kept} and {exc.rest} (run report: {report})"
            if exc.sent
            else f" before anything was sent (run report: {report})"
        )
    _fail_line(text)
    document = _problem_document(text)
    document["report_file"] = str(report) if report else None
    out.error_json(document)
    raise typer.Exit(EXIT_SIGINT if signal_name == "SIGINT" else EXIT_SIGTERM) from None


def problem_dict(p: Problem) -> dict[str, Any]:
    """A problem in a JSON document: an error's ``problems[]``, a warning's ``warnings[]``;
    e-mail addresses, ``+`` phone numbers and IPv4 addresses in its texts masked."""
    return {
        "message": mask_text(p.message),
        "file": str(p.file) if p.file is not None else None,
        "line": p.line,
        "key": p.key,
        "hint": None if p.hint is None else mask_text(p.hint),
        "severity": p.severity,
    }


def _traceback() -> None:
    # Rendered to text first: exception messages in the traceback may quote a secret, or a
    # row's value (an e-mail address, a phone number: masked as every error line's are).
    from rich.console import Console as RichTerminal

    terminal = RichTerminal(stderr=True, record=True)
    with terminal.capture() as captured:
        terminal.print_exception(show_locals=False)
    sys.stderr.write(mask_contacts(scrub(captured.get())))
    sys.stderr.flush()


def run(out: Output, fn: Callable[[], None]) -> None:
    with boundary(out):
        fn()
