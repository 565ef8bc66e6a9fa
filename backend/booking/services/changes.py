"""Rescheduling and cancelling a booked appointment.

Concurrency rests on the appointment's ``version`` (``bump``: first writer wins, the other gets 409) and on
the window ledger (``capacity.reserve`` / ``capacity.release``). Every change writes its event and
notifications in the same transaction.
"""

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit import services as audit
from backend.booking import capacity
from backend.booking.services.caches import cached_calendar
from backend.booking.services.common import (
    STAFF_CHANNEL,
    Office,
    changed_meanwhile,
    not_booked,
    office,
    window_full,
    window_problem,
)
from backend.booking.services.events import (
    dedupe_key,
    event_row,
    schedule_reminders,
    withdraw_reminders,
)
from backend.booking.services.serialise import one_public
from backend.booking.services.visibility import visible
from backend.booking.windows import BookingRules, WindowError, check_window, cutoff_passed
from backend.lib.auth import Principal
from backend.lib.problems import Problem, forbidden
from notifications.outbox import enqueue
from schemas.base import utcnow
from schemas.booking import (
    Appointment,
    AppointmentCancel,
    AppointmentPublic,
    AppointmentReschedule,
    AppointmentStatus,
)
from schemas.enums import Role


async def bump(session: AsyncSession, appt: Appointment, **values: Any) -> int:
    """Move the appointment from the version the caller read to the next one, if nobody else did first."""
    result = await session.execute(
        update(Appointment)
        .where(
            col(Appointment.id) == appt.id,
            col(Appointment.version) == appt.version,
            col(Appointment.status) == AppointmentStatus.booked.value,
        )
        .values(version=appt.version + 1, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if int(getattr(result, "rowcount", 0) or 0) != 1:
        await session.rollback()
        raise changed_meanwhile()
    return appt.version + 1


def _may_change(principal: Principal, appt: Appointment) -> None:
    if principal.role not in (Role.citizen, Role.dispatcher, Role.desk, Role.admin):
        raise forbidden()
    if appt.status != AppointmentStatus.booked:
        raise not_booked(appt)


def _check_version(expected: int | None, appt: Appointment) -> None:
    if expected is not None and expected != appt.version:
        raise changed_meanwhile()


def _check_cutoff(principal: Principal, rules: BookingRules, now: datetime, appt: Appointment) -> None:
    # Staff may still change a booking after the cut-off (e.g. a courier falls ill); citizens may not,
    # because the day's routes are fixed by then.
    if principal.role == Role.citizen and cutoff_passed(rules, now, appt.start):
        raise Problem(
            422,
            f"Đã quá hạn đổi/hủy ({rules.cutoff_minutes} phút trước giờ hẹn) / "
            f"Too late to change: changes close {rules.cutoff_minutes} minutes before the window",
            code="cutoff_passed",
        )


async def _changeable(
    session: AsyncSession, principal: Principal, appointment_id: uuid.UUID, version: int | None, now: datetime
) -> tuple[Appointment, Office]:
    """The appointment the caller may reschedule or cancel now: visible to them, theirs to change, the version
    they saw, and (for citizens) before the cut-off."""
    appt = await visible(session, principal, appointment_id)
    _may_change(principal, appt)
    _check_version(version, appt)
    off = await office(session, appt.post_office_id)
    _check_cutoff(principal, off.rules, now, appt)
    return appt, off


async def reschedule(
    session: AsyncSession,
    principal: Principal,
    appointment_id: uuid.UUID,
    data: AppointmentReschedule,
    *,
    now: datetime | None = None,
    access: audit.Access | None = None,
) -> AppointmentPublic:
    now = now or utcnow()
    appt, off = await _changeable(session, principal, appointment_id, data.version, now)
    cal = await cached_calendar(session)
    try:
        window = check_window(cal, off.org.opening_hours, off.rules, now, data.start)
    except WindowError as err:
        raise window_problem(err) from None
    if window.start == appt.start:
        raise Problem(422, "Khung giờ mới trùng khung cũ / Same window as now", code="same_window")
    policy = capacity.get_policy()
    cap = (await policy.capacity(session, off.org.id, [window]))[window.start]
    visit = capacity.VisitRequest(off.org.id, window, appt.kind.value, appt.lat, appt.lon, appt.cost_minutes)
    if cap < appt.cost_minutes or not await policy.admits(session, visit):
        raise window_full(window)
    old_start, citizen_id = appt.start, appt.citizen_id
    channel = STAFF_CHANNEL[principal.role]

    version = await bump(session, appt, start=window.start, end=window.end, reason=data.reason)
    # Ledger rows are locked in start order so two reschedules crossing each other cannot deadlock.
    for start in sorted((old_start, window.start)):
        if start == old_start:
            await capacity.release(session, off.org.id, old_start, appt.cost_minutes)
        elif not await capacity.reserve(session, off.org.id, window, cap, appt.cost_minutes):
            await session.rollback()
            raise window_full(window)
    session.add(
        event_row(
            appt,
            version,
            "rescheduled",
            principal,
            channel,
            reason=data.reason,
            at=now,
            data={"from": old_start.isoformat(), "to": window.start.isoformat()},
        )
    )
    await withdraw_reminders(session, appt.id)
    enqueue(
        session,
        recipient_kind="citizen",
        recipient_id=citizen_id,
        template="appointment.rescheduled",
        params={"appointment_id": appt.id, "start": window.start, "old_start": old_start},
        dedupe_key=dedupe_key(appt.id, version, "rescheduled"),
    )
    await schedule_reminders(session, appt.id, citizen_id, window.start, version, now)
    await session.commit()
    await session.refresh(appt)
    return await one_public(session, principal, appt, access)


# What a higher part does when a visit is cancelled, in the cancellation's own transaction (backend/app.py wires
# money's: the due reversed and what was paid owed back, issue 21). Registering the same hook twice adds it once.
CancelHook = Callable[[AsyncSession, Appointment, Principal, datetime], Awaitable[None]]
_ON_CANCEL: list[CancelHook] = []


def on_cancel(hook: CancelHook) -> None:
    if hook not in _ON_CANCEL:
        _ON_CANCEL.append(hook)


async def cancel(
    session: AsyncSession,
    principal: Principal,
    appointment_id: uuid.UUID,
    data: AppointmentCancel,
    *,
    now: datetime | None = None,
    access: audit.Access | None = None,
) -> AppointmentPublic:
    now = now or utcnow()
    appt, off = await _changeable(session, principal, appointment_id, data.version, now)
    start, citizen_id = appt.start, appt.citizen_id
    version = await bump(session, appt, status=AppointmentStatus.cancelled.value, reason=data.reason)
    await capacity.release(session, off.org.id, start, appt.cost_minutes)
    session.add(
        event_row(
            appt, version, "cancelled", principal, STAFF_CHANNEL[principal.role], reason=data.reason, at=now
        )
    )
    await withdraw_reminders(session, appt.id)
    for hook in _ON_CANCEL:
        await hook(session, appt, principal, now)
    enqueue(
        session,
        recipient_kind="citizen",
        recipient_id=citizen_id,
        template="appointment.cancelled",
        params={"appointment_id": appt.id, "start": start, "reason": data.reason},
        dedupe_key=dedupe_key(appt.id, version, "cancelled"),
    )
    await session.commit()
    await session.refresh(appt)
    return await one_public(session, principal, appt, access)
