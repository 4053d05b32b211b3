"""A scripted HTTP server on loopback for client tests: real sockets, canned answers.

The sandbox emulator covers TikTok's behaviour; this fixture covers what TikTok's gateway and
the network can do that an emulator would not script easily (HTML 502s, empty 200s, dropped
connections, answers that never come).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import orjson

TOKEN = "tok-SECRET-5f1c9e0d7a"


@dataclass(frozen=True)
class Reply:
    """One canned answer. ``drop`` closes the connection unanswered; ``hold`` delays it."""

    status: int = 200
    body: bytes | dict[str, object] = field(
        default_factory=lambda: {"code": 0, "message": "OK", "request_id": "RID0", "data": {}}
    )
    headers: tuple[tuple[str, str], ...] = ()
    drop: bool = False
    hold: threading.Event | None = None


@dataclass(frozen=True)
class Seen:
    """A request as the server received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    client_port: int


class ScriptedServer:
    """Answers requests with queued replies (then the default success envelope)."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        self.holds: list[threading.Event] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as TikTok's gateway does

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                url = urlsplit(self.path)
                with server.lock:
                    server.seen.append(
                        Seen(
                            self.command,
                            url.path,
                            dict(parse_qsl(url.query)),
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            self.client_address[1],
                        )
                    )
                    reply = server.replies.popleft() if server.replies else Reply()
                if reply.hold is not None:
                    reply.hold.wait(timeout=10)
                if reply.drop:
                    self.close_connection = True
                    return
                payload = reply.body if isinstance(reply.body, bytes) else orjson.dumps(reply.body)
                self.send_response(reply.status)
                for name, value in reply.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _handle

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def script(self, *replies: Reply) -> None:
        with self.lock:
            self.replies.extend(replies)
            self.holds.extend(r.hold for r in replies if r.hold is not None)

    def close(self) -> None:
        for hold in self.holds:
            hold.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietServer(ThreadingHTTPServer):
    """Clients that time out or hang up make writes fail; that is expected here, not noise."""

    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass
