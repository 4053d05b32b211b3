"""What the PostgreSQL state's compaction costs a delta, and the pass it waits for:
``python bench/pg_compact.py --keys 1000000,4000000``.

Per size, on a throw-away cluster (bench/pg_cluster.py, 256MB of shared buffers), for each
``--changed`` share: a ``WarehouseStateStore`` scope holding ``--keys`` entries (one per key,
loaded in SQL), then a delta acknowledged through ``record_acknowledged`` in batches of
1,000 as a sync does (the changed keys spread over the whole table, plus 1% new keys), then:

- ``compact``: what the delta pays now. Under ``COMPACT_SHARE`` (a tenth) of the entries
  superseded it deletes nothing;
- the same pass forced (``COMPACT_SHARE = 0``): what every delta paid before 2026-12-04,
  and what the delta that crosses the share pays.

Reported per run: wall time and the server's CPU of each, the entries deleted, and the load.
``--server-setting NAME=VALUE`` overrides a server setting (e.g. ``shared_buffers=1GB``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import pg_cluster  # noqa: E402
from pg_cluster import Cluster  # noqa: E402

BATCH = 1000


def _timed(cluster: Cluster, call: Any) -> dict[str, float]:
    server, start = cluster.cpu_s(), time.perf_counter()
    call()
    return {
        "s": round(time.perf_counter() - start, 3),
        "server_cpu_s": round(cluster.cpu_s() - server, 2),
    }


def measure(cluster: Cluster, keys: int, changed_pct: float) -> dict[str, Any]:
    from reverse_etl.engine.postgres import PostgresConnection, PostgresEngine
    from reverse_etl.state.warehouse import WarehouseStateStore

    engine = PostgresEngine(
        PostgresConnection("127.0.0.1", cluster.port, user=pg_cluster.SERVER_USER)
    )
    schema = "bench_state"
    engine.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    store = WarehouseStateStore(engine, schema)
    engine.execute(
        f"""INSERT INTO {schema}.synced_rows
                (destination, scope, row_key, row_hash, synced_at, first_synced_at)
            SELECT 'd', 's', 'order-' || g, '3:' || md5(g::text), now(), now()
            FROM generate_series(0, %s - 1) AS g""",
        [keys],
    )
    engine.execute(f"INSERT INTO {schema}.compaction VALUES ('d', 's', NULL, 0, %s)", [keys])
    engine.execute(f"VACUUM ANALYZE {schema}.synced_rows")
    engine.execute("CHECKPOINT")
    changed = int(keys * changed_pct / 100)
    # Spread over the whole table (97 is prime to the sizes used), as real changes are.
    delta = [f"order-{i * 97 % keys}" for i in range(changed)]
    delta += [f"order-new-{i}" for i in range(keys // 100)]
    out: dict[str, Any] = {
        "keys": keys,
        "changed_pct": changed_pct,
        "delta_rows": len(delta),
        "loadavg_before": os.getloadavg()[0],
    }

    def acknowledge() -> None:
        for first in range(0, len(delta), BATCH):
            batch = delta[first : first + BATCH]
            store.record_acknowledged("d", "s", batch, ["3:changed"] * len(batch))

    out["acknowledge"] = _timed(cluster, acknowledge)
    out["counts_before"] = engine.rows(
        f"SELECT superseded, entries FROM {schema}.compaction WHERE scope = 's'"
    )[0]
    out["compact"] = _timed(cluster, lambda: store.compact("d", "s"))
    left = engine.rows(f"SELECT count(*) FROM {schema}.synced_rows")[0][0]
    out["compact"]["deleted"] = keys + len(delta) - left
    store.COMPACT_SHARE = 0.0
    engine.execute("CHECKPOINT")
    out["forced_pass"] = _timed(cluster, lambda: store.compact("d", "s"))
    out["forced_pass"]["deleted"] = (
        left - engine.rows(f"SELECT count(*) FROM {schema}.synced_rows")[0][0]
    )
    out["loadavg_after"] = os.getloadavg()[0]
    store.close()
    engine.execute(f"DROP SCHEMA {schema} CASCADE")
    engine.close()
    return out


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keys", default="1000000,4000000", help="comma-separated sizes")
    parser.add_argument("--changed", default="1,12", help="comma-separated changed shares, %%")
    pg_cluster.add_server_settings(parser)
    args = parser.parse_args(argv)
    results = []
    for keys in (int(k) for k in args.keys.split(",")):
        with pg_cluster.throwaway("retl-pgc-", 1_000, pg_cluster.server_settings(args)) as cluster:
            for pct in (float(p) for p in args.changed.split(",")):
                results.append(measure(cluster, keys, pct))
                print(json.dumps(results[-1]), flush=True)
    return results


if __name__ == "__main__":
    main()
