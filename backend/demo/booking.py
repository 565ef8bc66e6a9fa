"""Demo appointments: a living day across the province's post offices.

The current (or next) working day and the three after it get appointments spread over every window, 330+
on the first day ahead: mostly pickups, some deliveries and assisted filings, booked from the app, at desks
and by phone. Windows already over today are completed or missed (no-show, failed); some later ones were
rescheduled or cancelled, each with its events. Capacity goes through the same ledger as real bookings, so
the slots the demo shows are consistent. Demo deliveries carry result ids (KQ9xxxxxxxxVN) from a serial
range the custody demo does not use.
"""

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.booking import capacity
from backend.booking.services import Office, fees_for, office
from backend.booking.windows import Window, day_windows, parse_hours
from backend.catalogue import places
from backend.catalogue.calendar_service import working_calendar
from backend.demo.province import DemoContext
from schemas import s10
from schemas.base import utcnow
from schemas.booking import (
    FAILED_REASONS,
    Appointment,
    AppointmentEvent,
    AppointmentKind,
    AppointmentStatus,
    BookingChannel,
)
from schemas.catalogue import Procedure
from schemas.vntime import vn_date

# Appointments wanted per day (the first is today or the next working day).
TARGETS = (220, 340, 220, 120)
KINDS = [AppointmentKind.pickup] * 7 + [AppointmentKind.delivery] * 2 + [AppointmentKind.assisted]
CHANNELS = [BookingChannel.app] * 6 + [BookingChannel.desk] * 2 + [BookingChannel.phone] * 2


async def seed(session: AsyncSession, ctx: DemoContext) -> dict[str, Any]:
    now = utcnow()
    cal = await working_calendar(session)
    first = cal.next_working_day(vn_date(now), include_today=True)
    days = [first]
    while len(days) < len(TARGETS):
        days.append(cal.next_working_day(days[-1]))
    seeder = await _Seeder.load(session, ctx, days, now)
    made = {d.isoformat(): 0 for d in days}
    for day, target in zip(days, TARGETS, strict=True):
        tries = 0
        while made[day.isoformat()] < target and tries < target * 4:
            tries += 1
            if await seeder.one(day):
                made[day.isoformat()] += 1
        await session.flush()
    return {"appointments": made}


class _Seeder:
    """The demo's post offices, their windows and capacities on the seeded days, and one random stream: the
    same seed gives the same appointments."""

    def __init__(self, session: AsyncSession, ctx: DemoContext, now: datetime) -> None:
        self.session, self.ctx, self.now = session, ctx, now
        self.rng = random.Random(ctx.seed + 3)
        self.serial = 90_000_000
        self.procs: list[Procedure] = []
        self.post_office_of = {code: po_id for po_id, codes in ctx.served.items() for code in codes}
        self.offices: dict[uuid.UUID, Office] = {}
        self.windows: dict[uuid.UUID, dict[Any, list[Window]]] = {}
        self.caps: dict[tuple[uuid.UUID, datetime], int] = {}

    @classmethod
    async def load(cls, session: AsyncSession, ctx: DemoContext, days: list[Any], now: datetime) -> "_Seeder":
        self = cls(session, ctx, now)
        procs = await session.exec(select(Procedure).where(col(Procedure.postal_pickup).is_(True)))
        self.procs = list(procs.all())
        self.offices = {po.id: await office(session, po.id) for po in ctx.post_offices}
        policy = capacity.get_policy()
        for po_id, off in self.offices.items():
            for day in days:
                hours = parse_hours(off.org.opening_hours.get(str(day.isoweekday())))
                ws = self.windows.setdefault(po_id, {})[day] = day_windows(day, hours, off.rules)
                for start, cap in (await policy.capacity(session, po_id, ws)).items():
                    self.caps[(po_id, start)] = cap
        return self

    async def one(self, day: Any) -> bool:
        """Try to book one random citizen at home on ``day``; False if the window drawn is full."""
        rng, session = self.rng, self.session
        citizen = rng.choice(self.ctx.citizens)
        home = self.ctx.addresses[citizen.id]
        po_id = self.post_office_of.get(home.commune_code)
        if po_id is None or not self.windows[po_id][day]:
            return False
        off = self.offices[po_id]
        window = rng.choice(self.windows[po_id][day])
        kind = rng.choice(KINDS)
        cost = off.rules.cost(kind.value)
        if not await capacity.reserve(session, po_id, window, self.caps[(po_id, window.start)], cost):
            return False
        proc = rng.choice(self.procs)
        item_id = None
        if kind == AppointmentKind.delivery:
            self.serial += 1
            item_id = s10.make(s10.PREFIX_RESULT, self.serial)
        distance = places.distance_km(off.org.lat, off.org.lon, home.lat, home.lon)
        channel = rng.choice(CHANNELS)
        booked_at = self.now - timedelta(days=rng.randint(1, 6), minutes=rng.randint(0, 600))
        appt = Appointment(
            citizen_id=citizen.id,
            post_office_id=po_id,
            province_code=off.org.province_code,
            commune_code=home.commune_code,
            kind=kind,
            start=window.start,
            end=window.end,
            cost_minutes=cost,
            procedure_id=proc.id,
            dossier_item_id=item_id,
            lat=home.lat,
            lon=home.lon,
            address=home.address,
            distance_km=round(distance, 3),
            fees=fees_for(kind, distance, proc),
            channel=channel,
            booked_by_role="citizen" if channel == BookingChannel.app else "desk",
            booked_by_id=citizen.id,
            created_at=booked_at,
            updated_at=booked_at,
        )
        session.add(appt)
        events = [appointment_event(appt, 1, "booked", channel, booked_at)]
        await self._history(appt, events, window, cost)
        appt.version = len(events)
        session.add_all(events)
        return True

    async def _history(
        self, appt: Appointment, events: list[AppointmentEvent], window: Window, cost: int
    ) -> None:
        """What happened to the appointment since: a window over is done or missed; some later ones were
        cancelled (their minutes given back) or rescheduled."""
        roll = self.rng.random()
        booked_at = appt.created_at
        if window.end <= self.now:
            if roll < 0.08:
                appt.status, appt.outcome_code = AppointmentStatus.no_show, "citizen_absent"
            elif roll < 0.12:
                appt.status = AppointmentStatus.failed
                appt.outcome_code = self.rng.choice(list(FAILED_REASONS))
            else:
                appt.status = AppointmentStatus.completed
            events.append(
                appointment_event(
                    appt, 2, appt.status.value, BookingChannel.app, window.start + timedelta(minutes=40)
                )
            )
            events[-1].reason_code = appt.outcome_code
        elif roll < 0.06:
            appt.status, appt.reason = AppointmentStatus.cancelled, "Người dân bận đột xuất"
            events.append(
                appointment_event(appt, 2, "cancelled", BookingChannel.app, booked_at + timedelta(hours=5))
            )
            events[-1].reason = appt.reason
            await capacity.release(self.session, appt.post_office_id, window.start, cost)
        elif roll < 0.14:
            old = window.start - timedelta(days=1)
            events.append(
                appointment_event(appt, 2, "rescheduled", appt.channel, booked_at + timedelta(hours=3))
            )
            events[-1].data = {"from": old.isoformat(), "to": window.start.isoformat()}
            events[-1].reason = "Đổi sang ngày thuận tiện hơn"


def appointment_event(
    appt: Appointment, seq: int, type_: str, channel: BookingChannel, at: datetime
) -> AppointmentEvent:
    return AppointmentEvent(
        appointment_id=appt.id,
        seq=seq,
        type=type_,
        at=at,
        actor_role="system",
        actor_id=None,
        channel=channel,
        data={},
    )
