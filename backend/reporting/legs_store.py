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
    # plain tuples in the statement's column order (a Row's attribute lookup by name is slow in bulk)
    rows = [tuple(r) for r in (await session.execute(stmt)).all()]
    ids: set[uuid.UUID] = set()
    for r in rows:
        ids.update(i for i in r[3:6] if i is not None)
    codes: dict[uuid.UUID, str] = {}
    if ids:
        found = await session.exec(
            select(Organisation.id, Organisation.code).where(col(Organisation.id).in_(ids))
        )
        codes = dict(found.all())
    names = list(legs.MILESTONE_CODES)
    out = []
    for _id, item_id, channel, office, desk, agency, received_at, due_at, *stamps in rows:
        times = {n: t for n, t in zip(names, stamps, strict=True) if t is not None}
        if "received" not in times and received_at is not None:
            times["received"] = received_at
        units = {
            "post_office": codes.get(office) if office else None,
            "desk": codes.get(desk) if desk else None,
            "agency": codes.get(agency) if agency else None,
        }
        out.append(legs.Milestones(item_id, str(channel), times, units, due_at))
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
