"""Local emulators of TikTok's Business API (Events API 2.0, event sources, OAuth) and of
Meta's Conversions API, served by one HTTP server.

Start one with ``SandboxServer().start()`` (or ``with SandboxServer() as server:``) and point a
client at ``server.base_url``; the demo world's token is ``sandbox-token``. Read back what it
received with ``server.events()``, ``server.stats`` or ``GET /_sandbox/summary``; script failures
with ``server.faults``. The Meta side is ``server.meta`` (see :mod:`reverse_etl.sandbox.meta`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# Each name from the submodule that defines it, when first read (PEP 562): importing a light
# submodule (``sandbox.feed``, whose ``mask_pii`` masks the plan's samples) no longer loads
# the whole emulator and ``http.server`` (43 ms on a sync's serial path, issue #18).
_WHERE: dict[str, str] = {
    "CodeFault": "faults",
    "DEMO_ADVERTISER_ID": "world",
    "DEMO_APP_ID": "world",
    "DEMO_APP_SECRET": "world",
    "DEMO_CRM_SET_ID": "world",
    "DEMO_META_PIXEL_ID": "meta",
    "DEMO_META_TOKEN": "meta",
    "DEMO_OFFLINE_SET_ID": "world",
    "DEMO_PIXEL_CODE": "world",
    "DEMO_TIKTOK_APP_ID": "world",
    "DEMO_TOKEN": "world",
    "DelayFault": "faults",
    "DropFault": "faults",
    "Fault": "faults",
    "FaultInjector": "faults",
    "FaultPlan": "faults",
    "GraphFault": "meta",
    "HttpFault": "faults",
    "InvalidEventFault": "meta",
    "MetaFaultInjector": "meta",
    "MetaFaultPlan": "meta",
    "MetaOptions": "meta",
    "MetaSandbox": "meta",
    "MetaStats": "meta",
    "MetaWorld": "meta",
    "PartialFault": "faults",
    "SandboxOptions": "options",
    "SandboxServer": "server",
    "SandboxStats": "stats",
    "SandboxWorld": "world",
    "parse_fault": "faults",
    "parse_meta_fault": "meta",
    "serve": "server",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # read once
    return value


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
