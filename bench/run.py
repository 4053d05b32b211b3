"""retl's sync benchmark (issue 7): ``python bench/run.py [--rows N | --sizes A,B,C]``.

Per size: generate N synthetic orders (Parquet), then, each in its own child process so its
wall time and peak memory are its own, run

1. ``full_sync``     the first sync (empty state) to the fast sink,
2. ``resync``        an unchanged re-sync (the first after the first sync: since 2026-12-05 it
   skips the diff, the first sync having recorded its inputs, pipeline/unchanged.py),
3. ``resync_diff``   the same with that record removed first: the diff runs, hashing every row,
4. ``resync_delta``  a re-sync after 1% of the rows changed and 1% new rows were appended,
5. ``full_sync_sandbox`` (unless ``--no-sandbox-check``) a ``--full-refresh`` sync to retl's
   real sandbox, which parses and validates every event: a check that the sink is not the
   bottleneck,

and, after the first sync, ``retl sync --yes`` itself from an empty state (the command line:
its imports, display and exit included; wall time and peak RSS only); and, in the same run,
the floor: DuckDB alone building the JSON (``floor.py encode``), POSTing
pre-built bodies of retl's own payloads to each sink (``floor.py send``), and one plain scan of
the model (``driver.py probe``). See bench/README.md for how to read the output.

``--repeat N`` runs every size N times, the sizes interleaved, and then prints each phase's
median and range per size and how much it grows from the smallest size to the largest
(pg_report.py ``spread``): one run per size swings as much as the differences being judged.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from driver import hwm_mb  # noqa: E402  (its imports are light: no retl)

import data  # noqa: E402  (bench/ is not a package: run as a script)

PY = sys.executable
CHILD_ENV: dict[str, str] = {}  # PYTHONPATH=<retl source> with --retl-src
TRACK_PATH = "/open_api/v1.3/event/track/"
CHANGED_PCT = 1.0
NEW_PCT = 1.0


# --- child processes ------------------------------------------------------------------------
def run_child(args: Sequence[str], log: Path) -> dict[str, Any]:
    """Run a child to completion; its wall time and peak RSS (from wait4, i.e. its own)."""
    env = child_env(PYTHONUNBUFFERED="1")
    with log.open("ab") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(list(args), stdout=out, stderr=out, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{' '.join(args)} exited with {proc.returncode}:\n{tail}")
    return {
        "wall_s": round(wall, 4),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
    }


def run_json(args: Sequence[str], out: Path, log: Path) -> dict[str, Any]:
    proc = run_child([*args[:3], *args[3:]], log)
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    result["process"] = proc
    return result


class Sink:
    """A sink server in its own process (bench/sink.py)."""

    def __init__(self, kind: str, log: Path) -> None:
        self.kind = kind
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            [PY, str(HERE / "sink.py"), kind],
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=child_env(),
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"sink {kind} did not start (see {log})")
        self.base_url = f"http://127.0.0.1:{json.loads(line)['port']}"

    def stats(self) -> dict[str, Any]:
        import httpx

        body = httpx.get(self.base_url + "/_bench/stats", timeout=10).json()
        return dict(body.get("data", body)) if "code" in body else dict(body)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log.close()


# --- one size -------------------------------------------------------------------------------
def sync_phase(
    name: str, project: Path, work: Path, sink: Sink, *, full_refresh: bool = False
) -> dict[str, Any]:
    out = work / f"{name}.json"
    args = [PY, str(HERE / "driver.py"), "sync", str(project), str(out)]
    if full_refresh:
        args.append("--full-refresh")
    before = sink.stats()
    load_before = os.getloadavg()[0]
    result = run_json(args, out, work / "children.log")
    after = sink.stats()
    r = result["results"][0]
    sync_s = result["seconds"]
    phase = {
        "phase": name,
        "sink": sink.kind,
        "wall_s": result["process"]["wall_s"],
        "sync_s": sync_s,
        # The child's own peak (VmHWM), not wait4's ru_maxrss: Linux carries the parent's peak
        # over into a child, and this parent holds the generated data in memory at times.
        "peak_rss_mb": result.get("self_hwm_mb") or result["process"]["peak_rss_mb"],
        "cpu_s": result["process"]["cpu_s"],
        "memory_raised": result.get("memory_raised"),
        # Statements rerun after running out of memory: partitioned to disk, or on one thread.
        "out_of_core": result.get("out_of_core"),
        "single_threaded": result.get("single_threaded"),
        "started_out_of_core": result.get("started_out_of_core"),
        # The machine's 1-minute load before the phase: above the core count, other processes
        # competed for the CPU and wall times are inflated (cpu_s much less so).
        "loadavg_1m_before": round(load_before, 2),
        "rows_total": r["rows"]["total"],
        "rows_new": r["rows"]["new"],
        "rows_changed": r["rows"]["changed"],
        "rows_unchanged": r["rows"]["unchanged"],
        "rows_invalid": r["rows"]["skipped_invalid"],
        "events_sent": r["events"]["sent"],
        "events_rejected": r["events"]["rejected"],
        "requests": r["requests"],
        "ok": r["ok"],
        "rows_per_s": round(r["rows"]["total"] / sync_s, 1) if sync_s else 0.0,
        "events_per_s": round(r["events"]["sent"] / sync_s, 1) if sync_s else 0.0,
        "stages": result["stages"],
        "retl_package": result.get("retl_package"),
        "send_threads_sum_s": result["send_threads_sum"],
        "phone_udf_threads_sum_s": result.get("phone_udf_threads_sum"),
        "calls": result.get("calls"),
        "sink_requests": after["requests"] - before["requests"],
        "sink_cpu_s": round(after["cpu_s"] - before["cpu_s"], 3),
    }
    if "body_bytes" in after:
        phase["sink_body_bytes"] = after["body_bytes"] - before["body_bytes"]
    return phase


def cli_first_sync(project: Path, work: Path, sink: Sink) -> dict[str, Any]:
    """``retl sync --yes`` from an empty state, as a user runs it (``python -m reverse_etl``,
    the ``retl`` script's entry point): the command line's imports, display and exit
    included, which the driver's phases leave out. Its peak is the child's VmHWM, read every
    10 ms while it runs (it only grows; wait4's figure carries this process's peak over)."""
    shutil.rmtree(project / ".retl", ignore_errors=True)
    before = sink.stats()
    load_before = os.getloadavg()[0]
    args = [PY, "-m", "reverse_etl", "sync", "--yes", "--format", "json"]
    out = work / "cli_first_sync.json"
    with out.open("wb") as stdout, (work / "children.log").open("ab") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(args, cwd=project, stdout=stdout, stderr=log, env=child_env())
        hwm = 0.0
        while proc.poll() is None:
            hwm = max(hwm, hwm_mb(proc.pid) or 0.0)
            time.sleep(0.01)
        wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited with {proc.returncode} (see {log.name})")
    report = json.loads(out.read_text(encoding="utf-8"))
    after = sink.stats()
    return {
        "wall_s": round(wall, 4),
        "peak_rss_mb": hwm,
        "events_sent": sum(d["events"]["sent"] for d in report["destinations"]),
        "ok": report["ok"],
        "sink_cpu_s": round(after["cpu_s"] - before["cpu_s"], 3),
        "loadavg_1m_before": round(load_before, 2),
    }


def send_floor(sink: Sink, bodies: Path, requests: int, threads: int, work: Path) -> dict[str, Any]:
    out = work / f"floor_send_{sink.kind}.json"
    before = sink.stats()
    result = run_json(
        [
            PY,
            str(HERE / "floor.py"),
            "send",
            sink.base_url + TRACK_PATH,
            str(bodies),
            str(out),
            "--requests",
            str(max(1, requests)),
            "--threads",
            str(threads),
        ],
        out,
        work / "children.log",
    )
    after = sink.stats()
    result["sink_cpu_s"] = round(after["cpu_s"] - before["cpu_s"], 3)
    return result


def bench_size(
    rows: int, threads: int, root: Path, *, sandbox_check: bool, profile: bool
) -> dict[str, Any]:
    work = root / f"rows_{rows}"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    log = work / "children.log"
    parquet = work / "orders.parquet"
    project = work / "project"
    # The data sit beside the project, outside it: allowed as a user's CI would allow them.
    CHILD_ENV["RETL_ALLOWED_PATHS"] = str(work)

    start = time.perf_counter()
    data.write_orders(parquet, rows)
    gen_s = time.perf_counter() - start

    fast = Sink("fast", work / "sink_fast.log")
    sandbox = Sink("sandbox", work / "sink_sandbox.log") if sandbox_check else None
    try:
        data.write_project(project, parquet, fast.base_url, threads)
        bodies = work / "bodies.bin"
        probe = run_json(
            [
                PY,
                str(HERE / "driver.py"),
                "probe",
                str(project),
                str(work / "probe.json"),
                "--bodies",
                str(bodies),
            ],
            work / "probe.json",
            log,
        )
        enc = run_json(
            [PY, str(HERE / "floor.py"), "encode", str(parquet), str(work / "floor_encode.json")],
            work / "floor_encode.json",
            log,
        )

        phones = run_json(
            [PY, str(HERE / "floor.py"), "phones", str(parquet), str(work / "floor_phones.json")],
            work / "floor_phones.json",
            log,
        )

        phases = [sync_phase("full_sync", project, work, fast)]
        requests = phases[0]["requests"] or math.ceil(phases[0]["events_sent"] / 1000)
        send_fast = send_floor(fast, bodies, requests, threads, work)
        cli = cli_first_sync(project, work, fast)
        phases.append(sync_phase("resync", project, work, fast))
        # The diff's own cost, as every unchanged re-sync paid before the record: without it.
        (project / ".retl" / "state.duckdb.unchanged.json").unlink(missing_ok=True)
        phases.append(sync_phase("resync_diff", project, work, fast))
        changed, new = data.change_orders(parquet, rows, CHANGED_PCT, NEW_PCT)
        phases.append(sync_phase("resync_delta", project, work, fast))
        send_sandbox = None
        if sandbox is not None:
            data.set_destination(project, sandbox.base_url, threads)
            phases.append(
                sync_phase("full_sync_sandbox", project, work, sandbox, full_refresh=True)
            )
            sb_requests = phases[-1]["requests"] or 1
            send_sandbox = send_floor(sandbox, bodies, sb_requests, threads, work)
            data.set_destination(project, fast.base_url, threads)
        profile_summary = None
        if profile:
            profile_summary = profile_full_sync(project, work)
    finally:
        fast.close()
        if sandbox is not None:
            sandbox.close()

    floor = floor_summary(enc, send_fast, probe, phones, send_sandbox)
    add_ratios(phases, floor, rows)
    result: dict[str, Any] = {
        "rows": rows,
        "threads": threads,
        "generate_s": round(gen_s, 3),
        "delta": {"changed_rows": changed, "new_rows": new},
        "floor": floor,
        "phases": phases,
        "cli_first_sync": cli,
    }
    if profile_summary is not None:
        result["profile"] = profile_summary
    return result


def floor_summary(
    enc: dict[str, Any],
    send_fast: dict[str, Any],
    probe: dict[str, Any],
    phones: dict[str, Any],
    send_sandbox: dict[str, Any] | None,
) -> dict[str, Any]:
    """The floor measurements of one size, flattened."""
    floor: dict[str, Any] = {
        "encode_s": enc["seconds"],
        "encode_json_bytes": enc["json_bytes"],
        "encode_peak_rss_mb": enc.get("self_maxrss_mb") or enc["process"]["peak_rss_mb"],
        "send_fast_s": send_fast["seconds"],
        "send_fast_requests": send_fast["requests"],
        "send_fast_body_bytes": send_fast["body_bytes"],
        "send_fast_sink_cpu_s": send_fast["sink_cpu_s"],
        "scan_s": probe["scan_s"],
        "retl_encode_only_s": probe["encode_s"],
        "retl_payload_bytes": probe["payload_bytes"],
        "phones_s": phones["seconds"],
        "phones_distinct": phones["distinct"],
    }
    floor["serial_s"] = round(floor["encode_s"] + floor["send_fast_s"], 4)
    floor["overlap_s"] = round(max(floor["encode_s"], floor["send_fast_s"]), 4)
    if send_sandbox is not None:
        floor["send_sandbox_s"] = send_sandbox["seconds"]
        floor["send_sandbox_requests"] = send_sandbox["requests"]
        floor["send_sandbox_sink_cpu_s"] = send_sandbox["sink_cpu_s"]
        floor["send_sandbox_failed_requests"] = send_sandbox["failed_requests"]
    return floor


def add_ratios(phases: list[dict[str, Any]], floor: dict[str, Any], rows: int) -> None:
    """``ratio``: retl's in-process sync time over the phase's floor (see README)."""
    per_row = floor["serial_s"] / rows if rows else 0.0
    per_row_overlap = floor["overlap_s"] / rows if rows else 0.0
    for p in phases:
        sent = p["events_sent"]
        if p["phase"] in ("resync", "resync_diff"):
            p["floor_s"] = floor["scan_s"]
            p["floor_overlap_s"] = floor["scan_s"]
        elif p["phase"] == "resync_delta":
            p["floor_s"] = floor["scan_s"] + sent * per_row
            p["floor_overlap_s"] = floor["scan_s"] + sent * per_row_overlap
        elif p["phase"] == "full_sync_sandbox":
            send = floor.get("send_sandbox_s", floor["send_fast_s"])
            p["floor_s"] = floor["encode_s"] + send
            p["floor_overlap_s"] = max(floor["encode_s"], send)
        else:
            p["floor_s"] = floor["serial_s"]
            p["floor_overlap_s"] = floor["overlap_s"]
        p["floor_s"] = round(p["floor_s"], 4)
        p["floor_overlap_s"] = round(p["floor_overlap_s"], 4)
        p["ratio"] = round(p["sync_s"] / p["floor_s"], 2) if p["floor_s"] else None
        p["ratio_overlap"] = (
            round(p["sync_s"] / p["floor_overlap_s"], 2) if p["floor_overlap_s"] else None
        )
        if p["phase"] == "full_sync" and "phones_s" in floor:
            # Against the floor plus the phone library's own parsing, which the SQL floor
            # does not do (see floor.py phones): shown beside the ratio, never instead of it.
            with_phones = floor["serial_s"] + floor["phones_s"]
            p["floor_with_phones_s"] = round(with_phones, 4)
            p["ratio_with_phones"] = round(p["sync_s"] / with_phones, 2)


def profile_full_sync(project: Path, work: Path, top: int = 25) -> dict[str, Any]:
    """A --full-refresh sync under cProfile (slower than the timed runs; not a measurement)."""
    import pstats

    prof = work / "full_sync.prof"
    out = work / "profile_sync.json"
    run_json(
        [
            PY,
            str(HERE / "driver.py"),
            "sync",
            str(project),
            str(out),
            "--full-refresh",
            "--profile",
            str(prof),
        ],
        out,
        work / "children.log",
    )
    stats = pstats.Stats(str(prof))
    entries = []
    for (file, line, func), (_cc, ncalls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        entries.append(
            {
                "function": f"{Path(file).name}:{line}({func})",
                "calls": ncalls,
                "tottime_s": round(tottime, 3),
                "cumtime_s": round(cumtime, 3),
            }
        )
    return {
        "file": str(prof),
        "by_tottime": sorted(entries, key=lambda e: -e["tottime_s"])[:top],
        "by_cumtime": sorted(entries, key=lambda e: -e["cumtime_s"])[:top],
    }


def git_state() -> dict[str, Any]:
    """The retl commit measured, and files changed since (read-only git calls)."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", "--no-optional-locks", *args],
                cwd=HERE.parent,
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            ).stdout.rstrip("\n")
        except OSError:
            return ""

    return {
        "commit": git("rev-parse", "HEAD").strip(),
        "modified": [line[3:] for line in git("status", "--porcelain").splitlines()],
    }


# --- output ---------------------------------------------------------------------------------
STAGE_SHORT = {
    "load_compile": "load",
    "validate": "valid",
    "plan_encode_diff": "plan#",
    "plan_samples": "sampl",
    "plan_other": "plan+",
    "stream": "strm",
    "commit": "commit",
    "send_wait": "send",
    "other": "other",
}


def render(size: dict[str, Any]) -> str:
    f = size["floor"]
    lines = [
        f"== {size['rows']:,} rows, {size['threads']} threads "
        f"(data generated in {size['generate_s']:.1f}s) ==",
        f"floor: DuckDB JSON {f['encode_s']:.2f}s ({f['encode_json_bytes'] / 1e6:.0f} MB), "
        f"POST {f['send_fast_requests']} bodies to fast sink {f['send_fast_s']:.2f}s "
        f"({f['send_fast_body_bytes'] / 1e6:.0f} MB) -> serial {f['serial_s']:.2f}s, "
        f"overlapped {f['overlap_s']:.2f}s",
        f"       one scan of the model {f['scan_s']:.2f}s; retl's encode SELECT alone "
        f"{f['retl_encode_only_s']:.2f}s ({f['retl_payload_bytes'] / 1e6:.0f} MB of payloads)",
    ]
    if "phones_s" in f:
        lines.append(
            f"       phone library: the {f['phones_distinct']:,} distinct phones parsed once "
            f"(libphonenumber, one thread) {f['phones_s']:.2f}s; the SQL floor does not do this"
        )
    if "send_sandbox_s" in f:
        lines.append(
            f"       POST the same bodies to the real sandbox: {f['send_sandbox_s']:.2f}s "
            f"({f['send_sandbox_requests']} requests, sandbox CPU "
            f"{f['send_sandbox_sink_cpu_s']:.1f}s)"
        )
    header = (
        f"{'phase':<18}{'wall s':>8}{'sync s':>8}{'cpu s':>8}{'rows/s':>10}{'sent':>10}"
        f"{'RSS MB':>8}{'floor s':>9}{'ratio':>7}{'r.ovl':>7}{'sink cpu':>9}{'load':>6}"
    )
    lines += [header, "-" * len(header)]
    for p in size["phases"]:
        lines.append(
            f"{p['phase']:<18}{p['wall_s']:>8.2f}{p['sync_s']:>8.2f}{p['cpu_s']:>8.2f}"
            f"{p['rows_per_s']:>10,.0f}{p['events_sent']:>10,}{p['peak_rss_mb']:>8.0f}"
            f"{p['floor_s']:>9.2f}{p['ratio'] or 0:>7.2f}{p['ratio_overlap'] or 0:>7.2f}"
            f"{p['sink_cpu_s']:>9.1f}{p.get('loadavg_1m_before', 0):>6.1f}"
        )
    cli = size.get("cli_first_sync")
    if cli is not None:
        lines.append(
            f"command line, `retl sync --yes` from an empty state: wall {cli['wall_s']:.2f}s, "
            f"peak RSS {cli['peak_rss_mb']:.0f} MB, {cli['events_sent']:,} sent "
            f"(load {cli['loadavg_1m_before']:.1f})"
        )
    for p in size["phases"]:
        if p.get("out_of_core") or p.get("single_threaded"):
            lines.append(
                f"{p['phase']}: statements that ran out of memory at 200MB were rerun: "
                f"{p.get('out_of_core') or 0} out of core, {p.get('single_threaded') or 0} on "
                "one thread"
            )
        if p.get("started_out_of_core"):
            lines.append(
                f"{p['phase']}: {p['started_out_of_core']} statement(s) started out of core "
                "(a large join table beside the memory limit)"
            )
        if p.get("memory_raised"):
            lines.append(
                f"{p['phase']}: a statement ran out of the automatic memory limit (200MB) and was "
                "rerun at 1GB: its peak RSS shows that"
            )
        if "ratio_with_phones" in p:
            lines.append(
                f"{p['phase']}: {p['ratio_with_phones']:.2f}x the floor plus the phone library "
                f"({p['floor_with_phones_s']:.2f}s)"
            )
    lines.append("stages (s): " + "  ".join(f"{v}={k}" for k, v in STAGE_SHORT.items()))
    head = f"{'phase':<18}" + "".join(f"{s:>8}" for s in STAGE_SHORT.values())
    lines += [head]
    for p in size["phases"]:
        lines.append(
            f"{p['phase']:<18}" + "".join(f"{p['stages'].get(k, 0):>8.2f}" for k in STAGE_SHORT)
        )
    if "profile" in size:
        lines.append(f"cProfile of a full sync ({size['profile']['file']}), top by own time:")
        for e in size["profile"]["by_tottime"][:12]:
            lines.append(f"  {e['tottime_s']:>8.2f}s {e['calls']:>10} {e['function']}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="one size (default 1M)")
    parser.add_argument("--sizes", help="comma-separated sizes, e.g. 100000,1000000,4000000")
    parser.add_argument("--threads", type=int, default=5, help="requests in flight (default 5)")
    parser.add_argument("--out", type=Path, help="result JSON (default bench/results/<time>.json)")
    parser.add_argument("--workdir", type=Path, help="where data and projects go (default: tmp)")
    parser.add_argument("--no-sandbox-check", action="store_true", help="skip the real sandbox")
    parser.add_argument("--profile", action="store_true", help="cProfile one extra full sync")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run every size N times, the sizes interleaved, and print each phase's median "
        "and range per size and how it grows",
    )
    parser.add_argument(
        "--no-log-accepted",
        action="store_true",
        help="history.log_accepted: false (measures what the delivery log costs)",
    )
    parser.add_argument(
        "--retl-src", type=Path, help="measure the retl package found in this directory instead"
    )
    parser.add_argument(
        "--no-bytecode",
        action="store_true",
        help="every child compiles retl's sources again (PYTHONDONTWRITEBYTECODE=1), instead "
        "of reading them compiled, as an installed retl does",
    )
    parser.add_argument(
        "--engine",
        choices=["duckdb", "spark", "postgres"],
        default="duckdb",
        help="where models run: duckdb (this script), spark (bench/spark_bench.py) or "
        "postgres (bench/pg_bench.py, default sizes 1M and 4M)",
    )
    args = parser.parse_args(argv)
    if args.engine == "spark":  # the Spark warehouse at scale: its own script (issue 17)
        import spark_bench

        sizes_arg = args.sizes or str(args.rows)
        extra = ["--out", str(args.out)] if args.out else []
        spark_args = ["--sizes", sizes_arg, "--threads", str(args.threads), *extra]
        return spark_bench.main(spark_args) or {}
    if args.engine == "postgres":  # PostgreSQL warehouse state at scale (issue 17)
        import pg_bench

        pg_args = ["--sizes", args.sizes or "1000000,4000000", "--threads", str(args.threads)]
        pg_args += ["--out", str(args.out)] if args.out else []
        pg_args += ["--workdir", str(args.workdir)] if args.workdir else []
        pg_args += ["--retl-src", str(args.retl_src)] if args.retl_src else []
        return pg_bench.main(pg_args) or {}
    CHILD_ENV.clear()
    data.PROJECT_EXTRA = "history:\n  log_accepted: false\n" if args.no_log_accepted else ""
    if args.retl_src is not None:
        CHILD_ENV["PYTHONPATH"] = str(args.retl_src.resolve())
    bytecode(args.no_bytecode)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")] if args.sizes else [args.rows]
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = args.out or HERE / "results" / f"{stamp}.json"
    root = args.workdir or Path(tempfile.mkdtemp(prefix="retl-bench-"))
    doc: dict[str, Any] = {
        "started_at": stamp,
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "retl": {"source": str(args.retl_src)} if args.retl_src else git_state(),
        "bytecode": "compiled by every child" if args.no_bytecode else "compiled once",
        "sizes": [],
    }
    try:
        runs = [run_sizes(args, sizes, root, doc, out) for _ in range(max(1, args.repeat))]
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(root, ignore_errors=True)
    if len(runs) > 1:
        print(repeated(runs), flush=True)
    print(f"results: {out}")
    return doc


def bytecode(off: bool) -> None:
    """How the children load retl's modules. By default compiled once, here, into the
    package's ``__pycache__``, and read from there, as from an install (pip compiles what it
    installs). Inherited ``PYTHONDONTWRITEBYTECODE=1`` (this build environment sets it) made
    every child compile ~130 modules again: ~0.08 s of each phase's wall time.
    ``--no-bytecode`` keeps that."""
    if off:
        CHILD_ENV["PYTHONDONTWRITEBYTECODE"] = "1"
        return
    compile_all = (
        "import compileall, os, reverse_etl as r; "
        "compileall.compile_dir(os.path.dirname(r.__file__), quiet=1)"
    )
    subprocess.run([PY, "-c", compile_all], env=child_env(), check=True)


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a measured child: this one, with CHILD_ENV and ``extra``, and
    without ``PYTHONDONTWRITEBYTECODE`` unless CHILD_ENV sets it (``bytecode``)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, **extra, **CHILD_ENV}


def run_sizes(
    args: argparse.Namespace, sizes: list[int], root: Path, doc: dict[str, Any], out: Path
) -> list[dict[str, Any]]:
    """One run of every size; each size's result is added to ``doc`` and written to ``out``
    as soon as it is measured."""
    run = []
    for rows in sizes:
        size = bench_size(
            rows, args.threads, root, sandbox_check=not args.no_sandbox_check, profile=args.profile
        )
        size["run"] = len(doc["sizes"]) // len(sizes)
        doc["sizes"].append(size)
        run.append(size)
        print(render(size), flush=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return run


def repeated(runs: list[list[dict[str, Any]]]) -> str:
    """``--repeat``: each phase's median and range per size, and its growth (pg_report's
    ``spread``; one run per size swings as much as the differences being judged)."""
    from pg_report import spread

    by_name = [
        [{"rows": s["rows"], "phases": {p["phase"]: p for p in s["phases"]}} for s in run]
        for run in runs
    ]
    return spread(by_name, keys=("sync_s", "wall_s", "cpu_s", "peak_rss_mb"))


if __name__ == "__main__":
    main()
