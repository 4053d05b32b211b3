"""``retl ui``'s HTTP side: the stdlib threading server on loopback, GET only.

Only loopback addresses are served (the pages show a project's delivery history), and a
request whose ``Host`` is not a loopback name is refused too: a web page elsewhere cannot
read these pages through DNS rebinding. A request another site's page makes the browser
send (an ``<img>`` of ``/plan?compute=1``, which runs the models) is refused by its
``Sec-Fetch-Site`` or ``Origin``: the host is right there, the origin is not (a page on
another loopback port is another site: an ``Origin`` must be this server's own). HEAD is
answered as GET, without the body; every other method is a 405. Under ``/api/`` a refusal
is a JSON document, as the routes' own errors are.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

from reverse_etl.errors import UsageError

from .app import Response, UiApp, refusal

logger = logging.getLogger("reverse_etl.ui")

SECURITY_HEADERS = (
    (
        "Content-Security-Policy",
        "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
)
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def check_host(host: str) -> str:
    """``host`` if it is a loopback address (or ``localhost``), else the ``--host`` error."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        if ipaddress.ip_address(host.strip("[]")).is_loopback:
            return host.strip("[]")
    except ValueError:
        pass
    raise UsageError(
        f"retl ui serves on this machine only, not on {host}",
        key="--host",
        hint="use --host 127.0.0.1 (the default); to look from elsewhere, forward the port "
        "over SSH (ssh -L PORT:127.0.0.1:PORT)",
    )


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A browser closing a connection mid-answer is normal: no stderr noise.
        logger.debug("ui connection error from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server_version = "retl-ui"
    sys_version = ""
    app: ClassVar[UiApp]

    def do_GET(self) -> None:
        split = urlsplit(self.path)
        if not self._host_allowed():
            message = "retl ui answers only to 127.0.0.1 or localhost"
            self._send(refusal(split.path, 403, message))
            return
        if not self._origin_allowed():
            message = "retl ui answers only its own pages, not another site's"
            self._send(refusal(split.path, 403, message))
            return
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        self._send(self.app.handle(split.path, query))

    # The same answer without its body (_send leaves it out): a link checker, curl -I.
    do_HEAD = do_GET

    def __getattr__(self, name: str) -> Any:
        # http.server looks up do_<METHOD>: every method but GET and HEAD is answered 405
        # (no endpoint of the page writes anything).
        if name.startswith("do_"):
            return self._not_allowed
        raise AttributeError(name)

    def _not_allowed(self) -> None:
        self.close_connection = True
        message = "retl ui is read-only: GET and HEAD only"
        self._send(refusal(urlsplit(self.path).path, 405, message, (("Allow", "GET, HEAD"),)))

    def _host_allowed(self) -> bool:
        host = self.headers.get("Host", "")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return _loopback_name(name)

    def _origin_allowed(self) -> bool:
        """Not a request made by another site's page: browsers say where a request comes
        from (``Sec-Fetch-Site``; ``none`` is an address typed or a bookmark), and older
        ones send ``Origin`` with a script's requests. An ``Origin`` is this server's own
        only as served (host and port), or as the browser reached it (``Host``: the port
        an SSH forward gives it); another port on loopback is another site."""
        site = self.headers.get("Sec-Fetch-Site")
        if site is not None and site.strip().lower() not in ("same-origin", "none"):
            return False
        origin = self.headers.get("Origin")
        if origin is None:
            return True
        served = self.server.server_address  # (host, port), 4 items for IPv6
        if not isinstance(served, tuple):  # a socket path: never for retl ui
            return False
        return _own_origin(origin, (str(served[0]), int(served[1])), self.headers.get("Host"))

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in (*SECURITY_HEADERS, *response.headers):
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("ui %s - " + format, self.address_string(), *args)


def _loopback_name(name: str) -> bool:
    """``localhost`` or a loopback address (``127.0.0.2`` and ``[::1]`` too), any case."""
    name = name.strip().lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def _own_origin(origin: str, served: tuple[str, int], host: str | None) -> bool:
    """``origin`` is ``http://`` this server: its address and port as served (or
    ``localhost`` for 127.0.0.1 or ::1 at that port), or the ``Host`` the request was sent to
    (the same forms). A page on another loopback port or address is another site's."""
    found = _address(origin.strip(), origin=True)
    if found is None:  # "null" (a sandboxed frame, a file: page), https, a malformed value
        return False
    own = _forms(*served)
    reached = _address(f"http://{host.strip()}") if host else None
    if reached is not None:
        own |= _forms(*reached)
    return found in own


def _address(url: str, *, origin: bool = False) -> tuple[str, int] | None:
    """(host, port) of an ``http://host[:port]`` URL, the host lower-case without brackets;
    None for another scheme, a path (an ``Origin`` has none) or a port that is not one."""
    try:
        split = urlsplit(url)
        port = split.port
    except ValueError:
        return None
    if split.scheme.lower() != "http" or not split.hostname or split.username is not None:
        return None
    if origin and (split.path or split.query or split.fragment):
        return None
    return split.hostname.lower(), 80 if port is None else port


def _forms(host: str, port: int) -> set[tuple[str, int]]:
    """The names one loopback address and port go by: ``localhost`` is 127.0.0.1 or ::1."""
    host = host.strip("[]").lower()
    names = {host}
    if host in ("127.0.0.1", "::1"):
        names.add("localhost")
    elif host == "localhost":
        names |= {"127.0.0.1", "::1"}
    return {(name, port) for name in names}


class UiServer:
    """``retl ui``'s server for one project; ``port=0`` takes a free port (see :attr:`url`).
    Use as a context manager, or :meth:`start` / :meth:`stop`."""

    def __init__(self, app: UiApp, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self._address = (check_host(host), port)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> UiServer:
        """Bind and serve in a daemon thread (an OSError if the port cannot be bound)."""
        import socket

        handler = type("UiRequestHandler", (_Handler,), {"app": self.app})
        server_class: type[_HTTPServer] = _HTTPServer
        if ":" in self._address[0]:
            server_class = type("_HTTPServer6", (_HTTPServer,), {"address_family": socket.AF_INET6})
        self._httpd = server_class(self._address, handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="retl-ui", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("retl ui is not running")
        host = self._address[0]
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self._httpd.server_address[1]}/"

    def __enter__(self) -> UiServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
