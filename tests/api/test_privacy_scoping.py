"""Issue 17, item 9: a courier lists only the appointments on their own published routes, with the phone
masked as on the route; no-show and failed visits only by the courier the stop is assigned to (or the
office's dispatcher); other couriers of the same office get 404."""

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from backend.db import session_factory
from backend.planning import clock
from schemas.base import utcnow
from schemas.booking import Appointment
from schemas.planning import Plan, PlanRoute, PlanStatus, PlanStop, StopKind
from tests.api.planning_support import H, add_appointments, next_weekday
from tests.conftest import staff_headers

PO = 10  # 82-BD-11: dispatcher11, courier21 and courier22


async def publish_routes(
    engine: AsyncEngine, demo: Any, day: Any, routes: dict[str, list[uuid.UUID]], po_index: int = PO
) -> dict[uuid.UUID, uuid.UUID]:
    """A published plan of post office ``po_index`` written straight into the tables (no solve): each
    courier's route visits the given appointments. Returns the stop id of each appointment."""
    po = demo.post_offices[po_index]
    stops: dict[uuid.UUID, uuid.UUID] = {}
    async with session_factory(engine)() as session:
        plan = Plan(
            post_office_id=po.id, service_date=day, status=PlanStatus.published, published_at=utcnow()
        )
        session.add(plan)
        await session.flush()
        for seq, (username, appts) in enumerate(routes.items()):
            route = PlanRoute(
                plan_id=plan.id,
                courier_id=demo.staff[username].id,
                seq=seq,
                shift_start=clock.at(day, 7 * H),
                shift_end=clock.at(day, 17 * H),
                start_lat=po.lat,
                start_lon=po.lon,
                end_lat=po.lat,
                end_lon=po.lon,
            )
            session.add(route)
            await session.flush()
            for i, appt_id in enumerate(appts):
                appt = await session.get(Appointment, appt_id)
                assert appt is not None
                eta = clock.at(day, 8 * H + i * 600)
                stop = PlanStop(
                    plan_id=plan.id,
                    route_id=route.id,
                    seq=i + 1,
                    key=f"appt:{appt_id}",
                    kind=StopKind.pickup,
                    appointment_id=appt_id,
                    lat=appt.lat,
                    lon=appt.lon,
                    planned_eta=eta,
                    eta=eta,
                    service_start=eta,
                    departure=eta + timedelta(minutes=10),
                )
                session.add(stop)
                stops[appt_id] = stop.id
        await session.commit()
    return stops


async def test_courier_sees_and_acts_only_on_their_own_stops(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    day = next_weekday(30)  # beyond any booking horizon: no other test books or plans this office's day
    mine, theirs, nobodys = await add_appointments(
        engine,
        demo,
        PO,
        day,
        [("pickup", 8 * H, 10 * H), ("pickup", 8 * H, 10 * H), ("pickup", 9 * H, 11 * H)],
    )
    stops = await publish_routes(engine, demo, day, {"courier21": [mine], "courier22": [theirs]})
    # The visits are under way (no-show needs the window to have started).
    began = utcnow() - timedelta(minutes=20)
    async with session_factory(engine)() as session:
        await session.execute(
            update(Appointment)
            .where(col(Appointment.id).in_([mine, theirs, nobodys]))
            .values(start=began, end=began + timedelta(hours=2))
        )
        await session.commit()
    me = await staff_headers(client, "courier21")
    other = await staff_headers(client, "courier22")
    dispatcher = await staff_headers(client, "dispatcher11")
    assert demo.staff["courier21"].organisation_id == demo.post_offices[PO].id

    # The listing: only what is on my route, the phone masked, the address and place kept (the visit needs them).
    r = await client.get("/api/v1/appointments", params={"limit": 500}, headers=me)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [x["id"] for x in items] == [str(mine)] and r.json()["total"] == 1
    phone = next(c.phone for c in demo.citizens if str(c.id) == items[0]["citizen_id"])
    assert items[0]["citizen_phone"] != phone and "•" in items[0]["citizen_phone"]
    assert items[0]["citizen_phone"].endswith(phone[-3:])
    assert items[0]["address"] and items[0]["lat"]
    # The office's dispatcher still sees every appointment of the office, with the full number.
    seen = {
        x["id"]: x
        for x in (await client.get("/api/v1/appointments", params={"limit": 500}, headers=dispatcher)).json()[
            "items"
        ]
    }
    assert {str(mine), str(theirs), str(nobodys)} <= set(seen) and seen[str(mine)]["citizen_phone"] == phone

    # Someone else's visit, or nobody's: 404 for reading and for no-show / fail.
    for appt in (theirs, nobodys):
        assert (await client.get(f"/api/v1/appointments/{appt}", headers=me)).status_code == 404
        for action in ("no-show", "fail"):
            reason = "citizen_absent" if action == "no-show" else "documents_incomplete"
            r = await client.post(
                f"/api/v1/appointments/{appt}/{action}", json={"reason_code": reason}, headers=me
            )
            assert r.status_code == 404, (action, r.text)
    # Nor through the other courier's stop.
    r = await client.post(f"/api/v1/couriers/me/stops/{stops[theirs]}/start", json={}, headers=me)
    assert r.status_code == 404
    async with session_factory(engine)() as session:
        for appt in (theirs, nobodys):
            row = await session.get(Appointment, appt)
            assert row is not None and row.status == "booked" and row.version == 1

    # The assigned courier and the dispatcher may.
    r = await client.post(
        f"/api/v1/appointments/{theirs}/no-show", json={"reason_code": "citizen_absent"}, headers=other
    )
    assert r.status_code == 200 and r.json()["status"] == "no_show", r.text
    r = await client.post(
        f"/api/v1/appointments/{nobodys}/fail",
        json={"reason_code": "documents_incomplete"},
        headers=dispatcher,
    )
    assert r.status_code == 200 and r.json()["status"] == "failed", r.text
    assert (await client.get(f"/api/v1/appointments/{mine}", headers=me)).status_code == 200

    # What the courier was shown of citizens is audited: the listing (masked phone) and the route.
    r = await client.get("/api/v1/couriers/me/route", params={"date": day.isoformat()}, headers=me)
    assert r.status_code == 200 and [x["appointment"]["id"] for x in r.json()["stops"]] == [str(mine)]
    r = await client.get(
        "/api/v1/audit/personal-data",
        params={"staff_id": str(demo.staff["courier21"].id), "limit": 500},
        headers=await staff_headers(client, "admin"),
    )
    rows = {(x["route"], x["resource"]): x for x in r.json()["items"]}
    listed = rows[("GET /api/v1/appointments", str(mine))]
    assert "phone_masked" in listed["fields"] and "phone" not in listed["fields"]
    routed = rows[("GET /api/v1/couriers/me/route", str(mine))]
    assert {"location", "phone_masked", "address"} <= set(routed["fields"])
    assert {x["resource"] for x in r.json()["items"]} == {str(mine)}  # nothing of the others' visits
    r = await client.get(
        "/api/v1/audit/personal-data",
        params={"staff_id": str(demo.staff["courier22"].id)},
        headers=await staff_headers(client, "admin"),
    )
    assert ("POST /api/v1/appointments/{appointment_id}/no-show", str(theirs)) in {
        (x["route"], x["resource"]) for x in r.json()["items"]
    }
