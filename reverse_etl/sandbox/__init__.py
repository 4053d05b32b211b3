"""Local emulators of TikTok's Business API (Events API 2.0, event sources, OAuth) and of
Meta's Conversions API, served by one HTTP server.

Start one with ``SandboxServer().start()`` (or ``with SandboxServer() as server:``) and point a
client at ``server.base_url``; the demo world's token is ``sandbox-token``. Read back what it
received with ``server.events()``, ``server.stats`` or ``GET /_sandbox/summary``; script failures
with ``server.faults``. The Meta side is ``server.meta`` (see :mod:`reverse_etl.sandbox.meta`).
"""

from __future__ import annotations

from .faults import (
    CodeFault,
    DelayFault,
    DropFault,
    Fault,
    FaultInjector,
    FaultPlan,
    HttpFault,
    PartialFault,
    parse_fault,
)
from .meta import (
    DEMO_META_PIXEL_ID,
    DEMO_META_TOKEN,
    GraphFault,
    InvalidEventFault,
    MetaFaultInjector,
    MetaFaultPlan,
    MetaOptions,
    MetaSandbox,
    MetaStats,
    MetaWorld,
    parse_meta_fault,
)
from .options import SandboxOptions
from .server import SandboxServer, serve
from .stats import SandboxStats
from .world import (
    DEMO_ADVERTISER_ID,
    DEMO_APP_ID,
    DEMO_APP_SECRET,
    DEMO_CRM_SET_ID,
    DEMO_OFFLINE_SET_ID,
    DEMO_PIXEL_CODE,
    DEMO_TIKTOK_APP_ID,
    DEMO_TOKEN,
    SandboxWorld,
)

__all__ = [
    "DEMO_ADVERTISER_ID",
    "DEMO_APP_ID",
    "DEMO_APP_SECRET",
    "DEMO_CRM_SET_ID",
    "DEMO_META_PIXEL_ID",
    "DEMO_META_TOKEN",
    "DEMO_OFFLINE_SET_ID",
    "DEMO_PIXEL_CODE",
    "DEMO_TIKTOK_APP_ID",
    "DEMO_TOKEN",
    "CodeFault",
    "DelayFault",
    "DropFault",
    "Fault",
    "FaultInjector",
    "FaultPlan",
    "GraphFault",
    "HttpFault",
    "InvalidEventFault",
    "MetaFaultInjector",
    "MetaFaultPlan",
    "MetaOptions",
    "MetaSandbox",
    "MetaStats",
    "MetaWorld",
    "PartialFault",
    "SandboxOptions",
    "SandboxServer",
    "SandboxStats",
    "SandboxWorld",
    "parse_fault",
    "parse_meta_fault",
    "serve",
]
