"""The return-offer sweep (issue 20) as a background task of the embedded service, beside the outbox dispatcher
and on the same switch (``RUN_DISPATCHER``): every ``RETURN_SWEEP_S`` it books the unanswered offers past their
``answer_by`` (``services/return_offers.sweep``). Safe with several processes: each offer is leased first."""

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.custody.services.return_offers import sweep
from backend.db import session_factory

log = logging.getLogger("backend.custody.returns")


async def run(engine: AsyncEngine, stop: asyncio.Event, every_s: float) -> None:
    factory = session_factory(engine)
    worker = f"{socket.gethostname()}:{os.getpid()}"
    while not stop.is_set():
        try:
            async with factory() as session:
                booked = await sweep(session, worker)
            if booked:
                log.info("return deliveries booked automatically: %d", booked)
        except Exception:
            log.exception("return-offer sweep failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every_s)


@asynccontextmanager
async def lifespan_hook(app: Any) -> AsyncIterator[None]:
    settings = app.state.settings
    if not settings.run_dispatcher:
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(run(app.state.engine, stop, settings.return_sweep_s))
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, timeout=10)
