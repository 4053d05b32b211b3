"""The HTTP side: routing, the stdlib threading server, ``SandboxServer`` and ``serve``."""

from __future__ import annotations

import errno
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

from reverse_etl.destinations.tiktok.vocab import (
    API_VERSION,
    CODE_INVALID_PARAMS,
    CODE_NOT_FOUND,
    CODE_SYSTEM_ERROR,
    TRACK_PATH,
)
from reverse_etl.errors import UsageError

from . import control, oauth, sources
from .context import Handler, SandboxContext, api_endpoint
from .envelope import ApiRequest, Response, envelope
from .faults import FaultInjector
from .feed import SandboxFeed
from .meta import MetaOptions, MetaSandbox
from .meta.control import ROUTES as META_CONTROL_ROUTES
from .meta.control import MetaControl
from .meta.routes import handle_graph
from .meta.vocab import EVENTS_PATH as META_EVENTS_PATH
from .meta.vocab import GRAPH_PATH as META_GRAPH_PATH
from .oauth_codes import AuthCodes
from .options import SandboxOptions
from .recorder import EventRecorder
from .stats import SandboxStats
from .track import handle_track
from .world import SandboxWorld

logger = logging.getLogger("reverse_etl.sandbox")

API_PREFIX = f"/open_api/{API_VERSION}/"
MAX_BODY_BYTES = 64 * 1024 * 1024

ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", TRACK_PATH): handle_track,
    ("GET", API_PREFIX + "pixel/list/"): api_endpoint(sources.pixel_list),
    ("POST", API_PREFIX + "pixel/create/"): api_endpoint(sources.pixel_create),
    ("POST", API_PREFIX + "offline/create/"): api_endpoint(sources.offline_create),
    ("GET", API_PREFIX + "offline/get/"): api_endpoint(sources.offline_get),
    ("POST", API_PREFIX + "offline/update/"): api_endpoint(sources.offline_update),
    ("POST", API_PREFIX + "offline/delete/"): api_endpoint(sources.offline_delete),
    ("GET", API_PREFIX + "crm/list/"): api_endpoint(sources.crm_list),
    ("GET", API_PREFIX + "app/list/"): api_endpoint(sources.app_list),
    ("POST", API_PREFIX + "oauth2/access_token/"): api_endpoint(oauth.access_token),
    ("GET", API_PREFIX + "oauth2/advertiser/get/"): api_endpoint(oauth.advertiser_get),
    ("POST", API_PREFIX + "oauth2/revoke_token/"): api_endpoint(oauth.revoke_token),
    ("GET", "/portal/auth"): oauth.portal_auth,
}


def _on_meta(fn: MetaControl) -> Handler:
    """A Meta control endpoint (``/_sandbox/meta/*``) as a handler: it sees ``ctx.meta``."""

    def handler(ctx: SandboxContext, req: ApiRequest) -> Response:
        return fn(ctx.meta, req)

    return handler


CONTROL_ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "/_sandbox/summary"): control.summary,
    ("GET", "/_sandbox/events"): control.events,
    ("GET", "/_sandbox/faults"): control.get_faults,
    ("POST", "/_sandbox/faults"): control.set_faults,
    ("POST", "/_sandbox/reset"): control.reset,
    ("GET", "/_sandbox/world"): control.world,
    **{key: _on_meta(fn) for key, fn in META_CONTROL_ROUTES.items()},
}
_KNOWN_PATHS = {path for _, path in (*ROUTES, *CONTROL_ROUTES)}


def dispatch(ctx: SandboxContext, req: ApiRequest) -> Response | None:
    """Route one request; unknown paths get TikTok's 40007 with HTTP 404."""
    control_handler = CONTROL_ROUTES.get((req.method, req.path))
    if control_handler is not None:
        return control_handler(ctx, req)
    graph_path = META_GRAPH_PATH.fullmatch(req.path)
    if graph_path is not None:  # Meta's Graph API answers every method on its paths itself
        return handle_graph(ctx.meta, req, graph_path)
    handler = ROUTES.get((req.method, req.path))
    ctx.stats.request(_endpoint_name(req.path) if handler is not None else "(unknown)")
    if handler is None:
        if req.path in _KNOWN_PATHS:
            return envelope(
                CODE_INVALID_PARAMS, f"Method {req.method} is not allowed.", http_status=405
            )
        return envelope(CODE_NOT_FOUND, f"Path {req.path} does not exist.", http_status=404)
    try:
        return handler(ctx, req)
    except Exception:
        logger.exception("sandbox handler failed for %s %s", req.method, req.path)
        ctx.stats.rejected(CODE_SYSTEM_ERROR)
        return envelope(CODE_SYSTEM_ERROR, "System error", http_status=500)


_QUERY_TOKEN = re.compile(r"(access_token=)[^&\s\"]*", re.IGNORECASE)


def _redact(text: str) -> str:
    return _QUERY_TOKEN.sub(r"\1[REDACTED]", text)


def _endpoint_name(path: str) -> str:
    return path.removeprefix(API_PREFIX).lstrip("/")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 drops SYNs when a client opens many connections at once.
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-request are normal (time-outs, retries): no stderr noise.
        logger.debug("sandbox connection error from %s", client_address, exc_info=True)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like a real API gateway
    server_version = "retl-sandbox"
    sys_version = ""
    # Buffer the response so headers and body leave in one write; disable Nagle so that
    # write is not held back waiting for the client's delayed ACK.
    wbufsize = -1
    disable_nagle_algorithm = True
    timeout = 300  # idle keep-alive connections end after five minutes
    ctx: ClassVar[SandboxContext]

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        # The request line holds the query string, where a (refused) Meta token may sit.
        args = tuple(_redact(a) if isinstance(a, str) else a for a in args)
        logger.debug("sandbox %s - " + format, self.address_string(), *args)

    def _handle(self, method: str) -> None:
        split = urlsplit(self.path)
        is_track = method == "POST" and split.path == TRACK_PATH
        is_meta = not is_track and META_EVENTS_PATH.fullmatch(split.path) is not None
        stats = self.ctx.stats
        if is_track:
            stats.track_started()
        elif is_meta:
            self.ctx.meta.stats.started()
        try:
            body = self._read_body()
            if body is None:
                return
            req = ApiRequest(
                method=method,
                path=split.path,
                query=dict(parse_qsl(split.query, keep_blank_values=True)),
                body=body,
                token=self.headers.get("Access-Token"),
                headers={name.lower(): value for name, value in self.headers.items()},
            )
            response = dispatch(self.ctx, req)
        finally:
            # Counted as finished before the answer leaves: once the client has it, it may
            # send its next request on another connection, which must not overlap this one.
            if is_track:
                stats.track_finished()
            elif is_meta:
                self.ctx.meta.stats.finished()
        if response is None:
            # "drop" fault: the request was read; close without sending a single byte.
            self.close_connection = True
            return
        self._write(response)

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length_header = self.headers.get("Content-Length")
        try:
            length = int(length_header) if length_header else 0
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True
            self._write(envelope(CODE_INVALID_PARAMS, "Invalid Content-Length.", http_status=400))
            return None
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def _write(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(response.body)


class SandboxServer:
    """A local TikTok Business API and Meta Conversions API emulator on loopback.

    ``world`` defaults to :meth:`SandboxWorld.demo`. Use as a context manager or call
    :meth:`start` / :meth:`stop`; ``port=0`` picks a free port (see :attr:`base_url`).
    :attr:`meta` is the Meta side (pixels, events, faults); ``meta_options`` tune its checks.
    ``feed_path``: append every received event, with its verdict, to this JSON-lines feed
    (``feed.py``; what ``retl ui``'s Test events page shows).
    """

    def __init__(
        self,
        world: SandboxWorld | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        record_path: Path | None = None,
        options: SandboxOptions | None = None,
        meta_options: MetaOptions | None = None,
        feed_path: Path | None = None,
    ) -> None:
        self.world = world if world is not None else SandboxWorld.demo()
        self.options = options if options is not None else SandboxOptions()
        self.stats = SandboxStats()
        self.faults = FaultInjector()
        self.feed = SandboxFeed(feed_path) if feed_path is not None else None
        self.recorder = EventRecorder(self.options, record_path, self.feed)
        self.meta = MetaSandbox(
            options=meta_options,
            stats=self.stats.meta,
            clock=self.options.clock,
            keep_events=self.options.keep_events,
            feed=self.feed,
        )
        self._ctx = SandboxContext(
            world=self.world,
            options=self.options,
            stats=self.stats,
            faults=self.faults,
            recorder=self.recorder,
            auth_codes=AuthCodes(self.options.auth_code_ttl_seconds, self.options.clock),
            meta=self.meta,
            feed=self.feed,
        )
        self._address = (host, port)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False

    def start(self) -> SandboxServer:
        """Bind and serve in a daemon thread; returns self."""
        if self._httpd is not None or self._stopped:
            raise RuntimeError("a SandboxServer can be started once")
        handler = type("SandboxRequestHandler", (_RequestHandler,), {"ctx": self._ctx})
        server_class: type[_HTTPServer] = _HTTPServer
        if ":" in self._address[0]:
            server_class = type("_HTTPServer6", (_HTTPServer,), {"address_family": socket.AF_INET6})
        self._httpd = server_class(self._address, handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"retl-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        logger.debug("sandbox listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        """Stop serving, close the socket and the JSONL file. Safe to call twice."""
        self._stopped = True
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.recorder.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (only once started)."""
        if self._httpd is None:
            raise RuntimeError("the sandbox is not running")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` for clients, e.g. as the TikTok API base URL."""
        host = self._address[0]
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}"

    def events(self, *, test: bool | None = None) -> list[dict[str, Any]]:
        """Recorded events (newest last): each has received_at, event_source,
        event_source_id, test_event_code, test and ``data`` (the event as sent)."""
        return self.recorder.events(test=test)

    def reset(self) -> None:
        """Forget events, dedup history, counters and faults (as ``POST /_sandbox/reset``),
        TikTok's and Meta's."""
        self.recorder.reset()
        self.stats.reset()
        self.faults.clear()
        self.meta.reset()


def serve(
    port: int,
    world: SandboxWorld | None = None,
    record_path: Path | None = None,
    *,
    host: str = "127.0.0.1",
    options: SandboxOptions | None = None,
    on_ready: Callable[[SandboxServer], None] | None = None,
    feed_path: Path | None = None,
) -> None:
    """Run a sandbox in the foreground until KeyboardInterrupt (for ``retl sandbox``).

    ``on_ready`` is called once the port is bound, e.g. to show :attr:`base_url`. A port
    that is busy, out of range or not allowed, and a ``record_path`` that cannot be written,
    are UsageErrors (``--port``, ``--record``), raised before anything is served.
    ``feed_path``: the test-events feed (see :class:`SandboxServer`).
    """
    if not 0 <= port <= 65535:
        raise UsageError(
            f"a port is a number from 0 to 65535, not {port}",
            key="--port",
            hint="--port 0 takes any free port",
        )
    created = False
    if record_path is not None:
        check_record_path(record_path)
        created = not record_path.exists()
    try:
        server = SandboxServer(
            world,
            host=host,
            port=port,
            record_path=record_path,
            options=options,
            feed_path=feed_path,
        )
    except OSError as exc:  # the JSONL file: checked above, but a race or a full disk
        raise UsageError(
            f"cannot write {record_path}: {exc.strerror or exc}", key="--record"
        ) from None
    try:
        server.start()
    except OSError as exc:
        server.stop()
        if created and record_path is not None and record_path.stat().st_size == 0:
            record_path.unlink()  # nothing was served: leave nothing behind
        raise _port_error(host, port, exc) from None
    logger.info("sandbox (TikTok and Meta) listening on %s", server.base_url)
    try:
        if on_ready is not None:
            on_ready(server)
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        logger.info("TikTok sandbox stopping")
    finally:
        server.stop()


def check_record_path(path: Path) -> None:
    """``retl sandbox --record PATH``: a file (new or to append to) in a folder that exists.
    Raises a UsageError naming what is wrong; nothing is created."""
    if path.is_dir():
        raise UsageError(
            f"{path} is a folder",
            key="--record",
            hint=f"give a file name, e.g. --record {path / 'events.jsonl'}",
        )
    folder = path.parent
    if not folder.is_dir():
        raise UsageError(
            f"the folder {folder} does not exist",
            key="--record",
            hint="create it first, or record to a file in an existing folder",
        )
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(
            f"{path} cannot be written (permission denied)",
            key="--record",
            hint="record to a file in a folder you can write",
        )


def _port_error(host: str, port: int, exc: OSError) -> UsageError:
    """A socket error of binding ``host:port``, said as the --port problem it is."""
    if exc.errno == errno.EADDRINUSE:
        return UsageError(
            f"port {port} on {host} is already in use (another retl sandbox?)",
            key="--port",
            hint="stop what listens there, or pass --port 0 to take any free port",
        )
    if exc.errno == errno.EACCES:
        return UsageError(
            f"not allowed to listen on port {port} on {host} (ports below 1024 need privileges)",
            key="--port",
            hint="pass a port from 1024 up, or --port 0 to take any free port",
        )
    return UsageError(
        f"cannot listen on {host}:{port}: {exc.strerror or exc}",
        key="--port",
        hint="pass --port 0 to take any free port",
    )
