"""Shared by the channel tests (``test_channels*.py``): their own database (the outbox, citizens, channel and ZNS
tables; a PostgreSQL database of their own, since ``channel_delivery`` refers to ``notification`` and the push
tests truncate that), the loopback eSMS and Zalo fakes, and helpers that write notices and read deliveries."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.fakes.esms_server import FakeEsms
from bench.fakes.zns_server import FakeZalo
from notifications.channels.dispatcher import ChannelDispatcher
from notifications.channels.policy import ChannelConfig
from notifications.channels.senders import ChannelSender, SmsChannel, ZnsChannel
from notifications.outbox import insert_rows, notification_row
from notifications.sms.esms import EsmsConfig, EsmsSender
from notifications.zns import OAuthConfig, TokenStore, ZnsConfig, ZnsSender
from notifications.zns.templates import parse as parse_zns
from schemas.accounts import Citizen
from schemas.channels import (
    CHANNEL_TABLES,
    ChannelDelivery,
    ChannelDeliveryEvent,
    ChannelPreference,
    NoticeChannel,
)
from schemas.notifications import NOTIFICATION_TABLES, Notification
from schemas.vntime import VN_TZ
from schemas.zns import ZnsEvent, ZnsMessage, ZnsToken
from tests.notifications.dbfixtures import table_databases
from tests.notifications.support import Clock, make_engine

TABLES = [
    Citizen.__table__,  # type: ignore[attr-defined]
    *NOTIFICATION_TABLES,
    *CHANNEL_TABLES,
    ZnsToken.__table__,  # type: ignore[attr-defined]
    ZnsMessage.__table__,  # type: ignore[attr-defined]
    ZnsEvent.__table__,  # type: ignore[attr-defined]
]
TRUNCATE = (
    "TRUNCATE channel_delivery_event, channel_delivery, channel_preference, channel_rate, notification_delivery, "
    "notification, device_target, citizen, zns_event, zns_message, zns_token CASCADE"
)
ZNS_TEMPLATES = "dossier.result_ready=302145,courier.on_the_way=302146,dossier.supplement_requested=302147"
D = ChannelDelivery.__table__  # type: ignore[attr-defined]
E = ChannelDeliveryEvent.__table__  # type: ignore[attr-defined]
N = Notification.__table__  # type: ignore[attr-defined]


def vn_clock(hour: int, minute: int = 0) -> Clock:
    """Tomorrow (Vietnam) at hour:minute, so a notice written now is within the planner's horizon."""
    day = datetime.now(VN_TZ).date() + timedelta(days=1)
    return Clock(datetime.combine(day, time(hour, minute), tzinfo=VN_TZ).astimezone(UTC))


pg_channels_url, channels_url = table_databases("channels", TABLES, TRUNCATE)


@pytest_asyncio.fixture
async def cdb(channels_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(channels_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def esms() -> Iterator[FakeEsms]:
    fake = FakeEsms().start()
    yield fake
    fake.stop()


@pytest.fixture
def zalo() -> Iterator[FakeZalo]:
    # Each template declares the parameters ZNS_TEMPLATES says it was submitted with.
    fake = FakeZalo(
        templates={t.template_id: tuple(t.params) for t in parse_zns(ZNS_TEMPLATES).values()}
    ).start()
    yield fake
    fake.stop()


def config(**kw: Any) -> ChannelConfig:
    base: dict[str, Any] = {
        "unread_after": timedelta(minutes=30),
        "sms_cost_gsm7_vnd": 450,
        "sms_cost_ucs2_vnd": 850,
        "zns_cost_vnd": 300,
        "available": frozenset({NoticeChannel.push, NoticeChannel.sms}),
    }
    base.update(kw)
    return ChannelConfig(**base)


def sms_channel(fake: FakeEsms, cfg: ChannelConfig) -> SmsChannel:
    esms = EsmsSender(
        EsmsConfig(fake.api_key, fake.secret_key, fake.brandname, base_url=fake.base_url, timeout_s=5)
    )
    return SmsChannel(esms, cfg, unicode=False, max_segments=2)


def zns_channel(engine: AsyncEngine, fake: FakeZalo, cfg: ChannelConfig) -> ZnsChannel:
    tokens = TokenStore(
        engine,
        OAuthConfig(fake.app_id, fake.app_secret, oauth_url=fake.base_url, timeout_s=5),
        fake.refresh_token,
    )
    return ZnsChannel(
        ZnsSender(ZnsConfig(base_url=fake.base_url, timeout_s=5), tokens), cfg, parse_zns(ZNS_TEMPLATES)
    )


def dispatcher(
    engine: AsyncEngine,
    senders: dict[NoticeChannel, ChannelSender],
    cfg: ChannelConfig,
    clock: Clock,
    **kw: Any,
) -> ChannelDispatcher:
    kw.setdefault("rates", {})
    kw.setdefault("backoff_base", timedelta(seconds=10))
    return ChannelDispatcher(engine, senders, cfg, clock=clock, idle_interval=0.02, **kw)


async def add_citizen(engine: AsyncEngine, phone: str) -> uuid.UUID:
    cid = uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(
            Citizen.__table__.insert(),  # type: ignore[attr-defined]
            [{"id": cid, "phone": phone, "created_at": datetime.now().astimezone(), "token_version": 0}],
        )
    return cid


PARAMS: dict[str, dict[str, Any]] = {
    "dossier.result_ready": {"item_id": "EA123456789VN"},
    "dossier.picked_up": {"item_id": "EA123456789VN"},
    "dossier.supplement_requested": {"item_id": "EA123456789VN", "documents": ["Bản sao CCCD", "Sổ hộ khẩu"]},
    "courier.on_the_way": {
        "courier_name": "Nguyễn Văn An",
        "eta": "2026-12-07T02:30:00+00:00",
        "appointment_id": "3f0c0d6e-2b1a-4c55-9d0e-6a1f2b3c4d5e",
        "track_url": "https://dichvu.example.vn/v/abc123",
    },
}


async def add_notice(
    engine: AsyncEngine,
    citizen: uuid.UUID,
    template: str = "dossier.result_ready",
    *,
    push: str = "skipped",
    sent_at: datetime | None = None,
    created_at: datetime | None = None,
) -> uuid.UUID:
    """A citizen's notice whose push already ended as ``push`` (skipped: no device; failed; sent at ``sent_at``)."""
    row = notification_row(
        recipient_kind="citizen", recipient_id=citizen, template=template, params=PARAMS[template]
    )
    row.update(status=push, sent_at=sent_at, created_at=created_at or row["created_at"])
    async with engine.begin() as conn:
        await insert_rows(conn, [row])  # type: ignore[arg-type]
    return uuid.UUID(str(row["id"]))


async def deliveries(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(D).order_by(D.c.created_at, D.c.channel))
        return [dict(r._mapping) for r in rows]


async def events(engine: AsyncEngine, delivery_id: uuid.UUID) -> list[tuple[str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(E.c.status, E.c.source).where(E.c.delivery_id == delivery_id).order_by(E.c.at)
        )
        return [(str(s), str(src)) for s, src in rows]


async def switch_off(engine: AsyncEngine, citizen: uuid.UUID, channel: NoticeChannel) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            ChannelPreference.__table__.insert(),  # type: ignore[attr-defined]
            [
                {
                    "id": uuid.uuid4(),
                    "citizen_id": citizen,
                    "channel": channel.value,
                    "enabled": False,
                    "updated_at": datetime.now().astimezone(),
                }
            ],
        )


async def mark_read(engine: AsyncEngine, nid: uuid.UUID, at: datetime) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(N).where(N.c.id == nid).values(read_at=at))


def dead_worker_process(
    url: str,
    service_account: str,
    esms_url: str,
    zalo: dict[str, str],
    now_iso: str,
    rates: dict[str, float],
    zns_started: Any,
) -> None:
    """A worker process for the kill test (module-level so ``spawn`` can import it): one push pass and one channel
    pass at once, with the test's clock fixed at ``now_iso``, counting the ZNS requests it starts; then it waits to
    be killed."""
    from bench.fakes import proxy
    from notifications.dispatcher import Dispatcher
    from notifications.push import FcmSender

    async def main() -> None:
        engine = make_engine(url)
        clock = Clock(datetime.fromisoformat(now_iso))
        cfg = config(available=frozenset(NoticeChannel))
        sms = SmsChannel(
            EsmsSender(
                EsmsConfig("esms-api-key", "esms-secret-key", "BUUDIEN", base_url=esms_url, timeout_s=5)
            ),
            cfg,
        )
        tokens = TokenStore(
            engine,
            OAuthConfig(zalo["app_id"], zalo["app_secret"], oauth_url=zalo["url"], timeout_s=5),
            zalo["refresh"],
        )
        zns = ZnsChannel(
            ZnsSender(ZnsConfig(base_url=zalo["url"], timeout_s=5), tokens), cfg, parse_zns(ZNS_TEMPLATES)
        )
        original = zns.send

        async def counted(phone: str, prepared: Any, *, request_id: str) -> Any:
            with zns_started.get_lock():
                zns_started.value += 1
            return await original(phone, prepared, request_id=request_id)

        zns.send = counted  # type: ignore[method-assign]
        push = Dispatcher(
            engine, FcmSender(service_account), "dead", clock=clock, send_chunk=4, lease=timedelta(seconds=60)
        )
        chan = dispatcher(
            engine,
            {NoticeChannel.sms: sms, NoticeChannel.zns: zns},
            cfg,
            clock,
            worker_id="dead",
            rates={NoticeChannel(k): v for k, v in rates.items()},
            lease=timedelta(seconds=60),
        )
        await asyncio.gather(push.run_once(), chan.run_once())
        await asyncio.sleep(3600)  # killed before this ends

    proxy.run(main())
