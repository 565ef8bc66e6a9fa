"""Drill 3 as a test: Redis down. Rate limits fail open to per-process counters and the service keeps serving
(before the fix every sign-in answered 500 while Redis was unreachable); when Redis is back, limits are shared
again. Real Redis (a private ``redis-server`` on a free port) and redis-py through Litestar's ``RedisStore``."""

import asyncio
import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest
from litestar.stores.redis import RedisStore
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.lib import ratelimit
from backend.lib.problems import Problem
from tests.conftest import lifespan


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _redis(port: int) -> Iterator[subprocess.Popen[bytes]]:
    """A private redis-server (no persistence) on ``port``, stopped at the end."""
    exe = shutil.which("redis-server")
    assert exe, "redis-server is needed (the suite runs against Redis on 6379)"
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def _counts_until_429(store: RedisStore, key: str, limit: int) -> int:
    """Requests counted before the first 429 (``limit`` + 1 attempts at most)."""
    for n in range(limit + 1):
        try:
            await ratelimit.hit(store, key, limit, 60)
        except Problem as exc:
            assert exc.status_code == 429
            return n
    return limit + 1


async def test_limits_fail_open_per_process_while_redis_is_down_and_are_shared_again_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ratelimit, "SHARED_RETRY_S", 0.2)
    port = _free_port()
    client = Redis.from_url(f"redis://127.0.0.1:{port}/0", socket_connect_timeout=1, socket_timeout=1)
    store = RedisStore(client, namespace="drill-rate")
    try:
        with _redis(port):
            assert await _counts_until_429(store, "ip:login:a", 3) == 3
            assert await store.get("ip:login:a") is not None  # counted in Redis
            assert not ratelimit.shared_store_down(store)
        # Redis stopped: no error reaches the caller; the limit still holds, counted in this process.
        assert await _counts_until_429(store, "ip:login:b", 3) == 3
        assert ratelimit.shared_store_down(store)
        with _redis(port):
            await asyncio.sleep(0.3)  # past SHARED_RETRY_S: the next hit tries Redis again
            await ratelimit.hit(store, "ip:login:c", 3, 60)
            assert not ratelimit.shared_store_down(store)
            assert await store.get("ip:login:c") is not None  # shared again
            # Counters kept in memory during the outage are gone with it (a fresh window in Redis).
            assert await _counts_until_429(store, "ip:login:b", 3) == 3
    finally:
        await client.aclose()


async def test_the_service_keeps_answering_sign_ins_with_redis_unreachable(engine: AsyncEngine) -> None:
    """The app as configured for several processes (``REDIS_URL``), with nothing listening there: staff login
    answers 401 for a wrong password and 429 past the limit, never 500; health and public reads answer."""
    from backend.app import create_app
    from backend.settings import Settings

    dead = f"redis://127.0.0.1:{_free_port()}/0"
    app = create_app(
        Settings(database_url=str(engine.url), redis_url=dead, auth_rate_per_minute=3), engine=engine
    )
    async with lifespan(app):
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            codes = []
            for _ in range(5):
                r = await c.post("/api/v1/auth/staff/login", json={"username": "nobody", "password": "wrong"})
                codes.append(r.status_code)
            assert codes == [401, 401, 401, 429, 429], codes
            assert r.json()["code"] == "rate_limited" and int(r.headers["Retry-After"]) >= 1
            assert (await c.get("/health")).status_code == 200
            assert (await c.get("/api/v1/procedures")).status_code == 200
