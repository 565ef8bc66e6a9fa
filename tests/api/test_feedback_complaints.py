"""Complaints (phản ánh, kiến nghị; issue 23) through the API: filed about a visit -> assigned to the
responsible organisation with a deadline in working days -> answered -> reopened once -> answered -> closed, each
step an event and a notification to the citizen; who sees and may do what; refusals as problems; overdue
complaints listed; the report by category, organisation and month, JSON and CSV."""

import csv
import io
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from backend.catalogue.calendar_service import working_calendar
from backend.db import session_factory
from schemas.base import utcnow
from schemas.feedback import Complaint, FeedbackEvent
from schemas.notifications import Notification
from schemas.vntime import vn_date
from tests.api.test_feedback import me, visit
from tests.conftest import citizen_headers, staff_headers

pytestmark = pytest.mark.asyncio(loop_scope="session")

PO = 6  # 82-BD-07: dispatcher07
CITIZEN, OTHER = "+84900000075", "+84900000070"
API = "/api/v1/complaints"


def _staff_of(demo: Any, org_id: uuid.UUID, role: str) -> str:
    return next(u for u, s in demo.staff.items() if s.organisation_id == org_id and s.role == role)


async def _templates(engine: AsyncEngine, citizen_id: uuid.UUID) -> list[str]:
    async with session_factory(engine)() as session:
        rows = await session.execute(
            select(Notification.template)
            .where(
                Notification.recipient_id == citizen_id,
                col(Notification.template).like("feedback.complaint%"),
            )
            .order_by(col(Notification.created_at))
        )
        return [t for (t,) in rows]


async def test_complaint_journey(client: httpx.AsyncClient, engine: AsyncEngine, demo: Any) -> None:
    citizen = await citizen_headers(client, CITIZEN)
    citizen_id = await me(client, citizen)
    appt = await visit(engine, demo, citizen_id)
    po = demo.post_offices[PO]
    desk_org = demo.commune_desks[po.commune_code]
    dispatcher = await staff_headers(client, "dispatcher07")
    desk = await staff_headers(client, _staff_of(demo, desk_org.id, "desk"))
    admin = await staff_headers(client, "admin")

    body = {
        "subject": "visit",
        "category": "lateness",
        "text": "Bưu tá đến trễ 2 giờ.",
        "appointment_id": str(appt),
    }
    r = await client.post(API, json=body, headers={**citizen, "X-Forwarded-For": "198.51.100.7"})
    assert r.status_code == 201, r.text
    c = r.json()
    cid = c["id"]
    assert c["status"] == "received" and c["received_by"] == po.code and c["org"] is None
    assert c["category_name"].startswith("Chậm trễ") and not c["overdue"]

    # Who sees it: its citizen, the receiving office's staff (without who filed it), admins; nobody else.
    r = await client.get(f"{API}/{cid}", headers=dispatcher)
    assert r.status_code == 200 and str(citizen_id) not in r.text and CITIZEN[3:] not in r.text, r.text
    assert (await client.get(f"{API}/{cid}", headers=await citizen_headers(client, OTHER))).status_code == 404
    assert (await client.get(f"{API}/{cid}", headers=desk)).status_code == 404  # not (yet) the desk's
    assert (
        await client.get(f"{API}/{cid}", headers=await staff_headers(client, "dispatcher01"))
    ).status_code == 404
    assert (
        await client.get(f"{API}/{cid}", headers=await staff_headers(client, "courier13"))
    ).status_code == 403

    # Not assigned yet: nothing to answer.
    r = await client.post(f"{API}/{cid}/answer", json={"answer": "?"}, headers=dispatcher)
    assert r.status_code == 409 and r.json()["code"] == "complaint_state", r.text
    r = await client.post(f"{API}/{cid}/assign", json={"org": "NO-SUCH-ORG"}, headers=dispatcher)
    assert r.status_code == 422 and r.json()["code"] == "unknown_org", r.text
    r = await client.post(
        f"{API}/{cid}/assign", json={"org": desk_org.code, "deadline_days": 31}, headers=dispatcher
    )
    assert r.status_code == 400, r.text

    # The office classifies it and hands it to the desk, 5 working days.
    before = utcnow()
    r = await client.post(
        f"{API}/{cid}/assign",
        json={"org": desk_org.code, "category": "attitude", "deadline_days": 5},
        headers=dispatcher,
    )
    assert r.status_code == 200, r.text
    c = r.json()
    async with session_factory(engine)() as session:
        calendar = await working_calendar(session)
    due = calendar.due_date(before, 5)
    assert c["status"] == "assigned" and c["org"] == desk_org.code and c["category"] == "attitude"
    assert c["due_on"] == due.isoformat() and calendar.is_working_day(due)
    # 5 working days: at least 5 calendar days on, exactly 5 working days after the day it counts from.
    start = calendar.effective_receipt_day(before)
    assert len(calendar.working_days_in(start + timedelta(days=1), due)) == 5

    # The desk's staff are told in their inbox (nothing of the citizen), the office's are not.
    r = await client.get("/api/v1/notifications", params={"limit": 200}, headers=desk)
    assert r.status_code == 200, r.text
    told = [n for n in r.json()["items"] if n["deep_link"] == f"/complaints/{cid}"]
    assert len(told) == 1 and str(citizen_id) not in r.text, r.text
    r = await client.get("/api/v1/notifications", params={"limit": 200}, headers=dispatcher)
    assert r.status_code == 200 and f"/complaints/{cid}" not in r.text, r.text

    # The desk (responsible) answers; the office that only received it may not.
    r = await client.post(f"{API}/{cid}/answer", json={"answer": "Đã nhắc nhở."}, headers=desk)
    assert r.status_code in (200,), r.text
    assert r.json()["status"] == "answered" and r.json()["answered_on_time"] is True
    r = await client.post(f"{API}/{cid}/answer", json={"answer": "again"}, headers=desk)
    assert r.status_code == 409 and r.json()["code"] == "complaint_state", r.text

    # Not satisfied: reopened once, with a new deadline; answered again; a second reopen refused.
    r = await client.post(f"{API}/{cid}/reopen", headers=citizen)
    assert r.status_code == 200 and r.json()["status"] == "assigned" and r.json()["reopened"] is True, r.text
    r = await client.post(f"{API}/{cid}/answer", json={"answer": "Đã xin lỗi quý khách."}, headers=admin)
    assert r.status_code == 200, r.text
    r = await client.post(f"{API}/{cid}/reopen", headers=citizen)
    assert r.status_code == 409 and r.json()["code"] == "complaint_reopened_once", r.text
    r = await client.post(f"{API}/{cid}/close", headers=await citizen_headers(client, OTHER))
    assert r.status_code == 404, r.text
    r = await client.post(f"{API}/{cid}/close", headers=citizen)
    assert r.status_code == 200 and r.json()["status"] == "closed", r.text
    r = await client.post(f"{API}/{cid}/answer", json={"answer": "late"}, headers=desk)
    assert r.status_code == 409 and r.json()["code"] == "complaint_state", r.text

    r = await client.get(f"{API}/{cid}", headers=citizen)
    assert [e["type"] for e in r.json()["events"]] == [
        "filed", "assigned", "answered", "reopened", "answered", "closed"
    ]  # fmt: skip
    assert await _templates(engine, citizen_id) == [
        "feedback.complaint_received",
        "feedback.complaint_assigned",
        "feedback.complaint_answered",
        "feedback.complaint_reopened",
        "feedback.complaint_answered",
        "feedback.complaint_closed",
    ]
    async with session_factory(engine)() as session:
        events = (
            (await session.execute(select(FeedbackEvent).where(FeedbackEvent.subject_id == uuid.UUID(cid))))
            .scalars()
            .all()
        )
        filed = next(e for e in events if e.type == "filed")
        assert filed.actor_id == citizen_id and filed.actor_role == "citizen" and filed.client_ip
        assigned = next(e for e in events if e.type == "assigned")
        assert assigned.actor_role == "dispatcher" and assigned.data["due_on"] == due.isoformat()

    # Listed for the desk now (responsible), for the citizen, not for another citizen.
    r = await client.get(API, params={"limit": 500}, headers=desk)
    assert r.status_code == 200 and cid in r.text, r.text
    r = await client.get(API, params={"limit": 500}, headers=await citizen_headers(client, OTHER))
    assert r.status_code == 200 and cid not in r.text, r.text


async def test_bad_complaints_are_problems(client: httpx.AsyncClient, engine: AsyncEngine, demo: Any) -> None:
    citizen = await citizen_headers(client, CITIZEN)
    other_id = await me(client, await citizen_headers(client, OTHER))
    others = await visit(engine, demo, other_id)
    base = {"subject": "visit", "category": "other", "text": "x"}
    r = await client.post(API, json=base, headers=citizen)
    assert r.status_code == 422 and r.json()["code"] == "complaint_subject_missing", r.text
    r = await client.post(API, json={**base, "appointment_id": str(others)}, headers=citizen)
    assert r.status_code == 404, r.text  # another citizen's visit: as if it did not exist
    r = await client.post(
        API, json={**base, "subject": "dossier", "item_id": "EA000000000VN"}, headers=citizen
    )
    assert r.status_code == 404, r.text
    r = await client.post(API, json={**base, "category": "rude"}, headers=citizen)
    assert r.status_code == 400, r.text
    r = await client.post(
        API, json={**base, "subject": "desk", "desk": demo.post_offices[PO].code}, headers=citizen
    )
    assert r.status_code == 422 and r.json()["code"] == "complaint_subject_missing", r.text
    r = await client.post(API, json={**base, "text": ""}, headers=citizen)
    assert r.status_code == 400, r.text
    r = await client.post(API, json=base, headers=await staff_headers(client, "dispatcher07"))
    assert r.status_code == 403, r.text
    # About a desk: received by that desk.
    desk_org = demo.commune_desks[demo.post_offices[PO].commune_code]
    r = await client.post(API, json={**base, "subject": "desk", "desk": desk_org.code}, headers=citizen)
    assert r.status_code == 201 and r.json()["received_by"] == desk_org.code, r.text


async def test_overdue_listed_and_reported(client: httpx.AsyncClient, engine: AsyncEngine, demo: Any) -> None:
    citizen = await citizen_headers(client, CITIZEN)
    citizen_id = await me(client, citizen)
    appt = await visit(engine, demo, citizen_id)
    po = demo.post_offices[PO]
    dispatcher = await staff_headers(client, "dispatcher07")
    body = {"subject": "courier", "category": "fees", "text": "Thu thêm phí.", "appointment_id": str(appt)}
    r = await client.post(API, json=body, headers=citizen)
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = await client.post(
        f"{API}/{cid}/assign", json={"org": po.code, "deadline_days": 1}, headers=dispatcher
    )
    assert r.status_code == 200, r.text
    # Its due day passed without an answer.
    async with session_factory(engine)() as session:
        c = await session.get(Complaint, uuid.UUID(cid))
        assert c is not None and c.courier_id == demo.staff["courier13"].id
        c.due_on = vn_date(utcnow()) - timedelta(days=1)
        session.add(c)
        await session.commit()
    r = await client.get(API, params={"overdue": "true", "limit": 500}, headers=dispatcher)
    assert r.status_code == 200, r.text
    listed = {i["id"]: i for i in r.json()["items"]}
    assert cid in listed and listed[cid]["overdue"] is True and all(i["overdue"] for i in listed.values())
    r = await client.get(
        API, params={"overdue": "true", "limit": 500}, headers=await staff_headers(client, "dispatcher01")
    )
    assert r.status_code == 200 and cid not in r.text, r.text

    today = vn_date(utcnow())
    params = {"from": today.isoformat(), "to": today.isoformat()}
    r = await client.get("/api/v1/reports/complaints", params=params, headers=dispatcher)
    assert r.status_code == 200, r.text
    (row,) = [x for x in r.json()["rows"] if x["category"] == "fees" and x["org"] == po.code]
    assert row["filed"] >= 1 and row["open_overdue"] >= 1 and row["answered"] == 0
    # Answered late: counted as answered, not on time.
    r = await client.post(f"{API}/{cid}/answer", json={"answer": "Đã hoàn tiền."}, headers=dispatcher)
    assert r.status_code == 200 and r.json()["answered_on_time"] is False, r.text
    r = await client.get("/api/v1/reports/complaints", params={**params, "format": "csv"}, headers=dispatcher)
    assert r.status_code == 200 and r.content.startswith("\ufeff".encode()), r.text
    lines = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    (line,) = [
        x for x in lines if x["Loại / Category"] == "fees" and x["Mã đơn vị / Organisation code"] == po.code
    ]
    assert int(line["Đã trả lời / Answered"]) >= 1 and line["Trả lời đúng hạn / Answered on time"] == "0"
    r = await client.get(
        "/api/v1/reports/complaints", params=params, headers=await staff_headers(client, "courier13")
    )
    assert r.status_code == 403, r.text
