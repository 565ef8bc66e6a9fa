"""The partner webhooks' background work: the relay (event rows -> deliveries) and the delivery worker.

Runs beside the notification dispatcher: in the embedded service unless ``RUN_DISPATCHER=false``, and in every
``python -m backend dispatch`` process (any number: both claim their work safely).
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.partners.delivery import Delivery
from backend.partners.relay import Relay
from backend.settings import Settings

log = logging.getLogger("backend.partners")


def delivery_for(engine: AsyncEngine, settings: Settings, **kwargs: Any) -> Delivery:
    return Delivery(
        engine,
        production=settings.is_production,
        timeout_s=settings.webhook_timeout_s,
        lease=timedelta(seconds=settings.webhook_lease_s),
        max_attempts=settings.webhook_max_attempts,
        backoff_base=timedelta(seconds=settings.webhook_backoff_base_s),
        backoff_cap=timedelta(seconds=settings.webhook_backoff_cap_s),
        **kwargs,
    )


async def run(engine: AsyncEngine, stop: asyncio.Event, settings: Settings) -> None:
    delivery = delivery_for(engine, settings)
    log.info("webhook relay and delivery %s started", delivery.worker_id)
    try:
        await asyncio.gather(Relay(engine).run_forever(stop), delivery.run_forever(stop))
    finally:
        await delivery.aclose()


@asynccontextmanager
async def lifespan_hook(app: Any) -> AsyncIterator[None]:
    if not app.state.settings.run_dispatcher:
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(run(app.state.engine, stop, app.state.settings))
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, timeout=15)
