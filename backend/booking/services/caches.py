"""Reference data read through a short cache, and how the caches are dropped.

The office and its booking settings, the working calendar, procedures, and for listings the windows the
couriers' shifts make change a few times a year, and ``GET /slots`` / ``POST /appointments`` are the hottest
paths. An edit shows within ``CACHE_TTL_S`` in every process (``invalidate_caches`` for at once in this one;
on PostgreSQL every process drops them at once, see migration 0002). What is booked is cached for listings
only, and dropped at every change (``ledger_cache``); the shifts a booking writes into the ledger are current
(``capacity.roster``).

Rendered ``GET /slots`` answers (``backend/booking/slots_answer.py``) carry ``REFERENCE_TAG``: whatever drops
these caches drops them too.
"""

import uuid
from dataclasses import dataclass
from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.booking import capacity, ledger_cache
from backend.booking.services.common import Office, office, postal_procedure
from backend.booking.windows import Window, windows_between
from backend.catalogue import editing_store, places, tariff_store
from backend.catalogue.calendar import WorkingCalendar
from backend.catalogue.calendar_service import generation as calendar_generation
from backend.catalogue.calendar_service import working_calendar
from backend.db import db_key, detached
from backend.lib import answer_cache, pgnotify
from backend.lib.ttlcache import TtlCache
from schemas.catalogue import Procedure
from schemas.vntime import to_vn

CACHE_TTL_S = 10.0
REFERENCE_TAG = "booking:reference"  # the answer-cache tag of answers made from these caches


@dataclass(frozen=True)
class FrameWindow:
    """A listed window, its courier-minutes and its bounds as shown (ISO 8601, Vietnam time)."""

    window: Window
    capacity: int
    start_vn: str
    end_vn: str

    @classmethod
    def of(cls, window: Window, capacity: int) -> "FrameWindow":
        return cls(
            window,
            capacity,
            to_vn(window.start).isoformat(),
            to_vn(window.end).isoformat(),
        )


_offices: TtlCache[tuple[str, uuid.UUID], Office] = TtlCache(CACHE_TTL_S)
_frames: TtlCache[tuple[str, uuid.UUID, date, date, int], list[FrameWindow]] = TtlCache(CACHE_TTL_S)
_procedures: TtlCache[tuple[str, str], Procedure] = TtlCache(CACHE_TTL_S)
_calendars: TtlCache[tuple[str, int], WorkingCalendar] = TtlCache(CACHE_TTL_S)


def invalidate_caches() -> None:
    """Forget cached offices, shifts, windows, procedures and the served area (after editing them outside
    the API)."""
    for cache in (_offices, _frames, _procedures, _calendars):
        cache.clear()
    places.invalidate()
    tariff_store.invalidate()  # the prices people set (backend/catalogue/tariff_store.py)
    editing_store.invalidate()  # procedure versions and provinces' postal eligibility (issue 23)
    capacity.forget_rosters()
    ledger_cache.CACHE.clear()
    answer_cache.invalidate(REFERENCE_TAG)


def _reference_changed(table: str) -> None:
    if table != "plan":  # plans have caches of their own (backend.planning.capacity)
        invalidate_caches()


def _listener_reset(_db: str) -> None:
    invalidate_caches()


def install() -> None:
    """Another process changed reference data (PostgreSQL triggers, migration 0002): drop it here at once.
    Called once by ``backend.app.create_app``; calling it again changes nothing."""
    pgnotify.subscribe(pgnotify.REFERENCE, _reference_changed)
    pgnotify.on_reset(_listener_reset)


async def cached_office(session: AsyncSession, post_office_id: uuid.UUID) -> Office:
    async def load() -> Office:
        loaded = await office(session, post_office_id)
        return Office(detached(loaded.org), loaded.rules)

    return await _offices.get_or_load((db_key(session), post_office_id), load)


async def cached_calendar(session: AsyncSession) -> WorkingCalendar:
    return await _calendars.get_or_load(
        (db_key(session), calendar_generation()), lambda: working_calendar(session)
    )


async def cached_postal_procedure(session: AsyncSession, code: str) -> Procedure:
    """``postal_procedure`` through the listing cache (read-only use: fees and the documents checklist)."""

    async def load() -> Procedure:
        return detached(await postal_procedure(session, code))

    return await _procedures.get_or_load((db_key(session), code), load)


async def window_frame(session: AsyncSession, off: Office, first: date, last: date) -> list[FrameWindow]:
    """The office's windows on working days in [first, last] with the courier-minutes each offers, through the
    listing cache: they depend only on the calendar, opening hours, rules and shifts. The caller still drops
    the windows whose notice has passed; the booked minutes come from ``ledger_cache``."""

    async def load() -> list[FrameWindow]:
        cal = await cached_calendar(session)
        shifts = await capacity.roster(session, off.org.id, exact=False)
        windows = windows_between(cal, off.org.opening_hours, off.rules, first, last)
        return [FrameWindow.of(w, shifts.minutes(w)) for w in windows]

    return await _frames.get_or_load((db_key(session), off.org.id, first, last, calendar_generation()), load)
