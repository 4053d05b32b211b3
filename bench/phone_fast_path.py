"""The phone fast path against phonenumbers, per number (issue #18).

    python bench/phone_fast_path.py [--count 200000] [--library 20000]

Makes ``--count`` distinct US numbers in the three national spellings of the issue
(``(212) 555-0123``, ``415-555-0199``, ``646.201.0000``) and as many in E.164 spellings
(``+1 212 555 0123``), settles each set with ``fast_phone_table`` (SQL, default region US) and
parses ``--library`` of each with ``parse_e164`` (phonenumbers, one process), and prints the
CPU seconds (this process and DuckDB's threads) per number of each.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pyarrow as pa

from reverse_etl.destinations.shared.e164 import parse_e164
from reverse_etl.destinations.shared.phone_sql import fast_phone_table
from reverse_etl.engine.duckdb import DuckDBEngine


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def numbers(count: int, national: bool, seed: int = 18) -> list[str]:
    rng = random.Random(seed)
    out: set[str] = set()
    while len(out) < count:
        area, exchange, line = rng.randint(201, 989), rng.randint(200, 999), rng.randint(0, 9999)
        style = len(out) % 3
        if national:
            text = (
                f"({area}) {exchange}-{line:04d}",
                f"{area}-{exchange}-{line:04d}",
                f"{area}.{exchange}.{line:04d}",
            )[style]
        else:
            text = f"+1 {area} {exchange} {line:04d}"
        out.add(text)
    return sorted(out)


def measure(raws: list[str], library: int) -> dict[str, Any]:
    engine = DuckDBEngine()
    try:
        table = engine.stage(pa.table({"raw": pa.array(raws, pa.string())}).to_reader())
        c0, t0 = cpu(), time.perf_counter()
        fast = fast_phone_table(engine, table, "US")
        settled = engine.rows(f"SELECT count(*) FROM {fast}")[0][0]
        sql_cpu, sql_wall = cpu() - c0, time.perf_counter() - t0
    finally:
        engine.close()
    sample = raws[:library]
    c0 = cpu()
    valid = sum(parse_e164(r, "US") is not None for r in sample)
    lib_cpu = cpu() - c0
    return {
        "numbers": len(raws),
        "settled_in_sql": settled,
        "sql_cpu_s": round(sql_cpu, 3),
        "sql_wall_s": round(sql_wall, 3),
        "sql_cpu_us_per_number": round(sql_cpu / len(raws) * 1e6, 2),
        "library_numbers": len(sample),
        "library_valid": valid,
        "library_cpu_s": round(lib_cpu, 3),
        "library_cpu_us_per_number": round(lib_cpu / len(sample) * 1e6, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--library", type=int, default=20_000)
    args = parser.parse_args()
    result = {
        "loadavg_1m_before": round(os.getloadavg()[0], 2),
        "national": measure(numbers(args.count, national=True), args.library),
        "e164": measure(numbers(args.count, national=False), args.library),
    }
    result["loadavg_1m_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
