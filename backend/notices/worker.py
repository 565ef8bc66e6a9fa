"""Background work of the embedded service: the outbox dispatcher and the due-soon sweep.

In production run dispatchers as their own processes (``python -m backend dispatch``, as many as needed: rows
are claimed with ``FOR UPDATE SKIP LOCKED``) and set ``RUN_DISPATCHER=false`` on the web processes.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import session_factory
from notifications.dispatcher import Dispatcher
from notifications.push import sender_from_env

log = logging.getLogger("backend.notices")
SWEEP_EVERY_S = 15 * 60


async def _sweep(engine: AsyncEngine, stop: asyncio.Event) -> None:
    from backend.notices.services import warn_due_soon

    factory = session_factory(engine)
    while not stop.is_set():
        try:
            async with factory() as session:
                written = await warn_due_soon(session)
            if written:
                log.info("due-soon warnings written: %d", written)
        except Exception:
            log.exception("due-soon sweep failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=SWEEP_EVERY_S)


async def run(engine: AsyncEngine, stop: asyncio.Event, *, sweep: bool = True) -> None:
    sender = sender_from_env()
    dispatcher = Dispatcher(engine, sender)
    log.info("notification dispatcher %s started (push: %s)", dispatcher.worker_id, type(sender).__name__)
    tasks = [asyncio.create_task(dispatcher.run_forever(stop))]
    if sweep:
        tasks.append(asyncio.create_task(_sweep(engine, stop)))
    try:
        await asyncio.gather(*tasks)
    finally:
        await sender.aclose()


@asynccontextmanager
async def lifespan_hook(app: Any) -> AsyncIterator[None]:
    if not app.state.settings.run_dispatcher:
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(run(app.state.engine, stop))
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, timeout=10)
