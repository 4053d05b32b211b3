"""The CLI boundary: choosing a console, printing JSON, and turning errors into exit codes."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import orjson
import typer
from rich.console import Console as RichTerminal
from rich.markup import escape

from reverse_etl.errors import RetlError
from reverse_etl.reporting.console import Console, JsonConsole, PlainConsole, RichConsole
from reverse_etl.secrets import scrub, scrub_data

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

    def json(self, document: Any) -> None:
        # Scrubbed before and after encoding: a secret inside an error's text, and any form
        # of one that only the JSON encoding produces.
        text = orjson.dumps(scrub_data(document), option=orjson.OPT_INDENT_2, default=str)
        sys.stdout.write(scrub(text.decode()) + "\n")
        sys.stdout.flush()


def _fail_line(text: str) -> None:
    text = scrub(text)  # the unexpected error's text is an exception's, which may quote one
    if sys.stderr.isatty():
        RichTerminal(stderr=True, highlight=False).print(f"[bold red]error:[/] {escape(text)}")
    else:
        print(f"error: {text}", file=sys.stderr, flush=True)


@contextmanager
def boundary(out: Output) -> Iterator[None]:
    """Every command runs inside this: user errors exit 1, anything else 2."""
    try:
        yield
    except typer.Exit:
        raise
    except RetlError as exc:
        lines = exc.render_lines()
        for line in lines:
            _fail_line(line)
        if out.format == "json":
            out.json(
                {"ok": False, "error": exc.message, "problems": [_problem(p) for p in exc.problems]}
            )
        if out.debug:
            _traceback()
        raise typer.Exit(exc.exit_code) from None
    except BrokenPipeError:
        # The reader went away (`retl plan | head`): stop quietly, as Unix tools do on SIGPIPE.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise typer.Exit(141) from None
    except KeyboardInterrupt:
        _fail_line("interrupted")
        raise typer.Exit(130) from None
    except Exception as exc:  # the unexpected: never a silent success, never locals
        if out.debug:
            _traceback()
        _fail_line(
            f"unexpected {type(exc).__name__}: {exc} (this is a bug in retl; rerun with --debug "
            "for the traceback and report it)"
        )
        if out.format == "json":
            out.json({"ok": False, "error": f"unexpected {type(exc).__name__}"})
        UNEXPECTED.set()
        raise typer.Exit(2) from None


def _problem(p: Any) -> dict[str, Any]:
    return {
        "message": p.message,
        "file": str(p.file) if p.file is not None else None,
        "line": p.line,
        "key": p.key,
        "hint": p.hint,
        "severity": p.severity,
    }


def _traceback() -> None:
    # Rendered to text first: exception messages in the traceback may quote a secret.
    terminal = RichTerminal(stderr=True, record=True)
    with terminal.capture() as captured:
        terminal.print_exception(show_locals=False)
    sys.stderr.write(scrub(captured.get()))
    sys.stderr.flush()


def run(out: Output, fn: Callable[[], None]) -> None:
    with boundary(out):
        fn()
