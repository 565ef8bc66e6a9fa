"""SMS and Zalo ZNS throughput through the channel dispatcher: ``python -m bench.channels`` (from the repo root).

Seeds N citizens' notices that push could not reach (half of the citizens switched Zalo off, so theirs go by SMS),
then times one ``ChannelDispatcher`` (its planner, lease claims, per-answer writes, events) against the loopback
eSMS gateway and the loopback Zalo (bench/fakes) until every delivery is sent, first with no rate limit (what the
dispatcher and database can do), then at ``--rate`` messages per second per channel (the shared GCRA limiter
holding the rate). Checks each message reached its fake exactly once. Push throughput is ``python -m
bench.notifications``.

Options: --rows 2000 (notices), --rate 50, --concurrency 20, --db sqlite (a temporary file) or a PostgreSQL URL
(an admin database in which a ``bench_channels_*`` database is created and dropped).
"""

import argparse
import asyncio
import multiprocessing as mp
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel import SQLModel

from bench.fakes.esms_server import FakeEsms
from bench.fakes.zns_server import FakeZalo
from notifications.channels.dispatcher import ChannelDispatcher
from notifications.channels.policy import ChannelConfig
from notifications.channels.senders import SmsChannel, ZnsChannel
from notifications.outbox import notification_row
from notifications.sms.esms import EsmsConfig, EsmsSender
from notifications.zns import OAuthConfig, TokenStore, ZnsConfig, ZnsSender
from notifications.zns.templates import parse as parse_zns
from schemas.accounts import Citizen
from schemas.channels import CHANNEL_TABLES, ChannelDelivery, ChannelPreference, NoticeChannel
from schemas.notifications import NOTIFICATION_TABLES, Notification
from schemas.vntime import VN_TZ
from schemas.zns import ZnsEvent, ZnsMessage, ZnsToken

TABLES = [
    Citizen.__table__,  # type: ignore[attr-defined]
    *NOTIFICATION_TABLES,
    *CHANNEL_TABLES,
    ZnsToken.__table__,  # type: ignore[attr-defined]
    ZnsMessage.__table__,  # type: ignore[attr-defined]
    ZnsEvent.__table__,  # type: ignore[attr-defined]
]
ZNS_TEMPLATES = "dossier.result_ready=302145"
D = ChannelDelivery.__table__  # type: ignore[attr-defined]


def _engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        from sqlalchemy import event

        engine = create_async_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine.sync_engine, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            dbapi_conn.execute("PRAGMA journal_mode=WAL")
            dbapi_conn.execute("PRAGMA busy_timeout=60000")

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10)


async def _seed(engine: AsyncEngine, rows: int) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(lambda c: SQLModel.metadata.create_all(c, tables=TABLES))
        now = datetime.now(UTC)
        citizens: list[dict[str, Any]] = [
            {"id": uuid.uuid4(), "phone": f"+8491{i:07d}", "created_at": now, "token_version": 0}
            for i in range(rows)
        ]
        await conn.execute(Citizen.__table__.insert(), citizens)  # type: ignore[attr-defined]
        off = [
            {"id": uuid.uuid4(), "citizen_id": c["id"], "channel": "zns", "enabled": False, "updated_at": now}
            for c in citizens[::2]
        ]
        await conn.execute(ChannelPreference.__table__.insert(), off)  # type: ignore[attr-defined]
        notices = []
        for i, c in enumerate(citizens):
            row = notification_row(
                recipient_kind="citizen",
                recipient_id=c["id"],
                template="dossier.result_ready",
                params={"item_id": f"EA{i:09d}VN"},
            )
            row.update(status="skipped")
            notices.append(row)
        await conn.execute(Notification.__table__.insert(), notices)  # type: ignore[attr-defined]


def _fakes(conn: Connection) -> None:
    """The loopback eSMS and Zalo in a process of their own (in the dispatcher's process their threads would
    compete with it for the GIL); answers what each received when told to stop."""
    esms, zalo = FakeEsms().start(), FakeZalo(templates={"302145": ("item_id",)}).start()
    conn.send((esms.base_url, zalo.base_url, zalo.refresh_token))
    conn.recv()
    conn.send(([s.request_id for s in esms.sent], [s.tracking_id for s in zalo.sent]))
    esms.stop()
    zalo.stop()


async def _run(url: str, rows: int, rate: float, concurrency: int) -> dict[str, Any]:
    engine = _engine(url)
    await _seed(engine, rows)
    here, there = mp.get_context("spawn").Pipe()
    fakes = mp.get_context("spawn").Process(target=_fakes, args=(there,), daemon=True)
    fakes.start()
    esms_url, zalo_url, refresh = here.recv()
    esms, zalo = FakeEsms(), FakeZalo(refresh_token=refresh)  # credentials only: the servers are in ``fakes``
    cfg = ChannelConfig(sms_cost_gsm7_vnd=450, zns_cost_vnd=300, available=frozenset(NoticeChannel))
    tokens = TokenStore(
        engine, OAuthConfig(zalo.app_id, zalo.app_secret, oauth_url=zalo_url), zalo.refresh_token
    )
    sms = SmsChannel(
        EsmsSender(EsmsConfig(esms.api_key, esms.secret_key, esms.brandname, base_url=esms_url)), cfg
    )
    zns = ZnsChannel(ZnsSender(ZnsConfig(base_url=zalo_url), tokens), cfg, parse_zns(ZNS_TEMPLATES))
    day = datetime.now(VN_TZ).date() + timedelta(days=1)
    noon = datetime.combine(day, datetime.min.time(), tzinfo=VN_TZ).replace(hour=10).astimezone(UTC)
    dispatcher = ChannelDispatcher(
        engine,
        {NoticeChannel.sms: sms, NoticeChannel.zns: zns},
        cfg,
        rates={NoticeChannel.sms: rate, NoticeChannel.zns: rate},
        concurrency=concurrency,
        batch_size=500,
        clock=lambda: noon,  # daytime in Vietnam: no quiet hours in the way
    )
    started = time.perf_counter()
    done_at: dict[str, float] = {}
    try:
        while len(done_at) < 2:
            await dispatcher.run_once()
            async with engine.connect() as conn:
                counts = dict(
                    (
                        await conn.execute(
                            select(D.c.channel, func.count())
                            .where(D.c.status == "sent")
                            .group_by(D.c.channel)
                        )
                    )
                    .tuples()
                    .all()
                )
            for channel in ("sms", "zns"):
                if counts.get(channel, 0) >= rows // 2 and channel not in done_at:
                    done_at[channel] = time.perf_counter() - started
    finally:
        await dispatcher.aclose()
        await tokens.aclose()
        await engine.dispose()
        here.send("stop")
        sms_ids, zns_ids = here.recv()
        fakes.join(10)
    # Each message reached its provider exactly once.
    assert set(Counter(sms_ids).values()) == {1} and len(sms_ids) == rows // 2
    assert set(Counter(zns_ids).values()) == {1} and len(zns_ids) == rows - rows // 2
    return {"sms": (len(sms_ids), done_at["sms"]), "zns": (len(zns_ids), done_at["zns"])}


async def _admin(url: str, sql: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(sql))
    await engine.dispose()


def _once(db: str, rows: int, rate: float, concurrency: int) -> dict[str, Any]:
    if db == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            return asyncio.run(_run(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", rows, rate, concurrency))
    name = f"bench_channels_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(db, f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(db).set(database=name).render_as_string(hide_password=False)
        return asyncio.run(_run(url, rows, rate, concurrency))
    finally:
        asyncio.run(_admin(db, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--db", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    print(
        f"channel dispatcher, {args.rows} notices (half SMS, half Zalo ZNS), one worker, db {args.db.split(':')[0]}"
    )
    print(f"{'limit':>14} {'channel':>8} {'messages':>9} {'seconds':>8} {'msg/s':>8}")
    for rate in (0.0, args.rate):
        result = _once(args.db, args.rows, rate, args.concurrency)
        for channel, (n, secs) in result.items():
            limit = "none" if rate == 0 else f"{rate:g}/s"
            print(f"{limit:>14} {channel:>8} {n:>9} {secs:>8.2f} {n / secs:>8.1f}")


if __name__ == "__main__":
    main()
