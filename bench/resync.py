"""The unchanged re-sync (issue #18): `retl sync` of a project whose every row is already
acknowledged, in fresh processes, alternating between retl trees so that a busy machine
weighs on each alike; wall time, CPU time (user + sys of the child), peak RSS and the
1-minute load average at the start of each run.

    python bench/run.py --sizes 200000 --no-sandbox-check --keep --workdir /tmp/w   # once
    python bench/resync.py /tmp/w/rows_200000/project --runs 5 --tree . --tree /tmp/old

The project's rows are all acknowledged after the kept benchmark's runs, so every run here is
the same unchanged re-sync (nothing is sent; the sink the project names need not run). Each
``--tree`` is a folder holding a ``reverse_etl`` package, put first on PYTHONPATH. Read the
CPU seconds on a shared machine: a busy neighbour stretches the wall time far more.

``--after-first-sync``: before each timed re-sync, the same tree runs a first sync from an
empty state (``.retl`` removed, ``--full-refresh``), untimed but printed, so what is timed is
the first unchanged re-sync after a send. The sink the project names must then be running
(``python bench/sink.py fast`` prints its port; ``bench/data.py``'s ``set_destination``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path


def run_once(project: Path, tree: Path, *extra: str) -> tuple[float, float, float, float]:
    """Wall s, CPU s, peak RSS MB and load of one fresh `python -m reverse_etl sync`."""
    env = dict(os.environ, PYTHONPATH=str(tree.resolve()))
    # The kept benchmark's model reads a file beside the project (bench/run.py does the same).
    env["RETL_ALLOWED_PATHS"] = str(project.resolve().parent)
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "reverse_etl", "sync", "--project-dir", str(project), *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        cwd=project.parent,  # not a tree: PYTHONPATH alone says which retl runs
    )
    assert proc.stderr is not None
    error = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"retl sync ({tree}) failed: {error.decode(errors='replace')[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, load


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path, help="a project synced before (bench/run.py --keep)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per tree (default 5)")
    parser.add_argument("--tree", type=Path, action="append", required=True, help="a retl tree")
    parser.add_argument(
        "--after-first-sync",
        action="store_true",
        help="time the first re-sync after a first sync (run before each, untimed)",
    )
    args = parser.parse_args(argv)
    for tree in args.tree:  # untimed: compiles the bytecode, folds anything pending
        run_once(args.project, tree)
    results: dict[Path, list[tuple[float, float, float, float]]] = {t: [] for t in args.tree}
    for _ in range(args.runs):
        for tree in args.tree:
            if args.after_first_sync:
                shutil.rmtree(args.project / ".retl", ignore_errors=True)
                first = run_once(args.project, tree, "--full-refresh", "--yes")[0]
                print(f"{tree!s:32s} (first sync {first:5.2f} s)", flush=True)
            wall, cpu, rss, load = run_once(args.project, tree)
            results[tree].append((wall, cpu, rss, load))
            print(
                f"{tree!s:32s} wall {wall:5.2f} s  cpu {cpu:5.2f} s  rss {rss:4.0f} MB  "
                f"load {load:4.1f}",
                flush=True,
            )
    print()
    for tree, rows in results.items():
        walls, cpus, rss, loads = (sorted(col) for col in zip(*rows, strict=True))
        print(
            f"{tree!s:32s} wall median {statistics.median(walls):.2f} (min {walls[0]:.2f})  "
            f"cpu median {statistics.median(cpus):.2f} (min {cpus[0]:.2f})  "
            f"rss {statistics.median(rss):.0f} MB  load {loads[0]:.1f}-{loads[-1]:.1f}"
        )


if __name__ == "__main__":
    main()
