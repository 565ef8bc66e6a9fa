"""Helpers shared by the notification tests and their child processes (importable under spawn)."""

import asyncio
import itertools
import os
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from notifications.outbox import enqueue
from schemas.base import utcnow
from schemas.notifications import NOTIFICATION_TABLES, DeviceTarget, Notification

PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def make_engine(url: str) -> AsyncEngine:
    """The same SQLite settings as the backend's embedded default (WAL, busy timeout, BEGIN IMMEDIATE)."""
    if not url.startswith("sqlite"):
        return create_async_engine(url, pool_size=5, max_overflow=5)
    engine = create_async_engine(url, connect_args={"timeout": 60})

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


async def create_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(lambda c: SQLModel.metadata.create_all(c, tables=list(NOTIFICATION_TABLES)))


async def pg_admin(sql: str) -> None:
    import asyncpg

    url = make_url(os.environ.get("TEST_DATABASE_URL", PG_DEFAULT))
    conn = await asyncpg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        database=url.database or "test",
        timeout=10,
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def pg_url(database: str) -> str:
    url = make_url(os.environ.get("TEST_DATABASE_URL", PG_DEFAULT))
    return url.set(database=database).render_as_string(hide_password=False)


class Clock:
    """A settable clock for the dispatcher: tests move time instead of waiting."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        self.now += timedelta(**kw)
        return self.now


async def add_devices(engine: AsyncEngine, owners: Iterable[tuple[str, uuid.UUID, str, str]]) -> None:
    """(owner_kind, owner_id, token, platform) rows."""
    async with engine.begin() as conn:
        rows = [
            {
                "id": uuid.uuid4(),
                "owner_kind": kind,
                "owner_id": owner,
                "token": token,
                "platform": platform,
                "created_at": utcnow(),
                "last_seen_at": utcnow(),
            }
            for kind, owner, token, platform in owners
        ]
        if rows:
            await conn.execute(DeviceTarget.__table__.insert(), rows)  # type: ignore[attr-defined]


async def status_counts(engine: AsyncEngine) -> dict[str, int]:
    n = Notification.__table__  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        result = await conn.execute(select(n.c.status, func.count()).group_by(n.c.status))
        return {str(s): int(c) for s, c in result}


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def eventually(predicate: Callable[[], bool], limit_s: float = 60.0) -> None:
    """Wait until ``predicate()`` holds (polled: the state lives in another thread or process)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    for _ in itertools.count():
        if predicate():
            return
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


async def enqueue_result_ready(engine: AsyncEngine, citizen_id: uuid.UUID) -> None:
    """A "result ready" notice for the citizen, enqueued through the ORM and committed (as most writers do)."""
    async with AsyncSession(engine) as session:
        enqueue(
            session,
            recipient_kind="citizen",
            recipient_id=citizen_id,
            template="dossier.result_ready",
            params={"item_id": "HS123456785VN"},
        )
        await session.commit()
