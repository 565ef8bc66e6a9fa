"""Reads the milestones of a province's dossiers from custody events for ``legs.py`` (one aggregate query per
set: MIN(CASE code ...) per dossier), and puts the legs report together."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.catalogue.calendar_service import working_calendar
from backend.reporting import legs
from backend.reporting.definitions import Period
from backend.reporting.leadership import ProvinceScope
from backend.reporting.query import scope_clause
from schemas.base import utcnow
from schemas.dossiers import Dossier, DossierEvent
from schemas.orgs import Organisation

MAX_TOP = 100


def _milestone_columns() -> list[Any]:
    at = func.coalesce(col(DossierEvent.client_at), col(DossierEvent.at))
    return [
        func.min(sa.case((col(DossierEvent.code) == code, at))).label(name)
        for name, code in legs.MILESTONE_CODES.items()
    ]


def _statement(where: list[Any]) -> sa.Select[Any]:
    keys = (
        col(Dossier.id),
        col(Dossier.item_id),
        col(Dossier.channel),
        col(Dossier.post_office_id),
        col(Dossier.desk_id),
        col(Dossier.agency_id),
        col(Dossier.received_at),
        col(Dossier.due_at),
    )
    return (
        sa.select(*keys, *_milestone_columns())
        .select_from(sa.outerjoin(Dossier, DossierEvent, col(DossierEvent.dossier_id) == col(Dossier.id)))
        .where(*where)
        .group_by(*keys)
    )


async def _milestones(session: AsyncSession, stmt: sa.Select[Any]) -> list[legs.Milestones]:
    rows = (await session.execute(stmt)).all()
    ids: set[uuid.UUID] = set()
    for r in rows:
        ids.update(i for i in (r.post_office_id, r.desk_id, r.agency_id) if i is not None)
    codes: dict[uuid.UUID, str] = {}
    if ids:
        found = await session.exec(
            select(Organisation.id, Organisation.code).where(col(Organisation.id).in_(ids))
        )
        codes = dict(found.all())
    out = []
    for r in rows:
        times = {n: getattr(r, n) for n in legs.MILESTONE_CODES if getattr(r, n) is not None}
        if "received" not in times and r.received_at is not None:
            times["received"] = r.received_at
        units = {
            "post_office": codes.get(r.post_office_id) if r.post_office_id else None,
            "desk": codes.get(r.desk_id) if r.desk_id else None,
            "agency": codes.get(r.agency_id) if r.agency_id else None,
        }
        out.append(legs.Milestones(r.item_id, str(r.channel), times, units, r.due_at))
    return out


@dataclass
class LegsResult:
    period: Period
    province: ProvinceScope
    generated_at: datetime
    stats: list[dict[str, object]]
    clock: dict[str, object]
    slowest: list[legs.LegTime]


async def legs_report(
    session: AsyncSession, period: Period, province: ProvinceScope, top: int, *, now: datetime | None = None
) -> LegsResult:
    generated = utcnow()
    now = now or generated
    ts = DateTimeUTC(timezone=True)
    start, end = sa.literal(period.start, ts), sa.literal(period.end, ts)
    in_scope = scope_clause(province.scope)
    assert in_scope is not None
    touched = sa.select(col(DossierEvent.dossier_id)).where(
        sa.or_(
            sa.and_(col(DossierEvent.at) >= start, col(DossierEvent.at) < end),
            sa.and_(col(DossierEvent.client_at) >= start, col(DossierEvent.client_at) < end),
        )
    )
    clock = legs.WorkClock(await working_calendar(session))
    found = await _milestones(session, _statement([in_scope, col(Dossier.id).in_(touched)]))
    all_legs = [lt for m in found for lt in legs.legs_of(m, clock) if period.start <= lt.end < period.end]
    due_end = min(period.end, now)
    due = await _milestones(
        session,
        _statement(
            [
                in_scope,
                col(Dossier.due_at) >= start,
                col(Dossier.due_at) < sa.literal(due_end, ts),
                col(Dossier.received_at).is_not(None),
            ]
        ),
    )
    return LegsResult(
        period=period,
        province=province,
        generated_at=generated,
        stats=legs.leg_stats(all_legs),
        clock=legs.clock_share(due, clock).as_json(),
        slowest=legs.slowest(all_legs, min(top, MAX_TOP)),
    )
