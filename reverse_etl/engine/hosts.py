"""Which servers retl may connect to with the project's credentials: ``RETL_ALLOWED_HOSTS``.

A warehouse's host, an attached PostgreSQL database's connection string and a Spark Connect
address are written in retl_project.yml, which a pull request may change; a CI job that gives
such a run warehouse credentials (``password: "{{ env_var('PGPASSWORD') }}"``, or libpq's own
``PGPASSWORD`` and ``~/.pgpass``, read whatever the host) lets it choose where they go. Whoever
runs retl (the job's environment, not the project) may list the hosts it may reach; unset,
any host is reached, as before, and a CI job (``CI`` set, as GitHub Actions and GitLab set it)
that hands a password to a host other than this machine is warned (:func:`unguarded_host`).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
from pathlib import Path

from reverse_etl.errors import EngineError, Problem

ALLOWED_HOSTS_ENV = "RETL_ALLOWED_HOSTS"
CI_ENV = "CI"  # set by GitHub Actions, GitLab CI, CircleCI, Travis, Buildkite...
# libpq asks the resolver for every other name (foo.localhost, localhost.localdomain too),
# which may ask DNS: only "localhost" itself is taken as this machine.
_LOOPBACK_NAMES = frozenset({"localhost"})


def allowed_hosts() -> frozenset[str]:
    """The hosts ``RETL_ALLOWED_HOSTS`` lists (commas or spaces), lower case; empty: any."""
    raw = os.environ.get(ALLOWED_HOSTS_ENV, "")
    return frozenset(h.strip().lower() for h in re.split(r"[,\s]+", raw) if h.strip())


def check_host(
    host: str | None, *, key: str, where: tuple[Path | None, int | None, str] | None = None
) -> None:
    """Refuse to connect to ``host`` (libpq's several hosts, comma-separated, each checked;
    None: libpq's default, ``PGHOST`` or the local socket) when it is not listed. ``where``:
    the file, line and key the host is written at (else ``key`` alone)."""
    allowed = allowed_hosts()
    if not allowed:
        return
    given = host or os.environ.get("PGHOST") or "localhost"
    for name in (h.strip().lower() for h in given.split(",")):
        if name not in allowed:
            raise EngineError(
                f"retl may not connect to {name}: {ALLOWED_HOSTS_ENV} lists only "
                + ", ".join(sorted(allowed)),
                file=where[0] if where else None,
                line=where[1] if where else None,
                key=where[2] if where else key,
                hint=f"connect to a listed host, or add it to {ALLOWED_HOSTS_ENV} in the "
                "environment of whoever runs retl (not in the project)",
            )


def unguarded_host(
    host: str | None,
    *,
    key: str,
    password: bool,
    where: tuple[Path | None, int | None, str] | None = None,
) -> Problem | None:
    """:func:`check_host`'s warning, when it lets every host through: in a CI job, with
    ``RETL_ALLOWED_HOSTS`` unset, a host other than this machine that libpq would hand a
    password (``password``: one is set in the project; else ``PGPASSWORD``, a pgpass file, or
    the service file's entry of a ``service:NAME`` host) may be one a pull request chose. The
    warning names the hosts and the fix, never the password. ``where`` as for :func:`check_host`."""
    if allowed_hosts() or not _in_ci():
        return None
    given = host or os.environ.get("PGHOST") or "localhost"
    if not (password or _libpq_password() or _service_password(given)):
        return None
    remote = [n for n in (h.strip().lower() for h in given.split(",")) if not is_loopback(n)]
    if not remote:
        return None
    names = ",".join(remote)
    return Problem(
        f"a password goes to {names}, and {ALLOWED_HOSTS_ENV} is not set in this CI job: a pull "
        "request that changes the host would receive it",
        file=where[0] if where else None,
        line=where[1] if where else None,
        key=where[2] if where else key,
        hint=f"set {ALLOWED_HOSTS_ENV}={names} in the job's environment, not in the project; "
        "see docs/ci.md",
        severity="warning",
    )


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine: a loopback name or address, or a socket folder."""
    name = host.strip().strip("[]").lower()
    if not name or name.startswith(("/", "@")):  # libpq's Unix-domain socket folders
        return True
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _in_ci() -> bool:
    return os.environ.get(CI_ENV, "").strip().lower() not in ("", "0", "false", "no")


def _libpq_password() -> bool:
    """Whether libpq would find a password without the project: PGPASSWORD or a pgpass file."""
    if os.environ.get("PGPASSWORD"):
        return True
    named = os.environ.get("PGPASSFILE")
    try:
        path = Path(named) if named else Path.home() / ".pgpass"
        return path.is_file()
    except (OSError, RuntimeError):  # no home folder: no pgpass file either
        return False


def _service_password(hosts: str) -> bool:
    """Whether a ``service:NAME`` of ``hosts`` (``pg_dsn.dsn_host``'s) has a password, or a
    password file, in the service file libpq reads it from: ``PGSERVICEFILE`` or
    ``~/.pg_service.conf``, then ``PGSYSCONFDIR``'s ``pg_service.conf``."""
    services = {
        h.strip()[len("service:") :].strip().lower()
        for h in hosts.split(",")
        if h.strip().lower().startswith("service:")
    }
    if not services:
        return False
    named = os.environ.get("PGSERVICEFILE")
    files: list[Path] = []
    with contextlib.suppress(RuntimeError):  # no home folder: no user service file either
        files.append(Path(named) if named else Path.home() / ".pg_service.conf")
    sysconf = os.environ.get("PGSYSCONFDIR")
    if sysconf:
        files.append(Path(sysconf) / "pg_service.conf")
    return any(_has_password(path, services) for path in files)


def _has_password(path: Path, services: set[str]) -> bool:
    """Whether a section of the service file ``path`` named in ``services`` sets
    ``password`` or ``passfile`` (libpq's format: ``[name]``, then ``key=value`` lines)."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:  # none, or unreadable: libpq reads none either
        return False
    section: str | None = None
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip().lower()
        elif section in services and "=" in line:
            key = line.split("=", 1)[0].strip().lower()
            if key in ("password", "passfile"):
                return True
    return False
