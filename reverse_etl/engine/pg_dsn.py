"""A libpq connection string's password taken out of it, so that DuckDB can attach the
database without the text holding it.

DuckDB shows an attached database's connection string to any SQL (``duckdb_databases()``'s
``path``): a model could have selected the password. The password goes instead into a DuckDB
secret of the attachment (``ATTACH '<dsn without it>' (TYPE postgres, SECRET s)``), which
DuckDB shows redacted and will not unredact while the database runs.

The string is read by libpq itself, through psycopg (``conninfo_to_dict``): both of its forms
(``key=value`` pairs with quoted values, and ``postgresql://user:password@host/db?...`` URIs),
exactly as the server connection will read them.
"""

from __future__ import annotations

from reverse_etl.errors import EngineError


def split_password(dsn: str) -> tuple[str, str | None]:
    """``dsn`` without its password (as ``key=value`` pairs when it had one), and the
    password (None: it has none). A string libpq cannot read is an error that does not
    quote it (it may hold the password)."""
    import psycopg  # here: only a run attaching PostgreSQL pays for the driver's import
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    try:
        params = conninfo_to_dict(dsn)
    except psycopg.Error:
        raise EngineError(
            "the dsn of an attached postgres database is not a libpq connection string",
            key="warehouse.attach",
            hint="write it as 'host=... dbname=... user=... password=...' or as "
            "postgresql://user@host/dbname",
        ) from None
    if any(_spills_userinfo(h) for h in str(params.get("host") or "").split(",")):
        # postgresql://user:pa@ss@host/db: libpq ends the password at the first '@', and the
        # rest of it becomes the host, which errors and warnings name (engine/hosts.py).
        raise EngineError(
            "the dsn of an attached postgres database has an '@' in its host: a password or "
            "user name with '@' in a postgresql:// URL must write it as %40",
            key="warehouse.attach",
            hint="write '@' as %40 in the user and password of the URL, or use the form "
            "'host=... dbname=... user=... password=...'",
        )
    password = params.pop("password", None)
    if password is None:
        return dsn, None
    return make_conninfo("", **params), str(password)


def _spills_userinfo(host: str) -> bool:
    """Whether a host of a parsed connection string holds part of the URL's user and
    password: an '@' that no host name has (an abstract socket's name starts with one, a
    socket folder is a path)."""
    name = host.strip()
    return "@" in name[1:] and not name.startswith("/")


def dsn_host(dsn: str) -> str | None:
    """Every host a libpq connection string may connect to, comma-separated: its ``host``
    and its ``hostaddr`` entries (libpq connects to ``hostaddr`` when both are given; ``host``
    then only names the server for TLS), and a ``service`` file's, which this cannot read,
    as ``service:NAME`` (listed in no RETL_ALLOWED_HOSTS); None: libpq's default."""
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(dsn)
    names = [
        part.strip()
        for key in ("host", "hostaddr")
        for part in str(params.get(key) or "").split(",")
        if part.strip()
    ]
    if params.get("service"):
        names.append(f"service:{params['service']}")
    return ",".join(names) or None
