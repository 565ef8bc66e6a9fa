"""The benchmarks' load generator counts what a server answered, in both loads."""

import asyncio
import gc
from collections.abc import AsyncIterator

import pytest_asyncio

from bench import loadgen


@pytest_asyncio.fixture
async def server() -> AsyncIterator[tuple[int, list[bytes]]]:
    seen: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(x.split(b":")[1])
                        for x in head.split(b"\r\n")
                        if x.lower().startswith(b"content-length")
                    ),
                    0,
                )
                body = await reader.readexactly(length)
                seen.append(head.split(b"\r\n")[0] + b" " + body)
                status = b"409 Conflict" if body == b"full" else b"200 OK"
                writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    srv = await asyncio.start_server(serve, "127.0.0.1", 0)
    yield srv.sockets[0].getsockname()[1], seen
    srv.close()


async def test_closed_loop_sends_every_request_once(server: tuple[int, list[bytes]]) -> None:
    port, seen = server
    host = f"127.0.0.1:{port}"
    requests = [
        loadgen.request_bytes("POST", f"/x/{i}", host, {"X-N": str(i)}, b"full" if i % 4 == 0 else b"ok")
        for i in range(40)
    ]
    result = await loadgen.closed_loop("127.0.0.1", port, requests, clients=5)
    assert len(result.latencies_ms) == 40 and result.statuses == {200: 30, 409: 10}
    assert sorted(seen) == sorted(
        f"POST /x/{i} HTTP/1.1 ".encode() + (b"full" if i % 4 == 0 else b"ok") for i in range(40)
    )
    assert result.pct(50) <= result.pct(99) and result.rate > 0


async def test_open_loop_answers_every_arrival(server: tuple[int, list[bytes]]) -> None:
    port, seen = server
    requests = [loadgen.request_bytes("GET", "/slots", f"127.0.0.1:{port}")] * 30
    result = await loadgen.open_loop("127.0.0.1", port, requests, clients=3, rate=300.0)
    assert result.statuses == {200: 30} and len(seen) == 30
    assert len(result.latencies_ms) == 30 and min(result.latencies_ms) >= 0


def test_the_collector_is_paused_while_measuring_and_restored_after() -> None:
    assert gc.isenabled()
    with loadgen.collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with loadgen.collector_paused():
            pass
        assert not gc.isenabled()  # left as it was found
    finally:
        gc.enable()
