"""Consoles: how the library talks to people. The library never prints; it calls a Console.

``RichConsole`` on a terminal, ``PlainConsole`` for CI logs (no ANSI codes), ``NullConsole``
for tests and ``JsonConsole`` for ``--format json`` (where stdout must hold exactly one JSON
document, and the warnings go into it).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Protocol

from reverse_etl.destinations.shared.pii_text import mask_contacts
from reverse_etl.errors import Problem
from reverse_etl.reporting.progress import Counters, PlainProgress

# rich (~50 ms of imports) is loaded by the rich console only, when it is made: plain and JSON
# output and `retl --version` never load it (issue #18).
if TYPE_CHECKING:
    from rich.console import Console as RichTerminal


# Control characters (C0, DEL, C1) and the bidi overrides: a terminal acts on them (an escape
# sequence sets its title or clears the screen, a carriage return or a line break writes over
# a line or forges one, U+202E shows the rest backwards).
_UNSHOWN = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with each control character written as its escape (``\\x1b``, ``\\n``): a
    table cell is one line, and a platform's message or a row's value quoted in one (the
    delivery log's reasons) is untrusted text, not instructions to the terminal."""
    return _UNSHOWN.sub(_escaped, text)


# The same but for line breaks and tabs, which a message's own lines use.
_UNSHOWN_IN_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escaped(m: re.Match[str]) -> str:
    return m.group().encode("unicode_escape").decode("ascii")


def terminal_safe(text: str) -> str:
    """``text`` with the control characters a terminal acts on written as escapes, its line
    breaks and tabs kept: a message (a warning quoting a row's value or a platform's answer)
    is printed as written, never as instructions to the terminal."""
    return _UNSHOWN_IN_LINES.sub(_escaped, text)


class Console(Protocol):
    """The narrow interface the library uses for everything a person sees."""

    def info(self, text: str) -> None: ...

    def warning(self, text: str) -> None: ...

    def warning_at(self, problem: Problem) -> None:
        """A warning located in a file (``problem.file`` as the project spells it)."""
        ...

    def error(self, text: str) -> None:
        """What failed (a destination's run); the command's exit code says it too."""
        ...

    def sql(self, title: str, sql: str) -> None: ...

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None: ...

    def progress(self, title: str, total: int) -> Counters:
        """A delivery observer that shows progress; use it as a context manager."""
        ...


def shown(text: str) -> str:
    """A warning's or an error's text as a person sees it: e-mail addresses and ``+`` phone
    numbers masked (``mask_contacts``), as in the run report and the history. It may quote a
    row's value or a project file's (a pull request's) literal; the control characters a
    terminal acts on written as escapes (``terminal_safe``)."""
    return terminal_safe(mask_contacts(text))


class NullConsole:
    """Swallows everything (tests, JSON output)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, text: str) -> None:
        self.lines.append(text)

    def warning(self, text: str) -> None:
        self.lines.append("warning: " + text)

    def warning_at(self, problem: Problem) -> None:
        self.warning(problem.render())

    def error(self, text: str) -> None:
        self.lines.append("error: " + text)

    def sql(self, title: str, sql: str) -> None:
        self.lines.append(f"-- {title}\n{sql}")

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        self.lines.append(title)

    def progress(self, title: str, total: int) -> Counters:
        return Counters(title, total)


class JsonConsole(NullConsole):
    """For ``--format json``: stdout is reserved for the one JSON document. Warnings are kept
    for it (its ``warnings`` list, which a CI job reading stdout sees); only one given after
    the document was written, which it can no longer hold, is a line on stderr."""

    def __init__(self, err: IO[str] | None = None) -> None:
        super().__init__()
        self.err = err or sys.stderr
        self.warnings: list[Problem] = []
        self.document_written = False

    def warning(self, text: str) -> None:
        self.warning_at(Problem(text, severity="warning"))

    def warning_at(self, problem: Problem) -> None:
        super().warning(problem.render())
        if self.document_written:
            print(f"warning: {shown(problem.render())}", file=self.err, flush=True)
        else:
            self.warnings.append(problem)

    def error(self, text: str) -> None:
        super().error(text)
        print(f"error: {shown(text)}", file=self.err, flush=True)


class PlainConsole:
    """Line-oriented text without colour codes: CI logs and pipes."""

    def __init__(self, out: IO[str] | None = None, err: IO[str] | None = None) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr

    def info(self, text: str) -> None:
        print(terminal_safe(text), file=self.out, flush=True)

    def warning(self, text: str) -> None:
        print(f"warning: {shown(text)}", file=self.err, flush=True)

    def warning_at(self, problem: Problem) -> None:
        self.warning(problem.render())

    def error(self, text: str) -> None:
        print(f"error: {shown(text)}", file=self.err, flush=True)

    def sql(self, title: str, sql: str) -> None:
        print(f"-- {printable(title)}\n{terminal_safe(sql)}\n", file=self.out)

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        rows = [[printable(c) for c in row] for row in rows]
        widths = [len(c) for c in columns]
        for row in rows:
            for i, cell in enumerate(row):
                widths[i] = min(max(widths[i], len(cell)), 60)
        if title:
            print(printable(title), file=self.out)

        def fmt(cells: Sequence[str]) -> str:
            return "  ".join(_clip(c, w).ljust(w) for c, w in zip(cells, widths, strict=False))

        print(fmt(columns).rstrip(), file=self.out)
        print("  ".join("-" * w for w in widths), file=self.out)
        for row in rows:
            print(fmt(row).rstrip(), file=self.out)
        self.out.flush()

    def progress(self, title: str, total: int) -> Counters:
        return PlainProgress(title, total, self.err)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class RichConsole:
    """Colour, tables and syntax highlighting for a terminal."""

    def __init__(self, terminal: RichTerminal | None = None, err: RichTerminal | None = None):
        from rich.console import Console as RichTerminal

        self.term = terminal or RichTerminal()
        self.err = err or RichTerminal(stderr=True)

    def info(self, text: str) -> None:
        from rich.markup import escape

        self.term.print(escape(terminal_safe(text)))

    def warning(self, text: str) -> None:
        from rich.markup import escape

        self.err.print(f"[yellow]warning:[/yellow] {escape(shown(text))}")

    def warning_at(self, problem: Problem) -> None:
        self.warning(problem.render())

    def error(self, text: str) -> None:
        from rich.markup import escape

        self.err.print(f"[red]error:[/red] {escape(shown(text))}")

    def sql(self, title: str, sql: str) -> None:
        from rich.markup import escape
        from rich.syntax import Syntax

        # a model's text (a pull request's) as written, its control characters as escapes:
        # Syntax prints an escape sequence in a literal as it is, to the terminal
        self.term.rule(escape(printable(title)))
        self.term.print(Syntax(terminal_safe(sql), "sql", word_wrap=True))

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        from rich import box
        from rich.markup import escape
        from rich.table import Table

        rows = [[printable(c) for c in row] for row in rows]
        table = Table(title=escape(printable(title)) if title else None, box=box.SIMPLE_HEAD)
        for i, col in enumerate(columns):
            widest = max((len(r[i]) for r in rows if i < len(r)), default=0)
            # Short cells (names, IDs, counts) stay on one line; long ones (SQL, reasons) fold.
            table.add_column(escape(col), overflow="fold", no_wrap=widest <= 24)
        for row in rows:
            table.add_row(*(escape(c) for c in row))
        self.term.print(table)

    def progress(self, title: str, total: int) -> Counters:
        from reverse_etl.reporting.progress import RichProgress

        return RichProgress(title, total, self.err)


class CountedWarnings:
    """A console that counts the warnings it passes on (``retl validate --strict`` fails on
    those given while the project was read, outside the destinations' counts)."""

    def __init__(self, inner: Console) -> None:
        self.inner = inner
        self.warnings = 0

    def info(self, text: str) -> None:
        self.inner.info(text)

    def warning(self, text: str) -> None:
        self.warnings += 1
        self.inner.warning(text)

    def warning_at(self, problem: Problem) -> None:
        self.warnings += 1
        self.inner.warning_at(problem)

    def error(self, text: str) -> None:
        self.inner.error(text)

    def sql(self, title: str, sql: str) -> None:
        self.inner.sql(title, sql)

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        self.inner.table(title, columns, rows)

    def progress(self, title: str, total: int) -> Counters:
        return self.inner.progress(title, total)
