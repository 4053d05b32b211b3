"""PostgreSQL warehouse state at scale (issue 17): ``python bench/pg_bench.py --sizes 1000000``.

Also ``python bench/run.py --engine postgres [--sizes ...]``.

Per size: a throw-away PostgreSQL cluster (initdb in a temp dir, run as the ``postgres``
system user when we are root, a free port, the unix socket in the temp dir; default
durability, i.e. fsync on), bench/data.py's synthetic orders loaded into ``bench.orders``,
and a project whose warehouse is that server with ``state: {location: warehouse}``, sending
to the fast sink (bench/sink.py). Three phases, each a child process of its own:

1. ``first``      the first sync (empty state): every row leaves PostgreSQL;
2. ``unchanged``  a re-sync with nothing changed: no row should leave it;
3. ``delta``      after 1% of the rows changed (UPDATE) and 1% new ones (COPY): only those.

Per phase: wall time and CPU of the retl process (wait4), its own peak RSS (VmHWM), the rows
that left PostgreSQL into retl (counted on the engine's Arrow stream), events sent, the time
spent committing acknowledgements (``WarehouseStateStore.record_acknowledged``, per batch)
and compacting the state (``compact``), the plan's phone pre-pass and encode, the workbench
statements rerun after running out of its memory (out of core, on one thread, or at the
raised limit), the server's CPU (postmaster and its children, from
/proc, exited backends included through the postmaster's cutime) and the load average.

Floors, on the same server in the same run, once the state holds every key: (a) the
server's own time (EXPLAIN ANALYZE, TIMING OFF) for one scan of the orders, for the scan
plus a key and a row hash, and for that joined with the state table's key and hash; (b)
COPY TO STDOUT of the key+hash and of the model's payload columns, and COPY FROM of one
acknowledgement per key into a copy of the state table (with its index). Each phase is
printed beside its floor, as a ratio.

Every statement of retl's that runs longer than ``--explain-ms`` is logged with its plan by
``auto_explain`` (``log_analyze``, row counts, no per-node timing: it would slow them down)
into the server's log (the cluster: pg_cluster.py); the bench prints them per phase and,
across sizes, how each grew (pg_report.py). A streamed query's logged duration includes retl
reading it; the streamed queries are also re-run under EXPLAIN ANALYZE after each phase for
the server's own time, unless ``--no-stream-explain`` (each re-run is a pass over the model).

``--repeat N`` runs every size N times, the sizes interleaved, and prints each phase's median
and range per size and the range of its growth (pg_report.py ``spread``): one run per size
has a spread as large as the growth being judged (docs/performance.md, seventh round).

``python bench/pg_bench.py phase PROJECT OUT.json`` runs one phase (what the parent calls).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from driver import hwm_mb  # noqa: E402
from pg_cluster import SERVER_USER, Cluster, add_server_settings, server_settings  # noqa: E402
from pg_report import brief, growth, parse_log, render, spread  # noqa: E402

import data  # noqa: E402  (bench/ is not a package: run as a script)

PY = sys.executable
DESTINATION = "bench_tiktok"
STATE_SCHEMA = "retl_state"
CHILD_ENV: dict[str, str] = {}  # PYTHONPATH=<retl source> with --retl-src

# The orders as a PostgreSQL table. ``items`` (a list of structs) has no column type the
# PostgreSQL engine reads back as one: its product ids become a text[] instead.
TABLE_DDL = """CREATE TABLE bench.orders (
    order_id bigint, customer_id text, ordered_at timestamp, email text, phone text,
    client_ip text, user_agent text, landing_url text, currency text, content_ids text[],
    order_total numeric(12, 2))"""
CSV_SELECT = """SELECT order_id, customer_id, ordered_at, email, phone, client_ip, user_agent,
    landing_url, currency,
    '{{' || array_to_string(list_transform(items, x -> '"' || x.content_id || '"'), ',')
        || '}}' AS content_ids,
    order_total FROM ({inner})"""

# bench/data.py's model, with content_ids for contents (see TABLE_DDL).
MODEL_SQL = """\
-- Synthetic shop orders as TikTok Purchase events, from PostgreSQL (bench/pg_bench.py).
{{ config(primary_key='event_id') }}

select
    'Purchase'             as event,
    'order-' || order_id   as event_id,
    ordered_at             as event_time,
    email                  as email,
    phone                  as phone,
    customer_id            as external_id,
    client_ip              as ip,
    user_agent             as user_agent,
    order_total            as value,
    currency               as currency,
    'product'              as content_type,
    content_ids            as content_ids,
    landing_url            as page_url
from {{ source('bench', 'orders') }}
"""
PAYLOAD_COLUMNS = (
    "'order-' || order_id, ordered_at, email, phone, customer_id, client_ip, user_agent, "
    "order_total, currency, content_ids, landing_url"
)


# --- data -----------------------------------------------------------------------------------
def copy_select(cluster: Cluster, select: str, csv: Path) -> None:
    """Write a DuckDB SELECT of orders as CSV, and COPY it into bench.orders."""
    con = data._connect()
    try:
        con.execute(f"COPY ({CSV_SELECT.format(inner=select)}) TO '{csv}' (HEADER false)")
    finally:
        con.close()
    with (
        cluster.connect() as pg,
        pg.cursor() as cur,
        csv.open("rb") as f,
        cur.copy("COPY bench.orders FROM STDIN (FORMAT csv)") as cp,
    ):
        while chunk := f.read(1 << 20):
            cp.write(chunk)
    csv.unlink()


def load_orders(cluster: Cluster, parquet: Path, work: Path) -> None:
    with cluster.connect() as pg:
        pg.execute("CREATE SCHEMA bench")
        pg.execute(TABLE_DDL)
    copy_select(cluster, f"SELECT * FROM read_parquet('{parquet}')", work / "orders.csv")
    with cluster.connect() as pg:
        pg.execute("VACUUM ANALYZE bench.orders")


def change_orders(cluster: Cluster, rows: int, work: Path, pct: float = 1.0) -> tuple[int, int]:
    """data.change_orders' edit, in PostgreSQL: ``pct`` % of the orders get order_total + 1
    and ``pct`` % new orders are appended (the same rows data.py would append)."""
    every, new = max(1, round(100 / pct)), round(rows * pct / 100)
    with cluster.connect() as pg:
        changed = pg.execute(
            f"UPDATE bench.orders SET order_total = order_total + 1 "
            f"WHERE order_id % {every} = 7 % {every}"
        ).rowcount
    customers = max(1, rows // data.ORDERS_PER_CUSTOMER)
    inner = (
        "SELECT *, list_sum(list_transform(items, x -> x.price * x.quantity)) AS order_total "
        f"FROM ({data.rows_sql(rows, new, customers)})"
    )
    copy_select(cluster, inner, work / "new.csv")
    return changed, new


def write_pg_project(project: Path, cluster: Cluster, base_url: str, threads: int) -> None:
    data.write_project(project, project / "unused.parquet", base_url, threads)
    (project / "models" / "bench_events.sql").write_text(MODEL_SQL, encoding="utf-8")
    (project / "retl_project.yml").write_text(
        textwrap.dedent(
            f"""\
            name: retl_bench_pg
            warehouse:
              type: postgres
              host: 127.0.0.1
              port: {cluster.port}
              dbname: postgres
              user: {SERVER_USER}
            state:
              location: warehouse
              schema: {STATE_SCHEMA}
            sources:
              - name: bench
                tables:
                  - name: orders
            """
        ),
        encoding="utf-8",
    )


# --- one phase, in a child process ----------------------------------------------------------
def run_phase(project_dir: Path) -> dict[str, Any]:
    from reverse_etl.destinations.tiktok.destination import TikTokDestination
    from reverse_etl.engine import postgres as pg_engine
    from reverse_etl.pipeline import plan, runner
    from reverse_etl.project import Project
    from reverse_etl.state import warehouse

    times: dict[str, float] = defaultdict(float)
    calls: dict[str, int] = defaultdict(int)
    out_rows = {"rows": 0, "batches": 0}
    original_batches = pg_engine._Stream.batches

    def counted(self: Any, batch_rows: int) -> Any:
        for batch in original_batches(self, batch_rows):
            out_rows["rows"] += batch.num_rows
            out_rows["batches"] += 1
            yield batch

    pg_engine._Stream.batches = counted  # type: ignore[method-assign]
    streamed: list[str] = []  # the streamed queries (auto_explain misses a dropped cursor)
    original_stream = pg_engine.PostgresEngine.stream

    def stream(self: Any, sql: str, **kwargs: Any) -> Any:
        streamed.append(self.transpile(sql))
        return original_stream(self, sql, **kwargs)

    pg_engine.PostgresEngine.stream = stream  # type: ignore[method-assign]

    def timed(owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                times[label] += time.perf_counter() - start
                calls[label] += 1

        setattr(owner, name, wrapper)

    store = warehouse.WarehouseStateStore
    for name in ("record_acknowledged", "record_outcomes", "compact", "record_run"):
        if hasattr(store, name):
            timed(store, name, name)
    timed(runner, "model_input", "diff_and_stage")  # the diff in PostgreSQL, rows to DuckDB
    timed(runner, "build_destination_plan", "plan_total")
    # Within the plan: the phone pre-pass, and the encode into the plan's table.
    timed(TikTokDestination, "prepare", "plan_phones")
    timed(plan, "encode_rows", "plan_encode")
    timed(runner, "execute", "send_total")
    start = time.perf_counter()
    with Project.load(project_dir) as project:
        report = project.sync()
        # The workbench's memory: rerun on one thread, or given the 1GB fallback.
        bench_memory = {
            "single_threaded": getattr(project.workbench, "single_threaded", None),
            "out_of_core": getattr(project.workbench, "out_of_core", None),
            "started_out_of_core": getattr(project.workbench, "started_out_of_core", None),
            "memory_raised": project.workbench.memory_raised,
        }
    wall = time.perf_counter() - start
    (result,) = report.results
    return {
        "sync_s": round(wall, 2),
        "sent": result.sent,
        "unchanged": result.rows_unchanged,
        "rows_out_of_pg": out_rows["rows"],
        "arrow_batches": out_rows["batches"],
        "retl_peak_rss_mb": hwm_mb(),
        "times": {k: round(v, 3) for k, v in times.items()},
        "calls": dict(calls),
        "ok": report.ok,
        **bench_memory,
        "streamed_sql": streamed,
    }


# --- the parent -------------------------------------------------------------------------------
SETTINGS = {"explain_streams": True}  # --no-stream-explain: no re-run (a model pass each)


def phase(name: str, project: Path, folder: Path, cluster: Cluster) -> dict[str, Any]:
    out = folder / f"{name}.json"
    load = os.getloadavg()
    server_before, log_at = cluster.cpu_s(), cluster.log_size()
    with (folder / "phases.log").open("ab") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [PY, __file__, "phase", str(project), str(out)],
            stdout=log,
            stderr=log,
            env={**os.environ, **CHILD_ENV},
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        tail = (folder / "phases.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"phase {name} failed:\n{tail}")
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    result.update(
        phase=name,
        wall_s=round(wall, 2),
        retl_cpu_s=round(usage.ru_utime + usage.ru_stime, 2),
        server_cpu_s=round(cluster.cpu_s() - server_before, 2),
        loadavg_before=[round(x, 2) for x in load],
        loadavg_after=[round(x, 2) for x in os.getloadavg()],
        statements=parse_log(cluster.log_since(log_at)),
    )
    # The streamed queries, run again under EXPLAIN ANALYZE: the server's own time for them
    # (the cursor's own time includes retl consuming it). The state has moved on by then:
    # after the 1% phase they find nothing to send, but scan and join as much.
    result["streams"] = []
    for sql in result.pop("streamed_sql") if SETTINGS["explain_streams"] else []:
        if "__retl_cached_" in sql:
            # reads the diff's cached table, dropped when the phase ended: it cannot run again
            # (its creation is among the logged statements, with its plan)
            continue
        seconds, plan = explain_ms(cluster, sql)
        result["streams"].append({"s": round(seconds, 3), "plan": plan})
    acks = result["calls"].get("record_acknowledged", 0)
    if acks:
        result["ack_ms_per_batch"] = round(1000 * result["times"]["record_acknowledged"] / acks, 2)
    return result


def explain_ms(cluster: Cluster, sql: str) -> tuple[float, str]:
    """The server's own time for ``sql`` under retl's session settings. No parallel
    workers: retl streams through a cursor, and a cursor's plan is never parallel."""
    with cluster.connect() as pg:
        pg.execute("SET TimeZone = 'UTC'")
        pg.execute("SET extra_float_digits = 3")
        pg.execute("SET max_parallel_workers_per_gather = 0")
        plan = [r[0] for r in pg.execute("EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) " + sql)]
    m = re.search(r"Execution Time: ([\d.]+) ms", "\n".join(plan))
    return (float(m.group(1)) / 1000 if m else 0.0), "\n".join(plan)


def copy_out_s(cluster: Cluster, select: str, sink: Path | None = None) -> tuple[float, int]:
    with cluster.connect() as pg, pg.cursor() as cur:
        start = time.perf_counter()
        nbytes = 0
        with cur.copy(f"COPY ({select}) TO STDOUT") as cp:
            f = sink.open("wb") if sink else None
            for chunk in cp:
                nbytes += len(chunk)
                if f is not None:
                    f.write(chunk)
            if f is not None:
                f.close()
        return round(time.perf_counter() - start, 3), nbytes


def floors(cluster: Cluster, folder: Path) -> dict[str, Any]:
    """Measured once the state holds every key (after the first sync)."""
    state = f"{STATE_SCHEMA}.synced_rows"
    key_hash = "SELECT 'order-' || order_id AS k, md5(o::text) AS h FROM bench.orders o"
    f: dict[str, Any] = {}
    f["scan_s"], _ = explain_ms(cluster, "SELECT count(*) FROM bench.orders")
    f["scan_hash_s"], _ = explain_ms(cluster, f"SELECT count(h) FROM ({key_hash}) AS k")
    f["scan_join_s"], f["scan_join_plan"] = explain_ms(
        cluster,
        f"SELECT count(*) FILTER (WHERE s.row_hash = k.h), count(s.row_key) "
        f"FROM ({key_hash}) AS k LEFT JOIN {state} AS s "
        f"ON s.row_key = k.k AND s.destination = '{DESTINATION}'",
    )
    f["copy_out_key_hash_s"], f["copy_out_key_hash_bytes"] = copy_out_s(cluster, key_hash)
    f["copy_out_payload_s"], f["copy_out_payload_bytes"] = copy_out_s(
        cluster, f"SELECT {PAYLOAD_COLUMNS} FROM bench.orders"
    )
    acks = folder / "acks.copy"
    columns = "destination, scope, row_key, row_hash, synced_at, first_synced_at"
    copy_out_s(cluster, f"SELECT {columns} FROM {state}", acks)
    with cluster.connect() as pg:
        pg.execute(
            f"CREATE TABLE {STATE_SCHEMA}.copy_floor "
            f"(LIKE {state} INCLUDING DEFAULTS INCLUDING INDEXES)"
        )
        start = time.perf_counter()
        with (
            pg.cursor() as cur,
            acks.open("rb") as src,
            cur.copy(f"COPY {STATE_SCHEMA}.copy_floor ({columns}) FROM STDIN") as cp,
        ):
            while chunk := src.read(1 << 20):
                cp.write(chunk)
        f["copy_in_acks_s"] = round(time.perf_counter() - start, 3)
        pg.execute(f"DROP TABLE {STATE_SCHEMA}.copy_floor")
    acks.unlink()
    return f


def add_ratios(phases: dict[str, dict[str, Any]], fl: dict[str, Any], rows: int) -> None:
    """The floor of each phase: what the server must do at least, and the rows' COPY.

    first: the model's payload out (COPY) + every acknowledgement in (COPY); unchanged: one
    scan + hash + join; delta: that, plus the 2% of rows to send out and acknowledge."""
    copies = fl["copy_out_payload_s"] + fl["copy_in_acks_s"]
    for name, p in phases.items():
        if name == "first":
            floor = copies
        elif name == "unchanged":
            floor = fl["scan_join_s"]
        else:
            floor = fl["scan_join_s"] + copies * p["sent"] / max(1, rows)
        p["floor_s"] = round(floor, 3)
        p["ratio"] = round(p["sync_s"] / floor, 1) if floor else None


def run_size(
    rows: int,
    work: Path,
    threads: int,
    explain: int,
    extra_pct: float | None = None,
    *,
    overrides: dict[str, str] | None = None,
) -> dict[str, Any]:
    folder = work / f"n{rows}"
    folder.mkdir(parents=True, exist_ok=True)
    parquet = folder / "orders.parquet"
    t = time.perf_counter()
    data.write_orders(parquet, rows)
    root = Path(tempfile.mkdtemp(prefix="retl-pgb-", dir="/tmp"))
    cluster = Cluster(root, explain, overrides)
    sink = subprocess.Popen([PY, str(HERE / "sink.py"), "fast"], stdout=subprocess.PIPE, text=True)
    try:
        load_orders(cluster, parquet, folder)
        out: dict[str, Any] = {"rows": rows, "load_s": round(time.perf_counter() - t, 1)}
        print(f"[{rows:,}] data generated and loaded in {out['load_s']}s", flush=True)
        assert sink.stdout is not None
        port = json.loads(sink.stdout.readline())["port"]
        project = folder / "project"
        write_pg_project(project, cluster, f"http://127.0.0.1:{port}", threads)
        phases: dict[str, dict[str, Any]] = {}
        phases["first"] = phase("first", project, folder, cluster)
        print(f"[{rows:,}] first     {brief(phases['first'])}", flush=True)
        out["floor"] = floors(cluster, folder)
        phases["unchanged"] = phase("unchanged", project, folder, cluster)
        print(f"[{rows:,}] unchanged {brief(phases['unchanged'])}", flush=True)
        out["changed_rows"], out["new_rows"] = change_orders(cluster, rows, folder)
        phases["delta"] = phase("delta", project, folder, cluster)
        print(f"[{rows:,}] delta     {brief(phases['delta'])}", flush=True)
        if extra_pct:
            # The rows a larger size's 1% + 1% sends: memory compared at equal rows sent.
            # Appended after the 1% rows, so its new orders start past them.
            grown = rows + out["new_rows"]
            changed, new = change_orders(cluster, grown, folder, extra_pct)
            phases["delta_extra"] = phase("delta_extra", project, folder, cluster)
            phases["delta_extra"].update(changed_rows=changed, new_rows=new, pct=extra_pct)
            print(f"[{rows:,}] delta {extra_pct}% {brief(phases['delta_extra'])}", flush=True)
        add_ratios(phases, out["floor"], rows)
        with cluster.connect() as pg:
            out["state_rows"] = pg.execute(
                f"SELECT count(*) FROM {STATE_SCHEMA}.synced_rows"
            ).fetchone()[0]
        out["phases"] = phases
        return out
    finally:
        sink.kill()
        sink.wait()
        if sink.stdout is not None:
            sink.stdout.close()
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
        parquet.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> dict[str, Any] | None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["phase"]:
        result = run_phase(Path(argv[1]))
        Path(argv[2]).write_text(json.dumps(result), encoding="utf-8")
        return None
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000000,4000000", help="comma-separated row counts")
    parser.add_argument("--threads", type=int, default=5, help="requests in flight")
    parser.add_argument("--out", type=Path, help="result JSON")
    parser.add_argument("--workdir", type=Path, help="where data and projects go")
    parser.add_argument(
        "--explain-ms", type=int, default=200, help="auto_explain threshold (default 200 ms)"
    )
    parser.add_argument("--retl-src", type=Path, help="measure the retl package in this directory")
    parser.add_argument(
        "--no-stream-explain",
        action="store_true",
        help="do not re-run the streamed queries under EXPLAIN ANALYZE (saves a model pass "
        "each; auto_explain still logs them when retl closes their cursor)",
    )
    parser.add_argument(
        "--extra-delta-pct",
        type=float,
        help="after the 1%% + 1%% phase, one more with this %% changed and new (e.g. 4 at 1M: "
        "the 80,000 rows a 4M run's delta sends)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run every size this many times, the sizes interleaved (A, B, A, B, ...), and "
        "print each phase's median and range per size and the range of its growth",
    )
    add_server_settings(parser)
    args = parser.parse_args(argv)
    SETTINGS["explain_streams"] = not args.no_stream_explain
    if args.retl_src is not None:
        CHILD_ENV["PYTHONPATH"] = str(args.retl_src.resolve())
    work = args.workdir or Path(tempfile.mkdtemp(prefix="retl-pg-bench-"))
    sizes: list[dict[str, Any]] = []
    runs: list[list[dict[str, Any]]] = []
    document: dict[str, Any] = {"engine": "postgres", "sizes": sizes, "repeats": runs}
    try:
        for _ in range(max(1, args.repeat)):
            sizes.clear()
            for n in args.sizes.split(","):
                sizes.append(
                    run_size(
                        int(n.replace("_", "")),
                        work,
                        args.threads,
                        args.explain_ms,
                        args.extra_delta_pct,
                        overrides=server_settings(args),
                    )
                )
                print(render(sizes[-1]), flush=True)
                if args.out:
                    args.out.write_text(json.dumps(document, indent=2), encoding="utf-8")
            if len(sizes) > 1:
                print(growth(sizes), flush=True)
            if args.repeat > 1:
                runs.append(list(sizes))
        if len(runs) > 1:
            print(spread(runs), flush=True)
            if args.out:
                args.out.write_text(json.dumps(document, indent=2), encoding="utf-8")
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    return document


if __name__ == "__main__":
    main()
