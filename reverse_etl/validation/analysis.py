"""Infer every needed model once, in DAG order, each from its own rendered SQL.

A model reads its upstream models by name (``ref()`` renders a plain name here); their
inferred columns serve as those tables' schemas, so a staging model shared by 40 destinations
is parsed and typed once, not inlined and re-typed 40 times, and every line sqlglot reports
is a line of one model's own SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.errors import SqlglotError

from reverse_etl.columns import (
    InferenceResult,
    TableRef,
    UpstreamModel,
    infer_columns,
    parse_sql,
    tables_read,
)
from reverse_etl.models.compile import Model, ModelGraph
from reverse_etl.models.dialects import model_dialect
from reverse_etl.models.lines import ModelLines
from reverse_etl.schemas import SchemaProvider, TableSchema, resolve_schemas
from reverse_etl.validation.file_reads import FileReader


@dataclass(frozen=True)
class AnalysedModel:
    """One model: what it reads and what inference found."""

    model: Model
    lines: ModelLines
    tables: tuple[TableRef, ...]  # physical tables it reads
    reads: dict[TableRef, str]  # upstream models it reads, by reference
    result: InferenceResult


@dataclass(frozen=True)
class Analysis:
    """Every analysed model, and the schemas found for the tables they read."""

    models: dict[str, AnalysedModel]
    schemas: dict[TableRef, TableSchema]
    # Why a direct read of files was not described, by the paths it reads (as written).
    unread: dict[tuple[str, ...], tuple[str, str | None]] = field(default_factory=dict)

    def chain(self, graph: ModelGraph, name: str) -> list[AnalysedModel]:
        """The model and its upstream models, upstream first."""
        names = [*graph.compiled(name).upstream, name]
        return [self.models[n] for n in names if n in self.models]


def analyse(
    graph: ModelGraph,
    names: Iterable[str],
    providers: Sequence[SchemaProvider],
    dialect: str,
    files: FileReader | None = None,
) -> Analysis:
    """Infer ``names`` and everything upstream of them. ``files``: describes the project
    files a DuckDB model reads directly (``read_csv('data/x.csv')``)."""
    needed: set[str] = set()
    for name in names:
        needed |= {name, *graph.compiled(name).upstream}
    order = [n for n in graph.order if n in needed]
    by_ref = {TableRef.of(n): n for n in order}
    # Each model is read in its own dialect (config(dialect=...)); the trees are sqlglot's
    # and typed in the project's dialect from here on.
    trees = {n: _parse(graph.models[n].sql, model_dialect(graph.models[n], dialect)) for n in order}
    found = None
    if files is not None and dialect == "duckdb":
        duckdb_trees = (
            t
            for n, t in trees.items()
            if t is not None and model_dialect(graph.models[n], dialect) == "duckdb"
        )
        found = files.rewrite(duckdb_trees)
    described = found.schemas if found is not None else {}
    refs = {n: tables_read(t) if t is not None else () for n, t in trees.items()}
    asked = (r for n in order for r in refs[n] if r not in by_ref and r not in described)
    schemas = {**resolve_schemas(asked, providers), **described}
    models: dict[str, AnalysedModel] = {}
    for n in order:
        model = graph.models[n]
        reads = {r: by_ref[r] for r in refs[n] if r in by_ref}
        upstream = {
            r: UpstreamModel(m, models[m].result.columns)
            for r, m in reads.items()
            if m in models and models[m].result.complete
        }
        tables = tuple(r for r in refs[n] if r not in by_ref)
        tree = trees[n]
        result = infer_columns(
            tree if tree is not None else model.sql,
            schema={r: schemas[r].columns for r in tables if r in schemas},
            upstream=upstream,
            dialect=dialect,
            copy=False,  # each tree is inferred once
            # names written by hand, not read from the warehouse or a file: nothing says
            # whether they were quoted
            folded={r for r in tables if r in schemas and schemas[r].origin in _WRITTEN},
        )
        models[n] = AnalysedModel(model, ModelLines(model), tables, reads, result)
    return Analysis(models, schemas, found.unread if found is not None else {})


_WRITTEN = frozenset({"declared", "dbt"})


def _parse(sql: str, dialect: str) -> exp.Expr | None:
    try:
        return parse_sql(sql, dialect)
    except SqlglotError:
        return None  # infer_columns parses the text again and reports where it fails
