"""Background work of the embedded service: the outbox dispatcher and the due-soon sweep.

In production run dispatchers as their own processes (``python -m backend dispatch``, as many as needed: rows
are claimed with ``FOR UPDATE SKIP LOCKED``) and set ``RUN_DISPATCHER=false`` on the web processes.
"""

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.accounts.otp import make_sms_sender
from backend.db import session_factory
from backend.lib.sweeper import Sweeper, in_background
from backend.notices import wake
from backend.notices.services import warn_due_soon
from backend.notices.zns_setup import zns_sender
from backend.settings import Settings, get_settings
from notifications.channels.dispatcher import ChannelDispatcher
from notifications.channels.policy import FALLBACK_KINDS, ChannelConfig
from notifications.channels.senders import ChannelSender, SmsChannel, ZnsChannel
from notifications.dispatcher import Dispatcher, Settled
from notifications.push import PushSender, make_sender
from notifications.zns.templates import parse as parse_zns_templates
from schemas.base import utcnow
from schemas.channels import NoticeChannel
from schemas.notifications import NotificationStatus

log = logging.getLogger("backend.notices")
SWEEP_EVERY_S = 15 * 60
# The push dispatcher's poll when no notice wakes it: the fallback while the listener is down, and for notices
# that come due later (reminders, retries after backoff).
POLL_S = 1.0
# How long a woken push dispatcher waits before its pass, so that notices committed within that moment (each
# booking, sync or sweep commits its own) share one pass: one claim, device lookup, fence and settle for all of
# them instead of four transactions each (the FCM request stays one per device). bench.national --only push at
# 43/s, three pairs: server CPU per push 10.2-11.0 ms without, 6.7-8.3 ms with, p99 49-187 ms -> 62-186 ms. A
# notice waits at most this long more, far under the push limit of 500 ms; 40 ms saved more CPU but put p99 at
# 0.8-1.2 s on the loaded machine (each pass then carries more, and a notice can wait a whole gather plus a pass).
GATHER_S = 0.02
_UNREACHED = (NotificationStatus.skipped, NotificationStatus.failed)


async def _sweep(engine: AsyncEngine, stop: asyncio.Event) -> None:
    factory = session_factory(engine)

    async def once() -> None:
        async with factory() as session:
            written = await warn_due_soon(session)
        if written:
            log.info("due-soon warnings written: %d", written)

    await Sweeper("due-soon sweep", once, SWEEP_EVERY_S, log).run(stop)


def sender_for(settings: Settings) -> PushSender:
    """The push sender ``FIREBASE_CREDENTIALS``, ``FIREBASE_PROJECT_ID`` and ``APP_LINK_BASE`` configure (push
    off without credentials). It talks to Google's FCM address; where that needs a trusted CA, the standard
    ``SSL_CERT_FILE`` applies (README, Configuration)."""
    return make_sender(
        settings.firebase_credentials or None,
        project_id=settings.firebase_project_id or None,
        link_base=settings.app_link_base or None,
    )


def channel_config(settings: Settings, available: frozenset[NoticeChannel]) -> ChannelConfig:
    return ChannelConfig(
        unread_after=timedelta(seconds=settings.channel_unread_after_s),
        sms_cost_gsm7_vnd=settings.sms_cost_gsm7_vnd,
        sms_cost_ucs2_vnd=settings.sms_cost_ucs2_vnd,
        zns_cost_vnd=settings.zns_cost_vnd,
        available=available,
    )


def channel_dispatcher(
    engine: AsyncEngine,
    settings: Settings,
    *,
    poll_s: float = POLL_S,
    clock: Callable[[], datetime] = utcnow,
) -> ChannelDispatcher:
    """SMS (``SMS_PROVIDER``; the log sender sends nothing, so it is no channel) and Zalo ZNS (``ZNS_APP_ID``,
    its token store shared through the database) beside push."""
    senders: dict[NoticeChannel, ChannelSender] = {}
    available = {NoticeChannel.push}
    if settings.sms_provider != "log":
        available.add(NoticeChannel.sms)
    if settings.zns_enabled:
        available.add(NoticeChannel.zns)
    config = channel_config(settings, frozenset(available))
    if NoticeChannel.sms in available:
        senders[NoticeChannel.sms] = SmsChannel(
            make_sms_sender(settings),
            config,
            unicode=settings.sms_unicode,
            max_segments=settings.sms_max_segments,
        )
    if NoticeChannel.zns in available:
        senders[NoticeChannel.zns] = ZnsChannel(
            zns_sender(engine, settings), config, parse_zns_templates(settings.zns_templates)
        )
    return ChannelDispatcher(
        engine,
        senders,
        config,
        rates={NoticeChannel.sms: settings.sms_rate_per_s, NoticeChannel.zns: settings.zns_rate_per_s},
        max_attempts=settings.channel_max_attempts,
        idle_interval=poll_s,
        clock=clock,
    )


def wakes_channels(channels: ChannelDispatcher) -> Callable[[list[Settled]], None]:
    """The push dispatcher's ``after_settle``: a citizen's notice that push could not reach (no device, push
    off, failed) is what the channel planner looks for, so the channel dispatcher looks at once instead of at its
    next poll. Notices that were pushed but not opened come due ``CHANNEL_UNREAD_AFTER`` later: the poll's."""

    def after_settle(settled: list[Settled]) -> None:
        if any(
            s.status in _UNREACHED and s.row.recipient_kind == "citizen" and s.row.template in FALLBACK_KINDS
            for s in settled
        ):
            channels.wake()

    return after_settle


async def run(
    engine: AsyncEngine,
    stop: asyncio.Event,
    *,
    sweep: bool = True,
    settings: Settings | None = None,
    listen: bool = True,
    poll_s: float = POLL_S,
    channel_clock: Callable[[], datetime] = utcnow,
) -> None:
    """The dispatchers until ``stop``. Notices wake the push dispatcher at once (``backend/notices/wake.py``),
    and a push that did not reach its citizen wakes the channel dispatcher (``wakes_channels``); both poll every
    ``poll_s`` as the fallback. ``listen``: open this process's own LISTEN connection for that (``python -m
    backend dispatch``), not where the app's listener runs already (the embedded service). ``channel_clock``:
    tests give a daytime one (SMS and ZNS wait out quiet hours)."""
    settings = settings or get_settings()
    sender = sender_for(settings)
    channels = channel_dispatcher(engine, settings, poll_s=poll_s, clock=channel_clock)
    dispatcher = Dispatcher(
        engine,
        sender,
        honour_opt_out=True,
        idle_interval=poll_s,
        gather=GATHER_S,
        after_settle=wakes_channels(channels),
    )
    log.info("notification dispatcher %s started (push: %s)", dispatcher.worker_id, type(sender).__name__)
    tasks = [
        asyncio.create_task(dispatcher.run_forever(stop)),
        asyncio.create_task(channels.run_forever(stop)),
    ]
    if sweep:
        tasks.append(asyncio.create_task(_sweep(engine, stop)))
    if listen:
        tasks.append(asyncio.create_task(wake.listen_for_notices(engine, stop)))
    try:
        with wake.awake(dispatcher):
            await asyncio.gather(*tasks)
    finally:
        await sender.aclose()
        await channels.aclose()


def lifespan_hook(app: Any) -> AbstractAsyncContextManager[None]:
    settings: Settings = app.state.settings
    # The app's listener (backend.lib.pgnotify.lifespan_hook) hears hoso_outbox already.
    start = partial(run, app.state.engine, settings=settings, listen=False)
    return in_background(start if settings.run_dispatcher else None, grace_s=10)
