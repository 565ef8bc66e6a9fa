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
from backend.notices.services import warn_due_soon
from backend.settings import Settings, get_settings
from notifications.dispatcher import Dispatcher
from notifications.push import PushSender, make_sender

log = logging.getLogger("backend.notices")
SWEEP_EVERY_S = 15 * 60


async def _sweep(engine: AsyncEngine, stop: asyncio.Event) -> None:
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


def sender_for(settings: Settings) -> PushSender:
    """The push sender ``FIREBASE_CREDENTIALS``, ``FIREBASE_PROJECT_ID`` and ``APP_LINK_BASE`` configure (push
    off without credentials). It talks to Google's FCM address; where that needs a trusted CA, the standard
    ``SSL_CERT_FILE`` applies (README, Configuration)."""
    return make_sender(
        settings.firebase_credentials or None,
        project_id=settings.firebase_project_id or None,
        link_base=settings.app_link_base or None,
    )


async def run(
    engine: AsyncEngine, stop: asyncio.Event, *, sweep: bool = True, settings: Settings | None = None
) -> None:
    sender = sender_for(settings or get_settings())
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
    task = asyncio.create_task(run(app.state.engine, stop, settings=app.state.settings))
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, timeout=10)
