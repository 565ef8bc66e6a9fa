"""The partner webhooks' background work: the relay (event rows -> deliveries) and the delivery worker.

Runs beside the notification dispatcher: in the embedded service unless ``RUN_DISPATCHER=false``, and in every
``python -m backend dispatch`` process (any number: both claim their work safely).
"""

import asyncio
import logging
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.lib.sweeper import in_background
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


def lifespan_hook(app: Any) -> AbstractAsyncContextManager[None]:
    settings: Settings = app.state.settings
    start = partial(run, app.state.engine, settings=settings)
    return in_background(start if settings.run_dispatcher else None, grace_s=15)
