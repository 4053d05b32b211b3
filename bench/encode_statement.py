"""The first sync's encode statement alone, the ways docs/performance.md measured it.

``RETL_ALLOWED_PATHS=DIR python bench/encode_statement.py PROJECT [options]`` plans PROJECT's
first sync (``full_refresh``, nothing sent) and times its phone pre-pass (the destination's
``prepare``), its encode into the plan's table, and the whole plan, with the workbench's
out-of-memory reruns and the peak size of its spill directory (sampled every 0.5 s while
the encode runs). PROJECT is a kept ``bench/run.py`` project (``--keep``, or
``data.write_orders`` and ``data.write_project``).

- ``--staged``: the model's rows are put into a table first, as a warehouse's are (the
  PostgreSQL and Spark paths encode staged rows), and the encode reads that table.
- ``--explain``: the encode runs under ``EXPLAIN ANALYZE``; prints each operator, its rows
  and its time (summed over threads), then stops.
- ``--external``: the encode runs out of core from the start (DuckDB's
  ``debug_force_external``, what the workbench's first rerun does).
- ``--count-only``: ``SELECT count(*), sum(strlen(__payload))`` of the encode instead of
  writing its table, then stops.
- ``--streamed``: the design that sends while the encode runs, measured without sending: a
  narrow table of the encode's keys, hashes, reasons and match keys (what the plan's counts,
  reasons and checks read), then the payloads of the valid rows streamed to this process
  in record batches of 10,000 rows (what the send would read), each timed; then stops.
- ``--memory-limit LIMIT``: the encode runs under that workbench memory limit (``100MB``).
- ``--spill-dir DIR``: DuckDB spills there (for example ``/dev/shm/x``: tmpfs, no disk).

Every run ends with the process's peak RSS.

Measured with it on 2026-12-04 (docs/performance.md, "Third look" and the tenth PostgreSQL
run): over staged rows from 1M to 3M the phone join's time grew x21, the encode x3.9.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import resource
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from reverse_etl.destinations.tiktok.destination import TikTokDestination
from reverse_etl.engine import duckdb as workbench
from reverse_etl.pipeline import runner
from reverse_etl.project import Project

# The plan's encode: COPY (SELECT ...) TO its scratch Parquet file (pipeline/plan.py).
ENCODE = re.compile(r"\s*COPY \((?P<select>.*)\)\s+TO '[^']*retl-scratch-[^']*'", re.DOTALL)
OPERATOR = re.compile(r"[A-Z_]{4,}( [A-Z_]+)?|[\d.]+s|[\d,]+ rows|Total Time.*")


class Stop(Exception):
    """The measurement is done: the plan goes no further."""


def dir_bytes(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):  # a spill file removed while we walked
                total += os.path.getsize(os.path.join(root, name))
    return total


def operators(explained: str) -> str:
    """The operators of an ``EXPLAIN ANALYZE`` tree with their rows and times, in order."""
    cells = (c.strip() for line in explained.splitlines() for c in line.split("│"))
    return " | ".join(c for c in cells if c and OPERATOR.fullmatch(c))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--staged", action="store_true")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--external", action="store_true")
    parser.add_argument("--count-only", action="store_true")
    parser.add_argument("--streamed", action="store_true")
    parser.add_argument("--memory-limit")
    parser.add_argument("--spill-dir", type=Path)
    args = parser.parse_args()
    install(args)
    start = time.perf_counter()
    with Project.load(args.project) as project:
        try:
            project.plan(full_refresh=True)
            print(f"plan {time.perf_counter() - start:.2f} s")
        except Stop:
            pass
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")


def install(args: argparse.Namespace) -> None:
    """Wrap the steps measured: the model's rows (staged or not), the phone pre-pass, the
    encode statement; and move the spill directory."""
    model_input = getattr(runner, "model_input")  # noqa: B009 (not re-exported)

    def staged(project: Any, *a: Any, **kw: Any) -> Any:
        model = model_input(project, *a, **kw)
        if not args.staged:
            return model
        start = time.perf_counter()
        table = project.workbench.materialize(f"SELECT * FROM {model.relation}")
        print(f"staged the model's rows in {time.perf_counter() - start:.2f} s")
        return replace(model, relation=table)

    setattr(runner, "model_input", staged)  # noqa: B010
    if args.spill_dir is not None:
        setattr(Project, "_spill_dir", lambda self: args.spill_dir)  # noqa: B010
    prepare = TikTokDestination.prepare

    def timed_prepare(self: Any, engine: Any, encode: Any) -> Any:
        start = time.perf_counter()
        try:
            return prepare(self, engine, encode)
        finally:
            print(f"phone pre-pass (prepare) {time.perf_counter() - start:.2f} s")

    setattr(TikTokDestination, "prepare", timed_prepare)  # noqa: B010
    execute = workbench.DuckDBEngine.execute

    def encode(self: Any, sql: str, *a: Any, **kw: Any) -> Any:
        match = ENCODE.match(sql)
        if match is None:
            return execute(self, sql, *a, **kw)
        if args.external:
            self._con.execute(f"SET {self.EXTERNAL} = true")
        if args.memory_limit:
            self._con.execute(f"SET memory_limit = '{args.memory_limit}'")
        if args.explain:
            print(operators(self._con.execute("EXPLAIN ANALYZE " + sql).fetchall()[0][1]))
            raise Stop
        if args.count_only:
            count_only(self._con, match.group("select"))
            raise Stop
        if args.streamed:
            streamed(self._con, match.group("select"))
            raise Stop
        return timed_encode(self, lambda: execute(self, sql, *a, **kw))

    setattr(workbench.DuckDBEngine, "execute", encode)  # noqa: B010


def count_only(con: Any, select: str) -> None:
    start = time.perf_counter()
    (n, size) = con.execute(f"SELECT count(*), sum(strlen(__payload)) FROM ({select})").fetchall()[
        0
    ]
    took = time.perf_counter() - start
    print(f"encode without its table: {took:.2f} s, {n} rows, payloads {size / 1e6:.0f} MB")


def streamed(con: Any, select: str) -> None:
    """The encode in two passes: a narrow table, then the payloads streamed (--streamed)."""
    start = time.perf_counter()
    con.execute(
        "CREATE TEMP TABLE __narrow AS SELECT __key, __hash, __errors, __warnings, __change, "
        f"__match FROM ({select})"
    )
    narrow = time.perf_counter() - start
    start = time.perf_counter()
    reader = con.execute(
        f"SELECT __key, __hash, __payload, __event_id FROM ({select}) WHERE __payload IS NOT NULL"
    ).to_arrow_reader(10_000)
    rows = size = 0
    for batch in reader:
        rows += batch.num_rows
        size += batch.column(2).nbytes
    took = time.perf_counter() - start
    print(
        f"narrow table {narrow:.2f} s; payloads streamed {took:.2f} s ({rows} rows, "
        f"{size / 1e6:.0f} MB); two passes {narrow + took:.2f} s"
    )


def timed_encode(engine: Any, run: Any) -> Any:
    """Run the encode, sampling the spill directory's size every 0.5 s."""
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], dir_bytes(Path(str(engine.temp_directory))))
            done.wait(0.5)

    sampler = threading.Thread(target=sample)
    sampler.start()
    start = time.perf_counter()
    try:
        return run()
    finally:
        done.set()
        sampler.join()
        print(
            f"encode {time.perf_counter() - start:.2f} s; spill peak {peak[0] / 1e6:.0f} MB; "
            f"reruns: {engine.out_of_core} out of core, {engine.single_threaded} on one thread"
        )


if __name__ == "__main__":
    main()
