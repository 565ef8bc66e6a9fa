"""The per-client limit shared through Redis (backend/lib/client_limit.py): two processes' limiters against one
Redis (db 11, its keys under a prefix of this test) let one client through at the shared limit, not twice it,
with about one Redis call per chunk; with Redis unreachable each limits on its own and says so once."""

import asyncio
import logging
import socket
import time
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from backend.lib import client_limit
from backend.lib.client_limit import ClientLimiter, SharedClientLimiter

REDIS_URL = "redis://127.0.0.1:6379/11"


@pytest_asyncio.fixture
async def client_ip() -> AsyncIterator[str]:
    ip = f"203.0.113.9-{uuid.uuid4().hex[:8]}"  # a bucket no other run shares
    yield ip
    r = aioredis.from_url(REDIS_URL)
    await r.delete(client_limit.PREFIX + ip)
    await r.aclose()


async def _pair(rate: float, burst: int) -> tuple[SharedClientLimiter, SharedClientLimiter]:
    return (
        SharedClientLimiter(ClientLimiter(rate, burst), REDIS_URL),
        SharedClientLimiter(ClientLimiter(rate, burst), REDIS_URL),
    )


async def test_two_processes_share_one_limit(client_ip: str) -> None:
    a, b = await _pair(rate=0.01, burst=20)  # a chunk of one token: exact
    try:
        waits = [await (a if i % 2 else b).acquire(client_ip) for i in range(40)]
        assert sum(w == 0 for w in waits) == 20, waits
        assert all(w > 1 for w in waits[20:]), "refused with the time until the next token"
    finally:
        await a.aclose()
        await b.aclose()


async def test_chunks_keep_redis_calls_few_and_the_limit_near_the_shared_one(client_ip: str) -> None:
    a, b = await _pair(rate=50, burst=200)  # the defaults: chunks of 10 tokens
    assert a.chunk == 10
    try:
        began = time.monotonic()
        waits = [await (a if i % 2 else b).acquire(client_ip) for i in range(600)]
        elapsed = time.monotonic() - began
        allowed = sum(w == 0 for w in waits)
        shared = 200 + 50 * elapsed
        assert shared - 2 * a.chunk <= allowed <= shared + 2 * a.chunk, (allowed, shared)
        assert allowed < 300, "not twice the limit"
        calls = a.calls + b.calls
        assert calls <= allowed / a.chunk + 8, (
            calls,
            allowed,
        )  # refused: asked again only when a token is due
    finally:
        await a.aclose()
        await b.aclose()


async def test_concurrent_requests_of_one_client_wait_for_one_call(client_ip: str) -> None:
    a, _b = await _pair(rate=50, burst=200)
    try:
        waits = await asyncio.gather(*(a.acquire(client_ip) for _ in range(50)))
        assert waits == [0.0] * 50
        assert a.calls == 1, "one call took a token for each request queued behind it"
    finally:
        await a.aclose()
        await _b.aclose()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_redis_unreachable_limits_per_process_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limiter = SharedClientLimiter(ClientLimiter(0.01, 3), f"redis://127.0.0.1:{_closed_port()}/0")
    try:
        with caplog.at_level(logging.WARNING, logger=client_limit.__name__):
            waits = [await limiter.acquire("198.51.100.9") for _ in range(5)]
        assert waits[:3] == [0.0, 0.0, 0.0] and all(w > 0 for w in waits[3:]), waits
        assert limiter.down and limiter.calls == 1, "asked once, then left alone for SHARED_RETRY_S"
        assert sum("unavailable" in r.getMessage() for r in caplog.records) == 1
    finally:
        await limiter.aclose()
