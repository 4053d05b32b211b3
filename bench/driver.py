"""Run one retl operation in this (child) process and write what it measured as JSON.

``python bench/driver.py sync PROJECT OUT.json [--full-refresh] [--profile FILE]``
``python bench/driver.py probe PROJECT OUT.json [--bodies FILE]``

``sync`` calls ``Project.load(PROJECT).sync()`` exactly as ``retl sync`` does (without the CLI's
rendering). retl reports no stage timings itself, so this script wraps a few of its functions
*from outside* (nothing under ``reverse_etl/`` is changed) and sums the time spent in them:

==================  ===========================================================================
stage               what is timed (seconds; main thread unless said otherwise)
==================  ===========================================================================
load_compile        ``Project.load`` + Jinja compile of the models (``build_graph``)
validate            ``plan.encode_plan_for``: model schema (a LIMIT 0 query) + column mapping
plan_encode_diff    the plan's count query: model scan + encode + diff, one full pass in DuckDB
plan_samples        the plan's sample query (3 payloads to show)
plan_other          the plan's remaining queries (invalid rows, reasons)
stream              time the send loop waits for the next chunk of rows: DuckDB scans the plan's
                    table of encoded rows (Arrow batches, no Python object per row)
commit              ``LocalStateStore.record_acknowledged`` (journal appends) + ``compact`` (fold
                    of the journal into the state) + ``record_run``
send_wait           the rest of ``sync.execute``: the main thread waiting for HTTP answers
                    (= execute - stream - commit)
send_threads        sum over worker threads of ``TikTokClient.track`` (body building excluded)
phone_udf           sum over DuckDB's threads of the phone-number UDF (inside the plan and
                    stream stages, not a stage of its own)
other               the rest of ``Project.sync``: lock, state ATTACH, report file
==================  ===========================================================================

``probe`` measures the pieces retl fuses into one query, for the stage split: ``scan`` (the
compiled model streamed to Arrow, 10,000-row batches, nothing else) and ``encode`` (retl's own
encode SELECT aggregated, no state join). With ``--bodies`` it also writes the first 20 request
bodies of retl's real payloads, for the send floor.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import json
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

TIMES: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)


def hwm_mb(pid: int | str = "self") -> float | None:
    """A process's own peak resident memory (``VmHWM``, Linux): this one's, or ``pid``'s while
    it runs (None once it is gone).

    Not ``ru_maxrss``: Linux carries the parent's peak over into a child at fork, and keeps
    it across exec, so a child of a big parent reports the parent's memory."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def _wrap(owner: Any, name: str, label: str | Callable[..., str]) -> None:
    """Time every call of ``owner.name`` under ``label`` (skipped if retl renamed it)."""
    original = getattr(owner, name, None)
    if original is None:
        print(f"bench: cannot instrument {owner.__name__}.{name}", file=sys.stderr)
        return

    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        key = label(*args, **kwargs) if callable(label) else label
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            TIMES[key] += time.perf_counter() - start
            CALLS[key] += 1

    setattr(owner, name, timed)


def _rows_label(_engine: Any, sql: str, *args: Any, **kwargs: Any) -> str:
    if "count(*) FILTER" in sql:
        return "plan_encode_diff"
    if sql.lstrip().startswith("SELECT __payload FROM"):
        return "plan_samples"
    return "plan_other"


def _execute_label(_engine: Any, sql: str, *args: Any, **kwargs: Any) -> str:
    # The plan's encode writes its rows to a Parquet file (COPY, pipeline/plan.py); the diff's
    # passes and the duplicate keys are temporary tables.
    encode = "TEMP TABLE" in sql or sql.lstrip().startswith("COPY (")
    return "plan_encode_diff" if encode else "engine_execute"


def instrument() -> None:
    import reverse_etl.pipeline.plan as plan_mod
    import reverse_etl.pipeline.runner as runs_mod
    import reverse_etl.pipeline.send as sync_mod
    import reverse_etl.project as project_mod
    from reverse_etl.destinations.shared import pii as pii_mod
    from reverse_etl.destinations.tiktok.destination import TikTokDestination
    from reverse_etl.engine.duckdb import DuckDBEngine
    from reverse_etl.state.store import LocalStateStore

    _wrap(project_mod, "build_graph", "load_compile")
    _wrap(plan_mod, "encode_plan_for", "validate")
    _wrap(DuckDBEngine, "rows", _rows_label)
    _wrap(DuckDBEngine, "execute", _execute_label)
    _wrap(runs_mod, "build_destination_plan", "plan_total")
    _wrap(runs_mod, "execute", "execute_total")
    _wrap(LocalStateStore, "record_acknowledged", "commit")
    _wrap(LocalStateStore, "record_run", "commit")
    _wrap(LocalStateStore, "compact", "commit")  # folds the acknowledgement journal
    # The client is wrapped when the send opens it, not here: importing it (httpx) now would
    # put its modules under the encode's peak, where `retl sync` does not have them (+8 MB).
    open_session = TikTokDestination.open

    def open_instrumented(self: Any, *args: Any, **kwargs: Any) -> Any:
        from reverse_etl.destinations.tiktok.client import TikTokClient

        if not getattr(TikTokClient.track, "__wrapped__", None):
            _wrap(TikTokClient, "track", "send_threads")
        return open_session(self, *args, **kwargs)

    TikTokDestination.open = open_instrumented  # type: ignore[method-assign]
    # The phone UDF runs in DuckDB's threads: summed thread time, part of the plan/stream stages.
    _wrap(pii_mod, "e164_arrow", "phone_udf_threads")

    original_stream = getattr(sync_mod, "stream_chunks", None)
    if original_stream is None:
        print("bench: cannot instrument sync.stream_chunks", file=sys.stderr)
        return

    def stream_chunks(*args: Any, **kwargs: Any) -> Iterator[Any]:
        it = iter(original_stream(*args, **kwargs))
        while True:
            start = time.perf_counter()
            try:
                chunk = next(it)
            except StopIteration:
                TIMES["stream"] += time.perf_counter() - start
                return
            TIMES["stream"] += time.perf_counter() - start
            CALLS["stream"] += 1
            yield chunk

    sync_mod.stream_chunks = stream_chunks


def stages(total: float) -> dict[str, float]:
    """Disjoint stages that add up to ``total`` (see the module docstring)."""
    t = TIMES
    plan_queries = t["plan_encode_diff"] + t["plan_samples"] + t["plan_other"]
    # engine_execute outside the plan (ATTACH, migrations, state writes) is left in "other".
    out = {
        "load_compile": t["load_compile"],
        "validate": t["validate"],
        "plan_encode_diff": t["plan_encode_diff"],
        "plan_samples": t["plan_samples"],
        "plan_other": t["plan_other"] + max(0.0, t["plan_total"] - t["validate"] - plan_queries),
        "stream": t["stream"],
        "commit": t["commit"],
        "send_wait": max(0.0, t["execute_total"] - t["stream"] - t["commit"]),
    }
    out["other"] = max(0.0, total - sum(out.values()))
    return {k: round(v, 4) for k, v in out.items()}


def run_sync(project_dir: Path, full_refresh: bool) -> dict[str, Any]:
    instrument()
    from reverse_etl.project import Project

    start = time.perf_counter()
    load_start = time.perf_counter()
    project = Project.load(project_dir)
    TIMES["load_compile"] += time.perf_counter() - load_start
    with project:
        report = project.sync(full_refresh=full_refresh)
        # Did DuckDB run out of the automatic memory limit and get the fallback (1GB)?
        bench = getattr(project, "_workbench", None)
        memory_raised = getattr(bench, "memory_raised", None)
        single_threaded = getattr(bench, "single_threaded", None)  # reruns on one thread
        out_of_core = getattr(bench, "out_of_core", None)  # reruns partitioned to disk
        started = getattr(bench, "started_out_of_core", None)  # out of core from the start
    total = time.perf_counter() - start
    results = [r.to_dict() for r in report.results]
    return {
        "seconds": round(total, 4),
        "stages": stages(total),
        "send_threads_sum": round(TIMES["send_threads"], 4),
        "phone_udf_threads_sum": round(TIMES["phone_udf_threads"], 4),
        "phone_udf_calls": CALLS["phone_udf_threads"],
        "calls": dict(CALLS),
        "requests": CALLS["send_threads"],
        "results": results,
        "ok": report.ok if hasattr(report, "ok") else None,
        "memory_raised": memory_raised,
        "single_threaded": single_threaded,
        "out_of_core": out_of_core,
        "started_out_of_core": started,
    }


def run_probe(project_dir: Path, bodies: Path | None) -> dict[str, Any]:
    from reverse_etl.delivery.batching import build_body
    from reverse_etl.destinations.registry import destination_for
    from reverse_etl.destinations.shared.phones import register_phone_udf
    from reverse_etl.destinations.tiktok.encode import phone_map_sql
    from reverse_etl.destinations.tiktok.envelope import envelope_prefix
    from reverse_etl.engine.base import iter_batches
    from reverse_etl.pipeline.plan import encode_plan_for
    from reverse_etl.project import Project

    out: dict[str, Any] = {}
    with Project.load(project_dir) as project:
        config = project.select_destinations()[0]
        compiled = project.graph.compiled(config.model)
        engine = project.workbench
        register_phone_udf(engine)

        start = time.perf_counter()
        rows = 0
        for batch in iter_batches(project.stream_model(compiled, batch_rows=10_000)):
            rows += batch.num_rows
        out["scan_s"] = round(time.perf_counter() - start, 4)
        out["scan_rows"] = rows

        dest = destination_for(config)
        plan, _ = encode_plan_for(dest, compiled, project.model_input(compiled))
        encode = plan.detail  # TikTok's own encoding: its phone table is built here by hand
        start = time.perf_counter()
        # retl parses each distinct phone once into a table first, as its plan does
        create = phone_map_sql(
            encode.relation, encode.schema, encode.mapping, encode.spec, "__probe_phones"
        )
        if create is not None:
            engine.execute(create)
            encode = encode.with_phone_map("__probe_phones")
        n, nbytes, errors = engine.rows(
            "SELECT count(*), sum(strlen(__payload)), count(__errors) + count(__warnings) "
            f"+ count(__hash) * 0 FROM ({encode.sql}) AS __e"
        )[0]
        out["encode_s"] = round(time.perf_counter() - start, 4)
        out["encode_rows"] = int(n)
        out["payload_bytes"] = int(nbytes or 0)
        out["rows_with_errors_or_warnings"] = int(errors)

        if bodies is not None:
            payloads = [
                r[0]
                for r in engine.rows(
                    f"SELECT __payload FROM ({encode.sql}) AS __e WHERE __errors IS NULL "
                    "LIMIT 20000"
                )
            ]
            prefix = envelope_prefix("web", "CSANDBOXDEMOPIXEL001", None)
            with bodies.open("wb") as f:
                for i in range(0, len(payloads), 1000):
                    body = build_body(prefix, (p.encode() for p in payloads[i : i + 1000]))
                    f.write(len(body).to_bytes(8, "little") + body)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["sync", "probe"])
    parser.add_argument("project", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--full-refresh", action="store_true")
    parser.add_argument("--profile", type=Path)
    parser.add_argument("--bodies", type=Path)
    args = parser.parse_args(argv)
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    if args.action == "sync":
        result = run_sync(args.project, args.full_refresh)
    else:
        result = run_probe(args.project, args.bodies)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    import reverse_etl

    result["retl_package"] = str(Path(reverse_etl.__file__).parent)
    result["self_maxrss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    result["self_hwm_mb"] = hwm_mb()
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
    # Ended as ``retl`` ends (cli/entry.py): without the interpreter's teardown, which the
    # command line does not pay either (0.1 s or more of each phase's wall time otherwise).
    from reverse_etl.cli.entry import _exit_now

    _exit_now(0)
