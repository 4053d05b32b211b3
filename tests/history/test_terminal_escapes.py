"""`retl runs show` and `retl runs find` print texts the history keeps from elsewhere: a
platform's message, the reason a row was invalid (which quotes the row's value: a currency
column holding an escape sequence), what stopped a run. Their control characters are shown
as escapes, on a terminal (rich) as in a pipe: an escape sequence is not passed to the
terminal (which would set its title, clear the screen), a carriage return does not write
over the line, a line break does not forge a row."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from reverse_etl.cli.output import Output
from reverse_etl.cli.runs_cmd import render_detail, render_found
from reverse_etl.history.records import (
    REJECTED,
    DeliveryRecord,
    RunDestinationRecord,
    RunDetail,
    RunRecord,
)
from reverse_etl.reporting.console import Console, PlainConsole, RichConsole, printable

AT = dt.datetime(2026, 12, 1, 9, tzinfo=dt.timezone.utc)
HOSTILE = "boom \x1b]0;pwned\x07\x1b[2J\rfake ok\nrow2\u202eevil\x9b"
UNSHOWN = ("\x1b", "\x07", "\r", "\u202e", "\x9b")


def _consoles() -> list[tuple[Console, io.StringIO]]:
    from rich.console import Console as RichTerminal

    plain_out, rich_out = io.StringIO(), io.StringIO()
    rich = RichTerminal(file=rich_out, width=400, color_system=None, force_terminal=False)
    return [(PlainConsole(plain_out, io.StringIO()), plain_out), (RichConsole(rich), rich_out)]


@pytest.mark.parametrize("which", [0, 1], ids=["plain", "rich"])
def test_runs_show_and_find_print_no_control_character_of_the_history(which: int) -> None:
    console, out = _consoles()[which]
    output = Output("text", False, console, False)
    run = RunRecord("r1", AT, AT, "retl sync", ("d",), 0, 1, 0, 0, 1, "0", False)
    destination = RunDestinationRecord(
        "r1", "d", "TikTok", "m", AT, 1, 0, 1, 0, 0, 0, None, HOSTILE
    )
    row = DeliveryRecord("r1", "d", "k1", "e1", REJECTED, 40002, HOSTILE, "req", AT)
    render_detail(output, RunDetail(run, (destination,), (row,), 1, (HOSTILE,)))
    render_found(output, "k1", [row])
    text = out.getvalue()
    for c in UNSHOWN:
        assert c not in text
    shown = printable(HOSTILE)
    assert shown == "boom \\x1b]0;pwned\\x07\\x1b[2J\\rfake ok\\nrow2\\u202eevil\\x9b"
    assert f"error: {shown}" in text  # what stopped it, one line
    assert text.count(shown) >= 2  # the destination's error, the row's reason (found too)
    assert "\nrow2" not in text  # no line the history's text made up


@pytest.mark.parametrize("which", [0, 1], ids=["plain", "rich"])
def test_message_lines_escape_what_a_terminal_acts_on_and_keep_their_line_breaks(
    which: int,
) -> None:
    """A sync's warnings and errors quote row values and platforms' answers (an invalid row's
    reason, a 4xx body): printed as lines, they keep their own line breaks and tabs but never
    pass an escape sequence, a carriage return or a bidi override to the terminal."""
    from rich.console import Console as RichTerminal

    out, err = io.StringIO(), io.StringIO()
    console: Console
    if which == 0:
        console = PlainConsole(out, err)
    else:
        console = RichConsole(
            RichTerminal(file=out, width=400, color_system=None, force_terminal=False),
            RichTerminal(file=err, width=400, color_system=None, force_terminal=False),
        )
    console.info("line one\n\tline two " + HOSTILE)
    console.warning("currency " + HOSTILE)
    console.error("platform said " + HOSTILE)
    text = out.getvalue() + err.getvalue()
    for c in UNSHOWN:
        assert c not in text
    assert "line one\n" in text  # its own line break (rich expands the tab)
    assert "line two boom \\x1b]0;pwned" in text
    assert "warning: currency boom \\x1b]0;pwned\\x07\\x1b[2J\\rfake ok\nrow2\\u202eevil" in text
    assert "error: platform said boom \\x1b" in text


def test_an_unexpected_errors_line_escapes_control_characters(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from reverse_etl.cli.output import _fail_line

    _fail_line("unexpected " + HOSTILE)
    err = capsys.readouterr().err
    for c in UNSHOWN:
        assert c not in err
    assert err.startswith("error: unexpected boom \\x1b]0;pwned")


@pytest.mark.parametrize("which", [0, 1], ids=["plain", "rich"])
def test_a_model_s_sql_and_a_title_print_no_control_character(which: int) -> None:
    """``retl compile`` prints a model's SQL (a project file, a pull request's), titled with
    its name: on a terminal, rich's syntax highlighting wrote an escape sequence in one of
    its literals to the terminal as it is (it set the title, cleared the screen)."""
    console, out = _consoles()[which]
    console.sql(f"m{HOSTILE} (models/m.sql)", f"select '{HOSTILE}' as a")
    console.table(f"t{HOSTILE}", ["c"], [["v"]])
    text = out.getvalue()
    for c in UNSHOWN:
        assert c not in text
    assert "\\x1b]0;pwned" in text
