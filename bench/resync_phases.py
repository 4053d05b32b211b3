"""Where a `retl sync` process spends its time (issue #18): wall and CPU seconds since the
interpreter started, at the start and end of each phase of one sync, in this process.

    RETL_ALLOWED_PATHS=/tmp/w python bench/resync_phases.py /tmp/w/rows_200000/project
    PYTHONPATH=/tmp/old python bench/resync_phases.py ...    # another retl tree

The phases are the runner's steps, timed by wrapping the functions the runner calls (a
measurement aid only: nothing in retl is changed). CPU includes DuckDB's threads.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import time
from collections.abc import Callable
from typing import Any

_MARKS: list[tuple[str, float, float]] = []


def _mark(name: str) -> None:
    _MARKS.append((name, time.perf_counter(), time.process_time()))


def _timed(owner: Any, attr: str, name: str) -> None:
    original: Callable[..., Any] = getattr(owner, attr)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _mark(f"{name} >")
        try:
            return original(*args, **kwargs)
        finally:
            _mark(f"{name} <")

    setattr(owner, attr, wrapper)


def main() -> None:
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    project = sys.argv[1]
    from reverse_etl.cli import app

    _mark("cli imported")
    import reverse_etl.project as facade
    from reverse_etl.pipeline import runner

    for attr in ("model_input", "build_destination_plan", "execute", "record_start", "record_end"):
        _timed(runner, attr, attr)
    _timed(facade.Project, "sync", "Project.sync")
    _timed(facade.Project, "validate", "validate")
    sys.argv = ["retl", "sync", "--project-dir", project]
    with contextlib.suppress(SystemExit):
        app.main()
    _mark("end")
    print("   wall     cpu  (seconds since the interpreter's start; cpu: this process)")
    for name, wall, cpu in _MARKS:
        print(f"{wall - start_wall:7.3f} {cpu - start_cpu:7.3f}  {name}")


if __name__ == "__main__":
    main()
