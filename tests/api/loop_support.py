"""Shared steps of the loop journeys (issue 20): a dossier taken to a given point of its life, the notifications
a citizen got, a free window."""

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from backend.db import session_factory
from schemas.accounts import Citizen
from schemas.notifications import Notification
from tests.api.test_custody_journey import hand, office_commune_centre, pickup
from tests.conftest import citizen_headers, staff_headers


def codes(demo: Any) -> tuple[str, str, str]:
    """Office A's code, the desk and the agency of its commune."""
    po = demo.post_offices[0]
    return po.code, f"82-MC-{po.commune_code}", f"82-UB-{po.commune_code}"


async def to_desk(client: httpx.AsyncClient, demo: Any, phone: str) -> str:
    """Collected at home by courier01, through office A, received at the commune's desk (TNH)."""
    po, desk, _ = codes(demo)
    item = str((await pickup(client, phone))["item_id"])
    await hand(client, "courier01", "dispatcher01", po, [item])
    await hand(client, "dispatcher01", "desk02", desk, [item])
    return item


async def to_agency(client: httpx.AsyncClient, demo: Any, phone: str) -> str:
    item = await to_desk(client, demo, phone)
    _, desk, agency = codes(demo)
    await hand(client, "desk02", "agency03", agency, [item])
    return item


async def event(client: httpx.AsyncClient, user: str, item: str, **body: Any) -> httpx.Response:
    return await client.post(
        f"/api/v1/dossiers/{item}/events", headers=await staff_headers(client, user), json=body
    )


async def first_window(client: httpx.AsyncClient, kind: str, courier: str = "courier01") -> str:
    lat, lon = await office_commune_centre(client, courier)
    r = await client.get("/api/v1/slots", params={"kind": kind, "lat": lat, "lon": lon})
    assert r.status_code == 200, r.text
    free = [w["start"] for w in r.json()["items"] if w["remaining"] > 0]
    assert free, "no free window"
    return str(free[0])


async def notes_of(engine: AsyncEngine, phone: str) -> list[Notification]:
    async with session_factory(engine)() as s:
        citizen = (await s.exec(select(Citizen).where(Citizen.phone == phone))).one()
        rows = await s.exec(
            select(Notification)
            .where(Notification.recipient_id == citizen.id)
            .order_by(col(Notification.created_at))
        )
        return list(rows.all())


async def citizen(client: httpx.AsyncClient, phone: str) -> dict[str, str]:
    return await citizen_headers(client, phone)
