"""A visit's outcome when it did not happen (no-show, failed visit), and the offer to book it again."""

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit import services as audit
from backend.booking import capacity, ledger_cache
from backend.booking.services.caches import cached_calendar
from backend.booking.services.changes import bump
from backend.booking.services.common import STAFF_CHANNEL, not_booked, office
from backend.booking.services.events import dedupe_key, event_row, withdraw_reminders
from backend.booking.services.serialise import one_public
from backend.booking.services.visibility import visible
from backend.booking.windows import bookable_windows, remaining
from backend.lib.auth import Principal
from backend.lib.problems import Problem, forbidden
from notifications.outbox import enqueue
from schemas.base import utcnow
from schemas.booking import (
    FAILED_REASONS,
    NO_SHOW_REASONS,
    Appointment,
    AppointmentKind,
    AppointmentOutcome,
    AppointmentPublic,
    AppointmentStatus,
    RebookOffer,
)
from schemas.catalogue import Procedure
from schemas.enums import Role
from schemas.vntime import to_vn, vn_date


async def record_outcome(
    session: AsyncSession,
    principal: Principal,
    appointment_id: uuid.UUID,
    outcome: AppointmentStatus,
    data: AppointmentOutcome,
    *,
    now: datetime | None = None,
    access: audit.Access | None = None,
) -> AppointmentPublic:
    """A courier or dispatcher marks a visit as a no-show or a failed visit, and offers a rebooking."""
    now = now or utcnow()
    if principal.role not in (Role.courier, Role.dispatcher, Role.admin):
        raise forbidden()
    appt = await visible(session, principal, appointment_id)
    if appt.status != AppointmentStatus.booked:
        raise not_booked(appt)
    reason_vi, reason = _reason(outcome, data)
    if now < appt.start:
        raise Problem(422, "Chưa đến giờ hẹn / The window has not started yet", code="window_not_started")
    start, citizen_id = appt.start, appt.citizen_id
    version = await bump(
        session, appt, status=outcome.value, outcome_code=data.reason_code, reason=reason[:300]
    )
    # The window's minutes are not given back: the courier spent them.
    session.add(
        event_row(
            appt,
            version,
            outcome.value,
            principal,
            STAFF_CHANNEL[principal.role],
            reason=data.note,
            reason_code=data.reason_code,
            at=now,
            data={"offer_rebook": data.offer_rebook},
        )
    )
    await withdraw_reminders(session, appt.id)
    if data.offer_rebook:
        _notify_rebook(session, appt, citizen_id, start, version, reason_vi)
    await session.commit()
    await session.refresh(appt)
    public = await one_public(session, principal, appt, access)
    if data.offer_rebook:
        public.rebook = RebookOffer.model_validate(await rebook_offer(session, appt, now))
    return public


def _reason(outcome: AppointmentStatus, data: AppointmentOutcome) -> tuple[str, str]:
    """The reason code's Vietnamese text, and the reason stored (both languages and the courier's note)."""
    reasons = NO_SHOW_REASONS if outcome == AppointmentStatus.no_show else FAILED_REASONS
    if data.reason_code not in reasons:
        raise Problem(
            422,
            f"Mã lý do không hợp lệ / Unknown reason code '{data.reason_code}'",
            code="unknown_reason_code",
            extra={"allowed": sorted(reasons)},
        )
    reason_vi, reason_en = reasons[data.reason_code]
    return reason_vi, f"{reason_vi} / {reason_en}" + (f": {data.note}" if data.note else "")


def _notify_rebook(
    session: AsyncSession,
    appt: Appointment,
    citizen_id: uuid.UUID,
    start: datetime,
    version: int,
    reason_vi: str,
) -> None:
    if appt.kind == AppointmentKind.delivery and appt.dossier_item_id:
        enqueue(
            session,
            recipient_kind="citizen",
            recipient_id=citizen_id,
            template="dossier.delivery_failed",
            params={"item_id": appt.dossier_item_id, "reason": reason_vi},
            dedupe_key=dedupe_key(appt.id, version, "rebook"),
        )
    else:
        # Its link opens this appointment, where the app offers the rebooking (``rebook_offer`` below).
        enqueue(
            session,
            recipient_kind="citizen",
            recipient_id=citizen_id,
            template="appointment.missed",
            params={"appointment_id": appt.id, "start": start, "reason": reason_vi},
            dedupe_key=dedupe_key(appt.id, version, "rebook"),
        )


async def rebook_offer(session: AsyncSession, appt: Appointment, now: datetime) -> dict[str, Any]:
    """What the app needs to book again: the body to send (with ``rebook_of``) and the next free windows."""
    proc = await session.get(Procedure, appt.procedure_id) if appt.procedure_id else None
    off = await office(session, appt.post_office_id)
    cal = await cached_calendar(session)
    today = vn_date(now)
    windows = bookable_windows(
        cal, off.org.opening_hours, off.rules, now, today, today + timedelta(days=off.rules.horizon_days)
    )
    caps = await capacity.get_policy().capacity(session, off.org.id, windows)
    booked = await ledger_cache.CACHE.booked(session, off.org.id, [w.start for w in windows])
    free = [w for w in windows if remaining(caps.get(w.start, 0), booked.get(w.start, 0), appt.cost_minutes)]
    body: dict[str, Any] = {
        "kind": appt.kind.value,
        "lat": appt.lat,
        "lon": appt.lon,
        "rebook_of": str(appt.id),
    }
    if appt.kind != AppointmentKind.delivery and proc is not None:
        body["procedure"] = proc.code
    if appt.dossier_item_id:
        body["dossier"] = appt.dossier_item_id
    return {
        "link": f"/appointments/new?rebook_of={appt.id}",
        "body": body,
        "suggested": [to_vn(w.start).isoformat() for w in free[:3]],
    }
