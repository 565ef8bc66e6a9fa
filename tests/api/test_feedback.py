"""Satisfaction ratings of visits (issue 23) through the API: a completed visit -> the invitation (the sweep,
through the outbox) -> its citizen's rating (once, scores 1-5, within the window, changed within the edit
window; events with who and where) -> the report by courier and post office, JSON and CSV; and who may read.

Visits are written straight into the tables: completed by a courier of office ``PO`` at a stop of a draft plan
made for the visit (a day far ahead that no other test plans), with its ``completed`` event. The invitation
sweep is called directly (under APP_ENV=test the app runs none, RATING_SWEEP_S defaults to 0)."""

import csv
import io
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from backend.db import session_factory
from backend.feedback.ratings import invite_due
from backend.planning import clock
from backend.settings import Settings
from schemas.base import utcnow
from schemas.booking import Appointment, AppointmentEvent, AppointmentKind, AppointmentStatus
from schemas.feedback import FeedbackEvent, Rating, RatingInvitation
from schemas.notifications import Notification
from schemas.planning import Plan, PlanRoute, PlanStatus, PlanStop, StopKind, StopStatus
from tests.conftest import citizen_headers, staff_headers

pytestmark = pytest.mark.asyncio(loop_scope="session")

PO = 6  # 82-BD-07: dispatcher07, couriers courier13 and courier14
CITIZEN, OTHER = "+84900000069", "+84900000070"
H = 3600
GOOD = {"attitude": 5, "timeliness": 4, "fees": 3, "result": 4, "comment": "Bưu tá đến đúng giờ."}


async def me(client: httpx.AsyncClient, headers: dict[str, str]) -> uuid.UUID:
    r = await client.get("/api/v1/me", headers=headers)
    assert r.status_code == 200, r.text
    return uuid.UUID(r.json()["id"])


async def visit(
    engine: AsyncEngine,
    demo: Any,
    citizen_id: uuid.UUID,
    *,
    done_ago: timedelta | None = timedelta(hours=1),
    courier: str = "courier13",
) -> uuid.UUID:
    """A pickup visit of ``citizen_id`` at office ``PO``; completed ``done_ago`` (its ``completed`` event and its
    stop done on ``courier``'s route of a published plan) or still booked (None)."""
    po = demo.post_offices[PO]
    done_at = utcnow() - (done_ago or timedelta(0))
    day = clock.vn_date(done_at)
    async with session_factory(engine)() as session:
        appt = Appointment(
            citizen_id=citizen_id,
            post_office_id=po.id,
            province_code=po.province_code,
            commune_code=po.commune_code,
            kind=AppointmentKind.pickup,
            status=AppointmentStatus.completed if done_ago is not None else AppointmentStatus.booked,
            start=done_at - timedelta(hours=1),
            end=done_at + timedelta(hours=1),
            cost_minutes=20,
            lat=po.lat,
            lon=po.lon,
            fees={"postal": 0, "fee": 0, "charge": 0, "total": 0, "currency": "VND"},
            booked_by_role="citizen",
            booked_by_id=citizen_id,
        )
        session.add(appt)
        await session.flush()
        if done_ago is not None:
            plan = Plan(
                post_office_id=po.id,
                service_date=day + timedelta(days=3000),  # a day no other test plans (unique per plan row)
                status=PlanStatus.superseded,
                progress=100,
                options={},
            )
            session.add(plan)
            await session.flush()
            route = PlanRoute(
                plan_id=plan.id,
                courier_id=demo.staff[courier].id,
                seq=0,
                shift_start=clock.at(day, 7 * H),
                shift_end=clock.at(day, 17 * H),
                start_lat=po.lat,
                start_lon=po.lon,
                end_lat=po.lat,
                end_lon=po.lon,
            )
            session.add(route)
            await session.flush()
            session.add(
                PlanStop(
                    plan_id=plan.id,
                    route_id=route.id,
                    seq=1,
                    key=f"appt:{appt.id}",
                    kind=StopKind.pickup,
                    appointment_id=appt.id,
                    lat=po.lat,
                    lon=po.lon,
                    window_start=appt.start,
                    window_end=appt.end,
                    planned_eta=done_at,
                    eta=done_at,
                    service_start=done_at,
                    departure=done_at,
                    status=StopStatus.done,
                    started_at=done_at,
                    finished_at=done_at,
                )
            )
            session.add(
                AppointmentEvent(
                    appointment_id=appt.id,
                    seq=2,
                    type="completed",
                    at=done_at,
                    actor_role="courier",
                    actor_id=demo.staff[courier].id,
                    channel="app",
                )
            )
        await session.commit()
        return appt.id


async def test_visit_invitation_rating_report(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    citizen = await citizen_headers(client, CITIZEN)
    citizen_id = await me(client, citizen)
    appt = await visit(engine, demo, citizen_id)
    url = f"/api/v1/appointments/{appt}/rating"

    # The sweep invites once: an inbox/push notification through the outbox, an invitation row, an event.
    async with session_factory(engine)() as session:
        assert await invite_due(session, Settings(database_url=str(engine.url))) >= 1
        assert await invite_due(session, Settings(database_url=str(engine.url))) == 0
        notes = (
            (
                await session.execute(
                    select(Notification).where(
                        Notification.recipient_id == citizen_id,
                        Notification.template == "feedback.rate_visit",
                    )
                )
            )
            .scalars()
            .all()
        )
        assert [n.dedupe_key for n in notes] == [f"rating:{appt}:invite"]
        assert notes[0].deep_link == f"/appointments/{appt}/rating"
        assert "đánh giá" in notes[0].title_vi and "rate" in notes[0].title_en
        assert await session.get(RatingInvitation, appt) is not None

    r = await client.get(url, headers=citizen)
    assert r.status_code == 200, r.text
    assert r.json()["rateable"] is True and r.json()["rating"] is None

    # Scores outside 1-5, another citizen's visit, couriers: refused; nothing stored.
    for bad in (0, 6):
        r = await client.post(url, json={**GOOD, "attitude": bad}, headers=citizen)
        assert r.status_code == 400 and r.json()["code"] == "validation", r.text
    r = await client.post(url, json={**GOOD, "comment": "x" * 1001}, headers=citizen)
    assert r.status_code == 400, r.text
    r = await client.post(url, json=GOOD, headers=await citizen_headers(client, OTHER))
    assert r.status_code == 404 and r.json()["code"] == "not_found", r.text
    r = await client.get(url, headers=await staff_headers(client, "courier13"))
    assert r.status_code == 403, r.text

    r = await client.post(url, json=GOOD, headers={**citizen, "X-Forwarded-For": "203.0.113.9"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert {k: body[k] for k in GOOD} == GOOD and body["version"] == 1
    r = await client.post(url, json=GOOD, headers=citizen)
    assert r.status_code == 409 and r.json()["code"] == "rating_exists", r.text

    # The office's dispatcher reads it without who gave it; another office's does not see it.
    r = await client.get(url, headers=await staff_headers(client, "dispatcher07"))
    assert r.status_code == 200, r.text
    assert str(citizen_id) not in r.text and CITIZEN[3:] not in r.text and r.json()["rateable"] is False
    r = await client.get(url, headers=await staff_headers(client, "dispatcher01"))
    assert r.status_code == 404, r.text

    changed = {**GOOD, "timeliness": 2, "comment": None}
    r = await client.patch(url, json=changed, headers=citizen)
    assert r.status_code == 200, r.text
    assert r.json()["timeliness"] == 2 and r.json()["version"] == 2 and r.json()["comment"] is None

    async with session_factory(engine)() as session:
        rating = (await session.execute(select(Rating).where(Rating.appointment_id == appt))).scalars().one()
        assert (
            rating.courier_id == demo.staff["courier13"].id
            and rating.post_office_id == demo.post_offices[PO].id
        )
        events = (
            (
                await session.execute(
                    select(FeedbackEvent)
                    .where(col(FeedbackEvent.subject_id).in_([rating.id, appt]))
                    .order_by(col(FeedbackEvent.at))
                )
            )
            .scalars()
            .all()
        )
        assert [e.type for e in events] == ["invited", "rated", "edited"]
        assert events[1].actor_id == citizen_id and events[1].actor_role == "citizen"
        assert events[1].client_ip  # where: the caller's address as the app sees it
        assert events[2].data["before"]["timeliness"] == 4 and events[2].data["after"]["timeliness"] == 2
        # Past the edit window the rating stays as it is.
        rating.created_at = utcnow() - timedelta(days=30)
        session.add(rating)
        await session.commit()
    r = await client.patch(url, json=GOOD, headers=citizen)
    assert r.status_code == 409 and r.json()["code"] == "rating_edit_closed", r.text

    # The report: this courier's and this office's month, the means of every criterion.
    month = clock.vn_date(utcnow() - timedelta(hours=1))
    params = {"from": month.replace(day=1).isoformat(), "to": clock.vn_date(utcnow()).isoformat()}
    admin = await staff_headers(client, "admin")
    r = await client.get("/api/v1/reports/ratings", params={**params, "group_by": "courier"}, headers=admin)
    assert r.status_code == 200, r.text
    rows = [row for row in r.json()["rows"] if row["group"] == "courier13"]
    assert len(rows) == 1 and rows[0]["ratings"] >= 1
    dispatcher = await staff_headers(client, "dispatcher07")
    r = await client.get("/api/v1/reports/ratings", params=params, headers=dispatcher)
    assert r.status_code == 200, r.text
    assert {row["group"] for row in r.json()["rows"]} == {demo.post_offices[PO].code}
    r = await client.get(
        "/api/v1/reports/ratings", params=params, headers=await staff_headers(client, "dispatcher01")
    )
    assert r.status_code == 200 and demo.post_offices[PO].code not in r.text, r.text
    r = await client.get("/api/v1/reports/ratings", params={**params, "format": "csv"}, headers=dispatcher)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), r.text
    assert r.content.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert lines[0][0] == "Mã / Code" and lines[1][0] == demo.post_offices[PO].code
    r = await client.get(
        "/api/v1/reports/ratings", params={"from": "2026-12-02", "to": "2026-12-01"}, headers=admin
    )
    assert r.status_code == 422 and r.json()["code"] == "bad_period", r.text


async def test_report_means_are_the_scores_means(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    """Two ratings of courier14's visits: the report's means are exactly their means."""
    citizen = await citizen_headers(client, OTHER)
    citizen_id = await me(client, citizen)
    scores = [
        {"attitude": 5, "timeliness": 1, "fees": 4, "result": 2},
        {"attitude": 2, "timeliness": 2, "fees": 3, "result": 3},
    ]
    for s in scores:
        appt = await visit(engine, demo, citizen_id, courier="courier14", done_ago=timedelta(minutes=5))
        r = await client.post(f"/api/v1/appointments/{appt}/rating", json=s, headers=citizen)
        assert r.status_code == 201, r.text
    today = clock.vn_date(utcnow() - timedelta(minutes=5))
    r = await client.get(
        "/api/v1/reports/ratings",
        params={"from": today.isoformat(), "to": today.isoformat(), "group_by": "courier"},
        headers=await staff_headers(client, "admin"),
    )
    assert r.status_code == 200, r.text
    (row,) = [row for row in r.json()["rows"] if row["group"] == "courier14"]
    assert row["ratings"] == 2
    means = {k: sum(s[k] for s in scores) / 2 for k in scores[0]}
    assert {k: row[k] for k in means} == means
    assert row["overall"] == sum(means.values()) / 4


async def test_only_completed_visits_within_the_window(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    citizen = await citizen_headers(client, CITIZEN)
    citizen_id = await me(client, citizen)
    booked = await visit(engine, demo, citizen_id, done_ago=None)
    r = await client.post(f"/api/v1/appointments/{booked}/rating", json=GOOD, headers=citizen)
    assert r.status_code == 409 and r.json()["code"] == "visit_not_completed", r.text
    r = await client.patch(f"/api/v1/appointments/{booked}/rating", json=GOOD, headers=citizen)
    assert r.status_code == 409 and r.json()["code"] == "visit_not_completed", r.text
    old = await visit(engine, demo, citizen_id, done_ago=timedelta(days=20))  # RATING_WINDOW_DAYS is 14
    r = await client.get(f"/api/v1/appointments/{old}/rating", headers=citizen)
    assert r.status_code == 200 and r.json()["rateable"] is False, r.text
    r = await client.post(f"/api/v1/appointments/{old}/rating", json=GOOD, headers=citizen)
    assert r.status_code == 409 and r.json()["code"] == "rating_window_closed", r.text
    recent = await visit(engine, demo, citizen_id, done_ago=timedelta(hours=2))
    r = await client.patch(f"/api/v1/appointments/{recent}/rating", json=GOOD, headers=citizen)
    assert r.status_code == 409 and r.json()["code"] == "rating_missing", r.text
    # The sweep does not invite to rate a visit past the window.
    async with session_factory(engine)() as session:
        await invite_due(session, Settings(database_url=str(engine.url)))
        assert await session.get(RatingInvitation, old) is None
        assert await session.get(RatingInvitation, recent) is not None


async def test_a_visit_completed_by_its_courier_invites_a_rating(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    """The whole way through the API: courier14 completes the visit's stop on a published plan (its own
    ``completed`` event, written by planning), the sweep invites the citizen, who rates it; the rating is
    courier14's in the report."""
    citizen = await citizen_headers(client, OTHER)
    citizen_id = await me(client, citizen)
    appt_id = await visit(engine, demo, citizen_id, done_ago=None)
    po = demo.post_offices[PO]
    day = clock.vn_date(utcnow()) + timedelta(days=210)  # a day no other test plans
    async with session_factory(engine)() as session:
        appt = await session.get(Appointment, appt_id)
        assert appt is not None
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
            courier_id=demo.staff["courier14"].id,
            seq=0,
            shift_start=clock.at(day, 7 * H),
            shift_end=clock.at(day, 17 * H),
            start_lat=po.lat,
            start_lon=po.lon,
            end_lat=po.lat,
            end_lon=po.lon,
        )
        session.add(route)
        await session.flush()
        eta = clock.at(day, 8 * H)
        stop = PlanStop(
            plan_id=plan.id,
            route_id=route.id,
            seq=1,
            key=f"appt:{appt_id}",
            kind=StopKind.pickup,
            appointment_id=appt_id,
            lat=po.lat,
            lon=po.lon,
            window_start=appt.start,
            window_end=appt.end,
            planned_eta=eta,
            eta=eta,
            service_start=eta,
            departure=eta + timedelta(minutes=10),
        )
        session.add(stop)
        await session.commit()
        stop_id = stop.id
    courier = await staff_headers(client, "courier14")
    r = await client.post(f"/api/v1/couriers/me/stops/{stop_id}/complete", headers=courier)
    assert r.status_code == 200, r.text
    async with session_factory(engine)() as session:
        assert await invite_due(session, Settings(database_url=str(engine.url))) >= 1
        invited = (
            await session.execute(
                select(Notification.dedupe_key).where(
                    Notification.recipient_id == citizen_id, Notification.template == "feedback.rate_visit"
                )
            )
        ).all()
        assert (f"rating:{appt_id}:invite",) in [tuple(x) for x in invited]
    r = await client.get(f"/api/v1/appointments/{appt_id}/rating", headers=citizen)
    assert r.status_code == 200 and r.json()["rateable"] is True, r.text
    r = await client.post(f"/api/v1/appointments/{appt_id}/rating", json=GOOD, headers=citizen)
    assert r.status_code == 201, r.text
    async with session_factory(engine)() as session:
        rating = (
            (await session.execute(select(Rating).where(Rating.appointment_id == appt_id))).scalars().one()
        )
        assert rating.courier_id == demo.staff["courier14"].id
