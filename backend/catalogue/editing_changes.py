"""Admins edit organisations and post offices' service areas (issue 23), with effective dates.

A new organisation is in the catalogue at once. A rename, a deactivation or a new service area is a
``catalogue_change`` that takes effect at its ``effective_from`` (now or later): ``apply_due`` writes every
change that has come due into ``organisation`` / ``post_office_commune`` (in the request that made it when it
starts now, else in the next edit or the sweep ``run``, wired in ``backend/app.py``). A deactivated post
office serves no commune from then on. A provincial admin (``staff_user.province_code``) edits only its
province's organisations and communes. Each change writes a ``catalogue_event``.
"""

import asyncio
import logging
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.catalogue import courier_shifts, editing_store
from backend.catalogue.editing import SKEW, admin_province, event, require_province, sync_head
from backend.db import session_factory
from backend.lib.auth import Principal
from backend.lib.dates import check_days
from backend.lib.problems import Problem, not_found
from backend.lib.sweeper import Sweeper, in_background
from schemas.accounts import StaffUser
from schemas.base import utcnow
from schemas.catalogue import Procedure
from schemas.catalogue_edits import (
    CatalogueChange,
    CatalogueChangePublic,
    OrganisationChangeIn,
    OrganisationCreate,
    OrganisationEdited,
    ServiceAreaIn,
)
from schemas.enums import OrgKind
from schemas.orgs import Organisation, PostOfficeCommune
from schemas.units import Commune

log = logging.getLogger("backend.catalogue")
SWEEP_S = 60.0


def _start(at: datetime) -> None:
    check_days(effective_from=at.date())
    if at < utcnow() - SKEW:
        raise Problem(
            422,
            "Thay đổi không được bắt đầu trong quá khứ / A change cannot start in the past",
            code="catalogue_version_in_past",
        )


async def _org(session: AsyncSession, code: str) -> Organisation:
    org = (await session.exec(select(Organisation).where(Organisation.code == code))).one_or_none()
    if org is None:
        raise not_found("tổ chức / organisation", code)
    return org


async def edited(session: AsyncSession, org: Organisation) -> OrganisationEdited:
    served = None
    if org.kind == OrgKind.post_office:
        served = list(
            (
                await session.exec(
                    select(PostOfficeCommune.commune_code)
                    .where(PostOfficeCommune.post_office_id == org.id)
                    .order_by(col(PostOfficeCommune.commune_code))
                )
            ).all()
        )
    return OrganisationEdited.model_validate({**org.model_dump(), "served_communes": served})


async def create_organisation(
    session: AsyncSession, principal: Principal, client_ip: str | None, data: OrganisationCreate
) -> OrganisationEdited:
    commune = await session.get(Commune, data.commune_code)
    if commune is None:
        raise Problem(422, f"Không có xã '{data.commune_code}' / Unknown commune", code="unknown_commune")
    await require_province(session, principal, commune.province_code)
    if (
        await session.exec(select(Organisation.id).where(Organisation.code == data.code))
    ).first() is not None:
        raise Problem(
            409,
            f"Đã có tổ chức '{data.code}' / Organisation '{data.code}' exists",
            code="organisation_exists",
        )
    org = Organisation(**data.model_dump(), province_code=commune.province_code)
    session.add(org)
    session.add(
        event(
            principal,
            client_ip,
            "organisation_created",
            data.code,
            {"kind": str(data.kind)},
            commune.province_code,
        )
    )
    await session.commit()
    editing_store.changed()
    return await edited(session, org)


def change_public(c: CatalogueChange, org_code: str) -> CatalogueChangePublic:
    return CatalogueChangePublic.model_validate({**c.model_dump(), "organisation_code": org_code})


async def _schedule(
    session: AsyncSession,
    principal: Principal,
    client_ip: str | None,
    org: Organisation,
    kind: str,
    data: dict[str, Any],
    basis: str,
    start: datetime,
) -> CatalogueChangePublic:
    change = CatalogueChange(
        kind=kind,
        organisation_id=org.id,
        data=data,
        basis=basis,
        effective_from=start,
        created_by=principal.id,
    )
    session.add(change)
    session.add(
        event(
            principal,
            client_ip,
            f"{kind}_changed",
            org.code,
            {**data, "from": start.isoformat()},
            org.province_code,
        )
    )
    await session.flush()
    await apply_due(session)
    await session.commit()
    editing_store.changed()
    await session.refresh(change)
    return change_public(change, org.code)


async def change_organisation(
    session: AsyncSession, principal: Principal, client_ip: str | None, code: str, data: OrganisationChangeIn
) -> CatalogueChangePublic:
    org = await _org(session, code)
    await require_province(session, principal, org.province_code)
    _start(data.effective_from)
    values = data.model_dump(include={"name", "name_en", "active"}, exclude_none=True)
    if not values:
        raise Problem(422, "Không có thay đổi / Nothing to change", code="validation")
    return await _schedule(
        session, principal, client_ip, org, "organisation", values, data.basis, data.effective_from
    )


async def set_service_area(
    session: AsyncSession, principal: Principal, client_ip: str | None, code: str, data: ServiceAreaIn
) -> CatalogueChangePublic:
    org = await _org(session, code)
    if org.kind != OrgKind.post_office:
        raise not_found("bưu cục / post office", code)
    await require_province(session, principal, org.province_code)
    _start(data.effective_from)
    communes = sorted(set(data.communes))
    found = (
        await session.exec(select(Commune.code, Commune.province_code).where(col(Commune.code).in_(communes)))
    ).all()
    known = {c for c, _ in found}
    if unknown := [c for c in communes if c not in known]:
        raise Problem(422, f"Không có xã {unknown} / Unknown communes {unknown}", code="unknown_commune")
    mine = await admin_province(session, principal)
    if mine is not None and any(p != mine for _, p in found):
        await require_province(session, principal, next(p for _, p in found if p != mine))
    return await _schedule(
        session,
        principal,
        client_ip,
        org,
        "service_area",
        {"communes": communes},
        data.basis,
        data.effective_from,
    )


async def _apply(session: AsyncSession, change: CatalogueChange) -> None:
    org = await session.get(Organisation, change.organisation_id)
    if org is None:
        return
    if change.kind == "organisation":
        for name in ("name", "name_en", "active"):
            if name in change.data:
                setattr(org, name, change.data[name])
        if change.data.get("active") is False:
            await session.exec(
                delete(PostOfficeCommune).where(col(PostOfficeCommune.post_office_id) == org.id)
            )  # type: ignore[call-overload]
            # Its staff's tokens are revoked, not only refused while it is out of service: reactivating it
            # (a mistake undone, a merger reverted) must not bring back sessions opened before (fail closed;
            # they sign in again). PostgreSQL tells every process (migration 0002's trigger); this process's
            # cached checks go with the catalogue change (``catalogue_store.on_change`` in ``backend/app.py``).
            staff = StaffUser.__table__  # type: ignore[attr-defined]
            await session.execute(
                update(staff)
                .where(staff.c.organisation_id == org.id)
                .values(token_version=staff.c.token_version + 1)
            )
    elif change.kind == "service_area":
        communes = list(change.data.get("communes", []))
        await session.exec(delete(PostOfficeCommune).where(col(PostOfficeCommune.post_office_id) == org.id))  # type: ignore[call-overload]
        if communes:  # a commune serves one office: it moves here
            await session.exec(
                delete(PostOfficeCommune).where(col(PostOfficeCommune.commune_code).in_(communes))
            )  # type: ignore[call-overload]
        await session.flush()
        for c in communes:
            session.add(PostOfficeCommune(post_office_id=org.id, commune_code=c))
    change.applied_at = utcnow()
    session.add(change)
    await session.flush()


async def _sync_procedures(session: AsyncSession) -> int:
    """Catalogue rows whose version in force changed since they were written show it."""
    editing_store.invalidate()
    cat = await editing_store.catalogue(session)
    now = utcnow()
    n = 0
    heads = (await session.exec(select(Procedure).where(col(Procedure.code).in_(list(cat.versions))))).all()
    for head in heads:
        v = editing_store.version_at(cat, head.code, now)
        if v is None:
            continue
        values = {k: getattr(v, k) for k in editing_store.CONTENT_FIELDS}
        if any(getattr(head, k) != values[k] for k in values):
            sync_head(head, values)
            n += 1
    return n


async def apply_due(session: AsyncSession) -> int:
    """Apply every change that has come due (in the caller's transaction); how many."""
    due = (
        await session.exec(
            select(CatalogueChange)
            .where(
                col(CatalogueChange.applied_at).is_(None), CatalogueChange.effective_from <= utcnow() + SKEW
            )
            .order_by(col(CatalogueChange.effective_from), col(CatalogueChange.created_at))
        )
    ).all()
    for change in due:
        await _apply(session, change)
    shifts = await courier_shifts.apply_due(session)  # couriers' shifts scheduled up to today (issue 23)
    return len(due) + shifts + await _sync_procedures(session)


async def list_changes(session: AsyncSession, code: str) -> list[CatalogueChangePublic]:
    org = await _org(session, code)
    rows = (
        await session.exec(
            select(CatalogueChange)
            .where(CatalogueChange.organisation_id == org.id)
            .order_by(col(CatalogueChange.effective_from))
        )
    ).all()
    return [change_public(c, org.code) for c in rows]


async def run(engine: AsyncEngine, stop: asyncio.Event, every_s: float = SWEEP_S) -> None:
    factory = session_factory(engine)

    async def once() -> None:
        async with factory() as session:
            n = await apply_due(session)
            await session.commit()
        if n:
            editing_store.changed()
            log.info("catalogue changes applied: %d", n)

    await Sweeper("catalogue change sweep", once, every_s, log).run(stop)


def lifespan_hook(app: Any) -> AbstractAsyncContextManager[None]:
    """Scheduled catalogue changes (renames, deactivations, service areas, procedure versions, couriers'
    shifts) reach the catalogue when they come due."""
    start = partial(run, app.state.engine)
    return in_background(start if app.state.settings.run_dispatcher else None, grace_s=10)
