"""Does the encode's phone join alone make the workbench grow with the rows?

``python bench/encode_join_rss.py N [text|int]`` builds, in a DuckDB under the workbench's
200MB limit (spilling to a temporary directory), N model-like rows with a distinct phone each
and a phone table of every distinct phone, then runs the encode's shape: the rows LEFT JOINed
with the phone table on the trimmed phone, into JSON with a SHA-256, as a new table. It
prints the process's peak RSS (``VmHWM``) before and after. ``text`` joins on the raw text
(what the encoders do); ``int`` on a 64-bit hash of it, with E.164 kept as an integer (the
narrower table considered for issue #17).

Measured 2026-12-04, two series (``text``): peak RSS after the join 289 / 297 / 307 MB, then
282 / 359 / 300 MB at 1M / 3M / 10M rows; the join itself adds 6 / 14 / 17 MB to the peak
before it (the rest is building the rows, and swings). ``int`` at 3M: 355 and 371 MB. The
join alone does not grow with the rows as a Spark first sync's plan step does (470 -> 567
MB from 1M to 10M), and the narrower table does not help it.
"""

from __future__ import annotations

import sys
import tempfile
import time

import duckdb


def peak_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    n = int(sys.argv[1])
    variant = sys.argv[2] if len(sys.argv) > 2 else "text"
    con = duckdb.connect(":memory:")
    con.execute("SET memory_limit = '200MB'")
    con.execute(f"SET temp_directory = '{tempfile.mkdtemp(prefix='retl-ejr-')}'")
    con.execute("SET preserve_insertion_order = false")
    con.execute(
        f"""CREATE TABLE m AS SELECT i AS id,
            '+1 (' || (200 + i % 700) || ') '
              || lpad(CAST(i // 700 % 10000000 AS VARCHAR), 7, '0') AS phone,
            repeat('x', 200) || i AS payload FROM range({n}) t(i)"""
    )
    digits = "regexp_replace(phone, '[^0-9]', '', 'g')"
    if variant == "text":
        con.execute(
            f"CREATE TABLE p AS SELECT DISTINCT trim(phone) AS raw, '+1' || {digits} AS e164 FROM m"
        )
        join, e164 = "LEFT JOIN p ON p.raw = trim(m.phone)", "p.e164"
    else:
        con.execute(
            f"CREATE TABLE p AS SELECT DISTINCT hash(trim(phone)) AS h, "
            f"CAST({digits} AS UBIGINT) AS e FROM m"
        )
        join, e164 = "LEFT JOIN p ON p.h = hash(trim(m.phone))", "'+' || CAST(p.e AS VARCHAR)"
    before = peak_mb()
    start = time.perf_counter()
    con.execute(
        f"CREATE TABLE out AS SELECT m.id, to_json({{'p': m.payload, 'ph': sha256({e164})}}) "
        f"AS j FROM m {join}"
    )
    print(
        f"{variant} {n:,} rows: join {time.perf_counter() - start:.1f} s, peak RSS before "
        f"{before:.0f} MB, after {peak_mb():.0f} MB"
    )


if __name__ == "__main__":
    main()
