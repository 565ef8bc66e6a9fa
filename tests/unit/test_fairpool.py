"""The connection pool's queue serves waiters in arrival order; a newcomer never takes a connection that was
handed back while others wait, and no connection is lost to a waiter that gave up."""

import asyncio

import pytest
from sqlalchemy.util import greenlet_spawn
from sqlalchemy.util.queue import AsyncAdaptedQueue, Empty

from backend.db import make_engine
from backend.lib.fairpool import FairAsyncQueuePool, FairQueue


async def _take(q: AsyncAdaptedQueue[str], order: list[str], who: str) -> str:
    item: str = await greenlet_spawn(q.get, True, 5.0)
    order.append(who)
    return item


async def test_waiters_are_served_in_arrival_order_without_barging() -> None:
    q: FairQueue[str] = FairQueue(maxsize=1)
    q.put_nowait("conn")
    held = await greenlet_spawn(q.get, True, 5.0)
    order: list[str] = []
    waiters = [asyncio.create_task(_take(q, order, who)) for who in ("a", "b", "c")]
    await asyncio.sleep(0)  # all three are waiting now
    q.put_nowait(held)  # handed to "a", not left for whoever asks first
    with pytest.raises(Empty):
        q.get_nowait()
    late = asyncio.create_task(_take(q, order, "late"))
    await asyncio.sleep(0)
    for waiter in waiters:
        q.put_nowait(await waiter)
    assert await late == "conn"
    assert order == ["a", "b", "c", "late"]


async def test_the_old_queue_lets_a_newcomer_barge_in() -> None:
    """Why FairQueue exists: SQLAlchemy's queue gives a returned connection to whoever asks first."""
    q: AsyncAdaptedQueue[str] = AsyncAdaptedQueue(maxsize=1)
    q.put_nowait("conn")
    held = await greenlet_spawn(q.get, True, 5.0)
    order: list[str] = []
    waiter = asyncio.create_task(_take(q, order, "waiting"))
    await asyncio.sleep(0)
    q.put_nowait(held)
    assert q.get_nowait() == "conn"  # the newcomer took it; the waiter will find the queue empty
    q.put_nowait("conn")
    await waiter


async def test_a_waiter_that_times_out_loses_nothing() -> None:
    q: FairQueue[str] = FairQueue(maxsize=1)
    with pytest.raises(Empty):
        await greenlet_spawn(q.get, True, 0.05)
    q.put_nowait("conn")  # the expired waiter is skipped: the connection stays idle
    assert q.qsize() == 1 and q.get_nowait() == "conn"


async def test_a_waiter_cancelled_after_the_handover_passes_it_on() -> None:
    q: FairQueue[str] = FairQueue(maxsize=1)
    order: list[str] = []
    first = asyncio.create_task(_take(q, order, "first"))
    await asyncio.sleep(0)
    second = asyncio.create_task(_take(q, order, "second"))
    await asyncio.sleep(0)
    q.put_nowait("conn")  # handed to the first waiter...
    first.cancel()  # ...which is cancelled before it resumes (a client that went away)
    assert await second == "conn" and order == ["second"]
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_postgresql_engines_use_the_fair_pool() -> None:
    engine = make_engine("postgresql+asyncpg://postgres@127.0.0.1:5432/test", pool_size=3)  # connects lazily
    pool = engine.sync_engine.pool
    assert isinstance(pool, FairAsyncQueuePool) and pool.size() == 3
    assert isinstance(pool._pool, FairQueue)  # type: ignore[attr-defined]
    await engine.dispose()
