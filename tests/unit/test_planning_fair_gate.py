"""Solves take turns between post offices (issue 17: one office's queue of solves starved the others)."""

import asyncio

import pytest

from backend.planning.worker import FairGate


async def _admission_order(gate: FairGate, jobs: list[str]) -> list[str]:
    order: list[str] = []
    release = asyncio.Event()

    async def job(name: str) -> None:
        async with gate.slot(name.split("-")[0]):
            order.append(name)
            await release.wait()
            release.clear()

    tasks = []
    for name in jobs:
        tasks.append(asyncio.create_task(job(name)))
        await asyncio.sleep(0)  # arrive in this order
    while len(order) < len(jobs):
        await asyncio.sleep(0)
        release.set()
        await asyncio.sleep(0)
    release.set()
    await asyncio.gather(*tasks)
    return order


async def test_offices_take_turns() -> None:
    jobs = ["A-1", "A-2", "A-3", "A-4", "B-1", "C-1", "B-2"]
    order = await _admission_order(FairGate(1), jobs)
    # A arrived first with four solves; B and C, arriving later, do not wait for all of A's.
    assert order == ["A-1", "A-2", "B-1", "C-1", "A-3", "B-2", "A-4"]


async def test_one_office_alone_runs_in_arrival_order() -> None:
    assert await _admission_order(FairGate(1), ["A-1", "A-2", "A-3"]) == ["A-1", "A-2", "A-3"]


async def test_a_cancelled_waiter_gives_up_its_turn_and_slots_are_bounded() -> None:
    gate = FairGate(2)
    await gate.acquire("A")
    await gate.acquire("B")
    assert gate.busy == 2
    waiter = asyncio.create_task(gate.acquire("C"))
    other = asyncio.create_task(gate.acquire("D"))
    await asyncio.sleep(0)
    assert gate.waiting() == {"C": 1, "D": 1}
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    gate.release()
    await asyncio.wait_for(other, 1)
    assert gate.busy == 2 and gate.waiting() == {}
    gate.release()
    gate.release()
    assert gate.busy == 0
