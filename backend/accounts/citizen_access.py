"""Who on the staff may read a citizen's record, and how much of it (``GET /citizens/{id}``).

Decree 13/2023/NĐ-CP art. 3: personal data is processed only for a stated purpose and limited to what that
purpose needs. A staff account sees a citizen only through a task its organisation holds for them now:

- a post office's dispatcher, while the office serves a booked home appointment of the citizen: name, phone
  and saved addresses (they plan the visit, call the citizen, take bookings by phone);
- a dispatcher whose office holds an open dossier of the citizen: name and phone;
- a one-stop desk clerk whose desk an open dossier of the citizen belongs to or sits at, or who booked a
  still-open appointment for the citizen: name and phone (the desk is the citizen's contact point for
  supplements and results, Decree 61/2018/NĐ-CP on the one-stop mechanism);
- an agency officer whose agency decides or holds an open dossier of the citizen: name and a masked phone
  (the agency reaches the citizen through the desk);
- an admin: the whole record;
- anyone else, couriers included (their route shows what a stop needs, ``backend/lib/privacy.py``): 404,
  the same answer as an unknown id, so nobody learns whether a citizen exists.

Every staff read is written to the personal-data audit (``backend/audit``).
"""

import uuid

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.services import me
from backend.audit.services import Access, record
from backend.lib.auth import Principal
from backend.lib.privacy import mask_phone
from backend.lib.problems import Problem
from schemas.accounts import Citizen
from schemas.audit import CitizenRecord
from schemas.booking import Appointment, AppointmentStatus
from schemas.dossiers import FINAL_STATUSES, Dossier
from schemas.enums import Role

NAME_PHONE = frozenset({"full_name", "phone"})
EVERYTHING = frozenset({"full_name", "phone", "addresses"})
NAME_MASKED_PHONE = frozenset({"full_name", "phone_masked"})
_FINAL = [s.value for s in FINAL_STATUSES]


def _not_found() -> Problem:
    return Problem(404, "Không tìm thấy công dân / Citizen not found", code="not_found")


async def _open_dossier(session: AsyncSession, citizen_id: uuid.UUID, *held_by: object) -> bool:
    stmt = (
        select(Dossier.id)
        .where(
            Dossier.citizen_id == citizen_id,
            col(Dossier.status).not_in(_FINAL),
            or_(*held_by),  # type: ignore[arg-type]
        )
        .limit(1)
    )
    return (await session.exec(stmt)).first() is not None


async def _booked(session: AsyncSession, citizen_id: uuid.UUID, *where: object) -> bool:
    stmt = (
        select(Appointment.id)
        .where(Appointment.citizen_id == citizen_id, Appointment.status == AppointmentStatus.booked, *where)  # type: ignore[arg-type]
        .limit(1)
    )
    return (await session.exec(stmt)).first() is not None


async def fields_for(session: AsyncSession, principal: Principal, citizen_id: uuid.UUID) -> frozenset[str]:
    """The fields of the citizen's record this caller's task needs now; empty when it has none."""
    role, org = principal.role, principal.org_id
    if role == Role.admin:
        return EVERYTHING
    if role == Role.citizen:
        return EVERYTHING if principal.id == citizen_id else frozenset()
    if org is None:
        return frozenset()
    if role == Role.dispatcher:
        if await _booked(session, citizen_id, Appointment.post_office_id == org):
            return EVERYTHING
        if await _open_dossier(session, citizen_id, Dossier.custodian_org_id == org):
            return NAME_PHONE
    elif role == Role.desk:
        if await _open_dossier(
            session, citizen_id, Dossier.desk_id == org, Dossier.custodian_org_id == org
        ) or await _booked(session, citizen_id, Appointment.booked_by_id == principal.id):
            return NAME_PHONE
    elif role == Role.agency and await _open_dossier(
        session, citizen_id, Dossier.agency_id == org, Dossier.custodian_org_id == org
    ):
        return NAME_MASKED_PHONE
    return frozenset()


async def citizen_record(
    session: AsyncSession, principal: Principal, citizen_id: uuid.UUID, access: Access | None
) -> CitizenRecord:
    fields = await fields_for(session, principal, citizen_id)
    if not fields:
        raise _not_found()
    citizen = await session.get(Citizen, citizen_id)
    if citizen is None:
        raise _not_found()
    full = await me(session, Principal(id=citizen.id, role=Role.citizen))
    shown = CitizenRecord(
        id=citizen.id,
        role=Role.citizen,
        full_name=full.full_name if "full_name" in fields else None,
        phone=full.phone if "phone" in fields else None,
        phone_masked=mask_phone(full.phone) if "phone_masked" in fields else None,
        addresses=full.addresses if "addresses" in fields else [],
        fields=sorted(fields),
    )
    given = {f for f in fields if getattr(shown, f)}  # what was actually shown (a missing name is not)
    record(session, principal, access, [(citizen.id, given, None)])
    return shown
