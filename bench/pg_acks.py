"""What committing acknowledgements costs a PostgreSQL warehouse state, apart from the rest of
a sync: ``python bench/pg_acks.py --keys 100000 [--store FILE ...]``.

On a throw-away cluster (bench/pg_bench.py's ``Cluster``, default durability), one
``WarehouseStateStore`` records ``--keys`` acknowledgements in batches of 1,000, each with
its delivery-log rows (as a sync with ``history.log_accepted`` does), then ``compact``.
Reported: wall time and CPU of this process and of the server (the postmaster's children,
exited ones included) for the batches and for the fold (``compact``), per batch.

``--store FILE`` (repeatable) measures the ``WarehouseStateStore`` of another
``warehouse.py`` as well, e.g. ``bench/reference/pg-2026-12-03-journal-variant-warehouse.py.txt``
(acknowledgements appended to an unindexed journal table, folded once by ``compact``: the
variant measured against the per-batch INSERT on 2026-12-03, then set aside); each store runs
on the same server, one after the other, in a schema of its own, this tree's last.
"""

from __future__ import annotations

import argparse
import importlib.machinery
import importlib.util
import json
import os
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from pg_cluster import (  # noqa: E402
    SERVER_USER,
    Cluster,
    add_server_settings,
    server_settings,
    throwaway,
)

BATCH = 1000


def _store_class(path: Path | None) -> Any:
    if path is None:
        from reverse_etl.state.warehouse import WarehouseStateStore

        return WarehouseStateStore
    # Any file name (the variant kept in bench/reference is a .txt, kept out of the linters).
    loader = importlib.machinery.SourceFileLoader("retl_other_warehouse", str(path))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module.WarehouseStateStore


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def measure(
    cluster: Cluster, store_class: Any, schema: str, keys: int, *, key_order: str = "model"
) -> dict[str, Any]:
    from reverse_etl.engine.postgres import PostgresConnection, PostgresEngine
    from reverse_etl.state.base import LogBatch

    engine = PostgresEngine(PostgresConnection("127.0.0.1", cluster.port, user=SERVER_USER))
    store = store_class(engine, schema)
    out: dict[str, Any] = {"schema": schema, "keys": keys, "loadavg_before": os.getloadavg()[0]}
    server, cpu, start = cluster.cpu_s(), _cpu(), time.perf_counter()
    quarter, quarters = start, list[float]()
    # The keys in the model's order (numeric: order-0, order-1, ...; runs of neighbours in
    # the state's text index), sorted as the index sorts them, or shuffled (what a plan's
    # table built by a partitioned join hands the send).
    every = [f"order-{i}" for i in range(keys)]
    if key_order == "sorted":
        every.sort()
    elif key_order == "shuffled":
        random.Random(17).shuffle(every)
    out["key_order"] = key_order
    for first in range(0, keys, BATCH):
        batch = every[first : first + BATCH]
        hashes = [f"3:{i:032x}" for i in range(first, first + len(batch))]
        log = LogBatch("run-1", "accepted", batch, event_ids=batch)
        store.record_acknowledged("bench", "scope", batch, hashes, log)
        done = first // BATCH + 1
        if done % max(1, keys // BATCH // 4) == 0 and len(quarters) < 4:
            now = time.perf_counter()
            quarters.append(round(1000 * (now - quarter) / max(1, keys // BATCH // 4), 2))
            quarter = now
    out["batches_s"] = round(time.perf_counter() - start, 2)
    out["ms_per_batch_by_quarter"] = quarters
    out["batches_cpu_s"] = round(_cpu() - cpu, 2)
    out["batches_server_cpu_s"] = round(cluster.cpu_s() - server, 2)
    out["ms_per_batch"] = round(1000 * out["batches_s"] / max(1, keys // BATCH), 2)
    server, cpu, start = cluster.cpu_s(), _cpu(), time.perf_counter()
    store.compact("bench", "scope")
    out["fold_s"] = round(time.perf_counter() - start, 2)
    out["fold_cpu_s"] = round(_cpu() - cpu, 2)
    out["fold_server_cpu_s"] = round(cluster.cpu_s() - server, 2)
    out["total_s"] = round(out["batches_s"] + out["fold_s"], 2)
    out["total_server_cpu_s"] = round(out["batches_server_cpu_s"] + out["fold_server_cpu_s"], 2)
    out["loadavg_after"] = os.getloadavg()[0]
    out["relation_mb"] = {
        str(name): round(int(size) / 2**20)
        for name, size in engine.rows(
            "SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s "
            "AND c.relkind IN ('r', 'i') AND pg_relation_size(c.oid) > 1048576 ORDER BY 1",
            [schema],
        )
    }
    store.close()
    engine.close()
    return out


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument(
        "--store", type=Path, action="append", default=[], help="another warehouse.py to measure"
    )
    parser.add_argument(
        "--key-order",
        choices=["model", "sorted", "shuffled"],
        default="model",
        help="the order the keys are acknowledged in (default: the model's, numeric)",
    )
    add_server_settings(parser)
    args = parser.parse_args(argv)
    results = []
    with throwaway("retl-pga-", 10_000, server_settings(args)) as cluster:
        for i, path in enumerate([*args.store, None]):
            found = measure(
                cluster, _store_class(path), f"state_{i}", args.keys, key_order=args.key_order
            )
            results.append({"store": str(path or "this tree"), **found})
            print(json.dumps(results[-1]), flush=True)
    return results


if __name__ == "__main__":
    main()
