"""The demo: reference data, a province, then each domain's own slice of a living day.

A domain adds to the demo with ``backend/demo/<domain>.py`` exposing ``async def seed(session, ctx)``, listed
in ``SLICES`` (bookings before dossiers before plans); each runs after the previous committed. The slices live
here, not in their domains, because the demo sits above every domain it fills (issue 18: the domains never
import the demo).
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.db import session_factory
from backend.demo import booking, custody, identity, money, planning, reporting
from backend.demo.province import DEFAULT_PROVINCE, DemoContext, seed_province
from backend.demo.reference import load_reference
from backend.settings import get_settings
from schemas.accounts import StaffUser

log = logging.getLogger("backend.demo")
SLICES: tuple[tuple[str, Callable[[AsyncSession, DemoContext], Awaitable[object]]], ...] = (
    ("booking", booking.seed),
    ("custody", custody.seed),
    ("planning", planning.seed),
    ("reporting", reporting.seed),
    ("money", money.seed),  # collections, cash-ups, a remittance awaiting confirmation (issue 21)
    ("identity", identity.seed),  # national ids checked at the desk, an authorised person (issue 20)
)


async def seed_all(engine: AsyncEngine, *, password: str, province_code: str | None = None) -> dict[str, Any]:
    """Load reference data and, once, the demo province with its day. A second run changes nothing."""
    factory = session_factory(engine)
    async with factory() as session:
        counts = await load_reference(session)
    async with factory() as session:
        if (await session.exec(select(StaffUser).where(StaffUser.username == "admin"))).one_or_none():
            return {**counts, "demo": "already loaded"}
        ctx = await seed_province(
            session,
            province_code=province_code or get_settings().demo_province or DEFAULT_PROVINCE,
            password=password,
        )
        await session.commit()
    for domain, seed in SLICES:
        async with factory() as session:
            await seed(session, ctx)
            await session.commit()
        log.info("demo: %s seeded", domain)
    return {**counts, "demo": "loaded", "province": ctx.province.name, "post_offices": len(ctx.post_offices)}


__all__ = ["DemoContext", "seed_all"]
