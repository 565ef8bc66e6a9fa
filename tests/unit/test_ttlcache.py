"""The reference-data cache: expiry, and one load for many concurrent misses of a key."""

import asyncio

import pytest

from backend.lib.ttlcache import TtlCache


async def test_concurrent_misses_share_one_load() -> None:
    cache: TtlCache[str, int] = TtlCache(60)
    calls = 0
    release = asyncio.Event()

    async def load() -> int:
        nonlocal calls
        calls += 1
        await release.wait()
        return 42

    waiters = [asyncio.create_task(cache.get_or_load("k", load)) for _ in range(50)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*waiters) == [42] * 50
    assert calls == 1
    assert await cache.get_or_load("k", load) == 42 and calls == 1  # now a plain hit


async def test_a_failed_load_lets_each_waiter_load_for_itself() -> None:
    cache: TtlCache[str, int] = TtlCache(60)
    attempts = 0
    first_started = asyncio.Event()

    async def load() -> int:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            first_started.set()
            await asyncio.sleep(0.01)
            raise RuntimeError("database unavailable")
        return 7

    first = asyncio.create_task(cache.get_or_load("k", load))
    await first_started.wait()
    second = asyncio.create_task(cache.get_or_load("k", load))
    with pytest.raises(RuntimeError):
        await first
    assert await second == 7
    assert attempts == 2


async def test_a_cancelled_waiter_does_not_cancel_the_load() -> None:
    cache: TtlCache[str, int] = TtlCache(60)
    release = asyncio.Event()

    async def load() -> int:
        await release.wait()
        return 1

    loader = asyncio.create_task(cache.get_or_load("k", load))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(cache.get_or_load("k", load))
    await asyncio.sleep(0)
    waiter.cancel()
    release.set()
    assert await loader == 1
    with pytest.raises(asyncio.CancelledError):
        await waiter


def test_entries_expire() -> None:
    cache: TtlCache[str, int] = TtlCache(0.0)
    cache.put("k", 1)
    assert cache.get("k") is None
