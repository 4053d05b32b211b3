"""A real, throw-away PostgreSQL server for warehouse tests.

``pg_server`` (session): a private cluster (``initdb`` in a temp dir, a free port on
127.0.0.1, its unix socket in the same temp dir), stopped and deleted at the end.
``pg_db`` (per test): a fresh database on it, dropped afterwards, as a ``PostgresConnection``.

Authentication is ``trust`` for everyone except members of ``PASSWORD_GROUP``, who need
their password over TCP (``pg_server.create_password_role``): that tests password errors.

PostgreSQL refuses to run as root, and CI runs as root: then the server runs as the
``postgres`` system user (``runuser -u postgres --``). Missing binaries fail the tests rather
than skip them, because CI installs them (``.ci/run``).

``pgbouncer`` (per test): ``pgbouncer(pool_mode, **settings)`` starts Debian's PgBouncer on a
free loopback port in front of ``pg_server`` (its own ini and userlist in a temp dir, trust
authentication) and gives the ``PgServer`` to connect to through it; stopped at the test's
end. Without the binary the tests skip, except under ``CI=true``, where they fail
(``.ci/run`` installs it).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import psycopg
import pytest
from psycopg import sql

from reverse_etl.engine.postgres import PostgresConnection, PostgresEngine

INSTALL_HINT = "apt-get install -y postgresql"
PGBOUNCER_HINT = "apt-get install -y pgbouncer"
SERVER_USER = "postgres"
DEBIAN_BIN_GLOB = "/usr/lib/postgresql/*/bin"
PASSWORD_GROUP = "retl_password_login"
# First match wins: members of PASSWORD_GROUP must give their password, the rest is trusted.
PG_HBA = f"""\
local all all trust
host all +{PASSWORD_GROUP} 127.0.0.1/32 scram-sha-256
host all +{PASSWORD_GROUP} ::1/128 scram-sha-256
host all all 127.0.0.1/32 trust
host all all ::1/128 trust
"""


class PgServer(NamedTuple):
    """Where the test server listens (TCP, trust authentication, superuser ``user``)."""

    host: str
    port: int
    user: str

    def connection(self, dbname: str = "postgres", **kw: object) -> PostgresConnection:
        settings: dict[str, Any] = {"host": self.host, "port": self.port, "user": self.user}
        return PostgresConnection(dbname=dbname, **{**settings, **kw})

    def admin(self, dbname: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        """A superuser connection in autocommit (close it, or use it in ``with``)."""
        return psycopg.connect(
            host=self.host, port=self.port, dbname=dbname, user=self.user, autocommit=True
        )

    def create_password_role(self, name: str, password: str) -> None:
        """A login role that must authenticate with ``password`` (scram-sha-256)."""
        with self.admin() as con:
            con.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
                    sql.Identifier(name), sql.Literal(password), sql.Identifier(PASSWORD_GROUP)
                )
            )


def find_pg_bin() -> Path | None:
    """The directory with ``initdb`` and ``pg_ctl``: Debian's highest version, else PATH."""
    candidates: list[tuple[tuple[int, ...], Path]] = []
    for path in Path("/").glob(DEBIAN_BIN_GLOB.lstrip("/")):
        version = path.parent.name
        if re.fullmatch(r"\d+(\.\d+)*", version) and (path / "initdb").is_file():
            candidates.append((tuple(int(p) for p in version.split(".")), path))
    if candidates:
        return max(candidates)[1]
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).parent
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_as(prefix: list[str], args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # PG* variables of the caller (PGDATA, PGPORT …) must not steer the private cluster.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    return subprocess.run(
        [*prefix, *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _fail(step: str, result: subprocess.CompletedProcess[str], log: Path | None = None) -> None:
    text = (result.stdout + result.stderr).strip()
    if log is not None and log.exists():
        text += "\n--- server log ---\n" + log.read_text(errors="replace")[-3000:]
    pytest.fail(f"test PostgreSQL server: {step} failed (exit {result.returncode}):\n{text}")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    bindir = find_pg_bin()
    if bindir is None:
        pytest.fail(
            "PostgreSQL server binaries (initdb, pg_ctl) not found in "
            f"{DEBIAN_BIN_GLOB} or on PATH; install them: {INSTALL_HINT}"
        )
    prefix: list[str] = []
    base: str | None = None
    owner: tuple[int, int] | None = None
    if os.geteuid() == 0:
        import pwd

        try:
            entry = pwd.getpwnam(SERVER_USER)
        except KeyError:
            pytest.fail(
                f"running as root, and PostgreSQL refuses root, but there is no "
                f"'{SERVER_USER}' system user to run it as; {INSTALL_HINT} creates it"
            )
        runuser = shutil.which("runuser")
        if runuser is None:
            pytest.fail("running as root needs runuser (util-linux) to start PostgreSQL")
        prefix = [runuser, "-u", SERVER_USER, "--"]
        owner = (entry.pw_uid, entry.pw_gid)
        # The postgres user must reach the directory: $TMPDIR may be private to root, /tmp
        # is not; a short path also keeps the unix socket under its 107-byte limit.
        base = "/tmp"

    root = Path(tempfile.mkdtemp(prefix="retl-pg-", dir=base))
    data, log = root / "data", root / "server.log"
    if owner is not None:
        os.chown(root, *owner)
    started = False
    try:
        init = _run_as(
            prefix,
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                SERVER_USER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",  # throw-away data: skip the fsyncs, start in ~1 s
            ],
            cwd=root,
        )
        if init.returncode != 0:
            _fail("initdb", init)
        hba = data / "pg_hba.conf"
        hba.write_text(PG_HBA, encoding="utf-8")
        if owner is not None:
            os.chown(hba, *owner)
        for _attempt in range(3):  # another process may grab the free port first
            port = _free_port()
            options = (
                f"-p {port} -k {root} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            start = _run_as(
                prefix,
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(log),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
                cwd=root,
            )
            if start.returncode == 0:
                started = True
                break
            log_text = log.read_text(errors="replace") if log.exists() else ""
            if "could not bind" not in log_text and "in use" not in log_text:
                _fail("pg_ctl start", start, log)
        if not started:
            _fail("pg_ctl start (no free port after 3 tries)", start, log)
        server = PgServer("127.0.0.1", port, SERVER_USER)
        with server.admin() as con:
            con.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(PASSWORD_GROUP)))
        yield server
    finally:
        if started:
            _run_as(
                prefix, [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], root
            )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_db(pg_server: PgServer) -> Iterator[PostgresConnection]:
    """A fresh, empty database for one test; dropped afterwards (open sessions included)."""
    name = f"retl_test_{uuid.uuid4().hex[:12]}"
    with pg_server.admin() as con:
        con.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield pg_server.connection(name)
    finally:
        with contextlib.suppress(psycopg.Error), pg_server.admin() as con:
            con.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def pg_engine(pg_db: PostgresConnection) -> Iterator[PostgresEngine]:
    """A ``PostgresEngine`` over the test's fresh database, closed afterwards."""
    engine = PostgresEngine(pg_db)
    try:
        yield engine
    finally:
        engine.close()


def find_pgbouncer() -> str | None:
    """Debian installs it in /usr/sbin, which a user's PATH may not hold."""
    found = shutil.which("pgbouncer")
    if found is None and Path("/usr/sbin/pgbouncer").is_file():
        found = "/usr/sbin/pgbouncer"
    return found


StartPgBouncer = Callable[..., PgServer]


@pytest.fixture
def pgbouncer(pg_server: PgServer) -> Iterator[StartPgBouncer]:
    """``pgbouncer("session", default_pool_size=1)``: a PgBouncer in front of ``pg_server``,
    every database by the same name, ``**settings`` added to its ``[pgbouncer]`` section."""
    binary = find_pgbouncer()
    if binary is None:
        message = f"pgbouncer not found on PATH or in /usr/sbin; install it: {PGBOUNCER_HINT}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message} (.ci/run installs it)")
        pytest.skip(message)
    started: list[subprocess.Popen[str]] = []
    roots: list[Path] = []

    def start(pool_mode: str, **settings: object) -> PgServer:
        # As root it must be told whom to run as (it refuses root); that user reads the ini.
        prefix: list[str] = []
        root = Path(tempfile.mkdtemp(prefix="retl-pgb-", dir="/tmp" if os.geteuid() == 0 else None))
        roots.append(root)
        if os.geteuid() == 0:
            import pwd

            entry = pwd.getpwnam(SERVER_USER)
            os.chown(root, entry.pw_uid, entry.pw_gid)
            prefix = ["-u", SERVER_USER]
        (root / "userlist.txt").write_text(f'"{pg_server.user}" ""\n', encoding="utf-8")
        port = _free_port()
        extra = "".join(f"{key} = {value}\n" for key, value in settings.items())
        (root / "pgbouncer.ini").write_text(
            f"""[databases]
* = host={pg_server.host} port={pg_server.port}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {root / "userlist.txt"}
pool_mode = {pool_mode}
logfile = {root / "pgbouncer.log"}
{extra}""",
            encoding="utf-8",
        )
        proc = subprocess.Popen(
            [binary, *prefix, str(root / "pgbouncer.ini")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started.append(proc)
        log = root / "pgbouncer.log"
        # Up once it says it listens (it logs that after binding); a start that failed exits.
        while proc.poll() is None:
            text = log.read_text(errors="replace") if log.exists() else ""
            if "process up" in text:
                return PgServer("127.0.0.1", port, pg_server.user)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.02)
        output = proc.communicate()[0]
        text = log.read_text(errors="replace") if log.exists() else ""
        pytest.fail(f"pgbouncer did not start (exit {proc.returncode}):\n{output}\n{text}")

    try:
        yield start
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.terminate()
            try:
                proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
        for root in roots:
            shutil.rmtree(root, ignore_errors=True)
