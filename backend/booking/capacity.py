"""Window capacity: where it comes from (a ``CapacityPolicy``) and the ledger that makes it exact.

The policy says how many courier-minutes a window offers and may veto a particular visit; the ledger
(``slot_capacity``) guarantees that concurrent bookings never take more than that, with one conditional
UPDATE per booking inside the booking's transaction (``reserve``; on PostgreSQL the booking function
``hoso_book`` of migration 0003 runs the same upsert, ``backend/booking/pgbook.py``).

Seam for routing: today ``CourierShiftPolicy`` counts minutes of courier shifts. The routing library
exposes ``routing.insertion.can_insert(plan, problem, new_stop)``; a ``RouteInsertionPolicy`` can implement
``admits`` by building that day's problem from the booked appointments (``Appointment`` rows of the post
office and day) and asking whether the new stop fits without moving other stops between couriers. The
ledger stays in place underneath as the concurrency guard; only ``admits`` (and, if wanted, a tighter
``capacity``) change. Select the policy with ``set_policy(...)``.
"""

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import Integer, bindparam, text, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.booking import ledger_cache
from backend.booking.windows import Window, capacity_minutes
from backend.catalogue import courier_shifts as courier_versions
from backend.catalogue.shift_rules import Pending, shifts_on
from backend.db import db_key
from backend.lib import pgnotify
from backend.lib.ttlcache import TtlCache
from schemas.accounts import CourierProfile, StaffUser
from schemas.base import utcnow
from schemas.booking import SlotCapacity
from schemas.enums import Role
from schemas.vntime import vn_date


@dataclass(frozen=True)
class VisitRequest:
    """A visit asking for a place in a window (what a routing check needs to know)."""

    post_office_id: uuid.UUID
    window: Window
    kind: str
    lat: float
    lon: float
    cost_minutes: int


class CapacityPolicy(Protocol):
    async def capacity(
        self, session: AsyncSession, post_office_id: uuid.UUID, windows: Sequence[Window]
    ) -> dict[datetime, int]:
        """Courier-minutes each window offers (keyed by window start)."""
        ...

    async def admits(self, session: AsyncSession, visit: VisitRequest) -> bool:
        """Extra veto for one visit beyond the minute count (e.g. a route insertion check)."""
        ...


class CourierShiftPolicy:
    """Minutes of the shifts of the post office's active couriers overlapping each window."""

    async def capacity(
        self, session: AsyncSession, post_office_id: uuid.UUID, windows: Sequence[Window]
    ) -> dict[datetime, int]:
        shifts = await roster(session, post_office_id)
        return {w.start: shifts.minutes(w) for w in windows}

    async def admits(self, session: AsyncSession, visit: VisitRequest) -> bool:
        return True


class Roster(list[dict[str, Any]]):
    """The active couriers' shifts in force today, with the changes scheduled from later days (``pending``,
    parallel to the list; ``backend/catalogue/shift_rules.py``), remembering the minutes they give each window:
    a cached roster serves every booking and listing of its post office, and the sum walks every courier's
    hours (~8 µs a courier a window). A window's day reads each courier's pattern in force that day."""

    def __init__(self, shifts: Iterable[dict[str, Any]], pending: Sequence[Pending] = ()) -> None:
        super().__init__(shifts)
        self._pending = list(pending)
        self._minutes: dict[Window, int] = {}

    def on(self, day: date) -> list[Mapping[str, Any]]:
        """Each courier's weekly pattern in force on ``day``."""
        if not any(self._pending):
            return list(self)
        return [shifts_on(s, p, day) for s, p in zip(self, self._pending, strict=True)]

    def minutes(self, window: Window) -> int:
        got = self._minutes.get(window)
        if got is None:
            got = self._minutes[window] = capacity_minutes(self.on(vn_date(window.start)), window)
        return got


# One cache of the couriers' shifts for listings and bookings. Listings take it as it is (at most
# ROSTER_TTL_S old in another process). The shifts a booking writes into the ledger as capacity must be
# current, a roster change applying to the next booking: bookings use the cache only while this process hears
# of every roster change (PostgreSQL NOTIFY from the staff_user/courier_profile triggers), else read afresh.
ROSTER_TTL_S = 10.0
_rosters: TtlCache[tuple[str, uuid.UUID], Roster] = TtlCache(ROSTER_TTL_S)


def forget_rosters() -> None:
    _rosters.clear()


async def roster(session: AsyncSession, post_office_id: uuid.UUID, *, exact: bool = True) -> Roster:
    """The active couriers' shifts; ``exact=False`` (listings) accepts the cache however it is kept."""
    db = db_key(session)
    if exact and not pgnotify.listening(db):
        return await courier_shifts(session, post_office_id)
    return await _rosters.get_or_load((db, post_office_id), lambda: courier_shifts(session, post_office_id))


async def courier_shifts(session: AsyncSession, post_office_id: uuid.UUID) -> Roster:
    rows = (
        await session.exec(
            select(CourierProfile.user_id, CourierProfile.shifts)
            .join(StaffUser, col(StaffUser.id) == col(CourierProfile.user_id))
            .where(
                StaffUser.organisation_id == post_office_id,
                StaffUser.role == Role.courier,
                col(StaffUser.active).is_(True),
            )
        )
    ).all()
    scheduled = await courier_versions.pending(session, [uid for uid, _ in rows])
    return Roster((dict(s or {}) for _, s in rows), [scheduled.get(uid, ()) for uid, _ in rows])


_policy: CapacityPolicy = CourierShiftPolicy()


def get_policy() -> CapacityPolicy:
    return _policy


def set_policy(policy: CapacityPolicy) -> CapacityPolicy:
    """Install another policy (returns the previous one, for tests and the routing step)."""
    global _policy
    previous, _policy = _policy, policy
    return previous


# --- the ledger -----------------------------------------------------------------------------------------


_LEDGER = SlotCapacity.__table__  # type: ignore[attr-defined]
# Textual, because SQLAlchemy cannot cache the compiled form of an ORM upsert ("no key"): building it anew
# cost ~1 ms on every booking. Both PostgreSQL and SQLite (3.35+) speak this upsert with RETURNING. Bookings on
# PostgreSQL run the same statement inside hoso_book (migration 0003): a change here belongs there too.
_RESERVE = text(
    """
    INSERT INTO slot_capacity (post_office_id, start, "end", capacity_minutes, booked_minutes, bookings, updated_at)
    VALUES (:po, :start, :end, :cap, :cost, 1, :now)
    ON CONFLICT (post_office_id, start) DO UPDATE SET
        booked_minutes = slot_capacity.booked_minutes + :cost,
        bookings = slot_capacity.bookings + 1,
        capacity_minutes = :cap,
        updated_at = :now
    WHERE slot_capacity.booked_minutes + :cost <= :cap
    RETURNING bookings
    """
).bindparams(
    bindparam("po", type_=_LEDGER.c.post_office_id.type),
    bindparam("start", type_=_LEDGER.c.start.type),
    bindparam("end", type_=_LEDGER.c.end.type),
    bindparam("now", type_=_LEDGER.c.updated_at.type),
    bindparam("cap", type_=Integer()),
    bindparam("cost", type_=Integer()),
)


async def reserve(
    session: AsyncSession, post_office_id: uuid.UUID, window: Window, capacity: int, cost: int
) -> bool:
    """Take ``cost`` minutes of the window if they are free, in one statement: the ledger row is created by
    the first booking, later ones update it only while ``booked + cost <= capacity``. On PostgreSQL a racing
    insert of the same window waits for the other to settle and then takes the update branch, whose WHERE
    is evaluated on the row's latest version under its lock, so exactly as many bookings as fit succeed
    (SQLite's writers are serialised by BEGIN IMMEDIATE). ``capacity`` is written each time, so a changed
    courier roster takes effect at once."""
    if cost > capacity:
        return False
    ledger_cache.touched(session, post_office_id)
    params = {
        "po": post_office_id,
        "start": window.start,
        "end": window.end,
        "cap": capacity,
        "cost": cost,
        "now": utcnow(),
    }
    return (await session.execute(_RESERVE, params)).first() is not None


async def release(session: AsyncSession, post_office_id: uuid.UUID, start: datetime, cost: int) -> None:
    """Give back a booking's minutes (cancel, reschedule away)."""
    ledger_cache.touched(session, post_office_id)
    await session.execute(
        update(SlotCapacity)
        .where(col(SlotCapacity.post_office_id) == post_office_id, col(SlotCapacity.start) == start)
        .values(
            booked_minutes=col(SlotCapacity.booked_minutes) - cost,
            bookings=col(SlotCapacity.bookings) - 1,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
