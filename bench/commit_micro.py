"""The commit path of a sync alone, without a sync: CPU seconds of its pieces (#18).

``python bench/commit_micro.py [--rows N] [--repeat R]`` (default 200,000 entries in batches
of 1,000, as a 200k sync answers them). Run it with ``PYTHONPATH=DIR`` to measure the
``reverse_etl`` in DIR (a copy of the code before, say). Prints, in CPU seconds (the process's
user + system, so DuckDB's threads count): the journal appends, reading the journal back, the
delivery-log rows of it, and the whole fold (``compact``: state rows + delivery-log Parquet),
the minimum over the repeats.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from reverse_etl.engine.duckdb import DuckDBEngine, MemoryPolicy
from reverse_etl.state.base import LogBatch
from reverse_etl.state.journal import Journal, read_journal
from reverse_etl.state.logfiles import log_rows
from reverse_etl.state.store import LocalStateStore

BATCH = 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n = args.rows // BATCH
    keys = [pa.array([f"order-{b * BATCH + i}" for i in range(BATCH)]) for b in range(n)]
    hashes = [pa.array([f"{(b * BATCH + i) * 7919:032x}" for i in range(BATCH)]) for b in range(n)]
    best: dict[str, float] = {}

    def note(name: str, seconds: float) -> None:
        best[name] = min(best.get(name, seconds), seconds)

    for _ in range(args.repeat):
        tmp = Path(tempfile.mkdtemp(prefix="retl-commit-"))
        engine = DuckDBEngine(memory=MemoryPolicy(), temp_directory=tmp / "tmp")
        store = LocalStateStore(engine, tmp / "state.duckdb")
        start = time.process_time()
        for b in range(n):
            log = LogBatch(
                run_id="run", outcome="accepted", keys=keys[b], event_ids=keys[b], request_id="q"
            )
            store.record_acknowledged("dest", "scope", keys[b], hashes[b], log)
        note("journal appends", time.process_time() - start)
        (writer,) = store._journals.values()
        writer.close()
        start = time.process_time()
        journal = read_journal(writer.path)
        assert isinstance(journal, Journal)
        table = journal.reader.read_all()
        note("journal read", time.process_time() - start)
        start = time.process_time()
        log_rows(table, "dest")
        note("delivery-log rows", time.process_time() - start)
        start = time.process_time()
        store.compact("dest", "scope")
        note("fold (compact)", time.process_time() - start)
        store.close()
        engine.close()
    for name, seconds in best.items():
        print(f"{name:20} {seconds:.3f} CPU-s (min of {args.repeat}, {args.rows:,} entries)")


if __name__ == "__main__":
    main()
