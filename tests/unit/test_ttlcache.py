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


async def test_a_load_that_started_before_an_invalidation_is_not_kept() -> None:
    """Issue 17: the loader reads the database, an invalidation arrives, then the loader stores the stale
    value. The caller still gets what it loaded, but the next caller loads afresh."""
    cache: TtlCache[str, str] = TtlCache(60)
    database = {"k": "old"}
    loaded, release = asyncio.Event(), asyncio.Event()

    async def slow_load() -> str:
        value = database["k"]  # read before the change
        loaded.set()
        await release.wait()
        return value

    first = asyncio.create_task(cache.get_or_load("k", slow_load))
    await loaded.wait()
    database["k"] = "new"  # another process commits a change...
    cache.clear()  # ...and its notification clears this cache, while the load is still in flight
    release.set()
    assert await first == "old"
    assert cache.get("k") is None

    async def load() -> str:
        return database["k"]

    assert await cache.get_or_load("k", load) == "new"
    assert cache.get("k") == "new"


async def test_a_caller_after_an_invalidation_does_not_join_the_stale_load() -> None:
    cache: TtlCache[str, int] = TtlCache(60)
    release = asyncio.Event()
    version = 1

    async def load() -> int:
        seen = version
        await release.wait()
        return seen

    first = asyncio.create_task(cache.get_or_load("k", load))
    await asyncio.sleep(0)
    version = 2
    cache.forget("k")
    second = asyncio.create_task(cache.get_or_load("k", load))
    await asyncio.sleep(0)
    release.set()
    assert (await first, await second) == (1, 2)
    assert cache.get("k") == 2


def test_put_since_a_generation_is_dropped_after_an_invalidation() -> None:
    cache: TtlCache[str, int] = TtlCache(60)
    since = cache.generation
    cache.forget("other")
    assert cache.put("k", 1, since=since) == 1 and cache.get("k") is None
    assert cache.put("k", 2, since=cache.generation) == 2 and cache.get("k") == 2
