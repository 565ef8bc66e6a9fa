"""The working calendar in force: the ``holidays`` package plus the overrides stored in the database
(``calendar_override``, loaded from ``data/calendar_overrides.json`` and editable by admins)."""

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.catalogue.calendar import DayOverride, WorkingCalendar, parse_kind
from schemas.catalogue import CalendarOverride

_cache: dict[tuple[tuple[str, str], ...], WorkingCalendar] = {}


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
