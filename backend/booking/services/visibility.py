"""Which appointments a caller may see, one or a page of them."""

import uuid
from datetime import date, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit import services as audit
from backend.booking.services.serialise import to_public
from backend.lib.auth import Principal
from backend.lib.paging import Paging, fetch_page
from backend.lib.problems import not_found
from schemas.booking import Appointment, AppointmentKind, AppointmentPublic, AppointmentStatus
from schemas.enums import Role
from schemas.orgs import Organisation
from schemas.planning import Plan, PlanRoute, PlanStatus, PlanStop
from schemas.vntime import vn_day_start


async def scope(session: AsyncSession, principal: Principal) -> Any:
    """A WHERE clause limiting appointments to what the caller may see.

    Citizens: their own. Dispatchers: their post office's; couriers: the visits on their published routes.
    Desk clerks: every appointment in their desk's province (a pickup's dossier may go to any desk of the
    province; the desk plans staffing on the province's flow). Admins: all. Agencies see none (Decree
    13/2023/NĐ-CP: no purpose)."""
    if principal.role == Role.citizen:
        return col(Appointment.citizen_id) == principal.id
    if principal.role == Role.dispatcher:
        return col(Appointment.post_office_id) == principal.org_id
    if principal.role == Role.courier:
        # A courier's task is the visits assigned to them: the stops of their routes in published plans, not
        # every appointment of the office (issue 17). Anything else is a 404, no-show and fail included.
        assigned = (
            select(PlanStop.appointment_id)
            .join(PlanRoute, col(PlanRoute.id) == col(PlanStop.route_id))
            .join(Plan, col(Plan.id) == col(PlanStop.plan_id))
            .where(
                PlanRoute.courier_id == principal.id,
                Plan.status == PlanStatus.published,
                col(PlanStop.appointment_id).is_not(None),
            )
        )
        return col(Appointment.id).in_(assigned)
    if principal.role == Role.desk:
        org = await session.get(Organisation, principal.org_id) if principal.org_id else None
        return col(Appointment.province_code) == (org.province_code if org else "")
    if principal.role == Role.admin:
        return col(Appointment.id).is_not(None)
    return col(Appointment.id).is_(None)


async def visible(session: AsyncSession, principal: Principal, appointment_id: uuid.UUID) -> Appointment:
    """The appointment if the caller may see it; otherwise 404, never 403 (no probing of others' ids)."""
    stmt = select(Appointment).where(Appointment.id == appointment_id, await scope(session, principal))
    appt = (await session.exec(stmt)).one_or_none()
    if appt is None:
        raise not_found("lịch hẹn / appointment", appointment_id)
    return appt


async def list_appointments(
    session: AsyncSession,
    principal: Principal,
    paging: Paging,
    *,
    status: AppointmentStatus | None = None,
    kind: AppointmentKind | None = None,
    first: date | None = None,
    last: date | None = None,
    post_office: str | None = None,
    access: audit.Access | None = None,
) -> tuple[list[AppointmentPublic], int]:
    stmt = select(Appointment).where(await scope(session, principal))
    if status:
        stmt = stmt.where(Appointment.status == status)
    if kind:
        stmt = stmt.where(Appointment.kind == kind)
    if first:
        stmt = stmt.where(col(Appointment.start) >= vn_day_start(first))
    if last:
        stmt = stmt.where(col(Appointment.start) < vn_day_start(last + timedelta(days=1)))
    if post_office:
        org_id = select(Organisation.id).where(Organisation.code == post_office).scalar_subquery()
        stmt = stmt.where(col(Appointment.post_office_id) == org_id)
    stmt = stmt.order_by(col(Appointment.start), col(Appointment.id))
    items, total = await fetch_page(session, stmt, paging)  # type: ignore[arg-type]
    return await to_public(session, principal, items, access=access), total
