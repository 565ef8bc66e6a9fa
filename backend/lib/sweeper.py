"""Background sweeps: run a job every N seconds until told to stop, and the lifespan hook that starts one.

The money jobs, the rating invitations, the return offers, the catalogue changes and the due-soon warnings all
ran the same loop (one sweep, log what went wrong, sleep on the stop event so a stop ends the wait at once) and
the same hook (start the task, on shutdown set the stop and give it a grace before leaving it); they differ only
in which errors a sweep may meet and keep going, and in that grace. One copy here keeps them the same.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

# Everything a sweep may raise is logged and the next sweep tried: a background task that dies stays dead
# until the process restarts, and nobody reads a task's exception until shutdown.
ANY_ERROR: tuple[type[Exception], ...] = (Exception,)


@dataclass(frozen=True, slots=True)
class Sweeper:
    """``sweep`` every ``every_s`` seconds until the stop event is set.

    ``errors``: what a sweep may raise and the loop survive (logged ``"<name> failed"``); anything else ends
    the loop and reaches whoever awaits it. ``quiet``: those of them logged as one warning line (an expected
    outage, e.g. the database away) rather than with their traceback; the others keep their traceback.
    """

    name: str
    sweep: Callable[[], Awaitable[object]]
    every_s: float
    log: logging.Logger
    errors: tuple[type[Exception], ...] = ANY_ERROR
    quiet: tuple[type[Exception], ...] = ()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.sweep()
            except self.errors as exc:  # stacklevel: the record names the module whose run awaits this loop
                if isinstance(exc, self.quiet):
                    self.log.warning("%s failed: %s", self.name, exc, stacklevel=2)
                else:
                    self.log.exception("%s failed", self.name, stacklevel=2)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.every_s)


@contextlib.asynccontextmanager
async def in_background(
    start: Callable[[asyncio.Event], Coroutine[Any, Any, None]] | None, grace_s: float
) -> AsyncIterator[None]:
    """A lifespan hook's body: ``start(stop)`` as a task while the app runs (None: nothing runs, e.g. the
    switch is off). On shutdown the stop is set and the task given ``grace_s`` to finish its sweep; past it the
    task is cancelled (``wait_for``), so a stuck sweep never holds the shutdown."""
    if start is None:
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(start(stop))
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, timeout=grace_s)
