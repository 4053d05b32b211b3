"""A local emulator of Meta's Conversions API, served by the same ``SandboxServer`` as TikTok.

``POST {server.base_url}/{api_version}/{pixel_id}/events`` with the demo token (``sandbox-token``,
as an ``Authorization: Bearer`` header or ``access_token`` body field) and the demo pixel
``DEMO_META_PIXEL_ID``, or a pixel made known with ``server.meta.add_pixel(pixel_id)``. Read back
with ``server.meta.events()``, ``server.meta.stats`` (also ``server.stats.snapshot()["meta"]``)
or ``GET /_sandbox/meta/events``; script failures with ``server.meta.faults``.

``GET {server.base_url}/{api_version}/{pixel_id}?fields=id,name`` reads a pixel (``retl check``).

This package imports no ``reverse_etl.destinations`` module: it keeps Meta's vocabulary itself.
The HTTP glue (``routes``, ``control``) is imported by ``sandbox/server.py``, not from here.
"""

from __future__ import annotations

from .faults import (
    GraphFault,
    InvalidEventFault,
    MetaFault,
    MetaFaultInjector,
    MetaFaultPlan,
    parse_meta_fault,
)
from .options import MetaOptions
from .sandbox import MetaSandbox
from .stats import MetaStats
from .world import DEMO_META_PIXEL_ID, DEMO_META_TOKEN, MetaWorld

__all__ = [
    "DEMO_META_PIXEL_ID",
    "DEMO_META_TOKEN",
    "GraphFault",
    "InvalidEventFault",
    "MetaFault",
    "MetaFaultInjector",
    "MetaFaultPlan",
    "MetaOptions",
    "MetaSandbox",
    "MetaStats",
    "MetaWorld",
    "parse_meta_fault",
]
