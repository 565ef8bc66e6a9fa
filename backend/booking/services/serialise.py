"""Appointments as a caller sees them (``AppointmentPublic``), with the personal-data audit of staff reads."""

import uuid
from collections.abc import Sequence
from types import SimpleNamespace

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit import services as audit
from backend.lib import privacy
from backend.lib.auth import Principal
from schemas.accounts import Citizen
from schemas.booking import (
    Appointment,
    AppointmentEvent,
    AppointmentEventPublic,
    AppointmentKind,
    AppointmentPublic,
    FeeQuote,
)
from schemas.catalogue import DocumentRequirement, Procedure
from schemas.dossiers import Dossier
from schemas.enums import Role
from schemas.orgs import Organisation
from schemas.units import Commune
from schemas.vntime import to_vn


async def to_public(
    session: AsyncSession,
    principal: Principal,
    appts: Sequence[Appointment],
    *,
    with_events: bool = False,
    access: audit.Access | None = None,
) -> list[AppointmentPublic]:
    """Appointments as the caller sees them. Staff get the citizen's phone (a courier only masked, as on the
    route: Decree 13/2023/NĐ-CP, least data), and each staff read of phone, address and location is written to
    the personal-data audit."""
    if not appts:
        return []
    orgs, communes, procs = await _names(session, appts)
    phones = await _phones_read(session, principal, appts, access) if principal.is_staff else {}
    events = await _events(session, appts) if with_events else {}
    missing = await _supplements(session, appts)
    out = [
        public(
            a,
            orgs[a.post_office_id],
            communes.get(a.commune_code, a.commune_code),
            procs.get(a.procedure_id) if a.procedure_id else None,
            phones.get(a.citizen_id),
            events.get(a.id, []) if with_events else None,
        )
        for a in appts
    ]
    for answer in out:
        if answer.kind == AppointmentKind.pickup and answer.dossier in missing:
            answer.missing_documents = missing[answer.dossier]
    return out


async def _supplements(session: AsyncSession, appts: Sequence[Appointment]) -> dict[str, list[str]]:
    """The missing lists of the dossiers supplement pickups carry (issue 20), by item id."""
    items = {a.dossier_item_id for a in appts if a.kind == AppointmentKind.pickup and a.dossier_item_id}
    if not items:
        return {}
    rows = await session.exec(select(Dossier.item_id, Dossier.data).where(col(Dossier.item_id).in_(items)))
    return {item: [str(m) for m in (data or {}).get("missing") or []] for item, data in rows.all()}


async def _names(
    session: AsyncSession, appts: Sequence[Appointment]
) -> tuple[dict[uuid.UUID, Organisation], dict[str, str], dict[uuid.UUID, Procedure]]:
    """The post offices, commune names and procedures the appointments name, in three reads."""
    po_ids = {a.post_office_id for a in appts}
    orgs = {
        o.id: o for o in (await session.exec(select(Organisation).where(col(Organisation.id).in_(po_ids))))
    }
    communes = dict(
        (
            await session.exec(
                select(Commune.code, Commune.name).where(
                    col(Commune.code).in_({a.commune_code for a in appts})
                )
            )
        ).all()
    )
    proc_ids = {a.procedure_id for a in appts if a.procedure_id}
    procs = (
        {p.id: p for p in (await session.exec(select(Procedure).where(col(Procedure.id).in_(proc_ids))))}
        if proc_ids
        else {}
    )
    return orgs, communes, procs


async def _phones_read(
    session: AsyncSession, principal: Principal, appts: Sequence[Appointment], access: audit.Access | None
) -> dict[uuid.UUID, str]:
    """The citizens' phones for a staff caller (masked for a courier), the read written to the audit."""
    phones: dict[uuid.UUID, str] = dict(
        (
            await session.exec(
                select(Citizen.id, Citizen.phone).where(col(Citizen.id).in_({a.citizen_id for a in appts}))
            )
        ).all()
    )
    if principal.role == Role.courier:
        phones = {cid: privacy.mask_phone(p) or "" for cid, p in phones.items()}
    phone_field = "phone_masked" if principal.role == Role.courier else "phone"
    audit.record(
        session,
        principal,
        access,
        [
            (
                a.citizen_id,
                {"location", *((phone_field,) if a.citizen_id in phones else ()),
                 *(("address",) if a.address else ())},
                str(a.id),
            )
            for a in appts
        ],
    )  # fmt: skip
    return phones


async def _events(
    session: AsyncSession, appts: Sequence[Appointment]
) -> dict[uuid.UUID, list[AppointmentEventPublic]]:
    events: dict[uuid.UUID, list[AppointmentEventPublic]] = {}
    rows = await session.exec(
        select(AppointmentEvent)
        .where(col(AppointmentEvent.appointment_id).in_([a.id for a in appts]))
        .order_by(col(AppointmentEvent.seq))
    )
    for e in rows:
        events.setdefault(e.appointment_id, []).append(AppointmentEventPublic.model_validate(e.model_dump()))
    return events


def public(
    a: Appointment | SimpleNamespace,
    org: Organisation,
    commune_name: str,
    proc: Procedure | None,
    phone: str | None,
    events: list[AppointmentEventPublic] | None,
) -> AppointmentPublic:
    return AppointmentPublic(
        id=a.id,
        kind=a.kind,
        status=a.status,
        start=to_vn(a.start),
        end=to_vn(a.end),
        post_office=org.code,
        post_office_name=org.name,
        commune=commune_name,
        citizen_id=a.citizen_id,
        citizen_phone=phone,
        procedure=proc.code if proc else None,
        procedure_name=proc.name if proc else None,
        documents=[DocumentRequirement.model_validate(d) for d in proc.documents] if proc else None,
        dossier=a.dossier_item_id,
        lat=a.lat,
        lon=a.lon,
        address=a.address,
        note=a.note,
        distance_km=a.distance_km,
        fees=FeeQuote.model_validate(a.fees),
        channel=a.channel,
        rebook_of=a.rebook_of,
        outcome_code=a.outcome_code,
        reason=a.reason,
        version=a.version,
        created_at=a.created_at,
        updated_at=a.updated_at,
        events=events,
    )


async def one_public(
    session: AsyncSession, principal: Principal, appt: Appointment, access: audit.Access | None = None
) -> AppointmentPublic:
    return (await to_public(session, principal, [appt], with_events=True, access=access))[0]
