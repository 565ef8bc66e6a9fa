"""Window capacity: where it comes from (a ``CapacityPolicy``) and the ledger that makes it exact.

The policy says how many courier-minutes a window offers and may veto a particular visit; the ledger
(``slot_capacity``) guarantees that concurrent bookings never take more than that, with one conditional
UPDATE per booking inside the booking's transaction.

Seam for routing: today ``CourierShiftPolicy`` counts minutes of courier shifts. The routing library
exposes ``routing.insertion.can_insert(plan, problem, new_stop)``; a ``RouteInsertionPolicy`` can implement
``admits`` by building that day's problem from the booked appointments (``Appointment`` rows of the post
office and day) and asking whether the new stop fits without moving other stops between couriers. The
ledger stays in place underneath as the concurrency guard; only ``admits`` (and, if wanted, a tighter
``capacity``) change. Select the policy with ``set_policy(...)``.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.booking import ledger_cache
from backend.booking.windows import Window, capacity_minutes
from schemas.accounts import CourierProfile, StaffUser
from schemas.base import utcnow
from schemas.booking import SlotCapacity
from schemas.enums import Role


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
        shifts = await courier_shifts(session, post_office_id)
        return {w.start: capacity_minutes(shifts, w) for w in windows}

    async def admits(self, session: AsyncSession, visit: VisitRequest) -> bool:
        return True


async def courier_shifts(session: AsyncSession, post_office_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await session.exec(
        select(CourierProfile.shifts)
        .join(StaffUser, col(StaffUser.id) == col(CourierProfile.user_id))
        .where(
            StaffUser.organisation_id == post_office_id,
            StaffUser.role == Role.courier,
            col(StaffUser.active).is_(True),
        )
    )
    return [dict(s or {}) for s in rows.all()]


_policy: CapacityPolicy = CourierShiftPolicy()


def get_policy() -> CapacityPolicy:
    return _policy


def set_policy(policy: CapacityPolicy) -> CapacityPolicy:
    """Install another policy (returns the previous one, for tests and the routing step)."""
    global _policy
    previous, _policy = _policy, policy
    return previous


# --- the ledger -----------------------------------------------------------------------------------------


def _insert_ignore(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


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
    now = utcnow()
    insert = _insert_ignore(session)
    booked = col(SlotCapacity.booked_minutes)
    stmt = (
        insert(SlotCapacity)
        .values(
            post_office_id=post_office_id,
            start=window.start,
            end=window.end,
            capacity_minutes=capacity,
            booked_minutes=cost,
            bookings=1,
            updated_at=now,
        )
        .on_conflict_do_update(
            index_elements=["post_office_id", "start"],
            set_={
                "booked_minutes": booked + cost,
                "bookings": col(SlotCapacity.bookings) + 1,
                "capacity_minutes": capacity,
                "updated_at": now,
            },
            where=booked + cost <= capacity,
        )
        .returning(col(SlotCapacity.bookings))
    )
    return (await session.execute(stmt)).first() is not None


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
