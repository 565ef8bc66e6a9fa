# ruff: noqa: F811  (pytest fixtures imported from channels_fixtures and test_outbox_wake, then named as parameters)
"""The SMS/Zalo channel dispatcher is woken, not left to its poll (issue 24).

What makes its work due is a citizen's push that did not reach them (no device, push off, failed): the push
dispatcher settles that, and ``backend/notices/worker.py`` wakes the channel dispatcher of the same process then.
The first tests run ``worker.run`` (``python -m backend dispatch``) polling every 60 s with eSMS configured (the
fake) and a daytime clock for the channels (SMS waits out quiet hours): a notice for a citizen with no device,
committed elsewhere (a raw asyncpg connection: NOTIFY) or by this process (its commit hook), reaches the citizen
by SMS within seconds, which only the wake can do. The last one checks that a wake arriving during a channel pass
is not lost (it was cleared after the pass).
"""

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.notices import worker
from backend.settings import Settings
from bench.fakes.esms_server import FakeEsms
from notifications.channels.dispatcher import ChannelDispatcher
from notifications.channels.senders import Prepared, SmsChannel
from notifications.sms.base import SendResult
from schemas.channels import NoticeChannel
from tests.notifications.channels_fixtures import (  # noqa: F401 (fixtures)
    add_citizen,
    add_notice,
    cdb,
    channels_url,
    config,
    esms,
    pg_channels_url,
    sms_channel,
    vn_clock,
)
from tests.notifications.support import enqueue_result_ready, make_engine
from tests.notifications.test_outbox_wake import (  # noqa: F401 (fixtures)
    DATABASES,
    LONG_POLL_S,
    WITHIN_S,
    insert_elsewhere,
    pg,
    pg_migrated,
    sqlite_migrated,
    until_listening,
)


def esms_settings(url: str, service_account: Path, fake: FakeEsms) -> Settings:
    return Settings(
        database_url=url,
        firebase_credentials=str(service_account),
        sms_provider="esms",
        sms_esms_api_key=fake.api_key,
        sms_esms_secret_key=fake.secret_key,
        sms_brandname=fake.brandname,
        sms_esms_base_url=fake.base_url,
    )


class Running:
    """``worker.run`` as a task: no sweep, 60 s polls, channels on a daytime clock."""

    def __init__(self, engine: AsyncEngine, settings: Settings, **kw: Any) -> None:
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(
            worker.run(
                engine,
                self.stop,
                sweep=False,
                settings=settings,
                poll_s=LONG_POLL_S,
                channel_clock=vn_clock(10),
                **kw,
            )
        )

    async def close(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 15)


async def texted_within(fake: FakeEsms, phone: str, limit_s: float) -> float:
    """Seconds until the fake eSMS accepted a message to ``phone``; fails past ``limit_s``."""
    t0 = time.monotonic()
    while not any(s.phone.lstrip("+").endswith(phone.lstrip("+")[-9:]) for s in fake.sent):
        if time.monotonic() - t0 > limit_s:
            raise AssertionError(f"no SMS to {phone} within {limit_s} s")
        await asyncio.sleep(0.01)
    return time.monotonic() - t0


def a_phone() -> str:
    return f"+8491{uuid.uuid4().int % 10**7:07d}"


async def test_a_notice_committed_elsewhere_reaches_sms_without_the_poll(
    pg: AsyncEngine, esms: FakeEsms, service_account: Path
) -> None:
    phone = a_phone()
    who = await add_citizen(pg, phone)  # no device: push skips it, SMS is the fallback
    run = Running(pg, esms_settings(str(pg.url), service_account, esms))
    try:
        await until_listening(pg)
        await insert_elsewhere(pg, who)
        took = await texted_within(esms, phone, WITHIN_S)
    finally:
        await run.close()
    assert took < WITHIN_S


@pytest.mark.parametrize("kind", DATABASES)
async def test_a_commit_in_this_process_reaches_sms_without_the_poll(
    kind: str, request: pytest.FixtureRequest, esms: FakeEsms, service_account: Path
) -> None:
    """The embedded service (SQLite: no NOTIFY): the enqueuing commit wakes push, push's outcome the channels."""
    url = request.getfixturevalue("sqlite_migrated" if kind == "sqlite" else "pg_migrated")
    engine = make_engine(url)
    try:
        phone = a_phone()
        who = await add_citizen(engine, phone)
        run = Running(engine, esms_settings(url, service_account, esms), listen=False)
        try:
            await asyncio.sleep(0.5)  # the first passes are over: both dispatchers wait for a wake or 60 s
            await enqueue_result_ready(engine, who)
            await texted_within(esms, phone, WITHIN_S)
        finally:
            await run.close()
    finally:
        await engine.dispose()


class HeldSms(SmsChannel):
    """The SMS channel whose first request waits for ``release`` (a pass kept in flight)."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def send(self, phone: str, prepared: Prepared, *, request_id: str) -> SendResult:
        if not self.entered.is_set():
            self.entered.set()
            await self.release.wait()
        return await super().send(phone, prepared, request_id=request_id)


async def test_a_wake_during_a_channel_pass_is_not_left_to_the_poll(cdb: AsyncEngine, esms: FakeEsms) -> None:
    first, second = a_phone(), a_phone()
    cfg = config()
    sms = HeldSms(sms_channel(esms, cfg).sms, cfg)
    d = ChannelDispatcher(cdb, {NoticeChannel.sms: sms}, cfg, clock=vn_clock(10), idle_interval=LONG_POLL_S)
    await add_notice(cdb, await add_citizen(cdb, first))
    stop = asyncio.Event()
    loop = asyncio.create_task(d.run_forever(stop))
    try:
        await asyncio.wait_for(sms.entered.wait(), WITHIN_S)  # the first pass is sending
        await add_notice(cdb, await add_citizen(cdb, second))  # after that pass's planner looked
        d.wake()
        sms.release.set()
        await texted_within(esms, second, WITHIN_S)
    finally:
        stop.set()
        sms.release.set()
        await asyncio.wait_for(loop, 15)
