"""An appointment's events written from planning (assigned to a courier, en route, completed)."""

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal
from backend.lib.problems import Problem as HttpProblem
from schemas.booking import Appointment, AppointmentEvent, AppointmentStatus, BookingChannel
from schemas.enums import Role


async def bump_appointment(
    session: AsyncSession,
    appt: Appointment,
    event_type: str,
    principal: Principal,
    *,
    data: dict[str, Any],
    at: datetime,
    status: AppointmentStatus | None = None,
    reason_code: str | None = None,
    reason: str | None = None,
) -> int:
    """Record an appointment event the way the booking domain does: the appointment moves to its next version
    with one guarded UPDATE and the event takes that version as ``seq`` (booking exposes no public function
    for events other than its own). Retries once on a concurrent change."""
    for _ in range(2):
        values: dict[str, Any] = {"version": appt.version + 1, "updated_at": at}
        if status is not None:
            values["status"] = status
            if reason_code is not None:
                values["outcome_code"] = reason_code
        result = await session.execute(
            update(Appointment)
            .where(
                col(Appointment.id) == appt.id,
                col(Appointment.version) == appt.version,
                col(Appointment.status) == AppointmentStatus.booked,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if int(getattr(result, "rowcount", 0) or 0) == 1:
            session.add(
                AppointmentEvent(
                    appointment_id=appt.id,
                    seq=appt.version + 1,
                    type=event_type,
                    at=at,
                    actor_role=principal.role.value,
                    actor_id=principal.id,
                    channel=BookingChannel.app if principal.role == Role.courier else BookingChannel.system,
                    reason=reason,
                    reason_code=reason_code,
                    data=data,
                )
            )
            return appt.version + 1
        await session.refresh(appt)
        if appt.status != AppointmentStatus.booked:
            break
    raise HttpProblem(
        409,
        f"Lịch hẹn đã thay đổi ({appt.status}) / The appointment changed ({appt.status})",
        code="appointment_changed",
    )
