"""Issue 17, item 14: a stop action's ``at`` has custody's bounds (a UTC offset, not older than
CLIENT_MAX_AGE, not beyond CLIENT_SKEW ahead), else a 422 problem and nothing recorded."""

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from backend.custody.services import CLIENT_MAX_AGE, CLIENT_SKEW
from backend.db import session_factory
from schemas.base import to_vn, utcnow
from schemas.booking import Appointment, AppointmentEvent
from schemas.planning import PlanStop
from tests.api.planning_support import H, add_appointments, next_weekday
from tests.api.test_privacy_scoping import publish_routes
from tests.conftest import staff_headers

PO = 11  # 82-BD-12: courier23 and courier24


async def test_stop_action_time_has_custody_bounds(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    day = next_weekday(31)
    (appt,) = await add_appointments(engine, demo, PO, day, [("pickup", 8 * H, 10 * H)])
    stops = await publish_routes(engine, demo, day, {"courier23": [appt]}, po_index=PO)
    me = await staff_headers(client, "courier23")
    url = f"/api/v1/couriers/me/stops/{stops[appt]}"
    now = utcnow()
    refused = {
        "2020-01-01T08:00:00+07:00": "stale_time",
        (now - CLIENT_MAX_AGE - timedelta(hours=1)).isoformat(): "stale_time",
        (now + CLIENT_SKEW + timedelta(minutes=5)).isoformat(): "future_time",
        to_vn(now).replace(tzinfo=None).isoformat(): "naive_time",
    }
    for at, code in refused.items():
        for action, body in (("start", {}), ("fail", {"reason_code": "citizen_absent"}), ("complete", {})):
            r = await client.post(f"{url}/{action}", json={**body, "at": at}, headers=me)
            assert r.status_code == 422, (at, action, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["type"].endswith(code), r.json()
    async with session_factory(engine)() as session:
        stop = await session.get(PlanStop, stops[appt])
        row = await session.get(Appointment, appt)
        assert stop is not None and stop.status == "planned" and stop.started_at is None
        assert row is not None and row.version == 1
        events = await session.exec(select(AppointmentEvent).where(AppointmentEvent.appointment_id == appt))
        assert events.all() == []

    # Within the bounds (a device a few minutes ahead counts as now).
    r = await client.post(f"{url}/start", json={"at": (now - timedelta(hours=1)).isoformat()}, headers=me)
    assert r.status_code == 200, r.text
    r = await client.post(
        f"{url}/complete", json={"at": (utcnow() + CLIENT_SKEW / 2).isoformat()}, headers=me
    )
    assert r.status_code == 200, r.text
