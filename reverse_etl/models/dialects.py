"""A model written in another SQL dialect than the project's: ``{{ config(dialect='spark') }}``.

The project's models are written in one dialect (DuckDB's unless ``warehouse: {dialect: ...}``
says otherwise) and retl's own SQL wraps them in it. A model may declare its own dialect:

- on an engine that runs that dialect natively and says so (``capabilities.native_models``,
  Spark), the model runs **as written**, as a temporary view that retl's SQL reads by name;
- elsewhere sqlglot translates it into the project's dialect (a Spark model then also runs on
  the embedded DuckDB, e.g. for a local check), and an untranslatable construct is an error
  naming the model.

A model and the models it refs share one dialect, since upstream models are inlined in it as
CTEs: a mismatch is an error at compile time, naming both files.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, cast

from reverse_etl.engine.errors_text import sqlglot_problem
from reverse_etl.errors import EngineError, ModelError, Problem

if TYPE_CHECKING:
    from sqlglot import exp

    from reverse_etl.engine.base import Engine, ModelChecks, NativeModels, ProjectPaths
    from reverse_etl.models.compile import CompiledModel, Model


@cache
def known_dialects() -> frozenset[str]:
    """sqlglot's dialect names (``duckdb``, ``spark``, ``databricks``, ``postgres`` ...)."""
    from sqlglot.dialects.dialect import Dialects

    return frozenset(d.value for d in Dialects if d.value)


def model_dialect(model: Model, default: str) -> str:
    """The dialect ``model`` is written in."""
    return str(model.config.get("dialect") or default)


def check_dialects(models: Mapping[str, Model], default: str) -> None:
    """Every model's refs are written in its own dialect (they are inlined in it)."""
    problems: list[Problem] = []
    for model in models.values():
        mine = model_dialect(model, default)
        for ref in model.refs:
            up = models.get(ref)
            if up is None or model_dialect(up, default) == mine:
                continue
            theirs = model_dialect(up, default)
            problems.append(
                Problem(
                    f"model '{model.name}' is written in {mine} SQL but refs '{ref}', written "
                    f"in {theirs} SQL: a model's upstream models are inlined in its SQL, so "
                    "they share its dialect",
                    file=model.path,
                    key="config.dialect",
                    hint=f"add {{{{ config(dialect='{mine}') }}}} to {up.path.name} (and "
                    "write it in that dialect), or write this model in "
                    f"{theirs} SQL",
                )
            )
    if problems:
        raise ModelError.from_problems(problems)


# DuckDB's connectors to other databases, callable from any SQL once their extension is
# loaded (an attached PostgreSQL database loads it): a model calling one reaches a server of
# its choosing, which libpq hands PGPASSWORD or ~/.pgpass whatever RETL_ALLOWED_HOSTS says.
# Attached databases are read through their names (``crm.public.leads``), not these.
_CONNECTOR_CALL = re.compile(
    r"\b(?:postgres|mysql|sqlite)_(?:scan\w*|query|execute|attach)\s*\(", re.IGNORECASE
)


# What to do instead of calling a connector (the hint of its refusal).
CONNECTOR_FIX = (
    "attach the database under warehouse.attach in retl_project.yml and read its tables by "
    "name (name.schema.table)"
)


def connector_call(sql: str) -> tuple[str, int] | None:
    """The first database connector function ``sql`` calls (``_CONNECTOR_CALL``): its name
    as written and the line (1-based) it is on; None when there is none."""
    found = _CONNECTOR_CALL.search(sql)
    if found is None:
        return None
    return found.group(0).rstrip("( \t\n"), sql.count("\n", 0, found.start()) + 1


def connector_refusal(model: str, name: str) -> str:
    """What to say of model ``model``'s call of connector ``name`` (``refuse_connectors``,
    and ``retl validate`` in the same words)."""
    return (
        f"model '{model}' calls {name}(): a model reads other databases only through "
        "warehouse.attach"
    )


def refuse_connectors(compiled: CompiledModel) -> None:
    """A model may not call a database connector function (``_CONNECTOR_CALL``)."""
    found = connector_call(compiled.sql)
    if found is not None:
        raise ModelError(
            connector_refusal(compiled.name, found[0]),
            file=compiled.model.path,
            hint=CONNECTOR_FIX,
        )


def refuse_sql_text(compiled: CompiledModel, sql: str | None = None) -> None:
    """A model may not call a function that runs SQL given as text, nor one that changes the
    session or writes its files (``models/sql_text.py``): refused at the line of the model
    (maybe an upstream one) that calls it. ``sql``: the DuckDB SQL ``compiled``'s text was
    translated into, checked too."""
    from reverse_etl.models.sql_text import (
        session_call,
        session_refusal,
        sql_text_call,
        sql_text_refusal,
    )

    for find, say in ((sql_text_call, sql_text_refusal), (session_call, session_refusal)):
        model, line = compiled.model, None
        found = find(compiled.sql)
        if found is not None:
            origin = compiled.origin(found[1])
            if origin is not None:
                model, line = origin[0], _located(origin[0], origin[1], found[0])
        elif sql is not None:
            found = find(sql)
        if found is not None:
            raise ModelError(say(found[0]), file=model.path, line=line)


def refuse_engine_calls(compiled: CompiledModel, engine: Engine) -> None:
    """A model may not call what ``engine`` refuses to run (``engine/factory.call_check``:
    PostgreSQL's ``pg_read_file()``, Spark's ``read_files()`` ...): refused here, as
    ``validate`` says it, at the line of the model (maybe an upstream one) that calls it. The
    engine refuses it again as it transpiles (without a line)."""
    from reverse_etl.engine.factory import call_check

    check = call_check(engine.capabilities.dialect)
    if check is None:
        return
    found = check.refusal(compiled.sql, compiled.dialect or engine.model_dialect)
    if found is None:
        return
    model, line = compiled.model, None
    origin = compiled.origin(found.line) if found.line is not None else None
    if origin is not None:
        model, line = origin[0], _located(origin[0], origin[1], found.name)
    # the fix in the message: a model's error keeps the message, not the hint
    hint = f" ({found.hint})" if found.hint else ""
    raise ModelError(found.message + hint, file=model.path, line=line)


def _located(model: Model, line: int, name: str) -> int | None:
    from reverse_etl.models.lines import ModelLines

    return ModelLines(model).locate(line, name)


def query_for(compiled: CompiledModel, engine: Engine, tree: exp.Expr | None = None) -> str:
    """A SELECT in ``engine``'s model dialect that reads ``compiled``'s rows, its relative
    file paths the project's on an engine that would read them elsewhere (``ProjectPaths``).
    ``tree``: ``compiled.sql`` parsed in its dialect, when the caller has it."""
    refuse_connectors(compiled)
    refuse_engine_calls(compiled, engine)
    written = compiled.dialect
    target = engine.model_dialect
    if written is None or written == target:
        sql = compiled.sql
    elif engine.capabilities.native_models and written == engine.capabilities.dialect:
        native = cast("NativeModels", engine)
        return f"SELECT * FROM {native.native_view(compiled.name, compiled.sql)}"
    else:
        sql, tree = _translated(compiled, written, target), None
    refuse_sql_text(compiled, None if sql is compiled.sql else sql)
    if engine.capabilities.model_checks:
        _checked(compiled, cast("ModelChecks", engine), sql)
    if engine.capabilities.project_paths:
        local = cast("ProjectPaths", engine)
        rule = local.file_rule
        if rule is not None:
            tree = refuse_reads(compiled, sql, rule.base, rule.allows, tree, parses=local.parses)
        return local.project_paths(sql, tree)
    return sql


def _checked(compiled: CompiledModel, engine: ModelChecks, sql: str) -> None:
    """The engine's refusals of a model's own SQL (Spark: the text of a DOUBLE), at the
    model's file."""
    try:
        engine.check_model(sql)
    except EngineError as exc:
        hint = f" ({exc.hint})" if exc.hint else ""
        raise ModelError(exc.message + hint, file=compiled.model.path) from None


def refuse_reads(
    compiled: CompiledModel,
    sql: str,
    project_dir: Path,
    allows: Callable[[Path], bool],
    tree: exp.Expr | None = None,
    *,
    parses: Callable[[str], bool] | None = None,
) -> exp.Expr | None:
    """A model may read only the files models may read (``models/read_rule.py``), as
    ``validate`` says: refused at the line of the model (maybe an upstream one) that reads
    one. ``sql``: ``compiled``'s DuckDB SQL (its text, or its translation), ``tree`` its
    parsed form when the caller has it. The parsed form, for the caller to use again."""
    from reverse_etl.models.lines import ModelLines
    from reverse_etl.models.read_rule import refused_read

    if tree is None:
        tree = _parsed(sql)
    found = refused_read(sql, project_dir, allows, tree, parses)
    if found is None:
        return tree
    line, subject, message, hint = found
    model, at = compiled.model, None
    if sql is compiled.sql and line is not None:
        origin = compiled.origin(line)
        if origin is not None:
            lines = ModelLines(origin[0])
            at = lines.locate(origin[1], subject) or lines.locate(origin[1])
            model = origin[0]
    # the fix in the message too: a model's error keeps its message, not always its hint
    raise ModelError(f"{message} ({hint})", file=model.path, line=at)


def _parsed(sql: str) -> exp.Expr | None:
    """``sql`` parsed as DuckDB's, or None when sqlglot cannot read it."""
    import sqlglot
    from sqlglot.errors import SqlglotError

    import reverse_etl.sqlglot_fixes  # noqa: F401  (sqlglot reads DuckDB SQL as DuckDB does)

    try:
        return sqlglot.parse_one(sql, read="duckdb")
    except (SqlglotError, ValueError, RecursionError):
        return None


def _translated(compiled: CompiledModel, written: str, target: str) -> str:
    """``compiled``'s SQL, written in ``written``, translated into ``target``."""
    import sqlglot
    from sqlglot.errors import ErrorLevel, SqlglotError

    import reverse_etl.sqlglot_fixes  # noqa: F401  (sqlglot reads DuckDB SQL as DuckDB does)

    try:
        out = [
            s
            for s in sqlglot.transpile(
                compiled.sql,
                read=written,
                write=target,
                unsupported_level=ErrorLevel.RAISE,
                pretty=True,
            )
            if s.strip()
        ]
    except SqlglotError as exc:
        # (a position would count lines of the rendered SQL, not of the file)
        first = sqlglot_problem(exc, position=False)
        raise EngineError(
            f"cannot translate model '{compiled.name}' from {written} SQL to {target} SQL: {first}",
            hint=f"run it where {written} SQL runs natively, or write it in SQL both "
            "dialects accept",
        ) from None
    if len(out) != 1:
        raise EngineError(
            f"model '{compiled.name}' must be exactly one SELECT statement, found {len(out)}"
        )
    return str(out[0])
