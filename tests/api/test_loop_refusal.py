"""Issue 20, loop 2: a refusal (TKN) and a withdrawal (TRH) tell the citizen why, and the original papers come
back: the refused papers are ready at the desk at once (KQS as the system), the citizen who chose postal return
is offered windows, books one, the delivery is in the day's plan input and is delivered like a result."""

import uuid
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from backend.db import session_factory
from backend.planning.problem_builder import build_day
from schemas.booking import Appointment
from schemas.orgs import Organisation
from schemas.vntime import vn_date
from tests.api.loop_support import citizen, codes, event, notes_of, to_agency, to_desk
from tests.api.test_custody_journey import hand, status_of, upload
from tests.conftest import staff_headers

PHONE = "+84900000055"
WITHDRAWER = "+84900000056"
REASON = "Thiếu bản chính giấy chứng sinh"


async def _in_plan_input(engine: AsyncEngine, office_code: str, appt_id: str) -> bool:
    async with session_factory(engine)() as s:
        appt = await s.get(Appointment, uuid.UUID(appt_id))
        assert appt is not None
        office = (await s.exec(select(Organisation).where(Organisation.code == office_code))).one()
        day = await build_day(s, office, vn_date(appt.start))
    return any(stop.appointment_id == appt.id for stop in day.stops.values())


async def test_refused_papers_come_back_home(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    po, desk, _ = codes(demo)
    item = await to_desk(client, demo, PHONE)
    r = await event(client, "desk02", item, code="TKN")
    assert r.status_code == 422 and r.json()["code"] == "reason_required"
    r = await event(client, "desk02", item, code="TKN", reason=REASON)
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["status"] == "result_ready" and d["result_item_id"].startswith("KQ")
    assert [e["code"] for e in d["events"]][-2:] == ["TKN", "KQS"]

    notes = await notes_of(engine, PHONE)
    refused = next(n for n in notes if n.template == "dossier.not_accepted")
    assert REASON in refused.body_vi and REASON in refused.body_en
    sent = [n.template for n in notes]
    assert "dossier.papers_returned" in sent and "dossier.return_offer" in sent
    assert "dossier.result_ready" not in sent

    me = await citizen(client, PHONE)
    r = await client.get(f"/api/v1/dossiers/{item}/return-offer", headers=me)
    assert r.status_code == 200, r.text
    offer = r.json()
    assert offer["status"] == "offered" and offer["windows"] and offer["answer_by"]
    other = await citizen(client, "+84900000057")
    r = await client.get(f"/api/v1/dossiers/{item}/return-offer", headers=other)
    assert r.status_code == 404
    start = offer["windows"][0]["start"]
    r = await client.post(f"/api/v1/dossiers/{item}/return-offer", headers=me, json={"start": start})
    assert r.status_code == 200, r.text
    booked = r.json()
    assert booked["status"] == "booked" and booked["appointment_id"]
    assert datetime.fromisoformat(booked["appointment_start"]) == datetime.fromisoformat(start)
    r = await client.post(f"/api/v1/dossiers/{item}/return-offer", headers=me, json={"start": start})
    assert r.status_code == 409 and r.json()["code"] == "return_already_booked"
    assert await _in_plan_input(engine, po, booked["appointment_id"])

    # Routed like a result: desk -> post office -> courier -> the citizen, with the recipient check.
    result_id = d["result_item_id"]
    await hand(client, "desk02", "dispatcher01", po, [result_id])
    r = await client.put(f"/api/v1/dossiers/{item}/postal-return", headers=me, json={"postal_return": False})
    assert r.status_code == 409 and r.json()["code"] == "return_choice_closed"
    await hand(client, "dispatcher01", "courier01", "courier01", [result_id])
    courier = await staff_headers(client, "courier01")
    code = (await client.get("/api/v1/handover-code", headers=me)).json()["code"]
    r = await client.post(
        f"/api/v1/dossiers/{result_id}/events",
        headers=courier,
        json={
            "code": "EMI",
            "recipient": {"method": "code", "code": code},
            "proof_id": await upload(client, courier),
        },
    )
    assert r.status_code == 201, r.text
    assert (await status_of(client, item, "desk02"))["status"] == "delivered"


async def test_a_withdrawal_tells_the_reason_and_offers_the_return(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    item = await to_agency(client, demo, WITHDRAWER)
    r = await event(client, "agency03", item, code="TRH", reason="Công dân nộp lại hồ sơ khác")
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "withdrawn"
    note = next(n for n in await notes_of(engine, WITHDRAWER) if n.template == "dossier.withdrawn")
    assert "Công dân nộp lại hồ sơ khác" in note.body_vi
    # The papers are the desk's again (transitions.CUSTODY); once in hand it records them ready (KQS).
    r = await event(client, "desk02", item, code="KQS")
    assert r.status_code == 201, r.text
    d = await status_of(client, item, "desk02")
    assert d["status"] == "result_ready"
    me = await citizen(client, WITHDRAWER)
    r = await client.get(f"/api/v1/dossiers/{item}/return-offer", headers=me)
    assert r.status_code == 200 and r.json()["status"] == "offered"
    # Counter pickup instead: the offer is withdrawn and the result waits at the counter.
    r = await client.put(f"/api/v1/dossiers/{item}/postal-return", headers=me, json={"postal_return": False})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "withdrawn" and r.json()["postal_return"] is False
    assert [e["code"] for e in (await status_of(client, item, "desk02"))["events"]][-1] == "YTQ"
    # And back to postal return: offered again.
    r = await client.put(f"/api/v1/dossiers/{item}/postal-return", headers=me, json={"postal_return": True})
    assert r.status_code == 200 and r.json()["status"] == "offered"
