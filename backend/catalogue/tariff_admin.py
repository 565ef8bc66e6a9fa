"""Admins set prices: a new version of a postal tariff, a procedure's fee and charge, or an exemption.

Append-only: a version is never edited. A new one must start now or later (``price_version_in_past``: a
quote already given must stay explainable) and after every version of its key
(``price_version_overlap``), so the versions of a key never overlap and each is in force until the next
starts. The row itself records who set it and when.
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
from backend.lib.problems import Problem, not_found
from schemas.base import utcnow
from schemas.catalogue import Procedure
from schemas.pricing import (
    FeeExemption,
    FeeExemptionIn,
    FeeExemptionPublic,
    ProcedureFee,
    ProcedureFeeIn,
    ProcedureFeePublic,
    TariffRate,
    TariffRateIn,
    TariffRatePublic,
)

SKEW = timedelta(minutes=1)  # a clock a little behind ours still means "from now"
START = "effective_from"


async def _check_new(
    session: AsyncSession, model: type[SQLModel], key: dict[str, Any], start: datetime
) -> None:
    check_days(effective_from=start.date())  # 1976-2199: a typo, not a price (and storable in UTC)
    if start < utcnow() - SKEW:
        raise Problem(
            422,
            "Phiên bản giá không được bắt đầu trong quá khứ / A version cannot start in the past",
            code="price_version_in_past",
        )
    stmt = select(func.max(getattr(model, START)))
    for name, value in key.items():
        stmt = stmt.where(getattr(model, name) == value)
    latest = (await session.exec(stmt)).one()
    if latest is not None and latest >= start:
        raise Problem(
            409,
            f"Đã có phiên bản bắt đầu lúc {latest.isoformat()} / A version starting at {latest.isoformat()} exists",
            code="price_version_overlap",
        )


async def _save(session: AsyncSession, row: SQLModel) -> None:
    session.add(row)
    await session.commit()
    # every cache made from prices in this process (quotes, rendered slot listings), not only the versions'
    editing_store.changed()


def _until(rows: list[Any], key: Any) -> dict[uuid.UUID, datetime | None]:
    """Each version's end: the start of the next version of its key."""
    out: dict[uuid.UUID, datetime | None] = {}
    by_key: dict[Any, list[Any]] = {}
    for r in rows:
        by_key.setdefault(key(r), []).append(r)
    for versions in by_key.values():
        versions.sort(key=lambda r: r.effective_from)
        for this, after in zip(versions, [*versions[1:], None], strict=True):
            out[this.id] = after.effective_from if after is not None else None
    return out


async def _all(
    session: AsyncSession, model: type[SQLModel], key_cols: tuple[str, ...], where: dict[str, Any]
) -> list[Any]:
    stmt = select(model)
    for name, value in where.items():
        if value is not None:
            stmt = stmt.where(getattr(model, name) == value)
    order = [col(getattr(model, c)) for c in key_cols] + [col(getattr(model, START))]
    return list((await session.exec(stmt.order_by(*order))).all())


# --- tariffs -------------------------------------------------------------------------------------------------


def rate_public(r: TariffRate, until: datetime | None) -> TariffRatePublic:
    return TariffRatePublic.model_validate({**r.model_dump(), "effective_until": until})


async def create_rate(session: AsyncSession, principal: Principal, data: TariffRateIn) -> TariffRatePublic:
    await _check_new(session, TariffRate, {"kind": data.kind, "zone": data.zone}, data.effective_from)
    row = TariffRate(**data.model_dump(), created_by=principal.id)
    await _save(session, row)
    return rate_public(row, None)


async def list_rates(session: AsyncSession, kind: str | None, zone: str | None) -> list[TariffRatePublic]:
    rows = await _all(session, TariffRate, ("kind", "zone"), {"kind": kind, "zone": zone})
    until = _until(rows, lambda r: (r.kind, r.zone))
    return [rate_public(r, until[r.id]) for r in rows]


async def get_rate(session: AsyncSession, rate_id: uuid.UUID) -> TariffRatePublic:
    row = await session.get(TariffRate, rate_id)
    if row is None:
        raise not_found("giá cước / tariff version", rate_id)
    siblings = await _all(session, TariffRate, ("kind", "zone"), {"kind": row.kind, "zone": row.zone})
    return rate_public(row, _until(siblings, lambda r: 0)[row.id])


# --- procedure fees ------------------------------------------------------------------------------------------


def fee_public(r: ProcedureFee, until: datetime | None) -> ProcedureFeePublic:
    return ProcedureFeePublic.model_validate({**r.model_dump(), "effective_until": until})


async def create_fee(session: AsyncSession, principal: Principal, data: ProcedureFeeIn) -> ProcedureFeePublic:
    known = (await session.exec(select(Procedure.id).where(Procedure.code == data.procedure_code))).first()
    if known is None:
        raise not_found("thủ tục / procedure", data.procedure_code)
    await _check_new(session, ProcedureFee, {"procedure_code": data.procedure_code}, data.effective_from)
    row = ProcedureFee(**data.model_dump(), created_by=principal.id)
    await _save(session, row)
    return fee_public(row, None)


async def list_fees(session: AsyncSession, procedure_code: str | None) -> list[ProcedureFeePublic]:
    rows = await _all(session, ProcedureFee, ("procedure_code",), {"procedure_code": procedure_code})
    until = _until(rows, lambda r: r.procedure_code)
    return [fee_public(r, until[r.id]) for r in rows]


async def get_fee(session: AsyncSession, fee_id: uuid.UUID) -> ProcedureFeePublic:
    row = await session.get(ProcedureFee, fee_id)
    if row is None:
        raise not_found("phí, lệ phí / fee version", fee_id)
    siblings = await _all(session, ProcedureFee, ("procedure_code",), {"procedure_code": row.procedure_code})
    return fee_public(row, _until(siblings, lambda r: 0)[row.id])


# --- exemptions ----------------------------------------------------------------------------------------------


def exemption_public(r: FeeExemption, until: datetime | None) -> FeeExemptionPublic:
    return FeeExemptionPublic.model_validate({**r.model_dump(), "effective_until": until})


async def create_exemption(
    session: AsyncSession, principal: Principal, data: FeeExemptionIn
) -> FeeExemptionPublic:
    if data.procedure_code is not None:
        known = (
            await session.exec(select(Procedure.id).where(Procedure.code == data.procedure_code))
        ).first()
        if known is None:
            raise not_found("thủ tục / procedure", data.procedure_code)
    await _check_new(session, FeeExemption, {"code": data.code}, data.effective_from)
    row = FeeExemption(**data.model_dump(), created_by=principal.id)
    await _save(session, row)
    return exemption_public(row, None)


async def list_exemptions(session: AsyncSession, code: str | None) -> list[FeeExemptionPublic]:
    rows = await _all(session, FeeExemption, ("code",), {"code": code})
    until = _until(rows, lambda r: r.code)
    return [exemption_public(r, until[r.id]) for r in rows]


async def get_exemption(session: AsyncSession, exemption_id: uuid.UUID) -> FeeExemptionPublic:
    row = await session.get(FeeExemption, exemption_id)
    if row is None:
        raise not_found("miễn giảm / exemption version", exemption_id)
    siblings = await _all(session, FeeExemption, ("code",), {"code": row.code})
    return exemption_public(row, _until(siblings, lambda r: 0)[row.id])
