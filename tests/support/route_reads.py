"""A courier's published route and the personal-data audit of its reads, as the tests of stored route answers
set them up (tests/api/test_read_answers.py, tests/api/test_route_audit.py): an office's day planned and
published by its dispatcher, the courier who got the stops, and the audit rows of that courier's reads."""

import uuid
from datetime import date
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from backend.db import session_factory
from schemas.audit import PersonalDataAccess
from tests.api.planning_support import publish_busiest_route
from tests.conftest import staff_headers

# The office these tests plan (they take days no other test plans there), its dispatcher and couriers.
PO = 1  # 82-BD-02
DISPATCHER, COURIERS = "dispatcher02", ("courier03", "courier04")


async def published_courier(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any, day: date, windows: list[tuple[str, int, int]]
) -> str:
    """Adds ``windows`` as the office's appointments of ``day``, plans and publishes the day as its dispatcher;
    the username of the courier given the route with the most stops."""
    headers = await staff_headers(client, DISPATCHER)
    route = await publish_busiest_route(client, engine, demo, PO, day, windows, headers)
    return next(u for u in COURIERS if str(demo.staff[u].id) == route["courier"]["id"])


async def audit_rows(
    engine: AsyncEngine, staff_id: uuid.UUID, route: str | None = None
) -> list[PersonalDataAccess]:
    """The personal-data audit rows of a staff account's reads (of ``route``, e.g. ``GET /api/v1/couriers/me/
    route``, when given)."""
    async with session_factory(engine)() as session:
        stmt = select(PersonalDataAccess).where(col(PersonalDataAccess.staff_id) == staff_id)
        if route is not None:
            stmt = stmt.where(col(PersonalDataAccess.route) == route)
        return list((await session.exec(stmt)).all())
