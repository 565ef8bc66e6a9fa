"""A courier's result-delivery stop is also the result's custody step: the stop stays with the courier who holds
the result, and failing the visit records the unsuccessful delivery attempt in the same transaction."""

import uuid
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from backend.db import session_factory
from backend.lib.auth import Principal
from backend.planning import clock, courier
from schemas.booking import Appointment
from schemas.enums import Role
from schemas.planning import StopFailure
from tests.api.planning_support import H, add_appointments, next_weekday, wait_plan
from tests.api.test_custody_flows import _out_for_delivery
from tests.conftest import citizen_headers, staff_headers

PHONE = "+84900000072"


async def test_failed_delivery_stop_is_a_custody_attempt(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    item, kq = await _out_for_delivery(client, demo, PHONE)  # courier01 (post office 0) carries the result
    me = (await client.get("/api/v1/me", headers=await citizen_headers(client, PHONE))).json()
    day = next_weekday(6)
    [appt_id] = await add_appointments(engine, demo, 0, day, [("delivery", 9 * H, 11 * H)])
    async with session_factory(engine)() as session:
        await session.execute(
            update(Appointment)
            .where(col(Appointment.id) == appt_id)
            .values(dossier_item_id=item, citizen_id=uuid.UUID(me["id"]))
        )
        await session.commit()

    dispatcher = await staff_headers(client, "dispatcher01")
    r = await client.post(
        f"/api/v1/post-offices/{demo.post_offices[0].code}/plans",
        json={"date": day.isoformat(), "time_limit_s": 1},
        headers=dispatcher,
    )
    assert r.status_code == 202, r.text
    plan = await wait_plan(client, dispatcher, r.json()["id"])
    assert plan["status"] == "done", plan
    stops = [(rt["courier"]["id"], s) for rt in plan["routes"] for s in rt["stops"]]
    holder, stop = next((c, s) for c, s in stops if s["appointment_id"] == str(appt_id))
    assert holder == str(demo.staff["courier01"].id)  # pinned to the courier who has the result
    assert (await client.post(f"/api/v1/plans/{plan['id']}/publish", headers=dispatcher)).status_code == 200

    principal = Principal(id=demo.staff["courier01"].id, role=Role.courier, org_id=demo.post_offices[0].id)
    inside = clock.at(day, 9 * H + 30 * 60)
    async with session_factory(engine)() as session:
        out = await courier.stop_action(
            session,
            principal,
            uuid.UUID(stop["id"]),
            "fail",
            StopFailure(reason_code="citizen_absent"),
            now=inside,
        )
    assert out["custody_status"] == "delivery_failed"
    seen = await client.get(f"/api/v1/dossiers/{item}", headers=await staff_headers(client, "courier01"))
    body = seen.json()
    assert body["status"] == "delivery_failed"
    assert body["events"][-1]["code"] == "EMH" and body["events"][-1]["data"]["reason_code"] == "not_home"
    appt = await client.get(f"/api/v1/appointments/{appt_id}", headers=dispatcher)
    assert appt.json()["status"] == "no_show"  # the citizen was not at home
