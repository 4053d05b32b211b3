"""The one entry point ``sandbox/server.py`` calls for a Graph path, and its error handling.

Every Graph answer, even a failure inside the emulator, is Graph-shaped JSON: a client under
test must never see TikTok's envelope from the Meta side.
"""

from __future__ import annotations

import logging
import re

from reverse_etl.sandbox.envelope import ApiRequest, Response

from .errors import GraphError
from .events import handle_events
from .objects import read_pixel
from .sandbox import MetaSandbox
from .vocab import CODE_UNKNOWN

logger = logging.getLogger("reverse_etl.sandbox")


def handle_graph(meta: MetaSandbox, req: ApiRequest, path: re.Match[str]) -> Response | None:
    """Answer a request whose path matched ``GRAPH_PATH``; None means drop the connection."""
    version, object_id = path["version"], path["object_id"]
    try:
        if path["edge"]:
            return handle_events(meta, req, version, object_id)
        return read_pixel(meta, req, version, object_id)
    except GraphError as exc:
        meta.stats.rejected(exc.code, exc.subcode)
        return exc.response(version)
    except Exception:
        logger.exception("sandbox Meta handler failed for %s %s", req.method, req.path)
        meta.stats.rejected(CODE_UNKNOWN)
        error = GraphError(
            CODE_UNKNOWN, "An unknown error occurred", http_status=500, is_transient=True
        )
        return error.response(version)
