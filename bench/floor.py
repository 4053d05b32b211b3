"""The floor: what the hardware and libraries allow, measured without retl.

``python bench/floor.py encode PARQUET OUT.json``: DuckDB alone turns the same Parquet table into
one JSON object per event, TikTok-shaped, with the same hashing (``sha256`` of the trimmed,
lower-cased e-mail, of the phone number in E.164, of the trimmed external id) and an ``md5`` of
each payload (what a state needs). The JSON text is streamed to Python in 10,000-row Arrow
batches and its bytes are summed with Arrow compute, never stored. Phone numbers are normalised
with SQL string functions (digits, ``00`` -> ``+``, US default region) instead of libphonenumber:
the floor is what SQL alone costs.

``python bench/floor.py send URL BODIES OUT.json --requests N --threads T``: POST pre-built
bodies (``BODIES``: length-prefixed request bodies, cycled) to the sink ``URL`` with ``T``
requests in flight on one pooled httpx client; nothing is built or parsed per request.
"""

from __future__ import annotations

import argparse
import json
import resource
import threading
import time
from pathlib import Path
from typing import Any

from driver import hwm_mb  # bench/ is not a package: the scripts run from it

FLOOR_SQL = """
WITH src AS (
  SELECT *, regexp_replace(phone, '[^0-9+]', '', 'g') AS ph FROM read_parquet('{parquet}')
), events AS (
  SELECT to_json({{
    'event': 'Purchase',
    'event_id': 'order-' || order_id,
    'event_time': CAST(epoch(ordered_at) AS BIGINT),
    'user': {{
      'email': sha256(lower(trim(email))),
      'phone': sha256(CASE WHEN ph LIKE '+%' THEN ph
                           WHEN ph LIKE '00%' THEN '+' || substr(ph, 3)
                           ELSE '+1' || ph END),
      'external_id': sha256(trim(customer_id)),
      'ip': client_ip,
      'user_agent': user_agent
    }},
    'page': {{'url': landing_url}},
    'properties': {{
      'value': CAST(order_total AS DOUBLE),
      'currency': currency,
      'content_type': 'product',
      'contents': list_transform(items, x -> {{
          'content_id': x.content_id, 'content_name': x.content_name,
          'content_category': x.content_category, 'price': CAST(x.price AS DOUBLE),
          'quantity': x.quantity}})
    }}
  }}) AS payload
  FROM src
)
SELECT payload, md5(payload) AS hash FROM events
"""


def maxrss_mb() -> float:
    """Own peak RSS (``VmHWM``; ``ru_maxrss`` would include the parent's, see driver.py)."""
    own = hwm_mb()
    return (
        own
        if own is not None
        else round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    )


def encode_floor(parquet: Path) -> dict[str, Any]:
    import duckdb
    import pyarrow.compute as pc

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    start = time.perf_counter()
    reader = con.execute(FLOOR_SQL.format(parquet=parquet)).to_arrow_reader(10_000)
    rows = nbytes = 0
    for batch in reader:
        rows += batch.num_rows
        nbytes += pc.sum(pc.binary_length(batch.column(0))).as_py() or 0
        pc.sum(pc.binary_length(batch.column(1)))  # touch the hashes too
    seconds = time.perf_counter() - start
    con.close()
    return {"seconds": round(seconds, 4), "rows": rows, "json_bytes": nbytes}


def phones_floor(parquet: Path, region: str) -> dict[str, Any]:
    """The phone library's own cost: every distinct phone of the data parsed once, with the
    parser retl uses (libphonenumber's Python port), in one thread. The SQL floor normalises
    phones with string functions instead, so this is work retl does that the floor does not."""
    import duckdb

    from reverse_etl.destinations.shared.e164 import parse_e164

    con = duckdb.connect()
    values = [
        r[0]
        for r in con.execute(
            f"SELECT DISTINCT phone FROM read_parquet('{parquet}') WHERE phone IS NOT NULL"
        ).fetchall()
    ]
    con.close()
    start = time.perf_counter()
    valid = sum(parse_e164(v, region) is not None for v in values)
    seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 4), "distinct": len(values), "valid": valid}


def read_bodies(path: Path) -> list[bytes]:
    data = path.read_bytes()
    bodies, i = [], 0
    while i < len(data):
        n = int.from_bytes(data[i : i + 8], "little")
        bodies.append(data[i + 8 : i + 8 + n])
        i += 8 + n
    return bodies


def send_floor(url: str, bodies: list[bytes], requests: int, threads: int) -> dict[str, Any]:
    import httpx

    headers = {"Content-Type": "application/json", "Access-Token": "sandbox-token"}
    client = httpx.Client(
        timeout=60.0,
        limits=httpx.Limits(max_connections=threads, max_keepalive_connections=threads),
    )
    lock = threading.Lock()
    state = {"next": 0, "bytes": 0, "failed": 0}

    def worker() -> None:
        while True:
            with lock:
                i = state["next"]
                if i >= requests:
                    return
                state["next"] = i + 1
            body = bodies[i % len(bodies)]
            response = client.post(url, content=body, headers=headers)
            ok = response.status_code == 200 and response.content.startswith(b'{"code":0')
            with lock:
                state["bytes"] += len(body)
                state["failed"] += 0 if ok else 1

    start = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    seconds = time.perf_counter() - start
    client.close()
    return {
        "seconds": round(seconds, 4),
        "requests": requests,
        "threads": threads,
        "body_bytes": state["bytes"],
        "failed_requests": state["failed"],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="what", required=True)
    enc = sub.add_parser("encode")
    enc.add_argument("parquet", type=Path)
    enc.add_argument("out", type=Path)
    ph = sub.add_parser("phones")
    ph.add_argument("parquet", type=Path)
    ph.add_argument("out", type=Path)
    ph.add_argument("--region", default="US")
    snd = sub.add_parser("send")
    snd.add_argument("url")
    snd.add_argument("bodies", type=Path)
    snd.add_argument("out", type=Path)
    snd.add_argument("--requests", type=int, required=True)
    snd.add_argument("--threads", type=int, default=5)
    args = parser.parse_args(argv)
    if args.what == "encode":
        result = encode_floor(args.parquet)
    elif args.what == "phones":
        result = phones_floor(args.parquet, args.region)
    else:
        result = send_floor(args.url, read_bodies(args.bodies), args.requests, args.threads)
    result["self_maxrss_mb"] = maxrss_mb()
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
