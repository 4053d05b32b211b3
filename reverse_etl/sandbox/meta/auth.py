"""Who may call the Meta emulator: the token's place, its validity, and its pixels.

A token in the URL query string is refused outright (code 190) and counted as a security
violation, even next to a valid header: the URL, with the token in it, has already reached
the logs of every proxy on the way. Graph itself accepts it, so this is stricter than Meta on
purpose. Valid places are an ``Authorization: Bearer`` (or ``OAuth``) header and the
``access_token`` field of a JSON or form body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reverse_etl.sandbox.envelope import ApiRequest

from .errors import GraphError, token_error, unknown_object
from .sandbox import MetaSandbox
from .vocab import CODE_INVALID_TOKEN

TOKEN_IN_QUERY_MESSAGE = (
    "The access token was sent in the URL query string, where proxies and logs keep it; "
    "the sandbox refuses it. Send it in an 'Authorization: Bearer' header or as the "
    "access_token body field."
)
MISSING_TOKEN_MESSAGE = "An access token is required to request this resource."
INVALID_TOKEN_MESSAGE = "Invalid OAuth access token."


def refuse_token_in_query(meta: MetaSandbox, req: ApiRequest) -> None:
    """Code 190 for ``?access_token=``, counted in ``security_violations``."""
    if "access_token" in req.query:
        meta.stats.violation("token_in_query")
        raise GraphError(CODE_INVALID_TOKEN, TOKEN_IN_QUERY_MESSAGE, is_transient=False)


def authorize(
    meta: MetaSandbox, req: ApiRequest, body: Mapping[str, Any] | None, object_id: str
) -> None:
    """Raise Graph's answer unless the request's token may use this pixel: code 190 for a
    missing or unknown token, code 100 subcode 33 for a pixel it cannot see."""
    token = bearer(req.headers.get("authorization")) or (body or {}).get("access_token")
    if not token:
        raise token_error(MISSING_TOKEN_MESSAGE, "invalid_request")
    if not isinstance(token, str) or not meta.world.knows_token(token):
        raise token_error(INVALID_TOKEN_MESSAGE)
    if not meta.world.may_send(token, object_id):
        raise unknown_object(req.method, object_id)


def bearer(header: str | None) -> str | None:
    """The credentials of an ``Authorization: Bearer …`` (or ``OAuth …``) header."""
    if not header:
        return None
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() not in ("bearer", "oauth"):
        return None
    return credentials.strip() or None
