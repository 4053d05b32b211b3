"""How long DuckDB takes to plan a project's encode statement, and its length (issue #18).

    RETL_ALLOWED_PATHS=DIR PYTHONPATH=TREE python bench/encode_planning.py PROJECT [--runs N]

Plans PROJECT's first sync (``full_refresh``, nothing sent); when the plan's encode
statement (``COPY (SELECT ... __payload ...) TO ...``) is about to run, it is first run
``--runs`` times under ``EXPLAIN`` in the same workbench (parsed, bound and optimised on one
thread, no row read), and the times and the statement's length are printed. Planning is
serial time on every sync: docs/performance.md ("Update, stop 51") measured 28.6 KB planned
in ~0.08 s, and 182 KB in 0.22-0.34 s. ``tests/test_encode_size.py`` holds the length.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path
from typing import Any

from reverse_etl.engine.duckdb import DuckDBEngine
from reverse_etl.project import Project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    original = DuckDBEngine.execute
    found: list[tuple[int, list[float]]] = []

    def execute(self: DuckDBEngine, sql: str, *a: Any, **k: Any) -> Any:
        if not found and sql.lstrip().startswith("COPY (") and "__payload" in sql:
            times = []
            for _ in range(args.runs):
                started = time.perf_counter()
                self.rows("EXPLAIN " + sql)
                times.append(time.perf_counter() - started)
            found.append((len(sql), times))
        return original(self, sql, *a, **k)

    DuckDBEngine.execute = execute  # type: ignore[method-assign]
    shutil.rmtree(args.project / ".retl", ignore_errors=True)
    with Project.load(args.project) as project:
        project.plan(full_refresh=True)
    if not found:
        raise SystemExit("no encode statement ran (nothing to send?)")
    length, times = found[0]
    shown = ", ".join(f"{t:.3f}" for t in sorted(times))
    print(f"encode statement {length:,} characters; EXPLAIN {shown} s (fastest first)")


if __name__ == "__main__":
    main()
