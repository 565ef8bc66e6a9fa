"""The demo: reference data, a province, then each domain's own slice of a living day.

A domain adds to the demo with ``backend/<domain>/demo.py`` exposing ``async def seed(session, ctx)``; they run
in ``DOMAIN_ORDER`` (bookings before dossiers before plans), each after the previous committed.
"""

import importlib
import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from backend.db import session_factory
from backend.demo.province import DEFAULT_PROVINCE, DemoContext, seed_province
from backend.demo.reference import load_reference
from backend.settings import get_settings
from schemas.accounts import StaffUser

log = logging.getLogger("backend.demo")
DOMAIN_ORDER = ["booking", "custody", "planning", "reporting", "notices"]


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
    for domain in DOMAIN_ORDER:
        try:
            module = importlib.import_module(f"backend.{domain}.demo")
        except ModuleNotFoundError as exc:
            if exc.name in {f"backend.{domain}.demo", f"backend.{domain}"}:
                continue
            raise
        async with factory() as session:
            await module.seed(session, ctx)
            await session.commit()
        log.info("demo: %s seeded", domain)
    return {**counts, "demo": "loaded", "province": ctx.province.name, "post_offices": len(ctx.post_offices)}


__all__ = ["DemoContext", "seed_all"]
