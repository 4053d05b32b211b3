"""Routing: a GET path -> a page or a JSON document (an error under ``/api/`` is a JSON
document too). The pages mask what they show where they escape it (``html.shown``); a JSON
document's every text is masked alike. Every response is then scrubbed of secrets and
e-mail addresses on its way out, a net behind that masking (a link never holds an address:
see ``html.destination_href``)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote

import orjson

from reverse_etl.destinations.shared.pii_text import mask_emails, mask_text
from reverse_etl.errors import RetlError
from reverse_etl.sandbox.feed import feed_path, read_feed
from reverse_etl.secrets import map_texts, scrub

from . import destination, events, plan, runs
from .html import Html, error_box, page, problems_box
from .source import UiProject

logger = logging.getLogger("reverse_etl.ui")
T = TypeVar("T")
HTML, JSON = "text/html; charset=utf-8", "application/json"
STATIC = {"app.css": "text/css; charset=utf-8", "app.js": "text/javascript; charset=utf-8"}


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = field(default=())


class NotFound(Exception):
    """The path names nothing (a run, a destination, a page): 404."""


@dataclass
class UiApp:
    """The pages of one project. Calls into the project are serialised: it holds one
    DuckDB workbench, and a browser asks for several things at once."""

    project: UiProject
    title: str
    feed: Path | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.feed is None:
            self.feed = feed_path(self.project.state_dir)

    def call(self, fn: Callable[[UiProject], T]) -> T:
        with self._lock:
            return fn(self.project)

    def handle(self, path: str, query: dict[str, str]) -> Response:
        """Answer ``GET path?query`` (``HEAD`` alike: the server leaves the body out)."""
        api = is_api(path)
        try:
            return self._route(path, query)
        except NotFound as exc:
            if api:
                return _json({"error": str(exc)}, status=404)
            body = page("Not found", "", self.title, error_box(str(exc)))
            return _html(body, status=404)
        except RetlError as exc:  # a project that cannot be read: said on the page
            if api:
                return _json({"error": "\n".join(exc.render_lines(self.project.dir))}, 500)
            body = page(
                "Cannot read the project", "", self.title, problems_box(exc, self.project.dir)
            )
            return _html(body, status=500)
        except Exception as exc:  # a bug: one page fails, the server goes on
            logger.debug("retl ui failed on %s", path, exc_info=True)
            why = f"unexpected {type(exc).__name__} (this is a bug in retl; please report it)"
            if api:
                return _json({"error": why}, status=500)
            return _html(page("Error", "", self.title, error_box(why)), status=500)

    def _route(self, path: str, query: dict[str, str]) -> Response:
        parts = [unquote(p) for p in path.strip("/").split("/")] if path.strip("/") else []
        match parts:
            case []:
                return _html(runs.runs_page(self))
            case ["runs", run_id]:
                return _html(runs.run_page(self, run_id))
            case ["destinations"]:
                return _html(destination.list_page(self))
            case ["destinations", name]:
                return _html(destination.destination_page(self, name))
            case ["plan"]:
                return _html(plan.plan_page(self, query))
            case ["events"]:
                return _html(events.events_page(self))
            case ["api", "test-events"]:
                return _json({"events": self.test_events()})
            case ["api", "runs"]:
                return _json({"runs": [r.to_dict() for r in self.call(lambda p: p.runs())]})
            case ["static", name] if name in STATIC:
                data = (
                    resources.files("reverse_etl.ui").joinpath("static").joinpath(name).read_bytes()
                )
                return Response(200, data, STATIC[name])
        raise NotFound(f"no page at {path}")

    def test_events(self, limit: int = 200) -> list[dict[str, Any]]:
        """The newest events of the project's sandbox feed, newest first."""
        assert self.feed is not None
        return read_feed(self.feed, limit=limit)


def is_api(path: str) -> bool:
    """A JSON route: its errors are JSON documents too."""
    return path == "/api" or path.startswith("/api/")


def refusal(
    path: str, status: int, message: str, headers: tuple[tuple[str, str], ...] = ()
) -> Response:
    """The server's refusal (a foreign host, another site's page, a method other than GET
    and HEAD): JSON under ``/api/``, plain text elsewhere."""
    if is_api(path):
        return replace(_json({"error": message}, status, masked=False), headers=headers)
    return Response(status, f"{message}\n".encode(), "text/plain; charset=utf-8", headers)


def clean(text: str) -> str:
    """The last line of defence on every response: secrets and e-mail addresses masked. The
    pages mask what they show (phone numbers and IPv4 addresses too) where they escape it,
    before a text is put into a link or an attribute: this net meets no link."""
    return mask_emails(scrub(text))


def _html(body: Html, status: int = 200) -> Response:
    return Response(status, clean(body).encode(), HTML)


def _json(document: Any, status: int = 200, *, masked: bool = True) -> Response:
    """``document`` as JSON; ``masked=False`` for a text of retl's own (the server's refusal,
    which names 127.0.0.1)."""
    text = orjson.dumps(
        map_texts(document, mask_text) if masked else document, default=str
    ).decode()
    text = clean(text)
    # <, > and & as JSON escapes: the document stays inert even if something renders it.
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Response(status, text.encode(), JSON)
