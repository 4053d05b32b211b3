"""The delivery log's retention prune on a month of 15-minute syncs (issue #18): 2,900 log
files, named with their newest time (what retl writes now) and named after their journal only
(what an older retl wrote: the prune reads each footer), nothing old enough to delete (the
steady state: every sync pays this). CPU and wall seconds of ``logfiles.prune``, twice each.

    python bench/prune_micro.py [--files 2900] [--retl-src DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2900)
    parser.add_argument("--retl-src", type=Path, help="the reverse_etl package in DIR")
    args = parser.parse_args()
    if args.retl_src is not None:
        sys.path.insert(0, str(args.retl_src.resolve()))
    import pyarrow as pa

    from reverse_etl.state.logfiles import LOG_SCHEMA, LogSegment, log_files, prune

    start = dt.datetime(2026, 11, 3)
    with tempfile.TemporaryDirectory() as tmp:
        named, legacy = Path(tmp) / "named", Path(tmp) / "legacy"
        legacy.mkdir()
        for i in range(args.files):
            at = start + dt.timedelta(minutes=15 * i)
            columns = {f.name: pa.nulls(1, f.type) for f in LOG_SCHEMA}
            columns["logged_at"] = pa.array([at], pa.timestamp("us"))
            segment = LogSegment(named, f"{i:020d}-1-0")
            segment.write(pa.table(columns, schema=LOG_SCHEMA))
            segment.commit()
            shutil.copy(segment.final, legacy / f"{i:020d}-1-0.parquet")
        for folder in (named, legacy):
            for _ in range(2):
                cpu, wall = time.process_time(), time.perf_counter()
                gone = prune(folder, start - dt.timedelta(days=1))
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                print(
                    f"{folder.name:7s} {len(log_files(folder))} files, {gone} deleted: "
                    f"cpu {cpu:.3f} s, wall {wall:.3f} s"
                )


if __name__ == "__main__":
    main()
