"""A small everyday sync (issue #18): 20,000 rows of which 1% changed since the last sync, sent
to the emulator (`retl sync --sandbox`), in fresh processes, alternating between retl trees;
CPU seconds (user + sys) of each run and the 1-minute load at its start.

    python bench/delta_ab.py --tree before=/tmp/old --tree after=. [--runs 6] [--work /tmp/d]

Each tree gets its own project (and state) under ``--work``; a first sync, untimed, sends
every row, then each timed run changes the value of every 100th row (200 rows sent, 19,800
unchanged). The emulator runs in the retl process, as with any ``--sandbox`` sync.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

DESTINATIONS = """destinations:
  tiktok:
    type: tiktok_events
    model: events
    access_token: "sandbox"
    event_source_id: CSANDBOXDEMOPIXEL001
    default_phone_region: US
"""


def model(change: int) -> str:
    return (
        "select 'Purchase' as event, 'order-' || i as event_id, "
        "TIMESTAMP '2026-12-03 10:00:00' as event_time, 'user' || i || '@example.com' as email, "
        "'+1 650 555 ' || lpad(cast(i % 10000 as varchar), 4, '0') as phone, "
        f"cast(i * 1.5 + (case when i % 100 = 0 then {change} else 0 end) as decimal(10,2)) "
        "as value, 'USD' as currency, 'https://shop.example/p/' || i as page_url "
        "from range(20000) t(i)"
    )


def run(project: Path, tree: Path, change: int) -> tuple[float, float, float, str]:
    (project / "models" / "events.sql").write_text(model(change), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(tree.resolve()))
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "reverse_etl", "sync", "--sandbox", "--project-dir", str(project)],
        env=env,
        cwd=project.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{tree}: {proc.stdout[-1000:]}{proc.stderr[-1000:]}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    summary = [line for line in proc.stdout.splitlines() if line.startswith("tiktok ")]
    return wall, cpu, load, summary[-1] if summary else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", required=True, help="NAME=DIR")
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--work", type=Path, default=Path("/tmp/retl-delta-ab"))
    args = parser.parse_args()
    trees = {name: Path(path) for name, path in (t.split("=", 1) for t in args.tree)}
    shutil.rmtree(args.work, ignore_errors=True)
    for name, tree in trees.items():
        project = args.work / name
        (project / "models").mkdir(parents=True)
        (project / "retl_project.yml").write_text(f"name: delta_{name}\n", encoding="utf-8")
        (project / "destinations.yml").write_text(DESTINATIONS, encoding="utf-8")
        run(project, tree, 0)  # the first sync: every row
    cpus: dict[str, list[float]] = {name: [] for name in trees}
    for change in range(1, args.runs + 1):
        for name, tree in trees.items():
            wall, cpu, load, summary = run(args.work / name, tree, change)
            cpus[name].append(cpu)
            print(f"{name:8s} wall {wall:5.2f} cpu {cpu:5.2f} load {load:4.1f}  {summary}")
    for name, values in cpus.items():
        print(f"{name:8s} cpu median {statistics.median(values):.2f} min {min(values):.2f}")


if __name__ == "__main__":
    main()
