"""Reads at the speed of the framework (issue 24): ``GET /slots``, the courier's route and the inbox answered from
rendered bytes, and still right: a booking changes the next slots answer at once, a stop action the courier's
route, a new notice (written by a bulk insert, as other processes and the booking's PostgreSQL function write
them) the inbox; ``If-None-Match`` gives 304 while nothing changed; one account's answer never reaches another.

Office 82-BD-02 (dispatcher02, courier03, courier04) on days no other test plans or books (the access matrix
plans it 90 days ahead); citizens +84900000088 and +84900000089 are used by no other test.
"""

import uuid
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import session_factory
from notifications.outbox import enqueue, insert_rows, notification_row
from tests.api.planning_support import PICKUP_CODE, H, next_weekday, served_points
from tests.conftest import citizen_headers, staff_headers
from tests.support.route_reads import PO, audit_rows, published_courier

ENQUEUE_ARGS = ("recipient_kind", "recipient_id", "template", "params")
CITIZEN, OTHER_CITIZEN = "+84900000088", "+84900000089"
BOOKER = "+84920000057"  # used by no other test


async def _slots(
    client: httpx.AsyncClient, params: dict[str, Any], etag: str | None = None
) -> httpx.Response:
    headers = {"If-None-Match": etag} if etag else {}
    return await client.get("/api/v1/slots", params=params, headers=headers)


async def test_a_booking_changes_the_next_slots_answer_at_once(client: httpx.AsyncClient, demo: Any) -> None:
    _, lat, lon = served_points(demo, PO)[0]
    day = next_weekday(12).isoformat()
    params = {"kind": "pickup", "lat": lat, "lon": lon, "from": day, "to": day}
    first = await _slots(client, params)
    assert first.status_code == 200, first.text
    tag = first.headers["etag"]
    assert first.headers["cache-control"] == "public, no-cache"
    again = await _slots(client, params, tag)
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag
    window = next(w for w in first.json()["items"] if w["remaining"] > 0)

    citizen = await citizen_headers(client, CITIZEN)
    body = {"kind": "pickup", "lat": lat, "lon": lon, "procedure": PICKUP_CODE, "start": window["start"]}
    booked = await client.post("/api/v1/appointments", json=body, headers=citizen)
    assert booked.status_code == 201, booked.text

    after = await _slots(client, params, tag)
    assert after.status_code == 200, "the stored answer outlived the booking"
    assert after.headers["etag"] != tag
    left = {w["start"]: w["remaining"] for w in after.json()["items"]}
    assert left[window["start"]] < window["remaining"], (window, left)


async def test_the_courier_route_is_kept_per_courier_until_a_stop_changes(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    day = next_weekday(16)
    windows = [("pickup", 8 * H, 10 * H), ("pickup", 9 * H, 11 * H)]
    username = await published_courier(client, engine, demo, day, windows)
    other = "courier04" if username == "courier03" else "courier03"
    me, them = await staff_headers(client, username), await staff_headers(client, other)
    url = f"/api/v1/couriers/me/route?date={day.isoformat()}"

    first = await client.get(url, headers=me)
    assert first.status_code == 200, first.text
    tag, stops = first.headers["etag"], first.json()["stops"]
    assert stops and first.headers["cache-control"] == "private, no-cache"
    # Another courier asking the same URL with this courier's tag gets their own route, never this one.
    theirs = await client.get(url, headers={**them, "If-None-Match": tag})
    assert theirs.status_code == 200 and theirs.headers["etag"] != tag
    assert not {s["id"] for s in stops} & {s["id"] for s in theirs.json()["stops"]}

    # A stored answer sent again: the same bytes (which sends of it are recorded: tests/api/test_route_audit.py);
    # a 304 shows nothing and is not recorded.
    again = await client.get(url, headers=me)
    assert again.status_code == 200 and again.content == first.content
    audited = len(await audit_rows(engine, demo.staff[username].id))
    unchanged = await client.get(url, headers={**me, "If-None-Match": tag})
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert len(await audit_rows(engine, demo.staff[username].id)) == audited

    r = await client.post(f"/api/v1/couriers/me/stops/{stops[0]['id']}/start", headers=me)
    assert r.status_code == 200, r.text
    changed = await client.get(url, headers={**me, "If-None-Match": tag})
    assert changed.status_code == 200, "the stored route outlived the stop action"
    assert changed.headers["etag"] != tag
    assert changed.json()["stops"][0]["status"] == "started"


def _booked_notice(citizen_id: uuid.UUID) -> dict[str, Any]:
    params = {
        "appointment_id": str(uuid.uuid4()),
        "start": "2026-12-07T08:00:00+07:00",
        "end": "2026-12-07T10:00:00+07:00",
        "post_office": "x",
    }
    return notification_row(
        recipient_kind="citizen", recipient_id=citizen_id, template="appointment.booked", params=params
    )


async def test_the_inbox_changes_with_each_new_notice_and_read_mark(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    mine, theirs = await citizen_headers(client, CITIZEN), await citizen_headers(client, OTHER_CITIZEN)
    first = await client.get("/api/v1/notifications", headers=mine)
    assert first.status_code == 200, first.text
    tag, total = first.headers["etag"], first.json()["total"]
    assert first.headers["cache-control"] == "private, no-cache"
    assert (
        await client.get("/api/v1/notifications", headers={**mine, "If-None-Match": tag})
    ).status_code == 304
    other = await client.get("/api/v1/notifications", headers=theirs)
    assert other.status_code == 200, other.text
    me = uuid.UUID((await client.get("/api/v1/citizens/me", headers=mine)).json()["id"])

    # A notice through the ORM (outbox.enqueue, as most writers do): its recipient's pages go at once.
    async with session_factory(engine)() as session:
        enqueue(session, **{k: v for k, v in _booked_notice(me).items() if k in ENQUEUE_ARGS})
        await session.commit()
    after = await client.get("/api/v1/notifications", headers={**mine, "If-None-Match": tag})
    assert after.status_code == 200, "the stored inbox outlived the new notice"
    assert after.json()["total"] == total + 1 and after.json()["unread"] >= 1

    # Marked read: at once too.
    r = await client.post("/api/v1/notifications/read", json={"ids": None}, headers=mine)
    assert r.status_code == 200 and r.json()["marked"] >= 1, r.text
    read = await client.get("/api/v1/notifications", headers={**mine, "If-None-Match": after.headers["etag"]})
    assert read.status_code == 200 and read.json()["unread"] == 0

    # A bulk insert (as the booking's PostgreSQL function writes): at once in this process (the engine hook ends
    # the trust in the version read before it); written by another process, it would show within TRUST_S.
    row = _booked_notice(me)
    async with session_factory(engine)() as session:
        await insert_rows(session, [row])
        await session.commit()
    bulk = await client.get("/api/v1/notifications", headers={**mine, "If-None-Match": read.headers["etag"]})
    assert bulk.status_code == 200, "the stored inbox outlived the notice written by a bulk insert"
    assert bulk.json()["items"][0]["id"] == str(row["id"]) and bulk.json()["total"] == total + 2

    # The other citizen's inbox is untouched and still theirs: never this citizen's page, even asked by its tag.
    mixed = await client.get(
        "/api/v1/notifications", headers={**theirs, "If-None-Match": bulk.headers["etag"]}
    )
    assert mixed.status_code == 200 and str(row["id"]) not in mixed.text
    still = await client.get(
        "/api/v1/notifications", headers={**theirs, "If-None-Match": other.headers["etag"]}
    )
    assert still.status_code == 304


async def test_a_booking_shows_in_the_bookers_inbox_at_once(client: httpx.AsyncClient, demo: Any) -> None:
    """The booking's notice is written by the booking statement itself on PostgreSQL (``hoso_book``, or
    ``hoso_book_many`` when bookings are grouped): either must end the trust in the inbox version read before,
    so the booker's next read shows it, not a 304 for up to ``TRUST_S``."""
    citizen = await citizen_headers(client, BOOKER)
    first = await client.get("/api/v1/notifications", headers=citizen)
    assert first.status_code == 200, first.text
    _, lat, lon = served_points(demo, PO)[0]
    day = next_weekday(12).isoformat()
    listing = await _slots(client, {"kind": "pickup", "lat": lat, "lon": lon, "from": day, "to": day})
    assert listing.status_code == 200, listing.text
    window = next((w for w in listing.json()["items"] if w["remaining"] > 0), None)
    assert window is not None, listing.json()
    body = {"kind": "pickup", "lat": lat, "lon": lon, "procedure": PICKUP_CODE, "start": window["start"]}
    booked = await client.post("/api/v1/appointments", json=body, headers=citizen)
    assert booked.status_code == 201, booked.text
    after = await client.get(
        "/api/v1/notifications", headers={**citizen, "If-None-Match": first.headers["etag"]}
    )
    assert after.status_code == 200, "the stored inbox outlived the booking's notice"
    assert after.json()["total"] == first.json()["total"] + 1
