"""One visit per household (issue 20): a citizen's pickup and delivery at one address on one day are one stop of
the plan (one routing node: the common window, the summed service time), stored as two items with one visit key
on consecutive rows of one route; the courier's app shows one stop listing both items, and the courier acts on
each item by its own id. A visit of the same citizen elsewhere, and another citizen's, stay stops of one item."""

import uuid
from datetime import date
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from backend.db import session_factory
from backend.planning import clock, tracking_link
from backend.settings import Settings
from schemas.booking import Appointment, AppointmentEvent, AppointmentKind
from schemas.catalogue import Procedure
from schemas.notifications import Notification
from schemas.tracking_links import TrackingLink
from tests.api.planning_support import PICKUP_CODE, H, next_weekday, served_points, wait_plan
from tests.conftest import staff_headers

PO = 8  # 82-BD-09: dispatcher09, courier17 and courier18 (82-BD-11 is the privacy tests')
COURIERS = ("courier17", "courier18")


async def _visits(engine: AsyncEngine, demo: Any, day: date) -> dict[str, uuid.UUID]:
    po = demo.post_offices[PO]
    (code, lat, lon), (code2, lat2, lon2) = served_points(demo, PO)[:2]
    home, other = demo.citizens[-1], demo.citizens[-2]
    specs = {
        "pickup": (home, AppointmentKind.pickup, 8 * H, 12 * H, code, lat, lon, "Số 7, đường Hộ Gia Đình"),
        "delivery": (
            home,
            AppointmentKind.delivery,
            10 * H,
            14 * H,
            code,
            lat,
            lon,
            "số 7 đường hộ gia đình",
        ),
        "elsewhere": (home, AppointmentKind.pickup, 8 * H, 12 * H, code2, lat2, lon2, "Số 9, đường Khác"),
        "neighbour": (
            other,
            AppointmentKind.pickup,
            8 * H,
            12 * H,
            code,
            lat,
            lon,
            "Số 7, đường Hộ Gia Đình",
        ),
    }
    out = {}
    async with session_factory(engine)() as session:
        proc = (await session.exec(select(Procedure).where(Procedure.code == PICKUP_CODE))).one()
        for name, (citizen, kind, a, b, commune, la, lo, address) in specs.items():
            appt = Appointment(
                citizen_id=citizen.id, post_office_id=po.id, province_code=po.province_code, commune_code=commune,
                kind=kind, start=clock.at(day, a), end=clock.at(day, b), cost_minutes=20, lat=la, lon=lo,
                address=address, fees={"postal": 0, "fee": 0, "charge": 0, "total": 0, "currency": "VND"},
                booked_by_role="citizen", booked_by_id=citizen.id,
                procedure_id=proc.id if kind != AppointmentKind.delivery else None,
            )  # fmt: skip
            session.add(appt)
            out[name] = appt.id
        await session.commit()
    return out


async def test_household_visit_journey(client: httpx.AsyncClient, engine: AsyncEngine, demo: Any) -> None:
    day = next_weekday(45)
    appts = await _visits(engine, demo, day)
    headers = await staff_headers(client, "dispatcher09")
    r = await client.post(
        f"/api/v1/post-offices/{demo.post_offices[PO].id}/plans",
        json={"date": day.isoformat(), "time_limit_s": 2},
        headers=headers,
    )
    assert r.status_code == 202, r.text
    plan = await wait_plan(client, headers, r.json()["id"])
    assert plan["status"] == "done", plan
    assert plan["summary"]["stops_total"] == 4 and plan["summary"]["stops_assigned"] == 4, plan
    stops = {s["appointment_id"]: (s, route) for route in plan["routes"] for s in route["stops"]}
    pickup, route = stops[str(appts["pickup"])]
    delivery, route2 = stops[str(appts["delivery"])]
    # One visit: one key, one route, consecutive, the delivery served right after the pickup, in the common
    # window 10:00-12:00 (the pickup's own window was 08:00-12:00).
    assert (
        pickup["visit"] is not None and pickup["visit"] == delivery["visit"] and route["id"] == route2["id"]
    )
    assert delivery["seq"] == pickup["seq"] + 1
    assert pickup["window"]["start"] == clock.rfc3339(clock.at(day, 10 * H))
    assert pickup["window"]["end"] == clock.rfc3339(clock.at(day, 12 * H))
    assert delivery["service_start"] == pickup["departure"]
    assert delivery["travel_from_prev_s"] == 0
    # The same citizen elsewhere and a neighbour at the same address: their own stops.
    for name in ("elsewhere", "neighbour"):
        assert stops[str(appts[name])][0]["visit"] is None

    assert (await client.post(f"/api/v1/plans/{plan['id']}/publish", headers=headers)).status_code == 200
    # The dispatcher moves the visit to the other courier: both items go, one after the other.
    username = next(u for u in COURIERS if str(demo.staff[u].id) != route["courier"]["id"])
    r = await client.post(
        f"/api/v1/plan-stops/{delivery['id']}/move",
        json={"courier_id": str(demo.staff[username].id), "position": 1},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    moved = next(x for x in r.json()["routes"] if x["courier_id"] == str(demo.staff[username].id))
    assert [(s["id"], s["visit"]) for s in moved["stops"][:2]] == [
        (pickup["id"], pickup["visit"]),
        (delivery["id"], pickup["visit"]),
    ]
    me = await staff_headers(client, username)
    mine = (
        await client.get("/api/v1/couriers/me/route", params={"date": day.isoformat()}, headers=me)
    ).json()
    visit = next(s for s in mine["stops"] if s["id"] == pickup["id"])
    assert visit["items"] == 2
    assert [(i["stop_id"], i["kind"]) for i in visit["visit_items"]] == [
        (pickup["id"], "pickup"),
        (delivery["id"], "delivery"),
    ]
    assert delivery["id"] not in [s["id"] for s in mine["stops"]]
    singles = [s for s in mine["stops"] if s["id"] != pickup["id"]]
    assert all(s["visit_items"] is None and s["items"] == 1 for s in singles)

    # Setting off to one item sets off to the visit: both items started, both appointments en route, and the
    # citizen told once, with one tracking link. The courier then finishes each item by its own id.
    assert (
        await client.post(f"/api/v1/couriers/me/stops/{pickup['id']}/start", headers=me)
    ).status_code == 200
    async with session_factory(engine)() as session:
        notes = (
            await session.exec(
                select(Notification).where(
                    Notification.recipient_id == demo.citizens[-1].id,
                    Notification.template == "courier.on_the_way",
                )
            )
        ).all()
        links = (
            await session.exec(
                select(TrackingLink).where(
                    col(TrackingLink.appointment_id).in_([appts["pickup"], appts["delivery"]])
                )
            )
        ).all()
        en_route = (
            await session.exec(
                select(AppointmentEvent).where(
                    col(AppointmentEvent.appointment_id).in_([appts["pickup"], appts["delivery"]]),
                    AppointmentEvent.type == "en_route",
                )
            )
        ).all()
    assert (
        len(notes) == 1
        and len(links) == 1
        and notes[0]
        .params["track_url"]
        .endswith(tracking_link.sign(tracking_link.link_key(Settings().secret_key), links[0].id))
    )
    assert sorted(str(e.appointment_id) for e in en_route) == sorted(
        str(appts[k]) for k in ("pickup", "delivery")
    )
    assert {e.data["tracking_link"] for e in en_route} == {links[0].id}
    r = await client.post(f"/api/v1/couriers/me/stops/{pickup['id']}/complete", headers=me)
    assert r.status_code == 200 and r.json()["stop"]["status"] == "done"
    assert delivery["id"] in [x["id"] for x in r.json()["remaining"]]
    mine = (
        await client.get("/api/v1/couriers/me/route", params={"date": day.isoformat()}, headers=me)
    ).json()
    visit = next(s for s in mine["stops"] if s["id"] == pickup["id"])
    assert [i["status"] for i in visit["visit_items"]] == ["done", "started"]
    r = await client.post(f"/api/v1/couriers/me/stops/{delivery['id']}/start", headers=me)
    assert r.status_code == 409 and r.json()["code"] == "stop_state"  # already under way with its visit
    r = await client.post(f"/api/v1/couriers/me/stops/{delivery['id']}/complete", headers=me)
    assert r.status_code == 200 and r.json()["stop"]["status"] == "done"
