"""An HTTPS (CONNECT) proxy on 127.0.0.1 that tunnels Google's hostnames to local fakes.

Clients keep Google's real URLs: they ask the proxy named by ``HTTPS_PROXY`` for a tunnel to
``fcm.googleapis.com:443`` or ``www.googleapis.com:443``, and the proxy connects them to the fake serving that
name (TLS with a certificate from ``bench.fakes.tlsca``). ``NO_PROXY=127.0.0.1,localhost`` keeps local traffic
(the database, the fakes' OAuth token endpoint) direct. A name without a route is refused (403): nothing a
test does reaches the internet.

requests (google-auth's certificate and token fetches) reads ``HTTPS_PROXY`` itself. firebase-admin 7.7's
async FCM client does not: it builds its ``httpx.AsyncClient`` with its own transports mounted for
``https://``, and httpx's mounts replace the proxies it read from the environment
(``tests/notifications/test_proxy.py`` fails the day that changes). ``ProxyingLoop`` applies ``HTTPS_PROXY``
for such clients at the event loop: it resolves a proxied name to a placeholder address and, when the client
connects there, hands it a socket already tunnelled through the proxy. TLS, HTTP/2 and everything above
are still the client's own.
"""

import asyncio
import contextlib
import ipaddress
import socket
import threading
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from bench.fakes.loopthread import stop_loop_thread

# RFC 2544's benchmarking range: never routed on the internet, so a placeholder cannot reach anything real.
_PLACEHOLDERS = ipaddress.ip_network("198.18.0.0/15")


class ConnectProxy:
    """``routes`` maps ``host:port`` to the local port serving it; ``tunnels`` lists what was asked for."""

    def __init__(self, routes: dict[str, int] | None = None, *, use_uvloop: bool = False) -> None:
        self.routes: dict[str, int] = dict(routes or {})
        self.use_uvloop = use_uvloop  # benchmarks: the tunnel must not be the bottleneck it measures
        self.tunnels: list[str] = []
        self.refused: list[str] = []
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, ca_bundle: str) -> dict[str, str]:
        """The variables that send a process's HTTPS through this proxy, trusting ``ca_bundle``."""
        return {
            "HTTPS_PROXY": self.url,
            "NO_PROXY": "127.0.0.1,localhost",
            "SSL_CERT_FILE": ca_bundle,  # httpx (trust_env): firebase-admin's FCM client
            "REQUESTS_CA_BUNDLE": ca_bundle,  # requests: google-auth's token and certificate fetches
        }

    def start(self) -> "ConnectProxy":
        ready = threading.Event()

        def run() -> None:
            if self.use_uvloop:
                import uvloop  # installed with the server stack, not a dependency of ours

                loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
            else:
                loop = asyncio.new_event_loop()
            self._loop = loop

            async def boot() -> None:
                self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=1024)
                self.port = self._server.sockets[0].getsockname()[1]

            loop.run_until_complete(boot())
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="connect-proxy", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("CONNECT proxy did not start")
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is None or self._thread is None:
            return
        server = self._server
        assert server is not None
        stop_loop_thread(loop, self._thread, server.close)
        self._loop = None

    def __enter__(self) -> "ConnectProxy":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def clear(self) -> None:
        with self._lock:
            self.tunnels.clear()
            self.refused.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        method, target, _ = head.decode("latin-1").split("\r\n", 1)[0].split(" ", 2)
        port = self.routes.get(target) if method == "CONNECT" else None
        if port is None:
            with self._lock:
                self.refused.append(f"{method} {target}")
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            with contextlib.suppress(ConnectionError):
                await writer.drain()
            writer.close()
            return
        with self._lock:
            self.tunnels.append(target)
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            writer.close()
            return
        writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer), return_exceptions=True)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


def _proxy_for(host: str, port: int | str | None) -> str | None:
    """The ``HTTPS_PROXY`` that applies to ``host:port`` (the standard variables, ``NO_PROXY`` honoured)."""
    if str(port) != "443":
        return None
    proxy = urllib.request.getproxies_environment().get("https")
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    return proxy


class _ProxyingMixin:
    """Event loop methods that send connections to proxied names through ``HTTPS_PROXY`` (see the module)."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._names: dict[str, str] = {}  # placeholder address -> name
        self._placeholders: dict[str, str] = {}  # name -> placeholder address

    async def getaddrinfo(self, host: Any, port: Any, *args: Any, **kw: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if isinstance(name, str) and _proxy_for(name, port):
            if name not in self._placeholders:
                self._placeholders[name] = str(_PLACEHOLDERS[len(self._placeholders) + 1])
                self._names[self._placeholders[name]] = name
            address = self._placeholders[name]
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, 443))]
        return await super().getaddrinfo(host, port, *args, **kw)  # type: ignore[misc]

    async def create_connection(
        self, protocol_factory: Callable[[], Any], host: Any = None, port: Any = None, **kw: Any
    ) -> Any:
        name = self._names.get(host)
        if name is None and isinstance(host, str) and _proxy_for(host, port):
            name = host  # asked by name (asyncio.open_connection): resolving it would only give a placeholder
        if name is None:
            return await super().create_connection(protocol_factory, host, port, **kw)  # type: ignore[misc]
        proxy = _proxy_for(name, port)
        if proxy is None:
            raise OSError(f"{name}: HTTPS_PROXY was unset after {name} was resolved through it")
        sock = await self._tunnel(proxy, name, int(port))
        kw.pop("local_addr", None)
        kw.pop("family", None)
        if kw.get("ssl") and not kw.get("server_hostname"):
            kw["server_hostname"] = name
        return await super().create_connection(protocol_factory, sock=sock, **kw)  # type: ignore[misc]

    async def _tunnel(self, proxy: str, name: str, port: int) -> socket.socket:
        loop: asyncio.AbstractEventLoop = self  # type: ignore[assignment]
        where = urlsplit(proxy)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, (where.hostname or "127.0.0.1", where.port or 80))
            await loop.sock_sendall(
                sock, f"CONNECT {name}:{port} HTTP/1.1\r\nHost: {name}:{port}\r\n\r\n".encode()
            )
            answer = b""
            while b"\r\n\r\n" not in answer:
                chunk = await loop.sock_recv(sock, 4096)
                if not chunk:
                    raise ConnectionError(f"proxy {proxy} closed the tunnel to {name}:{port}")
                answer += chunk
            status = answer.split(b"\r\n", 1)[0].split(b" ", 2)
            if len(status) < 2 or status[1] != b"200":
                raise ConnectionRefusedError(f"proxy {proxy} refused {name}:{port}: {status!r}")
        except BaseException:
            sock.close()
            raise
        return sock


class ProxyingLoop(_ProxyingMixin, asyncio.SelectorEventLoop):
    """asyncio's loop, with ``HTTPS_PROXY`` applied to clients that ignore it."""


def proxying_uvloop() -> asyncio.AbstractEventLoop:
    """uvloop's loop, with ``HTTPS_PROXY`` applied to clients that ignore it."""
    import uvloop

    class ProxyingUvloop(_ProxyingMixin, uvloop.Loop):  # type: ignore[misc]
        pass

    return ProxyingUvloop()


def run(main: Any, *, use_uvloop: bool = False) -> Any:
    """``asyncio.run(main)`` on a proxying loop."""
    with asyncio.Runner(loop_factory=proxying_uvloop if use_uvloop else ProxyingLoop) as runner:
        return runner.run(main)
