"""Live tracking links (issue 22) through the API: the link sent with "courier on the way", what its JSON answer
and page show as the courier progresses (stops before yours, position snapped to the ~100 m grid only while the
courier's next stop is yours, the ETA from that position), that nothing personal leaks, expiry (visit done,
cancelled, revoked, hard cap) as 410, forged tokens as 404, and the per-client limit.

Each test writes its own published plan (a day 120 days ahead, which no other test plans) for a courier account
made for it, so no other test's positions or stops move what these see."""

import json
import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from backend.db import session_factory
from backend.lib.auth import Principal
from backend.planning import clock, tracking_link
from backend.settings import Settings
from schemas.base import utcnow
from schemas.booking import Appointment, AppointmentEvent, AppointmentKind
from schemas.enums import Role
from schemas.notifications import Notification
from schemas.planning import Plan, PlanRoute, PlanStatus, PlanStop, StopKind, StopStatus
from schemas.tracking_links import TrackingLink
from tests.conftest import citizen_headers, staff_headers

pytestmark = pytest.mark.asyncio(loop_scope="session")

PO = 10
AHEAD = 120
H = 3600
API = "/api/v1/tracking-links/"


async def _courier(client: httpx.AsyncClient, demo: Any) -> tuple[uuid.UUID, str, dict[str, str]]:
    """A courier account of office ``PO`` made for the test: its id, username and Authorization header."""
    admin = await staff_headers(client, "admin")
    username, password = f"track-{uuid.uuid4().hex[:8]}", "track-" + uuid.uuid4().hex
    body = {
        "username": username,
        "full_name": "Bưu Tá Theo Dõi",
        "role": "courier",
        "password": password,
        "organisation": demo.post_offices[PO].code,
    }
    r = await client.post("/api/v1/staff", json=body, headers=admin)
    assert r.status_code in (200, 201), r.text
    r = await client.post("/api/v1/auth/staff/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    me = await client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200, me.text
    return uuid.UUID(me.json()["id"]), username, headers


async def _route(
    engine: AsyncEngine, demo: Any, courier_id: uuid.UUID, n: int, later: int, office: int = PO
) -> list[dict[str, Any]]:
    """A published plan (one an office and day: ``later`` days after ``AHEAD``) with one route of ``n`` booked
    pickups for ``courier_id``; each stop's ids."""
    day = clock.vn_date(utcnow()) + timedelta(days=AHEAD + later)
    po = demo.post_offices[office]
    commune = next(c for c in demo.communes if c.code == po.commune_code)
    out = []
    async with session_factory(engine)() as session:
        plan = Plan(
            post_office_id=po.id,
            service_date=day,
            status=PlanStatus.published,
            progress=100,
            options={},
            published_at=utcnow(),
            finished_at=utcnow(),
        )
        session.add(plan)
        await session.flush()
        route = PlanRoute(
            plan_id=plan.id,
            courier_id=courier_id,
            shift_start=clock.at(day, 7 * H),
            shift_end=clock.at(day, 17 * H),
            start_lat=po.lat,
            start_lon=po.lon,
            end_lat=po.lat,
            end_lon=po.lon,
        )
        session.add(route)
        await session.flush()
        for seq in range(1, n + 1):
            citizen = demo.citizens[(seq * 13 + PO) % len(demo.citizens)]
            lat, lon = commune.lat + 0.004 * seq, commune.lon + 0.003 * seq
            appt = Appointment(
                citizen_id=citizen.id,
                post_office_id=po.id,
                province_code=po.province_code,
                commune_code=po.commune_code,
                kind=AppointmentKind.pickup,
                start=clock.at(day, 8 * H),
                end=clock.at(day, 10 * H),
                cost_minutes=20,
                lat=lat,
                lon=lon,
                address=f"Số {seq}7, đường Theo Dõi",
                fees={"postal": 0, "fee": 0, "charge": 0, "total": 0, "currency": "VND"},
                booked_by_role="citizen",
                booked_by_id=citizen.id,
            )
            session.add(appt)
            await session.flush()
            eta = clock.at(day, 8 * H + seq * 900)
            stop = PlanStop(
                plan_id=plan.id,
                route_id=route.id,
                seq=seq,
                key=f"appt:{appt.id}",
                kind=StopKind.pickup,
                appointment_id=appt.id,
                lat=lat,
                lon=lon,
                window_start=appt.start,
                window_end=appt.end,
                planned_eta=eta,
                eta=eta,
                service_start=eta,
                departure=eta + timedelta(minutes=10),
            )
            session.add(stop)
            out.append(
                {
                    "stop": stop.id,
                    "appointment": appt.id,
                    "citizen": citizen,
                    "address": appt.address,
                    "lat": lat,
                    "lon": lon,
                    "plan": plan.id,
                    "route": route.id,
                }
            )
        await session.commit()
    return out


async def _issue(engine: AsyncEngine, courier_id: uuid.UUID, visit: dict[str, Any], **over: Any) -> str:
    """A link for ``visit`` issued as the courier would (before setting off to it); its token."""
    settings = Settings()
    async with session_factory(engine)() as session:
        appt = await session.get(Appointment, visit["appointment"])
        stop = await session.get(PlanStop, visit["stop"])
        assert appt is not None and stop is not None
        link, url = await tracking_link.issue(
            session, settings, Principal(id=courier_id, role=Role.courier), appt, stop, utcnow()
        )
        for name, value in over.items():
            setattr(link, name, value)
        session.add(link)
        await session.commit()
    return url.rsplit("/", 1)[1]


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (str(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [str(value)]


def _assert_nothing_personal(text: str, visits: list[dict[str, Any]], courier: tuple[uuid.UUID, str]) -> None:
    """No citizen's id, name, phone or address, no appointment, stop, plan or route id, no courier id, name
    or username, and no unsnapped coordinate of a stop, in ``text``."""
    for v in visits:
        c = v["citizen"]
        for secret in (str(c.id), c.phone, c.phone[3:], c.full_name, v["address"], str(v["appointment"]),
                       str(v["stop"]), str(v["plan"]), str(v["route"]), f"{v['lat']:.4f}", f"{v['lon']:.4f}"):  # fmt: skip
            if secret:
                assert secret not in text, secret
    assert str(courier[0]) not in text and courier[1] not in text
    assert "Bưu Tá Theo Dõi" not in text and "Theo Dõi" not in text.replace("Theo dõi", "")


async def _post_location(client: httpx.AsyncClient, me: dict[str, str], lat: float, lon: float) -> None:
    r = await client.post(
        "/api/v1/couriers/me/location", json={"lat": lat, "lon": lon, "accuracy": 8}, headers=me
    )
    assert r.status_code == 201, r.text


async def test_the_link_follows_the_visit_and_shows_the_courier_only_when_heading_to_you(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    courier_id, username, me = await _courier(client, demo)
    visits = await _route(
        engine, demo, courier_id, 3, -AHEAD
    )  # today: the position is shown on the plan's day
    ours = visits[2]
    token = await _issue(engine, courier_id, ours)
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", token)

    # Two stops before ours, nothing started: no position, however fresh.
    await _post_location(client, me, 10.30012, 105.60031)
    r = await client.get(API + token)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["heading_to_you"] is False and body["stops_before"] == 2 and body["position"] is None
    assert body["window_start"].endswith("+07:00") and body["visit_kind"] == "pickup"
    assert body["post_office"] == demo.post_offices[PO].name
    assert set(body) == {"visit_kind", "post_office", "window_start", "window_end", "eta", "heading_to_you",
                         "stops_before", "position", "expires_at", "refresh_s"}  # fmt: skip

    # The courier sets off to the first stop (its citizen gets a link of their own), then finishes it.
    first = visits[0]
    assert (
        await client.post(f"/api/v1/couriers/me/stops/{first['stop']}/start", headers=me)
    ).status_code == 200
    assert (await client.get(API + token)).json()["stops_before"] == 2
    assert (
        await client.post(f"/api/v1/couriers/me/stops/{first['stop']}/complete", headers=me)
    ).status_code == 200
    body = (await client.get(API + token)).json()
    assert body["stops_before"] == 1 and body["position"] is None and not body["heading_to_you"]
    assert (
        await client.post(f"/api/v1/couriers/me/stops/{visits[1]['stop']}/start", headers=me)
    ).status_code == 200
    assert (
        await client.post(f"/api/v1/couriers/me/stops/{visits[1]['stop']}/complete", headers=me)
    ).status_code == 200

    # Our stop is next: the position appears, snapped to its grid cell's centre; a move inside the cell
    # changes nothing, one into the next cell moves it by a cell.
    await _post_location(client, me, 10.30012, 105.60031)
    body = (await client.get(API + token)).json()
    assert body["heading_to_you"] is True and body["stops_before"] == 0
    pos = body["position"]
    assert (pos["lat"], pos["lon"]) == tracking_link.snap(10.30012, 105.60031) and pos["cell_m"] == 100
    assert abs(pos["lat"] - 10.30012) * 111_320 <= 50 and abs(pos["lon"] - 105.60031) * 109_500 <= 51
    assert pos["at"].endswith(":00+07:00")
    await _post_location(client, me, pos["lat"] + 0.0002, pos["lon"] - 0.0002)  # ~22 m away, same cell
    assert (await client.get(API + token)).json()["position"] == pos
    await _post_location(client, me, pos["lat"] + 0.0009, pos["lon"])  # the next row of cells
    moved = (await client.get(API + token)).json()
    assert moved["position"]["lat"] == pytest.approx(pos["lat"] + 100 / 111_320, abs=1e-6)
    assert abs(moved["position"]["lon"] - pos["lon"]) * 109_500 <= 51
    # ETA from that position (haversine matrix in tests), never in the past.
    assert clock.rfc3339(utcnow() - timedelta(minutes=1)) <= moved["eta"]

    # The courier sets off to us: our citizen's notification carries the same link, in the text too.
    r = await client.post(f"/api/v1/couriers/me/stops/{ours['stop']}/start", headers=me)
    assert r.status_code == 200, r.text
    async with session_factory(engine)() as session:
        note = (
            await session.exec(
                select(Notification).where(
                    Notification.recipient_id == ours["citizen"].id,
                    Notification.template == "courier.on_the_way",
                    Notification.dedupe_key == f"appt:{ours['appointment']}:on_the_way:{ours['stop']}",
                )
            )
        ).one()
        assert note.params["track_url"].endswith("/v/" + token)
        assert note.params["track_url"] in note.body_vi and note.params["track_url"] in note.body_en
        event = (
            await session.exec(
                select(AppointmentEvent)
                .where(AppointmentEvent.appointment_id == ours["appointment"])
                .order_by(col(AppointmentEvent.seq).desc())
            )
        ).first()
        assert event is not None and event.type == "en_route"
        links = (
            await session.exec(select(TrackingLink).where(TrackingLink.appointment_id == ours["appointment"]))
        ).all()
        assert len(links) == 1 and event.data["tracking_link"] == links[0].id
        first_link = (
            await session.exec(
                select(TrackingLink).where(TrackingLink.appointment_id == first["appointment"])
            )
        ).one()
        assert first_link.issued_by_id == courier_id and first_link.issued_by_role == "courier"

    # The page: rendered with the answer, strict headers, counted; nothing personal in either.
    page = await client.get("/v/" + token)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert (
        page.headers["referrer-policy"] == "no-referrer"
        and "default-src 'none'" in page.headers["content-security-policy"]
    )
    assert "Bưu tá đang trên đường đến chỗ bạn" in page.text and "heading to you" in page.text
    answer = (await client.get(API + token)).json()
    visible = json.dumps(answer, ensure_ascii=False) + " ".join(_strings(answer)) + page.text
    _assert_nothing_personal(visible, visits, (courier_id, username))
    assert "geo:" in page.text and "http://" not in page.text.replace("http://www.w3.org", "")
    async with session_factory(engine)() as session:
        assert (await session.get(TrackingLink, links[0].id)).views == 1  # type: ignore[union-attr]

    # The visit ends: the answer is a 410 problem, the page says so.
    r = await client.post(f"/api/v1/couriers/me/stops/{ours['stop']}/complete", headers=me)
    assert r.status_code == 200, r.text
    r = await client.get(API + token)
    assert r.status_code == 410 and r.json()["code"] == "tracking_link_ended"
    page = await client.get("/v/" + token)
    assert page.status_code == 410 and "Chuyến thăm đã kết thúc" in page.text and "has ended" in page.text


async def test_forged_tampered_and_unknown_tokens_are_404(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    courier_id, _, _ = await _courier(client, demo)
    visit = (await _route(engine, demo, courier_id, 1, 1))[0]
    token = await _issue(engine, courier_id, visit)
    assert (await client.get(API + token)).status_code == 200
    flipped = [token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :] for i in range(22)]
    key = tracking_link.link_key(Settings().secret_key)
    other_key = tracking_link.sign(
        tracking_link.link_key("another key " + "x" * 32), tracking_link.verify(key, token) or ""
    )
    for bad in [*flipped, other_key, token[:-1], token + "A", "A" * 22, "+" + token[1:], token[:21] + "."]:
        r = await client.get(API + bad)
        assert r.status_code == 404, (bad, r.text)
        assert r.json()["code"] == "tracking_link_not_found", bad
    r = await client.get(API + flipped[5])
    assert r.json()["code"] == "tracking_link_not_found"
    page = await client.get("/v/" + flipped[5])
    assert page.status_code == 404 and "Liên kết không hợp lệ" in page.text
    # A valid MAC over an id that has no row (a deleted link, or another database): 404 too.
    ghost = tracking_link.sign(key, tracking_link.new_link_id())
    assert (await client.get(API + ghost)).status_code == 404


async def test_links_end_with_the_visit_revocation_or_their_hard_cap(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    courier_id, _, _ = await _courier(client, demo)
    visits = await _route(engine, demo, courier_id, 4, 2)
    expired = await _issue(engine, courier_id, visits[0], expires_at=utcnow() - timedelta(seconds=1))
    revoked = await _issue(engine, courier_id, visits[1])
    cancelled = await _issue(engine, courier_id, visits[2])
    failed = await _issue(engine, courier_id, visits[3])
    for token in (expired, revoked, cancelled, failed):
        assert (await client.get(API + token)).status_code in (200, 410)
    assert (await client.get(API + expired)).status_code == 410
    # The citizen stops the link (forwarded too widely): only theirs to stop; a dispatcher of another
    # office and a courier may not; the visit's history says who did.
    citizen = visits[1]["citizen"]
    revoke = f"/api/v1/appointments/{visits[1]['appointment']}/tracking-link/revoke"
    other = await staff_headers(client, "dispatcher01" if PO != 0 else "dispatcher02")
    assert (await client.post(revoke, headers=other)).status_code == 404
    assert (await client.post(revoke, headers=await staff_headers(client, "courier01"))).status_code == 403
    mine = await citizen_headers(client, citizen.phone)
    r = await client.post(revoke, headers=mine)
    assert r.status_code == 200 and r.json() == {"revoked": 1}, r.text
    assert (await client.post(revoke, headers=mine)).json() == {"revoked": 0}
    async with session_factory(engine)() as session:
        link = (
            await session.exec(
                select(TrackingLink).where(TrackingLink.appointment_id == visits[1]["appointment"])
            )
        ).one()
        assert link.revoked_by_id == citizen.id and link.revoked_by_role == "citizen"
        event = (
            await session.exec(
                select(AppointmentEvent)
                .where(AppointmentEvent.appointment_id == visits[1]["appointment"])
                .order_by(col(AppointmentEvent.seq).desc())
            )
        ).first()
        assert event is not None and event.type == "tracking_revoked" and event.actor_id == citizen.id
    dispatcher = await staff_headers(client, f"dispatcher{PO + 1:02d}")
    r = await client.post(
        f"/api/v1/appointments/{visits[2]['appointment']}/cancel",
        json={"reason": "Thử hủy / test cancel"},
        headers=dispatcher,
    )
    assert r.status_code == 200, r.text
    async with session_factory(engine)() as session:  # the courier's failed visit, as the stop records it
        stop = await session.get(PlanStop, visits[3]["stop"])
        assert stop is not None
        stop.status, stop.finished_at = StopStatus.failed, utcnow()
        session.add(stop)
        await session.commit()
    for token in (expired, revoked, cancelled, failed):
        r = await client.get(API + token)
        assert r.status_code == 410 and r.json()["code"] == "tracking_link_ended", (token, r.text)


async def test_each_client_ip_is_limited_per_link_and_for_bad_tokens(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    courier_id, _, _ = await _courier(client, demo)
    token = await _issue(engine, courier_id, (await _route(engine, demo, courier_id, 1, 3))[0])
    limit = client.app.state.settings.tracking_link_rate_per_minute  # type: ignore[attr-defined]
    transport = httpx.ASGITransport(app=client.app, client=("198.51.100.22", 40000))  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        codes = [(await other.get(API + "A" * 22)).status_code for _ in range(limit)]
        assert set(codes) == {404}
        r = await other.get("/v/" + "B" * 22)
        assert r.status_code == 429 and r.json()["code"] == "rate_limited"
        assert 1 <= int(r.headers["retry-after"]) <= 60
        # Guesses from this address do not hold back a real link followed from it (a carrier's NAT) ...
        codes = [(await other.get(API + token)).status_code for _ in range(limit)]
        assert set(codes) == {200}
        # ... which has its own limit.
        r = await other.get("/v/" + token)
        assert r.status_code == 429 and r.json()["code"] == "rate_limited"
    # Another client is not held back by that one.
    assert (await client.get(API + token)).status_code == 200
    assert (await client.get(API + "A" * 22)).status_code == 404


async def test_the_position_only_on_the_plans_day_after_the_couriers_first_action(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    """Issue 22: heading to you is not enough. A plan of another day, or today's before the courier acted on a
    stop of the route, shows no position however fresh."""
    courier_id, _, me = await _courier(client, demo)
    later = (await _route(engine, demo, courier_id, 1, 4))[0]  # a plan of another day
    token = await _issue(engine, courier_id, later)
    assert (
        await client.post(f"/api/v1/couriers/me/stops/{later['stop']}/start", headers=me)
    ).status_code == 200
    await _post_location(client, me, 10.30012, 105.60031)
    body = (await client.get(API + token)).json()
    assert body["heading_to_you"] is True and body["position"] is None

    # Today, another office's plan (one published plan an office and day): our stop is the first, so the
    # courier heads to it, but has not set off yet.
    today = await _route(engine, demo, courier_id, 2, -AHEAD, office=PO - 2)
    token = await _issue(engine, courier_id, today[1])
    first = await _issue(engine, courier_id, today[0])
    await _post_location(client, me, 10.30012, 105.60031)
    body = (await client.get(API + first)).json()
    assert body["heading_to_you"] is True and body["position"] is None
    # The first action of the day (the first stop failed): the next stop's citizen now sees the courier.
    r = await client.post(
        f"/api/v1/couriers/me/stops/{today[0]['stop']}/fail",
        json={"reason_code": "citizen_absent"},
        headers=me,
    )
    assert r.status_code == 200, r.text
    await _post_location(client, me, 10.30012, 105.60031)
    body = (await client.get(API + token)).json()
    assert body["heading_to_you"] is True
    assert body["position"] is not None and (body["position"]["lat"], body["position"]["lon"]) == (
        tracking_link.snap(10.30012, 105.60031)
    )
