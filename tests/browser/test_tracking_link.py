"""The live tracking page in a real browser (headless Chromium, a phone-sized screen): it opens from the link
with no sign-in, shows the window, the ETA and the stops before yours, updates by itself as the courier
finishes the stops before yours and moves (the page's timers driven by Playwright's clock, the answers real),
shows the courier's position only once the courier's next stop is yours, and says the visit has ended when it
has. It loads nothing from anywhere but the service and logs no error (a Content-Security-Policy violation
would be one)."""

import asyncio
import threading
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from backend.lib.auth import Principal
from backend.planning import clock, tracking_link
from backend.settings import Settings
from schemas.accounts import Citizen
from schemas.base import utcnow
from schemas.booking import Appointment, AppointmentKind
from schemas.enums import Role
from schemas.orgs import Organisation
from schemas.planning import Plan, PlanRoute, PlanStatus, PlanStop, StopKind
from tests.browser.conftest import LiveServer, shot

pytestmark = pytest.mark.browser

OFFICE = "82-BD-12"
H = 3600
PHONE = {"width": 390, "height": 844}
T = TypeVar("T")


def _run(make: Callable[[], Awaitable[T]]) -> T:
    """A coroutine run to its end in a thread of its own (the sync Playwright driver owns this thread)."""
    out: list[T] = []
    thread = threading.Thread(target=lambda: out.append(asyncio.run(make())))  # type: ignore[arg-type]
    thread.start()
    thread.join()
    assert out, "the database step failed (see the log above)"
    return out[0]


async def _route(url: str, courier_id: uuid.UUID) -> tuple[list[str], str]:
    """A published plan: the courier's route of three booked pickups; the stops' ids and a link to the
    third visit's (issued as the courier's app would be sent it)."""
    from backend.db import make_engine, session_factory

    engine = make_engine(url)
    try:
        async with session_factory(engine)() as session:
            po = (await session.exec(select(Organisation).where(Organisation.code == OFFICE))).one()
            citizens = (await session.exec(select(Citizen).order_by(Citizen.phone).limit(3))).all()
            day = clock.vn_date(utcnow())  # today: the position shows only on the plan's own day (issue 22)
            plan = Plan(post_office_id=po.id, service_date=day, status=PlanStatus.published, progress=100,
                        options={}, published_at=utcnow(), finished_at=utcnow())  # fmt: skip
            session.add(plan)
            await session.flush()
            route = PlanRoute(plan_id=plan.id, courier_id=courier_id, shift_start=clock.at(day, 7 * H),
                              shift_end=clock.at(day, 17 * H), start_lat=po.lat, start_lon=po.lon,
                              end_lat=po.lat, end_lon=po.lon)  # fmt: skip
            session.add(route)
            await session.flush()
            stops: list[PlanStop] = []
            for seq, citizen in enumerate(citizens, start=1):
                lat, lon = (po.lat or 10.4) + 0.005 * seq, (po.lon or 105.6) + 0.004 * seq
                appt = Appointment(
                    citizen_id=citizen.id, post_office_id=po.id, province_code=po.province_code,
                    commune_code=po.commune_code, kind=AppointmentKind.pickup, start=clock.at(day, 8 * H),
                    end=clock.at(day, 10 * H), cost_minutes=20, lat=lat, lon=lon, address=f"Số {seq}, ngõ Thử",
                    fees={"total": 0, "currency": "VND"}, booked_by_role="citizen", booked_by_id=citizen.id,
                )  # fmt: skip
                session.add(appt)
                await session.flush()
                eta = clock.at(day, 8 * H + seq * 900)
                stop = PlanStop(
                    plan_id=plan.id, route_id=route.id, seq=seq, key=f"appt:{appt.id}", kind=StopKind.pickup,
                    appointment_id=appt.id, lat=lat, lon=lon, window_start=appt.start, window_end=appt.end,
                    planned_eta=eta, eta=eta, service_start=eta, departure=eta + timedelta(minutes=10),
                )  # fmt: skip
                session.add(stop)
                stops.append(stop)
            await session.flush()
            principal = Principal(id=courier_id, role=Role.courier)
            last = await session.get(Appointment, stops[-1].appointment_id)
            assert last is not None
            _, link = await tracking_link.issue(session, Settings(), principal, last, stops[-1], utcnow())
            await session.commit()
            return [str(s.id) for s in stops], link.rsplit("/", 1)[1]
    finally:
        await engine.dispose()


def _courier(live: LiveServer) -> tuple[uuid.UUID, dict[str, str]]:
    username, password = f"trackb-{uuid.uuid4().hex[:6]}", "trackb-" + uuid.uuid4().hex
    body = {"username": username, "full_name": "Bưu Tá Trình Duyệt", "role": "courier",
            "password": password, "organisation": OFFICE}  # fmt: skip
    r = live.http.post("/api/v1/staff", json=body, headers=live.staff("admin"))
    assert r.status_code in (200, 201), r.text
    r = live.http.post("/api/v1/auth/staff/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    me = live.http.get("/api/v1/me", headers=headers)
    assert me.status_code == 200, me.text
    return uuid.UUID(me.json()["id"]), headers


def _act(live: LiveServer, me: dict[str, str], stop: str, *actions: str) -> None:
    for action in actions:
        r = live.http.post(f"/api/v1/couriers/me/stops/{stop}/{action}", headers=me)
        assert r.status_code == 200, r.text


def _at(live: LiveServer, me: dict[str, str], lat: float, lon: float) -> None:
    r = live.http.post("/api/v1/couriers/me/location", json={"lat": lat, "lon": lon}, headers=me)
    assert r.status_code == 201, r.text


def test_the_tracking_page_updates_as_the_courier_comes(live_server: LiveServer, browser: Any) -> None:
    live = live_server
    courier_id, me = _courier(live)
    stops, token = _run(lambda: _route(live.database_url, courier_id))
    ctx = browser.new_context(viewport=PHONE, is_mobile=True, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    ctx.set_default_timeout(15_000)
    try:
        page = ctx.new_page()
        errors: list[str] = []
        foreign: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: None if r.url.startswith(live.base_url) else foreign.append(r.url))
        page.clock.install()
        page.goto(f"{live.base_url}/v/{token}")
        status = page.locator("#status-vi")
        expect(status).to_have_text("Bưu tá còn 2 điểm dừng trước khi đến chỗ bạn.")
        expect(page.locator("#status-en")).to_contain_text("2 stop(s) away")
        expect(page.locator("#window")).to_contain_text("08:00–10:00")
        expect(page.locator("#stops .dot")).to_have_count(3)
        expect(page.locator("#position")).to_be_hidden()

        # The courier finishes the first stop: the page, polling by itself, shows one stop before yours.
        _at(live, me, 10.45, 105.63)
        _act(live, me, stops[0], "start", "complete")
        page.clock.run_for(16_000)
        expect(status).to_have_text("Bưu tá còn 1 điểm dừng trước khi đến chỗ bạn.")
        expect(page.locator("#stops .dot")).to_have_count(2)
        expect(page.locator("#position")).to_be_hidden()

        # ... and the second: your stop is next, the position appears, snapped to its ~100 m cell.
        _act(live, me, stops[1], "start", "complete")
        _at(live, me, 10.45012, 105.63031)
        page.clock.run_for(16_000)
        expect(status).to_have_text("Bưu tá đang trên đường đến chỗ bạn.")
        lat, lon = tracking_link.snap(10.45012, 105.63031)
        expect(page.locator("#position-text")).to_contain_text(f"{lat:.4f}, {lon:.4f}")
        assert page.locator("#position-map").get_attribute("href") == f"geo:{lat},{lon}"
        shot(page, "tracking_link_heading")

        # The courier moves a cell north: the page follows.
        _at(live, me, 10.45012 + 0.0009, 105.63031)
        page.clock.run_for(16_000)
        north = tracking_link.snap(10.45012 + 0.0009, 105.63031)
        expect(page.locator("#position-text")).to_contain_text(f"{north[0]:.4f}")

        # The visit is done: the page says so and stops polling.
        _act(live, me, stops[2], "start", "complete")
        page.clock.run_for(16_000)
        expect(page.locator("#ended")).to_be_visible()
        expect(page.locator("#ended h1")).to_contain_text("Chuyến thăm đã kết thúc")
        expect(page.locator("#live")).to_be_hidden()
        shot(page, "tracking_link_ended")
        # Opened again, the link shows only that.
        r = page.goto(f"{live.base_url}/v/{token}")
        assert r is not None and r.status == 410
        expect(page.locator("h1")).to_contain_text("This visit has ended")
        assert page.locator("#position").count() == 0
        # Chromium logs the poll's 410 as a failed load; nothing else may be an error.
        assert not [e for e in errors if "status of 410" not in e], errors
        assert not foreign, foreign
    finally:
        ctx.close()


def test_a_wrong_link_says_so(live_server: LiveServer, browser: Any) -> None:
    ctx = browser.new_context(viewport=PHONE, is_mobile=True, locale="vi-VN")
    try:
        page = ctx.new_page()
        r = page.goto(f"{live_server.base_url}/v/{'A' * 22}")
        assert r is not None and r.status == 404
        expect(page.locator("h1")).to_contain_text("Liên kết không hợp lệ")
        expect(page.locator("h1")).to_contain_text("This link is not valid")
    finally:
        ctx.close()
