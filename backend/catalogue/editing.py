"""Admins edit the procedure catalogue (issue 23): a new procedure, a new version of one, a province's postal
eligibility. Append-only: a version is never edited; a new one starts now or later
(``catalogue_version_in_past``) and after every version of its key (``catalogue_version_overlap``). Each change
writes a ``catalogue_event`` (who, role, when, from where) in the same transaction, and after commit every
cache of this process drops the catalogue (``editing_store.changed``); other processes by NOTIFY.

Scope: an admin with a ``province_code`` (a provincial admin) sets its province's eligibility only; the national
content of a procedure (Decree 63/2010/NĐ-CP art. 8: procedures are announced nationally, codes are national) is
edited by national admins (no province). Fees stay in ``procedure_fee`` (``tariff_admin``): a new procedure's
amounts become its first fee version there.
"""

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.catalogue import editing_store
from backend.lib.auth import Principal
from backend.lib.dates import check_days
from backend.lib.problems import Problem, forbidden, not_found
from schemas.accounts import StaffUser
from schemas.base import utcnow
from schemas.catalogue import Procedure
from schemas.catalogue_edits import (
    CatalogueEvent,
    EligibilityIn,
    EligibilityPublic,
    ProcedureContent,
    ProcedureCreate,
    ProcedureEligibility,
    ProcedureVersion,
    ProcedureVersionIn,
    ProcedureVersionPublic,
)
from schemas.pricing import ProcedureFee
from schemas.units import Province

SKEW = timedelta(minutes=1)  # a clock a little behind ours still means "from now"


async def admin_province(session: AsyncSession, principal: Principal) -> str | None:
    """The admin's province (a provincial admin), or None (a national admin)."""
    user = await session.get(StaffUser, principal.id)
    return user.province_code if user is not None else None


async def require_national(session: AsyncSession, principal: Principal) -> None:
    if await admin_province(session, principal) is not None:
        raise forbidden(
            "Nội dung thủ tục do quản trị cấp quốc gia sửa / A procedure's content is edited by national admins"
        )


async def require_province(session: AsyncSession, principal: Principal, province: str) -> None:
    mine = await admin_province(session, principal)
    if mine is not None and mine != province:
        raise forbidden("Ngoài tỉnh của quản trị viên / Outside the admin's province")


def event(
    principal: Principal,
    client_ip: str | None,
    type_: str,
    subject: str,
    data: dict[str, Any],
    province: str | None = None,
) -> CatalogueEvent:
    return CatalogueEvent(
        type=type_,
        subject=subject,
        province_code=province,
        actor_id=principal.id,
        actor_role=str(principal.role),
        client_ip=client_ip,
        data=data,
    )


async def check_start(
    session: AsyncSession,
    model: type[SQLModel],
    key: dict[str, Any],
    start: datetime,
    *,
    past_ok: bool = False,
) -> None:
    check_days(effective_from=start.date())
    if not past_ok and start < utcnow() - SKEW:
        raise Problem(
            422,
            "Phiên bản không được bắt đầu trong quá khứ / A version cannot start in the past",
            code="catalogue_version_in_past",
        )
    stmt = select(func.max(model.effective_from))  # type: ignore[attr-defined]
    for name, value in key.items():
        stmt = stmt.where(getattr(model, name) == value)
    latest = (await session.exec(stmt)).one()
    if latest is not None and latest >= start:
        raise Problem(
            409,
            f"Đã có phiên bản bắt đầu lúc {latest.isoformat()} / A version starting at {latest.isoformat()} exists",
            code="catalogue_version_overlap",
        )


def _until(rows: list[Any], key: Any) -> dict[uuid.UUID, datetime | None]:
    out: dict[uuid.UUID, datetime | None] = {}
    by_key: dict[Any, list[Any]] = {}
    for r in rows:
        by_key.setdefault(key(r), []).append(r)
    for versions in by_key.values():
        versions.sort(key=lambda r: r.effective_from)
        for this, after in zip(versions, [*versions[1:], None], strict=True):
            out[this.id] = after.effective_from if after is not None else None
    return out


def content_values(data: ProcedureContent) -> dict[str, Any]:
    values = data.model_dump(include=set(editing_store.CONTENT_FIELDS))
    values["level"] = str(data.level)
    values["documents"] = [d.model_dump(exclude_none=True) for d in data.documents]
    return values


def sync_head(head: Procedure, values: dict[str, Any]) -> None:
    """The catalogue row shows the version in force now (listings, names on dossiers)."""
    for name, value in values.items():
        setattr(head, name, value)


async def new_version(
    session: AsyncSession,
    principal: Principal | None,
    code: str,
    values: dict[str, Any],
    start: datetime,
    source: str,
) -> ProcedureVersion:
    """Add a version (checked by the caller) and, when it is in force already, show it on the catalogue row."""
    seq = (
        await session.exec(
            select(func.max(ProcedureVersion.seq)).where(ProcedureVersion.procedure_code == code)
        )
    ).one() or 0
    row = ProcedureVersion(
        procedure_code=code,
        seq=seq + 1,
        source=source,
        effective_from=start,
        created_by=principal.id if principal else None,
        **values,
    )
    session.add(row)
    if start <= utcnow() + SKEW:
        head = (await session.exec(select(Procedure).where(Procedure.code == code))).one_or_none()
        if head is not None:
            sync_head(head, values)
    return row


def version_public(v: ProcedureVersion, until: datetime | None) -> ProcedureVersionPublic:
    return ProcedureVersionPublic.model_validate({**v.model_dump(), "effective_until": until})


async def create_procedure(
    session: AsyncSession, principal: Principal, client_ip: str | None, data: ProcedureCreate
) -> ProcedureVersionPublic:
    await require_national(session, principal)
    if (await session.exec(select(Procedure.id).where(Procedure.code == data.code))).first() is not None:
        raise Problem(
            409, f"Đã có thủ tục '{data.code}' / Procedure '{data.code}' exists", code="procedure_exists"
        )
    await check_start(session, ProcedureVersion, {"procedure_code": data.code}, data.effective_from)
    values = content_values(data)
    session.add(
        Procedure(code=data.code, fee=data.fee_vnd, charge=data.charge_vnd, code_verified=False, **values)
    )
    await session.flush()
    row = await new_version(session, principal, data.code, values, data.effective_from, "admin")
    session.add(
        ProcedureFee(
            procedure_code=data.code,
            fee_vnd=data.fee_vnd,
            charge_vnd=data.charge_vnd,
            effective_from=data.effective_from,
            basis=data.basis,
            created_by=principal.id,
        )
    )
    session.add(event(principal, client_ip, "procedure_created", data.code, {"seq": 1, "basis": data.basis}))
    await session.commit()
    editing_store.changed()
    return version_public(row, None)


async def add_version(
    session: AsyncSession, principal: Principal, client_ip: str | None, code: str, data: ProcedureVersionIn
) -> ProcedureVersionPublic:
    await require_national(session, principal)
    if (await session.exec(select(Procedure.id).where(Procedure.code == code))).first() is None:
        raise not_found("thủ tục / procedure", code)
    await check_start(session, ProcedureVersion, {"procedure_code": code}, data.effective_from)
    row = await new_version(session, principal, code, content_values(data), data.effective_from, "admin")
    session.add(
        event(
            principal,
            client_ip,
            "procedure_version",
            code,
            {"seq": row.seq, "from": data.effective_from.isoformat()},
        )
    )
    await session.commit()
    editing_store.changed()
    return version_public(row, None)


async def list_versions(session: AsyncSession, code: str) -> list[ProcedureVersionPublic]:
    rows = list(
        (
            await session.exec(
                select(ProcedureVersion)
                .where(ProcedureVersion.procedure_code == code)
                .order_by(col(ProcedureVersion.effective_from))
            )
        ).all()
    )
    if not rows and (await session.exec(select(Procedure.id).where(Procedure.code == code))).first() is None:
        raise not_found("thủ tục / procedure", code)
    until = _until(rows, lambda r: 0)
    return [version_public(r, until[r.id]) for r in rows]


def eligibility_public(r: ProcedureEligibility, until: datetime | None) -> EligibilityPublic:
    return EligibilityPublic.model_validate({**r.model_dump(), "effective_until": until})


async def set_eligibility(
    session: AsyncSession, principal: Principal, client_ip: str | None, code: str, data: EligibilityIn
) -> EligibilityPublic:
    if await session.get(Province, data.province_code) is None:
        raise Problem(
            422, f"Không có tỉnh '{data.province_code}' / Unknown province", code="unknown_province"
        )
    await require_province(session, principal, data.province_code)
    if (await session.exec(select(Procedure.id).where(Procedure.code == code))).first() is None:
        raise not_found("thủ tục / procedure", code)
    key: dict[str, Any] = {"procedure_code": code, "province_code": data.province_code}
    await check_start(session, ProcedureEligibility, key, data.effective_from)
    row = ProcedureEligibility(
        procedure_code=code,
        province_code=data.province_code,
        postal_pickup=data.postal_pickup,
        postal_return=data.postal_return,
        basis=data.basis,
        effective_from=data.effective_from,
        created_by=principal.id,
    )
    session.add(row)
    session.add(
        event(
            principal,
            client_ip,
            "eligibility_set",
            code,
            {
                "pickup": data.postal_pickup,
                "return": data.postal_return,
                "from": data.effective_from.isoformat(),
            },
            province=data.province_code,
        )
    )
    await session.commit()
    editing_store.changed()
    return eligibility_public(row, None)


async def list_eligibility(session: AsyncSession, code: str, province: str | None) -> list[EligibilityPublic]:
    stmt = select(ProcedureEligibility).where(ProcedureEligibility.procedure_code == code)
    if province:
        stmt = stmt.where(ProcedureEligibility.province_code == province)
    rows = list((await session.exec(stmt.order_by(col(ProcedureEligibility.effective_from)))).all())
    until = _until(rows, lambda r: r.province_code)
    return [eligibility_public(r, until[r.id]) for r in rows]
