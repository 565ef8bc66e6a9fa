"""Demo: what citizens said (issue 23). Visits of the last two working weeks at every post office, completed, most
of them rated on the SIPAS-like criteria (rows written with their ``rated`` events, backdated to the visit's
day); and complaints through the feedback services in every state: received, assigned to the responsible post
office with a deadline, answered by its dispatcher, closed by the citizen.
"""

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.booking.services import fees_for
from backend.catalogue import places
from backend.catalogue.calendar_service import working_calendar
from backend.demo.booking import appointment_event
from backend.demo.province import DemoContext
from backend.feedback import complaints
from backend.feedback.events import Actor
from backend.lib.auth import Principal
from schemas.accounts import Citizen
from schemas.base import utcnow
from schemas.booking import Appointment, AppointmentKind, AppointmentStatus, BookingChannel
from schemas.catalogue import Procedure
from schemas.enums import Role
from schemas.feedback import (
    ComplaintAnswer,
    ComplaintAssign,
    ComplaintCategory,
    ComplaintIn,
    ComplaintSubject,
    FeedbackEvent,
    Rating,
)
from schemas.vntime import VN_TZ, vn_date

VISITS_PER_OFFICE = 8
COMMENTS = ("Bưu tá đến đúng giờ, nhiệt tình.", "Nhanh gọn.", "Phí hơi cao.", None, None)
# (category, text, how far it went: 0 received, 1 assigned, 2 answered, 3 closed)
COMPLAINTS = (
    (ComplaintCategory.lateness, "Bưu tá đến trễ hơn khung giờ đã hẹn.", 0),
    (ComplaintCategory.attitude, "Nhân viên tiếp nhận chưa hướng dẫn rõ giấy tờ cần nộp.", 1),
    (ComplaintCategory.fees, "Tôi chưa rõ vì sao phí thu gom khác với báo giá.", 2),
    (ComplaintCategory.lateness, "Kết quả trả về trễ hai ngày so với giấy hẹn.", 3),
    (ComplaintCategory.procedure, "Thủ tục yêu cầu bản sao có chứng thực, rườm rà.", 1),
    (ComplaintCategory.lost_or_damaged, "Bìa hồ sơ bị ướt khi nhận lại.", 2),
    (ComplaintCategory.attitude, "Bưu tá lịch sự, nhưng không mang máy quẹt thẻ.", 3),
    (ComplaintCategory.wrong_result, "Kết quả ghi sai tên đệm của tôi.", 0),
)


def _principal(role: Role, user_id: uuid.UUID, org_id: uuid.UUID | None = None) -> Principal:
    return Principal(id=user_id, role=role, org_id=org_id)


async def _visits(session: AsyncSession, ctx: DemoContext, rng: random.Random, now: datetime) -> int:
    """Completed home visits of the last two working weeks at every office, most of them rated."""
    cal = await working_calendar(session)
    days = [cal.previous_working_day(vn_date(now))]
    while len(days) < 10:
        days.append(cal.previous_working_day(days[-1]))
    procs = list((await session.exec(select(Procedure).where(col(Procedure.postal_pickup).is_(True)))).all())
    rated = 0
    for k, po in enumerate(ctx.post_offices):
        served = set(ctx.served.get(po.id, []))
        locals_ = [c for c in ctx.citizens if ctx.addresses[c.id].commune_code in served] or ctx.citizens
        courier = ctx.staff[f"courier{2 * k + 1:02d}"]
        for _ in range(VISITS_PER_OFFICE):
            citizen, day, proc = rng.choice(locals_), rng.choice(days), rng.choice(procs)
            start = datetime(day.year, day.month, day.day, rng.choice((8, 10, 14)), tzinfo=VN_TZ)
            appt = _appointment(ctx, po.id, citizen, proc, start)
            done = start + timedelta(minutes=rng.randint(10, 100))
            session.add(appt)
            session.add(appointment_event(appt, 1, "booked", BookingChannel.app, start - timedelta(days=2)))
            session.add(appointment_event(appt, 2, "completed", BookingChannel.app, done))
            if rng.random() < 0.7:
                rated += 1
                _rate(session, ctx, rng, appt, citizen, courier.id, done)
    await session.flush()
    return rated


def _appointment(
    ctx: DemoContext, po_id: uuid.UUID, citizen: Citizen, proc: Procedure, start: datetime
) -> Appointment:
    home = ctx.addresses[citizen.id]
    po = next(p for p in ctx.post_offices if p.id == po_id)
    distance = places.distance_km(po.lat, po.lon, home.lat, home.lon)
    return Appointment(
        citizen_id=citizen.id,
        post_office_id=po_id,
        province_code=po.province_code,
        commune_code=home.commune_code,
        kind=AppointmentKind.pickup,
        start=start,
        end=start + timedelta(hours=2),
        cost_minutes=20,
        procedure_id=proc.id,
        lat=home.lat,
        lon=home.lon,
        address=home.address,
        distance_km=round(distance, 3),
        fees=fees_for(AppointmentKind.pickup, distance, proc),
        channel=BookingChannel.app,
        booked_by_role="citizen",
        booked_by_id=citizen.id,
        status=AppointmentStatus.completed,
        version=2,
        created_at=start - timedelta(days=2),
        updated_at=start,
    )


def _rate(
    session: AsyncSession,
    ctx: DemoContext,
    rng: random.Random,
    appt: Appointment,
    citizen: Citizen,
    courier_id: uuid.UUID,
    done: datetime,
) -> None:
    at = done + timedelta(hours=rng.uniform(1, 30))
    scores = {k: rng.choices((5, 4, 3, 2), weights=(60, 28, 9, 3))[0] for k in ("attitude", "timeliness")}
    scores |= {k: rng.choices((5, 4, 3), weights=(50, 40, 10))[0] for k in ("fees", "result")}
    desk = ctx.commune_desks.get(appt.commune_code)
    rating = Rating(
        appointment_id=appt.id,
        citizen_id=citizen.id,
        post_office_id=appt.post_office_id,
        courier_id=courier_id,
        desk_id=desk.id if desk else None,
        visit_at=done,
        comment=rng.choice(COMMENTS),
        attitude=scores["attitude"],
        timeliness=scores["timeliness"],
        fees=scores["fees"],
        result=scores["result"],
        created_at=at,
        updated_at=at,
    )
    session.add(rating)
    session.add(
        FeedbackEvent(
            kind="rating",
            subject_id=rating.id,
            type="rated",
            at=at,
            actor_role=Role.citizen.value,
            actor_id=citizen.id,
            data={"appointment_id": str(appt.id), **scores},
        )
    )


async def _complaints(session: AsyncSession, ctx: DemoContext) -> dict[str, int]:
    """Complaints about commune centres, each taken as far as its line says, through the services (the centre
    answers its own)."""
    admin = Actor(_principal(Role.admin, ctx.staff["admin"].id))
    states: dict[str, int] = {}
    for n, (category, text, steps) in enumerate(COMPLAINTS):
        k = n % len(ctx.post_offices)
        po = ctx.post_offices[k]
        citizen = ctx.citizens[200 + n]  # citizens no other demo slice or test signs in as
        who = Actor(_principal(Role.citizen, citizen.id))
        desk_code = f"{ctx.province.code}-MC-{po.commune_code}"
        filed = await complaints.file(
            session,
            who,
            ComplaintIn(subject=ComplaintSubject.desk, category=category, text=text, desk=desk_code),
        )
        if steps >= 1:
            await complaints.assign(
                session, admin, filed.id, ComplaintAssign(org=desk_code, deadline_days=10)
            )
        if steps >= 2:
            clerk = ctx.staff[f"desk{k + 2:02d}"]  # the clerk of that commune's centre
            handler = Actor(_principal(Role.desk, clerk.id, clerk.organisation_id))
            answer = ComplaintAnswer(answer="Trung tâm đã ghi nhận, nhắc nhở cán bộ và xin lỗi ông/bà.")
            await complaints.answer(session, handler, filed.id, answer)
        if steps >= 3:
            await complaints.close(session, who, filed.id)
        state = ("received", "assigned", "answered", "closed")[steps]
        states[state] = states.get(state, 0) + 1
    return states


async def seed(session: AsyncSession, ctx: DemoContext) -> dict[str, Any]:
    rng = random.Random(ctx.seed + 31)
    rated = await _visits(session, ctx, rng, utcnow())
    await session.commit()
    return {"ratings": rated, "complaints": await _complaints(session, ctx)}
