"""The sweep that invites citizens to rate their completed visits (``ratings.invite_due``) every
RATING_SWEEP_S: in the embedded service unless ``RUN_DISPATCHER=false`` or ``RATING_SWEEP_S=0``. Several
processes may run it (an invitation is keyed by its visit)."""

import asyncio
import logging
from contextlib import AbstractAsyncContextManager
from functools import partial
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import session_factory
from backend.feedback.ratings import invite_due
from backend.lib.sweeper import Sweeper, in_background
from backend.settings import Settings

log = logging.getLogger("backend.feedback")


async def run(engine: AsyncEngine, stop: asyncio.Event, settings: Settings) -> None:
    make = session_factory(engine)

    async def once() -> None:
        async with make() as session:
            invited = await invite_due(session, settings)
        if invited:
            log.info("invited %d citizens to rate their visits", invited)

    # The database away (DBAPIError, OSError): try again at the next sweep.
    every_s = settings.rating_sweep_s
    await Sweeper("rating invitations sweep", once, every_s, log, quiet=(DBAPIError, OSError)).run(stop)


def lifespan_hook(app: Any) -> AbstractAsyncContextManager[None]:
    settings: Settings = app.state.settings
    on = settings.run_dispatcher and settings.rating_sweep_s > 0
    return in_background(partial(run, app.state.engine, settings=settings) if on else None, grace_s=15)
