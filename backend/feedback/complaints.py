"""Complaints (phản ánh, kiến nghị) through their steps, after Decree 20/2008/NĐ-CP (as amended by Decree
92/2017/NĐ-CP): received from the citizen, classified and assigned to the organisation responsible with a
deadline in working days (the working calendar of ``backend.catalogue.calendar``: weekends, public holidays,
swapped days), answered, then closed by the citizen or reopened once. Every step is a ``feedback_event`` and a
notification to the citizen, in the step's transaction.

Who sees a complaint: its citizen; staff (dispatcher, desk, agency) of the organisation that received it or
of the one responsible; admins. Staff never see who filed it (the answer goes to the citizen through the
service's notifications)."""

import uuid
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.catalogue.calendar_service import working_calendar
from backend.feedback import rules
from backend.feedback.events import Actor, notify, record
from backend.feedback.ratings import courier_of
from backend.lib.auth import Principal
from backend.lib.paging import Paging, fetch_page
from backend.lib.problems import Problem, forbidden, not_found
from notifications import outbox
from schemas.accounts import StaffUser
from schemas.base import utcnow
from schemas.booking import Appointment
from schemas.dossiers import Dossier
from schemas.enums import OrgKind, Role
from schemas.feedback import (
    Complaint,
    ComplaintAnswer,
    ComplaintAssign,
    ComplaintIn,
    ComplaintPage,
    ComplaintPublic,
    ComplaintStatus,
    ComplaintSubject,
    FeedbackEvent,
    FeedbackEventPublic,
)
from schemas.orgs import Organisation
from schemas.vntime import vn_date

COMPLAINT = "phản ánh / complaint"
HANDLERS = frozenset({Role.dispatcher, Role.desk, Role.agency})


def _missing(what: str) -> Problem:
    return Problem(
        422,
        f"Thiếu hoặc sai đối tượng phản ánh: {what} / The complaint's subject is missing: {what}",
        code="complaint_subject_missing",
    )


async def _subject(session: AsyncSession, citizen_id: uuid.UUID, data: ComplaintIn) -> dict[str, Any]:
    """The complaint's references and the organisation that receives it, from its subject; only the citizen's own
    visits and dossiers (another's is a 404, as if it did not exist)."""
    if data.subject in (ComplaintSubject.visit, ComplaintSubject.courier):
        if data.appointment_id is None:
            raise _missing("appointment_id")
        appt = await session.get(Appointment, data.appointment_id)
        if appt is None or appt.citizen_id != citizen_id:
            raise not_found("lịch hẹn / appointment", data.appointment_id)
        courier = await courier_of(session, appt.id) if data.subject == ComplaintSubject.courier else None
        return {
            "appointment_id": appt.id,
            "dossier_item_id": appt.dossier_item_id,
            "courier_id": courier,
            "received_by_id": appt.post_office_id,
        }
    if data.subject == ComplaintSubject.dossier:
        if not data.item_id:
            raise _missing("item_id")
        dossier = (
            (await session.execute(select(Dossier).where(col(Dossier.item_id) == data.item_id.upper())))
            .scalars()
            .first()
        )
        if dossier is None or dossier.citizen_id != citizen_id:
            raise not_found("hồ sơ / dossier", data.item_id)
        return {
            "dossier_item_id": dossier.item_id,
            "received_by_id": dossier.desk_id or dossier.post_office_id,
        }
    if not data.desk:
        raise _missing("desk")
    desk = await _org(session, data.desk)
    if desk.kind != OrgKind.desk:
        raise _missing("desk")
    return {"received_by_id": desk.id}


async def _org(session: AsyncSession, code: str) -> Organisation:
    org = (
        (await session.execute(select(Organisation).where(col(Organisation.code) == code))).scalars().first()
    )
    if org is None:
        raise Problem(422, f"Không có đơn vị '{code}' / No organisation '{code}'", code="unknown_org")
    return org


async def _codes(session: AsyncSession, *ids: uuid.UUID | None) -> dict[uuid.UUID, Organisation]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    rows = (await session.execute(select(Organisation).where(col(Organisation.id).in_(wanted)))).scalars()
    return {o.id: o for o in rows}


async def public(session: AsyncSession, c: Complaint, *, today: date | None = None) -> ComplaintPublic:
    today = today or vn_date(utcnow())
    orgs = await _codes(session, c.received_by_id, c.org_id)
    events = (
        await session.execute(
            select(FeedbackEvent)
            .where(col(FeedbackEvent.subject_id) == c.id, col(FeedbackEvent.kind) == "complaint")
            .order_by(col(FeedbackEvent.at), col(FeedbackEvent.id))
        )
    ).scalars()
    org = orgs.get(c.org_id) if c.org_id else None
    received = orgs.get(c.received_by_id) if c.received_by_id else None
    return ComplaintPublic(
        id=c.id,
        subject=c.subject,
        category=c.category,
        category_name=rules.category_name(c.category),
        text=c.text,
        appointment_id=c.appointment_id,
        item_id=c.dossier_item_id,
        received_by=received.code if received else None,
        org=org.code if org else None,
        org_name=org.name if org else None,
        status=ComplaintStatus(c.status),
        deadline_days=c.deadline_days,
        due_on=c.due_on,
        overdue=rules.is_overdue(c.status, c.due_on, today),
        answer=c.answer,
        answered_at=c.answered_at,
        answered_on_time=c.answered_on_time,
        closed_at=c.closed_at,
        reopened=c.reopened,
        version=c.version,
        created_at=c.created_at,
        updated_at=c.updated_at,
        events=[FeedbackEventPublic(type=e.type, at=e.at, actor_role=e.actor_role) for e in events],
    )


async def file(session: AsyncSession, actor: Actor, data: ComplaintIn) -> ComplaintPublic:
    now = utcnow()
    citizen_id = actor.principal.id
    refs = await _subject(session, citizen_id, data)
    c = Complaint(
        citizen_id=citizen_id,
        subject=data.subject.value,
        category=data.category.value,
        text=data.text,
        created_at=now,
        updated_at=now,
        **refs,
    )
    session.add(c)
    record(session, actor, "complaint", c.id, "filed", now, {"category": c.category, "subject": c.subject})
    vi, en = rules.category_name(c.category).split(" / ")
    notify(
        session,
        citizen_id,
        "feedback.complaint_received",
        {"complaint_id": c.id, "category": vi, "category_en": en},
        f"complaint:{c.id}:filed",
    )
    await session.commit()
    return await public(session, c)


def _visible(principal: Principal, c: Complaint) -> bool:
    if principal.role == Role.admin:
        return True
    if principal.role == Role.citizen:
        return c.citizen_id == principal.id
    return (
        principal.role in HANDLERS
        and principal.org_id is not None
        and principal.org_id
        in (
            c.received_by_id,
            c.org_id,
        )
    )


async def _get(session: AsyncSession, principal: Principal, complaint_id: uuid.UUID) -> Complaint:
    c = await session.get(Complaint, complaint_id)
    if c is None or not _visible(principal, c):
        raise not_found(COMPLAINT, complaint_id)
    return c


async def one(session: AsyncSession, principal: Principal, complaint_id: uuid.UUID) -> ComplaintPublic:
    return await public(session, await _get(session, principal, complaint_id))


async def listing(
    session: AsyncSession,
    principal: Principal,
    paging: Paging,
    *,
    status: ComplaintStatus | None = None,
    overdue: bool = False,
) -> ComplaintPage:
    stmt = select(Complaint).order_by(col(Complaint.created_at).desc(), col(Complaint.id))
    if principal.role == Role.citizen:
        stmt = stmt.where(col(Complaint.citizen_id) == principal.id)
    elif principal.role != Role.admin:
        stmt = stmt.where(
            or_(col(Complaint.received_by_id) == principal.org_id, col(Complaint.org_id) == principal.org_id)
        )
    if status is not None:
        stmt = stmt.where(col(Complaint.status) == status.value)
    if overdue:
        stmt = stmt.where(
            col(Complaint.status) == ComplaintStatus.assigned.value, col(Complaint.due_on) < vn_date(utcnow())
        )
    items, total = await fetch_page(session, stmt, paging)
    return ComplaintPage(
        items=[await public(session, c) for c in items], total=total, limit=paging.limit, offset=paging.offset
    )


def _step(c: Complaint, step: str) -> None:
    if not rules.may_step(step, c.status):
        raise Problem(
            409,
            f"Phản ánh đang ở trạng thái {c.status} / The complaint is {c.status}",
            code="complaint_state",
            extra={"complaint_status": c.status},
        )


def _handles(principal: Principal, c: Complaint, *, receiving_too: bool) -> None:
    """Admins, and staff of the responsible organisation (or of the receiving one, for assigning)."""
    if principal.role == Role.admin:
        return
    orgs = {c.org_id, c.received_by_id} if receiving_too else {c.org_id}
    if principal.role not in HANDLERS or principal.org_id not in orgs:
        raise forbidden("Đơn vị của bạn không xử lý phản ánh này / Your organisation does not handle it")


async def assign(
    session: AsyncSession, actor: Actor, complaint_id: uuid.UUID, data: ComplaintAssign
) -> ComplaintPublic:
    now = utcnow()
    c = await _get(session, actor.principal, complaint_id)
    _handles(actor.principal, c, receiving_too=True)
    _step(c, "assign")
    org = await _org(session, data.org)
    calendar = await working_calendar(session)
    c.org_id, c.deadline_days = org.id, data.deadline_days
    c.due_on = calendar.due_date(now, data.deadline_days)
    if data.category is not None:
        c.category = data.category.value
    c.status, c.version, c.updated_at = rules.next_status("assign"), c.version + 1, now
    session.add(c)
    record(
        session,
        actor,
        "complaint",
        c.id,
        "assigned",
        now,
        {
            "org": org.code,
            "category": c.category,
            "deadline_days": data.deadline_days,
            "due_on": str(c.due_on),
        },
    )
    notify(
        session,
        c.citizen_id,
        "feedback.complaint_assigned",
        {"complaint_id": c.id, "org": org.name, "due_on": c.due_on},
        f"complaint:{c.id}:v{c.version}:assigned",
    )
    await _tell_staff(session, c, org.id)
    await session.commit()
    return await public(session, c)


async def _tell_staff(session: AsyncSession, c: Complaint, org_id: uuid.UUID) -> None:
    """The responsible organisation's active staff who handle complaints get it in their inbox."""
    staff = await session.execute(
        select(col(StaffUser.id)).where(
            col(StaffUser.organisation_id) == org_id,
            col(StaffUser.active).is_(True),
            col(StaffUser.role).in_([r.value for r in HANDLERS]),
        )
    )
    vi, en = rules.category_name(c.category).split(" / ")
    for (user_id,) in staff:
        outbox.enqueue(
            session,
            recipient_kind="staff",
            recipient_id=user_id,
            template="staff.complaint_assigned",
            params={"complaint_id": c.id, "category": vi, "category_en": en, "due_on": c.due_on},
            dedupe_key=f"complaint:{c.id}:v{c.version}:assigned",
        )


async def answer(
    session: AsyncSession, actor: Actor, complaint_id: uuid.UUID, data: ComplaintAnswer
) -> ComplaintPublic:
    now = utcnow()
    c = await _get(session, actor.principal, complaint_id)
    _step(c, "answer")  # the state first: an unassigned complaint has nobody responsible yet
    _handles(actor.principal, c, receiving_too=False)
    org = await session.get(Organisation, c.org_id) if c.org_id else None
    c.answer, c.answered_at = data.answer, now
    c.answered_on_time = rules.on_time(vn_date(now), c.due_on)
    c.status, c.version, c.updated_at = rules.next_status("answer"), c.version + 1, now
    session.add(c)
    record(session, actor, "complaint", c.id, "answered", now, {"on_time": c.answered_on_time})
    notify(
        session,
        c.citizen_id,
        "feedback.complaint_answered",
        {"complaint_id": c.id, "org": org.name if org else "-"},
        f"complaint:{c.id}:v{c.version}:answered",
    )
    await session.commit()
    return await public(session, c)


async def close(session: AsyncSession, actor: Actor, complaint_id: uuid.UUID) -> ComplaintPublic:
    now = utcnow()
    c = await _get(session, actor.principal, complaint_id)
    _step(c, "close")
    if actor.principal.role != Role.citizen:
        _handles(actor.principal, c, receiving_too=False)
    c.closed_at, c.status, c.version, c.updated_at = now, rules.next_status("close"), c.version + 1, now
    session.add(c)
    record(session, actor, "complaint", c.id, "closed", now)
    notify(
        session, c.citizen_id, "feedback.complaint_closed", {"complaint_id": c.id}, f"complaint:{c.id}:closed"
    )
    await session.commit()
    return await public(session, c)


async def reopen(session: AsyncSession, actor: Actor, complaint_id: uuid.UUID) -> ComplaintPublic:
    """The citizen is not satisfied with the answer: handled again by the same organisation, with a new
    deadline of the same working days from now. Once per complaint."""
    now = utcnow()
    c = await _get(session, actor.principal, complaint_id)
    if actor.principal.role != Role.citizen:
        raise forbidden("Chỉ người phản ánh được mở lại / Only the citizen who filed it may reopen it")
    _step(c, "reopen")
    if c.reopened:
        raise Problem(
            409, "Phản ánh đã được mở lại một lần / Already reopened once", code="complaint_reopened_once"
        )
    calendar = await working_calendar(session)
    c.due_on = calendar.due_date(now, c.deadline_days or rules.DEFAULT_DEADLINE_DAYS)
    c.reopened, c.closed_at, c.answered_on_time = True, None, None
    c.status, c.version, c.updated_at = rules.next_status("reopen"), c.version + 1, now
    session.add(c)
    record(session, actor, "complaint", c.id, "reopened", now, {"due_on": str(c.due_on)})
    notify(
        session,
        c.citizen_id,
        "feedback.complaint_reopened",
        {"complaint_id": c.id, "due_on": c.due_on},
        f"complaint:{c.id}:reopened",
    )
    await session.commit()
    return await public(session, c)
