"""parse -> qualify -> annotate_types -> output columns; problems as issues, never raised."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect, NormalizationStrategy
from sqlglot.errors import ParseError, SqlglotError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope
from sqlglot.schema import MappingSchema

import reverse_etl.sqlglot_fixes  # noqa: F401  (sqlglot reads DuckDB SQL as DuckDB does)
from reverse_etl import type_errors
from reverse_etl.columns.pivots import pivot_statements_as_selects
from reverse_etl.columns.records import (
    DEFAULT_CATALOG,
    DEFAULT_DB,
    InferenceIssue,
    InferenceResult,
    TableRef,
    TableSchemas,
    UpstreamModel,
    ref_of,
)
from reverse_etl.columns.sqltypes import parse_type, sql_type
from reverse_etl.columns.struct_stars import expand_struct_stars
from reverse_etl.columns.syntax import syntax_issue
from reverse_etl.columns.trace import (
    WINDOW_ALIASES,
    Context,
    line_of,
    mark,
    output_columns,
    run_time_columns,
)
from reverse_etl.config.suggest import did_you_mean
from reverse_etl.engine.file_paths import READERS, constant_text
from reverse_etl.sqlglot_fixes import keep_field_spelling


def parse_sql(sql: str, dialect: str = "duckdb") -> exp.Expr:
    """Parse exactly one statement. Raises sqlglot's ParseError (with line numbers)."""
    statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    if len(statements) != 1:
        raise ParseError(f"expected one statement, found {len(statements)}")
    return statements[0]


def tables_read(tree: exp.Expr) -> tuple[TableRef, ...]:
    """The physical tables a parsed query reads (not its CTEs, not table functions)."""
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    refs: dict[TableRef, None] = {}
    for table in tree.find_all(exp.Table, bfs=False):
        if not isinstance(table.this, exp.Identifier) or _file_read(table, "") is not None:
            continue  # read_csv(...), 'data/x.csv' and other table functions
        if not table.db and table.name.lower() in ctes:
            continue
        refs[TableRef.of(table.name, table.db, table.catalog)] = None
    return tuple(refs)


def _schema_for(
    schemas: TableSchemas,
    dialect: str,
    *,
    checked: set[TableRef],
    folded: Collection[TableRef] = (),
) -> tuple[MappingSchema, dict[tuple[TableRef, str], str], list[InferenceIssue]]:
    """sqlglot's schema, the columns' own spelling, and declared types it cannot read (only
    ``checked`` tables' types are checked: inferred ones are sqlglot's own). ``folded``:
    tables whose names were written by hand (declared, dbt's): where the dialect folds
    unquoted names, read as unquoted names, since nothing says they were quoted (a declared
    CustomerId is the server's customerid, as dbt reads it); the others' are exact."""
    nested: dict[str, Any] = {}
    original: dict[tuple[TableRef, str], str] = {}
    issues: list[InferenceIssue] = []
    lowercase = (
        Dialect.get_or_raise(dialect).NORMALIZATION_STRATEGY is NormalizationStrategy.LOWERCASE
    )
    for ref, columns in schemas.items():
        cols: dict[str, str] = {}
        for name, type_text in columns:
            readable = ref not in checked or parse_type(type_text, dialect) is not None
            if not readable:
                issues.append(
                    InferenceIssue(
                        "bad_type",
                        f"column {name} of {ref}: '{type_text}' is not a type sqlglot knows",
                        table=ref,
                        hint="fix its data_type (e.g. varchar, bigint, decimal(12,2), timestamp)",
                        subject=name,
                    )
                )
            exact = lowercase and ref not in folded
            cols[_exact(name, dialect if exact else None)] = type_text if readable else "UNKNOWN"
            original.setdefault((ref, name.lower()), name)
        catalog = nested.setdefault(ref.catalog or DEFAULT_CATALOG, {})
        catalog.setdefault(ref.db or DEFAULT_DB, {})[ref.name] = cols
    return MappingSchema(dict(nested), dialect=dialect), original, issues


def _exact(name: str, lowercase: str | None) -> str:
    """A column's name as sqlglot's schema reads it: as spelled. Where the dialect folds only
    unquoted names (``lowercase``: PostgreSQL's ``"Bb"`` is Bb, ``Bb`` is bb), a name with
    capitals is quoted; elsewhere names are case-insensitive, and simple names skip sqlglot's
    parser."""
    if lowercase is None or name == name.lower():
        return name
    return exp.to_identifier(name, quoted=True).sql(lowercase)


def infer_columns(
    sql: str | exp.Expr,
    *,
    schema: TableSchemas,
    dialect: str = "duckdb",
    upstream: Mapping[TableRef, UpstreamModel] | None = None,
    copy: bool = True,
    folded: Collection[TableRef] = (),
) -> InferenceResult:
    """The output columns of one SELECT, given the schemas of the tables it reads.

    ``upstream``: models the query reads by name, with their inferred columns (each model is
    inferred once, then read as a table by the models downstream). ``sql`` may be a tree from
    :func:`parse_sql`: it is copied, unless ``copy`` is False (the caller gives it away).
    ``folded``: tables of ``schema`` whose column names were written by hand (``_schema_for``).
    """
    upstream = upstream or {}
    if not isinstance(sql, str):
        return _infer_tree(sql.copy() if copy else sql, schema, dialect, upstream, folded)
    try:
        tree = parse_sql(sql, dialect)
    except SqlglotError as exc:  # ParseError, or TokenError for e.g. an unclosed quote
        return InferenceResult((), (syntax_issue(exc, sql, dialect),), complete=False)
    return _infer_tree(tree, schema, dialect, upstream, folded)


def _not_a_query(tree: exp.Expr) -> InferenceIssue:
    """A model that is no query: DuckDB's bare VALUES and PIVOT forms return rows, but no
    column names known before they run; anything else is a statement, not rows."""
    if isinstance(tree, exp.Values):
        hint = (
            "a bare VALUES has no column names: write "
            "SELECT * FROM (VALUES (...)) AS t(event, event_id, ...)"
        )
        return InferenceIssue("not_a_query", "the model is a bare VALUES, not a SELECT", hint=hint)
    if isinstance(tree, exp.Pivot):
        hint = (
            "a PIVOT's columns come from the data: write SELECT with one "
            "sum(...) FILTER (WHERE ...) AS name per column instead"
        )
        return InferenceIssue("not_a_query", "the model is a PIVOT, not a SELECT", hint=hint)
    return InferenceIssue(
        "not_a_query", "the model is not a SELECT", hint="a model is one query: the rows to send"
    )


def _infer_tree(
    tree: exp.Expr,
    schema: TableSchemas,
    dialect: str,
    upstream: Mapping[TableRef, UpstreamModel],
    folded: Collection[TableRef] = (),
) -> InferenceResult:
    if not isinstance(tree, exp.Query):
        return InferenceResult((), (_not_a_query(tree),), complete=False)
    known = {
        **schema,
        **{ref: [(c.name, c.type.parseable) for c in m.columns] for ref, m in upstream.items()},
    }
    mapping, original, issues = _schema_for(known, dialect, checked=set(schema), folded=folded)
    issues += _unknown_tables(tree, known, dialect)
    try:  # every rewrite of the tree under the one net below: no traceback for a model
        if dialect == "duckdb":
            keep_field_spelling(tree)
            pivot_statements_as_selects(tree)
        expand_struct_stars(tree, mapping, dialect, db=DEFAULT_DB, catalog=DEFAULT_CATALOG)
        mark(tree, dialect)
        tree = qualify(
            tree,
            dialect=dialect,
            schema=mapping,
            db=DEFAULT_DB,
            catalog=DEFAULT_CATALOG,
            validate_qualify_columns=False,
            quote_identifiers=False,
        )
        with type_errors.collected() as refused:
            tree = annotate_types(tree, schema=mapping, dialect=dialect)
        issues += _type_errors(refused)
        root = build_scope(tree)
        if root is None:  # pragma: no cover - a Query always has a scope
            raise SqlglotError("no scope")
        issues += _unresolved_columns(root, known)
        issues += _ambiguous_window_aliases(root, known)
        columns, complete = output_columns(root, Context(dialect, original, upstream))
    except SqlglotError as exc:
        issue = _optimize_issue(exc, tree, known)
        return InferenceResult((), (*issues, issue), complete=False)
    except Exception as exc:
        # sqlglot's optimizer meets arbitrary user SQL; if it trips over one model, that model
        # is reported as not analysable and every other model is still validated.
        issue = InferenceIssue(
            "unsupported",
            f"sqlglot could not analyse the query ({type(exc).__name__}: {exc})",
            hint="please report it with the model's SQL",
        )
        return InferenceResult((), (*issues, issue), complete=False)
    return InferenceResult(tuple(columns), tuple(issues), complete)


# Table functions that read files (engine/file_paths.READERS: DuckDB's readers, of a file's
# rows, metadata or name) or other databases (postgres_scan, st_read …): their columns are
# the data's.
_OTHER_READERS = re.compile(r"(read_\w+|\w+_scan|st_read)", re.IGNORECASE)
_FILE_NAME = re.compile(r".*(/|\.(csv|tsv|parquet|json|jsonl|ndjson)(\.gz)?$)", re.IGNORECASE)


def _file_read(table: exp.Table, dialect: str) -> tuple[str, tuple[str, ...], bool] | None:
    """What a file-reading relation reads (``read_csv(...)``, ``'data/x.csv'``), the paths
    it names as written (its first argument's texts) and whether one is built when the model
    runs (not a string), else None.

    Generators such as ``range(5) AS t(i)`` define their columns in the query itself: they
    are not unknown tables (their types may be, which the checks say).
    """
    fn = table.this
    if isinstance(fn, exp.Identifier):
        if fn.quoted and _FILE_NAME.fullmatch(fn.name):
            return f"the file {fn.name}", (fn.name,), False
        return None
    text = fn.sql(dialect, normalize_functions="lower") if fn is not None else table.sql()
    name = text.split("(", 1)[0]
    if name.lower() not in READERS and not _OTHER_READERS.fullmatch(name):
        return None
    first = fn.this if isinstance(fn.this, exp.Expr) else next(iter(fn.expressions), None)
    items = first.expressions if isinstance(first, exp.Array) else [first]
    # strings joined ('data/' || 'x.csv') are known before the model runs: checked as paths
    paths = tuple(t for i in items if i is not None and (t := constant_text(i)) is not None)
    return text[:80], paths, first is not None and len(paths) != len(items)


def _unknown_tables(tree: exp.Expr, schema: TableSchemas, dialect: str) -> list[InferenceIssue]:
    known = set(schema)
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    seen: set[str] = set()
    out: list[InferenceIssue] = []
    for table in tree.find_all(exp.Table, bfs=False):
        found = _file_read(table, dialect)
        if found is not None:
            read, paths, built = found
            if read not in seen:
                seen.add(read)
                out.append(
                    InferenceIssue(
                        "table_function",
                        f"reads {read} directly: its columns are unknown",
                        line=line_of(table),
                        hint="declare the file as a source (external_location and columns "
                        "with data_type) and read it with source()",
                        paths=paths,
                        built=built,
                    )
                )
            continue
        if not isinstance(table.this, exp.Identifier):
            continue  # a generator: range(), generate_series() …
        if not table.db and table.name.lower() in ctes:
            continue
        ref = TableRef.of(table.name, table.db, table.catalog)
        if ref not in known and str(ref) not in seen:
            seen.add(str(ref))
            out.append(
                InferenceIssue(
                    "unknown_table",
                    f"the columns of table {ref} are unknown",
                    line=line_of(table),
                    table=ref,
                    subject=table.name,
                )
            )
    return out


def _type_errors(refused: Sequence[type_errors.Refused]) -> list[InferenceIssue]:
    """What the type annotation found DuckDB would refuse, once per expression."""
    seen: set[int] = set()
    out: list[InferenceIssue] = []
    for node, template, types in refused:
        if id(node) not in seen:
            seen.add(id(node))
            message = template.format(*(sql_type(t).text for t in types))
            hint = "cast the items to one type (e.g. CAST(x AS VARCHAR))"
            out.append(InferenceIssue("type_error", message, line=line_of(node), hint=hint))
    return out


def _optimize_issue(exc: SqlglotError, tree: exp.Expr, schema: TableSchemas) -> InferenceIssue:
    text = str(exc)
    if not text.startswith("Unknown column: "):
        return InferenceIssue("unsupported", f"sqlglot cannot resolve the query: {text}")
    name = text.removeprefix("Unknown column: ").strip()
    col = next((c for c in tree.find_all(exp.Column) if c.name.lower() == name.lower()), None)
    tables = {t.alias_or_name: t for t in tree.find_all(exp.Table)}
    table = tables.get(col.table) if col is not None and col.table else None
    # A CTE read by name is a Table node too: its columns are its query's.
    queries = [
        q.this
        for q in tree.find_all(exp.Subquery, exp.CTE)
        if col is not None
        and q.alias_or_name.lower() in {col.table.lower(), table.name.lower() if table else ""}
        and isinstance(q.this, exp.Query)
    ]
    if table is not None and ref_of(table) in schema:
        queries = []
    where = f"table {ref_of(table)}" if table is not None else "the table it is read from"
    known: Sequence[str] = ()
    if queries:
        where, known, table = f"'{col.table if col else ''}'", queries[0].named_selects, None
    elif table is not None:
        known = [n for n, _ in schema.get(ref_of(table), ())]
    return InferenceIssue(
        "unknown_column",
        f"column '{name}' is not in {where}",
        line=line_of(col),
        table=ref_of(table) if table is not None else None,
        hint=did_you_mean(name, known)
        or "check the spelling, or add the column to the table's declared columns",
        subject=name,
    )


def _unresolved_columns(root: Scope, schema: TableSchemas) -> list[InferenceIssue]:
    """Columns qualify() could not place although every table's schema is known."""
    out: list[InferenceIssue] = []
    memo: dict[int, bool] = {}  # run_time_columns' answers, each scope looked at once
    for scope in root.traverse():
        if not scope.unqualified_columns:
            continue  # (a scope's sources hold every CTE before it: quadratic over a chain)
        sources = scope.sources.values()
        if any(isinstance(s, exp.Table) and ref_of(s) not in schema for s in sources):
            continue  # the unknown table is reported instead
        if any(
            isinstance(s, exp.Table) and not isinstance(s.this, exp.Identifier) for s in sources
        ):
            continue
        if any(run_time_columns(s, memo) for s in _readable(scope)):
            continue  # a subquery's COLUMNS(...): its columns are known when it runs
        columns = _source_columns(scope, schema)
        for col in scope.unqualified_columns:
            clause = col.find_ancestor(exp.Order, exp.Group, exp.Having)
            outputs = getattr(scope.expression, "named_selects", ())
            if clause is not None and _sees_outputs(clause) and col.name in outputs:
                continue  # ORDER BY / GROUP BY on an output alias
            pivoted = _pivoted(col, scope, columns)
            if pivoted is not columns and _having(col, pivoted):
                continue  # a PIVOT's column, of the relation pivoted
            out.append(replace(_unresolved(col, pivoted), output=_output_of(col, root)))
    return out


def _output_of(col: exp.Column, root: Scope) -> str | None:
    """The name of the output column of the outermost SELECT whose expression holds
    ``col``, or None (read in a CTE, a subquery, a WHERE, a JOIN's condition)."""
    node: exp.Expr = col
    while node.parent is not None and node.parent is not root.expression:
        if isinstance(node.parent, exp.Query):
            return None  # a subquery's
        node = node.parent
    if node.parent is None or node.arg_key != "expressions":
        return None
    return node.alias_or_name or None


def _sees_outputs(clause: exp.Expr) -> bool:
    """Whether an ORDER BY, GROUP BY or HAVING may name the query's output aliases: not a
    window's ORDER BY (``row_number() over (order by id)``: DuckDB reads ``id`` of the
    tables, and finds it ambiguous where two joined tables have it)."""
    return not isinstance(clause.parent, exp.Window)


def _ambiguous_window_aliases(root: Scope, schema: TableSchemas) -> list[InferenceIssue]:
    """A window's ORDER BY naming an output alias that several joined tables also have
    (``1 AS id, row_number() OVER (ORDER BY id)``): DuckDB reads the tables' column first,
    and finds it ambiguous; qualify() had put the alias's expression in its place."""
    out: list[InferenceIssue] = []
    for scope in root.traverse():
        written = scope.expression.meta.get(WINDOW_ALIASES)
        if not written:
            continue
        columns = _source_columns(scope, schema)
        seen: set[str] = set()
        for col in written:
            if col.name.lower() not in seen and len(_having(col, columns)) > 1:
                seen.add(col.name.lower())
                out.append(_unresolved(col, columns))
    return out


def _readable(scope: Scope) -> list[Scope]:
    """The queries an unqualified column of ``scope`` may be read from: those it reads and,
    where it can be correlated (a subquery of a WHERE or a SELECT, a LATERAL), those its outer
    scopes read (``exists (select 1 from u where u.c = b)``, ``b`` of the outer query's CTE)."""
    out: list[Scope] = []
    current: Scope | None = scope
    while current is not None:
        out += [s for _, s in current.selected_sources.values() if isinstance(s, Scope)]
        current = current.parent if current.can_be_correlated else None
    return out


def _source_columns(scope: Scope, schema: TableSchemas) -> dict[str, list[str]]:
    """The column names of each relation a scope reads, by how a message names it."""
    out: dict[str, list[str]] = {}
    for alias, source in scope.sources.items():
        if isinstance(source, exp.Table):
            ref = ref_of(source)
            shown = f"table {ref}" + (f" ({alias})" if alias.lower() != ref.name else "")
            out[shown] = [name for name, _ in schema.get(ref, ())]
        elif isinstance(source, Scope):
            out[f"'{alias}'"] = list(getattr(source.expression, "named_selects", ()))
    return out


def _pivoted(col: exp.Column, scope: Scope, columns: dict[str, list[str]]) -> dict[str, list[str]]:
    """The relations a column can read: a PIVOT's column (``sum(a) FOR b IN ...``) reads only
    the relation pivoted, not the tables joined to the pivot's result."""
    pivot = col.find_ancestor(exp.Pivot)
    relation = pivot.parent if pivot is not None else None
    if relation is None:
        return columns
    alias = relation.alias_or_name
    source = scope.sources.get(alias)
    if isinstance(source, exp.Table):
        ref = ref_of(source)
        return {k: v for k, v in columns.items() if k.startswith(f"table {ref}")}
    return {k: v for k, v in columns.items() if k == f"'{alias}'"}


def _having(col: exp.Column, columns: Mapping[str, Sequence[str]]) -> list[str]:
    """The relations (as a message names them) that have a column of ``col``'s name."""
    return [a for a, names in columns.items() if col.name.lower() in map(str.lower, names)]


def _unresolved(col: exp.Column, columns: Mapping[str, Sequence[str]]) -> InferenceIssue:
    """A column no relation has (with the nearest names, as DuckDB's binder says), or that
    several have."""
    having = _having(col, columns)
    if len(having) > 1:
        return InferenceIssue(
            "unresolved_column",
            f"column '{col.name}' is ambiguous: " + " and ".join(sorted(having)) + " have it",
            line=line_of(col),
            hint="prefix it with its table's alias (alias.column)",
            subject=col.name,
        )
    where = " or ".join(sorted(columns)) if columns else "the tables the query reads"
    known = [n for names in columns.values() for n in names]
    return InferenceIssue(
        "unresolved_column",
        f"column '{col.name}' is not in {where}",
        line=line_of(col),
        hint=did_you_mean(col.name, known)
        or "check the spelling, or add the column to the table's declared columns",
        subject=col.name,
    )
