"""Booking meets routing: once a day has a plan, the booking screen offers only windows the routes can absorb
(``BOOKING_CAPACITY=routes``, the default), and a booking the plan cannot take is refused."""

import uuid
from datetime import date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from backend.db import session_factory
from backend.planning import clock
from schemas.planning import Plan, PlanRoute
from tests.api.planning_support import H, add_appointments, served_points, wait_plan
from tests.conftest import citizen_headers, staff_headers

PO = 2  # 82-BD-03: dispatcher03, courier05 and courier06 (no other test plans here)


async def _slots(
    client: httpx.AsyncClient, lat: float, lon: float, first: date, last: date
) -> list[dict[str, Any]]:
    params: dict[str, Any] = {
        "kind": "pickup",
        "lat": lat,
        "lon": lon,
        "from": first.isoformat(),
        "to": last.isoformat(),
    }
    r = await client.get("/api/v1/slots", params=params)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def _day(slot: dict[str, Any]) -> date:
    return datetime.fromisoformat(slot["start"]).date()


async def test_a_full_plan_closes_its_day_on_the_booking_screen(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    _, lat, lon = served_points(demo, PO)[0]
    today = clock.vn_date(datetime.now().astimezone())
    slots = await _slots(client, lat, lon, today + timedelta(days=3), today + timedelta(days=12))
    days = sorted({_day(s) for s in slots if s["remaining"] > 0})
    assert len(days) >= 2, slots
    planned, other = days[0], days[1]

    # Plan that day (one visit), then shrink the couriers' shifts to nothing: the plan can absorb no more.
    await add_appointments(engine, demo, PO, planned, [("pickup", 9 * H, 11 * H)])
    headers = await staff_headers(client, "dispatcher03")
    r = await client.post(
        f"/api/v1/post-offices/{demo.post_offices[PO].code}/plans",
        json={"date": planned.isoformat(), "time_limit_s": 1},
        headers=headers,
    )
    assert r.status_code == 202, r.text
    plan = await wait_plan(client, headers, r.json()["id"])
    assert plan["status"] == "done", plan
    async with session_factory(engine)() as session:
        plan_id = uuid.UUID(plan["id"])
        routes = col(PlanRoute.plan_id) == plan_id
        await session.execute(update(PlanRoute).where(routes).values(shift_end=PlanRoute.shift_start))
        await session.execute(update(Plan).where(col(Plan.id) == plan_id).values(status="published"))
        await session.commit()

    after = await _slots(client, lat, lon, planned, other)
    on_planned = [s for s in after if _day(s) == planned]
    on_other = [s for s in after if _day(s) == other]
    assert on_planned and all(s["remaining"] == 0 for s in on_planned), on_planned
    assert any(s["remaining"] > 0 for s in on_other), on_other

    # And a booking into the planned day is refused, while the other day still takes one.
    citizen = await citizen_headers(client, "+84900000077")
    body = {"kind": "pickup", "lat": lat, "lon": lon, "procedure": "1.004859"}
    refused = await client.post(
        "/api/v1/appointments", json={**body, "start": on_planned[0]["start"]}, headers=citizen
    )
    assert refused.status_code == 409, refused.text
    free = next(s for s in on_other if s["remaining"] > 0)
    booked = await client.post("/api/v1/appointments", json={**body, "start": free["start"]}, headers=citizen)
    assert booked.status_code == 201, booked.text
