"""``GET /{version}/{pixel_id}``: read a pixel's fields, as ``retl check`` does (no event sent)."""

from __future__ import annotations

from reverse_etl.sandbox.envelope import ApiRequest, Response

from .auth import authorize, refuse_token_in_query
from .errors import graph_response, invalid_request, new_fbtrace_id, unknown_object
from .sandbox import MetaSandbox
from .vocab import PIXEL_FIELDS


def read_pixel(meta: MetaSandbox, req: ApiRequest, api_version: str, pixel_id: str) -> Response:
    """The pixel's ``id`` and, unless ``fields`` leaves it out, ``name``, if the token may see
    it; other fields are refused as Graph refuses fields a node type lacks."""
    refuse_token_in_query(meta, req)
    if req.method != "GET":
        raise unknown_object(req.method, pixel_id)
    authorize(meta, req, None, pixel_id)
    wanted = [f.strip() for f in req.query.get("fields", ",".join(PIXEL_FIELDS)).split(",")]
    unknown = [f for f in wanted if f and f not in PIXEL_FIELDS]
    if unknown:
        raise invalid_request(
            f"Tried accessing nonexisting field ({unknown[0]}) on node type (AdsPixel)"
        )
    meta.stats.pixel_read()
    body = {"id": pixel_id}  # Graph always includes a node's id
    if "name" in wanted:
        body["name"] = meta.world.pixel_name(pixel_id) or ""
    return graph_response(200, body, new_fbtrace_id(), api_version)
