"""What every transpiled model must be before it reaches a warehouse: one query, written from
names sqlglot quotes, and (on Spark) calling no code.

A model may come from an untrusted pull request. sqlglot writes the name of a type it does not
know as it read it, without quotes: ``CAST(x AS "void), java_method(...) --")`` in a
DuckDB-dialect model became ``CAST(x AS void), java_method(...) --)`` in Spark SQL, a call the
check of the model's own tree never saw, and ``CAST(1 AS "oid) AS a; DROP TABLE t; SELECT
(1")`` three statements in PostgreSQL. So:

- ``refuse_odd_type_names``: a type name sqlglot does not know must be a plain, dotted name
  (``myschema.mytype``), checked on the model's tree;
- ``checked_output``: the SQL written for the warehouse is read again in the warehouse's
  dialect, and must be exactly one query, which the engine's own check (Spark's refusal of
  code) sees too. Whatever a rewrite or sqlglot's writer may let through, the text that runs
  is what is checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.tokenizer_core import TokenType

import reverse_etl.sqlglot_fixes  # noqa: F401  (sqlglot reads DuckDB SQL as DuckDB does)
from reverse_etl.errors import EngineError

_PLAIN_TYPE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_SHOWN = 60  # characters of an odd type name shown in the error (a model's text, not data)


def refuse_odd_type_names(tree: exp.Expr) -> None:
    """Raise for a type sqlglot does not know whose name is not plain (``"my type"``,
    anything with punctuation): written to the warehouse unquoted, it would be other SQL, or
    another type. Letters of either case pass: read unquoted, each engine folds them as
    DuckDB, which ignores the case of names, reads them."""
    for node in tree.find_all(exp.DataType):
        if node.this != exp.DataType.Type.USERDEFINED:
            continue
        name = str(node.args.get("kind") or "")
        if not _PLAIN_TYPE.fullmatch(name):
            shown = name if len(name) <= _SHOWN else name[:_SHOWN] + "..."
            raise EngineError(
                f"the type name {shown!r} is not a plain name: retl passes a type it does not "
                "know to the warehouse as written, and only a name of letters, digits and "
                "underscores (schema.type allowed) is written the same in every dialect",
                hint="use a built-in type (varchar, bigint, double, timestamp ...) or a plain "
                "lower-case type name",
            )


def model_query(sql: str, dialect: str, name: str, target: str) -> exp.Query:
    """Model ``name``'s text in the warehouse's own ``dialect`` (``target``: its name), to be
    run as written: its parsed tree, when sqlglot reads it as exactly one query. Anything
    else (two statements, a Spark SQL script's ``BEGIN ... END``, which Spark runs at once)
    is refused before it runs: a model is one SELECT."""
    try:
        text = without_final_semicolons(sql, dialect)
        trees = [t for t in sqlglot.parse(text, read=dialect) if t is not None]
    except SqlglotError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EngineError(
            f"cannot read model '{name}' as {target}, so it cannot be checked before it "
            f"runs: {first}",
            hint=f"write it in SQL that sqlglot's {dialect} dialect reads",
        ) from None
    if len(trees) != 1 or not isinstance(trees[0], exp.Query):
        raise EngineError(
            f"model '{name}' must be exactly one SELECT statement, found "
            + (f"{len(trees)} statements" if len(trees) != 1 else f"a {trees[0].key.upper()}"),
            hint="a model is one query: the rows to send",
        )
    return trees[0]


def without_final_semicolons(sql: str, dialect: str) -> str:
    """``sql`` up to its last token that is not a semicolon: a model's text that ends in
    ``;`` (and maybe a comment) put inside a subquery's parentheses, as written."""
    from sqlglot.dialects.dialect import Dialect

    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(sql)
    except SqlglotError:
        return sql  # said by model_query, which reads it next

    while tokens and tokens[-1].token_type == TokenType.SEMICOLON:
        tokens.pop()
    return sql[: tokens[-1].end + 1] if tokens else sql


def checked_output(
    sql: str, dialect: str, target: str, refuse: Callable[[exp.Expr], None] | None = None
) -> str:
    """``sql`` (written for ``dialect``, the warehouse's ``target`` name) when, read again as
    that dialect, it is exactly one query and ``refuse`` (the engine's own check) passes it.
    retl wrote ``sql`` from a model it had checked: anything else means the writing changed
    what the model says, so it is refused, never run."""
    try:
        trees = [t for t in sqlglot.parse(sql, read=dialect) if t is not None]
    except SqlglotError:
        raise EngineError(
            f"retl cannot read back the text it wrote in {target} for this model, so it "
            "cannot check it before it runs",
            hint="simplify the part of the model sqlglot translates oddly, and please report "
            "it with the model's SQL",
        ) from None
    if len(trees) != 1 or not isinstance(trees[0], exp.Query):
        raise EngineError(
            f"the text written in {target} for this model is not one query "
            f"({len(trees)} statements): its text is refused, never run",
            hint="a name in the model (a type, a column) was written unquoted; use plain "
            "names, and please report it with the model's SQL",
        )
    if refuse is not None:
        refuse(trees[0])
    return sql
