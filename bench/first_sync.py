"""One first sync (``--full-refresh``) of a kept project, in this process: its wall time, the
workbench's memory steps and the process's peak RSS (issues #17, #18).

    RETL_ALLOWED_PATHS=DIR python bench/first_sync.py PROJECT [--encode-out-of-core] [--steps]
        [--no-bytecode]

PROJECT is a ``bench/run.py --keep`` project (or ``data.write_orders`` + ``data.write_project``)
whose sink runs (``python bench/sink.py fast``). Run it with ``PYTHONPATH=TREE`` to measure
the ``reverse_etl`` in TREE. Prints ``reruns (out of core, on one thread, limit raised,
started out of core)``: the workbench's statements that ran out of memory and were rerun,
and those started out of core (``DuckDBEngine.joins_outgrow``). ``--encode-out-of-core``
runs the plan's encode out of core whatever the rule says (what the rule was measured with,
docs/performance.md). ``--steps`` samples the process's VmRSS every 10 ms and prints its
peak in each step of the sync (the phone pre-pass, the encode, the rest of the plan, the
send, the fold, the end), the figures docs/performance.md gives per step, the seconds
spent in each ("start" includes the imports done by ``Project.load``), and the CPU seconds
of all the process's threads in each (DuckDB's too: above the step's seconds when more than
one core worked). The state
(``PROJECT/.retl``) is removed first.

The ``reverse_etl`` measured is compiled to bytecode first, untimed, as ``bench/run.py`` and
an install do: with ``PYTHONDONTWRITEBYTECODE=1`` (this build environment sets it) a fresh
clone otherwise compiles its ~130 modules again in every run, and the "start" step counted
that (0.19 CPU-s more at 200k on a loaded 2-core machine, 2026-12-07). ``--no-bytecode``
skips that step (what a checkout run with ``PYTHONDONTWRITEBYTECODE=1`` pays).
"""

from __future__ import annotations

import argparse
import compileall
import functools
import importlib.util
import resource
import shutil
import threading
import time
from pathlib import Path
from typing import Any

# The steps --steps reports, each started by a function: (module, its class or None, the
# function, the step's name).
STEPS = (
    ("reverse_etl.destinations.tiktok.destination", "TikTokDestination", "prepare", "phones"),
    ("reverse_etl.pipeline.plan", None, "encode_rows", "encode"),
    ("reverse_etl.pipeline.send", None, "_deliver", "send"),
    ("reverse_etl.state.store", "LocalStateStore", "compact", "fold"),
)


class Steps:
    """The peak VmRSS per step: a sampler thread, and the steps' functions wrapped to say
    which step runs (after a step, "after <step>" until the next one starts)."""

    def __init__(self) -> None:
        self.current = "start"
        self.peaks: dict[str, int] = {}
        self.seconds: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._since = time.perf_counter()
        self._cpu_since = time.process_time()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @staticmethod
    def rss_mb() -> int:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) // 1024
        return 0

    def _sample(self) -> None:
        while not self._done.is_set():
            step = self.current
            self.peaks[step] = max(self.peaks.get(step, 0), self.rss_mb())
            self._done.wait(0.01)

    def install(self) -> None:
        import importlib

        for module_name, owner_name, name, step in STEPS:
            module = importlib.import_module(module_name)
            owner = getattr(module, owner_name) if owner_name else module
            setattr(owner, name, self._wrapped(getattr(owner, name), step))
        self._thread.start()

    def _wrapped(self, function: Any, step: str) -> Any:
        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> Any:
            self._enter(step)
            try:
                return function(*args, **kwargs)
            finally:
                self._enter(f"after {step}")

        return run

    def _enter(self, step: str) -> None:
        """Step ``step`` starts: the time since the last step started goes to that one."""
        now = time.perf_counter()
        cpu = time.process_time()
        self.seconds[self.current] = self.seconds.get(self.current, 0.0) + now - self._since
        self.cpu[self.current] = self.cpu.get(self.current, 0.0) + cpu - self._cpu_since
        self._since = now
        self._cpu_since = cpu
        self.current = step

    def report(self) -> str:
        self._enter("end")
        self._done.set()
        self._thread.join()
        return "  ".join(f"{step} {mb}" for step, mb in self.peaks.items())

    def times(self) -> str:
        return "  ".join(f"{step} {s:.2f}" for step, s in self.seconds.items())

    def cpu_times(self) -> str:
        return "  ".join(f"{step} {s:.2f}" for step, s in self.cpu.items())


def compile_package(name: str = "reverse_etl") -> Path:
    """Compile the package ``name`` that this process would import (its ``__pycache__``,
    written even under ``PYTHONDONTWRITEBYTECODE``), without importing it; its folder."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"{name} is not importable: run with PYTHONPATH=TREE")
    folder = Path(next(iter(spec.submodule_search_locations)))
    compileall.compile_dir(folder, quiet=1)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--encode-out-of-core", action="store_true")
    parser.add_argument("--steps", action="store_true", help="peak RSS per step of the sync")
    parser.add_argument(
        "--no-bytecode",
        action="store_true",
        help="do not compile the package first (a fresh clone then compiles it in the run)",
    )
    args = parser.parse_args()
    if not args.no_bytecode:
        compile_package()  # untimed, as an install has it
    steps_rss = Steps() if args.steps else None
    if steps_rss is not None:
        steps_rss.install()
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
    if steps_rss is not None:
        print(f"peak RSS by step (MB): {steps_rss.report()}", flush=True)
        print(f"seconds by step: {steps_rss.times()}", flush=True)
        print(f"CPU seconds by step (the process's threads): {steps_rss.cpu_times()}", flush=True)


if __name__ == "__main__":
    main()
