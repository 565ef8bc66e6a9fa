"""Helpers shared by the planning tests: appointments written straight into the booking tables (so windows and
places are chosen exactly), and a bounded wait for a plan to finish."""

import asyncio
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from backend.db import session_factory
from backend.planning import clock
from schemas.base import utcnow
from schemas.booking import Appointment, AppointmentKind
from schemas.catalogue import Procedure

H = 3600
PICKUP_CODE = "1.004859"  # postal pickup allowed, 4 documents


def next_weekday(days_ahead: int) -> date:
    """A Monday-Friday at least ``days_ahead`` days from today (Vietnam time): couriers have shifts then."""
    d = clock.vn_date(utcnow()) + timedelta(days=days_ahead)
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return d


def served_points(demo: Any, po_index: int) -> list[tuple[str, float, float]]:
    po = demo.post_offices[po_index]
    codes = demo.served[po.id]
    return [(c.code, c.lat, c.lon) for c in demo.communes if c.code in codes]


async def add_appointments(
    engine: AsyncEngine, demo: Any, po_index: int, day: date, specs: list[tuple[str, int, int]]
) -> list[uuid.UUID]:
    """``specs``: (kind, window start, window end) in seconds from local midnight; places cycle over the
    communes the post office serves, citizens over the demo citizens."""
    po = demo.post_offices[po_index]
    points = served_points(demo, po_index)
    ids = []
    async with session_factory(engine)() as session:
        proc = (await session.exec(select(Procedure).where(Procedure.code == PICKUP_CODE))).one()
        for i, (kind, a, b) in enumerate(specs):
            code, lat, lon = points[i % len(points)]
            citizen = demo.citizens[(po_index * 7 + i) % len(demo.citizens)]
            appt = Appointment(
                citizen_id=citizen.id,
                post_office_id=po.id,
                province_code=po.province_code,
                commune_code=code,
                kind=AppointmentKind(kind),
                start=clock.at(day, a),
                end=clock.at(day, b),
                cost_minutes=22,
                lat=lat + 0.002 * (i % 5),
                lon=lon - 0.002 * (i % 3),
                address=f"Số {i + 1}, đường thử nghiệm",
                fees={"postal": 20000, "fee": 0, "charge": 15000, "total": 35000, "currency": "VND"},
                booked_by_role="citizen",
                booked_by_id=citizen.id,
                procedure_id=proc.id if kind != "delivery" else None,
            )
            session.add(appt)
            ids.append(appt.id)
        await session.commit()
    return ids


async def wait_plan(client: httpx.AsyncClient, headers: dict[str, str], plan_id: str) -> dict[str, Any]:
    """Poll until the plan leaves queued/running (at most 240 polls; a solve takes its time limit plus the
    start of a worker process)."""
    body: dict[str, Any] = {}
    for _ in range(240):
        r = await client.get(f"/api/v1/plans/{plan_id}", headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert 0 <= body["progress"] <= 100
        if body["status"] not in ("queued", "running"):
            return body
        await asyncio.sleep(0.5)
    raise AssertionError(f"plan {plan_id} still {body.get('status')}")


async def publish_busiest_route(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    demo: Any,
    po_index: int,
    day: date,
    windows: list[tuple[str, int, int]],
    dispatcher: dict[str, str],
) -> dict[str, Any]:
    """Adds ``windows`` (kind, start, end in seconds) as appointments of the office's ``day``, plans the day
    (1 s, fewest couriers) as ``dispatcher``, publishes it and returns the route with the most stops."""
    await add_appointments(engine, demo, po_index, day, windows)
    r = await client.post(
        f"/api/v1/post-offices/{demo.post_offices[po_index].id}/plans",
        json={"date": day.isoformat(), "time_limit_s": 1, "minimize_couriers": True},
        headers=dispatcher,
    )
    assert r.status_code == 202, r.text
    plan = await wait_plan(client, dispatcher, r.json()["id"])
    assert plan["status"] == "done", plan
    assert (await client.post(f"/api/v1/plans/{plan['id']}/publish", headers=dispatcher)).status_code == 200
    return max(plan["routes"], key=lambda x: len(x["stops"]))  # type: ignore[no-any-return]


def parse(ts: str) -> datetime:
    assert ts.endswith("+07:00"), ts
    return datetime.fromisoformat(ts)
