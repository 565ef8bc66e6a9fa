"""The supplement collected at the citizen's door (issue 20): the courier's scan records it on the dossier
that waits for it.

Decree 118/2025/NĐ-CP: the time the citizen takes to supplement is not counted, and the clock runs again from
the desk's receipt of the supplement. So the scan (``EBS``) moves the dossier to ``supplement_in_transit`` with
the courier as the supplement's holder and leaves the clock paused; the desk's receipt (``TNB``, by the
courier's handover to the desk or the desk's own event) resumes it and the desk's live feed shows it on the same
dossier. The supplement pickup visit (a booking that carries the dossier) is completed in the same
transaction. The citizen confirms the handover as at a pickup: today's handover code (attempts limited by
``codeguard``) or a signature photo.
"""

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.booking.services.returns import complete_visit
from backend.catalogue.calendar_service import working_calendar
from backend.custody import transitions as tr
from backend.custody.services.access import actor_for, load_dossier
from backend.custody.services.clock import event_time
from backend.custody.services.events import Effects, Move, transition
from backend.custody.services.verification import check_confirmation
from backend.lib.auth import Principal
from backend.lib.problems import Problem, not_found
from schemas.accounts import Citizen
from schemas.base import utcnow
from schemas.booking import Appointment, AppointmentKind, AppointmentStatus
from schemas.catalogue import Procedure
from schemas.dossiers import Dossier
from schemas.enums import Role
from schemas.returns import SupplementIn

CODE = "EBS"


async def _visit(session: AsyncSession, dossier: Dossier, body: SupplementIn) -> Appointment | None:
    """The supplement pickup visit: the one named, else the dossier's latest booked (or just completed) one."""
    if body.appointment_id is not None:
        appt = await session.get(Appointment, body.appointment_id)
        if appt is None or appt.dossier_item_id != dossier.item_id or appt.kind != AppointmentKind.pickup:
            raise not_found("lịch hẹn / appointment", body.appointment_id)
        return appt
    stmt = (
        select(Appointment)
        .where(
            Appointment.dossier_item_id == dossier.item_id,
            Appointment.kind == AppointmentKind.pickup,
            col(Appointment.status).in_([AppointmentStatus.booked.value, AppointmentStatus.completed.value]),
        )
        .order_by(col(Appointment.start).desc())
    )
    return (await session.exec(stmt)).first()


def _may_collect(principal: Principal, dossier: Dossier, appt: Appointment | None) -> bool:
    """Admins; the post office's couriers and dispatchers: the office of the visit, else the dossier's."""
    if principal.role == Role.admin:
        return True
    if principal.role not in (Role.courier, Role.dispatcher) or principal.org_id is None:
        return False
    office = appt.post_office_id if appt is not None else dossier.post_office_id
    return principal.org_id == office


async def collect(
    session: AsyncSession, principal: Principal, raw: str, body: SupplementIn, *, now: datetime | None = None
) -> tuple[Dossier, Effects]:
    now = now or utcnow()
    dossier = await load_dossier(session, raw, for_update=True)
    appt = await _visit(session, dossier, body)
    if not _may_collect(principal, dossier, appt):
        raise not_found("hồ sơ / dossier", dossier.item_id)
    try:
        to = tr.next_status(dossier.status, CODE, principal.role)
    except tr.TransitionError as exc:
        raise Problem(
            409,
            str(exc),
            code="not_awaiting_supplement",
            extra={"current_status": exc.status, "allowed": exc.allowed},
        ) from None
    when = event_time(body.client_at, now)
    # The citizen confirms the handover as for a pickup (Circular 17/2017/TT-BTTTT art. 5): today's code, its
    # wrong answers counted by codeguard (the caller runs this in codeguard.guarded), or a signature photo.
    citizen = await session.get(Citizen, dossier.citizen_id) if dossier.citizen_id else None
    await check_confirmation(session, principal, body, citizen, when)
    procedure = await session.get(Procedure, dossier.procedure_id)
    assert procedure is not None
    extra: dict[str, object] = {"documents": list(body.documents)}
    if appt is not None:
        extra["appointment_id"] = str(appt.id)
    if body.confirmation is not None:
        extra["confirmation"] = body.confirmation.method
        if body.confirmation.signature_proof_id is not None:
            extra["signature_proof_id"] = str(body.confirmation.signature_proof_id)
    move = Move(
        CODE,
        to,
        when=when,
        now=now,
        where=body,
        ev=None,
        calendar=await working_calendar(session),
        procedure=procedure,
        target_user=principal.id if principal.role == Role.courier else None,
        extra=extra,
    )
    effects = Effects()
    actor = await actor_for(session, principal)
    await transition(session, actor, dossier, move, effects)
    if appt is not None and appt.status == AppointmentStatus.booked:
        await complete_visit(session, appt, principal, when, {"dossier": dossier.item_id, "supplement": True})
    await session.commit()
    return dossier, effects
