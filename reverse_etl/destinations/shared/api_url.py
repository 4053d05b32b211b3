"""A destination's ``api_base_url``: https, or http to this machine only (a local sandbox).

The access token goes in a request header: over plain http it would cross the network in
clear text, to a host a project's settings chose."""

from __future__ import annotations

import re

_LOOPBACK = re.compile(r"(?i)^http://(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d+)?(?:/|$)")


def check_api_base_url(value: str) -> str:
    """``value`` without a final slash; a ValueError (pydantic's message) when it is neither
    https nor http to a loopback address."""
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with https:// (or http:// for a local sandbox)")
    if value.startswith("http://") and not _LOOPBACK.match(value):
        raise ValueError("http:// only for this machine (a local sandbox): use https://")
    return value.rstrip("/")
