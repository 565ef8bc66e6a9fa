"""At-home appointments over HTTP: slots, booking, fees, idempotency, scoping, refusals, changes, outcomes."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from backend.booking import services
from backend.catalogue.calendar_service import working_calendar
from backend.db import session_factory
from backend.lib.auth import Principal
from backend.lib.problems import Problem
from schemas import s10
from schemas.base import VN_TZ, utcnow
from schemas.booking import Appointment, AppointmentCreate, AppointmentKind, BookingSettings, SlotCapacity
from schemas.catalogue import Procedure
from schemas.dossiers import Channel, CustodianKind, Dossier
from schemas.enums import Role
from tests.conftest import citizen_headers, staff_headers

PICKUP_CODE = "1.004859"  # postal pickup allowed, charge 15 000 VND, 4 documents
NOT_POSTAL_CODE = "1.000894"  # postal pickup not allowed
TABLES = (
    "appointment",
    "appointment_event",
    "slot_capacity",
    "booking_idempotency",
    "notification",
    "citizen",
)


def place_of(demo: Any, po_index: int) -> tuple[float, float]:
    """The centroid of a commune served by the demo post office number ``po_index`` (0-based)."""
    po = demo.post_offices[po_index]
    code = demo.served[po.id][0]
    commune = next(c for c in demo.communes if c.code == code)
    return commune.lat, commune.lon


async def slots(
    client: httpx.AsyncClient, lat: float, lon: float, kind: str = "pickup", **q: Any
) -> dict[str, Any]:
    r = await client.get("/api/v1/slots", params={"kind": kind, "lat": lat, "lon": lon, **q})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def free_windows(client: httpx.AsyncClient, lat: float, lon: float, kind: str = "pickup") -> list[str]:
    body = await slots(client, lat, lon, kind)
    return [s["start"] for s in body["items"] if s["remaining"] > 0]


async def counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        return {t: (await conn.execute(text(f"SELECT count(*) FROM {t}"))).scalar_one() for t in TABLES}  # noqa: S608


async def set_booked(engine: AsyncEngine, po: uuid.UUID, start: datetime, end: datetime, booked: int) -> int:
    """Another writer's change of a window's booked minutes, through the model so both databases key the row
    alike; returns the minutes booked before. No booking code marks it, so only the database tells this
    process's caches (NOTIFY on PostgreSQL, the TTL on SQLite)."""
    async with session_factory(engine)() as session:
        row = await session.get(SlotCapacity, (po, start))
        before = row.booked_minutes if row else 0
        if row is None:
            row = SlotCapacity(post_office_id=po, start=start, end=end)
            session.add(row)
        row.booked_minutes = booked
        await session.commit()
    return before


def pickup(lat: Any, lon: Any, start: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "pickup", "start": start, "lat": lat, "lon": lon, "procedure": PICKUP_CODE, **extra}


async def test_slots_are_two_hour_windows_on_working_days(client: httpx.AsyncClient, demo: Any) -> None:
    lat, lon = place_of(demo, 0)
    body = await slots(client, lat, lon, procedure=PICKUP_CODE)
    assert body["items"], body
    assert body["post_office"]["code"] == demo.post_offices[0].code
    for s in body["items"]:
        start, end = datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"])
        assert {"start", "end", "kind", "remaining", "post_office"} <= set(s)
        assert s["kind"] == "pickup" and s["post_office"] == demo.post_offices[0].code
        assert start.astimezone(VN_TZ).weekday() < 5  # Saturdays and Sundays are not working days
        assert timedelta(minutes=60) <= end - start <= timedelta(minutes=120)
        assert start > utcnow() + timedelta(minutes=119)
    # Capacity: 2 couriers x 120 min / (10 min service + 12 min travel) = 10 pickups in a full window.
    full = [
        s
        for s in body["items"]
        if datetime.fromisoformat(s["end"]) - datetime.fromisoformat(s["start"]) == timedelta(hours=2)
    ]
    assert max(s["remaining"] for s in full) == 10
    assert body["fees"]["charge"] == 15000 and body["fees"]["currency"] == "VND"
    assert len(body["documents"]) == 4
    assisted = await slots(client, lat, lon, kind="assisted")
    assert max(s["remaining"] for s in assisted["items"]) == 240 // 42  # longer service time, fewer visits


async def test_slots_date_range_and_refusals(client: httpx.AsyncClient, demo: Any) -> None:
    lat, lon = place_of(demo, 0)
    all_items = (await slots(client, lat, lon))["items"]
    day = datetime.fromisoformat(all_items[-1]["start"]).date()
    one_day = (await slots(client, lat, lon, **{"from": day.isoformat(), "to": day.isoformat()}))["items"]
    assert one_day and all(datetime.fromisoformat(s["start"]).date() == day for s in one_day)
    r = await client.get("/api/v1/slots", params={"kind": "pickup", "lat": 21.03, "lon": 105.85})  # Hà Nội
    assert r.status_code == 422 and r.json()["type"].endswith("outside_service_area")
    r = await client.get("/api/v1/slots", params={"kind": "pickup", "lat": 200, "lon": 105.85})
    assert r.status_code == 400
    r = await client.get("/api/v1/slots", params={"kind": "teleport", "lat": lat, "lon": lon})
    assert r.status_code == 400
    r = await client.get(
        "/api/v1/slots", params={"kind": "pickup", "lat": lat, "lon": lon, "procedure": NOT_POSTAL_CODE}
    )
    assert r.status_code == 422 and r.json()["type"].endswith("procedure_not_postal")


async def test_book_quotes_fees_writes_events_and_notifications(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    lat, lon = place_of(demo, 1)
    start = (await free_windows(client, lat, lon))[0]
    before = (await slots(client, lat, lon))["items"]
    h = await citizen_headers(client, "+84900000011")
    r = await client.post("/api/v1/appointments", json=pickup(lat, lon, start, note="Cổng xanh"), headers=h)
    assert r.status_code == 201, r.text
    a = r.json()
    assert a["status"] == "booked" and a["kind"] == "pickup" and a["post_office"] == demo.post_offices[1].code
    assert datetime.fromisoformat(a["start"]) == datetime.fromisoformat(start)
    fees = a["fees"]
    assert fees["fee"] == 0 and fees["charge"] == 15000 and fees["total"] == fees["postal"] + 15000
    assert fees["zone"] in {"Z1", "Z2", "Z3", "Z4"} and fees["postal"] > 0
    assert a["procedure"] == PICKUP_CODE and len(a["documents"]) == 4
    assert [e["type"] for e in a["events"]] == ["booked"] and a["events"][0]["channel"] == "app"
    # Every instant of the answer in Vietnam time, like the GET of the same appointment.
    for shown in (a["start"], a["end"], a["created_at"], a["updated_at"], a["events"][0]["at"]):
        assert shown.endswith("+07:00"), shown
    after = (await slots(client, lat, lon))["items"]
    was = next(s for s in before if s["start"] == start)["remaining"]
    assert next(s for s in after if s["start"] == start)["remaining"] == was - 1
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT template, not_before FROM notification WHERE dedupe_key LIKE :k ORDER BY template"
                ),
                {"k": f"appt:{a['id']}:%"},
            )
        ).all()
    templates = {t: nb for t, nb in rows}
    assert "appointment.booked" in templates
    hour_before = templates.get("appointment.reminder_hour_before")
    assert hour_before is not None  # the window is at least two hours away
    hour_before = (
        hour_before if isinstance(hour_before, datetime) else datetime.fromisoformat(str(hour_before))
    )
    expected = datetime.fromisoformat(start) - timedelta(hours=1)
    assert hour_before.replace(tzinfo=None) == expected.astimezone(UTC).replace(tzinfo=None)
    # The citizen sees it; another citizen gets a 404 for it.
    mine = (await client.get("/api/v1/appointments", headers=h)).json()
    assert a["id"] in [x["id"] for x in mine["items"]]
    other = await citizen_headers(client, "+84900000012")
    assert (await client.get(f"/api/v1/appointments/{a['id']}", headers=other)).status_code == 404
    assert a["id"] not in [
        x["id"] for x in (await client.get("/api/v1/appointments", headers=other)).json()["items"]
    ]


async def test_idempotency_key_returns_the_same_appointment(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    import asyncio

    lat, lon = place_of(demo, 2)
    start = (await free_windows(client, lat, lon))[0]
    h = {**await citizen_headers(client, "+84900000013"), "Idempotency-Key": f"k-{uuid.uuid4()}"}
    body = pickup(lat, lon, start)
    r1 = await client.post("/api/v1/appointments", json=body, headers=h)
    r2 = await client.post("/api/v1/appointments", json=body, headers=h)
    assert r1.status_code == r2.status_code == 201
    assert r1.json() == r2.json() and r2.headers.get("idempotent-replayed") == "true"
    before = await counts(engine)
    r3 = await client.post("/api/v1/appointments", json={**body, "note": "khác"}, headers=h)
    assert r3.status_code == 422 and r3.json()["type"].endswith("idempotency_key_reused")
    assert await counts(engine) == before
    # Concurrent retries with one key: one appointment.
    h2 = {**h, "Idempotency-Key": f"k-{uuid.uuid4()}"}
    rs = await asyncio.gather(*(client.post("/api/v1/appointments", json=body, headers=h2) for _ in range(8)))
    assert {r.status_code for r in rs} == {201}
    assert len({r.json()["id"] for r in rs}) == 1
    # Another caller using the same key string is a different booking.
    h3 = {**await citizen_headers(client, "+84900000014"), "Idempotency-Key": h2["Idempotency-Key"]}
    r4 = await client.post("/api/v1/appointments", json=body, headers=h3)
    assert r4.status_code == 201 and r4.json()["id"] != rs[0].json()["id"]


async def test_bad_input_is_refused_and_nothing_changes(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    lat, lon = place_of(demo, 3)
    windows = await free_windows(client, lat, lon)
    start = windows[0]
    h = await citizen_headers(client, "+84900000015")
    booked = await client.post("/api/v1/appointments", json=pickup(lat, lon, windows[1]), headers=h)
    assert booked.status_code == 201
    first = datetime.fromisoformat(start)
    past = (first - timedelta(days=7)).isoformat()
    beyond = (first + timedelta(days=35)).isoformat()
    off_boundary = (first + timedelta(minutes=30)).isoformat()
    sunday = first + timedelta(days=(6 - first.weekday()) % 7 or 7)
    cases: list[tuple[dict[str, Any], int, str]] = [
        (pickup(lat, lon, past), 422, "window_in_past"),
        (pickup(lat, lon, beyond), 422, "beyond_horizon"),
        (pickup(lat, lon, sunday.isoformat()), 422, "not_working_day"),
        (pickup(lat, lon, off_boundary), 422, "not_a_window"),
        (pickup(lat, lon, start.replace("+07:00", "")), 422, "naive_time"),
        (pickup(lat, lon, start, procedure="9.999999"), 422, "unknown_procedure"),
        (pickup(lat, lon, start, procedure=NOT_POSTAL_CODE), 422, "procedure_not_postal"),
        (pickup(lat, lon, start, procedure=None), 422, "procedure_required"),
        (pickup(91.0, lon, start), 400, "validation"),
        (pickup(lat, "east", start), 400, "validation"),
        (pickup(21.03, 105.85, start), 422, "outside_service_area"),
        (
            {"kind": "delivery", "start": start, "lat": lat, "lon": lon, "dossier": "HS123456789VN"},
            422,
            "invalid_item_id",
        ),
        (pickup(lat, lon, start, citizen_phone="+84900000016"), 422, "not_allowed"),
    ]
    before = await counts(engine)
    for body, status, code in cases:
        r = await client.post(
            "/api/v1/appointments", json=body, headers={**h, "Idempotency-Key": str(uuid.uuid4())}
        )
        assert r.status_code == status, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["type"].endswith(code), (code, r.json())
    other = await citizen_headers(client, "+84900000016")
    aid = booked.json()["id"]
    assert (await client.get(f"/api/v1/appointments/{aid}", headers=other)).status_code == 404
    assert (
        await client.patch(f"/api/v1/appointments/{aid}", json={"start": windows[2]}, headers=other)
    ).status_code == 404
    assert (
        await client.post(f"/api/v1/appointments/{aid}/cancel", json={"reason": "x"}, headers=other)
    ).status_code == 404
    assert (
        await client.post(f"/api/v1/appointments/{aid}/cancel", json={"reason": ""}, headers=h)
    ).status_code == 400
    assert await counts(engine) == before


async def test_holiday_is_refused_with_nothing_stored(engine: AsyncEngine, demo: Any) -> None:
    """30 April (Reunification Day) is a public holiday: refused though inside the horizon."""
    lat, lon = place_of(demo, 3)
    factory = session_factory(engine)
    citizen = demo.citizens[20]
    now = datetime(2027, 4, 26, 9, 0, tzinfo=VN_TZ)
    before = await counts(engine)
    async with factory() as session:
        data = AppointmentCreate(
            kind=AppointmentKind.pickup,
            start=datetime(2027, 4, 30, 7, 30, tzinfo=VN_TZ),
            lat=lat,
            lon=lon,
            procedure=PICKUP_CODE,
        )
        try:
            await services.book(
                session, Principal(citizen.id, Role.citizen), data, idempotency_key="h", now=now
            )
        except Problem as exc:
            assert exc.status_code == 422 and exc.code == "not_working_day"
            assert "Ngày Giải phóng" in str(exc.detail) or "30" in str(exc.detail)
        else:  # pragma: no cover
            raise AssertionError("a holiday was bookable")
        await session.rollback()
    assert await counts(engine) == before


async def test_staff_book_for_citizens_and_lists_are_scoped(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    lat, lon = place_of(demo, 4)
    start = (await free_windows(client, lat, lon))[0]
    phone = f"+8497{uuid.uuid4().int % 10_000_000:07d}"
    dispatcher = await staff_headers(client, "dispatcher05")
    r = await client.post(
        "/api/v1/appointments", json=pickup(lat, lon, start, citizen_phone=phone), headers=dispatcher
    )
    assert r.status_code == 201, r.text
    a = r.json()
    assert a["channel"] == "phone" and a["citizen_phone"] == phone
    async with engine.connect() as conn:
        assert (
            await conn.execute(text("SELECT count(*) FROM citizen WHERE phone = :p"), {"p": phone})
        ).scalar_one() == 1
    # A dispatcher books only in their own post office's area.
    other_lat, other_lon = place_of(demo, 5)
    other_start = (await free_windows(client, other_lat, other_lon))[0]
    r = await client.post(
        "/api/v1/appointments",
        json=pickup(other_lat, other_lon, other_start, citizen_phone=phone),
        headers=dispatcher,
    )
    assert r.status_code == 403
    # A desk clerk books on behalf anywhere in the province; staff must say who for.
    desk = await staff_headers(client, "desk01")
    assert (
        await client.post("/api/v1/appointments", json=pickup(lat, lon, start), headers=desk)
    ).status_code == 422
    r = await client.post(
        "/api/v1/appointments",
        json=pickup(other_lat, other_lon, other_start, citizen_phone=phone),
        headers=desk,
    )
    assert r.status_code == 201 and r.json()["channel"] == "desk"
    b = r.json()
    # Scopes: dispatcher05 sees a, not b; desk and admin see both; agencies may not list; a courier of PO 6 sees
    # b only once it is on their published route (tests/api/test_privacy_scoping.py).
    ids = lambda resp: {x["id"] for x in resp.json()["items"]}  # noqa: E731
    seen = ids(await client.get("/api/v1/appointments", params={"limit": 500}, headers=dispatcher))
    assert a["id"] in seen and b["id"] not in seen
    assert (await client.get(f"/api/v1/appointments/{b['id']}", headers=dispatcher)).status_code == 404
    courier = await staff_headers(client, "courier11")
    assert (await client.get(f"/api/v1/appointments/{b['id']}", headers=courier)).status_code == 404
    for who in ("desk01", "admin"):
        hh = await staff_headers(client, who)
        for x in (a, b):
            assert (await client.get(f"/api/v1/appointments/{x['id']}", headers=hh)).status_code == 200
    day = datetime.fromisoformat(start).date().isoformat()
    r = await client.get(
        "/api/v1/appointments",
        params={"from": day, "to": day, "post_office": demo.post_offices[4].code},
        headers=await staff_headers(client, "admin"),
    )
    assert a["id"] in ids(r) and all(x["post_office"] == demo.post_offices[4].code for x in r.json()["items"])
    assert (
        await client.get("/api/v1/appointments", headers=await staff_headers(client, "agency01"))
    ).status_code == 403
    assert (
        await client.post("/api/v1/appointments", json=pickup(lat, lon, start), headers=courier)
    ).status_code == 403


async def test_reschedule_and_cancel(client: httpx.AsyncClient, demo: Any, engine: AsyncEngine) -> None:
    lat, lon = place_of(demo, 6)
    windows = await free_windows(client, lat, lon)
    h = await citizen_headers(client, "+84900000017")
    a = (await client.post("/api/v1/appointments", json=pickup(lat, lon, windows[0]), headers=h)).json()
    r = await client.patch(
        f"/api/v1/appointments/{a['id']}",
        json={"start": windows[2], "reason": "Bận", "version": 1},
        headers=h,
    )
    assert r.status_code == 200, r.text
    moved = r.json()
    assert (
        datetime.fromisoformat(moved["start"]) == datetime.fromisoformat(windows[2]) and moved["version"] == 2
    )
    assert [e["type"] for e in moved["events"]] == ["booked", "rescheduled"]
    stale = await client.patch(
        f"/api/v1/appointments/{a['id']}", json={"start": windows[1], "version": 1}, headers=h
    )
    assert stale.status_code == 409
    after = {s["start"]: s["remaining"] for s in (await slots(client, lat, lon))["items"]}
    assert after[windows[0]] == 10  # the old window's place came back
    r = await client.post(
        f"/api/v1/appointments/{a['id']}/cancel", json={"reason": "Không cần nữa"}, headers=h
    )
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert [e["type"] for e in r.json()["events"]] == ["booked", "rescheduled", "cancelled"]
    assert r.json()["events"][-1]["reason"] == "Không cần nữa"
    assert {s["start"]: s["remaining"] for s in (await slots(client, lat, lon))["items"]}[
        windows[2]
    ] == after[windows[2]] + 1
    assert (
        await client.post(f"/api/v1/appointments/{a['id']}/cancel", json={"reason": "x"}, headers=h)
    ).status_code == 409
    async with engine.connect() as conn:
        rows = (
            (
                await conn.execute(
                    text("SELECT template FROM notification WHERE dedupe_key LIKE :k"),
                    {"k": f"appt:{a['id']}:%"},
                )
            )
            .scalars()
            .all()
        )
    assert {"appointment.booked", "appointment.rescheduled", "appointment.cancelled"} <= set(rows)
    assert not [t for t in rows if "reminder" in t]  # pending reminders were withdrawn


async def test_cutoff_stops_citizens_not_staff(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    lat, lon = place_of(demo, 7)
    windows = await free_windows(client, lat, lon)
    h = await citizen_headers(client, "+84900000018")
    a = (await client.post("/api/v1/appointments", json=pickup(lat, lon, windows[0]), headers=h)).json()
    # Bring the appointment inside its cut-off (a test shortcut: move the stored window close to now).
    soon = utcnow() + timedelta(minutes=30)
    async with session_factory(engine)() as s:
        await s.execute(
            update(Appointment)
            .where(col(Appointment.id) == uuid.UUID(a["id"]))
            .values(start=soon, end=soon + timedelta(hours=2))
        )
        await s.commit()
    before = await counts(engine)
    r = await client.post(f"/api/v1/appointments/{a['id']}/cancel", json={"reason": "x"}, headers=h)
    assert r.status_code == 422 and r.json()["type"].endswith("cutoff_passed")
    assert await counts(engine) == before
    r = await client.post(
        f"/api/v1/appointments/{a['id']}/cancel",
        json={"reason": "Bưu tá ốm"},
        headers=await staff_headers(client, "dispatcher08"),
    )
    assert r.status_code == 200 and r.json()["events"][-1]["actor_role"] == "dispatcher"


async def _past_appointment(
    client: httpx.AsyncClient, engine: AsyncEngine, body: dict[str, Any], h: dict[str, str]
) -> dict[str, Any]:
    r = await client.post("/api/v1/appointments", json=body, headers=h)
    assert r.status_code == 201, r.text
    a = dict(r.json())
    began = utcnow() - timedelta(minutes=20)
    async with session_factory(engine)() as s:
        await s.execute(
            update(Appointment)
            .where(col(Appointment.id) == uuid.UUID(a["id"]))
            .values(start=began, end=began + timedelta(hours=2))
        )
        await s.commit()
    return a


async def test_no_show_offers_rebooking(client: httpx.AsyncClient, demo: Any, engine: AsyncEngine) -> None:
    lat, lon = place_of(demo, 8)
    windows = await free_windows(client, lat, lon)
    h = await citizen_headers(client, "+84900000019")
    a = await _past_appointment(client, engine, pickup(lat, lon, windows[0]), h)
    url = f"/api/v1/appointments/{a['id']}/no-show"
    assert (await client.post(url, json={"reason_code": "citizen_absent"}, headers=h)).status_code == 403
    other_courier = await staff_headers(client, "courier01")
    assert (
        await client.post(url, json={"reason_code": "citizen_absent"}, headers=other_courier)
    ).status_code == 404
    # A courier of the office whose route does not hold the visit may not (tests/api/test_privacy_scoping.py);
    # the office's dispatcher may.
    courier17 = await staff_headers(client, "courier17")  # post office 9 has couriers 17 and 18
    assert (
        await client.post(url, json={"reason_code": "citizen_absent"}, headers=courier17)
    ).status_code == 404
    courier = await staff_headers(client, "dispatcher09")
    r = await client.post(url, json={"reason_code": "teleported"}, headers=courier)
    assert r.status_code == 422 and "citizen_absent" in r.json()["allowed"]
    r = await client.post(url, json={"reason_code": "citizen_absent", "note": "Gọi 3 lần"}, headers=courier)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "no_show" and out["outcome_code"] == "citizen_absent"
    assert out["events"][-1]["type"] == "no_show" and out["events"][-1]["reason_code"] == "citizen_absent"
    assert out["rebook"]["body"]["rebook_of"] == a["id"] and out["rebook"]["suggested"]
    async with engine.connect() as conn:
        n = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM notification WHERE dedupe_key = :k AND template = 'appointment.missed' "
                    "AND body_vi LIKE '%đặt lại%' AND body_vi LIKE '%vắng nhà%'"
                ),
                {"k": f"appt:{a['id']}:v2:rebook"},
            )
        ).scalar_one()
    assert n == 1
    assert (
        await client.post(url, json={"reason_code": "citizen_absent"}, headers=courier)
    ).status_code == 409
    rebook = {**out["rebook"]["body"], "start": out["rebook"]["suggested"][0]}
    r = await client.post("/api/v1/appointments", json=rebook, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["rebook_of"] == a["id"] and r.json()["procedure"] == PICKUP_CODE


async def test_delivery_is_tied_to_the_citizens_postal_return_dossier(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    lat, lon = place_of(demo, 9)
    start = (await free_windows(client, lat, lon, "delivery"))[0]
    owner, stranger = demo.citizens[30], demo.citizens[31]
    serial = uuid.uuid4().int % 90_000_000 + 5_000_000
    ok_id, no_post_id = s10.make("KQ", serial), s10.make("KQ", serial + 1)
    async with session_factory(engine)() as s:
        proc = (await s.execute(select(Procedure).where(Procedure.code == PICKUP_CODE))).scalar_one()  # type: ignore[arg-type]
        for item_id, postal in ((ok_id, True), (no_post_id, False)):
            s.add(
                Dossier(
                    item_id=item_id,
                    procedure_id=proc.id,
                    citizen_id=owner.id,
                    channel=Channel.home_pickup,
                    postal_return=postal,
                    status="result_ready",
                    custodian_kind=CustodianKind.desk,
                )
            )
        await s.commit()
    h_owner = await citizen_headers(client, owner.phone)
    h_stranger = await citizen_headers(client, stranger.phone)
    body = {"kind": "delivery", "start": start, "lat": lat, "lon": lon, "dossier": ok_id}
    before = await counts(engine)
    assert (await client.post("/api/v1/appointments", json=body, headers=h_stranger)).status_code == 404
    r = await client.post("/api/v1/appointments", json={**body, "dossier": no_post_id}, headers=h_owner)
    assert r.status_code == 422 and r.json()["type"].endswith("dossier_not_postal_return")
    assert await counts(engine) == before
    r = await client.post("/api/v1/appointments", json=body, headers=h_owner)
    assert r.status_code == 201, r.text
    d = r.json()
    assert (
        d["dossier"] == ok_id
        and d["fees"]["fee"] == 0
        and d["fees"]["charge"] == 0
        and d["fees"]["postal"] > 0
    )
    # A failed delivery offers a new delivery of that dossier.
    a = await _past_appointment(
        client, engine, {**body, "start": (await free_windows(client, lat, lon, "delivery"))[1]}, h_owner
    )
    r = await client.post(
        f"/api/v1/appointments/{a['id']}/fail",
        json={"reason_code": "identity_mismatch"},
        headers=await staff_headers(client, "dispatcher10"),
    )
    assert r.status_code == 200 and r.json()["status"] == "failed"
    async with engine.connect() as conn:
        link = (
            await conn.execute(
                text("SELECT deep_link FROM notification WHERE dedupe_key = :k"),
                {"k": f"appt:{a['id']}:v2:rebook"},
            )
        ).scalar_one()
    assert link == f"/appointments/new?kind=delivery&dossier={ok_id}"


async def test_typed_address_falls_back_to_the_commune_centroid(client: httpx.AsyncClient, demo: Any) -> None:
    po = demo.post_offices[0]
    code = demo.served[po.id][0]
    commune = next(c for c in demo.communes if c.code == code)
    r = await client.get(
        "/api/v1/slots", params={"kind": "pickup", "address": f"12 đường số 3, {commune.name}, Đồng Tháp"}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["place"] == {"lat": commune.lat, "lon": commune.lon, "source": "commune_centroid"}
    assert body["post_office"]["code"] == po.code
    r = await client.get("/api/v1/slots", params={"kind": "pickup", "address": "Nowhere street 1"})
    assert r.status_code == 422 and r.json()["type"].endswith("address_not_found")


async def test_settings_per_post_office_change_windows(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    po = demo.post_offices[10]
    today = utcnow().astimezone(VN_TZ).date()
    async with session_factory(engine)() as s:
        # A horizon reaching the first working day two days out, whatever today is: a fixed one is empty
        # when a day's notice and the horizon fall on a holiday and a weekend (31 December, Tết).
        horizon = ((await working_calendar(s)).next_working_day(today + timedelta(days=1)) - today).days
        await s.merge(
            BookingSettings(
                post_office_id=po.id, window_minutes=60, horizon_days=horizon, min_notice_minutes=24 * 60
            )
        )
        await s.commit()
    services.invalidate_caches()
    try:
        lat, lon = place_of(demo, 10)
        items = (await slots(client, lat, lon))["items"]
        assert items
        for s_ in items:
            start, end = datetime.fromisoformat(s_["start"]), datetime.fromisoformat(s_["end"])
            assert end - start == timedelta(hours=1)
            assert start >= utcnow() + timedelta(hours=24)
            assert start.astimezone(VN_TZ).date() <= today + timedelta(days=horizon)
    finally:
        async with session_factory(engine)() as s:
            row = await s.get(BookingSettings, po.id)
            await s.delete(row)
            await s.commit()
        services.invalidate_caches()
    default_items = (await slots(client, lat, lon))["items"]
    assert any(
        datetime.fromisoformat(x["end"]) - datetime.fromisoformat(x["start"]) == timedelta(hours=2)
        for x in default_items
    )
