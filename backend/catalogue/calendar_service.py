"""The working calendar in force: the ``holidays`` package plus the overrides stored in the database
(``calendar_override``, loaded from ``data/calendar_overrides.json`` and editable by admins)."""

import logging
from datetime import date, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.catalogue.calendar import DayOverride, WorkingCalendar, parse_kind
from backend.lib.auth import Principal
from backend.lib.dates import check_days
from backend.lib.problems import not_found
from schemas.catalogue import CalendarOverride, CalendarOverrideIn

log = logging.getLogger("backend.catalogue")
_cache: dict[tuple[tuple[str, str], ...], WorkingCalendar] = {}
_generation = 0


def generation() -> int:
    """Bumped by every override edit in this process, so caches built on the calendar know to rebuild
    (other processes see the edit when their caches expire)."""
    return _generation


async def working_calendar(session: AsyncSession) -> WorkingCalendar:
    """One calendar object per distinct set of overrides (building one is cheap, but holidays caching is not)."""
    rows = (await session.exec(select(CalendarOverride).order_by(col(CalendarOverride.day)))).all()
    key = tuple((r.day.isoformat(), r.kind) for r in rows)
    cal = _cache.get(key)
    if cal is None:
        cal = WorkingCalendar([DayOverride(day=r.day, kind=parse_kind(r.kind), note=r.note) for r in rows])
        _cache.clear()
        _cache[key] = cal
    return cal


async def calendar_year(session: AsyncSession, year: int) -> dict[str, Any]:
    """What apps need to show deadlines: the weekdays that are not working days (with their names) and the
    weekend days that are, for one year, plus the stored overrides behind them."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    check_days(year=first)
    cal = await working_calendar(session)
    days_off: list[dict[str, Any]] = []
    working_weekends: list[dict[str, Any]] = []
    d = first
    while d <= last:
        working = cal.is_working_day(d)
        if d.weekday() < 5 and not working:
            days_off.append({"date": d, "name": cal.holiday_name(d) or "Ngày nghỉ"})
        elif d.weekday() >= 5 and working:
            o = cal.override_for(d)
            working_weekends.append({"date": d, "note": o.note if o else "Làm bù"})
        d += timedelta(days=1)
    rows = (
        await session.exec(
            select(CalendarOverride)
            .where(col(CalendarOverride.day) >= first, col(CalendarOverride.day) <= last)
            .order_by(col(CalendarOverride.day))
        )
    ).all()
    return {
        "year": year,
        "working_days": len(cal.working_days_in(first, last)),
        "days_off": days_off,
        "working_weekends": working_weekends,
        "overrides": [r.model_dump() for r in rows],
    }


async def set_override(
    session: AsyncSession, principal: Principal, day: date, data: CalendarOverrideIn
) -> CalendarOverride:
    global _generation
    check_days(day=day)
    row = CalendarOverride(day=day, kind=parse_kind(data.kind).value, note=data.note, source=data.source)
    row = await session.merge(row)
    await session.commit()
    _generation += 1
    log.info("calendar override %s %s set by %s (%s)", day, row.kind, principal.id, data.source)
    return row


async def delete_override(session: AsyncSession, principal: Principal, day: date) -> None:
    global _generation
    row = await session.get(CalendarOverride, day)
    if row is None:
        raise not_found("ngày điều chỉnh / calendar override", day)
    await session.delete(row)
    await session.commit()
    _generation += 1
    log.info("calendar override %s removed by %s", day, principal.id)
