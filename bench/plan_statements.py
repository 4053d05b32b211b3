"""Which workbench statements of a plan are slow, and whether DuckDB ran out of memory.

``RETL_ALLOWED_PATHS=DIR python bench/plan_statements.py PROJECT`` plans every destination
of PROJECT with ``full_refresh`` (the first sync's plan, nothing sent) and prints each
workbench statement that took over half a second, then each workbench's ``out_of_core``
(statements rerun partitioned to disk from the start after running out of memory),
``single_threaded`` (statements rerun on one thread after running out of memory) and
``memory_raised`` (the automatic limit raised to its fallback).

Found with it on 2026-12-04: the embedded first sync of `bench/run.py`'s project at 3M rows
runs its encode three times (out of memory at 200MB on two threads after 0.7 s, then on one
thread after ~25 s, then at 1GB: 42.7-50.5 s against 5.6 s at 1M); the same at 850a2e1.
"""

from __future__ import annotations

import functools
import gc
import sys
import time
from pathlib import Path
from typing import Any

from reverse_etl.engine import duckdb as workbench
from reverse_etl.project import Project

SLOW_S = 0.5


def main() -> None:
    slow: list[tuple[float, str, str]] = []
    for name in ("execute", "materialize", "rows"):
        original = getattr(workbench.DuckDBEngine, name)

        def timed(original: Any = original, name: str = name) -> Any:
            @functools.wraps(original)
            def run(self: Any, sql: str, *args: Any, **kwargs: Any) -> Any:
                start = time.perf_counter()
                try:
                    return original(self, sql, *args, **kwargs)
                finally:
                    took = time.perf_counter() - start
                    if took > SLOW_S and name != "materialize":  # materialize runs execute
                        slow.append((round(took, 2), name, " ".join(str(sql).split())[:140]))

            return run

        setattr(workbench.DuckDBEngine, name, timed())
    start = time.perf_counter()
    with Project.load(Path(sys.argv[1])) as project:
        project.plan(full_refresh=True)
        print(f"plan: {time.perf_counter() - start:.1f} s")
        for took, name, sql in slow:
            print(f"{took:8.2f} s  {name}  {sql}")
        for engine in gc.get_objects():
            if isinstance(engine, workbench.DuckDBEngine):
                print(
                    f"workbench: out_of_core={getattr(engine, 'out_of_core', None)} "
                    f"started_out_of_core={getattr(engine, 'started_out_of_core', None)} "
                    f"single_threaded={engine.single_threaded} "
                    f"memory_raised={engine.memory_raised} limit={engine.memory_limit}"
                )


if __name__ == "__main__":
    main()
