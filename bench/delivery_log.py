"""What the delivery log costs a sync, isolated: ``python bench/delivery_log.py [--rows N]``.

A full sync's logging work is (1) building each answered batch's log rows (keys, and the event
ids the encoder carried beside the payloads), (2) the wider journal append, (3) the
fold's INSERT into ``delivery_log``. This runs exactly those code paths over N rows of
TikTok-shaped payloads in 1,000-row batches, once without the log (``log=None``: the
acknowledgement alone, as before the log existed) and once with it, each in a fresh state
file, and reports the process CPU time and wall time of each part. CPU time is what the
log adds to a sync; compare it with the full sync's CPU in ``bench/run.py``'s output.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from reverse_etl.delivery.batching import Batch
from reverse_etl.engine.duckdb import DuckDBEngine
from reverse_etl.pipeline.deliverylog import LogRows
from reverse_etl.state.store import LocalStateStore

BATCH = 1000


class _Ok:
    kind = "ok"
    code = None
    message = ""
    request_id = "202612031222002B912A6BE1527AC7E7F3"
    retry_after = None
    failures = ()
    field = None
    throttled = False


def batches(rows: int) -> list[Batch]:
    out = []
    for start in range(0, rows, BATCH):
        ids = range(start, min(start + BATCH, rows))
        keys = pa.array([f"order-{i}" for i in ids])
        hashes = pa.array([f"{i:032x}" for i in ids])
        payloads = pa.array(
            [
                (
                    f'{{"event":"Purchase","event_id":"order-{i}","event_time":1795166100,'
                    '"user":{"email":"7904b24a634422ed27a871afa39445383e89775aacf732b648b8b6f3cc'
                    'a4fbd6","ip":"203.0.113.10"},"properties":{"value":43.0,"currency":"USD"}}'
                ).encode()
                for i in ids
            ],
            pa.binary(),
        )
        event_ids = pa.array([f"order-{i}" for i in ids])
        out.append(Batch(keys, hashes, payloads, event_ids))
    return out


def run(rows: int, with_log: bool) -> dict[str, float]:
    data = batches(rows)
    log = LogRows("20261203T000000Z-bench", mask_keys=False, event_id_field="event_id")
    answer = _Ok()
    with tempfile.TemporaryDirectory() as tmp:
        engine = DuckDBEngine()
        store = LocalStateStore(engine, Path(tmp) / "state.duckdb")
        c0, w0 = time.process_time(), time.perf_counter()
        for b in data:
            entry = log.batch(b, "accepted", answer) if with_log else None
            store.record_acknowledged("d", "s", b.keys, b.hashes, entry)
        c1, w1 = time.process_time(), time.perf_counter()
        store.compact("d", "s")
        c2, w2 = time.process_time(), time.perf_counter()
        logged = engine.rows(f"SELECT count(*) FROM {store.history_relation('delivery_log')}")[0][0]
        store.close()
        engine.close()
    return {
        "append_cpu": c1 - c0,
        "append_wall": w1 - w0,
        "fold_cpu": c2 - c1,
        "fold_wall": w2 - w1,
        "logged": float(logged),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results: dict[bool, list[dict[str, float]]] = {False: [], True: []}
    for _ in range(args.repeat):  # interleaved, so that load drifts hit both alike
        for with_log in (False, True):
            results[with_log].append(run(args.rows, with_log))
    print(
        f"{args.rows:,} acknowledged rows in {BATCH:,}-row batches, {args.repeat} interleaved runs"
    )
    print(
        f"{'':14}{'append cpu s':>14}{'fold cpu s':>12}{'total cpu s':>13}"
        f"{'wall s':>9}{'log rows':>10}"
    )
    for with_log, label in ((False, "without log"), (True, "with log")):
        for r in results[with_log]:
            total = r["append_cpu"] + r["fold_cpu"]
            wall = r["append_wall"] + r["fold_wall"]
            print(
                f"{label:14}{r['append_cpu']:>14.2f}{r['fold_cpu']:>12.2f}{total:>13.2f}"
                f"{wall:>9.2f}{int(r['logged']):>10,}"
            )
    med = {
        k: sorted(r["append_cpu"] + r["fold_cpu"] for r in v)[len(v) // 2]
        for k, v in results.items()
    }
    print(
        f"median CPU: without {med[False]:.2f} s, with {med[True]:.2f} s: the log adds "
        f"{med[True] - med[False]:.2f} CPU-s per {args.rows:,} rows"
    )


if __name__ == "__main__":
    main()
