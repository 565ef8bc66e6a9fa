"""Drill 3: Redis down under a running service (two workers).

A private ``redis-server`` holds the shared rate-limit counters (``REDIS_URL``); sign-ins are limited to
``limit`` per client IP and minute. Up: exactly ``limit`` staff logins from one address get through, whichever
worker answers. Stopped: the service keeps answering (no 5xx), public reads still 200, and the limit holds per
process (between ``limit`` and workers x ``limit`` get through, ``backend/lib/ratelimit.py``). Started again:
limits are shared again once ``SHARED_RETRY_S`` has passed.
"""

import asyncio
import statistics
import time

import httpx

from backend.lib.ratelimit import SHARED_RETRY_S
from bench.drills import common

WORKERS = 2


async def _logins(base: str, n: int) -> tuple[list[int], list[float]]:
    """``n`` wrong-password logins, each on a new connection (spread over the workers): statuses and ms."""
    codes, took = [], []
    for _ in range(n):
        async with httpx.AsyncClient(base_url=base, timeout=10) as c:
            began = time.perf_counter()
            r = await c.post("/api/v1/auth/staff/login", json={"username": "nobody", "password": "wrong"})
            took.append((time.perf_counter() - began) * 1000)
            codes.append(r.status_code)
    return codes, took


async def run_on(url: str, limit: int = 5) -> common.Outcome:
    redis = common.RedisServer()
    redis.start()
    try:
        with common.serving(url, WORKERS, REDIS_URL=redis.url, AUTH_RATE_PER_MINUTE=str(limit)) as service:
            up, _ = await _logins(service.base, 3 * limit)
            redis.stop()
            down, took = await _logins(service.base, 6 * limit)
            async with httpx.AsyncClient(base_url=service.base, timeout=10) as c:
                reads = [(await c.get("/api/v1/procedures")).status_code for _ in range(10)]
                reads.append((await c.get("/health")).status_code)
            redis.start()
            await asyncio.sleep(SHARED_RETRY_S + 0.5)
            back, _ = await _logins(service.base, 3 * limit)
    finally:
        redis.stop()
    through = [sum(1 for c in codes if c != 429) for codes in (up, down, back)]
    errors = [c for c in up + down + back + reads if c >= 500]
    passed = (
        through[0] == limit
        and limit <= through[1] <= WORKERS * limit
        and through[2] == limit
        and not errors
        and set(reads) == {200}
    )
    return common.Outcome(
        drill="3 Redis down",
        done=f"{WORKERS} workers, sign-ins limited to {limit}/min per IP; Redis stopped, then started again",
        expected=f"up: {limit} through; down: no 5xx, reads 200, {limit}..{WORKERS * limit} through (per process); "
        f"back: {limit} through",
        observed=f"through up/down/back = {through[0]}/{through[1]}/{through[2]}; 5xx {len(errors)}; "
        f"reads {sorted(set(reads))}",
        passed=passed,
        figures={
            "login_ms_p50_down": round(statistics.median(took), 1),
            "login_ms_max_down": round(max(took), 1),
            "answers_down": dict(sorted({c: down.count(c) for c in down}.items())),
        },
    )


async def run() -> common.Outcome:
    async with common.database() as (url, _):
        return await run_on(url)
