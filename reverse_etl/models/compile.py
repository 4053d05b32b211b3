"""Compile a project's models: render every file, build the DAG, inline upstream models as CTEs.

Each compiled model is one self-contained SELECT, so any engine runs it without views or
temporary tables, and ``retl compile`` shows exactly what runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reverse_etl import project_files
from reverse_etl.errors import EngineError, ModelError, Problem, unreadable_text
from reverse_etl.models import dbt_names
from reverse_etl.models.dag import ModelFile, discover_models, topo_order, upstream
from reverse_etl.models.dialects import check_dialects, model_dialect
from reverse_etl.models.lines import ModelLines
from reverse_etl.models.render import DEFAULT_TARGET, RenderContext, render_model

SourceResolver = Callable[[str, str], str]


@dataclass(frozen=True)
class Model:
    """One rendered model file."""

    name: str
    path: Path
    sql: str
    refs: tuple[str, ...]
    sources: tuple[tuple[str, str], ...]
    config: Mapping[str, Any] = field(default_factory=dict)
    # Warnings about its config() keys (dbt's that retl ignores or reads under another name).
    notes: tuple[Problem, ...] = ()
    vars: tuple[str, ...] = ()  # the project vars its var() calls read, as rendered

    @property
    def primary_key(self) -> tuple[str, ...] | None:
        pk = self.config.get("primary_key")
        if pk is None:
            return None
        return (pk,) if isinstance(pk, str) else tuple(str(c) for c in pk)


@dataclass(frozen=True)
class Segment:
    """Where one model's rendered SQL sits in a compiled model's SQL."""

    model: Model
    start: int  # 1-based line of the compiled SQL holding the model's first line
    lines: int


@dataclass(frozen=True)
class CompiledModel:
    """A model with its upstream models inlined: ``sql`` runs on its own."""

    model: Model
    sql: str
    upstream: tuple[str, ...]
    # (source, table) read by the model or any upstream model: named in its engine errors
    sources: tuple[tuple[str, str], ...] = ()
    # the models inlined in ``sql``, upstream first (empty: ``sql`` is the model's alone)
    segments: tuple[Segment, ...] = ()
    # the SQL dialect ``sql`` is written in (``config(dialect=...)``, else the project's)
    dialect: str | None = None

    @property
    def name(self) -> str:
        return self.model.name

    def origin(self, line: int) -> tuple[Model, int] | None:
        """The model and the line of its rendered SQL that line ``line`` of ``sql`` comes
        from. The ``)`` closing a model's CTE counts as its last line: a parser meeting an
        unfinished statement there (a dangling ``AND``) reports that line."""
        segments = self.segments or (Segment(self.model, 1, self.sql.count("\n") + 1),)
        for seg in segments:
            if seg.start <= line < seg.start + seg.lines:
                return seg.model, line - seg.start + 1
            if line == seg.start + seg.lines:
                return seg.model, seg.lines
        return None


@dataclass(frozen=True)
class ModelGraph:
    models: Mapping[str, Model]
    order: tuple[str, ...]
    # the project's model dialect: what a model without config(dialect=...) is written in
    dialect: str = "duckdb"

    def compiled(self, name: str) -> CompiledModel:
        model = self.models[name]
        ups = upstream(name, {n: m.refs for n, m in self.models.items()})
        ordered = tuple(n for n in self.order if n in ups)
        deps = [self.models[n] for n in ordered]
        sources = tuple(dict.fromkeys(s for m in (*deps, model) for s in m.sources))
        sql, segments = assemble(model, deps)
        dialect = model_dialect(model, self.dialect)
        return CompiledModel(model, sql, ordered, sources, segments, dialect)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def build_graph(
    models_dir: Path,
    *,
    vars: Mapping[str, Any],
    source_resolver: SourceResolver,
    ref_resolver: Callable[[str], str] = quote_ident,
    external_ref: Callable[[str, str | None, Any], str | None] | None = None,
    external_names: frozenset[str] = frozenset(),
    external_missing_hint: str | None = None,
    secret_env: frozenset[str] = frozenset(),
    target: Mapping[str, str] | None = None,
    dialect: str = "duckdb",
) -> ModelGraph:
    """Discover and render every model, then order them. All problems are reported together."""
    files = discover_models(models_dir)
    ctx = RenderContext(
        model_names=frozenset(files),
        vars=vars,
        relation_for_ref=ref_resolver,
        relation_for_source=source_resolver,
        external_ref=external_ref,
        external_names=external_names,
        external_missing_hint=external_missing_hint,
        secret_env=secret_env,
        target=target if target is not None else DEFAULT_TARGET,
        dbt_nodes=dbt_names.dbt_nodes(models_dir.parent),
    )
    models: dict[str, Model] = {}
    problems: list[Problem] = []
    for name, mf in files.items():
        try:
            models[name] = _render_file(mf, ctx)
        except ModelError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ModelError.from_problems(problems)
    order = topo_order(
        {n: m.refs for n, m in models.items()}, {n: m.path for n, m in models.items()}
    )
    check_dialects(models, dialect)
    return ModelGraph(models, tuple(order), dialect)


def _render_file(mf: ModelFile, ctx: RenderContext) -> Model:
    try:
        # utf-8-sig: a byte order mark (Windows editors write one) is no part of the SQL;
        # left in, the checker read the first statement as a syntax error to report to us.
        text = project_files.read_text(mf.path, "utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        message, line, hint = unreadable_text(exc, "cannot read model")
        raise ModelError(message, file=mf.path, line=line, hint=hint) from None
    result = render_model(mf.name, mf.path, text, ctx)
    sql = strip_sql(result.sql)
    if not _LEADING_COMMENTS.sub("", sql, count=1):  # nothing but comments is empty too
        raise ModelError(
            "model is empty", file=mf.path, hint="write one SELECT statement in the file"
        )
    return Model(
        mf.name,
        mf.path,
        sql,
        tuple(dict.fromkeys(result.refs)),
        tuple(dict.fromkeys(result.sources)),
        dict(result.config),
        tuple(result.notes),
        tuple(dict.fromkeys(result.vars)),
    )


_LEADING_COMMENTS = re.compile(r"^(\s*(--[^\n]*(\n|$)|/\*.*?\*/))*\s*", re.S)


def strip_sql(sql: str) -> str:
    """Trim whitespace and trailing semicolons."""
    return sql.strip().rstrip(";").rstrip()


def starts_with_cte(sql: str) -> bool:
    body = _LEADING_COMMENTS.sub("", sql, count=1)
    return re.match(r"with\b", body, re.I) is not None


def assemble(model: Model, deps: list[Model]) -> tuple[str, tuple[Segment, ...]]:
    """The model's SQL with ``deps`` inlined as CTEs, and where each model's lines are."""
    if not deps:
        return model.sql, ()
    parts: list[str] = []
    segments: list[Segment] = []
    line = 2  # "WITH "a" AS (" is line 1
    for d in deps:
        parts.append(f"{quote_ident(d.name)} AS (\n{d.sql}\n)")
        n = d.sql.count("\n") + 1
        segments.append(Segment(d, line, n))
        line += n + 2  # the closing ")," and the next CTE's header
    if starts_with_cte(model.sql):
        body = f"SELECT * FROM (\n{model.sql}\n) AS {quote_ident(model.name)}"
        line += 1
    else:
        body = model.sql
    line -= 1  # no next CTE header: the body follows the last ")"
    segments.append(Segment(model, line, model.sql.count("\n") + 1))
    return "WITH " + ",\n".join(parts) + "\n" + body, tuple(segments)


@contextmanager
def model_errors(
    compiled: CompiledModel, *, probe: Callable[[str], object] | None = None
) -> Iterator[None]:
    """Engine errors while a model runs name the model's file and the sources it reads (the
    engine has already masked the data values its message quoted).

    An error that quotes a line of the SQL (DuckDB's ``LINE 15: ...``) is blamed on the model
    whose SQL holds that line (an upstream model inlined as a CTE, maybe), at the line of its
    file. ``probe`` (the engine binding a statement without running it) runs the compiled SQL
    alone again: a syntax or binder error then quotes a line of exactly that SQL.
    """
    try:
        yield
    except EngineError as exc:
        if exc.file is not None or (exc.key or "").startswith("warehouse"):
            raise  # located already, or the warehouse's own (a server that does not answer)
        message, exact = exc.message, False
        if probe is not None:
            try:
                probe(compiled.sql)
            except EngineError as again:
                message, exact = again.message, True
        raise located_error(compiled, message, exact=exact) from None


# DuckDB's excerpt of the statement: "LINE 15: <the line, maybe cut with ...> ^" (the message
# arrives on one line: the caret line's indentation is one space).
_EXCERPT = re.compile(r"\s*\bLINE (\d+): (.*?) ?\^")
# Binder and catalog errors quote no line, only the name they could not resolve.
_NAMED = re.compile(
    r'Referenced column "([^"]+)" not found'
    r"|(?:Table|Function|Macro Function|Table Function) with name (\S+?) does not exist"
)


def located_error(compiled: CompiledModel, message: str, *, exact: bool) -> EngineError:
    """The engine's ``message`` as an error of the model (and line) it comes from.
    ``exact``: its line numbers count lines of ``compiled.sql`` itself."""
    culprit, line = compiled.model, None
    found = _EXCERPT.search(message)
    named = _NAMED.search(message)
    missing = _NO_RELATION.search(message)
    if found is not None:
        at = _compiled_line(compiled.sql, int(found.group(1)), found.group(2), exact=exact)
        origin = compiled.origin(at) if at is not None else None
        if origin is not None:
            culprit, line = origin[0], ModelLines(origin[0]).locate(origin[1])
            message = message[: found.start()] + message[found.end() :]
        else:  # the number counts lines of a statement wrapped around the model's SQL
            excerpt = found.group(2).strip()
            message = f"{message[: found.start()]} (at: {excerpt}){message[found.end() :]}"
    elif named is not None:
        culprit, line = _spelling(compiled, named.group(1) or named.group(2))
    elif missing is not None:
        culprit, line = _reading(compiled, missing.group(1))
        if line is not None:  # the LINE of the transpiled statement means nothing to the user
            message = _PG_LINE.sub("", message)
    elif exact and "at end of input" in message:
        line = ModelLines(culprit).locate(culprit.sql.count("\n") + 1)
    elif _CONNECTION_LOST.search(message):  # no line of the statement is known: its first
        line = ModelLines(culprit).locate(1)
    converting = _CSV_CONVERSION.search(message)
    if converting is not None:
        # DuckDB's advice after it (a null string, "a different type") is the file's reader's,
        # not the user's: the hint says what to do. The model is the one reading sources.
        message = (
            f"{converting.group('file')} line {converting.group('line')}: column "
            f"{converting.group('column')} holds a value that is not a {converting.group('type')}"
            f" (its data_type, or the type DuckDB took it for)"
        )
        readers = [seg.model for seg in compiled.segments if seg.model.sources]
        if line is None and len(readers) == 1:
            culprit = readers[0]
    if culprit is compiled.model:
        sources = compiled.sources
        context = ""
    else:
        sources = culprit.sources
        context = f" while running '{compiled.name}'"
    names = ", ".join(f"{s}.{t}" for s, t in sources)
    reads = f" (source{'s' if len(sources) > 1 else ''} {names})" if names else ""
    hint = _hint(message, culprit.name)
    encoding = _NOT_UTF8.search(message)
    if encoding is not None:  # DuckDB's "Possible Solution"s: the hint says what to do
        message = message[: encoding.end()] + "."
    return EngineError(
        f"model '{culprit.name}'{reads} failed{context}: {message.strip()}",
        file=culprit.path,
        line=line,
        hint=hint,
    )


# DuckDB's CSV reader on a value its column's type does not take: "CSV Error on Line: 2 of
# file /x/orders.csv Error when converting column "ordered_at". Could not convert string
# "<redacted>" to 'TIMESTAMP' ..." (the value already masked).
_CSV_CONVERSION = re.compile(
    r"CSV Error on Line: (?P<line>\d+) of file (?P<file>.+?) Error when converting column "
    r"\"(?P<column>[^\"]+)\"\. Could not convert string .*? to '(?P<type>[^']+)'",
    re.DOTALL,
)
# DuckDB's CSV reader on a file in another encoding: "CSV Error on Line: 2 of file /x.csv
# Invalid unicode (byte sequence mismatch) detected. This file is not utf-8 encoded."
_NOT_UTF8 = re.compile(r"of file (.+?) Invalid unicode .*not utf-8 encoded", re.IGNORECASE)


# PostgreSQL's missing table or view: 'relation "shop.orders" does not exist' (the name as the
# query wrote it, without its quotes). Its LINE counts lines of the transpiled statement.
_NO_RELATION = re.compile(r'\brelation "([^"]+)" does not exist')
_PG_LINE = re.compile(r" \(LINE \d+: [^\n]*?\)(?=;|$)")
# The warehouse went away while the rows were read (psycopg's words, or the server's own when
# an admin or a restart ended the session).
_CONNECTION_LOST = re.compile(
    r"lost the connection|terminating connection|server closed the connection"
    r"|connection to server .* failed|consuming input failed",
    re.IGNORECASE,
)


def _reading(compiled: CompiledModel, relation: str) -> tuple[Model, int | None]:
    """The one model (the model itself, or an upstream model inlined in it) whose SQL reads
    ``relation`` ("schema.table", quoted or not in the SQL), at the line of its file that
    does; else the model, without a line."""
    parts = relation.split(".")
    name = r"\.".join(r'"?' + re.escape(part) + r'"?' for part in parts)
    word = re.compile(r"(?<![\w.\"])" + name + r"(?![\w\"])", re.IGNORECASE)
    models = [seg.model for seg in compiled.segments] or [compiled.model]
    reading = [m for m in models if word.search(m.sql)]
    if len(reading) != 1:
        return compiled.model, None
    model = reading[0]
    lines = [i + 1 for i, text in enumerate(model.sql.split("\n")) if word.search(text)]
    return model, ModelLines(model).locate(lines[0]) if len(lines) == 1 else None


def _hint(message: str, model: str) -> str | None:
    """What to do about an engine error: the SQL that ran helps with most, not with a file
    in another encoding or one models may not read (whose message says the fix), nor with a
    table the warehouse does not have or a connection it lost (the SQL is not at fault)."""
    missing = _NO_RELATION.search(message)
    if missing is not None:
        return (
            f"check that {missing.group(1)} exists in the warehouse and that the role retl "
            "connects as may read it: GRANT USAGE on its schema and SELECT on it; or fix the "
            "source's schema or name where it is declared (retl_project.yml or a models/*.yml)"
        )
    if _CONNECTION_LOST.search(message):
        return "check that the warehouse is up and reachable from here, then run again"
    found = _NOT_UTF8.search(message)
    if found is not None:
        return (
            f"save {found.group(1)} as UTF-8, or read it with its encoding: "
            f"read_csv('...', encoding = 'latin-1') (or 'utf-16'), in the model or as the "
            "source's external_location (in retl_project.yml or the models/*.yml that declares "
            "it)"
        )
    if message.startswith("retl may not read"):
        return None
    if " holds a value that is not a " in message:  # located_error's CSV conversion
        return (
            "fix the value in the file; or declare the column as varchar (the source's "
            "data_type in retl_project.yml or the models/*.yml that declares it, or the "
            "reader's types) and convert it in the model "
            "with TRY_CAST or try_strptime, where a value that is not one becomes NULL"
        )
    return "run 'retl compile --select " + model + "' to see the SQL that ran"


def _spelling(compiled: CompiledModel, name: str) -> tuple[Model, int | None]:
    """The model that writes ``name`` (the model itself when it does, else the one upstream
    model that does) and the one line of its file that spells it."""
    models = [seg.model for seg in compiled.segments] or [compiled.model]
    word = re.compile(r"(?<![\w.])" + re.escape(name) + r"(?!\w)", re.IGNORECASE)
    spelled = [m for m in models if word.search(m.sql)]
    if compiled.model in spelled or len(spelled) != 1:
        return compiled.model, ModelLines(compiled.model).spelled(name)
    return spelled[0], ModelLines(spelled[0]).spelled(name)


def _compiled_line(sql: str, reported: int, excerpt: str, *, exact: bool) -> int | None:
    """The line of ``sql`` an engine reported as line ``reported`` of its statement, which
    holds ``sql`` somewhere below its first line (``exact``: ``sql`` is the statement). The
    excerpt must be that line: the nearest line of ``sql`` at or above ``reported`` that
    reads the same wins (a wrapper adds few lines above the model)."""
    lines = sql.split("\n")
    if exact:
        return reported if 1 <= reported <= len(lines) + 1 else None
    text = " ".join(excerpt.split())
    cut = text.startswith("...") or text.endswith("...")
    text = text.strip(".").strip() if cut else text
    if not text:
        return None
    for number in range(min(reported, len(lines)), 0, -1):
        written = " ".join(lines[number - 1].split())
        if written == text or (cut and text in written):
            return number
    return None
