"""A server that trickles its answer cannot hold a request past its deadline, nor a batch past
its retry budget.

httpx's timeouts apply to each read, and a byte every few seconds resets them: only an overall
deadline ends such a request. The server here trickles forever; the test asserts the outcome's
kind and message, never elapsed time, so machine load cannot change the result (pytest-timeout
is the guard against a hang).
"""

from __future__ import annotations

import random
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pydantic import SecretStr

from reverse_etl.delivery.retry import RetryPolicy
from reverse_etl.destinations.tiktok.client import TikTokClient

TOKEN = "tok-deadline-4c2e9b"
TRICKLE_EVERY = 0.05
DEADLINE = 0.5
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n"


class TricklingServer(ThreadingHTTPServer):
    """Answers one byte at a time, forever: in the status line and headers (``headers``) or
    in the body after complete headers (``body``)."""

    daemon_threads = True

    def __init__(self, where: str) -> None:
        super().__init__(("127.0.0.1", 0), _TrickleHandler)
        self.where = where
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _TrickleHandler(BaseHTTPRequestHandler):
    server: TricklingServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.server.where == "body":
            self.wfile.write(HEAD)
            filler = b" " * 10**6
        else:
            filler = HEAD + b"{}" * 10**6
        try:
            for i in range(len(filler)):
                if self.server.stop.wait(TRICKLE_EVERY):
                    return
                self.wfile.write(filler[i : i + 1])
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return  # the client gave up, as it should


@pytest.fixture(params=["headers", "body"])
def trickling(request: pytest.FixtureRequest) -> Iterator[TricklingServer]:
    server = TricklingServer(request.param)
    server.thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()
        server.thread.join(timeout=5)


def test_a_trickling_answer_ends_at_the_deadline_as_a_transient_failure(
    trickling: TricklingServer,
) -> None:
    # The per-read timeout is far longer than the whole test would take: only the deadline
    # can end this request.
    with TikTokClient(
        trickling.base_url, SecretStr(TOKEN), timeout=60.0, deadline=DEADLINE
    ) as client:
        outcome = client.track(b'{"data":[]}')
    assert outcome.kind == "transient"
    assert "deadline" in outcome.message
    assert TOKEN not in outcome.message


def test_the_deadline_ends_a_request_that_is_never_answered() -> None:
    # A socket that listens but never accepts: the kernel completes the connection and takes
    # the request into its buffers, and no answer ever comes.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        base_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with TikTokClient(base_url, SecretStr(TOKEN), timeout=60.0, deadline=DEADLINE) as client:
            outcome = client.track(b'{"data":[]}')
    assert outcome.kind == "transient"
    assert "deadline" in outcome.message


def test_a_retry_is_only_started_if_it_can_end_within_the_batch_budget() -> None:
    policy = RetryPolicy(max_elapsed=300.0, request_deadline=60.0, base_delay=0.0, max_delay=0.0)
    rng = random.Random(0)
    assert policy.next_delay(1, 239.0, None, rng) == 0.0  # ends by 299 s at the latest
    assert policy.next_delay(1, 241.0, None, rng) is None  # could end at 301 s
    # The default: 60 s per request, within the documented 300 s per batch.
    assert RetryPolicy().request_deadline == 60.0
    assert RetryPolicy().max_elapsed == 300.0


def test_a_deadline_must_be_positive() -> None:
    with pytest.raises(ValueError, match="request_deadline"):
        RetryPolicy(request_deadline=0.0)
    with pytest.raises(ValueError, match="deadline"):
        TikTokClient("http://127.0.0.1:9", SecretStr(TOKEN), deadline=0.0)
