"""Opening the state for a run: where it lives (the project's config says), locked for the
length of a sync, with a damaged local file said as such (or set aside on a whole reset).

The one place that knows both stores: the rest of the run path sees a ``StateStore``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from reverse_etl.config.project import PROJECT_FILE
from reverse_etl.errors import ConfigError, StateDamagedError, StateError
from reverse_etl.state.base import StateStore
from reverse_etl.state.lock import SyncLock
from reverse_etl.state.store import LocalStateStore, StateInUseError, set_aside

if TYPE_CHECKING:
    from reverse_etl.pipeline.context import RunContext


def state_file(project: RunContext, *, sandbox: bool = False) -> Path:
    """The local state database: sandbox runs keep their own, so they never mark rows as
    sent for the real destination."""
    return project.state_dir / ("sandbox-state.duckdb" if sandbox else "state.duckdb")


def reset_command(sandbox: bool) -> str:
    """The command that forgets the state a run of this kind uses (named in messages)."""
    return "retl state reset" + (" --sandbox" if sandbox else "")


@contextmanager
def open_state(
    project: RunContext,
    *,
    sandbox: bool,
    write: bool,
    set_aside_damaged: bool = False,
    create: bool = True,
    run: tuple[str, str] | None = None,
) -> Iterator[StateStore]:
    """The state store, locked for writing when ``write``. Sandbox runs always keep a local
    state of their own. With ``set_aside_damaged`` (a whole reset), a local state file that
    cannot be read is moved aside, and a new one started. ``create=False`` (the readers:
    the history's, plan, state show): a warehouse state is read as it is, nothing created
    (see ``warehouse_state``).
    ``run``: the sync's run id and command, which the lock's info file names (the history's
    readers list the run while it plans, before its row is written)."""
    if project.config.state.location == "warehouse" and not sandbox:
        with _warehouse_state(project, write, create) as store:
            yield store
        return
    path = state_file(project, sandbox=sandbox)
    with SyncLock(path, run) if write else contextlib.nullcontext():
        local = _open_local(project, path, sandbox, write, set_aside_damaged)
        for warning in local.warnings:
            project.console.warning(warning)
        try:
            yield local
        except Exception as exc:
            # Damage found past the open (a block is checked when first read): said as such,
            # not as the query that happened to read it.
            error = local.explain(exc)
            if error is None:
                raise
            raise error from None
        finally:
            local.close()


@contextmanager
def _warehouse_state(project: RunContext, write: bool, create: bool) -> Iterator[StateStore]:
    # Here, not at the top: a warehouse's driver costs every DuckDB-only run memory.
    from reverse_etl.engine.factory import warehouse_state

    engine = project.engine
    if not engine.capabilities.can_hold_state:
        raise ConfigError(
            f"state.location: warehouse needs a warehouse that can hold it (PostgreSQL or "
            f"Spark), not {engine.capabilities.dialect}",
            file=project.dir / PROJECT_FILE,
            key="state.location",
            hint="with DuckDB, keep location: local (the state file sits beside it)",
        )
    # Acknowledgements of a running sync that are not in the warehouse yet (Spark's).
    journal_dir = project.state_dir / "warehouse-state.acks"
    with warehouse_state(
        engine,
        project.config.state.schema_,
        journal_dir,
        write=write,
        clock=project.clock,
        create=create,
    ) as store:
        for warning in store.warnings:
            project.console.warning(warning)
        yield store


def _open_local(
    project: RunContext, path: Path, sandbox: bool, write: bool, set_aside_damaged: bool
) -> LocalStateStore:
    reset = reset_command(sandbox)
    if set_aside_damaged:
        # Read it all first, read-only: a damaged file is moved aside as it is (a read-write
        # open would fold journals into it), and a reset never stops midway.
        try:
            probe = LocalStateStore(project.workbench, path, read_only=True, reset_command=reset)
            try:
                probe.check_readable()
            finally:
                probe.close()
        except StateDamagedError as exc:
            moved = set_aside(path)
            project.console.warning(
                f"{path}: {exc.message}: moved it, as it was, to {moved} (with its journal, "
                "if any) and started a new state; every destination's next sync sends every "
                "row again"
            )
    try:
        return LocalStateStore(
            project.workbench, path, read_only=not write, reset_command=reset, clock=project.clock
        )
    except StateInUseError as exc:
        if write:
            raise  # a sync, a reset: "in use", exit 75, the next run goes ahead
        in_use = exc
    holder = SyncLock.holder(path)
    sync = holder is not None and holder.pid == in_use.holder_pid
    # Another process holds the file read-write: read a copy of it (with the journal of the
    # sync, when that is the holder), taken while neither file changed (_attach_snapshot).
    try:
        store = LocalStateStore(
            project.workbench, path, read_only=True, snapshot=True, live=sync, reset_command=reset
        )
    except StateError:
        if sync:
            raise
        raise in_use from None  # another program that kept writing it: in use, exit 75
    if holder is not None and sync:
        project.console.warning(
            f"a retl sync is running on this state ({holder.text}): read as of now, with the "
            "events it has had acknowledged so far"
        )
    else:
        pid = f" (PID {in_use.holder_pid})" if in_use.holder_pid else ""
        project.console.warning(
            f"another program has the state database open{pid}, a DuckDB client say: read a "
            "copy of it as of now"
        )
    return store
