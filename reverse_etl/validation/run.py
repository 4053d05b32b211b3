"""``retl validate``: every selected destination's model checked statically.

compile (Jinja, sources as plain table names) -> the tables the models read -> their schemas
(engine catalog, declarations, dbt) -> each model inferred once (``analysis``) ->
``checks.check_columns`` per destination -> diagnostics located in model files. No model
runs, nothing is sent, no access token is read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from reverse_etl.columns import InferenceIssue, OutputColumn, TableRef
from reverse_etl.columns.records import column_sources
from reverse_etl.columns.syntax import PREFIX as SYNTAX_ERROR
from reverse_etl.config.destinations import DestinationConfig, load_destinations_partially
from reverse_etl.config.model_sources import shown_path
from reverse_etl.config.suggest import closest, did_you_mean
from reverse_etl.dbt import target_dir_for
from reverse_etl.destinations import registry
from reverse_etl.engine.factory import (
    ModelCheck,
    UntypedCheck,
    call_check,
    model_check,
    static_checks,
    untyped_check,
)
from reverse_etl.errors import ConfigError, EngineError, Problem
from reverse_etl.models.compile import ModelGraph, build_graph
from reverse_etl.models.dialects import (
    CONNECTOR_FIX,
    connector_call,
    connector_refusal,
    model_dialect,
)
from reverse_etl.models.read_rule import built_refusal, path_refusal, refused_read
from reverse_etl.models.sql_text import (
    session_call,
    session_refusal,
    sql_text_call,
    sql_text_refusal,
)
from reverse_etl.schemas import (
    DbtSchemas,
    DeclaredSchemas,
    EngineSchemas,
    PostgresSchemas,
    SchemaProvider,
)
from reverse_etl.validation.analysis import AnalysedModel, Analysis, analyse
from reverse_etl.validation.checks import CheckResult, Finding, check_columns
from reverse_etl.validation.file_reads import FileReader
from reverse_etl.validation.result import (
    ColumnRow,
    DestinationValidation,
    Diagnostic,
    TableSource,
    unique_errors,
)
from reverse_etl.validation.untyped import untyped_problem

if TYPE_CHECKING:  # the facade imports this module: no import of it at run time
    from reverse_etl.engine.duckdb import DuckDBEngine
    from reverse_etl.engine.refused_calls import CallCheck
    from reverse_etl.engine.typed import TableTypes
    from reverse_etl.validation.context import ValidatedProject

MODELS_DIR = "models"
WORKBENCH_DIALECT = "duckdb"  # DuckDBEngine.dialect (tests/test_startup_imports.py checks it)
PROJECT_FILE = "retl_project.yml"
_RANK = {"error": 0, "warning": 1, "note": 2}
_ISSUE_RULES = {
    "parse_error": "parse-error",
    "not_a_query": "parse-error",
    "unsupported": "parse-error",
    "unknown_table": "unknown-table",
    "table_function": "unknown-table",
    "unknown_column": "unknown-column",
    "unresolved_column": "unknown-column",
    "bad_type": "bad-type",
    "type_error": "parse-error",
}


@dataclass(frozen=True)
class _Context:
    project_dir: Path
    graph: ModelGraph
    analysis: Analysis
    declared: DeclaredSchemas
    notes: list[Problem]  # schema sources that could not be read
    missing: dict[TableRef, Problem]  # declared tables whose file does not exist
    refused: frozenset[TableRef]  # ... or is one models may not read (always an error)
    absent: dict[TableRef, Problem]  # declared tables the warehouse server does not have
    allows: Callable[[Path], bool]  # whether models may read a local file
    calls: CallCheck | None  # the warehouse server's refusal of a model's calls
    dialect: str  # the project's model dialect
    kind: str  # the warehouse's type (duckdb, postgres, spark)
    untyped: dict[str, Diagnostic | None] = field(default_factory=dict)  # by model, once
    refusals: dict[str, Diagnostic | None] = field(default_factory=dict)  # by model, once
    # by model, once: the engine's untyped expressions and refusal from one transpile
    static: dict[str, tuple[list[str], EngineError | None]] = field(default_factory=dict)


def validate_project(
    project: ValidatedProject,
    select: Sequence[str] = (),
    *,
    dbt_target: Path | None = None,
    offline: bool = False,
) -> list[DestinationValidation]:
    """Check each selected destination's model against its platform's catalog, statically.

    ``dbt_target``: a dbt project's ``target/`` folder, the last place schemas come from
    (default: the project's ``dbt:`` setting, when it has one). ``offline``: no warehouse
    server is asked (its catalog), schemas come from declarations and files only.
    """
    try:
        configs = project.select_destinations(select)
        config_problems: list[Problem] = []
    except ConfigError as exc:
        # destinations.yml has problems: check what can be checked, to say every one at once
        configs, config_problems = _readable_destinations(project, exc)
    graph = build_graph(
        project.dir / MODELS_DIR,
        vars=project.vars,
        source_resolver=project.sources.qualified_name,
        **project.graph_args(),
    )
    wh = project.config.warehouse
    notes: list[Problem] = []
    declared = DeclaredSchemas(project.sources)

    engine = EngineSchemas(
        lambda: _open_engine(project, notes),
        declared,
        warehouse=_warehouse_file(project) is not None,
    )
    providers: list[SchemaProvider] = [engine, declared]
    dbt = _dbt(project, dbt_target, notes)
    if dbt is not None:
        providers.append(dbt)
    kind = str(getattr(wh, "type", "duckdb"))
    server_schemas: PostgresSchemas | None = None
    if kind != "duckdb" and not offline:
        # A warehouse server's own catalog comes first (metadata queries only); without a
        # connection (no credentials in a pull request) declarations take over. Located as
        # sync says it: the setting's file, line and key (retl_project.yml:5 warehouse.port),
        # and its fix.
        def unreachable(exc: EngineError | ConfigError) -> Problem:
            return Problem(
                f"the {kind} warehouse's catalog was not read ({exc.message}): schemas come "
                "from declarations",
                file=exc.file if exc.file is not None else project.dir / PROJECT_FILE,
                line=exc.line if exc.file is not None else None,
                key=exc.key or "warehouse",
                hint=exc.hint,
                severity="note",
            )

        try:
            server = project.engine
        except (EngineError, ConfigError) as exc:
            notes.append(unreachable(exc))
        else:
            server_schemas = PostgresSchemas(server, notes, unreachable, declared)
            providers.insert(0, server_schemas)
    # The dialect models are written in (a warehouse server transpiles from it).
    dialect = str(getattr(wh, "dialect", None) or WORKBENCH_DIALECT)
    files = FileReader(project.dir, project.allows, engine.describe)
    try:
        analysis = analyse(graph, [c.model for c in configs], providers, dialect, files)
    finally:
        engine.close()
    missing, refused = _missing_files(analysis, declared, project.allows)
    absent = _absent_tables(server_schemas, declared, kind, project.dir)
    ctx = _Context(
        project.dir,
        graph,
        analysis,
        declared,
        notes,
        missing,
        refused,
        absent,
        project.allows,
        call_check(kind),
        dialect,
        kind,
    )
    results = [_validate_one(config, ctx) for config in configs]
    if config_problems:
        raise ConfigError.from_problems([*config_problems, *unique_errors(results)])
    return results


def _readable_destinations(
    project: ValidatedProject, error: ConfigError
) -> tuple[list[DestinationConfig], list[Problem]]:
    """The destinations whose settings could be read despite ``error`` (a destinations.yml
    with problems), and every problem; ``error`` itself when it is about something else."""
    try:
        loaded = load_destinations_partially(project.dir, project.vars)
    except ConfigError:
        raise error from None
    if not loaded.problems:
        raise error
    known = project.model_names()
    problems = list(loaded.problems)
    configs = []
    for d in loaded.configs:
        if d.model in known:
            configs.append(d)
            continue
        problems.append(
            Problem(
                f"model '{d.model}' not found",
                file=d.file,
                line=d.model_line or d.line,
                key=f"destinations.{d.name}.model",
                hint=did_you_mean(d.model, known) or "models: " + ", ".join(known),
            )
        )
    return configs, problems


def _absent_tables(
    server: PostgresSchemas | None, declared: DeclaredSchemas, kind: str, project_dir: Path
) -> dict[TableRef, Problem]:
    """Declared source tables that the warehouse server, asked, does not have (or does not
    show to retl's user): validation used their declared columns, and a sync fails there."""
    out: dict[TableRef, Problem] = {}
    for ref in server.absent if server is not None else ():
        decl = declared.declaration(ref)
        if decl is None or decl[0].name is None:
            continue
        src, table = decl
        at = declared.catalog.table_at(src, table)
        out[ref] = Problem(
            f"source('{src.name}', '{table.name}'): the {kind} warehouse has no table "
            f"{ref.db + '.' if ref.db else ''}{ref.name} that retl's user may read (validation "
            "used the declared columns; plan and sync will fail on it)",
            file=at.file if at is not None else project_dir / PROJECT_FILE,
            line=at.line if at is not None else None,
            key=at.key if at is not None else None,
            hint="check the source's schema and name (or identifier) against the warehouse, "
            "and that the user has USAGE on its schema and SELECT on it",
            severity="warning",
        )
    return out


def _missing_files(
    analysis: Analysis, declared: DeclaredSchemas, allows: Callable[[Path], bool]
) -> tuple[dict[TableRef, Problem], frozenset[TableRef]]:
    """Tables read from a local file (``external_location``) that does not exist or that
    models may not read (what ``retl sync`` refuses, said the same way), and which of them
    are refused."""
    out: dict[TableRef, Problem] = {}
    refused: set[TableRef] = set()
    catalog = declared.catalog
    for ref in dict.fromkeys(r for m in analysis.models.values() for r in m.tables):
        decl = declared.declaration(ref)
        if decl is None:
            continue
        found = catalog.file_problem(decl[0].name, decl[1].name, allows)
        if found is not None:
            out[ref] = found[0]
            if found[1]:
                refused.add(ref)
    return out, frozenset(refused)


def _warehouse_file(project: ValidatedProject) -> Path | None:
    wh = project.config.warehouse
    path = getattr(wh, "path", None) if getattr(wh, "type", "duckdb") == "duckdb" else None
    return project.resolve_path(path) if path else None


def _open_engine(project: ValidatedProject, notes: list[Problem]) -> DuckDBEngine | None:
    """A DuckDB of validate's own, over the warehouse file (read-only) when there is one.

    Not the facade's engine: that one attaches every configured database, PostgreSQL
    included, and validate makes no network call.
    """
    # Imported here: a project whose sources are all declared validates without DuckDB (#18).
    from reverse_etl.engine.duckdb import DuckDBEngine

    try:
        engine = DuckDBEngine(_warehouse_file(project))
    except EngineError as exc:
        notes.append(
            Problem(
                f"warehouse not read ({exc.message}): schemas come from declarations",
                file=project.dir / PROJECT_FILE,
                key="warehouse.path",
                severity="note",
            )
        )
        return None
    # A source's DESCRIBE reads only what a model may read: validate runs on pull requests,
    # and a file's header (a column name) would be said in its output.
    try:
        engine.restrict_files(*project.readable_files())
    except BaseException:
        engine.close()
        raise
    return engine


def _dbt(project: ValidatedProject, target: Path | None, notes: list[Problem]) -> DbtSchemas | None:
    setting = getattr(project.config, "dbt", None)
    if target is None and setting is not None:
        project_dir = project.resolve_path(setting.project_dir)
        target = (
            project_dir / setting.target_dir if setting.target_dir else target_dir_for(project_dir)
        )
    if target is None:
        return None
    try:
        return DbtSchemas(target)
    except ConfigError as exc:
        notes.append(
            Problem(
                f"dbt artifacts not read: {exc.message}",
                file=project.dir / PROJECT_FILE,
                key="dbt",
                hint=exc.hint,
                severity="note",
            )
        )
        return None


def _validate_one(config: DestinationConfig, ctx: _Context) -> DestinationValidation:
    # Through the registry and the Destination contract: no platform is named here.
    destination = registry.destination_for(config)
    rules = destination.rules()
    # The event source the rules are for, as destinations.yml spells it (WEB, website …).
    source = rules.source
    pk = destination.settings.primary_key
    chain = ctx.analysis.chain(ctx.graph, config.model)
    model = chain[-1]
    inferred = model.result
    checked = check_columns(
        inferred.columns,
        rules=rules,
        configured_key=[pk] if isinstance(pk, str) else (list(pk) if pk else None),
        model_key=model.model.primary_key,
        complete=inferred.complete,
        others=registry.other_catalogs(config.type),
    )
    # What stopped inference anywhere upstream matters here too: its columns flow down.
    refs = list(dict.fromkeys(r for m in chain for r in m.tables))
    schemas = ctx.analysis.schemas
    # A missing file: an error when nothing else tells the table's columns (it replaces the
    # unknown-table error), else a warning (validation used the declared columns; a run
    # cannot read the file). A file models may not read: an error (a run refuses it).
    missing = {r: ctx.missing[r] for r in refs if r in ctx.missing}
    diagnostics = [
        Diagnostic(
            "source-file",
            replace(p, severity="warning" if r in schemas and r not in ctx.refused else "error"),
        )
        for r, p in missing.items()
    ]
    diagnostics += [Diagnostic("source-table", ctx.absent[r]) for r in refs if r in ctx.absent]
    diagnostics += [Diagnostic("value-case", note) for note in config.notes]
    diagnostics += [Diagnostic("padded-value", p) for p in destination.config_warnings()]
    diagnostics += [d for m in chain if (d := _sql_text(m)) is not None]
    diagnostics += [d for m in chain if (d := _session_call(m)) is not None]
    diagnostics += [d for m in chain if (d := _connector_call(m)) is not None]
    diagnostics += [d for m in chain if (d := _warehouse_call(m, ctx)) is not None]
    diagnostics += [d for m in chain if (d := _macro_read(m, ctx)) is not None]
    diagnostics += [d for m in chain if (d := _warehouse_value(m, ctx)) is not None]
    diagnostics += [d for m in chain if (d := _untyped(m, ctx)) is not None]
    diagnostics += [
        _from_issue(i, m, ctx)
        for m in chain
        for i in m.result.issues
        if not (i.code == "unknown_table" and i.table in missing)
    ]
    if not inferred.complete:
        diagnostics.append(_incomplete(model, has_reason=bool(diagnostics)))
    diagnostics += [_from_finding(f, model, config, ctx) for f in checked.findings]
    tables = tuple(TableSource(str(r), schemas[r].origin if r in schemas else None) for r in refs)
    if any(t.origin != "warehouse" for t in tables):
        diagnostics += [Diagnostic("schemas-unavailable", p) for p in ctx.notes]
    diagnostics.sort(key=lambda d: _RANK.get(d.severity, 3))
    return DestinationValidation(
        destination=config.name,
        model=model.model.name,
        model_file=model.model.path,
        event_source=source,
        columns=_rows(checked, diagnostics, model, ctx),
        diagnostics=tuple(diagnostics),
        tables=tables,
        project_dir=ctx.project_dir,
        sources=column_sources(inferred.columns),
    )


def _sql_text(model: AnalysedModel) -> Diagnostic | None:
    """A model's call of a function that runs SQL given as text (``models/sql_text.py``),
    refused as ``plan``, ``sync`` and ``show`` refuse it."""
    found = sql_text_call(model.model.sql)
    if found is None:
        return None
    line = model.lines.locate(found[1], found[0])
    return Diagnostic(
        "sql-text", Problem(sql_text_refusal(found[0]), file=model.model.path, line=line)
    )


def _connector_call(model: AnalysedModel) -> Diagnostic | None:
    """A model's call of a database connector function (``postgres_query(...)``: SQL given
    as text to a server of its choosing), refused as ``plan``, ``sync`` and ``show`` refuse
    it (``models.dialects.refuse_connectors``)."""
    found = connector_call(model.model.sql)
    if found is None:
        return None
    line = model.lines.locate(found[1], found[0])
    problem = Problem(
        connector_refusal(model.model.name, found[0]),
        file=model.model.path,
        line=line,
        hint=CONNECTOR_FIX,
    )
    return Diagnostic("connector-call", problem)


def _session_call(model: AnalysedModel) -> Diagnostic | None:
    """A model's call of a function that changes the session, writes its files or reads its
    log (``models/sql_text.SESSION_FUNCTIONS``), refused as ``plan``, ``sync``
    and ``show`` refuse it."""
    found = session_call(model.model.sql)
    if found is None:
        return None
    line = model.lines.locate(found[1], found[0])
    return Diagnostic(
        "session-call", Problem(session_refusal(found[0]), file=model.model.path, line=line)
    )


def _warehouse_call(model: AnalysedModel, ctx: _Context) -> Diagnostic | None:
    """A model's call of a function its warehouse server's engine refuses to run (Spark's
    ``read_files()``, PostgreSQL's ``pg_read_file()``: ``engine/factory.call_check``),
    refused as ``plan``, ``sync`` and ``show`` refuse it; offline, sqlglot only."""
    if ctx.calls is None:
        return None
    written = model_dialect(model.model, ctx.dialect)
    found = ctx.calls.refusal(model.model.sql, written)
    if found is None:
        return None
    line = model.lines.locate(found.line, found.name) if found.line is not None else None
    if line is None:  # (in its translation): where the model's text spells the name, once
        line = model.lines.locate(1, found.name)
    return Diagnostic(
        "warehouse-call",
        Problem(found.message, file=model.model.path, line=line, hint=found.hint),
    )


def _untyped(model: AnalysedModel, ctx: _Context) -> Diagnostic | None:
    """The expressions of a model its warehouse server runs as written for want of their
    operands' types (a fraction cast to an integer truncated on Spark: the engine's
    ``untyped``), found from the schemas validate found (the server's catalog, else the
    declarations; the upstream models' inferred columns): what ``retl plan`` and ``retl
    sync`` warn of, in the same words. Offline too: sqlglot only. Once per model."""
    name = model.model.name
    if name not in ctx.untyped:
        ctx.untyped[name] = _untyped_of(model, ctx)
    return ctx.untyped[name]


def _untyped_of(model: AnalysedModel, ctx: _Context) -> Diagnostic | None:
    written = model_dialect(model.model, ctx.dialect)
    check: UntypedCheck | None = None if written == ctx.kind else untyped_check(ctx.kind, written)
    if check is None:  # DuckDB, or a model in the warehouse's own SQL: run as written
        return None
    both = _static_of(model, ctx, written)
    notes = both[0] if both is not None else check(model.model.sql, _table_types(model, ctx))
    said = untyped_problem(notes, ctx.kind, model.model.path)
    return Diagnostic("untyped-expression", said) if said is not None else None


def _table_types(model: AnalysedModel, ctx: _Context) -> TableTypes:
    """The types of the tables ``model`` reads, as validate found them (the server's
    catalog, else the declarations; an upstream model's inferred columns, when complete),
    for the engine's static checks of it (``untyped_with``, ``check_model_with``)."""
    upstream = {
        ref: {c.name: c.type.text for c in ctx.analysis.models[m].result.columns}
        for ref, m in model.reads.items()
        if m in ctx.analysis.models and ctx.analysis.models[m].result.complete
    }
    schemas = ctx.analysis.schemas

    def table_types(parts: tuple[str, str, str]) -> dict[str, str] | None:
        ref = TableRef.of(parts[2], parts[1] or None, parts[0] or None)
        if ref in upstream:
            return upstream[ref]
        found = schemas.get(ref)
        return dict(found.columns) if found is not None else None

    return table_types


def _warehouse_value(model: AnalysedModel, ctx: _Context) -> Diagnostic | None:
    """A model's expression whose value its warehouse server's engine would compute
    otherwise than the model's dialect means, and refuses (the engine's ``check_model``:
    Spark's text of a DOUBLE), found from the schemas validate found, as ``_untyped``
    finds its expressions: the error ``plan``, ``sync`` and ``show`` raise at the model's
    file, in the same words, located at its line where sqlglot kept it. Offline too:
    sqlglot only. Once per model."""
    name = model.model.name
    if name not in ctx.refusals:
        ctx.refusals[name] = _warehouse_value_of(model, ctx)
    return ctx.refusals[name]


def _warehouse_value_of(model: AnalysedModel, ctx: _Context) -> Diagnostic | None:
    written = model_dialect(model.model, ctx.dialect)
    check: ModelCheck | None = None if written == ctx.kind else model_check(ctx.kind, written)
    if check is None:  # DuckDB, PostgreSQL, or a model in the warehouse's own SQL
        return None
    both = _static_of(model, ctx, written)
    try:
        if both is None:
            check(model.model.sql, _table_types(model, ctx))
        elif both[1] is not None:
            raise both[1]
    except EngineError as exc:
        subject = getattr(exc, "subject", None)
        line = model.lines.locate(exc.line, subject) if exc.line is not None else None
        problem = Problem(exc.message, file=model.model.path, line=line, hint=exc.hint)
        return Diagnostic("warehouse-value", problem)
    return None


def _static_of(
    model: AnalysedModel, ctx: _Context, written: str
) -> tuple[list[str], EngineError | None] | None:
    """The engine's untyped expressions of ``model`` and its refusal of it, from one
    transpile (``static_checks``: the two checks each transpiled it whole, a validate of a
    Spark project took 70% longer); None for an engine without both. Once per model."""
    name = model.model.name
    if name not in ctx.static:
        both = static_checks(ctx.kind, written)
        if both is None:
            return None
        ctx.static[name] = both(model.model.sql, _table_types(model, ctx))
    return ctx.static[name]


def _macro_read(model: AnalysedModel, ctx: _Context) -> Diagnostic | None:
    """A model's table macro (``histogram('data/.hidden.csv', a)``) that reads a file models
    may not read (``read_rule``), refused as ``plan``, ``sync`` and ``show`` refuse it."""
    if "histogram" not in model.model.sql.lower():
        return None
    found = refused_read(model.model.sql, ctx.project_dir, ctx.allows, macros_only=True)
    if found is None:
        return None
    line, subject, message, hint = found
    at = model.lines.locate(line, subject) or model.lines.locate(line)
    return Diagnostic("unknown-table", Problem(message, file=model.model.path, line=at, hint=hint))


def _echoes_upstream(issue: InferenceIssue, upstream: str, ctx: _Context) -> bool:
    """Whether an issue about an upstream model only repeats that model's own problems.

    A column missing from an upstream model whose columns are all known is this model's
    mistake (``o.uaa`` for ``o.ua``), an error here, not an echo.
    """
    if issue.code != "unknown_column":
        return True
    analysed = ctx.analysis.models.get(upstream)
    return analysed is None or not analysed.result.complete or bool(analysed.result.issues)


def _from_issue(issue: InferenceIssue, model: AnalysedModel, ctx: _Context) -> Diagnostic:
    hint = issue.hint
    message = issue.message
    severity = "error"
    upstream = model.reads.get(issue.table) if issue.table is not None else None
    if upstream is not None and _echoes_upstream(issue, upstream, ctx):
        # The upstream model's own problems are listed too: this one is only their echo.
        message = f"the columns of model '{upstream}' are unknown (see its problems)"
        severity, hint = "note", None
    elif issue.code == "unknown_table" and issue.table is not None:
        hint = ctx.declared.hint_for(issue.table)
    elif issue.code == "table_function":
        read = issue.message.removeprefix("reads ").rpartition(" directly:")[0]
        refused = built_refusal(read) if issue.built else _refused_read(issue.paths, ctx)
        unread = ctx.analysis.unread.get(issue.paths)
        if refused is not None:  # declaring it as a source would not do: sync refuses it
            message, hint = refused
        elif unread is not None:  # a URL, a missing file: why it was not described
            message = f"{message}: {unread[0]}"
            hint = unread[1] or hint
    server_lacks = _declared_not_on_server(issue, model, ctx) if severity == "error" else None
    if server_lacks is not None:
        message, hint = server_lacks
    if issue.code == "bad_type":
        problem = Problem(message, file=ctx.project_dir / PROJECT_FILE, hint=hint)
        decl = ctx.declared.declaration(issue.table) if issue.table is not None else None
        where = (
            ctx.declared.catalog.column_type_at(*decl, issue.subject)
            if decl is not None and issue.subject is not None
            else None
        )
        if where is not None:
            problem = replace(problem, file=where.file, line=where.line, key=where.key)
        return Diagnostic("bad-type", problem)
    line = model.lines.locate(issue.line, issue.subject)
    if issue.code == "parse_error":
        # the token may be punctuation, spelt on many lines: the rendered line it is on
        line = model.lines.locate(issue.line)
        column = model.lines.column(line, issue, model.model.sql)
        if column is not None and message.startswith(SYNTAX_ERROR):
            message = f"{SYNTAX_ERROR} at column {column}{message[len(SYNTAX_ERROR) :]}"
    return Diagnostic(
        _ISSUE_RULES.get(issue.code, "parse-error"),
        Problem(message, file=model.model.path, line=line, hint=hint, severity=severity),
        # the column listing's row of the output column that reads it says the error too
        column=issue.output if severity == "error" else None,
    )


_LISTED_SERVER_COLUMNS = 12


def _declared_not_on_server(
    issue: InferenceIssue, model: AnalysedModel, ctx: _Context
) -> tuple[str, str] | None:
    """What to say of a column the model reads that retl_project.yml declares for a source
    table whose columns came from the warehouse server, which lacks it (renamed or dropped
    there), and its fix; None for any other unknown column. "Add the column to the table's
    declared columns" was the fix said: it is declared, the server is what lacks it."""
    if issue.code not in ("unknown_column", "unresolved_column") or issue.subject is None:
        return None
    name = issue.subject
    for ref in [issue.table] if issue.table is not None else model.tables:
        schema = ctx.analysis.schemas.get(ref)
        decl = ctx.declared.declaration(ref)
        if schema is None or schema.origin != "warehouse" or decl is None:
            continue
        src, table = decl
        written = next((c.name for c in table.columns if c.name.lower() == name.lower()), None)
        server = [n for n, _ in schema.columns]
        if written is None or name.lower() in (n.lower() for n in server):
            continue
        shown = ", ".join(server[:_LISTED_SERVER_COLUMNS])
        if len(server) > _LISTED_SERVER_COLUMNS:
            shown += f", … ({len(server) - _LISTED_SERVER_COLUMNS} more)"
        at = ctx.declared.catalog.column_at(src, table, written)
        where = (
            f"{shown_path(at.file, ctx.project_dir)}:{at.line} {at.key}"
            if at is not None and at.line is not None
            else ctx.declared.catalog.written_in(src.name)
        )
        message = (
            f"column '{name}' is declared for table {ref} ({where}), but the warehouse's "
            f"table has no such column: it has {shown}"
        )
        near = closest(name, server) or [n for n in server if name.lower() in n.lower()][:1]
        if near:
            hint = (
                f"was it renamed to '{near[0]}' on the server? rename it back there, or "
                f"change the declaration and the model to '{near[0]}'"
            )
        else:
            hint = (
                "was it renamed or dropped on the server? restore it there, or change the "
                "declaration and the model to a column the table has"
            )
        return message, hint
    return None


def _refused_read(paths: Sequence[str], ctx: _Context) -> tuple[str, str] | None:
    """What to say of the first path a model reads directly (``read_csv('../x.csv')``) that
    names a file models may not read or is a pattern matching one (``read_rule``, the rule
    of every command that runs a model), and the fix; None when it may read them all."""
    for written in paths:
        refused = path_refusal(written, ctx.project_dir, ctx.allows)
        if refused is not None:
            return refused
    return None


def _incomplete(model: AnalysedModel, *, has_reason: bool) -> Diagnostic:
    message = "the model's output columns could not all be listed"
    if has_reason:
        return Diagnostic(
            "incomplete",
            Problem(
                message + ": checks for missing columns were skipped",
                file=model.model.path,
                severity="note",
            ),
        )
    return Diagnostic(
        "incomplete",
        Problem(
            message,
            file=model.model.path,
            hint="name the output columns: a * over unnest() and COLUMNS() are only expanded "
            "when the model runs",
        ),
    )


def _locate(
    col: OutputColumn | None, model: AnalysedModel, ctx: _Context
) -> tuple[Path, int | None]:
    """The file and line of a column: in the model that defines it (maybe upstream)."""
    if col is None:
        return model.model.path, None
    where = ctx.analysis.models.get(col.model) if col.model else model
    where = where or model
    # A flattened struct field ("user.email") is written as its last part ('email': ...);
    # a column expanded from a star is written as the star.
    spelled = "*" if col.from_star else col.name.rsplit(".", 1)[-1]
    return where.model.path, where.lines.locate(col.line, spelled)


def _from_finding(
    f: Finding, model: AnalysedModel, config: DestinationConfig, ctx: _Context
) -> Diagnostic:
    if f.destination_key is not None:
        problem = Problem(
            f.message,
            file=config.file,
            line=config.line_of(f.destination_key),
            key=f"destinations.{config.name}.{f.destination_key}",
            hint=f.hint,
            severity=f.severity,
        )
    else:
        file, line = _locate(f.at, model, ctx)
        problem = Problem(f.message, file=file, line=line, hint=f.hint, severity=f.severity)
    return Diagnostic(f.rule, problem, f.column)


def _rows(
    checked: CheckResult,
    diagnostics: Sequence[Diagnostic],
    model: AnalysedModel,
    ctx: _Context,
) -> tuple[ColumnRow, ...]:
    worst: dict[str, str] = {}
    for d in diagnostics:
        if d.column is not None:
            current = worst.get(d.column)
            if current is None or _RANK[d.severity] < _RANK[current]:
                worst[d.column] = d.severity
    rows = []
    for placed in checked.placed:
        col = placed.column
        file, line = _locate(col, model, ctx)
        rows.append(
            ColumnRow(
                column=col.name,
                field=placed.field,
                role=placed.role,
                type=col.type.text,
                type_class=col.type.cls.value,
                file=file,
                line=line,
                values=tuple(sorted(col.values)) if col.values is not None else None,
                status=worst.get(col.name, "ok"),
            )
        )
    return tuple(rows)
