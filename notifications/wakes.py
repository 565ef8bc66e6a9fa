"""Waiting for work: the dispatchers' idle wait, ended by a wake (a notice committed, a push that did not reach
its citizen), by ``stop`` or by the poll interval, whichever comes first."""

import asyncio


async def woken(wake: asyncio.Event, stop: asyncio.Event, poll_s: float) -> bool:
    """Wait for ``wake``, ``stop`` or ``poll_s`` seconds; True when a wake ended it (and ``stop`` is not set)."""
    waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waits, timeout=poll_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
    return wake.is_set() and not stop.is_set()
