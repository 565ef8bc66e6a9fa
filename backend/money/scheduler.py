"""Scheduled money jobs (issue 21): the nightly backfill of dues (``dues.post_dues``: visits booked before dues
were written with the booking) and each agency's remittance batch of what is held for it
(``remittance.create``; Decree 82/2023/NĐ-CP amending Decree 120/2016/NĐ-CP, art. 5: collected fees are paid
over at least monthly). They run in the background worker (``python -m backend dispatch``, or the embedded
service unless ``RUN_DISPATCHER=false``) every ``MONEY_SWEEP_S``.

Several processes may run the loop: a run first takes the job's lease (``money_lease``: one row per job, taken
only when free or expired, by a conditional UPDATE that one writer wins), so two processes never make two
batches at the same time; the batches' own keys (a dossier's share in one batch only) hold even so.
"""

import asyncio
import logging
import uuid
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.db import session_factory
from backend.lib.problems import Problem
from backend.lib.sweeper import Sweeper, in_background
from backend.money import dues, remittance, reports
from backend.settings import Settings
from schemas.base import utcnow
from schemas.money import MoneyLease

log = logging.getLogger("backend.money")
JOB = "money.nightly"


async def acquire(session: AsyncSession, name: str, holder: str, now: datetime, lease_s: float) -> bool:
    """Take the job's lease until ``now + lease_s`` if it is free, expired or already ours; commits."""
    until = now + timedelta(seconds=lease_s)
    try:
        async with session.begin_nested():
            session.add(MoneyLease(name=name, holder=holder, until=until))
            await session.flush()
        await session.commit()
        return True
    except IntegrityError:
        pass
    stmt = (
        update(MoneyLease)
        .where(
            col(MoneyLease.name) == name, or_(col(MoneyLease.until) < now, col(MoneyLease.holder) == holder)
        )
        .values(holder=holder, until=until)
    )
    taken = (await session.execute(stmt)).rowcount == 1  # type: ignore[attr-defined]
    await session.commit()
    return taken


async def release(session: AsyncSession, name: str, holder: str, now: datetime) -> None:
    stmt = (
        update(MoneyLease)
        .where(col(MoneyLease.name) == name, col(MoneyLease.holder) == holder)
        .values(until=now, last_run=now)
    )
    await session.execute(stmt)
    await session.commit()


async def run_once(
    engine: AsyncEngine, holder: str, settings: Settings, *, now: datetime | None = None
) -> dict[str, Any] | None:
    """One run if the lease is had: dues backfilled, a batch per agency holding money. None: another holds it."""
    now = now or utcnow()
    make = session_factory(engine)
    async with make() as session:
        if not await acquire(session, JOB, holder, now, settings.money_lease_s):
            return None
    done: dict[str, Any] = {"dues": 0, "batches": []}
    async with make() as session:
        done["dues"] = await dues.post_dues(session, until=now)
        await session.commit()
    async with make() as session:
        agencies = [org.code for org in await reports.agencies_with_money(session)]
    for code in agencies:
        async with make() as session:
            try:
                batch = await remittance.create(session, None, "system", code, until=now, now=now)
            except Problem as exc:  # nothing held for it (or taken meanwhile): no batch
                await session.rollback()
                log.debug("no remittance for %s: %s", code, exc.detail)
                continue
            await session.commit()
            done["batches"].append(batch.id)
    async with make() as session:
        await release(session, JOB, holder, utcnow())
    return done


async def run(engine: AsyncEngine, stop: asyncio.Event, settings: Settings) -> None:
    holder = f"money-{uuid.uuid4().hex[:12]}"

    async def once() -> None:
        done = await run_once(engine, holder, settings)
        if done:
            log.info("money jobs: %d dues posted, %d remittance batches", done["dues"], len(done["batches"]))

    # The database away (DBAPIError, OSError): try at the next sweep.
    await Sweeper("money jobs", once, settings.money_sweep_s, log, quiet=(DBAPIError, OSError)).run(stop)


def lifespan_hook(app: Any) -> AbstractAsyncContextManager[None]:
    settings: Settings = app.state.settings
    on = settings.run_dispatcher and settings.money_sweep_s > 0
    return in_background(partial(run, app.state.engine, settings=settings) if on else None, grace_s=15)
