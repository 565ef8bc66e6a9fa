"""Helpers for the reporting tests (no tests here): a private desk per test and dossiers built by hand."""

import random
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, delete, select

from backend.db import session_factory
from schemas import s10
from schemas.base import VN_TZ
from schemas.catalogue import Procedure
from schemas.dossiers import CustodianKind, Dossier
from schemas.enums import OrgKind
from schemas.orgs import Organisation

_rng = random.Random()


def vn(y: int, m: int, d: int, h: int = 9, mi: int = 0) -> datetime:
    """A Vietnam wall-clock time as an aware UTC instant."""
    return datetime(y, m, d, h, mi, tzinfo=VN_TZ).astimezone(UTC)


async def new_org(engine: AsyncEngine, kind: OrgKind = OrgKind.desk, province: str = "82") -> Organisation:
    async with session_factory(engine)() as session:
        template = (
            await session.exec(select(Organisation).where(Organisation.province_code == province).limit(1))
        ).one()
        org = Organisation(
            code=f"T-{kind.value[:2].upper()}-{uuid.uuid4().hex[:10]}",
            kind=kind,
            name=f"Đơn vị thử {kind.value}",
            commune_code=template.commune_code,
            province_code=province,
            lat=template.lat,
            lon=template.lon,
        )
        session.add(org)
        await session.commit()
        return org


async def two_procedures(engine: AsyncEngine) -> tuple[Procedure, Procedure]:
    """Two procedures of different fields (lĩnh vực)."""
    async with session_factory(engine)() as session:
        procs = list((await session.exec(select(Procedure).order_by(Procedure.code))).all())
    first = procs[0]
    second = next(p for p in procs if p.field != first.field)
    return first, second


def dossier(procedure: Procedure, desk: Organisation | None, **kw: Any) -> Dossier:
    values: dict[str, Any] = {
        "item_id": s10.make("HS", _rng.randrange(40_000_000, 89_999_999)),
        "procedure_id": procedure.id,
        "channel": "direct",
        "status": "received",
        "custodian_kind": CustodianKind.desk,
        "desk_id": desk.id if desk else None,
    }
    values.update(kw)
    return Dossier(**values)


async def store(engine: AsyncEngine, dossiers: list[Dossier]) -> list[uuid.UUID]:
    async with session_factory(engine)() as session:
        session.add_all(dossiers)
        await session.commit()
    return [d.id for d in dossiers]


async def remove(engine: AsyncEngine, ids: list[uuid.UUID]) -> None:
    async with session_factory(engine)() as session:
        await session.exec(delete(Dossier).where(col(Dossier.id).in_(ids)))  # type: ignore[call-overload]
        await session.commit()
