"""The Project facade: load -> compile -> validate -> plan -> sync. The only thing the CLI calls."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pyarrow as pa

from reverse_etl.config.destinations import DESTINATIONS_FILE, DestinationConfig, load_destinations
from reverse_etl.config.project import PROJECT_FILE, ProjectConfig, load_project_config
from reverse_etl.config.suggest import did_you_mean
from reverse_etl.engine.base import Engine, iter_batches
from reverse_etl.engine.duckdb import DuckDBEngine
from reverse_etl.errors import ConfigError, EngineError, UsageError
from reverse_etl.models.compile import CompiledModel, ModelGraph, build_graph
from reverse_etl.models.sources import SourceCatalog
from reverse_etl.reporting.console import Console, NullConsole

MODELS_DIR = "models"


@dataclass(frozen=True)
class Preview:
    model: str
    columns: list[str]
    types: list[str]
    rows: list[list[Any]]


class Project:
    """A retl project directory: configuration, models and destinations."""

    def __init__(
        self,
        project_dir: Path,
        config: ProjectConfig,
        *,
        vars: Mapping[str, Any] | None = None,
        console: Console | None = None,
    ) -> None:
        self.dir = project_dir
        self.config = config
        self.vars = {**config.vars, **(vars or {})}
        self.console: Console = console or NullConsole()
        self._engine: Engine | None = None

    @classmethod
    def load(
        cls,
        project_dir: Path | str = ".",
        *,
        vars: Mapping[str, Any] | None = None,
        console: Console | None = None,
    ) -> Project:
        """Open the project in ``project_dir`` (default: the current directory)."""
        path = Path(project_dir).expanduser().resolve()
        if not path.is_dir():
            raise ConfigError(
                f"project directory not found: {path}", hint="check --project-dir"
            )
        markers = [PROJECT_FILE, DESTINATIONS_FILE, MODELS_DIR]
        if not any((path / m).exists() for m in markers):
            raise ConfigError(
                f"not a retl project: no {', '.join(markers)} in {path}",
                file=path,
                hint=f"run 'retl init {path}' or pass --project-dir",
            )
        config, _ = load_project_config(path)
        return cls(path, config, vars=vars, console=console)

    # --- paths -----------------------------------------------------------------------------
    def resolve_path(self, value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.dir / p

    @property
    def state_dir(self) -> Path:
        return self.resolve_path(self.config.state.path)

    # --- models ----------------------------------------------------------------------------
    @cached_property
    def sources(self) -> SourceCatalog:
        return SourceCatalog(self.config.sources, self.dir)

    @cached_property
    def graph(self) -> ModelGraph:
        return build_graph(
            self.dir / MODELS_DIR, vars=self.vars, source_resolver=self.sources.relation
        )

    def model_names(self) -> list[str]:
        return list(self.graph.order)

    def compile(self, select: Sequence[str] = ()) -> list[CompiledModel]:
        """Compiled SQL of the selected models (all when ``select`` is empty), in DAG order."""
        names = self._select_models(select)
        return [self.graph.compiled(n) for n in names]

    def _select_models(self, select: Sequence[str]) -> list[str]:
        graph = self.graph
        if not graph.models:
            raise ConfigError(
                f"no models found in {self.dir / MODELS_DIR}",
                file=self.dir / MODELS_DIR,
                hint="add a .sql file with one SELECT",
            )
        if not select:
            return list(graph.order)
        unknown = [s for s in select if s not in graph.models]
        if unknown:
            name = unknown[0]
            raise UsageError(
                f"no model named '{name}'",
                key="--select",
                hint=did_you_mean(name, graph.models) or "models: " + ", ".join(graph.order),
            )
        return [n for n in graph.order if n in set(select)]

    # --- engine ----------------------------------------------------------------------------
    @property
    def engine(self) -> Engine:
        if self._engine is None:
            wh = self.config.warehouse
            self._engine = DuckDBEngine(self.resolve_path(wh.path) if wh.path else None)
        return self._engine

    def stream_model(self, compiled: CompiledModel, *, batch_rows: int = 10_000) -> pa.RecordBatchReader:
        """Run a compiled model and stream its rows; engine errors name the model file."""
        try:
            return self.engine.stream(compiled.sql, batch_rows=batch_rows)
        except EngineError as exc:
            raise EngineError(
                f"model '{compiled.name}' failed: {exc.message}",
                file=compiled.model.path,
                hint="run 'retl compile --select " + compiled.name + "' to see the SQL that ran",
            ) from None

    def preview(self, model: str, *, limit: int = 10) -> Preview:
        """The first ``limit`` rows of a model."""
        if limit < 0:
            raise UsageError("--limit must be 0 or more", key="--limit")
        (compiled,) = self.compile([model])
        wrapped = CompiledModel(
            compiled.model, f"SELECT * FROM (\n{compiled.sql}\n) AS _retl_preview LIMIT {limit}",
            compiled.upstream,
        )
        reader = self.stream_model(wrapped, batch_rows=max(limit, 1))
        table = pa.Table.from_batches(list(iter_batches(reader)), schema=reader.schema)
        return Preview(
            model,
            table.column_names,
            [str(t) for t in table.schema.types],
            [list(r.values()) for r in table.to_pylist()],
        )

    # --- destinations ----------------------------------------------------------------------
    @cached_property
    def destinations(self) -> list[DestinationConfig]:
        dests = load_destinations(self.dir)
        known = self.graph.models
        problems = []
        for d in dests:
            if d.model not in known:
                problems.append(
                    ConfigError(
                        f"model '{d.model}' not found",
                        file=d.file,
                        line=d.line,
                        key=f"destinations.{d.name}.model",
                        hint=did_you_mean(d.model, known) or "models: " + ", ".join(known),
                    )
                )
        if problems:
            raise ConfigError.from_problems(p for e in problems for p in e.problems)
        return dests

    def select_destinations(self, select: Sequence[str] = ()) -> list[DestinationConfig]:
        """Destinations by name or by their model's name; all when ``select`` is empty."""
        dests = self.destinations
        if not dests:
            raise ConfigError(
                "no destinations declared",
                file=self.dir / DESTINATIONS_FILE,
                hint="add one under 'destinations:' (see 'retl init')",
            )
        if not select:
            return dests
        chosen = [d for d in dests if d.name in select or d.model in select]
        names = {d.name for d in dests} | {d.model for d in dests}
        unknown = [s for s in select if s not in names]
        if unknown:
            raise UsageError(
                f"no destination or model named '{unknown[0]}'",
                key="--select",
                hint=did_you_mean(unknown[0], names) or "destinations: "
                + ", ".join(d.name for d in dests),
            )
        return chosen

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
