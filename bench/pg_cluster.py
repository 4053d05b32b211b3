"""A throw-away PostgreSQL cluster for the benchmarks (bench/pg_bench.py, bench/pg_acks.py).

initdb in a temp dir (as the ``postgres`` system user when we are root: PostgreSQL refuses
root), a free port on 127.0.0.1, the unix socket in the temp dir, default durability (fsync
on), and ``auto_explain`` logging every statement over a threshold with its plan.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DEBIAN_BIN_GLOB = "/usr/lib/postgresql/*/bin"
SERVER_USER = "postgres"
TICK = os.sysconf("SC_CLK_TCK")


def find_pg_bin() -> Path:
    found = sorted(
        (tuple(int(p) for p in b.parent.name.split(".")), b)
        for b in Path("/").glob(DEBIAN_BIN_GLOB.lstrip("/"))
        if (b / "initdb").is_file() and re.fullmatch(r"\d+(\.\d+)*", b.parent.name)
    )
    if found:
        return found[-1][1]
    initdb = shutil.which("initdb")
    if initdb is None:
        raise SystemExit("PostgreSQL server binaries not found: apt-get install -y postgresql")
    return Path(initdb).parent


def add_server_settings(parser: Any) -> None:
    """``--server-setting NAME=VALUE`` (repeatable) on a bench's argparse parser."""
    parser.add_argument(
        "--server-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a server setting over the bench's own (e.g. shared_buffers=1GB)",
    )


def server_settings(args: Any) -> dict[str, str]:
    """The ``--server-setting`` values, as ``Cluster``'s ``overrides``."""
    return dict(s.split("=", 1) for s in args.server_setting)


@contextlib.contextmanager
def throwaway(
    prefix: str, explain_ms: int, overrides: dict[str, str] | None = None
) -> Iterator[Cluster]:
    """A ``Cluster`` in a new temp dir, stopped and removed on the way out."""
    root = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    cluster = Cluster(root, explain_ms, overrides)
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A throw-away PostgreSQL cluster; ``auto_explain`` logs retl's slow statements."""

    def __init__(
        self, root: Path, explain_ms: int, overrides: dict[str, str] | None = None
    ) -> None:
        self.bindir = find_pg_bin()
        self.root = root
        self.data = root / "data"
        self.log = root / "server.log"
        self.prefix: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses root: run it as the postgres user
            import pwd

            entry = pwd.getpwnam(SERVER_USER)
            os.chown(root, entry.pw_uid, entry.pw_gid)
            self.prefix = ["runuser", "-u", SERVER_USER, "--"]
        self._run(
            "initdb", "-D", str(self.data), "-U", SERVER_USER, "--auth=trust", "-E", "UTF8",
            "--locale=C",
        )  # fmt: skip
        self.port = _free_port()
        settings = {
            "listen_addresses": "127.0.0.1",
            "session_preload_libraries": "auto_explain",
            "auto_explain.log_min_duration": str(explain_ms),
            "auto_explain.log_analyze": "on",
            "auto_explain.log_timing": "off",  # row counts without the per-node clock reads
            "auto_explain.log_buffers": "on",
            "log_min_duration_statement": str(explain_ms),  # ANALYZE, COPY and the like too
            "shared_buffers": "256MB",
            "max_wal_size": "4GB",  # no checkpoint storm in the middle of a load
            **(overrides or {}),
        }
        options = f"-p {self.port} -k {root} " + " ".join(
            f"-c {k}={v}" for k, v in settings.items()
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t",
            "120", "start",
        )  # fmt: skip
        self.postmaster = int((self.data / "postmaster.pid").read_text().split()[0])

    def _run(self, tool: str, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        subprocess.run(
            [*self.prefix, str(self.bindir / tool), *args],
            cwd=self.root,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=True,
            timeout=180,
        )

    def connect(self, dbname: str = "postgres") -> Any:
        import psycopg

        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=SERVER_USER, dbname=dbname, autocommit=True
        )

    def cpu_s(self) -> float:
        """CPU seconds of the postmaster, its live children, and every exited child."""
        total = _proc_cpu(self.postmaster, with_children=True)
        for child in _children(self.postmaster):
            total += _proc_cpu(child, with_children=True)
        return total

    def log_size(self) -> int:
        return self.log.stat().st_size if self.log.exists() else 0

    def log_since(self, offset: int) -> str:
        with self.log.open("rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "stop")


def _proc_cpu(pid: int, *, with_children: bool) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # after the command: state is fields[0]; utime, stime, cutime, cstime are 11..14
    ticks = int(fields[11]) + int(fields[12])
    if with_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICK


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
