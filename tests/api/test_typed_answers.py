"""The typed answers of issue 19 describe the JSON the apps get exactly: each answer read into its model and
written back is the same JSON, so a field the model lacks (dropped on the way back) or one it adds (written
back, absent from the answer) fails here. Slots matter most: the service sends prebuilt dicts, not the model."""

from typing import Any

import httpx
from pydantic import BaseModel

from schemas.accounts import CourierProfilePublic, MePublic
from schemas.booking import AppointmentPage, AppointmentPublic, BookingSettingsPublic, SlotPage
from schemas.catalogue import CalendarYear
from schemas.console import CouriersToday
from schemas.notifications import InboxPage
from tests.api.test_booking_flow import PICKUP_CODE, place_of
from tests.conftest import citizen_headers, staff_headers

PHONE = "+84900000081"  # no other test signs in with it


def same(model: type[BaseModel], body: Any) -> None:
    assert model.model_validate(body).model_dump(mode="json") == body


async def test_a_citizen_journey_answers_its_models(client: httpx.AsyncClient, demo: Any) -> None:
    lat, lon = place_of(demo, 5)
    r = await client.get(
        "/api/v1/slots", params={"kind": "pickup", "lat": lat, "lon": lon, "procedure": PICKUP_CODE}
    )
    assert r.status_code == 200, r.text
    listing = r.json()
    same(SlotPage, listing)
    assert listing["fees"]["zone"] and listing["documents"], "the quote and the dossier are filled in"
    start = next(s["start"] for s in listing["items"] if s["remaining"] > 0)

    citizen = await citizen_headers(client, PHONE)
    body = {"kind": "pickup", "start": start, "lat": lat, "lon": lon, "procedure": PICKUP_CODE}
    headers = {**citizen, "Idempotency-Key": "typed-answers-1"}
    booked = await client.post("/api/v1/appointments", json=body, headers=headers)
    assert booked.status_code == 201, booked.text
    same(AppointmentPublic, booked.json())
    replayed = await client.post("/api/v1/appointments", json=body, headers=headers)
    assert replayed.headers.get("idempotent-replayed") == "true"
    same(AppointmentPublic, replayed.json())

    one = await client.get(f"/api/v1/appointments/{booked.json()['id']}", headers=citizen)
    same(AppointmentPublic, one.json())
    assert one.json()["fees"] == booked.json()["fees"]
    page = await client.get("/api/v1/appointments", headers=citizen)
    same(AppointmentPage, page.json())
    inbox = await client.get("/api/v1/notifications", headers=citizen)
    assert inbox.json()["total"] >= 1
    same(InboxPage, inbox.json())
    same(MePublic, (await client.get("/api/v1/me", headers=citizen)).json())


async def test_staff_answers_their_models(client: httpx.AsyncClient, demo: Any) -> None:
    dispatcher = await staff_headers(client, "dispatcher01")
    office = demo.post_offices[0].code
    r = await client.get(f"/api/v1/post-offices/{office}/booking-settings", headers=dispatcher)
    assert r.status_code == 200, r.text
    same(BookingSettingsPublic, r.json())
    r = await client.get("/api/v1/console/couriers", params={"office": office}, headers=dispatcher)
    assert r.status_code == 200, r.text
    same(CouriersToday, r.json())
    assert r.json()["couriers"], "the office has couriers"

    courier = await staff_headers(client, "courier01")
    me = (await client.get("/api/v1/me", headers=courier)).json()
    same(MePublic, me)
    profile = await client.get(f"/api/v1/couriers/{me['id']}/profile", headers=courier)
    same(CourierProfilePublic, profile.json())
    # /me shows the shifts in the form the profile is read and written in: [[start, end], ...] per weekday.
    assert me["courier"]["shifts"] == profile.json()["shifts"]
    assert all(isinstance(span, list) for spans in me["courier"]["shifts"].values() for span in spans)

    same(CalendarYear, (await client.get("/api/v1/calendar", params={"year": 2026})).json())
