"""DuckDB's functions a model may not call: those that run SQL given as text, and those that
change the session or write its files (``SESSION_FUNCTIONS``).

A model may come from an untrusted pull request. Every check of what it reads (the files of
the project's folders, never hidden ones: docs/configuration.md) reads the model's own SQL;
``query('select content from read_text(''data/.env'')')`` hides a read in a string, which
DuckDB runs as SQL, and DuckDB's own rule (``allowed_directories``) allows the whole ``data``
folder, its hidden files too. So a model written in DuckDB SQL may not call one, wherever
it runs (``validate``, ``plan``, ``sync``, ``show``). These are DuckDB 1.5's, found in
``duckdb_functions()``:

- ``query(sql)`` and ``query_table(name)`` (a name is a file too: ``query_table('data/.x.csv')``);
- ``json_execute_serialized_sql(json_serialize_sql(sql))``;
- ``json_serialize_plan(sql)``, which binds the SQL it is given (reading a file's header).

DuckDB's table functions also change the connection every later statement of the run uses,
or write files, from inside a SELECT (``SESSION_FUNCTIONS``): ``enable_profiling()`` printed
a profile of each of retl's statements into ``plan``'s output, or wrote it to a file of the
project; ``enable_logging(storage='file', ...)`` with ``write_log(...)`` aborted the whole
process; ``checkpoint()`` writes the attached databases (the state); ``sleep_ms()`` and
``pg_sleep()`` stall the session. DuckDB's file rule
allows the project's folders, so none of these is stopped by it. A model reads rows: it may
call none of them either.

Read from the tokens, not a regular expression: ``'the query (beta)'`` is a string, and
``"QUERY" /* c */ (...)`` and ``system.main.query(...)`` are calls.
"""

from __future__ import annotations

import re
from typing import Any

SQL_TEXT_FUNCTIONS = frozenset(
    {"query", "query_table", "json_execute_serialized_sql", "json_serialize_plan"}
)
# DuckDB 1.5's functions (``duckdb_functions()``) a SELECT can call that change the session
# every later statement of the run uses, write a file, or read the log of the run's
# statements: what each does, for the message. (``duckdb_secrets()`` shows secrets redacted,
# and DuckDB will not unredact them: tests/warehouse/test_attach.py.)
SESSION_FUNCTIONS: dict[str, str] = {
    "enable_profiling": "it turns on profiling, written to retl's output or to a file",
    "disable_profiling": "it changes the session's profiling",
    "enable_logging": "it turns on DuckDB's log, which may be a file",
    "disable_logging": "it changes the session's log",
    "truncate_duckdb_logs": "it empties the session's log",
    "write_log": "it writes to DuckDB's log, which may be a file",
    "duckdb_logs": "it reads the log of the run's statements",
    "duckdb_logs_parsed": "it reads the log of the run's statements",
    "checkpoint": "it writes the attached databases' files (the state)",
    "force_checkpoint": "it writes the attached databases' files (the state)",
    "sleep_ms": "it stalls the session the run's statements use",
    "pg_sleep": "it stalls the session the run's statements use",
}
_MAYBE = re.compile(r"query|serial", re.IGNORECASE)  # no token needed without one
_SESSION_MAYBE = re.compile(r"profil|logg|_log|checkpoint|sleep", re.IGNORECASE)


def _fallback(names: frozenset[str], views: frozenset[str] = frozenset()) -> re.Pattern[str]:
    """Text the tokenizer cannot read: any mention of a name before a parenthesis (of a
    view's name, any mention)."""
    called = r"\b(" + "|".join(sorted(names)) + r")\b\W*\("
    bare = "".join(rf"|\b({re.escape(v)})\b" for v in sorted(views))
    return re.compile(called + bare, re.IGNORECASE)


_FALLBACK = _fallback(SQL_TEXT_FUNCTIONS)
_SESSION_VIEWS = frozenset({"duckdb_logs"})  # a view too: FROM duckdb_logs, no parentheses
_SESSION_FALLBACK = _fallback(frozenset(SESSION_FUNCTIONS), _SESSION_VIEWS)


def sql_text_call(sql: str) -> tuple[str, int] | None:
    """The first call in ``sql`` (DuckDB's) of a function that runs SQL given as text: its
    name, lower case, and the line (1-based) of ``sql`` it is on; None when there is none."""
    if not _MAYBE.search(sql):
        return None
    return _first_call(sql, SQL_TEXT_FUNCTIONS, _FALLBACK)


def session_call(sql: str) -> tuple[str, int] | None:
    """The first call in ``sql`` (DuckDB's) of one of ``SESSION_FUNCTIONS``: its name, lower
    case, and the line (1-based) of ``sql`` it is on; None when there is none."""
    if not _SESSION_MAYBE.search(sql):
        return None
    return _first_call(sql, frozenset(SESSION_FUNCTIONS), _SESSION_FALLBACK, _SESSION_VIEWS)


def _first_call(
    sql: str,
    names: frozenset[str],
    fallback: re.Pattern[str],
    views: frozenset[str] = frozenset(),
) -> tuple[str, int] | None:
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.errors import SqlglotError
    from sqlglot.tokenizer_core import TokenType

    import reverse_etl.sqlglot_fixes  # noqa: F401  (sqlglot reads DuckDB SQL as DuckDB does)

    try:
        tokens = Dialect.get_or_raise("duckdb").tokenize(sql)
    except SqlglotError:
        found = fallback.search(sql)
        if found is None:
            return None
        said = next(g for g in found.groups() if g is not None)
        return said.lower(), sql.count("\n", 0, found.start()) + 1
    for i, token in enumerate(tokens):
        name = token.text.lower()
        if name not in names or token.token_type == TokenType.STRING:
            continue  # a string is never called
        called = i + 1 < len(tokens) and tokens[i + 1].token_type == TokenType.L_PAREN
        if not called and name not in views:
            continue
        before = tokens[i - 1].token_type if i else None
        if before in (TokenType.ALIAS, TokenType.WITH):  # AS query(a): an alias's columns
            continue
        if called and _cte_columns(tokens, i + 1):  # WITH a AS (...), query(b) AS (...): a CTE
            continue
        return name, token.line
    return None


def _cte_columns(tokens: list[Any], start: int) -> bool:
    """Whether the parenthesis at ``start`` opens a CTE's column list: names and commas, then
    ``AS``, maybe ``[NOT] MATERIALIZED``, then the CTE's query in parentheses (no call reads
    so; a call's alias ``AS materialized (x)`` names columns, not a query)."""
    from sqlglot.tokenizer_core import TokenType

    i = start + 1
    while i < len(tokens) and tokens[i].token_type in (
        TokenType.VAR,
        TokenType.IDENTIFIER,
        TokenType.COMMA,
    ):
        i += 1
    if i + 1 >= len(tokens) or i == start + 1 or tokens[i].token_type != TokenType.R_PAREN:
        return False
    if tokens[i + 1].token_type != TokenType.ALIAS:
        return False
    i += 2
    while i < len(tokens) and tokens[i].text.lower() in ("not", "materialized"):
        i += 1
    # the CTE's query, not an alias's column list (query_table("t") AS materialized (x))
    body = (TokenType.SELECT, TokenType.WITH, TokenType.FROM, TokenType.VALUES, TokenType.L_PAREN)
    return (
        i + 1 < len(tokens)
        and tokens[i].token_type == TokenType.L_PAREN
        and tokens[i + 1].token_type in body
    )


def sql_text_refusal(name: str) -> str:
    """What to say of a model's call of ``name`` (one of ``SQL_TEXT_FUNCTIONS``), the fix
    included (a model's error keeps the message)."""
    return (
        f"a model may not call {name}(): it runs SQL given as text, which no check of the "
        "model's files sees (it reads hidden files such as data/.env); write that query in "
        "the model itself (a subquery, a CTE or a ref() of another model) and read a table "
        "or a file by its name (FROM t, read_csv('data/x.csv'))"
    )


def session_refusal(name: str) -> str:
    """What to say of a model's call of ``name`` (one of ``SESSION_FUNCTIONS``), the fix
    included (a model's error keeps the message)."""
    return (
        f"a model may not call {name}(): {SESSION_FUNCTIONS[name]}; a model only reads rows, "
        "and changes nothing of the session retl runs it in (remove the call)"
    )
