"""Which engine a project's ``warehouse:`` opens, and which ``StateStore`` goes with it.

The only place that knows every engine class: the facade, validation and the run path ask
here, then talk to the ``Engine`` contract and the engine's capabilities. Drivers (psycopg,
pyspark) are imported only when their warehouse is used.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reverse_etl import project_files
from reverse_etl.engine.base import Engine

if TYPE_CHECKING:
    from reverse_etl.config.project import PostgresWarehouse, SparkWarehouse
    from reverse_etl.engine.refused_calls import CallCheck
    from reverse_etl.engine.typed import TableTypes
    from reverse_etl.state.base import StateStore
    from reverse_etl.state.dedup import Clock

# A model's SQL and its tables' types -> its expressions left untyped (``untyped_check``).
UntypedCheck = Callable[[str, "TableTypes"], list[str]]
# A model's SQL and its tables' types -> None, or the engine's refusal of the model raised
# (an ``EngineError``: ``model_check``).
ModelCheck = Callable[[str, "TableTypes"], None]
SPARK_WAREHOUSE_DIR = "spark-warehouse"  # under the state folder, when not configured


def open_warehouse(
    wh: PostgresWarehouse | SparkWarehouse,
    resolve_path: Callable[[str], Path],
    state_dir: Path,
    *,
    written_at: Mapping[str, tuple[Path, int | None, str]] | None = None,
) -> Engine:
    """The engine of a warehouse server (DuckDB's is the workbench, opened by the facade).
    Nothing connects until the first query.

    The engine reads DuckDB's dialect, whatever ``warehouse.dialect`` says: retl's own SQL
    (the diff, the row hash, the history) is written in it. ``warehouse.dialect`` is the
    dialect of the models (the project's default), each run as written through the engine's
    ``native_view`` when it is the engine's own (models/dialects.query_for). ``written_at``:
    where each setting is written (file, line, key), named by a connection error."""
    if wh.type == "spark":
        from reverse_etl.engine.spark import SparkConnection, SparkEngine

        folder = resolve_path(wh.warehouse_dir) if wh.warehouse_dir else None
        if folder is None and wh.master is not None:
            folder = state_dir / SPARK_WAREHOUSE_DIR
        return SparkEngine(
            SparkConnection(
                master=wh.master,
                remote=wh.remote,
                token=wh.token.reveal() if wh.token is not None else None,
                connect_timeout=wh.connect_timeout,
                conf=dict(wh.conf),
                warehouse_dir=folder.resolve() if folder is not None else None,
                files_base=resolve_path(".").resolve(),
                written_at=dict(written_at or {}),
            ),
        )
    from reverse_etl.engine.postgres import PostgresConnection, PostgresEngine

    return PostgresEngine(
        PostgresConnection(
            host=wh.host,
            port=wh.port,
            dbname=wh.dbname,
            user=wh.user,
            password=wh.password.reveal() if wh.password is not None else None,
            sslmode=wh.sslmode,
            search_path=wh.search_path,
            written_at=dict(written_at or {}),
        ),
    )


def call_check(kind: str) -> CallCheck | None:
    """The check the engine of a ``warehouse: {type: kind}`` makes of the functions a model
    calls before it runs (``engine/refused_calls.py``), to be made without the engine: sqlglot
    only, no connection, no driver (``retl validate --offline`` in a pull request's job).
    None for the workbench (DuckDB's refusals are the models' own: models/sql_text.py)."""
    if kind not in ("spark", "postgres"):  # DuckDB's projects import none of it (#18)
        return None
    from reverse_etl.engine.refused_calls import CallCheck

    if kind == "spark":
        from reverse_etl.engine.spark_calls import as_engine_reads
        from reverse_etl.engine.spark_calls import refused_call as spark_refusal

        return CallCheck("spark", spark_refusal, prepare=as_engine_reads)
    if kind == "postgres":
        from reverse_etl.engine.pg_calls import refused_call as pg_refusal

        return CallCheck("postgres", pg_refusal)
    return None


def untyped_check(kind: str, model_dialect: str) -> UntypedCheck | None:
    """What the engine of a ``warehouse: {type: kind}`` would run as written for want of its
    operands' types (the engine's ``untyped``: ``retl plan`` warns of it), found from the
    tables' types given (``retl validate``'s schemas): sqlglot only, no connection (no
    Spark session). None for the workbench (DuckDB runs every model as written)."""
    if kind == "spark":
        from reverse_etl.engine.spark import SparkConnection, SparkEngine

        return SparkEngine(SparkConnection(), model_dialect=model_dialect).untyped_with
    if kind == "postgres":
        from reverse_etl.engine.postgres import PostgresConnection, PostgresEngine

        return PostgresEngine(PostgresConnection(), model_dialect=model_dialect).untyped_with
    return None


def model_check(kind: str, model_dialect: str) -> ModelCheck | None:
    """The refusal the engine of a ``warehouse: {type: kind}`` makes of a model's own SQL
    before it runs it (``capabilities.model_checks``, ``check_model``: Spark's of a DOUBLE
    made text), made from the tables' types given (``retl validate``'s schemas): sqlglot
    only, no connection (no Spark session). It raises the engine's ``EngineError``, as
    ``plan``, ``sync`` and ``show`` do. None for an engine without such checks."""
    if kind == "spark":
        from reverse_etl.engine.spark import SparkConnection, SparkEngine

        engine = SparkEngine(SparkConnection(), model_dialect=model_dialect)
        return engine.check_model_with if engine.capabilities.model_checks else None
    return None  # DuckDB runs a model as written; PostgreSQL has no such check


# A model's SQL and its tables' types -> its untyped expressions and the engine's refusal
# (``static_checks``: both from one transpile).
StaticChecks = Callable[[str, "TableTypes"], tuple[list[str], Any]]


def static_checks(kind: str, model_dialect: str) -> StaticChecks | None:
    """``untyped_check`` and ``model_check`` of an engine that has both, in one transpile
    of the model (Spark's ``static_checks``); None for another engine (the two apart)."""
    if kind == "spark":
        from reverse_etl.engine.spark import SparkConnection, SparkEngine

        return SparkEngine(SparkConnection(), model_dialect=model_dialect).static_checks
    return None


@contextlib.contextmanager
def warehouse_state(
    engine: Engine,
    schema: str,
    journal_dir: Path,
    *,
    write: bool,
    clock: Clock,
    create: bool = True,
) -> Iterator[StateStore]:
    """The ``StateStore`` that keeps its tables in ``engine`` (``state: {location:
    warehouse}``), locked against a second sync for as long as it is open when ``write``.
    The engine must be able to hold it (``capabilities.can_hold_state``). ``create=False``
    (a reader, never with ``write``) creates no schema, database nor table, and writes no
    scratch table: a state not created yet reads as nothing sent and no history."""
    opener = _STATE_STORES.get(engine.capabilities.dialect)
    if opener is None or not engine.capabilities.can_hold_state:
        raise ValueError(f"a {engine.capabilities.dialect} engine cannot hold the state")
    with opener(engine, schema, journal_dir, write, clock, create=create or write) as store:
        yield store


@contextlib.contextmanager
def _postgres_state(
    engine: Any, schema: str, journal_dir: Path, write: bool, clock: Clock, *, create: bool
) -> Iterator[StateStore]:
    from reverse_etl.state.warehouse import WarehouseStateStore

    # An advisory lock, released by the server when a killed process's session ends.
    store = WarehouseStateStore(engine, schema, clock=clock, create=create)
    # The diff's cached tables (PostgresEngine.cached): in the state's schema for a sync; a
    # reader's (retl plan) are TEMP tables, so that it writes nothing.
    engine.scratch_schema = schema if create else None
    try:
        with store.lock() if write else contextlib.nullcontext():
            yield store
    finally:
        store.close()


@contextlib.contextmanager
def _spark_state(
    engine: Any, schema: str, journal_dir: Path, write: bool, clock: Clock, *, create: bool
) -> Iterator[StateStore]:
    from reverse_etl.state.lock import SyncLock
    from reverse_etl.state.spark import SparkStateStore

    # Spark has no lock that a killed process releases: syncs on this machine are kept
    # apart by the local lock of the journal folder they share; CI runs on other machines
    # by the CI's own concurrency setting (docs/warehouses.md).
    if write:
        project_files.own_folder(journal_dir, create=True)  # never a pull request's link
    with SyncLock(journal_dir / "state") if write else contextlib.nullcontext():
        store = SparkStateStore(
            engine, schema, journal_dir, write=write, clock=clock, create=create
        )
        try:
            yield store
        finally:
            store.close()


_STATE_STORES: dict[str, Callable[..., AbstractContextManager[StateStore]]] = {
    "postgres": _postgres_state,
    "spark": _spark_state,
}
