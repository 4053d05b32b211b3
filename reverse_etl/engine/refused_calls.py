"""What an engine refuses a model to call, as data, checked without a connection.

Each warehouse server's engine refuses models that call functions of its own dialect (Spark's
``read_files()``, PostgreSQL's ``pg_read_file()``: ``engine/spark_calls.py``,
``engine/pg_calls.py``) when it transpiles them, and ``retl validate`` says the same of the
models of a pull request, offline: the check reads the SQL with sqlglot only. Validation asks
``engine/factory.call_check`` for the check of the project's warehouse; nothing outside
``engine/`` knows an engine's list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

import reverse_etl.sqlglot_fixes  # noqa: F401  (sqlglot reads DuckDB SQL as DuckDB does)
from reverse_etl.errors import EngineError


@dataclass(frozen=True)
class RefusedCall:
    """A model's call its engine will not run. ``message`` holds the fix (a model's error
    keeps the message, not always the hint); ``name``: the function (or the data source) as
    the model spells it, lower case, to find it in the model's file; ``line``: the line of the
    checked text it is on, when known."""

    message: str
    name: str
    line: int | None = None
    hint: str | None = None

    def error(self) -> EngineError:
        return EngineError(self.message, hint=self.hint)


TreeCheck = Callable[[exp.Expr], RefusedCall | None]


def refuser(check: TreeCheck) -> Callable[[exp.Expr], None]:
    """``check`` as the engine runs it on the text it sends: raising its refusal, if any."""

    def refuse(tree: exp.Expr) -> None:
        found = check(tree)
        if found is not None:
            raise found.error()

    return refuse


def called_name(node: exp.Func) -> str:
    """The name ``node`` calls, lower case, however it is written (quoted, qualified by a
    schema: ``pg_catalog."pg_read_file"(...)``)."""
    return (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()


def line_of(node: exp.Expr) -> int | None:
    line = node.meta.get("line")
    return line if isinstance(line, int) else None


@dataclass(frozen=True)
class CallCheck:
    """An engine's refusal of calls (``check``, of a tree in its ``dialect``), for a model's
    text before anything runs."""

    dialect: str
    check: TreeCheck
    # a model's tree (not in ``dialect``) as the engine has it before it translates it: its
    # own rewrites (Spark's file readers as views) are no call of the model's
    prepare: Callable[[exp.Expr], exp.Expr] | None = None

    def refusal(self, sql: str, written: str) -> RefusedCall | None:
        """What the engine refuses of ``sql``, a model written in ``written``: its own tree
        first (located at its line), then its translation into the engine's dialect as
        sqlglot writes it, which is what the engine checks too (``sql_guard.checked_output``).
        None when it passes, or when sqlglot cannot read it (a parse error, said elsewhere)."""
        try:
            trees = [t for t in sqlglot.parse(sql, read=written) if t is not None]
        except (SqlglotError, ValueError, RecursionError):
            return None
        for tree in trees:
            found = self.check(tree)
            if found is not None:
                return found
        if written == self.dialect:
            return None
        try:
            if self.prepare is not None:
                trees = [self.prepare(t) for t in trees]
            text = ";\n".join(t.sql(dialect=self.dialect) for t in trees)
            again = [t for t in sqlglot.parse(text, read=self.dialect) if t is not None]
        except (SqlglotError, ValueError, RecursionError):
            return None
        for tree in again:
            found = self.check(tree)
            if found is not None:
                return replace(found, line=None)  # a line of the translation, not the model's
        return None
