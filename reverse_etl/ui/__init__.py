"""``retl ui``: a local, read-only web page over a project's runs, destinations, next plan
and the sandbox's test events. Served by the stdlib on loopback; pages are HTML built on the
server (charts as SVG), with one stylesheet and one small script from ``static/``."""

from __future__ import annotations

from .app import Response, UiApp
from .server import UiServer, check_host

__all__ = ["Response", "UiApp", "UiServer", "check_host"]
