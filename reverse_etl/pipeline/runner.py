"""Running plans and syncs: the state, the diff input, the plans and the sending, in order.

The Project facade delegates here. A run opens the state (``stores.py``), diffs each
destination's model against it (``inputs.py``), builds the plans (``plan.py``), sends
(``send.py``) and writes the run report (``report.py``). Platforms are reached through the
Destination contract only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from reverse_etl import interrupts
from reverse_etl.config.project import PROJECT_FILE
from reverse_etl.destinations.base import Destination, ResolvedSource
from reverse_etl.engine.duckdb import DEFAULT_MEMORY
from reverse_etl.engine.native_memory import arrow_system_pool
from reverse_etl.errors import (
    EXIT_LOCKED,
    EXIT_SIGINT,
    EXIT_SIGPIPE,
    EXIT_SIGTERM,
    MAX_LIMIT,
    ConfigError,
    EnvironmentProblem,
    Interrupted,
    InvalidRowsError,
    LockHeldError,
    Problem,
    RetlError,
    StateDamagedError,
    StateError,
    UsageError,
    ValidationFailed,
    environment_error,
)
from reverse_etl.history.read import HistoryReader
from reverse_etl.models.compile import model_errors
from reverse_etl.models.dialects import query_for
from reverse_etl.models.select import tokens
from reverse_etl.pipeline.history import (
    command_text,
    now,
    record_end,
    record_refused,
    record_start,
    runs_folder,
)
from reverse_etl.pipeline.inputs import model_input, remember_sent
from reverse_etl.pipeline.keychange import key_change, model_renamed, renamed_from
from reverse_etl.pipeline.plan import (
    DestinationPlan,
    StateView,
    build_destination_plan,
    check_coverage,
    check_invalid,
)
from reverse_etl.pipeline.plan_warnings import mapping_change_text, untyped_warning
from reverse_etl.pipeline.report import SyncReport, new_run_id, write_report
from reverse_etl.pipeline.send import execute
from reverse_etl.pipeline.stores import open_state, reset_command, state_file
from reverse_etl.state.base import StateStore
from reverse_etl.state.dedup import DedupWindow, ResendImpact
from reverse_etl.state.store import ScopeInfo
from reverse_etl.validation.live import (
    live_type_problems,
    row_free_types,
    untyped_parameters,
)

if TYPE_CHECKING:
    from reverse_etl.pipeline.context import RunContext

DEFAULT_WINDOW_SECONDS = 48 * 3600  # when no destination is selected (a whole reset)


def _os_error_said(exc: OSError) -> tuple[str, int]:
    """A sync's run report error and exit code for an OSError that is not the environment's
    fault. A broken pipe is the output's reader going away (`retl sync | head`): the CLI exits
    141 then, as Unix tools do on SIGPIPE, and that is no bug in retl (not exit 2)."""
    if isinstance(exc, BrokenPipeError):
        return "stopped: the reader of retl's output went away (broken pipe)", EXIT_SIGPIPE
    return f"unexpected {type(exc).__name__}", 2


class Runner:
    """Plans and syncs for one project."""

    def __init__(self, project: RunContext) -> None:
        self.p = project
        self._memory_noted = False  # the fallback memory limit, said once
        self._one_thread_noted = False  # statements rerun on one thread, said once
        self.report: SyncReport | None = None  # the last sync's, even when it raised

    def state_file(self, *, sandbox: bool = False) -> Path:
        """The state database: sandbox runs keep their own."""
        return state_file(self.p, sandbox=sandbox)

    def window(self, destinations: Sequence[Destination] = ()) -> DedupWindow:
        """The platforms' deduplication window as of now (the project's clock): the longest
        of ``destinations``' (48 hours for TikTok and Meta)."""
        seconds = max(
            (d.capabilities.dedup_window_seconds for d in destinations),
            default=DEFAULT_WINDOW_SECONDS,
        )
        return DedupWindow.at(self.p.clock(), seconds)

    def _plans(
        self, store: StateStore, select: Sequence[str], full_refresh: bool, *, sandbox: bool
    ) -> list[DestinationPlan]:
        # The warehouse first: a server that cannot be reached is said as such (validation
        # would take its unread catalog for unknown tables, and blame the models).
        self.p.engine.rows("SELECT 1")
        # The same static validation as `retl validate` comes first: a model that cannot fit
        # its destination stops here, with every problem, before any row is read.
        # each once: a model's problem is the same for every destination reading it
        validations = self.p.validate(select)
        problems = list(dict.fromkeys(p for v in validations for p in v.errors))
        if problems:
            raise ValidationFailed.from_problems(
                problems, summary="validation failed: nothing was sent (see 'retl validate')"
            )
        untyped = untyped_parameters(validations)
        sources = {v.destination: v.sources for v in validations}  # for personal_ids.py
        plans = []
        bench = self.p.workbench
        reruns_before = bench.single_threaded
        configured: set[str] | None = None
        scopes: list[ScopeInfo] = []
        typing: dict[str, Problem | None] = {}  # each model's, once
        for d in self.p.destinations_for_run(select):
            scope = d.state_scope()
            previous = store.scope_info(d.name, scope, count=False)  # keys not read here
            compiled = self.p.graph.compiled(d.settings.model)
            moved = key_change(d, compiled, previous, store, sandbox=sandbox)
            if moved is None and previous is None and not full_refresh:
                if configured is None:  # once, and only when a destination is new
                    configured = {c.name for c in self.p.select_destinations(())}
                    scopes = store.all_scopes()
                moved = renamed_from(d, scope, scopes, configured, sandbox=sandbox)
            if moved is not None:
                raise moved
            model = model_input(
                self.p, store, d, compiled, full_refresh=full_refresh, window=self.window([d])
            )
            if d.name in untyped:  # what validation could not type, checked as it runs
                with model_errors(compiled):
                    engine = self.p.engine
                    # A JSON column's type where the model runs: the staged rows' tells little
                    warehouse = (
                        None if engine is bench else engine.schema(query_for(compiled, engine))
                    )
                    columns = row_free_types(bench, model.relation, warehouse, untyped[d.name])
                live = live_type_problems(columns, untyped[d.name], d.rules())
                if live:
                    raise ValidationFailed.from_problems(
                        live,
                        summary=f"destination '{d.name}': model '{compiled.name}' does not "
                        f"fit {d.config.type}",
                    )
            # On a first sync the model runs inside the plan's encode: its errors too name it.
            with model_errors(compiled):
                plan = build_destination_plan(
                    self.p.workbench,
                    d,
                    compiled,
                    model,
                    StateView(scope, previous),
                    full_refresh=full_refresh,
                    sources=sources.get(d.name, ()),
                )
            if compiled.name not in typing:
                with model_errors(compiled):
                    typing[compiled.name] = untyped_warning(compiled, self.p.engine)
            typing_said = typing[compiled.name]
            if typing_said is not None:  # (said with the model's other warnings)
                plan = replace(plan, warnings=(*plan.warnings, typing_said))
            changed = mapping_change_text(plan)
            if changed is not None:
                self.p.console.warning(f"{d.name}: {changed}")
            if previous is not None and plan.mapping.get("derived_event_id"):
                renamed = model_renamed(d, compiled.name, HistoryReader(store))
                if renamed is not None:
                    self.p.console.warning(renamed)
            plans.append(plan)
        self._note_memory(bench.single_threaded - reruns_before)
        return plans

    def _note_memory(self, reruns: int) -> None:
        """Say once when DuckDB's memory limit was too small for the plans: it was raised to
        the fallback, or else ``reruns`` statements that ran out of memory on all threads
        were rerun on one, within the same limit but slower."""
        bench = self.p.workbench
        if bench.memory_raised:
            if not self._memory_noted:
                self._memory_noted = True
                first_limit = bench.memory.limit if bench.memory is not None else DEFAULT_MEMORY
                self.p.console.warning(
                    f"DuckDB needed more than {first_limit} for this project and was given "
                    f"{bench.memory_limit}: set warehouse.memory_limit in {PROJECT_FILE} to "
                    "choose the limit yourself"
                )
        elif reruns > 0 and not self._one_thread_noted:
            self._one_thread_noted = True
            limit = bench.memory_limit or DEFAULT_MEMORY
            ((threads,),) = bench.rows("SELECT current_setting('threads')")
            self.p.console.warning(
                f"DuckDB ran out of memory at {limit} on {threads} threads and reran {reruns} "
                f"statement(s) on one thread (slower): set a higher warehouse.memory_limit in "
                f"{PROJECT_FILE} to keep every thread"
            )

    def plan(
        self, select: Sequence[str] = (), *, sandbox: bool = False, full_refresh: bool = False
    ) -> list[DestinationPlan]:
        """What a sync would send, per destination: models run and diffed against the state,
        but no network call, no state change and no secret needed."""
        arrow_system_pool()
        with open_state(self.p, sandbox=sandbox, write=False, create=False) as store:
            return self._plans(store, select, full_refresh, sandbox=sandbox)

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
        report = self.report = SyncReport(plans=[], sandbox=sandbox, run_id=new_run_id())
        arrow_system_pool()
        self._make_state_dir()
        interrupted: Interrupted | None = None
        command = command_text(select, sandbox=sandbox, full_refresh=full_refresh, limit=limit)
        if limit is not None:  # as typed in the history; the rows sent are countable
            limit = min(limit, MAX_LIMIT)
        exit_code = 1
        finished = False  # no error, no signal until the run's end is recorded
        with self._locked_state(report, command, sandbox=sandbox) as store:
            started = now(self.p)
            history = True  # False once the state proves damaged: nothing is written into it
            try:
                report.plans = self._plans(store, select, full_refresh, sandbox=sandbox)
                # The run's start row, once the diff has read the state: a run that dies from
                # here on stays in the history as interrupted.
                record_start(self.p, store, report, command, started)
                self._checked_then_sent(report, store, limit, full_refresh, confirm)
                exit_code = 0 if report.ok else 1
                finished = True
            except RetlError as exc:
                report.error = exc.message
                report.problems = tuple(exc.problems)
                exit_code = exc.exit_code
                # damage found by the diff (said as such by open_state): write nothing more
                history = not isinstance(exc, StateError) and store.explain(exc) is None
                raise
            except OSError as exc:  # a full disk, a folder that may not be written
                problem = environment_error(exc)
                if problem is None:
                    report.error, exit_code = _os_error_said(exc)
                    raise
                report.error = problem.message
                raise problem from exc
            except Exception as exc:
                # Never a report that says ok for a run that failed (results == plans == []).
                report.error = f"unexpected {type(exc).__name__}"
                exit_code = 2
                raise
            except KeyboardInterrupt as exc:
                # Ctrl-C or SIGTERM (a CI job's timeout): sending has stopped (requests in
                # flight were let finish); what was acknowledged is in the journal, folded
                # into the state when it closes, below. Said once everything is written.
                interrupted, exit_code = _interrupted_run(report, exc, full_refresh)
            finally:
                late = self._record_end(
                    report,
                    store,
                    history=history,
                    started=started,
                    command=command,
                    exit_code=exit_code,
                    finished=finished and interrupted is None and exit_code == 0,
                )
                if late is not None:
                    interrupted, exit_code = late
        if interrupted is not None:
            interrupted.report_path = report.report_path
            raise interrupted
        return report

    def _record_end(
        self,
        report: SyncReport,
        store: StateStore,
        *,
        history: bool,
        started: dt.datetime,
        command: str,
        exit_code: int,
        finished: bool,
    ) -> tuple[Interrupted, int] | None:
        """The run's end in the history (``history``) and its report, written with the
        signals held: raised there, one left no run report and a history row with no end.
        One that came then to a ``finished`` run (no error, no signal before) is the run's
        (returned with its exit code): its record and its exit code say it."""
        with interrupts.held(RECORDING_RUN):
            if history:
                record_end(
                    self.p, store, report, started=started, command=command, exit_code=exit_code
                )
            late = interrupts.pending()
            stopped = None
            if late is not None and finished:
                stopped = _interrupted_at_the_end(report, late)
                if history:
                    record_end(
                        self.p,
                        store,
                        report,
                        started=started,
                        command=command,
                        exit_code=stopped[1],
                    )
            self._write_report(report)
        return stopped

    @contextmanager
    def _locked_state(
        self, report: SyncReport, command: str, *, sandbox: bool
    ) -> Iterator[StateStore]:
        """The state, locked for the sync. A run refused because another sync holds the lock
        (``LockHeldError``), or another process the state file (``StateInUseError``), both
        exit 75, is recorded as refused, apart from the state (``record_refused``), marked so
        in ``report.refused`` (no failure for the webhooks), then raised."""
        asked = now(self.p)
        with contextlib.ExitStack() as stack:
            try:
                store = stack.enter_context(
                    open_state(self.p, sandbox=sandbox, write=True, run=(report.run_id, command))
                )
            except RetlError as exc:
                if exc.exit_code != EXIT_LOCKED:
                    raise
                report.error = report.refused = exc.message
                if isinstance(exc, LockHeldError) and exc.held_since is not None:
                    began = exc.held_since.astimezone(dt.timezone.utc).replace(tzinfo=None)
                    report.lock_held_for = max(asked - began, dt.timedelta(0))
                record_refused(
                    self.p,
                    report,
                    started=asked,
                    command=command,
                    exit_code=exc.exit_code,
                    reason=exc.message,
                )
                raise
            yield store

    def _checked_then_sent(
        self,
        report: SyncReport,
        store: StateStore,
        limit: int | None,
        full_refresh: bool,
        confirm: Callable[[ResendImpact], bool] | None,
    ) -> None:
        """Stop on invalid rows or too few match keys (nothing sent), ask before a full
        refresh resends, then send."""
        blocking = check_invalid(report.plans)
        if blocking:
            raise InvalidRowsError.from_problems(blocking, summary="invalid rows: nothing was sent")
        too_few_keys = check_coverage(report.plans)
        if too_few_keys:
            raise InvalidRowsError.from_problems(too_few_keys)
        if full_refresh and confirm is not None:
            _confirmed(confirm, _full_refresh_impact(report.plans))
        self._send(report, store, limit)

    def _make_state_dir(self) -> None:
        """A sync writes its state, journal, lock and report in the state folder: made first,
        so that a project folder that cannot be written is said as such before anything runs
        (and DuckDB spills into it; see Project.workbench)."""
        try:
            self.p.state_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            problem = environment_error(exc)
            if problem is None:
                raise
            raise problem from exc

    def _write_report(self, report: SyncReport) -> None:
        """The run report; not writing it (a full disk) is a warning, not the run's failure."""
        folder = runs_folder(self.p)
        try:
            write_report(folder, report)
        except OSError as exc:
            problem = environment_error(exc)
            why = problem.message if problem is not None else (exc.strerror or str(exc))
            self.p.console.warning(f"the run report could not be written in {folder}: {why}")

    def _send(self, report: SyncReport, store: StateStore, limit: int | None) -> None:
        server = None
        feed: Path | None = None
        if report.sandbox:  # its events go to the project's feed, for `retl ui`
            # imported here: a real sync does without the emulators (~0.1 s, issue #18)
            from reverse_etl.sandbox import SandboxServer, SandboxWorld
            from reverse_etl.sandbox.feed import feed_path

            feed = feed_path(self.p.state_dir)
            server = SandboxServer(SandboxWorld.demo(), feed_path=feed).start()
        try:
            for plan in report.plans:
                target = plan.destination.target(server)
                opened = None
                if feed is not None and plan.encode.mask_event_ids:
                    # event ids built from personal data: the emulator's feed (retl ui's Test
                    # events page) shows this source's hashed, as the run log does
                    opened = partial(_mark_personal_ids, feed, plan.destination)
                total = plan.rows_to_send if limit is None else min(limit, plan.rows_to_send)
                try:
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
                            log_accepted=self.p.config.history.log_accepted,
                            root=self.p.dir,
                            opened=opened,
                        )
                except KeyboardInterrupt:
                    report.interrupted = plan.name
                    raise
                report.results.append(result)
                if result.interrupted is not None:
                    # stopped while sending, the answers that came meanwhile recorded: the
                    # result is the run's (report, history), then the stop goes on
                    report.interrupted = plan.name
                    raise result.interrupted
                if result.not_recorded is not None:
                    # the state could not record an answer: the send stopped; the result is
                    # the run's (what was sent), then the error is the run's
                    raise result.not_recorded
                remember_sent(self.p.workbench, store, plan, result)
        finally:
            if server is not None:
                report.sandbox_summary = server.stats.snapshot()
                server.stop()

    def state_show(self, *, sandbox: bool = False) -> list[ScopeInfo]:
        """What the state holds, per destination and event source."""
        with open_state(self.p, sandbox=sandbox, write=False, create=False) as store:
            return store.all_scopes()

    def state_reset(
        self,
        select: Sequence[str] = (),
        *,
        sandbox: bool = False,
        confirm: Callable[[ResendImpact], bool] | None = None,
        gone: Sequence[str] = (),
    ) -> dict[str, int]:
        """Forget what was sent to the selected destinations (all when none is selected nor
        ``gone``): their next sync sends every row again. ``gone``: destinations only the
        state knows (``state_only_names``), forgotten by name. ``confirm`` sees how many rows
        that is first."""
        picked = [d.name for d in self.p.select_destinations(select)] if select else []
        names = [*picked, *gone] if select or gone else None
        known = {d.name: d for d in self._all_destinations()}
        try:
            with open_state(
                self.p, sandbox=sandbox, write=True, set_aside_damaged=not names
            ) as store:
                if names is None:
                    names = sorted({s.destination for s in store.all_scopes()})
                if confirm is not None:
                    window = self.window([known[n] for n in names if n in known])
                    counts = {name: store.acknowledged(name, window) for name in names}
                    _confirmed(
                        confirm,
                        ResendImpact(
                            "state reset",
                            {n: c[0] for n, c in counts.items()},
                            {n: c[1] for n, c in counts.items()},
                            window.hours,
                            _platforms([known[n] for n in names])
                            if all(n in known for n in names)
                            else "the ad platform",  # a destination only the state knows
                        ),
                    )
                return {name: store.reset(name) for name in names}
        except StateDamagedError as exc:
            # A file that cannot be read cannot forget one destination: only set aside whole.
            command = reset_command(sandbox)
            raise StateDamagedError(
                exc.message,
                file=exc.file,
                hint=f"move it away or restore it; '{command}' without --select sets the "
                "whole file aside and starts over",
            ) from None

    def state_only_names(self, select: Sequence[str], *, sandbox: bool) -> list[str]:
        """The destinations ``select`` names (``NAME`` or ``destination:NAME``) that are in
        the state but no longer in destinations.yml: removed, or renamed. Only read when a
        name is not a configured destination's."""
        try:
            configured = {c.name for c in self.p.select_destinations(())}
        except ConfigError:  # no destinations declared any more
            configured = set()
        # A plain NAME that is a model's selects by model, as it always did; only
        # destination:NAME, or a NAME that is no model's, may name a destination gone.
        try:
            models = set(self.p.graph.models)
        except RetlError:  # models that cannot be read: names are taken as destinations
            models = set()

        def named(names: set[str]) -> list[str]:
            return [
                s.removeprefix("destination:")
                for s in tokens(select, names)
                if s.startswith("destination:")
                or (s not in models and ":" not in s and "+" not in s)
            ]

        if all(name in configured for name in named(configured)):
            return []
        with open_state(self.p, sandbox=sandbox, write=False, create=False) as store:
            stored = {s.destination for s in store.all_scopes()}
        return [name for name in named(configured | stored) if name in stored - configured]

    def _all_destinations(self) -> list[Destination]:
        """Every configured destination (none when destinations.yml cannot be read: a reset
        of a damaged state still works)."""
        try:
            return self.p.destinations_for_run(())
        except RetlError:
            return []


def _mark_personal_ids(feed: Path, dest: Destination, source: ResolvedSource) -> None:
    """Before a sandbox sync sends: the emulator's feed shows the event ids of ``source``
    hashed (they are built from personal data: ``EncodePlan.mask_event_ids``). Not written:
    an error, and nothing is sent (the ids would be fed raw)."""
    from reverse_etl.sandbox.feed import mark_personal_ids, marks_path

    if source.id is None:
        return
    try:
        mark_personal_ids(feed, dest.capabilities.platform, source.id)
    except OSError as exc:
        problem = environment_error(exc)
        if problem is not None:
            raise problem from exc
        raise EnvironmentProblem(
            f"{dest.name}: nothing was sent: the sandbox could not note that its event ids "
            f"are personal data ({exc.strerror or type(exc).__name__})",
            file=marks_path(feed),
            hint="move what is at that path away (retl writes a small JSON file there), "
            "then run again",
        ) from exc


def _after_interruption(full_refresh: bool) -> str:
    """What the next sync does about the rows an interrupted one did not send. A full
    refresh's rows not sent again yet are still acknowledged from before: a plain sync leaves
    them, only another full refresh sends them."""
    if full_refresh:
        return (
            "a plain sync does not send again the rows the full refresh had not yet resent "
            "(run it with --full-refresh again for those)"
        )
    return "the next sync sends the rest"


def _interrupted_run(
    report: SyncReport, exc: KeyboardInterrupt, full_refresh: bool
) -> tuple[Interrupted, int]:
    """The interruption of a run a signal stopped, and its exit code; said in ``report``'s
    error."""
    signal = exc.signal_name if isinstance(exc, Interrupted) else "SIGINT"
    sent = report.interrupted is not None or bool(report.results)
    interrupted = Interrupted(
        signal,
        rest=_after_interruption(full_refresh),
        sent=sent,
        kept=_kept_after_interruption(report),
    )
    report.error = (
        f"interrupted by {signal}: stopped sending; {interrupted.kept}, and {interrupted.rest}"
        if sent
        else f"interrupted by {signal} before anything was sent"
    )
    return interrupted, EXIT_SIGTERM if signal == "SIGTERM" else EXIT_SIGINT


# What a second signal's line says while the run is recorded (``Runner.sync``).
RECORDING_RUN = "recording the run (SIGKILL stops at once)"


def _interrupted_at_the_end(report: SyncReport, signal: str) -> tuple[Interrupted, int]:
    """The interruption of a run a signal reached once it had done everything (while its end
    was recorded), and its exit code; said in ``report``'s error."""
    rest = "nothing was left to send" if report.ok else "the next sync sends the rest"
    report.error = (
        f"interrupted by {signal} as the run ended: every destination had sent and recorded "
        "what it had to"
    )
    exit_code = EXIT_SIGTERM if signal == "SIGTERM" else EXIT_SIGINT
    return Interrupted(signal, rest=rest), exit_code


def _kept_after_interruption(report: SyncReport) -> str:
    """What the state kept of what an interrupted sync's destinations had acknowledged: all
    of it, unless an answer could not be recorded (a full disk, a state server gone; the
    destination's error says which), whose events the next sync sends again."""
    lost = [r.destination for r in report.results if r.not_recorded is not None]
    if not lost:
        return ""  # Interrupted's own: all of it is recorded
    names = ", ".join(lost)
    return (
        f"an acknowledged batch of {names} could not be recorded in the state ({names}'s "
        "error says why), so the next sync sends its events again (with the same event_id: "
        "the platform drops repeats within 48 hours); the events acknowledged before it are "
        "recorded"
    )


def _hours(dest: Destination) -> int:
    return round(dest.capabilities.dedup_window_seconds / 3600)


def _full_refresh_impact(plans: Sequence[DestinationPlan]) -> ResendImpact:
    """What a full refresh sends again: rows acknowledged before, and those the platform
    counts twice (first acknowledged outside its dedup window)."""
    return ResendImpact(
        "--full-refresh",
        {p.name: p.dedup.resent for p in plans},
        {p.name: p.dedup.double_counted for p in plans},
        max((_hours(p.destination) for p in plans), default=48),
        _platforms([p.destination for p in plans]),
    )


def _platforms(destinations: Sequence[Destination]) -> str:
    """``TikTok``, or ``Meta and TikTok`` when a run reaches both."""
    names = sorted({d.capabilities.platform for d in destinations}) or ["the ad platform"]
    return " and ".join(names)


def _confirmed(confirm: Callable[[ResendImpact], bool], impact: ResendImpact) -> None:
    """Ask ``confirm`` when anything acknowledged would be sent again; a no stops the run
    before anything is sent or forgotten."""
    if impact.total_resent and not confirm(impact):
        raise UsageError(
            f"{impact.action} not confirmed: nothing was sent or forgotten",
            hint="an ad platform counts an event sent again more than "
            f"{impact.window_hours} hours after its first delivery as a new conversion",
        )
