"""The Spark warehouse at scale (issue 17): ``python bench/spark_bench.py --sizes 1000000``.

Per size: bench/data.py's synthetic orders in Parquet, a project whose warehouse is a local
Spark session (``local[2]``) with the state in Spark (``state: {location: warehouse}``), and a
fast sink (bench/sink.py). Three phases, each a child process of its own:

1. ``first``      the first sync (empty state): every row leaves Spark;
2. ``unchanged``  a re-sync with nothing changed: no row should leave Spark;
3. ``delta``      after 1% of the rows changed and 1% new ones were appended: only those 2%.

Each child reports its wall time, the rows that came out of Spark into the retl process
(counted on the Arrow batches ``SparkEngine.stream`` yields) and the retl process's own peak
RSS (``VmHWM``: the JVM is another process, reported apart by ``jvm_peak_rss_mb``, the peak
over its life read from /proc while the sync runs), the CPU seconds of both, and the retl
process's RSS at its highest in each step (``retl_rss_by_step_mb``: stage, plan, send, fold).
With ``--workdir``, a data file already written there and not yet synced is reused.

``python bench/spark_bench.py phase PROJECT OUT.json`` runs one phase (what the parent calls).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from driver import hwm_mb  # noqa: E402

import data  # noqa: E402  (bench/ is not a package: run as a script)

PY = sys.executable


def write_spark_project(project: Path, parquet: Path, base_url: str, threads: int) -> None:
    data.write_project(project, parquet, base_url, threads)
    (project / "retl_project.yml").write_text(
        textwrap.dedent(
            f"""\
            name: retl_bench_spark
            warehouse:
              type: spark
              master: "local[2]"
              conf:
                spark.sql.shuffle.partitions: "8"
                spark.driver.memory: "2g"
            state:
              location: warehouse
            sources:
              - name: bench
                tables:
                  - name: orders
                    config:
                      external_location: "{parquet}"
            """
        ),
        encoding="utf-8",
    )


# --- one phase, in a child process ----------------------------------------------------------
def run_phase(project_dir: Path) -> dict[str, Any]:
    from reverse_etl.engine import spark as spark_engine
    from reverse_etl.project import Project

    transferred = {"rows": 0, "batches": 0}
    original = spark_engine.SparkEngine._checked

    def counted(self: Any, batches: Any, schema: Any) -> Any:
        for batch in original(self, batches, schema):
            transferred["rows"] += batch.num_rows
            transferred["batches"] += 1
            yield batch

    spark_engine.SparkEngine._checked = counted  # type: ignore[method-assign]
    steps = _watch_steps()
    jvm_peak = {"mb": 0.0, "cpu_s": 0.0}
    stop = threading.Event()

    def watch_jvm() -> None:
        # The JVM is killed, not waited for, when the session stops: its CPU time is read
        # from /proc while it runs (the last reading before the sync returns).
        while not stop.wait(0.5):
            for child in _children(os.getpid()):
                jvm_peak["mb"] = max(jvm_peak["mb"], _rss_mb(child))
                jvm_peak["cpu_s"] = max(jvm_peak["cpu_s"], _cpu_s(child))
            step = steps["now"]
            steps[step] = max(steps.get(step, 0.0), _rss_mb(os.getpid(), "VmRSS:"))

    watcher = threading.Thread(target=watch_jvm, daemon=True)
    watcher.start()
    start = time.perf_counter()
    with Project.load(project_dir) as project:
        report = project.sync()
        # The workbench's memory: rerun on one thread, or given the 1GB fallback.
        bench_memory = {
            "single_threaded": getattr(project.workbench, "single_threaded", None),
            "out_of_core": getattr(project.workbench, "out_of_core", None),
            "memory_raised": project.workbench.memory_raised,
        }
        for child in _children(os.getpid()):  # before the session (and its JVM) stops
            jvm_peak["cpu_s"] = max(jvm_peak["cpu_s"], _cpu_s(child))
    wall = time.perf_counter() - start
    stop.set()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    (result,) = report.results
    return {
        "wall_s": round(wall, 2),
        "sent": result.sent,
        "unchanged": result.rows_unchanged,
        "rows_out_of_spark": transferred["rows"],
        "arrow_batches": transferred["batches"],
        "retl_peak_rss_mb": hwm_mb(),
        "jvm_peak_rss_mb": round(jvm_peak["mb"], 1),
        "retl_cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "jvm_cpu_s": round(jvm_peak["cpu_s"], 1),
        "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
        # The retl process's resident memory at its highest in each step (sampled twice a
        # second): where a peak is reached.
        "retl_rss_by_step_mb": {k: round(v) for k, v in steps.items() if k != "now"},
        "ok": report.ok,
        **bench_memory,
    }


def _watch_steps() -> dict[str, Any]:
    """Marks which step of the sync runs (``steps["now"]``) for the memory sampler: staging
    the rows out of Spark, the plan (encoding), the send, the fold into Spark."""
    from reverse_etl.engine.duckdb import DuckDBEngine
    from reverse_etl.pipeline import runner, send
    from reverse_etl.state.spark import SparkStateStore

    steps: dict[str, Any] = {"now": "other"}

    def marked(step: str, fn: Any) -> Any:
        def call(*args: Any, **kw: Any) -> Any:
            before, steps["now"] = steps["now"], step
            try:
                return fn(*args, **kw)
            finally:
                steps["now"] = before

        return call

    DuckDBEngine.stage = marked("stage", DuckDBEngine.stage)  # type: ignore[method-assign]
    runner.build_destination_plan = marked("plan", runner.build_destination_plan)
    send.deliver = marked("send", send.deliver)
    SparkStateStore._fold_scope = marked("fold", SparkStateStore._fold_scope)  # type: ignore[method-assign]
    return steps


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _cpu_s(pid: int) -> float:
    """A process's user + system CPU seconds so far (/proc/PID/stat fields 14 and 15)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int, field: str = "VmHWM:") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


# --- the parent -------------------------------------------------------------------------------
def phase(project: Path, out: Path, log: Path) -> dict[str, Any]:
    with log.open("ab") as sink:
        subprocess.run(
            [PY, __file__, "phase", str(project), str(out)],
            stdout=sink,
            stderr=sink,
            check=True,
        )
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


def run_size(
    rows: int,
    work: Path,
    threads: int,
    phases: tuple[str, ...] = ("first", "unchanged", "delta"),
    extra_pct: float | None = None,
) -> dict[str, Any]:
    folder = work / f"n{rows}"
    folder.mkdir(parents=True, exist_ok=True)
    parquet = folder / "orders.parquet"
    t = time.perf_counter()
    if parquet.exists() and not (folder / "project").exists():
        # A --workdir's data, written before (10M rows take minutes): only an unsynced one.
        print(f"[{rows:,}] data reused from {parquet}", flush=True)
    else:
        shutil.rmtree(folder / "project", ignore_errors=True)
        data.write_orders(parquet, rows)
        print(f"[{rows:,}] data written in {time.perf_counter() - t:.1f}s", flush=True)
    sink = subprocess.Popen([PY, str(HERE / "sink.py"), "fast"], stdout=subprocess.PIPE, text=True)
    try:
        assert sink.stdout is not None
        port = json.loads(sink.stdout.readline())["port"]
        project = folder / "project"
        write_spark_project(project, parquet, f"http://127.0.0.1:{port}", threads)
        log = folder / "phases.log"
        out: dict[str, Any] = {"rows": rows}
        out["first"] = phase(project, folder / "first.json", log)
        print(f"[{rows:,}] first     {out['first']}", flush=True)
        if "unchanged" not in phases:
            return out
        out["unchanged"] = phase(project, folder / "unchanged.json", log)
        print(f"[{rows:,}] unchanged {out['unchanged']}", flush=True)
        if "delta" not in phases:
            return out
        changed, new = data.change_orders(parquet, rows, 1.0, 1.0)
        out["delta"] = phase(project, folder / "delta.json", log)
        out["delta"]["changed_rows"], out["delta"]["new_rows"] = changed, new
        print(f"[{rows:,}] delta     {out['delta']}", flush=True)
        if extra_pct:
            # The same number of rows to send as a larger size's 1% + 1%: the retl process's
            # memory compared at equal rows sent, apart from the table's size.
            # Appended after the 1% rows, so its new orders start past them.
            grown = rows + out["delta"]["new_rows"]
            changed, new = data.change_orders(parquet, grown, extra_pct, extra_pct)
            out["delta_extra"] = phase(project, folder / "delta_extra.json", log)
            out["delta_extra"]["changed_rows"], out["delta_extra"]["new_rows"] = changed, new
            out["delta_extra"]["pct"] = extra_pct
            print(f"[{rows:,}] delta {extra_pct}% {out['delta_extra']}", flush=True)
        return out
    finally:
        sink.kill()
        sink.wait()


def main(argv: list[str] | None = None) -> dict[str, Any] | None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["phase"]:
        result = run_phase(Path(argv[1]))
        Path(argv[2]).write_text(json.dumps(result), encoding="utf-8")
        return None
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000000", help="comma-separated row counts")
    parser.add_argument("--threads", type=int, default=5, help="requests in flight")
    parser.add_argument("--out", type=Path, help="result JSON")
    parser.add_argument("--workdir", type=Path, help="where data and projects go")
    parser.add_argument(
        "--phases", default="first,unchanged,delta", help="the first ones of these to run"
    )
    parser.add_argument(
        "--extra-delta-pct",
        type=float,
        help="after the 1%% + 1%% phase, one more with this %% changed and new (e.g. 10 at 1M: "
        "the 200,000 rows a 10M run's delta sends)",
    )
    args = parser.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="retl-spark-bench-"))
    try:
        phases = tuple(args.phases.split(","))
        results = [
            run_size(int(n), work, args.threads, phases, args.extra_delta_pct)
            for n in args.sizes.split(",")
        ]
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    document = {"engine": "spark", "sizes": results}
    if args.out:
        args.out.write_text(json.dumps(document, indent=2), encoding="utf-8")
    print(json.dumps(document, indent=2))
    return document


if __name__ == "__main__":
    main()
