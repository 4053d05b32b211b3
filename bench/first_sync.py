"""One first sync (``--full-refresh``) of a kept project, in this process: its wall time, the
workbench's memory steps and the process's peak RSS (issues #17, #18).

    RETL_ALLOWED_PATHS=DIR python bench/first_sync.py PROJECT [--encode-out-of-core]

PROJECT is a ``bench/run.py --keep`` project (or ``data.write_orders`` + ``data.write_project``)
whose sink runs (``python bench/sink.py fast``). Run it with ``PYTHONPATH=TREE`` to measure
the ``reverse_etl`` in TREE. Prints ``reruns (out of core, on one thread, limit raised,
started out of core)``: the workbench's statements that ran out of memory and were rerun,
and those started out of core (``DuckDBEngine.joins_outgrow``). ``--encode-out-of-core``
runs the plan's encode out of core whatever the rule says (what the rule was measured with,
docs/performance.md). The state (``PROJECT/.retl``) is removed first.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import time
from pathlib import Path
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--encode-out-of-core", action="store_true")
    args = parser.parse_args()
    from reverse_etl.pipeline import plan as planmod
    from reverse_etl.project import Project

    if args.encode_out_of_core:
        encode_rows = planmod.encode_rows

        def forced(engine: Any, encode: Any) -> Any:
            with engine._external():
                return encode_rows(engine, encode)

        planmod.encode_rows = forced  # type: ignore[assignment]
    shutil.rmtree(args.project / ".retl", ignore_errors=True)
    start = time.perf_counter()
    with Project.load(args.project) as project:
        report = project.sync(full_refresh=True)
        bench = project.workbench
        steps = (
            bench.out_of_core,
            bench.single_threaded,
            bench.memory_raised,
            getattr(bench, "started_out_of_core", None),
        )
    took = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    sent = sum(r.sent for r in report.results)
    print(f"sync {took:.2f} s  sent {sent:,}  reruns {steps}  rss {rss} MB", flush=True)


if __name__ == "__main__":
    main()
