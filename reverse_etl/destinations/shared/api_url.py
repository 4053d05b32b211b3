"""A destination's ``api_base_url``: where its access token goes.

The token goes in a request header to this URL, which ``destinations.yml`` names and a pull
request may change. So the URL must be plain (scheme, host, optional port and path: no user
part, query or fragment that could make two parsers disagree on the host), https (plain http
would carry the token in clear text) or http to this machine only (a local sandbox), and its
host must be the platform's own API, this machine, or a host listed in ``RETL_ALLOWED_HOSTS``
by whoever runs retl (a proxy): a project cannot send the token anywhere else.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from reverse_etl.engine.hosts import ALLOWED_HOSTS_ENV, allowed_hosts

_PLAIN = re.compile(
    r"(?P<scheme>https?)://(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[::1\])"
    r"(?::(?P<port>\d{1,5}))?(?P<path>/[A-Za-z0-9._~!$&'()*+,;=:%/-]*)?"
)
_LOOPBACK = re.compile(r"(?i)localhost|127(?:\.\d{1,3}){3}|\[::1\]")


def check_api_base_url(value: str, platform_hosts: Collection[str], platform: str) -> str:
    """``value`` without a final slash; a ValueError (pydantic's message) when it is not a
    plain https URL to ``platform_hosts``, this machine or a host ``RETL_ALLOWED_HOSTS``
    lists (http only to this machine)."""
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with https:// (or http:// for a local sandbox)")
    match = _PLAIN.fullmatch(value)
    if match is None:
        raise ValueError(
            "must be a plain URL: https://, a host name, an optional :port and path, without "
            "a user name, spaces, query (?) or fragment (#)"
        )
    host = match["host"].lower()
    local = _LOOPBACK.fullmatch(host) is not None
    if match["scheme"] == "http" and not local:
        raise ValueError("http:// only for this machine (a local sandbox): use https://")
    if local or host in {h.lower() for h in platform_hosts} or host in allowed_hosts():
        return value.rstrip("/")
    raise ValueError(
        f"retl sends the access token only to {platform}'s API ("
        + ", ".join(sorted(platform_hosts))
        + f"), to this machine, or to a host {ALLOWED_HOSTS_ENV} lists, and {host} is none "
        f"of them: use {platform}'s API, or (for a proxy) add {host} to {ALLOWED_HOSTS_ENV} "
        "in the environment of whoever runs retl, not in the project"
    )
