"""A PostgreSQL first sync whose ``contents`` are built from line items, against the same
model sending ``content_ids``; and the workbench's step that reads JSON back as lists.

    python bench/pg_contents.py --rows 1000000           # both models, a fresh process each
    python bench/pg_contents.py --rows 1000000 --nesting # engine/json_columns.py alone

The first: a throw-away cluster (``pg_cluster.py``), orders with three line items each, the
state local, ``sink.py fast``; each model synced once in a fresh process, which prints its
wall time and peak RSS. The second: ``--rows`` JSON arrays of three line items staged
through ``DuckDBEngine.stage`` as PostgreSQL's engine marks them, timing the stage and the
nesting. docs/performance.md, "A PostgreSQL contents read back as lists", has the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from pg_cluster import SERVER_USER, throwaway  # noqa: E402

MODELS = {
    "contents": "list({'content_id': i.sku, 'price': i.price, 'quantity': i.quantity}"
    " order by i.sku) as contents",
    "content_ids": "list(i.sku order by i.sku) as content_ids",
}
MODEL_SQL = """
select 'Purchase' as event, 'order-' || o.order_id::varchar as event_id,
       o.ordered_at as event_time, o.email as email,
       sum(i.price * i.quantity) as value, 'USD' as currency, {items}
from {{{{ source('shop', 'orders') }}}} as o
join {{{{ source('shop', 'items') }}}} as i on i.order_id = o.order_id
group by o.order_id, o.ordered_at, o.email
"""
SYNC = """
import resource, sys, time
from reverse_etl.project import Project
t0 = time.perf_counter()
with Project.load(sys.argv[1]) as p:
    report = p.sync()
assert report.ok, report.to_dict()
print(report.results[0].sent, round(time.perf_counter() - t0, 2),
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def load(cluster: object, rows: int) -> None:
    with cluster.connect() as con:  # type: ignore[attr-defined]
        con.execute("CREATE SCHEMA shop")
        # within the last three days: no event is in the future, none is invalid
        con.execute(
            "CREATE TABLE shop.orders AS SELECT o AS order_id, 'b' || o || '@example.com' AS "
            f"email, now()::timestamp - interval '3 days' + o * interval '{200_000 / rows} "
            f"second' AS ordered_at FROM generate_series(1, {rows}) o"
        )
        con.execute(
            "CREATE TABLE shop.items AS SELECT o AS order_id, 'sku-' || ((o * 7 + k) % 5000) "
            "AS sku, (10 + k)::numeric(10, 2) + 0.25 AS price, 1 + k AS quantity "
            f"FROM generate_series(1, {rows}) o, generate_series(0, 2) k"
        )
        con.execute("ANALYZE")


def project(root: Path, port: int, sink_port: int, items: str) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "retl_project.yml").write_text(
        f"warehouse: {{type: postgres, host: 127.0.0.1, port: {port}, dbname: postgres, "
        f"user: {SERVER_USER}}}\n"
        "sources:\n  - name: shop\n    tables:\n      - name: orders\n      - name: items\n",
        encoding="utf-8",
    )
    (root / "models" / "m.sql").write_text(MODEL_SQL.format(items=items), encoding="utf-8")
    (root / "destinations.yml").write_text(
        "destinations:\n  t:\n    type: tiktok_events\n    model: m\n"
        "    auth_method: access_token\n    access_token: bench-token\n"
        f"    event_source_id: CBENCH0000000000001\n"
        f'    api_base_url: "http://127.0.0.1:{sink_port}"\n',
        encoding="utf-8",
    )
    return root


def syncs(rows: int) -> None:
    sink = subprocess.Popen(
        [sys.executable, str(HERE / "sink.py"), "fast"], stdout=subprocess.PIPE, text=True
    )
    work = Path(tempfile.mkdtemp(prefix="pg_contents_"))
    try:
        assert sink.stdout is not None
        sink_port = json.loads(sink.stdout.readline())["port"]
        with throwaway("pg_contents_db_", 100_000) as cluster:
            load(cluster, rows)
            for name, items in MODELS.items():
                root = project(work / name, cluster.port, sink_port, items)
                env = {**os.environ, "RETL_ALLOWED_PATHS": str(work)}
                done = subprocess.run(
                    [sys.executable, "-c", SYNC, str(root)],
                    capture_output=True, text=True, env=env, check=True,
                )  # fmt: skip
                sent, wall, rss = done.stdout.split()
                print(f"{name:12} {rows:>9,} orders: sent {int(sent):,}, {wall} s, {rss} MB")
    finally:
        sink.kill()
        shutil.rmtree(work, ignore_errors=True)


def nesting(rows: int) -> None:
    import duckdb
    import pyarrow as pa

    from reverse_etl.engine.duckdb import DuckDBEngine
    from reverse_etl.engine.json_columns import nest_json_columns
    from reverse_etl.engine.pg_copy import json_field

    item = """'{"content_id" : "sku-' || (i * 7 + k) % 5000 || '", "price" : ' || (10 + k)
        || '.25, "quantity" : ' || (1 + k) || '}'"""
    text = duckdb.sql(
        f"SELECT i, '[' || string_agg({item}, ', ') || ']' AS c "
        f"FROM range({rows}) a(i), range(3) b(k) GROUP BY i"
    ).to_arrow_table()
    plain = pa.table({"i": text.column("i"), "c": text.column("c")})
    engine = DuckDBEngine()
    try:
        t0 = time.perf_counter()
        table = engine.stage(plain.to_reader())  # no mark: staged as text
        t1 = time.perf_counter()
        nest_json_columns(engine, table, ["c"])
        t2 = time.perf_counter()
        ((kind,),) = engine.rows(f"SELECT any_value(typeof(c)) FROM {table}")
        print(f"{rows:,} rows: stage {t1 - t0:.2f} s, nesting {t2 - t1:.2f} s ({kind})")
        marked = pa.table([text.column("c")], schema=pa.schema([json_field("c", array=False)]))
        t0 = time.perf_counter()
        engine.stage(marked.to_reader())  # as PostgreSQL's engine marks json
        print(f"{rows:,} rows: stage with the nesting {time.perf_counter() - t0:.2f} s")
    finally:
        engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--nesting", action="store_true", help="the nesting step alone")
    args = parser.parse_args()
    (nesting if args.nesting else syncs)(args.rows)


if __name__ == "__main__":
    main()
