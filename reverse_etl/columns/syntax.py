"""SQL the parser cannot read, said as a person would: which token, where, what is missing.

sqlglot's own descriptions name its classes ("Required keyword: 'expression' missing for
<class 'sqlglot.expressions.core.And'>"); these name the token the user wrote and its column.
"""

from __future__ import annotations

import re
from dataclasses import replace

from sqlglot.errors import ParseError, SqlglotError, TokenError

from reverse_etl.columns.records import InferenceIssue

_HINT = "if DuckDB runs this SQL as it is, retl's checker lacks this syntax: please report it"
_TYPO = "DuckDB cannot read it either: correct the SQL there"
PREFIX = "syntax error"
_MISSING_QUOTE = re.compile(r"Missing (\S+) from (\d+):(\d+)")
_CLASS = re.compile(r"\s*for <class '[\w.]+'>")
# sqlglot's repr of a token: "<Token token_type: TokenType.SENTINEL, text: SENTINEL, line: 1,
# col: 1, start: 0, end: 0, comments: []>" (SENTINEL: the end of the query)
_TOKEN = re.compile(r"<Token token_type: TokenType\.(\w+), text: (.*?), line: \d+, col: \d+.*?>")


def syntax_issue(exc: SqlglotError, sql: str, dialect: str = "duckdb") -> InferenceIssue:
    """The first error of ``exc`` (raised parsing ``sql``) as a ``parse_error`` issue: the
    message names the token, ``line`` and ``column`` where it starts (in ``sql``). The
    message starts with ``PREFIX``: a column on the file's line goes after it. Its fix says
    whether DuckDB's own parser reads ``sql`` (a model in DuckDB's dialect): a typo is the
    user's to correct, SQL DuckDB reads is syntax retl's checker lacks."""
    issue = _issue(exc, sql)
    if issue.hint == _HINT and dialect == "duckdb" and not _duckdb_reads(sql):
        return replace(issue, hint=_TYPO)
    return issue


def _duckdb_reads(sql: str) -> bool:
    """Whether DuckDB's parser reads ``sql`` (no statement runs; nothing is looked up)."""
    from reverse_etl.engine.duckdb import parses  # the driver stays in engine/

    return parses(sql)


def _issue(exc: SqlglotError, sql: str) -> InferenceIssue:
    if isinstance(exc, TokenError):
        return _token_issue(exc, sql)
    misspelt = _misspelt_start(sql)
    if misspelt is not None:
        return misspelt
    first = exc.errors[0] if isinstance(exc, ParseError) and exc.errors else {}
    description = str(first.get("description") or exc)
    token = str(first.get("highlight") or "").strip()
    line = first.get("line") if isinstance(first.get("line"), int) else None
    end = first.get("col") if isinstance(first.get("col"), int) else None
    column = end - len(token) + 1 if end is not None and token and "\n" not in token else end
    shown = _quoted(token)
    if not token:
        message = f"{PREFIX}: {_plain(description)}"
    elif description.startswith("Invalid expression / Unexpected token"):
        message = f"{PREFIX}: unexpected {shown}"
    elif description.startswith("Required keyword:"):
        message = f"{PREFIX}: {shown} is incomplete: something is missing after it"
    elif description.startswith("Expecting "):
        expected = _quoted(description[len("Expecting ") :].strip())
        message = f"{PREFIX}: expected {expected} near {shown}"
    else:
        message = f"{PREFIX} near {shown}: {_plain(description)}"
    return InferenceIssue(
        "parse_error",
        message,
        line=line,
        hint=_HINT,
        subject=token or None,
        column=column,
    )


_LEADING = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.DOTALL)
_STARTS = ("select", "with", "from", "values", "pivot", "unpivot", "summarize", "describe")


def _misspelt_start(sql: str) -> InferenceIssue | None:
    """A model whose first word is a misspelt keyword ("selec"): sqlglot reads the word as a
    name and stumbles on the next token, a line later, with the "checker lacks this syntax"
    hint; said as the word it is."""
    import difflib

    start = _LEADING.match(sql)
    at = start.end() if start is not None else 0
    word = re.match(r"[A-Za-z_]+", sql[at:])
    if word is None or word.group(0).lower() in _STARTS:
        return None
    close = difflib.get_close_matches(word.group(0).lower(), _STARTS, n=1, cutoff=0.75)
    if not close:
        return None
    return InferenceIssue(
        "parse_error",
        f"{PREFIX}: the model starts with '{word.group(0)}': did you mean '{close[0]}'?",
        line=sql[:at].count("\n") + 1,
        hint="a model is one query, which starts with SELECT, WITH or FROM",
        subject=word.group(0),
        column=at - sql.rfind("\n", 0, at),
    )


def _token_issue(exc: TokenError, sql: str) -> InferenceIssue:
    cause = str(exc.__cause__ or "")
    quote = _MISSING_QUOTE.search(cause)
    if quote is not None:  # "Missing ' from LINE:OFFSET": the offset is the opening one's
        mark, start = quote.group(1), int(quote.group(3))
        return InferenceIssue(
            "parse_error",
            f"{PREFIX}: the {mark} opened here is never closed",
            line=sql[:start].count("\n") + 1,
            hint=f"close it with {mark}",
            column=start - sql.rfind("\n", 0, start),
            subject=mark,
        )
    at = exc.end if exc.end is not None else len(sql)
    return InferenceIssue(
        "parse_error",
        f"{PREFIX}: the SQL cannot be split into tokens (an unclosed comment or quote?)",
        line=sql[:at].count("\n") + 1,
        hint=_HINT,
    )


def _quoted(token: str) -> str:
    """A token in quotes, unless it is a quoted string or name already; cut when long."""
    token = token if len(token) <= 40 else token[:39] + "…"
    return token if token[:1] in ("'", '"') else f"'{token}'"


def _plain(description: str) -> str:
    """sqlglot's description without its class names, a token it quotes as its text."""
    text = _CLASS.sub("", description).strip()
    text = _TOKEN.sub(_token_text, text)
    return text[:1].lower() + text[1:]


def _token_text(found: re.Match[str]) -> str:
    kind, text = found.group(1), found.group(2)
    return "the end of the query" if kind == "SENTINEL" else _quoted(text)
