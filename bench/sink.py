"""A request sink for the benchmark, run in its own process: ``python bench/sink.py KIND``.

``sandbox``: retl's TikTok emulator (``SandboxServer``) with ``keep_events=False`` so its memory
stays flat; it still parses, validates and deduplicates every event. ``fast``: a stdlib
``ThreadingHTTPServer`` that reads each body and answers ``{"code": 0}`` without parsing it,
the cheapest server the same HTTP stack allows.

Prints ``{"port": N}`` on its first stdout line once it listens, then serves until killed.
``GET /_bench/stats`` returns requests, body bytes and this process's CPU seconds, so the
benchmark can tell how busy the sink was during each phase.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OK_BODY = b'{"code":0,"message":"OK","request_id":"bench","data":{}}'


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Counters:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests = 0
        self.bytes = 0

    def add(self, n: int) -> None:
        with self.lock:
            self.requests += 1
            self.bytes += n

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"requests": self.requests, "body_bytes": self.bytes, "cpu_s": cpu_seconds()}


COUNTERS = Counters()


class FastHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = -1
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        COUNTERS.add(len(body))
        self._answer(OK_BODY)

    def do_GET(self) -> None:
        self._answer(json.dumps(COUNTERS.snapshot()).encode())

    def _answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class FastServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def serve_fast() -> None:
    server = FastServer(("127.0.0.1", 0), FastHandler)
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    server.serve_forever()


def serve_sandbox(validate: bool) -> None:
    from reverse_etl.sandbox import SandboxOptions, SandboxServer, SandboxWorld
    from reverse_etl.sandbox import server as sandbox_server
    from reverse_etl.sandbox.envelope import envelope

    def stats(ctx: Any, req: Any) -> Any:
        snap = ctx.stats.snapshot()
        return envelope(
            0,
            "OK",
            data={
                "requests": snap["track_requests"],
                "events": snap["events_received"],
                "rejected_by_code": snap["rejected_by_code"],
                "cpu_s": cpu_seconds(),
            },
        )

    # A read-only extra route on this process's copy of the routing table; retl is unchanged.
    sandbox_server.CONTROL_ROUTES[("GET", "/_bench/stats")] = stats
    options = SandboxOptions(keep_events=False, validate=validate)
    server = SandboxServer(SandboxWorld.demo(), options=options).start()
    print(json.dumps({"port": server.port}), flush=True)
    while True:
        time.sleep(3600)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["fast", "sandbox", "sandbox-novalidate"])
    args = parser.parse_args()
    if args.kind == "fast":
        serve_fast()
    else:
        serve_sandbox(validate=args.kind == "sandbox")


if __name__ == "__main__":
    sys.exit(main())
