"""Issue 20, loop 1: a supplement travels with its dossier. The agency asks for more documents (TBS, clock
paused); the citizen books a pickup that carries the dossier; the courier sees the missing list and scans the
supplement at the door (EBS: clock still paused); the desk receives it from the courier (TNB), the clock runs
again from that receipt (Decree 118/2025/NĐ-CP) and the desk sees it on the same dossier."""

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from backend.db import session_factory
from backend.planning.stop_view import stop_details
from schemas.attempts import CodeFailure
from schemas.base import utcnow
from schemas.booking import Appointment
from schemas.dossiers import Dossier
from schemas.planning import PlanStop, StopKind
from tests.api.loop_support import citizen, codes, event, first_window, notes_of, to_agency, to_desk
from tests.api.test_custody_journey import hand, office_commune_centre, status_of
from tests.conftest import staff_headers

PHONE = "+84900000052"
OTHER = "+84900000053"
MISSING = ["Bản sao sổ hộ khẩu", "Tờ khai bổ sung"]


async def _book_supplement(client: httpx.AsyncClient, phone: str, item: str) -> httpx.Response:
    lat, lon = await office_commune_centre(client, "courier01")
    start = await first_window(client, "pickup")
    return await client.post(
        "/api/v1/appointments",
        headers={**await citizen(client, phone), "Idempotency-Key": f"sup-{item}-{phone}"},
        json={"kind": "pickup", "start": start, "lat": lat, "lon": lon, "dossier": item},
    )


async def _move_pause_back(engine: AsyncEngine, item: str, days: int) -> None:
    """The citizen took a while: the clock stopped ``days`` days ago."""
    async with session_factory(engine)() as s:
        d = (await s.exec(select(Dossier).where(Dossier.item_id == item))).one()
        assert d.paused_at is not None
        d.paused_at = d.paused_at - timedelta(days=days)
        s.add(d)
        await s.commit()


async def test_supplement_pickup_scan_and_desk_receipt(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    _, desk, _ = codes(demo)
    item = await to_agency(client, demo, PHONE)
    r = await event(client, "agency03", item, code="TBS", missing_documents=MISSING)
    assert r.status_code == 201, r.text
    due_before = r.json()["due_at"]

    # Only the dossier's citizen, only while it waits: another citizen gets the 404 of an unknown id.
    r = await _book_supplement(client, OTHER, item)
    assert r.status_code == 404, r.text
    r = await _book_supplement(client, PHONE, item)
    assert r.status_code == 201, r.text
    appt = r.json()
    assert appt["kind"] == "pickup" and appt["dossier"] == item
    assert appt["fees"]["fee"] == 0 and appt["fees"]["charge"] == 0  # postal fee only: paid at filing

    # The courier's stop shows what to collect (the appointment as the courier's office sees it).
    r = await client.get(
        f"/api/v1/appointments/{appt['id']}", headers=await staff_headers(client, "dispatcher01")
    )
    assert r.status_code == 200, r.text
    assert r.json()["missing_documents"] == MISSING

    # ... and so does the courier's stop on a route (what planning shows of a pickup stop of this visit).
    async with session_factory(engine)() as s:
        now = utcnow()
        stop = PlanStop(
            plan_id=uuid.uuid4(), route_id=uuid.uuid4(), seq=1, key=f"A:{appt['id']}", kind=StopKind.pickup,
            appointment_id=uuid.UUID(appt["id"]), lat=10.46, lon=105.63, planned_eta=now, eta=now,
            service_start=now, departure=now,
        )  # fmt: skip
        shown = (await stop_details(s, [stop]))[stop.id]
    assert shown["dossier"] == item and shown["missing_documents"] == MISSING

    await _move_pause_back(engine, item, 10)
    # Another office's courier may not record it; a courier of the visit's office does.
    r = await client.post(
        f"/api/v1/dossiers/{item}/supplements", headers=await staff_headers(client, "courier03"), json={}
    )
    assert r.status_code == 404, r.text
    # The citizen confirms the handover as at a pickup: none is 422, a wrong code 422 and counted (its
    # failure row outlives the refusal), today's code passes.
    courier = await staff_headers(client, "courier01")
    where = {"place": "tại nhà công dân", "lat": 10.46, "lon": 105.63}
    r = await client.post(f"/api/v1/dossiers/{item}/supplements", headers=courier, json=where)
    assert r.status_code == 422 and r.json()["code"] == "confirmation_required", r.text
    code = (await client.get("/api/v1/handover-code", headers=await citizen(client, PHONE))).json()["code"]
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    r = await client.post(
        f"/api/v1/dossiers/{item}/supplements",
        headers=courier,
        json={**where, "confirmation": {"method": "code", "code": wrong}},
    )
    assert r.status_code == 422 and r.json()["code"] == "wrong_code", r.text
    async with session_factory(engine)() as s:
        d = (await s.exec(select(Dossier).where(Dossier.item_id == item))).one()
        failures = (await s.exec(select(CodeFailure).where(CodeFailure.citizen_id == d.citizen_id))).all()
    assert [f.outcome for f in failures] == ["wrong"] and d.status == "awaiting_supplement"
    r = await client.post(
        f"/api/v1/dossiers/{item}/supplements",
        headers=courier,
        json={**where, "confirmation": {"method": "code", "code": code}},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "supplement_in_transit" and body["portal_status"] == 5
    assert body["custodian"]["kind"] == "courier"
    assert body["paused_at"] is not None  # the clock waits for the desk's receipt
    ebs = body["events"][-1]
    assert ebs["code"] == "EBS"
    r = await client.post(
        f"/api/v1/dossiers/{item}/supplements", headers=await staff_headers(client, "courier01"), json={}
    )
    assert r.status_code == 409 and r.json()["code"] == "not_awaiting_supplement"
    async with session_factory(engine)() as s:
        visit = await s.get(Appointment, uuid.UUID(appt["id"]))
        assert visit is not None and visit.status == "completed"

    # The desk receives it from the courier: TNB, the clock runs again from that receipt.
    await hand(client, "courier01", "desk02", desk, [item])
    d = await status_of(client, item, "desk02")
    assert d["status"] == "processing" and d["paused_at"] is None
    codes_seen = [e["code"] for e in d["events"]]
    assert codes_seen[-3:] == ["TBS", "EBS", "TNB"]
    async with session_factory(engine)() as s:
        dossier = (await s.exec(select(Dossier).where(Dossier.item_id == item))).one()
    assert dossier.paused_working_days >= 6  # ten calendar days back, counted in working days
    assert d["due_at"] > due_before

    sent = [n.template for n in await notes_of(engine, PHONE)]
    assert "dossier.supplement_requested" in sent and "dossier.supplement_collected" in sent


async def test_a_supplement_pickup_needs_a_dossier_waiting_for_one(
    client: httpx.AsyncClient, demo: Any
) -> None:
    item = await to_desk(client, demo, "+84900000054")
    r = await _book_supplement(client, "+84900000054", item)
    assert r.status_code == 409 and r.json()["code"] == "not_awaiting_supplement"
    r = await _book_supplement(client, "+84900000054", "HS000000000VN")
    assert r.status_code in (404, 422)
