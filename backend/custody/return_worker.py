"""The return-offer sweep (issue 20) as a background task of the embedded service, beside the outbox dispatcher
and on the same switch (``RUN_DISPATCHER``): every ``RETURN_SWEEP_S`` it books the unanswered offers past their
``answer_by`` (``services/return_offers.sweep``). Safe with several processes: each offer is leased first."""

import asyncio
import logging
import os
import socket
from contextlib import AbstractAsyncContextManager
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.custody.services.return_offers import sweep
from backend.db import session_factory
from backend.lib.sweeper import Sweeper, in_background

log = logging.getLogger("backend.custody.returns")


async def run(engine: AsyncEngine, stop: asyncio.Event, every_s: float) -> None:
    factory = session_factory(engine)
    worker = f"{socket.gethostname()}:{os.getpid()}"

    async def once() -> None:
        async with factory() as session:
            booked = await sweep(session, worker)
        if booked:
            log.info("return deliveries booked automatically: %d", booked)

    await Sweeper("return-offer sweep", once, every_s, log).run(stop)


def lifespan_hook(app: Any) -> AbstractAsyncContextManager[None]:
    settings = app.state.settings
    start = partial(run, app.state.engine, every_s=settings.return_sweep_s)
    return in_background(start if settings.run_dispatcher else None, grace_s=10)
