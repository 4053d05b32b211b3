"""A libpq connection string's password taken out of it, so that DuckDB can attach the
database without the text holding it.

DuckDB shows an attached database's connection string to any SQL (``duckdb_databases()``'s
``path``): a model could have selected the password. The password goes instead into a DuckDB
secret of the attachment (``ATTACH '<dsn without it>' (TYPE postgres, SECRET s)``), which
DuckDB shows redacted and will not unredact while the database runs.

Both libpq forms are read: ``key=value`` pairs (a value in single quotes may hold spaces,
``\\'`` and ``\\\\``) and URIs (``postgresql://user:password@host/db?password=...``).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

# One key=value pair of libpq's keyword form: the value quoted, or up to the next space.
_PAIR = re.compile(r"""(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|[^\s']\S*|(?=\s|$))""")


def split_password(dsn: str) -> tuple[str, str | None]:
    """``dsn`` without its password, and the password (None: it has none)."""
    if dsn.startswith(("postgresql://", "postgres://")):
        return _split_uri(dsn)
    password: str | None = None
    kept: list[str] = []
    for match in _PAIR.finditer(dsn):
        key, value = match.group(1), match.group(2)
        if key.lower() == "password":
            password = _unquote(value)
        else:
            kept.append(match.group(0))
    if password is None:
        return dsn, None
    return " ".join(kept), password


def _unquote(value: str) -> str:
    if value.startswith("'") and value.endswith("'") and len(value) >= 2:
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _split_uri(dsn: str) -> tuple[str, str | None]:
    parts = urlsplit(dsn)
    password = unquote(parts.password) if parts.password is not None else None
    netloc = parts.netloc
    if parts.password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.split(':', 1)[0]}@{host}"
    query = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key.lower() == "password":
            password = value
        else:
            query.append((key, value))
    if password is None:
        return dsn, None
    rebuilt = urlunsplit(
        (parts.scheme, netloc, parts.path, urlencode(query, quote_via=quote), parts.fragment)
    )
    return rebuilt, password
