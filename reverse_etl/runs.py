"""Running plans and syncs: the state store, the diff input, the plans and the sending.

The Project facade delegates here; this module decides where the diff runs (the local DuckDB
or the warehouse), holds the lock for the length of a sync, and writes the run report.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from reverse_etl.config.project import PROJECT_FILE
from reverse_etl.destinations.tiktok.destination import TikTokDestination
from reverse_etl.destinations.tiktok.sandbox_target import override_for, start_sandbox
from reverse_etl.destinations.tiktok.vocab import DEDUP_WINDOW_SECONDS
from reverse_etl.engine.duckdb import DEFAULT_MEMORY
from reverse_etl.errors import (
    ConfigError,
    InvalidRowsError,
    RetlError,
    StateDamagedError,
    UsageError,
    ValidationFailed,
)
from reverse_etl.models.compile import CompiledModel, model_errors
from reverse_etl.plan import (
    DestinationPlan,
    ModelInput,
    StateView,
    build_destination_plan,
    check_coverage,
    check_invalid,
    encode_plan_for,
)
from reverse_etl.report import SyncReport, new_run_id, write_report
from reverse_etl.sandbox import SandboxServer
from reverse_etl.state.dedup import (
    DedupCounts,
    DedupWindow,
    ResendImpact,
    impact_counts,
    impact_sql,
)
from reverse_etl.state.diff import (
    CHANGE,
    CHANGED,
    HELD,
    LATE,
    ROW_KEY,
    Rows,
    classify_sql,
    diff_sql,
    fetch_sql,
    row_parts,
    send_keys_sql,
)
from reverse_etl.state.lock import SyncLock
from reverse_etl.state.scope import state_scope
from reverse_etl.state.store import ScopeInfo, StateStore, set_aside
from reverse_etl.state.warehouse import WarehouseStateStore
from reverse_etl.sync import Target, execute

if TYPE_CHECKING:
    from reverse_etl.project import Project


class Runner:
    """Plans and syncs for one project."""

    def __init__(self, project: Project) -> None:
        self.p = project
        self._memory_noted = False

    def state_file(self, *, sandbox: bool = False) -> Path:
        """The state database: sandbox runs keep their own, so they never mark rows as sent
        for the real destination."""
        return self.p.state_dir / ("sandbox-state.duckdb" if sandbox else "state.duckdb")

    @contextmanager
    def _state(
        self, *, sandbox: bool, write: bool, set_aside_damaged: bool = False
    ) -> Iterator[StateStore | WarehouseStateStore]:
        """The state store, locked for writing when ``write``. Sandbox runs always keep a
        local state of their own. With ``set_aside_damaged`` (a whole reset), a local state
        file that cannot be read is moved aside, and a new one started."""
        store: StateStore | WarehouseStateStore
        if self.p.config.state.location == "warehouse" and not sandbox:
            # Here, not at the top: psycopg costs every DuckDB-only run ~16 MB of memory.
            from reverse_etl.engine.postgres import PostgresEngine

            engine = self.p.engine
            if not isinstance(engine, PostgresEngine):
                raise ConfigError(
                    "state.location: warehouse needs a PostgreSQL warehouse",
                    file=self.p.dir / PROJECT_FILE,
                    key="state.location",
                    hint="with DuckDB, keep location: local (the state file sits beside it)",
                )
            store = WarehouseStateStore(engine, self.p.config.state.schema_, clock=self.p.clock)
            try:
                with store.lock() if write else contextlib.nullcontext():
                    yield store
            finally:
                store.close()
            return
        state_file = self.state_file(sandbox=sandbox)
        with SyncLock(state_file) if write else contextlib.nullcontext():
            store = self._open_local(state_file, sandbox, write, set_aside_damaged)
            for warning in store.warnings:
                self.p.console.warning(warning)
            try:
                yield store
            except Exception as exc:
                # Damage found past the open (a block is checked when first read): said as
                # such, not as the query that happened to read it.
                error = store.explain(exc)
                if error is None:
                    raise
                raise error from None
            finally:
                store.close()

    def _open_local(
        self, state_file: Path, sandbox: bool, write: bool, set_aside_damaged: bool
    ) -> StateStore:
        reset = "retl state reset" + (" --sandbox" if sandbox else "")
        if set_aside_damaged:
            # Read it all first, read-only: a damaged file is moved aside as it is (a
            # read-write open would fold journals into it), and a reset never stops midway.
            try:
                probe = StateStore(
                    self.p.workbench, state_file, read_only=True, reset_command=reset
                )
                try:
                    probe.check_readable()
                finally:
                    probe.close()
            except StateDamagedError as exc:
                moved = set_aside(state_file)
                self.p.console.warning(
                    f"{state_file}: {exc.message}: moved it, as it was, to {moved} (with its "
                    "journal, if any) and started a new state; every destination's next sync "
                    "sends every row again"
                )
        return StateStore(
            self.p.workbench,
            state_file,
            read_only=not write,
            reset_command=reset,
            clock=self.p.clock,
        )

    def window(self) -> DedupWindow:
        """TikTok's deduplication window as of now (the project's clock)."""
        return DedupWindow.at(self.p.clock(), DEDUP_WINDOW_SECONDS)

    def _model_input(
        self,
        store: StateStore | WarehouseStateStore,
        dest: TikTokDestination,
        compiled: CompiledModel,
        previous: ScopeInfo | None,
        full_refresh: bool,
    ) -> ModelInput:
        """The rows to encode: the model's rows whose key is new or whose row hash changed.

        The diff runs where the state lives: in the workbench (local state), or in the
        warehouse (state there), where only the rows to send leave the server.
        """
        bench = self.p.workbench
        in_warehouse = isinstance(store, WarehouseStateStore)
        with model_errors(compiled):
            if in_warehouse:
                assert isinstance(store, WarehouseStateStore)
                base_sql, schema = compiled.sql, store.engine.schema(compiled.sql)
            else:
                model = self.p.model_input(compiled)
                base_sql, schema = f"SELECT * FROM {model.relation}", model.schema
        probe, _ = encode_plan_for(dest, compiled, ModelInput("(SELECT 1) AS __probe", schema))
        # A scope keeps the row hash form of its first sync; a first sync takes the newest
        # (the exact form). Nothing acknowledged yet is a full refresh: no join, and the
        # encoder reads the model directly.
        scope = state_scope(dest.settings)
        form = store.hash_form(dest.name, scope)
        fresh = full_refresh or form is None
        parts = row_parts(
            base_sql,
            schema,
            list(probe.spec.key_columns),
            form=store.new_scope_form if form is None else form,
        )
        rows = parts.sql
        # Each acknowledged key carries its first acknowledgement: a changed row whose first
        # one is outside TikTok's dedup window is held back (on_change), and a resend of it
        # is counted (TikTok would count it twice).
        window = self.window()
        hold = window.hold_sql(dest.settings.on_change)
        acked = None if form is None else store.latest_relation(dest.name, scope, with_first=True)
        latest = None if fresh else acked
        diff = diff_sql(rows, latest, hold)
        unchanged, dedup = 0, DedupCounts()
        with model_errors(compiled):
            if in_warehouse:
                assert isinstance(store, WarehouseStateStore)
                engine = store.engine
                if acked is not None:
                    counted = impact_sql(rows, acked, hold=hold, window=window, full_refresh=fresh)
                    unchanged, dedup = impact_counts(engine.rows(engine.transpile(counted)))
                table = bench.stage(engine.stream(diff))
            elif latest is None:
                # Every row is sent: the encoder reads the model directly; its one pass
                # into the plan's table is the only time the model runs.
                table = f"({diff}) AS __diff"
                if acked is not None:  # a full refresh: what it sends again, counted
                    counted = impact_sql(rows, acked, hold=hold, window=window, full_refresh=True)
                    _, dedup = impact_counts(bench.rows(counted))
            else:
                table, unchanged, dedup = self._local_diff(parts, latest, hold, window)
        return ModelInput(
            table,
            bench.schema(f"SELECT * FROM {table}"),
            prekeyed=True,
            unchanged_elsewhere=unchanged,
            dedup=dedup,
        )

    def _local_diff(
        self, rows: Rows, latest: str, hold: str | None, window: DedupWindow
    ) -> tuple[str, int, DedupCounts]:
        """The rows to send, staged in the workbench, how many rows are unchanged, and what
        the diff found about changed rows (held back, sent again, counted twice).

        One narrow scan classifies every row; a second fetches the rows of the keys to send,
        and is skipped when there are none (an unchanged re-sync reads the model once)."""
        bench = self.p.workbench
        classified = bench.materialize(
            classify_sql(rows.sql, latest, hold=hold, late=window.late_sql())
        )
        try:
            send_keys = bench.materialize(send_keys_sql(classified))
            (total, keyless, held, resent, late) = bench.rows(
                f"""SELECT count(*), count(*) FILTER (WHERE {ROW_KEY} IS NULL),
                       count(*) FILTER (WHERE {CHANGE} = '{HELD}'),
                       count(*) FILTER (WHERE {CHANGE} = '{CHANGED}'),
                       count(*) FILTER (WHERE {CHANGE} = '{CHANGED}' AND {LATE})
                    FROM {classified}"""
            )[0]
            (keys, kept, held_kept) = bench.rows(
                f"SELECT count(*), coalesce(sum(__rows), 0), coalesce(sum(__held), 0) "
                f"FROM {send_keys}"
            )[0]
            # Held rows stay out like unchanged ones, but are counted apart; a held row whose
            # key is duplicated goes on, to be reported invalid.
            held_out = int(held) - int(held_kept)
            unchanged = int(total) - int(keyless) - int(kept) - held_out
            dedup = DedupCounts(held_out, int(resent), int(late))
            fetch = fetch_sql(rows, send_keys)
            # Nothing to send: an empty table of the same columns, without a second scan.
            table = bench.materialize(fetch if keys or keyless else f"{fetch} LIMIT 0")
            bench.execute(f"DROP TABLE {send_keys}")
        finally:
            bench.execute(f"DROP TABLE IF EXISTS {classified}")
        return table, unchanged, dedup

    def _plans(
        self, store: StateStore | WarehouseStateStore, select: Sequence[str], full_refresh: bool
    ) -> list[DestinationPlan]:
        # The same static validation as `retl validate` comes first: a model that cannot fit
        # its destination stops here, with every problem, before any row is read.
        problems = [p for v in self.p.validate(select) for p in v.errors]
        if problems:
            raise ValidationFailed.from_problems(
                problems, summary="validation failed: nothing was sent (see 'retl validate')"
            )
        plans = []
        for d in self.p.destinations_for_run(select):
            scope = state_scope(d.settings)
            previous = store.scope_info(d.name, scope)
            compiled = self.p.graph.compiled(d.settings.model)
            model = self._model_input(store, d, compiled, previous, full_refresh)
            # On a first sync the model runs inside the plan's encode: its errors too name it.
            with model_errors(compiled):
                plan = build_destination_plan(
                    self.p.workbench,
                    d,
                    compiled,
                    model,
                    StateView(scope, previous),
                    full_refresh=full_refresh,
                )
            if plan.mapping_change is not None:
                self.p.console.warning(
                    f"{d.name}: the mapping changed since the last sync ("
                    + "; ".join(plan.mapping_change.changes)
                    + f"): {plan.mapping_change.rows_resent} row(s) sent before will be sent "
                    "again with the same event_id (TikTok deduplicates repeats only within 48 "
                    "hours of the first send)"
                )
            plans.append(plan)
        bench = self.p.workbench
        if bench.memory_raised and not self._memory_noted:
            self._memory_noted = True
            first_limit = bench.memory.limit if bench.memory is not None else DEFAULT_MEMORY
            self.p.console.warning(
                f"DuckDB needed more than {first_limit} for this project and was given "
                f"{bench.memory_limit}: set warehouse.memory_limit in {PROJECT_FILE} to choose "
                "the limit yourself"
            )
        return plans

    def plan(
        self, select: Sequence[str] = (), *, sandbox: bool = False, full_refresh: bool = False
    ) -> list[DestinationPlan]:
        """What a sync would send, per destination: models run and diffed against the state,
        but no network call, no state change and no secret needed."""
        with self._state(sandbox=sandbox, write=False) as store:
            return self._plans(store, select, full_refresh)

    def sync(
        self,
        select: Sequence[str] = (),
        *,
        sandbox: bool = False,
        limit: int | None = None,
        full_refresh: bool = False,
        confirm: Callable[[ResendImpact], bool] | None = None,
    ) -> SyncReport:
        """See Project.sync."""
        if limit is not None and limit < 0:
            raise UsageError("--limit must be 0 or more", key="--limit")
        report = SyncReport(plans=[], sandbox=sandbox, run_id=new_run_id())
        with self._state(sandbox=sandbox, write=True) as store:
            try:
                report.plans = self._plans(store, select, full_refresh)
                blocking = check_invalid(report.plans)
                if blocking:
                    raise InvalidRowsError.from_problems(
                        blocking, summary="invalid rows: nothing was sent"
                    )
                too_few_keys = check_coverage(report.plans)
                if too_few_keys:
                    raise InvalidRowsError.from_problems(too_few_keys)
                if full_refresh and confirm is not None:
                    _confirmed(confirm, _full_refresh_impact(report.plans))
                self._send(report, store, limit)
            except RetlError as exc:
                report.error = exc.message
                raise
            finally:
                report.report_path = write_report(self.p.state_dir / "runs", report)
        return report

    def _send(
        self, report: SyncReport, store: StateStore | WarehouseStateStore, limit: int | None
    ) -> None:
        plans = report.plans
        server = start_sandbox([p.destination.settings for p in plans]) if report.sandbox else None
        try:
            for plan in plans:
                target = self._target(plan, server)
                total = plan.rows_to_send if limit is None else min(limit, plan.rows_to_send)
                with self.p.console.progress(plan.name, total) as progress:
                    result = execute(
                        self.p.workbench,
                        plan,
                        target,
                        observer=progress,
                        state=store,
                        run_id=report.run_id,
                        limit=limit,
                        policy=self.p.retry_policy,
                    )
                report.results.append(result)
        finally:
            if server is not None:
                report.sandbox_summary = server.stats.snapshot()
                server.stop()

    def state_show(self, *, sandbox: bool = False) -> list[ScopeInfo]:
        """What the state holds, per destination and event source."""
        with self._state(sandbox=sandbox, write=False) as store:
            return store.all_scopes()

    def state_reset(
        self,
        select: Sequence[str] = (),
        *,
        sandbox: bool = False,
        confirm: Callable[[ResendImpact], bool] | None = None,
    ) -> dict[str, int]:
        """Forget what was sent to the selected destinations (all when none is selected):
        their next sync sends every row again. ``confirm`` sees how many rows that is first."""
        names = [d.name for d in self.p.select_destinations(select)] if select else None
        try:
            with self._state(sandbox=sandbox, write=True, set_aside_damaged=not names) as store:
                if names is None:
                    names = sorted({s.destination for s in store.all_scopes()})
                if confirm is not None:
                    window = self.window()
                    counts = {name: store.acknowledged(name, window) for name in names}
                    _confirmed(
                        confirm,
                        ResendImpact(
                            "state reset",
                            {n: c[0] for n, c in counts.items()},
                            {n: c[1] for n, c in counts.items()},
                            window.hours,
                        ),
                    )
                return {name: store.reset(name) for name in names}
        except StateDamagedError as exc:
            # A file that cannot be read cannot forget one destination: only set aside whole.
            command = "retl state reset" + (" --sandbox" if sandbox else "")
            raise StateDamagedError(
                exc.message,
                file=exc.file,
                hint=f"move it away or restore it; '{command}' without --select sets the "
                "whole file aside and starts over",
            ) from None

    def _target(self, plan: DestinationPlan, server: SandboxServer | None) -> Target:
        dest = plan.destination
        if server is not None:
            o = override_for(server, dest.settings)
            return Target(o.base_url, o.token, sandbox=True, event_source_id=o.event_source_id)
        return Target(dest.settings.api_base_url, dest.access_token(dest.stored_token()))


def _full_refresh_impact(plans: Sequence[DestinationPlan]) -> ResendImpact:
    """What a full refresh sends again: rows acknowledged before, and those TikTok counts
    twice (first acknowledged outside its dedup window)."""
    return ResendImpact(
        "--full-refresh",
        {p.name: p.dedup.resent for p in plans},
        {p.name: p.dedup.double_counted for p in plans},
        round(DEDUP_WINDOW_SECONDS / 3600),
    )


def _confirmed(confirm: Callable[[ResendImpact], bool], impact: ResendImpact) -> None:
    """Ask ``confirm`` when anything acknowledged would be sent again; a no stops the run
    before anything is sent or forgotten."""
    if impact.total_resent and not confirm(impact):
        raise UsageError(
            f"{impact.action} not confirmed: nothing was sent or forgotten",
            hint="TikTok counts an event sent again more than "
            f"{impact.window_hours} hours after its first delivery as a new conversion",
        )
