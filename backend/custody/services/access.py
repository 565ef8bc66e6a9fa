"""Loading dossiers and who may read them or act on them."""

import uuid
from dataclasses import dataclass

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.custody.ids import parse_item_id
from backend.lib.auth import Principal
from backend.lib.problems import Problem, not_found
from schemas import s10
from schemas.accounts import StaffUser
from schemas.dossiers import (
    CustodianKind,
    Dossier,
    DossierEvent,
    Handover,
    HandoverItem,
    HandoverStatus,
    ResultItem,
)
from schemas.enums import OrgKind, Role
from schemas.orgs import Organisation

ORG_CUSTODY = {
    OrgKind.post_office: CustodianKind.post_office,
    OrgKind.desk: CustodianKind.desk,
    OrgKind.agency: CustodianKind.agency,
}


@dataclass
class Actor:
    principal: Principal
    org: Organisation | None

    @property
    def role(self) -> Role:
        return self.principal.role

    @property
    def kind(self) -> str:
        return "system" if self.principal.role == Role.admin else self.principal.role.value


async def actor_for(session: AsyncSession, principal: Principal) -> Actor:
    org = await session.get(Organisation, principal.org_id) if principal.org_id else None
    return Actor(principal=principal, org=org)


async def load_dossier(session: AsyncSession, raw_id: str, *, for_update: bool = False) -> Dossier:
    """A dossier by its own id (HS...) or its result's id (KQ...)."""
    item_id = parse_item_id(raw_id)
    stmt = select(Dossier).where(Dossier.item_id == item_id)
    if s10.parse(item_id).service == s10.PREFIX_RESULT:
        sub = select(ResultItem.dossier_id).where(ResultItem.item_id == item_id)
        stmt = select(Dossier).where(col(Dossier.id).in_(sub))
    if for_update:
        stmt = stmt.with_for_update()
    dossier = (await session.exec(stmt)).one_or_none()
    if dossier is None:
        raise not_found("hồ sơ / dossier", item_id)
    return dossier


async def result_of(session: AsyncSession, dossier: Dossier) -> ResultItem | None:
    return (await session.exec(select(ResultItem).where(ResultItem.dossier_id == dossier.id))).one_or_none()


# Items on a pending handover count as in hand for reading: the receiver checks what is coming before the scan.
# These live here, not in handovers.py, because handovers.py builds on this package.
async def pending_to_org(session: AsyncSession, org_id: uuid.UUID, dossier_id: uuid.UUID) -> bool:
    row = await session.exec(
        select(HandoverItem.id)
        .join(Handover, col(Handover.id) == HandoverItem.handover_id)
        .where(
            HandoverItem.dossier_id == dossier_id,
            Handover.status == HandoverStatus.pending,
            or_(Handover.to_org_id == org_id, Handover.from_org_id == org_id),
        )
        .limit(1)
    )
    return row.first() is not None


async def pending_to_user(session: AsyncSession, user_id: uuid.UUID, dossier_id: uuid.UUID) -> bool:
    row = await session.exec(
        select(HandoverItem.id)
        .join(Handover, col(Handover.id) == HandoverItem.handover_id)
        .where(
            HandoverItem.dossier_id == dossier_id,
            Handover.status == HandoverStatus.pending,
            Handover.to_user_id == user_id,
        )
        .limit(1)
    )
    return row.first() is not None


async def was_custodian(session: AsyncSession, principal: Principal, dossier: Dossier) -> bool:
    """Staff may read a dossier their organisation has or had in hand; a courier only one they carried
    (Decree 13/2023/NĐ-CP: a courier sees only what their stops need)."""
    if principal.role == Role.admin:
        return True
    if principal.role == Role.citizen:
        return dossier.citizen_id == principal.id
    if principal.role == Role.courier:
        if dossier.custodian_user_id == principal.id:
            return True
        seen = await session.exec(
            select(DossierEvent.id)
            .where(DossierEvent.dossier_id == dossier.id, DossierEvent.actor_id == principal.id)
            .limit(1)
        )
        if seen.first() is not None:
            return True
        return await pending_to_user(session, principal.id, dossier.id)
    org = principal.org_id
    if org is None:
        return False
    if org in {dossier.custodian_org_id, dossier.post_office_id, dossier.desk_id, dossier.agency_id}:
        return True
    seen = await session.exec(
        select(DossierEvent.id)
        .where(DossierEvent.dossier_id == dossier.id, DossierEvent.org_id == org)
        .limit(1)
    )
    if seen.first() is not None:
        return True
    return await pending_to_org(session, org, dossier.id)


def may_act(actor: Actor, dossier: Dossier) -> bool:
    """Recording an event needs the paper in hand (or at one's office)."""
    p = actor.principal
    if p.role == Role.admin:
        return True
    if p.role == Role.courier:
        return dossier.custodian_user_id == p.id or (
            p.org_id is not None
            and p.org_id in {dossier.custodian_org_id, dossier.post_office_id}
            and dossier.custodian_kind != CustodianKind.courier
        )
    if p.org_id is None:
        return False
    return (
        p.org_id == dossier.custodian_org_id
        or (
            p.role == Role.desk
            and p.org_id == dossier.desk_id
            and dossier.custodian_kind != CustodianKind.courier
        )
        or (p.role == Role.agency and p.org_id == dossier.agency_id)
    )


async def org_by_code(session: AsyncSession, code: str, kind: OrgKind | None = None) -> Organisation:
    org = (await session.exec(select(Organisation).where(Organisation.code == code))).one_or_none()
    if org is None or (kind is not None and org.kind != kind):
        raise Problem(422, f"Không có đơn vị '{code}' / no such organisation '{code}'", code="unknown_org")
    return org


async def staff_ids(session: AsyncSession, org_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.exec(
        select(StaffUser.id).where(
            StaffUser.organisation_id == org_id,
            col(StaffUser.active).is_(True),
            StaffUser.role != Role.courier,
        )
    )
    return list(rows.all())
