"""The lean HTTP/1.1 transport under the FCM sender, against a raw socket server that misbehaves on cue."""

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from bench.fakes.fcm_server import FakeFcm
from notifications.http1 import Http1Transport
from notifications.push import FcmSender, Outcome
from tests.notifications.test_push import msg

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, bytes], Awaitable[bool]]


@dataclass
class RawServer:
    """Answers each request with ``handler`` (which returns whether to keep the connection)."""

    handler: Handler
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(h.split(b":")[1])
                        for h in head.split(b"\r\n")
                        if h.lower().startswith(b"content-length")
                    ),
                    0,
                )
                body = await reader.readexactly(length)
                self.requests.append(head + body)
                if not await self.handler(reader, writer, head + body):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest_asyncio.fixture
async def raw() -> AsyncIterator[Callable[[Handler], Awaitable[RawServer]]]:
    servers: list[RawServer] = []

    async def start(handler: Handler) -> RawServer:
        s = RawServer(handler)
        s.server = await asyncio.start_server(s._serve, "127.0.0.1", 0)
        servers.append(s)
        return s

    yield start
    for s in servers:
        assert s.server is not None
        s.server.close()


def ok(body: bytes = b'{"ok": true}', extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s" % (
        len(body),
        extra,
        body,
    )


async def test_keeps_connections_alive_and_bounds_them(
    raw: Callable[[Handler], Awaitable[RawServer]],
) -> None:
    async def answer(_r: asyncio.StreamReader, w: asyncio.StreamWriter, _req: bytes) -> bool:
        await asyncio.sleep(0.01)
        w.write(ok())
        return True

    server = await raw(answer)
    async with httpx.AsyncClient(transport=Http1Transport(max_connections=4)) as client:
        answers = await asyncio.gather(*(client.post(server.url + "/x", json={"i": i}) for i in range(40)))
    assert [a.status_code for a in answers] == [200] * 40
    assert all(a.json() == {"ok": True} for a in answers)
    assert len(server.requests) == 40
    assert server.connections == 4  # 40 requests over 4 persistent connections, never more


async def test_request_bytes_carry_method_path_headers_and_body(
    raw: Callable[[Handler], Awaitable[RawServer]],
) -> None:
    async def answer(_r: asyncio.StreamReader, w: asyncio.StreamWriter, _req: bytes) -> bool:
        w.write(ok())
        return True

    server = await raw(answer)
    async with httpx.AsyncClient(transport=Http1Transport()) as client:
        await client.post(server.url + "/v1/a%20b?q=1", json={"tiêu đề": "hồ sơ"}, headers={"X-Trace": "7"})
    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /v1/a%20b?q=1 HTTP/1.1"
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(b":") for h in lines[1:])}
    assert headers[b"host"] == server.url.removeprefix("http://").encode()
    assert headers[b"x-trace"] == b"7"
    assert int(headers[b"content-length"]) == len(body)
    assert json.loads(body) == {"tiêu đề": "hồ sơ"}


async def test_chunked_and_close_delimited_answers(raw: Callable[[Handler], Awaitable[RawServer]]) -> None:
    async def chunked(_r: asyncio.StreamReader, w: asyncio.StreamWriter, _req: bytes) -> bool:
        w.write(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        )
        return True

    async def until_close(_r: asyncio.StreamReader, w: asyncio.StreamWriter, _req: bytes) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end")
        await w.drain()
        return False

    a, b = await raw(chunked), await raw(until_close)
    async with httpx.AsyncClient(transport=Http1Transport()) as client:
        assert (await client.get(a.url)).text == "hello world"
        assert (await client.get(a.url)).text == "hello world"
        assert (await client.get(b.url)).text == "until the end"
        assert (await client.get(b.url)).text == "until the end"
    assert a.connections == 1  # chunked answers keep the connection
    assert b.connections == 2  # "Connection: close" is honoured


async def test_a_connection_dropped_mid_answer_is_a_read_error_and_not_reused(
    raw: Callable[[Handler], Awaitable[RawServer]],
) -> None:
    calls = 0

    async def flaky(_r: asyncio.StreamReader, w: asyncio.StreamWriter, _req: bytes) -> bool:
        nonlocal calls
        calls += 1
        if calls == 1:
            w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part")
            await w.drain()
            return False
        w.write(ok())
        return True

    server = await raw(flaky)
    async with httpx.AsyncClient(transport=Http1Transport()) as client:
        with pytest.raises(httpx.ReadError):
            await client.get(server.url)
        assert (await client.get(server.url)).status_code == 200
    assert server.connections == 2


async def test_server_closing_an_idle_connection_is_noticed(
    raw: Callable[[Handler], Awaitable[RawServer]],
) -> None:
    async def one_per_connection(_r: asyncio.StreamReader, w: asyncio.StreamWriter, _req: bytes) -> bool:
        w.write(ok())  # keep-alive by HTTP/1.1 default, but the server hangs up right after
        await w.drain()
        return False

    server = await raw(one_per_connection)
    async with httpx.AsyncClient(transport=Http1Transport()) as client:
        for _ in range(3):
            assert (await client.get(server.url)).status_code == 200
            await asyncio.sleep(0.05)  # let the close arrive before the next request
    assert server.connections == 3


async def test_malformed_answer_is_a_protocol_error(raw: Callable[[Handler], Awaitable[RawServer]]) -> None:
    async def garbage(_r: asyncio.StreamReader, w: asyncio.StreamWriter, _req: bytes) -> bool:
        w.write(b"SMTP ready\r\n\r\n")
        return True

    server = await raw(garbage)
    async with httpx.AsyncClient(transport=Http1Transport()) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(server.url)


async def test_timeouts_become_retries_through_firebase_admin_and_refusals_connect_errors(
    raw: Callable[[Handler], Awaitable[RawServer]], tmp_path: Path
) -> None:
    async def silent(r: asyncio.StreamReader, _w: asyncio.StreamWriter, _req: bytes) -> bool:
        await r.read()  # never answers
        return False

    server = await raw(silent)
    with FakeFcm(project_id="hoso-test") as fake:  # only for its OAuth token endpoint
        sa = fake.write_service_account(tmp_path)
        s = FcmSender(str(sa), base_url=server.url, http_timeout=0.3)
        try:
            [late] = await s.send([msg("a")])
        finally:
            await s.aclose()
    assert late.outcome is Outcome.retry
    assert late.error is not None and "DeadlineExceeded" in late.error
    url = server.url
    assert server.server is not None
    server.server.close()
    await server.server.wait_closed()
    async with httpx.AsyncClient(transport=Http1Transport()) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(url)
