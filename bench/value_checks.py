"""The per-value SQL of stop 50's checks, alone, on one DuckDB thread (docs/performance.md).

    python bench/value_checks.py [--rows 200000] [--repeat 5]

Prints the best of ``--repeat`` runs, in ms, of:

- ``blank()`` (shared/sql.py) on 200k URLs, against the whitespace regex alone (what it ran
  before its printable-ASCII prefilter);
- ``own_json`` of a JSON custom property (shared/json_nulls.py): values with no ``null``
  (passed through), small values with a null (the sentinel passes), and one value each of a
  1,000- and a 16,000-item array and a 16,000-member object holding a null, against the
  token fold it replaced for them (``_folded``).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import duckdb

from reverse_etl.destinations.shared.json_nulls import _folded, without_nulls
from reverse_etl.destinations.shared.sql import _BLANK, blank


def best(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    con = duckdb.connect()
    con.execute("SET threads = 1")

    con.execute(
        "CREATE TABLE urls AS SELECT 'https://example.com/product/' || i || "
        f"'?utm_source=x&utm_medium=y' AS u FROM range({args.rows}) t(i)"
    )
    for name, sql in [
        ("regex alone", f"coalesce(regexp_full_match(u, {_BLANK}), true)"),
        ("blank()", blank("u")),
    ]:
        query = f"SELECT count(*) FILTER (WHERE {sql}) FROM urls"
        ms = best(lambda q=query: con.execute(q), args.repeat)
        print(f"{name:<40} {ms:9.1f} ms  ({args.rows:,} URLs)")

    small = [
        ("no null", '\'{"a": [1, 2], "b": "x\' || i || \'"}\''),
        ("a null item", '\'{"a": [1, null], "b": "x\' || i || \'"}\''),
        ("an emptied object", '\'{"a": {"c": null}, "b": [null]}\''),
    ]
    for name, text in small:
        con.execute(
            f"CREATE OR REPLACE TABLE j AS SELECT CAST({text} AS JSON) AS v "
            f"FROM range({args.rows}) t(i)"
        )
        sql = without_nulls("to_json(v)")
        query = f"SELECT sum(len({sql})) FROM j"
        ms = best(lambda q=query: con.execute(q), args.repeat)
        print(f"{'JSON, ' + name:<40} {ms:9.1f} ms  ({ms * 1000 / args.rows:.2f} us a row)")

    item = "CASE WHEN i = 500 THEN 'null' ELSE i::VARCHAR END"
    array = "SELECT CAST('[' || string_agg({item}, ',') || ']' AS JSON) FROM range({n}) t(i)"
    members = "'\"k' || i || '\":' || {item}"
    large = [
        ("1,000-item array", array.format(item=item, n=1000)),
        ("16,000-item array", array.format(item=item, n=16000)),
        (
            "16,000-member object",
            "SELECT CAST('{' || string_agg("
            + members.format(item=item)
            + ", ',') || '}' AS JSON) FROM range(16000) t(i)",
        ),
    ]
    for name, build in large:
        con.execute(f"CREATE OR REPLACE TABLE j AS SELECT ({build}) AS v")
        now = best(
            lambda: con.execute(f"SELECT len({without_nulls('to_json(v)')}) FROM j"), args.repeat
        )
        fold = best(lambda: con.execute(f"SELECT len({_folded('to_json(v)')}) FROM j"), 1)
        print(f"{'JSON, one value: ' + name:<40} {now:9.1f} ms  (the fold: {fold:.1f} ms)")


if __name__ == "__main__":
    main()
