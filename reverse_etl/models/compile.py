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

from reverse_etl.errors import EngineError, ModelError, Problem
from reverse_etl.models.dag import ModelFile, discover_models, topo_order, upstream
from reverse_etl.models.render import RenderContext, render_model

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

    @property
    def primary_key(self) -> tuple[str, ...] | None:
        pk = self.config.get("primary_key")
        if pk is None:
            return None
        return (pk,) if isinstance(pk, str) else tuple(str(c) for c in pk)


@dataclass(frozen=True)
class CompiledModel:
    """A model with its upstream models inlined: ``sql`` runs on its own."""

    model: Model
    sql: str
    upstream: tuple[str, ...]
    # (source, table) read by the model or any upstream model: named in its engine errors
    sources: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        return self.model.name


@dataclass(frozen=True)
class ModelGraph:
    models: Mapping[str, Model]
    order: tuple[str, ...]

    def compiled(self, name: str) -> CompiledModel:
        model = self.models[name]
        ups = upstream(name, {n: m.refs for n, m in self.models.items()})
        ordered = tuple(n for n in self.order if n in ups)
        deps = [self.models[n] for n in ordered]
        sources = tuple(dict.fromkeys(s for m in (*deps, model) for s in m.sources))
        return CompiledModel(model, assemble_sql(model, deps), ordered, sources)


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
    secret_env: frozenset[str] = frozenset(),
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
        secret_env=secret_env,
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
    return ModelGraph(models, tuple(order))


def _render_file(mf: ModelFile, ctx: RenderContext) -> Model:
    try:
        text = mf.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"cannot read model: {exc}", file=mf.path) from None
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
    )


_LEADING_COMMENTS = re.compile(r"^(\s*(--[^\n]*(\n|$)|/\*.*?\*/))*\s*", re.S)


def strip_sql(sql: str) -> str:
    """Trim whitespace and trailing semicolons."""
    return sql.strip().rstrip(";").rstrip()


def starts_with_cte(sql: str) -> bool:
    body = _LEADING_COMMENTS.sub("", sql, count=1)
    return re.match(r"with\b", body, re.I) is not None


def assemble_sql(model: Model, deps: list[Model]) -> str:
    if not deps:
        return model.sql
    ctes = ",\n".join(f"{quote_ident(d.name)} AS (\n{d.sql}\n)" for d in deps)
    if starts_with_cte(model.sql):
        body = f"SELECT * FROM (\n{model.sql}\n) AS {quote_ident(model.name)}"
    else:
        body = model.sql
    return f"WITH {ctes}\n{body}"


@contextmanager
def model_errors(compiled: CompiledModel) -> Iterator[None]:
    """Engine errors while a model runs name the model's file and the sources it reads (the
    engine has already masked the data values its message quoted)."""
    try:
        yield
    except EngineError as exc:
        if exc.file is not None:
            raise
        names = ", ".join(f"{s}.{t}" for s, t in compiled.sources)
        reads = f" (source{'s' if len(compiled.sources) > 1 else ''} {names})" if names else ""
        raise EngineError(
            f"model '{compiled.name}'{reads} failed: {exc.message}",
            file=compiled.model.path,
            hint="run 'retl compile --select " + compiled.name + "' to see the SQL that ran",
        ) from None
