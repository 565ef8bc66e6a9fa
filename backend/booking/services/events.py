"""What every change of an appointment writes beside it, in its transaction: its event row and its
notifications (the citizen's notice and the reminders), each keyed so a retry cannot send it twice."""

import uuid
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import delete
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal
from notifications import outbox
from schemas.base import utcnow
from schemas.booking import Appointment, AppointmentEvent, BookingChannel
from schemas.notifications import Notification, NotificationStatus
from schemas.vntime import at_vn, vn_date

# Reminders go out the evening before and an hour before (times in Vietnam time).
DAY_BEFORE_AT = time(18, 0)
HOUR_BEFORE = timedelta(hours=1)


def event_row(
    appt: Appointment,
    seq: int,
    type_: str,
    principal: Principal,
    channel: BookingChannel,
    *,
    reason: str | None = None,
    reason_code: str | None = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AppointmentEvent:
    return AppointmentEvent(
        appointment_id=appt.id,
        seq=seq,
        type=type_,
        at=at or utcnow(),
        actor_role=principal.role.value,
        actor_id=principal.id,
        channel=channel,
        reason=reason,
        reason_code=reason_code,
        data=data or {},
    )


def dedupe_key(appt_id: uuid.UUID, version: int, what: str) -> str:
    return f"appt:{appt_id}:v{version}:{what}"


def reminder_rows(
    appt_id: uuid.UUID, citizen_id: uuid.UUID, start: datetime, version: int, now: datetime
) -> list[dict[str, Any]]:
    """Day-before (18:00 the evening before) and hour-before reminders, if still in the future."""
    day_before = at_vn(vn_date(start) - timedelta(days=1), DAY_BEFORE_AT)
    return [
        outbox.notification_row(
            recipient_kind="citizen",
            recipient_id=citizen_id,
            template=template,
            params={"appointment_id": appt_id, "start": start},
            not_before=at,
            dedupe_key=dedupe_key(appt_id, version, what),
        )
        for template, at, what in (
            ("appointment.reminder_day_before", day_before, "remind_day"),
            ("appointment.reminder_hour_before", start - HOUR_BEFORE, "remind_hour"),
        )
        if at > now
    ]


async def schedule_reminders(
    session: AsyncSession,
    appt_id: uuid.UUID,
    citizen_id: uuid.UUID,
    start: datetime,
    version: int,
    now: datetime,
) -> None:
    """Write the reminders of ``reminder_rows`` in the caller's transaction."""
    await outbox.insert_rows(session, reminder_rows(appt_id, citizen_id, start, version, now))


async def withdraw_reminders(session: AsyncSession, appt_id: uuid.UUID) -> None:
    """Reminders not yet sent for an appointment that moved or ended are deleted with the change, in the same
    transaction, so the citizen is never reminded of a time that no longer holds. That includes a reminder a
    dispatcher has already claimed (``sending``): the dispatcher sends only rows it still holds, checked right
    before the push (``notifications.dispatcher``), so a deleted one is dropped (issue 17)."""
    await session.execute(
        delete(Notification)
        .where(
            col(Notification.dedupe_key).like(f"appt:{appt_id}:%:remind%"),
            col(Notification.status).in_(
                [NotificationStatus.pending.value, NotificationStatus.sending.value]
            ),
        )
        .execution_options(synchronize_session=False)
    )
