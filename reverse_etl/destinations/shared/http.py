"""HTTP pieces every platform's client shares: a whole-request deadline enforced on each
socket operation, and ``Retry-After`` parsing. With the platform clients, the only modules
that import httpx."""

from __future__ import annotations

import email.utils
import math
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, TypeVar

import httpcore
import httpx
from pydantic import SecretStr

from reverse_etl.__about__ import __version__
from reverse_etl.secrets import register, scrub

DEFAULT_DEADLINE = 60.0
_Client = TypeVar("_Client", bound="PooledClient")


class PooledClient:
    """A pooled keep-alive connection to one API base URL, each request bounded by a deadline
    (see :class:`Deadlines`), the token registered to be masked everywhere. Thread-safe; a
    platform's client adds its requests and how it classifies the answers."""

    def __init__(
        self,
        base_url: str,
        access_token: SecretStr | None,
        *,
        pool_size: int = 5,
        timeout: float = 30.0,
        deadline: float = DEFAULT_DEADLINE,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """``timeout`` bounds each network operation, ``deadline`` a whole request."""
        if deadline <= 0:
            raise ValueError("deadline must be positive")
        self.base_url = base_url.rstrip("/")
        self._token = access_token
        if access_token is not None:
            register(access_token.get_secret_value())
        self._timeout = timeout
        self.deadline = deadline
        self._deadlines = Deadlines()
        self._http = httpx.Client(
            timeout=timeout,
            limits=httpx.Limits(max_connections=pool_size, max_keepalive_connections=pool_size),
            headers={"User-Agent": f"retl/{__version__}"},
            transport=transport,
            follow_redirects=False,
        )
        self._deadlines.install(self._http)

    def __enter__(self: _Client) -> _Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close pooled connections. Safe to call twice."""
        self._http.close()

    def _scrub(self, text: str) -> str:
        return scrub(text, [self._token.get_secret_value() if self._token is not None else None])


def retry_after(headers: httpx.Headers) -> float | None:
    """``Retry-After`` in seconds: a number, or an HTTP date turned into seconds from now."""
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


class Deadlines:
    """The deadline of the request each thread is sending, enforced on every socket operation.

    Why on the socket: httpx applies its timeouts to each connect, read and write, so a server
    that sends one byte per second never times out; and checking a clock between the body's
    chunks (which :meth:`until_deadline` also does) cannot interrupt the reading of a status
    line and headers that trickle in. A watchdog thread closing the response would not help
    either: there is no response object until the headers are in, and closing a socket does
    not reliably wake a thread blocked reading it. So every pool of the client gets a network
    backend (:class:`_DeadlineBackend`) whose streams clip each operation's timeout to the time
    left, and fail it once none is left. The deadline is per thread because a pooled
    connection is only ever used by the thread whose request it carries.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def install(self, client: httpx.Client) -> None:
        """Give the connection pools of ``client`` (direct and proxied) deadline-aware streams.

        httpx exposes no network backend option, so this reaches into its transports; one it
        does not recognise (a test double) keeps the between-chunks check only."""
        mounts: Iterable[object] = getattr(client, "_mounts", {}).values()
        for transport in (getattr(client, "_transport", None), *mounts):
            pool = getattr(transport, "_pool", None)
            backend = getattr(pool, "_network_backend", None)
            if isinstance(backend, httpcore.NetworkBackend) and pool is not None:
                pool._network_backend = _DeadlineBackend(backend, self)

    @contextmanager
    def applied(self, deadline: float) -> Iterator[None]:
        self._local.deadline = deadline
        self._local.clipped = False
        try:
            yield
        finally:
            self._local.deadline = None

    def passed(self, deadline: float) -> bool:
        """Did the request with ``deadline`` fail because its time was up?"""
        return bool(getattr(self._local, "clipped", False)) or time.monotonic() >= deadline

    def bound(self, timeout: float | None, error: type[httpcore.TimeoutException]) -> float | None:
        """``timeout`` clipped to the current thread's remaining time; ``error`` if none is left."""
        deadline: float | None = getattr(self._local, "deadline", None)
        if deadline is None:
            return timeout
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            self._local.clipped = True
            raise error("the request's deadline passed")
        if timeout is None or remaining < timeout:
            self._local.clipped = True
            return remaining
        return timeout

    def until_deadline(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            yield chunk
            deadline: float | None = getattr(self._local, "deadline", None)
            if deadline is not None and time.monotonic() >= deadline:
                self._local.clipped = True
                raise httpx.ReadTimeout("the request's deadline passed")


class _DeadlineBackend(httpcore.NetworkBackend):
    """A network backend whose connections obey :class:`Deadlines`."""

    def __init__(self, inner: httpcore.NetworkBackend, deadlines: Deadlines) -> None:
        self._inner = inner
        self._deadlines = deadlines

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = self._deadlines.bound(timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_tcp(host, port, bounded, local_address, socket_options)
        return _DeadlineStream(stream, self._deadlines)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        bounded = self._deadlines.bound(timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_unix_socket(path, bounded, socket_options)
        return _DeadlineStream(stream, self._deadlines)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadlines: Deadlines) -> None:
        self._inner = inner
        self._deadlines = deadlines

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadlines.bound(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadlines.bound(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        bounded = self._deadlines.bound(timeout, httpcore.ConnectTimeout)
        stream = self._inner.start_tls(ssl_context, server_hostname, bounded)
        return _DeadlineStream(stream, self._deadlines)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)
