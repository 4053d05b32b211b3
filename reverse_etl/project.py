"""The Project facade: load -> compile -> validate -> plan -> sync. The only thing the CLI calls."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from reverse_etl import project_files
from reverse_etl.config.destinations import DESTINATIONS_FILE, DestinationConfig, load_destinations
from reverse_etl.config.model_sources import project_sources
from reverse_etl.config.project import (
    PROJECT_FILE,
    DuckDBWarehouse,
    ProjectConfig,
    RunTarget,
    apply_target,
    load_project_config,
)
from reverse_etl.config.secret_env import project_secret_env
from reverse_etl.config.suggest import did_you_mean
from reverse_etl.config.templates import var_names
from reverse_etl.config.yaml_loader import format_key_path, load_yaml
from reverse_etl.dbt import MANIFEST_FILE, DbtArtifacts, target_dir_for
from reverse_etl.engine.file_rule import ALLOWED_PATHS_ENV, FileRule, unhidden_under
from reverse_etl.errors import (
    MAX_LIMIT,
    ConfigError,
    EngineError,
    ModelError,
    Problem,
    UsageError,
)
from reverse_etl.models.compile import CompiledModel, ModelGraph, build_graph, model_errors
from reverse_etl.models.dialects import query_for
from reverse_etl.models.select import SelectGraph, model_tags, resolve, tokens
from reverse_etl.models.sources import SourceCatalog
from reverse_etl.models.unused_vars import unused_vars
from reverse_etl.reporting.console import Console, NullConsole
from reverse_etl.state.dedup import Clock, ResendImpact, system_clock

if TYPE_CHECKING:
    # Imported where used (issue #18): `retl validate` needs none of the run path (Arrow,
    # DuckDB, delivery, state), and a plan or sync pays for it once, when it starts.
    import pyarrow as pa
    from sqlglot import exp

    from reverse_etl.check import DestinationCheck
    from reverse_etl.delivery.retry import RetryPolicy
    from reverse_etl.destinations.base import Destination
    from reverse_etl.engine.base import Engine, LocalFiles
    from reverse_etl.engine.duckdb import DuckDBEngine
    from reverse_etl.history.records import (
        DeliveryRecord,
        RunDestinationRecord,
        RunDetail,
        RunRecord,
    )
    from reverse_etl.pipeline.payload import PayloadBody
    from reverse_etl.pipeline.plan import DestinationPlan, ModelInput
    from reverse_etl.pipeline.report import SyncReport
    from reverse_etl.pipeline.runner import Runner
    from reverse_etl.state.store import ScopeInfo
    from reverse_etl.validation import DestinationValidation

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
        target: RunTarget | None = None,
    ) -> None:
        self.dir = project_dir
        self.config = config
        self.target = target or RunTarget("default", config.warehouse.type)
        self.vars = {**config.vars, **(vars or {})}
        self.cli_vars = dict(vars or {})  # --vars: warned about when nothing reads a key
        self.console: Console = console or NullConsole()
        self.clock: Clock = system_clock  # acknowledgement times, the dedup window (tests)
        self._workbench: DuckDBEngine | None = None
        self._warehouse: Engine | None = None
        self._file_rule: FileRule | None = None  # the files models may read (allows)
        self._readable: tuple[list[Path], list[Path]] | None = None  # readable_files()
        self._scratch: Path | None = None  # the spill folder outside the project, if any
        self._scratch_cleanup: weakref.finalize[Any, Any] | None = None
        # Where retl_project.yml writes each warehouse setting: its connection errors say so.
        self.warehouse_written_at: Mapping[str, tuple[Path, int | None, str]] = {}
        # The last sync's report, also when it raised: what it sent before it stopped.
        self.last_sync: SyncReport | None = None

    @cached_property
    def retry_policy(self) -> RetryPolicy:
        """How deliveries are retried (tests set a faster one). Made on first use: the
        delivery package imports Arrow, which `retl validate` does without (issue #18)."""
        from reverse_etl.delivery.retry import RetryPolicy

        return RetryPolicy()

    @classmethod
    def load(
        cls,
        project_dir: Path | str = ".",
        *,
        vars: Mapping[str, Any] | None = None,
        console: Console | None = None,
        target: str | None = None,
    ) -> Project:
        """Open the project in ``project_dir`` (default: the current directory), with the
        target ``target`` (else ``RETL_TARGET``, ``default_target:``, the first declared)."""
        path = Path(project_dir).expanduser().resolve()
        if path.exists() and not path.is_dir():
            raise ConfigError(
                f"{path} is a file, not a project folder",
                hint="give --project-dir the folder that holds retl_project.yml",
            )
        if not path.is_dir():
            raise ConfigError(f"project directory not found: {path}", hint="check --project-dir")
        markers = [PROJECT_FILE, DESTINATIONS_FILE, MODELS_DIR]
        if not any((path / m).exists() for m in markers):
            raise ConfigError(
                f"not a retl project: no {', '.join(markers)} in {path}",
                file=path,
                hint=f"run 'retl init {path}' or pass --project-dir",
            )
        config, loaded = load_project_config(path)
        config, run_target = apply_target(config, loaded, target)
        _refuse_outside_paths(path, config, loaded)
        project = cls(path, config, vars=vars, console=console, target=run_target)
        # Before any command creates, reads or deletes a file in them (validate's scratch
        # cleanup included): no folder of the state folder is a pull request's link.
        project_files.check_state_folders(project.state_dir)
        project.warehouse_written_at = _warehouse_lines(config, loaded, run_target)
        return project

    # --- paths -----------------------------------------------------------------------------
    def resolve_path(self, value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.dir / p

    @property
    def state_dir(self) -> Path:
        return self.resolve_path(self.config.state.path)

    # --- models ----------------------------------------------------------------------------
    @cached_property
    def secret_env(self) -> frozenset[str]:
        """The variables that the secret settings of retl_project.yml and destinations.yml
        read, as loaded (both files parsed once per project: the sources and each model
        graph's arguments ask)."""
        return project_secret_env([self.dir / PROJECT_FILE, self.dir / DESTINATIONS_FILE])

    @cached_property
    def sources(self) -> SourceCatalog:
        secret_env = self.secret_env
        found = project_sources(
            self.dir, self.config, self.dir / MODELS_DIR, secret_env=secret_env, variables=self.vars
        )
        return SourceCatalog(found.sources, self.dir, found.origins)

    @cached_property
    def dbt(self) -> DbtArtifacts | None:
        """The attached dbt project's artifacts (``dbt:`` in retl_project.yml), if any."""
        setting = self.config.dbt
        if setting is None:
            return None
        project_dir = self.resolve_path(setting.project_dir)
        target = (
            project_dir / setting.target_dir if setting.target_dir else target_dir_for(project_dir)
        )
        return DbtArtifacts.load(target)

    def dbt_ref(self, name: str, package: str | None, version: Any) -> str | None:
        """``ref()`` of a dbt model: the relation dbt built (None: not a dbt model)."""
        artifacts = self.dbt
        if artifacts is None:
            return None
        node = artifacts.node(name, package=package, version=version)
        if node is None:
            return None
        if node.relation is None:
            raise LookupError(
                f"ref('{name}'): dbt model '{name}' is ephemeral and has no table or view",
                "materialize it as a view or table in dbt to read it from retl",
            )
        return node.relation

    def graph_args(self) -> dict[str, Any]:
        names = frozenset(self.dbt.model_names()) if self.dbt is not None else frozenset()
        missing = None
        if self.dbt is not None:
            manifest = os.path.relpath(self.dbt.target_dir / MANIFEST_FILE, self.dir)
            missing = (
                f"neither a .sql file under models/ nor a model, seed or snapshot in {manifest}: "
                "if dbt has it, run `dbt compile` (or `dbt build`) to refresh the manifest"
            )
        secret_env = self.secret_env
        return {
            "external_ref": self.dbt_ref,
            "external_names": names,
            "external_missing_hint": missing,
            "secret_env": secret_env,
            "target": self.target.as_jinja(),
            "dialect": getattr(self.config.warehouse, "dialect", None) or "duckdb",
        }

    @cached_property
    def graph(self) -> ModelGraph:
        graph = build_graph(
            self.dir / MODELS_DIR,
            vars=self.vars,
            source_resolver=self.sources.relation,
            **self.graph_args(),
        )
        for name in graph.order:
            for note in graph.models[name].notes:
                self.console.warning_at(note.shown_from(self.dir))
        if self.cli_vars:
            for line in unused_vars(self.cli_vars, self._vars_read(graph)):
                self.console.warning(line)
        return graph

    def _vars_read(self, graph: ModelGraph) -> set[str]:
        """The project vars the models' var() calls (as rendered) and destinations.yml read."""
        read = {v for m in graph.models.values() for v in m.vars}
        with contextlib.suppress(ConfigError):
            loaded = load_yaml(self.dir / DESTINATIONS_FILE, required=False)
            # the values as YAML reads them: "{{ var(\"x\") }}" and '{{ var(''x'') }}' read x
            read.update(
                v for text in _strings(loaded.data if loaded else None) for v in var_names(text)
            )
        return read

    def model_names(self) -> list[str]:
        return list(self.graph.order)

    def compile(
        self, select: Sequence[str] = (), *, exclude: Sequence[str] = ()
    ) -> list[CompiledModel]:
        """Compiled SQL of the selected models (all when neither ``select`` nor ``exclude``
        is given), in DAG order. Selectors: see ``reverse_etl.models.select``."""
        return [self.graph.compiled(n) for n in self.select_models(select, exclude=exclude)]

    def select_models(
        self, select: Sequence[str] = (), *, exclude: Sequence[str] = ()
    ) -> list[str]:
        """The models ``select`` minus ``exclude`` pick (a destination's name stands for its
        model), in DAG order; all when neither is given."""
        graph = self.graph
        if not graph.models:
            raise ConfigError(
                f"no models found in {self.dir / MODELS_DIR}",
                file=self.dir / MODELS_DIR,
                hint="add a .sql file with one SELECT",
            )
        picked = resolve(select, exclude, self._select_graph(), "models")
        return list(graph.order) if picked is None else picked

    def _select_graph(self) -> SelectGraph:
        graph = self.graph

        def destinations() -> dict[str, str]:
            # `retl compile` works in a project that has no destinations.yml yet.
            if not (self.dir / DESTINATIONS_FILE).exists():
                return {}
            return {d.name: d.model for d in self.destinations}

        return SelectGraph(
            refs={n: m.refs for n, m in graph.models.items()},
            order=graph.order,
            tags={n: model_tags(m.config) for n, m in graph.models.items()},
            load_destinations=destinations,
        )

    # --- engine ----------------------------------------------------------------------------
    @property
    def workbench(self) -> DuckDBEngine:
        """The local DuckDB that encodes, diffs and holds the state. With a DuckDB warehouse
        it is also where models run."""
        if self._workbench is None:
            from reverse_etl.engine.duckdb import Attachment, DuckDBEngine, MemoryPolicy

            wh = self.config.warehouse
            temp = self._spill_dir()
            if isinstance(wh, DuckDBWarehouse):
                for a in wh.attach:
                    if a.type == "postgres" and a.dsn:
                        self._warn_unguarded_dsn(a.name, a.dsn.reveal().get_secret_value())
                self._workbench = DuckDBEngine(
                    self.resolve_path(wh.path) if wh.path else None,
                    memory=MemoryPolicy.from_config(wh.memory_limit),
                    temp_directory=temp,
                    file_search_path=self.dir,
                    attach=[
                        Attachment(
                            a.name,
                            a.type,
                            a.dsn.reveal().get_secret_value()
                            if a.type == "postgres" and a.dsn
                            else str(self.resolve_path(a.path or "")),
                        )
                        for a in wh.attach
                    ],
                )
            else:
                self._workbench = DuckDBEngine(
                    memory=MemoryPolicy.from_config(wh.memory_limit),
                    temp_directory=temp,
                    file_search_path=self.dir,
                )
            self._workbench.restrict_files(*self.readable_files())
        return self._workbench

    def _warn_unguarded(self, host: str | None, **kwargs: Any) -> None:
        """A CI job without RETL_ALLOWED_HOSTS that gives a password to a remote host
        (engine/hosts.unguarded_host): said before anything connects."""
        from reverse_etl.engine.hosts import unguarded_host

        problem = unguarded_host(host, **kwargs)
        if problem is not None:
            self.console.warning_at(problem.shown_from(self.dir))

    def _warn_unguarded_dsn(self, name: str, dsn: str) -> None:
        from reverse_etl.engine.pg_dsn import dsn_host, split_password

        try:
            target, password = split_password(dsn)
            host = dsn_host(target)
        except EngineError:
            return  # the attachment's own error says it, when it is opened
        self._warn_unguarded(host, key=f"warehouse.attach.{name}", password=password is not None)

    def _check_source_files(self, compiled: CompiledModel) -> None:
        """A source file that is missing, or that models may not read, said as such at its
        key in retl_project.yml, not as the engine's error blamed on the model."""
        missing = self.sources.missing_files(compiled.sources, allows=self.allows)
        if missing:
            raise ConfigError.from_problems(missing)

    def allows(self, path: Path) -> bool:
        """Whether models may read the local file ``path``. The rule is made once per
        project, as the workbench's is: listing the files walks every folder of the project
        for links (0.17 s for a dbt target/ of 20k files), which each model paid again."""
        if self._file_rule is None:
            self._file_rule = FileRule.of(self.dir, *self.readable_files())
        return self._file_rule.allows(path)

    def readable_files(self) -> tuple[list[Path], list[Path]]:
        """Where the SQL of models and sources may read files: the project's own folders and
        files, but no hidden ones (.git holds CI credentials, .env secrets), the state
        folder, and what RETL_ALLOWED_PATHS lists (set by whoever runs retl, not by the
        project). A model is SQL from a pull request too: it must not read ~/.config.

        Listed once per project (until ``close``): it walks every folder of the project for
        links, and the workbench, a warehouse, validation and the source-file check ask."""
        if self._readable is None:
            self._readable = self._list_readable_files()
        folders, files = self._readable
        return list(folders), list(files)  # copies: the callers' to keep

    def _list_readable_files(self) -> tuple[list[Path], list[Path]]:
        allowed = allowed_paths()
        folders: list[Path] = [self.state_dir, *allowed]
        files: list[Path] = []
        for entry in sorted(self.dir.iterdir()):
            if entry.name.startswith("."):
                continue
            if entry.is_symlink() and not _leads_to_readable(entry, [self.dir, *allowed]):
                # a link out of the project is no way around the rule, nor one to a hidden
                # file of it (cfg -> .git/config): DuckDB reads an allowed link through
                continue
            (folders if entry.is_dir() else files).append(entry)
        # DuckDB checks paths as written, so a link inside a folder would lead anywhere.
        escapes = [
            link
            for folder in folders[1 + len(allowed) :]
            for link in _links(folder)
            if _leads_out(link, [self.dir, *allowed])
        ]
        if escapes:
            raise ConfigError(
                f"{escapes[0].relative_to(self.dir)} is a symbolic link out of the project"
                + (f" (and {len(escapes) - 1} more)" if len(escapes) > 1 else ""),
                file=escapes[0],
                hint="models read files inside the project only: replace the link by the file, "
                f"or list the folder it leads to in {ALLOWED_PATHS_ENV}",
            )
        return folders, files

    @property
    def engine(self) -> Engine:
        """Where models run: the workbench itself, or a warehouse server."""
        wh = self.config.warehouse
        if isinstance(wh, DuckDBWarehouse):
            return self.workbench
        if self._warehouse is None:
            from reverse_etl.engine.factory import open_warehouse

            if wh.type == "postgres":
                self._warn_unguarded(
                    wh.host,
                    key="warehouse.host",
                    password=wh.password is not None,
                    where=self.warehouse_written_at.get("host"),
                )
            warehouse = open_warehouse(
                wh, self.resolve_path, self.state_dir, written_at=self.warehouse_written_at
            )
            if warehouse.capabilities.reads_local_files:  # the workbench's rule, held there
                cast("LocalFiles", warehouse).restrict_files(*self.readable_files())
            self._warehouse = warehouse
        return self._warehouse

    def model_input(self, compiled: CompiledModel) -> ModelInput:
        """The model's rows for the workbench: its SQL when it runs there, else its rows
        staged from the warehouse (streamed, once)."""
        import pyarrow as pa

        from reverse_etl.engine.base import NUMERIC_TEXT
        from reverse_etl.pipeline.plan import ModelInput

        self._check_source_files(compiled)
        bench = self.workbench
        engine = self.engine
        # On the workbench a failing model is bound again alone: its error's line is exact.
        # (A model in another dialect is translated first: its own text would not bind.)
        own = compiled.dialect in (None, bench.model_dialect)
        with model_errors(compiled, probe=_probe(bench) if engine is bench and own else None):
            sql = query_for(compiled, engine)
            if engine is bench:
                sql = bench.uuids_as_text(sql)
                return ModelInput(f"(\n{sql}\n) AS __model", bench.schema(sql))
            reader = engine.stream(sql)
            table = bench.stage(reader)
            schema = bench.schema(f"SELECT * FROM {table}")
            # exact numbers (engine/numeric_columns.py) keep their mark: the diff's key of
            # one does not change with the type the workbench gave it (state/diff.py)
            marked = {f.name for f in reader.schema if f.metadata and NUMERIC_TEXT in f.metadata}
            if marked:
                schema = pa.schema(
                    f.with_metadata({NUMERIC_TEXT: b"1"}) if f.name in marked else f for f in schema
                )
            return ModelInput(table, schema)

    def stream_model(
        self, compiled: CompiledModel, *, batch_rows: int = 10_000
    ) -> pa.RecordBatchReader:
        """Run a compiled model and stream its rows; engine errors name the model file."""
        engine = self.engine  # a warehouse that cannot open is its own error, not the model's
        with model_errors(compiled):
            return engine.stream(query_for(compiled, engine), batch_rows=batch_rows)

    def preview(self, model: str, *, limit: int = 10) -> Preview:
        """The first ``limit`` rows of a model."""
        if limit < 0:
            raise UsageError("--limit must be 0 or more", key="--limit")
        limit = min(limit, MAX_LIMIT)
        if model not in self.graph.models:
            known = self.graph.order
            raise UsageError(
                f"no model named '{model}'",
                key="MODEL",
                hint=did_you_mean(model, known)
                or ("models: " + ", ".join(known) if known else "add a .sql file to models/"),
            )
        import pyarrow as pa

        from reverse_etl.engine.base import DEFAULT_BATCH_ROWS, NUMERIC_TEXT, iter_batches

        compiled = self.graph.compiled(model)
        self._check_source_files(compiled)
        engine = self.engine  # a warehouse that cannot open is its own error, not the model's
        # Errors name the model (maybe an upstream one) and the line of its file.
        own = compiled.dialect in (None, self.workbench.model_dialect)
        probe = _probe(self.workbench) if engine is self._workbench and own else None
        tree = _refuse_a_statement(compiled) if own else None
        with model_errors(compiled, probe=probe):
            model_sql = query_for(compiled, engine, tree)
            sql = f"SELECT * FROM (\n{model_sql}\n) AS _retl_preview LIMIT {limit}"
            # batches of at most the default size: a batch of --limit rows is allocated whole
            reader = engine.stream(sql, batch_rows=max(min(limit, DEFAULT_BATCH_ROWS), 1))
            table = pa.Table.from_batches(list(iter_batches(reader)), schema=reader.schema)
        if any(f.metadata and NUMERIC_TEXT in f.metadata for f in table.schema):
            # exact numbers as text (a PostgreSQL numeric): typed as a sync stages them
            staged = self.workbench.stage(table.to_reader())
            table = self.workbench.stream(f"SELECT * FROM {staged}").read_all()
        return Preview(
            model,
            table.column_names,
            [str(t) for t in table.schema.types],
            [list(r.values()) for r in table.to_pylist()],
        )

    # --- destinations ----------------------------------------------------------------------
    @cached_property
    def destinations(self) -> list[DestinationConfig]:
        dests = load_destinations(self.dir, self.vars)
        known = self.graph.models
        problems = []
        for d in dests:
            if d.model not in known:
                problems.append(
                    ConfigError(
                        f"model '{d.model}' not found",
                        file=d.file,
                        line=d.model_line or d.line,
                        key=f"destinations.{d.name}.model",
                        hint=did_you_mean(d.model, known) or "models: " + ", ".join(known),
                    )
                )
        if problems:
            raise ConfigError.from_problems(p for e in problems for p in e.problems)
        return dests

    def select_destinations(
        self, select: Sequence[str] = (), *, exclude: Sequence[str] = ()
    ) -> list[DestinationConfig]:
        """The destinations whose model ``select`` minus ``exclude`` pick, or that they name
        (see ``reverse_etl.models.select``); all when neither is given."""
        dests = self.destinations
        if not dests:
            raise ConfigError(
                "no destinations declared",
                file=self.dir / DESTINATIONS_FILE,
                hint="add one under 'destinations:' (see 'retl init')",
            )
        picked = resolve(select, exclude, self._select_graph(), "destinations")
        if picked is None:
            return dests
        chosen = set(picked)
        return [d for d in dests if d.name in chosen]

    def _destination_selectors(self, select: Sequence[str], exclude: Sequence[str]) -> list[str]:
        """The selection as exact ``destination:NAME`` selectors, for the run path (which
        knows no --exclude); empty when nothing is selected (every destination)."""
        if not select and not exclude:
            return []
        return [f"destination:{d.name}" for d in self.select_destinations(select, exclude=exclude)]

    # --- plan and sync ---------------------------------------------------------------------
    def destinations_for_run(self, select: Sequence[str]) -> list[Destination]:
        """The selected destinations, with their notices and settings' warnings shown."""
        from reverse_etl.destinations.registry import destination_for

        out = []
        for config in self.select_destinations(select):
            dest = destination_for(config)
            for notice in dest.notices():
                self.console.warning(f"{dest.name}: {notice}")
            for problem in dest.config_warnings():  # at destinations.yml's key
                self.console.warning_at(problem)
            for note in config.notes:  # a value read case-insensitively (web -> WEB)
                self.console.info(f"note: {dest.name}: {note.shown_from(self.dir).render()}")
            out.append(dest)
        return out

    def validate(
        self, select: Sequence[str] = (), *, exclude: Sequence[str] = (), offline: bool = False
    ) -> list[DestinationValidation]:
        """Check each selected destination's model statically (sqlglot): no query of the
        model, no secret. A warehouse server's catalog is read for column types (metadata
        only), unless ``offline``. See docs/validate.md."""
        from reverse_etl.validation import validate_project

        return validate_project(self, self._destination_selectors(select, exclude), offline=offline)

    def check(
        self, select: Sequence[str] = (), *, exclude: Sequence[str] = (), sandbox: bool = False
    ) -> list[DestinationCheck]:
        """Verify each selected destination's token, advertiser and event source through
        TikTok's read APIs (the emulator's, with ``sandbox``): no model runs, no event is sent,
        nothing is created. The smoke test before a first sync; see docs/tiktok.md."""
        from reverse_etl.sandbox import SandboxServer, SandboxWorld

        destinations = self.destinations_for_run(self._destination_selectors(select, exclude))
        server = SandboxServer(SandboxWorld.demo()).start() if sandbox else None
        try:
            # the notes destinations_for_run said, for --format json (as plan's entries)
            return [
                replace(d.check(server, self.retry_policy), notes=tuple(d.config.notes))
                for d in destinations
            ]
        finally:
            if server is not None:
                server.stop()

    def state_file(self, *, sandbox: bool = False) -> Path:
        """The local state database (sandbox runs keep their own)."""
        return _runner(self).state_file(sandbox=sandbox)

    def plan(
        self,
        select: Sequence[str] = (),
        *,
        exclude: Sequence[str] = (),
        sandbox: bool = False,
        full_refresh: bool = False,
    ) -> list[DestinationPlan]:
        """What a sync would send, per destination: models run and diffed against the state,
        but no network call, no state change and no secret needed."""
        return _runner(self).plan(
            self._destination_selectors(select, exclude), sandbox=sandbox, full_refresh=full_refresh
        )

    def payload(
        self, model: str, key: str, destination: str | None = None, *, sandbox: bool = False
    ) -> list[PayloadBody]:
        """The request body a sync would send for the row of ``model`` whose key is ``key``,
        for each destination that reads the model (or ``destination``): encoded and hashed
        by the sync's own encoder, now. No network call, no state, no token (a header, never
        in the body). ``sandbox``: as ``sync --sandbox`` would send it. A composite key is
        a JSON list of its columns' values (see ``pipeline/payload.py``)."""
        from reverse_etl.pipeline.payload import payload_bodies

        return payload_bodies(self, model, key, destination, sandbox=sandbox)

    def sync(
        self,
        select: Sequence[str] = (),
        *,
        exclude: Sequence[str] = (),
        sandbox: bool = False,
        limit: int | None = None,
        full_refresh: bool = False,
        confirm: Callable[[ResendImpact], bool] | None = None,
    ) -> SyncReport:
        """Plan, then send each destination's new and changed rows, committing every
        acknowledged batch to the state. Invalid rows stop the run before anything is sent
        unless the destination skips them (skip_invalid_record). With ``full_refresh``,
        ``confirm`` (if given) sees what would be sent again and counted twice, before
        anything is sent; False stops the run (a UsageError). Then the webhooks of
        ``notify:`` hear of a failure, rejections or a coverage drop (a webhook that fails is
        a warning, never the sync's failure); a run refused because the state was locked or
        in use (exit 75) is no failure: only a webhook with ``refused`` in its ``on:``
        hears of it."""
        runner = _runner(self)
        failed = True
        try:
            report = runner.sync(
                self._destination_selectors(select, exclude),
                sandbox=sandbox,
                limit=limit,
                full_refresh=full_refresh,
                confirm=confirm,
            )
            failed = False
            return report
        finally:
            self.last_sync = runner.report
            if runner.report is not None and self.config.notify:
                self._notify(runner.report, failed=failed)

    def _notify(self, report: SyncReport, *, failed: bool) -> None:
        from reverse_etl.notify import notify_run

        try:
            notify_run(
                self.config.name or self.dir.name,
                self.config.notify,
                report,
                failed=failed,
                # the previous run of the same kind: a sandbox run is no baseline for a real one
                history=lambda name, limit: self.destination_history(
                    name, limit, sandbox=report.sandbox
                ),
                console=self.console,
                root=self.dir,
            )
        except Exception as exc:  # a notification never fails the sync, nor hides its error
            self.console.warning(f"webhooks not notified: unexpected {type(exc).__name__}")

    # --- the run history and the delivery log (read-only; see reverse_etl/history) -------
    def runs(self, limit: int = 50) -> list[RunRecord]:
        """Recent syncs, newest first, real and sandbox ones (``RunRecord.sandbox``)."""
        from reverse_etl.pipeline import runs as history_runs

        return history_runs.runs(self, limit)

    def run_detail(self, run_id: str) -> RunDetail | None:
        """One run (its id or a unique prefix): per destination, and its rows that were not
        accepted, with why. None when no run has that id."""
        from reverse_etl.pipeline import runs as history_runs

        return history_runs.run_detail(self, run_id)

    def deliveries(self, key: str, destination: str | None = None) -> list[DeliveryRecord]:
        """Each delivery of the row with this key (or event_id), newest first."""
        from reverse_etl.pipeline import runs as history_runs

        return history_runs.deliveries(self, key, destination)

    def destination_history(
        self, destination: str, limit: int = 100, *, sandbox: bool | None = None
    ) -> list[RunDestinationRecord]:
        """A destination's last ``limit`` runs, oldest first (for charts); ``sandbox``: only
        sandbox runs (True) or only real ones (False)."""
        from reverse_etl.pipeline import runs as history_runs

        return history_runs.destination_history(self, destination, limit, sandbox=sandbox)

    def state_show(self, *, sandbox: bool = False) -> list[ScopeInfo]:
        """What the state holds, per destination and event source."""
        return _runner(self).state_show(sandbox=sandbox)

    def state_reset(
        self,
        select: Sequence[str] = (),
        *,
        exclude: Sequence[str] = (),
        sandbox: bool = False,
        confirm: Callable[[ResendImpact], bool] | None = None,
    ) -> dict[str, int]:
        """Forget what was sent to the selected destinations (all when none is selected):
        their next sync sends every row again. ``confirm`` (if given) sees how many rows that
        is and how many TikTok would count twice, before anything is forgotten."""
        runner = _runner(self)
        # A destination gone from destinations.yml (removed or renamed) is reset by its name.
        gone = runner.state_only_names(select, sandbox=sandbox) if select else []
        rest = (
            [
                s
                for s in tokens(select, [*gone, *self._configured_names()])
                if s.removeprefix("destination:") not in gone
            ]
            if gone
            else list(select)
        )
        selectors = self._destination_selectors(rest, exclude) if rest or not gone else []
        forgotten = runner.state_reset(selectors, sandbox=sandbox, confirm=confirm, gone=gone)
        from reverse_etl.pipeline.history import record_reset, reset_command_text
        from reverse_etl.pipeline.report import new_run_id

        command = reset_command_text(select, exclude, sandbox=sandbox)
        record_reset(self, forgotten, run_id=new_run_id(), command=command, sandbox=sandbox)
        return forgotten

    def _configured_names(self) -> list[str]:
        """The destinations' names, none when destinations.yml cannot be read (a reset of a
        destination gone still works)."""
        try:
            return [d.name for d in self.destinations]
        except ConfigError:
            return []

    def _spill_dir(self) -> Path:
        """Where DuckDB spills past its memory limit: the state folder's ``tmp/`` when the
        state folder exists and may be written (a sync makes it first); else a private folder
        in the system's temp directory, removed on close. So plan, validate, show and compile
        create nothing in the project (they promise no state change), even in a read-only
        checkout."""
        if self.state_dir.is_dir() and os.access(self.state_dir, os.W_OK):
            return self.state_dir / "tmp"
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="retl-"))
            # Removed on close, or when a project never closed is collected (or at exit).
            self._scratch_cleanup = weakref.finalize(self, shutil.rmtree, self._scratch, True)
        return self._scratch / "tmp"

    def close(self) -> None:
        for engine in (self._warehouse, self._workbench):
            if engine is not None:
                engine.close()
        self._warehouse = self._workbench = None
        self._file_rule = self._readable = None
        if self._scratch_cleanup is not None:
            self._scratch_cleanup()
            self._scratch = self._scratch_cleanup = None

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _runner(project: Project) -> Runner:
    # The run path (pipeline/, delivery, state) is imported by the commands that run it.
    from reverse_etl.pipeline.runner import Runner

    return Runner(project)


def allowed_paths() -> list[Path]:
    """The folders outside the project that RETL_ALLOWED_PATHS lists (set by whoever runs
    retl, not by the project)."""
    return [
        Path(item.strip()).expanduser().resolve()
        for item in os.environ.get(ALLOWED_PATHS_ENV, "").split(os.pathsep)
        if item.strip()
    ]


def _warehouse_lines(
    config: ProjectConfig, loaded: Any, target: RunTarget
) -> dict[str, tuple[Path, int | None, str]]:
    """Each ``warehouse:`` setting written in retl_project.yml (the run's target's, when it
    has its own): the file, the line and the key path that say it."""
    if loaded is None:
        return {}
    base: tuple[str, ...] = ("warehouse",)
    chosen = config.targets.get(target.name) if config.targets else None
    if chosen is not None and chosen.warehouse is not None:
        base = ("targets", target.name, "warehouse")
    found: dict[str, tuple[Path, int | None, str]] = {}
    for key_path, line in loaded.lines.items():
        if len(key_path) == len(base) + 1 and tuple(key_path[:-1]) == base:
            found[str(key_path[-1])] = (loaded.path, line, format_key_path(key_path))
    return found


def _refuse_outside_paths(project_dir: Path, config: ProjectConfig, loaded: Any) -> None:
    """The state folder and the database files retl_project.yml names must not lead models
    out of the project: the state folder is one models may read and retl writes
    (``state.path: ~/.config/retl`` handed them the OAuth credentials file), and an attached
    file is a database models read. A project is a pull request's too.

    The state folder must be inside the project; a database file inside the project or the
    git work tree that holds it (a dbt project beside it: ``../analytics/dev.duckdb``); neither
    under a hidden folder (``.git`` holds CI credentials); either may be in a folder of
    RETL_ALLOWED_PATHS instead (set by whoever runs retl, not by the project)."""
    root = project_dir.resolve()
    allowed = allowed_paths()
    tree = _work_tree(root)
    named: list[tuple[tuple[str | int, ...], str, list[Path]]] = [
        (("state", "path"), config.state.path, [root])
    ]
    wh = config.warehouse
    if isinstance(wh, DuckDBWarehouse):
        files = [root] if tree is None else [root, tree]
        if wh.path:
            named.append((("warehouse", "path"), wh.path, files))
        named += [
            (("warehouse", "attach", i, "path"), a.path, files)
            for i, a in enumerate(wh.attach)
            if a.path
        ]
    problems = []
    for key, value, roots in named:
        where = Path(value).expanduser()
        where = where if where.is_absolute() else project_dir / where
        # a loop of symbolic links leads nowhere: refused as outside
        where = _resolved(where) or Path("/")
        below = any(unhidden_under(where, r) for r in roots)
        if key[0] == "state" and where == root:
            # the project folder itself: its hidden files (.git/config, .env) are under it
            below = False
        if _inside(where, allowed) or below:
            continue
        kind = "the project folder" if len(roots) == 1 else "the project's git work tree"
        problems.append(
            Problem(
                f"{value} is not a folder inside the project (it is the project folder itself, "
                "outside it, or under a hidden folder)"
                if key[0] == "state"
                else f"{value} is outside {kind}, or under a hidden folder",
                file=project_dir / PROJECT_FILE,
                line=loaded.line_of(key) if loaded is not None else None,
                key=format_key_path(key),
                hint=f"keep it inside {kind}, or list the folder that holds it in "
                f"{ALLOWED_PATHS_ENV} (set by whoever runs retl, not by the project)",
            )
        )
    if problems:
        raise ConfigError.from_problems(problems)


def _work_tree(folder: Path) -> Path | None:
    """The git work tree holding ``folder`` (the nearest folder upwards with a .git), if any."""
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def _inside(path: Path, folders: Sequence[Path]) -> bool:
    return any(path.is_relative_to(folder) for folder in folders)


def _leads_out(link: Path, folders: Sequence[Path]) -> bool:
    """Whether a symbolic link leads outside ``folders``. A loop of links leads nowhere
    (reading it fails, as a missing file does): not out."""
    target = _resolved(link)
    return target is not None and not _inside(target, folders)


def _leads_to_readable(link: Path, folders: Sequence[Path]) -> bool:
    """Whether a symbolic link leads below ``folders`` through no hidden folder or file
    (``unhidden_under``). A loop of links leads nowhere (reading it fails): readable."""
    target = _resolved(link)
    return target is None or any(unhidden_under(target, f.resolve()) for f in folders)


def _resolved(path: Path) -> Path | None:
    """``path`` with its links resolved; None for a loop of links ("Symlink loop": a
    RuntimeError in Python 3.11, an OSError in later ones)."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):
        return None


def _links(folder: Path) -> Iterator[Path]:
    """The symbolic links under ``folder``, not looking into hidden folders or through links."""
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in (*dirs, *names):
            path = Path(root, name)
            if path.is_symlink():
                yield path


def _strings(data: Any) -> Iterator[str]:
    """Every string value (and key) of parsed YAML ``data``."""
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from _strings(key)
            yield from _strings(value)
    elif isinstance(data, list):
        for item in data:
            yield from _strings(item)


def _probe(bench: DuckDBEngine) -> Callable[[str], object]:
    """The workbench binding a model's text alone (``model_errors``), its file paths made the
    project's as they were when it ran: else its error would be that of another read."""
    return lambda sql: bench.describe(bench.project_paths(sql))


def _refuse_a_statement(compiled: CompiledModel) -> exp.Expr | None:
    """``retl show`` of a model that is a DELETE or an UPDATE (DuckDB runs one inside
    ``SELECT * FROM (...)`` when it says RETURNING): refused by name, as validate and sync
    refuse it, before it runs. Text sqlglot cannot read is left to DuckDB to judge. The
    model's parsed tree, read once (``query_for`` reads its file paths from it)."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    import reverse_etl.sqlglot_fixes  # noqa: F401  (sqlglot reads DuckDB SQL as DuckDB does)

    try:
        trees = [t for t in sqlglot.parse(compiled.sql, read="duckdb") if t is not None]
    except SqlglotError:
        return None
    # DuckDB's own forms that return rows (PIVOT, VALUES, SUMMARIZE...) are read-only too
    reads = (exp.Query, exp.Pivot, exp.Values, exp.Summarize, exp.Describe)
    if trees and (len(trees) != 1 or not isinstance(trees[0], reads)):
        raise ModelError(
            "the model is not a SELECT",
            file=compiled.model.path,
            hint="a model is one query: the rows to send",
        )
    return trees[0] if trees else None
