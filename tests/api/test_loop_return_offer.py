"""Issue 20, loop 3: return booked at receipt. A result ready at the desk for a citizen who chose postal return
is offered delivery windows; with no answer by ``answer_by`` the sweep books the earliest window the routes can
absorb, as the system, and tells the citizen, so the delivery is in the next plan's input. Several sweeping
processes never book one offer twice (the lease)."""

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from backend.custody.services import return_offers
from backend.db import session_factory
from backend.planning.problem_builder import build_day
from schemas.booking import Appointment, AppointmentEvent
from schemas.dossiers import Dossier, DossierEvent
from schemas.orgs import Organisation
from schemas.returns import ReturnOffer
from schemas.vntime import vn_date
from tests.api.loop_support import citizen, codes, event, notes_of, to_agency
from tests.api.test_custody_journey import PROCEDURE, hand, office_commune_centre, status_of
from tests.conftest import staff_headers

PHONE = "+84900000058"
RACER = "+84900000059"


async def _result_ready(client: httpx.AsyncClient, demo: Any, phone: str) -> str:
    _, desk, _ = codes(demo)
    item = await to_agency(client, demo, phone)
    r = await event(client, "agency03", item, code="TKQ", outcome="approved")
    assert r.status_code == 201, r.text
    await hand(client, "agency03", "desk02", desk, [item])  # KQS at the desk's receipt
    return item


async def _offer(engine: AsyncEngine, item: str) -> ReturnOffer:
    async with session_factory(engine)() as s:
        dossier = (await s.exec(select(Dossier).where(Dossier.item_id == item))).one()
        return (await s.exec(select(ReturnOffer).where(ReturnOffer.dossier_id == dossier.id))).one()


async def _sweep(engine: AsyncEngine, worker: str, at: Any) -> int:
    async with session_factory(engine)() as s:
        return await return_offers.sweep(s, worker, now=at)


async def test_no_answer_books_the_earliest_window_into_the_next_plan(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    item = await _result_ready(client, demo, PHONE)
    offer = await _offer(engine, item)
    assert offer.status == "offered" and offer.lat is not None
    me = await citizen(client, PHONE)
    windows = (await client.get(f"/api/v1/dossiers/{item}/return-offer", headers=me)).json()["windows"]
    assert windows
    assert "dossier.return_offer" in [n.template for n in await notes_of(engine, PHONE)]

    # Before answer_by it is not booked (other tests' offers may be: the count is theirs).
    await _sweep(engine, "early", offer.answer_by - timedelta(minutes=1))
    assert (await _offer(engine, item)).status == "offered"
    at = offer.answer_by + timedelta(seconds=1)
    async with session_factory(engine)() as s:
        expected = await return_offers.open_windows(s, offer.lat, offer.lon, at)
    assert await _sweep(engine, "sweeper", at) >= 1
    done = await _offer(engine, item)
    assert done.status == "auto_booked" and done.appointment_id is not None and done.leased_by == "sweeper"
    async with session_factory(engine)() as s:
        appt = await s.get(Appointment, done.appointment_id)
        assert appt is not None
        assert appt.kind == "delivery" and appt.status == "booked" and appt.dossier_item_id == item
        assert appt.channel == "system" and appt.booked_by_role == "admin"
        booked_event = (
            await s.exec(select(AppointmentEvent).where(AppointmentEvent.appointment_id == appt.id))
        ).one()
        assert booked_event.type == "booked" and booked_event.channel == "system"
        dossier = (await s.exec(select(Dossier).where(Dossier.item_id == item))).one()
        htt = (
            await s.exec(
                select(DossierEvent).where(DossierEvent.dossier_id == dossier.id, DossierEvent.code == "HTT")
            )
        ).one()
        assert htt.actor_kind == "system" and htt.status == "result_ready"
        office = await s.get(Organisation, appt.post_office_id)
        assert office is not None
        day = await build_day(s, office, vn_date(appt.start))
    assert any(stop.appointment_id == appt.id for stop in day.stops.values())
    assert appt.start == expected[0].start  # the earliest window the routes could absorb then
    sent = [n.template for n in await notes_of(engine, PHONE)]
    assert "dossier.return_auto_booked" in sent and "appointment.booked" in sent
    # Done: a later sweep books nothing more, and the citizen may no longer choose.
    await _sweep(engine, "late", offer.answer_by + timedelta(hours=1))
    assert (await _offer(engine, item)).appointment_id == done.appointment_id
    r = await client.post(
        f"/api/v1/dossiers/{item}/return-offer", headers=me, json={"start": windows[0]["start"]}
    )
    assert r.status_code == 409 and r.json()["code"] == "return_already_booked"

    # The citizen cancels that visit in the appointments: the next sweep offers the return again.
    r = await client.post(
        f"/api/v1/appointments/{done.appointment_id}/cancel", headers=me, json={"reason": "Bận đột xuất"}
    )
    assert r.status_code == 200, r.text
    await _sweep(engine, "after-cancel", at + timedelta(minutes=5))
    again = await _offer(engine, item)
    assert again.status == "offered" and again.answer_by > at and again.appointment_id is None
    assert [n.template for n in await notes_of(engine, PHONE)].count("dossier.return_offer") == 2


async def test_two_sweepers_book_one_offer_once(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    item = await _result_ready(client, demo, RACER)
    offer = await _offer(engine, item)
    at = offer.answer_by + timedelta(seconds=1)
    async with session_factory(engine)() as s:
        assert await return_offers.lease(s, offer.id, "first", at)
        assert not await return_offers.lease(s, offer.id, "second", at)  # leased: nobody else takes it
    # After the lease ends, two sweepers at once: one booking.
    later = at + timedelta(hours=1)
    await asyncio.gather(_sweep(engine, "a", later), _sweep(engine, "b", later))
    assert (await _offer(engine, item)).leased_by in ("a", "b")
    async with session_factory(engine)() as s:
        appts = (
            await s.exec(
                select(Appointment).where(Appointment.dossier_item_id == item, Appointment.kind == "delivery")
            )
        ).all()
    assert len(appts) == 1
    assert uuid.UUID(str(appts[0].id)) == (await _offer(engine, item)).appointment_id


async def test_postal_return_checks(client: httpx.AsyncClient, demo: Any) -> None:
    r = await client.put(
        "/api/v1/dossiers/HS000000000VN/postal-return",
        headers=await citizen(client, PHONE),
        json={"postal_return": True},
    )
    assert r.status_code in (404, 422)
    r = await client.put(
        "/api/v1/dossiers/not-an-id/postal-return",
        headers=await citizen(client, PHONE),
        json={"postal_return": 1},
    )
    assert 400 <= r.status_code < 500


async def test_a_counter_filer_switches_to_postal_return_before_the_result(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    """Filed at the desk (counter return by default), switched to postal return while the agency works on it:
    the result is offered for delivery to the place given with the switch."""
    _, desk, agency = codes(demo)
    phone = "+84900000060"
    r = await client.post(
        "/api/v1/dossiers",
        headers=await staff_headers(client, "desk02"),
        json={"channel": "direct", "procedure": PROCEDURE, "citizen_phone": phone},
    )
    assert r.status_code == 201, r.text
    item = r.json()["item_id"]
    me = await citizen(client, phone)
    r = await client.get(f"/api/v1/dossiers/{item}/return-offer", headers=me)
    assert r.status_code == 200 and r.json()["status"] == "none" and r.json()["postal_return"] is False
    await hand(client, "desk02", "agency03", agency, [item])
    lat, lon = await office_commune_centre(client, "courier01")
    r = await client.put(
        f"/api/v1/dossiers/{item}/postal-return",
        headers=me,
        json={"postal_return": True, "lat": lat, "lon": lon, "address": "Số 3, ấp Mới"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["postal_return"] is True and r.json()["status"] == "none"
    r = await event(client, "agency03", item, code="TKQ", outcome="approved")
    assert r.status_code == 201, r.text
    await hand(client, "agency03", "desk02", desk, [item])
    offer = await _offer(engine, item)
    assert offer.status == "offered" and (offer.lat, offer.lon, offer.address) == (lat, lon, "Số 3, ấp Mới")
    r = await client.get(f"/api/v1/dossiers/{item}/return-offer", headers=me)
    assert r.json()["windows"]
    events = [e["code"] for e in (await status_of(client, item, "desk02"))["events"]]
    assert "YBC" in events and events[-1] == "KQS"
