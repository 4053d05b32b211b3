"""DuckDB alone: the process's peak RSS while rows staged in a temporary table are encoded,
as the PostgreSQL and Spark paths encode staged rows in the workbench (issue #17).

    python bench/staged_rss.py ORDERS.parquet [--chunks K]

``ORDERS.parquet``: bench/data.py's orders (``data.write_orders``). Under a 200MB limit, the
orders are staged into a temporary table, then one ``COPY`` (or ``K`` of them over rowid
ranges, DuckDB's kept pages flushed between) writes md5 and ``to_json`` of each row to a
Parquet file with the plan's row groups. Prints each phase's peak RSS (sampled every 10 ms)
and glibc's heap in use (``mallinfo2``). Set ``DUCKDB_JE_MALLOC_CONF`` in the environment to
try DuckDB's allocator settings (docs/performance.md, "Update, stop 51").
"""

from __future__ import annotations

import argparse
import ctypes
import resource
import tempfile
import threading
import time
from pathlib import Path

import duckdb


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _rss_mb() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return 0


class Peaks:
    """The highest RSS since the last ``phase`` call, sampled by a thread."""

    def __init__(self) -> None:
        self.high = 0
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while True:
            self.high = max(self.high, _rss_mb())
            time.sleep(0.01)

    def phase(self, name: str) -> None:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
        in_use = libc.mallinfo2().uordblks / 2**20
        print(
            f"{name:12s} peak {self.high:5d} MB   now {_rss_mb():5d} MB   malloc {in_use:6.1f} MB"
        )
        self.high = 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("orders", type=Path)
    parser.add_argument("--chunks", type=int, default=1)
    args = parser.parse_args()
    peaks = Peaks()
    with tempfile.TemporaryDirectory() as scratch:
        con = duckdb.connect()
        con.execute("SET memory_limit = '200MB'")
        con.execute(f"SET temp_directory = '{scratch}/spill'")
        peaks.phase("start")
        con.execute(f"CREATE TEMP TABLE s AS SELECT * FROM read_parquet('{args.orders}')")
        peaks.phase("staged")
        rows = con.execute("SELECT count(*) FROM s").fetchone()[0]  # type: ignore[index]
        step = -(-rows // args.chunks)
        for i in range(args.chunks):
            con.execute(
                f"COPY (SELECT md5(s::VARCHAR) AS h, to_json(s) AS j FROM s "
                f"WHERE rowid >= {i * step} AND rowid < {(i + 1) * step}) "
                f"TO '{scratch}/out_{i}.parquet' "
                "(FORMAT parquet, ROW_GROUP_SIZE 2048, COMPRESSION lz4_raw)"
            )
            con.execute("SET memory_limit = '200MB'")  # flushes DuckDB's kept pages
        peaks.phase("encoded")
        con.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"rows {rows:,}; process peak {peak} MB")


if __name__ == "__main__":
    main()
