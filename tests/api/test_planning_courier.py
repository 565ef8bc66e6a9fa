"""The courier's day on a published plan: stop actions write appointment events and move ETAs, a re-plan keeps
started and finished stops, the insertion check for bookings, and recovery of plans after a restart."""

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from backend.db import session_factory
from backend.lib.auth import Principal
from backend.planning import clock, courier, services, worker
from backend.planning.capacity import fits_in_plan, insertion_check
from backend.planning.problem_builder import matrix_provider
from routing import Location
from schemas.base import utcnow
from schemas.booking import Appointment, AppointmentEvent, AppointmentStatus
from schemas.enums import Role
from schemas.notifications import Notification
from schemas.planning import (
    CourierPosition,
    Plan,
    PlanStatus,
    PlanStop,
    ReplanCreate,
    StopAction,
    StopFailure,
)
from tests.api.planning_support import H, add_appointments, next_weekday, parse, wait_plan
from tests.conftest import staff_headers

PO = 7  # 82-BD-08: dispatcher08, courier15 and courier16
M = 60


async def published_day(client: httpx.AsyncClient, engine: AsyncEngine, demo: Any) -> dict[str, Any]:
    day = next_weekday(5)
    specs = [
        ("pickup", 8 * H, 10 * H),
        ("delivery", 8 * H, 10 * H),
        ("pickup", 8 * H, 10 * H),
        ("pickup", 9 * H, 11 * H),
        ("delivery", 10 * H, 12 * H),
        ("pickup", 13 * H + 30 * M, 15 * H + 30 * M),
        ("pickup", 15 * H, 17 * H),
    ]
    ids = await add_appointments(engine, demo, PO, day, specs)
    headers = await staff_headers(client, "dispatcher08")
    r = await client.post(
        f"/api/v1/post-offices/{demo.post_offices[PO].id}/plans",
        json={"date": day.isoformat(), "time_limit_s": 2, "minimize_couriers": True},
        headers=headers,
    )
    assert r.status_code == 202, r.text
    busy = await client.post(
        f"/api/v1/post-offices/{demo.post_offices[PO].id}/plans",
        json={"date": day.isoformat()},
        headers=headers,
    )
    assert busy.status_code == 409 and busy.json()["plan_id"] == r.json()["id"]
    plan = await wait_plan(client, headers, r.json()["id"])
    assert plan["status"] == "done", plan
    assert (await client.post(f"/api/v1/plans/{plan['id']}/publish", headers=headers)).status_code == 200
    route = max(plan["routes"], key=lambda x: len(x["stops"]))
    assert len(route["stops"]) >= 4, plan
    username = next(u for u in ("courier15", "courier16") if str(demo.staff[u].id) == route["courier"]["id"])
    return {"day": day, "ids": ids, "plan": plan, "route": route, "username": username, "headers": headers}


async def events_of(engine: AsyncEngine, appointment_id: str) -> list[AppointmentEvent]:
    async with session_factory(engine)() as session:
        rows = await session.exec(
            select(AppointmentEvent)
            .where(AppointmentEvent.appointment_id == uuid.UUID(appointment_id))
            .order_by(col(AppointmentEvent.seq))
        )
        return list(rows.all())


async def test_courier_day_actions_etas_and_replan(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    data = await published_day(client, engine, demo)
    day, route = data["day"], data["route"]
    me = await staff_headers(client, data["username"])
    other = await staff_headers(client, "courier15" if data["username"] == "courier16" else "courier16")
    stops = route["stops"]
    first, second, third, fourth = stops[0], stops[1], stops[2], stops[3]

    # Position reports.
    r = await client.post(
        "/api/v1/couriers/me/location", json={"lat": 10.3, "lon": 105.6, "accuracy": 12}, headers=me
    )
    assert r.status_code == 201, r.text
    future = (utcnow() + timedelta(hours=2)).isoformat()
    r = await client.post(
        "/api/v1/couriers/me/location", json={"lat": 10.3, "lon": 105.6, "at": future}, headers=me
    )
    assert r.status_code == 422
    dispatcher = data["headers"]
    assert (
        await client.post("/api/v1/couriers/me/location", json={"lat": 1, "lon": 1}, headers=dispatcher)
    ).status_code == 403

    # Start then complete the first stop over HTTP.
    assert (
        await client.post(f"/api/v1/couriers/me/stops/{first['id']}/start", headers=other)
    ).status_code == 404
    r = await client.post(f"/api/v1/couriers/me/stops/{first['id']}/start", headers=me)
    assert r.status_code == 200, r.text
    assert r.json()["stop"]["status"] == "started"
    assert (
        await client.post(f"/api/v1/couriers/me/stops/{first['id']}/start", headers=me)
    ).status_code == 409
    r = await client.post(f"/api/v1/couriers/me/stops/{first['id']}/complete", headers=me)
    assert r.status_code == 200, r.text
    assert [x["id"] for x in r.json()["remaining"]] == [s["id"] for s in stops[1:]]
    types = [e.type for e in await events_of(engine, first["appointment_id"])]
    assert types[-3:] == ["assigned", "en_route", "completed"], types
    async with session_factory(engine)() as session:
        appt = await session.get(Appointment, uuid.UUID(first["appointment_id"]))
        assert appt is not None and appt.status == AppointmentStatus.completed
        notes = (
            await session.exec(
                select(Notification).where(
                    Notification.recipient_id == appt.citizen_id,
                    Notification.template == "courier.on_the_way",
                )
            )
        ).all()
        assert notes
    r = await client.post(
        f"/api/v1/couriers/me/stops/{second['id']}/fail", json={"reason_code": "no_such_reason"}, headers=me
    )
    assert r.status_code == 422

    # Inside the plan's day (service level, with the clock set): completing the second stop at 09:40 moves the
    # next ETA to 09:40 + travel from the second stop, by the same matrix as the solver.
    principal = Principal(
        id=demo.staff[data["username"]].id, role=Role.courier, org_id=demo.post_offices[PO].id
    )
    now = clock.at(day, 9 * H + 40 * M)
    async with session_factory(engine)() as session:
        out = await courier.stop_action(
            session, principal, uuid.UUID(second["id"]), "complete", StopAction(), now=now
        )
    nxt = out["remaining"][0]
    assert str(nxt["id"]) == third["id"]
    m = matrix_provider().matrix(
        [Location(lat=second["lat"], lon=second["lon"]), Location(lat=third["lat"], lon=third["lon"])],
        route["profile"],
    )
    expected = max(now + timedelta(seconds=round(float(m.durations[0, 1]))), parse(third["window"]["start"]))
    assert parse(nxt["eta"]) == expected
    etas = [parse(x["eta"]) for x in out["remaining"]]
    assert all(a <= b for a, b in zip(etas, etas[1:], strict=False))

    # A no-show inside the window goes through the booking domain's own outcome (not before the window opens).
    now = max(now + timedelta(minutes=20), parse(third["window"]["start"]) + timedelta(minutes=5))
    async with session_factory(engine)() as session:
        await courier.stop_action(
            session,
            principal,
            uuid.UUID(third["id"]),
            "fail",
            StopFailure(reason_code="citizen_absent"),
            now=now,
        )
    async with session_factory(engine)() as session:
        appt = await session.get(Appointment, uuid.UUID(third["appointment_id"]))
        assert appt is not None and appt.status == AppointmentStatus.no_show
    assert (await events_of(engine, third["appointment_id"]))[-1].reason_code == "citizen_absent"

    # The fourth stop is under way 50 minutes later, from a reported position; re-plan from there.
    async with session_factory(engine)() as session:
        await courier.stop_action(
            session, principal, uuid.UUID(fourth["id"]), "start", StopAction(lat=fourth["lat"], lon=fourth["lon"]),
            now=now + timedelta(minutes=50),
        )  # fmt: skip
        session.add(
            CourierPosition(
                courier_id=principal.id, lat=fourth["lat"], lon=fourth["lon"], at=now + timedelta(minutes=55)
            )
        )
        await session.commit()
    dispatcher_p = Principal(
        id=demo.staff["dispatcher08"].id, role=Role.dispatcher, org_id=demo.post_offices[PO].id
    )
    async with session_factory(engine)() as session:
        new = await services.replan(
            session,
            dispatcher_p,
            uuid.UUID(data["plan"]["id"]),
            ReplanCreate(time_limit_s=2),
            now=now + timedelta(hours=1),
        )
    await worker.runner_of(client.app).launch(new.id)  # type: ignore[attr-defined]
    replanned = await wait_plan(client, dispatcher, str(new.id))
    assert replanned["status"] == "done" and replanned["replan_of"] == data["plan"]["id"]
    mine = next(x for x in replanned["routes"] if x["courier"]["id"] == route["courier"]["id"])
    keys = [(s["key"], s["status"]) for s in mine["stops"]]
    # Finished stops stay at the head in their order; the started one comes next, on the same courier.
    assert keys[:4] == [
        (first["key"], "done"),
        (second["key"], "done"),
        (third["key"], "failed"),
        (fourth["key"], "started"),
    ]
    assert (mine["stops"][0]["id"]) != first["id"]  # copied into the new plan, not moved
    for s in mine["stops"][4:]:
        assert parse(s["eta"]) >= now + timedelta(hours=1)
    assert parse(mine["start_at"]) >= now + timedelta(hours=1)
    all_keys = [s["key"] for x in replanned["routes"] for s in x["stops"]] + [
        u["key"] for u in replanned["unassigned"]
    ]
    assert len(all_keys) == len(set(all_keys))
    r = await client.post(f"/api/v1/plans/{new.id}/publish", headers=dispatcher)
    assert r.status_code == 200, r.text
    assert r.json()["superseded"] == [data["plan"]["id"]]
    old = await client.get(f"/api/v1/plans/{data['plan']['id']}", headers=dispatcher)
    assert old.json()["status"] == "superseded"
    view = await client.get("/api/v1/couriers/me/route", params={"date": day.isoformat()}, headers=me)
    assert view.json()["plan_id"] == str(new.id)
    # Finished stops no longer give the citizen's number.
    assert all(s["person"]["call"] is None for s in view.json()["stops"][:3] if s.get("person"))

    # Insertion check on the published plan.
    po = demo.post_offices[PO]
    async with session_factory(engine)() as session:
        ok = await insertion_check(
            session, po.id, clock.at(day, 13 * H + 30 * M), clock.at(day, 16 * H), po.lat + 0.003, po.lon, 600
        )
        assert ok is not None and ok.feasible, ok
        assert ok.vehicle in {str(x["courier"]["id"]) for x in replanned["routes"]}
        assert await fits_in_plan(
            session, po.id, clock.at(day, 13 * H + 30 * M), clock.at(day, 16 * H), po.lat + 0.003, po.lon, 600
        )
        assert not await fits_in_plan(
            session, po.id, clock.at(day, 3 * H), clock.at(day, 4 * H), po.lat, po.lon, 600
        )
        assert not await fits_in_plan(
            session,
            po.id,
            clock.at(day, 13 * H + 30 * M),
            clock.at(day, 16 * H),
            po.lat + 3.0,
            po.lon + 3.0,
            600,
        )
        # No plan for that day at another office: the booking ledger alone decides.
        other_po = demo.post_offices[PO + 1]
        assert await fits_in_plan(
            session, other_po.id, clock.at(day, 3 * H), clock.at(day, 4 * H), 0.0, 0.0, 600
        )


async def test_stale_plans_are_recovered_at_startup(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    po = demo.post_offices[9]
    day = next_weekday(6)
    old = utcnow() - timedelta(minutes=10)
    async with session_factory(engine)() as session:
        stale = Plan(post_office_id=po.id, service_date=day, status=PlanStatus.running, created_at=old, heartbeat_at=old,
                     options={"time_limit_s": 1})  # fmt: skip
        past = Plan(post_office_id=po.id, service_date=day - timedelta(days=30), status=PlanStatus.queued,
                    created_at=old, options={})  # fmt: skip
        fresh = Plan(post_office_id=po.id, service_date=day + timedelta(days=1), status=PlanStatus.running,
                     heartbeat_at=utcnow(), options={})  # fmt: skip
        session.add_all([stale, past, fresh])
        await session.commit()
    runner = worker.runner_of(client.app)  # type: ignore[attr-defined]
    counts = await worker.recover_stale(engine, runner)
    assert counts["requeued"] >= 1 and counts["failed"] >= 1
    admin = await staff_headers(client, "admin")
    solved = await wait_plan(client, admin, str(stale.id))
    assert solved["status"] == "done"
    async with session_factory(engine)() as session:
        p = await session.get(Plan, past.id)
        f = await session.get(Plan, fresh.id)
        assert p is not None and p.status == PlanStatus.failed and p.error
        assert f is not None and f.status == PlanStatus.running
        f.status = PlanStatus.failed  # leave nothing running behind
        session.add(f)
        await session.commit()
        assert (await session.exec(select(PlanStop).where(PlanStop.plan_id == past.id))).all() == []
