"""Where a Spark first sync's retl process reaches its memory: ``python bench/spark_rss_where.py
ORDERS.parquet WORKDIR``.

One first sync of ``ORDERS.parquet`` (bench/data.py's orders, as bench/spark_bench.py writes
them) into a fresh project under ``WORKDIR``, run in this process as ``spark_bench.py``'s phase
runs it. A thread reads the process's RSS every 0.1 s and, at each new high (2 MB above the
last), prints the time, the RSS, DuckDB's own memory then (the workbench's buffer manager, read
from ``duckdb_memory()`` through a second cursor of the workbench), Arrow's default pool in
use, glibc's malloc in use and free-but-held (``mallinfo2``), and the retl frames of the
main thread: the statement or step that was running when the memory grew. The highest DuckDB
memory of the run is printed at the end: if RSS grows with N while DuckDB's memory is at its
limit at every N, the growth is outside DuckDB's buffer manager. ``spark_bench.py``'s per-step
maxima are sampled twice a second and by the outermost step only; this says which statement
inside a step it was.

Run it with ``PYTHONPATH=TREE`` to measure the retl package in TREE.
"""

from __future__ import annotations

import ctypes
import json
import shutil
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import spark_bench  # noqa: E402  (bench/ is not a package: run as a script)

SHOWN_FROM_MB = 300  # highs below this are the start-up's


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _retl_frames(thread_id: int) -> list[str]:
    frame = sys._current_frames().get(thread_id)
    if frame is None:
        return []
    return [
        f"{Path(f.filename).stem}.{f.name}:{f.lineno}"
        for f in traceback.extract_stack(frame)
        if "reverse_etl" in f.filename
    ][-6:]


def _watch_workbenches() -> list[Any]:
    """Every DuckDBEngine made from now on (the sync's workbench among them)."""
    from reverse_etl.engine.duckdb import DuckDBEngine

    made: list[Any] = []
    init = DuckDBEngine.__init__

    def recording(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        made.append(self)

    DuckDBEngine.__init__ = recording  # type: ignore[method-assign]
    return made


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
            "fordblks", "keepcost",
        )
    ]  # fmt: skip


def _heap_mb() -> tuple[float, float, float]:
    """(Arrow's default pool in use, glibc's malloc in use, glibc's free but held), MB."""
    import pyarrow as pa

    arrow = pa.total_allocated_bytes() / 2**20
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
        info = libc.mallinfo2()
    except (OSError, AttributeError):
        return arrow, 0.0, 0.0
    return arrow, (info.uordblks + info.hblkhd) / 2**20, info.fordblks / 2**20


def _duckdb_mb(engines: list[Any]) -> float:
    """DuckDB's own memory, summed over the live workbenches. A cursor per read, closed at
    once: one held open would keep a closed workbench's database, and its memory, alive."""
    total = 0.0
    for engine in engines:
        con = getattr(engine, "_con", None)
        if con is None:
            continue
        try:
            cursor = con.cursor()
            try:
                found = cursor.execute(
                    "SELECT sum(memory_usage_bytes) FROM duckdb_memory()"
                ).fetchone()
            finally:
                cursor.close()
        except Exception:  # closed meanwhile
            continue
        total += float(found[0] or 0) / 2**20 if found else 0.0
    return total


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        raise SystemExit(__doc__)
    parquet, work = Path(argv[0]).resolve(), Path(argv[1])
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    sink = subprocess.Popen(
        [sys.executable, str(HERE / "sink.py"), "fast"], stdout=subprocess.PIPE, text=True
    )
    assert sink.stdout is not None
    port = json.loads(sink.stdout.readline())["port"]
    spark_bench.write_spark_project(work / "project", parquet, f"http://127.0.0.1:{port}", 5)
    main_thread = threading.get_ident()
    highs: list[tuple[float, float, float, tuple[float, float, float], list[str]]] = []
    stop = threading.Event()
    engines = _watch_workbenches()
    duck_top = [0.0]

    def watch() -> None:
        top, start = 0.0, time.monotonic()
        while not stop.wait(0.1):
            duck = _duckdb_mb(engines)
            duck_top[0] = max(duck_top[0], duck)
            rss = _rss_mb()
            if rss > top + 2:
                top = rss
                highs.append(
                    (time.monotonic() - start, rss, duck, _heap_mb(), _retl_frames(main_thread))
                )

    threading.Thread(target=watch, daemon=True).start()
    try:
        result = spark_bench.run_phase(work / "project")
    finally:
        stop.set()
        sink.kill()
        sink.wait()
    print(json.dumps(result))
    for at, rss, duck, (arrow, malloc, held), frames in highs:
        if rss >= SHOWN_FROM_MB:
            print(
                f"{at:6.1f} s {rss:5.0f} MB (DuckDB {duck:4.0f}, Arrow {arrow:4.0f}, malloc "
                f"{malloc:4.0f} + {held:4.0f} free)  {' > '.join(frames)}"
            )
    print(f"DuckDB's memory at its highest: {duck_top[0]:.0f} MB")


if __name__ == "__main__":
    main(sys.argv[1:])
