"""Start-up benchmark (issue #18): `retl --version`, `retl --help` and `retl validate` on the
demo projects (this repository's, and a new one from `retl init`), each in a fresh process,
several times; median wall time, CPU time (user + sys of the child and its own children) and
peak RSS.

    python bench/startup.py                       # this checkout, 7 runs each
    python bench/startup.py --retl-src /tmp/old   # the reverse_etl package in another folder
    python bench/startup.py --no-bytecode         # as with PYTHONDONTWRITEBYTECODE=1

By default the children may write and read bytecode, in a cache folder of their own
(PYTHONPYCACHEPREFIX, outside the tree), as an installed retl does; one untimed run fills it.
With --no-bytecode every run compiles retl's sources again (what a checkout run with
PYTHONDONTWRITEBYTECODE=1 pays). On a shared machine read the CPU seconds: a busy neighbour
stretches the wall time, far less the CPU time a start-up costs. Peak RSS is the child's
ru_maxrss (the parent is small and has loaded nothing heavy, so no peak is carried over from
it, see bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
COMMANDS: dict[str, list[str]] = {
    "version": ["--version"],
    "help": ["--help"],
    "validate": ["validate", "--project-dir", str(ROOT)],
    # + "validate_init": the project `retl init` writes (made by the measured retl, see main)
}
GOALS = {"version": 0.3, "validate": 0.8, "validate_init": 0.8}


def run_once(args: Sequence[str], env: dict[str, str], cwd: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MB) of one fresh `python -m reverse_etl ...`."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "reverse_etl", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=cwd,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"retl {' '.join(args)} failed (exit {status})")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def measure(
    runs: int, env: dict[str, str], cwd: Path, commands: dict[str, list[str]]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, args in commands.items():
        run_once(args, env, cwd)  # fills the bytecode cache; not timed
        samples = [run_once(args, env, cwd) for _ in range(runs)]
        walls = sorted(w for w, _, _ in samples)
        out[name] = {
            "median_s": round(statistics.median(walls), 3),
            "min_s": round(walls[0], 3),
            "max_s": round(walls[-1], 3),
            "median_cpu_s": round(statistics.median(c for _, c, _ in samples), 3),
            "peak_rss_mb": round(max(r for _, _, r in samples), 1),
            "goal_s": GOALS.get(name),
        }
    return out


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per command (default 7)")
    parser.add_argument("--retl-src", type=Path, help="measure the reverse_etl package in DIR")
    parser.add_argument("--no-bytecode", action="store_true", help="compile sources every run")
    parser.add_argument("--out", type=Path, help="write the result JSON here too")
    args = parser.parse_args(argv)
    env = dict(os.environ)
    if args.retl_src is not None:
        env["PYTHONPATH"] = str(args.retl_src.resolve())
    # `python -m` puts the working folder first on sys.path: run from the measured one.
    cwd = (args.retl_src or ROOT).resolve()
    with tempfile.TemporaryDirectory(prefix="retl-pyc-") as cache:
        if args.no_bytecode:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        else:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = cache
        demo = Path(cache) / "init-demo"
        run_once(["init", str(demo)], env, cwd)
        commands = {**COMMANDS, "validate_init": ["validate", "--project-dir", str(demo)]}
        result = {
            "retl_src": str(args.retl_src or ROOT),
            "bytecode": not args.no_bytecode,
            "loadavg_1m_before": round(os.getloadavg()[0], 2),
            "commands": measure(args.runs, env, cwd, commands),
        }
    for name, r in result["commands"].items():
        goal = f"  (goal < {r['goal_s']} s)" if r["goal_s"] else ""
        print(
            f"{name:13} median {r['median_s']:.3f} s  [{r['min_s']:.3f}-{r['max_s']:.3f}]  "
            f"cpu {r['median_cpu_s']:.3f} s  {r['peak_rss_mb']:.0f} MB{goal}"
        )
    result["loadavg_1m_after"] = round(os.getloadavg()[0], 2)
    print(f"load before: {result['loadavg_1m_before']}, after: {result['loadavg_1m_after']}")
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
