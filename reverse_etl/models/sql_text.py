"""DuckDB's functions that run SQL given as text: a model may not call them.

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

Read from the tokens, not a regular expression: ``'the query (beta)'`` is a string, and
``"QUERY" /* c */ (...)`` and ``system.main.query(...)`` are calls.
"""

from __future__ import annotations

import re
from typing import Any

SQL_TEXT_FUNCTIONS = frozenset(
    {"query", "query_table", "json_execute_serialized_sql", "json_serialize_plan"}
)
_MAYBE = re.compile(r"query|serial", re.IGNORECASE)  # no token needed without one
_FALLBACK = re.compile(
    r"\b(" + "|".join(sorted(SQL_TEXT_FUNCTIONS)) + r")\b\W*\(", re.IGNORECASE
)  # text the tokenizer cannot read: any mention of a name before a parenthesis


def sql_text_call(sql: str) -> tuple[str, int] | None:
    """The first call in ``sql`` (DuckDB's) of a function that runs SQL given as text: its
    name, lower case, and the line (1-based) of ``sql`` it is on; None when there is none."""
    if not _MAYBE.search(sql):
        return None
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.errors import SqlglotError
    from sqlglot.tokenizer_core import TokenType

    import reverse_etl.sqlglot_fixes  # noqa: F401  (sqlglot reads DuckDB SQL as DuckDB does)

    try:
        tokens = Dialect.get_or_raise("duckdb").tokenize(sql)
    except SqlglotError:
        found = _FALLBACK.search(sql)
        if found is None:
            return None
        return found.group(1).lower(), sql.count("\n", 0, found.start()) + 1
    for i, token in enumerate(tokens[:-1]):
        name = token.text.lower()
        if name not in SQL_TEXT_FUNCTIONS or tokens[i + 1].token_type != TokenType.L_PAREN:
            continue
        if token.token_type == TokenType.STRING:
            continue  # a string is never called
        before = tokens[i - 1].token_type if i else None
        if before in (TokenType.ALIAS, TokenType.WITH):  # AS query(a): an alias's columns
            continue
        if _cte_columns(tokens, i + 1):  # WITH a AS (...), query(b) AS (...): a CTE
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
