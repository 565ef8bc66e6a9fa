"""``backend.lib.single_flight``: concurrent callers of a key share one run; a failed or cancelled run is not
shared; ``forget`` starts a new run for later callers; ``join=False`` never takes another caller's result."""

import asyncio

import pytest

from backend.lib.single_flight import SingleFlight


class Maker:
    def __init__(self, fail: bool = False) -> None:
        self.calls = 0
        self.fail = fail
        self.release = asyncio.Event()

    async def __call__(self) -> int:
        self.calls += 1
        await self.release.wait()
        if self.fail:
            raise RuntimeError("run failed")
        return self.calls


async def test_concurrent_callers_share_one_run() -> None:
    flights: SingleFlight[str, int] = SingleFlight()
    make = Maker()
    callers = [asyncio.ensure_future(flights.run("k", make)) for _ in range(10)]
    await asyncio.sleep(0)
    make.release.set()
    assert await asyncio.gather(*callers) == [1] * 10 and make.calls == 1
    assert len(flights) == 0


async def test_a_failed_run_is_not_shared_each_waiter_runs_for_itself() -> None:
    flights: SingleFlight[str, int] = SingleFlight()
    failing = Maker(fail=True)
    first = asyncio.ensure_future(flights.run("k", failing))
    await asyncio.sleep(0)
    working = Maker()
    working.release.set()
    waiter = asyncio.ensure_future(flights.run("k", working))
    await asyncio.sleep(0)
    failing.release.set()
    with pytest.raises(RuntimeError):
        await first
    assert await waiter == 1 and working.calls == 1


async def test_a_cancelled_run_is_not_shared_and_a_cancelled_waiter_is_cancelled() -> None:
    flights: SingleFlight[str, int] = SingleFlight()
    slow = Maker()
    first = asyncio.ensure_future(flights.run("k", slow))
    await asyncio.sleep(0)
    other = Maker()
    other.release.set()
    waiter = asyncio.ensure_future(flights.run("k", other))
    quitter = asyncio.ensure_future(flights.run("k", other))
    await asyncio.sleep(0)
    quitter.cancel()
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await quitter
    assert await waiter == 1 and other.calls == 1


async def test_forget_makes_later_callers_run_afresh() -> None:
    flights: SingleFlight[str, int] = SingleFlight()
    stale = Maker()
    first = asyncio.ensure_future(flights.run("k", stale))
    await asyncio.sleep(0)
    flights.forget_where(lambda key: key == "k")
    fresh = Maker()
    fresh.release.set()
    assert await flights.run("k", fresh) == 1 and fresh.calls == 1
    stale.release.set()
    assert await first == 1


async def test_join_false_never_takes_another_callers_result_and_waited_waits() -> None:
    flights: SingleFlight[str, int] = SingleFlight()
    theirs = Maker()
    first = asyncio.ensure_future(flights.run("k", theirs))
    await asyncio.sleep(0)
    waiting = asyncio.ensure_future(flights.waited("k"))
    await asyncio.sleep(0)  # waiting on their run
    mine = Maker()
    mine.release.set()
    assert await flights.run("k", mine, join=False) == 1 and mine.calls == 1
    assert not waiting.done()
    theirs.release.set()
    assert await first == 1 and await waiting is True
    assert await flights.waited("k") is False
