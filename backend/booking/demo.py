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

from backend.booking import capacity, places
from backend.booking.services import fees_for, office
from backend.booking.windows import Window, day_windows, parse_hours
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
    rng = random.Random(ctx.seed + 3)
    now = utcnow()
    cal = await working_calendar(session)
    first = cal.next_working_day(vn_date(now), include_today=True)
    days = [first]
    while len(days) < len(TARGETS):
        days.append(cal.next_working_day(days[-1]))
    procs = list((await session.exec(select(Procedure).where(col(Procedure.postal_pickup).is_(True)))).all())
    post_office_of = {code: po_id for po_id, codes in ctx.served.items() for code in codes}
    offices = {po.id: await office(session, po.id) for po in ctx.post_offices}
    policy = capacity.get_policy()
    windows: dict[uuid.UUID, dict[Any, list[Window]]] = {}
    caps: dict[tuple[uuid.UUID, datetime], int] = {}
    for po_id, off in offices.items():
        for day in days:
            ws = day_windows(day, parse_hours(off.org.opening_hours.get(str(day.isoweekday()))), off.rules)
            windows.setdefault(po_id, {})[day] = ws
            for start, cap in (await policy.capacity(session, po_id, ws)).items():
                caps[(po_id, start)] = cap
    serial = 90_000_000
    made = {d.isoformat(): 0 for d in days}
    for day, target in zip(days, TARGETS, strict=True):
        tries = 0
        while made[day.isoformat()] < target and tries < target * 4:
            tries += 1
            citizen = rng.choice(ctx.citizens)
            home = ctx.addresses[citizen.id]
            home_po = post_office_of.get(home.commune_code)
            if home_po is None or not windows[home_po][day]:
                continue
            po_id = home_po
            off = offices[po_id]
            window = rng.choice(windows[po_id][day])
            kind = rng.choice(KINDS)
            cost = off.rules.cost(kind.value)
            if not await capacity.reserve(session, po_id, window, caps[(po_id, window.start)], cost):
                continue
            proc = rng.choice(procs)
            item_id = None
            if kind == AppointmentKind.delivery:
                serial += 1
                item_id = s10.make(s10.PREFIX_RESULT, serial)
            distance = places.distance_km(off.org.lat, off.org.lon, home.lat, home.lon)
            channel = rng.choice(CHANNELS)
            booked_at = now - timedelta(days=rng.randint(1, 6), minutes=rng.randint(0, 600))
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
            events = [_event(appt, 1, "booked", channel, booked_at)]
            roll = rng.random()
            if window.end <= now:
                # Over already: most visits done, a few missed.
                if roll < 0.08:
                    appt.status, appt.outcome_code = AppointmentStatus.no_show, "citizen_absent"
                elif roll < 0.12:
                    appt.status = AppointmentStatus.failed
                    appt.outcome_code = rng.choice(list(FAILED_REASONS))
                else:
                    appt.status = AppointmentStatus.completed
                events.append(
                    _event(
                        appt, 2, appt.status.value, BookingChannel.app, window.start + timedelta(minutes=40)
                    )
                )
                events[-1].reason_code = appt.outcome_code
            elif roll < 0.06:
                appt.status, appt.reason = AppointmentStatus.cancelled, "Người dân bận đột xuất"
                events.append(
                    _event(appt, 2, "cancelled", BookingChannel.app, booked_at + timedelta(hours=5))
                )
                events[-1].reason = appt.reason
                await capacity.release(session, po_id, window.start, cost)
            elif roll < 0.14:
                old = window.start - timedelta(days=1)
                events.append(_event(appt, 2, "rescheduled", channel, booked_at + timedelta(hours=3)))
                events[-1].data = {"from": old.isoformat(), "to": window.start.isoformat()}
                events[-1].reason = "Đổi sang ngày thuận tiện hơn"
            appt.version = len(events)
            session.add_all(events)
            made[day.isoformat()] += 1
        await session.flush()
    return {"appointments": made}


def _event(
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
