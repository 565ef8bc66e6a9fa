"""A dispatcher's hand on a plan (issue 20): reorder on a draft, move a stop to the other courier on a published
plan (the couriers' routes and versions change, both are notified through the outbox, the appointment is
assigned to its new courier, a plan event says who, when, where, before and after), an infeasible move refused
with its violations and nothing changed, bad input as 4xx problems, pins kept by a re-plan."""

import uuid
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from backend.db import session_factory
from schemas.booking import AppointmentEvent
from schemas.notifications import Notification
from schemas.planning import PlanEvent, PlanRoute, PlanStop
from tests.api.planning_support import H, add_appointments, next_weekday, wait_plan
from tests.conftest import staff_headers

PO = 10  # 82-BD-11: dispatcher11, courier21 and courier22
COURIERS = ("courier21", "courier22")
M = 60


async def _plan(client: httpx.AsyncClient, headers: dict[str, str], demo: Any, day: Any) -> dict[str, Any]:
    r = await client.post(
        f"/api/v1/post-offices/{demo.post_offices[PO].id}/plans",
        json={"date": day.isoformat(), "time_limit_s": 2, "minimize_couriers": True},
        headers=headers,
    )
    assert r.status_code == 202, r.text
    plan = await wait_plan(client, headers, r.json()["id"])
    assert plan["status"] == "done", plan
    return plan


def _route_of(plan: dict[str, Any], stop_id: str) -> dict[str, Any]:
    return next(r for r in plan["routes"] if any(s["id"] == stop_id for s in r["stops"]))


async def test_stop_control_journey(client: httpx.AsyncClient, engine: AsyncEngine, demo: Any) -> None:
    day = next_weekday(40)
    specs = [("pickup", 8 * H, 16 * H)] * 5 + [("pickup", 8 * H, 8 * H + 30 * M)]
    ids = await add_appointments(engine, demo, PO, day, specs)
    tight_appt = str(ids[-1])
    headers = await staff_headers(client, "dispatcher11")
    plan = await _plan(client, headers, demo, day)
    route = max(plan["routes"], key=lambda x: len(x["stops"]))
    assert len(route["stops"]) >= 3, plan
    first = route["stops"][0]
    last = next(s for s in reversed(route["stops"]) if s["appointment_id"] != tight_appt)
    assert route["version"] == 1 and not first["pinned"] and first["visit"] is None

    # A reorder on the draft: a later stop to the front (after the 08:00-08:30 visit if that is first); ETAs
    # recomputed, version 2, no courier told (not published).
    to = 2 if first["appointment_id"] == tight_appt else 1
    r = await client.post(f"/api/v1/plan-stops/{last['id']}/move", json={"position": to}, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    changed = body["routes"][0]
    assert changed["version"] == 2 and changed["stops"][to - 1]["id"] == last["id"]
    assert [s["seq"] for s in changed["stops"]] == list(range(1, len(route["stops"]) + 1))
    etas = [s["eta"] for s in changed["stops"]]
    assert etas == sorted(etas)
    detail = (await client.get(f"/api/v1/plans/{plan['id']}", headers=headers)).json()
    assert _route_of(detail, last["id"])["stops"][to - 1]["id"] == last["id"]
    async with session_factory(engine)() as session:
        told = (await session.exec(select(Notification).where(
            col(Notification.dedupe_key).startswith(f"plan.stop_control:{body['event_id']}")))).all()  # fmt: skip
        assert told == []

    # Stale version, bad positions, a courier of another office, a stop of another office: 4xx, nothing changed.
    r = await client.post(
        f"/api/v1/plan-stops/{first['id']}/move", json={"position": 1, "route_version": 1}, headers=headers
    )
    assert r.status_code == 409 and r.json()["code"] == "route_changed"
    r = await client.post(f"/api/v1/plan-stops/{first['id']}/move", json={"position": 99}, headers=headers)
    assert r.status_code == 422 and r.json()["code"] == "bad_position"
    r = await client.post(f"/api/v1/plan-stops/{first['id']}/move", json={"position": 0}, headers=headers)
    assert r.status_code == 400
    outsider = str(demo.staff["courier01"].id)
    r = await client.post(
        f"/api/v1/plan-stops/{first['id']}/move", json={"courier_id": outsider}, headers=headers
    )
    assert r.status_code == 422 and r.json()["code"] == "courier_not_available"
    other_office = await staff_headers(client, "dispatcher01")
    r = await client.post(f"/api/v1/plan-stops/{first['id']}/move", json={}, headers=other_office)
    assert r.status_code == 404
    courier_headers = await staff_headers(client, COURIERS[0])
    assert (
        await client.post(f"/api/v1/plan-stops/{first['id']}/pin", headers=courier_headers)
    ).status_code == 403
    r = await client.post(f"/api/v1/plan-stops/{uuid.uuid4()}/pin", headers=headers)
    assert r.status_code == 404

    # Infeasible: the 08:00-08:30 visit put last on the longest route, behind at least four 10-minute visits that
    # cannot start before 08:00: 409 naming the late window; nothing changed.
    tight = next(s for r_ in detail["routes"] for s in r_["stops"] if s["appointment_id"] == tight_appt)
    longest = max(detail["routes"], key=lambda x: len([s for s in x["stops"] if s["id"] != tight["id"]]))
    assert len([s for s in longest["stops"] if s["id"] != tight["id"]]) >= 4, detail
    r = await client.post(
        f"/api/v1/plan-stops/{tight['id']}/move",
        json={"courier_id": longest["courier"]["id"]},
        headers=headers,
    )
    assert r.status_code == 409, r.text
    problem = r.json()
    assert problem["code"] == "stop_move_infeasible"
    assert any(v["rule"] == "time_window" and v["stop_id"] == tight["id"] for v in problem["violations"])
    again = (await client.get(f"/api/v1/plans/{plan['id']}", headers=headers)).json()
    assert again["routes"] == detail["routes"]

    # Publish, then move a stop to the other courier: both routes change, both couriers are told.
    assert (await client.post(f"/api/v1/plans/{plan['id']}/publish", headers=headers)).status_code == 200
    detail = (await client.get(f"/api/v1/plans/{plan['id']}", headers=headers)).json()
    source = max(detail["routes"], key=lambda x: len(x["stops"]))
    moving = next(s for s in source["stops"] if s["appointment_id"] != tight_appt)
    from_id = source["courier"]["id"]
    to_name = next(u for u in COURIERS if str(demo.staff[u].id) != from_id)
    from_name = next(u for u in COURIERS if u != to_name)
    to_id = str(demo.staff[to_name].id)
    to_headers = await staff_headers(client, to_name)
    seen = await client.get("/api/v1/couriers/me/route", params={"date": day.isoformat()}, headers=to_headers)
    tag = seen.headers["etag"]
    r = await client.get(
        "/api/v1/couriers/me/route",
        params={"date": day.isoformat()},
        headers={**to_headers, "If-None-Match": tag},
    )
    assert r.status_code == 304 and r.headers["etag"] == tag
    r = await client.post(
        f"/api/v1/plan-stops/{moving['id']}/move",
        json={"courier_id": to_id, "position": 1, "pin": True, "route_version": source["version"]},
        headers={**headers, "X-Forwarded-For": "203.0.113.9"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["courier_id"] == to_id and body["pinned"] is True
    assert {x["courier_id"] for x in body["routes"]} == {from_id, to_id}
    to_route = next(x for x in body["routes"] if x["courier_id"] == to_id)
    assert to_route["stops"][0]["id"] == moving["id"] and to_route["stops"][0]["pinned"]

    # The couriers' apps: the stop left one route and joined the other, with a new version and a new ETag.
    r = await client.get(
        "/api/v1/couriers/me/route",
        params={"date": day.isoformat()},
        headers={**to_headers, "If-None-Match": tag},
    )
    assert r.status_code == 200 and r.headers["etag"] != tag
    mine = (await client.get("/api/v1/couriers/me/route", params={"date": day.isoformat()},
                             headers=await staff_headers(client, to_name))).json()  # fmt: skip
    assert mine["stops"][0]["id"] == moving["id"] and mine["stops"][0]["pinned"] is True
    assert mine["route"]["version"] == to_route["version"]
    theirs = (await client.get("/api/v1/couriers/me/route", params={"date": day.isoformat()},
                               headers=await staff_headers(client, from_name))).json()  # fmt: skip
    assert moving["id"] not in [s["id"] for s in theirs["stops"]]

    async with session_factory(engine)() as session:
        event = (
            await session.exec(select(PlanEvent).where(PlanEvent.id == uuid.UUID(body["event_id"])))
        ).one()
        assert event.kind == "stop_moved" and event.actor_role == "dispatcher"
        assert event.actor_id == demo.staff["dispatcher11"].id
        assert event.before["courier_id"] == from_id and event.after["courier_id"] == to_id
        assert event.after["position"] == 1 and event.after["pinned"] is True
        assert event.at is not None and event.client_ip is not None
        told = (
            await session.exec(
                select(Notification).where(
                    col(Notification.dedupe_key).startswith(f"plan.stop_control:{event.id}")
                )
            )
        ).all()
        assert {n.recipient_id for n in told} == {uuid.UUID(from_id), uuid.UUID(to_id)}
        assert {n.template for n in told} == {"courier.route_updated"}
        appt_events = (
            await session.exec(
                select(AppointmentEvent)
                .where(AppointmentEvent.appointment_id == uuid.UUID(moving["appointment_id"]))
                .order_by(col(AppointmentEvent.seq))
            )
        ).all()
        assert appt_events[-1].type == "assigned" and appt_events[-1].data["courier_id"] == to_id
        row = await session.get(PlanStop, uuid.UUID(moving["id"]))
        assert row is not None and row.pinned

    # A re-plan keeps the pin: the stop stays with its courier, pinned.
    r = await client.post(f"/api/v1/plans/{plan['id']}/replan", json={"time_limit_s": 2}, headers=headers)
    assert r.status_code == 202, r.text
    new = await wait_plan(client, headers, r.json()["id"])
    assert new["status"] == "done", new
    kept = next(s for r_ in new["routes"] for s in r_["stops"] if s["key"] == moving["key"])
    assert kept["pinned"] is True and _route_of(new, kept["id"])["courier"]["id"] == to_id

    # Unpin on the old (now still published) plan: recorded, version moves.
    r = await client.post(f"/api/v1/plan-stops/{moving['id']}/unpin", headers=headers)
    assert r.status_code == 200 and r.json()["pinned"] is False
    async with session_factory(engine)() as session:
        route_row = await session.get(PlanRoute, uuid.UUID(to_route["id"]))
        assert route_row is not None and route_row.version == to_route["version"] + 1
        kinds = (
            await session.exec(select(PlanEvent.kind).where(PlanEvent.stop_id == uuid.UUID(moving["id"])))
        ).all()
        assert kinds.count("stop_unpinned") == 1 and "stop_moved" in kinds
