"""bench/national.py's open loop: every arrival answered once, connections the server closed reopened."""

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio

from bench import loadgen
from bench.national import open_loop


@pytest_asyncio.fixture
async def closing_server() -> AsyncIterator[tuple[int, list[bytes]]]:
    """Answers the first request of a connection and keeps it open, then closes it on the next request without
    answering (as when Granian ends an idle keep-alive connection just as the client writes)."""
    seen: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            seen.append(head.split(b"\r\n")[0])
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
            await reader.readuntil(b"\r\n\r\n")  # the next one: dropped unanswered
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    srv = await asyncio.start_server(serve, "127.0.0.1", 0)
    yield srv.sockets[0].getsockname()[1], seen
    srv.close()


async def test_every_arrival_is_answered_over_reopened_connections(
    closing_server: tuple[int, list[bytes]],
) -> None:
    port, seen = closing_server
    requests = [loadgen.request_bytes("GET", f"/track/{i}", f"127.0.0.1:{port}") for i in range(20)]
    arrivals = [i * 0.005 for i in range(20)]
    result = await open_loop("127.0.0.1", port, requests, 2, arrivals)
    # Two connections for twenty requests, each answering once: most requests were dropped on a reused
    # connection and sent again on a new one; each answered once, none counted as an error (status 0).
    assert result.statuses == {200: 20}
    assert sorted(seen) == sorted(f"GET /track/{i} HTTP/1.1".encode() for i in range(20))
    assert len(result.latencies_ms) == 20 and min(result.latencies_ms) >= 0


async def test_a_server_that_is_gone_counts_as_errors() -> None:
    srv = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    srv.close()
    await srv.wait_closed()
    requests = [loadgen.request_bytes("GET", "/track/x", f"127.0.0.1:{port}")] * 3
    result = await open_loop("127.0.0.1", port, requests, 2, [0.0, 0.001, 0.002])
    assert result.statuses == {0: 3}
