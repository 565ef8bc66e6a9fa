"""The post office's cash-up screen in a real browser (issue 21): a courier collected at the door and cashed
up 5,000 VND short; the dispatcher sees the difference, signs, and closes the day."""

import asyncio
import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from schemas.base import utcnow
from tests.browser.conftest import LiveServer, shot, sign_in

pytestmark = pytest.mark.browser

OFFICE = "82-BD-06"  # dispatcher06, courier11 and courier12


async def _visit(url: str, courier: str) -> str:
    """A visit with a quote of 45,000 VND on the courier's route of a published plan, written into the tables."""
    from backend.db import make_engine, session_factory
    from backend.planning import clock
    from schemas.accounts import Citizen, StaffUser
    from schemas.booking import Appointment, AppointmentKind
    from schemas.catalogue import Procedure
    from schemas.orgs import Organisation
    from schemas.planning import Plan, PlanRoute, PlanStatus, PlanStop, StopKind

    engine = make_engine(url)
    try:
        async with session_factory(engine)() as session:
            po = (await session.exec(select(Organisation).where(Organisation.code == OFFICE))).one()
            user = (await session.exec(select(StaffUser).where(StaffUser.username == courier))).one()
            citizen = (await session.exec(select(Citizen).limit(1))).one()
            proc = (await session.exec(select(Procedure).where(Procedure.postal_pickup).limit(1))).one()
            day = clock.vn_date(utcnow()) + timedelta(days=777)
            start = clock.at(day, 9 * 3600)
            plan = Plan(post_office_id=po.id, service_date=day, status=PlanStatus.published)
            session.add(plan)
            await session.flush()
            route = PlanRoute(plan_id=plan.id, courier_id=user.id, shift_start=start, shift_end=start + timedelta(hours=8),
                              start_lat=po.lat, start_lon=po.lon, end_lat=po.lat, end_lon=po.lon)  # fmt: skip
            session.add(route)
            await session.flush()
            appt = Appointment(citizen_id=citizen.id, post_office_id=po.id, province_code=po.province_code,
                               commune_code=po.commune_code, kind=AppointmentKind.pickup, start=start,
                               end=start + timedelta(hours=2), cost_minutes=20, lat=po.lat, lon=po.lon,
                               fees={"postal": 20000, "fee": 10000, "charge": 15000, "total": 45000},
                               booked_by_role="citizen", booked_by_id=citizen.id, procedure_id=proc.id)  # fmt: skip
            session.add(appt)
            await session.flush()
            session.add(PlanStop(plan_id=plan.id, route_id=route.id, seq=1, key="cashup", kind=StopKind.pickup,
                                 appointment_id=appt.id, lat=po.lat, lon=po.lon, planned_eta=start, eta=start,
                                 service_start=start, departure=start))  # fmt: skip
            await session.commit()
            return str(appt.id)
    finally:
        await engine.dispose()


def _in_thread(coro: Any) -> Any:
    out: list[Any] = []
    worker = threading.Thread(target=lambda: out.append(asyncio.run(coro)))
    worker.start()
    worker.join()
    assert out, "writing the visit failed (see the log)"
    return out[0]


def test_dispatcher_confirms_a_short_cashup_and_closes_the_day(live_server: LiveServer, context: Any) -> None:
    live = live_server
    appt = _in_thread(_visit(live.database_url, "courier11"))
    courier = live.staff("courier11")
    body = {
        "client_event_id": uuid.uuid4().hex,
        "appointment_id": appt,
        "amount_vnd": 45000,
        "method": "cash_door",
    }
    r = live.http.post("/api/v1/collections", json=body, headers=courier)
    assert r.status_code == 200, r.text
    r = live.http.post(
        f"/api/v1/post-offices/{OFFICE}/cashups",
        json={"counted_cash_vnd": 40000, "note": "Thiếu 5.000đ"},
        headers=courier,
    )
    assert r.status_code == 201, r.text

    page = context.new_page()
    sign_in(page, live.base_url, "dispatcher06")
    page.wait_for_url("**/console/dispatcher**")
    page.locator("#cashup-link").click()  # the dispatcher's console links the cash-up screen
    page.wait_for_url("**/console/cashup**")
    row = page.locator("#cashup-rows tr[data-status='pending']")
    row.wait_for()
    assert row.locator("[data-diff]").get_attribute("data-diff") == "-5000"
    assert "Thiếu 5.000đ" in row.inner_text()
    assert page.locator("#cashup-state").get_attribute("data-closable") == "false"
    shot(page, "console-cashup")
    # Closing now is refused: the courier's cash-up is not signed by the office.
    page.click("#cashup-close")
    page.locator("#toast.error").wait_for()
    row.locator("button[data-confirm]").click()
    page.locator("#cashup-rows tr[data-status='confirmed']").wait_for()
    page.wait_for_function("document.getElementById('cashup-state').dataset.closable === 'true'")
    page.click("#cashup-close")
    page.wait_for_function("document.getElementById('cashup-state').textContent === 'Đã đóng ngày'")
    day = live.http.get(f"/api/v1/post-offices/{OFFICE}/cashups", headers=live.staff("dispatcher06")).json()
    mine = [c for c in day["couriers"] if c["cashup"]]
    assert mine and mine[0]["cashup"]["status"] == "confirmed" and mine[0]["cash_held_vnd"] == 0
