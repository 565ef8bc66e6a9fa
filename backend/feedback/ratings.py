"""Ratings of completed visits: one per visit, by its citizen, within RATING_WINDOW_DAYS of the visit, changed
within RATING_EDIT_DAYS; and the invitation to rate that follows each completed visit.

Staff of the visit's post office and admins read a rating without who gave it (no citizen field exists in the
answer); couriers never read ratings (Decree 13/2023/NĐ-CP: least data per purpose)."""

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.feedback import rules
from backend.feedback.events import Actor, notify, record
from backend.lib.auth import Principal
from backend.lib.problems import Problem, not_found
from backend.settings import Settings
from schemas.base import utcnow
from schemas.booking import Appointment, AppointmentEvent, AppointmentStatus
from schemas.dossiers import Dossier
from schemas.enums import Role
from schemas.feedback import FeedbackEvent, Rating, RatingIn, RatingInvitation, RatingPublic, RatingState
from schemas.planning import PlanRoute, PlanStop, StopStatus

APPOINTMENT = "lịch hẹn / appointment"


async def visible_appointment(
    session: AsyncSession, principal: Principal, appointment_id: uuid.UUID
) -> Appointment:
    """The visit, if the caller may see its rating: its citizen, its office's dispatchers, admins; else 404."""
    appt = await session.get(Appointment, appointment_id)
    if appt is None:
        raise not_found(APPOINTMENT, appointment_id)
    allowed = (
        principal.role == Role.admin
        or (principal.role == Role.citizen and appt.citizen_id == principal.id)
        or (principal.role == Role.dispatcher and appt.post_office_id == principal.org_id)
    )
    if not allowed:
        raise not_found(APPOINTMENT, appointment_id)
    return appt


async def completed_at(session: AsyncSession, appt: Appointment) -> datetime | None:
    """When the visit was completed (its last ``completed`` event), None if it is not completed."""
    if appt.status != AppointmentStatus.completed:
        return None
    at = (
        await session.execute(
            select(func.max(col(AppointmentEvent.at))).where(
                col(AppointmentEvent.appointment_id) == appt.id, col(AppointmentEvent.type) == "completed"
            )
        )
    ).scalar_one_or_none()
    return at or appt.updated_at


async def courier_of(session: AsyncSession, appointment_id: uuid.UUID) -> uuid.UUID | None:
    """The courier whose stop completed the visit (the latest done stop of it on a route)."""
    row = (
        await session.execute(
            select(col(PlanRoute.courier_id))
            .join(PlanStop, col(PlanStop.route_id) == col(PlanRoute.id))
            .where(col(PlanStop.appointment_id) == appointment_id, col(PlanStop.status) == StopStatus.done)
            .order_by(col(PlanStop.finished_at).desc())
            .limit(1)
        )
    ).first()
    return row[0] if row else None


async def desk_of(session: AsyncSession, appt: Appointment) -> uuid.UUID | None:
    if not appt.dossier_item_id:
        return None
    row = (
        await session.execute(
            select(col(Dossier.desk_id)).where(col(Dossier.item_id) == appt.dossier_item_id)
        )
    ).first()
    return row[0] if row else None


def public(rating: Rating, settings: Settings) -> RatingPublic:
    return RatingPublic(
        appointment_id=rating.appointment_id,
        attitude=rating.attitude,
        timeliness=rating.timeliness,
        fees=rating.fees,
        result=rating.result,
        comment=rating.comment,
        version=rating.version,
        created_at=rating.created_at,
        updated_at=rating.updated_at,
        editable_until=rules.edit_until(rating.created_at, settings.rating_edit_days),
    )


async def _rating(session: AsyncSession, appointment_id: uuid.UUID) -> Rating | None:
    return (
        (await session.execute(select(Rating).where(col(Rating.appointment_id) == appointment_id)))
        .scalars()
        .first()
    )


async def state(
    session: AsyncSession, principal: Principal, appointment_id: uuid.UUID, settings: Settings
) -> RatingState:
    appt = await visible_appointment(session, principal, appointment_id)
    done = await completed_at(session, appt)
    rating = await _rating(session, appt.id)
    until = rules.rate_until(done, settings.rating_window_days) if done else None
    return RatingState(
        appointment_id=appt.id,
        rateable=principal.role == Role.citizen
        and rating is None
        and until is not None
        and utcnow() <= until,
        rate_until=until,
        rating=public(rating, settings) if rating else None,
    )


async def _own_completed(
    session: AsyncSession, principal: Principal, appointment_id: uuid.UUID
) -> tuple[Appointment, datetime]:
    appt = await visible_appointment(session, principal, appointment_id)
    done = await completed_at(session, appt)
    if done is None:
        raise Problem(
            409,
            "Lượt phục vụ chưa hoàn thành / The visit is not completed",
            code="visit_not_completed",
            extra={"appointment_status": str(appt.status)},
        )
    return appt, done


async def rate(
    session: AsyncSession, actor: Actor, appointment_id: uuid.UUID, data: RatingIn, settings: Settings
) -> RatingPublic:
    now = utcnow()
    appt, done = await _own_completed(session, actor.principal, appointment_id)
    if await _rating(session, appt.id) is not None:
        raise Problem(409, "Lượt phục vụ đã được đánh giá / Already rated", code="rating_exists")
    until = rules.rate_until(done, settings.rating_window_days)
    if now > until:
        raise Problem(
            409,
            "Đã hết thời hạn đánh giá / The time to rate this visit has passed",
            code="rating_window_closed",
            extra={"rate_until": until.isoformat()},
        )
    rating = Rating(
        appointment_id=appt.id,
        citizen_id=appt.citizen_id,
        post_office_id=appt.post_office_id,
        courier_id=await courier_of(session, appt.id),
        desk_id=await desk_of(session, appt),
        visit_at=done,
        **data.model_dump(),
        created_at=now,
        updated_at=now,
    )
    session.add(rating)
    record(
        session, actor, "rating", rating.id, "rated", now, {"appointment_id": str(appt.id), **_scores(data)}
    )
    await session.commit()
    await session.refresh(rating)
    return public(rating, settings)


def _scores(data: RatingIn | Rating) -> dict[str, Any]:
    return {k: getattr(data, k) for k in ("attitude", "timeliness", "fees", "result")}


async def edit(
    session: AsyncSession, actor: Actor, appointment_id: uuid.UUID, data: RatingIn, settings: Settings
) -> RatingPublic:
    now = utcnow()
    appt, _ = await _own_completed(session, actor.principal, appointment_id)
    rating = await _rating(session, appt.id)
    if rating is None:
        raise Problem(409, "Lượt phục vụ chưa được đánh giá / Not rated yet", code="rating_missing")
    until = rules.edit_until(rating.created_at, settings.rating_edit_days)
    if now > until:
        raise Problem(
            409,
            "Đã hết thời hạn sửa đánh giá / The time to change this rating has passed",
            code="rating_edit_closed",
            extra={"editable_until": until.isoformat()},
        )
    before = _scores(rating)
    for key, value in data.model_dump().items():
        setattr(rating, key, value)
    rating.version += 1
    rating.updated_at = now
    session.add(rating)
    record(session, actor, "rating", rating.id, "edited", now, {"before": before, "after": _scores(data)})
    await session.commit()
    await session.refresh(rating)
    return public(rating, settings)


async def invite_due(session: AsyncSession, settings: Settings, *, now: datetime | None = None) -> int:
    """Invite the citizen of each visit completed within the rating window and not yet invited or rated to
    rate it (an inbox and push notification through the outbox), one ``rating_invitation`` row each; commits.
    Called by the sweep (``backend.feedback.worker``); safe to run in several processes at once (the
    invitation's key and the notification's dedupe key stop a second one). Returns how many were invited."""
    now = now or utcnow()
    since = now - timedelta(days=settings.rating_window_days)
    done = (
        select(col(AppointmentEvent.appointment_id), func.max(col(AppointmentEvent.at)).label("done_at"))
        .where(col(AppointmentEvent.type) == "completed", col(AppointmentEvent.at) >= since)
        .group_by(col(AppointmentEvent.appointment_id))
        .subquery()
    )
    rows = (
        await session.execute(
            select(col(Appointment.id), col(Appointment.citizen_id), col(Appointment.start), done.c.done_at)
            .join(done, done.c.appointment_id == col(Appointment.id))
            .outerjoin(RatingInvitation, col(RatingInvitation.appointment_id) == col(Appointment.id))
            .outerjoin(Rating, col(Rating.appointment_id) == col(Appointment.id))
            .where(
                col(Appointment.status) == AppointmentStatus.completed,
                col(RatingInvitation.appointment_id).is_(None),
                col(Rating.id).is_(None),
            )
            .limit(500)
        )
    ).all()
    for appt_id, citizen_id, start, done_at in rows:
        session.add(RatingInvitation(appointment_id=appt_id, citizen_id=citizen_id, invited_at=now))
        session.add(
            FeedbackEvent(kind="rating", subject_id=appt_id, type="invited", at=now, actor_role="system")
        )
        notify(
            session,
            citizen_id,
            "feedback.rate_visit",
            {
                "appointment_id": appt_id,
                "start": start,
                "rate_until": rules.rate_until(done_at, settings.rating_window_days),
            },
            f"rating:{appt_id}:invite",
        )
    if rows:
        try:
            await session.commit()
        except IntegrityError:  # another process invited some of them first: the next sweep does the rest
            await session.rollback()
            return 0
    return len(rows)
