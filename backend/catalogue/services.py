"""Reference data: administrative units, organisations and the procedure catalogue."""

import uuid
from typing import Any

from sqlmodel import col, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.paging import Paging, fetch_page
from backend.lib.problems import not_found
from schemas.catalogue import Procedure, ProcedurePublic
from schemas.enums import OrgKind
from schemas.orgs import Organisation, OrganisationPublic, PostOfficeCommune
from schemas.units import Commune, CommunePublic, Province, ProvincePublic


async def provinces(session: AsyncSession) -> list[ProvincePublic]:
    counts = dict(
        (
            await session.exec(select(Commune.province_code, func.count()).group_by(Commune.province_code))
        ).all()
    )
    rows = await session.exec(select(Province).order_by(Province.code))
    return [ProvincePublic(**p.model_dump(), commune_count=counts.get(p.code, 0)) for p in rows]


async def communes(
    session: AsyncSession, province: str | None, q: str | None, paging: Paging
) -> tuple[list[Any], int]:
    stmt = select(Commune).order_by(Commune.code)
    if province:
        stmt = stmt.where(Commune.province_code == province)
    if q:
        stmt = stmt.where(or_(col(Commune.name).ilike(f"%{q}%"), col(Commune.short_name).ilike(f"%{q}%")))
    items, total = await fetch_page(session, stmt, paging)
    return [CommunePublic.model_validate(c, from_attributes=True) for c in items], total


async def organisation_public(session: AsyncSession, orgs: list[Organisation]) -> list[OrganisationPublic]:
    codes = {o.commune_code for o in orgs}
    names = dict(
        (await session.exec(select(Commune.code, Commune.name).where(col(Commune.code).in_(codes)))).all()
    )
    po_ids = [o.id for o in orgs if o.kind == OrgKind.post_office]
    served: dict[uuid.UUID, list[str]] = {}
    if po_ids:
        links = await session.exec(
            select(PostOfficeCommune.post_office_id, PostOfficeCommune.commune_code)
            .where(col(PostOfficeCommune.post_office_id).in_(po_ids))
            .order_by(PostOfficeCommune.commune_code)
        )
        for po_id, commune in links.all():
            served.setdefault(po_id, []).append(commune)
    return [
        OrganisationPublic(
            **o.model_dump(),
            commune=names.get(o.commune_code, o.commune_code),
            served_communes=served.get(o.id, []) if o.kind == OrgKind.post_office else None,
        )
        for o in orgs
    ]


async def organisations(
    session: AsyncSession,
    kind: OrgKind | None,
    province: str | None,
    commune: str | None,
    paging: Paging,
    *,
    active: bool | None = True,
) -> tuple[list[OrganisationPublic], int]:
    """``active``: in service only (the public list, issue 23; one by its code still answers: its dossiers),
    deactivated only, or both (None: admins, ``GET /catalogue/organisations``)."""
    stmt = select(Organisation).order_by(Organisation.kind, Organisation.code)
    if active is not None:
        stmt = stmt.where(col(Organisation.active).is_(active))
    if kind:
        stmt = stmt.where(Organisation.kind == kind)
    if province:
        stmt = stmt.where(Organisation.province_code == province)
    if commune:
        stmt = stmt.where(Organisation.commune_code == commune)
    items, total = await fetch_page(session, stmt, paging)
    return await organisation_public(session, items), total


async def organisation(session: AsyncSession, code: str) -> OrganisationPublic:
    org = (await session.exec(select(Organisation).where(Organisation.code == code))).one_or_none()
    if org is None:
        raise not_found("tổ chức / organisation", code)
    return (await organisation_public(session, [org]))[0]


def procedure_public(p: Procedure) -> ProcedurePublic:
    return ProcedurePublic.model_validate({**p.model_dump(), "documents": p.documents})


async def procedures(
    session: AsyncSession, q: str | None, field: str | None, postal: bool | None, paging: Paging
) -> tuple[list[ProcedurePublic], int]:
    stmt = select(Procedure).order_by(Procedure.field, Procedure.code)
    if q:
        stmt = stmt.where(or_(col(Procedure.name).ilike(f"%{q}%"), col(Procedure.code).ilike(f"%{q}%")))
    if field:
        stmt = stmt.where(Procedure.field == field)
    if postal is not None:
        stmt = stmt.where(Procedure.postal_pickup == postal)
    items, total = await fetch_page(session, stmt, paging)
    return [procedure_public(p) for p in items], total


async def procedure_by_code(session: AsyncSession, code: str) -> Procedure:
    proc = (await session.exec(select(Procedure).where(Procedure.code == code))).one_or_none()
    if proc is None:
        raise not_found("thủ tục / procedure", code)
    return proc


async def organisation_by_key(session: AsyncSession, key: str) -> Organisation | None:
    """An organisation by its UUID or its code (URLs and forms take either)."""
    try:
        return await session.get(Organisation, uuid.UUID(key))
    except ValueError:
        return (await session.exec(select(Organisation).where(Organisation.code == key))).one_or_none()
