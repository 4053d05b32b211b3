"""The Engine contract: what the run path, validation and the state ask of a warehouse.

An engine runs compiled SELECTs (written in the project's model dialect, DuckDB's by
default) and streams their rows as Arrow record batches. What differs between engines is
declared as data (``EngineCapabilities``), never found out by testing an engine's class:
callers outside ``engine/`` branch on capabilities only. ``engine/factory.py`` opens the
engine a project configures and pairs it with its ``StateStore``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # annotations only: `retl validate` imports this without Arrow (#18)
    from pathlib import Path

    import pyarrow as pa
    from sqlglot import exp

    from reverse_etl.engine.file_rule import FileRule
    from reverse_etl.engine.typed import TableTypes

DEFAULT_BATCH_ROWS = 10_000
# Arrow field metadata of a text column that holds JSON (a warehouse's json or jsonb, an
# array of those as one JSON array): the workbench reads it back as the lists and structs it
# holds when it stages the rows (``DuckDBEngine.stage``), so that a PostgreSQL warehouse's
# ``contents`` reach the encoder as DuckDB's do.
JSON_TEXT = b"retl.json"
# Arrow field metadata of a text column that holds a warehouse's exact numbers (PostgreSQL's
# numeric without precision, whose values may not fit a DOUBLE): the workbench gives it the
# narrowest type that holds every value exactly when it stages the rows (``numeric_columns``).
NUMERIC_TEXT = b"retl.numeric"


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str


@dataclass(frozen=True)
class EngineCapabilities:
    """What an engine can do, as data (SQLMesh's ``SUPPORTS_*``, dlt's capabilities).

    ``dialect``: the SQL it runs (sqlglot's name), which retl's DuckDB-dialect SQL is
    transpiled to. ``can_hold_state``: ``state: {location: warehouse}`` can keep its tables
    there. ``diffs_in_place``: with the state there, the diff runs there too, and only the
    rows to send leave it. ``is_workbench``: models run in the local DuckDB itself (no
    staging). ``default_schema``: the schema an unqualified table name means in its catalog.
    ``native_models``: a model in this engine's own dialect (``config(dialect=...)``, or the
    project's ``warehouse.dialect``) runs as written, through ``native_view``, instead of
    being translated.
    ``subquery_fence``: appended to a subquery whose few columns are computed from many (the
    diff's key and row hash) so that the engine computes them before a join reads them.
    PostgreSQL flattens such a subquery and computes its expressions above the join, so
    every column of the model went through the join's hash batches (``OFFSET 0`` keeps the
    subquery: 7.0 -> 2.2 s for the 1M-row classification, issue #17).
    ``reads_local_files``: models read files with the engine's own readers (Spark's), so the
    project's rule on which files they may read is handed to it (``LocalFiles``).
    ``project_paths``: a model's relative file paths would be read from the folder retl runs
    in, so they are made the project's before it runs (``ProjectPaths``).
    ``typed_rewrites``: a model's DuckDB SQL is rewritten by its operands' types where the
    engine's own SQL means another value (a fraction cast to an integer, a division); what
    could not be typed goes as written and is said (``TypedRewrites``).
    ``model_checks``: a model's SQL, alone, is checked for what the engine would compute
    otherwise than the model's dialect means and cannot rewrite (``ModelChecks``: Spark's
    text of a DOUBLE), before retl's own SQL wraps it.
    """

    dialect: str
    can_hold_state: bool
    diffs_in_place: bool
    is_workbench: bool = False
    default_schema: str | None = None
    native_models: bool = False
    subquery_fence: str = ""
    reads_local_files: bool = False
    project_paths: bool = False
    typed_rewrites: bool = False
    model_checks: bool = False


class Engine(Protocol):
    """What the rest of retl needs from a warehouse. Implementations own their driver."""

    dialect: str
    capabilities: EngineCapabilities
    # The dialect of the SQL it is given: DuckDB's, in which retl's own SQL is written, in
    # every engine the factory opens. A model in the engine's own dialect is read through
    # ``NativeModels.native_view``; one in another dialect is translated first
    # (models/dialects.query_for).
    model_dialect: str

    def transpile(self, sql: str) -> str:
        """One statement in the model dialect as this engine's own SQL."""
        ...

    def stream(self, sql: str, *, batch_rows: int = DEFAULT_BATCH_ROWS) -> pa.RecordBatchReader:
        """Run ``sql`` (model dialect) and return a reader of record batches (never the whole
        result in memory)."""
        ...

    def schema(self, sql: str) -> pa.Schema:
        """Arrow schema of ``sql``'s result, without fetching its rows."""
        ...

    def describe(self, sql: str) -> list[ColumnInfo]:
        """Output columns of ``sql`` without fetching its rows."""
        ...

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The engine's own SQL (already transpiled), small results only (counts, samples)."""
        ...

    def table_columns(self, schema: str | None, table: str) -> list[ColumnInfo] | None:
        """Columns of a table or view of the engine's catalog, typed as the engine writes
        them, by metadata only; None when there is no such table. ``schema`` None: the
        engine's default."""
        ...

    def close(self) -> None: ...


class NativeModels(Engine, Protocol):
    """An engine with ``capabilities.native_models``."""

    def native_view(self, name: str, sql: str) -> str:
        """A temporary view of ``sql``, in the engine's own dialect and run as written, for
        model ``name``; the name to read it by."""
        ...


class LocalFiles(Engine, Protocol):
    """An engine with ``capabilities.reads_local_files``."""

    def restrict_files(self, directories: Sequence[Path], files: Sequence[Path] = ()) -> None:
        """From now on, models read local files only in ``directories`` and ``files``."""
        ...


class ProjectPaths(Engine, Protocol):
    """An engine with ``capabilities.project_paths``."""

    # The files models may read (its base: the project folder), once restricted: a model
    # is checked against it before it runs (models/dialects.query_for).
    file_rule: FileRule | None

    def project_paths(self, sql: str, tree: exp.Expr | None = None) -> str:
        """A model's ``sql`` (``tree``: its parsed form, when the caller has it) with its
        relative file paths made the project's."""
        ...

    def parses(self, sql: str) -> bool:
        """Whether the engine's own parser reads ``sql`` (nothing runs): SQL it cannot read
        runs nothing, so its syntax error is the thing to say."""
        ...


class ModelChecks(Engine, Protocol):
    """An engine with ``capabilities.model_checks``."""

    def check_model(self, sql: str) -> None:
        """Raise an ``EngineError`` naming what a model's ``sql`` (model dialect, alone, not
        wrapped by retl's SQL) would compute otherwise here, silently, with the fix."""
        ...

    def check_model_with(self, sql: str, table_types: TableTypes) -> None:
        """``check_model`` with the tables' types from ``table_types`` (``retl validate``'s
        schemas), not the server's catalog: nothing connects."""
        ...


class TypedRewrites(Engine, Protocol):
    """An engine with ``capabilities.typed_rewrites``."""

    def untyped(self, sql: str) -> list[str]:
        """The expressions of ``sql`` (model dialect, as written there, shortened) whose
        value may differ from DuckDB's here because their operands' types could not be found
        (their rewrite needs them); none when every one was typed."""
        ...


class Workbench(Engine, Protocol):
    """The local engine that encodes, diffs and holds staged rows (DuckDB)."""

    def stage(self, reader: pa.RecordBatchReader) -> str:
        """Copy a stream of rows (from another engine) into a temporary table; its name."""
        ...

    def materialize(self, sql: str) -> str:
        """Run ``sql`` into a temporary table; its name."""
        ...


def iter_batches(reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    while True:
        try:
            yield reader.read_next_batch()
        except StopIteration:
            return
