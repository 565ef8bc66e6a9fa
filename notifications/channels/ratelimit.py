"""The channels' send rate and a provider's Retry-After, shared by every dispatcher through the database.

One ``channel_rate`` row per channel. The rate is a GCRA (generic cell rate algorithm, ITU-T I.371): the row's
``next_slot_at`` is the earliest a new message may go; a dispatcher about to send ``n`` messages reserves ``n``
slots at once, in one transaction that locks the row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's
``BEGIN IMMEDIATE`` holds the database's write lock), and gets the instant of its first slot; the others follow
every ``1/rate`` seconds. So all dispatchers together stay under the rate, whichever process they run in.
A provider that answers 429 with Retry-After (or an HTTP 5xx) pauses the channel for every dispatcher
(``paused_until``): none claims that channel's deliveries before then.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from schemas.channels import ChannelRate

R = ChannelRate.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Slots:
    first: datetime  # when the first message may go
    interval_s: float  # then one every interval_s


async def _ensure(conn: AsyncConnection, channel: str, now: datetime) -> None:
    dialect = conn.dialect.name
    values = {"channel": channel, "next_slot_at": now, "paused_until": None}
    stmt: Any
    if dialect == "postgresql":
        stmt = postgresql.insert(R).values(values).on_conflict_do_nothing(index_elements=["channel"])
    elif dialect == "sqlite":
        stmt = sqlite.insert(R).values(values).on_conflict_do_nothing(index_elements=["channel"])
    else:  # pragma: no cover - the two supported databases
        stmt = insert(R).values(values)
    await conn.execute(stmt)


async def _locked(conn: AsyncConnection, channel: str) -> tuple[datetime, datetime | None]:
    q = select(R.c.next_slot_at, R.c.paused_until).where(R.c.channel == channel)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()
    row = (await conn.execute(q)).one()
    return row.next_slot_at, row.paused_until


async def paused(engine: AsyncEngine, now: datetime) -> dict[str, datetime]:
    """Channels paused by a provider's Retry-After, and until when."""
    async with engine.connect() as conn:
        rows = await conn.execute(select(R.c.channel, R.c.paused_until).where(R.c.paused_until > now))
        found = {str(c): p for c, p in rows}
        await conn.rollback()
    return found


async def reserve(engine: AsyncEngine, channel: str, n: int, rate_per_s: float, now: datetime) -> Slots:
    """Reserve ``n`` consecutive send slots of ``channel`` (``rate_per_s`` 0: no limit, every slot is now)."""
    if rate_per_s <= 0 or n <= 0:
        return Slots(now, 0.0)
    interval = 1.0 / rate_per_s
    async with engine.begin() as conn:
        await _ensure(conn, channel, now)
        next_slot, _ = await _locked(conn, channel)
        first = max(next_slot, now)
        await conn.execute(
            update(R)
            .where(R.c.channel == channel)
            .values(next_slot_at=first + timedelta(seconds=interval * n))
        )
    return Slots(first, interval)


async def pause(engine: AsyncEngine, channel: str, until: datetime, now: datetime) -> None:
    """No dispatcher claims ``channel`` before ``until`` (a later pause already set wins)."""
    async with engine.begin() as conn:
        await _ensure(conn, channel, now)
        _, current = await _locked(conn, channel)
        if current is None or current < until:
            await conn.execute(update(R).where(R.c.channel == channel).values(paused_until=until))
