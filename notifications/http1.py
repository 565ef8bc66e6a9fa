"""A lean HTTP/1.1 keep-alive transport for httpx, for the one job of pushing many small requests to FCM.

Why: firebase-admin's ``send_each_async`` makes one HTTP request per message through httpx. Over httpx's own
HTTP/2 stack (httpcore + the pure-Python ``h2``/``hpack``) about half of a dispatcher's CPU per message went
into framing and connection-pool bookkeeping, which capped one worker near 1,000 messages/s. FCM's v1 API
serves HTTP/1.1 just as well (firebase-admin's synchronous ``send_each`` uses it, through ``requests``), so
this transport keeps a pool of persistent HTTP/1.1 connections (one request in flight per connection) and
parses answers with ``httptools`` (llhttp, the C parser uvicorn uses). Everything above the wire is still
firebase-admin and httpx: message encoding, the OAuth header, error mapping, ``Retry-After``.

Scope, on purpose: one request per connection at a time (no pipelining), ``Content-Length`` or chunked
answers, TLS through the ``ssl`` module, no proxies (httpx still routes ``HTTPS_PROXY`` through its own
transport when the environment sets one), no 1xx/upgrade. Errors are raised as the httpx exceptions
firebase-admin maps to its own (``ConnectError`` → unavailable, ``TimeoutException`` → deadline exceeded).
A request is never retried here: a connection that dies mid-request leaves the outcome unknown, and the
outbox decides what to do (retry with backoff, never a second send to a token that acknowledged).
"""

import asyncio
import ssl
from collections import deque
from typing import Any, cast

import httptools
import httpx

__all__ = ["Http1Transport"]


class _Connection(asyncio.Protocol):
    """One persistent connection; ``roundtrip`` writes a request and waits for its whole answer."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self._answer: asyncio.Future[tuple[int, list[tuple[bytes, bytes]], bytes, bool]] | None = None
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._headers_done = False
        self._framed = False  # the answer says where it ends (Content-Length or chunked)

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TLS transport does not subclass asyncio.Transport, but it has the same interface.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"malformed HTTP answer: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.transport = None
        if self._answer is not None and not self._answer.done():
            if self._headers_done and not self._framed:
                self._finish(keep_alive=False)  # an answer delimited by the connection's end
            else:
                self._fail(
                    httpx.ReadError(f"connection closed before the answer was complete: {exc or 'EOF'}")
                )

    # httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))
        lower = name.lower()
        if lower == b"content-length" or (lower == b"transfer-encoding" and b"chunked" in value.lower()):
            self._framed = True

    def on_headers_complete(self) -> None:
        self._headers_done = True

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._finish(keep_alive=self.parser.should_keep_alive())

    # use

    async def roundtrip(
        self, data: bytes, read_timeout_s: float | None
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes, bool]:
        if self.transport is None or self.closed:
            raise httpx.ReadError("connection is closed")
        self._answer = asyncio.get_running_loop().create_future()
        self._headers, self._body = [], []
        self._headers_done = self._framed = False
        self.transport.write(data)
        try:
            return await asyncio.wait_for(self._answer, read_timeout_s)
        except TimeoutError as exc:
            self.close()
            raise httpx.ReadTimeout(f"no answer within {read_timeout_s} s") from exc
        finally:
            self._answer = None

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _finish(self, keep_alive: bool) -> None:
        if self._answer is not None and not self._answer.done():
            status = self.parser.get_status_code()
            self._answer.set_result((status, self._headers, b"".join(self._body), keep_alive))

    def _fail(self, exc: Exception) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(exc)


class Http1Transport(httpx.AsyncBaseTransport):
    """At most ``max_connections`` persistent connections per origin; requests beyond wait for a free one."""

    def __init__(
        self,
        *,
        verify: ssl.SSLContext | bool = True,
        max_connections: int = 100,
        connect_timeout: float = 10.0,
        read_timeout: float = 20.0,
    ) -> None:
        if isinstance(verify, ssl.SSLContext):
            self._ssl = verify
        else:
            self._ssl = ssl.create_default_context()
            if not verify:
                self._ssl.check_hostname = False
                self._ssl.verify_mode = ssl.CERT_NONE
        self._ssl.set_alpn_protocols(["http/1.1"])
        self.max_connections = max_connections
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._idle: dict[tuple[str, str, int], deque[_Connection]] = {}
        self._slots: dict[tuple[str, str, int], asyncio.Semaphore] = {}
        self._open: set[_Connection] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported scheme {scheme!r}", request=request)
        host = url.host
        port = url.port or (443 if scheme == "https" else 80)
        origin = (scheme, host, port)
        timeouts: dict[str, Any] = request.extensions.get("timeout", {})
        read_timeout = timeouts.get("read", self.read_timeout)
        body = await request.aread()
        head = [b"%s %s HTTP/1.1" % (request.method.encode(), url.raw_path)]
        head += [b"%s: %s" % (k, v) for k, v in request.headers.raw]
        if "content-length" not in request.headers:
            head.append(b"Content-Length: %d" % len(body))
        data = b"\r\n".join(head) + b"\r\n\r\n" + body

        slots = self._slots.get(origin)
        if slots is None:
            slots = self._slots[origin] = asyncio.Semaphore(self.max_connections)
        async with slots:
            conn = self._take_idle(origin)
            if conn is None:
                conn = await self._connect(request, origin, timeouts.get("connect", self.connect_timeout))
            try:
                status, headers, content, keep_alive = await conn.roundtrip(data, read_timeout)
            except httpx.TransportError as exc:
                conn.close()
                self._open.discard(conn)
                exc.request = request
                raise
            if keep_alive and not conn.closed:
                self._idle.setdefault(origin, deque()).append(conn)
            else:
                conn.close()
                self._open.discard(conn)
        return httpx.Response(
            status,
            headers=headers,
            content=content,
            request=request,
            extensions={"http_version": b"HTTP/1.1"},
        )

    def _take_idle(self, origin: tuple[str, str, int]) -> _Connection | None:
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()  # the most recently used is the least likely to have been dropped by the server
            if not conn.closed:
                return conn
            self._open.discard(conn)
        return None

    async def _connect(
        self, request: httpx.Request, origin: tuple[str, str, int], connect_timeout_s: float
    ) -> _Connection:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(
                    _Connection,
                    host,
                    port,
                    ssl=self._ssl if scheme == "https" else None,
                    server_hostname=host if scheme == "https" else None,
                ),
                connect_timeout_s,
            )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(
                f"connecting to {host}:{port} took over {connect_timeout_s} s", request=request
            ) from exc
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(f"cannot connect to {host}:{port}: {exc}", request=request) from exc
        self._open.add(conn)
        return conn

    async def aclose(self) -> None:
        for conn in list(self._open):
            conn.close()
        self._open.clear()
        self._idle.clear()
