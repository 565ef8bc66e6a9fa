"""Booking's part of the returns of issue 20: a delivery booked for a result or returned papers by the
system (the citizen did not choose a window in time), a visit completed by a custody scan, and a booked
delivery cancelled because the citizen switched to counter pickup. Each writes the appointment's event (who,
when) and its notifications in the caller's transaction; the caller commits."""

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.booking import capacity
from backend.booking.services.changes import bump
from backend.booking.services.events import dedupe_key, event_row, withdraw_reminders
from backend.lib.auth import Principal
from notifications.outbox import enqueue
from schemas.booking import Appointment, AppointmentKind, AppointmentStatus, BookingChannel
from schemas.enums import Role

# The principal the background jobs book and record as (the event rows say role admin, channel system).
SYSTEM = Principal(id=uuid.UUID(int=0), role=Role.admin)


async def booked_visits(session: AsyncSession, item_id: str, kind: AppointmentKind) -> list[Appointment]:
    """The dossier's booked visits of ``kind``, earliest first."""
    stmt = (
        select(Appointment)
        .where(
            Appointment.dossier_item_id == item_id,
            Appointment.kind == kind,
            Appointment.status == AppointmentStatus.booked,
        )
        .order_by(col(Appointment.start))
    )
    return list((await session.exec(stmt)).all())


async def complete_visit(
    session: AsyncSession, appt: Appointment, principal: Principal, at: datetime, data: dict[str, Any]
) -> None:
    """The visit took place (the custody scan at the door): the appointment is completed, with its event."""
    version = await bump(session, appt, status=AppointmentStatus.completed.value)
    channel = BookingChannel.system if principal.role == Role.admin else BookingChannel.app
    session.add(event_row(appt, version, "completed", principal, channel, data=data, at=at))
    await withdraw_reminders(session, appt.id)


async def cancel_visit(
    session: AsyncSession, appt: Appointment, principal: Principal, reason: str, at: datetime
) -> None:
    """Cancel a booked visit (no cut-off: it is the citizen's own switch to counter pickup), free its window's
    minutes and tell the citizen."""
    start, citizen_id = appt.start, appt.citizen_id
    version = await bump(session, appt, status=AppointmentStatus.cancelled.value, reason=reason)
    await capacity.release(session, appt.post_office_id, start, appt.cost_minutes)
    channel = BookingChannel.app if principal.role == Role.citizen else BookingChannel.system
    session.add(event_row(appt, version, "cancelled", principal, channel, reason=reason, at=at))
    await withdraw_reminders(session, appt.id)
    enqueue(
        session,
        recipient_kind="citizen",
        recipient_id=citizen_id,
        template="appointment.cancelled",
        params={"appointment_id": appt.id, "start": start, "reason": reason},
        dedupe_key=dedupe_key(appt.id, version, "cancelled"),
    )
