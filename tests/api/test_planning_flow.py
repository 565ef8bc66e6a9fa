"""Route plans over HTTP: plan a post office's day in the background, check the routes against windows, shifts
and capacity, publish, and what couriers and other offices may see."""

import uuid
import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from backend.db import session_factory
from schemas.booking import Appointment, AppointmentEvent
from tests.api.planning_support import H, add_appointments, next_weekday, parse, wait_plan
from tests.conftest import staff_headers

PO = 5  # 82-BD-06: dispatcher06, courier11 and courier12
M = 60

_cache: dict[str, dict[str, Any]] = {}


async def solved_day(client: httpx.AsyncClient, engine: AsyncEngine, demo: Any) -> dict[str, Any]:
    """Once per database: 14 appointments of PO 06 on a weekday, planned (not yet published)."""
    key = str(engine.url)
    if key in _cache:
        return _cache[key]
    day = next_weekday(3)
    specs = [
        ("pickup", 8 * H, 10 * H),
        ("delivery", 8 * H, 10 * H),
        ("assisted", 8 * H, 10 * H),
        ("pickup", 9 * H, 11 * H),
        ("pickup", 10 * H, 12 * H),
        ("delivery", 10 * H, 12 * H),
        ("pickup", 13 * H + 30 * M, 15 * H + 30 * M),
        ("delivery", 13 * H + 30 * M, 15 * H + 30 * M),
        ("assisted", 14 * H, 16 * H),
        ("pickup", 15 * H, 17 * H),
        ("delivery", 15 * H, 17 * H),
        ("pickup", 15 * H, 17 * H),
        ("pickup", 8 * H, 10 * H),
        # Before any courier's shift (07:30): cannot be served, must be reported with a reason.
        ("pickup", 5 * H, 6 * H),
    ]
    ids = await add_appointments(engine, demo, PO, day, specs)
    headers = await staff_headers(client, "dispatcher06")
    r = await client.post(
        f"/api/v1/post-offices/{demo.post_offices[PO].code}/plans",
        json={"date": day.isoformat(), "time_limit_s": 2},
        headers=headers,
    )
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "queued"
    plan = await wait_plan(client, headers, r.json()["id"])
    _cache[key] = {"day": day, "ids": ids, "plan": plan, "specs": specs}
    return _cache[key]


async def test_plan_routes_every_appointment_or_says_why(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    data = await solved_day(client, engine, demo)
    plan = data["plan"]
    assert plan["status"] == "done", plan
    assert plan["progress"] == 100
    assert plan["date"] == data["day"].isoformat()
    routed = {s["appointment_id"]: s for r in plan["routes"] for s in r["stops"] if s["appointment_id"]}
    unassigned = {u["appointment_id"]: u for u in plan["unassigned"] if u["appointment_id"]}
    for appt_id in map(str, data["ids"]):
        assert (appt_id in routed) != (appt_id in unassigned), appt_id
        if appt_id in routed:
            s = routed[appt_id]
            w0, w1 = parse(s["window"]["start"]), parse(s["window"]["end"])
            assert w0 <= parse(s["service_start"]) <= w1, s
            assert parse(s["eta"]) <= parse(s["service_start"])
        else:
            assert unassigned[appt_id]["reason"] and unassigned[appt_id]["detail"]
    early = str(data["ids"][-1])
    assert unassigned[early]["reason"] == "time_window", unassigned[early]
    # Most of the day fits two couriers: the solver must have routed the ordinary visits.
    assert len([i for i in map(str, data["ids"][:-1]) if i in routed]) >= 10
    # Assisted visits need the "assisted" skill; fee collection needs "fees".
    for r in plan["routes"]:
        for s in r["stops"]:
            assert set(s["skills"]) <= set(r["skills"]), (s, r["skills"])
    assert plan["summary"]["stops_assigned"] == sum(len(r["stops"]) for r in plan["routes"])


async def test_routes_respect_shifts_capacity_and_order(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    plan = (await solved_day(client, engine, demo))["plan"]
    assert plan["routes"]
    for r in plan["routes"]:
        shift0, shift1 = parse(r["shift"]["start"]), parse(r["shift"]["end"])
        assert shift0 <= parse(r["start_at"]) and parse(r["end_at"]) <= shift1, r
        seqs = [s["seq"] for s in r["stops"]]
        assert seqs == list(range(1, len(seqs) + 1))
        last = parse(r["start_at"])
        for s in r["stops"]:
            arrival, start, leave = parse(s["eta"]), parse(s["service_start"]), parse(s["departure"])
            assert last <= arrival <= start <= leave, s
            assert leave - start == timedelta(seconds=s["service_s"])
            # Travel from the previous place takes the time the matrix says (rounded to whole seconds).
            assert arrival - last >= timedelta(seconds=int(s["travel_from_prev_s"]))
            assert 0 <= s["load"]["items"] <= r["capacity"]["items"]
            assert 0 <= s["load"]["weight_g"] <= r["capacity"]["weight_g"]
            assert s["distance_from_prev_m"] >= 0
            last = leave
        assert r["distance_m"] >= sum(s["distance_from_prev_m"] for s in r["stops"]) - 1


async def test_other_offices_and_roles_are_kept_out(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    data = await solved_day(client, engine, demo)
    plan_id = data["plan"]["id"]
    other = await staff_headers(client, "dispatcher07")
    r = await client.get(f"/api/v1/plans/{plan_id}", headers=other)
    assert r.status_code == 404
    r = await client.get(f"/api/v1/plans/{plan_id}/map.svg", headers=other)
    assert r.status_code == 404
    r = await client.post(f"/api/v1/plans/{plan_id}/publish", headers=other)
    assert r.status_code == 404
    r = await client.post(
        f"/api/v1/post-offices/{demo.post_offices[PO].id}/plans",
        json={"date": data["day"].isoformat()},
        headers=other,
    )
    assert r.status_code == 403
    courier = await staff_headers(client, "courier11")
    assert (await client.get(f"/api/v1/plans/{plan_id}", headers=courier)).status_code == 403
    assert (await client.get(f"/api/v1/plans/{plan_id}")).status_code == 401
    r = await client.post(
        "/api/v1/post-offices/NO-SUCH-PO/plans", json={"date": data["day"].isoformat()}, headers=other
    )
    assert r.status_code == 404
    own = await staff_headers(client, "dispatcher06")
    r = await client.post(
        f"/api/v1/post-offices/{demo.post_offices[PO].code}/plans", json={"date": "2020-01-06"}, headers=own
    )
    assert r.status_code == 422 and r.json()["type"].endswith("date_in_past")
    admin = await staff_headers(client, "admin")
    assert (await client.get(f"/api/v1/plans/{plan_id}", headers=admin)).status_code == 200
    listed = await client.get(
        f"/api/v1/post-offices/{demo.post_offices[PO].code}/plans",
        params={"date": data["day"].isoformat()},
        headers=own,
    )
    assert listed.status_code == 200 and plan_id in [p["id"] for p in listed.json()]


async def test_map_is_valid_svg_with_one_line_per_route(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    plan = (await solved_day(client, engine, demo))["plan"]
    headers = await staff_headers(client, "dispatcher06")
    r = await client.get(f"/api/v1/plans/{plan['id']}/map.svg", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(r.text)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg"
    lines = root.findall(f".//{ns}g[@class='route']/{ns}polyline")
    assert len(lines) == len(plan["routes"])
    for line, route in zip(lines, plan["routes"], strict=True):
        assert line.get("stroke") == route["colour"]
        assert len(line.get("points", "").split()) == len(route["stops"]) + 2  # depot, stops, depot
    crosses = root.findall(f".//{ns}g[@id='unassigned']/{ns}path")
    assert len(crosses) == len(plan["unassigned"])
    assert root.findall(f".//{ns}g[@id='communes']/{ns}circle")


async def test_publish_assigns_couriers_and_courier_sees_only_own_stops(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    data = await solved_day(client, engine, demo)
    plan = data["plan"]
    headers = await staff_headers(client, "dispatcher06")
    r = await client.post(f"/api/v1/plans/{plan['id']}/publish", headers=headers)
    assert r.status_code == 200, r.text
    routed = {
        s["appointment_id"]: r_["courier"]["id"]
        for r_ in plan["routes"]
        for s in r_["stops"]
        if s["appointment_id"]
    }
    assert r.json()["assigned"] == len(routed)
    again = await client.post(f"/api/v1/plans/{plan['id']}/publish", headers=headers)
    assert again.status_code == 409
    async with session_factory(engine)() as session:
        events = (
            await session.exec(
                select(AppointmentEvent).where(
                    col(AppointmentEvent.appointment_id).in_([uuid.UUID(a) for a in routed]),
                    AppointmentEvent.type == "assigned",
                )
            )
        ).all()
        assert {str(e.appointment_id): e.data["courier_id"] for e in events} == routed
        for e in events:
            appt = await session.get(Appointment, e.appointment_id)
            assert appt is not None and appt.version == e.seq
    by_user = {demo.staff[u].id: u for u in ("courier11", "courier12")}
    own = {str(a) for a in data["ids"]}
    seen_own: set[str] = set()
    for r_ in plan["routes"]:
        username = by_user[uuid.UUID(r_["courier"]["id"])]
        mine = await client.get(
            "/api/v1/couriers/me/route",
            params={"date": data["day"].isoformat()},
            headers=await staff_headers(client, username),
        )
        assert mine.status_code == 200, mine.text
        body = mine.json()
        assert body["published"] and body["plan_id"] == plan["id"]
        assert [s["id"] for s in body["stops"]] == [s["id"] for s in r_["stops"]]
        text = mine.text
        # Other tests may have booked at this post office on the same day: their stops are routed too, with
        # their own procedures and fees, so the details are checked on this test's stops.
        for s in body["stops"]:
            assert s["navigation"].startswith("https://www.google.com/maps/dir/?api=1&destination=")
            parse(s["eta"]) and parse(s["window"]["start"])
            if s["kind"] in ("pickup", "assisted", "delivery"):
                person = s["person"]
                assert "•" in person["phone_masked"]
                assert person["call"] is None or person["call"].startswith("tel:+84")
            if not (s.get("appointment") and s["appointment"]["id"] in own):
                continue
            seen_own.add(s["appointment"]["id"])
            if s["kind"] in ("pickup", "assisted"):
                assert s["procedure"]["code"] == "1.004859" and s["procedure"]["documents_count"] == 4
            assert s["collect_fees"]["total_vnd"] == 35000
        # No excess personal data: no national id, no full name, no other citizens' phones in clear.
        for c in demo.citizens:
            if c.national_id:
                assert c.national_id not in text
            if c.full_name and len(c.full_name.split()) > 1:
                assert c.full_name not in text
        assert "national_id" not in text and "full_name" not in text
    assert seen_own == own & set(routed)
    # A courier with no published route that day gets an empty answer, not someone else's stops.
    other = await client.get(
        "/api/v1/couriers/me/route",
        params={"date": data["day"].isoformat()},
        headers=await staff_headers(client, "courier13"),
    )
    assert other.status_code == 200 and other.json()["stops"] == [] and not other.json()["published"]
    assert (await client.get("/api/v1/couriers/me/route", headers=headers)).status_code == 403


async def test_demo_publishes_and_starts_a_route_in_one_session(engine: AsyncEngine, demo: Any) -> None:
    """`make run` seeds a courier mid-route right after publishing, in the same session: the guarded publish
    must leave the loaded plan published (it once left it 'done', and the first stop action was a 404)."""
    from backend.demo.planning import mid_route, plan_and_publish
    from backend.lib.auth import Principal
    from schemas.enums import Role
    from schemas.planning import PlanStatus

    day = next_weekday(9)
    specs = [("pickup", 8 * H, 10 * H), ("pickup", 8 * H, 10 * H), ("delivery", 9 * H, 11 * H)]
    await add_appointments(engine, demo, PO, day, specs)
    admin = Principal(id=demo.staff["admin"].id, role=Role.admin)
    async with session_factory(engine)() as session:
        plan = await plan_and_publish(session, demo.post_offices[PO].id, day, admin)
        assert plan.status == PlanStatus.published
        out = await mid_route(session, plan)
    assert out["done"] == 2
