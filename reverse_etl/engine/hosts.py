"""Which servers retl may connect to with the project's credentials: ``RETL_ALLOWED_HOSTS``.

A warehouse's host, an attached PostgreSQL database's connection string and a Spark Connect
address are written in retl_project.yml, which a pull request may change; a CI job that gives
such a run warehouse credentials (``password: "{{ env_var('PGPASSWORD') }}"``, or libpq's own
``PGPASSWORD`` and ``~/.pgpass``, read whatever the host) lets it choose where they go. Whoever
runs retl (the job's environment, not the project) may list the hosts it may reach; unset,
any host is reached, as before.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from reverse_etl.errors import EngineError

ALLOWED_HOSTS_ENV = "RETL_ALLOWED_HOSTS"


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
