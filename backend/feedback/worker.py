"""The sweep that invites citizens to rate their completed visits (``ratings.invite_due``) every
RATING_SWEEP_S: in the embedded service unless ``RUN_DISPATCHER=false`` or ``RATING_SWEEP_S=0``. Several
processes may run it (an invitation is keyed by its visit)."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import session_factory
from backend.feedback.ratings import invite_due
from backend.settings import Settings

log = logging.getLogger("backend.feedback")


async def run(engine: AsyncEngine, stop: asyncio.Event, settings: Settings) -> None:
    make = session_factory(engine)
    while not stop.is_set():
        try:
            async with make() as session:
                invited = await invite_due(session, settings)
            if invited:
                log.info("invited %d citizens to rate their visits", invited)
        except (DBAPIError, OSError) as exc:  # the database away: try again at the next sweep
            log.warning("rating invitations sweep failed: %s", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.rating_sweep_s)


@asynccontextmanager
async def lifespan_hook(app: Any) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    if not settings.run_dispatcher or settings.rating_sweep_s <= 0:
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(run(app.state.engine, stop, settings))
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, timeout=15)
