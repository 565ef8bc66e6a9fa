"""Reads the milestones of a province's dossiers from custody events for ``legs.py`` (one aggregate query per
set: MIN(CASE code ...) per dossier), and puts the legs report together."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.catalogue.calendar_service import working_calendar
from backend.reporting import legs, legs_sql
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
    keys = legs_sql.dossier_keys()
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


def _in_period_touched(province: ProvinceScope, period: Period) -> list[Any]:
    """The province's dossiers with a custody event in the period (device or server time)."""
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
    return [in_scope, col(Dossier.id).in_(touched)]


def _due_in_period(province: ProvinceScope, period: Period, now: datetime) -> list[Any]:
    """The province's received dossiers whose deadline fell in the period and has passed."""
    ts = DateTimeUTC(timezone=True)
    in_scope = scope_clause(province.scope)
    assert in_scope is not None
    return [
        in_scope,
        col(Dossier.due_at) >= sa.literal(period.start, ts),
        col(Dossier.due_at) < sa.literal(min(period.end, now), ts),
        col(Dossier.received_at).is_not(None),
    ]


async def legs_report_python(
    session: AsyncSession, period: Period, province: ProvinceScope, top: int, *, now: datetime | None = None
) -> LegsResult:
    """The report computed in Python over every dossier's milestones: the definition ``legs_report`` is checked
    against (tests) and the benchmark's "before"; slow at scale (about 66 s per 100,000 dossiers)."""
    generated = utcnow()
    now = now or generated
    clock = legs.WorkClock(await working_calendar(session))
    found = await _milestones(session, _statement(_in_period_touched(province, period)))
    all_legs = [lt for m in found for lt in legs.legs_of(m, clock) if period.start <= lt.end < period.end]
    due = await _milestones(session, _statement(_due_in_period(province, period, now)))
    return LegsResult(
        period=period,
        province=province,
        generated_at=generated,
        stats=legs.leg_stats(all_legs),
        clock=legs.clock_share(due, clock).as_json(),
        slowest=legs.slowest(all_legs, min(top, MAX_TOP)),
    )


# The day table starts this long before the period (dossiers carried over from the year before start their legs
# there); widened when a leg started earlier still (one more statement).
FIRST_MARGIN_DAYS = 730
WORK_MEM = "64MB"


async def legs_report(
    session: AsyncSession, period: Period, province: ProvinceScope, top: int, *, now: datetime | None = None
) -> LegsResult:
    """The report as SQL aggregates (``legs_sql``): the same figures as ``legs_report_python``."""
    generated = utcnow()
    now = now or generated
    clock = legs.WorkClock(await working_calendar(session))
    if session.bind.dialect.name == "postgresql":
        # For this transaction only: the legs of a province-year sort in memory (the default 4 MB spills them to
        # disk); no JIT: compiling the working-hours expressions took 9 of the 10 s of a month's clock share; and
        # the day table is joined by hash, not by sorting every leg by day (the planner underestimates the legs)
        await session.execute(sa.text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
        await session.execute(sa.text("SET LOCAL jit = off"))
        await session.execute(sa.text("SET LOCAL enable_mergejoin = off"))
    last = legs_sql.day_number(period.end)
    first = legs_sql.day_number(period.start) - FIRST_MARGIN_DAYS
    touched, due = _in_period_touched(province, period), _due_in_period(province, period, now)
    while True:  # the legs and their figures; again with the day table widened if a leg started before it
        days = legs_sql.DayTable(clock, first, last)
        lh = legs_sql.legs_hours(legs_sql.milestones(touched), days, period.start, period.end)
        rows = [
            tuple(r) for r in (await session.execute(legs_sql.legs_statement(lh, min(top, MAX_TOP)))).all()
        ]
        stat_rows = [r[1:8] for r in rows if r[0] == "s"]
        earliest = min((r[-1] for r in stat_rows if r[-1] is not None), default=first)
        if earliest >= first:
            break
        first = earliest
    top_rows = [(r[8], r[1], r[9], r[10], r[3], r[5], r[11], r[12]) for r in rows if r[0] == "t"]
    top_rows.sort(key=lambda r: (-r[4], -r[5], r[0], r[1]))
    first = legs_sql.day_number(period.start) - FIRST_MARGIN_DAYS
    while True:  # the clock, likewise
        days = legs_sql.DayTable(clock, first, last)
        clock_row = tuple(
            (await session.execute(legs_sql.clock_statement(legs_sql.milestones(due), days))).one()
        )
        if clock_row[-1] is None or clock_row[-1] >= first:
            break
        first = clock_row[-1]
    codes = await _codes(session, {i for r in top_rows for i in r[6:8] if i is not None})
    by_leg = {r[0]: r for r in stat_rows}
    stats = []
    for leg, name in legs.LEGS.items():
        _, n, med_w, p90_w, med_h, p90_h, _ = by_leg.get(leg, (leg, 0, None, None, None, None, None))
        stats.append(
            {
                "leg": leg,
                "name": name,
                "count": int(n),
                "median_working_hours": _r(med_w),
                "p90_working_hours": _r(p90_w),
                "median_hours": _r(med_h),
                "p90_hours": _r(p90_h),
            }
        )
    n, clock_h, postal_h, med, _ = clock_row
    figures = legs.ClockFigures(int(n), float(clock_h or 0.0), float(postal_h or 0.0))
    answer = figures.as_json()
    answer["median_dossier_share"] = None if med is None else round(float(med), 1)
    slowest = [
        legs.LegTime(item, leg, _aware(s), _aware(e), float(wh), float(h), codes.get(f), codes.get(t))
        for item, leg, s, e, wh, h, f, t in top_rows
    ]
    return LegsResult(period, province, generated, stats, answer, slowest)


def _r(v: Any) -> float | None:
    return None if v is None else round(float(v), 2)


def _aware(v: Any) -> datetime:
    """A timestamp out of a CTE comes back as stored (SQLite: text, naive)."""
    if isinstance(v, str):
        v = datetime.fromisoformat(v)
    return v if v.tzinfo is not None else v.replace(tzinfo=UTC)


async def _codes(session: AsyncSession, ids: set[Any]) -> dict[Any, str]:
    if not ids:
        return {}
    found = await session.exec(
        select(Organisation.id, Organisation.code).where(col(Organisation.id).in_(ids))
    )
    return dict(found.all())
